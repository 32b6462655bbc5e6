/**
 * Pure formulas of the per-CPU page lists' sizes (mm/page_alloc.c:
 * zone_batchsize, zone_highsize), as functions of a zone's managed pages
 * and the kernel version.
 * @module
 */
import { kernelVersionAtLeast } from './watermark.js';

/** MIN_PERCPU_PAGELIST_HIGH_FRACTION: the high_max fraction of auto-tuned pcp lists. */
export const MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;

/** rounddown_pow_of_two() */
function rounddownPowOfTwo(x: number): number {
  return x <= 0 ? 0 : 2 ** Math.floor(Math.log2(x));
}

/**
 * zone_batchsize(): about 0.1% of the zone or 1 MiB, whichever is smaller,
 * divided by 4 and clamped to 2^n − 1 (pages moved per pcp refill/drain).
 * Can be 0 for a tiny zone; the caller uses max(1, batch).
 */
export function zoneBatchsize(managedPages: number, _kernel = '6.12'): number {
  let batch = Math.min(Math.floor(managedPages / 1024), (1 << 20) / 4096);
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  return rounddownPowOfTwo(batch + Math.floor(batch / 2)) - 1;
}

/**
 * zone_highsize(): how many pages a CPU may keep on a zone's pcp lists.
 * Since 5.14 the zone's low watermark (or managed / high_fraction when
 * vm.percpu_pagelist_high_fraction is set) split over the CPUs local to
 * the zone's node, at least 4 × batch; before 5.14, 6 × batch.
 * `batch` is zone_batchsize() as returned (this applies max(1, batch) as
 * zone_set_pageset_high_and_batch does); `nrSplitCpus` is the node's CPU
 * count (all online CPUs for a CPU-less node).
 */
export function zoneHighsize(
  managedPages: number,
  lowWmark: number,
  batch: number,
  nrSplitCpus: number,
  highFraction = 0,
  kernel = '6.12',
): number {
  if (!kernelVersionAtLeast(kernel, '5.14')) return 6 * batch; // pageset_set_batch()
  batch = Math.max(1, batch);
  const total = highFraction ? Math.floor(managedPages / highFraction) : lowWmark;
  const high = Math.floor(total / Math.max(1, nrSplitCpus));
  return Math.max(high, batch << 2);
}
