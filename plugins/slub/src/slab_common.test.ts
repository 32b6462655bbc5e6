import { SLAB_HWCACHE_ALIGN, SLAB_KMALLOC, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER, SLAB_TYPESAFE_BY_RCU } from '@mmsim/core';
import { calculateAlignment, KMALLOC_INFO, kmallocIndex } from '@mmsim/slab-common';
import { describe, expect, it } from 'vitest';
import {
  calcSlabOrder, calculateOrder, calculateSizes, kmallocName, kmallocSizeClass, KmallocType, orderObjects, slubMinObjects,
  type SlubTunables,
} from './slab_common.js';

const tun = (cpus: number, extra: Partial<SlubTunables> = {}): SlubTunables => ({
  minObjects: slubMinObjects(cpus), minOrder: 0, maxOrder: 3, cpuPartial: true, ...extra,
});

describe('slub_min_objects = 4 * (fls(nr_cpus) + 1)', () => {
  it('derives from the present CPU count, nr_cpu_ids when only one is present', () => {
    expect([1, 2, 3, 4, 8, 16, 32, 64, 128, 256].map((n) => slubMinObjects(n))).toEqual([8, 12, 12, 16, 20, 24, 28, 32, 36, 40]);
    // one present CPU of 8 possible: nr_cpu_ids = 8 → 4 × (fls(8) + 1) = 4 × 5
    expect(slubMinObjects(1, 8)).toBe(20);
    // more than one present: nr_cpu_ids does not matter
    expect(slubMinObjects(2, 64)).toBe(12);
  });
});

describe('calculate_order (worked by hand from mm/slub.c)', () => {
  // [size (s->size), CPUs, order, objects per slab, how]
  const cases: [number, number, number, number, string][] = [
    [8, 2, 0, 512, 'min_objects 12: 96 B → order 0; 4096 % 8 = 0'],
    [96, 64, 0, 42, 'min_objects 32: 3072 B → order 0; 4096 % 96 = 64 ≤ 4096/16'],
    [192, 2, 0, 21, '12 × 192 = 2304 → order 0; 4096 % 192 = 64 ≤ 256'],
    [256, 2, 0, 16, '12 × 256 = 3072 → order 0; no waste'],
    [256, 8, 1, 32, 'min_objects 20: 5120 B → get_order = 1'],
    [392, 4, 1, 20, '16 × 392 = 6272 → order 1; 8192 % 392 = 352 ≤ 512'],
    [512, 2, 1, 16, '12 × 512 = 6144 → order 1'],
    [512, 4, 1, 16, '16 × 512 = 8192 → order 1 exactly'],
    [512, 8, 2, 32, '20 × 512 = 10240 → order 2'],
    [600, 2, 1, 13, '12 × 600 = 7200 → order 1; 8192 % 600 = 392 ≤ 512'],
    [704, 2, 2, 23, '12 × 704 = 8448 → order 2; 16384 % 704 = 192 ≤ 1024'],
    [1024, 1, 1, 8, 'one CPU (nr_cpu_ids 1): min_objects 8 → 8192 B → order 1'],
    [1024, 2, 2, 16, '12 × 1024 = 12288 → order 2'],
    [1024, 8, 3, 32, '20 × 1024 = 20480 → order 3'],
    [1024, 256, 3, 32, 'min_objects 40 capped at order_objects(3, 1024) = 32 → order 3'],
    [1536, 16, 3, 21, 'min_objects 24 capped at 21 → 32256 B → order 3; 32768 % 1536 = 512 ≤ 2048'],
    [2048, 1, 2, 8, '8 × 2048 = 16384 → order 2'],
    [2048, 2, 3, 16, '12 × 2048 = 24576 → order 3'],
    [3000, 2, 3, 10, 'min_objects capped at 10 → order 3; waste 2768 > 1/16 (2048), ≤ 1/8 (4096)'],
    [3328, 2, 3, 9, 'capped at 9 → 29952 B → order 3; waste 2816 > 2048, ≤ 4096'],
    [4096, 1, 3, 8, 'min_objects 8 = order_objects(3, 4096) → order 3'],
    [8192, 2, 3, 4, 'capped at 4 → 32768 B → order 3'],
    [20000, 2, 3, 1, 'capped at 1 → get_order(20000) = 3; waste 12768 only fits 1/2'],
    [40000, 2, 4, 1, 'no order ≤ slub_max_order holds one object: get_order(40000) = 4'],
  ];
  for (const [size, cpus, order, objects, how] of cases) {
    it(`size ${size}, ${cpus} CPU${cpus > 1 ? 's' : ''} → order ${order}, ${objects} object${objects > 1 ? 's' : ''} (${how})`, () => {
      expect(calculateOrder(size, tun(cpus))).toBe(order);
      expect(orderObjects(order, size)).toBe(objects);
    });
  }

  it('walks up the orders while the waste exceeds the fraction', () => {
    // slab_min_objects=2: 2 × 1100 = 2200 → min order 0; 4096 % 1100 = 796 > 256; 8192 % 1100 = 492 ≤ 512
    expect(calcSlabOrder(1100, 0, 3, 16)).toBe(1);
    expect(calculateOrder(1100, tun(1, { minObjects: 2 }))).toBe(1);
  });

  it('honours slub_min_order / slub_max_order and MAX_OBJS_PER_PAGE', () => {
    expect(calculateOrder(256, tun(2, { minOrder: 2 }))).toBe(2);
    expect(calculateOrder(2048, tun(2, { maxOrder: 1 }))).toBe(1);
    // order 7 would hold 65536 8-byte objects > 32767: get_order(8 × 32767) - 1 = 6 - 1
    expect(calculateOrder(8, tun(2, { minOrder: 7, maxOrder: 7 }))).toBe(5);
  });
});

describe('calculate_alignment and calculate_sizes', () => {
  it('SLAB_HWCACHE_ALIGN halves the cache line while the object fits in half', () => {
    expect(calculateAlignment(SLAB_HWCACHE_ALIGN, 0, 100)).toBe(64);
    expect(calculateAlignment(SLAB_HWCACHE_ALIGN, 0, 20)).toBe(32);
    expect(calculateAlignment(SLAB_HWCACHE_ALIGN, 0, 8)).toBe(8);
    expect(calculateAlignment(SLAB_HWCACHE_ALIGN, 128, 20)).toBe(128);
    expect(calculateAlignment(0, 0, 100)).toBe(8);
    expect(calculateAlignment(0, 4, 100)).toBe(8);
    expect(calculateAlignment(0, 32, 100)).toBe(32);
  });

  const sizes = (obj: number, flags = 0, align = 0, ctor = false) =>
    calculateSizes(obj, flags, calculateAlignment(flags, align, obj), ctor, tun(2));

  it('rounds to words and puts the free pointer in the middle of the object', () => {
    const l = sizes(100);
    expect([l.size, l.inuse, l.offset, l.redLeftPad]).toEqual([104, 104, 48, 0]);
    expect(sizes(100, SLAB_HWCACHE_ALIGN).size).toBe(128);
    expect(sizes(20, SLAB_HWCACHE_ALIGN).size).toBe(32);
    expect(sizes(3328, 0, 64).size).toBe(3328);
  });

  it('moves the free pointer after the object for a ctor, poisoning or RCU', () => {
    for (const l of [sizes(100, 0, 0, true), sizes(100, SLAB_POISON), sizes(100, SLAB_TYPESAFE_BY_RCU)]) {
      expect([l.size, l.inuse, l.offset]).toEqual([112, 104, 104]);
    }
  });

  it('adds red zones and tracking as CONFIG_SLUB_DEBUG lays them out', () => {
    // 104 (not == 100, so no extra word) + right red zone 8 + red_left_pad 8
    expect(sizes(100, SLAB_RED_ZONE)).toMatchObject({ size: 120, inuse: 104, offset: 48, redLeftPad: 8 });
    // 96 == object size: one more word to hold the red zone
    expect(sizes(96, SLAB_RED_ZONE)).toMatchObject({ size: 120, inuse: 104, offset: 48 });
    // a 4-byte object cannot hold the free pointer next to its red zone
    expect(sizes(4, SLAB_RED_ZONE)).toMatchObject({ size: 32, inuse: 8, offset: 8 });
    // two struct tracks of 32 bytes
    expect(sizes(100, SLAB_STORE_USER)).toMatchObject({ size: 168, offset: 48 });
    expect(sizes(100, SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER)).toMatchObject({ size: 192, inuse: 104, offset: 104 });
    // kmalloc caches keep the original request size too (and the free pointer moves out)
    const k = calculateSizes(96, SLAB_RED_ZONE | SLAB_STORE_USER | SLAB_KMALLOC, 32, false, tun(2));
    expect(k).toMatchObject({ offset: 104, redLeftPad: 32, size: 224 });
  });

  it('sets min_partial = clamp(ilog2(size) / 2, 5, 10) and the CPU partial limits', () => {
    expect(sizes(8).minPartial).toBe(5);
    expect(sizes(4096).minPartial).toBe(6);
    expect(sizes(1 << 20).minPartial).toBe(10);
    expect(sizes(4 << 20).minPartial).toBe(10);
    // cpu_partial objects by size class; slabs = DIV_ROUND_UP(2 × objects, objects per slab)
    expect([sizes(64).cpuPartial, sizes(64).cpuPartialSlabs]).toEqual([120, 4]);
    expect([sizes(256).cpuPartial, sizes(256).cpuPartialSlabs]).toEqual([52, 7]);
    expect([sizes(1024).cpuPartial, sizes(1024).cpuPartialSlabs]).toEqual([24, 3]);
    expect([sizes(4096).cpuPartial, sizes(4096).cpuPartialSlabs]).toEqual([6, 2]);
    // debug caches have none
    expect(sizes(64, SLAB_RED_ZONE).cpuPartialSlabs).toBe(0);
    // the fallback (s->min) order holds one object at least
    expect([sizes(2048).minOrder, sizes(2048).minObjects]).toEqual([0, 2]);
    expect([sizes(8192).minOrder, sizes(8192).minObjects]).toEqual([1, 1]);
  });
});

describe('kmalloc size classes', () => {
  const classes = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
  it('maps every size 1..8192 to the smallest class that holds it (kmalloc_size_index, then fls)', () => {
    for (let n = 1; n <= 8192; n++) expect(kmallocSizeClass(n)).toBe(classes.find((c) => c >= n));
    expect([1, 8, 9, 24, 33, 64, 65, 96, 97, 128, 129, 192, 193, 256, 257, 4097, 8192].map(kmallocSizeClass))
      .toEqual([8, 8, 16, 32, 64, 64, 96, 96, 128, 128, 192, 192, 256, 256, 512, 8192, 8192]);
    expect(kmallocIndex(96)).toBe(1);
    expect(kmallocIndex(192)).toBe(2);
    expect(kmallocIndex(200)).toBe(8);
  });
  it('names the caches as kmalloc_info does', () => {
    expect(KMALLOC_INFO.slice(1).map((_, i) => kmallocName(KmallocType.NORMAL, i + 1)))
      .toEqual(['kmalloc-96', 'kmalloc-192', 'kmalloc-8', 'kmalloc-16', 'kmalloc-32', 'kmalloc-64', 'kmalloc-128', 'kmalloc-256', 'kmalloc-512', 'kmalloc-1k', 'kmalloc-2k', 'kmalloc-4k', 'kmalloc-8k']);
    expect(kmallocName(KmallocType.DMA, 10)).toBe('dma-kmalloc-1k');
    expect(kmallocName(KmallocType.RECLAIM, 13)).toBe('kmalloc-rcl-8k');
    expect(kmallocName(KmallocType.CGROUP, 1)).toBe('kmalloc-cg-96');
  });
});
