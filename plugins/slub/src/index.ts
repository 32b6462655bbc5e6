/**
 * @mmsim/plugin-slub — the SLUB small-object allocator (mm/slub.c).
 * @module @mmsim/plugin-slub
 */
import { definePlugin, Lifecycle, SHRINKER, SLAB_ALLOCATOR } from '@mmsim/core';
import { ListLru } from '@mmsim/slab-common';
import { SLUB_OPTIONS, slubOptionsSchema, type SlubOptions } from './options.js';
import { type FreeOptions, SlubAllocator, SlubCache, type Track } from './slub.js';

export { type FreeOptions, SlubAllocator, SlubCache, SLUB_OPTIONS, slubOptionsSchema, type SlubOptions, type Track };
export * from './slub_debug.js';
export * from './slab_common.js';

export default definePlugin<unknown, SlubOptions>({
  name: 'slub',
  provides: SLAB_ALLOCATOR,
  apiVersion: '1',
  // a reclaimable cache's list_lru is created when the cache is: a snapshot may hold one a fresh boot has not met
  snapshotClasses: [ListLru],
  description: 'SLUB: per-CPU slabs with lockless-style freelists and CPU partial lists, per-node partial lists, kmalloc-8 .. kmalloc-8k',
  options: slubOptionsSchema,
  register(container, opts) {
    container.register(SLUB_OPTIONS, { useValue: opts });
    container.register(SLAB_ALLOCATOR, { useClass: SlubAllocator }, { lifecycle: Lifecycle.ContainerScoped });
    // the shrinker of the SLAB_RECLAIM_ACCOUNT caches' LRUs
    container.register(SHRINKER, { useFactory: (c) => c.resolve<SlubAllocator>(SLAB_ALLOCATOR).shrinker });
  },
});
