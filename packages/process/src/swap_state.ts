/**
 * The swap cache (mm/swap_state.c): the pages that are both in memory and
 * on a swap device — after swap-in, until the last holder of the slot is
 * gone or the page is written over — found by their swap entry
 * (lookup_swap_cache) and back (folio->swap). A page in it has
 * PG_swapcache and counts in nr_swapcached and nr_file_pages, as the
 * kernel counts it. The cache takes no page reference: the page stays its
 * owner's (an anonymous page), and whoever frees it deletes it from the
 * cache first.
 *
 * Entries are SWAP's dense numbers (see swapfile.ts); the cache keeps
 * entry → pfn per device (a typed array per device, in swapfile.ts) and
 * pfn → entry in one typed array over the page-frame table's slots.
 * @module
 */
import {
  inject, injectable, type MemoryModel, MEMORY_MODEL, MmsimError, PageOwner, type PageOwnerOps, PG_swapcache, SWAP, type SwapSpace,
} from '@mmsim/core';

/** pfn → swap entry of the pages in the swap cache (folio->swap), by page-frame slot. */
export class SwapCacheIndex {
  /** entry + 1 per page-frame slot, 0 when not in the swap cache; allocated on first use. */
  private entryOf: Int32Array | null = null;
  /** Pages in the swap cache (nr_swapcached as this index counts it). */
  count = 0;

  /** The entry of page slot `page`, or −1. */
  get(page: number): number {
    const a = this.entryOf;
    return a !== null && page < a.length ? a[page]! - 1 : -1;
  }

  /** Records that page slot `page` holds `entry` (tableSize: the page-frame table's size, to grow with hot-add). */
  set(page: number, entry: number, tableSize: number): void {
    let a = this.entryOf;
    if (a === null || a.length < tableSize) {
      const n = new Int32Array(tableSize);
      if (a !== null) n.set(a);
      a = this.entryOf = n;
    }
    if (a[page] === 0) this.count++;
    a[page] = entry + 1;
  }

  /** Forgets page slot `page`. */
  clear(page: number): void {
    const a = this.entryOf;
    if (a !== null && page < a.length && a[page] !== 0) {
      a[page] = 0;
      this.count--;
    }
  }
}

/** What the swap cache's owner hook needs of SWAP (swapfile.ts implements it). */
export interface SwapCacheMigrator {
  /** __folio_migrate_mapping() for a swap-cache page: the cache now finds `newPfn` for the entry `oldPfn` had. */
  migrateSwapCache(oldPfn: number, newPfn: number): void;
}

/**
 * A PAGE_OWNER contribution for anonymous pages: when compaction or
 * hotplug migrates a page that is in the swap cache, the cache follows it
 * (as __folio_migrate_mapping moves the swap cache's xarray entry). It
 * only migrates; the anonymous owner (rmap) evicts and describes.
 */
@injectable()
export class SwapCacheOwner implements PageOwnerOps {
  readonly name = 'swapcache';
  readonly kind = PageOwner.ANON;
  constructor(
    @inject(SWAP) private readonly swap: SwapSpace,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
  ) {}

  /** Swap-cache pages only. */
  owns(pfn: number): boolean {
    const page = this.memory.pfnToPage(pfn);
    return page >= 0 && (this.memory.pages.flags[page]! & PG_swapcache) !== 0;
  }
  migrate(oldPfn: number, newPfn: number): void {
    const page = this.memory.pfnToPage(newPfn);
    if (page < 0 || !(this.memory.pages.flags[page]! & PG_swapcache)) return;
    const m = this.swap as Partial<SwapCacheMigrator>;
    if (typeof m.migrateSwapCache !== 'function') throw new MmsimError('EINVAL', 'the SWAP service cannot migrate swap-cache pages');
    m.migrateSwapCache(oldPfn, newPfn);
  }
}
