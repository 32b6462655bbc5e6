/**
 * Watermarks and reserves (mm/page_alloc.c): init_per_zone_wmark_min →
 * calculate_min_free_kbytes, __setup_per_zone_wmarks,
 * setup_per_zone_lowmem_reserve, zone_pcp_update; the sysctl handlers that
 * recompute them; and the watermark check itself (__zone_watermark_ok,
 * zone_watermark_fast).
 * @module
 */
import {
  ALLOC_CMA, ALLOC_HIGHATOMIC, ALLOC_MIN_RESERVE, ALLOC_NON_BLOCK, ALLOC_OOM, ALLOC_RESERVES, ALLOC_WMARK_MASK,
  kernelAtLeast, MIGRATE_TYPES, MigrateType, NO_PAGE, PAGE_SHIFT, NR_PAGE_ORDERS, type Sysctl, type Topology, WMARK_MIN, ZoneType,
} from '@mmsim/core';
import { PCPF_FREE_HIGH_BATCH, type ZoneState } from './mmzone.js';
import { MIN_PERCPU_PAGELIST_HIGH_FRACTION, zoneBatchsize, zoneHighsize } from './pcp_calc.js';
import { calculateMinFreeKbytes, setupPerZoneLowmemReserve, setupPerZoneWmarks, type WatermarkFormula } from './watermark_calc.js';

/** What the watermark setup works on. */
export interface WatermarkHost {
  readonly topology: Topology;
  readonly sysctl: Sysctl;
  /** Allocator state of each populated zone, by Zone. */
  zoneState(zone: import('@mmsim/core').Zone): ZoneState | undefined;
  readonly kernelVersion: string;
  readonly formula: WatermarkFormula;
}

/** nr_free_zone_pages(gfp_zone(GFP_USER)): managed pages above the high watermark of zones up to ZONE_NORMAL. */
export function nrFreeBufferPages(h: WatermarkHost): number {
  const normal = h.topology.zoneIndex(ZoneType.NORMAL);
  let sum = 0;
  for (const z of h.topology.zones) {
    if (z.idx > normal || !z.populated) continue;
    const high = z.watermark[2]!;
    if (z.managedPages > high) sum += z.managedPages - high;
  }
  return sum;
}

/** __setup_per_zone_wmarks() over every zone of the machine, then zone_pcp_update(). */
export function setupPerZoneWmarksAll(h: WatermarkHost): void {
  const zones = h.topology.zones;
  const marks = setupPerZoneWmarks(
    zones.map((z) => ({ managedPages: z.populated ? z.managedPages : 0, highmem: z.type === ZoneType.HIGHMEM || z.type === ZoneType.MOVABLE })),
    h.sysctl.get('vm.min_free_kbytes'),
    h.sysctl.get('vm.watermark_scale_factor'),
    h.formula,
  );
  zones.forEach((z, i) => {
    const m = marks[i]!;
    z.watermark[0] = m.min;
    z.watermark[1] = m.low;
    z.watermark[2] = m.high;
    z.watermark[3] = m.promo;
    const zs = h.zoneState(z);
    if (zs) {
      zs.wmarkMin = m.min;
      zs.wmarkLow = m.low;
      zs.wmarkHigh = m.high;
      zs.wmarkPromo = m.promo;
      zs.boost = 0;
    }
  });
  for (const z of zones) {
    const zs = h.zoneState(z);
    if (zs) zonePcpUpdate(h, zs);
  }
}

/** setup_per_zone_lowmem_reserve() for every node. */
export function setupLowmemReserveAll(h: WatermarkHost): void {
  const ratios = h.sysctl.get('vm.lowmem_reserve_ratio');
  for (const node of h.topology.nodes) {
    const reserve = setupPerZoneLowmemReserve(node.zones.map((z) => (z.populated ? z.managedPages : 0)), ratios);
    node.zones.forEach((z, i) => {
      z.lowmemReserve = reserve[i]!;
      const zs = h.zoneState(z);
      if (zs) zs.lowmemReserve.set(reserve[i]!.slice(0, zs.lowmemReserve.length));
    });
  }
}

/**
 * zone_set_pageset_high_and_batch(): batch from the zone size; high_min
 * from the low watermark over the node's CPUs, high_max from managed/8
 * (both the manual value when vm.percpu_pagelist_high_fraction is set).
 */
export function zonePcpUpdate(h: WatermarkHost, zs: ZoneState): void {
  const v = h.kernelVersion;
  const managed = zs.zone.managedPages;
  const raw = zoneBatchsize({ managedPages: managed, presentPages: zs.zone.presentPages }, v);
  const batch = Math.max(1, raw);
  const node = h.topology.nodes.find((n) => n.nid === zs.nid)!;
  const split = node.cpus.length || h.topology.nrCpus;
  const fraction = h.sysctl.get('vm.percpu_pagelist_high_fraction');
  let highMin: number;
  let highMax: number;
  if (!kernelAtLeast(v, '6.7')) {
    highMin = highMax = zoneHighsize(managed, zs.wmarkLow, raw, split, kernelAtLeast(v, '5.14') ? fraction : 0, v);
  } else if (fraction) {
    highMin = highMax = zoneHighsize(managed, zs.wmarkLow, raw, split, fraction, v);
  } else {
    highMin = zoneHighsize(managed, zs.wmarkLow, raw, split, 0, v);
    highMax = zoneHighsize(managed, zs.wmarkLow, raw, split, MIN_PERCPU_PAGELIST_HIGH_FRACTION, v);
  }
  zs.pagesetBatch = batch;
  zs.pagesetHighMin = highMin;
  zs.pagesetHighMax = highMax;
  // while offlining holds pcp_batch_high_lock, zone_pcp_enable() applies the new values
  if (zs.pcpDisabled) return;
  for (const pcp of zs.pcp) {
    if (!pcp) continue;
    pcp.batch = batch;
    pcp.highMin = highMin;
    pcp.highMax = highMax;
    // the next list operation clamps pcp->high into [high_min, high_max]
    pcp.high = Math.min(Math.max(pcp.high, highMin), highMax);
    // zone_pcp_update_cacheinfo(): does this CPU's share of its LLC (per_cpu_data_slice_size:
    // the LLC over the CPUs sharing it, those of the CPU's own node) hold more than 3 batches?
    const llc = h.topology.layout.llcBytes;
    const sharing = llc === undefined ? 0 : (h.topology.nodes.find((n) => n.cpus.includes(pcp.cpu))?.cpus.length ?? 0);
    const slicePages = sharing ? Math.floor(llc! / sharing / 2 ** PAGE_SHIFT) : 0;
    if (kernelAtLeast(v, '6.7') && slicePages > 3 * batch) pcp.flags |= PCPF_FREE_HIGH_BATCH;
    else pcp.flags &= ~PCPF_FREE_HIGH_BATCH;
  }
}

/**
 * init_per_zone_wmark_min(): min_free_kbytes from the lowmem size (unless
 * the user set vm.min_free_kbytes), then watermarks, pcp sizes and
 * lowmem_reserve.
 */
export function initPerZoneWmarkMin(h: WatermarkHost): void {
  if (!h.sysctl.isUserSet('vm.min_free_kbytes')) {
    h.sysctl.setComputed('vm.min_free_kbytes', calculateMinFreeKbytes(nrFreeBufferPages(h) * 4, h.kernelVersion));
  }
  setupPerZoneWmarksAll(h);
  setupLowmemReserveAll(h);
}

/** __zone_watermark_unusable_free() */
function unusableFree(zs: ZoneState, order: number, allocFlags: number): number {
  let unusable = (1 << order) - 1;
  if (!(allocFlags & ALLOC_RESERVES)) unusable += zs.nrFreeHighatomic;
  if (!(allocFlags & ALLOC_CMA)) unusable += zs.nrFreeCma;
  return unusable;
}

/**
 * __zone_watermark_ok(): free pages (less what this request may not use)
 * above `mark` + lowmem_reserve[highestIdx], after the reserve reductions
 * (ALLOC_MIN_RESERVE halves the min, ALLOC_NON_BLOCK takes a further
 * quarter, ALLOC_OOM halves again); for order > 0 also a free block of at
 * least that order on a list the request may use.
 */
export function zoneWatermarkOkFree(zs: ZoneState, order: number, mark: number, highestIdx: number, allocFlags: number, freePages: number): boolean {
  let min = mark;
  freePages -= unusableFree(zs, order, allocFlags);
  if (allocFlags & ALLOC_RESERVES) {
    if (allocFlags & ALLOC_MIN_RESERVE) {
      min -= Math.floor(min / 2);
      if (allocFlags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
    }
    if (allocFlags & ALLOC_OOM) min -= Math.floor(min / 2);
  }
  if (freePages <= min + zs.lowmemReserve[highestIdx]!) return false;
  if (!order) return true;
  for (let o = order; o < NR_PAGE_ORDERS; o++) {
    if (!zs.nrFree[o]) continue;
    const base = o * MIGRATE_TYPES;
    if (zs.freeHead[base + MigrateType.UNMOVABLE] !== NO_PAGE || zs.freeHead[base + MigrateType.MOVABLE] !== NO_PAGE || zs.freeHead[base + MigrateType.RECLAIMABLE] !== NO_PAGE) return true;
    if (allocFlags & ALLOC_CMA && zs.freeHead[base + MigrateType.CMA] !== NO_PAGE) return true;
    if (allocFlags & (ALLOC_HIGHATOMIC | ALLOC_OOM) && zs.freeHead[base + MigrateType.HIGHATOMIC] !== NO_PAGE) return true;
  }
  return false;
}

/** zone_watermark_ok() */
export function zoneWatermarkOk(zs: ZoneState, order: number, mark: number, highestIdx: number, allocFlags: number): boolean {
  return zoneWatermarkOkFree(zs, order, mark, highestIdx, allocFlags, zs.stats.nrFreePages);
}

/**
 * zone_watermark_fast(): the order-0 shortcut, the full check, and the
 * boost exception for __GFP_HIGH order-0 requests at the min watermark.
 */
export function zoneWatermarkFast(zs: ZoneState, order: number, mark: number, highestIdx: number, allocFlags: number): boolean {
  if (!order) {
    // kept small so that it inlines into the allocation fast path; the rest is zoneWatermarkFastFull
    const free = zs.stats.nrFreePages;
    const reserved = (allocFlags & ALLOC_RESERVES ? 0 : zs.nrFreeHighatomic) + (allocFlags & ALLOC_CMA ? 0 : zs.nrFreeCma);
    if (free - Math.min(free, reserved) > mark + zs.lowmemReserve[highestIdx]!) return true;
  }
  return zoneWatermarkFastFull(zs, order, mark, highestIdx, allocFlags);
}

/** zone_watermark_fast() past its order-0 shortcut: the full check, then the __GFP_HIGH boost exception. */
function zoneWatermarkFastFull(zs: ZoneState, order: number, mark: number, highestIdx: number, allocFlags: number): boolean {
  const free = zs.stats.nrFreePages;
  if (zoneWatermarkOkFree(zs, order, mark, highestIdx, allocFlags, free)) return true;
  if (!order && allocFlags & ALLOC_MIN_RESERVE && zs.boost && (allocFlags & ALLOC_WMARK_MASK) === WMARK_MIN) {
    return zoneWatermarkOkFree(zs, order, zs.wmarkMin, highestIdx, allocFlags, free);
  }
  return false;
}

/** wmark_pages(zone, i): the watermark plus the boost. */
export function wmarkPages(zs: ZoneState, i: number): number {
  switch (i) {
    case 0:
      return zs.wmarkMin + zs.boost;
    case 1:
      return zs.wmarkLow + zs.boost;
    case 2:
      return zs.wmarkHigh + zs.boost;
    default:
      return zs.wmarkPromo + zs.boost;
  }
}
