/**
 * The allocator's side of reclaim (mm/vmscan.c): kswapd (wakeup_kswapd,
 * balance_pgdat, run synchronously when woken), direct reclaim
 * (try_to_free_pages) and node reclaim (vm.zone_reclaim_mode). Which pages
 * go is the RECLAIM_POLICY's choice and their owners free them: all of it
 * through Kernel.shrinkNode().
 * @module
 */
import { DEF_PRIORITY, GFP_KERNEL, LruList, scanControl, __GFP_DIRECT_RECLAIM } from '@mmsim/core';
import { wakeupKcompactd } from './compaction.js';
import { MAX_RECLAIM_RETRIES, type ZoneState } from './mmzone.js';
import type { AllocContext, BuddyAllocator } from './page_alloc.js';
import { zoneWatermarkOk } from './watermark.js';

/** SWAP_CLUSTER_MAX */
export const SWAP_CLUSTER_MAX = 32;
/** NODE_RECLAIM_PRIORITY */
export const NODE_RECLAIM_PRIORITY = 4;
/** node_reclaim() results. */
export const NODE_RECLAIM_NOSCAN = -2;
export const NODE_RECLAIM_FULL = -1;
export const NODE_RECLAIM_SOME = 0;
export const NODE_RECLAIM_SUCCESS = 1;
/** vm.zone_reclaim_mode bits. */
export const RECLAIM_ZONE = 1;
export const RECLAIM_WRITE = 2;
export const RECLAIM_UNMAP = 4;

/** The pglist_data fields of reclaim and compaction daemons. */
export class NodeState {
  /** kswapd_order / kswapd_highest_zoneidx (-1: MAX_NR_ZONES, nothing requested). */
  kswapdOrder = 0;
  kswapdHighestZoneidx = -1;
  kswapdFailures = 0;
  kswapdRunning = false;
  kcompactdMaxOrder = 0;
  kcompactdHighestZoneidx: number;
  kcompactdRunning = false;
  /** PGDAT_RECLAIM_LOCKED */
  reclaimLocked = false;
  constructor(readonly nrZones: number) {
    this.kcompactdHighestZoneidx = nrZones - 1;
  }
}

function nodeZones(a: BuddyAllocator, nid: number): ZoneState[] {
  return a.zoneStates.filter((zs) => zs.nid === nid);
}

/** zone_reclaimable_pages(): the zone's file LRU, and anon LRU when swap has room. */
export function zoneReclaimablePages(a: BuddyAllocator, zs: ZoneState): number {
  const sizes = a.kernel.reclaim.zoneLruSizes?.(zs.nid, zs.idx);
  if (!sizes) return 0;
  let n = sizes[LruList.INACTIVE_FILE]! + sizes[LruList.ACTIVE_FILE]!;
  if (a.kernel.swap.free > 0) n += sizes[LruList.INACTIVE_ANON]! + sizes[LruList.ACTIVE_ANON]!;
  return n;
}

/** pgdat_balanced(): some eligible zone meets its high watermark (boost included) for `order`. */
export function pgdatBalanced(a: BuddyAllocator, nid: number, order: number, hz: number): boolean {
  let any = false;
  for (const zs of nodeZones(a, nid)) {
    if (zs.idx > hz || !zs.zone.managedPages) continue;
    any = true;
    if (zoneWatermarkOk(zs, order, zs.wmarkHigh + zs.boost, hz, 0)) return true;
  }
  return !any;
}

/** pgdat_watermark_boosted() */
function pgdatWatermarkBoosted(a: BuddyAllocator, nid: number, hz: number): boolean {
  return nodeZones(a, nid).some((zs) => zs.idx <= hz && zs.zone.managedPages && zs.boost);
}

/**
 * wakeup_kswapd(): records the order and zone kswapd should balance for;
 * a node that is balanced (and not boosted) wakes kcompactd instead for
 * a non-blocking high-order request. kswapd then runs at once.
 */
export function wakeupKswapd(a: BuddyAllocator, zs: ZoneState, gfp: number, order: number, hz: number): void {
  if (!zs.zone.managedPages) return;
  const pg = a.pgdat[zs.nid]!;
  if (pg.kswapdHighestZoneidx === -1 || pg.kswapdHighestZoneidx < hz) pg.kswapdHighestZoneidx = hz;
  if (pg.kswapdOrder < order) pg.kswapdOrder = order;
  if (!a.options.kswapd || pg.kswapdRunning) return; // no kswapd waiting on the queue
  if (pg.kswapdFailures >= MAX_RECLAIM_RETRIES || (pgdatBalanced(a, zs.nid, order, hz) && !pgdatWatermarkBoosted(a, zs.nid, hz))) {
    if (!(gfp & __GFP_DIRECT_RECLAIM)) wakeupKcompactd(a, zs.nid, order, hz);
    return;
  }
  if (a.events.enabled.mm_vmscan_wakeup_kswapd) a.events.emit('mm_vmscan_wakeup_kswapd', { nid: zs.nid, zid: hz, order, gfp_flags: gfp });
  kswapd(a, zs.nid);
}

/** kswapd(): balance the node for what was requested, then try to sleep (waking kcompactd); again if woken meanwhile. */
export function kswapd(a: BuddyAllocator, nid: number): void {
  const pg = a.pgdat[nid]!;
  pg.kswapdRunning = true;
  a.pfMemalloc++;
  try {
    for (let round = 0; round < MAX_RECLAIM_RETRIES && pg.kswapdHighestZoneidx !== -1; round++) {
      const allocOrder = pg.kswapdOrder;
      const hz = pg.kswapdHighestZoneidx;
      pg.kswapdOrder = 0;
      pg.kswapdHighestZoneidx = -1;
      if (a.events.enabled.mm_vmscan_kswapd_wake) a.events.emit('mm_vmscan_kswapd_wake', { nid, zid: hz, order: allocOrder });
      const reclaimOrder = balancePgdat(a, nid, allocOrder, hz);
      // kswapd_try_to_sleep() → prepare_kswapd_sleep()
      if (pg.kswapdFailures >= MAX_RECLAIM_RETRIES || pgdatBalanced(a, nid, reclaimOrder, hz)) {
        for (const zs of nodeZones(a, nid)) {
          if (zs.compactBlockskipFlush) {
            zs.pageblockSkip.fill(0); // reset_isolation_suitable()
            zs.compactBlockskipFlush = false;
          }
        }
        wakeupKcompactd(a, nid, allocOrder, hz);
        if (a.events.enabled.mm_vmscan_kswapd_sleep) a.events.emit('mm_vmscan_kswapd_sleep', { nid });
      } else if (pg.kswapdHighestZoneidx === -1) {
        // not balanced: kswapd goes round again at once
        pg.kswapdOrder = reclaimOrder;
        pg.kswapdHighestZoneidx = hz;
      }
    }
  } finally {
    a.pfMemalloc--;
    pg.kswapdRunning = false;
  }
}

/**
 * balance_pgdat(): reclaim from DEF_PRIORITY down until a zone up to `hz`
 * meets its high watermark; a boosted watermark is reclaimed for first
 * (without writeback or swap). Each round asks for
 * Σ max(high, SWAP_CLUSTER_MAX) pages at one priority. Clears the boosts it
 * found and wakes kcompactd for a pageblock. Returns the order balanced for.
 */
export function balancePgdat(a: BuddyAllocator, nid: number, order: number, hz: number): number {
  const pg = a.pgdat[nid]!;
  const zones = nodeZones(a, nid).filter((zs) => zs.idx <= hz && zs.zone.managedPages);
  a.ev.pageoutrun = (a.ev.pageoutrun ?? 0) + 1;
  const zoneBoosts = zones.map((zs) => zs.boost);
  let nrBoostReclaim = zoneBoosts.reduce((s, b) => s + b, 0);
  const boosted = nrBoostReclaim > 0;
  let total = 0;
  let scOrder = order;
  restart: for (;;) {
    for (const zs of zones) zs.reclaimActive = true;
    let prio = DEF_PRIORITY;
    do {
      const balanced = pgdatBalanced(a, nid, scOrder, hz);
      if (!balanced && nrBoostReclaim) {
        nrBoostReclaim = 0;
        continue restart;
      }
      if (!nrBoostReclaim && balanced) break restart;
      let raise = !(nrBoostReclaim && prio === DEF_PRIORITY - 2);
      let mayWriteback = !nrBoostReclaim;
      if (prio < DEF_PRIORITY - 2) mayWriteback = true;
      // kswapd_shrink_node()
      let nrToReclaim = 0;
      for (const zs of zones) nrToReclaim += Math.max(zs.wmarkHigh + zs.boost, SWAP_CLUSTER_MAX);
      const sc = scanControl({ nrToReclaim, gfpMask: GFP_KERNEL, order: scOrder, priority: prio, nid, reclaimIdx: hz, mayUnmap: true, maySwap: !nrBoostReclaim, mayWriteback, kswapd: true });
      const freed = a.kernel.shrinkNode(sc, prio);
      if (freed > 0) pg.kswapdFailures = 0;
      if (scOrder && freed >= 2 << scOrder) scOrder = 0;
      if (Math.max(sc.nrScanned, freed) >= nrToReclaim) raise = false;
      total += freed;
      nrBoostReclaim -= Math.min(nrBoostReclaim, freed);
      if (nrBoostReclaim && !freed) break;
      if (raise || !freed) prio--;
    } while (prio >= 1);
    if (!total) pg.kswapdFailures++;
    break;
  }
  for (const zs of zones) zs.reclaimActive = false;
  if (boosted) {
    zones.forEach((zs, i) => (zs.boost -= Math.min(zs.boost, zoneBoosts[i]!)));
    wakeupKcompactd(a, nid, 9, hz);
  }
  return scOrder;
}

/**
 * try_to_free_pages() → do_try_to_free_pages(): SWAP_CLUSTER_MAX pages
 * from the nodes of the zonelist, priority by priority; a costly request
 * stops as soon as a zone is ready for compaction. Counts allocstall and
 * traces mm_vmscan_direct_reclaim_begin/end. Returns the pages freed.
 */
export function directReclaim(a: BuddyAllocator, gfp: number, order: number, ac: AllocContext): number {
  const ev = a.events;
  if (ev.enabled.mm_vmscan_direct_reclaim_begin) ev.emit('mm_vmscan_direct_reclaim_begin', { order, gfp_flags: gfp });
  a.allocstall[ac.highestIdx]! += 1;
  a.pfMemalloc++;
  let total = 0;
  try {
    const nodes: number[] = [];
    for (const zs of ac.zonelist) {
      if (zs.idx > ac.highestIdx || (ac.nodemask !== null && !ac.nodemask[zs.nid])) continue;
      if (!nodes.includes(zs.nid)) nodes.push(zs.nid);
    }
    if (order > 3 && a.options.compaction) {
      // compaction_ready(): enough free memory that compaction, not reclaim, will help
      const ready = ac.zonelist.some((zs) => zs.idx <= ac.highestIdx && (ac.nodemask === null || ac.nodemask[zs.nid]) && zoneWatermarkOk(zs, 0, zs.wmarkHigh + zs.boost + (2 << order), ac.highestIdx, 0));
      if (ready) return 1;
    }
    for (let prio = DEF_PRIORITY; prio >= 0 && total < SWAP_CLUSTER_MAX; prio--) {
      for (const nid of nodes) {
        const sc = scanControl({ nrToReclaim: SWAP_CLUSTER_MAX - total, gfpMask: gfp, order, priority: prio, nid, reclaimIdx: ac.highestIdx });
        const freed = a.kernel.shrinkNode(sc, prio);
        if (freed > 0) a.pgdat[nid]!.kswapdFailures = 0;
        total += freed;
        if (total >= SWAP_CLUSTER_MAX) break;
      }
    }
  } finally {
    a.pfMemalloc--;
    if (ev.enabled.mm_vmscan_direct_reclaim_end) ev.emit('mm_vmscan_direct_reclaim_end', { nr_reclaimed: total });
  }
  return total;
}

/**
 * node_reclaim(): with vm.zone_reclaim_mode set, reclaim on the allocating
 * node before falling back to another: 1 = clean page cache only, 2 = may
 * write dirty pages, 4 = may unmap and swap. Skipped (NOSCAN) for
 * non-blocking requests, from inside reclaim, for another node that has
 * CPUs, or while the node is already reclaiming; FULL when the node holds
 * no more reclaimable page cache than vm.min_unmapped_ratio and slab than
 * vm.min_slab_ratio allow.
 */
export function nodeReclaim(a: BuddyAllocator, nid: number, gfp: number, order: number, hz: number, localNid: number): number {
  const mode = a.sysctl.get('vm.zone_reclaim_mode');
  const node = a.topology.nodes.find((n) => n.nid === nid)!;
  const managed = node.zones.reduce((s, z) => s + (z.populated ? z.managedPages : 0), 0);
  const lru = a.kernel.reclaim.lruSizes(nid);
  let pagecache = lru[LruList.INACTIVE_FILE]! + lru[LruList.ACTIVE_FILE]!;
  if (!(mode & RECLAIM_UNMAP)) pagecache = Math.max(0, pagecache - (a.topology.nodes.length === 1 ? a.kernel.vmstat.nr_mapped ?? 0 : 0));
  if (!(mode & RECLAIM_WRITE)) pagecache = Math.max(0, pagecache - (a.topology.nodes.length === 1 ? a.kernel.vmstat.nr_dirty ?? 0 : 0));
  const minUnmapped = Math.floor((managed * a.sysctl.get('vm.min_unmapped_ratio')) / 100);
  const minSlab = Math.floor((managed * a.sysctl.get('vm.min_slab_ratio')) / 100);
  const slabReclaimable = nid === a.topology.nodes[0]!.nid ? a.kernel.slab.stats().reclaimablePages : 0;
  if (pagecache <= minUnmapped && slabReclaimable <= minSlab) return NODE_RECLAIM_FULL;
  if (!(gfp & __GFP_DIRECT_RECLAIM) || a.pfMemalloc > 0) return NODE_RECLAIM_NOSCAN;
  if (node.cpus.length > 0 && nid !== localNid) return NODE_RECLAIM_NOSCAN;
  const pg = a.pgdat[nid]!;
  if (pg.reclaimLocked) return NODE_RECLAIM_NOSCAN;
  pg.reclaimLocked = true;
  a.pfMemalloc++;
  const nrPages = 1 << order;
  let reclaimed = 0;
  try {
    for (let prio = NODE_RECLAIM_PRIORITY; prio >= 0 && reclaimed < nrPages; prio--) {
      const sc = scanControl({
        nrToReclaim: Math.max(nrPages, SWAP_CLUSTER_MAX), gfpMask: gfp, order, priority: prio, nid,
        reclaimIdx: hz, mayWriteback: (mode & (RECLAIM_WRITE | RECLAIM_UNMAP)) !== 0,
        mayUnmap: (mode & RECLAIM_UNMAP) !== 0, maySwap: (mode & RECLAIM_UNMAP) !== 0,
      });
      reclaimed += a.kernel.shrinkNode(sc, prio);
    }
  } finally {
    a.pfMemalloc--;
    pg.reclaimLocked = false;
  }
  const ok = reclaimed >= nrPages;
  const name = ok ? 'zone_reclaim_success' : 'zone_reclaim_failed';
  a.ev[name] = (a.ev[name] ?? 0) + 1;
  return ok ? NODE_RECLAIM_SUCCESS : NODE_RECLAIM_SOME;
}
