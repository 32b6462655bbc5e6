/**
 * The mm/vmstat.c views: /proc/zoneinfo, /proc/pagetypeinfo, /proc/vmstat
 * and the debugfs fragmentation indices (extfrag/extfrag_index,
 * extfrag/unusable_index), printed in the kernel's exact formats (Linux
 * 6.12, an x86_64 distribution config: NUMA, ZSMALLOC, SWAP, CMA,
 * COMPACTION, MIGRATION, TRANSPARENT_HUGEPAGE, HUGETLB, KSM, ZSWAP,
 * MEMORY_BALLOON). Counters the simulator does not model print 0. They read
 * the extension points' interfaces only; a page allocator that does not
 * implement the optional reporting methods shows zeros there.
 * @module
 */
import type { Kernel } from './kernel.js';
import { MIGRATE_TYPES, MIGRATETYPE_NAMES, ZoneType } from './gfp.js';
import { NR_PAGE_ORDERS, WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO } from './page-allocator.js';
import { LruList } from './reclaim.js';
import { totalReservePages } from './proc.js';
import type { Zone } from './topology.js';
import { calculateNormalThreshold } from './watermark.js';

/** pageblock_order on x86_64. */
const PAGEBLOCK_ORDER = 9;

/** enum zone_stat_item names. */
export const ZONE_STAT_ITEMS = [
  'nr_free_pages', 'nr_zone_inactive_anon', 'nr_zone_active_anon', 'nr_zone_inactive_file', 'nr_zone_active_file',
  'nr_zone_unevictable', 'nr_zone_write_pending', 'nr_mlock', 'nr_bounce', 'nr_zspages', 'nr_free_cma',
] as const;

/** enum numa_stat_item names. */
export const NUMA_STAT_ITEMS = ['numa_hit', 'numa_miss', 'numa_foreign', 'numa_interleave', 'numa_local', 'numa_other'] as const;

/** enum node_stat_item names (6.12). */
export const NODE_STAT_ITEMS = [
  'nr_inactive_anon', 'nr_active_anon', 'nr_inactive_file', 'nr_active_file', 'nr_unevictable', 'nr_slab_reclaimable',
  'nr_slab_unreclaimable', 'nr_isolated_anon', 'nr_isolated_file', 'workingset_nodes', 'workingset_refault_anon',
  'workingset_refault_file', 'workingset_activate_anon', 'workingset_activate_file', 'workingset_restore_anon',
  'workingset_restore_file', 'workingset_nodereclaim', 'nr_anon_pages', 'nr_mapped', 'nr_file_pages', 'nr_dirty',
  'nr_writeback', 'nr_writeback_temp', 'nr_shmem', 'nr_shmem_hugepages', 'nr_shmem_pmdmapped', 'nr_file_hugepages',
  'nr_file_pmdmapped', 'nr_anon_transparent_hugepages', 'nr_vmscan_write', 'nr_vmscan_immediate_reclaim', 'nr_dirtied',
  'nr_written', 'nr_throttled_written', 'nr_kernel_misc_reclaimable', 'nr_foll_pin_acquired', 'nr_foll_pin_released',
  'nr_kernel_stack', 'nr_page_table_pages', 'nr_sec_page_table_pages', 'nr_iommu_pages', 'nr_swapcached',
  'pgpromote_success', 'pgpromote_candidate', 'pgdemote_kswapd', 'pgdemote_direct', 'pgdemote_khugepaged',
] as const;

/** enum vm_stat_item names. */
const VM_STAT_ITEMS = ['nr_dirty_threshold', 'nr_dirty_background_threshold', 'nr_memmap_pages', 'nr_memmap_boot_pages'] as const;

/** TEXTS_FOR_ZONES() suffixes by zone type. */
const ZONE_SUFFIX: Record<string, string> = {
  [ZoneType.DMA]: 'dma', [ZoneType.DMA32]: 'dma32', [ZoneType.NORMAL]: 'normal', [ZoneType.HIGHMEM]: 'high',
  [ZoneType.MOVABLE]: 'movable', [ZoneType.DEVICE]: 'device',
};

/** enum vm_event_item names (6.12) for a machine with `zoneTypes`. */
export function vmEventNames(zoneTypes: readonly string[]): string[] {
  const zones = (p: string) => zoneTypes.map((t) => `${p}_${ZONE_SUFFIX[t] ?? t.toLowerCase()}`);
  return [
    'pgpgin', 'pgpgout', 'pswpin', 'pswpout', ...zones('pgalloc'), ...zones('allocstall'), ...zones('pgskip'),
    'pgfree', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pgfault', 'pgmajfault', 'pglazyfreed', 'pgrefill', 'pgreuse',
    'pgsteal_kswapd', 'pgsteal_direct', 'pgsteal_khugepaged', 'pgscan_kswapd', 'pgscan_direct', 'pgscan_khugepaged',
    'pgscan_direct_throttle', 'pgscan_anon', 'pgscan_file', 'pgsteal_anon', 'pgsteal_file', 'zone_reclaim_success',
    'zone_reclaim_failed', 'pginodesteal', 'slabs_scanned', 'kswapd_inodesteal', 'kswapd_low_wmark_hit_quickly',
    'kswapd_high_wmark_hit_quickly', 'pageoutrun', 'pgrotated', 'drop_pagecache', 'drop_slab', 'oom_kill',
    'numa_pte_updates', 'numa_huge_pte_updates', 'numa_hint_faults', 'numa_hint_faults_local', 'numa_pages_migrated',
    'pgmigrate_success', 'pgmigrate_fail', 'thp_migration_success', 'thp_migration_fail', 'thp_migration_split',
    'compact_migrate_scanned', 'compact_free_scanned', 'compact_isolated', 'compact_stall', 'compact_fail',
    'compact_success', 'compact_daemon_wake', 'compact_daemon_migrate_scanned', 'compact_daemon_free_scanned',
    'htlb_buddy_alloc_success', 'htlb_buddy_alloc_fail', 'cma_alloc_success', 'cma_alloc_fail',
    'unevictable_pgs_culled', 'unevictable_pgs_scanned', 'unevictable_pgs_rescued', 'unevictable_pgs_mlocked',
    'unevictable_pgs_munlocked', 'unevictable_pgs_cleared', 'unevictable_pgs_stranded', 'thp_fault_alloc',
    'thp_fault_fallback', 'thp_fault_fallback_charge', 'thp_collapse_alloc', 'thp_collapse_alloc_failed',
    'thp_file_alloc', 'thp_file_fallback', 'thp_file_fallback_charge', 'thp_file_mapped', 'thp_split_page',
    'thp_split_page_failed', 'thp_deferred_split_page', 'thp_underused_split_page', 'thp_split_pmd',
    'thp_scan_exceed_none_pte', 'thp_scan_exceed_swap_pte', 'thp_scan_exceed_share_pte', 'thp_split_pud',
    'thp_zero_page_alloc', 'thp_zero_page_alloc_failed', 'thp_swpout', 'thp_swpout_fallback', 'balloon_inflate',
    'balloon_deflate', 'balloon_migrate', 'swap_ra', 'swap_ra_hit', 'swpin_zero', 'swpout_zero', 'ksm_swpin_copy',
    'cow_ksm', 'zswpin', 'zswpout', 'zswpwb', 'direct_map_level2_splits', 'direct_map_level3_splits',
  ];
}

const LRU_ITEM: Record<string, LruList> = {
  nr_inactive_anon: LruList.INACTIVE_ANON, nr_active_anon: LruList.ACTIVE_ANON, nr_inactive_file: LruList.INACTIVE_FILE,
  nr_active_file: LruList.ACTIVE_FILE, nr_unevictable: LruList.UNEVICTABLE,
};

/**
 * node_page_state_pages() for one node. Counters the simulator keeps only
 * machine-wide (Kernel.vmstat, slab pages) are reported on node 0.
 */
function nodeStat(k: Kernel, nid: number, name: string, lru: readonly number[]): number {
  const l = LRU_ITEM[name];
  if (l !== undefined) return lru[l] ?? 0;
  if (nid !== k.topology.nodes[0]!.nid) return 0;
  if (name === 'nr_slab_reclaimable' || name === 'nr_slab_unreclaimable') {
    const s = k.slab.stats();
    return name === 'nr_slab_reclaimable' ? s.reclaimablePages : s.unreclaimablePages;
  }
  return k.vmstat[name] ?? 0;
}

/** zone_page_state() of one zone. */
function zoneStat(k: Kernel, z: Zone, name: string): number {
  switch (name) {
    case 'nr_free_pages':
      return z.stats.nrFreePages;
    case 'nr_free_cma':
      return k.pages.zoneInfo?.(z).nrFreeCma ?? 0;
    case 'nr_zone_inactive_anon':
    case 'nr_zone_active_anon':
    case 'nr_zone_inactive_file':
    case 'nr_zone_active_file':
    case 'nr_zone_unevictable': {
      const sizes = k.reclaim.zoneLruSizes?.(z.nid, z.idx);
      return sizes ? sizes[LRU_ITEM[name.replace('nr_zone_', 'nr_')]!]! : 0;
    }
    default:
      return 0;
  }
}

const pad = (s: string | number, w: number): string => String(s).padStart(w);

/** /proc/zoneinfo (zoneinfo_show_print), every zone of every node, empty ones too. */
export function showZoneinfo(k: Kernel): string {
  const cpus = k.topology.nodes.reduce((s, n) => s + n.cpus.length, 0);
  let out = '';
  for (const node of k.topology.nodes) {
    const lru = k.reclaim.lruSizes(node.nid);
    const first = node.zones.find((z) => z.populated);
    for (const z of node.zones) {
      out += `Node ${node.nid}, zone ${pad(z.name, 8)}`;
      if (z === first) {
        out += '\n  per-node stats';
        for (const n of NODE_STAT_ITEMS) out += `\n      ${n.padEnd(12)} ${nodeStat(k, node.nid, n, lru)}`;
      }
      const info = z.populated ? k.pages.zoneInfo?.(z) : undefined;
      out += `\n  pages free     ${z.stats.nrFreePages}`;
      out += `\n        boost    ${info?.boost ?? 0}`;
      out += `\n        min      ${z.watermark[WMARK_MIN]}`;
      out += `\n        low      ${z.watermark[WMARK_LOW]}`;
      out += `\n        high     ${z.watermark[WMARK_HIGH]}`;
      out += `\n        promo    ${z.watermark[WMARK_PROMO]}`;
      out += `\n        spanned  ${z.spannedPages}`;
      out += `\n        present  ${z.presentPages}`;
      out += `\n        managed  ${z.populated ? z.managedPages : 0}`;
      out += `\n        cma      ${info?.cmaPages ?? 0}`;
      const prot = node.zones.map((_, j) => z.lowmemReserve[j] ?? 0);
      out += `\n        protection: (${prot.join(', ')})`;
      if (!z.populated) {
        out += '\n';
        continue;
      }
      for (const n of ZONE_STAT_ITEMS) out += `\n      ${n.padEnd(12)} ${zoneStat(k, z, n)}`;
      for (const n of NUMA_STAT_ITEMS) out += `\n      ${n.padEnd(12)} ${z.numaStats[n]}`;
      out += '\n  pagesets';
      const threshold = calculateNormalThreshold(z.managedPages, cpus);
      for (const p of info?.pagesets ?? []) {
        out += `\n    cpu: ${p.cpu}\n              count: ${p.count}\n              high:  ${p.high}\n              batch: ${p.batch}`;
        out += `\n  vm stats threshold: ${threshold}`;
      }
      out += `\n  node_unreclaimable:  ${info?.nodeUnreclaimable ? 1 : 0}`;
      out += `\n  start_pfn:           ${z.zoneStartPfn}\n`;
    }
  }
  return out;
}

/**
 * /proc/pagetypeinfo (pagetypeinfo_show) for each node with memory: free
 * blocks per order and migrate type, then pageblocks per migrate type.
 */
export function showPagetypeinfo(k: Kernel): string {
  let out = '';
  for (const node of k.topology.nodes) {
    const zones = node.zones.filter((z) => z.populated);
    if (zones.length === 0) continue;
    out += `Page block order: ${PAGEBLOCK_ORDER}\nPages per block:  ${1 << PAGEBLOCK_ORDER}\n\n`;
    out += `${'Free pages count per migrate type at order'.padEnd(43)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${pad(o, 6)} `;
    out += '\n';
    for (const z of zones) {
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        out += `Node ${pad(node.nid, 4)}, zone ${pad(z.name, 8)}, type ${pad(MIGRATETYPE_NAMES[mt]!, 12)} `;
        for (let o = 0; o < NR_PAGE_ORDERS; o++) {
          const n = k.pages.freeBlocksByType(z, o, mt);
          // the kernel stops counting a list at 100000 entries
          out += n >= 100000 ? `>${pad(100000, 6)} ` : `${pad(n, 6)} `;
        }
        out += '\n';
      }
    }
    out += `\n${'Number of blocks type '.padEnd(23)}`;
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(MIGRATETYPE_NAMES[mt]!, 12)} `;
    out += '\n';
    for (const z of zones) {
      const counts = k.pages.pageblockCounts?.(z) ?? new Array<number>(MIGRATE_TYPES).fill(0);
      out += `Node ${node.nid}, zone ${pad(z.name, 8)} `;
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(counts[mt] ?? 0, 12)} `;
      out += '\n';
    }
  }
  return out;
}

/** struct contig_page_info (fill_contig_page_info) of a zone for `order`. */
export interface ContigPageInfo {
  freePages: number;
  freeBlocksTotal: number;
  freeBlocksSuitable: number;
}

/** fill_contig_page_info() from a zone's nr_free per order. */
export function contigPageInfo(nrFree: ArrayLike<number>, order: number): ContigPageInfo {
  const info = { freePages: 0, freeBlocksTotal: 0, freeBlocksSuitable: 0 };
  for (let o = 0; o < nrFree.length; o++) {
    const blocks = nrFree[o]!;
    info.freeBlocksTotal += blocks;
    info.freePages += blocks * 2 ** o;
    if (o >= order) info.freeBlocksSuitable += blocks * 2 ** (o - order);
  }
  return info;
}

/**
 * __fragmentation_index(): ×1000; towards 0 an order-`order` allocation
 * would fail for lack of memory, towards 1000 for fragmentation; −1000 when
 * it would succeed.
 */
export function fragmentationIndex(order: number, info: ContigPageInfo): number {
  if (!info.freeBlocksTotal) return 0;
  if (info.freeBlocksSuitable) return -1000;
  const requested = 2 ** order;
  return 1000 - Math.floor((1000 + Math.floor((info.freePages * 1000) / requested)) / info.freeBlocksTotal);
}

/** unusable_free_index(): ×1000, the share of free memory unusable for an order-`order` request. */
export function unusableFreeIndex(order: number, info: ContigPageInfo): number {
  if (info.freePages === 0) return 1000;
  return Math.floor(((info.freePages - info.freeBlocksSuitable * 2 ** order) * 1000) / info.freePages);
}

/** extfrag_for_order(): the percentage of free memory not in blocks of at least `order` (0 with nothing free). */
export function extfragForOrder(order: number, info: ContigPageInfo): number {
  if (info.freePages === 0) return 0;
  return Math.floor(((info.freePages - info.freeBlocksSuitable * 2 ** order) * 100) / info.freePages);
}

function nrFreeOf(k: Kernel, z: Zone): number[] {
  return Array.from({ length: NR_PAGE_ORDERS }, (_, o) => k.pages.freeBlocks(z, o));
}

/** %d.%03d of an index ×1000 as C prints it (the sign lives in the integer part only). */
function fmtIndex(index: number, width: number): string {
  const whole = Math.trunc(index / 1000);
  const frac = Math.abs(index % 1000);
  return `${pad(whole, width)}.${String(frac).padStart(3, '0')}`;
}

/** debugfs extfrag/unusable_index (unusable_show_print). */
export function showUnusableIndex(k: Kernel): string {
  let out = '';
  for (const z of k.topology.populatedZones) {
    const nr = nrFreeOf(k, z);
    out += `Node ${z.nid}, zone ${pad(z.name, 8)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${fmtIndex(unusableFreeIndex(o, contigPageInfo(nr, o)), 1)} `;
    out += '\n';
  }
  return out;
}

/** debugfs extfrag/extfrag_index (extfrag_show_print). */
export function showExtfragIndex(k: Kernel): string {
  let out = '';
  for (const z of k.topology.populatedZones) {
    const nr = nrFreeOf(k, z);
    out += `Node ${z.nid}, zone ${pad(z.name, 8)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${fmtIndex(fragmentationIndex(o, contigPageInfo(nr, o)), 2)} `;
    out += '\n';
  }
  return out;
}

/**
 * global_dirty_limits() with the default vm.dirty_ratio 20 and
 * vm.dirty_background_ratio 10: [background, dirty] thresholds in pages.
 */
export function globalDirtyLimits(k: Kernel): [number, number] {
  let x = 0;
  for (const z of k.topology.zones) if (z.type !== ZoneType.HIGHMEM) x += z.stats.nrFreePages;
  x -= Math.min(x, totalReservePages(k));
  for (const n of k.topology.nodes) {
    const lru = k.reclaim.lruSizes(n.nid);
    x += lru[LruList.INACTIVE_FILE]! + lru[LruList.ACTIVE_FILE]!;
  }
  const available = x + 1;
  const ratio = Math.floor((20 * 4096) / 100);
  const bgRatio = Math.floor((10 * 4096) / 100);
  const thresh = Math.floor((ratio * available) / 4096);
  let bg = Math.floor((bgRatio * available) / 4096);
  if (bg >= thresh) bg = Math.floor(thresh / 2);
  return [bg, thresh];
}

/** Every /proc/vmstat name and value, in the kernel's order. */
export function vmstatItems(k: Kernel): [string, number][] {
  const items: [string, number][] = [];
  const zones = k.topology.populatedZones;
  for (const n of ZONE_STAT_ITEMS) items.push([n, zones.reduce((s, z) => s + zoneStat(k, z, n), 0)]);
  for (const n of NUMA_STAT_ITEMS) items.push([n, zones.reduce((s, z) => s + z.numaStats[n], 0)]);
  const lrus = k.topology.nodes.map((node) => k.reclaim.lruSizes(node.nid));
  for (const n of NODE_STAT_ITEMS) items.push([n, k.topology.nodes.reduce((s, node, i) => s + nodeStat(k, node.nid, n, lrus[i]!), 0)]);
  const [bg, dirty] = globalDirtyLimits(k);
  let memmap = 0;
  for (const z of zones) memmap += k.memory.memmapPages(z);
  const vm: Record<(typeof VM_STAT_ITEMS)[number], number> = {
    nr_dirty_threshold: dirty, nr_dirty_background_threshold: bg, nr_memmap_pages: 0, nr_memmap_boot_pages: memmap,
  };
  for (const n of VM_STAT_ITEMS) items.push([n, vm[n]]);
  const pa = k.pages.vmEvents?.() ?? {};
  for (const n of vmEventNames(k.topology.zoneTypes)) items.push([n, (pa[n] ?? 0) + (k.vmEvents[n] ?? 0)]);
  return items;
}

/** /proc/vmstat (vmstat_show): `name value` lines, then the deprecated `nr_unstable 0`. */
export function showVmstat(k: Kernel): string {
  let out = '';
  for (const [n, v] of vmstatItems(k)) out += `${n} ${v}\n`;
  return `${out}nr_unstable 0\n`;
}
