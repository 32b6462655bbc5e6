/**
 * The two-list LRU (mm/vmscan.c, mm/swap.c, include/linux/mm_inline.h):
 * one lruvec per node with inactive/active × anon/file lists plus the
 * unevictable list, linked through the page-frame table's lruNext/lruPrev
 * (the struct page's `lru` list_head). Heads are the most recently added
 * pages, tails the oldest: reclaim scans from the tail.
 *
 * What follows the kernel, and what the simulator substitutes:
 * - folio_add_lru / lru_add, folio_mark_accessed, folio_activate and
 *   __page_cache_release as in Linux 6.12 (PG_lru, PG_active, PG_referenced,
 *   PG_swapbacked, PG_unevictable; a PG_mlocked page is culled to the
 *   unevictable list as folio_evictable() says).
 * - shrink(): prepare_scan_control → get_scan_count → shrink_lruvec's
 *   SWAP_CLUSTER_MAX batches → shrink_active_list / shrink_inactive_list →
 *   isolate_lru_folios, with the anon/file cost balance (lru_note_cost)
 *   kept per lruvec. Workingset refaults and memcg are not modelled.
 * - shrink_folio_list is split: the policy's part is folio_evictable() (an
 *   mlocked page goes to the unevictable list) and folio_check_references();
 *   the rest of each isolated batch — mapped, writeback and dirty pages,
 *   swap slots, eviction through the owner, pgsteal — is the reclaim
 *   engine's (the FolioReclaimer shrink() is given), which says per page
 *   whether it was freed, is kept or is to be activated. The policy puts the
 *   survivors back in isolation order (move_folios_to_lru) and charges the
 *   batch to lru_note_cost() with the engine's nr_pageout.
 * - No page tables are simulated, so folio_referenced() has no PTE young bits
 *   to find: PG_referenced (set by pageAccessed) stands for the reference.
 *   A referenced page at the tail of an inactive list gets its second chance
 *   (FOLIOREF_ACTIVATE) and the mark is consumed; an unreferenced one goes
 *   on to the engine. shrink_active_list deactivates every
 *   scanned page (Linux only rotates referenced VM_EXEC file folios), keeping
 *   PG_referenced so a recently used page is recovered on its next access.
 * - shrink() hands the engine no more pages than sc.nrToReclaim less those
 *   already freed and stops once that many are freed (the ReclaimPolicy
 *   contract), so it never overshoots as direct reclaim at DEF_PRIORITY can
 *   in Linux.
 * - Every entry is one page (folio_nr_pages() == 1).
 * @module
 */
import {
  EVENTS, type EventBus, FolioOutcome, type FolioReclaimer, LruList, MEMORY_MODEL, type MemoryModel, MmsimError, NO_PAGE,
  NR_LRU_LISTS, PG_active, PG_anon, PG_buddy, PG_lru, PG_mlocked, PG_private, PG_referenced, PG_reclaim,
  PG_slab, PG_swapbacked, PG_unevictable, PG_workingset, type PageFrameTable, type ReclaimPolicy,
  type ScanControl, SWAP, type SwapSpace, SYSCTL, type Sysctl, TOPOLOGY, type Topology, VMSTAT, type VmStat, WMARK_HIGH,
  inject, injectable,
} from '@mmsim/core';

/** SWAP_CLUSTER_MAX: pages per isolation batch. */
export const SWAP_CLUSTER_MAX = 32;
/** MAX_SWAPPINESS (vm.swappiness range is 0..200 since 5.8). */
export const MAX_SWAPPINESS = 200;
/** sc->may_deactivate bits. */
export const DEACTIVATE_ANON = 1;
export const DEACTIVATE_FILE = 2;

/** enum scan_balance */
export enum ScanBalance {
  EQUAL = 0,
  FRACT = 1,
  ANON = 2,
  FILE = 3,
}

/** The evictable lists, in for_each_evictable_lru order. */
const EVICTABLE: readonly LruList[] = [LruList.INACTIVE_ANON, LruList.ACTIVE_ANON, LruList.INACTIVE_FILE, LruList.ACTIVE_FILE];

/** trace_pagemap_flags() bits (include/trace/events/pagemap.h). */
export const PAGEMAP_MAPPED = 0x1;
export const PAGEMAP_ANONYMOUS = 0x2;
export const PAGEMAP_FILE = 0x4;
export const PAGEMAP_SWAPCACHE = 0x8;
export const PAGEMAP_SWAPBACKED = 0x10;
export const PAGEMAP_MAPPEDDISK = 0x20;
export const PAGEMAP_BUFFERS = 0x40;

/** folio_lru_list(): the list a page with these flags belongs on. */
export function folioLruList(flags: number): LruList {
  if (flags & PG_unevictable) return LruList.UNEVICTABLE;
  const base = flags & PG_swapbacked ? LruList.INACTIVE_ANON : LruList.INACTIVE_FILE;
  return flags & PG_active ? base + 1 : base;
}

/** is_file_lru() */
export function isFileLru(lru: LruList): boolean {
  return lru === LruList.INACTIVE_FILE || lru === LruList.ACTIVE_FILE;
}

/** is_active_lru() */
export function isActiveLru(lru: LruList): boolean {
  return lru === LruList.ACTIVE_ANON || lru === LruList.ACTIVE_FILE;
}

/** int_sqrt() */
function intSqrt(x: number): number {
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/** struct lruvec of one node. */
export class LruVec {
  /** Most recently added page of each list (list_head.next), or NO_PAGE. */
  readonly head = new Int32Array(NR_LRU_LISTS).fill(NO_PAGE);
  /** Oldest page of each list (list_head.prev), or NO_PAGE. */
  readonly tail = new Int32Array(NR_LRU_LISTS).fill(NO_PAGE);
  /** NR_LRU_BASE + lru node page state. */
  readonly size = new Float64Array(NR_LRU_LISTS);
  /** lru_zone_size[zid][lru], index zid * NR_LRU_LISTS + lru. */
  readonly zoneSize: Float64Array;
  /** lruvec->anon_cost / file_cost (lru_note_cost). */
  anonCost = 0;
  fileCost = 0;
  constructor(readonly nid: number, readonly nrZones: number) {
    this.zoneSize = new Float64Array(nrZones * NR_LRU_LISTS);
  }
  /** lruvec_lru_size(): pages on `lru` in zones 0..zoneIdx. */
  lruSize(lru: LruList, zoneIdx: number): number {
    let n = 0;
    for (let z = 0; z <= zoneIdx && z < this.nrZones; z++) n += this.zoneSize[z * NR_LRU_LISTS + lru]!;
    return n;
  }
}

/** Pages taken off a list by isolate_lru_folios(). */
export interface Isolated {
  /** Slots, in the order they were taken (oldest first). */
  taken: number[];
  /** Pages looked at, skipped ones included (nr_scanned). */
  scanned: number;
}

/** What prepare_scan_control() decides for one pass (the scan_control fields the policy keeps to itself). */
export interface ScanState {
  /** sc->may_deactivate: DEACTIVATE_ANON / DEACTIVATE_FILE when that inactive list is low. */
  mayDeactivate: number;
  /** sc->cache_trim_mode: plenty of inactive file pages, reclaim those only. */
  cacheTrimMode: boolean;
  /** sc->file_is_tiny: file LRU + free pages under the high watermarks, force anon. */
  fileIsTiny: boolean;
}

/** The two-list LRU reclaim policy. */
@injectable()
export class LruReclaim implements ReclaimPolicy {
  readonly name = 'lru';
  private readonly vecs: LruVec[];

  constructor(
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(SYSCTL) private readonly sysctl: Sysctl,
    @inject(EVENTS) private readonly events: EventBus,
    @inject(VMSTAT) private readonly vmstat: VmStat,
    @inject(SWAP) private readonly swap: SwapSpace,
  ) {
    const nrZones = topology.zoneTypes.length;
    this.vecs = [];
    for (const n of topology.nodes) this.vecs[n.nid] = new LruVec(n.nid, nrZones);
  }

  // ---- helpers ----------------------------------------------------------

  /** The page table (read each time: memory hotplug may grow its arrays). */
  private get t(): PageFrameTable {
    return this.memory.pages;
  }

  private count(name: string, n: number): void {
    if (n) this.vmstat.events[name] = (this.vmstat.events[name] ?? 0) + n;
  }

  /** The lruvec of node `nid` (mem_cgroup_lruvec(NULL, NODE_DATA(nid))). */
  lruvec(nid: number): LruVec {
    const v = this.vecs[nid];
    if (!v) throw new MmsimError('EINVAL', `node ${nid} does not exist`, { plugin: this.name, details: { nid } });
    return v;
  }

  /** The struct page slot of an allocated, valid pfn, or EBAD_PFN naming `op`. */
  private slot(pfn: number, op: string): number {
    if (!Number.isInteger(pfn) || !this.memory.pfnValid(pfn)) {
      throw new MmsimError('EBAD_PFN', `${op}: pfn ${pfn} is not a valid pfn of this machine`, { plugin: this.name, details: { pfn } });
    }
    return this.memory.pfnToPage(pfn);
  }

  /** Like slot(), and the page must be allocated (a reference held, not a buddy or slab page). */
  private userSlot(pfn: number, op: string): number {
    const page = this.slot(pfn, op);
    const t = this.t;
    if (t.refcount[page]! <= 0 || t.flags[page]! & (PG_buddy | PG_slab)) {
      throw new MmsimError('EBAD_PFN', `${op}: pfn ${pfn} is not an allocated page (free, or owned by the buddy or slab allocator)`, { plugin: this.name, details: { pfn } });
    }
    return page;
  }

  /** Zone index and node of a pfn (folio_zonenum, folio_nid). */
  private zoneOf(pfn: number): { nid: number; idx: number } {
    const z = this.topology.pfnZone(pfn);
    if (!z) throw new MmsimError('EBAD_PFN', `pfn ${pfn} lies in no zone`, { plugin: this.name, details: { pfn } });
    return z;
  }

  /** list_add(): puts `page` at the head of `lru` and accounts it (update_lru_size). */
  private listAdd(vec: LruVec, lru: LruList, page: number, zid: number): void {
    const t = this.t;
    const head = vec.head[lru]!;
    t.lruNext[page] = head;
    t.lruPrev[page] = NO_PAGE;
    if (head !== NO_PAGE) t.lruPrev[head] = page;
    else vec.tail[lru] = page;
    vec.head[lru] = page;
    vec.size[lru]!++;
    vec.zoneSize[zid * NR_LRU_LISTS + lru]!++;
  }

  /** list_del(): unlinks `page` from `lru` and accounts it. */
  private listDel(vec: LruVec, lru: LruList, page: number, zid: number): void {
    const t = this.t;
    const next = t.lruNext[page]!;
    const prev = t.lruPrev[page]!;
    if (prev !== NO_PAGE) t.lruNext[prev] = next;
    else vec.head[lru] = next;
    if (next !== NO_PAGE) t.lruPrev[next] = prev;
    else vec.tail[lru] = prev;
    t.lruNext[page] = NO_PAGE;
    t.lruPrev[page] = NO_PAGE;
    vec.size[lru]!--;
    vec.zoneSize[zid * NR_LRU_LISTS + lru]!--;
  }

  /** trace_pagemap_flags() */
  private pagemapFlags(page: number): number {
    const t = this.t;
    const f = t.flags[page]!;
    return (f & (PG_anon | PG_swapbacked) ? PAGEMAP_ANONYMOUS : PAGEMAP_FILE) |
      (t.mapcount[page]! > 0 ? PAGEMAP_MAPPED : 0) |
      (f & PG_swapbacked ? PAGEMAP_SWAPBACKED : 0) |
      (f & PG_private ? PAGEMAP_BUFFERS : 0);
  }

  /**
   * lru_add(): culls an unevictable (mlocked) page to LRU_UNEVICTABLE, sets
   * PG_lru and adds the page at the head of the list its flags name.
   */
  private lruAdd(page: number, pfn: number, trace: boolean): void {
    const t = this.t;
    let f = t.flags[page]!;
    const wasUnevictable = f & PG_unevictable;
    f &= ~PG_unevictable;
    if (f & PG_mlocked) {
      // folio_evictable() is false
      f = (f & ~PG_active) | PG_unevictable;
      if (!wasUnevictable) this.count('unevictable_pgs_culled', 1);
    } else if (wasUnevictable) {
      this.count('unevictable_pgs_rescued', 1);
    }
    f |= PG_lru;
    t.flags[page] = f;
    const z = this.zoneOf(pfn);
    const lru = folioLruList(f);
    this.listAdd(this.vecs[z.nid]!, lru, page, z.idx);
    if (trace && this.events.enabled.mm_lru_insertion) {
      this.events.emit('mm_lru_insertion', { pfn, lru, flags: this.pagemapFlags(page) });
    }
  }

  // ---- ReclaimPolicy ----------------------------------------------------

  /**
   * folio_add_lru(): anon pages are swap backed (PG_swapbacked), file pages
   * not; the page goes to the head of the inactive list (of the active list
   * when the caller marked it PG_active, as a workingset refault does; of the
   * unevictable list when PG_mlocked). EBAD_PFN when it is already on an LRU.
   */
  pageAdded(pfn: number, anon: boolean): void {
    const page = this.userSlot(pfn, 'pageAdded');
    const t = this.t;
    if (t.flags[page]! & PG_lru) {
      throw new MmsimError('EBAD_PFN', `pageAdded: pfn ${pfn} is already on an LRU list`, { plugin: this.name, details: { pfn } });
    }
    this.zoneOf(pfn);
    if (anon) t.flags[page]! |= PG_swapbacked;
    else t.flags[page]! &= ~PG_swapbacked;
    this.lruAdd(page, pfn, true);
  }

  /**
   * folio_mark_accessed(): inactive,unreferenced → inactive,referenced;
   * inactive,referenced → active,unreferenced (folio_activate);
   * active,unreferenced → active,referenced. A page off the LRU (isolated)
   * is in no per-CPU batch here, so its second access only clears the mark.
   */
  pageAccessed(pfn: number): void {
    const page = this.userSlot(pfn, 'pageAccessed');
    const t = this.t;
    const f = t.flags[page]!;
    if (!(f & PG_referenced)) {
      t.flags[page] = f | PG_referenced;
    } else if (f & PG_unevictable) {
      // the unevictable list is never rotated: no effect
    } else if (!(f & PG_active)) {
      if (f & PG_lru) this.activate(page, pfn);
      t.flags[page]! &= ~PG_referenced;
    }
  }

  /** folio_activate() → lru_activate(): moves an inactive page to the head of its active list. */
  private activate(page: number, pfn: number): void {
    const t = this.t;
    const f = t.flags[page]!;
    if (!(f & PG_lru) || f & (PG_active | PG_unevictable)) return;
    const z = this.zoneOf(pfn);
    const vec = this.vecs[z.nid]!;
    this.listDel(vec, folioLruList(f), page, z.idx);
    t.flags[page] = f | PG_active;
    this.listAdd(vec, folioLruList(f | PG_active), page, z.idx);
    this.count('pgactivate', 1);
    if (this.events.enabled.mm_lru_activate) this.events.emit('mm_lru_activate', { pfn });
  }

  /**
   * __page_cache_release(): takes the page off its list and clears the LRU
   * flags (__folio_clear_lru_flags: PG_lru, PG_active, PG_unevictable), and the
   * reclaim marks the freeing path drops (PG_referenced, PG_workingset,
   * PG_reclaim). EBAD_PFN, state unchanged, when the page is on no LRU list.
   */
  pageRemoved(pfn: number): void {
    const page = this.slot(pfn, 'pageRemoved');
    const t = this.t;
    const f = t.flags[page]!;
    if (!(f & PG_lru)) {
      throw new MmsimError('EBAD_PFN', `pageRemoved: pfn ${pfn} is not on an LRU list`, { plugin: this.name, details: { pfn } });
    }
    const z = this.zoneOf(pfn);
    this.listDel(this.vecs[z.nid]!, folioLruList(f), page, z.idx);
    t.flags[page] = f & ~(PG_lru | PG_active | PG_unevictable | PG_referenced | PG_workingset | PG_reclaim);
  }

  /** Page migration: `newPfn` takes `oldPfn`'s exact place on its list (node and zone counts follow). */
  replacePage(oldPfn: number, newPfn: number): void {
    const oldPage = this.slot(oldPfn, 'replacePage');
    const newPage = this.slot(newPfn, 'replacePage');
    const t = this.t;
    const f = t.flags[oldPage]!;
    if (!(f & PG_lru)) {
      throw new MmsimError('EBAD_PFN', `replacePage: pfn ${oldPfn} is not on an LRU list`, { plugin: this.name, details: { pfn: oldPfn } });
    }
    const zo = this.zoneOf(oldPfn);
    const zn = this.zoneOf(newPfn);
    const lru = folioLruList(f);
    const vo = this.vecs[zo.nid]!;
    const vn = this.vecs[zn.nid]!;
    if (vo !== vn) {
      // another node: the page goes to the head of the same list there
      this.listDel(vo, lru, oldPage, zo.idx);
      this.listAdd(vn, lru, newPage, zn.idx);
      return;
    }
    const next = t.lruNext[oldPage]!;
    const prev = t.lruPrev[oldPage]!;
    t.lruNext[newPage] = next;
    t.lruPrev[newPage] = prev;
    if (prev !== NO_PAGE) t.lruNext[prev] = newPage;
    else vo.head[lru] = newPage;
    if (next !== NO_PAGE) t.lruPrev[next] = newPage;
    else vo.tail[lru] = newPage;
    t.lruNext[oldPage] = NO_PAGE;
    t.lruPrev[oldPage] = NO_PAGE;
    vo.zoneSize[zo.idx * NR_LRU_LISTS + lru]!--;
    vo.zoneSize[zn.idx * NR_LRU_LISTS + lru]!++;
  }

  /** Pages on each list of node `nid`, indexed by LruList. */
  lruSizes(nid: number): number[] {
    return Array.from(this.lruvec(nid).size);
  }

  /** Pages on each list of node `nid` in zone index `zid` (lru_zone_size). */
  zoneLruSizes(nid: number, zid: number): number[] {
    const v = this.lruvec(nid);
    return Array.from(v.zoneSize.subarray(zid * NR_LRU_LISTS, (zid + 1) * NR_LRU_LISTS));
  }

  // ---- reclaim ----------------------------------------------------------

  /** inactive_is_low(): inactive * int_sqrt(10 * GB of the pair) < active. */
  inactiveIsLow(vec: LruVec, inactiveLru: LruList): boolean {
    const inactive = vec.size[inactiveLru]!;
    const active = vec.size[inactiveLru + 1]!;
    const gb = Math.floor((inactive + active) / 2 ** 18); // >> (30 - PAGE_SHIFT)
    const ratio = gb ? intSqrt(10 * gb) : 1;
    return inactive * ratio < active;
  }

  /** can_reclaim_anon_pages() for global reclaim: is there a free swap slot? */
  private canReclaimAnon(): boolean {
    return this.swap.free > 0;
  }

  /** prepare_scan_control() */
  private prepare(vec: LruVec, sc: ScanControl): ScanState {
    let mayDeactivate = 0;
    if (this.inactiveIsLow(vec, LruList.INACTIVE_ANON)) mayDeactivate |= DEACTIVATE_ANON;
    if (this.inactiveIsLow(vec, LruList.INACTIVE_FILE)) mayDeactivate |= DEACTIVATE_FILE;
    const inactiveFile = vec.size[LruList.INACTIVE_FILE]!;
    const cacheTrimMode = Math.floor(inactiveFile / 2 ** sc.priority) > 0 && !(mayDeactivate & DEACTIVATE_FILE);
    // the cache trap: a tiny file LRU must not soak up all the pressure
    let free = 0;
    let highWmark = 0;
    for (const z of this.topology.nodes.find((n) => n.nid === vec.nid)?.zones ?? []) {
      free += z.stats.nrFreePages;
      if (z.managedPages > 0) highWmark += z.watermark[WMARK_HIGH]!;
    }
    const file = vec.size[LruList.ACTIVE_FILE]! + vec.size[LruList.INACTIVE_FILE]!;
    const anon = vec.size[LruList.INACTIVE_ANON]!;
    const fileIsTiny = file + free <= highWmark && !(mayDeactivate & DEACTIVATE_ANON) && Math.floor(anon / 2 ** sc.priority) > 0;
    return { mayDeactivate, cacheTrimMode, fileIsTiny };
  }

  /** The scan balance get_scan_count() picks. */
  scanBalance(vec: LruVec, sc: ScanControl, s: Pick<ScanState, 'cacheTrimMode' | 'fileIsTiny'>): ScanBalance {
    const swappiness = this.sysctl.get('vm.swappiness');
    if (!sc.maySwap || !this.canReclaimAnon()) return ScanBalance.FILE;
    if (sc.priority === 0 && swappiness) return ScanBalance.EQUAL;
    if (s.fileIsTiny) return ScanBalance.ANON;
    if (s.cacheTrimMode) return ScanBalance.FILE;
    return ScanBalance.FRACT;
  }

  /**
   * get_scan_count(): pages to scan on each evictable list (index LruList),
   * list size (zones up to reclaimIdx) >> priority, split between anon and
   * file by swappiness and the lists' recent reclaim cost.
   */
  getScanCount(vec: LruVec, sc: ScanControl, s: Pick<ScanState, 'cacheTrimMode' | 'fileIsTiny'> = this.prepare(vec, sc)): number[] {
    const balance = this.scanBalance(vec, sc, s);
    const fraction: [bigint, bigint] = [0n, 0n];
    let denominator = 1n;
    if (balance === ScanBalance.FRACT) {
      const swappiness = BigInt(this.sysctl.get('vm.swappiness'));
      let totalCost = BigInt(vec.anonCost + vec.fileCost);
      const anonCost = totalCost + BigInt(vec.anonCost);
      const fileCost = totalCost + BigInt(vec.fileCost);
      totalCost = anonCost + fileCost;
      const ap = (swappiness * (totalCost + 1n)) / (anonCost + 1n);
      const fp = ((BigInt(MAX_SWAPPINESS) - swappiness) * (totalCost + 1n)) / (fileCost + 1n);
      fraction[0] = ap;
      fraction[1] = fp;
      denominator = ap + fp;
    }
    const nr = [0, 0, 0, 0, 0];
    for (const lru of EVICTABLE) {
      const file = isFileLru(lru);
      let scan = Math.floor(vec.lruSize(lru, sc.reclaimIdx) / 2 ** sc.priority);
      switch (balance) {
        case ScanBalance.EQUAL:
          break;
        case ScanBalance.FRACT:
          scan = Number((BigInt(scan) * fraction[file ? 1 : 0]) / denominator);
          break;
        case ScanBalance.FILE:
        case ScanBalance.ANON:
          if ((balance === ScanBalance.FILE) !== file) scan = 0;
          break;
      }
      nr[lru] = scan;
    }
    return nr;
  }

  /**
   * shrink_lruvec(): scans node sc.nid's lists in SWAP_CLUSTER_MAX batches
   * until the scan targets are used up or sc.nrToReclaim pages were freed;
   * each inactive batch goes, oldest first and off the lists, to the
   * engine's shrinkFolioList(). Then ages the anon lists when the inactive
   * anon list is low. Returns the pages freed.
   */
  shrink(sc: ScanControl, reclaimer: FolioReclaimer): number {
    const vec = this.lruvec(sc.nid);
    if (!Number.isInteger(sc.priority) || sc.priority < 0) {
      throw new MmsimError('EBAD_SIZE', `shrink: priority must be an integer from DEF_PRIORITY (12) down to 0, got ${sc.priority}`, { plugin: this.name, details: { priority: sc.priority } });
    }
    const s = this.prepare(vec, sc);
    const nr = this.getScanCount(vec, sc, s);
    let reclaimed = 0;
    outer: while (nr[LruList.INACTIVE_ANON] || nr[LruList.ACTIVE_FILE] || nr[LruList.INACTIVE_FILE]) {
      for (const lru of EVICTABLE) {
        if (!nr[lru]) continue;
        let n = Math.min(nr[lru]!, SWAP_CLUSTER_MAX);
        if (isActiveLru(lru)) {
          nr[lru]! -= n;
          // shrink_list(): deactivate only when the inactive list is low
          if (s.mayDeactivate & (isFileLru(lru) ? DEACTIVATE_FILE : DEACTIVATE_ANON)) this.shrinkActiveList(n, vec, sc, lru);
          continue;
        }
        const room = sc.nrToReclaim - reclaimed;
        if (room <= 0) break outer;
        n = Math.min(n, room);
        nr[lru]! -= n;
        reclaimed += this.shrinkInactiveList(n, vec, sc, lru, reclaimer);
      }
      if (reclaimed >= sc.nrToReclaim) break;
    }
    // even when anon was not scanned, keep its active/inactive balance (can_age_anon_pages)
    if (this.swap.total > 0 && this.inactiveIsLow(vec, LruList.INACTIVE_ANON)) {
      this.shrinkActiveList(SWAP_CLUSTER_MAX, vec, sc, LruList.ACTIVE_ANON);
    }
    return reclaimed;
  }

  /**
   * isolate_lru_folios(): takes up to nrToScan pages from the tail of `lru`.
   * Pages of zones above sc.reclaimIdx are skipped (spliced back to the head,
   * not counted against nrToScan); mapped pages when !sc.mayUnmap rotate to
   * the head. Taken pages lose PG_lru.
   */
  private isolate(nrToScan: number, vec: LruVec, sc: ScanControl, lru: LruList): Isolated {
    const t = this.t;
    const taken: number[] = [];
    const skipped: { page: number; zid: number }[] = [];
    let scan = 0;
    let total = 0;
    while (scan < nrToScan && vec.tail[lru] !== NO_PAGE) {
      const page = vec.tail[lru]!;
      const pfn = this.memory.pageToPfn(page);
      const zid = this.zoneOf(pfn).idx;
      total++;
      this.listDel(vec, lru, page, zid);
      if (zid > sc.reclaimIdx) {
        skipped.push({ page, zid });
        continue;
      }
      scan++;
      if (!sc.mayUnmap && t.mapcount[page]! > 0) {
        this.listAdd(vec, lru, page, zid); // list_move to the head
        continue;
      }
      t.flags[page]! &= ~PG_lru;
      taken.push(page);
    }
    for (const { page, zid } of skipped) {
      this.listAdd(vec, lru, page, zid);
      this.count(`pgskip_${String(this.topology.zoneTypes[zid]).toLowerCase()}`, 1);
    }
    return { taken, scanned: total };
  }

  /** move_folios_to_lru(): isolated pages go back to the head of the list their flags name. */
  private moveToLru(pages: number[]): number {
    for (const page of pages) {
      const pfn = this.memory.pageToPfn(page);
      const f = this.t.flags[page]!;
      // an unevictable page takes folio_putback_lru() (traced); the rest lruvec_add_folio()
      this.lruAdd(page, pfn, !!(f & PG_mlocked));
    }
    return pages.length;
  }

  /** lru_note_cost(): reclaim cost (IO and rotations) of one list type, decayed against the LRU size. */
  private noteCost(vec: LruVec, file: boolean, nrIo: number, nrRotated: number): void {
    const cost = nrIo * SWAP_CLUSTER_MAX + nrRotated;
    if (file) vec.fileCost += cost;
    else vec.anonCost += cost;
    const lrusize = vec.size[LruList.INACTIVE_ANON]! + vec.size[LruList.ACTIVE_ANON]! + vec.size[LruList.INACTIVE_FILE]! + vec.size[LruList.ACTIVE_FILE]!;
    if (vec.fileCost + vec.anonCost > Math.floor(lrusize / 4)) {
      vec.fileCost = Math.floor(vec.fileCost / 2);
      vec.anonCost = Math.floor(vec.anonCost / 2);
    }
  }

  /**
   * shrink_active_list(): takes nrToScan pages from the tail of an active
   * list and moves them to the head of the inactive list (PG_active cleared,
   * PG_workingset set). Unevictable ones are culled.
   */
  private shrinkActiveList(nrToScan: number, vec: LruVec, sc: ScanControl, lru: LruList): void {
    const t = this.t;
    const file = isFileLru(lru);
    const { taken, scanned } = this.isolate(nrToScan, vec, sc, lru);
    this.count('pgrefill', scanned);
    const lInactive: number[] = [];
    for (const page of taken) {
      if (t.flags[page]! & PG_mlocked) {
        this.moveToLru([page]); // folio_putback_lru(): to the unevictable list
        continue;
      }
      // folio_referenced() finds no young PTEs and no VM_EXEC mapping to rotate for
      t.flags[page] = (t.flags[page]! & ~PG_active) | PG_workingset;
      lInactive.push(page);
    }
    // nothing rotates back to the active list (no VM_EXEC mappings), so no
    // lru_note_cost() for rotations either
    const nrDeactivate = this.moveToLru(lInactive);
    this.count('pgdeactivate', nrDeactivate);
    if (this.events.enabled.mm_vmscan_lru_shrink_active) {
      this.events.emit('mm_vmscan_lru_shrink_active', {
        nid: vec.nid, nr_taken: taken.length, nr_active: 0, nr_deactivated: nrDeactivate,
        nr_referenced: 0, priority: sc.priority, file,
      });
    }
  }

  /**
   * shrink_inactive_list(): isolates nrToScan pages from the tail of an
   * inactive list. The policy's part of shrink_folio_list() comes first: an
   * mlocked page goes back (to the unevictable list), a referenced one is
   * activated (FOLIOREF_ACTIVATE: its second chance, the mark consumed); the
   * engine decides the rest. The survivors go back in isolation order,
   * activated ones to the active list; lru_note_cost() is charged with the
   * engine's nr_pageout and the pages not freed. Returns the pages freed.
   */
  private shrinkInactiveList(nrToScan: number, vec: LruVec, sc: ScanControl, lru: LruList, reclaimer: FolioReclaimer): number {
    const t = this.t;
    const file = isFileLru(lru);
    const { taken, scanned } = this.isolate(nrToScan, vec, sc, lru);
    this.count(sc.kswapd ? 'pgscan_kswapd' : 'pgscan_direct', scanned);
    this.count(file ? 'pgscan_file' : 'pgscan_anon', scanned);
    if (taken.length === 0) return 0;

    const outcome: FolioOutcome[] = [];
    const nrActivate = [0, 0];
    const folios: number[] = [];
    const at: number[] = []; // index in `taken` of folios[j]
    taken.forEach((page, i) => {
      sc.nrScanned++;
      const f = t.flags[page]!;
      if (f & PG_mlocked) {
        outcome[i] = FolioOutcome.KEEP; // !folio_evictable(): culled to the unevictable list, not set active
      } else if (f & PG_referenced) {
        t.flags[page] = f & ~PG_referenced; // folio_check_references(): PG_referenced stands for the reference found
        outcome[i] = FolioOutcome.ACTIVATE;
        nrActivate[f & PG_swapbacked ? 0 : 1]!++;
      } else {
        at.push(i);
        folios.push(this.memory.pageToPfn(page));
      }
    });
    let reclaimed = 0;
    let nrPageout = 0;
    if (folios.length > 0) {
      const res = reclaimer.shrinkFolioList(folios, sc);
      if (res.outcome.length !== folios.length) {
        throw new MmsimError('EINVAL', `shrink_folio_list returned ${res.outcome.length} outcomes for ${folios.length} pages`, { plugin: this.name });
      }
      res.outcome.forEach((o, j) => (outcome[at[j]!] = o));
      reclaimed = res.nrReclaimed;
      nrPageout = res.stat.nrPageout;
      nrActivate[0]! += res.stat.nrActivate[0];
      nrActivate[1]! += res.stat.nrActivate[1];
    }
    const back: number[] = [];
    taken.forEach((page, i) => {
      if (outcome[i] === FolioOutcome.FREED) return;
      if (outcome[i] === FolioOutcome.ACTIVATE) t.flags[page]! |= PG_active;
      back.push(page);
    });
    this.moveToLru(back);
    this.count('pgactivate', nrActivate[0]! + nrActivate[1]!);
    this.noteCost(vec, file, nrPageout, scanned - reclaimed);
    if (this.events.enabled.mm_vmscan_lru_shrink_inactive) {
      this.events.emit('mm_vmscan_lru_shrink_inactive', {
        nid: vec.nid, nr_scanned: scanned, nr_reclaimed: reclaimed, nr_activate_anon: nrActivate[0]!,
        nr_activate_file: nrActivate[1]!, priority: sc.priority, file,
      });
    }
    return reclaimed;
  }

  // ---- CONFIG_DEBUG_VM ----------------------------------------------------

  /**
   * Invariants: every listed page has PG_lru and the flags of its list, lives
   * on the lruvec's node, links are consistent both ways, counts (per list
   * and per zone) match; every PG_lru page is on exactly one list.
   */
  check(): void {
    const t = this.t;
    const seen = new Uint8Array(t.size);
    const bad = (msg: string, details: Record<string, unknown> = {}): never => {
      throw new MmsimError('ECORRUPT', `lru: ${msg}`, { plugin: this.name, details });
    };
    for (const vec of this.vecs) {
      if (!vec) continue;
      for (let lru = 0; lru < NR_LRU_LISTS; lru++) {
        const where = `node ${vec.nid} ${['inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable'][lru]}`;
        const zoneCount = new Float64Array(vec.nrZones);
        let n = 0;
        let prev = NO_PAGE;
        for (let p = vec.head[lru]!; p !== NO_PAGE; p = t.lruNext[p]!) {
          if (p < 0 || p >= t.size) bad(`${where}: link to slot ${p} outside the page table`);
          if (seen[p]) bad(`${where}: slot ${p} listed twice (or the list loops)`, { slot: p });
          seen[p] = 1;
          const pfn = this.memory.pageToPfn(p);
          if (pfn < 0) bad(`${where}: slot ${p} is not a page in use`, { slot: p });
          if (t.lruPrev[p] !== prev) bad(`${where}: pfn ${pfn} has a broken prev link`, { pfn });
          const f = t.flags[p]!;
          if (!(f & PG_lru)) bad(`${where}: pfn ${pfn} is listed without PG_lru`, { pfn });
          if (folioLruList(f) !== lru) bad(`${where}: pfn ${pfn} has the flags of list ${folioLruList(f)}`, { pfn });
          const z = this.topology.pfnZone(pfn);
          if (!z || z.nid !== vec.nid) bad(`${where}: pfn ${pfn} belongs to node ${z?.nid}`, { pfn });
          zoneCount[z!.idx]!++;
          n++;
          prev = p;
        }
        if (vec.tail[lru] !== prev) bad(`${where}: tail is slot ${vec.tail[lru]}, the list ends at ${prev}`);
        if (n !== vec.size[lru]) bad(`${where}: ${n} pages listed, the counter says ${vec.size[lru]}`);
        for (let z = 0; z < vec.nrZones; z++) {
          if (zoneCount[z] !== vec.zoneSize[z * NR_LRU_LISTS + lru]) {
            bad(`${where}: zone ${z} holds ${zoneCount[z]} listed pages, lru_zone_size says ${vec.zoneSize[z * NR_LRU_LISTS + lru]}`);
          }
        }
      }
    }
    for (let p = 0; p < t.size; p++) {
      if (t.flags[p]! & PG_lru && !seen[p]) bad(`pfn ${this.memory.pageToPfn(p)} has PG_lru but is on no list`, { pfn: this.memory.pageToPfn(p) });
    }
  }
}
