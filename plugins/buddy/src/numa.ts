/**
 * NUMA accounting of the page allocator (mm/page_alloc.c zone_statistics)
 * on a machine with more than one node: each handed-out block counts
 * numa_hit, or numa_miss here and numa_foreign on the preferred zone, and
 * numa_local or numa_other against the allocating CPU's node. A block also
 * costs simulated time, more when it comes from another node than the
 * CPU's (the machine's `numa` cost: localNs per page, +remotePercent per 10
 * of node distance above local). A single-node machine needs none of this:
 * page_alloc.ts counts its hits inline and leaves the clock still.
 * @module
 */
import type { SimClock, Topology } from '@mmsim/core';
import type { ZoneState } from './mmzone.js';

/** zone_statistics() and the remote-access cost, for one allocator. */
export class NumaAccounting {
  /** Cost per page by (CPU node, page node), in ns: localNs scaled by node distance. */
  private readonly cost: Float64Array;
  private readonly stride: number;

  constructor(topology: Topology, private readonly clock: SimClock) {
    const nids = topology.nodes.map((n) => n.nid);
    this.stride = Math.max(...nids) + 1;
    this.cost = new Float64Array(this.stride * this.stride);
    const { localNs, remotePercent } = topology.numaCost;
    for (const a of nids) {
      for (const b of nids) {
        const d = topology.distances[a]![b]!;
        this.cost[a * this.stride + b] = localNs * (1 + (remotePercent / 100) * (d - 10) / 10);
      }
    }
  }

  /**
   * zone_statistics(preferred_zone, z) for a block of `order` from `zs` for
   * a request preferring `pref`, made on a CPU of node `local`; then the
   * clock advances by the block's access cost.
   */
  account(pref: ZoneState, zs: ZoneState, local: number, order: number): void {
    const s = zs.numaStats;
    if (zs.nid === pref.nid) s.numa_hit++;
    else {
      s.numa_miss++;
      pref.numaStats.numa_foreign++;
    }
    if (zs.nid === local) s.numa_local++;
    else s.numa_other++;
    this.clock.advance(this.cost[local * this.stride + zs.nid]! * (1 << order));
  }
}
