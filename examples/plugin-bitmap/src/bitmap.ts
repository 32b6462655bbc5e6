/**
 * A next-fit bitmap page allocator: one bit per page frame, allocation scans
 * for a naturally aligned run of 2^order free pages. No splitting or
 * merging bookkeeping — and so no cheap answer to "is there a free order-9
 * block?" — which is why Linux uses the buddy system. A third-party plugin:
 * it depends on @mmsim/core only, and still gets reclaim and the OOM
 * killer: its slow path calls the reclaim engine and the OOM killer through
 * their tokens, as __alloc_pages_slowpath calls try_to_free_pages and
 * out_of_memory.
 */
import {
  type AllocOptions, EVENTS, type EventBus, type Lazy, lazy, MAX_PAGE_ORDER, MEMORY_MODEL, type MemoryModel, MmsimError,
  OOM_KILLER, type OomKiller, PageOwner, type PageAllocator, PG_reserved, RECLAIM, type Reclaim, TOPOLOGY, type Topology, type Zone,
  __GFP_DIRECT_RECLAIM, __GFP_NOFAIL, __GFP_NORETRY, __GFP_THISNODE, gfpMigratetype, gfpZone, inject, injectable,
} from '@mmsim/core';

/** MAX_RECLAIM_RETRIES: reclaim rounds without progress before the OOM killer. */
const MAX_RECLAIM_RETRIES = 16;
/** PAGE_ALLOC_COSTLY_ORDER: above it, no OOM kill (compaction's business, and a bitmap has none). */
const COSTLY_ORDER = 3;

const NAME = 'bitmap';

class ZoneMap {
  /** 1 = free, per pfn of the zone span. */
  readonly free: Uint8Array;
  cursor = 0;
  /** Cached free-block counts per order (buddy decomposition), rebuilt lazily. */
  blocks: Int32Array | null = null;
  constructor(readonly zone: Zone) {
    this.free = new Uint8Array(zone.spannedPages);
  }
}

@injectable()
export class BitmapAllocator implements PageAllocator {
  readonly name = NAME;
  readonly maxOrder = MAX_PAGE_ORDER;
  private readonly maps = new Map<Zone, ZoneMap>();
  private readonly zoneIdxOf: Record<string, number>;

  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(EVENTS) private readonly events: EventBus,
    // lazy: the reclaim engine and the OOM killer ask the page allocator in turn
    @inject(lazy(RECLAIM)) private readonly reclaim: Lazy<Reclaim>,
    @inject(lazy(OOM_KILLER)) private readonly oomKiller: Lazy<OomKiller>,
  ) {
    this.zoneIdxOf = Object.fromEntries(topology.zoneTypes.map((t, i) => [t, i]));
    const t = memory.pages;
    for (const z of topology.populatedZones) {
      const m = new ZoneMap(z);
      for (const r of z.ranges) {
        for (let pfn = r.start; pfn < r.end; pfn++) {
          if (t.flags[memory.pfnToPage(pfn)]! & PG_reserved) continue;
          m.free[pfn - z.zoneStartPfn] = 1;
          z.stats.nrFreePages++;
        }
      }
      this.maps.set(z, m);
    }
  }

  private findRun(m: ZoneMap, order: number): number {
    const n = 1 << order;
    const base = m.zone.zoneStartPfn;
    const span = m.free.length;
    // aligned candidate starts, next-fit from the cursor, wrapping once
    const first = ((base + n - 1) & ~(n - 1)) - base;
    const startAt = Math.max(first, ((base + m.cursor + n - 1) & ~(n - 1)) - base);
    const scan = (from: number, below: number): number => {
      outer: for (let off = from; off < below && off + n <= span; off += n) {
        for (let i = n - 1; i >= 0; i--) if (!m.free[off + i]) continue outer;
        return off;
      }
      return -1;
    };
    const hit = scan(startAt, span);
    return hit >= 0 ? hit : scan(first, startAt);
  }

  /** Reclaim depth: an allocation from inside reclaim (an owner's) must not recurse into it (PF_MEMALLOC). */
  private inReclaim = 0;

  allocPages(gfp: number, order: number, opts?: AllocOptions): number | null {
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      throw new MmsimError('EBAD_ORDER', `order ${order} is outside 0..${MAX_PAGE_ORDER}`, { plugin: NAME });
    }
    const highest = this.zoneIdxOf[gfpZone(gfp, this.topology.zoneConfig)] ?? this.topology.zoneTypes.length - 1;
    const nid = opts?.nid ?? this.topology.cpuToNode(opts?.cpu ?? 0);
    const zonelist = (gfp & __GFP_THISNODE ? this.topology.zonelistsThisNode : this.topology.zonelists)[nid];
    if (!zonelist) throw new MmsimError('EINVAL', `node ${nid} does not exist`, { plugin: NAME });
    const pfn = this.getPageFromFreelist(gfp, order, highest, zonelist);
    if (pfn !== null || !(gfp & __GFP_DIRECT_RECLAIM) || this.inReclaim) return pfn;
    return this.allocPagesSlowpath(gfp, order, highest, zonelist);
  }

  /**
   * The slow path, as __alloc_pages_slowpath has it without compaction:
   * wake kswapd, reclaim directly, retry; when reclaim makes no progress
   * (or after MAX_RECLAIM_RETRIES rounds), the OOM killer for requests
   * up to PAGE_ALLOC_COSTLY_ORDER — unless __GFP_NORETRY — then retry.
   */
  private allocPagesSlowpath(gfp: number, order: number, highest: number, zonelist: readonly Zone[]): number | null {
    const nodes: number[] = [];
    for (const z of zonelist) if (z.idx <= highest && !nodes.includes(z.nid)) nodes.push(z.nid);
    const reclaim = this.reclaim();
    this.inReclaim++;
    try {
      for (const z of zonelist) if (z.idx <= highest) reclaim.wakeupKswapd(z, gfp, order, highest, true);
      let pfn = this.getPageFromFreelist(gfp, order, highest, zonelist);
      for (let round = 0; pfn === null && round < MAX_RECLAIM_RETRIES; round++) {
        const progress = reclaim.tryToFreePages({ gfp, order, highestZoneidx: highest, nodes });
        pfn = this.getPageFromFreelist(gfp, order, highest, zonelist);
        if (pfn !== null) break;
        if (progress > 0 && order <= COSTLY_ORDER) continue;
        if (gfp & __GFP_NORETRY || (order > COSTLY_ORDER && !(gfp & __GFP_NOFAIL))) break;
        // __alloc_pages_may_oom(): kill, then try again; nobody to kill → fail
        if (!this.oomKiller().outOfMemory({ gfpMask: gfp, order })) break;
        pfn = this.getPageFromFreelist(gfp, order, highest, zonelist);
      }
      return pfn;
    } finally {
      this.inReclaim--;
    }
  }

  private getPageFromFreelist(gfp: number, order: number, highest: number, zonelist: readonly Zone[]): number | null {
    const mt = gfpMigratetype(gfp);
    for (const z of zonelist) {
      if (z.idx > highest) continue;
      const m = this.maps.get(z)!;
      if (z.stats.nrFreePages < 1 << order) continue;
      const off = this.findRun(m, order);
      if (off < 0) continue;
      m.free.fill(0, off, off + (1 << order));
      m.cursor = off + (1 << order);
      m.blocks = null;
      z.stats.nrFreePages -= 1 << order;
      const pfn = z.zoneStartPfn + off;
      const page = this.memory.pfnToPage(pfn);
      const t = this.memory.pages;
      t.refcount[page] = 1;
      t.private[page] = order;
      t.ownerKind[page] = PageOwner.KERNEL;
      if (this.events.enabled.mm_page_alloc) this.events.emit('mm_page_alloc', { pfn, order, gfp_flags: gfp, migratetype: mt });
      return pfn;
    }
    return null;
  }

  freePages(pfn: number, order: number): void {
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      throw new MmsimError('EBAD_ORDER', `order ${order} is outside 0..${MAX_PAGE_ORDER}`, { plugin: NAME });
    }
    const z = Number.isInteger(pfn) && this.memory.pfnValid(pfn) ? this.topology.pfnZone(pfn) : undefined;
    const m = z && this.maps.get(z);
    if (!z || !m) throw new MmsimError('EBAD_PFN', `pfn ${pfn} is outside every zone`, { plugin: NAME });
    const page = this.memory.pfnToPage(pfn);
    const t = this.memory.pages;
    if (t.refcount[page] === 0) {
      if (m.free[pfn - z.zoneStartPfn]) throw new MmsimError('EDOUBLE_FREE', `pfn ${pfn} is already free`, { plugin: NAME });
      throw new MmsimError('EBAD_PFN', `pfn ${pfn} is not the first page of an allocation`, { plugin: NAME });
    }
    if (t.private[page] !== order) {
      throw new MmsimError('EBAD_ORDER', `pfn ${pfn} was allocated with order ${t.private[page]}, freed with ${order}`, { plugin: NAME });
    }
    t.refcount[page] = 0;
    t.private[page] = 0;
    t.ownerKind[page] = PageOwner.NONE;
    m.free.fill(1, pfn - z.zoneStartPfn, pfn - z.zoneStartPfn + (1 << order));
    m.blocks = null;
    z.stats.nrFreePages += 1 << order;
    if (this.events.enabled.mm_page_free) this.events.emit('mm_page_free', { pfn, order });
  }

  drainAllPages(): void {}

  /** Free runs decomposed into naturally aligned blocks, as buddyinfo would count them. */
  freeBlocks(zone: Zone, order: number): number {
    const m = this.maps.get(zone);
    if (!m) return 0;
    if (!m.blocks) {
      const b = new Int32Array(MAX_PAGE_ORDER + 1);
      const base = zone.zoneStartPfn;
      let off = 0;
      while (off < m.free.length) {
        if (!m.free[off]) {
          off++;
          continue;
        }
        let o = MAX_PAGE_ORDER;
        for (; o > 0; o--) {
          const n = 1 << o;
          if ((base + off) % n !== 0 || off + n > m.free.length) continue;
          let ok = true;
          for (let i = 0; i < n && ok; i++) ok = m.free[off + i] === 1;
          if (ok) break;
        }
        b[o]!++;
        off += 1 << o;
      }
      m.blocks = b;
    }
    return m.blocks[order] ?? 0;
  }
  freeBlocksByType(zone: Zone, order: number, mt: number): number {
    return mt === 0 ? this.freeBlocks(zone, order) : 0;
  }
  pcpPages(): number {
    return 0;
  }
  zoneWatermarkOk(zone: Zone, order: number, mark: number, highestZoneIdx: number): boolean {
    return zone.stats.nrFreePages - (1 << order) + 1 > mark + (zone.lowmemReserve[highestZoneIdx] ?? 0);
  }
}
