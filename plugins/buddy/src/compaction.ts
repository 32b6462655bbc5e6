/**
 * Memory compaction (mm/compaction.c): a migration scanner walks a zone
 * upwards isolating movable pages, a free scanner walks down isolating free
 * pages, and the movable pages move to the free ones (PAGE_OWNERS
 * migratePage, whose owners follow their pages) until the scanners meet or a block of the
 * wanted order is free. Direct compaction from the allocation slow path
 * (try_to_compact_pages with deferral and priorities), kcompactd-style
 * background compaction woken by kswapd and allocations (run
 * synchronously), proactive compaction (kcompactd's check every 500 ms of
 * simulated time, Simulator.tick(), against vm.compaction_proactiveness),
 * and /proc/sys/vm/compact_memory (compact_nodes).
 *
 * Left out: the fast free-list searches (fast_isolate_freepages,
 * fast_find_migrateblock), compaction capture of freed pages, and
 * migration failures other than "not movable".
 * @module
 */
import {
  ALLOC_CMA, ALLOC_WMARK_MASK, contigPageInfo, extfragForOrder, fragmentationIndex as fragmentationIndexOf, MigrateType, MIGRATE_TYPES,
  NO_PAGE, NR_PAGE_ORDERS, type PageFrameTable, PageOwner, PG_buddy, PG_pcp, PG_reserved,
} from '@mmsim/core';
import { findSuitableFallback } from './fallback.js';
import { isMergeable, PAGE_ALLOC_COSTLY_ORDER, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER, type ZoneState } from './mmzone.js';
import type { AllocContext, BuddyAllocator } from './page_alloc.js';
import { zoneWatermarkOk, zoneWatermarkOkFree, wmarkPages } from './watermark.js';

/** enum compact_result, in the kernel's order (results are compared with max()). */
export const COMPACT_NOT_SUITABLE_ZONE = 0;
export const COMPACT_SKIPPED = 1;
export const COMPACT_DEFERRED = 2;
export const COMPACT_NO_SUITABLE_PAGE = 3;
export const COMPACT_CONTINUE = 4;
export const COMPACT_COMPLETE = 5;
export const COMPACT_PARTIAL_SKIPPED = 6;
export const COMPACT_CONTENDED = 7;
export const COMPACT_SUCCESS = 8;
/** Names as the compaction tracepoints print them. */
export const COMPACT_RESULT_NAMES = ['not_suitable_zone', 'skipped', 'deferred', 'no_suitable_page', 'continue', 'complete', 'partial_skipped', 'contended', 'success'];

/** enum compact_priority */
export type CompactPriority = 0 | 1 | 2;
export const COMPACT_PRIO_SYNC_FULL: CompactPriority = 0;
export const MIN_COMPACT_PRIORITY: CompactPriority = 0;
export const COMPACT_PRIO_SYNC_LIGHT: CompactPriority = 1;
export const MIN_COMPACT_COSTLY_PRIORITY: CompactPriority = 1;
export const DEF_COMPACT_PRIORITY: CompactPriority = 1;
export const COMPACT_PRIO_ASYNC: CompactPriority = 2;
export const INIT_COMPACT_PRIORITY: CompactPriority = 2;

/** enum migrate_mode */
export const MIGRATE_ASYNC = 0;
export const MIGRATE_SYNC_LIGHT = 1;
export const MIGRATE_SYNC = 2;

/** COMPACT_CLUSTER_MAX (= SWAP_CLUSTER_MAX) pages isolated per round. */
export const COMPACT_CLUSTER_MAX = 32;
/** COMPACT_MAX_DEFER_SHIFT */
const COMPACT_MAX_DEFER_SHIFT = 6;
/** MAX_COMPACT_RETRIES */
const MAX_COMPACT_RETRIES = 16;

/** struct compact_control */
export interface CompactControl {
  zs: ZoneState;
  /** -1: compact the whole zone (compact_memory). */
  order: number;
  migratetype: number;
  mode: number;
  allocFlags: number;
  highestIdx: number;
  directCompaction: boolean;
  wholeZone: boolean;
  ignoreSkipHint: boolean;
  ignoreBlockSuitable: boolean;
  finishPageblock: boolean;
  migratePfn: number;
  freePfn: number;
  /** Isolated free blocks by order (pfns). */
  freepages: number[][];
  nrFreepages: number;
  /** Isolated movable blocks (pfns). */
  migratepages: number[];
  nrMigratepages: number;
  totalMigrateScanned: number;
  totalFreeScanned: number;
  /** The CPU whose per-CPU lists take freed pages. */
  cpu: number;
  /** Proactive compaction: stop once the zone's fragmentation score is at the low mark. */
  proactiveCompaction: boolean;
  /** vm.compaction_proactiveness when a proactive run started. */
  proactiveness: number;
}

function count(a: BuddyAllocator, name: string, n = 1): void {
  if (n) a.ev[name] = (a.ev[name] ?? 0) + n;
}

/** compact_gap(): free pages compaction needs as migration targets. */
export function compactGap(order: number): number {
  return 2 << order;
}

// ---- deferral ---------------------------------------------------------------

/** defer_compaction() */
export function deferCompaction(zs: ZoneState, order: number): void {
  zs.compactConsidered = 0;
  zs.compactDeferShift = Math.min(zs.compactDeferShift + 1, COMPACT_MAX_DEFER_SHIFT);
  if (order < zs.compactOrderFailed) zs.compactOrderFailed = order;
}

/** compaction_deferred(): skip this attempt? */
export function compactionDeferred(zs: ZoneState, order: number): boolean {
  const limit = 1 << zs.compactDeferShift;
  if (order < zs.compactOrderFailed) return false;
  if (++zs.compactConsidered >= limit) {
    zs.compactConsidered = limit;
    return false;
  }
  return true;
}

/** compaction_defer_reset() */
export function compactionDeferReset(zs: ZoneState, order: number, allocSuccess: boolean): void {
  if (allocSuccess) {
    zs.compactConsidered = 0;
    zs.compactDeferShift = 0;
  }
  if (order >= zs.compactOrderFailed) zs.compactOrderFailed = order + 1;
}

/** compaction_restarting() */
function compactionRestarting(zs: ZoneState, order: number): boolean {
  if (order < zs.compactOrderFailed) return false;
  return zs.compactDeferShift === COMPACT_MAX_DEFER_SHIFT && zs.compactConsidered >= 1 << zs.compactDeferShift;
}

// ---- suitability ------------------------------------------------------------

/** fill_contig_page_info() + __fragmentation_index() of a zone. */
export function fragmentationIndex(zs: ZoneState, order: number): number {
  return fragmentationIndexOf(order, contigPageInfo(zs.nrFree, order));
}

/** __compaction_suitable(): order-0 watermark (min, low for costly orders) plus compact_gap. */
function compactionSuitableFree(zs: ZoneState, order: number, hz: number, free: number): boolean {
  const mark = (order > PAGE_ALLOC_COSTLY_ORDER ? zs.wmarkLow : zs.wmarkMin) + zs.boost + compactGap(order);
  return zoneWatermarkOkFree(zs, 0, mark, hz, ALLOC_CMA, free);
}

/** compaction_suitable(): watermark ok and, for costly orders, fragmentation (not lack of memory) the cause. */
export function compactionSuitable(a: BuddyAllocator, zs: ZoneState, order: number, hz: number): boolean {
  if (!compactionSuitableFree(zs, order, hz, zs.stats.nrFreePages)) return false;
  if (order > PAGE_ALLOC_COSTLY_ORDER) {
    const fragindex = fragmentationIndex(zs, order);
    if (fragindex >= 0 && fragindex <= a.sysctl.get('vm.extfrag_threshold')) return false;
  }
  return true;
}

/** compaction_zonelist_suitable(): would some zone be suitable once reclaim freed part of its LRU? */
export function compactionZonelistSuitable(ac: AllocContext, order: number, reclaimable: (zs: ZoneState) => number): boolean {
  for (const zs of ac.zonelist) {
    if (zs.idx > ac.highestIdx || (ac.nodemask !== null && !ac.nodemask[zs.nid])) continue;
    const available = Math.floor(reclaimable(zs) / order) + zs.stats.nrFreePages;
    if (compactionSuitableFree(zs, order, ac.highestIdx, available)) return true;
  }
  return false;
}

/** compaction_suit_allocation_order(): SUCCESS when the order is already there, SKIPPED when compaction cannot help. */
function compactionSuitAllocationOrder(a: BuddyAllocator, zs: ZoneState, order: number, hz: number, allocFlags: number): number {
  if (zoneWatermarkOk(zs, order, wmarkPages(zs, allocFlags & ALLOC_WMARK_MASK), hz, allocFlags)) return COMPACT_SUCCESS;
  if (!compactionSuitable(a, zs, order, hz)) return COMPACT_SKIPPED;
  return COMPACT_CONTINUE;
}

// ---- scanners -----------------------------------------------------------------

function pbStart(pfn: number): number {
  return pfn & ~(PAGEBLOCK_NR_PAGES - 1);
}
function pbEnd(pfn: number): number {
  return pbStart(pfn) + PAGEBLOCK_NR_PAGES;
}
function pbAligned(pfn: number): boolean {
  return (pfn & (PAGEBLOCK_NR_PAGES - 1)) === 0;
}

/** pageblock_pfn_to_page(): is [start, end) wholly in the zone? */
function pageblockInZone(a: BuddyAllocator, zs: ZoneState, start: number, end: number): boolean {
  return a.memory.pfnValid(end - 1) && zs.owns(start) && zs.owns(end - 1);
}

/** isolation_suitable(): the pageblock's skip hint is clear (or hints are ignored). */
function isolationSuitable(cc: CompactControl, pfn: number): boolean {
  if (cc.ignoreSkipHint) return true;
  return !cc.zs.pageblockSkip[(pfn >> PAGEBLOCK_ORDER) - cc.zs.pbBase];
}

function setPageblockSkip(cc: CompactControl, pfn: number): void {
  if (cc.ignoreSkipHint) return;
  cc.zs.pageblockSkip[(pfn >> PAGEBLOCK_ORDER) - cc.zs.pbBase] = 1;
}

/** suitable_migration_source(): async direct compaction only takes pageblocks of its own kind. */
function suitableMigrationSource(cc: CompactControl, pfn: number): boolean {
  if (cc.mode !== MIGRATE_ASYNC || !cc.directCompaction) return true;
  const mt = cc.zs.pageblockMigratetype(pfn);
  if (cc.migratetype === MigrateType.MOVABLE) return mt === MigrateType.MOVABLE || mt === MigrateType.CMA;
  return mt === cc.migratetype;
}

/** suitable_migration_target(): a movable (or CMA) pageblock without a free block of the wanted size. */
function suitableMigrationTarget(a: BuddyAllocator, cc: CompactControl, pfn: number): boolean {
  const page = a.memory.pfnToPage(pfn);
  const t = cc.zs.t;
  if (page >= 0 && t.flags[page]! & PG_buddy) {
    const order = cc.order > 0 ? cc.order : PAGEBLOCK_ORDER;
    if (t.private[page]! >= order) return false;
  }
  const mt = cc.zs.pageblockMigratetype(pfn);
  // never an isolated pageblock: memory offlining must find its range all free
  if (mt === MigrateType.ISOLATE) return false;
  if (cc.ignoreBlockSuitable) return true;
  return mt === MigrateType.MOVABLE || mt === MigrateType.CMA;
}

/** skip_isolation_on_order() */
function skipIsolationOnOrder(order: number, target: number): boolean {
  if (target !== -1 && order >= target) return true;
  return order >= PAGEBLOCK_ORDER;
}

/**
 * compound_order() of the allocated block headed at `page`, 0 when unknown:
 * only these owners keep the order prep_new_page() wrote in page->private —
 * slab allocators keep their own data there (SLUB its slab index, which as a
 * shift of 31 mod 32 sent the scanner 2^31 pfns back). Like the kernel, an
 * order past MAX_PAGE_ORDER is not trusted.
 */
function allocatedOrder(t: PageFrameTable, page: number): number {
  const kind = t.ownerKind[page]!;
  if (kind !== PageOwner.KERNEL && kind !== PageOwner.ANON && kind !== PageOwner.PAGE_CACHE && kind !== PageOwner.KMALLOC_LARGE) return 0;
  const order = t.private[page]!;
  return order >= 0 && order < NR_PAGE_ORDERS ? order : 0;
}

/**
 * isolate_migratepages_block(): takes movable allocated blocks of
 * [lowPfn, endPfn) for migration (free blocks and pages no owner can move
 * are skipped), at most COMPACT_CLUSTER_MAX per round unless the pageblock
 * is to be finished.
 */
function isolateMigratepagesBlock(a: BuddyAllocator, cc: CompactControl, lowPfn: number, endPfn: number): void {
  const t = cc.zs.t;
  const mem = a.memory;
  let scanned = 0;
  let isolated = 0;
  const blockStart = lowPfn;
  for (; lowPfn < endPfn; lowPfn++) {
    scanned++;
    const page = mem.pfnToPage(lowPfn);
    if (page < 0) continue;
    const f = t.flags[page]!;
    if (f & (PG_buddy | PG_pcp)) {
      // skip a free block at once
      const o = t.private[page]!;
      if (f & PG_buddy && o > 0 && o <= NR_PAGE_ORDERS - 1) {
        lowPfn += (1 << o) - 1;
        scanned += (1 << o) - 1;
      }
      continue;
    }
    if (t.refcount[page] === 0 || f & PG_reserved) continue;
    const order = allocatedOrder(t, page);
    if (order > 0 && skipIsolationOnOrder(order, cc.order)) {
      lowPfn += (1 << order) - 1;
      continue;
    }
    if (!a.owners.isMovable(lowPfn)) {
      if (order > 0) lowPfn += (1 << order) - 1;
      continue;
    }
    cc.migratepages.push(lowPfn);
    cc.nrMigratepages += 1 << order;
    isolated += 1 << order;
    lowPfn += (1 << order) - 1;
    if (cc.nrMigratepages >= COMPACT_CLUSTER_MAX && !cc.finishPageblock) {
      lowPfn++;
      break;
    }
  }
  if (lowPfn >= endPfn && (!isolated || cc.finishPageblock)) {
    setPageblockSkip(cc, blockStart);
    updateCachedMigrate(cc, lowPfn);
  }
  cc.totalMigrateScanned += scanned;
  count(a, 'compact_isolated', isolated);
  cc.migratePfn = lowPfn;
}

/** update_cached_migrate() */
function updateCachedMigrate(cc: CompactControl, pfn: number): void {
  if (cc.ignoreSkipHint) return;
  pfn = pbEnd(pfn - 1);
  const sync = cc.mode !== MIGRATE_ASYNC ? 1 : 0;
  if (pfn > cc.zs.compactCachedMigratePfn[0]!) cc.zs.compactCachedMigratePfn[0] = pfn;
  if (sync && pfn > cc.zs.compactCachedMigratePfn[1]!) cc.zs.compactCachedMigratePfn[1] = pfn;
}

/** isolate_migratepages(): the next suitable pageblock below the free scanner. True when something was isolated. */
function isolateMigratepages(a: BuddyAllocator, cc: CompactControl): boolean {
  const zs = cc.zs;
  let lowPfn = cc.migratePfn;
  let blockStart = Math.max(pbStart(lowPfn), zs.start);
  let blockEnd = pbEnd(lowPfn);
  for (; blockEnd <= cc.freePfn; cc.migratePfn = lowPfn = blockEnd, blockStart = blockEnd, blockEnd += PAGEBLOCK_NR_PAGES) {
    if (!pageblockInZone(a, zs, blockStart, blockEnd)) continue;
    if ((pbAligned(lowPfn) || lowPfn === zs.start) && !isolationSuitable(cc, blockStart)) continue;
    if (!suitableMigrationSource(cc, blockStart)) {
      updateCachedMigrate(cc, blockEnd);
      continue;
    }
    isolateMigratepagesBlock(a, cc, lowPfn, blockEnd);
    break;
  }
  return cc.nrMigratepages > 0;
}

/**
 * __isolate_free_page(): takes a free block off its list if the zone stays
 * above min + its size; a block of half a pageblock or more turns its
 * pageblock Movable. Returns the pages isolated (0: watermark).
 */
function isolateFreePage(zs: ZoneState, page: number, pfn: number, order: number): number {
  const mt = zs.pageblockMigratetype(pfn);
  if (mt !== MigrateType.ISOLATE) {
    if (!zoneWatermarkOk(zs, 0, zs.wmarkMin + (1 << order), 0, ALLOC_CMA)) return 0;
  }
  zs.delPageFromFreeList(page, order);
  if (order >= PAGEBLOCK_ORDER - 1) {
    for (let p = pfn, end = pfn + (1 << order) - 1; p < end; p += PAGEBLOCK_NR_PAGES) {
      if (isMergeable(zs.pageblockMigratetype(p))) zs.moveFreepagesBlockChecked(p, MigrateType.MOVABLE);
    }
  }
  return 1 << order;
}

/** isolate_freepages_block(): free blocks of [start, end) to cc.freepages, stepping by `stride`. Returns the new start. */
function isolateFreepagesBlock(a: BuddyAllocator, cc: CompactControl, start: number, endPfn: number, stride: number): number {
  const t = cc.zs.t;
  const mem = a.memory;
  let scanned = 0;
  let total = 0;
  let blockpfn = start;
  for (; blockpfn < endPfn; blockpfn += stride) {
    scanned++;
    const page = mem.pfnToPage(blockpfn);
    if (page < 0) continue;
    const f = t.flags[page]!;
    if (t.refcount[page]! > 0 && !(f & PG_reserved)) {
      // an allocated block: skip it whole (its order only where the owner keeps it in private)
      const o = allocatedOrder(t, page);
      if (o > 0 && blockpfn + (1 << o) <= endPfn) {
        blockpfn += (1 << o) - 1;
        scanned += (1 << o) - 1;
      }
      continue;
    }
    if (!(f & PG_buddy)) continue;
    const order = t.private[page]!;
    const isolated = isolateFreePage(cc.zs, page, blockpfn, order);
    if (!isolated) break;
    t.private[page] = order;
    scanned += isolated - 1;
    total += isolated;
    cc.nrFreepages += isolated;
    cc.freepages[order]!.push(blockpfn);
    if (cc.nrMigratepages <= cc.nrFreepages) {
      blockpfn += isolated;
      break;
    }
    blockpfn += isolated - 1;
  }
  if (blockpfn > endPfn) blockpfn = endPfn;
  cc.totalFreeScanned += scanned;
  count(a, 'compact_isolated', total);
  return blockpfn;
}

/** isolate_freepages(): from the free scanner downwards, suitable pageblocks above the migration scanner. */
function isolateFreepages(a: BuddyAllocator, cc: CompactControl): void {
  const zs = cc.zs;
  let isolateStart = cc.freePfn;
  let blockStart = pbStart(isolateStart);
  let blockEnd = Math.min(blockStart + PAGEBLOCK_NR_PAGES, zs.end);
  const lowPfn = pbEnd(cc.migratePfn);
  let stride = cc.mode === MIGRATE_ASYNC ? COMPACT_CLUSTER_MAX : 1;
  for (; blockStart >= lowPfn; blockEnd = blockStart, blockStart -= PAGEBLOCK_NR_PAGES, isolateStart = blockStart) {
    if (!pageblockInZone(a, zs, blockStart, blockEnd)) continue;
    if (!suitableMigrationTarget(a, cc, blockStart)) continue;
    if (!isolationSuitable(cc, blockStart)) continue;
    const before = cc.nrFreepages;
    isolateStart = isolateFreepagesBlock(a, cc, isolateStart, blockEnd, stride);
    const nrIsolated = cc.nrFreepages - before;
    if (isolateStart === blockEnd && !nrIsolated) setPageblockSkip(cc, blockStart);
    if (cc.nrFreepages >= cc.nrMigratepages) {
      if (isolateStart >= blockEnd) isolateStart = blockStart - PAGEBLOCK_NR_PAGES;
      break;
    } else if (isolateStart < blockEnd) {
      break;
    }
    stride = nrIsolated ? 1 : Math.min(COMPACT_CLUSTER_MAX, stride << 1);
  }
  cc.freePfn = isolateStart;
}

/** compaction_alloc(): an isolated free block of the source's order (splitting a larger one). -1 when none is left. */
function compactionAlloc(a: BuddyAllocator, cc: CompactControl, order: number): number {
  let hasIsolated = false;
  for (;;) {
    let start = order;
    while (start < NR_PAGE_ORDERS && cc.freepages[start]!.length === 0) start++;
    if (start === NR_PAGE_ORDERS) {
      if (hasIsolated) return -1;
      isolateFreepages(a, cc);
      hasIsolated = true;
      continue;
    }
    const pfn = cc.freepages[start]!.shift()!;
    let size = 1 << start;
    while (start > order) {
      start--;
      size >>= 1;
      cc.freepages[start]!.unshift(pfn + size);
    }
    // post_alloc_hook() + set_page_refcounted()
    const t = cc.zs.t;
    const page = a.memory.pfnToPage(pfn);
    t.refcount[page] = 1;
    t.private[page] = order;
    t.ownerKind[page] = PageOwner.KERNEL;
    cc.nrFreepages -= 1 << order;
    cc.nrMigratepages -= 1 << order;
    return pfn;
  }
}

/** migrate_pages() for the isolated list. False when targets ran out (-ENOMEM). */
function migratePages(a: BuddyAllocator, cc: CompactControl): boolean {
  const t = cc.zs.t;
  let ok = true;
  for (const src of cc.migratepages) {
    const order = t.private[a.memory.pfnToPage(src)]!;
    if (!a.owners.isMovable(src)) {
      count(a, 'pgmigrate_fail');
      continue;
    }
    const dst = compactionAlloc(a, cc, order);
    if (dst < 0) {
      ok = false;
      break;
    }
    a.owners.migratePage(src, dst);
    a.freePages(src, order, { cpu: cc.cpu });
  }
  cc.migratepages.length = 0;
  cc.nrMigratepages = 0;
  return ok;
}

/** release_free_list(): isolated free blocks go back; returns the highest pfn. */
function releaseFreeList(a: BuddyAllocator, cc: CompactControl): number {
  const t = cc.zs.t;
  let high = 0;
  for (let order = 0; order < NR_PAGE_ORDERS; order++) {
    for (const pfn of cc.freepages[order]!) {
      const page = a.memory.pfnToPage(pfn);
      t.refcount[page] = 1;
      t.private[page] = order;
      t.ownerKind[page] = PageOwner.KERNEL;
      a.freePages(pfn, order, { cpu: cc.cpu });
      if (pfn > high) high = pfn;
    }
    cc.freepages[order]!.length = 0;
  }
  cc.nrFreepages = 0;
  return high;
}

/** compact_scanners_met() */
function scannersMet(cc: CompactControl): boolean {
  return cc.freePfn >> PAGEBLOCK_ORDER <= cc.migratePfn >> PAGEBLOCK_ORDER;
}

/** __compact_finished(): scanners met, or a block of the order is free on a list the request may use. */
function compactFinished(cc: CompactControl): number {
  const zs = cc.zs;
  if (scannersMet(cc)) {
    zs.resetCompactCache();
    if (cc.directCompaction) zs.compactBlockskipFlush = true;
    return cc.wholeZone ? COMPACT_COMPLETE : COMPACT_PARTIAL_SKIPPED;
  }
  if (cc.proactiveCompaction) {
    // kswapd never runs concurrently here: it runs synchronously inside the allocation that woke it
    return fragmentationScoreZone(zs) > fragmentationScoreWmark(true, cc.proactiveness) ? COMPACT_CONTINUE : COMPACT_SUCCESS;
  }
  if (cc.order === -1) return COMPACT_CONTINUE;
  if (!pbAligned(cc.migratePfn)) return COMPACT_CONTINUE;
  const out = { canSteal: false };
  for (let order = cc.order; order < NR_PAGE_ORDERS; order++) {
    if (zs.freeHead[order * MIGRATE_TYPES + cc.migratetype] !== NO_PAGE) return COMPACT_SUCCESS;
    if (cc.migratetype === MigrateType.MOVABLE && zs.freeHead[order * MIGRATE_TYPES + MigrateType.CMA] !== NO_PAGE) return COMPACT_SUCCESS;
    if (findSuitableFallback(zs, order, cc.migratetype, true, zs.shared.mobilityDisabled, out) !== -1) return COMPACT_SUCCESS;
  }
  return COMPACT_CONTINUE; // COMPACT_NO_SUITABLE_PAGE
}

function traceCompaction(a: BuddyAllocator, cc: CompactControl, end: boolean, status = 0): void {
  const zs = cc.zs;
  const sync = cc.mode !== MIGRATE_ASYNC;
  if (!end && a.events.enabled.mm_compaction_begin) {
    a.events.emit('mm_compaction_begin', { zone_start: zs.start, migrate_pfn: cc.migratePfn, free_pfn: cc.freePfn, zone_end: zs.end, sync });
  } else if (end && a.events.enabled.mm_compaction_end) {
    a.events.emit('mm_compaction_end', { zone_start: zs.start, migrate_pfn: cc.migratePfn, free_pfn: cc.freePfn, zone_end: zs.end, sync, status: COMPACT_RESULT_NAMES[status]! });
  }
}

/** A compact_control with the kernel's defaults for zone `zs`. */
export function compactControl(zs: ZoneState, order: number, fields: Partial<CompactControl> = {}): CompactControl {
  return {
    zs, order, migratetype: MigrateType.MOVABLE, mode: MIGRATE_SYNC, allocFlags: 0, highestIdx: zs.idx,
    directCompaction: false, wholeZone: false, ignoreSkipHint: false, ignoreBlockSuitable: false, finishPageblock: false,
    migratePfn: 0, freePfn: 0, freepages: Array.from({ length: NR_PAGE_ORDERS }, () => []), nrFreepages: 0,
    migratepages: [], nrMigratepages: 0, totalMigrateScanned: 0, totalFreeScanned: 0, cpu: 0,
    proactiveCompaction: false, proactiveness: 0, ...fields,
  };
}

/**
 * compact_zone(): runs the two scanners over one zone until
 * compact_finished() says stop; frees what was not used, counts
 * compact_migrate_scanned / compact_free_scanned. Returns a compact_result.
 */
export function compactZone(a: BuddyAllocator, cc: CompactControl): number {
  const zs = cc.zs;
  const start = zs.start;
  const end = zs.end;
  const sync = cc.mode !== MIGRATE_ASYNC;
  if (cc.order !== -1) {
    const r = compactionSuitAllocationOrder(a, zs, cc.order, cc.highestIdx, cc.allocFlags);
    if (r !== COMPACT_CONTINUE) return r;
  }
  if (compactionRestarting(zs, cc.order)) zs.pageblockSkip.fill(0);
  if (cc.wholeZone) {
    cc.migratePfn = start;
    cc.freePfn = pbStart(end - 1);
  } else {
    cc.migratePfn = zs.compactCachedMigratePfn[sync ? 1 : 0]!;
    cc.freePfn = zs.compactCachedFreePfn;
    if (cc.freePfn < start || cc.freePfn >= end) cc.freePfn = zs.compactCachedFreePfn = pbStart(end - 1);
    if (cc.migratePfn < start || cc.migratePfn >= end) {
      cc.migratePfn = start;
      zs.compactCachedMigratePfn[0] = zs.compactCachedMigratePfn[1] = start;
    }
    if (cc.migratePfn <= zs.compactInitMigratePfn) cc.wholeZone = true;
  }
  traceCompaction(a, cc, false);
  a.tasks.memalloc++;
  let ret: number;
  let lastMigratedPfn = 0;
  try {
    while ((ret = compactFinished(cc)) === COMPACT_CONTINUE) {
      cc.finishPageblock = pbStart(lastMigratedPfn) === pbStart(cc.migratePfn);
      if (isolateMigratepages(a, cc)) {
        lastMigratedPfn = Math.max(start, pbStart(cc.migratePfn - 1));
        if (!migratePages(a, cc) && !scannersMet(cc)) {
          ret = COMPACT_CONTENDED;
          break;
        }
      }
      // flush the pages freed from the order-aligned block we left, so they merge
      if (cc.order > 0 && lastMigratedPfn) {
        const currentBlockStart = cc.migratePfn & ~((1 << cc.order) - 1);
        if (lastMigratedPfn < currentBlockStart) {
          a.drainLocal(zs, cc.cpu);
          lastMigratedPfn = 0;
        }
      }
    }
  } finally {
    a.tasks.memalloc--;
  }
  if (cc.nrFreepages > 0) {
    const freePfn = pbStart(releaseFreeList(a, cc));
    if (freePfn > zs.compactCachedFreePfn) zs.compactCachedFreePfn = freePfn;
  }
  count(a, 'compact_migrate_scanned', cc.totalMigrateScanned);
  count(a, 'compact_free_scanned', cc.totalFreeScanned);
  traceCompaction(a, cc, true, ret);
  return ret;
}

/**
 * try_to_compact_pages() + __alloc_pages_direct_compact(): compacts each
 * eligible zone of the zonelist (skipping deferred ones unless at the
 * highest priority), then retries the allocation; counts compact_stall,
 * compact_success, compact_fail.
 */
export function directCompact(a: BuddyAllocator, gfp: number, order: number, allocFlags: number, ac: AllocContext, prio: CompactPriority): { result: number; pfn: number } {
  if (!order || !a.options.compaction) return { result: COMPACT_SKIPPED, pfn: -1 };
  let rc = COMPACT_SKIPPED;
  let lastZone: ZoneState | undefined;
  a.tasks.memalloc++;
  try {
    for (const zs of ac.zonelist) {
      if (zs.idx > ac.highestIdx || (ac.nodemask !== null && !ac.nodemask[zs.nid])) continue;
      if (prio > MIN_COMPACT_PRIORITY && compactionDeferred(zs, order)) {
        rc = Math.max(rc, COMPACT_DEFERRED);
        continue;
      }
      const cc = compactControl(zs, order, {
        migratetype: ac.migratetype, mode: prio === COMPACT_PRIO_ASYNC ? MIGRATE_ASYNC : MIGRATE_SYNC_LIGHT, allocFlags,
        highestIdx: ac.highestIdx, directCompaction: true, wholeZone: prio === MIN_COMPACT_PRIORITY,
        ignoreSkipHint: prio === MIN_COMPACT_PRIORITY, ignoreBlockSuitable: prio === MIN_COMPACT_PRIORITY, cpu: ac.cpu,
      });
      const status = compactZone(a, cc);
      rc = Math.max(rc, status);
      lastZone = zs;
      if (status === COMPACT_SUCCESS) {
        compactionDeferReset(zs, order, false);
        break;
      }
      if (prio !== COMPACT_PRIO_ASYNC && (status === COMPACT_COMPLETE || status === COMPACT_PARTIAL_SKIPPED)) deferCompaction(zs, order);
    }
  } finally {
    a.tasks.memalloc--;
  }
  if (rc === COMPACT_SKIPPED) return { result: rc, pfn: -1 };
  count(a, 'compact_stall');
  const pfn = a.getPageFromFreelist(gfp, order, allocFlags, ac.zonelist, ac.start, ac.highestIdx, ac.migratetype, ac.nodemask, ac.preferredNid, ac.cpu, ac.cold);
  if (pfn >= 0) {
    const zs = a.zoneStates.find((z) => z.owns(pfn)) ?? lastZone;
    if (zs) {
      zs.compactBlockskipFlush = false;
      compactionDeferReset(zs, order, true);
    }
    count(a, 'compact_success');
    return { result: rc, pfn };
  }
  count(a, 'compact_fail');
  return { result: rc, pfn: -1 };
}

/**
 * should_compact_retry(): retry after a successful-but-raced compaction
 * (a quarter as often for costly orders), else raise the priority until
 * the minimum is reached.
 */
export function shouldCompactRetry(a: BuddyAllocator, ac: AllocContext, order: number, result: number, prio: { p: CompactPriority }, retries: { n: number }): boolean {
  if (!order) return false;
  if (result === COMPACT_SKIPPED) {
    return compactionZonelistSuitable(ac, order, (zs) => a.reclaim().zoneReclaimablePages(zs.zone));
  }
  if (result === COMPACT_SUCCESS) {
    const maxRetries = order > PAGE_ALLOC_COSTLY_ORDER ? MAX_COMPACT_RETRIES / 4 : MAX_COMPACT_RETRIES;
    if (++retries.n <= maxRetries) return true;
  }
  const minPriority = order > PAGE_ALLOC_COSTLY_ORDER ? MIN_COMPACT_COSTLY_PRIORITY : MIN_COMPACT_PRIORITY;
  if (prio.p > minPriority) {
    prio.p = (prio.p - 1) as CompactPriority;
    retries.n = 0;
    return true;
  }
  return false;
}

/**
 * compact_node(): every populated zone of the node, whole: synchronously for
 * /proc/sys/vm/compact_memory, sync-light and until the fragmentation score
 * is low enough when proactive (counting compact_daemon_*_scanned).
 */
export function compactNode(a: BuddyAllocator, nid: number, proactive = false): void {
  for (const zs of a.zoneStates) {
    if (zs.nid !== nid || !zs.zone.populated) continue; // a zone hotplug emptied
    const cc = compactControl(zs, -1, {
      mode: proactive ? MIGRATE_SYNC_LIGHT : MIGRATE_SYNC, ignoreSkipHint: true, wholeZone: true, migratetype: MigrateType.MOVABLE,
      highestIdx: a.topology.zoneTypes.length - 1, proactiveCompaction: proactive, proactiveness: a.sysctl.get('vm.compaction_proactiveness'),
    });
    compactZone(a, cc);
    if (proactive) {
      count(a, 'compact_daemon_migrate_scanned', cc.totalMigrateScanned);
      count(a, 'compact_daemon_free_scanned', cc.totalFreeScanned);
    }
  }
}

/** compact_nodes() */
export function compactNodes(a: BuddyAllocator): void {
  for (const n of a.topology.nodes) compactNode(a, n.nid);
}

// ---- proactive compaction ---------------------------------------------------

/** HPAGE_FRAG_CHECK_INTERVAL_MSEC: kcompactd's proactive check period, in ns. */
export const HPAGE_FRAG_CHECK_INTERVAL_NS = 500e6;
/** COMPACTION_HPAGE_ORDER (HPAGE_PMD_ORDER on x86_64). */
const COMPACTION_HPAGE_ORDER = 9;

/** fragmentation_score_zone(): extfrag_for_order() at the huge page order. */
export function fragmentationScoreZone(zs: ZoneState): number {
  return extfragForOrder(COMPACTION_HPAGE_ORDER, contigPageInfo(zs.nrFree, COMPACTION_HPAGE_ORDER));
}

/** fragmentation_score_node(): the zones' scores weighted by their share of the node's present pages. */
export function fragmentationScoreNode(a: BuddyAllocator, nid: number): number {
  const node = a.topology.nodes.find((n) => n.nid === nid)!;
  const nodePresent = node.zones.reduce((s, z) => s + z.presentPages, 0);
  let score = 0;
  for (const zs of a.zoneStates) {
    if (zs.nid !== nid || !zs.zone.populated) continue;
    // fragmentation_score_zone_weighted()
    score += Math.floor((zs.zone.presentPages * fragmentationScoreZone(zs)) / (nodePresent + 1));
  }
  return score;
}

/** fragmentation_score_wmark(): low = max(100 - proactiveness, 5), high = min(low + 10, 100). */
export function fragmentationScoreWmark(low: boolean, proactiveness: number): number {
  const wmarkLow = Math.max(100 - proactiveness, 5);
  return low ? wmarkLow : Math.min(wmarkLow + 10, 100);
}

/** should_proactive_compact_node() */
function shouldProactiveCompactNode(a: BuddyAllocator, nid: number): boolean {
  const proactiveness = a.sysctl.get('vm.compaction_proactiveness');
  if (!proactiveness) return false;
  return fragmentationScoreNode(a, nid) > fragmentationScoreWmark(false, proactiveness);
}

/**
 * kcompactd's proactive part, once: compacts the node when its
 * fragmentation score is above the high mark. Returns how long kcompactd
 * sleeps before the next check: 500 ms, or 2^6 times that when the score
 * did not go down.
 */
export function kcompactdProactive(a: BuddyAllocator, nid: number): number {
  if (!shouldProactiveCompactNode(a, nid)) return HPAGE_FRAG_CHECK_INTERVAL_NS;
  const pg = a.pgdat[nid]!;
  if (pg.kcompactdRunning) return HPAGE_FRAG_CHECK_INTERVAL_NS;
  const prev = fragmentationScoreNode(a, nid);
  pg.kcompactdRunning = true;
  try {
    compactNode(a, nid, true);
  } finally {
    pg.kcompactdRunning = false;
  }
  const score = fragmentationScoreNode(a, nid);
  return score >= prev ? HPAGE_FRAG_CHECK_INTERVAL_NS * 2 ** COMPACT_MAX_DEFER_SHIFT : HPAGE_FRAG_CHECK_INTERVAL_NS;
}

/** kcompactd_node_suitable(): a zone up to the requested index where compaction would run. */
function kcompactdNodeSuitable(a: BuddyAllocator, nid: number): boolean {
  const pg = a.pgdat[nid]!;
  for (const zs of a.zoneStates) {
    if (zs.nid !== nid || zs.idx > pg.kcompactdHighestZoneidx || !zs.zone.populated) continue;
    if (compactionSuitAllocationOrder(a, zs, pg.kcompactdMaxOrder, pg.kcompactdHighestZoneidx, 0) === COMPACT_CONTINUE) return true;
  }
  return false;
}

/**
 * kcompactd_do_work(): compacts (sync light) each zone up to the requested
 * index where an allocation of the requested order would fail, deferring
 * like sync direct compaction; counts compact_daemon_*.
 */
export function kcompactdDoWork(a: BuddyAllocator, nid: number): void {
  const pg = a.pgdat[nid]!;
  const order = pg.kcompactdMaxOrder;
  const hz = pg.kcompactdHighestZoneidx;
  count(a, 'compact_daemon_wake');
  for (const zs of a.zoneStates) {
    if (zs.nid !== nid || zs.idx > hz || !zs.zone.populated) continue;
    if (compactionDeferred(zs, order)) continue;
    if (compactionSuitAllocationOrder(a, zs, order, zs.idx, 0) !== COMPACT_CONTINUE) continue;
    const cc = compactControl(zs, order, { mode: MIGRATE_SYNC_LIGHT, highestIdx: hz, migratetype: MigrateType.MOVABLE });
    const status = compactZone(a, cc);
    if (status === COMPACT_SUCCESS) {
      compactionDeferReset(zs, order, false);
    } else if (status === COMPACT_PARTIAL_SKIPPED || status === COMPACT_COMPLETE) {
      for (const pcp of zs.pcp) if (pcp && pcp.count) a.drainLocal(zs, pcp.cpu);
      deferCompaction(zs, order);
    }
    count(a, 'compact_daemon_migrate_scanned', cc.totalMigrateScanned);
    count(a, 'compact_daemon_free_scanned', cc.totalFreeScanned);
  }
  if (pg.kcompactdMaxOrder <= order) pg.kcompactdMaxOrder = 0;
  if (pg.kcompactdHighestZoneidx >= hz) pg.kcompactdHighestZoneidx = pg.nrZones - 1;
}

/** wakeup_kcompactd(): record the order and zone; kcompactd runs at once when a zone is suitable. */
export function wakeupKcompactd(a: BuddyAllocator, nid: number, order: number, hz: number): void {
  if (!order || !a.options.compaction) return;
  const pg = a.pgdat[nid]!;
  if (pg.kcompactdMaxOrder < order) pg.kcompactdMaxOrder = order;
  if (pg.kcompactdHighestZoneidx > hz) pg.kcompactdHighestZoneidx = hz;
  if (!a.options.kcompactd || pg.kcompactdRunning) return;
  if (!kcompactdNodeSuitable(a, nid)) return;
  pg.kcompactdRunning = true;
  try {
    kcompactdDoWork(a, nid);
  } finally {
    pg.kcompactdRunning = false;
  }
  // kcompactd() after kcompactd_do_work(): back to sleep for the default timeout (a deferral is lost)
  a.kcompactdWork[nid]?.mod(HPAGE_FRAG_CHECK_INTERVAL_NS);
}
