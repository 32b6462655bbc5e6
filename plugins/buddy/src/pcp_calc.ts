/**
 * Per-CPU page list sizing (mm/page_alloc.c zone_batchsize), with the
 * variants Linux went through. The per-CPU lists themselves belong to the
 * page allocator; the boot report prints the batch as `LIFO batch:N`.
 * @module
 */
import { DEFAULT_KERNEL, kernelAtLeast, PAGE_SIZE } from '@mmsim/core';

/** MIN_PERCPU_PAGELIST_HIGH_FRACTION: the high_max fraction of auto-tuned pcp lists. */
export const MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;

/** The page counts of a zone zone_batchsize() reads. */
export interface ZoneBatchInput {
  /** zone_managed_pages(zone) at the time the batch is computed. */
  managedPages: number;
  /** zone->present_pages. */
  presentPages: number;
}

/** rounddown_pow_of_two() */
function rounddownPowOfTwo(n: number): number {
  return n < 1 ? 0 : 2 ** Math.floor(Math.log2(n));
}

/**
 * Bytes one batch may hold before the /4: 512 KiB until 4.19 ("But no
 * more than 1/2 of a meg"), 1 MiB from 4.19 on (commit "mm, page_alloc:
 * double zone's batchsize").
 */
export function pcpBatchCapBytes(kernel: string = DEFAULT_KERNEL): number {
  return kernelAtLeast(kernel, '4.19') ? 1024 * 1024 : 512 * 1024;
}

/**
 * zone_batchsize(): about a thousandth of the zone, capped (see
 * {@link pcpBatchCapBytes}), divided by four, clamped to 2^n - 1.
 * Before 3.10 it read present_pages, later managed_pages.
 */
export function zoneBatchsize(zone: ZoneBatchInput, kernel: string = DEFAULT_KERNEL, pageSize: number = PAGE_SIZE): number {
  const pages = kernelAtLeast(kernel, '3.10') ? zone.managedPages : zone.presentPages;
  let batch = Math.floor(pages / 1024);
  const cap = Math.floor(pcpBatchCapBytes(kernel) / pageSize);
  if (batch > cap) batch = cap;
  batch = Math.floor(batch / 4); // "We effectively *= 4 below"
  if (batch < 1) batch = 1;
  // a 2^n - 1 value: power-of-two batches alias badly in the cache
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
  if (!kernelAtLeast(kernel, '5.14')) return 6 * batch; // pageset_set_batch()
  batch = Math.max(1, batch);
  const total = highFraction ? Math.floor(managedPages / highFraction) : lowWmark;
  const high = Math.floor(total / Math.max(1, nrSplitCpus));
  return Math.max(high, batch << 2);
}
