/**
 * Example: compare page-allocator variants on one workload. The same seeded
 * mix of unmovable kernel allocations and movable user pages runs against
 * the buddy allocator with mobility grouping on and off; afterwards the user
 * pages are freed (the processes exit) and the free order-9 blocks — what a
 * huge page needs — are counted. Run: `node examples/variant-comparison/dist/index.js`.
 * @module mmsim-example-variant-comparison
 */
import { pathToFileURL } from 'node:url';
import { createSimulator, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, Random, type Simulator } from '@mmsim/core';

/** What one variant left behind. */
export interface VariantResult {
  variant: string;
  /** Free order-9 blocks (an order-10 block counts two) at the end of the workload. */
  order9Before: number;
  /** ... after the movable user pages were freed. */
  order9After: number;
  /** debugfs extfrag/unusable_index for order 9 of the largest zone, after. */
  unusableOrder9: string;
}

function order9(sim: Simulator): number {
  sim.pages.drainAllPages();
  return sim.topology.populatedZones.reduce((s, z) => s + sim.pages.freeBlocks(z, 9) + 2 * sim.pages.freeBlocks(z, 10), 0);
}

/** Runs the mixed workload (`ops` operations, seed `seed`) on one buddy variant. */
export async function runVariant(mobilityGrouping: boolean, ops = 300_000, seed = 1): Promise<VariantResult> {
  const sim = await createSimulator({ machine: { memory: '512M', cpus: 1 }, seed, plugins: { pageAllocator: { use: 'buddy', options: { mobilityGrouping } } } });
  const r = new Random(seed);
  const target = Math.floor(sim.topology.totalManagedPages * 0.85);
  const kernel: [number, number][] = [];
  const user: number[] = [];
  let held = 0;
  const take = <T>(list: T[]): T => {
    const j = r.below(list.length);
    const x = list[j]!;
    list[j] = list[list.length - 1]!;
    list.pop();
    return x;
  };
  for (let i = 0; i < ops; i++) {
    if (held < target && r.below(100) < 75) {
      if (r.below(10) < 2) {
        const o = r.below(3);
        const p = sim.pages.allocPages(GFP_KERNEL, o);
        if (p !== null) {
          kernel.push([p, o]);
          held += 1 << o;
        }
      } else {
        const p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0);
        if (p !== null) {
          user.push(p);
          held++;
        }
      }
    } else if (r.below(10) < 2 && kernel.length) {
      const [p, o] = take(kernel);
      sim.pages.freePages(p, o);
      held -= 1 << o;
    } else if (user.length) {
      sim.pages.freePages(take(user), 0);
      held--;
    }
  }
  const order9Before = order9(sim);
  for (const p of user) sim.pages.freePages(p, 0);
  const order9After = order9(sim);
  const line = sim.proc('extfrag/unusable_index').trim().split('\n').at(-1)!;
  const result = { variant: `mobilityGrouping: ${mobilityGrouping}`, order9Before, order9After, unusableOrder9: line.trim().split(/\s+/)[4 + 9]! };
  sim.dispose();
  return result;
}

/** Both variants on the same workload. */
export async function compareMobilityGrouping(ops?: number, seed?: number): Promise<VariantResult[]> {
  return [await runVariant(true, ops, seed), await runVariant(false, ops, seed)];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await compareMobilityGrouping()) {
    console.log(`${r.variant.padEnd(24)} free order-9 blocks: ${String(r.order9Before).padStart(4)} while running, ${String(r.order9After).padStart(4)} after the user pages are freed (unusable_index order 9: ${r.unusableOrder9})`);
  }
}
