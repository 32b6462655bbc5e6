/**
 * Example: compare page-allocator variants on one workload. The same seeded
 * mix of unmovable kernel allocations and movable user pages runs against
 * the buddy allocator with mobility grouping on and off; afterwards the user
 * pages are freed (the processes exit) and the free order-9 blocks — what a
 * huge page needs — are counted. Run: `node examples/variant-comparison/dist/index.js`.
 * @module mmsim-example-variant-comparison
 */
import { pathToFileURL } from 'node:url';
import { createSimulator, freeBlocksOfOrder, runMobilityWorkload } from '@mmsim/defconfig';

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

/** Runs the mixed workload (`ops` operations, seed `seed`) on one buddy variant. */
export async function runVariant(mobilityGrouping: boolean, ops = 300_000, seed = 1): Promise<VariantResult> {
  const sim = await createSimulator({ machine: { memory: '512M', cpus: 1 }, seed, plugins: { pageAllocator: { use: 'buddy', options: { mobilityGrouping } } } });
  // unmovable kernel allocations interleaved with movable user pages, freed in random order
  const w = runMobilityWorkload(sim, { ops, seed });
  const order9Before = freeBlocksOfOrder(sim, 9);
  w.releaseUser();
  const order9After = freeBlocksOfOrder(sim, 9);
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
