/**
 * The sizing rules of SLUB, as pure functions: its kmalloc cache types,
 * calculate_sizes() with free pointer placement, calculate_order() /
 * calc_slab_order(), min_partial and cpu_partial. Linux 6.12, x86_64
 * (8-byte words, 4 KiB pages, CONFIG_SLUB_DEBUG and CONFIG_STACKDEPOT on,
 * no KASAN). The kmalloc size tables, calculate_alignment() and the merge
 * flags are slab_common's, in @mmsim/slab-common.
 * @module
 */
import {
  getOrder, PAGE_SIZE, SLAB_ACCOUNT, SLAB_CACHE_DMA,
  SLAB_CACHE_DMA32, SLAB_CONSISTENCY_CHECKS, SLAB_DEBUG_FLAGS, SLAB_DEBUG_OBJECTS, SLAB_FAILSLAB, SLAB_HWCACHE_ALIGN, SLAB_KMALLOC,
  SLAB_MEM_SPREAD, SLAB_NO_MERGE, SLAB_NOLEAKTRACE, SLAB_PANIC, SLAB_POISON, SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE, SLAB_STORE_USER,
  SLAB_TRACE, SLAB_TYPESAFE_BY_RCU,
} from '@mmsim/core';
import { alignDown, alignUp, fls, ilog2, type KmallocKind, kmallocIndex, KMALLOC_INFO, kmallocName as kmallocKindName } from '@mmsim/slab-common';

/** sizeof(void *) on x86_64. */
export const WORD = 8;
/** The flags kmem_cache_create() accepts (SLAB_FLAGS_PERMITTED); others are refused. */
export const SLAB_FLAGS_PERMITTED = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_KMALLOC |
  SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_STORE_USER | SLAB_RECLAIM_ACCOUNT | SLAB_PANIC |
  SLAB_TYPESAFE_BY_RCU | SLAB_MEM_SPREAD | SLAB_TRACE | SLAB_DEBUG_OBJECTS | SLAB_NOLEAKTRACE | SLAB_NO_MERGE |
  SLAB_FAILSLAB | SLAB_ACCOUNT;

/** MIN_PARTIAL / MAX_PARTIAL: bounds of kmem_cache->min_partial. */
export const MIN_PARTIAL = 5;
export const MAX_PARTIAL = 10;
/** slab->objects is 15 bits wide. */
export const MAX_OBJS_PER_PAGE = 32767;
/** PAGE_ALLOC_COSTLY_ORDER: slub_max_order's default. */
export const PAGE_ALLOC_COSTLY_ORDER = 3;
/** sizeof(struct track) with CONFIG_STACKDEPOT: addr, handle, cpu, pid, when. */
export const TRACK_SIZE = 32;
/** ARCH_KMALLOC_MINALIGN = arch_slab_minalign() = __alignof__(unsigned long long) on x86_64. */
export const ARCH_KMALLOC_MINALIGN = 8;
/** KMALLOC_SHIFT_LOW (SLUB: 3, kmalloc-8 is the smallest cache); KMALLOC_SHIFT_HIGH and the size tables are slab_common's. */
export const KMALLOC_SHIFT_LOW = 3;
/** SHRINK_PROMOTE_MAX: kmem_cache_shrink() sorts slabs with up to this many free objects. */
export const SHRINK_PROMOTE_MAX = 32;
/** MAX_PARTIAL_TO_SCAN: count_partial_free_approx() scans at most this many slabs. */
export const MAX_PARTIAL_TO_SCAN = 10000;

/** enum kmalloc_cache_type of 6.12, as many as this simulator builds (no RANDOM_KMALLOC_CACHES, no SLAB_OBJ_EXT): CGROUP comes last. */
export enum KmallocType {
  NORMAL = 0,
  RECLAIM = 1,
  DMA = 2,
  CGROUP = 3,
}
export const NR_KMALLOC_TYPES = 4;
/** The kind of each KmallocType (slab_common's KmallocTypes and cache names). */
export const KMALLOC_KINDS: readonly KmallocKind[] = ['normal', 'reclaim', 'dma', 'cgroup'];

/** The size class kmalloc(size) uses (1..8192). */
export function kmallocSizeClass(size: number): number {
  return KMALLOC_INFO[kmallocIndex(size)]![0];
}
/** The kmalloc cache name of a type and index, e.g. 'dma-kmalloc-1k'. */
export function kmallocName(type: KmallocType, index: number): string {
  return kmallocKindName(KMALLOC_KINDS[type]!, index);
}

/** order_objects() */
export function orderObjects(order: number, size: number): number {
  return Math.floor((PAGE_SIZE * 2 ** order) / size);
}

/** slub_min_objects when not set on the command line: 4 * (fls(nr_cpus) + 1), nr_cpu_ids when only one CPU is present. */
export function slubMinObjects(nrPresentCpus: number, nrCpuIds = nrPresentCpus): number {
  const n = nrPresentCpus <= 1 ? nrCpuIds : nrPresentCpus;
  return 4 * (fls(n) + 1);
}

/** calc_slab_order(): the smallest order in [minOrder, maxOrder] wasting at most 1/fract; maxOrder + 1 when none does. */
export function calcSlabOrder(size: number, minOrder: number, maxOrder: number, fractLeftover: number): number {
  let order: number;
  for (order = minOrder; order <= maxOrder; order++) {
    const slabSize = PAGE_SIZE * 2 ** order;
    const rem = slabSize % size;
    if (rem <= Math.floor(slabSize / fractLeftover)) break;
  }
  return order;
}

/** The SLUB boot parameters that shape slab orders. */
export interface SlubTunables {
  /** slub_min_objects (already derived from the CPU count when not given). */
  minObjects: number;
  /** slub_min_order (0) */
  minOrder: number;
  /** slub_max_order (PAGE_ALLOC_COSTLY_ORDER) */
  maxOrder: number;
  /** CONFIG_SLUB_CPU_PARTIAL */
  cpuPartial: boolean;
}

/** calculate_order(): the slab order for objects of `size` bytes (size includes metadata); -1 when none fits (-ENOSYS). */
export function calculateOrder(size: number, t: Pick<SlubTunables, 'minObjects' | 'minOrder' | 'maxOrder'>): number {
  let minObjects = t.minObjects;
  const maxObjects = Math.max(orderObjects(t.maxOrder, size), 1);
  minObjects = Math.min(minObjects, maxObjects);
  const minOrder = Math.max(t.minOrder, getOrder(minObjects * size));
  if (orderObjects(minOrder, size) > MAX_OBJS_PER_PAGE) return getOrder(size * MAX_OBJS_PER_PAGE) - 1;
  for (let fraction = 16; fraction > 1; fraction /= 2) {
    const order = calcSlabOrder(size, minOrder, t.maxOrder, fraction);
    if (order <= t.maxOrder) return order;
  }
  const order = getOrder(size);
  return order <= 10 ? order : -1;
}

/** struct kmem_cache's layout fields, as calculate_sizes() and kmem_cache_open() set them. */
export interface CacheLayout {
  /** object_size */
  objectSize: number;
  /** size: object + metadata, aligned */
  size: number;
  align: number;
  /** inuse: bytes of the object in use (object + red zone word) */
  inuse: number;
  /** offset: where the free pointer sits */
  offset: number;
  /** red_left_pad */
  redLeftPad: number;
  /** oo: order and objects per slab */
  order: number;
  objects: number;
  /** min: the fallback order (get_order(size)) and its objects */
  minOrder: number;
  minObjects: number;
  /** min_partial: clamp(ilog2(size) / 2, MIN_PARTIAL, MAX_PARTIAL) */
  minPartial: number;
  /** cpu_partial (objects) and cpu_partial_slabs */
  cpuPartial: number;
  cpuPartialSlabs: number;
}

/**
 * calculate_sizes() + the rest of do_kmem_cache_create()'s sizing: object
 * layout (word alignment, red zones, free pointer placement, tracking),
 * the slab order, min_partial and the per-CPU partial limits.
 * `align` is the already calculated alignment (calculate_alignment()).
 */
export function calculateSizes(objectSize: number, flags: number, align: number, hasCtor: boolean, t: SlubTunables): CacheLayout {
  let size = alignUp(objectSize, WORD);
  if (flags & SLAB_RED_ZONE && size === objectSize) size += WORD;
  const inuse = size;
  const origSize = (flags & SLAB_STORE_USER) !== 0 && (flags & SLAB_KMALLOC) !== 0; // slub_debug_orig_size()
  let offset: number;
  if (flags & SLAB_TYPESAFE_BY_RCU || flags & SLAB_POISON || hasCtor || (flags & SLAB_RED_ZONE && (objectSize < WORD || origSize))) {
    // the free pointer may not overwrite the object: put it after
    offset = size;
    size += WORD;
  } else {
    // near the middle of the object, away from small over/underflows
    offset = alignDown(Math.floor(objectSize / 2), WORD);
  }
  if (flags & SLAB_STORE_USER) {
    size += 2 * TRACK_SIZE;
    if (flags & SLAB_KMALLOC) size += WORD;
  }
  let redLeftPad = 0;
  if (flags & SLAB_RED_ZONE) {
    size += WORD;
    redLeftPad = alignUp(WORD, align);
    size += redLeftPad;
  }
  size = alignUp(size, align);
  const order = calculateOrder(size, t);
  const minOrder = getOrder(size);
  const debug = (flags & SLAB_DEBUG_FLAGS) !== 0;
  const minPartial = Math.max(MIN_PARTIAL, Math.min(MAX_PARTIAL, Math.floor(ilog2(size) / 2)));
  const objects = order < 0 ? 0 : orderObjects(order, size);
  // set_cpu_partial() / slub_set_cpu_partial()
  let cpuPartial: number;
  if (!t.cpuPartial || debug) cpuPartial = 0;
  else if (size >= PAGE_SIZE) cpuPartial = 6;
  else if (size >= 1024) cpuPartial = 24;
  else if (size >= 256) cpuPartial = 52;
  else cpuPartial = 120;
  const cpuPartialSlabs = objects > 0 ? Math.ceil((cpuPartial * 2) / objects) : 0;
  return {
    objectSize, size, align, inuse, offset, redLeftPad, order, objects,
    minOrder, minObjects: orderObjects(minOrder, size), minPartial, cpuPartial, cpuPartialSlabs,
  };
}
