/**
 * @mmsim/slab-common — what the slab allocators share, as mm/slab_common.c
 * and mm/list_lru.c are to mm/slab.c and mm/slub.c: the kmalloc size
 * classes and cache names, the merge rules, calculate_alignment(), the
 * argument checks of the SLAB_ALLOCATOR calls, large kmallocs, krealloc(),
 * the slub_debug= parser, and list_lru with the shrinker of reclaimable
 * caches. The contract itself (SlabAllocator, the SLAB_* flags) is
 * @mmsim/core's. Depends on @mmsim/core only.
 * @module @mmsim/slab-common
 */
export * from './slab_common.js';
export * from './list_lru.js';
export * from './slub_debug.js';
