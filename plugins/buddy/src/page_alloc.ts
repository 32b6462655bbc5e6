/**
 * The zoned buddy allocator (mm/page_alloc.c): free lists per zone × order ×
 * migrate type, linked through struct page's list links; split on allocation
 * (expand), merge with the buddy on free (__free_one_page); zonelist walk
 * with gfp_zone as the upper bound (get_page_from_freelist).
 * @module
 */
import {
  type AllocOptions, EVENTS, type EventBus, KERNEL, type Kernel, MAX_PAGE_ORDER, MEMORY_MODEL, MIGRATE_TYPES,
  MigrateType, type MemoryModel, MmsimError, NO_PAGE, NR_PAGE_ORDERS, PageFrameTable, PageOwner, type PageAllocator,
  PG_buddy, PG_head, PG_lru, PG_reserved, PG_slab, TOPOLOGY, type Topology, type Zone, __GFP_COMP, __GFP_THISNODE, gfpMigratetype,
  gfpZone, inject, injectable,
} from '@mmsim/core';
import { BUDDY_OPTIONS } from './options.js';
import { NumaAccounting } from './numa.js';
import * as isolation from './page_isolation.js';

/** pageblock_order on x86_64 (HPAGE_PMD_ORDER). */
export const PAGEBLOCK_ORDER = 9;

/** The fallback table (fallbacks[MIGRATE_TYPES][MIGRATE_PCPTYPES - 1]). */
export const FALLBACKS: readonly (readonly MigrateType[])[] = [
  [MigrateType.RECLAIMABLE, MigrateType.MOVABLE], // Unmovable
  [MigrateType.RECLAIMABLE, MigrateType.UNMOVABLE], // Movable
  [MigrateType.UNMOVABLE, MigrateType.MOVABLE], // Reclaimable
];

/** Options of the buddy plugin. */
export interface BuddyOptions {
  /** Group pages by mobility (2.6.24+). false: every allocation uses one list per order. */
  mobilityGrouping: boolean;
}

/** One zone's free_area[] plus pageblock migrate types. */
class FreeArea {
  /** Head slot of each list, index order * MIGRATE_TYPES + mt. */
  readonly head = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES).fill(NO_PAGE);
  /** free_area[order].nr_free */
  readonly nrFree = new Int32Array(NR_PAGE_ORDERS);
  /** Free blocks per order × migrate type. */
  readonly nrFreeMt = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES);
  /** Migrate type per pageblock of the zone span (all start Movable, as memmap_init does). */
  readonly pageblockMt: Uint8Array;
  constructor(readonly zone: Zone) {
    this.pageblockMt = new Uint8Array(Math.ceil((zone.spannedPages + (zone.zoneStartPfn & ((1 << PAGEBLOCK_ORDER) - 1))) / (1 << PAGEBLOCK_ORDER)) + 1).fill(MigrateType.MOVABLE);
  }
  pageblockIndex(pfn: number): number {
    return (pfn >> PAGEBLOCK_ORDER) - (this.zone.zoneStartPfn >> PAGEBLOCK_ORDER);
  }
}

@injectable()
export class BuddyAllocator implements PageAllocator {
  readonly name = 'buddy';
  readonly maxOrder = MAX_PAGE_ORDER;
  private readonly areas: FreeArea[] = [];
  /** FreeArea per topology zone (undefined for empty zones). */
  private readonly areaOf = new Map<Zone, FreeArea>();
  private readonly t: PageFrameTable;
  private readonly zoneIdxOf: Record<string, number>;
  /** vmstat pgalloc_<zone> per zone index, pgfree. */
  readonly counters = { pgalloc: new Float64Array(8), pgfree: 0, allocFail: 0 };

  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(EVENTS) private readonly events: EventBus,
    @inject(KERNEL) private readonly kernel: Kernel,
    @inject(BUDDY_OPTIONS) private readonly options: BuddyOptions,
  ) {
    this.t = memory.pages;
    this.zoneIdxOf = Object.fromEntries(topology.zoneTypes.map((t, i) => [t, i]));
    for (const z of topology.zones) {
      if (!z.populated) continue;
      const a = new FreeArea(z);
      this.areas.push(a);
      this.areaOf.set(z, a);
    }
    this.freeBootMemory();
    this.numa = new NumaAccounting(topology, kernel);
  }

  /** zone_statistics() and the remote-node cost (numa.ts). */
  private readonly numa: NumaAccounting;

  /** memblock_free_all(): every present page not reserved goes to the free lists, in the largest aligned blocks. */
  private freeBootMemory(): void {
    const t = this.t;
    for (const a of this.areas) {
      for (const r of a.zone.ranges) {
        let pfn = r.start;
        while (pfn < r.end) {
          const page = this.memory.pfnToPage(pfn);
          if (t.flags[page]! & PG_reserved) {
            pfn++;
            continue;
          }
          // largest order aligned at pfn that stays inside the range and hits no reserved page
          let order = 0;
          while (order < MAX_PAGE_ORDER && (pfn & ((2 << order) - 1)) === 0 && pfn + (2 << order) <= r.end) order++;
          let n = 1 << order;
          for (let i = 1; i < n; i++) {
            if (t.flags[this.memory.pfnToPage(pfn + i)]! & PG_reserved) {
              order = 0;
              n = 1;
              break;
            }
          }
          t.ownerKind[page] = PageOwner.NONE;
          this.freeOne(a, pfn, order);
          a.zone.stats.nrFreePages += n;
          pfn += n;
        }
      }
    }
  }

  // ---- free lists -------------------------------------------------------

  private listAdd(a: FreeArea, page: number, pfn: number, order: number, mt: number): void {
    const t = this.t;
    const li = order * MIGRATE_TYPES + mt;
    const head = a.head[li]!;
    t.lruNext[page] = head;
    t.lruPrev[page] = NO_PAGE;
    if (head !== NO_PAGE) t.lruPrev[head] = page;
    a.head[li] = page;
    t.flags[page]! |= PG_buddy;
    t.private[page] = order;
    t.owner[page] = mt; // the list it sits on, for removal
    t.ownerKind[page] = PageOwner.BUDDY;
    a.nrFree[order]!++;
    a.nrFreeMt[li]!++;
    void pfn;
  }

  private listDel(a: FreeArea, page: number, order: number): void {
    const t = this.t;
    const mt = t.owner[page]!;
    const li = order * MIGRATE_TYPES + mt;
    const next = t.lruNext[page]!;
    const prev = t.lruPrev[page]!;
    if (prev !== NO_PAGE) t.lruNext[prev] = next;
    else a.head[li] = next;
    if (next !== NO_PAGE) t.lruPrev[next] = prev;
    t.lruNext[page] = NO_PAGE;
    t.lruPrev[page] = NO_PAGE;
    t.flags[page]! &= ~PG_buddy;
    t.ownerKind[page] = PageOwner.NONE;
    t.owner[page] = 0;
    a.nrFree[order]!--;
    a.nrFreeMt[li]!--;
  }

  /** expand(): splits a 2^high block down to 2^low, returning the upper halves to the lists. */
  private expand(a: FreeArea, pfn: number, low: number, high: number, mt: number): void {
    while (high > low) {
      high--;
      const half = pfn + (1 << high);
      this.listAdd(a, this.memory.pfnToPage(half), half, high, mt);
    }
  }

  /** __rmqueue_smallest(): the smallest free block of `mt` that fits, split to `order`. */
  private rmqueueSmallest(a: FreeArea, order: number, mt: number): number {
    for (let o = order; o < NR_PAGE_ORDERS; o++) {
      const page = a.head[o * MIGRATE_TYPES + mt]!;
      if (page === NO_PAGE) continue;
      const pfn = this.memory.pageToPfn(page);
      this.listDel(a, page, o);
      this.expand(a, pfn, order, o, mt);
      return pfn;
    }
    return -1;
  }

  /** __rmqueue_fallback(): steal from another type, largest block first (to limit mixing). */
  private rmqueueFallback(a: FreeArea, order: number, mt: number): number {
    const fb = FALLBACKS[mt];
    if (!fb) return -1;
    for (let o = MAX_PAGE_ORDER; o >= order; o--) {
      for (const f of fb) {
        const page = a.head[o * MIGRATE_TYPES + f]!;
        if (page === NO_PAGE) continue;
        const pfn = this.memory.pageToPfn(page);
        this.listDel(a, page, o);
        // claim whole pageblocks when the stolen block covers them
        if (o >= PAGEBLOCK_ORDER) {
          for (let p = pfn; p < pfn + (1 << o); p += 1 << PAGEBLOCK_ORDER) a.pageblockMt[a.pageblockIndex(p)] = mt;
        }
        this.expand(a, pfn, order, o, o >= PAGEBLOCK_ORDER ? mt : f);
        if (this.events.enabled.mm_page_alloc_extfrag) {
          this.events.emit('mm_page_alloc_extfrag', { pfn, alloc_order: order, fallback_order: o, alloc_migratetype: mt, fallback_migratetype: f, change_ownership: o >= PAGEBLOCK_ORDER });
        }
        return pfn;
      }
    }
    return -1;
  }

  /** __free_one_page(): merge with free buddies, then list the result. */
  private freeOne(a: FreeArea, pfn: number, order: number): void {
    const t = this.t;
    const z = a.zone;
    const zstart = z.zoneStartPfn;
    const zend = zstart + z.spannedPages;
    while (order < MAX_PAGE_ORDER) {
      const buddyPfn = pfn ^ (1 << order);
      if (buddyPfn < zstart || buddyPfn + (1 << order) > zend) break;
      const bpage = this.memory.pfnToPage(buddyPfn);
      // page_is_buddy(): free, same order
      if (bpage < 0 || !(t.flags[bpage]! & PG_buddy) || t.private[bpage] !== order) break;
      this.listDel(a, bpage, order);
      pfn &= buddyPfn;
      order++;
    }
    const pbmt = a.pageblockMt[a.pageblockIndex(pfn)]!;
    // an isolated pageblock (memory offlining) keeps what is freed into it
    const mt = pbmt === MigrateType.ISOLATE ? pbmt : this.options.mobilityGrouping ? pbmt : MigrateType.UNMOVABLE;
    this.listAdd(a, this.memory.pfnToPage(pfn), pfn, order, mt);
  }

  // ---- PageAllocator ----------------------------------------------------

  allocPages(gfp: number, order: number, opts?: AllocOptions): number | null {
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      throw new MmsimError('EBAD_ORDER', `order ${order} is outside 0..${MAX_PAGE_ORDER}`, { plugin: this.name, details: { order } });
    }
    const highest = this.zoneIdxOf[gfpZone(gfp, this.topology.zoneConfig)] ?? this.topology.zoneTypes.length - 1;
    const mt = this.options.mobilityGrouping ? gfpMigratetype(gfp) : (gfpMigratetype(gfp), MigrateType.UNMOVABLE);
    const cpu = opts?.cpu ?? 0;
    const nid = opts?.nid ?? this.topology.cpuToNode(cpu);
    const lists = gfp & __GFP_THISNODE ? this.topology.zonelistsThisNode : this.topology.zonelists;
    const zonelist = lists[nid];
    if (!zonelist) throw new MmsimError('EINVAL', `node ${nid} does not exist`, { plugin: this.name, details: { nid } });
    for (const z of zonelist) {
      if (z.idx > highest) continue;
      const a = this.areaOf.get(z)!;
      let pfn = this.rmqueueSmallest(a, order, mt);
      if (pfn < 0) pfn = this.rmqueueFallback(a, order, mt);
      if (pfn < 0) continue;
      z.stats.nrFreePages -= 1 << order;
      this.counters.pgalloc[z.idx]! += 1 << order;
      this.numa.account(zonelist, highest, z, cpu, order);
      const page = this.memory.pfnToPage(pfn);
      const t = this.t;
      t.refcount[page] = 1;
      t.private[page] = order;
      t.ownerKind[page] = PageOwner.KERNEL;
      if (gfp & __GFP_COMP && order > 0) t.flags[page]! |= PG_head;
      if (this.events.enabled.mm_page_alloc) this.events.emit('mm_page_alloc', { pfn, order, gfp_flags: gfp, migratetype: mt });
      return pfn;
    }
    this.counters.allocFail++;
    return null;
  }

  /** The zone area whose span holds pfn. */
  private areaFor(pfn: number): FreeArea | undefined {
    // page_zone(): the topology knows which zone a pfn is in, also where node spans interleave
    const z = this.topology.pfnZone(pfn);
    return z ? this.areaOf.get(z) : undefined;
  }

  /** The free block containing pfn, if any (is_free_buddy_page). */
  private freeBlockContaining(pfn: number): number {
    for (let o = 0; o < NR_PAGE_ORDERS; o++) {
      const head = pfn & ~((1 << o) - 1);
      const p = this.memory.pfnToPage(head);
      if (p >= 0 && this.t.flags[p]! & PG_buddy && this.t.private[p]! >= o) return head;
    }
    return -1;
  }

  freePages(pfn: number, order: number): void {
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      throw new MmsimError('EBAD_ORDER', `order ${order} is outside 0..${MAX_PAGE_ORDER}`, { plugin: this.name, details: { pfn, order } });
    }
    if (!Number.isInteger(pfn) || !this.memory.pfnValid(pfn)) {
      throw new MmsimError('EBAD_PFN', `pfn ${pfn} is not a valid pfn of this machine`, { plugin: this.name, details: { pfn, order } });
    }
    const a = this.areaFor(pfn);
    const page = this.memory.pfnToPage(pfn);
    const t = this.t;
    if (!a || t.flags[page]! & PG_reserved) {
      throw new MmsimError('EBAD_PFN', `pfn ${pfn} is reserved or in a hole: the page allocator never handed it out`, { plugin: this.name, details: { pfn, order } });
    }
    if (t.refcount[page] === 0) {
      if (this.freeBlockContaining(pfn) >= 0) {
        throw new MmsimError('EDOUBLE_FREE', `pfn ${pfn} (order ${order}) is already free`, { plugin: this.name, details: { pfn, order } });
      }
      throw new MmsimError('EBAD_PFN', `pfn ${pfn} is not the first page of an allocated block`, { plugin: this.name, details: { pfn, order } });
    }
    if (t.private[page] !== order) {
      throw new MmsimError('EBAD_ORDER', `pfn ${pfn} was allocated with order ${t.private[page]}, freed with order ${order}`, { plugin: this.name, details: { pfn, order, allocated: t.private[page] } });
    }
    if (t.flags[page]! & (PG_lru | PG_slab)) {
      // free_page_is_bad(): PAGE_FLAGS_CHECK_AT_FREE
      throw new MmsimError('EBAD_PFN', `pfn ${pfn} is still ${t.flags[page]! & PG_lru ? 'on an LRU list' : 'a slab page'}: take it off before freeing`, { plugin: this.name, details: { pfn, order } });
    }
    if (t.refcount[page]! > 1) {
      t.refcount[page]!--; // put_page(): someone else still holds it
      return;
    }
    t.refcount[page] = 0;
    t.flags[page]! &= PG_reserved; // free_pages_prepare(): flags cleared (PAGE_FLAGS_CHECK_AT_PREP)
    t.ownerKind[page] = PageOwner.NONE;
    t.owner[page] = 0;
    this.freeOne(a, pfn, order);
    a.zone.stats.nrFreePages += 1 << order;
    this.counters.pgfree += 1 << order;
    if (this.events.enabled.mm_page_free) this.events.emit('mm_page_free', { pfn, order });
  }

  // ---- memory hotplug (page_isolation.ts) ------------------------------

  /** The free-list primitives page_isolation.ts works with. */
  private internals(): isolation.BuddyInternals {
    return {
      t: this.t,
      memory: this.memory,
      pageblockOrder: PAGEBLOCK_ORDER,
      mobilityGrouping: this.options.mobilityGrouping,
      areaOf: (z) => this.areaOf.get(z),
      areaFor: (pfn) => this.areaFor(pfn),
      newArea: (z) => {
        const a = new FreeArea(z);
        this.areas.push(a);
        this.areaOf.set(z, a);
        return a;
      },
      listAdd: (a, page, pfn, order, mt) => this.listAdd(a as FreeArea, page, pfn, order, mt),
      listDel: (a, page, order) => this.listDel(a as FreeArea, page, order),
      freeOne: (a, pfn, order) => this.freeOne(a as FreeArea, pfn, order),
    };
  }
  isolateRange(startPfn: number, nrPages: number): void {
    isolation.isolateRange(this, this.internals(), startPfn, nrPages);
  }
  undoIsolateRange(startPfn: number, nrPages: number): void {
    isolation.undoIsolateRange(this, this.internals(), startPfn, nrPages);
  }
  offlineRange(startPfn: number, nrPages: number): number {
    return isolation.offlineRange(this, this.internals(), startPfn, nrPages, this.name);
  }
  onlineRange(startPfn: number, nrPages: number): void {
    isolation.onlineRange(this.internals(), startPfn, nrPages);
  }
  zoneSpanChanged(zone: Zone, oldStart: number): void {
    isolation.zoneSpanChanged(this.internals(), zone, oldStart);
  }

  drainAllPages(): void {
    // this allocator keeps no per-CPU lists
  }

  freeBlocks(zone: Zone, order: number): number {
    return this.areaOf.get(zone)?.nrFree[order] ?? 0;
  }
  freeBlocksByType(zone: Zone, order: number, mt: number): number {
    return this.areaOf.get(zone)?.nrFreeMt[order * MIGRATE_TYPES + mt] ?? 0;
  }
  pcpPages(): number {
    return 0;
  }
  /** __zone_watermark_ok() without reserves: free pages above mark + lowmem_reserve, and a block of the order. */
  zoneWatermarkOk(zone: Zone, order: number, mark: number, highestZoneIdx: number): boolean {
    const free = zone.stats.nrFreePages - ((1 << order) - 1);
    if (free <= mark + (zone.lowmemReserve[highestZoneIdx] ?? 0)) return false;
    if (order === 0) return true;
    for (let o = order; o < NR_PAGE_ORDERS; o++) if (this.freeBlocks(zone, o) > 0) return true;
    return false;
  }

  /** Free-list consistency (CONFIG_DEBUG_VM): alignment, flags, order, counts, no overlap. */
  check(): void {
    const t = this.t;
    for (const a of this.areas) {
      let pages = 0;
      const seen = new Set<number>();
      for (let o = 0; o < NR_PAGE_ORDERS; o++) {
        let n = 0;
        for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
          let m = 0;
          for (let p = a.head[o * MIGRATE_TYPES + mt]!; p !== NO_PAGE; p = t.lruNext[p]!) {
            const pfn = this.memory.pageToPfn(p);
            const where = `node ${a.zone.nid} zone ${a.zone.name} pfn ${pfn}`;
            if (pfn & ((1 << o) - 1)) throw new MmsimError('ECORRUPT', `${where}: free order-${o} block not aligned to its order`, { plugin: this.name });
            if (!(t.flags[p]! & PG_buddy) || t.private[p] !== o) throw new MmsimError('ECORRUPT', `${where}: on the order-${o} list without PageBuddy/order`, { plugin: this.name });
            if (t.refcount[p] !== 0) throw new MmsimError('ECORRUPT', `${where}: free page with refcount ${t.refcount[p]}`, { plugin: this.name });
            if (seen.has(pfn)) throw new MmsimError('ECORRUPT', `${where}: listed twice`, { plugin: this.name });
            seen.add(pfn);
            m++;
          }
          if (m !== a.nrFreeMt[o * MIGRATE_TYPES + mt]) throw new MmsimError('ECORRUPT', `zone ${a.zone.name}: order ${o} type ${mt} lists ${m} blocks, counter says ${a.nrFreeMt[o * MIGRATE_TYPES + mt]}`, { plugin: this.name });
          n += m;
        }
        if (n !== a.nrFree[o]) throw new MmsimError('ECORRUPT', `zone ${a.zone.name}: order ${o} lists ${n} blocks, nr_free says ${a.nrFree[o]}`, { plugin: this.name });
        pages += n << o;
      }
      if (pages !== a.zone.stats.nrFreePages) throw new MmsimError('ECORRUPT', `zone ${a.zone.name}: free lists hold ${pages} pages, NR_FREE_PAGES is ${a.zone.stats.nrFreePages}`, { plugin: this.name });
    }
  }
}

