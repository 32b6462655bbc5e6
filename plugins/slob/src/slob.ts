/**
 * SLOB (mm/slob.c, Linux 6.1): a K&R-style first-fit heap. Pages from the
 * page allocator are cut into blocks of SLOB_UNIT (2-byte) units; each
 * page keeps an address-ordered list of free blocks whose headers live in
 * the free memory itself (slob_t: a size and the offset of the next free
 * block, or one negative word for a one-unit block). Partially free pages
 * sit on three lists by request size (< 256, < 1024, larger); a search
 * walks the list next-fit style (the page that served the request is
 * rotated to the front) and the page first-fit. Freeing merges a block
 * with its free neighbours and gives an empty page back at once.
 *
 * kmalloc puts the requested size in a header before the block (minalign,
 * 8 bytes) and sends requests of PAGE_SIZE - 8 and more to the page
 * allocator whole; kmem_cache objects are plain blocks of the cache's size
 * (whole pages from PAGE_SIZE on), their constructor runs on every
 * allocation. There are no kmalloc-* caches, no per-CPU state, and
 * kmem_cache_shrink has nothing to do.
 *
 * The simulator keeps each slob page's units in an Int16Array (the slob_t
 * words, exactly as the kernel writes them) and a map of live blocks, so a
 * double free, a pointer into the middle of a block or an object given to
 * the wrong cache is always refused (the kernel's SLOB cannot tell).
 * @module
 */
import {
  type CacheOptions, EVENTS, type EventBus, getOrder, type KmemCache, MEMORY_MODEL, type MemoryModel, MmsimError,
  PAGE_ALLOCATOR, PAGE_SIZE, type PageAllocator, PageFrameTable, PageOwner, PG_slab, PG_tail, SLAB_ACCOUNT,
  SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_CONSISTENCY_CHECKS, SLAB_DEBUG_OBJECTS, SLAB_FAILSLAB, SLAB_HWCACHE_ALIGN,
  SLAB_KMALLOC, SLAB_MEM_SPREAD, SLAB_NO_MERGE, SLAB_NOLEAKTRACE, SLAB_PANIC, SLAB_POISON, SLAB_RECLAIM_ACCOUNT,
  SLAB_RED_ZONE, SLAB_STORE_USER, SLAB_TRACE, SLAB_TYPESAFE_BY_RCU, type SlabAllocOptions, type SlabAllocator,
  type SlabFreeOptions, type SlabInfo, type SlabStats, TOPOLOGY, type Topology, type TraceEventName,
  ZERO_SIZE_PTR, __GFP_COMP, __GFP_DMA, __GFP_DMA32, __GFP_ZERO, inject, injectable,
} from '@mmsim/core';
import { calculateAlignment, hexPtr, krealloc, SlabCallChecks, slabinfoRows, SlabShrinker, zeroOrNullPtr } from '@mmsim/slab-common';
import { SLOB_OPTIONS, type SlobOptions } from './options.js';

/** SLOB_UNIT: sizeof(slob_t), a 16-bit slobidx_t with 4 KiB pages. */
export const SLOB_UNIT = 2;
/** SLOB_UNITS(PAGE_SIZE) */
export const SLOB_UNITS_PER_PAGE = PAGE_SIZE / SLOB_UNIT;
/** The three partial lists: requests below SLOB_BREAK1, below SLOB_BREAK2, and the rest. */
export const SLOB_BREAK1 = 256;
export const SLOB_BREAK2 = 1024;
/** max(ARCH_KMALLOC_MINALIGN, arch_slab_minalign()) on x86_64: the kmalloc header's size and alignment. */
const MINALIGN = 8;
/** sizeof(struct slob_rcu): the footer of SLAB_TYPESAFE_BY_RCU objects (rcu_head + int, padded). */
const SLOB_RCU_SIZE = 24;
/** The zone classes of the partial lists (one when lists are shared, as in the kernel). */
const NR_SIZE_LISTS = 3;
const NR_ZONE_CLASSES = 3;
const NR_LISTS = NR_SIZE_LISTS * NR_ZONE_CLASSES;
/** SLAB_FLAGS_PERMITTED (slab.h, CONFIG_SLOB): what kmem_cache_create accepts; CACHE_CREATE_MASK then keeps only the core and SLOB flags. */
const SLAB_FLAGS_PERMITTED = SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_PANIC | SLAB_TYPESAFE_BY_RCU |
  SLAB_DEBUG_OBJECTS | SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE |
  SLAB_NOLEAKTRACE | SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT | SLAB_MEM_SPREAD | SLAB_FAILSLAB | SLAB_NO_MERGE;
const CACHE_CREATE_MASK = SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_PANIC | SLAB_TYPESAFE_BY_RCU |
  SLAB_DEBUG_OBJECTS | SLAB_NOLEAKTRACE | SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT | SLAB_NO_MERGE;
const NONE = -1;

/** SLOB_UNITS(size) */
function slobUnits(size: number): number {
  return Math.ceil(size / SLOB_UNIT);
}

/** A kmem_cache under SLOB: only sizes, alignment, flags and a ctor. */
export class SlobCache implements KmemCache {
  /** Objects handed out and not freed (the kernel's SLOB does not count them; the simulator does). */
  liveObjects = 0;
  constructor(
    readonly id: number,
    readonly name: string,
    readonly objectSize: number,
    readonly size: number,
    readonly align: number,
    readonly flags: number,
    readonly ctor: ((ptr: number) => void) | undefined,
  ) {}
}

/** The SLOB allocator. */
@injectable()
export class SlobAllocator implements SlabAllocator {
  readonly name = 'slob';
  /** slob_new_pages() counts every page as NR_SLAB_UNRECLAIMABLE_B, SLAB_RECLAIM_ACCOUNT or not. */
  readonly reclaimAccounting = false;
  /** The shrinker of the SLAB_RECLAIM_ACCOUNT caches' LRUs (registered under SHRINKER). */
  readonly shrinker: SlabShrinker;
  private readonly t: PageFrameTable;
  private readonly ev: Record<TraceEventName, boolean>;
  private readonly nrNodes: number;
  /** Argument checks and errors (slab_common). */
  private readonly checks: SlabCallChecks;

  private readonly cacheById: (SlobCache | undefined)[] = [undefined];
  private readonly list: SlobCache[] = [];
  private nextCacheId = 1;

  // slob pages: one slot per page; list links are indexed by slot + NR_LISTS (0..NR_LISTS-1 are the list heads)
  private cap = 0;
  private top = 0;
  private readonly freeSlots: number[] = [];
  private pMem: Int16Array[] = [];
  private pPfn = new Float64Array(0);
  private pUnits = new Int32Array(0);
  private pFree = new Int32Array(0);
  private pNid = new Int32Array(0);
  private pList = new Int8Array(0);
  /** The first list of the page's zone class (the gfp zone it was allocated for). */
  private pClass = new Int8Array(0);
  private pInUse = new Uint8Array(0);
  private lNext = Int32Array.from({ length: NR_LISTS }, (_, i) => i);
  private lPrev = Int32Array.from({ length: NR_LISTS }, (_, i) => i);
  private slobPages = 0;

  /** Live blocks: address → cache id (0: kmalloc). */
  private readonly live = new Map<number, number>();
  /** Whole-page allocations: head pfn → [order, cache id (0: kmalloc)]. */
  private readonly large = new Map<number, [number, number]>();
  private readonly largeFreed = new Set<number>();
  private largePages = 0;

  constructor(
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(EVENTS) private readonly events: EventBus,
    @inject(SLOB_OPTIONS) private readonly options: SlobOptions,
  ) {
    this.t = memory.pages;
    this.ev = events.enabled;
    this.checks = new SlabCallChecks('slob', topology, memory);
    this.nrNodes = this.checks.nrNodes;
    this.shrinker = new SlabShrinker('slob-reclaimable', (c, p) => this.cacheFree(c, p));
  }

  // ---- arguments -------------------------------------------------------------

  private lookup(cache: KmemCache): SlobCache {
    return this.checks.lookup(this.cacheById, cache);
  }

  // ---- the page lists ---------------------------------------------------------

  /** Which of the partial lists a request of `size` bytes with `gfp` uses. */
  private listOf(size: number, gfp: number): number {
    const bySize = size < SLOB_BREAK1 ? 0 : size < SLOB_BREAK2 ? 1 : 2;
    if (this.options.sharedZoneLists) return bySize;
    const zone = gfp & __GFP_DMA ? 1 : gfp & __GFP_DMA32 ? 2 : 0;
    return zone * NR_SIZE_LISTS + bySize;
  }
  private listAdd(head: number, slot: number): void {
    const n = slot + NR_LISTS;
    const first = this.lNext[head]!;
    this.lNext[n] = first;
    this.lPrev[n] = head;
    this.lPrev[first] = n;
    this.lNext[head] = n;
  }
  private listDelNode(n: number): void {
    const p = this.lPrev[n]!;
    const x = this.lNext[n]!;
    this.lNext[p] = x;
    this.lPrev[x] = p;
    this.lNext[n] = n;
    this.lPrev[n] = n;
  }
  /** set_slob_page_free(): list_add() at the head, PageSlobFree. */
  private setPageFree(slot: number, head: number): void {
    this.listAdd(head, slot);
    this.pList[slot] = head;
  }
  /** clear_slob_page_free() */
  private clearPageFree(slot: number): void {
    this.listDelNode(slot + NR_LISTS);
    this.pList[slot] = NONE;
  }
  /** list_rotate_to_front(): the list continues from `slot` (the entries before it move to the tail). */
  private rotateToFront(slot: number, head: number): void {
    const n = slot + NR_LISTS;
    this.listDelNode(head);
    const p = this.lPrev[n]!;
    this.lNext[p] = head;
    this.lPrev[head] = p;
    this.lNext[head] = n;
    this.lPrev[n] = head;
  }

  // ---- slob_t: free block headers in the page's units ---------------------------

  /** set_slob(): a free block of `size` units at `s` whose next free block is at `next` (SLOB_UNITS_PER_PAGE: none). */
  private static setSlob(mem: Int16Array, s: number, size: number, next: number): void {
    if (size > 1) {
      mem[s] = size;
      mem[s + 1] = next;
    } else {
      mem[s] = -next;
    }
  }
  /** slob_units() */
  private static units(mem: Int16Array, s: number): number {
    const u = mem[s]!;
    return u > 0 ? u : 1;
  }
  /** slob_next() */
  private static next(mem: Int16Array, s: number): number {
    const u = mem[s]!;
    return u < 0 ? -u : mem[s + 1]!;
  }
  /** slob_last(): the next free block is the page's end. */
  private static last(mem: Int16Array, s: number): boolean {
    return SlobAllocator.next(mem, s) === SLOB_UNITS_PER_PAGE;
  }

  // ---- pages ---------------------------------------------------------------------

  private newSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.top === this.cap) {
      const cap = Math.max(64, this.cap * 2);
      const grow = <T extends Int32Array | Float64Array | Int8Array | Uint8Array>(a: T, n: number): T => {
        const x = new (a.constructor as new (n: number) => T)(n);
        x.set(a);
        return x;
      };
      this.pPfn = grow(this.pPfn, cap);
      this.pUnits = grow(this.pUnits, cap);
      this.pFree = grow(this.pFree, cap);
      this.pNid = grow(this.pNid, cap);
      this.pList = grow(this.pList, cap);
      this.pClass = grow(this.pClass, cap);
      this.pInUse = grow(this.pInUse, cap);
      const next = grow(this.lNext, cap + NR_LISTS);
      const prev = grow(this.lPrev, cap + NR_LISTS);
      for (let i = this.cap + NR_LISTS; i < cap + NR_LISTS; i++) {
        next[i] = i;
        prev[i] = i;
      }
      this.lNext = next;
      this.lPrev = prev;
      this.cap = cap;
    }
    return this.top++;
  }

  private allocPages(gfp: number, order: number, node: number, cpu: number): number | null {
    return this.pages.allocPages(gfp, order, node < 0 ? { cpu } : { nid: node, cpu });
  }

  private nodeOfPfn(pfn: number): number {
    if (this.nrNodes === 1) return 0;
    return this.topology.pfnZone(pfn)?.nid ?? 0;
  }

  /** The slot of the slob page at struct page `page`, or -1: slob pages are the PG_slab pages of no cache (whole-page objects carry their cache). */
  private slotOf(page: number): number {
    return page >= 0 && this.t.flags[page]! & PG_slab && this.t.owner[page] === 0 ? this.t.private[page]! : NONE;
  }

  /** A new slob page (slob_new_pages + __folio_set_slab): one free block of the whole page. */
  private newPage(pfn: number): number {
    const slot = this.newSlot();
    let mem = this.pMem[slot];
    if (!mem) this.pMem[slot] = mem = new Int16Array(SLOB_UNITS_PER_PAGE);
    else mem.fill(0);
    this.pPfn[slot] = pfn;
    this.pUnits[slot] = SLOB_UNITS_PER_PAGE;
    this.pFree[slot] = 0;
    this.pNid[slot] = this.nodeOfPfn(pfn);
    this.pList[slot] = NONE;
    this.pInUse[slot] = 1;
    SlobAllocator.setSlob(mem, 0, SLOB_UNITS_PER_PAGE, SLOB_UNITS_PER_PAGE);
    const page = this.memory.pfnToPage(pfn);
    this.t.flags[page] = (this.t.flags[page]! | PG_slab) >>> 0;
    this.t.ownerKind[page] = PageOwner.SLAB;
    this.t.owner[page] = 0;
    this.t.private[page] = slot;
    this.slobPages++;
    return slot;
  }

  /** slob_free_pages() for a slob page. */
  private freePage(slot: number): void {
    const pfn = this.pPfn[slot]!;
    const page = this.memory.pfnToPage(pfn);
    this.t.flags[page] = this.t.flags[page]! & ~PG_slab;
    this.t.ownerKind[page] = PageOwner.KERNEL;
    this.t.owner[page] = 0;
    this.t.private[page] = 0;
    this.pInUse[slot] = 0;
    this.freeSlots.push(slot);
    this.slobPages--;
    this.pages.freePages(pfn, 0);
  }

  /**
   * slob_page_alloc(): first fit of `size` bytes in a page, the block
   * placed so that block + alignOffset is aligned; the head of a larger
   * free block is split off to align, the tail stays free. Returns the
   * block's unit offset, or -1. `removed` tells whether the page filled up.
   */
  private pageAlloc(slot: number, size: number, align: number, alignOffset: number): number {
    const mem = this.pMem[slot]!;
    const units = slobUnits(size);
    let prev = NONE;
    let cur = this.pFree[slot]!;
    for (;;) {
      let avail = SlobAllocator.units(mem, cur);
      let delta = 0;
      let aligned = cur;
      if (align) {
        const byte = Math.ceil((cur * SLOB_UNIT + alignOffset) / align) * align - alignOffset;
        aligned = byte / SLOB_UNIT;
        delta = aligned - cur;
      }
      if (avail >= units + delta) {
        if (delta) {
          // fragment the head to align
          const next = SlobAllocator.next(mem, cur);
          SlobAllocator.setSlob(mem, aligned, avail - delta, next);
          SlobAllocator.setSlob(mem, cur, delta, aligned);
          prev = cur;
          cur = aligned;
          avail = SlobAllocator.units(mem, cur);
        }
        const next = SlobAllocator.next(mem, cur);
        if (avail === units) {
          // exact fit: unlink
          if (prev >= 0) SlobAllocator.setSlob(mem, prev, SlobAllocator.units(mem, prev), next);
          else this.pFree[slot] = next;
        } else {
          // fragment
          if (prev >= 0) SlobAllocator.setSlob(mem, prev, SlobAllocator.units(mem, prev), cur + units);
          else this.pFree[slot] = cur + units;
          SlobAllocator.setSlob(mem, cur + units, avail - units, next);
        }
        this.pUnits[slot]! -= units;
        if (this.pUnits[slot] === 0) {
          this.clearPageFree(slot);
          this.pFree[slot] = SLOB_UNITS_PER_PAGE;
        }
        return cur;
      }
      if (SlobAllocator.last(mem, cur)) return NONE;
      prev = cur;
      cur = SlobAllocator.next(mem, cur);
    }
  }

  /** slob_alloc(): an address, or -1 when no page could be had. */
  private slobAlloc(size: number, gfp: number, align: number, node: number, alignOffset: number, cpu: number): number {
    const head = this.listOf(size, gfp);
    const need = slobUnits(size);
    let slot = NONE;
    let b = NONE;
    for (let n = this.lNext[head]!; n !== head; n = this.lNext[n]!) {
      const s = n - NR_LISTS;
      // a node was asked for: only its pages
      if (node >= 0 && this.pNid[s] !== node) continue;
      if (this.pUnits[s]! < need) continue;
      b = this.pageAlloc(s, size, align, alignOffset);
      if (b < 0) continue;
      slot = s;
      // next fit: start the next search here (unless the page just filled up and left the list)
      if (this.pList[s] === head && this.lNext[head] !== n) this.rotateToFront(s, head);
      break;
    }
    if (b < 0) {
      const pfn = this.allocPages(gfp & ~__GFP_ZERO, 0, node, cpu);
      if (pfn === null) return NONE;
      slot = this.newPage(pfn);
      this.pClass[slot] = head - (head % NR_SIZE_LISTS);
      this.setPageFree(slot, head);
      b = this.pageAlloc(slot, size, align, alignOffset);
    }
    return this.pPfn[slot]! * PAGE_SIZE + b * SLOB_UNIT;
  }

  /** slob_free(): back into the page's free list in address order, merged with free neighbours; an empty page goes back. */
  private slobFree(addr: number, size: number): void {
    const page = this.memory.pfnToPage(Math.floor(addr / PAGE_SIZE));
    const slot = this.t.private[page]!;
    const mem = this.pMem[slot]!;
    const b = (addr - this.pPfn[slot]! * PAGE_SIZE) / SLOB_UNIT;
    let units = slobUnits(size);
    if (this.pUnits[slot]! + units === SLOB_UNITS_PER_PAGE) {
      // go directly to the page allocator
      if (this.pList[slot] !== NONE) this.clearPageFree(slot);
      this.freePage(slot);
      return;
    }
    if (this.pList[slot] === NONE) {
      // the page is about to become partially free
      this.pUnits[slot] = units;
      this.pFree[slot] = b;
      SlobAllocator.setSlob(mem, b, units, SLOB_UNITS_PER_PAGE);
      this.setPageFree(slot, this.pClass[slot]! + this.listOf(size, 0));
      return;
    }
    this.pUnits[slot]! += units;
    const free = this.pFree[slot]!;
    if (b < free) {
      let next = free;
      if (b + units === free) {
        units += SlobAllocator.units(mem, free);
        next = SlobAllocator.next(mem, free);
      }
      SlobAllocator.setSlob(mem, b, units, next);
      this.pFree[slot] = b;
    } else {
      let prev = free;
      let next = SlobAllocator.next(mem, prev);
      while (b > next) {
        prev = next;
        next = SlobAllocator.next(mem, prev);
      }
      if (!SlobAllocator.last(mem, prev) && b + units === next) {
        units += SlobAllocator.units(mem, next);
        SlobAllocator.setSlob(mem, b, units, SlobAllocator.next(mem, next));
      } else {
        SlobAllocator.setSlob(mem, b, units, next);
      }
      if (prev + SlobAllocator.units(mem, prev) === b) {
        units = SlobAllocator.units(mem, b) + SlobAllocator.units(mem, prev);
        SlobAllocator.setSlob(mem, prev, units, SlobAllocator.next(mem, b));
      } else {
        SlobAllocator.setSlob(mem, prev, SlobAllocator.units(mem, prev), b);
      }
    }
  }

  /**
   * slob_new_pages() for a whole-page allocation; marks the pages and counts
   * them as unreclaimable slab. A large kmalloc is KMALLOC_LARGE with its
   * order in the head's page->private (as alloc_pages leaves it); a cache's
   * whole-page object is a slab page like SLUB's: PG_slab, owner kind SLAB
   * and the cache on every page (the kernel's SLOB leaves these pages
   * unmarked; the simulator's page-table conventions want them marked).
   */
  private newLarge(gfp: number, order: number, node: number, cpu: number, owner: number): number {
    const pfn = this.allocPages(gfp, order, node, cpu);
    if (pfn === null) return NONE;
    const n = 1 << order;
    const slab = owner === 0 ? 0 : PG_slab;
    for (let i = 0; i < n; i++) {
      const page = this.memory.pfnToPage(pfn + i);
      this.t.ownerKind[page] = owner === 0 ? PageOwner.KMALLOC_LARGE : PageOwner.SLAB;
      this.t.owner[page] = owner;
      if (i === 0) this.t.private[page] = order;
      this.t.flags[page] = (this.t.flags[page]! | slab | (i > 0 ? PG_tail : 0)) >>> 0;
    }
    this.large.set(pfn, [order, owner]);
    this.largeFreed.delete(pfn);
    this.largePages += n;
    return pfn * PAGE_SIZE;
  }

  private freeLarge(pfn: number): void {
    const [order] = this.large.get(pfn)!;
    const n = 1 << order;
    for (let i = 0; i < n; i++) {
      const page = this.memory.pfnToPage(pfn + i);
      this.t.ownerKind[page] = i === 0 ? PageOwner.KERNEL : PageOwner.NONE;
      this.t.owner[page] = 0;
      this.t.flags[page] = this.t.flags[page]! & ~(PG_slab | PG_tail);
    }
    this.large.delete(pfn);
    this.largeFreed.add(pfn);
    this.largePages -= n;
    this.pages.freePages(pfn, order);
  }

  // ---- kmem_cache_* ------------------------------------------------------------

  createCache(name: string, size: number, opts: CacheOptions = {}): KmemCache {
    const args = this.checks.cacheCreateArgs(name, size, opts, SLAB_FLAGS_PERMITTED);
    // no SLAB_CACHE_DMA / SLAB_CACHE_DMA32 check under SLOB
    if (args.flags & SLAB_KMALLOC) throw this.checks.err('EINVAL', `kmem_cache_create(${name}): SLAB_KMALLOC is reserved`, { name, flags: args.flags });
    this.checks.checkCallbacks(name, opts);
    // CACHE_CREATE_MASK: SLOB silently drops the debug flags
    const flags = args.flags & CACHE_CREATE_MASK;
    const a = calculateAlignment(flags, args.align, size);
    // __kmem_cache_create(): the RCU footer, then whole units
    let objSize = size;
    if (flags & SLAB_TYPESAFE_BY_RCU) objSize += SLOB_RCU_SIZE;
    objSize = slobUnits(objSize) * SLOB_UNIT;
    const s = new SlobCache(this.nextCacheId++, name, size, objSize, a, flags, opts.ctor);
    this.cacheById[s.id] = s;
    this.list.push(s);
    if (flags & SLAB_RECLAIM_ACCOUNT) this.shrinker.track(s, opts.release);
    return s;
  }

  destroyCache(cache: KmemCache): void {
    const s = this.lookup(cache);
    // the kernel's SLOB has "no way to check for remaining objects"; the simulator counts them
    if (s.liveObjects > 0) {
      throw this.checks.err('ECACHE_BUSY', `kmem_cache_destroy(${s.name}): slab cache still has ${s.liveObjects} objects`, { cache: s.name, objects: s.liveObjects });
    }
    this.shrinker.untrack(s);
    this.cacheById[s.id] = undefined;
    this.list.splice(this.list.indexOf(s), 1);
  }

  caches(): readonly KmemCache[] {
    return [...this.list];
  }

  /** slob_alloc_node() */
  cacheAlloc(cache: KmemCache, gfp: number, opts?: SlabAllocOptions): number | null {
    const s = this.lookup(cache);
    const cpu = opts === undefined ? 0 : this.checks.cpuOf(opts.cpu);
    const node = opts === undefined ? NONE : this.checks.nodeOf(opts.nid);
    let ptr: number;
    if (s.size < PAGE_SIZE) {
      ptr = this.slobAlloc(s.size, gfp, s.align, node, 0, cpu);
      if (ptr >= 0) this.live.set(ptr, s.id);
    } else {
      ptr = this.newLarge(gfp, getOrder(s.size), node, cpu, s.id);
    }
    if (ptr >= 0) {
      s.liveObjects++;
      // SLAB is emulated: the constructor runs on every allocation
      s.ctor?.(ptr);
    }
    if (this.ev.kmem_cache_alloc) {
      this.events.emit('kmem_cache_alloc', {
        call_site: 0, ptr: ptr < 0 ? 0 : ptr, name: s.name, bytes_req: s.objectSize, bytes_alloc: s.size, gfp_flags: gfp,
        node: opts?.nid ?? -1, accounted: false,
      });
    }
    return ptr < 0 ? null : ptr;
  }

  /** Why `ptr` is not a live block: EDOUBLE_FREE when it lies in free slob memory or a freed large allocation, else EBAD_POINTER. */
  private notLive(op: string, ptr: number, what: string): MmsimError {
    const slot = this.slotOf(this.memory.pfnToPage(Math.floor(ptr / PAGE_SIZE)));
    if (slot >= 0) {
      const mem = this.pMem[slot]!;
      const u = (ptr - this.pPfn[slot]! * PAGE_SIZE) / SLOB_UNIT;
      if (this.pList[slot] !== NONE) {
        for (let cur = this.pFree[slot]!; cur < SLOB_UNITS_PER_PAGE; cur = SlobAllocator.next(mem, cur)) {
          if (u >= cur && u < cur + SlobAllocator.units(mem, cur)) return this.checks.err('EDOUBLE_FREE', `${op}(${hexPtr(ptr)}): this block is already free`, { ptr });
        }
      }
    } else if (ptr % PAGE_SIZE === 0 && this.largeFreed.has(ptr / PAGE_SIZE)) {
      return this.checks.err('EDOUBLE_FREE', `${op}(${hexPtr(ptr)}): this allocation was already freed`, { ptr });
    }
    return this.checks.err('EBAD_POINTER', `${op}(${hexPtr(ptr)}): ${what}`, { ptr });
  }

  private ownerName(id: number): string {
    return id === 0 ? 'kmalloc' : `cache '${this.cacheById[id]?.name}'`;
  }

  cacheFree(cache: KmemCache, ptr: number, opts?: SlabFreeOptions): void {
    const s = this.lookup(cache);
    if (opts !== undefined) this.checks.cpuOf(opts.cpu);
    if (typeof ptr !== 'number' || !(ptr > ZERO_SIZE_PTR) || !Number.isInteger(ptr)) {
      throw this.checks.err('EBAD_POINTER', `kmem_cache_free(${s.name}, ${String(ptr)}): not an object`, { ptr, cache: s.name });
    }
    if (s.size < PAGE_SIZE) {
      const owner = this.live.get(ptr);
      if (owner === undefined) throw this.notLive(`kmem_cache_free(${s.name})`, ptr, 'not an object of this cache');
      if (owner !== s.id) throw this.checks.err('EBAD_POINTER', `kmem_cache_free(${s.name}, ${hexPtr(ptr)}): the block belongs to ${this.ownerName(owner)}`, { ptr, cache: s.name });
      this.live.delete(ptr);
      if (s.flags & SLAB_RECLAIM_ACCOUNT) this.shrinker.forget(s.id, ptr);
      this.slobFree(ptr, s.size);
    } else {
      const pfn = ptr / PAGE_SIZE;
      const l = Number.isInteger(pfn) ? this.large.get(pfn) : undefined;
      if (!l) throw this.notLive(`kmem_cache_free(${s.name})`, ptr, 'not an object of this cache');
      if (l[1] !== s.id) throw this.checks.err('EBAD_POINTER', `kmem_cache_free(${s.name}, ${hexPtr(ptr)}): the pages belong to ${this.ownerName(l[1])}`, { ptr, cache: s.name });
      if (s.flags & SLAB_RECLAIM_ACCOUNT) this.shrinker.forget(s.id, ptr);
      this.freeLarge(pfn);
    }
    s.liveObjects--;
    if (this.ev.kmem_cache_free) this.events.emit('kmem_cache_free', { call_site: 0, ptr, name: s.name });
  }

  /** __kmem_cache_shrink(): SLOB frees empty pages as it goes; nothing to do. */
  shrinkCache(cache: KmemCache): number {
    this.lookup(cache);
    return 0;
  }

  // ---- kmalloc --------------------------------------------------------------------

  /** __do_kmalloc_node() */
  kmalloc(size: number, gfp: number, opts?: SlabAllocOptions): number | null {
    this.checks.checkKmallocSize('kmalloc', size);
    const cpu = opts === undefined ? 0 : this.checks.cpuOf(opts.cpu);
    const node = opts === undefined ? NONE : this.checks.nodeOf(opts.nid);
    let ret: number;
    let bytesAlloc: number;
    if (size < PAGE_SIZE - MINALIGN) {
      if (size === 0) return ZERO_SIZE_PTR;
      // power-of-two sizes are naturally aligned
      const align = (size & (size - 1)) === 0 ? Math.max(MINALIGN, size) : MINALIGN;
      const m = this.slobAlloc(size + MINALIGN, gfp, align, node, MINALIGN, cpu);
      if (m < 0) {
        ret = NONE;
      } else {
        // *m = size: the header before the block
        const page = this.memory.pfnToPage(Math.floor(m / PAGE_SIZE));
        this.pMem[this.t.private[page]!]![(m % PAGE_SIZE) / SLOB_UNIT] = size;
        ret = m + MINALIGN;
        this.live.set(ret, 0);
      }
      bytesAlloc = size + MINALIGN;
    } else {
      const order = getOrder(size);
      ret = this.newLarge(order ? gfp | __GFP_COMP : gfp, order, node, cpu, 0);
      bytesAlloc = PAGE_SIZE << order;
    }
    if (this.ev.kmalloc) {
      this.events.emit('kmalloc', { call_site: 0, ptr: ret < 0 ? 0 : ret, bytes_req: size, bytes_alloc: bytesAlloc, gfp_flags: gfp, node: opts?.nid ?? -1, accounted: false });
    }
    return ret < 0 ? null : ret;
  }

  kzalloc(size: number, gfp: number, opts?: SlabAllocOptions): number | null {
    return this.kmalloc(size, gfp | __GFP_ZERO, opts);
  }

  /** The size in the kmalloc header of the block at `ptr`. */
  private header(ptr: number): number {
    const m = ptr - MINALIGN;
    const page = this.memory.pfnToPage(Math.floor(m / PAGE_SIZE));
    return this.pMem[this.t.private[page]!]![(m % PAGE_SIZE) / SLOB_UNIT]!;
  }

  kfree(ptr: number | null, opts?: SlabFreeOptions): void {
    if (this.ev.kfree) this.events.emit('kfree', { call_site: 0, ptr: ptr ?? 0 });
    if (ptr === null || ptr === undefined || (ptr >= 0 && ptr <= ZERO_SIZE_PTR)) return;
    if (opts !== undefined) this.checks.cpuOf(opts.cpu);
    if (typeof ptr !== 'number' || !Number.isInteger(ptr)) throw this.checks.err('EBAD_POINTER', `kfree(${String(ptr)}): not a pointer`, { ptr });
    const page = this.memory.pfnToPage(Math.floor(ptr / PAGE_SIZE));
    if (page < 0) throw this.checks.err('EBAD_POINTER', `kfree(${hexPtr(ptr)}): no memory at this address`, { ptr });
    const owner = this.live.get(ptr);
    if (owner === 0) {
      const size = this.header(ptr);
      this.live.delete(ptr);
      this.slobFree(ptr - MINALIGN, size + MINALIGN);
      return;
    }
    if (owner !== undefined) throw this.checks.err('EBAD_POINTER', `kfree(${hexPtr(ptr)}): the block belongs to ${this.ownerName(owner)}; use kmem_cache_free`, { ptr });
    const l = ptr % PAGE_SIZE === 0 ? this.large.get(ptr / PAGE_SIZE) : undefined;
    if (l && l[1] === 0) {
      this.freeLarge(ptr / PAGE_SIZE);
      return;
    }
    if (l) throw this.checks.err('EBAD_POINTER', `kfree(${hexPtr(ptr)}): the pages belong to ${this.ownerName(l[1])}; use kmem_cache_free`, { ptr });
    throw this.notLive('kfree', ptr, 'neither a kmalloc block nor a large kmalloc');
  }

  /** __ksize(): SLOB_UNITS(*m) * SLOB_UNIT for a block, the folio size for pages. */
  private ksizeOf(ptr: number, op: string): number {
    if (typeof ptr !== 'number') throw this.checks.err('EBAD_POINTER', `${op}(${String(ptr)}): not a pointer`, { ptr });
    const owner = this.live.get(ptr);
    if (owner === 0) return slobUnits(this.header(ptr)) * SLOB_UNIT;
    if (owner !== undefined) return this.cacheById[owner]!.size;
    const l = ptr % PAGE_SIZE === 0 ? this.large.get(ptr / PAGE_SIZE) : undefined;
    if (l) return PAGE_SIZE << l[0];
    throw this.notLive(op, ptr, 'not an allocated object');
  }

  ksize(ptr: number): number {
    if (zeroOrNullPtr(ptr)) return 0;
    return this.ksizeOf(ptr, 'ksize');
  }

  /** krealloc(): the old object is freed only when there was one. */
  krealloc(ptr: number | null, size: number, gfp: number, opts?: SlabAllocOptions): number | null {
    return krealloc({ ksizeOf: (p, op) => this.ksizeOf(p, op), kmalloc: (n, g, o) => this.kmalloc(n, g, o), kfree: (p, o) => this.kfree(p, o) },
      this.checks, ptr, size, gfp, opts, false);
  }

  // ---- reports ---------------------------------------------------------------

  /**
   * The kernel's SLOB has no /proc/slabinfo. The rows here say what can be
   * said: live objects per cache and how many fit a page; slabs are pages
   * shared by every cache, so none are counted per cache (whole-page
   * objects count one slab each).
   */
  slabinfo(): SlabInfo[] {
    return slabinfoRows(this.list, (s) => {
      const whole = s.size >= PAGE_SIZE;
      return {
        name: s.name, activeObjs: s.liveObjects, numObjs: s.liveObjects, objSize: s.size,
        objPerSlab: whole ? 1 : Math.floor(PAGE_SIZE / s.size), pagesPerSlab: whole ? 1 << getOrder(s.size) : 1,
        limit: 0, batchCount: 0, shared: 0, activeSlabs: whole ? s.liveObjects : 0, numSlabs: whole ? s.liveObjects : 0, sharedAvail: 0,
      };
    });
  }

  /** slob_new_pages() counts every page as NR_SLAB_UNRECLAIMABLE_B, whatever the cache. */
  stats(): SlabStats {
    return { reclaimablePages: 0, unreclaimablePages: this.slobPages + this.largePages };
  }

  /** The partially free pages per list, for inspection: [list, pfn, free units][] in list order. */
  partialPages(): { list: number; pfn: number; freeUnits: number; nid: number }[] {
    const out: { list: number; pfn: number; freeUnits: number; nid: number }[] = [];
    for (let head = 0; head < NR_LISTS; head++) {
      for (let n = this.lNext[head]!; n !== head; n = this.lNext[n]!) {
        const s = n - NR_LISTS;
        out.push({ list: head, pfn: this.pPfn[s]!, freeUnits: this.pUnits[s]!, nid: this.pNid[s]! });
      }
    }
    return out;
  }

  /** Pages SLOB holds for small blocks. */
  get pagesHeld(): number {
    return this.slobPages;
  }

  // ---- debugging: SLOB keeps no debug metadata (CACHE_CREATE_MASK drops the flags) ----

  writeObject(ptr: number, offset: number, data: ArrayLike<number>): boolean {
    if (typeof ptr !== 'number' || !Number.isFinite(ptr) || !Number.isInteger(offset) || data === null || typeof data !== 'object') {
      throw this.checks.err('EINVAL', `writeObject(${String(ptr)}, ${offset}): bad arguments`, { ptr, offset });
    }
    const page = this.memory.pfnToPage(Math.floor((ptr + offset) / PAGE_SIZE));
    if (page < 0 || ptr + offset < 0) throw this.checks.err('EBAD_POINTER', `writeObject(${hexPtr(ptr + offset)}): no memory at this address`, { ptr });
    return false;
  }

  readObject(ptr: number, offset: number, length: number): Uint8Array | null {
    this.writeObject(ptr, offset, []);
    if (!Number.isInteger(length) || length < 0) throw this.checks.err('EINVAL', `readObject: length ${length}`, { length });
    return null;
  }

  validateCache(cache: KmemCache): void {
    this.lookup(cache);
  }

  lruAdd(cache: KmemCache, ptr: number): boolean {
    const s = this.lookup(cache);
    const lru = this.checks.lruOf(this.shrinker, s, 'list_lru_add');
    const live = s.size < PAGE_SIZE ? this.live.get(ptr) === s.id : this.large.get(ptr / PAGE_SIZE)?.[1] === s.id;
    if (!live) throw this.checks.err('EBAD_POINTER', `list_lru_add(${s.name}, ${hexPtr(ptr)}): not a live object of this cache`, { ptr, cache: s.name });
    return lru.add(ptr, this.nodeOfPfn(Math.floor(ptr / PAGE_SIZE)));
  }

  lruDel(cache: KmemCache, ptr: number): boolean {
    return this.checks.lruOf(this.shrinker, this.lookup(cache), 'list_lru_del').del(ptr);
  }

  // ---- CONFIG_DEBUG_VM ----------------------------------------------------------

  /** Every page's free list in order and in bounds, unit counts, list membership, live blocks inside allocated memory, page counters. */
  check(): void {
    const bad = (m: string): never => {
      throw new MmsimError('ECORRUPT', `slob check: ${m}`, { plugin: 'slob' });
    };
    const usedUnits = new Map<number, number>();
    const blocks = new Map<number, [number, number][]>();
    for (const [addr, owner] of this.live) {
      const start = owner === 0 ? addr - MINALIGN : addr;
      const units = owner === 0 ? slobUnits(this.header(addr) + MINALIGN) : slobUnits(this.cacheById[owner]?.size ?? bad(`live block ${hexPtr(addr)} of a destroyed cache`));
      const slot = this.slotOf(this.memory.pfnToPage(Math.floor(start / PAGE_SIZE)));
      if (slot < 0) bad(`live block ${hexPtr(addr)} is not on a slob page`);
      usedUnits.set(slot, (usedUnits.get(slot) ?? 0) + units);
      let l = blocks.get(slot);
      if (!l) blocks.set(slot, (l = []));
      l.push([(start % PAGE_SIZE) / SLOB_UNIT, units]);
    }
    let pages = 0;
    const onLists = new Set<number>();
    for (let head = 0; head < NR_LISTS; head++) {
      let count = 0;
      for (let n = this.lNext[head]!; n !== head; n = this.lNext[n]!) {
        const s = n - NR_LISTS;
        if (this.lPrev[this.lNext[n]!] !== n) bad(`list ${head} links broken at page slot ${s}`);
        if (this.pList[s] !== head) bad(`page slot ${s} is on list ${head} but says ${this.pList[s]}`);
        onLists.add(s);
        if (++count > this.top) bad(`list ${head} loops`);
      }
    }
    for (let s = 0; s < this.top; s++) {
      if (!this.pInUse[s]) continue;
      pages++;
      const pfn = this.pPfn[s]!;
      const page = this.memory.pfnToPage(pfn);
      if (!(this.t.flags[page]! & PG_slab) || this.t.private[page] !== s || this.t.ownerKind[page] !== PageOwner.SLAB || this.t.owner[page] !== 0) bad(`pfn ${pfn} is not marked as slob page ${s}`);
      const mem = this.pMem[s]!;
      let free = 0;
      const freeBlocks: [number, number][] = [];
      if (this.pUnits[s]! > 0) {
        if (!onLists.has(s)) bad(`pfn ${pfn} has ${this.pUnits[s]} free units but is on no list`);
        let prevEnd = -1;
        for (let cur = this.pFree[s]!; cur < SLOB_UNITS_PER_PAGE; cur = SlobAllocator.next(mem, cur)) {
          const u = SlobAllocator.units(mem, cur);
          if (cur < prevEnd || cur + u > SLOB_UNITS_PER_PAGE) bad(`pfn ${pfn}: free block at unit ${cur} (${u} units) out of order or bounds`);
          prevEnd = cur + u;
          free += u;
          freeBlocks.push([cur, u]);
          if (free > SLOB_UNITS_PER_PAGE) bad(`pfn ${pfn}: free list loops`);
        }
      } else if (onLists.has(s)) {
        bad(`full page ${pfn} is on a list`);
      }
      if (free !== this.pUnits[s]) bad(`pfn ${pfn}: free list holds ${free} units, the page says ${this.pUnits[s]}`);
      if ((usedUnits.get(s) ?? 0) + free !== SLOB_UNITS_PER_PAGE) bad(`pfn ${pfn}: ${usedUnits.get(s) ?? 0} units live + ${free} free != ${SLOB_UNITS_PER_PAGE}`);
      for (const [start, units] of blocks.get(s) ?? []) {
        for (const [fs, fu] of freeBlocks) if (start < fs + fu && fs < start + units) bad(`pfn ${pfn}: live block at unit ${start} overlaps free block at ${fs}`);
      }
    }
    if (pages !== this.slobPages) bad(`${pages} slob pages, counter says ${this.slobPages}`);
    let large = 0;
    for (const [pfn, [order, owner]] of this.large) {
      const page = this.memory.pfnToPage(pfn);
      for (let i = 0; i < 1 << order; i++) {
        const p = this.memory.pfnToPage(pfn + i);
        const slab = (this.t.flags[p]! & PG_slab) !== 0;
        if (this.t.ownerKind[p] !== (owner === 0 ? PageOwner.KMALLOC_LARGE : PageOwner.SLAB) || this.t.owner[p] !== owner || slab !== (owner !== 0)) {
          bad(`large allocation at pfn ${pfn}: pfn ${pfn + i} is not marked ${owner === 0 ? 'KMALLOC_LARGE' : 'SLAB/PG_slab'}`);
        }
      }
      if (owner === 0 && this.t.private[page] !== order) bad(`large kmalloc at pfn ${pfn} does not keep order ${order} in page->private`);
      large += 1 << order;
    }
    if (large !== this.largePages) bad(`large allocations hold ${large} pages, counter says ${this.largePages}`);
    const live = new Map<number, number>();
    for (const owner of this.live.values()) live.set(owner, (live.get(owner) ?? 0) + 1);
    for (const [, [, owner]] of this.large) live.set(owner, (live.get(owner) ?? 0) + 1);
    for (const c of this.list) if ((live.get(c.id) ?? 0) !== c.liveObjects) bad(`cache '${c.name}': ${live.get(c.id) ?? 0} live blocks, counter says ${c.liveObjects}`);
  }
}
