/**
 * @mmsim/plugin-slab — the SLAB small-object allocator (mm/slab.c, Linux 6.1).
 * @module @mmsim/plugin-slab
 */
import { definePlugin, Lifecycle, SHRINKER, SLAB_ALLOCATOR } from '@mmsim/core';
import { ListLru } from '@mmsim/slab-common';
import { SLAB_OPTIONS, slabOptionsSchema, type SlabOptions } from './options.js';
import { ArrayCache, type LastUser, RED_ACTIVE_BYTES, RED_INACTIVE_BYTES, SlabAllocatorImpl, SlabCache, SlabNode } from './slab.js';

export { ArrayCache, type LastUser, RED_ACTIVE_BYTES, RED_INACTIVE_BYTES, SlabAllocatorImpl, SlabCache, SlabNode, SLAB_OPTIONS, slabOptionsSchema, type SlabOptions };
export * from './slab_common.js';

export default definePlugin<unknown, SlabOptions>({
  name: 'slab',
  provides: SLAB_ALLOCATOR,
  apiVersion: '1',
  // a reclaimable cache's list_lru is created when the cache is: a snapshot may hold one a fresh boot has not met
  snapshotClasses: [ListLru],
  description: 'SLAB: per-node full/partial/free lists, per-CPU array caches with shared and alien arrays, cache colouring, on-/off-slab freelists, kmalloc-32 .. kmalloc-8k',
  options: slabOptionsSchema,
  register(container, opts) {
    container.register(SLAB_OPTIONS, { useValue: opts });
    container.register(SLAB_ALLOCATOR, { useClass: SlabAllocatorImpl }, { lifecycle: Lifecycle.ContainerScoped });
    // the shrinker of the SLAB_RECLAIM_ACCOUNT caches' LRUs
    container.register(SHRINKER, { useFactory: (c) => c.resolve<SlabAllocatorImpl>(SLAB_ALLOCATOR).shrinker });
  },
});
