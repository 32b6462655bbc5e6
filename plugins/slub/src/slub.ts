/**
 * SLUB (mm/slub.c, Linux 6.12): kmem_cache_cpu with a lockless-style
 * freelist and a per-CPU partial list, kmem_cache_node partial lists, slabs
 * taken from the page allocator as compound pages, kmalloc over the
 * kmalloc-* caches with large requests going to the page allocator.
 *
 * Everything per slab and per object lives in typed arrays: a slab is an
 * index into the slab table (page->private of each of its pages holds it,
 * so address → pfn → slab is O(1)); an object is a slab-local index whose
 * free pointer sits in its cache's `next` array and whose allocated bit sits
 * in `live` (so a double free is always caught).
 * @module
 */
import {
  type AllocOptions, type CacheOptions, CLOCK, DEBUG_METADATA_FLAGS, EVENTS, type EventBus, GFP_NOWAIT, getOrder,
  KMALLOC_MAX_CACHE_SIZE, SLAB_DEBUG_FLAGS, SLAB_CONSISTENCY_CHECKS, type SimClock, type SlabCorruption,
  type SlabFreeOptions, SLUB_RED_ACTIVE, SLUB_RED_INACTIVE,
  type KmemCache, MEMORY_MODEL, type MemoryModel, MmsimError, PAGE_ALLOCATOR, PAGE_SIZE, type PageAllocator,
  PageFrameTable, PageOwner, PG_slab, PG_tail, SLAB_ACCOUNT, SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_KMALLOC,
  SLAB_NO_MERGE, SLAB_POISON, SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE, SLAB_STORE_USER, SLAB_TYPESAFE_BY_RCU,
  type SlabAllocator, type SlabInfo, type SlabStats, TOPOLOGY, type Topology, type TraceEventName, ZERO_SIZE_PTR,
  __GFP_ACCOUNT, __GFP_COMP, __GFP_DIRECT_RECLAIM, __GFP_DMA, __GFP_DMA32, __GFP_FS, __GFP_HARDWALL, __GFP_HIGH,
  __GFP_HIGHMEM, __GFP_IO, __GFP_MEMALLOC, __GFP_NOFAIL, __GFP_NOMEMALLOC, __GFP_NORETRY, __GFP_NOWARN, __GFP_RECLAIM,
  __GFP_RECLAIMABLE, __GFP_RETRY_MAYFAIL, __GFP_THISNODE, __GFP_ZERO, gfpZone, inject, injectable,
} from '@mmsim/core';
import {
  alignUp, calculateAlignment, ffs, findMergeable, hexPtr, KMALLOC_INFO, KMALLOC_SHIFT_HIGH, KMALLOC_SIZE_INDEX, KmallocTypes,
  kmemCacheRelease, krealloc, LargeKmallocs, parseSlabDebug, type SlabBytes, SlabCallChecks, slabDebugFlags, type SlabDebugSpec,
  slabinfoRows, SlabShrinker, zeroOrNullPtr,
} from '@mmsim/slab-common';
import { SLUB_OPTIONS, type SlubOptions } from './options.js';
import { checkObject, type CheckSite, describeCorruption, freeptrOutside, initObject, setupSlabDebug, slabPadCheck } from './slub_debug.js';
import {
  ARCH_KMALLOC_MINALIGN, type CacheLayout, calculateSizes, KMALLOC_KINDS, KMALLOC_SHIFT_LOW, KmallocType, MAX_PARTIAL_TO_SCAN,
  NR_KMALLOC_TYPES, SHRINK_PROMOTE_MAX, SLAB_FLAGS_PERMITTED, type SlubTunables, slubMinObjects, WORD,
} from './slab_common.js';

/** GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK: what new_slab() keeps of the caller's gfp. */
const GFP_SLAB_PAGE_MASK = __GFP_RECLAIM | __GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_NOWARN | __GFP_RETRY_MAYFAIL |
  __GFP_NOFAIL | __GFP_NORETRY | __GFP_MEMALLOC | __GFP_NOMEMALLOC | __GFP_HARDWALL | __GFP_THISNODE;
/** GFP_SLAB_BUG_MASK (within the gfp bits): zone modifiers kmalloc_fix_flags() strips. */
const GFP_SLAB_BUG_MASK = __GFP_DMA32 | __GFP_HIGHMEM;
/** kmalloc_info index of the first power-of-two class and the number of indices. */
const NR_KMALLOC_INDEX = KMALLOC_SHIFT_HIGH + 1;
const DEACTIVATE_TO_HEAD = 0;
const DEACTIVATE_TO_TAIL = 1;
const NONE = -1;

/** struct kmem_cache, with its kmem_cache_cpu and kmem_cache_node arrays. */
export class SlubCache implements KmemCache {
  readonly id: number;
  readonly name: string;
  /** object_size (grows when a merged cache asks for more). */
  objectSize: number;
  readonly size: number;
  readonly align: number;
  readonly flags: number;
  /** inuse: bytes in use by the object (before the free pointer / tracking). */
  inuse: number;
  /** Offset of the free pointer in the object. */
  readonly offset: number;
  readonly redLeftPad: number;
  /** oo: order and objects per slab. */
  readonly order: number;
  readonly objects: number;
  /** min: fallback order and objects when the oo allocation fails. */
  readonly minOrder: number;
  readonly minObjects: number;
  readonly minPartial: number;
  /** cpu_partial (objects) and cpu_partial_slabs. */
  readonly cpuPartial: number;
  readonly cpuPartialSlabs: number;
  /** gfp bits every slab page allocation adds (allocflags). */
  readonly allocflags: number;
  readonly ctor: ((ptr: number) => void) | undefined;
  /** A kmalloc cache (SLAB_KMALLOC; usersize set, so never a merge target). */
  readonly kmalloc: boolean;
  /** kmem_cache_debug(): allocations and frees bypass the CPU slab. */
  readonly debug: boolean;
  /** SLAB_RED_ZONE or SLAB_POISON: the simulator keeps this cache's slab bytes. */
  readonly keepsBytes: boolean;
  /** SLAB_CONSISTENCY_CHECKS: objects are checked on allocation and free. */
  readonly checks: boolean;
  /** __OBJECT_POISON: poisoned objects (SLAB_POISON without ctor or RCU). */
  readonly objectPoison: boolean;
  /** SLAB_STORE_USER: alloc/free tracks per object. */
  readonly storeUser: boolean;
  /** SLAB_RECLAIM_ACCOUNT: objects may sit on the cache's list_lru. */
  readonly reclaimable: boolean;
  /** kmem_cache_has_cpu_partial() */
  readonly hasCpuPartial: boolean;
  /** Merge refcount (aliases share one cache). */
  refcount = 1;
  /** 1 / size, for obj_to_index() on the free fast path. */
  readonly recipSize: number;

  // kmem_cache_cpu, one slot per CPU
  /** c->slab (slab index or -1) */
  readonly cpuSlab: Int32Array;
  /** c->freelist (object index within c->slab, or -1) */
  readonly cpuFreelist: Int32Array;
  /** c->partial (head slab of the CPU partial list, linked through slab next) */
  readonly cpuPartialHead: Int32Array;

  // kmem_cache_node, one slot per node
  readonly partialHead: Int32Array;
  readonly partialTail: Int32Array;
  readonly nrPartial: Int32Array;
  readonly nrSlabs: Float64Array;
  readonly totalObjects: Float64Array;

  // objects: slot * objects + index
  /** Free pointer of each object (object index within its slab, -1 ends the list). */
  next: Int16Array;
  /** Allocated bit of each object. */
  live: Uint8Array;
  slotCap = 0;
  nextSlot = 0;
  readonly freeSlots: number[] = [];

  /** Objects handed out and not freed. */
  liveObjects = 0;
  /** Pages held by this cache's slabs. */
  pages = 0;

  constructor(id: number, name: string, layout: CacheLayout, flags: number, allocflags: number, ctor: ((ptr: number) => void) | undefined,
    nrCpuSlots: number, nrNodes: number, hasCpuPartial: boolean) {
    this.id = id;
    this.name = name;
    this.objectSize = layout.objectSize;
    this.size = layout.size;
    this.recipSize = 1 / layout.size;
    this.align = layout.align;
    this.flags = flags;
    this.inuse = layout.inuse;
    this.offset = layout.offset;
    this.redLeftPad = layout.redLeftPad;
    this.order = layout.order;
    this.objects = layout.objects;
    this.minOrder = layout.minOrder;
    this.minObjects = layout.minObjects;
    this.minPartial = layout.minPartial;
    this.cpuPartial = layout.cpuPartial;
    this.cpuPartialSlabs = layout.cpuPartialSlabs;
    this.allocflags = allocflags;
    this.ctor = ctor;
    this.kmalloc = (flags & SLAB_KMALLOC) !== 0;
    this.debug = (flags & SLAB_DEBUG_FLAGS) !== 0;
    this.keepsBytes = (flags & (SLAB_RED_ZONE | SLAB_POISON)) !== 0;
    this.checks = (flags & SLAB_CONSISTENCY_CHECKS) !== 0;
    this.objectPoison = (flags & SLAB_POISON) !== 0 && (flags & SLAB_TYPESAFE_BY_RCU) === 0 && ctor === undefined;
    this.storeUser = (flags & SLAB_STORE_USER) !== 0;
    this.reclaimable = (flags & SLAB_RECLAIM_ACCOUNT) !== 0;
    this.hasCpuPartial = hasCpuPartial && !this.debug;
    this.cpuSlab = new Int32Array(nrCpuSlots).fill(NONE);
    this.cpuFreelist = new Int32Array(nrCpuSlots).fill(NONE);
    this.cpuPartialHead = new Int32Array(nrCpuSlots).fill(NONE);
    this.partialHead = new Int32Array(nrNodes).fill(NONE);
    this.partialTail = new Int32Array(nrNodes).fill(NONE);
    this.nrPartial = new Int32Array(nrNodes);
    this.nrSlabs = new Float64Array(nrNodes);
    this.totalObjects = new Float64Array(nrNodes);
    this.next = new Int16Array(0);
    this.live = new Uint8Array(0);
  }

  /** A slot for a new slab's objects. */
  allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.nextSlot === this.slotCap) {
      const cap = Math.max(4, this.slotCap * 2);
      const next = new Int16Array(cap * this.objects);
      next.set(this.next);
      const live = new Uint8Array(cap * this.objects);
      live.set(this.live);
      this.next = next;
      this.live = live;
      this.slotCap = cap;
    }
    return this.nextSlot++;
  }
}

/** Which CPU frees (kfree / kmem_cache_free run on some CPU; default 0). */
export type FreeOptions = SlabFreeOptions;

/** struct track (alloc and free), for SLAB_STORE_USER caches. */
export interface Track {
  cpu: number;
  /** Simulated time (ns) of the event, or -1 when it never happened. */
  when: number;
}

/** What a debug cache's slab keeps besides the slab table: its bytes, the tracks, the original kmalloc sizes. */
interface DebugSlab {
  mem: Uint8Array | null;
  allocCpu: Int32Array;
  allocWhen: Float64Array;
  freeCpu: Int32Array;
  freeWhen: Float64Array;
  origSize: Int32Array;
}

/** The SLUB allocator. */
@injectable()
export class SlubAllocator implements SlabAllocator {
  readonly name = 'slub';
  /** Boot parameters after parsing (slub_min_objects derived from the CPU count). */
  readonly tunables: SlubTunables;
  private readonly t: PageFrameTable;
  private readonly ev: Record<TraceEventName, boolean>;
  private readonly nrNodes: number;
  private readonly nrCpuSlots: number;
  /** Argument checks and errors (slab_common). */
  private readonly checks: SlabCallChecks;
  private readonly cpuNode: Int32Array;
  /** kmalloc_caches[] rows and kmalloc_type() (slab_common). */
  private readonly types: KmallocTypes;
  /** KMALLOC_NOT_NORMAL_BITS */
  private readonly notNormalBits: number;

  /** Live caches by id (id 0 unused); a destroyed cache's slot is undefined. */
  private readonly cacheById: (SlubCache | undefined)[] = [undefined];
  /** slab_caches in creation order; /proc/slabinfo walks it newest first. */
  private readonly list: SlubCache[] = [];
  /** kmalloc_caches[type][index], flattened. */
  private readonly kmallocCaches: SlubCache[] = [];

  // the slab table
  private slabCap = 0;
  private slabTop = 0;
  private readonly freeSlabIds: number[] = [];
  private sCache = new Int32Array(0);
  private sAddr = new Float64Array(0);
  private sPfn = new Float64Array(0);
  private sOrder = new Uint8Array(0);
  private sObjects = new Int32Array(0);
  private sInuse = new Int32Array(0);
  private sFreelist = new Int32Array(0);
  private sFrozen = new Uint8Array(0);
  private sOnPartial = new Uint8Array(0);
  private sNid = new Int32Array(0);
  private sNext = new Int32Array(0);
  private sPrev = new Int32Array(0);
  private sSlabs = new Int32Array(0);
  private sObjBase = new Int32Array(0);

  /** Pages in slabs of SLAB_RECLAIM_ACCOUNT caches / of other caches (NR_SLAB_RECLAIMABLE_B, NR_SLAB_UNRECLAIMABLE_B). */
  private reclaimableSlabPages = 0;
  private unreclaimableSlabPages = 0;
  /** kmalloc() > 8 KiB, counted as unreclaimable slab (as ___kmalloc_large_node does). */
  private readonly large: LargeKmallocs;
  /** alloc_single_from_partial()'s object, for the debug path. */
  private pcObject = NONE;
  private nextCacheId = 1;
  /** Per slab of a debug cache: bytes, tracks, original sizes. */
  private sDebug: (DebugSlab | undefined)[] = [];
  /** slub_debug= as parsed from the `debug` option. */
  readonly debugSpec: SlabDebugSpec | undefined;
  /** The original size of the kmalloc being served (for SLAB_STORE_USER kmalloc caches). */
  private origRequest = 0;
  /** The shrinker of the SLAB_RECLAIM_ACCOUNT caches' LRUs (registered under SHRINKER). */
  readonly shrinker: SlabShrinker;

  constructor(
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(EVENTS) private readonly events: EventBus,
    @inject(SLUB_OPTIONS) private readonly options: SlubOptions,
    @inject(CLOCK) private readonly clock: SimClock,
  ) {
    this.t = memory.pages;
    this.ev = events.enabled;
    this.checks = new SlabCallChecks('slub', topology, memory);
    this.nrNodes = this.checks.nrNodes;
    this.nrCpuSlots = this.checks.nrCpuSlots;
    this.large = new LargeKmallocs(this.checks, memory);
    this.cpuNode = new Int32Array(this.nrCpuSlots);
    for (let c = 0; c < this.nrCpuSlots; c++) this.cpuNode[c] = topology.cpuToNode(c);
    this.types = new KmallocTypes(KMALLOC_KINDS, topology.zoneConfig.dma, options.memcg);
    this.notNormalBits = this.types.notNormalBits;
    // slub_max_order is capped at MAX_PAGE_ORDER; slub_min_order above it raises it
    let maxOrder = Math.min(options.maxOrder, pages.maxOrder);
    const minOrder = Math.min(options.minOrder, pages.maxOrder);
    if (minOrder > maxOrder) maxOrder = minOrder;
    this.tunables = {
      minObjects: options.minObjects || slubMinObjects(topology.nrCpus, options.nrCpuIds ?? topology.nrCpus),
      minOrder,
      maxOrder,
      cpuPartial: options.cpuPartial,
    };
    this.debugSpec = options.debug === undefined || options.debug === false ? undefined : parseSlabDebug(options.debug === true ? '' : options.debug);
    this.shrinker = new SlabShrinker('slub-reclaimable', (c, p) => this.cacheFree(c, p));
    this.createKmallocCaches();
  }

  // ---- kmem_cache_create ------------------------------------------------

  /** create_kmalloc_caches(): per type, kmalloc-96 and kmalloc-192 first, then the powers of two. */
  private createKmallocCaches(): void {
    for (let type = 0; type < NR_KMALLOC_TYPES; type++) {
      if (!this.types.built(type)) continue;
      const order = [1, 2];
      for (let i = KMALLOC_SHIFT_LOW; i <= KMALLOC_SHIFT_HIGH; i++) order.push(i);
      for (const idx of order) {
        let flags = SLAB_KMALLOC | this.types.flags(type);
        if (this.options.memcg && type === KmallocType.NORMAL) flags |= SLAB_NO_MERGE;
        const size = KMALLOC_INFO[idx]![0];
        // create_boot_cache(): at least the largest power-of-two divisor of the size
        const align = calculateAlignment(flags, Math.max(ARCH_KMALLOC_MINALIGN, 1 << (ffs(size) - 1)), size, this.options.cacheLineSize);
        this.kmallocCaches[type * NR_KMALLOC_INDEX + idx] = this.newCache(this.types.name(type, idx), size, flags, align, undefined);
      }
    }
    // types this kernel does not build fall back to KMALLOC_NORMAL
    this.types.fillFallbacks(this.kmallocCaches, NR_KMALLOC_INDEX);
  }

  private newCache(name: string, size: number, flags: number, align: number, ctor: ((p: number) => void) | undefined, release?: (ptr: number) => void): SlubCache {
    // kmem_cache_flags(): slub_debug= options for this name
    flags = slabDebugFlags(this.debugSpec, flags, name);
    let layout = calculateSizes(size, flags, align, ctor !== undefined, this.tunables);
    if (this.debugSpec?.higherOrderDisable && getOrder(layout.size) > getOrder(size)) {
      // slub_debug=O: no debug metadata where it would raise the minimum order
      flags &= ~DEBUG_METADATA_FLAGS;
      layout = calculateSizes(size, flags, align, ctor !== undefined, this.tunables);
    }
    if (layout.order < 0 || layout.order > this.pages.maxOrder || layout.objects === 0) {
      throw this.checks.err('EBAD_SIZE', `kmem_cache_create(${name}): objects of ${size} bytes fit no slab order`, { name, size });
    }
    let allocflags = __GFP_COMP;
    if (flags & SLAB_CACHE_DMA) allocflags |= __GFP_DMA;
    if (flags & SLAB_CACHE_DMA32) allocflags |= __GFP_DMA32;
    if (flags & SLAB_RECLAIM_ACCOUNT) allocflags |= __GFP_RECLAIMABLE;
    const s = new SlubCache(this.nextCacheId++, name, layout, flags, allocflags, ctor, this.nrCpuSlots, this.nrNodes, this.tunables.cpuPartial);
    this.cacheById[s.id] = s;
    this.list.push(s);
    if (s.reclaimable) this.shrinker.track(s, release);
    return s;
  }

  /** find_mergeable() (6.12): slub_debug= decides the debug flags by name alone; no alignment test beyond the size's. */
  private findMergeable(name: string, size: number, flags: number, align: number, ctor: unknown): SlubCache | undefined {
    return findMergeable(this.list, size, flags, align, ctor, {
      merge: this.options.merge, cacheLine: this.options.cacheLineSize, checkAlign: false, debugFlags: (f) => slabDebugFlags(this.debugSpec, f, name),
    });
  }

  createCache(name: string, size: number, opts: CacheOptions = {}): KmemCache {
    const { align, flags } = this.checks.cacheCreateArgs(name, size, opts, SLAB_FLAGS_PERMITTED);
    this.checks.checkDmaFlags(name, flags);
    if (flags & SLAB_KMALLOC) throw this.checks.err('EINVAL', `kmem_cache_create(${name}): SLAB_KMALLOC is reserved for the kmalloc caches`, { name, flags });
    this.checks.checkCallbacks(name, opts);
    const alias = opts.release === undefined ? this.findMergeable(name, size, flags, align, opts.ctor) : undefined;
    if (alias) {
      // __kmem_cache_alias()
      alias.refcount++;
      alias.objectSize = Math.max(alias.objectSize, size);
      alias.inuse = Math.max(alias.inuse, alignUp(size, WORD));
      return alias;
    }
    return this.newCache(name, size, flags, calculateAlignment(flags, align, size, this.options.cacheLineSize), opts.ctor, opts.release);
  }

  private lookup(cache: KmemCache): SlubCache {
    return this.checks.lookup(this.cacheById, cache);
  }

  caches(): readonly KmemCache[] {
    return [...this.list];
  }

  // ---- the slab table -----------------------------------------------------

  private newSlabId(): number {
    const id = this.freeSlabIds.pop();
    if (id !== undefined) return id;
    if (this.slabTop === this.slabCap) {
      const cap = Math.max(64, this.slabCap * 2);
      const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T): T => {
        const n = new (a.constructor as new (n: number) => T)(cap);
        n.set(a);
        return n;
      };
      this.sCache = grow(this.sCache);
      this.sAddr = grow(this.sAddr);
      this.sPfn = grow(this.sPfn);
      this.sOrder = grow(this.sOrder);
      this.sObjects = grow(this.sObjects);
      this.sInuse = grow(this.sInuse);
      this.sFreelist = grow(this.sFreelist);
      this.sFrozen = grow(this.sFrozen);
      this.sOnPartial = grow(this.sOnPartial);
      this.sNid = grow(this.sNid);
      this.sNext = grow(this.sNext);
      this.sPrev = grow(this.sPrev);
      this.sSlabs = grow(this.sSlabs);
      this.sObjBase = grow(this.sObjBase);
      this.sCache.fill(0, this.slabCap);
      this.slabCap = cap;
    }
    return this.slabTop++;
  }

  private nodeOfPfn(pfn: number): number {
    if (this.nrNodes === 1) return 0;
    return this.topology.pfnZone(pfn)?.nid ?? 0;
  }

  private allocPages(gfp: number, order: number, node: number, cpu: number): number | null {
    return this.pages.allocPages(gfp, order, node < 0 ? { cpu } : { nid: node, cpu });
  }

  /** allocate_slab(): pages for a slab (oo, falling back to min), the page flags, the initial freelist. */
  private newSlab(s: SlubCache, gfp: number, node: number, cpu: number): number {
    const flags = (gfp & GFP_SLAB_PAGE_MASK) | s.allocflags;
    let order = s.order;
    let objects = s.objects;
    // let the higher-order attempt fail early under pressure; fall back to the minimum order
    let allocGfp = (flags | __GFP_NOWARN | __GFP_NORETRY) & ~__GFP_NOFAIL;
    if (allocGfp & __GFP_DIRECT_RECLAIM && order > s.minOrder) allocGfp = (allocGfp | __GFP_NOMEMALLOC) & ~__GFP_RECLAIM;
    let pfn = this.allocPages(allocGfp, order, node, cpu);
    if (pfn === null) {
      order = s.minOrder;
      objects = s.minObjects;
      pfn = this.allocPages(flags, order, node, cpu);
      if (pfn === null) return NONE;
    }
    const slab = this.newSlabId();
    const slot = s.allocSlot();
    const base = slot * s.objects;
    this.sCache[slab] = s.id;
    this.sPfn[slab] = pfn;
    this.sAddr[slab] = pfn * PAGE_SIZE;
    this.sOrder[slab] = order;
    this.sObjects[slab] = objects;
    this.sInuse[slab] = 0;
    this.sFrozen[slab] = 0;
    this.sOnPartial[slab] = 0;
    this.sNid[slab] = this.nodeOfPfn(pfn);
    this.sNext[slab] = NONE;
    this.sPrev[slab] = NONE;
    this.sSlabs[slab] = 0;
    this.sObjBase[slab] = base;
    // __folio_set_slab(): every page of the slab points back at it
    const t = this.t;
    const n = 1 << order;
    for (let i = 0; i < n; i++) {
      const page = this.memory.pfnToPage(pfn + i);
      t.flags[page] = (t.flags[page]! | PG_slab | (i > 0 ? PG_tail : 0)) >>> 0;
      t.ownerKind[page] = PageOwner.SLAB;
      t.owner[page] = s.id;
      t.private[page] = slab;
    }
    // the freelist in address order (no CONFIG_SLAB_FREELIST_RANDOM)
    const next = s.next;
    for (let i = 0; i < objects - 1; i++) next[base + i] = i + 1;
    next[base + objects - 1] = NONE;
    s.live.fill(0, base, base + objects);
    this.sFreelist[slab] = 0;
    s.pages += n;
    if (s.flags & SLAB_RECLAIM_ACCOUNT) this.reclaimableSlabPages += n;
    else this.unreclaimableSlabPages += n;
    if (s.debug) this.setupDebugSlab(s, slab, objects, n);
    if (s.ctor) {
      const start = this.sAddr[slab]! + s.redLeftPad;
      for (let i = 0; i < objects; i++) s.ctor(start + i * s.size);
    }
    return slab;
  }

  /** setup_slab_debug() + setup_object_debug() for every object: bytes (red zones, poison, padding) and empty tracks. */
  private setupDebugSlab(s: SlubCache, slab: number, objects: number, pages: number): void {
    let mem: Uint8Array | null = null;
    if (s.keepsBytes) {
      mem = new Uint8Array(pages * PAGE_SIZE);
      setupSlabDebug(s, mem);
      for (let i = 0; i < objects; i++) {
        const p = i * s.size + s.redLeftPad;
        initObject(s, mem, p, SLUB_RED_INACTIVE, s.objectSize);
        if (freeptrOutside(s)) mem.fill(0, p + s.offset, p + s.offset + WORD);
      }
    }
    this.sDebug[slab] = {
      mem, allocCpu: new Int32Array(objects).fill(-1), allocWhen: new Float64Array(objects).fill(-1),
      freeCpu: new Int32Array(objects).fill(-1), freeWhen: new Float64Array(objects).fill(-1), origSize: new Int32Array(objects).fill(s.objectSize),
    };
  }

  /** discard_slab(): dec_slabs_node() and __free_slab(). */
  private discardSlab(s: SlubCache, slab: number): void {
    const nid = this.sNid[slab]!;
    s.nrSlabs[nid]!--;
    s.totalObjects[nid]! -= this.sObjects[slab]!;
    this.freeSlab(s, slab);
  }

  private freeSlab(s: SlubCache, slab: number): void {
    const pfn = this.sPfn[slab]!;
    const order = this.sOrder[slab]!;
    const n = 1 << order;
    const t = this.t;
    for (let i = 0; i < n; i++) {
      const page = this.memory.pfnToPage(pfn + i);
      t.flags[page] = t.flags[page]! & ~(PG_slab | PG_tail);
      t.ownerKind[page] = i === 0 ? PageOwner.KERNEL : PageOwner.NONE;
      t.owner[page] = 0;
      t.private[page] = i === 0 ? order : 0;
    }
    s.pages -= n;
    if (s.flags & SLAB_RECLAIM_ACCOUNT) this.reclaimableSlabPages -= n;
    else this.unreclaimableSlabPages -= n;
    s.freeSlots.push(this.sObjBase[slab]! / s.objects);
    if (s.debug) this.sDebug[slab] = undefined;
    this.sCache[slab] = 0;
    this.sNext[slab] = NONE;
    this.sPrev[slab] = NONE;
    this.sOnPartial[slab] = 0;
    this.sFrozen[slab] = 0;
    this.freeSlabIds.push(slab);
    this.pages.freePages(pfn, order);
  }

  // ---- node partial lists -------------------------------------------------

  private addPartial(s: SlubCache, n: number, slab: number, tail: number): void {
    s.nrPartial[n]!++;
    if (tail === DEACTIVATE_TO_TAIL) {
      const last = s.partialTail[n]!;
      this.sPrev[slab] = last;
      this.sNext[slab] = NONE;
      if (last === NONE) s.partialHead[n] = slab;
      else this.sNext[last] = slab;
      s.partialTail[n] = slab;
    } else {
      const first = s.partialHead[n]!;
      this.sNext[slab] = first;
      this.sPrev[slab] = NONE;
      if (first === NONE) s.partialTail[n] = slab;
      else this.sPrev[first] = slab;
      s.partialHead[n] = slab;
    }
    this.sOnPartial[slab] = 1;
  }

  private removePartial(s: SlubCache, n: number, slab: number): void {
    const prev = this.sPrev[slab]!;
    const next = this.sNext[slab]!;
    if (prev === NONE) s.partialHead[n] = next;
    else this.sNext[prev] = next;
    if (next === NONE) s.partialTail[n] = prev;
    else this.sPrev[next] = prev;
    this.sNext[slab] = NONE;
    this.sPrev[slab] = NONE;
    this.sOnPartial[slab] = 0;
    s.nrPartial[n]!--;
  }

  // ---- allocation -----------------------------------------------------------

  /** slab_alloc_node(): the lockless fast path, else ___slab_alloc(). Returns an address or -1. */
  private slabAllocNode(s: SlubCache, gfp: number, node: number, cpu: number): number {
    const obj = s.cpuFreelist[cpu]!;
    if (obj >= 0) {
      const slab = s.cpuSlab[cpu]!;
      if (node < 0 || this.sNid[slab] === node) {
        const i = this.sObjBase[slab]! + obj;
        s.cpuFreelist[cpu] = s.next[i]!;
        s.live[i] = 1;
        s.liveObjects++;
        return this.sAddr[slab]! + s.redLeftPad + obj * s.size;
      }
    }
    return s.debug ? this.allocDebug(s, gfp, node, cpu) : this.slowAlloc(s, gfp, node, cpu);
  }

  /** load_freelist: hand out the first object, the rest becomes the CPU freelist. */
  private loadFreelist(s: SlubCache, slab: number, obj: number, cpu: number): number {
    const i = this.sObjBase[slab]! + obj;
    s.cpuFreelist[cpu] = s.next[i]!;
    s.live[i] = 1;
    s.liveObjects++;
    return this.sAddr[slab]! + s.redLeftPad + obj * s.size;
  }

  /** get_freelist(): take the slab's freelist; the slab stays frozen only if there was one. */
  private getFreelist(slab: number): number {
    const fl = this.sFreelist[slab]!;
    this.sFreelist[slab] = NONE;
    this.sInuse[slab] = this.sObjects[slab]!;
    this.sFrozen[slab] = fl >= 0 ? 1 : 0;
    return fl;
  }

  /** freeze_slab() */
  private freezeSlab(slab: number): number {
    const fl = this.sFreelist[slab]!;
    this.sFreelist[slab] = NONE;
    this.sInuse[slab] = this.sObjects[slab]!;
    this.sFrozen[slab] = 1;
    return fl;
  }

  /** ___slab_alloc() */
  private slowAlloc(s: SlubCache, gfp: number, node: number, cpu: number): number {
    let slab = s.cpuSlab[cpu]!;
    let freelist: number;
    if (slab >= 0) {
      if (node >= 0 && this.sNid[slab] !== node) {
        // deactivate_slab: the CPU slab is on the wrong node
        freelist = s.cpuFreelist[cpu]!;
        s.cpuSlab[cpu] = NONE;
        s.cpuFreelist[cpu] = NONE;
        this.deactivateSlab(s, slab, freelist);
      } else {
        freelist = s.cpuFreelist[cpu]!;
        if (freelist < 0) freelist = this.getFreelist(slab);
        if (freelist >= 0) return this.loadFreelist(s, slab, freelist, cpu);
        // the slab is full: it leaves the CPU, on no list
        s.cpuSlab[cpu] = NONE;
      }
    }
    // new_slab: the per-CPU partial list first
    while (s.cpuPartialHead[cpu]! >= 0) {
      slab = s.cpuPartialHead[cpu]!;
      s.cpuPartialHead[cpu] = this.sNext[slab]!;
      if (node < 0 || this.sNid[slab] === node) {
        s.cpuSlab[cpu] = slab;
        freelist = this.getFreelist(slab);
        return this.loadFreelist(s, slab, freelist, cpu);
      }
      this.sNext[slab] = NONE;
      this.putPartials(s, slab);
    }
    // new_objects
    let tryThisnode = true;
    for (;;) {
      const thisnodeFirst = node >= 0 && (gfp & __GFP_THISNODE) === 0 && tryThisnode;
      const pcFlags = thisnodeFirst ? GFP_NOWAIT | __GFP_THISNODE : gfp;
      slab = this.getPartial(s, node, pcFlags, cpu);
      if (slab >= 0) {
        freelist = this.freezeSlab(slab);
        s.cpuSlab[cpu] = slab;
        return this.loadFreelist(s, slab, freelist, cpu);
      }
      slab = this.newSlab(s, pcFlags, node, cpu);
      if (slab < 0) {
        if (thisnodeFirst) {
          tryThisnode = false;
          continue;
        }
        return NONE;
      }
      freelist = this.sFreelist[slab]!;
      this.sFreelist[slab] = NONE;
      this.sInuse[slab] = this.sObjects[slab]!;
      this.sFrozen[slab] = 1;
      const nid = this.sNid[slab]!;
      s.nrSlabs[nid]!++;
      s.totalObjects[nid]! += this.sObjects[slab]!;
      s.cpuSlab[cpu] = slab;
      return this.loadFreelist(s, slab, freelist, cpu);
    }
  }

  /** The kmem_cache_debug() allocation path: one object at a time from the node lists (alloc_single_from_*). */
  private allocDebug(s: SlubCache, gfp: number, node: number, cpu: number): number {
    let tryThisnode = true;
    for (;;) {
      const thisnodeFirst = node >= 0 && (gfp & __GFP_THISNODE) === 0 && tryThisnode;
      const pcFlags = thisnodeFirst ? GFP_NOWAIT | __GFP_THISNODE : gfp;
      let slab = this.getPartial(s, node, pcFlags, cpu);
      if (slab >= 0) {
        this.allocDebugProcessing(s, slab, this.pcObject, cpu, gfp);
        return this.objAddr(s, slab, this.pcObject);
      }
      slab = this.newSlab(s, pcFlags, node, cpu);
      if (slab < 0) {
        if (thisnodeFirst) {
          tryThisnode = false;
          continue;
        }
        return NONE;
      }
      // alloc_single_from_new_slab()
      const base = this.sObjBase[slab]!;
      const obj = this.sFreelist[slab]!;
      this.sFreelist[slab] = s.next[base + obj]!;
      this.sInuse[slab] = 1;
      s.live[base + obj] = 1;
      s.liveObjects++;
      const nid = this.sNid[slab]!;
      if (this.sInuse[slab]! < this.sObjects[slab]!) this.addPartial(s, nid, slab, DEACTIVATE_TO_HEAD);
      s.nrSlabs[nid]!++;
      s.totalObjects[nid]! += this.sObjects[slab]!;
      this.allocDebugProcessing(s, slab, obj, cpu, gfp);
      return this.objAddr(s, slab, obj);
    }
  }

  /** alloc_debug_processing() after the checks passed: the alloc track, the original size, the object red-zoned as active. */
  private allocDebugProcessing(s: SlubCache, slab: number, obj: number, cpu: number, gfp: number): void {
    const d = this.sDebug[slab]!;
    d.origSize[obj] = s.kmalloc && this.origRequest > 0 ? this.origRequest : s.objectSize;
    if (s.storeUser) {
      d.allocCpu[obj] = cpu;
      d.allocWhen[obj] = this.clock.now();
    }
    if (d.mem) {
      const p = obj * s.size + s.redLeftPad;
      initObject(s, d.mem, p, SLUB_RED_ACTIVE, d.origSize[obj]!);
      // slab_post_alloc_hook(): __GFP_ZERO clears what was asked for
      if (gfp & __GFP_ZERO) d.mem.fill(0, p, p + d.origSize[obj]!);
    }
  }

  /**
   * free_debug_processing(): with SLAB_CONSISTENCY_CHECKS the object is
   * checked as allocated (and, when this free will discard the slab, its
   * other objects as free, as free_slab() would) before anything changes;
   * then the free track and the inactive red zones / poison.
   */
  private freeDebugProcessing(s: SlubCache, slab: number, idx: number, cpu: number): void {
    const d = this.sDebug[slab]!;
    const p = idx * s.size + s.redLeftPad;
    if (s.checks && d.mem) {
      const site: CheckSite = { slabAddr: this.sAddr[slab]!, out: [] };
      slabPadCheck(s, d.mem, this.sObjects[slab]!, site);
      checkObject(s, d.mem, p, SLUB_RED_ACTIVE, d.origSize[idx]!, site);
      const n = this.sNid[slab]!;
      if (this.sInuse[slab] === 1 && s.nrPartial[n]! >= s.minPartial) {
        for (let o = 0; o < this.sObjects[slab]!; o++) if (o !== idx) checkObject(s, d.mem, o * s.size + s.redLeftPad, SLUB_RED_INACTIVE, s.objectSize, site);
      }
      if (site.out.length) throw this.corrupt('free', s, this.objAddr(s, slab, idx), site.out);
    }
    if (s.storeUser) {
      d.freeCpu[idx] = cpu;
      d.freeWhen[idx] = this.clock.now();
    }
    if (d.mem) initObject(s, d.mem, p, SLUB_RED_INACTIVE, s.objectSize);
  }

  /** The alloc and free tracks of the object at `ptr` (SLAB_STORE_USER caches), else undefined. */
  trackOf(cache: KmemCache, ptr: number): { alloc: Track; free: Track } | undefined {
    const s = this.cacheById[cache.id];
    if (!s || !s.storeUser) return undefined;
    const slab = this.slabOf(ptr, 'track');
    if (slab < 0 || this.sCache[slab] !== s.id) return undefined;
    const idx = Math.floor((ptr - this.sAddr[slab]! - s.redLeftPad) / s.size);
    const d = this.sDebug[slab]!;
    return { alloc: { cpu: d.allocCpu[idx]!, when: d.allocWhen[idx]! }, free: { cpu: d.freeCpu[idx]!, when: d.freeWhen[idx]! } };
  }

  /**
   * alloc_consistency_checks() before the object is taken: check_slab()'s
   * padding check and check_object(SLUB_RED_INACTIVE). What is found is
   * restored and thrown (EOBJ_CORRUPT); nothing was allocated.
   */
  private allocConsistencyChecks(s: SlubCache, slab: number, obj: number): void {
    const d = this.sDebug[slab];
    if (!s.checks || !d?.mem) return;
    const site: CheckSite = { slabAddr: this.sAddr[slab]!, out: [] };
    slabPadCheck(s, d.mem, this.sObjects[slab]!, site);
    checkObject(s, d.mem, obj * s.size + s.redLeftPad, SLUB_RED_INACTIVE, s.objectSize, site);
    if (site.out.length) throw this.corrupt('allocation', s, this.objAddr(s, slab, obj), site.out);
  }

  /** The EOBJ_CORRUPT error for what a check found (slab_bug + object_err + slab_fix). */
  private corrupt(where: string, s: SlubCache, object: number, found: SlabCorruption[]): MmsimError {
    const first = found[0]!;
    const lines = found.map((c) => describeCorruption(c, hexPtr));
    return new MmsimError('EOBJ_CORRUPT', `BUG ${s.name}: ${first.what} overwritten, found on ${where} of object ${hexPtr(object)} ` +
      `(offset ${first.offset}); bytes restored, object not ${where === 'free' ? 'freed' : 'allocated'}:\n${lines.join('\n')}`, {
      plugin: 'slub', details: { cache: s.name, ptr: object, offset: first.offset, what: first.what, corruptions: found, track: this.trackOf(s, object) },
    });
  }

  private objAddr(s: SlubCache, slab: number, obj: number): number {
    return this.sAddr[slab]! + s.redLeftPad + obj * s.size;
  }

  /** get_partial() */
  private getPartial(s: SlubCache, node: number, pcFlags: number, cpu: number): number {
    const searchnode = node < 0 ? this.cpuNode[cpu]! : node;
    const slab = this.getPartialNode(s, searchnode, cpu);
    if (slab >= 0 || (node >= 0 && pcFlags & __GFP_THISNODE)) return slab;
    return this.getAnyPartial(s, pcFlags, cpu);
  }

  /** get_partial_node(): a slab for the CPU, and more for the CPU partial list (up to half its limit). */
  private getPartialNode(s: SlubCache, n: number, cpu: number): number {
    if (s.nrPartial[n] === 0) return NONE;
    if (s.debug) {
      // alloc_single_from_partial(): the first slab always has a free object
      const slab = s.partialHead[n]!;
      const base = this.sObjBase[slab]!;
      const obj = this.sFreelist[slab]!;
      this.allocConsistencyChecks(s, slab, obj);
      this.sFreelist[slab] = s.next[base + obj]!;
      this.sInuse[slab]!++;
      s.live[base + obj] = 1;
      s.liveObjects++;
      if (this.sInuse[slab] === this.sObjects[slab]) this.removePartial(s, n, slab);
      this.pcObject = obj;
      return slab;
    }
    let partial = NONE;
    let partialSlabs = 0;
    for (let slab = s.partialHead[n]!; slab >= 0;) {
      const next = this.sNext[slab]!;
      this.removePartial(s, n, slab);
      if (partial < 0) {
        partial = slab;
        if (s.cpuPartialSlabs === 0) break;
      } else {
        this.putCpuPartial(s, slab, false, cpu);
        if (++partialSlabs > s.cpuPartialSlabs >> 1) break;
      }
      slab = next;
    }
    return partial;
  }

  /** get_any_partial(): other nodes in zonelist order, where they keep more than min_partial slabs. */
  private getAnyPartial(s: SlubCache, pcFlags: number, cpu: number): number {
    if (this.nrNodes === 1) return NONE;
    const flags = pcFlags & ~GFP_SLAB_BUG_MASK;
    const highest = this.topology.zoneIndex(gfpZone(flags, this.topology.zoneConfig));
    const lists = flags & __GFP_THISNODE ? this.topology.zonelistsThisNode : this.topology.zonelists;
    for (const z of lists[this.cpuNode[cpu]!] ?? []) {
      if (highest >= 0 && z.idx > highest) continue;
      if (s.nrPartial[z.nid]! > s.minPartial) {
        const slab = this.getPartialNode(s, z.nid, cpu);
        if (slab >= 0) return slab;
      }
    }
    return NONE;
  }

  /** put_cpu_partial(): push a slab on this CPU's partial list; a full list drains to the nodes first. */
  private putCpuPartial(s: SlubCache, slab: number, drain: boolean, cpu: number): void {
    let old = s.cpuPartialHead[cpu]!;
    let slabs = 0;
    let toPut = NONE;
    if (old >= 0) {
      if (drain && this.sSlabs[old]! >= s.cpuPartialSlabs) {
        toPut = old;
        old = NONE;
      } else {
        slabs = this.sSlabs[old]!;
      }
    }
    slabs++;
    this.sSlabs[slab] = slabs;
    this.sNext[slab] = old;
    s.cpuPartialHead[cpu] = slab;
    if (toPut >= 0) this.putPartials(s, toPut);
  }

  /** __put_partials(): CPU partial slabs go to their nodes' partial lists, empty ones beyond min_partial are freed. */
  private putPartials(s: SlubCache, list: number): void {
    let discard = NONE;
    while (list >= 0) {
      const slab = list;
      list = this.sNext[slab]!;
      const n = this.sNid[slab]!;
      if (this.sInuse[slab] === 0 && s.nrPartial[n]! >= s.minPartial) {
        this.sNext[slab] = discard;
        discard = slab;
      } else {
        this.addPartial(s, n, slab, DEACTIVATE_TO_TAIL);
      }
    }
    while (discard >= 0) {
      const slab = discard;
      discard = this.sNext[slab]!;
      this.discardSlab(s, slab);
    }
  }

  /** deactivate_slab(): splice the CPU freelist back, unfreeze, and list (or free) the slab. */
  private deactivateSlab(s: SlubCache, slab: number, freelist: number): void {
    const n = this.sNid[slab]!;
    const tail = this.sFreelist[slab]! >= 0 ? DEACTIVATE_TO_TAIL : DEACTIVATE_TO_HEAD;
    const base = this.sObjBase[slab]!;
    let last = NONE;
    let cnt = 0;
    for (let o = freelist; o >= 0; o = s.next[base + o]!) {
      last = o;
      cnt++;
    }
    if (last >= 0) {
      s.next[base + last] = this.sFreelist[slab]!;
      this.sFreelist[slab] = freelist;
      this.sInuse[slab]! -= cnt;
    }
    this.sFrozen[slab] = 0;
    if (this.sInuse[slab] === 0 && s.nrPartial[n]! >= s.minPartial) this.discardSlab(s, slab);
    else if (this.sFreelist[slab]! >= 0) this.addPartial(s, n, slab, tail);
  }

  // ---- free -----------------------------------------------------------------

  /**
   * Finds the slab object `ptr` names, or throws (state untouched):
   * EBAD_POINTER for an address that is no object start, EDOUBLE_FREE (or
   * EBAD_POINTER for ksize) for an object that is not allocated.
   */
  private objectIndex(s: SlubCache, slab: number, ptr: number, op: string, freeing: boolean): number {
    const idx = (ptr - this.sAddr[slab]! - s.redLeftPad) / s.size;
    return this.checks.objectIndex(s, ptr, op, freeing, idx, this.sObjects[slab]!, s.live, this.sObjBase[slab]!);
  }

  /** The slab holding ptr (page->private of its page), or -1 when its page is no slab page. */
  private slabOf(ptr: number, op: string): number {
    return this.checks.virtToSlab(ptr, op);
  }

  /** do_slab_free(): to the CPU freelist when the object's slab is this CPU's slab, else __slab_free(). */
  private slabFree(s: SlubCache, slab: number, idx: number, cpu: number): void {
    const i = this.sObjBase[slab]! + idx;
    s.live[i] = 0;
    s.liveObjects--;
    if (slab === s.cpuSlab[cpu]) {
      s.next[i] = s.cpuFreelist[cpu]!;
      s.cpuFreelist[cpu] = idx;
      return;
    }
    if (s.debug) this.freeToPartialList(s, slab, idx);
    else this.slabFreeSlow(s, slab, idx, cpu);
  }

  /** __slab_free() */
  private slabFreeSlow(s: SlubCache, slab: number, idx: number, cpu: number): void {
    const base = this.sObjBase[slab]!;
    const prior = this.sFreelist[slab]!;
    s.next[base + idx] = prior;
    this.sFreelist[slab] = idx;
    const inuse = --this.sInuse[slab]!;
    const wasFrozen = this.sFrozen[slab] === 1;
    let takeNode = false;
    let onNodePartial = false;
    if ((inuse === 0 || prior < 0) && !wasFrozen && (!s.hasCpuPartial || prior >= 0)) {
      takeNode = true;
      onNodePartial = this.sOnPartial[slab] === 1;
    }
    if (!takeNode) {
      // a frozen slab needs nothing; a full slab that got its first free goes on the CPU partial list
      if (!wasFrozen && s.hasCpuPartial && prior < 0) this.putCpuPartial(s, slab, true, cpu);
      return;
    }
    // partially free but on a CPU partial list: leave it there
    if (prior >= 0 && !onNodePartial) return;
    const n = this.sNid[slab]!;
    if (inuse === 0 && s.nrPartial[n]! >= s.minPartial) {
      if (prior >= 0) this.removePartial(s, n, slab);
      this.discardSlab(s, slab);
      return;
    }
    if (!s.hasCpuPartial && prior < 0) this.addPartial(s, n, slab, DEACTIVATE_TO_TAIL);
  }

  /** free_to_partial_list(): the kmem_cache_debug() free path. */
  private freeToPartialList(s: SlubCache, slab: number, idx: number): void {
    const n = this.sNid[slab]!;
    const prior = this.sFreelist[slab]!;
    s.next[this.sObjBase[slab]! + idx] = prior;
    this.sFreelist[slab] = idx;
    const inuse = --this.sInuse[slab]!;
    const slabFree = inuse === 0 && s.nrPartial[n]! >= s.minPartial;
    if (prior < 0) {
      if (!slabFree) this.addPartial(s, n, slab, DEACTIVATE_TO_TAIL);
    } else if (slabFree) {
      this.removePartial(s, n, slab);
    }
    if (slabFree) this.discardSlab(s, slab);
  }

  // ---- kmem_cache_* -----------------------------------------------------------

  private accounted(s: SlubCache | null, gfp: number): boolean {
    return this.options.memcg && ((gfp & __GFP_ACCOUNT) !== 0 || (s !== null && (s.flags & SLAB_ACCOUNT) !== 0));
  }

  cacheAlloc(cache: KmemCache, gfp: number, opts?: AllocOptions): number | null {
    const s = this.lookup(cache);
    let cpu = 0;
    let node = NONE;
    if (opts !== undefined) {
      cpu = this.checks.cpuOf(opts.cpu);
      node = this.checks.nodeOf(opts.nid);
    }
    const ptr = this.slabAllocNode(s, gfp, node, cpu);
    if (this.ev.kmem_cache_alloc) {
      this.events.emit('kmem_cache_alloc', {
        call_site: 0, ptr: ptr < 0 ? 0 : ptr, name: s.name, bytes_req: s.objectSize, bytes_alloc: s.size, gfp_flags: gfp,
        node: opts?.nid ?? -1, accounted: this.accounted(s, gfp),
      });
    }
    return ptr < 0 ? null : ptr;
  }

  cacheFree(cache: KmemCache, ptr: number, opts?: FreeOptions): void {
    const s = this.lookup(cache);
    const cpu = opts === undefined ? 0 : this.checks.cpuOf(opts.cpu);
    const slab = this.checks.freeSlab(this.sCache, this.cacheById, s, ptr);
    const idx = this.objectIndex(s, slab, ptr, 'kmem_cache_free', true);
    if (s.debug) this.freeDebugProcessing(s, slab, idx, cpu);
    if (s.reclaimable) this.shrinker.forget(s.id, ptr);
    this.slabFree(s, slab, idx, cpu);
    if (this.ev.kmem_cache_free) this.events.emit('kmem_cache_free', { call_site: 0, ptr, name: s.name });
  }

  /** flush_all(): every CPU's slab deactivated, every CPU partial list put back on the nodes. */
  private flushAll(s: SlubCache): void {
    for (let cpu = 0; cpu < this.nrCpuSlots; cpu++) {
      const slab = s.cpuSlab[cpu]!;
      if (slab >= 0) {
        const freelist = s.cpuFreelist[cpu]!;
        s.cpuSlab[cpu] = NONE;
        s.cpuFreelist[cpu] = NONE;
        this.deactivateSlab(s, slab, freelist);
      }
      const partial = s.cpuPartialHead[cpu]!;
      if (partial >= 0) {
        s.cpuPartialHead[cpu] = NONE;
        this.putPartials(s, partial);
      }
    }
  }

  /** __kmem_cache_do_shrink(): free empty partial slabs, sort the rest fullest first. */
  private doShrink(s: SlubCache): void {
    for (let n = 0; n < this.nrNodes; n++) {
      if (s.nrPartial[n] === 0) continue;
      const discard: number[] = [];
      const promote: number[][] = Array.from({ length: SHRINK_PROMOTE_MAX }, () => []);
      const rest: number[] = [];
      for (let slab = s.partialHead[n]!; slab >= 0; slab = this.sNext[slab]!) {
        const free = this.sObjects[slab]! - this.sInuse[slab]!;
        if (free === this.sObjects[slab]) discard.unshift(slab); // list_move: to the head
        else if (free <= SHRINK_PROMOTE_MAX) promote[free - 1]!.unshift(slab);
        else rest.push(slab);
      }
      // rebuild: promote[0] .. promote[31] spliced at the head, the rest after
      for (let slab = s.partialHead[n]!; slab >= 0;) {
        const next = this.sNext[slab]!;
        this.removePartial(s, n, slab);
        slab = next;
      }
      for (const bucket of promote) for (const slab of bucket) this.addPartial(s, n, slab, DEACTIVATE_TO_TAIL);
      for (const slab of rest) this.addPartial(s, n, slab, DEACTIVATE_TO_TAIL);
      for (const slab of discard) this.discardSlab(s, slab);
    }
  }

  shrinkCache(cache: KmemCache): number {
    const s = this.lookup(cache);
    // free_slab() checks a debug cache's objects before its slabs go: check first, change nothing on failure
    if (s.checks && s.keepsBytes) this.validateCache(s);
    const before = s.pages;
    this.flushAll(s);
    this.doShrink(s);
    return before - s.pages;
  }

  destroyCache(cache: KmemCache): void {
    const s = this.lookup(cache);
    if (!kmemCacheRelease(this.checks, s)) return;
    if (s.checks && s.keepsBytes) this.validateCache(s);
    this.shrinker.untrack(s);
    // __kmem_cache_shutdown(): flush, then free_partial() on every node (every slab is empty now)
    this.flushAll(s);
    for (let n = 0; n < this.nrNodes; n++) {
      for (let slab = s.partialHead[n]!; slab >= 0;) {
        const next = this.sNext[slab]!;
        this.removePartial(s, n, slab);
        this.discardSlab(s, slab);
        slab = next;
      }
    }
    s.refcount = 0;
    this.cacheById[s.id] = undefined;
    this.list.splice(this.list.indexOf(s), 1);
  }

  // ---- kmalloc ----------------------------------------------------------------

  /** kmalloc_type() */
  private kmallocType(gfp: number): KmallocType {
    return this.types.typeOf(gfp);
  }

  /** The cache kmalloc(size, gfp) uses (kmalloc_slab()), for 1 ≤ size ≤ 8192. */
  kmallocSlab(size: number, gfp: number): KmemCache {
    const index = size <= 192 ? KMALLOC_SIZE_INDEX[(size - 1) >> 3]! : 32 - Math.clz32(size - 1);
    return this.kmallocCaches[this.kmallocType(gfp) * NR_KMALLOC_INDEX + index]!;
  }

  kmalloc(size: number, gfp: number, opts?: AllocOptions): number | null {
    // The common case — a kmalloc-N cache with objects on this CPU's freelist, no node asked
    // for, no tracepoint — is kept small enough for the JIT to inline into callers.
    let cpu = 0;
    if (opts !== undefined) {
      cpu = opts.cpu ?? 0;
      if ((opts.nid !== undefined && opts.nid !== -1) || !((cpu | 0) === cpu && cpu >= 0 && cpu < this.nrCpuSlots)) return this.kmallocSlow(size, gfp, opts);
    }
    if ((gfp & this.notNormalBits) === 0 && size > 0 && size <= KMALLOC_MAX_CACHE_SIZE && (size | 0) === size && !this.ev.kmalloc) {
      const s = this.kmallocCaches[size <= 192 ? KMALLOC_SIZE_INDEX[(size - 1) >> 3]! : 32 - Math.clz32(size - 1)]!;
      const obj = s.cpuFreelist[cpu]!;
      if (obj >= 0 && !s.debug) {
        const slab = s.cpuSlab[cpu]!;
        const i = this.sObjBase[slab]! + obj;
        s.cpuFreelist[cpu] = s.next[i]!;
        s.live[i] = 1;
        s.liveObjects++;
        return this.sAddr[slab]! + s.redLeftPad + obj * s.size;
      }
    }
    return this.kmallocSlow(size, gfp, opts);
  }

  /** kmalloc() in full: every size, gfp type, node, debug cache and the tracepoint. */
  private kmallocSlow(size: number, gfp: number, opts?: AllocOptions): number | null {
    let index: number;
    if (size <= 192 && size > 0 && (size | 0) === size) index = KMALLOC_SIZE_INDEX[(size - 1) >> 3]!;
    else if (size > 192 && size <= KMALLOC_MAX_CACHE_SIZE && (size | 0) === size) index = 32 - Math.clz32(size - 1);
    else return this.kmallocOther(size, gfp, opts);
    const s = this.kmallocCaches[((gfp & this.notNormalBits) === 0 ? 0 : this.kmallocType(gfp) * NR_KMALLOC_INDEX) + index]!;
    let cpu = 0;
    let node = NONE;
    if (opts !== undefined) {
      cpu = this.checks.cpuOf(opts.cpu);
      node = this.checks.nodeOf(opts.nid);
    }
    let ptr: number;
    if (s.debug) {
      ptr = this.kmallocDebug(s, size, gfp, node, cpu);
    } else {
      // slab_alloc_node()'s lockless fast path, inline
      const obj = s.cpuFreelist[cpu]!;
      const slab = s.cpuSlab[cpu]!;
      if (obj >= 0 && (node < 0 || this.sNid[slab] === node)) {
        const i = this.sObjBase[slab]! + obj;
        s.cpuFreelist[cpu] = s.next[i]!;
        s.live[i] = 1;
        s.liveObjects++;
        ptr = this.sAddr[slab]! + s.redLeftPad + obj * s.size;
      } else {
        ptr = this.slowAlloc(s, gfp, node, cpu);
      }
    }
    if (this.ev.kmalloc) {
      this.events.emit('kmalloc', {
        call_site: 0, ptr: ptr < 0 ? 0 : ptr, bytes_req: size, bytes_alloc: s.size, gfp_flags: gfp, node: opts?.nid ?? -1,
        accounted: this.accounted(s, gfp),
      });
    }
    return ptr < 0 ? null : ptr;
  }

  /** kmalloc from a debug cache: the debug path remembers the requested size (set_orig_size). */
  private kmallocDebug(s: SlubCache, size: number, gfp: number, node: number, cpu: number): number {
    this.origRequest = size;
    try {
      return this.allocDebug(s, gfp, node, cpu);
    } finally {
      this.origRequest = 0;
    }
  }

  /** kmalloc(0), bad sizes and ___kmalloc_large_node(). */
  private kmallocOther(size: number, gfp: number, opts?: AllocOptions): number | null {
    if (size === 0) return ZERO_SIZE_PTR;
    this.checks.checkKmallocSize('kmalloc', size);
    const cpu = opts === undefined ? 0 : this.checks.cpuOf(opts.cpu);
    const node = opts === undefined ? NONE : this.checks.nodeOf(opts.nid);
    const order = getOrder(size);
    const pfn = this.allocPages((gfp & ~GFP_SLAB_BUG_MASK) | __GFP_COMP, order, node, cpu);
    const ptr = pfn === null ? 0 : this.large.add(pfn, order);
    if (this.ev.kmalloc) {
      this.events.emit('kmalloc', {
        call_site: 0, ptr, bytes_req: size, bytes_alloc: PAGE_SIZE << order, gfp_flags: gfp, node: opts?.nid ?? -1,
        accounted: this.accounted(null, gfp),
      });
    }
    return pfn === null ? null : ptr;
  }

  kzalloc(size: number, gfp: number, opts?: AllocOptions): number | null {
    return this.kmalloc(size, gfp | __GFP_ZERO, opts);
  }

  kfree(ptr: number | null, opts?: FreeOptions): void {
    // do_slab_free()'s fast path, small enough to inline: a live object of a plain cache, no tracepoint
    if (opts === undefined && typeof ptr === 'number' && ptr > ZERO_SIZE_PTR && !this.ev.kfree) {
      const page = this.memory.pfnToPage(Math.floor(ptr / PAGE_SIZE));
      if (page >= 0 && this.t.flags[page]! & PG_slab) {
        const slab = this.t.private[page]!;
        const s = this.cacheById[this.sCache[slab]!]!;
        // obj_to_index() by reciprocal multiplication (as the kernel's reciprocal_divide); verified exactly
        const off = ptr - this.sAddr[slab]! - s.redLeftPad;
        const idx = (off * s.recipSize + 0.5) | 0;
        const i = this.sObjBase[slab]! + idx;
        if (idx * s.size === off && off >= 0 && idx < this.sObjects[slab]! && s.live[i] === 1 && !s.debug && !s.reclaimable) {
          s.live[i] = 0;
          s.liveObjects--;
          if (slab === s.cpuSlab[0]) {
            s.next[i] = s.cpuFreelist[0]!;
            s.cpuFreelist[0] = idx;
          } else {
            this.slabFreeSlow(s, slab, idx, 0);
          }
          return;
        }
      }
    }
    this.kfreeSlow(ptr, opts);
  }

  /** kfree() in full: NULL and ZERO_SIZE_PTR, other CPUs, the tracepoint, then the checked path. */
  private kfreeSlow(ptr: number | null, opts?: FreeOptions): void {
    if (ptr === null || ptr === undefined || (ptr >= 0 && ptr <= ZERO_SIZE_PTR)) {
      // trace_kfree() fires before the ZERO_OR_NULL_PTR() check
      if (this.ev.kfree) this.events.emit('kfree', { call_site: 0, ptr: ptr ?? 0 });
      return;
    }
    const cpu = opts === undefined ? 0 : this.checks.cpuOf(opts.cpu);
    if (!this.ev.kfree && typeof ptr === 'number' && this.freeFast(ptr, cpu)) return;
    this.kfreeChecked(ptr, cpu);
  }

  /** The plain-cache free of kfree()'s fast path for any CPU; false (nothing done) when `ptr` needs the checked path. */
  private freeFast(ptr: number, cpu: number): boolean {
    const page = this.memory.pfnToPage(Math.floor(ptr / PAGE_SIZE));
    if (page < 0 || !(this.t.flags[page]! & PG_slab)) return false;
    const slab = this.t.private[page]!;
    const s = this.cacheById[this.sCache[slab]!]!;
    const off = ptr - this.sAddr[slab]! - s.redLeftPad;
    const idx = (off * s.recipSize + 0.5) | 0;
    const i = this.sObjBase[slab]! + idx;
    if (idx * s.size !== off || off < 0 || idx >= this.sObjects[slab]! || s.live[i] !== 1 || s.debug || s.reclaimable) return false;
    s.live[i] = 0;
    s.liveObjects--;
    if (slab === s.cpuSlab[cpu]) {
      s.next[i] = s.cpuFreelist[cpu]!;
      s.cpuFreelist[cpu] = idx;
    } else {
      this.slabFreeSlow(s, slab, idx, cpu);
    }
    return true;
  }

  /** kfree() of everything but the plain fast case: pointer checks with typed errors, debug and LRU bookkeeping, large kmallocs. */
  private kfreeChecked(ptr: number, cpu: number): void {
    if (typeof ptr !== 'number') throw this.checks.err('EBAD_POINTER', `kfree(${String(ptr)}): not a pointer`, { ptr });
    const slab = this.slabOf(ptr, 'kfree');
    if (slab >= 0) {
      const s = this.cacheById[this.sCache[slab]!]!;
      const idx = this.objectIndex(s, slab, ptr, 'kfree', true);
      if (s.debug) this.freeDebugProcessing(s, slab, idx, cpu);
      if (s.reclaimable) this.shrinker.forget(s.id, ptr);
      this.slabFree(s, slab, idx, cpu);
    } else {
      this.freeLarge(ptr);
    }
    if (this.ev.kfree) this.events.emit('kfree', { call_site: 0, ptr });
  }

  /** free_large_kmalloc() */
  private freeLarge(ptr: number): void {
    const { pfn, order } = this.large.remove(ptr);
    this.pages.freePages(pfn, order);
  }

  /** slab_ksize() */
  private slabKsize(s: SlubCache): number {
    if (s.flags & (SLAB_RED_ZONE | SLAB_POISON)) return s.objectSize;
    if (s.flags & (SLAB_TYPESAFE_BY_RCU | SLAB_STORE_USER)) return s.inuse;
    return s.size;
  }

  private ksizeOf(ptr: number, op: string, freeing: boolean): number {
    if (typeof ptr !== 'number') throw this.checks.err('EBAD_POINTER', `${op}(${String(ptr)}): not a pointer`, { ptr });
    const slab = this.slabOf(ptr, op);
    if (slab >= 0) {
      const s = this.cacheById[this.sCache[slab]!]!;
      const idx = this.objectIndex(s, slab, ptr, op, freeing);
      // skip_orig_size_check(): whoever asked ksize() may use all of it, so the kmalloc red zone goes
      if (s.debug) this.sDebug[slab]!.origSize[idx] = s.objectSize;
      return this.slabKsize(s);
    }
    return PAGE_SIZE << this.large.orderOf(ptr, op, freeing);
  }

  ksize(ptr: number): number {
    if (zeroOrNullPtr(ptr)) return 0;
    return this.ksizeOf(ptr, 'ksize', false);
  }

  /** krealloc() of 6.12: kfree(p) whenever the object moved, so krealloc(NULL) traces a kfree(NULL). */
  krealloc(ptr: number | null, size: number, gfp: number, opts?: AllocOptions): number | null {
    return krealloc({ ksizeOf: (p, op) => this.ksizeOf(p, op, true), kmalloc: (n, g, o) => this.kmalloc(n, g, o), kfree: (p, o) => this.kfree(p, o) },
      this.checks, ptr, size, gfp, opts, true);
  }

  // ---- debugging: bytes, validation, list_lru ------------------------------------

  /** The slab and byte offset of `addr` in a byte-keeping debug cache, or null; EBAD_POINTER when no memory is there. */
  /** A debug slab's bytes start at the slab's address. */
  private readonly slabBytes: SlabBytes = (slab) => {
    const d = this.sDebug[slab];
    return d?.mem ? { mem: d.mem, start: this.sAddr[slab]! } : undefined;
  };

  writeObject(ptr: number, offset: number, data: ArrayLike<number>): boolean {
    return this.checks.writeObject(this.slabBytes, ptr, offset, data);
  }

  readObject(ptr: number, offset: number, length: number): Uint8Array | null {
    return this.checks.readObject(this.slabBytes, ptr, offset, length);
  }

  validateCache(cache: KmemCache): void {
    const s = this.lookup(cache);
    if (!s.keepsBytes) return;
    const found: SlabCorruption[] = [];
    for (let slab = 0; slab < this.slabTop; slab++) {
      if (this.sCache[slab] !== s.id) continue;
      const d = this.sDebug[slab]!;
      const site: CheckSite = { slabAddr: this.sAddr[slab]!, out: found };
      slabPadCheck(s, d.mem!, this.sObjects[slab]!, site);
      const base = this.sObjBase[slab]!;
      for (let o = 0; o < this.sObjects[slab]!; o++) {
        const live = s.live[base + o] === 1;
        checkObject(s, d.mem!, o * s.size + s.redLeftPad, live ? SLUB_RED_ACTIVE : SLUB_RED_INACTIVE, live ? d.origSize[o]! : s.objectSize, site);
      }
    }
    if (found.length) throw this.corrupt('validation', s, found[0]!.object, found);
  }

  /** The node of the page holding `ptr`. */
  private nidOf(ptr: number): number {
    const slab = this.slabOf(ptr, 'list_lru');
    return slab >= 0 ? this.sNid[slab]! : this.nodeOfPfn(Math.floor(ptr / PAGE_SIZE));
  }

  lruAdd(cache: KmemCache, ptr: number): boolean {
    const s = this.lookup(cache);
    const lru = this.checks.lruOf(this.shrinker, s, 'list_lru_add');
    const slab = this.checks.slabOfCache(this.sCache, s, ptr, 'list_lru_add');
    this.objectIndex(s, slab, ptr, 'list_lru_add', false);
    return lru.add(ptr, this.nidOf(ptr));
  }

  lruDel(cache: KmemCache, ptr: number): boolean {
    return this.checks.lruOf(this.shrinker, this.lookup(cache), 'list_lru_del').del(ptr);
  }

  // ---- reports ------------------------------------------------------------------

  /** count_partial_free_approx() */
  private partialFree(s: SlubCache, n: number): number {
    const nr = s.nrPartial[n]!;
    let x = 0;
    if (nr <= MAX_PARTIAL_TO_SCAN) {
      for (let slab = s.partialHead[n]!; slab >= 0; slab = this.sNext[slab]!) x += this.sObjects[slab]! - this.sInuse[slab]!;
      return x;
    }
    let scanned = 0;
    for (let slab = s.partialHead[n]!; slab >= 0; slab = this.sNext[slab]!) {
      x += this.sObjects[slab]! - this.sInuse[slab]!;
      if (++scanned === MAX_PARTIAL_TO_SCAN / 2) break;
    }
    for (let slab = s.partialTail[n]!; slab >= 0; slab = this.sPrev[slab]!) {
      x += this.sObjects[slab]! - this.sInuse[slab]!;
      if (++scanned === MAX_PARTIAL_TO_SCAN) break;
    }
    // mult_frac(x, nr_partial, scanned)
    const q = Math.floor(x / scanned);
    const r = x % scanned;
    x = q * nr + Math.floor((r * nr) / scanned);
    return Math.min(x, s.totalObjects[n]!);
  }

  /** get_slabinfo() for one cache. */
  slabinfoOf(cache: KmemCache): SlabInfo {
    const s = this.lookup(cache);
    let nrSlabs = 0;
    let nrObjs = 0;
    let nrFree = 0;
    for (let n = 0; n < this.nrNodes; n++) {
      nrSlabs += s.nrSlabs[n]!;
      nrObjs += s.totalObjects[n]!;
      nrFree += this.partialFree(s, n);
    }
    return {
      name: s.name,
      activeObjs: this.options.exactSlabinfo ? s.liveObjects : nrObjs - nrFree,
      numObjs: nrObjs,
      objSize: s.size,
      objPerSlab: s.objects,
      pagesPerSlab: 1 << s.order,
      limit: 0,
      batchCount: 0,
      shared: 0,
      activeSlabs: nrSlabs,
      numSlabs: nrSlabs,
      sharedAvail: 0,
    };
  }

  slabinfo(): SlabInfo[] {
    return slabinfoRows(this.list, (s) => this.slabinfoOf(s));
  }

  stats(): SlabStats {
    return { reclaimablePages: this.reclaimableSlabPages, unreclaimablePages: this.unreclaimableSlabPages + this.large.pages };
  }

  // ---- CONFIG_DEBUG_VM ------------------------------------------------------------

  /** validate_slab_cache() for every cache, plus the page-table and page-count cross-checks. */
  check(): void {
    const bad = (msg: string): never => this.checks.corrupt(msg);
    const t = this.t;
    const slabsOf = this.checks.slabsByCache(this.sCache, this.slabTop, this.cacheById);
    let reclaimable = 0;
    let unreclaimable = 0;
    for (const s of this.list) {
      const slabs = slabsOf.get(s.id) ?? [];
      const where = (slab: number) => `cache '${s.name}' slab ${slab} (pfn ${this.sPfn[slab]})`;
      const cpuOfSlab = new Map<number, number>();
      for (let c = 0; c < this.nrCpuSlots; c++) {
        const slab = s.cpuSlab[c]!;
        if (slab >= 0) {
          if (this.sCache[slab] !== s.id) bad(`cache '${s.name}' CPU ${c} slab ${slab} is not the cache's`);
          if (cpuOfSlab.has(slab)) bad(`${where(slab)} is the CPU slab of two CPUs`);
          cpuOfSlab.set(slab, c);
        } else if (s.cpuFreelist[c] !== NONE) {
          bad(`cache '${s.name}' CPU ${c} has a freelist but no slab`);
        }
      }
      const onCpuPartial = new Set<number>();
      for (let c = 0; c < this.nrCpuSlots; c++) {
        for (let slab = s.cpuPartialHead[c]!; slab >= 0; slab = this.sNext[slab]!) {
          if (onCpuPartial.has(slab) || cpuOfSlab.has(slab)) bad(`${where(slab)} is on two CPU lists`);
          if (this.sFrozen[slab] || this.sOnPartial[slab]) bad(`${where(slab)} on a CPU partial list is frozen or node-listed`);
          onCpuPartial.add(slab);
        }
      }
      const nodeSlabs = new Float64Array(this.nrNodes);
      const nodeObjs = new Float64Array(this.nrNodes);
      let live = 0;
      let pages = 0;
      for (const slab of slabs) {
        const objects = this.sObjects[slab]!;
        const base = this.sObjBase[slab]!;
        const order = this.sOrder[slab]!;
        const nid = this.sNid[slab]!;
        nodeSlabs[nid]!++;
        nodeObjs[nid]! += objects;
        pages += 1 << order;
        if (objects !== s.objects && objects !== s.minObjects) bad(`${where(slab)} has ${objects} objects`);
        const seen = new Set<number>();
        const walk = (head: number, what: string): number => {
          let n = 0;
          for (let o = head; o >= 0; o = s.next[base + o]!) {
            if (o >= objects) bad(`${where(slab)}: ${what} holds object ${o} of ${objects}`);
            if (seen.has(o)) bad(`${where(slab)}: object ${o} is on a freelist twice`);
            if (s.live[base + o]) bad(`${where(slab)}: allocated object ${o} is on the ${what}`);
            seen.add(o);
            n++;
          }
          return n;
        };
        const slabFree = walk(this.sFreelist[slab]!, 'slab freelist');
        if (this.sInuse[slab] !== objects - slabFree) bad(`${where(slab)}: inuse ${this.sInuse[slab]} but ${objects - slabFree} objects off its freelist`);
        const cpu = cpuOfSlab.get(slab);
        const cpuFree = cpu === undefined ? 0 : walk(s.cpuFreelist[cpu]!, 'CPU freelist');
        let liveHere = 0;
        for (let o = 0; o < objects; o++) liveHere += s.live[base + o]!;
        if (liveHere !== objects - slabFree - cpuFree) bad(`${where(slab)}: ${liveHere} objects marked allocated, ${objects - slabFree - cpuFree} expected`);
        live += liveHere;
        if ((this.sFrozen[slab] === 1) !== (cpu !== undefined)) bad(`${where(slab)}: frozen ${this.sFrozen[slab]} but CPU slab of ${cpu ?? 'none'}`);
        if (this.sOnPartial[slab] && this.sInuse[slab] === objects) bad(`${where(slab)}: full slab on the partial list`);
        const pfn = this.sPfn[slab]!;
        for (let i = 0; i < 1 << order; i++) {
          const page = this.memory.pfnToPage(pfn + i);
          if (!(t.flags[page]! & PG_slab) || t.private[page] !== slab || t.ownerKind[page] !== PageOwner.SLAB || t.owner[page] !== s.id) {
            bad(`${where(slab)}: page ${pfn + i} is not marked as this slab's`);
          }
        }
      }
      for (let n = 0; n < this.nrNodes; n++) {
        if (nodeSlabs[n] !== s.nrSlabs[n] || nodeObjs[n] !== s.totalObjects[n]) {
          bad(`cache '${s.name}' node ${n}: ${nodeSlabs[n]} slabs / ${nodeObjs[n]} objects, counters say ${s.nrSlabs[n]} / ${s.totalObjects[n]}`);
        }
        let count = 0;
        let prev = NONE;
        for (let slab = s.partialHead[n]!; slab >= 0; slab = this.sNext[slab]!) {
          if (this.sCache[slab] !== s.id || this.sNid[slab] !== n || !this.sOnPartial[slab]) bad(`cache '${s.name}' node ${n}: slab ${slab} does not belong on this partial list`);
          if (this.sPrev[slab] !== prev) bad(`cache '${s.name}' node ${n}: partial list links broken at slab ${slab}`);
          prev = slab;
          if (++count > slabs.length) bad(`cache '${s.name}' node ${n}: partial list loops`);
        }
        if (s.partialTail[n] !== prev) bad(`cache '${s.name}' node ${n}: partial list tail is wrong`);
        if (count !== s.nrPartial[n]) bad(`cache '${s.name}' node ${n}: ${count} slabs on the partial list, nr_partial is ${s.nrPartial[n]}`);
      }
      if (live !== s.liveObjects) bad(`cache '${s.name}': ${live} objects allocated, counter says ${s.liveObjects}`);
      if (pages !== s.pages) bad(`cache '${s.name}': slabs hold ${pages} pages, counter says ${s.pages}`);
      if (s.flags & SLAB_RECLAIM_ACCOUNT) reclaimable += pages;
      else unreclaimable += pages;
    }
    if (reclaimable !== this.reclaimableSlabPages || unreclaimable !== this.unreclaimableSlabPages) {
      bad(`slab pages ${reclaimable}/${unreclaimable} (reclaimable/unreclaimable), counters say ${this.reclaimableSlabPages}/${this.unreclaimableSlabPages}`);
    }
    this.large.check(bad);
  }
}
