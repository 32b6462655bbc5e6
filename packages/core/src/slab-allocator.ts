/**
 * The SLAB_ALLOCATOR extension point: kmem_cache_* and kmalloc family,
 * slab flags and poison values. What the allocators share beyond the
 * contract (slab_common, list_lru, the slub_debug= parser) is
 * @mmsim/slab-common's.
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
export const SLAB_MEM_SPREAD = 0x100000;
export const SLAB_TRACE = 0x200000;
export const SLAB_DEBUG_OBJECTS = 0x400000;
export const SLAB_NOLEAKTRACE = 0x800000;
export const SLAB_NO_MERGE = 0x1000000;
export const SLAB_FAILSLAB = 0x2000000;
export const SLAB_ACCOUNT = 0x4000000;
/** SLAB_DEBUG_FLAGS: a cache with any of these takes the allocator's debug paths. */
export const SLAB_DEBUG_FLAGS = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE | SLAB_CONSISTENCY_CHECKS;
/** DEBUG_DEFAULT_FLAGS (mm/slub.c): what a bare `slub_debug` turns on (F, Z, P, U). */
export const DEBUG_DEFAULT_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER;
/** DEBUG_METADATA_FLAGS (mm/slub.c): debug features that store metadata in the slab. */
export const DEBUG_METADATA_FLAGS = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER;

/** include/linux/poison.h: POISON_INUSE fills padding (and SLAB's allocated objects). */
export const POISON_INUSE = 0x5a;
/** POISON_FREE fills a free object. */
export const POISON_FREE = 0x6b;
/** POISON_END is the last byte of a poisoned object. */
export const POISON_END = 0xa5;
/** SLUB_RED_INACTIVE: SLUB's red zone byte around a free object. */
export const SLUB_RED_INACTIVE = 0xbb;
/** SLUB_RED_ACTIVE: SLUB's red zone byte around an allocated object. */
export const SLUB_RED_ACTIVE = 0xcc;

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
  /**
   * For SLAB_RECLAIM_ACCOUNT caches: called when the cache's shrinker
   * reclaims an object the owner put on the cache's LRU ({@link
   * SlabAllocator.lruAdd}), just before the object is freed — what
   * dentry_kill() is to the dcache. The owner must forget the pointer.
   */
  release?: (ptr: number) => void;
}

/** Where an object should come from (kmalloc_node / kmem_cache_alloc_node, and the allocating CPU). */
export interface SlabAllocOptions {
  /** Preferred node; default: the CPU's node (NUMA_NO_NODE). */
  nid?: number;
  /** Allocating CPU (selects the per-CPU caches); default 0. */
  cpu?: number;
}

/** Which CPU frees (kfree / kmem_cache_free run on some CPU; default 0). */
export interface SlabFreeOptions {
  cpu?: number;
}

/** One overwritten region a slab debug check found (what the kernel prints as `[<what> overwritten] ... @offset=`). */
export interface SlabCorruption {
  /** Cache name. */
  cache: string;
  /** The object's address (what alloc returned). */
  object: number;
  /** Offset of the first bad byte from the object's address (negative: before the object, e.g. the left red zone). */
  offset: number;
  /** Offset of the first bad byte from the start of the slab (the kernel's `@offset=`). */
  slabOffset: number;
  /** Number of bytes from the first to the last bad one. */
  length: number;
  /** The kernel's name for the region: 'Right Redzone', 'Left Redzone', 'Poison', 'End Poison', 'Object padding', 'Padding', 'Redzone 1', ... */
  what: string;
  /** The first bad byte and the byte expected there. */
  found: number;
  expected: number;
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
  cacheAlloc(cache: KmemCache, gfp: number, opts?: SlabAllocOptions): number | null;
  /** kmem_cache_free(): EDOUBLE_FREE / EBAD_POINTER on misuse, EOBJ_CORRUPT when a debug check fails; state unchanged. */
  cacheFree(cache: KmemCache, ptr: number, opts?: SlabFreeOptions): void;
  /** kmem_cache_shrink(): returns empty slabs to the page allocator; pages freed. */
  shrinkCache(cache: KmemCache): number;
  /** kmalloc() */
  kmalloc(size: number, gfp: number, opts?: SlabAllocOptions): number | null;
  /** kzalloc() */
  kzalloc(size: number, gfp: number, opts?: SlabAllocOptions): number | null;
  /** kfree(): null and ZERO_SIZE_PTR are ignored, as in the kernel. */
  kfree(ptr: number | null, opts?: SlabFreeOptions): void;
  /** ksize(): usable size of a kmalloc'd object. */
  ksize(ptr: number): number;
  /** krealloc(): the same pointer while the new size fits ksize(), else a new object (the old one freed); krealloc(p, 0) frees. */
  krealloc(ptr: number | null, size: number, gfp: number, opts?: SlabAllocOptions): number | null;
  /** Every live cache, in creation order (kmalloc caches first). */
  caches(): readonly KmemCache[];
  /** Numbers for /proc/slabinfo, one row per cache, in the order slabinfo lists them. */
  slabinfo(): SlabInfo[];
  /** Pages held, for /proc/meminfo. */
  stats(): SlabStats;
  /**
   * False when the allocator counts every page as unreclaimable whatever
   * the cache's SLAB_RECLAIM_ACCOUNT (SLOB: slob_new_pages() always adds
   * to NR_SLAB_UNRECLAIMABLE_B); the invariant checker then does not
   * expect those caches' pages in SReclaimable. Default true.
   */
  readonly reclaimAccounting?: boolean;

  /**
   * Writes `data` into simulated memory at `ptr + offset` — to simulate an
   * overrun (offset ≥ the object size), an underrun (negative offset) or a
   * use after free. Bytes are kept only for caches with SLAB_RED_ZONE or
   * SLAB_POISON (the checks then find the write on free, on allocation or
   * in {@link validateCache}); for other memory nothing is kept and the
   * result is false. EBAD_POINTER when the range is no slab memory.
   */
  writeObject(ptr: number, offset: number, data: ArrayLike<number>): boolean;
  /** Reads `length` simulated bytes at `ptr + offset`, or null when the allocator keeps no bytes there. */
  readObject(ptr: number, offset: number, length: number): Uint8Array | null;
  /**
   * validate_slab_cache() (/sys/kernel/slab/<cache>/validate): checks every
   * object of a debug cache, free ones for poison and red zones, allocated
   * ones for red zones and padding. Restores what it finds and throws
   * EOBJ_CORRUPT listing it (details.corruptions: {@link SlabCorruption}[]).
   */
  validateCache(cache: KmemCache): void;
  /**
   * list_lru_add() on a SLAB_RECLAIM_ACCOUNT cache's LRU: the object is
   * unused and may be reclaimed by the cache's shrinker (which calls the
   * cache's `release` callback, then frees it). Returns false when it was
   * already on the LRU.
   */
  lruAdd(cache: KmemCache, ptr: number): boolean;
  /** list_lru_del(): the object is in use again. Returns false when it was not on the LRU. */
  lruDel(cache: KmemCache, ptr: number): boolean;
}
