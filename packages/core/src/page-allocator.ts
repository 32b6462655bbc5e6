/**
 * The PAGE_ALLOCATOR extension point: alloc_pages / free_pages over zones.
 * @module
 */
import type { Zone } from './topology.js';


/** Watermark indices (enum zone_watermarks). */
export const WMARK_MIN = 0;
export const WMARK_LOW = 1;
export const WMARK_HIGH = 2;
export const WMARK_PROMO = 3;

/**
 * alloc_flags bits (mm/internal.h): which watermark to check and which
 * reserves an allocation may use. The low two bits index the watermark.
 */
export const ALLOC_WMARK_MIN = WMARK_MIN;
export const ALLOC_WMARK_LOW = WMARK_LOW;
export const ALLOC_WMARK_HIGH = WMARK_HIGH;
/** Don't check watermarks at all (PF_MEMALLOC, __GFP_MEMALLOC). */
export const ALLOC_NO_WATERMARKS = 0x04;
export const ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1;
/** An OOM victim: may use half of what is left below the min watermark. */
export const ALLOC_OOM = 0x08;
/** The caller cannot block (no direct reclaim): a further quarter of the reserve. */
export const ALLOC_NON_BLOCK = 0x10;
/** __GFP_HIGH: half of the min reserve. */
export const ALLOC_MIN_RESERVE = 0x20;
export const ALLOC_CPUSET = 0x40;
/** May allocate from MIGRATE_CMA pageblocks (movable allocations). */
export const ALLOC_CMA = 0x80;
/** Don't fall back to other migrate types below pageblock size (first pass). */
export const ALLOC_NOFRAGMENT = 0x100;
/** May use (and reserve) MIGRATE_HIGHATOMIC pageblocks. */
export const ALLOC_HIGHATOMIC = 0x200;
/** __GFP_KSWAPD_RECLAIM: may wake kswapd. */
export const ALLOC_KSWAPD = 0x800;
/** Any of the reserve-granting flags. */
export const ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM;

/** NUMA memory policy modes (include/uapi/linux/mempolicy.h). */
export type MempolicyMode = 'MPOL_DEFAULT' | 'MPOL_PREFERRED' | 'MPOL_BIND' | 'MPOL_INTERLEAVE' | 'MPOL_LOCAL';

/**
 * struct mempolicy as set_mempolicy(2)/mbind(2) take it: a mode and a node
 * set. MPOL_DEFAULT and MPOL_LOCAL take no nodes; MPOL_PREFERRED one (the
 * first is used); MPOL_BIND and MPOL_INTERLEAVE at least one.
 */
export interface Mempolicy {
  mode: MempolicyMode;
  nodes?: readonly number[];
}

/** Where an allocation should come from. */
export interface AllocOptions {
  /** Preferred node (alloc_pages_node); default: the node of `cpu`. */
  nid?: number;
  /** Allocating CPU (selects the per-CPU lists); default 0. */
  cpu?: number;
  /** Allowed nodes (__alloc_pages' nodemask); default all. */
  nodemask?: readonly number[];
  /** A memory policy for this call (alloc_pages_mpol); overrides the task's. */
  policy?: Mempolicy;
  /** The allocating task: its set_mempolicy() policy applies. */
  pid?: number;
  /** Cache-cold page wanted (the old __GFP_COLD hint): taken from the tail of the per-CPU list. */
  cold?: boolean;
}

/** How a block is freed. */
export interface FreeOptions {
  /** The freeing CPU (whose per-CPU lists take the page); default 0. */
  cpu?: number;
  /** A cache-cold page (free_hot_cold_page(page, cold)): goes to the tail of the per-CPU list. */
  cold?: boolean;
}

/** struct per_cpu_pages of one CPU and zone, as /proc/zoneinfo prints it. */
export interface PcpInfo {
  cpu: number;
  count: number;
  high: number;
  batch: number;
}

/** What /proc/zoneinfo shows of a zone beyond struct zone's own fields. */
export interface ZoneAllocInfo {
  /** watermark_boost */
  boost: number;
  /** Pages in CMA pageblocks (cma_pages) and free in them (NR_FREE_CMA_PAGES). */
  cmaPages: number;
  nrFreeCma: number;
  /** Per online CPU. */
  pagesets: PcpInfo[];
  /** pgdat->kswapd_failures >= MAX_RECLAIM_RETRIES */
  nodeUnreclaimable: boolean;
}

/** A zoned page allocator. */
export interface PageAllocator {
  /** Plugin name. */
  readonly name: string;
  /** Highest order served (MAX_PAGE_ORDER). */
  readonly maxOrder: number;
  /** alloc_pages(): the first pfn of a 2^order block, or null when it cannot be satisfied. */
  allocPages(gfp: number, order: number, opts?: AllocOptions): number | null;
  /** __free_pages(): frees a block allocPages returned, with the same order. Typed errors for a bad pfn, wrong order or double free. */
  freePages(pfn: number, order: number, opts?: FreeOptions): void;
  /** drain_all_pages(): returns every per-CPU list's pages to the buddy lists. */
  drainAllPages(): void;
  /** Free blocks of `order` in a zone's free area (nr_free), as /proc/buddyinfo prints them. */
  freeBlocks(zone: Zone, order: number): number;
  /**
   * Free blocks of `order` and migrate type in a zone (free_area[order].free_list[mt]).
   * Generic because memory hotplug isolates ranges: blocks on the
   * MIGRATE_ISOLATE lists are in nr_free but not in NR_FREE_PAGES, and the
   * invariant checks must tell them apart.
   */
  freeBlocksByType(zone: Zone, order: number, migratetype: number): number;
  /** Pages sitting on per-CPU lists of a zone (not counted in NR_FREE_PAGES). */
  pcpPages(zone: Zone): number;
  /** __zone_watermark_ok(): would an order-`order` allocation leave the zone above `mark` pages? */
  zoneWatermarkOk(zone: Zone, order: number, mark: number, highestZoneIdx: number, allocFlags?: number): boolean;
  /** Boost, CMA and per-CPU lists of a zone, for /proc/zoneinfo (its NUMA counters are Zone.numaStats). */
  zoneInfo?(zone: Zone): ZoneAllocInfo;
  /** The allocator's vm event counters by /proc/vmstat name (pgalloc_normal, pgfree, compact_stall, ...). */
  vmEvents?(): Readonly<Record<string, number>>;
  /** set_mempolicy(2) for task `pid` (null: back to MPOL_DEFAULT). */
  setMempolicy?(pid: number, policy: Mempolicy | null): void;
  /** /proc/sys/vm/compact_memory: compacts every zone of every node. */
  compactMemory?(): void;

  // ---- what the reclaim engine (mm/vmscan.c) reads and asks of the allocator (optional) ----

  /**
   * zone->watermark_boost: pages the watermarks are raised by after a
   * fallback stole from another migrate type (high_wmark_pages() is
   * _watermark[WMARK_HIGH] + the boost). Absent: never boosted (0).
   */
  watermarkBoost?(zone: Zone): number;
  /**
   * balance_pgdat(), at its end: kswapd reclaimed for a boosted zone, so
   * `zone->watermark_boost -= min(zone->watermark_boost, pages)`.
   */
  clearWatermarkBoost?(zone: Zone, pages: number): void;
  /**
   * set_reclaim_active() / clear_reclaim_active(): ZONE_RECLAIM_ACTIVE on a
   * managed zone while kswapd balances its node (the per-CPU free path then
   * keeps less, nr_pcp_high()).
   */
  setReclaimActive?(zone: Zone, active: boolean): void;
  /**
   * wakeup_kcompactd(): kswapd is going to sleep (or balanced its boosted
   * zones, or found the node balanced for a non-blocking high-order
   * request): compact node `nid` for `order` up to `highestZoneidx`.
   * Absent: no kcompactd.
   */
  wakeupKcompactd?(nid: number, order: number, highestZoneidx: number): void;
  /**
   * kswapd_try_to_sleep() → reset_isolation_suitable(): kswapd goes to
   * sleep on a balanced node `nid`; compaction's pageblock skip hints that a
   * finished compaction asked to flush are cleared.
   */
  kswapdSleep?(nid: number): void;
  /**
   * compaction_ready() (shrink_zones(), CONFIG_COMPACTION): is there enough
   * free memory in `zone` (above the high watermark + compact_gap(order))
   * that compaction, not more reclaim, should serve a costly request?
   * Absent: the allocator does not compact, reclaim always runs.
   */
  compactionReady?(zone: Zone, order: number, highestZoneidx: number): boolean;

  // ---- memory hotplug (optional; SPARSEMEM's onlineSection/offlineSection need them) ----

  /** start_isolate_page_range(): per-CPU lists are drained and the range's free pages move to MIGRATE_ISOLATE lists (never allocated from); pages freed into the range stay there. */
  isolateRange?(startPfn: number, nrPages: number): void;
  /** undo_isolate_page_range(): isolated free pages go back to the lists of their pageblocks. */
  undoIsolateRange?(startPfn: number, nrPages: number): void;
  /** __offline_isolated_pages(): takes an isolated range whose present pages are all free off the free lists for good (NR_FREE_PAGES drops); returns the pages taken. Throws EHOTPLUG, changing nothing, when a page is not free. */
  offlineRange?(startPfn: number, nrPages: number): number;
  /** online_pages(): frees the present pages of a range, already accounted to its zone, into the free lists. */
  onlineRange?(startPfn: number, nrPages: number): void;
  /** A zone's span changed (memory hotplug resize_zone_range / shrink_zone_span; it was [oldStart, oldEnd)): lay out per-span state again. */
  zoneSpanChanged?(zone: Zone, oldStart: number, oldEnd: number): void;
  /** init_per_zone_wmark_min(): recompute min_free_kbytes (unless set), watermarks and lowmem reserves after managed pages changed. */
  initPerZoneWmarkMin?(): void;
}

// ---- fragmentation of a free area (mm/vmstat.c) --------------------------

/**
 * struct contig_page_info: what fill_contig_page_info() gathers of a zone's
 * free area for one order. Any zoned allocator has it (freeBlocks per
 * order); compaction decides with it, /sys/kernel/debug/extfrag prints it.
 */
export interface ContigPageInfo {
  freePages: number;
  freeBlocksTotal: number;
  freeBlocksSuitable: number;
}

/** fill_contig_page_info() from a zone's nr_free per order. */
export function contigPageInfo(nrFree: ArrayLike<number>, order: number): ContigPageInfo {
  const info = { freePages: 0, freeBlocksTotal: 0, freeBlocksSuitable: 0 };
  for (let o = 0; o < nrFree.length; o++) {
    const blocks = nrFree[o]!;
    info.freeBlocksTotal += blocks;
    info.freePages += blocks * 2 ** o;
    if (o >= order) info.freeBlocksSuitable += blocks * 2 ** (o - order);
  }
  return info;
}

/**
 * __fragmentation_index(): ×1000; towards 0 an order-`order` allocation
 * would fail for lack of memory, towards 1000 for fragmentation; −1000 when
 * it would succeed.
 */
export function fragmentationIndex(order: number, info: ContigPageInfo): number {
  if (!info.freeBlocksTotal) return 0;
  if (info.freeBlocksSuitable) return -1000;
  const requested = 2 ** order;
  return 1000 - Math.floor((1000 + Math.floor((info.freePages * 1000) / requested)) / info.freeBlocksTotal);
}

/** unusable_free_index(): ×1000, the share of free memory unusable for an order-`order` request. */
export function unusableFreeIndex(order: number, info: ContigPageInfo): number {
  if (info.freePages === 0) return 1000;
  return Math.floor(((info.freePages - info.freeBlocksSuitable * 2 ** order) * 1000) / info.freePages);
}

/** extfrag_for_order(): the percentage of free memory not in blocks of at least `order` (0 with nothing free). */
export function extfragForOrder(order: number, info: ContigPageInfo): number {
  if (info.freePages === 0) return 0;
  return Math.floor(((info.freePages - info.freeBlocksSuitable * 2 ** order) * 100) / info.freePages);
}
