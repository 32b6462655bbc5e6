/**
 * @mmsim/plugin-buddy — the Linux page allocator: a zoned buddy allocator
 * with migrate types and pageblocks, fallbacks and watermark boosting,
 * per-CPU page lists, watermarks and lowmem_reserve, the allocation slow
 * path (kswapd, direct reclaim, compaction, OOM), NUMA policies and
 * vm.zone_reclaim_mode, NUMA statistics, compaction, and the allocator's
 * side of memory hotplug (page isolation, offlining and onlining ranges),
 * kcompactd, /proc/pagetypeinfo, and the formulas it sizes zones with
 * (watermark_calc.ts, pcp_calc.ts).
 *
 * It needs the services TASKS, PAGE_OWNERS, RECLAIM and OOM_KILLER (e.g.
 * @mmsim/mm): its slow path wakes kswapd, reclaims directly and calls the
 * OOM killer through them, as page_alloc.c calls mm/vmscan.c and
 * mm/oom_kill.c; for that engine it implements the PageAllocator hooks
 * watermarkBoost, clearWatermarkBoost, setReclaimActive, wakeupKcompactd,
 * kswapdSleep and compactionReady.
 *
 * Options: `mobilityGrouping` (false: one list per order, as before
 * 2.6.24), `pcp` (false: no per-CPU lists), `watermarks` ('scale-factor'
 * or 'classic'), `compaction`, `kswapd`, `kcompactd`.
 * @module @mmsim/plugin-buddy
 */
import { definePlugin, Lifecycle, PAGE_ALLOCATOR, PROC_ENTRY, z } from '@mmsim/core';
import { BUDDY_OPTIONS, type BuddyOptions } from './options.js';
import { BuddyAllocator } from './page_alloc.js';
import { PagetypeinfoProc } from './pagetypeinfo.js';

export { BuddyAllocator, BUDDY_OPTIONS, type BuddyOptions };
export { FALLBACKS, canStealFallback } from './fallback.js';
export {
  PAGEBLOCK_ORDER, PAGEBLOCK_NR_PAGES, NR_PCP_LISTS, PerCpuPages, ZoneState, type ZoneShared, orderToPindex, pindexToOrder, KcompactdState,
} from './mmzone.js';
export type { WatermarkHost } from './watermark.js';
export type { PcpContext } from './pcp.js';
export type { FallbackContext } from './fallback.js';
export { fragmentationIndex, COMPACT_RESULT_NAMES } from './compaction.js';
export type { AllocContext } from './page_alloc.js';
export { PagetypeinfoProc, showPagetypeinfo, type PageblockInfo } from './pagetypeinfo.js';
export * from './watermark_calc.js';
export * from './pcp_calc.js';

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
    // /proc/pagetypeinfo: the view of grouping by mobility is this allocator's
    container.register(PROC_ENTRY, { useClass: PagetypeinfoProc }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
