/**
 * Compares buddy allocator variants on one workload: the mixed workload of
 * the anti-fragmentation patches (long-lived unmovable kernel allocations
 * interleaved with movable user pages, freed in random order), run with
 * mobility grouping on and off. Same seed, same operations; only the
 * composition differs.
 * @module @mmsim/example-compare-variants
 */
import { createSimulator, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, type PluginRef, Random } from '@mmsim/core';

/** What one variant ended with. */
export interface VariantResult {
  variant: string;
  /** Free blocks of order ≥ 9 (pageblock_order: huge-page capable) across zones. */
  freeHighOrderBlocks: number;
  /** Free pages in total (the same for every variant: the workload is identical). */
  freePages: number;
  /** Order-9 allocations that succeeded when asked for at the end. */
  hugeAllocs: number;
  buddyinfo: string;
}

/** Runs the mixed workload under one page-allocator plugin reference. */
export async function runVariant(variant: string, pageAllocator: PluginRef, opts: { memory?: string; seed?: number; rounds?: number } = {}): Promise<VariantResult> {
  const sim = await createSimulator({ machine: { memory: opts.memory ?? '512M', cpus: 2 }, plugins: { pageAllocator }, seed: opts.seed ?? 1 });
  const r = new Random(opts.seed ?? 1);
  const kernel: number[] = [];
  const user: number[] = [];
  const managed = sim.topology.totalManagedPages;
  // fill: 1 unmovable page for every 15 movable ones, up to ~90% of memory
  for (let i = 0; i < managed * 0.9; i++) {
    const unmovable = r.below(16) === 0;
    const pfn = sim.pages.allocPages(unmovable ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE, 0, { cpu: r.below(2) });
    if (pfn === null) break;
    (unmovable ? kernel : user).push(pfn);
  }
  // churn: free random pages, allocate again, for a few rounds
  for (let round = 0; round < (opts.rounds ?? 4); round++) {
    for (let i = 0; i < user.length / 4; i++) {
      const j = r.below(user.length);
      sim.pages.freePages(user[j]!, 0);
      user[j] = user[user.length - 1]!;
      user.pop();
    }
    for (let i = 0; i < kernel.length / 4; i++) {
      const j = r.below(kernel.length);
      sim.pages.freePages(kernel[j]!, 0);
      kernel[j] = kernel[kernel.length - 1]!;
      kernel.pop();
    }
    const refill = managed * 0.2;
    for (let i = 0; i < refill; i++) {
      const unmovable = r.below(16) === 0;
      const pfn = sim.pages.allocPages(unmovable ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE, 0, { cpu: r.below(2) });
      if (pfn === null) break;
      (unmovable ? kernel : user).push(pfn);
    }
  }
  // the user pages go away (process exit); kernel pages stay
  for (const pfn of user) sim.pages.freePages(pfn, 0);
  sim.pages.drainAllPages();
  let freeHighOrderBlocks = 0;
  let freePages = 0;
  for (const z of sim.topology.populatedZones) {
    freePages += z.stats.nrFreePages;
    for (let o = 9; o <= sim.pages.maxOrder; o++) freeHighOrderBlocks += sim.pages.freeBlocks(z, o) << (o - 9);
  }
  const buddyinfo = sim.proc('buddyinfo');
  let hugeAllocs = 0;
  while (sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 9) !== null) hugeAllocs++;
  sim.dispose();
  return { variant, freeHighOrderBlocks, freePages, hugeAllocs, buddyinfo };
}

/** Both variants on the same workload. */
export async function compareMobilityGrouping(opts: { memory?: string; seed?: number } = {}): Promise<VariantResult[]> {
  return [
    await runVariant('mobility grouping on', { use: 'buddy', options: { mobilityGrouping: true } }, opts),
    await runVariant('mobility grouping off', { use: 'buddy', options: { mobilityGrouping: false } }, opts),
  ];
}
