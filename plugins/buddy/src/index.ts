/**
 * @mmsim/plugin-buddy — the zoned buddy page allocator.
 * @module @mmsim/plugin-buddy
 */
import { definePlugin, Lifecycle, PAGE_ALLOCATOR, z } from '@mmsim/core';
import { BUDDY_OPTIONS } from './options.js';
import { BuddyAllocator, type BuddyOptions } from './page_alloc.js';

export { BuddyAllocator, BUDDY_OPTIONS, type BuddyOptions };
export { FALLBACKS, PAGEBLOCK_ORDER } from './page_alloc.js';

const options = z.object({
  mobilityGrouping: z.boolean().default(true),
}).strict();

export default definePlugin<unknown, BuddyOptions>({
  name: 'buddy',
  provides: PAGE_ALLOCATOR,
  apiVersion: '1',
  description: 'Zoned buddy allocator: orders 0..10, split/merge, per-zone free lists per migrate type, zonelist fallback',
  options,
  register(container, opts) {
    container.register(BUDDY_OPTIONS, { useValue: opts });
    container.register(PAGE_ALLOCATOR, { useClass: BuddyAllocator }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
