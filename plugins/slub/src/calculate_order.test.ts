// calculate_order() over the whole grid: object sizes 8..8192, CPU counts 1..256.
// The oracle below is a second, deliberately plain transcription of the kernel's
// rule (mm/slub.c, 6.12: calculate_order, calc_slab_order, get_order, fls), written
// without the plugin's helpers; spot values were worked out by hand.
import { GFP_KERNEL, type Simulator } from '@mmsim/core';
import { createSimulator } from '@mmsim/defconfig';
import { calculateAlignment } from '@mmsim/slab-common';
import { afterAll, describe, expect, it } from 'vitest';
import { calculateSizes, slubMinObjects } from './slab_common.js';
import type { SlubAllocator, SlubCache } from './index.js';

const PAGE = 4096;
const SLUB_MAX_ORDER = 3; // PAGE_ALLOC_COSTLY_ORDER

/** fls(): position of the highest set bit, counted from 1. */
function flsPlain(x: number): number {
  let bits = 0;
  while (x > 0) {
    bits++;
    x = Math.floor(x / 2);
  }
  return bits;
}
/** get_order(): the smallest order whose 2^order pages hold `bytes`. */
function getOrderPlain(bytes: number): number {
  let order = 0;
  while (PAGE * 2 ** order < bytes) order++;
  return order;
}
/** The kernel's rule, step by step, for a cache whose s->size is `size` on a machine with `presentCpus` (nr_cpu_ids = `cpuIds`). */
function oracle(size: number, presentCpus: number, cpuIds = presentCpus): { order: number; objects: number } {
  const nrCpus = presentCpus <= 1 ? cpuIds : presentCpus;
  let minObjects = 4 * (flsPlain(nrCpus) + 1);
  const maxObjects = Math.max(Math.floor((PAGE * 2 ** SLUB_MAX_ORDER) / size), 1);
  if (minObjects > maxObjects) minObjects = maxObjects;
  const minOrder = getOrderPlain(minObjects * size);
  let chosen = -1;
  for (const fraction of [16, 8, 4, 2]) {
    for (let order = minOrder; order <= SLUB_MAX_ORDER; order++) {
      const slabBytes = PAGE * 2 ** order;
      if (slabBytes % size <= Math.floor(slabBytes / fraction)) {
        chosen = order;
        break;
      }
    }
    if (chosen >= 0) break;
  }
  if (chosen < 0) chosen = getOrderPlain(size);
  return { order: chosen, objects: Math.floor((PAGE * 2 ** chosen) / size) };
}

describe('the oracle agrees with values worked out by hand', () => {
  // [object size, CPUs, pages per slab, objects per slab]
  const hand: [number, number, number, number][] = [
    [8, 1, 1, 512], // min_objects 8 → 64 B, order 0, no waste
    [100, 2, 1, 39], // size 104; 12 × 104 = 1248 → order 0; 4096 % 104 = 40 ≤ 256
    [192, 4, 1, 21], // 16 × 192 = 3072 → order 0; waste 64
    [256, 8, 2, 32], // 20 × 256 = 5120 → order 1
    [700, 2, 4, 23], // size 704; 12 × 704 = 8448 → order 2; 16384 % 704 = 192 ≤ 1024
    [1000, 1, 2, 8], // 8 × 1000 = 8000 → order 1; 8192 % 1000 = 192 ≤ 512
    [1000, 32, 8, 32], // min_objects 28 → 28000 → order 3; 32768 % 1000 = 768 ≤ 2048
    [2100, 2, 8, 15], // size 2104: 12 × 2104 = 25248 → order 3; waste 1208 ≤ 2048
    [3000, 16, 8, 10], // capped at 10; 32768 % 3000 = 2768 > 2048 (1/16) but ≤ 4096 (1/8)
    [4096, 256, 8, 8], // capped at 8 → order 3, no waste
    [5000, 2, 8, 6], // capped at 6 → 30000 → order 3; waste 2768 ≤ 4096
    [8192, 128, 8, 4], // capped at 4 → order 3
  ];
  for (const [obj, cpus, pages, objects] of hand) {
    it(`object ${obj}, ${cpus} CPUs → ${pages} pages, ${objects} objects`, () => {
      const size = Math.ceil(obj / 8) * 8;
      const o = oracle(size, cpus);
      expect([2 ** o.order, o.objects]).toEqual([pages, objects]);
    });
  }
});

describe('slub calculate_order over sizes 8..8192 × CPUs 1..256', () => {
  it('calculateSizes() picks the oracle order and objects for every (size, CPU count)', () => {
    // min_objects depends on the CPU count only through fls(); checking all 256 counts is cheap anyway
    let checked = 0;
    const mismatches: string[] = [];
    for (let cpus = 1; cpus <= 256; cpus++) {
      const tun = { minObjects: slubMinObjects(cpus), minOrder: 0, maxOrder: SLUB_MAX_ORDER, cpuPartial: true };
      for (let obj = 8; obj <= 8192; obj++) {
        const l = calculateSizes(obj, 0, calculateAlignment(0, 0, obj), false, tun);
        const o = oracle(Math.ceil(obj / 8) * 8, cpus);
        checked++;
        if (l.size !== Math.ceil(obj / 8) * 8 || l.order !== o.order || l.objects !== o.objects) {
          if (mismatches.length < 10) mismatches.push(`size ${obj} cpus ${cpus}: got size ${l.size} order ${l.order} objects ${l.objects}, want order ${o.order} objects ${o.objects}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(256 * (8192 - 8 + 1));
  });

  it('one present CPU counts nr_cpu_ids, as the kernel does', () => {
    for (const ids of [1, 2, 4, 8, 64, 256]) {
      const tun = { minObjects: slubMinObjects(1, ids), minOrder: 0, maxOrder: SLUB_MAX_ORDER, cpuPartial: true };
      for (let obj = 8; obj <= 8192; obj += 8) {
        const l = calculateSizes(obj, 0, 8, false, tun);
        const o = oracle(obj, 1, ids);
        expect([l.order, l.objects]).toEqual([o.order, o.objects]);
      }
    }
  });

  // One booted machine per fls() class of the CPU count (the only way the count enters the rule):
  // the allocator must count CPUs as the kernel does and lay caches out by the rule.
  const sims: Simulator[] = [];
  afterAll(() => sims.forEach((s) => s.dispose()));
  for (const cpus of [1, 2, 3, 4, 7, 8, 16, 31, 64, 128, 256]) {
    it(`a ${cpus}-CPU machine: caches of every 8th size 8..8192 get the oracle's pages and objects per slab`, async () => {
      const sim = await createSimulator({ machine: { memory: '64M', cpus }, plugins: { slab: { use: 'slub', options: { cpuPartial: false } } } });
      sims.push(sim);
      const slub = sim.slab as SlubAllocator;
      for (let obj = 8; obj <= 8192; obj += obj < 512 ? 8 : 40) {
        const c = slub.createCache(`grid-${obj}`, obj) as SlubCache;
        const o = oracle(Math.ceil(obj / 8) * 8, cpus);
        const row = slub.slabinfoOf(c);
        expect([row.pagesPerSlab, row.objPerSlab], `object size ${obj}`).toEqual([2 ** o.order, o.objects]);
        slub.destroyCache(c);
      }
      // and the slabs it really allocates have that many pages
      const c = slub.createCache('grid-alloc', 1000);
      const p = slub.cacheAlloc(c, GFP_KERNEL)!;
      expect(slub.slabinfoOf(c).pagesPerSlab).toBe(2 ** oracle(1000, cpus).order);
      slub.cacheFree(c, p);
      slub.destroyCache(c);
    });
  }
});
