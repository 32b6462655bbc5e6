/**
 * SLAB (mm/slab.c, Linux 6.1, CONFIG_NUMA): per-node full / partial / free
 * slab lists, per-CPU array caches (LIFO stacks of free objects) with the
 * limit / batchcount / shared tunables enable_cpucache() sets, a shared
 * array per node, alien caches for objects freed on another node's CPU,
 * cache colouring (colour_off, colour_next), the slab's freelist (an array
 * of object indices) on the slab, off the slab (kmalloc'ed) or in a free
 * object, free_limit deciding when free slabs go back to the page
 * allocator, and cache_reap() draining arrays and free slabs over time.
 *
 * A slab is an index into the slab table (page->private of each of its
 * pages); an object is addressed by s_mem + index × size. Array caches hold
 * object addresses. The simulator keeps an allocated bit per object, so a
 * double free is always caught, and the bytes of debug caches.
 * @module
 */
import {
  type CacheOptions, CLOCK, EVENTS, type EventBus, getOrder, gfpZone, type KmemCache, MEMORY_MODEL, type MemoryModel,
  MmsimError, PAGE_ALLOCATOR, PAGE_SIZE, type PageAllocator, PageFrameTable, PageOwner, PG_slab, PG_tail,
  POISON_END, POISON_FREE, POISON_INUSE, type SimClock, SLAB_ACCOUNT, SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_POISON,
  SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE, SLAB_STORE_USER, type SlabAllocOptions, type SlabAllocator, type SlabCorruption,
  type SlabFreeOptions, type SlabInfo, type SlabStats, TOPOLOGY,
  type Topology, type TraceEventName, ZERO_SIZE_PTR, __GFP_ACCOUNT, __GFP_COMP, __GFP_DMA, __GFP_DMA32, __GFP_FS,
  __GFP_HARDWALL, __GFP_HIGH, __GFP_HIGHMEM, __GFP_IO, __GFP_MEMALLOC, __GFP_NOFAIL, __GFP_NOMEMALLOC, __GFP_NORETRY,
  __GFP_NOWARN, __GFP_RECLAIM, __GFP_RECLAIMABLE, __GFP_RETRY_MAYFAIL, __GFP_THISNODE, __GFP_ZERO, inject, injectable,
  KMALLOC_MAX_CACHE_SIZE,
} from '@mmsim/core';
import {
  calculateAlignment, findMergeable, hexPtr, KMALLOC_INFO, KMALLOC_SHIFT_HIGH, KmallocTypes, kmemCacheRelease, krealloc, LargeKmallocs,
  parseSlabDebug, type SlabBytes, SlabCallChecks, slabDebugFlags, type SlabDebugSpec, slabinfoRows, SlabShrinker, zeroOrNullPtr,
} from '@mmsim/slab-common';
import { SLAB_OPTIONS, type SlabOptions } from './options.js';
import {
  BATCHREFILL_LIMIT, cpucacheTunables, forcedDebugFlags, KMALLOC_FLAGS, KMALLOC_KINDS, KMALLOC_SHIFT_LOW, kmallocIndex,
  KmallocType, kmemCacheLayout, NR_KMALLOC_TYPES, SIZE_INDEX, SLAB_FLAGS_PERMITTED, CACHE_CREATE_MASK, SLAB_MAX_ORDER_HI,
  SLAB_MAX_ORDER_LO, type SlabLayout, type SlabMgmt,
} from './slab_common.js';

/** GFP_CONSTRAINT_MASK and GFP_RECLAIM_MASK: what cache_grow_begin() keeps of the caller's gfp. */
const GFP_CONSTRAINT_MASK = __GFP_HARDWALL | __GFP_THISNODE;
const GFP_RECLAIM_MASK = __GFP_RECLAIM | __GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_NOWARN | __GFP_RETRY_MAYFAIL |
  __GFP_NOFAIL | __GFP_NORETRY | __GFP_MEMALLOC | __GFP_NOMEMALLOC;
/** REAPTIMEOUT_AC / REAPTIMEOUT_NODE (2 × HZ, 4 × HZ) in simulated nanoseconds. */
const REAPTIMEOUT_AC = 2e9;
const REAPTIMEOUT_NODE = 4e9;
/** RED_INACTIVE / RED_ACTIVE (include/linux/poison.h), as the little-endian bytes of the 64-bit red zone words. */
export const RED_INACTIVE_BYTES = Uint8Array.from([0x5b, 0xe3, 0x74, 0x9d, 0x02, 0x11, 0xf9, 0x09]);
export const RED_ACTIVE_BYTES = Uint8Array.from([0xc0, 0x88, 0x56, 0x63, 0xc5, 0x56, 0x41, 0xd8]);
const NR_INDEX = KMALLOC_SHIFT_HIGH + 1;
const NONE = -1;
/** Slab lists of a node. */
const FULL = 0;
const PARTIAL = 1;
const FREE = 2;

/** struct array_cache: a LIFO of object addresses. */
export class ArrayCache {
  avail = 0;
  touched = 0;
  readonly entry: Float64Array;
  constructor(readonly limit: number, readonly batchcount: number) {
    this.entry = new Float64Array(Math.max(limit, 1));
  }
}

/** struct kmem_cache_node (SLAB part). */
export class SlabNode {
  readonly head = [NONE, NONE, NONE];
  readonly tail = [NONE, NONE, NONE];
  totalSlabs = 0;
  freeSlabs = 0;
  freeObjects = 0;
  freeLimit = 0;
  colourNext = 0;
  shared: ArrayCache | null = null;
  /** alien[node]: objects of `node`'s slabs freed here (NUMA). */
  alien: (ArrayCache | null)[] | null = null;
  nextReap = 0;
  freeTouched = 0;
}

/** struct kmem_cache under SLAB. */
export class SlabCache implements KmemCache {
  readonly id: number;
  readonly name: string;
  objectSize: number;
  readonly size: number;
  readonly align: number;
  readonly flags: number;
  readonly ctor: ((ptr: number) => void) | undefined;
  readonly kmalloc: boolean;
  refcount = 1;
  /** num, gfporder */
  readonly num: number;
  readonly order: number;
  /** colour (how many offsets), colour_off (bytes per step) */
  readonly colour: number;
  readonly colourOff: number;
  readonly mgmt: SlabMgmt;
  readonly freelistSize: number;
  readonly objOffset: number;
  readonly allocflags: number;
  /** Tunables (enable_cpucache or slabinfo writes). */
  limit = 0;
  batchcount = 0;
  shared = 0;
  /** RED_ZONE / POISON / STORE_USER on this cache. */
  readonly redZone: boolean;
  readonly poison: boolean;
  readonly storeUser: boolean;
  readonly keepsBytes: boolean;
  readonly debug: boolean;
  readonly reclaimable: boolean;
  cpuCache: ArrayCache[] = [];
  readonly nodes: SlabNode[];
  /** Per slab slot: the freelist (object indices, freelist_idx_t) and the allocated bits. */
  freelist = new Uint8Array(0);
  live = new Uint8Array(0);
  slotCap = 0;
  nextSlot = 0;
  readonly freeSlots: number[] = [];
  liveObjects = 0;
  pages = 0;

  constructor(id: number, name: string, objectSize: number, l: SlabLayout, allocflags: number, ctor: ((p: number) => void) | undefined, kmalloc: boolean, nrNodes: number) {
    this.id = id;
    this.name = name;
    this.objectSize = objectSize;
    this.size = l.size;
    this.align = l.align;
    this.flags = l.flags;
    this.ctor = ctor;
    this.kmalloc = kmalloc;
    this.num = l.num;
    this.order = l.order;
    this.colour = l.colour;
    this.colourOff = l.colourOff;
    this.mgmt = l.mgmt;
    this.freelistSize = l.freelistSize;
    this.objOffset = l.objOffset;
    this.allocflags = allocflags;
    this.redZone = (l.flags & SLAB_RED_ZONE) !== 0;
    this.poison = (l.flags & SLAB_POISON) !== 0;
    this.storeUser = (l.flags & SLAB_STORE_USER) !== 0;
    this.keepsBytes = this.redZone || this.poison;
    this.debug = this.keepsBytes || this.storeUser;
    this.reclaimable = (l.flags & SLAB_RECLAIM_ACCOUNT) !== 0;
    this.nodes = Array.from({ length: nrNodes }, () => new SlabNode());
  }

  allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.nextSlot === this.slotCap) {
      const cap = Math.max(4, this.slotCap * 2);
      const fl = new Uint8Array(cap * this.num);
      fl.set(this.freelist);
      const live = new Uint8Array(cap * this.num);
      live.set(this.live);
      this.freelist = fl;
      this.live = live;
      this.slotCap = cap;
    }
    return this.nextSlot++;
  }
}

/** The last user of an object of a SLAB_STORE_USER cache (dbg_userword: SLAB keeps one). */
export interface LastUser {
  cpu: number;
  when: number;
  freed: boolean;
}

interface DebugSlab {
  mem: Uint8Array | null;
  userCpu: Int32Array;
  userWhen: Float64Array;
  userFreed: Uint8Array;
}

/** The SLAB allocator. */
@injectable()
export class SlabAllocatorImpl implements SlabAllocator {
  readonly name = 'slab';
  /** slab_max_order */
  readonly slabMaxOrder: number;
  /** The shrinker of the SLAB_RECLAIM_ACCOUNT caches' LRUs (registered under SHRINKER). */
  readonly shrinker: SlabShrinker;
  /** Corruption found where nothing can be refused (a slab being destroyed): the kernel's slab_error() log. */
  readonly reports: SlabCorruption[] = [];
  readonly debugSpec: SlabDebugSpec | undefined;
  private readonly t: PageFrameTable;
  private readonly ev: Record<TraceEventName, boolean>;
  private readonly nrNodes: number;
  private readonly nrCpuSlots: number;
  /** Argument checks and errors (slab_common). */
  private readonly checks: SlabCallChecks;
  private readonly cpuNode: Int32Array;
  private readonly cpusOfNode: number[];
  private readonly useAlien: boolean;
  /** kmalloc_caches[] rows and kmalloc_type() (slab_common). */
  private readonly types: KmallocTypes;
  private readonly notNormalBits: number;

  private readonly cacheById: (SlabCache | undefined)[] = [undefined];
  private readonly list: SlabCache[] = [];
  private readonly kmallocCaches: (SlabCache | undefined)[] = [];
  private nextCacheId = 1;

  // the slab table
  private slabCap = 0;
  private slabTop = 0;
  private readonly freeSlabIds: number[] = [];
  private sCache = new Int32Array(0);
  private sPfn = new Float64Array(0);
  private sMem = new Float64Array(0);
  private sActive = new Int32Array(0);
  private sNid = new Int32Array(0);
  private sList = new Int8Array(0);
  private sNext = new Int32Array(0);
  private sPrev = new Int32Array(0);
  private sBase = new Int32Array(0);
  private sMgmt = new Float64Array(0);
  private sDebug: (DebugSlab | undefined)[] = [];

  private reclaimableSlabPages = 0;
  private unreclaimableSlabPages = 0;
  /** kmalloc() > 8 KiB, counted as unreclaimable slab. */
  private readonly large: LargeKmallocs;
  /** Per CPU: when its reap timer fires next, and which node's alien cache it reaps (slab_reap_node). */
  private readonly reapAt: Float64Array;
  private readonly reapNode: Int32Array;
  private nextReapAt = Infinity;

  constructor(
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(EVENTS) private readonly events: EventBus,
    @inject(CLOCK) private readonly clock: SimClock,
    @inject(SLAB_OPTIONS) private readonly options: SlabOptions,
  ) {
    this.t = memory.pages;
    this.ev = events.enabled;
    this.checks = new SlabCallChecks('slab', topology, memory);
    this.nrNodes = this.checks.nrNodes;
    this.nrCpuSlots = this.checks.nrCpuSlots;
    this.large = new LargeKmallocs(this.checks, memory);
    this.cpuNode = new Int32Array(this.nrCpuSlots);
    for (let c = 0; c < this.nrCpuSlots; c++) this.cpuNode[c] = topology.cpuToNode(c);
    this.cpusOfNode = Array.from({ length: this.nrNodes }, (_, nid) => topology.nodes.find((n) => n.nid === nid)?.cpus.length ?? 0);
    this.useAlien = this.nrNodes > 1 && !options.noAlienCache;
    this.types = new KmallocTypes(KMALLOC_KINDS, topology.zoneConfig.dma, options.memcg);
    this.notNormalBits = this.types.notNormalBits;
    // fragmentation resistance on small machines: higher orders only above 32 MiB
    this.slabMaxOrder = Math.min(options.maxOrder ?? (topology.totalManagedPages > (32 << 20) / PAGE_SIZE ? SLAB_MAX_ORDER_HI : SLAB_MAX_ORDER_LO), pages.maxOrder);
    this.debugSpec = typeof options.debug === 'string' ? parseSlabDebug(options.debug) : undefined;
    this.shrinker = new SlabShrinker('slab-reclaimable', (c, p) => this.cacheFree(c, p));
    // start_cpu_timer(): the first reap about a second after boot, staggered by CPU
    this.reapAt = new Float64Array(this.nrCpuSlots);
    this.reapNode = new Int32Array(this.nrCpuSlots);
    for (let c = 0; c < this.nrCpuSlots; c++) {
      this.reapAt[c] = 1e9 + c * 1e6;
      this.reapNode[c] = this.nextNodeIn(this.cpuNode[c]!);
    }
    if (options.autoReap) this.nextReapAt = Math.min(...this.reapAt);
    this.createKmallocCaches();
  }

  // ---- arguments -----------------------------------------------------------------

  private lookup(cache: KmemCache): SlabCache {
    return this.checks.lookup(this.cacheById, cache);
  }
  /** next_node_in() over the nodes with memory. */
  private nextNodeIn(nid: number): number {
    const online = this.topology.nodes.filter((n) => n.presentPages > 0).map((n) => n.nid).sort((a, b) => a - b);
    if (online.length === 0) return 0;
    return online.find((n) => n > nid) ?? online[0]!;
  }

  // ---- kmem_cache_create -----------------------------------------------------------

  /** kmalloc_slab() on the kmalloc table as it stands (for off-slab freelists while the table is built). */
  private freelistCacheLookup = (bytes: number): { size: number; offSlab: boolean } | undefined => {
    const c = this.kmallocCaches[kmallocIndex(bytes)];
    return c ? { size: c.size, offSlab: c.mgmt === 'offslab' } : undefined;
  };

  /** kmem_cache_init() + create_kmalloc_caches(): kmalloc-128 first (it holds kmem_cache_node), then each type's 32 .. 8k with 96 and 192 after 64 and 128. */
  private createKmallocCaches(): void {
    const make = (type: KmallocType, idx: number) => {
      const flags = KMALLOC_FLAGS | this.types.flags(type);
      const size = KMALLOC_INFO[idx]![0];
      // create_boot_cache(): power-of-two sizes are naturally aligned
      const align = calculateAlignment(flags, (size & (size - 1)) === 0 ? Math.max(8, size) : 8, size, this.options.cacheLineSize);
      this.kmallocCaches[type * NR_INDEX + idx] = this.newCache(this.types.name(type, idx), size, flags, align, undefined, undefined, true);
    };
    make(KmallocType.NORMAL, 7);
    for (let type = 0; type < NR_KMALLOC_TYPES; type++) {
      if (!this.types.built(type)) continue;
      for (let i = KMALLOC_SHIFT_LOW; i <= KMALLOC_SHIFT_HIGH; i++) {
        if (!this.kmallocCaches[type * NR_INDEX + i]) make(type, i);
        if (i === 6 && !this.kmallocCaches[type * NR_INDEX + 1]) make(type, 1);
        if (i === 7 && !this.kmallocCaches[type * NR_INDEX + 2]) make(type, 2);
      }
    }
    this.types.fillFallbacks(this.kmallocCaches, NR_INDEX);
  }

  /** The debug flags this cache gets from the `debug` option. */
  private debugFlags(name: string, size: number, flags: number): number {
    if (this.options.debug === true) flags = forcedDebugFlags(size, flags);
    else if (this.debugSpec) flags = slabDebugFlags(this.debugSpec, flags, name);
    return flags & CACHE_CREATE_MASK;
  }

  private newCache(name: string, size: number, flags: number, align: number, ctor: ((p: number) => void) | undefined, release: ((p: number) => void) | undefined, kmalloc: boolean): SlabCache {
    flags = this.debugFlags(name, size, flags);
    const l = kmemCacheLayout(size, align, flags, ctor !== undefined, this.slabMaxOrder, this.freelistCacheLookup, this.options.cacheLineSize);
    if (!l) throw this.checks.err('EBAD_SIZE', `kmem_cache_create(${name}): objects of ${size} bytes fit no slab (-E2BIG)`, { name, size });
    let allocflags = __GFP_COMP;
    if (l.flags & SLAB_CACHE_DMA) allocflags |= __GFP_DMA;
    if (l.flags & SLAB_CACHE_DMA32) allocflags |= __GFP_DMA32;
    if (l.flags & SLAB_RECLAIM_ACCOUNT) allocflags |= __GFP_RECLAIMABLE;
    const s = new SlabCache(this.nextCacheId++, name, size, l, allocflags, ctor, kmalloc, this.nrNodes);
    const t = cpucacheTunables(s.size, this.topology.nrCpus, s.debug);
    this.tuneCpucache(s, t.limit, t.batchcount, t.shared);
    for (let n = 0; n < this.nrNodes; n++) s.nodes[n]!.nextReap = this.clock.now() + REAPTIMEOUT_NODE + ((s.id * 2654435761) >>> 0) % REAPTIMEOUT_NODE;
    this.cacheById[s.id] = s;
    this.list.push(s);
    if (s.reclaimable) this.shrinker.track(s, release);
    return s;
  }

  /**
   * do_tune_cpucache(): new per-CPU arrays (the old ones' objects go back
   * to their slabs), then setup_kmem_cache_node() on every node: the
   * free_limit, a new shared array (the old one's objects freed) and the
   * alien caches (limit 12 when the per-CPU limit is above 1).
   */
  private tuneCpucache(s: SlabCache, limit: number, batchcount: number, shared: number): void {
    const prev = s.cpuCache;
    s.cpuCache = Array.from({ length: this.nrCpuSlots }, () => new ArrayCache(limit, batchcount));
    s.limit = limit;
    s.batchcount = batchcount;
    s.shared = shared;
    for (let cpu = 0; cpu < prev.length; cpu++) {
      const ac = prev[cpu]!;
      if (ac.avail) {
        const destroy: number[] = [];
        this.freeBlock(s, ac.entry, 0, ac.avail, this.cpuNode[cpu]!, destroy);
        ac.avail = 0;
        this.slabsDestroy(s, destroy);
      }
    }
    for (let node = 0; node < this.nrNodes; node++) {
      const n = s.nodes[node]!;
      n.freeLimit = (1 + this.cpusOfNode[node]!) * s.batchcount + s.num;
      if (n.shared && n.shared.avail) {
        const destroy: number[] = [];
        this.freeBlock(s, n.shared.entry, 0, n.shared.avail, node, destroy);
        n.shared.avail = 0;
        this.slabsDestroy(s, destroy);
      }
      n.shared = shared ? new ArrayCache(shared * batchcount, 0xbaadf00d) : null;
      if (this.useAlien && !n.alien) {
        const alimit = limit > 1 ? 12 : limit;
        n.alien = Array.from({ length: this.nrNodes }, (_, i) => (i === node ? null : new ArrayCache(alimit, 0xbaadf00d)));
      }
    }
  }

  /** find_mergeable() (6.1): the debug flags depend on the rounded size (FORCED_DEBUG); the alias must be aligned as asked. */
  private findMergeable(name: string, size: number, flags: number, align: number, ctor: unknown): SlabCache | undefined {
    return findMergeable(this.list, size, flags, align, ctor, {
      merge: this.options.merge, cacheLine: this.options.cacheLineSize, checkAlign: true, debugFlags: (f, sz) => this.debugFlags(name, sz, f),
    });
  }

  createCache(name: string, size: number, opts: CacheOptions = {}): KmemCache {
    const { align, flags } = this.checks.cacheCreateArgs(name, size, opts, SLAB_FLAGS_PERMITTED);
    this.checks.checkDmaFlags(name, flags);
    this.checks.checkCallbacks(name, opts);
    const alias = opts.release === undefined ? this.findMergeable(name, size, flags, align, opts.ctor) : undefined;
    if (alias) {
      // __kmem_cache_alias()
      alias.refcount++;
      alias.objectSize = Math.max(alias.objectSize, size);
      return alias;
    }
    return this.newCache(name, size, flags & CACHE_CREATE_MASK, calculateAlignment(flags, align, size, this.options.cacheLineSize), opts.ctor, opts.release, false);
  }

  caches(): readonly KmemCache[] {
    return [...this.list];
  }

  /**
   * slabinfo_write(): `echo "name limit batchcount shared" > /proc/slabinfo`.
   * Invalid numbers are ignored as the kernel ignores them; an unknown name is EINVAL.
   */
  tune(name: string, limit: number, batchcount: number, shared: number): void {
    const s = this.list.find((c) => c.name === name);
    if (!s) throw this.checks.err('EINVAL', `slabinfo write: no cache '${name}'`, { name });
    if (!Number.isInteger(limit) || !Number.isInteger(batchcount) || !Number.isInteger(shared)) throw this.checks.err('EINVAL', 'slabinfo write: tunables must be integers', { limit, batchcount, shared });
    if (limit < 1 || batchcount < 1 || batchcount > limit || shared < 0) return;
    this.tuneCpucache(s, limit, batchcount, shared);
  }

  // ---- the slab table ---------------------------------------------------------------

  private newSlabId(): number {
    const id = this.freeSlabIds.pop();
    if (id !== undefined) return id;
    if (this.slabTop === this.slabCap) {
      const cap = Math.max(64, this.slabCap * 2);
      const grow = <T extends Int32Array | Float64Array | Int8Array>(a: T): T => {
        const n = new (a.constructor as new (n: number) => T)(cap);
        n.set(a);
        return n;
      };
      this.sCache = grow(this.sCache);
      this.sPfn = grow(this.sPfn);
      this.sMem = grow(this.sMem);
      this.sActive = grow(this.sActive);
      this.sNid = grow(this.sNid);
      this.sList = grow(this.sList);
      this.sNext = grow(this.sNext);
      this.sPrev = grow(this.sPrev);
      this.sBase = grow(this.sBase);
      this.sMgmt = grow(this.sMgmt);
      this.slabCap = cap;
    }
    return this.slabTop++;
  }

  private listAdd(n: SlabNode, which: number, slab: number, tail: boolean): void {
    if (tail) {
      const last = n.tail[which]!;
      this.sPrev[slab] = last;
      this.sNext[slab] = NONE;
      if (last === NONE) n.head[which] = slab;
      else this.sNext[last] = slab;
      n.tail[which] = slab;
    } else {
      const first = n.head[which]!;
      this.sNext[slab] = first;
      this.sPrev[slab] = NONE;
      if (first === NONE) n.tail[which] = slab;
      else this.sPrev[first] = slab;
      n.head[which] = slab;
    }
    this.sList[slab] = which;
  }

  private listDel(n: SlabNode, slab: number): void {
    const which = this.sList[slab]!;
    if (which === NONE) return;
    const prev = this.sPrev[slab]!;
    const next = this.sNext[slab]!;
    if (prev === NONE) n.head[which] = next;
    else this.sNext[prev] = next;
    if (next === NONE) n.tail[which] = prev;
    else this.sPrev[next] = prev;
    this.sList[slab] = NONE;
    this.sNext[slab] = NONE;
    this.sPrev[slab] = NONE;
  }

  private nodeOfPfn(pfn: number): number {
    if (this.nrNodes === 1) return 0;
    return this.topology.pfnZone(pfn)?.nid ?? 0;
  }

  /** The slab holding `addr`, or -1 when its page is no slab page; EBAD_POINTER when no memory is there. */
  private slabOf(addr: number, op: string): number {
    return this.checks.virtToSlab(addr, op);
  }

  /** slab_get_obj() */
  private slabGetObj(s: SlabCache, slab: number): number {
    const idx = s.freelist[this.sBase[slab]! + this.sActive[slab]!]!;
    this.sActive[slab]!++;
    return this.sMem[slab]! + idx * s.size;
  }

  /** slab_put_obj() */
  private slabPutObj(s: SlabCache, slab: number, objp: number): void {
    const idx = (objp - this.sMem[slab]!) / s.size;
    this.sActive[slab]!--;
    s.freelist[this.sBase[slab]! + this.sActive[slab]!] = idx;
  }

  /**
   * cache_grow_begin(): pages for a slab on `nodeid` (kmem_getpages), the
   * next colour of that node, the slab management (kmalloc'ed when
   * off-slab), the objects initialised. -1 when a page or the off-slab
   * freelist could not be had.
   */
  private cacheGrowBegin(s: SlabCache, flags: number, nodeid: number, cpu: number): number {
    // kmalloc_fix_flags(): zone modifiers a slab may not ask for
    if (flags & (__GFP_DMA32 | __GFP_HIGHMEM)) flags &= ~(__GFP_DMA32 | __GFP_HIGHMEM);
    const localFlags = flags & (GFP_CONSTRAINT_MASK | GFP_RECLAIM_MASK);
    const pfn = this.pages.allocPages(localFlags | s.allocflags, s.order, nodeid < 0 ? { cpu } : { nid: nodeid, cpu });
    if (pfn === null) return NONE;
    const slabNode = this.nodeOfPfn(pfn);
    const n = s.nodes[slabNode]!;
    // colour_next cycles 0 .. colour - 1; the slab's objects start colour_next × colour_off in
    n.colourNext++;
    if (n.colourNext >= s.colour) n.colourNext = 0;
    let offset = n.colourNext;
    if (offset >= s.colour) offset = 0;
    offset *= s.colourOff;
    // alloc_slabmgmt(): an off-slab freelist comes from kmalloc on the slab's node
    let mgmt = NONE;
    if (s.mgmt === 'offslab') {
      const p = this.kmallocInternal(s.freelistSize, localFlags & ~GFP_CONSTRAINT_MASK, slabNode, cpu);
      if (p < 0) {
        this.pages.freePages(pfn, s.order);
        return NONE;
      }
      mgmt = p;
    }
    const slab = this.newSlabId();
    const slot = s.allocSlot();
    const base = slot * s.num;
    this.sCache[slab] = s.id;
    this.sPfn[slab] = pfn;
    this.sMem[slab] = pfn * PAGE_SIZE + offset;
    this.sActive[slab] = 0;
    this.sNid[slab] = slabNode;
    this.sList[slab] = NONE;
    this.sNext[slab] = NONE;
    this.sPrev[slab] = NONE;
    this.sBase[slab] = base;
    this.sMgmt[slab] = mgmt;
    const t = this.t;
    const npages = 1 << s.order;
    for (let i = 0; i < npages; i++) {
      const page = this.memory.pfnToPage(pfn + i);
      t.flags[page] = (t.flags[page]! | PG_slab | (i > 0 ? PG_tail : 0)) >>> 0;
      t.ownerKind[page] = PageOwner.SLAB;
      t.owner[page] = s.id;
      t.private[page] = slab;
    }
    s.pages += npages;
    if (s.reclaimable) this.reclaimableSlabPages += npages;
    else this.unreclaimableSlabPages += npages;
    // cache_init_objs(): debug words, the constructor, the freelist in index order
    if (s.debug) this.initDebugSlab(s, slab, npages);
    if (s.ctor && !(s.debug && s.poison)) {
      const start = this.sMem[slab]! + s.objOffset;
      for (let i = 0; i < s.num; i++) s.ctor(start + i * s.size);
    }
    for (let i = 0; i < s.num; i++) s.freelist[base + i] = i;
    s.live.fill(0, base, base + s.num);
    return slab;
  }

  /** cache_grow_end(): the slab joins its node's lists and counts. */
  private cacheGrowEnd(s: SlabCache, slab: number): void {
    if (slab < 0) return;
    const n = s.nodes[this.sNid[slab]!]!;
    n.totalSlabs++;
    if (!this.sActive[slab]) {
      this.listAdd(n, FREE, slab, true);
      n.freeSlabs++;
    } else {
      this.fixupSlabList(s, n, slab);
    }
    n.freeObjects += s.num - this.sActive[slab]!;
  }

  /** fixup_slab_list(): full slabs to slabs_full, others to slabs_partial (at the head). */
  private fixupSlabList(s: SlabCache, n: SlabNode, slab: number): void {
    this.listDel(n, slab);
    this.listAdd(n, this.sActive[slab] === s.num ? FULL : PARTIAL, slab, false);
  }

  /** get_first_slab(): a partial slab, else a free one. */
  private getFirstSlab(n: SlabNode): number {
    let slab = n.head[PARTIAL]!;
    if (slab === NONE) {
      n.freeTouched = 1;
      slab = n.head[FREE]!;
      if (slab !== NONE) n.freeSlabs--;
    }
    return slab;
  }

  /** slab_destroy(): the pages back to the page allocator, an off-slab freelist back to kmalloc. */
  private slabDestroy(s: SlabCache, slab: number): void {
    if (s.debug) this.destroyDebugCheck(s, slab);
    const pfn = this.sPfn[slab]!;
    const npages = 1 << s.order;
    const t = this.t;
    for (let i = 0; i < npages; i++) {
      const page = this.memory.pfnToPage(pfn + i);
      t.flags[page] = t.flags[page]! & ~(PG_slab | PG_tail);
      t.ownerKind[page] = i === 0 ? PageOwner.KERNEL : PageOwner.NONE;
      t.owner[page] = 0;
      t.private[page] = i === 0 ? s.order : 0;
    }
    s.pages -= npages;
    if (s.reclaimable) this.reclaimableSlabPages -= npages;
    else this.unreclaimableSlabPages -= npages;
    s.freeSlots.push(this.sBase[slab]! / s.num);
    if (s.debug) this.sDebug[slab] = undefined;
    const mgmt = this.sMgmt[slab]!;
    this.sCache[slab] = 0;
    this.sList[slab] = NONE;
    this.freeSlabIds.push(slab);
    this.pages.freePages(pfn, s.order);
    if (mgmt >= 0) this.kfreeInternal(mgmt, 0);
  }

  private slabsDestroy(s: SlabCache, list: number[]): void {
    for (const slab of list) this.slabDestroy(s, slab);
  }

  // ---- allocation ----------------------------------------------------------------------

  /** gfp_exact_node(): this node only, no reclaim, no warning. */
  private static exactNode(flags: number): number {
    return (flags | __GFP_THISNODE | __GFP_NOWARN) & ~(__GFP_RECLAIM | __GFP_NOFAIL);
  }

  /** transfer_objects(): up to `max` entries from the top of `from` onto `to`. */
  private static transfer(to: ArrayCache, from: ArrayCache, max: number): number {
    const nr = Math.min(from.avail, max, to.limit - to.avail);
    if (!nr) return 0;
    to.entry.set(from.entry.subarray(from.avail - nr, from.avail), to.avail);
    from.avail -= nr;
    to.avail += nr;
    return nr;
  }

  /** alloc_block(): objects of one slab onto the array cache; returns the batch left (-1 when it ran out exactly). */
  private allocBlock(s: SlabCache, ac: ArrayCache, slab: number, batchcount: number): number {
    while (this.sActive[slab]! < s.num) {
      if (batchcount-- === 0) break;
      ac.entry[ac.avail++] = this.slabGetObj(s, slab);
    }
    return batchcount;
  }

  /** cache_alloc_refill(): from the shared array, else from the node's slabs, else a new slab. */
  private cacheAllocRefill(s: SlabCache, gfp: number, cpu: number): number {
    const node = this.cpuNode[cpu]!;
    const ac = s.cpuCache[cpu]!;
    let batchcount = ac.batchcount;
    // little recent activity: only a partial refill, to avoid bouncing
    if (!ac.touched && batchcount > BATCHREFILL_LIMIT) batchcount = BATCHREFILL_LIMIT;
    const n = s.nodes[node]!;
    const shared = n.shared;
    if (n.freeObjects || (shared && shared.avail)) {
      if (shared && SlabAllocatorImpl.transfer(ac, shared, batchcount)) {
        shared.touched = 1;
      } else {
        while (batchcount > 0) {
          const slab = this.getFirstSlab(n);
          if (slab === NONE) break;
          batchcount = this.allocBlock(s, ac, slab, batchcount);
          this.fixupSlabList(s, n, slab);
        }
        n.freeObjects -= ac.avail;
      }
    }
    if (!ac.avail) {
      const slab = this.cacheGrowBegin(s, SlabAllocatorImpl.exactNode(gfp), node, cpu);
      if (!ac.avail && slab >= 0) this.allocBlock(s, ac, slab, batchcount);
      this.cacheGrowEnd(s, slab);
      if (!ac.avail) return NONE;
    }
    ac.touched = 1;
    return ac.entry[--ac.avail]!;
  }

  /** ____cache_alloc_node(): one object straight from a node's slabs (no array cache), growing or falling back. */
  private cacheAllocNode(s: SlabCache, gfp: number, nodeid: number, cpu: number): number {
    const n = s.nodes[nodeid]!;
    const slab = this.getFirstSlab(n);
    if (slab !== NONE) {
      const obj = this.slabGetObj(s, slab);
      n.freeObjects--;
      this.fixupSlabList(s, n, slab);
      return obj;
    }
    const grown = this.cacheGrowBegin(s, SlabAllocatorImpl.exactNode(gfp), nodeid, cpu);
    let obj = NONE;
    // not counted yet: no free_objects update
    if (grown >= 0) obj = this.slabGetObj(s, grown);
    this.cacheGrowEnd(s, grown);
    return obj >= 0 ? obj : this.fallbackAlloc(s, gfp, cpu);
  }

  /** fallback_alloc(): any node in zonelist order with free objects, else a new slab wherever the page allocator finds one. */
  private fallbackAlloc(s: SlabCache, gfp: number, cpu: number): number {
    if (gfp & __GFP_THISNODE) return NONE;
    const local = this.cpuNode[cpu]!;
    const highest = this.topology.zoneIndex(gfpZone(gfp & ~(__GFP_DMA32 | __GFP_HIGHMEM), this.topology.zoneConfig));
    for (;;) {
      let obj = NONE;
      for (const z of this.topology.zonelists[local] ?? []) {
        if (highest >= 0 && z.idx > highest) continue;
        if (s.nodes[z.nid]!.freeObjects) {
          obj = this.cacheAllocNode(s, SlabAllocatorImpl.exactNode(gfp), z.nid, cpu);
          if (obj >= 0) break;
        }
      }
      if (obj < 0) {
        const slab = this.cacheGrowBegin(s, gfp, local, cpu);
        this.cacheGrowEnd(s, slab);
        if (slab >= 0) {
          obj = this.cacheAllocNode(s, SlabAllocatorImpl.exactNode(gfp), this.sNid[slab]!, cpu);
          // someone took the new slab's objects: try again
          if (obj < 0) continue;
        }
      }
      return obj;
    }
  }

  /** __do_cache_alloc(): the CPU's array cache for local requests, the node's slabs otherwise. Returns the raw object address or -1. */
  private doCacheAlloc(s: SlabCache, gfp: number, nodeid: number, cpu: number): number {
    const local = this.cpuNode[cpu]!;
    let objp = NONE;
    if (nodeid < 0 || nodeid === local) {
      const ac = s.cpuCache[cpu]!;
      if (ac.avail) {
        ac.touched = 1;
        return ac.entry[--ac.avail]!;
      }
      objp = this.cacheAllocRefill(s, gfp, cpu);
      nodeid = local;
    }
    if (objp < 0) objp = this.cacheAllocNode(s, gfp, nodeid, cpu);
    return objp;
  }

  /** slab_alloc_node(): the object, debug-checked and marked allocated; the user's address, or -1. */
  private slabAllocNode(s: SlabCache, gfp: number, nodeid: number, cpu: number): number {
    const objp = this.doCacheAlloc(s, gfp, nodeid, cpu);
    if (objp < 0) return NONE;
    const slab = this.t.private[this.memory.pfnToPage(Math.floor(objp / PAGE_SIZE))]!;
    const idx = (objp - this.sMem[slab]!) / s.size;
    if (s.debug) this.allocDebugCheckAfter(s, slab, idx, objp, cpu, gfp);
    s.live[this.sBase[slab]! + idx] = 1;
    s.liveObjects++;
    return objp + s.objOffset;
  }

  cacheAlloc(cache: KmemCache, gfp: number, opts?: SlabAllocOptions): number | null {
    const s = this.lookup(cache);
    let cpu = 0;
    let node = NONE;
    if (opts !== undefined) {
      cpu = this.checks.cpuOf(opts.cpu);
      node = this.checks.nodeOf(opts.nid);
    }
    // the per-CPU reap timers run between operations, never inside one
    if (this.clock.now() >= this.nextReapAt) this.runDueReaps();
    const ptr = this.slabAllocNode(s, gfp, node, cpu);
    if (this.ev.kmem_cache_alloc) {
      this.events.emit('kmem_cache_alloc', {
        call_site: 0, ptr: ptr < 0 ? 0 : ptr, name: s.name, bytes_req: s.objectSize, bytes_alloc: s.size, gfp_flags: gfp,
        node: opts?.nid ?? -1, accounted: this.options.memcg && ((gfp & __GFP_ACCOUNT) !== 0 || (s.flags & SLAB_ACCOUNT) !== 0),
      });
    }
    return ptr < 0 ? null : ptr;
  }

  // ---- free ------------------------------------------------------------------------------

  /**
   * free_block(): `nr` objects from `entries` (all of `node`) back to their
   * slabs; emptied slabs go to slabs_free, the others to the tail of
   * slabs_partial; beyond free_limit free objects, free slabs are taken off
   * (into `destroy`) from the end of slabs_free.
   */
  private freeBlock(s: SlabCache, entries: Float64Array, start: number, nr: number, node: number, destroy: number[]): void {
    const n = s.nodes[node]!;
    n.freeObjects += nr;
    for (let i = start; i < start + nr; i++) {
      const objp = entries[i]!;
      const slab = this.t.private[this.memory.pfnToPage(Math.floor(objp / PAGE_SIZE))]!;
      this.listDel(n, slab);
      this.slabPutObj(s, slab, objp);
      if (this.sActive[slab] === 0) {
        this.listAdd(n, FREE, slab, false);
        n.freeSlabs++;
      } else {
        // to the end of the partial list: the most time for its other objects to be freed too
        this.listAdd(n, PARTIAL, slab, true);
      }
    }
    while (n.freeObjects > n.freeLimit && n.tail[FREE] !== NONE) {
      n.freeObjects -= s.num;
      const slab = n.tail[FREE]!;
      this.listDel(n, slab);
      destroy.push(slab);
      n.freeSlabs--;
      n.totalSlabs--;
    }
  }

  /** cache_flusharray(): a full array cache gives batchcount objects to the shared array, else back to their slabs. */
  private cacheFlusharray(s: SlabCache, ac: ArrayCache, cpu: number): void {
    let batchcount = ac.batchcount;
    const node = this.cpuNode[cpu]!;
    const n = s.nodes[node]!;
    const destroy: number[] = [];
    let done = false;
    if (n.shared) {
      const sh = n.shared;
      const max = sh.limit - sh.avail;
      if (max) {
        if (batchcount > max) batchcount = max;
        sh.entry.set(ac.entry.subarray(0, batchcount), sh.avail);
        sh.avail += batchcount;
        done = true;
      }
    }
    if (!done) this.freeBlock(s, ac.entry, 0, batchcount, node, destroy);
    ac.avail -= batchcount;
    ac.entry.copyWithin(0, batchcount, batchcount + ac.avail);
    this.slabsDestroy(s, destroy);
  }

  /** __drain_alien_cache(): into the remote node's shared array first, the rest back to its slabs. */
  private drainAlien(s: SlabCache, ac: ArrayCache, node: number, destroy: number[]): void {
    if (!ac.avail) return;
    const n = s.nodes[node]!;
    if (n.shared) SlabAllocatorImpl.transfer(n.shared, ac, ac.limit);
    this.freeBlock(s, ac.entry, 0, ac.avail, node, destroy);
    ac.avail = 0;
  }

  /** ___cache_free(): an object of another node goes to the alien cache; otherwise onto this CPU's array, flushing it when full. */
  private cacheFreeInternal(s: SlabCache, slab: number, objp: number, cpu: number): void {
    if (this.nrNodes > 1) {
      const slabNode = this.sNid[slab]!;
      const node = this.cpuNode[cpu]!;
      if (slabNode !== node) {
        // __cache_free_alien()
        const n = s.nodes[node]!;
        const alien = n.alien?.[slabNode];
        const destroy: number[] = [];
        if (alien) {
          if (alien.avail === alien.limit) this.drainAlien(s, alien, slabNode, destroy);
          alien.entry[alien.avail++] = objp;
        } else {
          const one = new Float64Array([objp]);
          this.freeBlock(s, one, 0, 1, slabNode, destroy);
        }
        this.slabsDestroy(s, destroy);
        return;
      }
    }
    const ac = s.cpuCache[cpu]!;
    if (ac.avail >= ac.limit) this.cacheFlusharray(s, ac, cpu);
    ac.entry[ac.avail++] = objp;
  }

  /**
   * Finds the slab object `ptr` names, or throws (state untouched):
   * EBAD_POINTER for no object start, EDOUBLE_FREE for an object that is
   * not allocated.
   */
  private objectIndex(s: SlabCache, slab: number, ptr: number, op: string, freeing: boolean): number {
    return this.checks.objectIndex(s, ptr, op, freeing, (ptr - s.objOffset - this.sMem[slab]!) / s.size, s.num, s.live, this.sBase[slab]!);
  }

  /** __cache_free() of a checked object. */
  private freeObject(s: SlabCache, slab: number, idx: number, cpu: number): void {
    const objp = this.sMem[slab]! + idx * s.size;
    if (s.debug) this.cacheFreeDebugcheck(s, slab, idx, objp, cpu);
    if (s.reclaimable) this.shrinker.forget(s.id, objp + s.objOffset);
    s.live[this.sBase[slab]! + idx] = 0;
    s.liveObjects--;
    this.cacheFreeInternal(s, slab, objp, cpu);
  }

  cacheFree(cache: KmemCache, ptr: number, opts?: SlabFreeOptions): void {
    const s = this.lookup(cache);
    const cpu = opts === undefined ? 0 : this.checks.cpuOf(opts.cpu);
    const slab = this.checks.freeSlab(this.sCache, this.cacheById, s, ptr);
    const idx = this.objectIndex(s, slab, ptr, 'kmem_cache_free', true);
    if (this.clock.now() >= this.nextReapAt) this.runDueReaps();
    this.freeObject(s, slab, idx, cpu);
    if (this.ev.kmem_cache_free) this.events.emit('kmem_cache_free', { call_site: 0, ptr, name: s.name });
  }

  // ---- shrink, destroy, reap ----------------------------------------------------------------

  /** drain_freelist(): up to `tofree` slabs from the end of slabs_free back to the page allocator. */
  private drainFreelist(s: SlabCache, n: SlabNode, tofree: number): number {
    let nr = 0;
    while (nr < tofree && n.tail[FREE] !== NONE) {
      const slab = n.tail[FREE]!;
      this.listDel(n, slab);
      n.freeSlabs--;
      n.totalSlabs--;
      n.freeObjects -= s.num;
      this.slabDestroy(s, slab);
      nr++;
    }
    return nr;
  }

  /** drain_array_locked(): all, or a fifth of the limit (at most half of what is there), back to the slabs. */
  private drainArrayLocked(s: SlabCache, ac: ArrayCache | null, node: number, freeAll: boolean): void {
    if (!ac || !ac.avail) return;
    let tofree = freeAll ? ac.avail : Math.floor((ac.limit + 4) / 5);
    if (tofree > ac.avail) tofree = Math.floor((ac.avail + 1) / 2);
    const destroy: number[] = [];
    this.freeBlock(s, ac.entry, 0, tofree, node, destroy);
    ac.avail -= tofree;
    ac.entry.copyWithin(0, tofree, tofree + ac.avail);
    this.slabsDestroy(s, destroy);
  }

  /** drain_cpu_caches(): every CPU's array, every alien cache, every shared array. */
  private drainCpuCaches(s: SlabCache): void {
    for (let cpu = 0; cpu < this.nrCpuSlots; cpu++) {
      const ac = s.cpuCache[cpu]!;
      if (!ac.avail) continue;
      const destroy: number[] = [];
      this.freeBlock(s, ac.entry, 0, ac.avail, this.cpuNode[cpu]!, destroy);
      ac.avail = 0;
      this.slabsDestroy(s, destroy);
    }
    for (const n of s.nodes) {
      if (!n.alien) continue;
      for (let i = 0; i < this.nrNodes; i++) {
        const a = n.alien[i];
        if (!a || !a.avail) continue;
        const destroy: number[] = [];
        this.drainAlien(s, a, i, destroy);
        this.slabsDestroy(s, destroy);
      }
    }
    for (let node = 0; node < this.nrNodes; node++) this.drainArrayLocked(s, s.nodes[node]!.shared, node, true);
  }

  /** __kmem_cache_shrink(): drain every array, free every free slab. Returns pages freed. */
  shrinkCache(cache: KmemCache): number {
    const s = this.lookup(cache);
    if (s.keepsBytes) this.validateCache(s);
    const before = s.pages;
    this.drainCpuCaches(s);
    for (const n of s.nodes) this.drainFreelist(s, n, Number.MAX_SAFE_INTEGER);
    return before - s.pages;
  }

  destroyCache(cache: KmemCache): void {
    const s = this.lookup(cache);
    if (!kmemCacheRelease(this.checks, s)) return;
    this.shrinkCache(s);
    this.shrinker.untrack(s);
    s.refcount = 0;
    this.cacheById[s.id] = undefined;
    this.list.splice(this.list.indexOf(s), 1);
  }

  /**
   * cache_reap() on `cpu`: for every cache, the alien cache of the node
   * this CPU reaps next, a fifth of the CPU's array unless it was used
   * since the last reap, and every REAPTIMEOUT_NODE the node's shared
   * array and — unless the free list was touched — a fifth of free_limit
   * worth of free slabs.
   */
  cacheReap(cpu = 0): void {
    cpu = this.checks.cpuOf(cpu);
    const node = this.cpuNode[cpu]!;
    const now = this.clock.now();
    // schedule_delayed_work_on(): the next run, set first
    this.reapAt[cpu] = now + REAPTIMEOUT_AC;
    if (this.options.autoReap) this.nextReapAt = Math.min(...this.reapAt);
    for (let i = this.list.length - 1; i >= 0; i--) {
      const s = this.list[i]!;
      const n = s.nodes[node]!;
      // reap_alien()
      const a = n.alien?.[this.reapNode[cpu]!];
      if (a && a.avail) {
        const destroy: number[] = [];
        this.drainAlien(s, a, this.reapNode[cpu]!, destroy);
        this.slabsDestroy(s, destroy);
      }
      this.drainArray(s, s.cpuCache[cpu]!, node);
      if (n.nextReap > now) continue;
      n.nextReap = now + REAPTIMEOUT_NODE;
      this.drainArray(s, n.shared, node);
      if (n.freeTouched) n.freeTouched = 0;
      else this.drainFreelist(s, n, Math.floor((n.freeLimit + 5 * s.num - 1) / (5 * s.num)));
    }
    this.reapNode[cpu] = this.nextNodeIn(this.reapNode[cpu]!);
  }

  /** drain_array(): skip an array used since the last reap (clearing the mark), drain a fifth of an idle one. */
  private drainArray(s: SlabCache, ac: ArrayCache | null, node: number): void {
    if (!ac || !ac.avail) return;
    if (ac.touched) {
      ac.touched = 0;
      return;
    }
    this.drainArrayLocked(s, ac, node, false);
  }

  /** The per-CPU reap timers that are due by the simulated clock. */
  private runDueReaps(): void {
    const now = this.clock.now();
    for (let cpu = 0; cpu < this.nrCpuSlots; cpu++) if (this.reapAt[cpu]! <= now) this.cacheReap(cpu);
  }

  // ---- kmalloc ---------------------------------------------------------------------------

  /** kmalloc_type() */
  private kmallocType(gfp: number): KmallocType {
    return this.types.typeOf(gfp);
  }

  /** The cache kmalloc(size, gfp) uses (kmalloc_slab()), for 1 ≤ size ≤ 8192. */
  kmallocSlab(size: number, gfp: number): SlabCache {
    return this.kmallocCaches[this.kmallocType(gfp) * NR_INDEX + kmallocIndex(size)]!;
  }

  /** __do_kmalloc_node() without tracing: the user address or -1. */
  private kmallocInternal(size: number, gfp: number, node: number, cpu: number): number {
    if (size > KMALLOC_MAX_CACHE_SIZE) return this.kmallocLarge(size, gfp, node, cpu);
    const s = this.kmallocCaches[((gfp & this.notNormalBits) === 0 ? 0 : this.kmallocType(gfp) * NR_INDEX) + (size <= 192 ? SIZE_INDEX[(size - 1) >> 3]! : 32 - Math.clz32(size - 1))]!;
    return this.slabAllocNode(s, gfp, node, cpu);
  }

  kmalloc(size: number, gfp: number, opts?: SlabAllocOptions): number | null {
    this.checks.checkKmallocSize('kmalloc', size);
    if (size === 0) return ZERO_SIZE_PTR;
    let cpu = 0;
    let node = NONE;
    if (opts !== undefined) {
      cpu = this.checks.cpuOf(opts.cpu);
      node = this.checks.nodeOf(opts.nid);
    }
    if (this.clock.now() >= this.nextReapAt) this.runDueReaps();
    const ptr = this.kmallocInternal(size, gfp, node, cpu);
    if (this.ev.kmalloc) {
      const alloc = size > KMALLOC_MAX_CACHE_SIZE ? PAGE_SIZE << getOrder(size) : this.kmallocSlab(size, gfp).size;
      this.events.emit('kmalloc', {
        call_site: 0, ptr: ptr < 0 ? 0 : ptr, bytes_req: size, bytes_alloc: alloc, gfp_flags: gfp, node: opts?.nid ?? -1,
        accounted: this.options.memcg && (gfp & __GFP_ACCOUNT) !== 0,
      });
    }
    return ptr < 0 ? null : ptr;
  }

  /** __kmalloc_large_node(): compound pages, counted as unreclaimable slab. */
  private kmallocLarge(size: number, gfp: number, node: number, cpu: number): number {
    const order = getOrder(size);
    const pfn = this.pages.allocPages((gfp & ~(__GFP_DMA32 | __GFP_HIGHMEM)) | __GFP_COMP, order, node < 0 ? { cpu } : { nid: node, cpu });
    return pfn === null ? NONE : this.large.add(pfn, order);
  }

  kzalloc(size: number, gfp: number, opts?: SlabAllocOptions): number | null {
    return this.kmalloc(size, gfp | __GFP_ZERO, opts);
  }

  /** kfree() of a checked pointer (also for off-slab freelists). */
  private kfreeInternal(ptr: number, cpu: number): void {
    const slab = this.slabOf(ptr, 'kfree');
    if (slab >= 0) {
      const s = this.cacheById[this.sCache[slab]!]!;
      this.freeObject(s, slab, this.objectIndex(s, slab, ptr, 'kfree', true), cpu);
    } else {
      this.freeLarge(ptr);
    }
  }

  kfree(ptr: number | null, opts?: SlabFreeOptions): void {
    if (this.ev.kfree) this.events.emit('kfree', { call_site: 0, ptr: ptr ?? 0 });
    if (ptr === null || ptr === undefined || (ptr >= 0 && ptr <= ZERO_SIZE_PTR)) return;
    const cpu = opts === undefined ? 0 : this.checks.cpuOf(opts.cpu);
    if (typeof ptr !== 'number') throw this.checks.err('EBAD_POINTER', `kfree(${String(ptr)}): not a pointer`, { ptr });
    if (this.clock.now() >= this.nextReapAt) this.runDueReaps();
    this.kfreeInternal(ptr, cpu);
  }

  /** free_large_kmalloc() */
  private freeLarge(ptr: number): void {
    const { pfn, order } = this.large.remove(ptr);
    this.pages.freePages(pfn, order);
  }

  /** __ksize(): object_size for slab objects (slab_ksize under SLAB), the folio size for large kmallocs. */
  private ksizeOf(ptr: number, op: string, freeing: boolean): number {
    if (typeof ptr !== 'number') throw this.checks.err('EBAD_POINTER', `${op}(${String(ptr)}): not a pointer`, { ptr });
    const slab = this.slabOf(ptr, op);
    if (slab >= 0) {
      const s = this.cacheById[this.sCache[slab]!]!;
      this.objectIndex(s, slab, ptr, op, freeing);
      return s.objectSize;
    }
    return PAGE_SIZE << this.large.orderOf(ptr, op, freeing);
  }

  ksize(ptr: number): number {
    if (zeroOrNullPtr(ptr)) return 0;
    return this.ksizeOf(ptr, 'ksize', false);
  }

  /** krealloc(): the old object is freed only when there was one. */
  krealloc(ptr: number | null, size: number, gfp: number, opts?: SlabAllocOptions): number | null {
    return krealloc({ ksizeOf: (p, op) => this.ksizeOf(p, op, true), kmalloc: (n, g, o) => this.kmalloc(n, g, o), kfree: (p, o) => this.kfree(p, o) },
      this.checks, ptr, size, gfp, opts, false);
  }

  // ---- debugging (CONFIG_DEBUG_SLAB) ------------------------------------------------------

  /** dbg_redzone1 / dbg_redzone2 / dbg_userword offsets from the raw object. */
  private static rz1(s: SlabCache): number {
    return s.objOffset - 8;
  }
  private static rz2(s: SlabCache): number {
    return s.storeUser ? s.size - 8 - 8 : s.size - 8;
  }

  /** cache_init_objs_debug(): red zones inactive, poison free, no last user. */
  private initDebugSlab(s: SlabCache, slab: number, npages: number): void {
    const d: DebugSlab = {
      mem: s.keepsBytes ? new Uint8Array(npages * PAGE_SIZE) : null,
      userCpu: new Int32Array(s.num).fill(-1), userWhen: new Float64Array(s.num).fill(-1), userFreed: new Uint8Array(s.num),
    };
    this.sDebug[slab] = d;
    if (!d.mem) return;
    const base = this.sMem[slab]! - this.sPfn[slab]! * PAGE_SIZE;
    for (let i = 0; i < s.num; i++) {
      const o = base + i * s.size;
      if (s.redZone) {
        d.mem.set(RED_INACTIVE_BYTES, o + SlabAllocatorImpl.rz1(s));
        d.mem.set(RED_INACTIVE_BYTES, o + SlabAllocatorImpl.rz2(s));
      }
      if (s.poison) this.poisonObj(s, d.mem, o, POISON_FREE);
    }
  }

  /** poison_obj(): the object to `val`, its last byte POISON_END. */
  private poisonObj(s: SlabCache, mem: Uint8Array, o: number, val: number): void {
    const p = o + s.objOffset;
    mem.fill(val, p, p + s.objectSize - 1);
    mem[p + s.objectSize - 1] = POISON_END;
  }

  /** Compares a red zone word with `want`; reports (and restores) a mismatch. */
  private checkWord(s: SlabCache, mem: Uint8Array, o: number, at: number, want: Uint8Array, what: string, slabAddr: number, out: SlabCorruption[]): boolean {
    let first = -1;
    let last = -1;
    for (let i = 0; i < 8; i++) {
      if (mem[o + at + i] !== want[i]) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) return true;
    const object = slabAddr + o + s.objOffset;
    out.push({
      cache: s.name, object, offset: at + first - s.objOffset, slabOffset: o + at + first, length: last - first + 1, what,
      found: mem[o + at + first]!, expected: want[first]!,
    });
    mem.set(want, o + at);
    return false;
  }

  /** check_poison_obj(): POISON_FREE with POISON_END last; the bad run reported and re-poisoned. */
  private checkPoison(s: SlabCache, mem: Uint8Array, o: number, slabAddr: number, out: SlabCorruption[]): boolean {
    const p = o + s.objOffset;
    let first = -1;
    let last = -1;
    for (let i = 0; i < s.objectSize; i++) {
      const exp = i === s.objectSize - 1 ? POISON_END : POISON_FREE;
      if (mem[p + i] !== exp) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) return true;
    out.push({
      cache: s.name, object: slabAddr + p, offset: first, slabOffset: p + first, length: last - first + 1, what: 'Poison',
      found: mem[p + first]!, expected: first === s.objectSize - 1 ? POISON_END : POISON_FREE,
    });
    this.poisonObj(s, mem, o, POISON_FREE);
    return false;
  }

  /** The EOBJ_CORRUPT error for what a check found (slab_error: "memory outside object was overwritten", "Slab corruption"). */
  private corrupt(where: string, s: SlabCache, object: number, found: SlabCorruption[]): MmsimError {
    const first = found[0]!;
    const lines = found.map((c) => `${c.what} of object ${hexPtr(c.object)} overwritten at offset ${c.offset} (@offset=${c.slabOffset}, ${c.length} bytes): ` +
      `first byte 0x${c.found.toString(16)} instead of 0x${c.expected.toString(16)}`);
    const why = first.what === 'Poison' ? 'Slab corruption' : 'memory outside object was overwritten';
    return new MmsimError('EOBJ_CORRUPT', `slab error in cache '${s.name}': ${why}, found on ${where} of object ${hexPtr(object)} (offset ${first.offset}); ` +
      `bytes restored:\n${lines.join('\n')}`, { plugin: 'slab', details: { cache: s.name, ptr: object, offset: first.offset, what: first.what, corruptions: found } });
  }

  /**
   * cache_alloc_debugcheck_after(): a poisoned object must still be
   * poisoned, the red zones inactive. A failure puts the object back in
   * the cache (bytes restored) and throws EOBJ_CORRUPT; otherwise the
   * object is poisoned POISON_INUSE, red-zoned active, its user noted.
   */
  private allocDebugCheckAfter(s: SlabCache, slab: number, idx: number, objp: number, cpu: number, gfp: number): void {
    const d = this.sDebug[slab]!;
    const mem = d.mem;
    const slabAddr = this.sPfn[slab]! * PAGE_SIZE;
    const o = objp - slabAddr;
    if (mem) {
      const out: SlabCorruption[] = [];
      if (s.poison) this.checkPoison(s, mem, o, slabAddr, out);
      if (s.redZone) {
        this.checkWord(s, mem, o, SlabAllocatorImpl.rz1(s), RED_INACTIVE_BYTES, 'Redzone 1', slabAddr, out);
        this.checkWord(s, mem, o, SlabAllocatorImpl.rz2(s), RED_INACTIVE_BYTES, 'Redzone 2', slabAddr, out);
      }
      if (out.length) {
        this.cacheFreeInternal(s, slab, objp, cpu);
        throw this.corrupt('allocation', s, objp + s.objOffset, out);
      }
      if (s.poison) this.poisonObj(s, mem, o, POISON_INUSE);
      if (s.redZone) {
        mem.set(RED_ACTIVE_BYTES, o + SlabAllocatorImpl.rz1(s));
        mem.set(RED_ACTIVE_BYTES, o + SlabAllocatorImpl.rz2(s));
      }
      if (gfp & __GFP_ZERO) mem.fill(0, o + s.objOffset, o + s.objOffset + s.objectSize);
    }
    if (s.storeUser) {
      d.userCpu[idx] = cpu;
      d.userWhen[idx] = this.clock.now();
      d.userFreed[idx] = 0;
    }
    if (s.ctor && s.poison) s.ctor(objp + s.objOffset);
  }

  /**
   * cache_free_debugcheck(): both red zones must be active
   * (verify_redzone_free); a failure throws EOBJ_CORRUPT before anything
   * changes (the bytes restored). Then the red zones inactive, the user
   * noted, the object poisoned POISON_FREE.
   */
  private cacheFreeDebugcheck(s: SlabCache, slab: number, idx: number, objp: number, cpu: number): void {
    const d = this.sDebug[slab]!;
    const mem = d.mem;
    const slabAddr = this.sPfn[slab]! * PAGE_SIZE;
    const o = objp - slabAddr;
    if (mem && s.redZone) {
      const out: SlabCorruption[] = [];
      this.checkWord(s, mem, o, SlabAllocatorImpl.rz1(s), RED_ACTIVE_BYTES, 'Redzone 1', slabAddr, out);
      this.checkWord(s, mem, o, SlabAllocatorImpl.rz2(s), RED_ACTIVE_BYTES, 'Redzone 2', slabAddr, out);
      if (out.length) throw this.corrupt('free', s, objp + s.objOffset, out);
      mem.set(RED_INACTIVE_BYTES, o + SlabAllocatorImpl.rz1(s));
      mem.set(RED_INACTIVE_BYTES, o + SlabAllocatorImpl.rz2(s));
    }
    if (s.storeUser) {
      d.userCpu[idx] = cpu;
      d.userWhen[idx] = this.clock.now();
      d.userFreed[idx] = 1;
    }
    if (mem && s.poison) this.poisonObj(s, mem, o, POISON_FREE);
  }

  /** slab_destroy_debugcheck(): the kernel logs what it finds and frees anyway; so does the simulator (into `reports`). */
  private destroyDebugCheck(s: SlabCache, slab: number): void {
    const mem = this.sDebug[slab]?.mem;
    if (!mem) return;
    const slabAddr = this.sPfn[slab]! * PAGE_SIZE;
    const base = this.sMem[slab]! - slabAddr;
    for (let i = 0; i < s.num; i++) {
      const o = base + i * s.size;
      if (s.poison) this.checkPoison(s, mem, o, slabAddr, this.reports);
      if (s.redZone) {
        this.checkWord(s, mem, o, SlabAllocatorImpl.rz1(s), RED_INACTIVE_BYTES, 'Redzone 1', slabAddr, this.reports);
        this.checkWord(s, mem, o, SlabAllocatorImpl.rz2(s), RED_INACTIVE_BYTES, 'Redzone 2', slabAddr, this.reports);
      }
    }
  }

  /** The last user of the object at `ptr` (SLAB_STORE_USER caches). */
  lastUser(cache: KmemCache, ptr: number): LastUser | undefined {
    const s = this.cacheById[cache.id];
    if (!s || !s.storeUser) return undefined;
    const slab = this.slabOf(ptr, 'last user');
    if (slab < 0 || this.sCache[slab] !== s.id) return undefined;
    const idx = Math.floor((ptr - s.objOffset - this.sMem[slab]!) / s.size);
    const d = this.sDebug[slab]!;
    return { cpu: d.userCpu[idx]!, when: d.userWhen[idx]!, freed: d.userFreed[idx] === 1 };
  }

  /** A debug slab's bytes start at its first page. */
  private readonly slabBytes: SlabBytes = (slab) => {
    const mem = this.sDebug[slab]?.mem;
    return mem ? { mem, start: this.sPfn[slab]! * PAGE_SIZE } : undefined;
  };

  writeObject(ptr: number, offset: number, data: ArrayLike<number>): boolean {
    return this.checks.writeObject(this.slabBytes, ptr, offset, data);
  }

  readObject(ptr: number, offset: number, length: number): Uint8Array | null {
    return this.checks.readObject(this.slabBytes, ptr, offset, length);
  }

  /** Allocated objects: red zones active; free ones (on slabs or in array caches): red zones inactive, poison intact. */
  validateCache(cache: KmemCache): void {
    const s = this.lookup(cache);
    if (!s.keepsBytes) return;
    const found: SlabCorruption[] = [];
    for (let slab = 0; slab < this.slabTop; slab++) {
      if (this.sCache[slab] !== s.id) continue;
      const mem = this.sDebug[slab]!.mem!;
      const slabAddr = this.sPfn[slab]! * PAGE_SIZE;
      const base = this.sMem[slab]! - slabAddr;
      for (let i = 0; i < s.num; i++) {
        const o = base + i * s.size;
        const live = s.live[this.sBase[slab]! + i] === 1;
        if (s.redZone) {
          const want = live ? RED_ACTIVE_BYTES : RED_INACTIVE_BYTES;
          this.checkWord(s, mem, o, SlabAllocatorImpl.rz1(s), want, 'Redzone 1', slabAddr, found);
          this.checkWord(s, mem, o, SlabAllocatorImpl.rz2(s), want, 'Redzone 2', slabAddr, found);
        }
        if (!live && s.poison) this.checkPoison(s, mem, o, slabAddr, found);
      }
    }
    if (found.length) throw this.corrupt('validation', s, found[0]!.object, found);
  }

  lruAdd(cache: KmemCache, ptr: number): boolean {
    const s = this.lookup(cache);
    const lru = this.checks.lruOf(this.shrinker, s, 'list_lru_add');
    const slab = this.checks.slabOfCache(this.sCache, s, ptr, 'list_lru_add');
    this.objectIndex(s, slab, ptr, 'list_lru_add', false);
    return lru.add(ptr, this.sNid[slab]!);
  }

  lruDel(cache: KmemCache, ptr: number): boolean {
    return this.checks.lruOf(this.shrinker, this.lookup(cache), 'list_lru_del').del(ptr);
  }

  // ---- reports -----------------------------------------------------------------------------

  /** get_slabinfo(): objects in array caches count as active (they are not free_objects); the real tunables. */
  slabinfoOf(cache: KmemCache): SlabInfo {
    const s = this.lookup(cache);
    let totalSlabs = 0;
    let freeSlabs = 0;
    let freeObjs = 0;
    let sharedAvail = 0;
    for (const n of s.nodes) {
      totalSlabs += n.totalSlabs;
      freeSlabs += n.freeSlabs;
      freeObjs += n.freeObjects;
      if (n.shared) sharedAvail += n.shared.avail;
    }
    const numObjs = totalSlabs * s.num;
    return {
      name: s.name, activeObjs: numObjs - freeObjs, numObjs, objSize: s.size, objPerSlab: s.num, pagesPerSlab: 1 << s.order,
      limit: s.limit, batchCount: s.batchcount, shared: s.shared, activeSlabs: totalSlabs - freeSlabs, numSlabs: totalSlabs, sharedAvail,
    };
  }

  slabinfo(): SlabInfo[] {
    return slabinfoRows(this.list, (s) => this.slabinfoOf(s));
  }

  stats(): SlabStats {
    return { reclaimablePages: this.reclaimableSlabPages, unreclaimablePages: this.unreclaimableSlabPages + this.large.pages };
  }

  /** Where a cache's free objects are: per CPU array, shared arrays, alien caches (for inspection). */
  arrays(cache: KmemCache): { cpu: number[]; shared: number[]; alien: number[][] } {
    const s = this.lookup(cache);
    return {
      cpu: s.cpuCache.map((a) => a.avail),
      shared: s.nodes.map((n) => n.shared?.avail ?? 0),
      alien: s.nodes.map((n) => (n.alien ?? []).map((a) => a?.avail ?? 0)),
    };
  }

  /** A slab's colour offset and list, for inspection: the slab holding `ptr`. */
  slabOfObject(ptr: number): { colourOffset: number; list: 'full' | 'partial' | 'free' | 'none'; active: number; nid: number; offSlabFreelist: number | null } | undefined {
    const slab = this.slabOf(ptr, 'slab');
    if (slab < 0) return undefined;
    const l = this.sList[slab]!;
    return {
      colourOffset: this.sMem[slab]! - this.sPfn[slab]! * PAGE_SIZE, list: l === FULL ? 'full' : l === PARTIAL ? 'partial' : l === FREE ? 'free' : 'none',
      active: this.sActive[slab]!, nid: this.sNid[slab]!, offSlabFreelist: this.sMgmt[slab]! >= 0 ? this.sMgmt[slab]! : null,
    };
  }

  // ---- CONFIG_DEBUG_VM ---------------------------------------------------------------------

  /** Lists, counters, freelists, array contents, page marks and page counts agree. */
  check(): void {
    const bad = (m: string): never => this.checks.corrupt(m);
    const t = this.t;
    let reclaimable = 0;
    let unreclaimable = 0;
    const slabsOf = this.checks.slabsByCache(this.sCache, this.slabTop, this.cacheById);
    for (const s of this.list) {
      const slabs = slabsOf.get(s.id) ?? [];
      // objects held in arrays: allocated at slab level, free for the user
      const inArrays = new Map<number, number>();
      const note = (objp: number, where: string) => {
        if (inArrays.has(objp)) bad(`cache '${s.name}': object ${hexPtr(objp)} is in two arrays (${where})`);
        inArrays.set(objp, 1);
      };
      s.cpuCache.forEach((ac, cpu) => {
        for (let i = 0; i < ac.avail; i++) {
          note(ac.entry[i]!, `CPU ${cpu}`);
          const slab = this.slabOf(ac.entry[i]!, 'check');
          if (slab < 0 || this.sNid[slab] !== this.cpuNode[cpu]) bad(`cache '${s.name}': CPU ${cpu} array holds an object of another node`);
        }
      });
      s.nodes.forEach((n, node) => {
        if (n.shared) for (let i = 0; i < n.shared.avail; i++) note(n.shared.entry[i]!, `shared ${node}`);
        n.alien?.forEach((a, remote) => {
          if (!a) return;
          for (let i = 0; i < a.avail; i++) {
            note(a.entry[i]!, `alien ${node}→${remote}`);
            if (this.sNid[this.slabOf(a.entry[i]!, 'check')] !== remote) bad(`cache '${s.name}': alien cache of node ${node} for ${remote} holds another node's object`);
          }
        });
      });
      let live = 0;
      let pages = 0;
      const nodeCounts = s.nodes.map(() => ({ total: 0, free: 0, freeObjects: 0 }));
      for (const slab of slabs) {
        const nid = this.sNid[slab]!;
        const where = `cache '${s.name}' slab ${slab} (pfn ${this.sPfn[slab]})`;
        const active = this.sActive[slab]!;
        if (active < 0 || active > s.num) bad(`${where}: active ${active}`);
        const seen = new Set<number>();
        for (let i = active; i < s.num; i++) {
          const idx = s.freelist[this.sBase[slab]! + i]!;
          if (idx >= s.num || seen.has(idx)) bad(`${where}: freelist entry ${i} is ${idx}`);
          seen.add(idx);
          if (s.live[this.sBase[slab]! + idx]) bad(`${where}: allocated object ${idx} is on the freelist`);
        }
        let liveHere = 0;
        let arrayed = 0;
        for (let i = 0; i < s.num; i++) {
          const objp = this.sMem[slab]! + i * s.size;
          const isLive = s.live[this.sBase[slab]! + i] === 1;
          liveHere += isLive ? 1 : 0;
          if (inArrays.has(objp)) {
            arrayed++;
            if (isLive || seen.has(i)) bad(`${where}: object ${i} in an array is also allocated or on the freelist`);
          }
        }
        if (liveHere + arrayed !== active) bad(`${where}: ${active} active but ${liveHere} allocated + ${arrayed} in arrays`);
        live += liveHere;
        const l = this.sList[slab]!;
        const want = active === s.num ? FULL : active === 0 ? FREE : PARTIAL;
        if (l !== want) bad(`${where}: on list ${l}, ${active}/${s.num} active`);
        nodeCounts[nid]!.total++;
        if (l === FREE) nodeCounts[nid]!.free++;
        nodeCounts[nid]!.freeObjects += s.num - active;
        pages += 1 << s.order;
        const pfn = this.sPfn[slab]!;
        for (let i = 0; i < 1 << s.order; i++) {
          const page = this.memory.pfnToPage(pfn + i);
          if (!(t.flags[page]! & PG_slab) || t.private[page] !== slab || t.owner[page] !== s.id) bad(`${where}: page ${pfn + i} is not marked as this slab's`);
        }
        if ((this.sMgmt[slab]! >= 0) !== (s.mgmt === 'offslab')) bad(`${where}: off-slab freelist ${this.sMgmt[slab]} for a ${s.mgmt} cache`);
        const colourOffset = this.sMem[slab]! - pfn * PAGE_SIZE;
        if (colourOffset % s.colourOff !== 0 || colourOffset / s.colourOff > Math.max(0, s.colour - 1)) bad(`${where}: colour offset ${colourOffset}`);
      }
      s.nodes.forEach((n, node) => {
        const c = nodeCounts[node]!;
        if (c.total !== n.totalSlabs || c.free !== n.freeSlabs || c.freeObjects !== n.freeObjects) {
          bad(`cache '${s.name}' node ${node}: ${c.total} slabs, ${c.free} free, ${c.freeObjects} free objects; counters say ${n.totalSlabs}, ${n.freeSlabs}, ${n.freeObjects}`);
        }
        for (const which of [FULL, PARTIAL, FREE]) {
          let prev = NONE;
          let count = 0;
          for (let slab = n.head[which]!; slab !== NONE; slab = this.sNext[slab]!) {
            if (this.sPrev[slab] !== prev || this.sList[slab] !== which || this.sNid[slab] !== node || this.sCache[slab] !== s.id) bad(`cache '${s.name}' node ${node}: list ${which} broken at slab ${slab}`);
            prev = slab;
            if (++count > slabs.length) bad(`cache '${s.name}' node ${node}: list ${which} loops`);
          }
          if (n.tail[which] !== prev) bad(`cache '${s.name}' node ${node}: list ${which} tail`);
        }
      });
      if (live !== s.liveObjects) bad(`cache '${s.name}': ${live} objects allocated, counter says ${s.liveObjects}`);
      if (pages !== s.pages) bad(`cache '${s.name}': slabs hold ${pages} pages, counter says ${s.pages}`);
      if (s.reclaimable) reclaimable += pages;
      else unreclaimable += pages;
    }
    if (reclaimable !== this.reclaimableSlabPages || unreclaimable !== this.unreclaimableSlabPages) {
      bad(`slab pages ${reclaimable}/${unreclaimable}, counters say ${this.reclaimableSlabPages}/${this.unreclaimableSlabPages}`);
    }
    this.large.check(bad);
  }
}
