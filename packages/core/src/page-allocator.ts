/**
 * The PAGE_ALLOCATOR extension point: alloc_pages / free_pages over zones.
 * @module
 */
import type { Zone } from './topology.js';

/** MAX_PAGE_ORDER on x86_64 (6.12; MAX_ORDER - 1 in older kernels). */
export const MAX_PAGE_ORDER = 10;
/** NR_PAGE_ORDERS */
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;

/** Watermark indices (enum zone_watermarks). */
export const WMARK_MIN = 0;
export const WMARK_LOW = 1;
export const WMARK_HIGH = 2;
export const WMARK_PROMO = 3;

/** Where an allocation should come from. */
export interface AllocOptions {
  /** Preferred node (alloc_pages_node); default: the node of `cpu`. */
  nid?: number;
  /** Allocating CPU (selects the per-CPU lists); default 0. */
  cpu?: number;
}

/**
 * struct alloc_context: what one allocation is allowed to do, computed once
 * per call (prepare_alloc_pages) and passed down the fast and slow paths.
 */
export interface AllocContext {
  gfp: number;
  order: number;
  /** The zonelist to walk (ZONELIST_FALLBACK or NOFALLBACK of the preferred node). */
  zonelist: readonly Zone[];
  /** gfp_zone() as a zone index: zones above it are not eligible. */
  highestZoneIdx: number;
  migratetype: number;
  preferredNid: number;
  cpu: number;
}

/** A zoned page allocator. */
export interface PageAllocator {
  /** Plugin name. */
  readonly name: string;
  /** Highest order served (MAX_PAGE_ORDER). */
  readonly maxOrder: number;
  /** alloc_pages(): the first pfn of a 2^order block, or null when it cannot be satisfied. */
  allocPages(gfp: number, order: number, opts?: AllocOptions): number | null;
  /** __free_pages(): frees a block allocPages returned, with the same order. Typed errors for a bad pfn, wrong order or double free. */
  freePages(pfn: number, order: number): void;
  /** drain_all_pages(): returns every per-CPU list's pages to the buddy lists. */
  drainAllPages(): void;
  /** Free blocks of `order` in a zone's free area (nr_free), as /proc/buddyinfo prints them. */
  freeBlocks(zone: Zone, order: number): number;
  /** Free blocks of `order` and migrate type in a zone, as /proc/pagetypeinfo prints them. */
  freeBlocksByType(zone: Zone, order: number, migratetype: number): number;
  /** Pages sitting on per-CPU lists of a zone (not counted in NR_FREE_PAGES). */
  pcpPages(zone: Zone): number;
  /** __zone_watermark_ok(): would an order-`order` allocation leave the zone above `mark` pages? */
  zoneWatermarkOk(zone: Zone, order: number, mark: number, highestZoneIdx: number, allocFlags?: number): boolean;

  // ---- memory hotplug (optional; SPARSEMEM's onlineSection/offlineSection need them) ----

  /** start_isolate_page_range(): the range's free pages move to MIGRATE_ISOLATE lists (never allocated from); pages freed into the range stay there. */
  isolateRange?(startPfn: number, nrPages: number): void;
  /** undo_isolate_page_range(): isolated free pages go back to the lists of their pageblocks. */
  undoIsolateRange?(startPfn: number, nrPages: number): void;
  /** __offline_isolated_pages(): takes an isolated range whose present pages are all free off the free lists for good (NR_FREE_PAGES drops); returns the pages taken. Throws EHOTPLUG, changing nothing, when a page is not free. */
  offlineRange?(startPfn: number, nrPages: number): number;
  /** online_pages(): frees the present pages of a range, already accounted to its zone, into the free lists. */
  onlineRange?(startPfn: number, nrPages: number): void;
  /** A zone's span changed (memory hotplug resize_zone_range / shrink_zone_span; it was [oldStart, oldEnd)): lay out per-span state again. */
  zoneSpanChanged?(zone: Zone, oldStart: number, oldEnd: number): void;
  /** init_per_zone_wmark_min(): recompute min_free_kbytes (unless set), watermarks and lowmem reserves after managed pages changed. */
  initPerZoneWmarkMin?(): void;
}
