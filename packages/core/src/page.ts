/**
 * The page-frame table: `struct page` as typed arrays, one slot per struct
 * page the memory model keeps. A slot index is the simulator's "struct page
 * pointer"; the memory model maps pfn ↔ slot (pfn_to_page / page_to_pfn).
 * @module
 */

/** Page flag bits (a subset of include/linux/page-flags.h, plus page types). */
export const PG_locked = 1 << 0;
export const PG_referenced = 1 << 1;
export const PG_uptodate = 1 << 2;
export const PG_dirty = 1 << 3;
export const PG_lru = 1 << 4;
export const PG_head = 1 << 5;
export const PG_active = 1 << 6;
export const PG_workingset = 1 << 7;
export const PG_owner_priv_1 = 1 << 8;
export const PG_reserved = 1 << 9;
export const PG_private = 1 << 10;
export const PG_writeback = 1 << 11;
export const PG_swapbacked = 1 << 12;
export const PG_unevictable = 1 << 13;
export const PG_mlocked = 1 << 14;
export const PG_reclaim = 1 << 15;
export const PG_anon = 1 << 16;
export const PG_tail = 1 << 17;
/** In the swap cache (PG_swapcache): page->private is not the order but the swap cache knows its entry. */
export const PG_swapcache = 1 << 18;
/** Page type: a free block head in the buddy allocator (PageBuddy). */
export const PG_buddy = 1 << 24;
/** Page type: a slab page (PageSlab). */
export const PG_slab = 1 << 25;
/** Page type: a page-table page. */
export const PG_table = 1 << 26;
/** Page type: offline (memory hotplug / balloon). */
export const PG_offline = 1 << 27;
/** Sits on a per-CPU page list (pcp), owned by the allocator. */
export const PG_pcp = 1 << 28;
/** Struct page exists but the frame is a hole (flatmem/discontigmem). */
export const PG_nopage = 1 << 29;

/** Who an allocated page belongs to (the invariant checker requires exactly one). */
export enum PageOwner {
  NONE = 0,
  BUDDY = 1,
  KERNEL = 2,
  SLAB = 3,
  KMALLOC_LARGE = 4,
  ANON = 5,
  PAGE_CACHE = 6,
  PAGE_TABLE = 7,
  VMALLOC = 8,
  PERCPU = 9,
  MEMMAP = 10,
  RESERVED = 11,
}

/** Sentinel for "no page" in link arrays. */
export const NO_PAGE = -1;

/** MAX_PAGE_ORDER on x86_64 (6.12; MAX_ORDER - 1 in older kernels). */
export const MAX_PAGE_ORDER = 10;
/** NR_PAGE_ORDERS */
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
/** MAX_ORDER_NR_PAGES: pages in a block of the highest order; mem_map ends and ZONE_MOVABLE starts are aligned to it. */
export const MAX_ORDER_NR_PAGES = 1 << MAX_PAGE_ORDER;

/**
 * struct page as parallel typed arrays (structure of arrays). Hot paths read
 * and write the arrays directly; nothing here allocates per page.
 *
 * Memory: the arrays are zero-filled allocations the OS backs lazily, so a
 * slot costs resident memory only once something writes to it (the link
 * arrays, NO_PAGE-filled, are resident from the start). `mapcount`, which
 * only mapped user pages use, is allocated on first use.
 */
export class PageFrameTable {
  /** Number of struct page slots. */
  size = 0;
  /** page->flags */
  flags: Uint32Array;
  /** page->_refcount */
  refcount: Int32Array;
  private _mapcount: Int32Array | null = null;
  private _index: Float64Array | null = null;
  /** page->private: buddy order for free heads; allocator-defined otherwise. */
  private: Int32Array;
  /** page->lru.next / .prev as slot indices (NO_PAGE = -1). */
  lruNext: Int32Array;
  lruPrev: Int32Array;
  /** Owner kind ({@link PageOwner}) per page. */
  ownerKind: Uint8Array;
  /**
   * Owner id within its kind (cache id, task pid, ...). For user pages it is
   * page->mapping: the anon_vma (ANON) or the inode number (PAGE_CACHE).
   */
  owner: Uint32Array;

  constructor(size: number) {
    this.flags = new Uint32Array(size);
    this.refcount = new Int32Array(size);
    this.private = new Int32Array(size);
    this.lruNext = new Int32Array(size).fill(NO_PAGE);
    this.lruPrev = new Int32Array(size).fill(NO_PAGE);
    this.ownerKind = new Uint8Array(size);
    this.owner = new Uint32Array(size);
    this.size = size;
  }

  /** page->_mapcount + 1 (0 = unmapped), as page_mapcount() reports it. Allocated on first use. */
  get mapcount(): Int32Array {
    return (this._mapcount ??= new Int32Array(this.size));
  }
  set mapcount(a: Int32Array) {
    this._mapcount = a;
  }
  /**
   * page->index: the file page (PAGE_CACHE) or the virtual page number
   * (ANON: address >> PAGE_SHIFT, which needs 35 bits on x86_64, hence
   * float64). Allocated on first use.
   */
  get index(): Float64Array {
    return (this._index ??= new Float64Array(this.size));
  }
  set index(a: Float64Array) {
    this._index = a;
  }

  /** Grows the table to `size` slots (hot-add); existing slots keep their contents. */
  grow(size: number): void {
    if (size <= this.size) return;
    const g = <T extends Int32Array | Uint32Array | Uint8Array>(a: T, fill = 0): T => {
      const n = new (a.constructor as new (n: number) => T)(size);
      n.set(a);
      if (fill !== 0) n.fill(fill, this.size);
      return n;
    };
    this.flags = g(this.flags);
    this.refcount = g(this.refcount);
    if (this._mapcount) this._mapcount = g(this._mapcount);
    if (this._index) {
      const n = new Float64Array(size);
      n.set(this._index);
      this._index = n;
    }
    this.private = g(this.private);
    this.lruNext = g(this.lruNext, NO_PAGE);
    this.lruPrev = g(this.lruPrev, NO_PAGE);
    this.ownerKind = g(this.ownerKind);
    this.owner = g(this.owner);
    this.size = size;
  }

  /** Bytes of simulator metadata per slot the allocated arrays take. */
  get bytesPerPage(): number {
    return 4 + 4 + 4 + 4 + 4 + 1 + 4 + (this._mapcount ? 4 : 0) + (this._index ? 8 : 0);
  }

  /** Bytes of simulator metadata this table has allocated. */
  get bytes(): number {
    return this.size * this.bytesPerPage;
  }
}
