import { describe, expect, it } from 'vitest';
import { MmsimError } from './errors.js';
import { SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_HWCACHE_ALIGN, SLAB_POISON, ZERO_SIZE_PTR } from './slab-allocator.js';
import {
  alignDown, alignUp, calculateAlignment, ffs, fls, ilog2, isPowerOfTwo, KMALLOC_INFO, KMALLOC_MAX_SIZE, KMALLOC_SIZE_INDEX,
  kmallocIndex, kmallocName, kmallocSizeIndexTable, krealloc, SLAB_MERGE_SAME, SLAB_NEVER_MERGE, SlabCallChecks, zeroOrNullPtr,
} from './slab_common.js';
import type { Topology } from './topology.js';

/** __kmalloc_index() (include/linux/slab.h) written out plainly: the oracle for the table lookup. */
function kmallocIndexOracle(size: number, minSize: number, shiftLow: number): number {
  if (size <= minSize) return shiftLow;
  if (minSize <= 32 && size > 64 && size <= 96) return 1;
  if (minSize <= 64 && size > 128 && size <= 192) return 2;
  let i = 3;
  while (1 << i < size) i++;
  return i;
}

describe('bit helpers', () => {
  it('fls, ffs, ilog2, ALIGN, ALIGN_DOWN, is_power_of_2', () => {
    expect([0, 1, 2, 3, 8, 0x80000000].map(fls)).toEqual([0, 1, 2, 2, 4, 32]);
    expect([0, 1, 2, 12, 0x80000000].map(ffs)).toEqual([0, 1, 2, 3, 32]);
    expect([1, 2, 3, 4096, 4097].map(ilog2)).toEqual([0, 1, 1, 12, 12]);
    expect(alignUp(13, 8)).toBe(16);
    expect(alignUp(16, 8)).toBe(16);
    expect(alignDown(13, 8)).toBe(8);
    expect([1, 2, 64, 4096].every(isPowerOfTwo)).toBe(true);
    expect([0, 3, 96, -4, 2.5].some(isPowerOfTwo)).toBe(false);
  });
});

describe('kmalloc size classes (slab_common.c)', () => {
  it('kmalloc_index() of SLUB (KMALLOC_SHIFT_LOW 3) for every size 1..8192', () => {
    for (let size = 1; size <= 8192; size++) {
      const i = kmallocIndex(size);
      expect(i, `size ${size}`).toBe(kmallocIndexOracle(size, 8, 3));
      expect(KMALLOC_INFO[i]![0], `size ${size}`).toBeGreaterThanOrEqual(size);
    }
  });

  it('kmalloc_index() of SLAB (KMALLOC_SHIFT_LOW 5: nothing below kmalloc-32) for every size 1..8192', () => {
    const table = kmallocSizeIndexTable(5);
    expect(Array.from(table.subarray(0, 8))).toEqual([5, 5, 5, 5, 6, 6, 6, 6]);
    for (let size = 1; size <= 8192; size++) expect(kmallocIndex(size, table), `size ${size}`).toBe(kmallocIndexOracle(size, 32, 5));
  });

  it('setup_kmalloc_cache_index_table() drops kmalloc-96 / kmalloc-192 when KMALLOC_MIN_SIZE reaches 64 / 128', () => {
    for (let size = 1; size <= 192; size++) {
      expect(kmallocIndex(size, kmallocSizeIndexTable(6)), `size ${size}`).toBe(kmallocIndexOracle(size, 64, 6));
      expect(kmallocIndex(size, kmallocSizeIndexTable(7)), `size ${size}`).toBe(kmallocIndexOracle(size, 128, 7));
    }
  });

  it('the declared kmalloc_size_index[] is unchanged by a KMALLOC_SHIFT_LOW of 3, and not shared with derived tables', () => {
    expect(Array.from(KMALLOC_SIZE_INDEX)).toEqual([3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2]);
    kmallocSizeIndexTable(5);
    expect(KMALLOC_SIZE_INDEX[0]).toBe(3);
  });

  it('names the caches as kmalloc_info[] does, per type', () => {
    expect(KMALLOC_INFO.map(([, n]) => kmallocName('normal', KMALLOC_INFO.findIndex(([, m]) => m === n)))).toEqual([
      'kmalloc-0', 'kmalloc-96', 'kmalloc-192', 'kmalloc-8', 'kmalloc-16', 'kmalloc-32', 'kmalloc-64', 'kmalloc-128',
      'kmalloc-256', 'kmalloc-512', 'kmalloc-1k', 'kmalloc-2k', 'kmalloc-4k', 'kmalloc-8k',
    ]);
    expect(kmallocName('reclaim', 1)).toBe('kmalloc-rcl-96');
    expect(kmallocName('dma', 10)).toBe('dma-kmalloc-1k');
    expect(kmallocName('cgroup', 13)).toBe('kmalloc-cg-8k');
    expect(KMALLOC_MAX_SIZE).toBe(4 << 20);
  });
});

describe('calculate_alignment() and the merge flags', () => {
  it('halves the cache line while the object fits twice; at least a word', () => {
    expect(calculateAlignment(0, 0, 24)).toBe(8);
    expect(calculateAlignment(0, 4, 24)).toBe(8);
    expect(calculateAlignment(0, 32, 24)).toBe(32);
    expect(calculateAlignment(SLAB_HWCACHE_ALIGN, 0, 24)).toBe(32);
    expect(calculateAlignment(SLAB_HWCACHE_ALIGN, 0, 33)).toBe(64);
    expect(calculateAlignment(SLAB_HWCACHE_ALIGN, 0, 8)).toBe(8);
    expect(calculateAlignment(SLAB_HWCACHE_ALIGN, 0, 100, 128)).toBe(128);
  });

  it('SLAB_NEVER_MERGE holds the debug flags, SLAB_MERGE_SAME the zone and accounting ones', () => {
    expect(SLAB_NEVER_MERGE & SLAB_POISON).toBeTruthy();
    expect(SLAB_MERGE_SAME & (SLAB_CACHE_DMA | SLAB_CACHE_DMA32)).toBe(SLAB_CACHE_DMA | SLAB_CACHE_DMA32);
    expect(SLAB_NEVER_MERGE & SLAB_MERGE_SAME).toBe(0);
  });
});

describe('SlabCallChecks', () => {
  // two nodes, the second without memory; CPUs 0..3
  const topology = {
    nrCpus: 4,
    nodes: [{ nid: 0, cpus: [0, 1], presentPages: 100 }, { nid: 1, cpus: [2, 3], presentPages: 0 }],
  } as unknown as Topology;
  const c = new SlabCallChecks('test', topology);

  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(MmsimError);
      expect((e as MmsimError).plugin).toBe('test');
      return (e as MmsimError).code;
    }
    return undefined;
  };

  it('CPUs and nodes: EINVAL outside the machine, -1 for a node without memory', () => {
    expect(c.nrCpuSlots).toBe(4);
    expect(c.nrNodes).toBe(2);
    expect(c.cpuOf(undefined)).toBe(0);
    expect(c.cpuOf(3)).toBe(3);
    expect(code(() => c.cpuOf(4))).toBe('EINVAL');
    expect(code(() => c.cpuOf(1.5))).toBe('EINVAL');
    expect(c.nodeOf(undefined)).toBe(-1);
    expect(c.nodeOf(0)).toBe(0);
    expect(c.nodeOf(1)).toBe(-1);
    expect(code(() => c.nodeOf(2))).toBe('EINVAL');
  });

  it('cache handles: only the allocator’s own', () => {
    const mine = { id: 1, name: 'a', objectSize: 8, size: 8, align: 8, flags: 0 };
    expect(c.lookup([undefined, mine], mine)).toBe(mine);
    expect(code(() => c.lookup([undefined, mine], { ...mine }))).toBe('ECACHE_UNKNOWN');
  });

  it('kmem_cache_create() arguments', () => {
    expect(c.cacheCreateArgs('x', 24, {}, ~0)).toEqual({ align: 0, flags: 0 });
    expect(code(() => c.cacheCreateArgs('', 24, {}, ~0))).toBe('EBAD_SIZE');
    expect(code(() => c.cacheCreateArgs('x', 0, {}, ~0))).toBe('EBAD_SIZE');
    expect(code(() => c.cacheCreateArgs('x', KMALLOC_MAX_SIZE + 1, {}, ~0))).toBe('EBAD_SIZE');
    expect(code(() => c.cacheCreateArgs('x', 24, { align: 24 }, ~0))).toBe('EBAD_SIZE');
    expect(code(() => c.cacheCreateArgs('x', 24, { align: 8192 }, ~0))).toBe('EBAD_SIZE');
    expect(code(() => c.cacheCreateArgs('x', 24, { flags: SLAB_POISON }, SLAB_HWCACHE_ALIGN))).toBe('EINVAL');
    expect(code(() => c.checkDmaFlags('x', SLAB_CACHE_DMA | SLAB_CACHE_DMA32))).toBe('EINVAL');
    expect(code(() => c.checkCallbacks('x', { ctor: 1 as never }))).toBe('EINVAL');
    expect(code(() => c.checkKmallocSize('kmalloc', -1))).toBe('EBAD_SIZE');
    expect(code(() => c.checkKmallocSize('kmalloc', KMALLOC_MAX_SIZE))).toBeUndefined();
  });

  it('readObject / writeObject over the kept bytes', () => {
    const mem = new Uint8Array(16);
    const at = (addr: number, length: number) => (addr >= 100 && addr + length <= 116 ? { mem, off: addr - 100 } : null);
    expect(c.writeObject(at, 104, 2, [0x1ff, 7])).toBe(true);
    expect(Array.from(c.readObject(at, 104, 2, 2)!)).toEqual([0xff, 7]);
    expect(c.writeObject(at, 200, 0, [1])).toBe(false);
    expect(code(() => c.readObject(at, 104, 0.5, 1))).toBe('EINVAL');
  });
});

describe('krealloc()', () => {
  const checks = new SlabCallChecks('test', { nrCpus: 1, nodes: [{ nid: 0, cpus: [0], presentPages: 1 }] } as unknown as Topology);
  const fake = () => {
    const freed: (number | null)[] = [];
    let next = 0x1000;
    return {
      freed,
      ops: { ksizeOf: () => 32, kmalloc: () => (next += 0x100), kfree: (p: number | null) => void freed.push(p) },
    };
  };

  it('keeps the object while it fits ksize(), moves it otherwise, frees on size 0', () => {
    const f = fake();
    expect(krealloc(f.ops, checks, 0x500, 32, 0, undefined, false)).toBe(0x500);
    expect(krealloc(f.ops, checks, 0x500, 33, 0, undefined, false)).toBe(0x1100);
    expect(f.freed).toEqual([0x500]);
    expect(krealloc(f.ops, checks, 0x1100, 0, 0, undefined, false)).toBe(ZERO_SIZE_PTR);
    expect(f.freed).toEqual([0x500, 0x1100]);
  });

  it('kfreeNull: whether krealloc(NULL) calls kfree(NULL) (SLUB) or not (SLAB, SLOB)', () => {
    const a = fake();
    krealloc(a.ops, checks, null, 64, 0, undefined, true);
    expect(a.freed).toEqual([null]);
    const b = fake();
    krealloc(b.ops, checks, null, 64, 0, undefined, false);
    expect(b.freed).toEqual([]);
    expect(zeroOrNullPtr(ZERO_SIZE_PTR)).toBe(true);
    expect(zeroOrNullPtr(ZERO_SIZE_PTR + 1)).toBe(false);
  });
});
