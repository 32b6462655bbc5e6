/**
 * @mmsim/plugin-slub — the SLUB small-object allocator (mm/slub.c).
 * @module @mmsim/plugin-slub
 */
import { definePlugin, Lifecycle, SLAB_ALLOCATOR } from '@mmsim/core';
import { SLUB_OPTIONS, slubOptionsSchema, type SlubOptions } from './options.js';
import { type FreeOptions, SlubAllocator, SlubCache } from './slub.js';

export { type FreeOptions, SlubAllocator, SlubCache, SLUB_OPTIONS, slubOptionsSchema, type SlubOptions };
export * from './slab_common.js';

export default definePlugin<unknown, SlubOptions>({
  name: 'slub',
  provides: SLAB_ALLOCATOR,
  apiVersion: '1',
  description: 'SLUB: per-CPU slabs with lockless-style freelists and CPU partial lists, per-node partial lists, kmalloc-8 .. kmalloc-8k',
  options: slubOptionsSchema,
  register(container, opts) {
    container.register(SLUB_OPTIONS, { useValue: opts });
    container.register(SLAB_ALLOCATOR, { useClass: SlubAllocator }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
