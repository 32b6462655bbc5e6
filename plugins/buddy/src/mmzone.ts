/**
 * struct zone as the page allocator keeps it (include/linux/mmzone.h):
 * free_area[] with one list per order × migrate type, the pageblock
 * migrate types, the per-CPU page lists, reserves and compaction state;
 * and the list primitives of mm/page_alloc.c that work on one zone
 * (__add_to_free_list, expand, __rmqueue_smallest, __free_one_page,
 * account_freepages, __move_freepages_block).
 *
 * Free blocks are linked through struct page's lru links (slot indices);
 * a free block's head has PG_buddy, page->private = order and, in
 * page->owner, the migrate type of the list it is on.
 * @module
 */
import {
  type EventBus, MAX_PAGE_ORDER, type MemoryModel, MigrateType, MIGRATE_TYPES, NO_PAGE, NR_PAGE_ORDERS,
  type PageFrameTable, PageOwner, PG_buddy, PG_lru, type Zone, type ZoneNumaStats, type ZoneStats,
} from '@mmsim/core';

/** pageblock_order on x86_64 (HPAGE_PMD_ORDER). */
export const PAGEBLOCK_ORDER = 9;
/** pageblock_nr_pages */
export const PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER;
/** MIGRATE_PCPTYPES: the types with per-CPU lists and fallbacks. */
export const MIGRATE_PCPTYPES = 3;
/** PAGE_ALLOC_COSTLY_ORDER */
export const PAGE_ALLOC_COSTLY_ORDER = 3;
/** NR_LOWORDER_PCP_LISTS: orders 0..3 × the three pcp types. */
export const NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1);
/** NR_PCP_LISTS: plus two THP lists (movable and not). */
export const NR_PCP_LISTS = NR_LOWORDER_PCP_LISTS + 2;
/** PFN_SECTION_SHIFT: 128 MiB memory sections on x86_64. */
export const PFN_SECTION_SHIFT = 15;
/** MAX_RECLAIM_RETRIES */
export const MAX_RECLAIM_RETRIES = 16;

/** migratetype_is_mergeable() */
export function isMergeable(mt: number): boolean {
  return mt < MIGRATE_PCPTYPES;
}

/** order_to_pindex() */
export function orderToPindex(mt: number, order: number): number {
  return order > PAGE_ALLOC_COSTLY_ORDER ? NR_LOWORDER_PCP_LISTS + (mt === MigrateType.MOVABLE ? 1 : 0) : MIGRATE_PCPTYPES * order + mt;
}

/** pindex_to_order() */
export function pindexToOrder(pindex: number): number {
  return pindex >= NR_LOWORDER_PCP_LISTS ? PAGEBLOCK_ORDER : Math.floor(pindex / MIGRATE_PCPTYPES);
}

/** pcp->flags */
export const PCPF_PREV_FREE_HIGH_ORDER = 1;
export const PCPF_FREE_HIGH_BATCH = 2;

/**
 * struct per_cpu_pages: one CPU's lists for one zone (heads are hot, tails
 * cold). Each list is a ring-buffer deque of pfns rather than links through
 * struct page: a pcp list is only ever used at its two ends, so no page's
 * lru links need touching.
 */
export class PerCpuPages {
  /** Pages on all lists (a block of order n counts 2^n). */
  count = 0;
  high = 0;
  highMin = 0;
  highMax = 0;
  batch = 1;
  /** Refill doubling since the last free (nr_pcp_alloc). */
  allocFactor = 0;
  /** Consecutive freed pages (nr_pcp_free). */
  freeCount = 0;
  flags = 0;
  /** Ring buffer of pfns per list, its first slot and length. */
  readonly buf: Int32Array[] = Array.from({ length: NR_PCP_LISTS }, () => new Int32Array(16));
  readonly first = new Int32Array(NR_PCP_LISTS);
  readonly len = new Int32Array(NR_PCP_LISTS);
  constructor(readonly cpu: number) {}

  private grow(i: number): Int32Array {
    const old = this.buf[i]!;
    const b = new Int32Array(old.length * 2);
    const f = this.first[i]!;
    const n = this.len[i]!;
    for (let k = 0; k < n; k++) b[k] = old[(f + k) & (old.length - 1)]!;
    this.buf[i] = b;
    this.first[i] = 0;
    return b;
  }
  /** list_add() */
  pushHead(i: number, pfn: number): void {
    let b = this.buf[i]!;
    if (this.len[i] === b.length) b = this.grow(i);
    const f = (this.first[i]! - 1) & (b.length - 1);
    b[f] = pfn;
    this.first[i] = f;
    this.len[i]!++;
  }
  /** list_add_tail() */
  pushTail(i: number, pfn: number): void {
    let b = this.buf[i]!;
    if (this.len[i] === b.length) b = this.grow(i);
    b[(this.first[i]! + this.len[i]!) & (b.length - 1)] = pfn;
    this.len[i]!++;
  }
  /** list_first_entry() + list_del() */
  popHead(i: number): number {
    const b = this.buf[i]!;
    const f = this.first[i]!;
    this.first[i] = (f + 1) & (b.length - 1);
    this.len[i]!--;
    return b[f]!;
  }
  /** list_last_entry() + list_del() */
  popTail(i: number): number {
    const b = this.buf[i]!;
    const n = --this.len[i]!;
    return b[(this.first[i]! + n) & (b.length - 1)]!;
  }
  /** The pfns of list `i`, head first. */
  list(i: number): number[] {
    const b = this.buf[i]!;
    return Array.from({ length: this.len[i]! }, (_, k) => b[(this.first[i]! + k) & (b.length - 1)]!);
  }
}

/** What every zone shares: the memory model, the event bus, global switches. */
export interface ZoneShared {
  readonly memory: MemoryModel;
  readonly events: EventBus;
  /** page_group_by_mobility_disabled */
  mobilityDisabled: boolean;
  /** The zone id owning each pageblock (index pfn >> pageblock_order): -1 none, -2 shared by two zones. */
  pbZone: Int16Array;
  /** Exact owner check for a pfn in a shared pageblock. */
  zoneIdOfPfn(pfn: number): number;
}

/** The pglist_data fields of kcompactd, of one node (kswapd's are the reclaim engine's). */
export class KcompactdState {
  /** kcompactd_max_order / kcompactd_highest_zoneidx: what kcompactd was woken for. */
  kcompactdMaxOrder = 0;
  kcompactdHighestZoneidx: number;
  /** kcompactd is running (synchronously, inside whoever woke it). */
  kcompactdRunning = false;
  constructor(readonly nrZones: number) {
    this.kcompactdHighestZoneidx = nrZones - 1;
  }
}

/** One populated zone's allocator state. */
export class ZoneState {
  readonly zone: Zone;
  readonly stats: ZoneStats;
  /** Index in the allocator's zone table. */
  readonly id: number;
  readonly nid: number;
  /** zone_idx() */
  readonly idx: number;
  start: number;
  end: number;
  /** The page table (re-read by the allocator when hotplug grows it). */
  t: PageFrameTable;
  /** pfn_to_page() is pfn - pageOff over the whole span (a flat memmap): no call into the memory model. */
  linear = false;
  pageOff = 0;
  /** No other zone shares a pageblock of this zone's span: owns() is a range check. */
  exclusive = false;
  /** Allocations preferring this zone start with ALLOC_NOFRAGMENT (alloc_flags_nofragment). */
  nofragment = false;

  /** free_area[order].free_list[mt] heads and tails, index order * MIGRATE_TYPES + mt. */
  readonly freeHead = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES).fill(NO_PAGE);
  readonly freeTail = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES).fill(NO_PAGE);
  /** free_area[order].nr_free */
  readonly nrFree = new Int32Array(NR_PAGE_ORDERS);
  /** Blocks per order × migrate type (what /proc/pagetypeinfo counts). */
  readonly nrFreeMt = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES);
  /** Migrate type of each pageblock from pbBase on. */
  pageblockMt: Uint8Array;
  /** PG_migrate_skip per pageblock (compaction's isolation hints). */
  pageblockSkip: Uint8Array;
  pbBase: number;

  /** zone->nr_free_highatomic, NR_FREE_CMA_PAGES, zone->nr_reserved_highatomic, cma_pages. */
  nrFreeHighatomic = 0;
  nrFreeCma = 0;
  nrReservedHighatomic = 0;
  cmaPages = 0;

  /** _watermark[] mirrored for the hot path, and watermark_boost. */
  wmarkMin = 0;
  wmarkLow = 0;
  wmarkHigh = 0;
  wmarkPromo = 0;
  boost = 0;
  /** lowmem_reserve[] by zone index. */
  lowmemReserve: Float64Array;

  /** ZONE_BOOSTED_WATERMARK, ZONE_BELOW_HIGH, ZONE_RECLAIM_ACTIVE */
  boostedWatermark = false;
  belowHigh = false;
  reclaimActive = false;

  /** Per-CPU lists, by CPU id (undefined for ids not online). */
  readonly pcp: (PerCpuPages | undefined)[] = [];
  /** zone->pageset_high_min / _max / pageset_batch */
  pagesetHighMin = 0;
  pagesetHighMax = 0;
  pagesetBatch = 0;
  /** zone_pcp_disable() depth (memory offlining): the pcp lists run with high 0 and batch 1 meanwhile. */
  pcpDisabled = 0;

  /** zone_statistics() counters: the zone's own (/proc/zoneinfo, numastat print them). */
  readonly numaStats: ZoneNumaStats;

  /** Compaction: cached scanner positions and deferral (compact_cached_*, compact_defer_shift...). */
  compactCachedMigratePfn = [0, 0];
  compactCachedFreePfn = 0;
  compactInitMigratePfn = 0;
  compactInitFreePfn = 0;
  compactConsidered = 0;
  compactDeferShift = 0;
  compactOrderFailed = 0;
  compactBlockskipFlush = false;

  constructor(zone: Zone, id: number, readonly shared: ZoneShared, nrZoneTypes: number) {
    this.zone = zone;
    this.stats = zone.stats;
    this.numaStats = zone.numaStats;
    this.id = id;
    this.nid = zone.nid;
    this.idx = zone.idx;
    this.start = zone.zoneStartPfn;
    this.end = zone.zoneEndPfn;
    this.t = shared.memory.pages;
    this.pbBase = this.start >> PAGEBLOCK_ORDER;
    const nPb = ((this.end + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER) - this.pbBase;
    this.pageblockMt = new Uint8Array(Math.max(nPb, 1)).fill(shared.mobilityDisabled ? MigrateType.UNMOVABLE : MigrateType.MOVABLE);
    this.pageblockSkip = new Uint8Array(Math.max(nPb, 1));
    this.lowmemReserve = new Float64Array(nrZoneTypes);
    this.resetCompactCache();
  }

  /**
   * The zone's span changed (memory hotplug): pageblock arrays follow it,
   * pageblocks already known keep their type, new ones start Movable.
   */
  resize(start: number, end: number): void {
    const oldBase = this.pbBase;
    const oldMt = this.pageblockMt;
    const oldSkip = this.pageblockSkip;
    this.start = start;
    this.end = end;
    this.pbBase = start >> PAGEBLOCK_ORDER;
    const nPb = Math.max(((end + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER) - this.pbBase, 1);
    this.pageblockMt = new Uint8Array(nPb).fill(this.shared.mobilityDisabled ? MigrateType.UNMOVABLE : MigrateType.MOVABLE);
    this.pageblockSkip = new Uint8Array(nPb);
    for (let i = 0; i < oldMt.length; i++) {
      const j = i + oldBase - this.pbBase;
      if (j >= 0 && j < nPb) {
        this.pageblockMt[j] = oldMt[i]!;
        this.pageblockSkip[j] = oldSkip[i]!;
      }
    }
    this.resetCompactCache();
  }

  /** reset_cached_positions() */
  resetCompactCache(): void {
    this.compactCachedMigratePfn[0] = this.compactCachedMigratePfn[1] = this.start;
    this.compactCachedFreePfn = ((this.end - 1) >> PAGEBLOCK_ORDER) << PAGEBLOCK_ORDER;
    this.compactInitMigratePfn = this.start;
    this.compactInitFreePfn = this.compactCachedFreePfn;
  }

  /** pfn_to_page(): the page-table slot of `pfn`, -1 when invalid. */
  pageOf(pfn: number): number {
    return this.linear ? pfn - this.pageOff : this.shared.memory.pfnToPage(pfn);
  }

  /** page_to_pfn() */
  pfnOf(page: number): number {
    return this.linear ? page + this.pageOff : this.shared.memory.pageToPfn(page);
  }

  /** Does this zone own `pfn` (page_zone(pfn_to_page(pfn)) == zone)? */
  owns(pfn: number): boolean {
    if (pfn < this.start || pfn >= this.end) return false;
    if (this.exclusive) return true;
    const z = this.shared.pbZone[pfn >> PAGEBLOCK_ORDER];
    return z === this.id || (z === -2 && this.shared.zoneIdOfPfn(pfn) === this.id);
  }

  // ---- pageblock flags ---------------------------------------------------

  /** get_pfnblock_migratetype() */
  pageblockMigratetype(pfn: number): number {
    return this.pageblockMt[(pfn >> PAGEBLOCK_ORDER) - this.pbBase]!;
  }

  /** set_pageblock_migratetype(): with mobility grouping off every pcp type reads as Unmovable. */
  setPageblockMigratetype(pfn: number, mt: number): void {
    if (this.shared.mobilityDisabled && mt < MIGRATE_PCPTYPES) mt = MigrateType.UNMOVABLE;
    const i = (pfn >> PAGEBLOCK_ORDER) - this.pbBase;
    const old = this.pageblockMt[i]!;
    if (old === MigrateType.CMA) this.cmaPages -= PAGEBLOCK_NR_PAGES;
    if (mt === MigrateType.CMA) this.cmaPages += PAGEBLOCK_NR_PAGES;
    this.pageblockMt[i] = mt;
  }

  /** change_pageblock_range(): every pageblock of a block of `order` ≥ pageblock_order. */
  changePageblockRange(pfn: number, order: number, mt: number): void {
    for (let n = 1 << (order - PAGEBLOCK_ORDER), p = pfn; n > 0; n--, p += PAGEBLOCK_NR_PAGES) this.setPageblockMigratetype(p, mt);
  }

  /**
   * Pageblocks of each migrate type (pagetypeinfo_showblockcount_print):
   * every pageblock_nr_pages from zone_start_pfn whose memory section is
   * online (has present pages) and whose page belongs to this zone.
   */
  pageblockCounts(): number[] {
    const counts = new Array<number>(MIGRATE_TYPES).fill(0);
    for (let pfn = this.start; pfn < this.end; pfn += PAGEBLOCK_NR_PAGES) {
      const lo = (pfn >> PFN_SECTION_SHIFT) << PFN_SECTION_SHIFT;
      const hi = lo + (1 << PFN_SECTION_SHIFT);
      if (!this.zone.ranges.some((r) => r.start < hi && r.end > lo)) continue; // pfn_to_online_page()
      if (!this.owns(pfn)) continue;
      counts[this.pageblockMigratetype(pfn)]!++;
    }
    return counts;
  }

  // ---- free lists --------------------------------------------------------

  /** account_freepages(): NR_FREE_PAGES and the CMA / highatomic counters (isolated pages are not free). */
  accountFreepages(nr: number, mt: number): void {
    if (mt === MigrateType.ISOLATE) return;
    this.stats.nrFreePages += nr;
    if (mt === MigrateType.CMA) this.nrFreeCma += nr;
    else if (mt === MigrateType.HIGHATOMIC) this.nrFreeHighatomic += nr;
  }

  /** __add_to_free_list() + set_buddy_order(): head or tail of free_list[mt] of `order`. */
  addToFreeList(page: number, order: number, mt: number, tail: boolean): void {
    const t = this.t;
    const li = order * MIGRATE_TYPES + mt;
    if (tail) {
      const last = this.freeTail[li]!;
      t.lruPrev[page] = last;
      t.lruNext[page] = NO_PAGE;
      if (last !== NO_PAGE) t.lruNext[last] = page;
      else this.freeHead[li] = page;
      this.freeTail[li] = page;
    } else {
      const first = this.freeHead[li]!;
      t.lruNext[page] = first;
      t.lruPrev[page] = NO_PAGE;
      if (first !== NO_PAGE) t.lruPrev[first] = page;
      else this.freeTail[li] = page;
      this.freeHead[li] = page;
    }
    t.flags[page]! |= PG_buddy;
    t.private[page] = order;
    t.owner[page] = mt;
    t.ownerKind[page] = PageOwner.BUDDY;
    this.nrFree[order]!++;
    this.nrFreeMt[li]!++;
  }

  /** __del_page_from_free_list(): unlinks a free head (no NR_FREE_PAGES accounting). */
  delFromFreeList(page: number, order: number): void {
    const t = this.t;
    const li = order * MIGRATE_TYPES + t.owner[page]!;
    const next = t.lruNext[page]!;
    const prev = t.lruPrev[page]!;
    if (prev !== NO_PAGE) t.lruNext[prev] = next;
    else this.freeHead[li] = next;
    if (next !== NO_PAGE) t.lruPrev[next] = prev;
    else this.freeTail[li] = prev;
    t.lruNext[page] = NO_PAGE;
    t.lruPrev[page] = NO_PAGE;
    t.flags[page]! &= ~PG_buddy;
    t.private[page] = 0;
    t.owner[page] = 0;
    t.ownerKind[page] = PageOwner.NONE;
    this.nrFree[order]!--;
    this.nrFreeMt[li]!--;
  }

  /** del_page_from_free_list(): unlink and account. */
  delPageFromFreeList(page: number, order: number): void {
    const mt = this.t.owner[page]!;
    this.delFromFreeList(page, order);
    this.accountFreepages(-(1 << order), mt);
  }

  /** move_to_free_list(): to the tail of another type's list of the same order. */
  moveToFreeList(page: number, order: number, newMt: number): void {
    const oldMt = this.t.owner[page]!;
    this.delFromFreeList(page, order);
    this.addToFreeList(page, order, newMt, true);
    this.accountFreepages(-(1 << order), oldMt);
    this.accountFreepages(1 << order, newMt);
  }

  /** expand(): splits 2^high down to 2^low, listing the upper halves; returns the pages listed. */
  expand(pfn: number, low: number, high: number, mt: number): number {
    let added = 0;
    while (high > low) {
      high--;
      const half = pfn + (1 << high);
      this.addToFreeList(this.pageOf(half), high, mt, false);
      added += 1 << high;
    }
    return added;
  }

  /** page_del_and_expand() */
  pageDelAndExpand(page: number, pfn: number, low: number, high: number, mt: number): void {
    this.delFromFreeList(page, high);
    const nr = (1 << high) - this.expand(pfn, low, high, mt);
    this.accountFreepages(-nr, mt);
  }

  /** __rmqueue_smallest(): the smallest free block of `mt` that fits, split to `order`; -1 when none. */
  rmqueueSmallest(order: number, mt: number, pcpRefill: boolean): number {
    for (let o = order; o < NR_PAGE_ORDERS; o++) {
      const page = this.freeHead[o * MIGRATE_TYPES + mt]!;
      if (page === NO_PAGE) continue;
      const pfn = this.pfnOf(page);
      this.pageDelAndExpand(page, pfn, order, o, mt);
      if (this.shared.events.enabled.mm_page_alloc_zone_locked) {
        this.shared.events.emit('mm_page_alloc_zone_locked', { pfn, order, migratetype: mt, percpu_refill: pcpRefill });
      }
      return pfn;
    }
    return -1;
  }

  /** Is the free block of `order` at `pfn` the buddy we look for (page_is_buddy)? Returns its slot or -1. */
  private buddySlot(pfn: number, order: number): number {
    if (!this.owns(pfn)) return -1;
    const page = this.pageOf(pfn);
    if (page < 0) return -1;
    const t = this.t;
    return t.flags[page]! & PG_buddy && t.private[page] === order ? page : -1;
  }

  /**
   * __free_one_page(): accounts the block, merges it with free buddies
   * (never across pageblocks of unmergeable types), and lists the result —
   * at the tail when the next-higher buddy is free too (buddy_merge_likely),
   * so it is less likely to be split again before that merge.
   */
  freeOnePage(pfn: number, order: number, mt: number, toTail: boolean): void {
    this.accountFreepages(1 << order, mt);
    let buddyPfn = 0;
    while (order < MAX_PAGE_ORDER) {
      buddyPfn = pfn ^ (1 << order);
      const bpage = this.buddySlot(buddyPfn, order);
      if (bpage < 0) break;
      let buddyMt = mt;
      if (order >= PAGEBLOCK_ORDER) {
        buddyMt = this.pageblockMigratetype(buddyPfn);
        if (mt !== buddyMt && (!isMergeable(mt) || !isMergeable(buddyMt))) break;
      }
      this.delFromFreeList(bpage, order);
      if (buddyMt !== mt) this.changePageblockRange(buddyPfn, order, mt);
      pfn &= buddyPfn;
      order++;
    }
    if (!toTail && order < MAX_PAGE_ORDER - 1) {
      // buddy_merge_likely(): is the buddy of the order+1 block we are part of free?
      const higher = buddyPfn & pfn;
      toTail = this.buddySlot(higher ^ (1 << (order + 1)), order + 1) >= 0;
    }
    this.addToFreeList(this.pageOf(pfn), order, mt, toTail);
  }

  /**
   * split_large_buddy() + __free_one_page(): a block larger than a pageblock
   * is freed pageblock by pageblock, each with its own migrate type.
   */
  freeBlock(pfn: number, order: number, toTail: boolean): void {
    if (order <= PAGEBLOCK_ORDER) {
      this.freeOnePage(pfn, order, this.pageblockMigratetype(pfn), toTail);
      return;
    }
    for (let p = pfn, end = pfn + (1 << order); p < end; p += PAGEBLOCK_NR_PAGES) {
      this.freeOnePage(p, PAGEBLOCK_ORDER, this.pageblockMigratetype(p), toTail);
    }
  }

  /**
   * prep_move_freepages_block(): the pageblock holding `pfn`, if it lies
   * wholly in this zone: its first pfn, and how many of its pages are free
   * and how many on the LRU (taken as movable).
   */
  pageblockCensus(pfn: number): { start: number; free: number; movable: number } | null {
    const start = pfn & ~(PAGEBLOCK_NR_PAGES - 1);
    const end = start + PAGEBLOCK_NR_PAGES;
    if (!this.owns(start) || !this.owns(end - 1)) return null;
    const t = this.t;
    let free = 0;
    let movable = 0;
    for (let p = start; p < end;) {
      const page = this.pageOf(p);
      if (page >= 0 && t.flags[page]! & PG_buddy) {
        const nr = 1 << t.private[page]!;
        free += nr;
        p += nr;
        continue;
      }
      // PageLRU(page) || __PageMovable(page)
      if (page >= 0 && t.flags[page]! & PG_lru) movable++;
      p++;
    }
    return { start, free, movable };
  }

  /** __move_freepages_block(): every free block in the pageblock to `newMt`'s lists, and the pageblock retyped. */
  moveFreepagesBlock(start: number, newMt: number): number {
    const t = this.t;
    let moved = 0;
    for (let p = start, end = start + PAGEBLOCK_NR_PAGES; p < end;) {
      const page = this.pageOf(p);
      if (page < 0 || !(t.flags[page]! & PG_buddy)) {
        p++;
        continue;
      }
      const order = t.private[page]!;
      this.moveToFreeList(page, order, newMt);
      p += 1 << order;
      moved += 1 << order;
    }
    this.setPageblockMigratetype(start, newMt);
    return moved;
  }

  /** move_freepages_block(): -1 when the pageblock crosses the zone boundary. */
  moveFreepagesBlockChecked(pfn: number, newMt: number): number {
    const start = pfn & ~(PAGEBLOCK_NR_PAGES - 1);
    if (!this.owns(start) || !this.owns(start + PAGEBLOCK_NR_PAGES - 1)) return -1;
    return this.moveFreepagesBlock(start, newMt);
  }

  /** Pages on this zone's per-CPU lists. */
  pcpPages(): number {
    let n = 0;
    for (const p of this.pcp) if (p) n += p.count;
    return n;
  }
}
