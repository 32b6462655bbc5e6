/**
 * NUMA memory policies (mm/mempolicy.c): set_mempolicy(2) per task or a
 * policy for one call, resolved to the preferred node and nodemask
 * __alloc_pages() gets (policy_nodemask, interleave_nodes).
 * @module
 */
import { type Mempolicy, MmsimError, type Topology, ZoneType } from '@mmsim/core';

/** A validated policy with its interleave cursor (task->il_prev). */
export class ResolvedMempolicy {
  /** Node set as a mask indexed by node id. */
  readonly mask: Uint8Array;
  /** il_prev: the node the last interleaved allocation went to. */
  ilPrev = -1;
  constructor(readonly mode: Mempolicy['mode'], readonly nodes: readonly number[], nrNodes: number) {
    this.mask = new Uint8Array(nrNodes);
    for (const n of nodes) this.mask[n] = 1;
  }
}

/** Validates a policy against the machine's nodes (mpol_new); EINVAL names the problem. */
export function resolveMempolicy(topology: Topology, p: Mempolicy, plugin: string): ResolvedMempolicy {
  const modes = ['MPOL_DEFAULT', 'MPOL_PREFERRED', 'MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_LOCAL'];
  if (!p || !modes.includes(p.mode)) {
    throw new MmsimError('EINVAL', `mempolicy mode must be one of ${modes.join(', ')}, got ${JSON.stringify(p?.mode)}`, { plugin });
  }
  const nodes = [...new Set(p.nodes ?? [])].sort((a, b) => a - b);
  const nrNodes = topology.nodes.length;
  for (const n of nodes) {
    if (!Number.isInteger(n) || !topology.nodes.some((x) => x.nid === n)) {
      throw new MmsimError('EINVAL', `mempolicy: node ${n} does not exist (nodes 0..${nrNodes - 1})`, { plugin, details: { node: n } });
    }
  }
  if ((p.mode === 'MPOL_DEFAULT' || p.mode === 'MPOL_LOCAL') && nodes.length > 0) {
    throw new MmsimError('EINVAL', `${p.mode} takes no nodes`, { plugin });
  }
  if ((p.mode === 'MPOL_BIND' || p.mode === 'MPOL_INTERLEAVE' || p.mode === 'MPOL_PREFERRED') && nodes.length === 0) {
    throw new MmsimError('EINVAL', `${p.mode} needs at least one node`, { plugin });
  }
  return new ResolvedMempolicy(p.mode, nodes, Math.max(nrNodes, ...topology.nodes.map((n) => n.nid + 1)));
}

/** policy_zone: the highest populated zone type other than ZONE_MOVABLE (check_highest_zone). */
export function policyZone(topology: Topology): number {
  let pz = 0;
  for (const z of topology.zones) if (z.populated && z.type !== ZoneType.MOVABLE && z.idx > pz) pz = z.idx;
  return pz;
}

/** Where one allocation goes under a policy. */
export interface PolicyPlacement {
  nid: number;
  nodemask: Uint8Array | null;
  /** The node interleave picked (for NUMA_INTERLEAVE_HIT), or -1. */
  interleaveNid: number;
}

/**
 * policy_nodemask() + interleave_nodes(): MPOL_PREFERRED overrides the
 * node; MPOL_BIND restricts to its nodes (for allocations that may use
 * policy_zone); MPOL_INTERLEAVE takes the next node round-robin;
 * MPOL_DEFAULT / MPOL_LOCAL allocate on the local node.
 */
export function policyPlacement(pol: ResolvedMempolicy, gfpZoneIdx: number, localNid: number, policyZoneIdx: number): PolicyPlacement {
  switch (pol.mode) {
    case 'MPOL_PREFERRED':
      return { nid: pol.nodes[0]!, nodemask: null, interleaveNid: -1 };
    case 'MPOL_BIND':
      return { nid: localNid, nodemask: gfpZoneIdx >= policyZoneIdx ? pol.mask : null, interleaveNid: -1 };
    case 'MPOL_INTERLEAVE': {
      // next_node_in(il_prev, nodes)
      let next = pol.nodes.find((n) => n > pol.ilPrev);
      if (next === undefined) next = pol.nodes[0]!;
      pol.ilPrev = next;
      return { nid: next, nodemask: null, interleaveNid: next };
    }
    default:
      return { nid: localNid, nodemask: null, interleaveNid: -1 };
  }
}
