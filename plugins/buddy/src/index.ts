/**
 * @mmsim/plugin-buddy — the Linux page allocator: a zoned buddy allocator
 * with migrate types and pageblocks, fallbacks and watermark boosting,
 * per-CPU page lists, watermarks and lowmem_reserve, the allocation slow
 * path (kswapd, direct reclaim, compaction, OOM), NUMA policies and
 * vm.zone_reclaim_mode, NUMA statistics, compaction, and the allocator's
 * side of memory hotplug (page isolation, offlining and onlining ranges).
 *
 * Options: `mobilityGrouping` (false: one list per order, as before
 * 2.6.24), `pcp` (false: no per-CPU lists), `watermarks` ('scale-factor'
 * or 'classic'), `compaction`, `kswapd`, `kcompactd`.
 * @module @mmsim/plugin-buddy
 */
import { definePlugin, Lifecycle, PAGE_ALLOCATOR, z } from '@mmsim/core';
import { BUDDY_OPTIONS, type BuddyOptions } from './options.js';
import { BuddyAllocator } from './page_alloc.js';

export { BuddyAllocator, BUDDY_OPTIONS, type BuddyOptions };
export { FALLBACKS, canStealFallback } from './fallback.js';
export { PAGEBLOCK_ORDER, PAGEBLOCK_NR_PAGES, NR_PCP_LISTS, PerCpuPages, ZoneState, type ZoneShared, orderToPindex, pindexToOrder } from './mmzone.js';
export type { WatermarkHost } from './watermark.js';
export type { PcpContext } from './pcp.js';
export type { FallbackContext } from './fallback.js';
export { NodeState } from './vmscan.js';
export { fragmentationIndex, COMPACT_RESULT_NAMES } from './compaction.js';
export type { AllocContext } from './page_alloc.js';

const options = z.object({
  mobilityGrouping: z.boolean().default(true),
  pcp: z.boolean().default(true),
  watermarks: z.enum(['scale-factor', 'classic']).optional(),
  compaction: z.boolean().default(true),
  kswapd: z.boolean().default(true),
  kcompactd: z.boolean().default(true),
}).strict();

export default definePlugin<unknown, BuddyOptions>({
  name: 'buddy',
  provides: PAGE_ALLOCATOR,
  apiVersion: '1',
  description: 'Zoned buddy allocator as Linux runs it: migrate types, pageblocks and fallbacks, per-CPU lists, watermarks and reserves, the slow path (kswapd, reclaim, compaction, OOM), NUMA policies',
  options,
  register(container, opts) {
    container.register(BUDDY_OPTIONS, { useValue: opts });
    container.register(PAGE_ALLOCATOR, { useClass: BuddyAllocator }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
