/**
 * NUMA memory policies for page allocations (mm/mempolicy.c
 * alloc_pages_mpol): MPOL_LOCAL (the allocating CPU's node), MPOL_PREFERRED
 * (one node first, then the nearest others) and MPOL_INTERLEAVE (round
 * robin over a node set, counting interleave_hit when the page lands on
 * the node asked for). The fallback and its numa_miss / numa_foreign
 * accounting are the page allocator's. The interleave cursor is
 * current->il_prev, kept by the task table (TASKS), so snapshots carry it.
 * @module
 */
import { MmsimError, type PageAllocator, type TaskTable, type Topology } from '@mmsim/core';

/** A memory policy. */
export type MemPolicy =
  | { mode: 'local' }
  | { mode: 'preferred'; node: number }
  | { mode: 'interleave'; nodes: readonly number[] };

/** current->il_prev: the node the last interleaved allocation used (-1: none yet). @mmsim/mm's TaskList keeps it. */
export interface InterleaveState {
  ilPrev: number;
}

/** What alloc_pages_mpol() needs: a Simulator has all three (`sim.pages`, `sim.topology`, `sim.tasks`). */
export interface MempolicyContext {
  readonly pages: PageAllocator;
  readonly topology: Topology;
  /** The state holder: the task table, whose `ilPrev` (current->il_prev) the interleave moves. */
  readonly tasks: TaskTable | (TaskTable & InterleaveState);
}

/**
 * alloc_pages_mpol(): a 2^order block under `policy` for an allocation on
 * `cpu`; null when the allocator cannot satisfy it. `sim` is a Simulator,
 * or anything with its pages, topology and tasks.
 */
export function allocPagesPolicy(sim: MempolicyContext, gfp: number, order: number, policy: MemPolicy, cpu = 0): number | null {
  const { pages, topology } = sim;
  const nodes = topology.nodes;
  const check = (nid: number) => {
    if (!Number.isInteger(nid) || !nodes[nid]) throw new MmsimError('EINVAL', `mempolicy: node ${nid} does not exist`, { details: { nid } });
  };
  switch (policy.mode) {
    case 'local':
      return pages.allocPages(gfp, order, { cpu });
    case 'preferred':
      check(policy.node);
      return pages.allocPages(gfp, order, { nid: policy.node, cpu });
    case 'interleave': {
      if (!policy.nodes.length) throw new MmsimError('EINVAL', 'mempolicy: interleave needs at least one node');
      const set = [...new Set(policy.nodes)].sort((a, b) => a - b);
      set.forEach(check);
      // interleave_nodes(): the next node of the set after the last one used
      const state = sim.tasks as Partial<InterleaveState>;
      const prev = state.ilPrev ?? -1;
      const nid = set.find((n) => n > prev) ?? set[0]!;
      state.ilPrev = nid;
      const pfn = pages.allocPages(gfp, order, { nid, cpu });
      if (pfn !== null) {
        const z = topology.pfnZone(pfn);
        if (z && z.nid === nid) z.numaStats.numa_interleave++; // NUMA_INTERLEAVE_HIT
      }
      return pfn;
    }
    default:
      throw new MmsimError('EINVAL', `mempolicy: unknown mode ${JSON.stringify((policy as { mode: unknown }).mode)}`);
  }
}
