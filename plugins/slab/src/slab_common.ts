/**
 * The sizing rules of SLAB (Linux 6.1, x86_64, CONFIG_NUMA) as pure
 * functions: kmalloc size classes (KMALLOC_SHIFT_LOW is 5 under SLAB, so
 * the smallest cache is kmalloc-32; the tables are slab_common's, in
 * @mmsim/slab-common), cache_estimate() and calculate_slab_order(), the
 * on-slab / off-slab / object-freelist choice of __kmem_cache_create(),
 * and enable_cpucache()'s tunables.
 * @module
 */
import {
  getOrder, KMALLOC_MAX_CACHE_SIZE, PAGE_SIZE, SLAB_ACCOUNT, SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_CONSISTENCY_CHECKS, SLAB_DEBUG_OBJECTS, SLAB_HWCACHE_ALIGN,
  SLAB_KMALLOC, SLAB_MEM_SPREAD, SLAB_NO_MERGE, SLAB_NOLEAKTRACE, SLAB_PANIC, SLAB_POISON, SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE,
  SLAB_STORE_USER, SLAB_TRACE, SLAB_TYPESAFE_BY_RCU,
} from '@mmsim/core';
import {
  alignUp, fls, kmallocIndex as kmallocSizeIndex, type KmallocKind, kmallocName as kmallocKindName, kmallocSizeIndexTable,
} from '@mmsim/slab-common';

/** BYTES_PER_WORD, REDZONE_ALIGN on x86_64. */
export const BYTES_PER_WORD = 8;
export const REDZONE_ALIGN = 8;
/** KMALLOC_SHIFT_LOW under SLAB: kmalloc-32 .. kmalloc-8k (KMALLOC_SHIFT_HIGH, slab_common's); larger requests go to the page allocator. */
export const KMALLOC_SHIFT_LOW = 5;
export const KMALLOC_MIN_SIZE = 1 << KMALLOC_SHIFT_LOW;
/** KMALLOC_MAX_ORDER: the highest order calculate_slab_order() tries. */
export const KMALLOC_MAX_ORDER = 10;
/** SLAB_OBJ_MIN_SIZE: with KMALLOC_MIN_SIZE 32, 16 — small enough for a byte-sized freelist index. */
export const SLAB_OBJ_MIN_SIZE = 16;
/** FREELIST_BYTE_INDEX holds: freelist_idx_t is one byte, at most 255 objects per slab. */
export const FREELIST_IDX_SIZE = 1;
export const SLAB_OBJ_MAX_NUM = 255;
/** SLAB_MAX_ORDER_HI / _LO: slab_max_order above / below 32 MiB of RAM. */
export const SLAB_MAX_ORDER_HI = 1;
export const SLAB_MAX_ORDER_LO = 0;
/** BATCHREFILL_LIMIT: an untouched array cache refills at most this many objects. */
export const BATCHREFILL_LIMIT = 16;

/** SLAB_FLAGS_PERMITTED (mm/slab.h): kmem_cache_create() refuses other bits. */
export const SLAB_FLAGS_PERMITTED = SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_PANIC |
  SLAB_TYPESAFE_BY_RCU | SLAB_DEBUG_OBJECTS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE |
  SLAB_CONSISTENCY_CHECKS | SLAB_MEM_SPREAD | SLAB_NOLEAKTRACE | SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT | SLAB_NO_MERGE;
/** CACHE_CREATE_MASK with CONFIG_DEBUG_SLAB: the flags a SLAB cache keeps (TRACE and CONSISTENCY_CHECKS are SLUB's). */
export const CACHE_CREATE_MASK = SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_PANIC |
  SLAB_TYPESAFE_BY_RCU | SLAB_DEBUG_OBJECTS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_MEM_SPREAD |
  SLAB_NOLEAKTRACE | SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT | SLAB_NO_MERGE | SLAB_KMALLOC;
/** ARCH_KMALLOC_FLAGS: SLAB's kmalloc caches are hardware-cache aligned. */
export const ARCH_KMALLOC_FLAGS = SLAB_HWCACHE_ALIGN;

/** enum kmalloc_cache_type of 6.1 (NORMAL, CGROUP with CONFIG_MEMCG_KMEM, RECLAIM, DMA): CGROUP comes second. */
export enum KmallocType {
  NORMAL = 0,
  CGROUP = 1,
  RECLAIM = 2,
  DMA = 3,
}
export const NR_KMALLOC_TYPES = 4;
/** The kind of each KmallocType (slab_common's KmallocTypes and cache names). */
export const KMALLOC_KINDS: readonly KmallocKind[] = ['normal', 'cgroup', 'reclaim', 'dma'];
/** size_index[] after setup_kmalloc_cache_index_table(): sizes below KMALLOC_MIN_SIZE use kmalloc-32. */
export const SIZE_INDEX = kmallocSizeIndexTable(KMALLOC_SHIFT_LOW);

/** kmalloc_slab()'s index for 1 ≤ size ≤ KMALLOC_MAX_CACHE_SIZE, with SLAB's size_index[]. */
export function kmallocIndex(size: number): number {
  return kmallocSizeIndex(size, SIZE_INDEX);
}
/** The cache name of a kmalloc type and index, e.g. 'dma-kmalloc-1k'. */
export function kmallocName(type: KmallocType, index: number): string {
  return kmallocKindName(KMALLOC_KINDS[type]!, index);
}

/** Where a slab's freelist (its array of free object indices) lives. */
export type SlabMgmt = 'objfreelist' | 'offslab' | 'onslab';

/** cache_estimate(): objects and left-over bytes of a slab of `order`. */
export function cacheEstimate(order: number, size: number, mgmt: SlabMgmt): { num: number; left: number } {
  const slabSize = PAGE_SIZE << order;
  if (mgmt !== 'onslab') return { num: Math.floor(slabSize / size), left: slabSize % size };
  return { num: Math.floor(slabSize / (size + FREELIST_IDX_SIZE)), left: slabSize % (size + FREELIST_IDX_SIZE) };
}

/** What kmalloc_slab() gives an off-slab freelist of `bytes`: that cache's size and whether it is itself off-slab (undefined: not created yet). */
export type FreelistCacheLookup = (bytes: number) => { size: number; offSlab: boolean } | undefined;

/** The result of calculate_slab_order(). */
export interface SlabOrder {
  num: number;
  order: number;
  left: number;
}

/**
 * calculate_slab_order(): the order and objects per slab for objects of
 * `size` bytes with the freelist placed as `mgmt` says; num 0 when none
 * fits. `objectSize` is cachep->size at that point (the unpadded size).
 */
export function calculateSlabOrder(size: number, objectSize: number, flags: number, mgmt: SlabMgmt, slabMaxOrder: number, freelistCache: FreelistCacheLookup): SlabOrder {
  const best: SlabOrder = { num: 0, order: 0, left: 0 };
  for (let order = 0; order <= KMALLOC_MAX_ORDER; order++) {
    const { num, left } = cacheEstimate(order, size, mgmt);
    if (!num) continue;
    // the freelist index is a byte
    if (num > SLAB_OBJ_MAX_NUM) break;
    if (mgmt === 'offslab') {
      const freelistSize = num * FREELIST_IDX_SIZE;
      let cacheSize: number;
      if (freelistSize > KMALLOC_MAX_CACHE_SIZE) {
        cacheSize = PAGE_SIZE << getOrder(freelistSize);
      } else {
        const fc = freelistCache(freelistSize);
        if (!fc) continue;
        cacheSize = fc.size;
        // avoid looping in cache_grow_begin()
        if (fc.offSlab) continue;
      }
      // off-slab must pay for itself
      if (cacheSize > objectSize / 2) continue;
    }
    best.num = num;
    best.order = order;
    best.left = left;
    // VFS-reclaimable caches allocate GFP_NOFS: keep their order low
    if (flags & SLAB_RECLAIM_ACCOUNT) break;
    if (order >= slabMaxOrder) break;
    // acceptable internal fragmentation?
    if (left * 8 <= PAGE_SIZE << order) break;
  }
  return best;
}

/** The layout __kmem_cache_create() settles on. */
export interface SlabLayout {
  /** Final flags (debug flags dropped when the alignment forbids them). */
  flags: number;
  size: number;
  align: number;
  /** obj_offset: the red zone word before the object (debug). */
  objOffset: number;
  num: number;
  order: number;
  colour: number;
  colourOff: number;
  mgmt: SlabMgmt;
  /** freelist_size: num × sizeof(freelist_idx_t). */
  freelistSize: number;
}

/**
 * __kmem_cache_create() (mm/slab.c): word and red-zone alignment, the
 * debug words, the minimum object size, then an object-freelist,
 * off-slab or on-slab layout, whichever fits first. Null: -E2BIG.
 */
export function kmemCacheLayout(objectSize: number, align: number, flags: number, hasCtor: boolean, slabMaxOrder: number,
  freelistCache: FreelistCacheLookup, cacheLine = 64): SlabLayout | null {
  let ralign = BYTES_PER_WORD;
  let size = alignUp(objectSize, BYTES_PER_WORD);
  if (flags & SLAB_RED_ZONE) {
    ralign = REDZONE_ALIGN;
    size = alignUp(size, REDZONE_ALIGN);
  }
  if (ralign < align) ralign = align;
  // the red zone words need word alignment only
  if (ralign > 8) flags &= ~(SLAB_RED_ZONE | SLAB_STORE_USER);
  align = ralign;
  const colourOff = Math.max(cacheLine, align);
  let objOffset = 0;
  if (flags & SLAB_RED_ZONE) {
    objOffset += 8;
    size += 2 * 8;
  }
  if (flags & SLAB_STORE_USER) size += flags & SLAB_RED_ZONE ? REDZONE_ALIGN : BYTES_PER_WORD;
  size = alignUp(size, align);
  if (size < SLAB_OBJ_MIN_SIZE) size = alignUp(SLAB_OBJ_MIN_SIZE, align);
  const tryLayout = (mgmt: SlabMgmt): SlabLayout | null => {
    const o = calculateSlabOrder(size, objectSize, flags, mgmt, slabMaxOrder, freelistCache);
    if (!o.num) return null;
    // set_objfreelist_slab_cache(): the freelist must fit in an object
    if (mgmt === 'objfreelist' && o.num * FREELIST_IDX_SIZE > objectSize) return null;
    // set_off_slab_cache(): enough left over for the freelist: keep it on the slab
    if (mgmt === 'offslab' && o.left >= o.num * FREELIST_IDX_SIZE) return null;
    return {
      flags, size, align, objOffset, num: o.num, order: o.order, colour: Math.floor(o.left / colourOff), colourOff, mgmt,
      freelistSize: o.num * FREELIST_IDX_SIZE,
    };
  };
  if (!hasCtor && !(flags & SLAB_TYPESAFE_BY_RCU)) {
    const l = tryLayout('objfreelist');
    if (l) return l;
  }
  if (!(flags & SLAB_NOLEAKTRACE)) {
    const l = tryLayout('offslab');
    if (l) return l;
  }
  return tryLayout('onslab');
}

/** enable_cpucache(): limit by object size, shared on SMP for objects up to a page, batchcount half the limit. */
export function cpucacheTunables(size: number, nrCpus: number, debug: boolean): { limit: number; batchcount: number; shared: number } {
  let limit: number;
  if (size > 131072) limit = 1;
  else if (size > PAGE_SIZE) limit = 8;
  else if (size > 1024) limit = 24;
  else if (size > 256) limit = 54;
  else limit = 120;
  const shared = size <= PAGE_SIZE && nrCpus > 1 ? 8 : 0;
  // with debugging, large batches keep interrupts off too long
  if (debug && limit > 32) limit = 32;
  return { limit, batchcount: (limit + 1) >> 1, shared };
}

/** FORCED_DEBUG (CONFIG_DEBUG_SLAB): red zone + user unless that pushes the size past a power of two; poison unless RCU. */
export function forcedDebugFlags(size: number, flags: number): number {
  if (size < 4096 || fls(size - 1) === fls(size - 1 + REDZONE_ALIGN + 2 * 8)) flags |= SLAB_RED_ZONE | SLAB_STORE_USER;
  if (!(flags & SLAB_TYPESAFE_BY_RCU)) flags |= SLAB_POISON;
  return flags;
}

/** SLAB's kmalloc caches: SLAB_KMALLOC | ARCH_KMALLOC_FLAGS. */
export const KMALLOC_FLAGS = SLAB_KMALLOC | ARCH_KMALLOC_FLAGS;
