/**
 * Anti-fragmentation (mm/page_alloc.c): when a migrate type's free lists
 * are empty, __rmqueue() first claims a whole pageblock of a fallback type
 * (try_to_steal_block: the largest free block, and the pageblock is
 * converted when at least half of it is free or of a compatible type),
 * then steals a single block without converting its pageblock; fragmenting
 * fallbacks boost the watermarks so kswapd frees more. Also the
 * MIGRATE_HIGHATOMIC reserve for high-order atomic allocations.
 * @module
 */
import { ALLOC_CMA, ALLOC_KSWAPD, ALLOC_NOFRAGMENT, MAX_PAGE_ORDER, MigrateType, MIGRATE_TYPES, NO_PAGE, NR_PAGE_ORDERS } from '@mmsim/core';
import { MIGRATE_PCPTYPES, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER, type ZoneState } from './mmzone.js';

/** The fallback table (fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1]); other types have none. */
export const FALLBACKS: readonly (readonly MigrateType[])[] = [
  [MigrateType.RECLAIMABLE, MigrateType.MOVABLE], // Unmovable
  [MigrateType.RECLAIMABLE, MigrateType.UNMOVABLE], // Movable
  [MigrateType.UNMOVABLE, MigrateType.MOVABLE], // Reclaimable
];

/** enum rmqueue_mode: where the last __rmqueue() of a bulk refill found pages. */
export const RMQUEUE_NORMAL = 0;
export const RMQUEUE_CMA = 1;
export const RMQUEUE_CLAIM = 2;
export const RMQUEUE_STEAL = 3;

/** Settings the fallback paths read. */
export interface FallbackContext {
  /** vm.watermark_boost_factor */
  watermarkBoostFactor: number;
}

/**
 * can_steal_fallback(): may a fallback of this order claim the rest of its
 * pageblock? Always for ≥ half a pageblock, for unmovable and reclaimable
 * requests, and with mobility grouping off.
 */
export function canStealFallback(order: number, startMt: number, mobilityDisabled: boolean): boolean {
  if (order >= PAGEBLOCK_ORDER) return true;
  return order >= PAGEBLOCK_ORDER / 2 || startMt === MigrateType.RECLAIMABLE || startMt === MigrateType.UNMOVABLE || mobilityDisabled;
}

/**
 * find_suitable_fallback(): the first fallback type with a free block of
 * `order` (or -1); `out.canSteal` tells whether it may be claimed. With
 * `onlyStealable`, only a claimable one is returned.
 */
export function findSuitableFallback(zs: ZoneState, order: number, mt: number, onlyStealable: boolean, mobilityDisabled: boolean, out: { canSteal: boolean }): number {
  if (zs.nrFree[order] === 0) return -1;
  out.canSteal = false;
  const fb = FALLBACKS[mt];
  if (!fb) return -1;
  for (const f of fb) {
    if (zs.freeHead[order * MIGRATE_TYPES + f] === NO_PAGE) continue;
    if (canStealFallback(order, mt, mobilityDisabled)) out.canSteal = true;
    if (!onlyStealable || out.canSteal) return f;
  }
  return -1;
}

/**
 * boost_watermark(): raise watermark_boost by a pageblock, up to
 * high × watermark_boost_factor / 10000 (at least a pageblock); not for
 * zones smaller than four pageblocks.
 */
export function boostWatermark(zs: ZoneState, ctx: FallbackContext): boolean {
  if (!ctx.watermarkBoostFactor) return false;
  if (PAGEBLOCK_NR_PAGES * 4 > zs.zone.managedPages) return false;
  let maxBoost = Math.floor(zs.wmarkHigh / 10000) * ctx.watermarkBoostFactor + Math.floor(((zs.wmarkHigh % 10000) * ctx.watermarkBoostFactor) / 10000);
  if (!maxBoost) return false;
  maxBoost = Math.max(PAGEBLOCK_NR_PAGES, maxBoost);
  zs.boost = Math.min(zs.boost + PAGEBLOCK_NR_PAGES, maxBoost);
  return true;
}

function traceExtfrag(zs: ZoneState, pfn: number, order: number, fallbackOrder: number, startMt: number, fallbackMt: number): void {
  const ev = zs.shared.events;
  if (ev.enabled.mm_page_alloc_extfrag) {
    ev.emit('mm_page_alloc_extfrag', {
      pfn, alloc_order: order, fallback_order: fallbackOrder, alloc_migratetype: startMt, fallback_migratetype: fallbackMt,
      change_ownership: zs.pageblockMigratetype(pfn) === startMt,
    });
  }
}

/**
 * try_to_steal_block(): a free block of `currentOrder` on another type's
 * list. At pageblock size and above, its pageblocks change owner outright.
 * Below, the watermarks are boosted and the whole pageblock is claimed when
 * free pages plus compatible pages are at least half of it (for a movable
 * request the LRU pages; for others all allocated pages of a Movable
 * block); then the request is served from the new type's lists. -1 when the
 * block was not claimed.
 */
export function tryToStealBlock(zs: ZoneState, pfn: number, page: number, currentOrder: number, order: number, startMt: number, allocFlags: number, ctx: FallbackContext): number {
  const blockMt = zs.pageblockMigratetype(pfn);
  if (blockMt === MigrateType.HIGHATOMIC) return -1;
  if (currentOrder >= PAGEBLOCK_ORDER) {
    zs.delPageFromFreeList(page, currentOrder);
    zs.changePageblockRange(pfn, currentOrder, startMt);
    zs.accountFreepages(zs.expand(pfn, order, currentOrder, startMt), startMt);
    return pfn;
  }
  if (boostWatermark(zs, ctx) && allocFlags & ALLOC_KSWAPD) zs.boostedWatermark = true;
  const census = zs.pageblockCensus(pfn);
  if (!census) return -1;
  let alike: number;
  if (startMt === MigrateType.MOVABLE) alike = census.movable;
  else alike = blockMt === MigrateType.MOVABLE ? PAGEBLOCK_NR_PAGES - (census.free + census.movable) : 0;
  if (census.free + alike >= PAGEBLOCK_NR_PAGES >> 1 || zs.shared.mobilityDisabled) {
    zs.moveFreepagesBlock(census.start, startMt);
    return zs.rmqueueSmallest(order, startMt, false);
  }
  return -1;
}

const scratch = { canSteal: false };

/**
 * __rmqueue_claim(): the largest free block of a fallback type, claiming
 * its pageblock (orders below a pageblock are skipped under
 * ALLOC_NOFRAGMENT). -1 when nothing could be claimed.
 */
export function rmqueueClaim(zs: ZoneState, order: number, startMt: number, allocFlags: number, ctx: FallbackContext): number {
  const minOrder = order < PAGEBLOCK_ORDER && allocFlags & ALLOC_NOFRAGMENT ? PAGEBLOCK_ORDER : order;
  for (let o = MAX_PAGE_ORDER; o >= minOrder; o--) {
    const f = findSuitableFallback(zs, o, startMt, false, zs.shared.mobilityDisabled, scratch);
    if (f === -1) continue;
    if (!scratch.canSteal) break;
    const page = zs.freeHead[o * MIGRATE_TYPES + f]!;
    const pfn = zs.pfnOf(page);
    const got = tryToStealBlock(zs, pfn, page, o, order, startMt, allocFlags, ctx);
    if (got >= 0) {
      traceExtfrag(zs, got, order, o, startMt, f);
      return got;
    }
  }
  return -1;
}

/** __rmqueue_steal(): the smallest fallback block that fits, its pageblock left as it is. */
export function rmqueueSteal(zs: ZoneState, order: number, startMt: number): number {
  for (let o = order; o < NR_PAGE_ORDERS; o++) {
    const f = findSuitableFallback(zs, o, startMt, false, zs.shared.mobilityDisabled, scratch);
    if (f === -1) continue;
    const page = zs.freeHead[o * MIGRATE_TYPES + f]!;
    const pfn = zs.pfnOf(page);
    zs.pageDelAndExpand(page, pfn, order, o, f);
    traceExtfrag(zs, pfn, order, o, startMt, f);
    return pfn;
  }
  return -1;
}

/** The mode the last rmqueue() ended in (rmqueue_bulk carries it from one page to the next). */
export let rmqueueMode = RMQUEUE_NORMAL;

/**
 * __rmqueue(): the requested type's lists first, then CMA for movable
 * requests, then claiming a fallback pageblock, then (unless
 * ALLOC_NOFRAGMENT) stealing a single block. `mode` resumes where a bulk
 * refill last found pages.
 */
export function rmqueue(zs: ZoneState, order: number, mt: number, allocFlags: number, mode: number, pcpRefill: boolean, ctx: FallbackContext): number {
  let pfn: number;
  if (allocFlags & ALLOC_CMA && zs.nrFreeCma > zs.stats.nrFreePages / 2) {
    pfn = zs.rmqueueSmallest(order, MigrateType.CMA, pcpRefill);
    if (pfn >= 0) return pfn;
  }
  switch (mode) {
    case RMQUEUE_NORMAL:
      pfn = zs.rmqueueSmallest(order, mt, pcpRefill);
      if (pfn >= 0) return pfn;
    // fallthrough
    case RMQUEUE_CMA:
      if (allocFlags & ALLOC_CMA) {
        pfn = zs.rmqueueSmallest(order, MigrateType.CMA, pcpRefill);
        if (pfn >= 0) {
          rmqueueMode = RMQUEUE_CMA;
          return pfn;
        }
      }
    // fallthrough
    case RMQUEUE_CLAIM:
      pfn = rmqueueClaim(zs, order, mt, allocFlags, ctx);
      if (pfn >= 0) {
        rmqueueMode = RMQUEUE_NORMAL;
        return pfn;
      }
    // fallthrough
    case RMQUEUE_STEAL:
      if (!(allocFlags & ALLOC_NOFRAGMENT)) {
        pfn = rmqueueSteal(zs, order, mt);
        if (pfn >= 0) {
          rmqueueMode = RMQUEUE_STEAL;
          return pfn;
        }
      }
  }
  return -1;
}

/** Sets the mode a bulk refill starts in. */
export function resetRmqueueMode(): void {
  rmqueueMode = RMQUEUE_NORMAL;
}

/**
 * reserve_highatomic_pageblock(): after a successful high-order atomic
 * allocation, turn its pageblock into MIGRATE_HIGHATOMIC, up to about 1% of
 * the zone.
 */
export function reserveHighatomicPageblock(zs: ZoneState, pfn: number, order: number): void {
  const managed = zs.zone.managedPages;
  if (Math.floor(managed / 100) < PAGEBLOCK_NR_PAGES) return;
  const maxManaged = Math.ceil(Math.floor(managed / 100) / PAGEBLOCK_NR_PAGES) * PAGEBLOCK_NR_PAGES;
  if (zs.nrReservedHighatomic >= maxManaged) return;
  const mt = zs.pageblockMigratetype(pfn);
  if (mt >= MIGRATE_PCPTYPES) return; // only normal pageblocks (they can merge with others)
  if (order < PAGEBLOCK_ORDER) {
    if (zs.moveFreepagesBlockChecked(pfn, MigrateType.HIGHATOMIC) === -1) return;
    zs.nrReservedHighatomic += PAGEBLOCK_NR_PAGES;
  } else {
    zs.changePageblockRange(pfn, order, MigrateType.HIGHATOMIC);
    zs.nrReservedHighatomic += 1 << order;
  }
}

/**
 * unreserve_highatomic_pageblock(): before failing, give a highatomic
 * pageblock back to the allocation's migrate type (keeping one pageblock
 * unless `force`). True when pages were moved.
 */
export function unreserveHighatomicPageblock(zones: readonly ZoneState[], highestIdx: number, migratetype: number, force: boolean): boolean {
  for (const zs of zones) {
    if (zs.idx > highestIdx) continue;
    if (!force && zs.nrReservedHighatomic <= PAGEBLOCK_NR_PAGES) continue;
    for (let order = 0; order < NR_PAGE_ORDERS; order++) {
      const page = zs.freeHead[order * MIGRATE_TYPES + MigrateType.HIGHATOMIC]!;
      if (page === NO_PAGE) continue;
      const pfn = zs.pfnOf(page);
      const mt = zs.pageblockMigratetype(pfn);
      if (mt === MigrateType.HIGHATOMIC) {
        const size = Math.min(Math.max(PAGEBLOCK_NR_PAGES, 1 << order), zs.nrReservedHighatomic);
        zs.nrReservedHighatomic -= size;
      }
      let ret: number;
      if (order < PAGEBLOCK_ORDER) {
        ret = zs.moveFreepagesBlockChecked(pfn, migratetype);
      } else {
        zs.moveToFreeList(page, order, migratetype);
        zs.changePageblockRange(pfn, order, migratetype);
        ret = 1;
      }
      if (ret > 0) return true;
    }
  }
  return false;
}
