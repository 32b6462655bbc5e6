import { allocPagesPolicy, createSimulator, GFP_KERNEL, __GFP_THISNODE, type Simulator, type SimulatorConfig } from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';

/** Two nodes as a user writes them in a JSON config: 512 MiB each, 2 CPUs each. */
const twoNodes = (extra: Partial<NonNullable<SimulatorConfig['machine']>> = {}): SimulatorConfig => JSON.parse(JSON.stringify({
  machine: {
    nodes: [
      { ranges: [{ start: 0, end: '0x20000000' }], cpus: 2 },
      { ranges: [{ start: '0x100000000', end: '0x120000000' }], cpus: 2 },
    ],
    distances: [[10, 20], [20, 10]],
    ...extra,
  },
}));

const nodeOf = (sim: Simulator, pfn: number) => sim.topology.pfnZone(pfn)!.nid;

describe('NUMA', () => {
  it('boots two nodes from JSON, with per-node zonelists ordered by distance and numactl --hardware output', async () => {
    const sim = await createSimulator(twoNodes());
    expect(sim.topology.nodes.map((n) => n.cpus)).toEqual([[0, 1], [2, 3]]);
    expect(sim.topology.zonelists[1]!.map((z) => `${z.nid}:${z.name}`)).toEqual(['1:Normal', '0:DMA32', '0:DMA']);
    expect(sim.topology.zonelists[0]!.map((z) => `${z.nid}:${z.name}`)).toEqual(['0:DMA32', '0:DMA', '1:Normal']);
    const hw = sim.proc('numa');
    expect(hw).toMatch(/^available: 2 nodes \(0-1\)\nnode 0 cpus: 0 1\nnode 0 size: \d+ MB\nnode 0 free: \d+ MB\nnode 1 cpus: 2 3\n/);
    expect(hw).toContain('node distances:\nnode   0   1 \n  0:  10  20 \n  1:  20  10 \n');
    sim.dispose();
  });

  it('falls back to node 0 when preferred node 1 is exhausted, counting numa_miss there and numa_foreign on node 1', async () => {
    const sim = await createSimulator(twoNodes());
    let n1 = 0;
    while (sim.pages.allocPages(GFP_KERNEL | __GFP_THISNODE, 0, { nid: 1, cpu: 2 }) !== null) n1++;
    expect(n1).toBeGreaterThan(100_000);
    const node1 = sim.topology.nodes[1]!.zones.find((z) => z.name === 'Normal')!;
    expect(node1.numaStats.numa_hit).toBe(n1);
    expect(node1.numaStats.numa_local).toBe(n1);
    const pfn = sim.pages.allocPages(GFP_KERNEL, 0, { nid: 1, cpu: 2 })!;
    expect(nodeOf(sim, pfn)).toBe(0);
    const z0 = sim.topology.pfnZone(pfn)!;
    expect(z0.numaStats).toMatchObject({ numa_miss: 1, numa_hit: 0, numa_other: 1 });
    expect(node1.numaStats.numa_foreign).toBe(1);
    const stat = sim.proc('numastat');
    expect(stat).toMatch(/^ {16} {11}node0 {11}node1\n/);
    expect(stat).toMatch(/^numa_miss {22}1 {15}0$/m);
    expect(stat).toMatch(/^numa_foreign {19}0 {15}1$/m);
    expect(stat).toMatch(new RegExp(`^numa_hit +0 +${n1}$`, 'm'));
    sim.dispose();
  });

  it('charges a remote allocation 30% more simulated time than a local one (configurable)', async () => {
    const sim = await createSimulator(twoNodes());
    const t0 = sim.clock.now();
    sim.pages.allocPages(GFP_KERNEL, 0, { nid: 0, cpu: 0 });
    const local = sim.clock.now() - t0;
    sim.pages.allocPages(GFP_KERNEL, 0, { nid: 1, cpu: 0 });
    const remote = sim.clock.now() - t0 - local;
    expect(local).toBe(100);
    expect(remote).toBeCloseTo(130, 6);
    sim.pages.allocPages(GFP_KERNEL, 2, { nid: 0, cpu: 0 });
    expect(sim.clock.now() - t0 - local - remote).toBe(400);
    sim.dispose();
    const slow = await createSimulator(twoNodes({ numa: { localNs: 50, remotePercent: 100 }, distances: [[10, 30], [30, 10]] }));
    const s0 = slow.clock.now();
    slow.pages.allocPages(GFP_KERNEL, 0, { nid: 1, cpu: 0 });
    expect(slow.clock.now() - s0).toBe(150); // 50 ns × (1 + 100% × (30 - 10) / 10)
    slow.dispose();
    const uma = await createSimulator({ machine: { memory: '256M' } });
    uma.pages.allocPages(GFP_KERNEL, 0);
    expect(uma.clock.now()).toBe(0); // one node: nothing is remote, the clock stays
    uma.dispose();
  });

  it('prints the zone_statistics counters in /proc/zoneinfo and /proc/vmstat; on one node every block is a local hit', async () => {
    const sim = await createSimulator(twoNodes());
    for (let i = 0; i < 5; i++) sim.pages.allocPages(GFP_KERNEL, 0, { nid: 1, cpu: 0 });
    const n1 = sim.topology.nodes[1]!.zones.find((z) => z.name === 'Normal')!;
    expect(n1.numaStats).toMatchObject({ numa_hit: 5, numa_miss: 0, numa_local: 0, numa_other: 5 });
    expect(sim.proc('zoneinfo')).toMatch(/Node 1, zone   Normal\n(?:.*\n)*? {6}numa_hit {5}5\n {6}numa_miss {4}0\n {6}numa_foreign 0\n {6}numa_interleave 0\n {6}numa_local {3}0\n {6}numa_other {3}5\n/);
    const vm = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(sim.proc('vmstat'))![1]);
    expect(vm('numa_other')).toBe(sim.topology.zones.reduce((s, z) => s + z.numaStats.numa_other, 0));
    expect(vm('numa_other')).toBeGreaterThanOrEqual(5);
    sim.dispose();
    const uma = await createSimulator({ machine: { memory: '256M' } });
    const z = uma.topology.zones.find((x) => x.name === 'DMA32')!;
    const hit = z.numaStats.numa_hit;
    for (const order of [0, 0, 0, 2]) uma.pages.allocPages(GFP_KERNEL, order);
    expect(z.numaStats).toMatchObject({ numa_hit: hit + 4, numa_local: hit + 4, numa_miss: 0, numa_foreign: 0, numa_other: 0 });
    uma.dispose();
  });

  it('interleaves over a node set, counting interleave_hit', async () => {
    const sim = await createSimulator(twoNodes());
    const nodes = [0, 1, 2, 3].map(() => nodeOf(sim, allocPagesPolicy(sim, GFP_KERNEL, 0, { mode: 'interleave', nodes: [0, 1] })!));
    expect(nodes).toEqual([0, 1, 0, 1]);
    const hits = sim.topology.zones.reduce((s, z) => s + z.numaStats.numa_interleave, 0);
    expect(hits).toBe(4);
    expect(sim.proc('numastat')).toMatch(/^interleave_hit +2 +2$/m);
    expect(nodeOf(sim, allocPagesPolicy(sim, GFP_KERNEL, 0, { mode: 'preferred', node: 1 })!)).toBe(1);
    expect(nodeOf(sim, allocPagesPolicy(sim, GFP_KERNEL, 0, { mode: 'local' }, 3)!)).toBe(1);
    expect(() => allocPagesPolicy(sim, GFP_KERNEL, 0, { mode: 'preferred', node: 7 })).toThrowError(/EINVAL/);
    sim.dispose();
  });
});
