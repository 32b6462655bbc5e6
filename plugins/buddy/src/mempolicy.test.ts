import { createSimulator, GFP_DMA, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, isMmsimError, PageOwner, type Simulator, type SimulatorConfig, __GFP_RETRY_MAYFAIL, __GFP_THISNODE } from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuddyAllocator } from './index.js';

let sim: Simulator;
afterEach(() => sim?.dispose());

async function boot(cfg: SimulatorConfig = {}): Promise<BuddyAllocator> {
  sim = await createSimulator({ machine: { nodes: [{ memory: '256M', cpus: 1 }, { memory: '256M', cpus: 1 }] }, ...cfg });
  return sim.pages as BuddyAllocator;
}

const nodeOf = (pfn: number) => sim.topology.pfnZone(pfn)!.nid;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isMmsimError(e) ? e.code : String(e);
  }
  return undefined;
}

describe('NUMA placement', () => {
  it('allocates on the local node of the CPU, alloc_pages_node on the given node', async () => {
    await boot();
    expect(nodeOf(sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 0 })!)).toBe(0);
    expect(nodeOf(sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 1 })!)).toBe(1);
    expect(nodeOf(sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 0, nid: 1 })!)).toBe(1);
    // zonelists: the local node's zones (highest first), then the other node's
    expect(sim.topology.zonelists[0]!.map((z) => `${z.nid}/${z.name}`)).toEqual(['0/DMA32', '0/DMA', '1/DMA32']);
  });

  it('__GFP_THISNODE never leaves the node; without it a full node falls back to the next', async () => {
    await boot();
    while (sim.pages.allocPages(GFP_KERNEL | __GFP_THISNODE, 0, { nid: 1 }) !== null) { /* fill node 1 */ }
    expect(sim.pages.allocPages(GFP_KERNEL | __GFP_THISNODE, 0, { nid: 1 })).toBeNull();
    const p = sim.pages.allocPages(GFP_KERNEL, 0, { nid: 1 })!;
    expect(nodeOf(p)).toBe(0);
  });

  it('MPOL_BIND restricts a task to its nodes (not for allocations below policy_zone); MPOL_PREFERRED only prefers', async () => {
    const pa = await boot();
    const task = sim.processes.spawn({ comm: 'bound' });
    pa.setMempolicy(task.pid, { mode: 'MPOL_BIND', nodes: [1] });
    expect(pa.getMempolicy(task.pid)).toEqual({ mode: 'MPOL_BIND', nodes: [1] });
    for (let i = 0; i < 10; i++) expect(nodeOf(sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 0, pid: task.pid })!)).toBe(1);
    // GFP_DMA asks for a zone below policy_zone (DMA32 here): the policy does not apply
    expect(nodeOf(sim.pages.allocPages(GFP_DMA | GFP_KERNEL, 0, { cpu: 0, pid: task.pid })!)).toBe(0);
    // fill node 1: the bound task gets nothing from node 0 (RETRY_MAYFAIL: no OOM kill, whose victim could ignore the policy)
    let n = 0;
    const gfp = GFP_KERNEL | __GFP_RETRY_MAYFAIL;
    for (let p = sim.pages.allocPages(gfp, 0, { cpu: 0, pid: task.pid }); p !== null; p = sim.pages.allocPages(gfp, 0, { cpu: 0, pid: task.pid })) {
      expect(nodeOf(p)).toBe(1);
      n++;
    }
    expect(n).toBeGreaterThan(1000);
    pa.setMempolicy(task.pid, { mode: 'MPOL_PREFERRED', nodes: [1] });
    expect(nodeOf(sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 0, pid: task.pid })!)).toBe(0); // node 1 is full
    pa.setMempolicy(task.pid, null);
    expect(pa.getMempolicy(task.pid)).toEqual({ mode: 'MPOL_DEFAULT' });
  });

  it('MPOL_INTERLEAVE alternates nodes and counts numa_interleave hits; MPOL_LOCAL per call', async () => {
    await boot();
    const policy = { mode: 'MPOL_INTERLEAVE' as const, nodes: [0, 1] };
    const nodes = Array.from({ length: 6 }, () => nodeOf(sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cpu: 1, policy })!));
    expect(nodes).toEqual([0, 1, 0, 1, 0, 1]);
    const hits = sim.topology.populatedZones.reduce((s, z) => s + z.numaStats.numa_interleave, 0);
    expect(hits).toBe(6);
    expect(sim.proc('vmstat')).toMatch(/^numa_interleave 6$/m);
    expect(nodeOf(sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 1, policy: { mode: 'MPOL_LOCAL' } })!)).toBe(1);
  });

  it('rejects bad policies and unknown tasks, changing nothing', async () => {
    const pa = await boot();
    const t = sim.processes.spawn({ comm: 't' });
    expect(code(() => pa.setMempolicy(t.pid, { mode: 'MPOL_BIND', nodes: [] }))).toBe('EINVAL');
    expect(code(() => pa.setMempolicy(t.pid, { mode: 'MPOL_BIND', nodes: [7] }))).toBe('EINVAL');
    expect(code(() => pa.setMempolicy(t.pid, { mode: 'MPOL_LOCAL', nodes: [0] }))).toBe('EINVAL');
    expect(code(() => pa.setMempolicy(t.pid, { mode: 'MPOL_FOO' as never }))).toBe('EINVAL');
    expect(code(() => pa.setMempolicy(999, { mode: 'MPOL_LOCAL' }))).toBe('ETASK_UNKNOWN');
    expect(pa.getMempolicy(t.pid)).toEqual({ mode: 'MPOL_DEFAULT' });
    expect(code(() => sim.pages.allocPages(GFP_KERNEL, 0, { nid: 5 }))).toBe('EINVAL');
    expect(code(() => sim.pages.allocPages(GFP_KERNEL, 0, { nodemask: [3] }))).toBe('EINVAL');
  });
});

describe('vm.zone_reclaim_mode', () => {
  /** Fills node 0's DMA32 zone with reclaimable pages of `kind` (page cache, or anon when `anon`), `share` of them file. */
  function fillNode0(fileShare: number): { file: () => number; anon: () => number } {
    let file = 0;
    let anon = 0;
    const evict = (kind: 'file' | 'anon') => (pfn: number) => {
      if (kind === 'file') file++;
      else anon++;
      sim.pages.freePages(pfn, 0);
      return true;
    };
    sim.pageOwners.register({ name: 'test', kind: PageOwner.PAGE_CACHE, evict: evict('file') });
    sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, evict: evict('anon') });
    const dma32 = sim.topology.nodes[0]!.zones.find((z) => z.name === 'DMA32')!;
    const total = dma32.stats.nrFreePages;
    let i = 0;
    while (dma32.stats.nrFreePages > dma32.watermark[1]! + 64) {
      const isFile = i++ < total * fileShare;
      const p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_THISNODE, 0, { cpu: 0, nid: 0 })!;
      sim.memory.pages.ownerKind[sim.memory.pfnToPage(p)] = isFile ? PageOwner.PAGE_CACHE : PageOwner.ANON;
      sim.reclaim.pageAdded(p, !isFile);
      if (isFile) {
        // a working set: active file pages, so reclaim is not in cache-trim mode (file only)
        sim.reclaim.pageAccessed(p);
        sim.reclaim.pageAccessed(p);
      }
    }
    return { file: () => file, anon: () => anon };
  }

  it('0: a full node spills to the other node before reclaiming', async () => {
    await boot({ sysctl: { 'vm.zone_reclaim_mode': 0 } });
    const c = fillNode0(1);
    // node 0's DMA zone serves too, down to its lowmem_reserve; then node 1
    let firstRemote = -1;
    for (let i = 0; i < 10000 && firstRemote < 0; i++) if (nodeOf(sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 0 })!) === 1) firstRemote = i;
    expect(firstRemote).toBeGreaterThanOrEqual(0);
    expect(c.file()).toBe(0);
  });

  it('1: the local node reclaims its clean page cache first and the allocation stays local', async () => {
    const pa = await boot({ sysctl: { 'vm.zone_reclaim_mode': 1 } });
    const c = fillNode0(1);
    for (let i = 0; i < 2000; i++) expect(nodeOf(sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 0 })!)).toBe(0);
    expect(c.file()).toBeGreaterThan(0);
    expect(sim.vmstat.events.zone_reclaim_success).toBeGreaterThan(0);
    expect(sim.proc('vmstat')).toMatch(/^zone_reclaim_success [1-9]\d*$/m);
  });

  it('4: node reclaim may also swap anonymous pages; 1 leaves them alone', async () => {
    await boot({ sysctl: { 'vm.zone_reclaim_mode': 1 } });
    sim.swap.swapon({ size: 400 * 2 ** 20 }); // 102399 slots
    const c = fillNode0(0.1);
    for (let i = 0; i < 2000; i++) sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 0 });
    expect(c.file()).toBeGreaterThan(0);
    expect(c.anon()).toBe(0);
    sim.sysctl.set('vm.zone_reclaim_mode', 4);
    for (let i = 0; i < 2000; i++) sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 0 });
    expect(c.anon()).toBeGreaterThan(0);
  });
});
