/**
 * NUMA accounting of the page allocator (mm/page_alloc.c zone_statistics):
 * each successful allocation counts numa_hit or numa_miss/numa_foreign
 * against the preferred zone, and numa_local or numa_other against the
 * allocating CPU's node; a page from another node than the CPU's costs
 * more simulated time (the machine's `numa` cost: +remotePercent per 10
 * of node distance above local).
 * @module
 */
import type { Kernel, SimClock, Topology, Zone } from '@mmsim/core';

/** zone_statistics() and the remote-access cost, for one simulator. */
export class NumaAccounting {
  /** cpu_to_node() per CPU id. */
  private readonly cpuNode: Int32Array;
  /** Cost factor per (cpu node, page node), by node distance. */
  private readonly factor: Float64Array;
  private readonly nrNodes: number;
  /** Charge the clock: only machines with more than one node pay (and single-node runs keep a still clock). */
  private readonly charge: boolean;
  private readonly localNs: number;
  private clock: SimClock | undefined;

  constructor(topology: Topology, private readonly kernel: Kernel) {
    const maxCpu = Math.max(0, ...topology.nodes.flatMap((n) => n.cpus));
    this.cpuNode = new Int32Array(maxCpu + 1);
    for (const n of topology.nodes) for (const c of n.cpus) this.cpuNode[c] = n.nid;
    this.nrNodes = topology.nodes.length;
    this.factor = new Float64Array(this.nrNodes * this.nrNodes);
    const pct = topology.numaCost.remotePercent / 100;
    for (let a = 0; a < this.nrNodes; a++) {
      for (let b = 0; b < this.nrNodes; b++) {
        const d = topology.distances[a]![b]!;
        this.factor[a * this.nrNodes + b] = 1 + (pct * (d - 10)) / 10;
      }
    }
    this.localNs = topology.numaCost.localNs;
    this.charge = this.nrNodes > 1 && this.localNs > 0;
  }

  /** numa_node_id() of a CPU. */
  cpuToNode(cpu: number): number {
    return cpu >= 0 && cpu < this.cpuNode.length ? this.cpuNode[cpu]! : 0;
  }

  /**
   * zone_statistics(preferred_zone, z): `zonelist` and `highestZoneIdx`
   * give the preferred zone (first_zones_zonelist), `z` is where the block
   * came from.
   */
  account(zonelist: readonly Zone[], highestZoneIdx: number, z: Zone, cpu: number, order: number): void {
    let preferred = z;
    for (const c of zonelist) {
      if (c.idx <= highestZoneIdx) {
        preferred = c;
        break;
      }
    }
    const local = this.cpuToNode(cpu);
    const s = z.numaStats;
    if (z.nid === preferred.nid) s.numa_hit++;
    else {
      s.numa_miss++;
      preferred.numaStats.numa_foreign++;
    }
    if (z.nid === local) s.numa_local++;
    else s.numa_other++;
    if (this.charge) (this.clock ??= this.kernel.clock).advance(this.localNs * (1 << order) * this.factor[local * this.nrNodes + z.nid]!);
  }
}
