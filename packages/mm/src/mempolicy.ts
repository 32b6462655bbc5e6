/**
 * NUMA memory policies for page allocations (mm/mempolicy.c
 * alloc_pages_mpol): MPOL_LOCAL (the allocating CPU's node), MPOL_PREFERRED
 * (one node first, then the nearest others) and MPOL_INTERLEAVE (round
 * robin over a node set, counting interleave_hit when the page lands on
 * the node asked for). The fallback and its numa_miss / numa_foreign
 * accounting are the page allocator's.
 * @module
 */
import { MmsimError } from './errors.js';
import type { Kernel } from './kernel.js';

/** A memory policy. */
export type MemPolicy =
  | { mode: 'local' }
  | { mode: 'preferred'; node: number }
  | { mode: 'interleave'; nodes: readonly number[] };

/** il_prev per simulator: the last node an interleaved allocation used. */
const ilPrev = new WeakMap<Kernel, number>();

/** il_prev of `k`, for snapshots. @internal */
export function interleavePrev(k: Kernel): number | undefined {
  return ilPrev.get(k);
}
/** Sets il_prev of `k` (restoring a snapshot). @internal */
export function setInterleavePrev(k: Kernel, prev: number | undefined): void {
  if (prev === undefined) ilPrev.delete(k);
  else ilPrev.set(k, prev);
}

/**
 * alloc_pages_mpol(): a 2^order block under `policy` for an allocation on
 * `cpu`; null when the allocator cannot satisfy it.
 */
export function allocPagesPolicy(k: Kernel, gfp: number, order: number, policy: MemPolicy, cpu = 0): number | null {
  const nodes = k.topology.nodes;
  const check = (nid: number) => {
    if (!Number.isInteger(nid) || !nodes[nid]) throw new MmsimError('EINVAL', `mempolicy: node ${nid} does not exist`, { details: { nid } });
  };
  switch (policy.mode) {
    case 'local':
      return k.pages.allocPages(gfp, order, { cpu });
    case 'preferred':
      check(policy.node);
      return k.pages.allocPages(gfp, order, { nid: policy.node, cpu });
    case 'interleave': {
      if (!policy.nodes.length) throw new MmsimError('EINVAL', 'mempolicy: interleave needs at least one node');
      const set = [...new Set(policy.nodes)].sort((a, b) => a - b);
      set.forEach(check);
      // interleave_nodes(): the next node of the set after the last one used
      const prev = ilPrev.get(k) ?? -1;
      const nid = set.find((n) => n > prev) ?? set[0]!;
      ilPrev.set(k, nid);
      const pfn = k.pages.allocPages(gfp, order, { nid, cpu });
      if (pfn !== null) {
        const z = k.topology.pfnZone(pfn);
        if (z && z.nid === nid) z.numaStats.numa_interleave++; // NUMA_INTERLEAVE_HIT
      }
      return pfn;
    }
    default:
      throw new MmsimError('EINVAL', `mempolicy: unknown mode ${JSON.stringify((policy as { mode: unknown }).mode)}`);
  }
}
