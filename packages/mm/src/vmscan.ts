/**
 * The reclaim engine (mm/vmscan.c): shrink_node(), shrink_folio_list() and
 * shrink_slab(), and what drives them — kswapd (wakeup_kswapd,
 * balance_pgdat, run synchronously when woken), direct reclaim
 * (try_to_free_pages) and node reclaim (vm.zone_reclaim_mode). Which pages
 * are tried is the RECLAIM_POLICY's choice (its lists, aging, isolation);
 * what becomes of each — kept mapped, left to writeback, activated for want
 * of a swap slot, or evicted through its owner (PAGE_OWNERS) and counted as
 * stolen — is decided here, whatever the policy; the slab caches give
 * objects back through the SHRINKER contributions. It works against any
 * PAGE_ALLOCATOR: the zones' watermarks are in the topology, the watermark
 * check is the allocator's zoneWatermarkOk(), and the allocator's optional
 * hooks (watermark boost, ZONE_RECLAIM_ACTIVE, kcompactd, compaction_ready)
 * are used where it has them. The per-node kswapd state (pgdat->kswapd_*)
 * lives here; kcompactd's is the allocator's.
 * @module
 */
import {
  DEF_PRIORITY, EVENTS, type EventBus, type FolioListResult, FolioOutcome, type FolioReclaimer, GFP_KERNEL, inject, injectable, type Lazy,
  lazy, lazyAll, LruList, MEMORY_MODEL, type MemNode, type MemoryModel, PAGE_ALLOCATOR, PG_dirty, PG_reclaim, PG_swapbacked, PG_swapcache, PG_writeback,
  PAGE_OWNERS, type PageAllocator, type PageOwners, type Reclaim, RECLAIM_POLICY, type ReclaimPolicy, type ReclaimRequest, SHRINKER,
  type Shrinker, SLAB_ALLOCATOR, type SlabAllocator, SWAP, type SwapSpace, SYSCTL, type Sysctl, TASKS, type TaskTable, TOPOLOGY,
  type Topology, VMSTAT, type VmStat, WMARK_HIGH, type Zone, NODE_RECLAIM_FULL, NODE_RECLAIM_NOSCAN, NODE_RECLAIM_SOME,
  NODE_RECLAIM_SUCCESS, type ScanControl, scanControl, __GFP_DIRECT_RECLAIM,
} from '@mmsim/core';
import { countVmEvents, zoneEventName } from './vmstat.js';

/** SWAP_CLUSTER_MAX */
export const SWAP_CLUSTER_MAX = 32;
/** NODE_RECLAIM_PRIORITY */
export const NODE_RECLAIM_PRIORITY = 4;
/** MAX_RECLAIM_RETRIES: kswapd gives a node up (pgdat->kswapd_failures) after this many fruitless runs. */
export const MAX_RECLAIM_RETRIES = 16;
/** PAGE_ALLOC_COSTLY_ORDER */
const PAGE_ALLOC_COSTLY_ORDER = 3;
/** pageblock_order on x86_64: what balance_pgdat() wakes kcompactd for after boosted reclaim. */
const PAGEBLOCK_ORDER = 9;
/** vm.zone_reclaim_mode bits. */
export const RECLAIM_ZONE = 1;
export const RECLAIM_WRITE = 2;
export const RECLAIM_UNMAP = 4;

/** The pglist_data fields of kswapd and node reclaim, of one node. */
export class KswapdState {
  /** kswapd_order / kswapd_highest_zoneidx (-1: MAX_NR_ZONES, nothing requested). */
  kswapdOrder = 0;
  kswapdHighestZoneidx = -1;
  /** kswapd_failures: runs in a row that reclaimed nothing. */
  kswapdFailures = 0;
  /** kswapd is running (synchronously, inside the allocation that woke it). */
  kswapdRunning = false;
  /** PGDAT_RECLAIM_LOCKED */
  reclaimLocked = false;
}

/** RECLAIM of @mmsim/mm: the reclaim engine. */
@injectable()
export class Vmscan implements Reclaim, FolioReclaimer {
  /** Per-node kswapd state, by nid. */
  readonly pgdat: KswapdState[] = [];

  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(SYSCTL) private readonly sysctl: Sysctl,
    @inject(EVENTS) private readonly events: EventBus,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    @inject(PAGE_OWNERS) private readonly owners: PageOwners,
    @inject(VMSTAT) private readonly vmstat: VmStat,
    @inject(SWAP) private readonly swap: SwapSpace,
    @inject(TASKS) private readonly tasks: TaskTable,
    // the slab allocator and the policy may still be booting when an allocation first reclaims
    @inject(lazy(RECLAIM_POLICY)) private readonly policy: Lazy<ReclaimPolicy>,
    @inject(lazy(SLAB_ALLOCATOR)) private readonly slab: Lazy<SlabAllocator>,
    @inject(lazyAll(SHRINKER)) private readonly shrinkers: Lazy<Shrinker[]>,
  ) {
    for (const n of topology.nodes) this.pgdat[n.nid] = new KswapdState();
  }

  private node(nid: number): MemNode {
    return this.topology.nodes.find((n) => n.nid === nid)!;
  }

  /** zone->watermark_boost (0 when the allocator does not boost). */
  private boost(z: Zone): number {
    return this.pages.watermarkBoost?.(z) ?? 0;
  }

  /** Free pages (buddy + per-CPU lists) of node `nid`. */
  private nodeFreePages(nid: number): number {
    const node = this.topology.nodes[nid];
    if (!node) return 0;
    const pa = this.pages;
    let n = 0;
    for (const z of node.zones) if (z.populated) n += z.stats.nrFreePages + pa.pcpPages(z);
    return n;
  }

  /**
   * shrink_node() driven as do_try_to_free_pages() drives it: from
   * sc.priority (normally DEF_PRIORITY) down to 0 until sc.nrToReclaim pages
   * are freed. Each round has the reclaim policy shrink node sc.nid's lists,
   * handing the batches it isolates to shrinkFolioList() (with no owner able
   * to evict at all the policy is not asked), then runs the shrinkers
   * (shrink_slab) with freeable >> priority × 2 objects to scan. Stops after
   * `minPriority` (0: all the way). Returns the pages freed, which are also
   * added to sc.nrReclaimed; sc.priority is left at the last priority used.
   */
  shrinkNode(sc: ScanControl, minPriority = 0): number {
    const policy = this.policy();
    let freed = 0;
    const start = Math.min(sc.priority, DEF_PRIORITY);
    for (let prio = start; prio >= Math.max(0, minPriority) && freed < sc.nrToReclaim; prio--) {
      sc.priority = prio;
      // with no owner able to evict no page can be given up: leave the LRU alone
      const pass: ScanControl = { ...sc, nrToReclaim: sc.nrToReclaim - freed, nrScanned: 0, nrReclaimed: 0 };
      if (this.owners.canEvict()) policy.shrink(pass, this);
      sc.nrScanned += pass.nrScanned;
      freed += pass.nrReclaimed;
      const shrinkers = this.shrinkers();
      if (shrinkers.length > 0) freed += this.shrinkSlab(shrinkers, sc.nid, prio);
    }
    sc.nrReclaimed += freed;
    return freed;
  }

  /**
   * shrink_folio_list(): what becomes of each folio the policy isolated
   * (off its lists, PG_lru clear; the policy has already given referenced
   * and unevictable ones their second chance), in order:
   * - mapped while !sc.mayUnmap: kept (keep_locked, before try_to_unmap);
   * - under writeback: PG_reclaim (reclaimed as soon as its IO ends), activated;
   * - anon while !sc.mayWriteback: kept (it may not be paged out to swap);
   * - anon: add_to_swap() takes a slot and puts the folio in the swap
   *   cache (no slot left: activated), pageout() writes it (the device
   *   time passes, pswpout); then its owner's evict() unmaps it
   *   (try_to_unmap: every PTE gets the swap entry), takes it out of the
   *   swap cache and frees it. An owner that refuses keeps it, and the slot
   *   goes back (put_swap_folio);
   * - dirty file: PG_reclaim, activated for the flushers to clean (no
   *   pageout() of file pages here: Linux leaves even that to kswapd only
   *   when the node is flooded with dirty pages, PGDAT_DIRTY);
   * - else free_it: its owner evicts it (an anon folio is written to swap
   *   first: nr_pageout). An owner that refuses keeps it.
   * Counts pgsteal_kswapd/direct and pgsteal_anon/file for the pages
   * actually freed and adds them to sc.nrReclaimed.
   */
  shrinkFolioList(folios: readonly number[], sc: ScanControl): FolioListResult {
    const t = this.memory.pages;
    const outcome: FolioOutcome[] = [];
    const stat: FolioListResult['stat'] = { nrPageout: 0, nrActivate: [0, 0] };
    const stolen = [0, 0]; // [anon, file]
    for (const pfn of folios) {
      const page = this.memory.pfnToPage(pfn);
      const f = t.flags[page]!;
      const file = f & PG_swapbacked ? 0 : 1; // is_file_lru: index of [anon, file]
      let o: FolioOutcome;
      if (!sc.mayUnmap && t.mapcount[page]! > 0) {
        o = FolioOutcome.KEEP;
      } else if (f & PG_writeback) {
        t.flags[page] = f | PG_reclaim;
        o = FolioOutcome.ACTIVATE;
      } else if (!file && !sc.mayWriteback) {
        o = FolioOutcome.KEEP;
      } else if (!file && !(f & PG_swapcache) && this.swap.free <= 0) {
        o = FolioOutcome.ACTIVATE;
      } else if (file && f & PG_dirty) {
        t.flags[page] = f | PG_reclaim;
        o = FolioOutcome.ACTIVATE;
      } else {
        o = file ? (this.owners.evict(pfn) ? FolioOutcome.FREED : FolioOutcome.KEEP) : this.pageoutAnon(pfn, page);
        if (o === FolioOutcome.FREED) {
          stolen[file]!++;
          if (!file) stat.nrPageout++;
        }
      }
      if (o === FolioOutcome.ACTIVATE) stat.nrActivate[file]++;
      outcome.push(o);
    }
    const nrReclaimed = stolen[0]! + stolen[1]!;
    if (nrReclaimed) countVmEvents(this.vmstat, sc.kswapd ? 'pgsteal_kswapd' : 'pgsteal_direct', nrReclaimed);
    if (stolen[0]) countVmEvents(this.vmstat, 'pgsteal_anon', stolen[0]);
    if (stolen[1]) countVmEvents(this.vmstat, 'pgsteal_file', stolen[1]);
    sc.nrReclaimed += nrReclaimed;
    return { nrReclaimed, outcome, stat };
  }

  /**
   * The anon half of shrink_folio_list(): add_to_swap() takes a slot (a
   * folio still in the swap cache since it was swapped in keeps its own and
   * leaves the cache), pageout() writes it to the device unless it is a
   * clean swap-cache folio, then the owner's evict(pfn, entry) unmaps it
   * (try_to_unmap: every PTE gets the entry) and frees it. The engine's own
   * hold on the slot is dropped at the end: a refused folio gives it back.
   */
  private pageoutAnon(pfn: number, page: number): FolioOutcome {
    const swap = this.swap;
    let entry = swap.pageSwapEntry(pfn);
    const cached = entry >= 0;
    if (cached) {
      swap.swapDuplicate(entry);
      swap.deleteFromSwapCache(pfn);
      if (this.memory.pages.flags[page]! & PG_dirty) swap.writePage(entry);
    } else {
      entry = swap.getSwapPage();
      if (entry < 0) return FolioOutcome.ACTIVATE;
      swap.writePage(entry);
    }
    const freed = this.owners.evict(pfn, entry);
    if (!freed && cached) swap.addToSwapCache(pfn, entry);
    swap.swapFree(entry);
    return freed ? FolioOutcome.FREED : FolioOutcome.KEEP;
  }

  /** shrink_slab(): every shrinker scans its share at `prio`; returns the pages the node got back. Counts slabs_scanned. */
  private shrinkSlab(shrinkers: Shrinker[], nid: number, prio: number): number {
    const before = this.nodeFreePages(nid);
    const ev = this.events;
    for (const s of shrinkers) {
      const freeable = s.countObjects(nid);
      if (freeable <= 0) continue;
      // do_shrink_slab(): delta = (freeable >> priority) * 4 / DEFAULT_SEEKS
      const nrToScan = Math.min(freeable, Math.max(1, Math.floor(freeable / 2 ** prio) * 2));
      if (ev.enabled.mm_shrink_slab_start) {
        ev.emit('mm_shrink_slab_start', { name: s.name, nr_objects_to_shrink: 0, cache_items: freeable, delta: nrToScan, total_scan: nrToScan, priority: prio });
      }
      const ret = s.scanObjects(nid, nrToScan);
      countVmEvents(this.vmstat, 'slabs_scanned', nrToScan);
      if (ev.enabled.mm_shrink_slab_end) {
        ev.emit('mm_shrink_slab_end', { name: s.name, unused_scan: 0, new_scan: 0, retval: ret, total_scan: nrToScan });
      }
    }
    return Math.max(0, this.nodeFreePages(nid) - before);
  }

  /** zone_reclaimable_pages(): the zone's file LRU, and its anon LRU when swap has room. */
  zoneReclaimablePages(zone: Zone): number {
    const sizes = this.policy().zoneLruSizes?.(zone.nid, zone.idx);
    if (!sizes) return 0;
    let n = sizes[LruList.INACTIVE_FILE]! + sizes[LruList.ACTIVE_FILE]!;
    if (this.swap.free > 0) n += sizes[LruList.INACTIVE_ANON]! + sizes[LruList.ACTIVE_ANON]!;
    return n;
  }

  /** pgdat->kswapd_failures */
  kswapdFailures(nid: number): number {
    return this.pgdat[nid]?.kswapdFailures ?? 0;
  }

  /** pgdat_balanced(): some eligible zone meets its high watermark (boost included) for `order`. */
  pgdatBalanced(nid: number, order: number, hz: number): boolean {
    let any = false;
    for (const z of this.node(nid).zones) {
      if (z.idx > hz || !z.managedPages) continue;
      any = true;
      if (this.pages.zoneWatermarkOk(z, order, z.watermark[WMARK_HIGH]! + this.boost(z), hz, 0)) return true;
    }
    return !any;
  }

  /** pgdat_watermark_boosted() */
  private pgdatWatermarkBoosted(nid: number, hz: number): boolean {
    return this.node(nid).zones.some((z) => z.idx <= hz && z.managedPages && this.boost(z));
  }

  /**
   * wakeup_kswapd(): records the order and zone kswapd should balance for;
   * a node that is balanced (and not boosted), or that kswapd gave up on,
   * wakes kcompactd instead for a non-blocking request. kswapd then runs at
   * once when `run` (the allocator's choice: a simulator without kswapd
   * reclaims only directly).
   */
  wakeupKswapd(zone: Zone, gfp: number, order: number, hz: number, run = true): void {
    if (!zone.managedPages) return;
    const nid = zone.nid;
    const pg = this.pgdat[nid]!;
    if (pg.kswapdHighestZoneidx === -1 || pg.kswapdHighestZoneidx < hz) pg.kswapdHighestZoneidx = hz;
    if (pg.kswapdOrder < order) pg.kswapdOrder = order;
    if (!run || pg.kswapdRunning) return; // no kswapd waiting on the queue
    if (pg.kswapdFailures >= MAX_RECLAIM_RETRIES || (this.pgdatBalanced(nid, order, hz) && !this.pgdatWatermarkBoosted(nid, hz))) {
      if (!(gfp & __GFP_DIRECT_RECLAIM)) this.pages.wakeupKcompactd?.(nid, order, hz);
      return;
    }
    if (this.events.enabled.mm_vmscan_wakeup_kswapd) this.events.emit('mm_vmscan_wakeup_kswapd', { nid, zid: hz, order, gfp_flags: gfp });
    this.kswapd(nid);
  }

  /** kswapd(): balance the node for what was requested, then try to sleep (waking kcompactd); again if woken meanwhile. */
  kswapd(nid: number): void {
    const pg = this.pgdat[nid]!;
    pg.kswapdRunning = true;
    this.tasks.memalloc++;
    try {
      for (let round = 0; round < MAX_RECLAIM_RETRIES && pg.kswapdHighestZoneidx !== -1; round++) {
        const allocOrder = pg.kswapdOrder;
        const hz = pg.kswapdHighestZoneidx;
        pg.kswapdOrder = 0;
        pg.kswapdHighestZoneidx = -1;
        if (this.events.enabled.mm_vmscan_kswapd_wake) this.events.emit('mm_vmscan_kswapd_wake', { nid, zid: hz, order: allocOrder });
        const reclaimOrder = this.balancePgdat(nid, allocOrder, hz);
        // kswapd_try_to_sleep() → prepare_kswapd_sleep()
        if (pg.kswapdFailures >= MAX_RECLAIM_RETRIES || this.pgdatBalanced(nid, reclaimOrder, hz)) {
          this.pages.kswapdSleep?.(nid); // reset_isolation_suitable()
          this.pages.wakeupKcompactd?.(nid, allocOrder, hz);
          if (this.events.enabled.mm_vmscan_kswapd_sleep) this.events.emit('mm_vmscan_kswapd_sleep', { nid });
        } else if (pg.kswapdHighestZoneidx === -1) {
          // not balanced: kswapd goes round again at once
          pg.kswapdOrder = reclaimOrder;
          pg.kswapdHighestZoneidx = hz;
        }
      }
    } finally {
      this.tasks.memalloc--;
      pg.kswapdRunning = false;
    }
  }

  /**
   * balance_pgdat(): reclaim from DEF_PRIORITY down until a zone up to `hz`
   * meets its high watermark; a boosted watermark is reclaimed for first
   * (without writeback or swap). Each round asks for
   * Σ max(high, SWAP_CLUSTER_MAX) pages at one priority. Clears the boosts it
   * found and wakes kcompactd for a pageblock. Counts pageoutrun. Returns
   * the order balanced for.
   */
  balancePgdat(nid: number, order: number, hz: number): number {
    const pg = this.pgdat[nid]!;
    const pa = this.pages;
    const zones = this.node(nid).zones.filter((z) => z.idx <= hz && z.managedPages);
    countVmEvents(this.vmstat, 'pageoutrun');
    const zoneBoosts = zones.map((z) => this.boost(z));
    let nrBoostReclaim = zoneBoosts.reduce((s, b) => s + b, 0);
    const boosted = nrBoostReclaim > 0;
    let total = 0;
    let scOrder = order;
    restart: for (;;) {
      for (const z of zones) pa.setReclaimActive?.(z, true); // set_reclaim_active()
      let prio = DEF_PRIORITY;
      do {
        const balanced = this.pgdatBalanced(nid, scOrder, hz);
        if (!balanced && nrBoostReclaim) {
          nrBoostReclaim = 0;
          continue restart;
        }
        if (!nrBoostReclaim && balanced) break restart;
        let raise = !(nrBoostReclaim && prio === DEF_PRIORITY - 2);
        let mayWriteback = !nrBoostReclaim;
        if (prio < DEF_PRIORITY - 2) mayWriteback = true;
        // kswapd_shrink_node()
        let nrToReclaim = 0;
        for (const z of zones) nrToReclaim += Math.max(z.watermark[WMARK_HIGH]! + this.boost(z), SWAP_CLUSTER_MAX);
        const sc = scanControl({ nrToReclaim, gfpMask: GFP_KERNEL, order: scOrder, priority: prio, nid, reclaimIdx: hz, mayUnmap: true, maySwap: !nrBoostReclaim, mayWriteback, kswapd: true });
        const freed = this.shrinkNode(sc, prio);
        if (freed > 0) pg.kswapdFailures = 0;
        if (scOrder && freed >= 2 << scOrder) scOrder = 0;
        if (Math.max(sc.nrScanned, freed) >= nrToReclaim) raise = false;
        total += freed;
        nrBoostReclaim -= Math.min(nrBoostReclaim, freed);
        if (nrBoostReclaim && !freed) break;
        if (raise || !freed) prio--;
      } while (prio >= 1);
      if (!total) pg.kswapdFailures++;
      break;
    }
    for (const z of zones) pa.setReclaimActive?.(z, false); // clear_reclaim_active()
    if (boosted) {
      zones.forEach((z, i) => pa.clearWatermarkBoost?.(z, zoneBoosts[i]!));
      pa.wakeupKcompactd?.(nid, PAGEBLOCK_ORDER, hz);
    }
    return scOrder;
  }

  /**
   * try_to_free_pages() → do_try_to_free_pages(): SWAP_CLUSTER_MAX pages
   * from the request's nodes, priority by priority; a costly request stops
   * at once when a zone is ready for compaction (returning 1, as
   * compaction_ready does). Counts allocstall_<zone> and traces
   * mm_vmscan_direct_reclaim_begin/end. Runs PF_MEMALLOC. Returns the pages
   * freed.
   */
  tryToFreePages(req: ReclaimRequest): number {
    const { gfp, order, highestZoneidx: hz, nodes } = req;
    const ev = this.events;
    if (ev.enabled.mm_vmscan_direct_reclaim_begin) ev.emit('mm_vmscan_direct_reclaim_begin', { order, gfp_flags: gfp });
    countVmEvents(this.vmstat, zoneEventName('allocstall', this.topology.zoneTypes[hz]!));
    this.tasks.memalloc++;
    let total = 0;
    try {
      const ready = this.pages.compactionReady;
      if (order > PAGE_ALLOC_COSTLY_ORDER && ready) {
        // shrink_zones(): enough free memory that compaction, not reclaim, will help
        if (nodes.some((nid) => this.node(nid).zones.some((z) => z.idx <= hz && z.populated && ready.call(this.pages, z, order, hz)))) return 1;
      }
      for (let prio = DEF_PRIORITY; prio >= 0 && total < SWAP_CLUSTER_MAX; prio--) {
        for (const nid of nodes) {
          const sc = scanControl({ nrToReclaim: SWAP_CLUSTER_MAX - total, gfpMask: gfp, order, priority: prio, nid, reclaimIdx: hz });
          const freed = this.shrinkNode(sc, prio);
          if (freed > 0) this.pgdat[nid]!.kswapdFailures = 0;
          total += freed;
          if (total >= SWAP_CLUSTER_MAX) break;
        }
      }
    } finally {
      this.tasks.memalloc--;
      if (ev.enabled.mm_vmscan_direct_reclaim_end) ev.emit('mm_vmscan_direct_reclaim_end', { nr_reclaimed: total });
    }
    return total;
  }

  /**
   * node_reclaim(): with vm.zone_reclaim_mode set, reclaim on the allocating
   * node before falling back to another: 1 = clean page cache only, 2 = may
   * write dirty pages, 4 = may unmap and swap. Skipped (NOSCAN) for
   * non-blocking requests, from inside reclaim (PF_MEMALLOC), for another
   * node that has CPUs, or while the node is already reclaiming; FULL when
   * the node holds no more reclaimable page cache than vm.min_unmapped_ratio
   * and slab than vm.min_slab_ratio allow. Counts zone_reclaim_success /
   * zone_reclaim_failed.
   */
  nodeReclaim(nid: number, gfp: number, order: number, hz: number, localNid: number): number {
    const mode = this.sysctl.get('vm.zone_reclaim_mode');
    const topology = this.topology;
    const node = this.node(nid);
    const managed = node.zones.reduce((s, z) => s + (z.populated ? z.managedPages : 0), 0);
    const lru = this.policy().lruSizes(nid);
    const vm = this.vmstat.node;
    let pagecache = lru[LruList.INACTIVE_FILE]! + lru[LruList.ACTIVE_FILE]!;
    if (!(mode & RECLAIM_UNMAP)) pagecache = Math.max(0, pagecache - (topology.nodes.length === 1 ? vm.nr_mapped ?? 0 : 0));
    if (!(mode & RECLAIM_WRITE)) pagecache = Math.max(0, pagecache - (topology.nodes.length === 1 ? vm.nr_dirty ?? 0 : 0));
    const minUnmapped = Math.floor((managed * this.sysctl.get('vm.min_unmapped_ratio')) / 100);
    const minSlab = Math.floor((managed * this.sysctl.get('vm.min_slab_ratio')) / 100);
    const slabReclaimable = nid === topology.nodes[0]!.nid ? this.slab().stats().reclaimablePages : 0;
    if (pagecache <= minUnmapped && slabReclaimable <= minSlab) return NODE_RECLAIM_FULL;
    if (!(gfp & __GFP_DIRECT_RECLAIM) || this.tasks.memalloc > 0) return NODE_RECLAIM_NOSCAN;
    if (node.cpus.length > 0 && nid !== localNid) return NODE_RECLAIM_NOSCAN;
    const pg = this.pgdat[nid]!;
    if (pg.reclaimLocked) return NODE_RECLAIM_NOSCAN;
    pg.reclaimLocked = true;
    this.tasks.memalloc++;
    const nrPages = 1 << order;
    let reclaimed = 0;
    try {
      for (let prio = NODE_RECLAIM_PRIORITY; prio >= 0 && reclaimed < nrPages; prio--) {
        const sc = scanControl({
          nrToReclaim: Math.max(nrPages, SWAP_CLUSTER_MAX), gfpMask: gfp, order, priority: prio, nid,
          reclaimIdx: hz, mayWriteback: (mode & (RECLAIM_WRITE | RECLAIM_UNMAP)) !== 0,
          mayUnmap: (mode & RECLAIM_UNMAP) !== 0, maySwap: (mode & RECLAIM_UNMAP) !== 0,
        });
        reclaimed += this.shrinkNode(sc, prio);
      }
    } finally {
      this.tasks.memalloc--;
      pg.reclaimLocked = false;
    }
    const ok = reclaimed >= nrPages;
    countVmEvents(this.vmstat, ok ? 'zone_reclaim_success' : 'zone_reclaim_failed');
    return ok ? NODE_RECLAIM_SUCCESS : NODE_RECLAIM_SOME;
  }
}
