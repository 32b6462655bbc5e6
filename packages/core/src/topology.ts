/**
 * Nodes, zones and zonelists (pglist_data, struct zone, build_zonelists),
 * sized from a {@link MachineLayout} with the architecture's zone boundaries.
 * @module
 */
import { type ZoneConfig, ZoneType } from './gfp.js';
import type { MachineLayout, PfnRange } from './machine.js';

/** Zone boundaries in pfns (max_zone_pfns) for an architecture. */
export function zoneBoundaries(arch: 'x86_64' | 'x86_32', maxPfn: number): [ZoneType, number][] {
  if (arch === 'x86_32') {
    return [[ZoneType.DMA, 4096], [ZoneType.NORMAL, (896 * 2 ** 20) / 4096], [ZoneType.HIGHMEM, Math.max(maxPfn, 1)], [ZoneType.MOVABLE, 0]];
  }
  return [[ZoneType.DMA, 4096], [ZoneType.DMA32, 0x100000], [ZoneType.NORMAL, Math.max(maxPfn, 0x100000)], [ZoneType.MOVABLE, 0]];
}

/** Per-zone counters (enum zone_stat_item, the ones the simulator keeps). */
export interface ZoneStats {
  /** NR_FREE_PAGES */
  nrFreePages: number;
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
  constructor(
    readonly nid: number,
    readonly zones: Zone[],
    readonly cpus: number[],
    readonly ranges: PfnRange[],
  ) {}
  get startPfn(): number {
    return this.ranges.length ? this.ranges[0]!.start : 0;
  }
  get endPfn(): number {
    return this.ranges.length ? this.ranges[this.ranges.length - 1]!.end : 0;
  }
  get spannedPages(): number {
    return this.endPfn - this.startPfn;
  }
  get presentPages(): number {
    return this.zones.reduce((s, z) => s + z.presentPages, 0);
  }
}

function clip(ranges: readonly PfnRange[], lo: number, hi: number): PfnRange[] {
  const out: PfnRange[] = [];
  for (const r of ranges) {
    const s = Math.max(r.start, lo);
    const e = Math.min(r.end, hi);
    if (e > s) out.push({ start: s, end: e });
  }
  return out;
}

/** The machine: nodes, zones, zonelists and CPUs. Built once at boot. */
export class Topology {
  readonly nodes: MemNode[];
  readonly zoneTypes: ZoneType[];
  readonly zoneConfig: ZoneConfig;
  readonly distances: number[][];
  readonly nrCpus: number;
  readonly arch: 'x86_64' | 'x86_32';
  readonly minPfn: number;
  readonly maxPfn: number;
  /** ZONELIST_FALLBACK per node: populated zones, nodes by distance, highest zone first. */
  readonly zonelists: Zone[][];
  /** ZONELIST_NOFALLBACK per node (__GFP_THISNODE). */
  readonly zonelistsThisNode: Zone[][];

  constructor(layout: MachineLayout) {
    this.arch = layout.arch;
    this.distances = layout.distances;
    const all = layout.nodes.flatMap((n) => n.ranges);
    this.minPfn = Math.min(...all.map((r) => r.start));
    this.maxPfn = Math.max(...all.map((r) => r.end));
    const bounds = zoneBoundaries(layout.arch, this.maxPfn);
    this.zoneTypes = bounds.map(([t]) => t);
    this.zoneConfig = {
      dma: this.zoneTypes.includes(ZoneType.DMA),
      dma32: this.zoneTypes.includes(ZoneType.DMA32),
      highmem: this.zoneTypes.includes(ZoneType.HIGHMEM),
      movable: true,
    };
    this.nodes = layout.nodes.map((n) => {
      const nodeStart = n.ranges.length ? n.ranges[0]!.start : 0;
      const nodeEnd = n.ranges.length ? n.ranges[n.ranges.length - 1]!.end : 0;
      let lo = 0;
      const zones = bounds.map(([type, hi], idx) => {
        // ZONE_MOVABLE is carved out by kernelcore=/movablecore= only; empty by default.
        const zhi = type === ZoneType.MOVABLE ? lo : hi;
        const start = Math.min(Math.max(lo, nodeStart), nodeEnd);
        const end = Math.max(Math.min(zhi, nodeEnd), start);
        const z = new Zone(n.nid, idx, type, start, end, clip(n.ranges, start, end));
        if (type !== ZoneType.MOVABLE) lo = hi;
        return z;
      });
      return new MemNode(n.nid, zones, n.cpus, n.ranges);
    });
    this.nrCpus = this.nodes.reduce((s, n) => s + n.cpus.length, 0);
    this.zonelists = this.nodes.map((n) => this.buildZonelist(n.nid, false));
    this.zonelistsThisNode = this.nodes.map((n) => this.buildZonelist(n.nid, true));
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
  /** The zone holding `pfn` (page_zone), or undefined for a hole outside every zone. */
  pfnZone(pfn: number): Zone | undefined {
    for (const n of this.nodes) {
      if (pfn < n.startPfn || pfn >= n.endPfn) continue;
      for (const z of n.zones) if (z.spansPfn(pfn)) return z;
    }
    return undefined;
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
