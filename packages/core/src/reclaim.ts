/**
 * The RECLAIM_POLICY extension point: which pages to evict (the LRU lists of
 * mm/vmscan.c and mm/swap.c). The policy keeps its lists, ages them, picks
 * victims and balances anon against file; what happens to a victim —
 * writeback, dirty and mapped folios, swap slots, eviction through its owner,
 * pgsteal — is the reclaim engine's shrink_folio_list() (RECLAIM).
 * @module
 */

/** enum lru_list */
export enum LruList {
  INACTIVE_ANON = 0,
  ACTIVE_ANON = 1,
  INACTIVE_FILE = 2,
  ACTIVE_FILE = 3,
  UNEVICTABLE = 4,
}
export const NR_LRU_LISTS = 5;
/** Names as /proc/meminfo and vmstat use them. */
export const LRU_NAMES = ['inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable'] as const;

/** DEF_PRIORITY: scan 1/4096 of the lists first, doubling each round. */
export const DEF_PRIORITY = 12;

/** struct scan_control: the request one reclaim pass works on, with its out-fields. */
export interface ScanControl {
  /** Pages wanted. */
  nrToReclaim: number;
  gfpMask: number;
  order: number;
  /** DEF_PRIORITY down to 0; scan target is list size >> priority. */
  priority: number;
  /** Node to reclaim from. */
  nid: number;
  /** Highest zone index whose pages help (reclaim_idx). */
  reclaimIdx: number;
  mayUnmap: boolean;
  maySwap: boolean;
  mayWriteback: boolean;
  /** Reclaim runs in kswapd (counted as pgscan_kswapd / pgsteal_kswapd) rather than the allocating task. */
  kswapd?: boolean;
  /** Out (policy): pages looked at. */
  nrScanned: number;
  /** Out (engine): pages freed. */
  nrReclaimed: number;
}

/** Make a ScanControl with kernel defaults. */
export function scanControl(partial: Partial<ScanControl> & { nrToReclaim: number }): ScanControl {
  return { gfpMask: 0xcc0, order: 0, priority: DEF_PRIORITY, nid: 0, reclaimIdx: 4, mayUnmap: true, maySwap: true, mayWriteback: true, nrScanned: 0, nrReclaimed: 0, ...partial };
}

/** Where shrink_folio_list() leaves a folio (its labels). */
export enum FolioOutcome {
  /** free_it: the owner gave it up; no longer the policy's. */
  FREED = 0,
  /** keep: back where it came from (folio_putback_lru). */
  KEEP = 1,
  /** activate_locked: back, activated (writeback, dirty, no swap slot). */
  ACTIVATE = 2,
}

/**
 * What shrink_folio_list() did with a batch: pages freed, outcome[i] of
 * folios[i], and what the policy charges of struct reclaim_stat (nr_pageout:
 * the swap-outs, lru_note_cost's IO; nr_activate, [anon, file]).
 */
export interface FolioListResult {
  nrReclaimed: number;
  outcome: FolioOutcome[];
  stat: { nrPageout: number; nrActivate: [number, number] };
}

/** The engine's half of shrink_inactive_list(), handed to ReclaimPolicy.shrink(). */
export interface FolioReclaimer {
  /**
   * shrink_folio_list(): decides each isolated folio (PG_lru clear) in
   * order, evicts it through its owner, counts pgsteal_* and adds the freed
   * to sc.nrReclaimed. A folio not FREED is the policy's to put back.
   */
  shrinkFolioList(folios: readonly number[], sc: ScanControl): FolioListResult;
}

/**
 * A reclaim policy: keeps pages on its lists, ages them and picks victims.
 * Its own: the lists, activation and deactivation, isolation, the
 * reference check, the scan balance and lru_note_cost(), and pgscan_*,
 * pgactivate, pgdeactivate, pgrefill. The engine's: the rest of
 * shrink_folio_list() (see FolioReclaimer).
 */
export interface ReclaimPolicy {
  /** Plugin name. */
  readonly name: string;
  /** folio_add_lru(): a page becomes evictable (anon or file). */
  pageAdded(pfn: number, anon: boolean): void;
  /** folio_mark_accessed(): a reference to the page. */
  pageAccessed(pfn: number): void;
  /** Takes a page off the lists (before it is freed or migrated). */
  pageRemoved(pfn: number): void;
  /**
   * shrink_lruvec() of node sc.nid: ages the lists and hands each batch it
   * isolates to reclaimer.shrinkFolioList(), then puts back every folio not
   * FREED as its outcome says (move_folios_to_lru) and charges the batch
   * (lru_note_cost). Hands over no more than sc.nrToReclaim less the pages
   * already freed; adds to sc.nrScanned; returns the pages freed.
   */
  shrink(sc: ScanControl, reclaimer: FolioReclaimer): number;
  /** Migration of a PG_lru page: `newPfn` takes `oldPfn`'s place on its list (flags already copied; folio_migrate_flags). */
  replacePage(oldPfn: number, newPfn: number): void;
  /** Pages on each list of a node (index by LruList). */
  lruSizes(nid: number): number[];
  /** Pages on each list of a node that lie in zone index `zid` (lru_zone_size), for /proc/zoneinfo. */
  zoneLruSizes?(nid: number, zid: number): number[];
}
