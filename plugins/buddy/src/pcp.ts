/**
 * Per-CPU page lists (mm/page_alloc.c: rmqueue_pcplist, rmqueue_bulk,
 * free_unref_page_commit, free_pcppages_bulk, nr_pcp_alloc, nr_pcp_high,
 * nr_pcp_free, drain_pages_zone). Each CPU keeps, per zone, one list per
 * order 0..3 and pcp migrate type plus two THP lists; allocations take the
 * hot head (a cold request the tail), frees go to the head (cold ones to the
 * tail), refills arrive in bulk at the tail and drains take from the tail.
 *
 * Since 6.7 pcp->high is auto-tuned between high_min and high_max (grown
 * while allocations refill, shrunk while frees flush or the zone is below
 * its high watermark); before 6.7 it is fixed, before 5.13 only order 0 is
 * kept. The vmstat worker's decay_pcp_high() runs every vm.stat_interval
 * of simulated time (Simulator.tick()).
 * @module
 */
import { PageOwner, PG_pcp } from '@mmsim/core';
import { type FallbackContext, resetRmqueueMode, rmqueue, rmqueueMode } from './fallback.js';
import {
  NR_PCP_LISTS, PAGE_ALLOC_COSTLY_ORDER, PAGEBLOCK_ORDER, PCPF_FREE_HIGH_BATCH, PCPF_PREV_FREE_HIGH_ORDER, type PerCpuPages,
  pindexToOrder, type ZoneState,
} from './mmzone.js';

/** CONFIG_PCP_BATCH_SCALE_MAX */
export const PCP_BATCH_SCALE_MAX = 5;

/** How the per-CPU lists behave for the configured kernel. */
export interface PcpContext extends FallbackContext {
  /** 6.7+: high auto-tuned between high_min and high_max. */
  autoTune: boolean;
  /** 5.13+: orders 1..3 and THP are kept too (pcp_allowed_order). */
  highOrder: boolean;
  /** Zone index used as ZONE_MOVABLE's lowmem_reserve slot in watermark checks of the free path. */
  movableIdx: number;
}

/** pcp_allowed_order() */
export function pcpAllowedOrder(order: number, ctx: PcpContext): boolean {
  if (!ctx.highOrder) return order === 0;
  return order <= PAGE_ALLOC_COSTLY_ORDER || order === PAGEBLOCK_ORDER;
}

/** list_add / list_add_tail on a pcp list: the page is marked PG_pcp with its order. */
export function pcpListAdd(zs: ZoneState, pcp: PerCpuPages, page: number, pfn: number, pindex: number, order: number, tail: boolean): void {
  const t = zs.t;
  if (tail) pcp.pushTail(pindex, pfn);
  else pcp.pushHead(pindex, pfn);
  t.flags[page]! |= PG_pcp;
  t.private[page] = order;
  t.ownerKind[page] = PageOwner.BUDDY;
}

/** Takes a page off a pcp list (the head, or the tail): its slot, PG_pcp cleared. Returns the pfn. */
export function pcpListDel(zs: ZoneState, pcp: PerCpuPages, pindex: number, tail: boolean): number {
  const t = zs.t;
  const pfn = tail ? pcp.popTail(pindex) : pcp.popHead(pindex);
  const page = zs.pageOf(pfn);
  t.flags[page]! &= ~PG_pcp;
  t.private[page] = 0;
  t.ownerKind[page] = PageOwner.NONE;
  return pfn;
}

/** rmqueue_bulk(): up to `count` blocks of `order` from the buddy lists to the tail of a pcp list. */
export function rmqueueBulk(zs: ZoneState, order: number, count: number, pcp: PerCpuPages, pindex: number, mt: number, allocFlags: number, ctx: PcpContext): number {
  resetRmqueueMode();
  let i = 0;
  for (; i < count; i++) {
    const pfn = rmqueue(zs, order, mt, allocFlags, rmqueueMode, true, ctx);
    if (pfn < 0) break;
    pcpListAdd(zs, pcp, zs.pageOf(pfn), pfn, pindex, order, true);
  }
  return i;
}

/** nr_pcp_alloc(): how many blocks one refill takes (doubling while allocations run without frees). */
export function nrPcpAlloc(zs: ZoneState, pcp: PerCpuPages, order: number, ctx: PcpContext): number {
  const baseBatch = pcp.batch;
  if (!ctx.autoTune) return baseBatch > 1 ? Math.max(baseBatch >> order, 2) : baseBatch;
  const highMin = pcp.highMin;
  const highMax = pcp.highMax;
  let high = (pcp.high = Math.min(Math.max(pcp.high, highMin), highMax));
  if (high < baseBatch) return 1;
  let batch = order ? baseBatch : baseBatch << pcp.allocFactor;
  if (highMin !== highMax && !zs.belowHigh) high = pcp.high = Math.min(high + batch, highMax);
  if (!order) {
    const maxNrAlloc = Math.max(high - pcp.count - baseBatch, baseBatch);
    if (batch <= maxNrAlloc && pcp.allocFactor < PCP_BATCH_SCALE_MAX) pcp.allocFactor++;
    batch = Math.min(batch, maxNrAlloc);
  }
  if (batch > 1) batch = Math.max(batch >> order, 2);
  return batch;
}

/**
 * rmqueue_pcplist() → __rmqueue_pcplist(): a block from this CPU's list
 * (refilled in bulk when empty): the head, or the tail for a cold request.
 * -1 when the buddy lists could not refill it.
 */
export function rmqueuePcplist(zs: ZoneState, pcp: PerCpuPages, order: number, mt: number, pindex: number, allocFlags: number, cold: boolean, ctx: PcpContext): number {
  pcp.freeCount >>= 1;
  if (pcp.len[pindex] === 0) {
    const batch = nrPcpAlloc(zs, pcp, order, ctx);
    const alloced = rmqueueBulk(zs, order, batch, pcp, pindex, mt, allocFlags, ctx);
    pcp.count += alloced << order;
    if (pcp.len[pindex] === 0) return -1;
  }
  pcp.count -= 1 << order;
  return pcpListDel(zs, pcp, pindex, cold);
}

/**
 * free_pcppages_bulk(): returns `count` pages to the buddy lists, taking
 * lists round-robin from `pindex` on and each list from its tail (the
 * coldest pages); mm_page_pcpu_drain per block.
 */
export function freePcppagesBulk(zs: ZoneState, count: number, pcp: PerCpuPages, pindex: number): void {
  count = Math.min(pcp.count, count);
  pindex = pindex - 1;
  const ev = zs.shared.events;
  while (count > 0) {
    do {
      if (++pindex > NR_PCP_LISTS - 1) pindex = 0;
    } while (pcp.len[pindex] === 0);
    const order = pindexToOrder(pindex);
    const nr = 1 << order;
    do {
      const pfn = pcpListDel(zs, pcp, pindex, true);
      const mt = zs.pageblockMigratetype(pfn);
      count -= nr;
      pcp.count -= nr;
      zs.freeOnePage(pfn, order, mt, false);
      if (ev.enabled.mm_page_pcpu_drain) ev.emit('mm_page_pcpu_drain', { pfn, order, migratetype: mt });
    } while (count > 0 && pcp.len[pindex] !== 0);
  }
}

/** nr_pcp_free(): how many pages one flush returns. */
export function nrPcpFree(pcp: PerCpuPages, batch: number, high: number, freeHigh: boolean, ctx: PcpContext): number {
  if (!ctx.autoTune) return batch;
  if (freeHigh) return Math.min(pcp.count, batch << PCP_BATCH_SCALE_MAX);
  if (high < batch) return 1;
  const minNrFree = batch;
  const maxNrFree = high - batch;
  return Math.min(Math.max(pcp.freeCount, minNrFree), maxNrFree);
}

/** nr_pcp_high(): the list limit for this free (shrinking pcp->high under reclaim or below the high watermark). */
export function nrPcpHigh(zs: ZoneState, pcp: PerCpuPages, batch: number, freeHigh: boolean, ctx: PcpContext): number {
  if (!ctx.autoTune) return pcp.high;
  const highMin = pcp.highMin;
  const highMax = pcp.highMax;
  let high = (pcp.high = Math.min(Math.max(pcp.high, highMin), highMax));
  if (!high) return 0;
  if (freeHigh) {
    pcp.high = Math.max(high - (batch << PCP_BATCH_SCALE_MAX), highMin);
    return 0;
  }
  if (zs.reclaimActive) {
    const freeCount = Math.max(pcp.freeCount, batch);
    pcp.high = Math.max(high - freeCount, highMin);
    return Math.min(batch << 2, pcp.high);
  }
  if (highMin === highMax) return high;
  if (zs.belowHigh) {
    const freeCount = Math.max(pcp.freeCount, batch);
    pcp.high = Math.max(high - freeCount, highMin);
    high = Math.max(pcp.count, highMin);
  } else if (pcp.count >= high) {
    const needHigh = pcp.freeCount + batch;
    if (pcp.high < needHigh) pcp.high = Math.min(Math.max(needHigh, highMin), highMax);
  }
  return high;
}

/**
 * free_unref_page_commit(): a freed block (already marked PG_pcp with
 * page->private = order and the allocator as owner) goes to this CPU's list
 * (the head; the tail when cold); when the list reaches its limit a batch is
 * flushed to the buddy lists.
 */
export function freeUnrefPageCommit(zs: ZoneState, pcp: PerCpuPages, page: number, pfn: number, order: number, pindex: number, cold: boolean, ctx: PcpContext): void {
  pcp.allocFactor >>= 1;
  // list_add(): the caller already marked the page PG_pcp, owned by the allocator, with its order
  if (cold) pcp.pushTail(pindex, pfn);
  else pcp.pushHead(pindex, pfn);
  pcp.count += 1 << order;
  const batch = pcp.batch;
  let freeHigh = false;
  if (order && order <= PAGE_ALLOC_COSTLY_ORDER) {
    freeHigh = pcp.freeCount >= batch && (pcp.flags & PCPF_PREV_FREE_HIGH_ORDER) !== 0 && (!(pcp.flags & PCPF_FREE_HIGH_BATCH) || pcp.count >= batch);
    pcp.flags |= PCPF_PREV_FREE_HIGH_ORDER;
  } else if (pcp.flags & PCPF_PREV_FREE_HIGH_ORDER) {
    pcp.flags &= ~PCPF_PREV_FREE_HIGH_ORDER;
  }
  if (pcp.freeCount < batch << PCP_BATCH_SCALE_MAX) pcp.freeCount += 1 << order;
  const high = nrPcpHigh(zs, pcp, batch, freeHigh, ctx);
  if (pcp.count >= high) {
    freePcppagesBulk(zs, nrPcpFree(pcp, batch, high, freeHigh, ctx), pcp, pindex);
    // the zone is back above its high watermark: stop trimming pcp->high
    if (zs.belowHigh && zs.stats.nrFreePages - zs.nrFreeHighatomic - zs.nrFreeCma > zs.wmarkHigh + zs.boost + zs.lowmemReserve[ctx.movableIdx]!) zs.belowHigh = false;
  }
}

/**
 * decay_pcp_high() (6.7+, from the vmstat worker): lowers pcp->high by an
 * eighth, not below high_min nor below count - batch << 5, and frees what
 * the lists hold above it, a batch at a time (as 6.12.y does, so a
 * high-order list may free a little more than asked). Returns whether there
 * is more to do.
 */
export function decayPcpHigh(zs: ZoneState, pcp: PerCpuPages): boolean {
  const highMin = pcp.highMin;
  const batch = pcp.batch;
  let todo = false;
  if (pcp.high > highMin) {
    pcp.high = Math.max(pcp.count - (batch << PCP_BATCH_SCALE_MAX), pcp.high - (pcp.high >> 3), highMin);
    if (pcp.high > highMin) todo = true;
  }
  for (let toDrain = pcp.count - pcp.high; toDrain > 0;) {
    const n = Math.min(toDrain, batch);
    freePcppagesBulk(zs, n, pcp, 0);
    todo = true;
    toDrain -= n;
  }
  return todo;
}

/** drain_pages_zone(): every page of one CPU's lists back to the buddy lists. */
export function drainPagesZone(zs: ZoneState, pcp: PerCpuPages): void {
  while (pcp.count > 0) freePcppagesBulk(zs, Math.min(pcp.count, pcp.batch << PCP_BATCH_SCALE_MAX), pcp, 0);
}
