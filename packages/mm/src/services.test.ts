import {
  createSimulator, GFP_KERNEL, INVARIANT_CHECK, MEMORY_HOTPLUG, OOM_KILLER, PAGE_OWNERS, PERCPU, type PluginManifest, PROC_ENTRY,
  RECLAIM, type Simulator, VMALLOC, VMSTAT,
} from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';
import { expectCode, spawnTask } from '@mmsim/testkit';
import mm, { allocPagesPolicy, calculateNormalThreshold, Hotplug, OomKill, PercpuAllocator, VmallocAllocator, VmStatCounters } from './index.js';

let sim: Simulator;
const providedTokensOf = (m: PluginManifest) => (typeof m.provides === 'symbol' ? [m.provides] : m.provides);
afterEach(() => sim?.dispose());

describe('@mmsim/mm manifests', () => {
  it('is a list of plugin manifests, one per mechanism, in core\'s service boot order, then /proc and the checks', () => {
    expect(mm.map((m) => m.name)).toEqual(['vmstat', 'page-owners', 'vmscan', 'oom-kill', 'vmalloc', 'percpu', 'memory-hotplug', 'proc', 'mm-checks']);
    expect(mm.map((m) => providedTokensOf(m))).toEqual([
      [VMSTAT], [PAGE_OWNERS], [RECLAIM], [OOM_KILLER], [VMALLOC], [PERCPU], [MEMORY_HOTPLUG], [PROC_ENTRY], [INVARIANT_CHECK],
    ]);
    for (const m of mm) expect(m.apiVersion).toBe('1');
  });

  it('composes every service, one instance per simulator', async () => {
    sim = await createSimulator({ machine: { memory: '128M', cpus: 2 } });
    expect(sim.vmstat).toBeInstanceOf(VmStatCounters);
    expect(sim.oomKiller).toBeInstanceOf(OomKill);
    expect(sim.vmalloc).toBeInstanceOf(VmallocAllocator);
    expect(sim.percpu).toBeInstanceOf(PercpuAllocator);
    expect(sim.hotplug).toBeInstanceOf(Hotplug);
    expect(sim.get(VMSTAT)).toBe(sim.vmstat);
    const other = await createSimulator({ machine: { memory: '128M', cpus: 2 } });
    expect(other.vmstat).not.toBe(sim.vmstat);
    other.dispose();
  });

  it('starts the counters as the kernel object did', async () => {
    sim = await createSimulator({ machine: { memory: '128M', cpus: 1 } });
    expect(Object.keys(sim.vmstat.node)).toEqual([
      'nr_anon_pages', 'nr_mapped', 'nr_file_pages', 'nr_dirty', 'nr_writeback', 'nr_shmem', 'nr_kernel_stack', 'nr_page_table_pages',
      'nr_vmalloc', 'nr_swapcached', 'nr_mlock', 'nr_percpu', 'nr_committed',
    ]);
    expect(Object.values(sim.vmstat.node).every((v) => v === 0)).toBe(true);
    expect(sim.vmstat.events).toEqual({ oom_kill: 0 });
    expect([sim.swap.total, sim.swap.free]).toEqual([0, 0]);
    expect(sim.tasks.memalloc).toBe(0);
  });
});

describe('/proc views', () => {
  it('are PROC_ENTRY contributions in the order /proc listed them; <pid>/oom_score follows the task table', async () => {
    sim = await createSimulator({ machine: { memory: '128M', cpus: 1 } });
    const names = sim.procNames().filter((n) => !n.startsWith('sys/'));
    // pagetypeinfo is the buddy allocator's, swaps the process layer's
    expect(names.filter((n) => n !== 'pagetypeinfo' && n !== 'swaps')).toEqual([
      'buddyinfo', 'slabinfo', 'meminfo', 'vmallocinfo', 'zoneinfo', 'vmstat', 'extfrag/extfrag_index', 'extfrag/unusable_index', 'numa', 'numastat',
    ]);
    const t = spawnTask(sim, { comm: 'x', anonPages: 1000 });
    expect(sim.procNames()).toContain(`${t.pid}/oom_score`);
    expect(sim.proc(`${t.pid}/oom_score`)).toBe(`${sim.oom.oomScore(t, sim.oomKiller.totalPages())}\n`);
    sim.processes.exit(t.pid);
    expectCode(() => sim.proc(`${t.pid}/oom_score`), 'EPROC_UNKNOWN');
  });

  it('/proc/vmstat adds the page allocator\'s events and VMSTAT\'s, by name', async () => {
    sim = await createSimulator({ machine: { memory: '128M', cpus: 1 } });
    sim.pages.allocPages(GFP_KERNEL, 0);
    sim.vmstat.events.pgsteal_direct = 7;
    sim.vmstat.events.pgfree = 1000; // the allocator counts pgfree too: the view shows the sum
    const v = sim.proc('vmstat');
    expect(v).toMatch(/^pgsteal_direct 7$/m);
    expect(v).toMatch(new RegExp(`^pgfree ${(sim.pages.vmEvents!().pgfree ?? 0) + 1000}$`, 'm'));
    expect(v).toMatch(/^oom_kill 0$/m);
  });

  it('calculate_normal_threshold (vm stats threshold in /proc/zoneinfo) matches what the kernel printed', () => {
    expect([3976, 758708, 236634].map((m) => calculateNormalThreshold(m, 2))).toEqual([4, 24, 16]);
  });
});

describe('the OOM killer', () => {
  it('marks the victim, counts oom_kill, and knows its victims (tsk_is_oom_victim)', async () => {
    sim = await createSimulator({ machine: { memory: '128M', cpus: 1 } });
    expect(sim.oomKiller.totalPages()).toBe(sim.topology.totalManagedPages);
    sim.swap.swapon({ size: 1001 * 4096 }); // one header page + 1000 slots
    expect(sim.oomKiller.totalPages()).toBe(sim.topology.totalManagedPages + 1000);
    const small = spawnTask(sim, { comm: 'small', anonPages: 10 });
    const big = spawnTask(sim, { comm: 'big', anonPages: 10_000 });
    expect(sim.oomKiller.isVictim(big.pid)).toBe(false);
    expect(sim.oomKiller.outOfMemory()).toBe(big);
    expect(sim.oomKiller.isVictim(big.pid)).toBe(true);
    expect(sim.oomKiller.isVictim(small.pid)).toBe(false);
    expect(sim.oomKiller.isVictim(0)).toBe(false);
    expect(sim.vmstat.events.oom_kill).toBe(1);
    expect(sim.proc('vmstat')).toMatch(/^oom_kill 1$/m);
  });
});

describe('vmalloc and percpu', () => {
  it('their invariants are INVARIANT_CHECK contributions that sim.check() runs', async () => {
    sim = await createSimulator({ machine: { memory: '128M', cpus: 2 } });
    const a = sim.vmalloc.vmalloc(3 * 4096)!;
    const p = sim.percpu.allocPercpu(64)!;
    sim.check();
    sim.vmstat.node.nr_vmalloc!++;
    expect(() => sim.check()).toThrowError(/ECORRUPT.*vmalloc check: areas hold (\d+) pages, nr_vmalloc is \d+/);
    sim.vmstat.node.nr_vmalloc!--;
    sim.vmstat.node.nr_percpu!++;
    expect(() => sim.check()).toThrowError(/ECORRUPT.*percpu check/);
    sim.vmstat.node.nr_percpu!--;
    sim.vmalloc.vfree(a);
    sim.percpu.freePercpu(p);
    sim.check();
  });
});

describe('mempolicy', () => {
  it('interleaves from the task table\'s il_prev, with a Simulator as the context', async () => {
    sim = await createSimulator({ machine: { nodes: [{ memory: '128M', cpus: 1 }, { memory: '128M', cpus: 1 }] } });
    const nodeOf = (pfn: number | null) => sim.topology.pfnZone(pfn!)!.nid;
    const got = [0, 1, 2, 3].map(() => nodeOf(allocPagesPolicy(sim, GFP_KERNEL, 0, { mode: 'interleave', nodes: [0, 1] })));
    expect(got).toEqual([0, 1, 0, 1]);
    expect(sim.tasks.ilPrev).toBe(1);
    expectCode(() => allocPagesPolicy(sim, GFP_KERNEL, 0, { mode: 'preferred', node: 7 }), 'EINVAL');
  });
});
