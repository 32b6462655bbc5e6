/**
 * Nodes, zones and zonelists (pglist_data, struct zone, build_zonelists),
 * sized from a {@link MachineLayout} as mm/mm_init.c sizes them:
 * free_area_init's zone boundaries, find_zone_movable_pfns_for_nodes for
 * kernelcore=/movablecore=, calculate_node_totalpages per node.
 * @module
 */
import { type ZoneConfig, ZoneType } from './gfp.js';
import { DEFAULT_KERNEL } from './kversion.js';
import type { CoreSpec, MachineLayout, PfnRange, ZoneSpec } from './machine.js';
import { MAX_ORDER_NR_PAGES } from './page.js';

/** MAX_DMA_PFN, MAX_DMA32_PFN on x86. */
const MAX_DMA_PFN = 4096;
const MAX_DMA32_PFN = 0x100000;
/** x86_32 lowmem limit (MAXMEM, 896 MiB with the default vmalloc reserve). */
const MAX_LOWMEM_PFN_32 = (896 * 2 ** 20) / 4096;

/** Zone boundaries in pfns (max_zone_pfns) for an architecture. */
export function zoneBoundaries(arch: 'x86_64' | 'x86_32', maxPfn: number): [ZoneType, number][] {
  if (arch === 'x86_32') {
    return [[ZoneType.DMA, Math.min(MAX_DMA_PFN, maxPfn)], [ZoneType.NORMAL, Math.min(MAX_LOWMEM_PFN_32, maxPfn)], [ZoneType.HIGHMEM, Math.max(maxPfn, 1)], [ZoneType.MOVABLE, 0]];
  }
  return [[ZoneType.DMA, Math.min(MAX_DMA_PFN, maxPfn)], [ZoneType.DMA32, Math.min(MAX_DMA32_PFN, maxPfn)], [ZoneType.NORMAL, maxPfn], [ZoneType.MOVABLE, 0]];
}

/** Per-zone counters (enum zone_stat_item, the ones the simulator keeps). */
export interface ZoneStats {
  /** NR_FREE_PAGES */
  nrFreePages: number;
}

/** Per-zone NUMA event counters (enum numa_stat_item), named as /proc/zoneinfo prints them. */
export interface ZoneNumaStats {
  /** Allocated from the node that was intended. */
  numa_hit: number;
  /** Allocated here although another node was preferred. */
  numa_miss: number;
  /** Preferred here but allocated on another node. */
  numa_foreign: number;
  /** Interleave policy got the node it asked for. */
  numa_interleave: number;
  /** Allocated here by a CPU of this node. */
  numa_local: number;
  /** Allocated here by a CPU of another node. */
  numa_other: number;
}

/** struct zone. */
export class Zone {
  /** Index within the node's zone array (zone_idx), also the gfp_zone bound. */
  readonly idx: number;
  readonly type: ZoneType;
  readonly nid: number;
  zoneStartPfn: number;
  spannedPages: number;
  presentPages: number;
  /** Pages handed to the page allocator (managed_pages). */
  managedPages: number;
  /** Present ranges inside the zone span. */
  ranges: PfnRange[];
  /** _watermark[WMARK_MIN/LOW/HIGH/PROMO], set by the page allocator. */
  readonly watermark = [0, 0, 0, 0];
  /** lowmem_reserve[] against each higher zone index. */
  lowmemReserve: number[] = [];
  /** NR_FREE_PAGES and friends, maintained by the page allocator. */
  readonly stats: ZoneStats = { nrFreePages: 0 };
  /** zone_statistics() counters, maintained by the page allocator. */
  readonly numaStats: ZoneNumaStats = { numa_hit: 0, numa_miss: 0, numa_foreign: 0, numa_interleave: 0, numa_local: 0, numa_other: 0 };

  constructor(nid: number, idx: number, type: ZoneType, start: number, end: number, ranges: PfnRange[]) {
    this.nid = nid;
    this.idx = idx;
    this.type = type;
    this.zoneStartPfn = start;
    this.spannedPages = Math.max(0, end - start);
    this.ranges = ranges;
    this.presentPages = ranges.reduce((s, r) => s + r.end - r.start, 0);
    this.managedPages = this.presentPages;
  }

  /** The kernel's zone->name. */
  get name(): string {
    return this.type;
  }
  get zoneEndPfn(): number {
    return this.zoneStartPfn + this.spannedPages;
  }
  /** populated_zone() */
  get populated(): boolean {
    return this.presentPages > 0;
  }
  /** zone_spans_pfn() */
  spansPfn(pfn: number): boolean {
    return pfn >= this.zoneStartPfn && pfn < this.zoneStartPfn + this.spannedPages;
  }
}

/** struct pglist_data. */
export class MemNode {
  /** node_start_pfn */
  startPfn = 0;
  /** pgdat_end_pfn() */
  endPfn = 0;
  constructor(
    readonly nid: number,
    readonly zones: Zone[],
    readonly cpus: number[],
    readonly ranges: PfnRange[],
  ) {
    this.resize();
  }
  /** Recomputes the node span from its ranges and zone spans (after memory hotplug changed them). */
  resize(): void {
    let s = this.ranges.length ? this.ranges[0]!.start : Infinity;
    let e = this.ranges.length ? this.ranges[this.ranges.length - 1]!.end : 0;
    for (const z of this.zones) {
      if (!z.spannedPages) continue;
      if (z.zoneStartPfn < s) s = z.zoneStartPfn;
      if (z.zoneEndPfn > e) e = z.zoneEndPfn;
    }
    this.startPfn = s === Infinity ? 0 : s;
    this.endPfn = e;
  }
  get spannedPages(): number {
    return this.endPfn - this.startPfn;
  }
  get presentPages(): number {
    return this.zones.reduce((s, z) => s + z.presentPages, 0);
  }
  get managedPages(): number {
    return this.zones.reduce((s, z) => s + z.managedPages, 0);
  }
}

/** Clips ranges to [lo, hi). */
export function clipRanges(ranges: readonly PfnRange[], lo: number, hi: number): PfnRange[] {
  const out: PfnRange[] = [];
  for (const r of ranges) {
    const s = Math.max(r.start, lo);
    const e = Math.min(r.end, hi);
    if (e > s) out.push({ start: s, end: e });
  }
  return out;
}

/** A zone's [low, high) the architecture allows (arch_zone_lowest/highest_possible_pfn). */
export interface ArchZoneRange {
  type: ZoneType;
  low: number;
  high: number;
}

/**
 * free_area_init()'s zone boundaries: each zone starts where the one below
 * ended, the first at the lowest RAM pfn. ZONE_MOVABLE has none of its own.
 */
export function archZoneRanges(arch: 'x86_64' | 'x86_32', minPfn: number, maxPfn: number): ArchZoneRange[] {
  let start = minPfn;
  return zoneBoundaries(arch, maxPfn).map(([type, max]) => {
    if (type === ZoneType.MOVABLE) return { type, low: 0, high: 0 };
    const end = Math.max(max, start);
    const r = { type, low: start, high: end };
    start = end;
    return r;
  });
}

/**
 * find_zone_movable_pfns_for_nodes(): where ZONE_MOVABLE starts on each
 * node (0: no ZONE_MOVABLE) for kernelcore= / movablecore=; kernel memory
 * is spread evenly over the nodes.
 */
export function findZoneMovablePfns(
  nodes: readonly { nid: number; ranges: readonly PfnRange[] }[],
  arch: readonly ArchZoneRange[],
  kernelcore?: CoreSpec,
  movablecore?: CoreSpec,
): number[] {
  const nrIds = Math.max(...nodes.map((n) => n.nid)) + 1;
  const zmp = new Array<number>(nrIds).fill(0);
  // find_usable_zone_for_movable(): the highest zone with pages of its own
  let movableZone = 0;
  for (let i = arch.length - 1; i >= 0; i--) {
    if (arch[i]!.type !== ZoneType.MOVABLE && arch[i]!.high > arch[i]!.low) {
      movableZone = i;
      break;
    }
  }
  if (kernelcore?.mirror) return zmp; // needs mirrored memory, which the simulator does not model
  const totalpages = nodes.reduce((s, n) => s + n.ranges.reduce((t, r) => t + r.end - r.start, 0), 0);
  let requiredKernelcore = kernelcore?.pages ?? 0;
  let requiredMovablecore = movablecore?.pages ?? 0;
  if (kernelcore?.percent) requiredKernelcore = Math.floor((totalpages * 100 * kernelcore.percent) / 1000000);
  if (movablecore?.percent) requiredMovablecore = Math.floor((totalpages * 100 * movablecore.percent) / 1000000);
  if (requiredMovablecore) {
    requiredMovablecore = Math.ceil(requiredMovablecore / MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES;
    requiredMovablecore = Math.min(totalpages, requiredMovablecore);
    requiredKernelcore = Math.max(requiredKernelcore, totalpages - requiredMovablecore);
  }
  if (!requiredKernelcore || requiredKernelcore >= totalpages) return zmp;
  const usableStartpfn = arch[movableZone]!.low;
  const withMemory = nodes.filter((n) => n.ranges.length > 0);
  let usableNodes = withMemory.length;
  for (;;) {
    let kernelcoreNode = Math.floor(requiredKernelcore / usableNodes);
    for (const n of withMemory) {
      if (requiredKernelcore < kernelcoreNode) kernelcoreNode = Math.floor(requiredKernelcore / usableNodes);
      let remaining = kernelcoreNode;
      for (const r of n.ranges) {
        let start = Math.max(r.start, zmp[n.nid]!);
        const end = r.end;
        if (start >= end) continue;
        if (start < usableStartpfn) {
          const kernelPages = Math.min(end, usableStartpfn) - start;
          remaining -= Math.min(kernelPages, remaining);
          requiredKernelcore -= Math.min(kernelPages, requiredKernelcore);
          if (end <= usableStartpfn) {
            zmp[n.nid] = end;
            continue;
          }
          start = usableStartpfn;
        }
        const size = Math.min(end - start, remaining);
        zmp[n.nid] = start + size;
        requiredKernelcore -= Math.min(requiredKernelcore, size);
        remaining -= size;
        if (!remaining) break;
      }
    }
    usableNodes--;
    if (!(usableNodes && requiredKernelcore > usableNodes)) break;
  }
  for (const n of nodes) {
    const end = n.ranges.length ? n.ranges[n.ranges.length - 1]!.end : 0;
    zmp[n.nid] = Math.ceil(zmp[n.nid]! / MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES;
    if (zmp[n.nid]! >= end) zmp[n.nid] = 0;
  }
  return zmp;
}

/** The machine: nodes, zones, zonelists and CPUs. Built once at boot; memory hotplug resizes zones. */
export class Topology {
  /** What the topology was built from. */
  readonly layout: MachineLayout;
  readonly nodes: MemNode[];
  readonly zoneTypes: ZoneType[];
  readonly zoneConfig: ZoneConfig;
  readonly distances: number[][];
  readonly nrCpus: number;
  readonly arch: 'x86_64' | 'x86_32';
  readonly minPfn: number;
  readonly maxPfn: number;
  /** Kernel version whose formulas apply (the config's `kernel`, or the boot log's). */
  readonly kernel: string;
  /** arch_zone_lowest/highest_possible_pfn per zone index. */
  readonly archZones: ArchZoneRange[];
  /** zone_movable_pfn[] per node (0: no ZONE_MOVABLE on it). */
  readonly zoneMovablePfn: number[];
  /** Simulated cost of NUMA allocations. */
  readonly numaCost: { localNs: number; remotePercent: number };
  /** ZONELIST_FALLBACK per node: populated zones, nodes by distance, highest zone first. */
  readonly zonelists: Zone[][];
  /** ZONELIST_NOFALLBACK per node (__GFP_THISNODE). */
  readonly zonelistsThisNode: Zone[][];

  constructor(layout: MachineLayout) {
    this.layout = layout;
    this.arch = layout.arch;
    this.distances = layout.distances;
    this.kernel = layout.kernel ?? DEFAULT_KERNEL;
    this.numaCost = { ...layout.numa };
    const all = layout.nodes.flatMap((n) => n.ranges);
    this.minPfn = Math.min(...all.map((r) => r.start));
    this.maxPfn = Math.max(...all.map((r) => r.end));
    this.archZones = archZoneRanges(layout.arch, this.minPfn, this.maxPfn);
    this.zoneTypes = this.archZones.map((z) => z.type);
    this.zoneConfig = {
      dma: this.zoneTypes.includes(ZoneType.DMA),
      dma32: this.zoneTypes.includes(ZoneType.DMA32),
      highmem: this.zoneTypes.includes(ZoneType.HIGHMEM),
      movable: true,
    };
    const specs = layout.zones;
    this.zoneMovablePfn = specs
      ? layout.nodes.map((n) => specs.find((z) => z.nid === n.nid && z.type === ZoneType.MOVABLE && z.spanned > 0)?.start ?? 0)
      : findZoneMovablePfns(layout.nodes, this.archZones, layout.kernelcore, layout.movablecore);
    this.nodes = layout.nodes.map((n) => {
      const zones = specs ? this.zonesFromSpecs(n, specs) : this.sizeZones(n);
      return new MemNode(n.nid, zones, n.cpus, n.ranges.map((r) => ({ ...r })));
    });
    this.nrCpus = this.nodes.reduce((s, n) => s + n.cpus.length, 0);
    this.refreshSpans();
    this.zonelists = this.nodes.map(() => []);
    this.zonelistsThisNode = this.nodes.map(() => []);
    this.rebuildZonelists();
  }

  /** calculate_node_totalpages(): spanned and present pages of each zone of a node. */
  private sizeZones(n: MachineLayout['nodes'][number]): Zone[] {
    const nodeStart = n.ranges.length ? n.ranges[0]!.start : 0;
    const nodeEnd = n.ranges.length ? n.ranges[n.ranges.length - 1]!.end : 0;
    const movable = this.zoneMovablePfn[n.nid] ?? 0;
    const movableZone = this.archZones.reduce((m, z, i) => (z.type !== ZoneType.MOVABLE && z.high > z.low ? i : m), 0);
    return this.archZones.map((az, idx) => {
      // zone_spanned_pages_in_node()
      let zs = Math.min(Math.max(nodeStart, az.low), az.high);
      let ze = Math.min(Math.max(nodeEnd, az.low), az.high);
      // adjust_zone_range_for_zone_movable()
      if (movable) {
        if (az.type === ZoneType.MOVABLE) {
          zs = movable;
          ze = Math.min(nodeEnd, this.archZones[movableZone]!.high);
        } else if (zs < movable && ze > movable) {
          ze = movable;
        } else if (zs >= movable) {
          zs = ze;
        }
      }
      let spanned = 0;
      if (!(ze < nodeStart || zs > nodeEnd)) {
        ze = Math.min(ze, nodeEnd);
        zs = Math.max(zs, nodeStart);
        spanned = Math.max(0, ze - zs);
      }
      if (!spanned) return new Zone(n.nid, idx, az.type, 0, 0, []);
      return new Zone(n.nid, idx, az.type, zs, zs + spanned, clipRanges(n.ranges, zs, zs + spanned));
    });
  }

  /** Zones given outright (a zoneinfo): their spans as given, present pages laid out in the node's ranges. */
  private zonesFromSpecs(n: MachineLayout['nodes'][number], specs: readonly ZoneSpec[]): Zone[] {
    return this.archZones.map((az, idx) => {
      const s = specs.find((z) => z.nid === n.nid && z.type === az.type);
      if (!s || !s.spanned) return new Zone(n.nid, idx, az.type, 0, 0, []);
      const z = new Zone(n.nid, idx, az.type, s.start, s.start + s.spanned, clipRanges(n.ranges, s.start, s.start + s.spanned));
      z.managedPages = Math.min(s.managed, z.presentPages);
      return z;
    });
  }

  /** The managed pages a zone spec asks for (zoneinfo), or undefined when the kernel computes them. */
  specManaged(zone: Zone): number | undefined {
    return this.layout.zones?.find((z) => z.nid === zone.nid && z.type === zone.type)?.managed;
  }

  /** Node order for `nid` as find_next_best_node gives it: by distance, then node id. */
  nodeOrder(nid: number): number[] {
    return this.nodes.map((n) => n.nid).sort((a, b) => this.distances[nid]![a]! - this.distances[nid]![b]! || (a === nid ? -1 : b === nid ? 1 : a - b));
  }

  private buildZonelist(nid: number, thisNode: boolean): Zone[] {
    const order = thisNode ? [nid] : this.nodeOrder(nid);
    const list: Zone[] = [];
    for (const n of order) {
      const zones = this.nodes[n]!.zones;
      for (let i = zones.length - 1; i >= 0; i--) if (zones[i]!.populated) list.push(zones[i]!);
    }
    return list;
  }

  /** build_all_zonelists(): recomputes every node's zonelists in place (after a zone gains or loses all its pages). */
  rebuildZonelists(): void {
    for (const n of this.nodes) {
      const fb = this.zonelists[n.nid]!;
      fb.length = 0;
      fb.push(...this.buildZonelist(n.nid, false));
      const tn = this.zonelistsThisNode[n.nid]!;
      tn.length = 0;
      tn.push(...this.buildZonelist(n.nid, true));
    }
  }

  /** Every zone of every node, node by node, lowest zone first. */
  get zones(): Zone[] {
    return this.nodes.flatMap((n) => n.zones);
  }
  /** Populated zones only (for_each_populated_zone). */
  get populatedZones(): Zone[] {
    return this.zones.filter((z) => z.populated);
  }
  /** Zone index of a zone type on this machine, or -1 when not configured. */
  zoneIndex(type: ZoneType): number {
    return this.zoneTypes.indexOf(type);
  }
  /** Whether some zones' spans overlap (nodes with interleaved memory): pfn lookups then check present ranges. Mutable state of a frozen topology. */
  private readonly spans = { overlap: false };

  /** Recomputes node spans (and whether zone spans overlap) after memory hotplug moved zone spans or node ranges. */
  refreshSpans(): void {
    for (const n of this.nodes) n.resize();
    const spans = this.zones.filter((z) => z.spannedPages).sort((a, b) => a.zoneStartPfn - b.zoneStartPfn);
    this.spans.overlap = spans.some((z, i) => i > 0 && z.zoneStartPfn < spans[i - 1]!.zoneEndPfn);
  }

  /** The zone holding `pfn` (page_zone), or undefined for a hole outside every zone. */
  pfnZone(pfn: number): Zone | undefined {
    for (const n of this.nodes) {
      if (pfn < n.startPfn || pfn >= n.endPfn) continue;
      for (const z of n.zones) {
        if (!z.spansPfn(pfn)) continue;
        if (!this.spans.overlap) return z;
        for (const r of z.ranges) if (pfn >= r.start && pfn < r.end) return z;
      }
    }
    return undefined;
  }
  /** The node of `pfn` (pfn_to_nid), or -1. */
  pfnToNid(pfn: number): number {
    if (this.spans.overlap) return this.pfnZone(pfn)?.nid ?? -1;
    for (const n of this.nodes) if (pfn >= n.startPfn && pfn < n.endPfn) return n.nid;
    return -1;
  }
  /** cpu_to_node() */
  cpuToNode(cpu: number): number {
    for (const n of this.nodes) if (n.cpus.includes(cpu)) return n.nid;
    return 0;
  }
  get totalPresentPages(): number {
    return this.nodes.reduce((s, n) => s + n.presentPages, 0);
  }
  get totalManagedPages(): number {
    return this.zones.reduce((s, z) => s + z.managedPages, 0);
  }
}
