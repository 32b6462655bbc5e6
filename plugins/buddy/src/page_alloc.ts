/**
 * The zoned buddy allocator (mm/page_alloc.c): __alloc_pages() with its
 * fast path (get_page_from_freelist at the low watermark, per-CPU lists,
 * __rmqueue with migrate-type fallbacks) and slow path
 * (__alloc_pages_slowpath: kswapd, reserves, direct reclaim and compaction,
 * retries, the OOM killer, __GFP_NOFAIL), and the free path
 * (free_unref_page, __free_one_page). The mechanisms live beside it:
 * mmzone.ts (zone state, free lists), fallback.ts, pcp.ts, watermark.ts,
 * compaction.ts (and kcompactd), mempolicy.ts, numa.ts (zone_statistics on
 * NUMA machines), page_isolation.ts (hotplug), pagetypeinfo.ts. Reclaim
 * (kswapd, direct and node reclaim) is the RECLAIM engine's and the OOM
 * killer the OOM_KILLER service's: the slow path calls them as
 * page_alloc.c calls mm/vmscan.c and mm/oom_kill.c.
 * @module
 */
import {
  ALLOC_CMA, ALLOC_CPUSET, ALLOC_HIGHATOMIC, ALLOC_KSWAPD, ALLOC_MIN_RESERVE, ALLOC_NO_WATERMARKS, ALLOC_NOFRAGMENT,
  ALLOC_NON_BLOCK, ALLOC_OOM, ALLOC_WMARK_HIGH, ALLOC_WMARK_LOW, ALLOC_WMARK_MASK, ALLOC_WMARK_MIN, type AllocOptions, CLOCK, EVENTS,
  type EventBus, type FreeOptions, gfpMigratetype, gfpZone, kernelAtLeast, type Lazy, lazy, MAX_PAGE_ORDER, MEMORY_MODEL,
  type Mempolicy, type MemoryModel, MigrateType, MIGRATE_TYPES, MmsimError, NODE_RECLAIM_FULL, NODE_RECLAIM_NOSCAN, NR_PAGE_ORDERS,
  OOM_KILLER, type OomKiller, type PageAllocator, type PageFrameTable, PageOwner, PAGE_OWNERS, type PageOwners, PG_buddy, PG_head,
  PG_lru, PG_pcp, PG_reserved, PG_slab, RECLAIM, type Reclaim, type SimClock, SYSCTL, type Sysctl, TASKS, type TaskTable, type DelayedWork,
  type DelayedWorkQueue, TIMERS, TOPOLOGY, type Topology, type Zone, type ZoneAllocInfo, ZoneType, __GFP_COMP,
  __GFP_DIRECT_RECLAIM, __GFP_HARDWALL, __GFP_HIGH, __GFP_IO, __GFP_KSWAPD_RECLAIM, __GFP_MEMALLOC, __GFP_NOFAIL,
  __GFP_NOMEMALLOC, __GFP_NORETRY, __GFP_RETRY_MAYFAIL, __GFP_THISNODE, inject, injectable,
} from '@mmsim/core';
import {
  COMPACT_DEFERRED, COMPACT_SKIPPED, DEF_COMPACT_PRIORITY, INIT_COMPACT_PRIORITY,
  compactGap, compactNodes, type CompactPriority, directCompact, HPAGE_FRAG_CHECK_INTERVAL_NS, kcompactdProactive, shouldCompactRetry,
  wakeupKcompactd,
} from './compaction.js';
import { SNAPSHOT_EXCLUDE } from '@mmsim/core';
import { type FallbackContext, RMQUEUE_NORMAL, resetRmqueueMode, reserveHighatomicPageblock, rmqueue, unreserveHighatomicPageblock } from './fallback.js';
import { policyPlacement, policyZone, resolveMempolicy, type ResolvedMempolicy } from './mempolicy.js';
import { NumaAccounting } from './numa.js';
import * as isolation from './page_isolation.js';
import { KcompactdState, MAX_RECLAIM_RETRIES, MIGRATE_PCPTYPES, NR_PCP_LISTS, orderToPindex, PAGE_ALLOC_COSTLY_ORDER, PAGEBLOCK_ORDER, PerCpuPages, pindexToOrder, type ZoneShared, ZoneState } from './mmzone.js';
import { BUDDY_OPTIONS, type BuddyOptions } from './options.js';
import { decayPcpHigh, drainPagesZone, freeUnrefPageCommit, type PcpContext, pcpAllowedOrder, rmqueuePcplist } from './pcp.js';
import type { PageblockInfo } from './pagetypeinfo.js';
import type { WatermarkFormula } from './watermark_calc.js';
import { initPerZoneWmarkMin, setupLowmemReserveAll, setupPerZoneWmarksAll, type WatermarkHost, wmarkPages, zonePcpUpdate, zoneWatermarkFast, zoneWatermarkOk, zoneWatermarkOkFree } from './watermark.js';

export { FALLBACKS } from './fallback.js';

/** order_to_pindex() by order * MIGRATE_PCPTYPES + migratetype. */
const PINDEX = Int8Array.from({ length: NR_PAGE_ORDERS * MIGRATE_PCPTYPES }, (_, i) => orderToPindex(i % MIGRATE_PCPTYPES, Math.floor(i / MIGRATE_PCPTYPES)));
export { PAGEBLOCK_ORDER } from './mmzone.js';
export type { BuddyOptions } from './options.js';

/** Upper bound on slow-path retries: the kernel may loop for ever, a simulation must end. */
const MAX_SLOWPATH_LOOPS = 256;

/** struct alloc_context: what one slow-path allocation works with. */
export interface AllocContext {
  zonelist: readonly ZoneState[];
  /** preferred_zoneref: the first eligible zone's position in the zonelist. */
  start: number;
  highestIdx: number;
  migratetype: number;
  nodemask: Uint8Array | null;
  preferredNid: number;
  cpu: number;
  cold: boolean;
  pid: number;
}

/** The zoned buddy allocator: PAGE_ALLOCATOR of the buddy plugin. */
@injectable()
export class BuddyAllocator implements PageAllocator, PageblockInfo, WatermarkHost {
  /** callPolicy memoises resolved policies by the caller's object: a cache, rebuilt on demand. */
  static readonly [SNAPSHOT_EXCLUDE] = ['callPolicy'];
  readonly name = 'buddy';
  readonly maxOrder = MAX_PAGE_ORDER;
  /** Populated zones, node by node, lowest first. @internal */
  readonly zones: ZoneState[] = [];
  /** Per-node kcompactd state, by nid (kswapd's is the reclaim engine's). @internal */
  readonly pgdat: KcompactdState[] = [];
  /** Each node's kcompactd timer (proactive compaction), re-armed when kcompactd is woken. @internal */
  readonly kcompactdWork: DelayedWork[] = [];
  /** @internal */
  readonly shared: ZoneShared;
  /** @internal */
  readonly pcpCtx: PcpContext;
  readonly kernelVersion: string;
  readonly formula: WatermarkFormula;
  private readonly byZone = new Map<Zone, ZoneState>();
  private zonelists: ZoneState[][] = [];
  private zonelistsThisNode: ZoneState[][] = [];
  /** gfp & GFP_ZONEMASK → zone index, -1 for GFP_ZONE_BAD. */
  private readonly gfpZoneIdx = new Int8Array(16);
  /**
   * The fast path's preferred zone by gfp & 0x1f (zone modifiers and
   * migrate type bits), for a call without options (CPU 0, its node's
   * zonelist, no policy): what first_zones_zonelist() returns, or null where
   * the gfp is invalid or CPU 0 has no list there. Rebuilt with the
   * zonelists.
   */
  private fastZone: (ZoneState | null)[] = [];
  /** gfp_zone() as a zone index by gfp & 0x1f, for the fast path. */
  private readonly fastHz = new Int8Array(32);
  /** CPU id → node id, -1 for a CPU that does not exist. */
  private cpuNode = new Int32Array(0);
  private readonly cpus: number[];
  private readonly multiNode: boolean;
  private readonly pcpOn: boolean;
  /** pcp_allowed_order() by order (all 0 with pcp off). */
  private readonly pcpOrder = new Uint8Array(NR_PAGE_ORDERS);
  private readonly normalIdx: number;
  private readonly policyZoneIdx: number;
  private readonly taskPolicy = new Map<number, ResolvedMempolicy>();
  private readonly callPolicy = new WeakMap<Mempolicy, ResolvedMempolicy>();
  private t: PageFrameTable;
  /** PGALLOC per zone index, PGFREE. */
  private readonly pgalloc: Float64Array;
  private pgfree = 0;
  /** The allocator's other vm events (compaction's, pgmigrate_fail); reclaim's and the OOM killer's are VMSTAT's. @internal */
  readonly ev: Record<string, number> = {};
  /** The migrate type each isolated pageblock had (by first pfn), restored by undoIsolateRange. @internal */
  readonly isolatedFrom = new Map<number, number>();
  /** zone_statistics() and the remote-access cost; null on a single node, where every block is a local hit. */
  private readonly numa: NumaAccounting | null;

  constructor(
    @inject(TOPOLOGY) readonly topology: Topology,
    @inject(MEMORY_MODEL) readonly memory: MemoryModel,
    @inject(EVENTS) readonly events: EventBus,
    @inject(SYSCTL) readonly sysctl: Sysctl,
    @inject(BUDDY_OPTIONS) readonly options: BuddyOptions,
    /** `current`: PF_MEMALLOC nesting (memalloc), and set_mempolicy's pids. @internal */
    @inject(TASKS) readonly tasks: TaskTable,
    /** Migration (compaction, hotplug) through the pages' owners. @internal */
    @inject(PAGE_OWNERS) readonly owners: PageOwners,
    @inject(TIMERS) timers: DelayedWorkQueue,
    @inject(CLOCK) clock: SimClock,
    // reclaim and the OOM killer ask the allocator in turn: resolved on first use
    /** The reclaim engine (kswapd, direct and node reclaim). @internal */
    @inject(lazy(RECLAIM)) readonly reclaim: Lazy<Reclaim>,
    @inject(lazy(OOM_KILLER)) private readonly oomKiller: Lazy<OomKiller>,
  ) {
    this.t = memory.pages;
    this.kernelVersion = topology.kernel;
    const v = this.kernelVersion;
    this.formula = options.watermarks ?? (kernelAtLeast(v, '4.6') ? 'scale-factor' : 'classic');
    this.pcpOn = options.pcp;
    const fallbackCtx: FallbackContext = { watermarkBoostFactor: sysctl.get('vm.watermark_boost_factor') };
    this.pcpCtx = {
      ...fallbackCtx,
      autoTune: kernelAtLeast(v, '6.7'),
      highOrder: kernelAtLeast(v, '5.13'),
      movableIdx: topology.zoneTypes.length - 1,
    };
    for (let o = 0; o < NR_PAGE_ORDERS; o++) this.pcpOrder[o] = this.pcpOn && pcpAllowedOrder(o, this.pcpCtx) ? 1 : 0;
    this.normalIdx = topology.zoneIndex(ZoneType.NORMAL);
    this.policyZoneIdx = policyZone(topology);
    this.multiNode = topology.nodes.length > 1;
    this.numa = this.multiNode ? new NumaAccounting(topology, clock) : null;
    this.pgalloc = new Float64Array(topology.zoneTypes.length);
    for (let bits = 0; bits < 16; bits++) {
      let idx = -1;
      try {
        idx = topology.zoneIndex(gfpZone(bits, topology.zoneConfig));
        if (idx < 0) idx = topology.zoneTypes.length - 1;
      } catch {
        idx = -1;
      }
      this.gfpZoneIdx[bits] = idx;
    }
    const pageCount = topology.totalManagedPages;
    this.shared = {
      memory, events,
      // build_all_zonelists(): too little memory to group by mobility
      mobilityDisabled: !options.mobilityGrouping || pageCount < (1 << PAGEBLOCK_ORDER) * MIGRATE_TYPES,
      pbZone: new Int16Array(0),
      zoneIdOfPfn: (pfn) => {
        const z = topology.pfnZone(pfn);
        return z ? (this.byZone.get(z)?.id ?? -1) : -1;
      },
    };
    this.cpus = topology.nodes.flatMap((n) => n.cpus).sort((a, b) => a - b);
    for (const n of topology.nodes) this.pgdat[n.nid] = new KcompactdState(topology.zoneTypes.length);
    this.buildZoneMaps();
    this.freeBootMemory();
    initPerZoneWmarkMin(this);
    sysctl.onChange((name, value) => {
      switch (name) {
        case 'vm.min_free_kbytes':
        case 'vm.watermark_scale_factor':
          setupPerZoneWmarksAll(this); // min_free_kbytes_sysctl_handler / watermark_scale_factor_sysctl_handler
          break;
        case 'vm.lowmem_reserve_ratio':
          setupLowmemReserveAll(this);
          break;
        case 'vm.percpu_pagelist_high_fraction':
          for (const zs of this.zones) zonePcpUpdate(this, zs);
          break;
        case 'vm.watermark_boost_factor':
          this.pcpCtx.watermarkBoostFactor = value as number;
          break;
        case 'vm.compaction_proactiveness':
          // compaction_proactiveness_sysctl_handler(): a write of a non-zero value wakes every kcompactd for a proactive pass
          // (then kcompactd sleeps again from now: 500 ms, or the deferral if the pass made no progress)
          if ((value as number) > 0 && options.compaction && options.kcompactd) {
            for (const n of topology.nodes) this.kcompactdWork[n.nid]?.mod(kcompactdProactive(this, n.nid));
          }
          break;
      }
    });
    // the daemons' periodic work, run as simulated time passes (Simulator.tick)
    if (options.compaction && options.kcompactd) {
      for (const n of topology.nodes) this.kcompactdWork[n.nid] = timers.queue(`kcompactd${n.nid}`, HPAGE_FRAG_CHECK_INTERVAL_NS, () => kcompactdProactive(this, n.nid));
    }
    if (this.pcpCtx.autoTune) {
      // vmstat_update() → refresh_cpu_vm_stats(true) → decay_pcp_high() for every zone and CPU
      timers.queue('vmstat_update', sysctl.get('vm.stat_interval') * 1e9, () => {
        for (const zs of this.zones) for (const pcp of zs.pcp) if (pcp) decayPcpHigh(zs, pcp);
        return sysctl.get('vm.stat_interval') * 1e9;
      });
    }
  }

  /** The allocator state of a populated zone (WatermarkHost). */
  zoneState(zone: Zone): ZoneState | undefined {
    return this.byZone.get(zone);
  }

  /** All zone states (for the reclaim and compaction files). @internal */
  get zoneStates(): readonly ZoneState[] {
    return this.zones;
  }

  /**
   * Rebuilds the pfn → zone table, the zonelists over zone states and the
   * per-CPU lists (boot, and after memory hotplug changes zones).
   */
  buildZoneMaps(): void {
    const topo = this.topology;
    for (const z of topo.zones) {
      const zs = this.byZone.get(z);
      if (!zs) {
        if (!z.populated) continue;
        const n = new ZoneState(z, this.zones.length, this.shared, topo.zoneTypes.length);
        this.zones.push(n);
        this.byZone.set(z, n);
      } else if (zs.start !== z.zoneStartPfn || zs.end !== z.zoneEndPfn) {
        zs.resize(z.zoneStartPfn, z.zoneEndPfn);
      }
    }
    const maxPfn = Math.max(this.memory.maxPfn, topo.maxPfn);
    const pb = new Int16Array((maxPfn >> PAGEBLOCK_ORDER) + 2).fill(-1);
    for (const zs of this.zones) {
      for (let b = zs.start >> PAGEBLOCK_ORDER, e = (zs.end - 1) >> PAGEBLOCK_ORDER; b <= e; b++) {
        pb[b] = pb[b] === -1 || pb[b] === zs.id ? zs.id : -2;
      }
    }
    // a pageblock only partly inside a zone span is resolved pfn by pfn
    for (const zs of this.zones) {
      if (zs.start & ((1 << PAGEBLOCK_ORDER) - 1) && pb[zs.start >> PAGEBLOCK_ORDER] === zs.id && this.zones.some((o) => o !== zs && o.start < zs.start && o.end > ((zs.start >> PAGEBLOCK_ORDER) << PAGEBLOCK_ORDER))) pb[zs.start >> PAGEBLOCK_ORDER] = -2;
      if (zs.end & ((1 << PAGEBLOCK_ORDER) - 1) && this.zones.some((o) => o !== zs && o.start < (((zs.end >> PAGEBLOCK_ORDER) + 1) << PAGEBLOCK_ORDER) && o.end > zs.end)) pb[zs.end >> PAGEBLOCK_ORDER] = -2;
    }
    this.shared.pbZone = pb;
    const mem = this.memory;
    for (const zs of this.zones) {
      let exclusive = true;
      for (let b = zs.start >> PAGEBLOCK_ORDER, e = (zs.end - 1) >> PAGEBLOCK_ORDER; b <= e && exclusive; b++) exclusive = pb[b] === zs.id;
      zs.exclusive = exclusive;
      // a flat memmap over the span (every pageblock valid at the same offset) needs no pfn_to_page() call
      const off = zs.start - mem.pfnToPage(zs.start);
      let linear = mem.pfnToPage(zs.start) >= 0;
      for (let pfn = zs.start; linear; pfn += 1 << PAGEBLOCK_ORDER) {
        const p = Math.min(pfn, zs.end - 1);
        linear = mem.pfnValid(p) && p - mem.pfnToPage(p) === off;
        if (p === zs.end - 1) break;
      }
      zs.linear = linear;
      zs.pageOff = off;
      // alloc_flags_nofragment(): a Normal zone with a DMA32 zone below to spread into first
      zs.nofragment = zs.idx === this.normalIdx && this.normalIdx > 0 && topo.zoneTypes[this.normalIdx - 1] === ZoneType.DMA32 &&
        (topo.nodes.length === 1 || topo.nodes.find((n) => n.nid === zs.nid)!.zones[this.normalIdx - 1]!.populated);
      zs.t = this.memory.pages;
    }
    this.zonelists = topo.zonelists.map((zl) => zl.map((z) => this.byZone.get(z)!).filter((x) => x !== undefined));
    this.zonelistsThisNode = topo.zonelistsThisNode.map((zl) => zl.map((z) => this.byZone.get(z)!).filter((x) => x !== undefined));
    const maxCpu = Math.max(0, ...this.cpus) + 1;
    this.cpuNode = new Int32Array(maxCpu).fill(-1);
    for (const n of topo.nodes) for (const c of n.cpus) this.cpuNode[c] = n.nid;
    for (const zs of this.zones) {
      for (const c of this.cpus) if (!zs.pcp[c]) zs.pcp[c] = new PerCpuPages(c);
    }
    this.fastZone = [];
    const zl = this.cpuNode[0]! >= 0 ? this.zonelists[this.cpuNode[0]!] : undefined;
    for (let bits = 0; bits < 32; bits++) {
      const hz = this.gfpZoneIdx[bits & 0x0f]!;
      this.fastHz[bits] = hz;
      const pref = hz < 0 || (bits & 0x18) === 0x18 || !zl ? undefined : zl.find((z) => z.idx <= hz);
      this.fastZone.push(pref && pref.pcp[0] ? pref : null);
    }
  }

  /**
   * After memory hotplug changed zones (online_pages → init_per_zone_wmark_min):
   * zone maps, then min_free_kbytes (unless set by the user), watermarks,
   * pcp sizes and lowmem_reserve again.
   */
  zonesChanged(): void {
    this.buildZoneMaps();
    initPerZoneWmarkMin(this);
  }

  /** The zone state owning `pfn` (page_zone), or undefined. @internal */
  zoneOfPfn(pfn: number): ZoneState | undefined {
    const id = this.shared.pbZone[pfn >> PAGEBLOCK_ORDER];
    if (id === undefined || id === -1) return undefined;
    if (id >= 0) return this.zones[id];
    const z = this.topology.pfnZone(pfn);
    return z ? this.byZone.get(z) : undefined;
  }

  /** The page table arrays, re-read when hotplug replaced them. */
  private tables(): PageFrameTable {
    const t = this.memory.pages;
    if (t !== this.t) {
      this.t = t;
      for (const zs of this.zones) zs.t = t;
    }
    return t;
  }

  /** memblock_free_all(): every present page not reserved goes to the free lists, in the largest aligned blocks, in pfn order. */
  private freeBootMemory(): void {
    const t = this.tables();
    const mem = this.memory;
    for (const zs of this.zones) {
      for (const r of zs.zone.ranges) {
        let pfn = r.start;
        while (pfn < r.end) {
          const page = mem.pfnToPage(pfn);
          if (page < 0 || t.flags[page]! & PG_reserved) {
            pfn++;
            continue;
          }
          // largest order aligned at pfn that stays inside the range and hits no reserved page
          let order = 0;
          while (order < MAX_PAGE_ORDER && (pfn & ((2 << order) - 1)) === 0 && pfn + (2 << order) <= r.end) order++;
          let n = 1 << order;
          for (let i = 1; i < n; i++) {
            if (t.flags[mem.pfnToPage(pfn + i)]! & PG_reserved) {
              order = 0;
              n = 1;
              break;
            }
          }
          t.ownerKind[page] = PageOwner.NONE;
          t.refcount[page] = 0;
          // __free_pages_core() frees to the tail (FPI_TO_TAIL): the lists start in ascending pfn order
          zs.freeBlock(pfn, order, true);
          pfn += n;
        }
      }
    }
  }

  // ---- the allocation path ----------------------------------------------

  /**
   * __alloc_pages(): the first pfn of a 2^order block, or null. The gfp
   * zone modifiers bound the zones, the mobility bits pick the migrate type;
   * `opts` give the CPU, the preferred node, a nodemask and a mempolicy.
   */
  allocPages(gfp: number, order: number, opts?: AllocOptions): number | null {
    if ((order >>> 0) !== order || order > MAX_PAGE_ORDER) {
      throw new MmsimError('EBAD_ORDER', `order ${order} is outside 0..${MAX_PAGE_ORDER}`, { plugin: this.name, details: { order } });
    }
    // The common case, decided before anything changes: a call without
    // options, a pcp order, and the preferred zone above its high watermark
    // (zone_watermark_fast) with a block on this CPU's list. Anything else
    // takes the full path below, which repeats these checks.
    const fz = opts === undefined && this.pcpOrder[order] !== 0 && (gfp & __GFP_THISNODE) === 0 ? this.fastZone[gfp & 0x1f] : null;
    if (fz != null && this.memory.pages === this.t) {
      const mt = this.shared.mobilityDisabled ? MigrateType.UNMOVABLE : (gfp & 0x18) >> 3;
      const pcp = fz.pcp[0]!;
      const pindex = PINDEX[order * MIGRATE_PCPTYPES + mt]!;
      if (pcp.len[pindex]! > 0 && this.aboveHigh(fz, order, this.fastHz[gfp & 0x1f]!, this.allocFlagsLow(gfp, mt, fz))) {
        const pfn = this.takePcp(fz, pcp, pindex, order, gfp, false, 0);
        if (this.events.enabled.mm_page_alloc) this.events.emit('mm_page_alloc', { pfn, order, gfp_flags: gfp, migratetype: mt });
        return pfn;
      }
    }
    const hz = this.gfpZoneIdx[gfp & 0x0f]!;
    if (hz < 0 || (gfp & 0x18) === 0x18) {
      gfpZone(gfp, this.topology.zoneConfig); // throws EGFP_INVALID
      gfpMigratetype(gfp);
    }
    const mt = this.shared.mobilityDisabled ? MigrateType.UNMOVABLE : (gfp & 0x18) >> 3;
    if (this.memory.pages !== this.t) this.tables();
    let cpu = 0;
    let nid = this.cpuNode[0]!;
    let nodemask: Uint8Array | null = null;
    let interleaveNid = -1;
    let cold = false;
    let pid = 0;
    if (opts !== undefined) {
      cpu = opts.cpu ?? 0;
      if (!(cpu >= 0 && cpu < this.cpuNode.length && this.cpuNode[cpu]! >= 0) || (cpu | 0) !== cpu) {
        throw new MmsimError('EINVAL', `cpu ${cpu} does not exist (cpus ${this.cpus.join(',')})`, { plugin: this.name, details: { cpu } });
      }
      const local = this.cpuNode[cpu]!;
      cold = opts.cold === true;
      pid = opts.pid ?? 0;
      nid = opts.nid ?? local;
      if (!this.pgdat[nid]) throw new MmsimError('EINVAL', `node ${nid} does not exist`, { plugin: this.name, details: { nid } });
      // validate everything before the policy moves its interleave cursor
      let callMask: Uint8Array | null = null;
      if (opts.nodemask) {
        callMask = new Uint8Array(this.pgdat.length);
        for (const n of opts.nodemask) {
          if (!this.pgdat[n]) throw new MmsimError('EINVAL', `nodemask: node ${n} does not exist`, { plugin: this.name, details: { nid: n } });
          callMask[n] = 1;
        }
      }
      let pol: ResolvedMempolicy | undefined;
      if (opts.policy) {
        pol = this.callPolicy.get(opts.policy);
        if (!pol) {
          pol = resolveMempolicy(this.topology, opts.policy, this.name);
          this.callPolicy.set(opts.policy, pol);
        }
      } else if (opts.pid !== undefined && opts.nid === undefined) {
        pol = this.taskPolicy.get(opts.pid);
      }
      if (pol && pol.mode !== 'MPOL_DEFAULT') {
        const p = policyPlacement(pol, hz, local, this.policyZoneIdx);
        nid = p.nid;
        nodemask = p.nodemask;
        interleaveNid = p.interleaveNid;
      }
      if (callMask) {
        if (nodemask) for (let n = 0; n < callMask.length; n++) callMask[n] = callMask[n]! & nodemask[n]!;
        nodemask = callMask;
      }
    }
    const zl = gfp & __GFP_THISNODE ? this.zonelistsThisNode[nid]! : this.zonelists[nid]!;
    // first_zones_zonelist(): the preferred zone
    let start = 0;
    while (start < zl.length && (zl[start]!.idx > hz || (nodemask !== null && !nodemask[zl[start]!.nid]))) start++;
    let pfn = -1;
    if (start < zl.length) {
      const pref = zl[start]!;
      const allocFlags = this.allocFlagsLow(gfp, mt, pref);
      // the common case first: the preferred zone is above its high watermark and its per-CPU list has a page
      const aboveHigh = this.aboveHigh(pref, order, hz, allocFlags);
      if (aboveHigh) {
        const pindex = PINDEX[order * MIGRATE_PCPTYPES + mt]!;
        const pcp = pref.pcp[cpu]!;
        if (this.pcpOrder[order] !== 0 && pcp.len[pindex]! > 0) {
          pfn = this.takePcp(pref, pcp, pindex, order, gfp, cold, cpu);
        } else {
          pfn = this.rmqueue(pref, pref, order, allocFlags, mt, cpu, cold);
          if (pfn >= 0) this.prepNewPage(pref, pfn, order, gfp);
        }
      }
      if (pfn < 0) pfn = this.getPageFromFreelist(gfp, order, allocFlags, zl, start, hz, mt, nodemask, pref.nid, cpu, cold);
      if (pfn < 0) {
        pfn = this.slowpath(gfp, order, { zonelist: zl, start, highestIdx: hz, migratetype: mt, nodemask, preferredNid: pref.nid, cpu, cold, pid });
      }
    }
    if (pfn < 0) return null;
    if (interleaveNid >= 0) {
      const zs = this.zoneOfPfn(pfn)!;
      if (zs.nid === interleaveNid) zs.numaStats.numa_interleave++; // NUMA_INTERLEAVE_HIT
    }
    if (this.events.enabled.mm_page_alloc) this.events.emit('mm_page_alloc', { pfn, order, gfp_flags: gfp, migratetype: mt });
    return pfn;
  }

  /**
   * get_page_from_freelist(): the first zone of the zonelist (from the
   * preferred one) that passes its watermark check serves the request;
   * a failing zone may run node reclaim (vm.zone_reclaim_mode). Under
   * ALLOC_NOFRAGMENT the walk is repeated without it before giving up.
   * @internal
   */
  getPageFromFreelist(gfp: number, order: number, allocFlags: number, zl: readonly ZoneState[], start: number, hz: number, mt: number, nodemask: Uint8Array | null, prefNid: number, cpu: number, cold: boolean): number {
    for (;;) {
      const noFallback = allocFlags & ALLOC_NOFRAGMENT;
      let restart = false;
      for (let i = start; i < zl.length; i++) {
        const zs = zl[i]!;
        if (zs.idx > hz || (nodemask !== null && !nodemask[zs.nid])) continue;
        if (noFallback && this.multiNode && i !== start && zs.nid !== prefNid) {
          // locality matters more than fragmentation: allow fallbacks before leaving the node
          allocFlags &= ~ALLOC_NOFRAGMENT;
          restart = true;
          break;
        }
        let ok = false;
        if (!zs.belowHigh) {
          if (zoneWatermarkFast(zs, order, zs.wmarkHigh + zs.boost, hz, allocFlags)) ok = true;
          else zs.belowHigh = true;
        }
        if (!ok) {
          const mark = wmarkPages(zs, allocFlags & ALLOC_WMARK_MASK);
          if (!zoneWatermarkFast(zs, order, mark, hz, allocFlags) && !(allocFlags & ALLOC_NO_WATERMARKS)) {
            if (!(this.sysctl.get('vm.zone_reclaim_mode') & 7) || this.topology.distances[zl[start]!.nid]![zs.nid]! > 30) continue;
            const ret = this.reclaim().nodeReclaim(zs.nid, gfp, order, hz, this.cpuNode[cpu]!);
            if (ret === NODE_RECLAIM_NOSCAN || ret === NODE_RECLAIM_FULL) continue;
            if (!zoneWatermarkOk(zs, order, mark, hz, allocFlags)) continue;
          }
        }
        const pfn = this.rmqueue(zl[start]!, zs, order, allocFlags, mt, cpu, cold);
        if (pfn >= 0) {
          this.prepNewPage(zs, pfn, order, gfp);
          if (allocFlags & ALLOC_HIGHATOMIC) reserveHighatomicPageblock(zs, pfn, order);
          return pfn;
        }
      }
      if (restart) continue;
      if (noFallback) {
        allocFlags &= ~ALLOC_NOFRAGMENT;
        continue;
      }
      return -1;
    }
  }

  /**
   * A block of `order` was handed out from `zs` on `cpu` for a request
   * preferring `pref`: __count_zid_vm_events(PGALLOC) and zone_statistics(),
   * the one place every allocation passes.
   */
  /** alloc_flags of the first attempt: ALLOC_WMARK_LOW, __GFP_KSWAPD_RECLAIM (ALLOC_KSWAPD), ALLOC_CMA for movable, alloc_flags_nofragment(). */
  private allocFlagsLow(gfp: number, mt: number, pref: ZoneState): number {
    return ALLOC_WMARK_LOW | (gfp & ALLOC_KSWAPD) | (mt === MigrateType.MOVABLE ? ALLOC_CMA : 0) | (pref.nofragment ? ALLOC_NOFRAGMENT : 0);
  }

  /** Is the preferred zone above its high watermark (zone_watermark_fast) and not flagged below it? */
  private aboveHigh(pref: ZoneState, order: number, hz: number, allocFlags: number): boolean {
    return !pref.belowHigh && zoneWatermarkFast(pref, order, pref.wmarkHigh + pref.boost, hz, allocFlags);
  }

  /**
   * rmqueue_pcplist() + prep_new_page() without a refill: the head (the
   * tail when cold) of a non-empty pcp list of the preferred zone.
   */
  private takePcp(pref: ZoneState, pcp: PerCpuPages, pindex: number, order: number, gfp: number, cold: boolean, cpu: number): number {
    pcp.freeCount >>= 1;
    const pfn = cold ? pcp.popTail(pindex) : pcp.popHead(pindex);
    pcp.count -= 1 << order;
    this.prepNewPage(pref, pfn, order, gfp);
    this.accountAlloc(pref, pref, order, cpu);
    // ALLOC_KSWAPD is __GFP_KSWAPD_RECLAIM
    if (gfp & ALLOC_KSWAPD && pref.boostedWatermark) {
      pref.boostedWatermark = false;
      this.reclaim().wakeupKswapd(pref.zone, 0, 0, pref.idx, this.options.kswapd);
    }
    return pfn;
  }

  private accountAlloc(pref: ZoneState, zs: ZoneState, order: number, cpu: number): void {
    this.pgalloc[zs.idx]! += 1 << order;
    if (this.numa !== null) this.numa.account(pref, zs, this.cpuNode[cpu]!, order);
    else {
      // one node: every block is preferred and local
      const s = zs.numaStats;
      s.numa_hit++;
      s.numa_local++;
    }
  }

  /** rmqueue(): the per-CPU lists for small orders, else the buddy lists; a boosted watermark wakes kswapd. */
  private rmqueue(pref: ZoneState, zs: ZoneState, order: number, allocFlags: number, mt: number, cpu: number, cold: boolean): number {
    let pfn = -1;
    if (this.pcpOrder[order]) {
      pfn = rmqueuePcplist(zs, zs.pcp[cpu]!, order, mt, PINDEX[order * MIGRATE_PCPTYPES + mt]!, allocFlags, cold, this.pcpCtx);
    }
    if (pfn < 0) pfn = this.rmqueueBuddy(zs, order, allocFlags, mt);
    if (pfn >= 0) this.accountAlloc(pref, zs, order, cpu);
    if (allocFlags & ALLOC_KSWAPD && zs.boostedWatermark) {
      zs.boostedWatermark = false;
      this.reclaim().wakeupKswapd(zs.zone, 0, 0, zs.idx, this.options.kswapd);
    }
    return pfn;
  }

  /** rmqueue_buddy(): highatomic reserve first for ALLOC_HIGHATOMIC, and as a last resort for OOM / non-blocking requests. */
  private rmqueueBuddy(zs: ZoneState, order: number, allocFlags: number, mt: number): number {
    let pfn = -1;
    if (allocFlags & ALLOC_HIGHATOMIC) pfn = zs.rmqueueSmallest(order, MigrateType.HIGHATOMIC, false);
    if (pfn < 0) {
      resetRmqueueMode();
      pfn = rmqueue(zs, order, mt, allocFlags, RMQUEUE_NORMAL, false, this.pcpCtx);
      if (pfn < 0 && allocFlags & (ALLOC_OOM | ALLOC_NON_BLOCK)) pfn = zs.rmqueueSmallest(order, MigrateType.HIGHATOMIC, false);
    }
    return pfn;
  }

  /** prep_new_page(): the block is handed out: a reference, its order, a kernel owner, PG_head for __GFP_COMP. */
  private prepNewPage(zs: ZoneState, pfn: number, order: number, gfp: number): void {
    const t = this.t;
    const page = zs.pageOf(pfn);
    t.refcount[page] = 1;
    t.private[page] = order;
    t.ownerKind[page] = PageOwner.KERNEL;
    t.owner[page] = 0;
    t.flags[page] = gfp & __GFP_COMP && order > 0 ? PG_head : 0;
  }

  /** gfp_to_alloc_flags(): the slow path's watermark and reserve rights. */
  private gfpToAllocFlags(gfp: number, order: number, mt: number): number {
    let f = ALLOC_WMARK_MIN | ALLOC_CPUSET;
    if (gfp & __GFP_HIGH) f |= ALLOC_MIN_RESERVE;
    if (gfp & __GFP_KSWAPD_RECLAIM) f |= ALLOC_KSWAPD;
    if (!(gfp & __GFP_DIRECT_RECLAIM)) {
      if (!(gfp & __GFP_NOMEMALLOC)) {
        f |= ALLOC_NON_BLOCK;
        if (order > 0 && f & ALLOC_MIN_RESERVE) f |= ALLOC_HIGHATOMIC;
      }
      if (f & ALLOC_MIN_RESERVE) f &= ~ALLOC_CPUSET;
    }
    if (mt === MigrateType.MOVABLE) f |= ALLOC_CMA;
    return f;
  }

  /** __gfp_pfmemalloc_flags(): __GFP_MEMALLOC and reclaim context ignore watermarks; OOM victims get ALLOC_OOM. */
  private pfmemallocFlags(gfp: number, pid: number): number {
    if (gfp & __GFP_NOMEMALLOC) return 0;
    if (gfp & __GFP_MEMALLOC) return ALLOC_NO_WATERMARKS;
    if (this.tasks.memalloc > 0) return ALLOC_NO_WATERMARKS;
    if (this.isOomVictim(pid)) return ALLOC_OOM;
    return 0;
  }

  /** tsk_is_oom_victim() of the allocating task (pid 0: none). */
  private isOomVictim(pid: number): boolean {
    return pid !== 0 && this.oomKiller().isVictim(pid);
  }

  /** wake_all_kswapds(): once per node of the eligible zones. */
  private wakeAllKswapds(order: number, gfp: number, ac: AllocContext): void {
    let last = -1;
    for (let i = 0; i < ac.zonelist.length; i++) {
      const zs = ac.zonelist[i]!;
      if (zs.idx > ac.highestIdx || (ac.nodemask !== null && !ac.nodemask[zs.nid])) continue;
      if (zs.nid !== last) {
        this.reclaim().wakeupKswapd(zs.zone, gfp, order, ac.highestIdx, this.options.kswapd);
        last = zs.nid;
      }
    }
  }

  private gpff(gfp: number, order: number, allocFlags: number, ac: AllocContext): number {
    return this.getPageFromFreelist(gfp, order, allocFlags, ac.zonelist, ac.start, ac.highestIdx, ac.migratetype, ac.nodemask, ac.preferredNid, ac.cpu, ac.cold);
  }

  /**
   * __perform_reclaim(): direct reclaim through the RECLAIM engine
   * (try_to_free_pages) on the nodes of the zones this request may use, in
   * zonelist order. Returns the pages freed. @internal
   */
  directReclaim(gfp: number, order: number, ac: AllocContext): number {
    const nodes: number[] = [];
    for (const zs of ac.zonelist) {
      if (zs.idx > ac.highestIdx || (ac.nodemask !== null && !ac.nodemask[zs.nid])) continue;
      if (!nodes.includes(zs.nid)) nodes.push(zs.nid);
    }
    return this.reclaim().tryToFreePages({ gfp, order, highestZoneidx: ac.highestIdx, nodes });
  }

  /** first_zones_zonelist() for a context whose nodemask changed. */
  private resetPreferred(ac: AllocContext): void {
    let s = 0;
    while (s < ac.zonelist.length && (ac.zonelist[s]!.idx > ac.highestIdx || (ac.nodemask !== null && !ac.nodemask[ac.zonelist[s]!.nid]))) s++;
    ac.start = s;
  }

  /** should_reclaim_retry(): could a zone meet the min watermark if every reclaimable page were freed? */
  private shouldReclaimRetry(order: number, ac: AllocContext, allocFlags: number, progress: boolean, loops: { n: number }): boolean {
    if (progress && order <= PAGE_ALLOC_COSTLY_ORDER) loops.n = 0;
    else loops.n++;
    let ret = false;
    if (loops.n <= MAX_RECLAIM_RETRIES) {
      for (const zs of ac.zonelist) {
        if (zs.idx > ac.highestIdx || (ac.nodemask !== null && !ac.nodemask[zs.nid])) continue;
        const available = this.reclaim().zoneReclaimablePages(zs.zone) + zs.stats.nrFreePages;
        if (zoneWatermarkOkFree(zs, order, zs.wmarkMin + zs.boost, ac.highestIdx, allocFlags, available)) {
          ret = true;
          break;
        }
      }
    }
    // before OOM, exhaust the highatomic reserve
    if (!ret) return unreserveHighatomicPageblock(ac.zonelist, ac.highestIdx, ac.migratetype, true);
    return ret;
  }

  /**
   * __alloc_pages_may_oom(): one last try at the high watermark, then the
   * OOM killer (not for costly orders, __GFP_RETRY_MAYFAIL / __GFP_THISNODE,
   * or lowmem-only requests). `progress.n` is set when a victim was chosen.
   */
  private mayOom(gfp: number, order: number, ac: AllocContext, progress: { n: number }): number {
    progress.n = 0;
    let pfn = this.gpff((gfp | __GFP_HARDWALL) & ~__GFP_DIRECT_RECLAIM, order, ALLOC_WMARK_HIGH | ALLOC_CPUSET, ac);
    if (pfn >= 0) return pfn;
    if (order > PAGE_ALLOC_COSTLY_ORDER) return -1;
    if (gfp & (__GFP_RETRY_MAYFAIL | __GFP_THISNODE)) return -1;
    if (ac.highestIdx < this.normalIdx) return -1;
    const victim = this.oomKiller().outOfMemory({ gfpMask: gfp, order, constraint: ac.nodemask ? 'CONSTRAINT_MEMORY_POLICY' : 'CONSTRAINT_NONE' });
    if (victim || gfp & __GFP_NOFAIL) {
      progress.n = 1;
      if (gfp & __GFP_NOFAIL) {
        pfn = this.gpff(gfp, order, ALLOC_NO_WATERMARKS | ALLOC_CPUSET, ac);
        if (pfn < 0) pfn = this.gpff(gfp, order, ALLOC_NO_WATERMARKS, ac);
      }
    }
    return pfn;
  }

  /**
   * __alloc_pages_slowpath(): wake kswapd, retry at the min watermark with
   * the reserves the gfp grants, direct compaction first for costly or
   * unmovable high-order requests, then direct reclaim and compaction in a
   * retry loop (__GFP_NORETRY: once; costly orders only with
   * __GFP_RETRY_MAYFAIL), then the OOM killer; __GFP_NOFAIL never returns
   * null (ENOFAIL when even that is hopeless). @internal
   */
  slowpath(gfp: number, order: number, ac: AllocContext): number {
    const canDirectReclaim = (gfp & __GFP_DIRECT_RECLAIM) !== 0;
    const canCompact = this.options.compaction && (gfp & __GFP_IO) !== 0;
    const nofail = (gfp & __GFP_NOFAIL) !== 0;
    const costly = order > PAGE_ALLOC_COSTLY_ORDER;
    const loops = { n: 0 };
    const progress = { n: 0 };
    const compactionRetries = { n: 0 };
    let compactResult = COMPACT_SKIPPED;
    let compactPriority: CompactPriority = DEF_COMPACT_PRIORITY;
    let allocFlags = this.gfpToAllocFlags(gfp, order, ac.migratetype);
    this.resetPreferred(ac);
    if (ac.start >= ac.zonelist.length) return -1;
    if (allocFlags & ALLOC_KSWAPD) this.wakeAllKswapds(order, gfp, ac);
    let pfn = this.gpff(gfp, order, allocFlags, ac);
    if (pfn >= 0) return pfn;

    let nopage = false;
    if (canDirectReclaim && canCompact && (costly || (order > 0 && ac.migratetype !== MigrateType.MOVABLE)) && !this.pfmemallocFlags(gfp, ac.pid)) {
      const r = directCompact(this, gfp, order, allocFlags, ac, INIT_COMPACT_PRIORITY);
      compactResult = r.result;
      if (r.pfn >= 0) return r.pfn;
      if (costly && gfp & __GFP_NORETRY) {
        if (compactResult === COMPACT_SKIPPED || compactResult === COMPACT_DEFERRED) nopage = true;
        else if (gfp & __GFP_THISNODE) nopage = true;
        else compactPriority = INIT_COMPACT_PRIORITY;
      }
    }

    for (let guard = 0; !nopage && guard < MAX_SLOWPATH_LOOPS; guard++) {
      if (allocFlags & ALLOC_KSWAPD) this.wakeAllKswapds(order, gfp, ac);
      const reserveFlags = this.pfmemallocFlags(gfp, ac.pid);
      if (reserveFlags) allocFlags = reserveFlags | (ac.migratetype === MigrateType.MOVABLE ? ALLOC_CMA : 0) | (allocFlags & ALLOC_KSWAPD);
      if (!(allocFlags & ALLOC_CPUSET) || reserveFlags) {
        // high-priority requests ignore the memory policy's nodemask
        ac.nodemask = null;
        this.resetPreferred(ac);
      }
      pfn = this.gpff(gfp, order, allocFlags, ac);
      if (pfn >= 0) return pfn;
      if (!canDirectReclaim) break;
      if (this.tasks.memalloc > 0) break; // avoid recursing into reclaim
      // __alloc_pages_direct_reclaim()
      progress.n = this.directReclaim(gfp, order, ac);
      if (progress.n > 0) {
        pfn = this.gpff(gfp, order, allocFlags, ac);
        if (pfn < 0) {
          // pages may sit on per-CPU lists or in the highatomic reserve
          unreserveHighatomicPageblock(ac.zonelist, ac.highestIdx, ac.migratetype, false);
          this.drainAllPages();
          pfn = this.gpff(gfp, order, allocFlags, ac);
        }
        if (pfn >= 0) return pfn;
      }
      const r = directCompact(this, gfp, order, allocFlags, ac, compactPriority);
      compactResult = r.result;
      if (r.pfn >= 0) return r.pfn;
      if (gfp & __GFP_NORETRY) break;
      if (costly && (!canCompact || !(gfp & __GFP_RETRY_MAYFAIL))) break;
      if (this.shouldReclaimRetry(order, ac, allocFlags, progress.n > 0, loops)) continue;
      if (progress.n > 0 && canCompact) {
        const prio = { p: compactPriority };
        if (shouldCompactRetry(this, ac, order, compactResult, prio, compactionRetries)) {
          compactPriority = prio.p;
          continue;
        }
      }
      // reclaim has failed us: start killing things
      pfn = this.mayOom(gfp, order, ac, progress);
      if (pfn >= 0) return pfn;
      if (this.isOomVictim(ac.pid) && (allocFlags & ALLOC_OOM || gfp & __GFP_NOMEMALLOC)) break;
      if (progress.n) {
        loops.n = 0;
        continue;
      }
      break;
    }
    if (nofail) {
      if (!canDirectReclaim) return -1;
      // some access to the reserves, but not ALLOC_NO_WATERMARKS
      for (let i = 0; i < MAX_RECLAIM_RETRIES; i++) {
        pfn = this.gpff(gfp, order, ALLOC_MIN_RESERVE | ALLOC_CPUSET, ac);
        if (pfn < 0) pfn = this.gpff(gfp, order, ALLOC_MIN_RESERVE, ac);
        if (pfn >= 0) return pfn;
        this.drainAllPages();
        this.directReclaim(gfp, order, ac);
      }
      throw new MmsimError('ENOFAIL', `a __GFP_NOFAIL order-${order} allocation cannot be satisfied: reclaim, compaction, the OOM killer and the reserves are exhausted`, { plugin: this.name, details: { gfp, order } });
    }
    return -1;
  }

  // ---- the free path -------------------------------------------------------

  /** is_free_buddy_page() or on a per-CPU list: the free block holding `pfn`, or -1. */
  private freeBlockContaining(pfn: number): number {
    const t = this.t;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) {
      const head = pfn & ~((1 << o) - 1);
      const p = this.memory.pfnToPage(head);
      if (p >= 0 && t.flags[p]! & (PG_buddy | PG_pcp) && t.private[p]! >= o) return head;
    }
    return -1;
  }

  /**
   * __free_pages() → free_unref_page(): drops a reference; the last one
   * frees the block to this CPU's list (small orders) or the buddy lists.
   * Typed errors, state unchanged, for a bad pfn, order or double free.
   */
  freePages(pfn: number, order: number, opts?: FreeOptions): void {
    if ((order >>> 0) !== order || order > MAX_PAGE_ORDER) {
      throw new MmsimError('EBAD_ORDER', `order ${order} is outside 0..${MAX_PAGE_ORDER}`, { plugin: this.name, details: { pfn, order } });
    }
    if (this.memory.pages !== this.t) this.tables();
    // the common case: a pfn of a zone with a flat memmap
    let zs: ZoneState | undefined;
    let page = -1;
    if ((pfn >>> 0) === pfn) {
      const id = this.shared.pbZone[pfn >>> PAGEBLOCK_ORDER];
      if (id !== undefined && id >= 0) {
        zs = this.zones[id]!;
        if (zs.linear) page = pfn - zs.pageOff;
      }
    }
    if (page < 0) {
      if (!Number.isInteger(pfn) || !this.memory.pfnValid(pfn)) {
        throw new MmsimError('EBAD_PFN', `pfn ${pfn} is not a valid pfn of this machine`, { plugin: this.name, details: { pfn, order } });
      }
      zs = this.zoneOfPfn(pfn);
      page = this.memory.pfnToPage(pfn);
    }
    const t = this.t;
    // the three reads first, so their cache misses overlap
    const flags = t.flags[page]!;
    const ref = t.refcount[page]!;
    const allocOrder = t.private[page]!;
    if (zs === undefined || flags & PG_reserved) {
      throw new MmsimError('EBAD_PFN', `pfn ${pfn} is reserved or in a hole: the page allocator never handed it out`, { plugin: this.name, details: { pfn, order } });
    }
    if (ref === 0) {
      if (this.freeBlockContaining(pfn) >= 0) {
        throw new MmsimError('EDOUBLE_FREE', `pfn ${pfn} (order ${order}) is already free`, { plugin: this.name, details: { pfn, order } });
      }
      throw new MmsimError('EBAD_PFN', `pfn ${pfn} is not the first page of an allocated block`, { plugin: this.name, details: { pfn, order } });
    }
    if (allocOrder !== order) {
      throw new MmsimError('EBAD_ORDER', `pfn ${pfn} was allocated with order ${allocOrder}, freed with order ${order}`, { plugin: this.name, details: { pfn, order, allocated: allocOrder } });
    }
    if (ref === 1 && flags & (PG_lru | PG_slab)) {
      // free_page_is_bad(): PAGE_FLAGS_CHECK_AT_FREE, when the last reference goes (put_page of a shared page is fine)
      throw new MmsimError('EBAD_PFN', `pfn ${pfn} is still ${flags & PG_lru ? 'on an LRU list' : 'a slab page'}: take it off before freeing`, { plugin: this.name, details: { pfn, order } });
    }
    let cpu = 0;
    let cold = false;
    if (opts !== undefined) {
      cold = opts.cold === true;
      if (opts.cpu !== undefined) {
        cpu = opts.cpu;
        if (!(cpu >= 0 && cpu < this.cpuNode.length && this.cpuNode[cpu]! >= 0) || (cpu | 0) !== cpu) {
          throw new MmsimError('EINVAL', `cpu ${cpu} does not exist`, { plugin: this.name, details: { cpu } });
        }
      }
    }
    if (ref > 1) {
      t.refcount[page] = ref - 1; // put_page(): someone else still holds it
      return;
    }
    // free_pages_prepare(): flags cleared (PAGE_FLAGS_CHECK_AT_PREP), owner dropped
    t.refcount[page] = 0;
    t.owner[page] = 0;
    if (this.events.enabled.mm_page_free) this.events.emit('mm_page_free', { pfn, order });
    this.pgfree += 1 << order;
    let mt = zs.pageblockMt[(pfn >> PAGEBLOCK_ORDER) - zs.pbBase]!;
    if (this.pcpOrder[order] && mt !== MigrateType.ISOLATE) {
      // a page on a per-CPU list: PG_pcp, its order in page->private, owned by the allocator
      t.flags[page] = PG_pcp;
      t.ownerKind[page] = PageOwner.BUDDY;
      if (mt >= MIGRATE_PCPTYPES) mt = MigrateType.MOVABLE; // HIGHATOMIC and CMA pages go to the movable list
      freeUnrefPageCommit(zs, zs.pcp[cpu]!, page, pfn, order, PINDEX[order * MIGRATE_PCPTYPES + mt]!, cold, this.pcpCtx);
    } else {
      t.flags[page] = 0;
      t.ownerKind[page] = PageOwner.NONE;
      zs.freeBlock(pfn, order, false);
    }
  }

  /** drain_all_pages(): every CPU's lists of every zone back to the buddy lists. */
  drainAllPages(): void {
    this.tables();
    for (const zs of this.zones) for (const pcp of zs.pcp) if (pcp && pcp.count) drainPagesZone(zs, pcp);
  }

  /** drain_local_pages(zone): one CPU's lists of one zone. @internal */
  drainLocal(zs: ZoneState, cpu: number): void {
    const pcp = zs.pcp[cpu];
    if (pcp && pcp.count) drainPagesZone(zs, pcp);
  }

  // ---- memory hotplug (page_isolation.ts) ------------------------------------

  /** start_isolate_page_range(): the zones' per-CPU lists drained, the range's pageblocks and free blocks MIGRATE_ISOLATE. */
  isolateRange(startPfn: number, nrPages: number): void {
    this.tables();
    isolation.isolateRange(this, startPfn, nrPages);
  }
  /** undo_isolate_page_range(): the pageblocks' types back, their free blocks freed again. */
  undoIsolateRange(startPfn: number, nrPages: number): void {
    this.tables();
    isolation.undoIsolateRange(this, startPfn, nrPages);
  }
  /** __offline_isolated_pages(): an isolated, all-free range leaves the free lists. */
  offlineRange(startPfn: number, nrPages: number): number {
    this.tables();
    return isolation.offlineRange(this, startPfn, nrPages);
  }
  /** online_pages(): the zone maps follow the grown zone (a zone's first pages give it allocator state), then the range is freed. */
  onlineRange(startPfn: number, nrPages: number): void {
    this.tables();
    this.buildZoneMaps();
    isolation.onlineRange(this, startPfn, nrPages);
  }
  /** resize_zone_range() / shrink_zone_span(): pageblock arrays and zone maps follow the new span. */
  zoneSpanChanged(): void {
    this.tables();
    this.buildZoneMaps();
  }
  /** init_per_zone_wmark_min() after hotplug changed managed pages (zonesChanged). */
  initPerZoneWmarkMin(): void {
    this.zonesChanged();
  }

  // ---- what the reclaim engine asks of the allocator (mm/vmscan.c) ---------------

  /** zone->watermark_boost */
  watermarkBoost(zone: Zone): number {
    return this.byZone.get(zone)?.boost ?? 0;
  }
  /** balance_pgdat(): `zone->watermark_boost -= min(zone->watermark_boost, pages)` after boosted reclaim. */
  clearWatermarkBoost(zone: Zone, pages: number): void {
    const zs = this.byZone.get(zone);
    if (zs) zs.boost -= Math.min(zs.boost, pages);
  }
  /** set_reclaim_active() / clear_reclaim_active(): ZONE_RECLAIM_ACTIVE, which nr_pcp_high() reads. */
  setReclaimActive(zone: Zone, active: boolean): void {
    const zs = this.byZone.get(zone);
    if (zs) zs.reclaimActive = active;
  }
  /** wakeup_kcompactd() (compaction.ts). */
  wakeupKcompactd(nid: number, order: number, highestZoneidx: number): void {
    wakeupKcompactd(this, nid, order, highestZoneidx);
  }
  /** kswapd_try_to_sleep() → reset_isolation_suitable(): the skip hints a finished compaction asked to flush are cleared. */
  kswapdSleep(nid: number): void {
    for (const zs of this.zones) {
      if (zs.nid === nid && zs.compactBlockskipFlush) {
        zs.pageblockSkip.fill(0);
        zs.compactBlockskipFlush = false;
      }
    }
  }
  /** compaction_ready(): with compaction on, the zone is above high + compact_gap(order) at order 0. */
  compactionReady(zone: Zone, order: number, highestZoneidx: number): boolean {
    if (!this.options.compaction) return false;
    const zs = this.byZone.get(zone);
    return zs !== undefined && zoneWatermarkOk(zs, 0, zs.wmarkHigh + zs.boost + compactGap(order), highestZoneidx, 0);
  }

  // ---- reports -------------------------------------------------------------

  freeBlocks(zone: Zone, order: number): number {
    return this.byZone.get(zone)?.nrFree[order] ?? 0;
  }
  freeBlocksByType(zone: Zone, order: number, mt: number): number {
    return this.byZone.get(zone)?.nrFreeMt[order * MIGRATE_TYPES + mt] ?? 0;
  }
  pcpPages(zone: Zone): number {
    return this.byZone.get(zone)?.pcpPages() ?? 0;
  }
  /** __zone_watermark_ok() with the zone's NR_FREE_PAGES. */
  zoneWatermarkOk(zone: Zone, order: number, mark: number, highestZoneIdx: number, allocFlags = 0): boolean {
    const zs = this.byZone.get(zone);
    return zs ? zoneWatermarkOk(zs, order, mark, highestZoneIdx, allocFlags) : false;
  }
  pageblockCounts(zone: Zone): number[] {
    return this.byZone.get(zone)?.pageblockCounts() ?? new Array<number>(MIGRATE_TYPES).fill(0);
  }
  zoneInfo(zone: Zone): ZoneAllocInfo {
    const zs = this.byZone.get(zone);
    if (!zs) return { boost: 0, cmaPages: 0, nrFreeCma: 0, pagesets: [], nodeUnreclaimable: false };
    return {
      boost: zs.boost,
      cmaPages: zs.cmaPages,
      nrFreeCma: zs.nrFreeCma,
      pagesets: this.cpus.map((c) => {
        const p = zs.pcp[c]!;
        return { cpu: c, count: p.count, high: p.high, batch: p.batch };
      }),
      nodeUnreclaimable: this.reclaim().kswapdFailures(zs.nid) >= MAX_RECLAIM_RETRIES,
    };
  }
  /** The allocator's /proc/vmstat event counters. */
  vmEvents(): Record<string, number> {
    const out: Record<string, number> = { ...this.ev };
    const suffix: Record<string, string> = { DMA: 'dma', DMA32: 'dma32', Normal: 'normal', HighMem: 'high', Movable: 'movable', Device: 'device' };
    this.topology.zoneTypes.forEach((ty, i) => {
      out[`pgalloc_${suffix[ty]}`] = this.pgalloc[i]!;
    });
    out.pgfree = this.pgfree;
    return out;
  }
  /** set_mempolicy(2) for task `pid`; null (or MPOL_DEFAULT) removes it. EINVAL / ETASK_UNKNOWN change nothing. */
  setMempolicy(pid: number, policy: Mempolicy | null): void {
    this.tasks.get(pid);
    if (policy === null || policy.mode === 'MPOL_DEFAULT') {
      if (policy) resolveMempolicy(this.topology, policy, this.name);
      this.taskPolicy.delete(pid);
      return;
    }
    this.taskPolicy.set(pid, resolveMempolicy(this.topology, policy, this.name));
  }
  /** get_mempolicy(2) for task `pid`. */
  getMempolicy(pid: number): Mempolicy {
    this.tasks.get(pid);
    const p = this.taskPolicy.get(pid);
    return p ? { mode: p.mode, nodes: [...p.nodes] } : { mode: 'MPOL_DEFAULT' };
  }
  /** /proc/sys/vm/compact_memory: compact_nodes(). */
  compactMemory(): void {
    this.tables();
    compactNodes(this);
  }
  /** The pcp lists of a zone and CPU (for tests and tools). @internal */
  pcpOf(zone: Zone, cpu: number): PerCpuPages | undefined {
    return this.byZone.get(zone)?.pcp[cpu];
  }
  /** Migrate type of the pageblock holding `pfn`, or -1 outside every zone. */
  pageblockMigratetype(pfn: number): number {
    const zs = this.zoneOfPfn(pfn);
    return zs ? zs.pageblockMigratetype(pfn) : -1;
  }

  // ---- CONFIG_DEBUG_VM -------------------------------------------------------

  /**
   * Free-list and pcp consistency: alignment, flags, order, the list's
   * migrate type matching its pageblock, counters (per order, per type,
   * NR_FREE_PAGES without isolated pages, highatomic/CMA, pcp counts), no
   * block listed twice, no per-CPU page in an isolated pageblock.
   */
  check(): void {
    const t = this.tables();
    const mem = this.memory;
    const bad = (msg: string): never => {
      throw new MmsimError('ECORRUPT', msg, { plugin: this.name });
    };
    for (const zs of this.zones) {
      const where0 = `node ${zs.nid} zone ${zs.zone.name}`;
      let pages = 0;
      let highatomic = 0;
      let cma = 0;
      const seen = new Set<number>();
      for (let o = 0; o < NR_PAGE_ORDERS; o++) {
        let n = 0;
        for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
          let m = 0;
          let prev = -1;
          for (let p = zs.freeHead[o * MIGRATE_TYPES + mt]!; p !== -1; p = t.lruNext[p]!) {
            const pfn = mem.pageToPfn(p);
            const where = `${where0} pfn ${pfn}`;
            if (t.lruPrev[p] !== prev) bad(`${where}: broken prev link on the order-${o} ${mt} list`);
            prev = p;
            if (pfn & ((1 << o) - 1)) bad(`${where}: free order-${o} block not aligned to its order`);
            if (!(t.flags[p]! & PG_buddy) || t.private[p] !== o) bad(`${where}: on the order-${o} list without PageBuddy/order`);
            if (t.refcount[p] !== 0) bad(`${where}: free page with refcount ${t.refcount[p]}`);
            if (t.owner[p] !== mt) bad(`${where}: listed as type ${mt} but marked ${t.owner[p]}`);
            if (!this.shared.mobilityDisabled && zs.pageblockMigratetype(pfn) !== mt) bad(`${where}: on the ${mt} list in a pageblock of type ${zs.pageblockMigratetype(pfn)}`);
            if (!zs.owns(pfn) || !zs.owns(pfn + (1 << o) - 1)) bad(`${where}: free block crosses the zone`);
            if (seen.has(pfn)) bad(`${where}: listed twice`);
            seen.add(pfn);
            m++;
          }
          if (zs.freeTail[o * MIGRATE_TYPES + mt] !== prev) bad(`${where0}: order ${o} type ${mt} tail is not the last listed block`);
          if (m !== zs.nrFreeMt[o * MIGRATE_TYPES + mt]) bad(`${where0}: order ${o} type ${mt} lists ${m} blocks, counter says ${zs.nrFreeMt[o * MIGRATE_TYPES + mt]}`);
          if (mt !== MigrateType.ISOLATE) pages += m << o;
          if (mt === MigrateType.HIGHATOMIC) highatomic += m << o;
          if (mt === MigrateType.CMA) cma += m << o;
          n += m;
        }
        if (n !== zs.nrFree[o]) bad(`${where0}: order ${o} lists ${n} blocks, nr_free says ${zs.nrFree[o]}`);
      }
      if (pages !== zs.stats.nrFreePages) bad(`${where0}: free lists hold ${pages} pages, NR_FREE_PAGES is ${zs.stats.nrFreePages}`);
      if (highatomic !== zs.nrFreeHighatomic) bad(`${where0}: ${highatomic} pages on highatomic lists, nr_free_highatomic is ${zs.nrFreeHighatomic}`);
      if (cma !== zs.nrFreeCma) bad(`${where0}: ${cma} pages on CMA lists, NR_FREE_CMA_PAGES is ${zs.nrFreeCma}`);
      for (const pcp of zs.pcp) {
        if (!pcp) continue;
        let count = 0;
        for (let i = 0; i < NR_PCP_LISTS; i++) {
          for (const pfn of pcp.list(i)) {
            const p = mem.pfnToPage(pfn);
            if (p < 0 || !(t.flags[p]! & PG_pcp) || t.refcount[p] !== 0) bad(`${where0} cpu ${pcp.cpu}: pfn ${pfn} on a pcp list without PG_pcp or with a reference`);
            if (!zs.owns(pfn)) bad(`${where0} cpu ${pcp.cpu}: pfn ${pfn} on this zone's pcp list belongs to another zone`);
            if (zs.pageblockMigratetype(pfn) === MigrateType.ISOLATE) bad(`${where0} cpu ${pcp.cpu}: pfn ${pfn} on a pcp list is in an isolated pageblock`);
            if (pindexToOrder(i) !== t.private[p]) bad(`${where0} cpu ${pcp.cpu}: pfn ${pfn} of order ${t.private[p]} on the list of order ${pindexToOrder(i)}`);
            if (seen.has(pfn)) bad(`${where0} cpu ${pcp.cpu}: pfn ${pfn} is both free and on a pcp list`);
            seen.add(pfn);
            count += 1 << t.private[p]!;
          }
        }
        if (count !== pcp.count) bad(`${where0} cpu ${pcp.cpu}: pcp lists hold ${count} pages, count says ${pcp.count}`);
      }
    }
    // every zone, from the counters /proc/buddyinfo and /proc/pagetypeinfo print: free areas less
    // the isolated free blocks (memory offlining) are NR_FREE_PAGES
    for (const z of this.topology.populatedZones) {
      let fromAreas = 0;
      for (let o = 0; o <= this.maxOrder; o++) fromAreas += (this.freeBlocks(z, o) - this.freeBlocksByType(z, o, MigrateType.ISOLATE)) << o;
      if (fromAreas !== z.stats.nrFreePages) {
        throw new MmsimError('ECORRUPT', `node ${z.nid} zone ${z.name}: free areas hold ${fromAreas} pages but NR_FREE_PAGES is ${z.stats.nrFreePages}`);
      }
    }
  }
}
