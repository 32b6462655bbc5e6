/**
 * What mm/slab_common.c (and include/linux/slab.h) give every slab
 * allocator: the kmalloc size classes and cache names, the merge rules,
 * calculate_alignment(), the sanity checks of kmem_cache_create(), large
 * kmallocs straight from the page allocator, krealloc(), and the argument
 * checks the SLAB_ALLOCATOR calls share. Where SLAB (6.1) and SLUB (6.12)
 * differ, the difference is a parameter, never a merged rule.
 * @module
 */
import {
  __GFP_ACCOUNT, __GFP_DMA, __GFP_RECLAIMABLE, type CacheOptions, type KmemCache, type MemoryModel, MmsimError, PAGE_SIZE, PageOwner, PG_slab, PG_tail,
  type SlabInfo, SLAB_ACCOUNT, SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_FAILSLAB, SLAB_HWCACHE_ALIGN, SLAB_NO_MERGE, SLAB_NOLEAKTRACE, SLAB_POISON,
  SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE, SLAB_STORE_USER, SLAB_TRACE, SLAB_TYPESAFE_BY_RCU, type SlabAllocOptions, type SlabFreeOptions, type Topology,
  ZERO_SIZE_PTR,
} from '@mmsim/core';
import type { ListLru, SlabShrinker } from './list_lru.js';

// ---- bit arithmetic (include/linux/bitops.h, log2.h, align.h) -------------------

/** fls(): 1-based index of the highest set bit, 0 for 0. */
export function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}
/** ffs(): 1-based index of the lowest set bit, 0 for 0. */
export function ffs(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x & -x);
}
/** ilog2() for x ≥ 1. */
export function ilog2(x: number): number {
  return fls(x) - 1;
}
/** ALIGN(x, a) for a power of two. */
export function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}
/** ALIGN_DOWN(x, a) for a power of two. */
export function alignDown(x: number, a: number): number {
  return Math.floor(x / a) * a;
}
/** is_power_of_2() */
export function isPowerOfTwo(x: number): boolean {
  return Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;
}

// ---- merging ----------------------------------------------------------------------

/** SLAB_NEVER_MERGE (slab_common.c, the same in 6.1 and 6.12): a cache with any of these is never an alias. */
export const SLAB_NEVER_MERGE = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE | SLAB_TYPESAFE_BY_RCU |
  SLAB_NOLEAKTRACE | SLAB_FAILSLAB | SLAB_NO_MERGE;
/** SLAB_MERGE_SAME (slab_common.c): caches only merge when these agree. */
export const SLAB_MERGE_SAME = SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_ACCOUNT;

/** What find_mergeable() and kmem_cache_destroy() need of a live cache. */
export interface MergeableCache extends KmemCache {
  readonly ctor: unknown;
  /** A kmalloc cache (never a merge target, never destroyed). */
  readonly kmalloc: boolean;
  /** Merge refcount: the cache and its aliases. */
  refcount: number;
  /** Objects handed out and not freed. */
  readonly liveObjects: number;
}

/** slab_unmergeable(): debug flags, a constructor, a kmalloc cache or a cache being created keep others out. */
export function slabUnmergeable(s: MergeableCache): boolean {
  return (s.flags & SLAB_NEVER_MERGE) !== 0 || s.ctor !== undefined || s.kmalloc || s.refcount < 0;
}

/** How an allocator runs find_mergeable(). */
export interface MergeRules {
  /** slab_nomerge unset (the `merge` option). */
  merge: boolean;
  /** cache_line_size() */
  cacheLine?: number;
  /** kmem_cache_flags(): the flags the new cache would get from debug options, given its word- and alignment-rounded size. */
  debugFlags(flags: number, size: number): number;
  /** SLAB (6.1) also wants the alias's alignment to be a multiple of the requested one; SLUB does not look. */
  checkAlign: boolean;
}

/**
 * find_mergeable() (slab_common.c): the oldest live cache that can hold
 * objects of `size` at this alignment, whose SLAB_MERGE_SAME flags agree
 * and which wastes less than a word per object; undefined when the cache
 * must be created.
 */
export function findMergeable<C extends MergeableCache>(caches: readonly C[], size: number, flags: number, align: number, ctor: unknown, r: MergeRules): C | undefined {
  if (!r.merge || ctor !== undefined) return undefined;
  size = alignUp(size, 8);
  align = calculateAlignment(flags, align, size, r.cacheLine);
  size = alignUp(size, align);
  flags = r.debugFlags(flags, size);
  if (flags & SLAB_NEVER_MERGE) return undefined;
  for (const s of caches) {
    if (slabUnmergeable(s)) continue;
    if (size > s.size) continue;
    if ((flags & SLAB_MERGE_SAME) !== (s.flags & SLAB_MERGE_SAME)) continue;
    // the alias must keep this alignment
    if ((s.size & ~(align - 1)) !== s.size) continue;
    if (s.size - size >= 8) continue;
    if (r.checkAlign && (align > s.align || s.align % align)) continue;
    return s;
  }
  return undefined;
}

/**
 * kmem_cache_destroy()'s refusals and refcount: ECACHE_BUSY for a kmalloc
 * cache (`kmallocCaches`: the allocator has them; SLOB has none) and for a
 * cache with live objects. False when an alias dropped its reference and
 * the cache stays; true when the allocator should shut the cache down.
 */
export function kmemCacheRelease(checks: SlabCallChecks, s: MergeableCache): boolean {
  if (s.kmalloc) throw checks.err('ECACHE_BUSY', `kmem_cache_destroy(${s.name}): the kmalloc caches live as long as the kernel`, { cache: s.name });
  if (s.refcount > 1) {
    s.refcount--;
    return false;
  }
  // __kmem_cache_shutdown() fails while slabs are full or partial: "Slab cache still has objects"
  if (s.liveObjects > 0) {
    throw checks.err('ECACHE_BUSY', `kmem_cache_destroy(${s.name}): slab cache still has ${s.liveObjects} objects`, { cache: s.name, objects: s.liveObjects });
  }
  return true;
}

/** /proc/slabinfo's order (slab_start() over slab_caches, where each new cache was added at the head): newest first. */
export function slabinfoRows<C>(caches: readonly C[], row: (s: C) => SlabInfo): SlabInfo[] {
  const out: SlabInfo[] = [];
  for (let i = caches.length - 1; i >= 0; i--) out.push(row(caches[i]!));
  return out;
}

/** calculate_alignment() (slab_common.c): SLAB_HWCACHE_ALIGN rounds up to a cache line (halved while the object fits twice), then at least a word. */
export function calculateAlignment(flags: number, align: number, size: number, cacheLine = 64): number {
  if (flags & SLAB_HWCACHE_ALIGN) {
    let ralign = cacheLine;
    while (size <= ralign / 2) ralign /= 2;
    align = Math.max(align, ralign);
  }
  // ARCH_KMALLOC_MINALIGN / BYTES_PER_WORD: 8 on x86_64
  align = Math.max(align, 8);
  return alignUp(align, 8);
}

// ---- kmalloc size classes -----------------------------------------------------------

/** KMALLOC_SHIFT_HIGH (PAGE_SHIFT + 1): the largest kmalloc cache is kmalloc-8k, under SLAB and SLUB alike. */
export const KMALLOC_SHIFT_HIGH = 13;
/** KMALLOC_MAX_SIZE: the largest kmalloc() (4 MiB: MAX_ORDER 11 + PAGE_SHIFT - 1 in 6.1, MAX_PAGE_ORDER 10 + PAGE_SHIFT in 6.12). */
export const KMALLOC_MAX_SIZE = 1 << 22;
/** kmalloc_info[] up to KMALLOC_SHIFT_HIGH: index → [size, name suffix]. Index 0 is the zero-size slot; 1 and 2 are kmalloc-96 and kmalloc-192. */
export const KMALLOC_INFO: readonly (readonly [number, string])[] = [
  [0, '0'], [96, '96'], [192, '192'], [8, '8'], [16, '16'], [32, '32'], [64, '64'], [128, '128'],
  [256, '256'], [512, '512'], [1024, '1k'], [2048, '2k'], [4096, '4k'], [8192, '8k'],
];
/** kmalloc_size_index[] as declared: (size - 1) / 8 → kmalloc index, for sizes up to 192. */
const KMALLOC_SIZE_INDEX_DECLARED = [
  3, 4, 5, 5, 6, 6, 6, 6, // 8 .. 64
  1, 1, 1, 1, // 72 .. 96
  7, 7, 7, 7, // 104 .. 128
  2, 2, 2, 2, 2, 2, 2, 2, // 136 .. 192
] as const;

/**
 * The size index table after setup_kmalloc_cache_index_table(): sizes
 * below KMALLOC_MIN_SIZE (1 << shiftLow) go to the smallest cache. SLUB's
 * KMALLOC_SHIFT_LOW is 3 (the table as declared), SLAB's 5 (kmalloc-32).
 */
export function kmallocSizeIndexTable(shiftLow: number): Uint8Array {
  const t = Uint8Array.from(KMALLOC_SIZE_INDEX_DECLARED);
  const minSize = 1 << shiftLow;
  for (let i = 8; i < minSize; i += 8) {
    const elem = (i - 1) >> 3;
    if (elem >= t.length) break;
    t[elem] = shiftLow;
  }
  // KMALLOC_MIN_SIZE ≥ 64 / ≥ 128: kmalloc-96 / kmalloc-192 are not built
  if (minSize >= 64) for (let i = 72; i <= 96; i += 8) t[(i - 1) >> 3] = 7;
  if (minSize >= 128) for (let i = 136; i <= 192; i += 8) t[(i - 1) >> 3] = 8;
  return t;
}
/** kmalloc_size_index[] with KMALLOC_SHIFT_LOW 3 (SLUB). */
export const KMALLOC_SIZE_INDEX: Uint8Array = kmallocSizeIndexTable(3);

/** kmalloc_index() / kmalloc_slab()'s index for 1 ≤ size ≤ 8192: `table` up to 192 bytes (see {@link kmallocSizeIndexTable}), fls(size - 1) above. */
export function kmallocIndex(size: number, table: Uint8Array = KMALLOC_SIZE_INDEX): number {
  return size <= 192 ? table[(size - 1) >> 3]! : fls(size - 1);
}

/**
 * The kmalloc cache types the simulator builds (enum kmalloc_cache_type
 * without RANDOM_KMALLOC_CACHES). Their numeric order is the allocator's
 * own: 6.1 has NORMAL, CGROUP, RECLAIM, DMA; 6.12 NORMAL, RECLAIM, DMA, CGROUP.
 */
export type KmallocKind = 'normal' | 'reclaim' | 'dma' | 'cgroup';
/**
 * The kmalloc_caches[type] rows an allocator builds, in its own enum order
 * (`kinds[type]`), and kmalloc_type(): which row a gfp mask picks.
 */
export class KmallocTypes {
  /** KMALLOC_NOT_NORMAL_BITS: gfp bits that leave KMALLOC_NORMAL. */
  readonly notNormalBits: number;
  private readonly normal: number;
  private readonly reclaim: number;
  private readonly dma: number;
  private readonly cgroup: number;

  /** `dmaZone`: CONFIG_ZONE_DMA (a DMA zone exists); `memcg`: CONFIG_MEMCG_KMEM. */
  constructor(readonly kinds: readonly KmallocKind[], readonly dmaZone: boolean, readonly memcg: boolean) {
    this.normal = kinds.indexOf('normal');
    this.reclaim = kinds.indexOf('reclaim');
    this.dma = kinds.indexOf('dma');
    this.cgroup = kinds.indexOf('cgroup');
    this.notNormalBits = __GFP_RECLAIMABLE | (dmaZone ? __GFP_DMA : 0) | (memcg ? __GFP_ACCOUNT : 0);
  }

  /** kmalloc_type(): DMA before RECLAIM before CGROUP; RECLAIM also when memcg is off. */
  typeOf(gfp: number): number {
    if ((gfp & this.notNormalBits) === 0) return this.normal;
    if (this.dmaZone && gfp & __GFP_DMA) return this.dma;
    if (!this.memcg || gfp & __GFP_RECLAIMABLE) return this.reclaim;
    return this.cgroup;
  }

  /** Whether create_kmalloc_caches() builds this type's caches (DMA needs the zone, CGROUP memcg). */
  built(type: number): boolean {
    const k = this.kinds[type];
    return k === 'normal' || k === 'reclaim' || (k === 'dma' && this.dmaZone) || (k === 'cgroup' && this.memcg);
  }

  /** The flags new_kmalloc_cache() adds for a type: SLAB_RECLAIM_ACCOUNT, SLAB_ACCOUNT or SLAB_CACHE_DMA. */
  flags(type: number): number {
    const k = this.kinds[type];
    return k === 'reclaim' ? SLAB_RECLAIM_ACCOUNT : k === 'cgroup' ? SLAB_ACCOUNT : k === 'dma' ? SLAB_CACHE_DMA : 0;
  }

  /** The cache name of a type and index, e.g. 'dma-kmalloc-1k'. */
  name(type: number, index: number): string {
    return kmallocName(this.kinds[type]!, index);
  }

  /** Types that are not built fall back to KMALLOC_NORMAL's caches (`caches` is kmalloc_caches[type][index], flattened by `nrIndex`). */
  fillFallbacks<C>(caches: (C | undefined)[], nrIndex: number): void {
    for (let type = 0; type < this.kinds.length; type++) {
      for (let idx = 1; idx < nrIndex; idx++) {
        if (!caches[type * nrIndex + idx]) caches[type * nrIndex + idx] = caches[this.normal * nrIndex + idx];
      }
    }
  }
}

/** kmalloc_info[].name[type]'s prefix per kind. */
export const KMALLOC_KIND_PREFIX: Readonly<Record<KmallocKind, string>> = {
  normal: 'kmalloc-', reclaim: 'kmalloc-rcl-', dma: 'dma-kmalloc-', cgroup: 'kmalloc-cg-',
};
/** The kmalloc cache name of a kind and index (kmalloc_info[index].name[type]), e.g. 'dma-kmalloc-1k'. */
export function kmallocName(kind: KmallocKind, index: number): string {
  return `${KMALLOC_KIND_PREFIX[kind]}${KMALLOC_INFO[index]![1]}`;
}

// ---- argument checks ------------------------------------------------------------------

/** The error codes a slab allocator's calls throw. */
export type SlabErrorCode = 'EDOUBLE_FREE' | 'EBAD_POINTER' | 'ECACHE_BUSY' | 'ECACHE_UNKNOWN' | 'EBAD_SIZE' | 'EINVAL';

/** `ptr` in hex, as the kernel prints addresses (non-numbers as they are). */
export function hexPtr(ptr: number): string {
  return Number.isFinite(ptr) ? `0x${ptr.toString(16)}` : String(ptr);
}

/**
 * The checks every slab allocator makes of its callers' arguments — CPU
 * and node numbers, cache handles, kmalloc sizes, kmem_cache_create()'s
 * name, size, alignment, flags and callbacks — with errors that name the
 * plugin. The allocator keeps one, built from the topology at boot.
 */
export class SlabCallChecks {
  /** Node slots: one past the highest nid (at least 1). */
  readonly nrNodes: number;
  /** CPU slots: one past the highest CPU any node lists (at least nr_cpus and 1). */
  readonly nrCpuSlots: number;

  constructor(readonly plugin: string, private readonly topology: Topology, private readonly memory: MemoryModel) {
    this.nrNodes = Math.max(1, ...topology.nodes.map((n) => n.nid + 1));
    this.nrCpuSlots = Math.max(topology.nrCpus, 1, ...topology.nodes.flatMap((n) => n.cpus.map((c) => c + 1)));
  }

  /** An MmsimError of this plugin. */
  err(code: SlabErrorCode, msg: string, details?: Record<string, unknown>): MmsimError {
    return new MmsimError(code, msg, details ? { plugin: this.plugin, details } : { plugin: this.plugin });
  }

  /** CONFIG_DEBUG_VM: an ECORRUPT naming the allocator's check (`<plugin> check: …`). */
  corrupt(msg: string): never {
    throw new MmsimError('ECORRUPT', `${this.plugin} check: ${msg}`, { plugin: this.plugin });
  }

  /** virt_to_slab(): the slab index in page->private of the slab page holding `addr`, -1 for any other page; EBAD_POINTER where no memory is. */
  virtToSlab(addr: number, op: string): number {
    const page = this.memory.pfnToPage(Math.floor(addr / PAGE_SIZE));
    if (page < 0) throw this.err('EBAD_POINTER', `${op}(${hexPtr(addr)}): no memory at this address`, { ptr: addr });
    const t = this.memory.pages;
    return t.flags[page]! & PG_slab ? t.private[page]! : -1;
  }

  /** The slab of `s` holding `ptr` (`sCache`: each slab's cache id); EBAD_POINTER when it is no object of that cache. */
  slabOfCache(sCache: ArrayLike<number>, s: KmemCache, ptr: number, op: string): number {
    const slab = this.virtToSlab(ptr, op);
    if (slab < 0 || sCache[slab] !== s.id) throw this.err('EBAD_POINTER', `${op}(${s.name}, ${hexPtr(ptr)}): not an object of this cache`, { ptr, cache: s.name });
    return slab;
  }

  /**
   * kmem_cache_free()'s pointer checks: a pointer above ZERO_SIZE_PTR, on
   * a slab of `s` (else EBAD_POINTER naming the cache it belongs to, from
   * `byId`). Returns the slab.
   */
  freeSlab(sCache: ArrayLike<number>, byId: readonly (KmemCache | undefined)[], s: KmemCache, ptr: number): number {
    if (typeof ptr !== 'number' || !(ptr > ZERO_SIZE_PTR)) {
      throw this.err('EBAD_POINTER', `kmem_cache_free(${s.name}, ${String(ptr)}): not an object`, { ptr, cache: s.name });
    }
    const slab = this.virtToSlab(ptr, 'kmem_cache_free');
    if (slab < 0 || sCache[slab] !== s.id) {
      const owner = slab >= 0 ? byId[sCache[slab]!]?.name : undefined;
      throw this.err('EBAD_POINTER', `kmem_cache_free(${s.name}, ${hexPtr(ptr)}): ${owner ? `object belongs to cache '${owner}'` : 'not a slab object'}`, { ptr, cache: s.name, owner });
    }
    return slab;
  }

  /**
   * obj_to_index() with the checks the kernel leaves to debugging: `idx`
   * (the offset from the slab's first object over the object size) must be
   * a whole index below `nr`, and the object allocated (`live[liveBase +
   * idx]`): EBAD_POINTER, or EDOUBLE_FREE when `freeing` a free one.
   */
  objectIndex(s: KmemCache, ptr: number, op: string, freeing: boolean, idx: number, nr: number, live: ArrayLike<number>, liveBase: number): number {
    if ((idx | 0) !== idx || idx < 0 || idx >= nr) {
      throw this.err('EBAD_POINTER', `${op}(${hexPtr(ptr)}): not the start of an object of cache '${s.name}' (object size ${s.size})`, { ptr, cache: s.name });
    }
    if (live[liveBase + idx] === 0) {
      if (freeing) throw this.err('EDOUBLE_FREE', `${op}(${hexPtr(ptr)}): object of cache '${s.name}' is already free`, { ptr, cache: s.name });
      throw this.err('EBAD_POINTER', `${op}(${hexPtr(ptr)}): object of cache '${s.name}' is not allocated`, { ptr, cache: s.name });
    }
    return idx;
  }

  /** CONFIG_DEBUG_VM: the slabs of the slab table (`sCache`: cache id per slab, 0 unused) by cache id; ECORRUPT for a slab of a destroyed cache. */
  slabsByCache(sCache: ArrayLike<number>, slabTop: number, byId: readonly (KmemCache | undefined)[]): Map<number, number[]> {
    const slabsOf = new Map<number, number[]>();
    for (let slab = 0; slab < slabTop; slab++) {
      const id = sCache[slab]!;
      if (id === 0) continue;
      if (!byId[id]) this.corrupt(`slab ${slab} belongs to destroyed cache ${id}`);
      let l = slabsOf.get(id);
      if (!l) slabsOf.set(id, (l = []));
      l.push(slab);
    }
    return slabsOf;
  }

  /** The allocating / freeing CPU (default 0); EINVAL for a CPU that does not exist. */
  cpuOf(cpu: number | undefined): number {
    if (cpu === undefined) return 0;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpuSlots) {
      throw this.err('EINVAL', `cpu ${cpu} does not exist (CPUs 0..${this.nrCpuSlots - 1})`, { cpu });
    }
    return cpu;
  }

  /** The preferred node, -1 (NUMA_NO_NODE) for none; EINVAL for a node that does not exist, -1 for one without memory (node_isset(node, slab_nodes)). */
  nodeOf(nid: number | undefined): number {
    if (nid === undefined || nid === -1) return -1;
    if (!Number.isInteger(nid) || nid < 0 || nid >= this.nrNodes) {
      throw this.err('EINVAL', `node ${nid} does not exist (nodes 0..${this.nrNodes - 1})`, { nid });
    }
    return this.topology.nodes.some((n) => n.nid === nid && n.presentPages > 0) ? nid : -1;
  }

  /** The allocator's own cache behind a handle (`byId` indexed by cache id); ECACHE_UNKNOWN for anything else. */
  lookup<C extends KmemCache>(byId: readonly (C | undefined)[], cache: KmemCache): C {
    const s = cache !== null && typeof cache === 'object' ? byId[cache.id] : undefined;
    if (s === undefined || s !== cache) throw this.err('ECACHE_UNKNOWN', `'${cache?.name}' is not a live cache of this allocator`, { cache: cache?.name });
    return s;
  }

  /** A kmalloc() / krealloc() size: an integer in 0..KMALLOC_MAX_SIZE, else EBAD_SIZE. */
  checkKmallocSize(op: string, size: number): void {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > KMALLOC_MAX_SIZE) {
      throw this.err('EBAD_SIZE', `${op}(${size}): size must be an integer in 0..${KMALLOC_MAX_SIZE}`, { size });
    }
  }

  /**
   * kmem_cache_create()'s first checks (kmem_cache_sanity_check() and
   * SLAB_FLAGS_PERMITTED): a name, a size in 1..KMALLOC_MAX_SIZE, a
   * power-of-two alignment up to a page, only `permitted` flags. Returns
   * the alignment (0: none asked) and flags.
   */
  cacheCreateArgs(name: string, size: number, opts: CacheOptions, permitted: number): { align: number; flags: number } {
    if (typeof name !== 'string' || name.length === 0) throw this.err('EBAD_SIZE', 'kmem_cache_create(): a cache needs a name', { name });
    if (!Number.isInteger(size) || size <= 0 || size > KMALLOC_MAX_SIZE) {
      throw this.err('EBAD_SIZE', `kmem_cache_create(${name}): object size ${size} is outside 1..${KMALLOC_MAX_SIZE}`, { name, size });
    }
    const align = opts.align ?? 0;
    if (!(align === 0 || isPowerOfTwo(align)) || align > PAGE_SIZE) {
      throw this.err('EBAD_SIZE', `kmem_cache_create(${name}): alignment ${align} is not a power of two up to ${PAGE_SIZE}`, { name, align });
    }
    const flags = opts.flags ?? 0;
    if (!Number.isInteger(flags) || flags < 0 || flags & ~permitted) {
      throw this.err('EINVAL', `kmem_cache_create(${name}): flags 0x${flags.toString(16)} include bits a cache may not ask for (-EINVAL)`, { name, flags });
    }
    return { align, flags };
  }

  /** SLAB_CACHE_DMA and SLAB_CACHE_DMA32 exclude each other (SLAB and SLUB refuse both; SLOB does not look). */
  checkDmaFlags(name: string, flags: number): void {
    if (flags & SLAB_CACHE_DMA && flags & SLAB_CACHE_DMA32) {
      throw this.err('EINVAL', `kmem_cache_create(${name}): SLAB_CACHE_DMA and SLAB_CACHE_DMA32 together`, { name, flags });
    }
  }

  /** kmem_cache_create()'s last checks: ctor and release, when given, are functions. */
  checkCallbacks(name: string, opts: CacheOptions): void {
    if (opts.ctor !== undefined && typeof opts.ctor !== 'function') throw this.err('EINVAL', `kmem_cache_create(${name}): ctor must be a function`, { name });
    if (opts.release !== undefined && typeof opts.release !== 'function') throw this.err('EINVAL', `kmem_cache_create(${name}): release must be a function`, { name });
  }

  /** The cache's list_lru for list_lru_add() / list_lru_del(); EINVAL when it is not a SLAB_RECLAIM_ACCOUNT cache. */
  lruOf(shrinker: SlabShrinker, s: KmemCache, op: 'list_lru_add' | 'list_lru_del'): ListLru {
    const lru = shrinker.lru(s);
    if (!lru) throw this.err('EINVAL', `${op}(${s.name}): not a SLAB_RECLAIM_ACCOUNT cache`, { cache: s.name });
    return lru;
  }

  /**
   * Where `length` bytes at `addr` lie in the bytes a debug slab keeps, or
   * null when their slab keeps none (or they are on no slab page).
   * EBAD_POINTER where there is no memory, EINVAL for a bad length or a
   * range past the slab's end.
   */
  debugBytesAt(slabBytes: SlabBytes, addr: number, length: number, op: string): { mem: Uint8Array; off: number } | null {
    if (typeof addr !== 'number' || !Number.isFinite(addr)) throw this.err('EBAD_POINTER', `${op}(${String(addr)}): not an address`, { ptr: addr });
    if (!Number.isInteger(length) || length < 0) throw this.err('EINVAL', `${op}: length ${length} is not a non-negative integer`, { length });
    const page = this.memory.pfnToPage(Math.floor(addr / PAGE_SIZE));
    if (page < 0 || addr < 0) throw this.err('EBAD_POINTER', `${op}(${hexPtr(addr)}): no memory at this address`, { ptr: addr });
    const t = this.memory.pages;
    if (!(t.flags[page]! & PG_slab)) return null;
    const b = slabBytes(t.private[page]!);
    if (!b) return null;
    const off = addr - b.start;
    if (off + length > b.mem.length) {
      throw this.err('EINVAL', `${op}(${hexPtr(addr)}, ${length} bytes): runs past the end of its slab (${b.mem.length - off} bytes left)`, { ptr: addr, length });
    }
    return { mem: b.mem, off };
  }

  /** writeObject() over the bytes the allocator's debug slabs keep. */
  writeObject(slabBytes: SlabBytes, ptr: number, offset: number, data: ArrayLike<number>): boolean {
    if (!Number.isInteger(offset)) throw this.err('EINVAL', `writeObject: offset ${offset} is not an integer`, { offset });
    const at = this.debugBytesAt(slabBytes, ptr + offset, data.length, 'writeObject');
    if (!at) return false;
    for (let i = 0; i < data.length; i++) at.mem[at.off + i] = data[i]! & 0xff;
    return true;
  }

  /** readObject() over the bytes the allocator's debug slabs keep. */
  readObject(slabBytes: SlabBytes, ptr: number, offset: number, length: number): Uint8Array | null {
    if (!Number.isInteger(offset)) throw this.err('EINVAL', `readObject: offset ${offset} is not an integer`, { offset });
    const at = this.debugBytesAt(slabBytes, ptr + offset, length, 'readObject');
    return at ? at.mem.slice(at.off, at.off + length) : null;
  }
}

/** The bytes a slab keeps (debug caches) and the address of the first, or undefined when it keeps none. */
export type SlabBytes = (slab: number) => { mem: Uint8Array; start: number } | undefined;

/** True for NULL and ZERO_SIZE_PTR (ZERO_OR_NULL_PTR()): kfree() and ksize() ignore them. */
export function zeroOrNullPtr(ptr: number | null | undefined): boolean {
  return ptr === null || ptr === undefined || (ptr >= 0 && ptr <= ZERO_SIZE_PTR);
}

// ---- large kmallocs ----------------------------------------------------------------------

/**
 * kmallocs above KMALLOC_MAX_CACHE_SIZE: compound pages straight from the
 * page allocator (__kmalloc_large_node() / free_large_kmalloc()), owned
 * KMALLOC_LARGE and counted as unreclaimable slab. The allocator allocates
 * and frees the pages; this keeps which are live, so a double free and a
 * stray pointer are told apart.
 */
export class LargeKmallocs {
  /** Pages held by live large kmallocs. */
  pages = 0;
  private readonly live = new Map<number, number>();
  private readonly freed = new Set<number>();

  constructor(private readonly checks: SlabCallChecks, private readonly memory: MemoryModel) {}

  /** Marks a fresh block of 2^order pages at `pfn` as a large kmalloc; returns its address. */
  add(pfn: number, order: number): number {
    const t = this.memory.pages;
    const n = 1 << order;
    for (let i = 0; i < n; i++) {
      const page = this.memory.pfnToPage(pfn + i);
      t.ownerKind[page] = PageOwner.KMALLOC_LARGE;
      t.owner[page] = 0;
      if (i === 0) t.private[page] = order;
      else t.flags[page] = (t.flags[page]! | PG_tail) >>> 0;
    }
    this.live.set(pfn, order);
    this.freed.delete(pfn);
    this.pages += n;
    return pfn * PAGE_SIZE;
  }

  /** The order of the live large kmalloc at `ptr`; EDOUBLE_FREE (when `freeing` one already freed) or EBAD_POINTER otherwise. */
  orderOf(ptr: number, op: string, freeing: boolean): number {
    const pfn = ptr / PAGE_SIZE;
    const order = Number.isInteger(pfn) ? this.live.get(pfn) : undefined;
    if (order !== undefined) return order;
    if (freeing && Number.isInteger(pfn) && this.freed.has(pfn)) {
      throw this.checks.err('EDOUBLE_FREE', `${op}(${hexPtr(ptr)}): this large kmalloc was already freed`, { ptr });
    }
    throw this.checks.err('EBAD_POINTER', `${op}(${hexPtr(ptr)}): neither a slab object nor a large kmalloc`, { ptr });
  }

  /** free_large_kmalloc() up to the page free: the pages go back to the kernel's hands; returns the block for freePages(). */
  remove(ptr: number): { pfn: number; order: number } {
    const order = this.orderOf(ptr, 'kfree', true);
    const pfn = ptr / PAGE_SIZE;
    const t = this.memory.pages;
    const n = 1 << order;
    for (let i = 0; i < n; i++) {
      const page = this.memory.pfnToPage(pfn + i);
      t.ownerKind[page] = i === 0 ? PageOwner.KERNEL : PageOwner.NONE;
      if (i > 0) t.flags[page] = t.flags[page]! & ~PG_tail;
    }
    this.live.delete(pfn);
    this.freed.add(pfn);
    this.pages -= n;
    return { pfn, order };
  }

  /** CONFIG_DEBUG_VM: every live large kmalloc is marked in the page table and the page counter adds up; `bad` reports what is not. */
  check(bad: (msg: string) => never): void {
    const t = this.memory.pages;
    let large = 0;
    for (const [pfn, order] of this.live) {
      const page = this.memory.pfnToPage(pfn);
      if (t.ownerKind[page] !== PageOwner.KMALLOC_LARGE || t.private[page] !== order) bad(`large kmalloc at pfn ${pfn} is not marked KMALLOC_LARGE/order ${order}`);
      large += 1 << order;
    }
    if (large !== this.pages) bad(`large kmallocs hold ${large} pages, counter says ${this.pages}`);
  }
}

// ---- krealloc ------------------------------------------------------------------------------

/** What {@link krealloc} needs of an allocator. */
export interface KreallocOps {
  /** ksize() of a live, non-NULL pointer that krealloc() may free, with the allocator's pointer checks. */
  ksizeOf(ptr: number, op: string): number;
  kmalloc(size: number, gfp: number, opts?: SlabAllocOptions): number | null;
  kfree(ptr: number | null, opts?: SlabFreeOptions): void;
}

/**
 * krealloc() (slab_common.c): the same pointer while the new size fits
 * ksize(), else a new object and the old one freed; krealloc(p, 0) frees.
 * `kfreeNull`: the old pointer is freed whenever the new one differs, so a
 * krealloc(NULL) still calls kfree(NULL) (SLUB, 6.12: the kfree tracepoint
 * fires); otherwise only a real old object is freed (SLAB, SLOB).
 */
export function krealloc(a: KreallocOps, checks: SlabCallChecks, ptr: number | null, size: number, gfp: number, opts: SlabAllocOptions | undefined, kfreeNull: boolean): number | null {
  checks.checkKmallocSize('krealloc', size);
  const isNull = zeroOrNullPtr(ptr);
  const ks = isNull ? 0 : a.ksizeOf(ptr!, 'krealloc');
  if (size === 0) {
    a.kfree(ptr, opts);
    return ZERO_SIZE_PTR;
  }
  if (ks >= size) return ptr;
  const ret = a.kmalloc(size, gfp, opts);
  if (ret !== null && (kfreeNull ? ret !== ptr : !isNull)) a.kfree(ptr, opts);
  return ret;
}
