/**
 * The SLAB_ALLOCATOR extension point: kmem_cache_* and kmalloc family.
 * @module
 */

/** SLAB_* cache flags (values as Linux ≤ 6.1 fixed them). */
export const SLAB_CONSISTENCY_CHECKS = 0x100;
export const SLAB_RED_ZONE = 0x400;
export const SLAB_POISON = 0x800;
export const SLAB_KMALLOC = 0x1000;
export const SLAB_HWCACHE_ALIGN = 0x2000;
export const SLAB_CACHE_DMA = 0x4000;
export const SLAB_CACHE_DMA32 = 0x8000;
export const SLAB_STORE_USER = 0x10000;
export const SLAB_RECLAIM_ACCOUNT = 0x20000;
export const SLAB_PANIC = 0x40000;
export const SLAB_TYPESAFE_BY_RCU = 0x80000;
export const SLAB_NO_MERGE = 0x1000000;
export const SLAB_ACCOUNT = 0x4000000;

/** ZERO_SIZE_PTR: what kmalloc(0) returns; kfree() ignores it. */
export const ZERO_SIZE_PTR = 16;
/** KMALLOC_MAX_CACHE_SIZE for SLUB/x86_64: larger kmallocs go to the page allocator. */
export const KMALLOC_MAX_CACHE_SIZE = 8192;
/** The kmalloc size classes, as the kmalloc-N caches name them. */
export const KMALLOC_SIZES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192] as const;

/** kmem_cache_create() options. */
export interface CacheOptions {
  /** Minimum object alignment (power of two). */
  align?: number;
  /** SLAB_* flags. */
  flags?: number;
  /** Constructor called on each object when its slab is allocated. */
  ctor?: (ptr: number) => void;
}

/** A kmem_cache handle, as the allocator returned it. Read-only to callers. */
export interface KmemCache {
  readonly id: number;
  readonly name: string;
  /** Requested object size (object_size). */
  readonly objectSize: number;
  /** Size of an object with its metadata and alignment (size). */
  readonly size: number;
  readonly align: number;
  readonly flags: number;
}

/** One /proc/slabinfo line's numbers (struct slabinfo). */
export interface SlabInfo {
  name: string;
  activeObjs: number;
  numObjs: number;
  objSize: number;
  objPerSlab: number;
  pagesPerSlab: number;
  limit: number;
  batchCount: number;
  shared: number;
  activeSlabs: number;
  numSlabs: number;
  sharedAvail: number;
}

/** Where the allocator's pages go, for /proc/meminfo (Slab, SReclaimable, SUnreclaim). */
export interface SlabStats {
  reclaimablePages: number;
  unreclaimablePages: number;
}

/**
 * A shrinker (struct shrinker): count_objects / scan_objects. Registered
 * under the SHRINKER contribution token; vmscan calls every one in sequence.
 */
export interface Shrinker {
  readonly name: string;
  countObjects(nid: number): number;
  /** Frees up to `nrToScan` objects; returns how many were freed (SHRINK_STOP = -1 to stop). */
  scanObjects(nid: number, nrToScan: number): number;
}

/** A small-object allocator. */
export interface SlabAllocator {
  /** Plugin name. */
  readonly name: string;
  /** kmem_cache_create() */
  createCache(name: string, size: number, opts?: CacheOptions): KmemCache;
  /** kmem_cache_destroy(): refuses (ECACHE_BUSY) while objects are live. */
  destroyCache(cache: KmemCache): void;
  /** kmem_cache_alloc(): an object address, or null when no page could be had. */
  cacheAlloc(cache: KmemCache, gfp: number, opts?: { nid?: number; cpu?: number }): number | null;
  /** kmem_cache_free(): EDOUBLE_FREE / EBAD_POINTER on misuse, state unchanged. */
  cacheFree(cache: KmemCache, ptr: number): void;
  /** kmem_cache_shrink(): returns empty slabs to the page allocator; pages freed. */
  shrinkCache(cache: KmemCache): number;
  /** kmalloc() */
  kmalloc(size: number, gfp: number, opts?: { nid?: number; cpu?: number }): number | null;
  /** kzalloc() */
  kzalloc(size: number, gfp: number): number | null;
  /** kfree(): null and ZERO_SIZE_PTR are ignored, as in the kernel. */
  kfree(ptr: number | null): void;
  /** ksize(): usable size of a kmalloc'd object. */
  ksize(ptr: number): number;
  /** krealloc() */
  krealloc(ptr: number | null, size: number, gfp: number): number | null;
  /** Every live cache, in creation order (kmalloc caches first). */
  caches(): readonly KmemCache[];
  /** Numbers for /proc/slabinfo, one row per cache, in the order slabinfo lists them. */
  slabinfo(): SlabInfo[];
  /** Pages held, for /proc/meminfo. */
  stats(): SlabStats;
}
