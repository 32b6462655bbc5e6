import {
  __GFP_ACCOUNT, __GFP_DMA, __GFP_RECLAIMABLE, GFP_KERNEL, type MemoryModel, MmsimError, PageFrameTable, PG_slab, SLAB_ACCOUNT, SLAB_CACHE_DMA,
  SLAB_CACHE_DMA32, SLAB_HWCACHE_ALIGN, SLAB_POISON, SLAB_RECLAIM_ACCOUNT, type SlabInfo, type Topology, ZERO_SIZE_PTR,
} from '@mmsim/core';
import { describe, expect, it } from 'vitest';
import {
  alignDown, alignUp, calculateAlignment, ffs, findMergeable, fls, ilog2, isPowerOfTwo, KMALLOC_INFO, KMALLOC_MAX_SIZE,
  KMALLOC_SIZE_INDEX, kmallocIndex, kmallocName, kmallocSizeIndexTable, KmallocTypes, kmemCacheRelease, krealloc,
  type MergeableCache, SLAB_MERGE_SAME, SLAB_NEVER_MERGE, SlabCallChecks, slabinfoRows, slabUnmergeable, zeroOrNullPtr,
} from './slab_common.js';

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
  // four pages; pfn 1 is slab 7's, pfn 2 slab 8's
  const pages = new PageFrameTable(4);
  pages.flags[1] = PG_slab;
  pages.private[1] = 7;
  pages.flags[2] = PG_slab;
  pages.private[2] = 8;
  const memory = { pages, pfnToPage: (pfn: number) => (pfn >= 0 && pfn < 4 ? pfn : -1) } as unknown as MemoryModel;
  const c = new SlabCallChecks('test', topology, memory);

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

  it('virt_to_slab(), kmem_cache_free() and list_lru_add() pointer checks', () => {
    const a = { id: 1, name: 'a', objectSize: 8, size: 8, align: 8, flags: 0 };
    const b = { ...a, id: 2, name: 'b' };
    const sCache: number[] = [];
    sCache[7] = 1;
    sCache[8] = 2;
    expect(c.virtToSlab(4096 + 64, 'kfree')).toBe(7);
    expect(c.virtToSlab(3 * 4096, 'kfree')).toBe(-1);
    expect(code(() => c.virtToSlab(4 * 4096, 'kfree'))).toBe('EBAD_POINTER');
    expect(c.freeSlab(sCache, [undefined, a, b], a, 4096 + 8)).toBe(7);
    expect(code(() => c.freeSlab(sCache, [undefined, a, b], a, ZERO_SIZE_PTR))).toBe('EBAD_POINTER');
    expect(() => c.freeSlab(sCache, [undefined, a, b], a, 2 * 4096)).toThrowError(/belongs to cache 'b'/);
    expect(() => c.freeSlab(sCache, [undefined, a, b], a, 3 * 4096)).toThrowError(/not a slab object/);
    expect(c.slabOfCache(sCache, b, 2 * 4096, 'list_lru_add')).toBe(8);
    expect(() => c.slabOfCache(sCache, a, 2 * 4096, 'list_lru_add')).toThrowError(/list_lru_add\(a, 0x2000\): not an object of this cache/);
  });

  it('obj_to_index() checks: whole index in range, allocated, double free', () => {
    const a = { id: 1, name: 'a', objectSize: 8, size: 8, align: 8, flags: 0 };
    const live = [0, 1, 0];
    expect(c.objectIndex(a, 0, 'kfree', true, 1, 3, live, 0)).toBe(1);
    expect(code(() => c.objectIndex(a, 0, 'kfree', true, 1.5, 3, live, 0))).toBe('EBAD_POINTER');
    expect(code(() => c.objectIndex(a, 0, 'kfree', true, 3, 3, live, 0))).toBe('EBAD_POINTER');
    expect(code(() => c.objectIndex(a, 0, 'kfree', true, 0, 3, live, 0))).toBe('EDOUBLE_FREE');
    expect(code(() => c.objectIndex(a, 0, 'ksize', false, 0, 3, live, 0))).toBe('EBAD_POINTER');
  });

  it('CONFIG_DEBUG_VM: slabs by cache, ECORRUPT for a destroyed cache’s slab', () => {
    const a = { id: 1, name: 'a', objectSize: 8, size: 8, align: 8, flags: 0 };
    expect([...c.slabsByCache([1, 0, 1], 3, [undefined, a])]).toEqual([[1, [0, 2]]]);
    expect(code(() => c.slabsByCache([2], 1, [undefined, a]))).toBe('ECORRUPT');
    expect(() => c.corrupt('x')).toThrowError('ECORRUPT: [test] test check: x');
  });

  it('readObject / writeObject over the kept bytes', () => {
    // slab 7 (pfn 1) keeps 16 bytes from 4096 + 32; slab 8 keeps none
    const mem = new Uint8Array(16);
    const bytes = (slab: number) => (slab === 7 ? { mem, start: 4096 + 32 } : undefined);
    expect(c.writeObject(bytes, 4096 + 36, 2, [0x1ff, 7])).toBe(true);
    expect(Array.from(c.readObject(bytes, 4096 + 36, 2, 2)!)).toEqual([0xff, 7]);
    expect(mem[6]).toBe(0xff);
    expect(c.writeObject(bytes, 2 * 4096, 0, [1])).toBe(false);
    expect(c.readObject(bytes, 3 * 4096, 0, 1)).toBeNull();
    expect(code(() => c.readObject(bytes, 4096 + 32, 0.5, 1))).toBe('EINVAL');
    expect(code(() => c.readObject(bytes, 4096 + 32, 0, -1))).toBe('EINVAL');
    expect(() => c.readObject(bytes, 4096 + 32, 10, 7)).toThrowError(/runs past the end of its slab \(6 bytes left\)/);
    expect(code(() => c.writeObject(bytes, 8 * 4096, 0, [1]))).toBe('EBAD_POINTER');
    expect(code(() => c.writeObject(bytes, Number.NaN, 0, [1]))).toBe('EBAD_POINTER');
  });
});

describe('krealloc()', () => {
  const checks = new SlabCallChecks('test', { nrCpus: 1, nodes: [{ nid: 0, cpus: [0], presentPages: 1 }] } as unknown as Topology, {} as MemoryModel);
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

describe('kmalloc_caches[] rows: KmallocTypes', () => {
  it('kmalloc_type() in the allocator’s own enum order (6.1: NORMAL, CGROUP, RECLAIM, DMA)', () => {
    const t = new KmallocTypes(['normal', 'cgroup', 'reclaim', 'dma'], true, true);
    expect(t.notNormalBits).toBe(__GFP_RECLAIMABLE | __GFP_DMA | __GFP_ACCOUNT);
    expect(t.typeOf(GFP_KERNEL)).toBe(0);
    expect(t.typeOf(GFP_KERNEL | __GFP_ACCOUNT)).toBe(1);
    expect(t.typeOf(GFP_KERNEL | __GFP_RECLAIMABLE | __GFP_ACCOUNT)).toBe(2);
    expect(t.typeOf(GFP_KERNEL | __GFP_DMA | __GFP_RECLAIMABLE)).toBe(3);
    expect(t.name(2, 1)).toBe('kmalloc-rcl-96');
    expect([0, 1, 2, 3].map((i) => t.flags(i))).toEqual([0, SLAB_ACCOUNT, SLAB_RECLAIM_ACCOUNT, SLAB_CACHE_DMA]);
  });

  it('6.12 order (NORMAL, RECLAIM, DMA, CGROUP); without a DMA zone or memcg those rows are not built and fall back to NORMAL', () => {
    const t = new KmallocTypes(['normal', 'reclaim', 'dma', 'cgroup'], false, false);
    expect(t.notNormalBits).toBe(__GFP_RECLAIMABLE);
    expect(t.typeOf(GFP_KERNEL | __GFP_DMA)).toBe(0);
    expect(t.typeOf(GFP_KERNEL | __GFP_RECLAIMABLE)).toBe(1);
    expect([0, 1, 2, 3].map((i) => t.built(i))).toEqual([true, true, false, false]);
    expect(t.name(3, 13)).toBe('kmalloc-cg-8k');
    const caches: (string | undefined)[] = [];
    for (const type of [0, 1]) for (let i = 1; i < 14; i++) caches[type * 14 + i] = t.name(type, i);
    t.fillFallbacks(caches, 14);
    expect(caches[2 * 14 + 5]).toBe('kmalloc-32');
    expect(caches[3 * 14 + 13]).toBe('kmalloc-8k');
    expect(caches[1 * 14 + 5]).toBe('kmalloc-rcl-32');
  });
});

describe('find_mergeable(), slab_unmergeable(), kmem_cache_destroy()', () => {
  let id = 0;
  const cache = (size: number, extra: Partial<MergeableCache> = {}): MergeableCache => ({
    id: ++id, name: `c${id}`, objectSize: size, size, align: 8, flags: 0, ctor: undefined, kmalloc: false, refcount: 1, liveObjects: 0, ...extra,
  });
  const rules = { merge: true, checkAlign: false, debugFlags: (f: number) => f };

  it('takes the oldest cache that fits with less than a word to spare and the same SLAB_MERGE_SAME flags', () => {
    const a = cache(24);
    const b = cache(32);
    const dma = cache(32, { flags: SLAB_CACHE_DMA });
    expect(findMergeable([a, b, dma], 20, 0, 0, undefined, rules)).toBe(a);
    expect(findMergeable([a, b, dma], 30, 0, 0, undefined, rules)).toBe(b);
    expect(findMergeable([a, b, dma], 30, SLAB_CACHE_DMA, 0, undefined, rules)).toBe(dma);
    expect(findMergeable([a, b], 8, 0, 0, undefined, rules)).toBeUndefined();
    expect(findMergeable([a, b], 20, 0, 0, () => {}, rules)).toBeUndefined();
    expect(findMergeable([a, b], 20, 0, 0, undefined, { ...rules, merge: false })).toBeUndefined();
    expect(findMergeable([a, b], 20, SLAB_POISON, 0, undefined, rules)).toBeUndefined();
    expect(findMergeable([a, b], 20, 0, 0, undefined, { ...rules, debugFlags: (f: number) => f | SLAB_POISON })).toBeUndefined();
  });

  it('SLAB (checkAlign) also wants the alias aligned at least as asked', () => {
    const a = cache(32, { align: 8 });
    expect(findMergeable([a], 32, 0, 16, undefined, rules)).toBe(a);
    expect(findMergeable([a], 32, 0, 16, undefined, { ...rules, checkAlign: true })).toBeUndefined();
  });

  it('slab_unmergeable(): debug flags, a ctor, kmalloc caches, caches being created', () => {
    expect(slabUnmergeable(cache(8))).toBe(false);
    expect(slabUnmergeable(cache(8, { flags: SLAB_POISON }))).toBe(true);
    expect(slabUnmergeable(cache(8, { ctor: () => {} }))).toBe(true);
    expect(slabUnmergeable(cache(8, { kmalloc: true }))).toBe(true);
    expect(slabUnmergeable(cache(8, { refcount: -1 }))).toBe(true);
  });

  it('kmem_cache_destroy(): an alias drops a reference; kmalloc caches and caches with objects are busy', () => {
    const checks = new SlabCallChecks('test', { nrCpus: 1, nodes: [{ nid: 0, cpus: [0], presentPages: 1 }] } as unknown as Topology, {} as MemoryModel);
    const a = cache(8, { refcount: 2 });
    expect(kmemCacheRelease(checks, a)).toBe(false);
    expect(a.refcount).toBe(1);
    expect(kmemCacheRelease(checks, a)).toBe(true);
    expect(() => kmemCacheRelease(checks, cache(8, { kmalloc: true }))).toThrowError(/ECACHE_BUSY/);
    expect(() => kmemCacheRelease(checks, cache(8, { liveObjects: 1 }))).toThrowError(/ECACHE_BUSY/);
  });

  it('/proc/slabinfo lists the newest cache first', () => {
    const row = (name: string) => ({ name }) as SlabInfo;
    expect(slabinfoRows(['a', 'b', 'c'], row).map((r) => r.name)).toEqual(['c', 'b', 'a']);
  });
});
