/**
 * Pure formulas of the zone watermarks and reserves (mm/page_alloc.c:
 * calculate_min_free_kbytes, __setup_per_zone_wmarks,
 * setup_per_zone_lowmem_reserve), so that tests and tools can compute what
 * the kernel would without booting a simulator. The page allocator applies
 * them to its zones.
 * @module
 */
import { kernelAtLeast } from '@mmsim/core';

/** SWAP_CLUSTER_MAX: the floor of a highmem/movable zone's min watermark. */
const SWAP_CLUSTER_MAX = 32;

/**
 * Which watermark formula: `scale-factor` is Linux ≥ 4.6 (low and high are
 * min plus max(min/4, managed × watermark_scale_factor / 10000), promo one
 * step above high); `classic` is the 2.6-era rule low = min × 5/4,
 * high = min × 3/2 (promo = high).
 */
export type WatermarkFormula = 'scale-factor' | 'classic';

/** int_sqrt(): the exact floor of the square root. */
function intSqrt(x: number): number {
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/** mult_frac(x, n, d): x × n / d without overflowing the intermediate product. */
export function multFrac(x: number, n: number, d: number): number {
  const q = Math.floor(x / d);
  const r = x % d;
  return q * n + Math.floor((r * n) / d);
}

/**
 * The upper clamp of the computed min_free_kbytes: 256 MiB since Linux 5.7
 * ("increase default min_free_kbytes bound"), 64 MiB before.
 */
export function minFreeKbytesMax(kernel = '6.12'): number {
  return kernelAtLeast(kernel, '5.7') ? 262144 : 65536;
}

/**
 * calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes × 16) clamped to
 * 128 .. {@link minFreeKbytesMax}. `lowmemKbytes` is nr_free_buffer_pages()
 * in kB (managed pages of the zones GFP_USER may use, less their high
 * watermarks).
 */
export function calculateMinFreeKbytes(lowmemKbytes: number, kernel = '6.12'): number {
  const v = intSqrt(lowmemKbytes * 16);
  return Math.min(Math.max(v, 128), minFreeKbytesMax(kernel));
}

/** What one zone contributes to the watermark computation. */
export interface WatermarkZone {
  /** zone_managed_pages() */
  managedPages: number;
  /** is_highmem(zone) || zone_idx(zone) == ZONE_MOVABLE: capped min, not part of lowmem_pages. */
  highmem: boolean;
}

/** _watermark[] of one zone. */
export interface ZoneWatermarks {
  min: number;
  low: number;
  high: number;
  promo: number;
}

/**
 * __setup_per_zone_wmarks(): splits min_free_kbytes over the lowmem zones in
 * proportion to their managed pages; a highmem/movable zone gets
 * managed/1024 clamped to 32..128 as min. The kswapd distance (low − min,
 * high − low) is max(tmp/4, managed × watermark_scale_factor / 10000),
 * where tmp is the zone's proportional share (also for highmem zones).
 * `classic`: low = min + tmp/4, high = min + tmp/2.
 */
export function setupPerZoneWmarks(
  zones: readonly WatermarkZone[],
  minFreeKbytes: number,
  watermarkScaleFactor = 10,
  formula: WatermarkFormula = 'scale-factor',
): ZoneWatermarks[] {
  const pagesMin = Math.floor(minFreeKbytes / 4); // >> (PAGE_SHIFT - 10)
  let lowmemPages = 0;
  for (const z of zones) if (!z.highmem) lowmemPages += z.managedPages;
  return zones.map((z) => {
    // (u64)pages_min * managed / lowmem_pages; BigInt keeps the product exact
    const tmp = lowmemPages > 0 ? Number((BigInt(pagesMin) * BigInt(z.managedPages)) / BigInt(lowmemPages)) : 0;
    let min: number;
    if (z.highmem) {
      min = Math.min(Math.max(Math.floor(z.managedPages / 1024), SWAP_CLUSTER_MAX), 128);
    } else {
      min = tmp;
    }
    if (formula === 'classic') {
      const low = min + (tmp >> 2);
      const high = min + (tmp >> 1);
      return { min, low, high, promo: high };
    }
    const gap = Math.max(Math.floor(tmp / 4), multFrac(z.managedPages, watermarkScaleFactor, 10000));
    return { min, low: min + gap, high: min + 2 * gap, promo: min + 3 * gap };
  });
}

/**
 * setup_per_zone_lowmem_reserve() for one node: `managed[i]` are the managed
 * pages of zone index i (every configured zone, empty ones too), `ratios`
 * vm.lowmem_reserve_ratio. Entry [i][j] is how many pages zone i keeps from
 * allocations that could have used zone j > i: the managed pages of zones
 * i+1..j divided by ratio[i]; 0 when the ratio is 0 or zone i manages no
 * pages, and 0 for j ≤ i.
 */
export function setupPerZoneLowmemReserve(managed: readonly number[], ratios: readonly number[]): number[][] {
  const n = managed.length;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(n).fill(0);
    const ratio = ratios[i] ?? 0;
    const clear = !ratio || !managed[i];
    let sum = 0;
    for (let j = i + 1; j < n; j++) {
      sum += managed[j]!;
      row[j] = clear ? 0 : Math.floor(sum / ratio);
    }
    out.push(row);
  }
  return out;
}
