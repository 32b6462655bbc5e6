import {
  createSimulator, GFP_ATOMIC, GFP_DMA, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOWAIT, PageOwner, Random, type SimulatorConfig,
  __GFP_MEMALLOC, __GFP_NORETRY, __GFP_RECLAIMABLE, __GFP_RETRY_MAYFAIL,
} from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';
import type { BuddyAllocator } from './index.js';

const GFPS = [GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE, GFP_ATOMIC, GFP_NOWAIT, GFP_KERNEL | __GFP_NORETRY, GFP_KERNEL | GFP_DMA, GFP_HIGHUSER_MOVABLE | __GFP_RETRY_MAYFAIL, GFP_KERNEL | __GFP_MEMALLOC];

/**
 * A random mix of every kind of request against one variant, with movable
 * and reclaimable owners, sysctl writes, drains and compaction, and the
 * CONFIG_DEBUG_VM checks every few hundred operations.
 */
async function stress(cfg: SimulatorConfig, ops: number, seed: number): Promise<void> {
  const sim = await createSimulator({ seed, ...cfg });
  const pa = sim.pages as BuddyAllocator;
  const r = new Random(seed);
  const held = new Map<number, { order: number; user: boolean }>();
  const list: number[] = [];
  const drop = (pfn: number) => {
    held.delete(pfn);
    const i = list.indexOf(pfn);
    list[i] = list[list.length - 1]!;
    list.pop();
  };
  sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, migrate: (from, to) => {
    const h = held.get(from)!;
    drop(from);
    held.set(to, h);
    list.push(to);
  } });
  sim.pageOwners.register({ name: 'test', kind: PageOwner.PAGE_CACHE, evict: (pfn) => {
    drop(pfn);
    sim.pages.freePages(pfn, 0);
    return true;
  } });
  const cpus = sim.topology.nrCpus;
  for (let i = 0; i < ops; i++) {
    const x = r.below(1000);
    if (x < 560 || list.length === 0) {
      const gfp = GFPS[r.below(GFPS.length)]!;
      const order = r.below(4) === 0 ? r.below(11) : 0;
      const pfn = sim.pages.allocPages(gfp, order, { cpu: r.below(cpus), cold: r.below(8) === 0 });
      if (pfn === null) continue;
      const user = gfp === GFP_HIGHUSER_MOVABLE && order === 0;
      held.set(pfn, { order, user });
      list.push(pfn);
      if (user) {
        const file = r.below(2) === 0;
        sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] = file ? PageOwner.PAGE_CACHE : PageOwner.ANON;
        if (file) sim.reclaim.pageAdded(pfn, false);
      }
    } else if (x < 990) {
      const pfn = list[r.below(list.length)]!;
      const h = held.get(pfn)!;
      const page = sim.memory.pfnToPage(pfn);
      if (sim.memory.pages.flags[page]! & (1 << 4)) sim.reclaim.pageRemoved(pfn);
      drop(pfn);
      sim.pages.freePages(pfn, h.order, { cpu: r.below(cpus), cold: r.below(8) === 0 });
    } else if (x < 993) {
      sim.pages.drainAllPages();
    } else if (x < 995) {
      pa.compactMemory();
    } else if (x < 997) {
      sim.sysctl.set('vm.watermark_scale_factor', 1 + r.below(300));
    } else if (x < 999) {
      sim.sysctl.set('vm.min_free_kbytes', 128 + r.below(8192));
    } else {
      sim.sysctl.set('vm.percpu_pagelist_high_fraction', r.below(2) ? 0 : 8 + r.below(100));
    }
    if (i % 500 === 0) sim.check();
  }
  sim.check();
  // the mix reached the slow path: reclaim ran and compaction stalled
  expect(sim.vmstat.events.pageoutrun).toBeGreaterThan(0);
  // everything back: the free lists hold every managed page but the owners'
  for (const pfn of [...list]) {
    const h = held.get(pfn)!;
    if (sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]! & (1 << 4)) sim.reclaim.pageRemoved(pfn);
    drop(pfn);
    sim.pages.freePages(pfn, h.order);
  }
  sim.pages.drainAllPages();
  sim.check();
  for (const z of sim.topology.populatedZones) expect(z.stats.nrFreePages).toBe(z.managedPages);
  sim.dispose();
}

describe('stress: invariants hold under every kind of request', () => {
  const variants: [string, SimulatorConfig][] = [
    ['default, 2 CPUs', { machine: { memory: '128M', cpus: 2 } }],
    ['pcp off, mobility grouping off', { machine: { memory: '128M', cpus: 2 }, plugins: { pageAllocator: { use: 'buddy', options: { pcp: false, mobilityGrouping: false } } } }],
    ['2 nodes, Linux 5.8 formulas', { machine: { nodes: [{ memory: '96M', cpus: 1 }, { memory: '64M', cpus: 1 }] }, kernel: '5.8' }],
    ['x86_32 with HighMem, classic watermarks', { machine: { memory: '1200M', cpus: 1, arch: 'x86_32' }, plugins: { pageAllocator: { use: 'buddy', options: { watermarks: 'classic' } } } }],
  ];
  it.each(variants)('%s', async (_name, cfg) => {
    await stress(cfg, 12000, 7);
  });
});
