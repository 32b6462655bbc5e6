/**
 * @mmsim/plugin-slob — the SLOB small-object allocator (mm/slob.c, Linux 6.1).
 * @module @mmsim/plugin-slob
 */
import { definePlugin, Lifecycle, SHRINKER, SLAB_ALLOCATOR } from '@mmsim/core';
import { ListLru } from '@mmsim/slab-common';
import { SLOB_OPTIONS, slobOptionsSchema, type SlobOptions } from './options.js';
import { SlobAllocator, SlobCache, SLOB_BREAK1, SLOB_BREAK2, SLOB_UNIT, SLOB_UNITS_PER_PAGE } from './slob.js';

export { SlobAllocator, SlobCache, SLOB_OPTIONS, slobOptionsSchema, type SlobOptions, SLOB_BREAK1, SLOB_BREAK2, SLOB_UNIT, SLOB_UNITS_PER_PAGE };

export default definePlugin<unknown, SlobOptions>({
  name: 'slob',
  provides: SLAB_ALLOCATOR,
  apiVersion: '1',
  description: 'SLOB: a K&R first-fit heap of pages on three lists by size, SLOB_UNIT granularity, size headers for kmalloc, whole pages for large requests',
  options: slobOptionsSchema,
  // SLOB boots with no caches: a snapshot's kmem_cache_create()d caches are made from this class
  snapshotClasses: [SlobCache, ListLru],
  register(container, opts) {
    container.register(SLOB_OPTIONS, { useValue: opts });
    container.register(SLAB_ALLOCATOR, { useClass: SlobAllocator }, { lifecycle: Lifecycle.ContainerScoped });
    container.register(SHRINKER, { useFactory: (c) => c.resolve<SlobAllocator>(SLAB_ALLOCATOR).shrinker });
  },
});
