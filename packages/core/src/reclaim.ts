/**
 * The RECLAIM_POLICY extension point: which pages to evict (the LRU lists of
 * mm/vmscan.c and mm/swap.c).
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

/**
 * struct scan_control: the request one reclaim pass works on. The policy
 * fills in the out-fields (nrScanned, nrReclaimed...).
 */
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
  /** Out: pages looked at. */
  nrScanned: number;
  /** Out: pages isolated for eviction. */
  nrReclaimed: number;
}

/** Make a ScanControl with kernel defaults. */
export function scanControl(partial: Partial<ScanControl> & { nrToReclaim: number }): ScanControl {
  return {
    gfpMask: 0xcc0,
    order: 0,
    priority: DEF_PRIORITY,
    nid: 0,
    reclaimIdx: 4,
    mayUnmap: true,
    maySwap: true,
    mayWriteback: true,
    nrScanned: 0,
    nrReclaimed: 0,
    ...partial,
  };
}

/** A reclaim policy: keeps pages on its lists and picks victims. */
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
   * shrink_node(): isolates up to sc.nrToReclaim eviction victims from node
   * sc.nid and returns their pfns, already off the lists. The caller frees
   * them (or hands them back with putback()).
   */
  shrink(sc: ScanControl): number[];
  /** putback_lru_page(): a victim that could not be evicted goes back. */
  putback(pfn: number): void;
  /**
   * folio_migrate_flags()/lru replacement: `newPfn` takes `oldPfn`'s place
   * on its list (same list, same position; the page flags were already
   * copied). Called by Kernel.migratePage for a page with PG_lru.
   */
  replacePage(oldPfn: number, newPfn: number): void;
  /** Pages on each list of a node (index by LruList). */
  lruSizes(nid: number): number[];
  /** Pages on each list of a node that lie in zone index `zid` (lru_zone_size), for /proc/zoneinfo. */
  zoneLruSizes?(nid: number, zid: number): number[];
}
