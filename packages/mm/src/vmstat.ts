/**
 * mm/vmstat.c: the vm counters that cross mechanisms (VMSTAT: node stat
 * items and vm events, whoever owns the pages keeps them current) and the
 * views printed from them: /proc/zoneinfo, /proc/vmstat and the debugfs
 * fragmentation indices (extfrag/extfrag_index, extfrag/unusable_index), in
 * the kernel's exact formats (Linux 6.12, an x86_64 distribution config:
 * NUMA, ZSMALLOC, SWAP, CMA, COMPACTION, MIGRATION, TRANSPARENT_HUGEPAGE,
 * HUGETLB, KSM, ZSWAP, MEMORY_BALLOON). Counters the simulator does not
 * model print 0. The views read the extension points' interfaces only; a
 * page allocator that does not implement the optional reporting methods
 * shows zeros there. /proc/pagetypeinfo is the buddy allocator's own.
 * @module
 */
import {
  contigPageInfo, fragmentationIndex, inject, injectable, LruList, MEMORY_MODEL, type MemoryModel, NR_PAGE_ORDERS,
  PAGE_ALLOCATOR, type PageAllocator, type ProcEntry, RECLAIM_POLICY, type ReclaimPolicy, SLAB_ALLOCATOR, type SlabAllocator,
  TOPOLOGY, type Topology, unusableFreeIndex, VMSTAT, type VmStat, WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO, type Zone, ZoneType,
} from '@mmsim/core';
import { totalReservePages } from './proc.js';

/**
 * vm_node_stat[] and vm_event_states: the counters one mechanism keeps and
 * another reads (node stat items in pages, nr_kernel_stack in kB; vm events
 * by /proc/vmstat name). /proc/vmstat adds the page allocator's own events.
 */
@injectable()
export class VmStatCounters implements VmStat {
  /**
   * Node-stat counters in pages, by /proc/vmstat name (nr_anon_pages,
   * nr_file_pages, nr_shmem, nr_mapped, nr_dirty, nr_writeback,
   * nr_page_table_pages, nr_vmalloc, nr_swapcached; nr_kernel_stack in kB).
   */
  readonly node: Record<string, number> = {
    nr_anon_pages: 0, nr_mapped: 0, nr_file_pages: 0, nr_dirty: 0, nr_writeback: 0, nr_shmem: 0,
    nr_kernel_stack: 0, nr_page_table_pages: 0, nr_vmalloc: 0, nr_swapcached: 0, nr_mlock: 0,
    nr_percpu: 0, nr_committed: 0,
  };
  /** vm event counters (oom_kill, pgsteal_kswapd, allocstall_normal, ...), by name. */
  readonly events: Record<string, number> = { oom_kill: 0 };
}

/** count_vm_events(): adds `n` to the vm event `name`. */
export function countVmEvents(vs: VmStat, name: string, n = 1): void {
  vs.events[name] = (vs.events[name] ?? 0) + n;
}

/**
 * calculate_normal_threshold(): the per-CPU vmstat drift a zone tolerates
 * (`vm stats threshold` in /proc/zoneinfo): 2 × fls(cpus) × (1 + fls(managed
 * in 128 MiB units)), at most 125.
 */
export function calculateNormalThreshold(managedPages: number, onlineCpus: number): number {
  const fls = (x: number) => (x <= 0 ? 0 : 32 - Math.clz32(x));
  const mem = Math.floor(managedPages / 2 ** (27 - 12));
  return Math.min(125, 2 * fls(onlineCpus) * (1 + fls(mem)));
}

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

/** A per-zone vm event's name (TEXTS_FOR_ZONES): `allocstall` of a Normal zone is `allocstall_normal`. */
export function zoneEventName(prefix: string, zoneType: string): string {
  return `${prefix}_${ZONE_SUFFIX[zoneType] ?? zoneType.toLowerCase()}`;
}

/** enum vm_event_item names (6.12) for a machine with `zoneTypes`. */
export function vmEventNames(zoneTypes: readonly string[]): string[] {
  const zones = (p: string) => zoneTypes.map((t) => zoneEventName(p, t));
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

/** What the mm/vmstat.c views read: the zones, the extension points and the shared counters. */
export interface VmstatSources {
  readonly topology: Topology;
  readonly pages: PageAllocator;
  readonly slab: SlabAllocator;
  readonly reclaim: ReclaimPolicy;
  readonly vmstat: VmStat;
}

/**
 * node_page_state_pages() for one node. Counters the simulator keeps only
 * machine-wide (VMSTAT's node counters, slab pages) are reported on node 0.
 */
function nodeStat(src: VmstatSources, nid: number, name: string, lru: readonly number[]): number {
  const l = LRU_ITEM[name];
  if (l !== undefined) return lru[l] ?? 0;
  if (nid !== src.topology.nodes[0]!.nid) return 0;
  if (name === 'nr_slab_reclaimable' || name === 'nr_slab_unreclaimable') {
    const s = src.slab.stats();
    return name === 'nr_slab_reclaimable' ? s.reclaimablePages : s.unreclaimablePages;
  }
  return src.vmstat.node[name] ?? 0;
}

/** zone_page_state() of one zone. */
function zoneStat(src: VmstatSources, z: Zone, name: string): number {
  switch (name) {
    case 'nr_free_pages':
      return z.stats.nrFreePages;
    case 'nr_free_cma':
      return src.pages.zoneInfo?.(z).nrFreeCma ?? 0;
    case 'nr_zone_inactive_anon':
    case 'nr_zone_active_anon':
    case 'nr_zone_inactive_file':
    case 'nr_zone_active_file':
    case 'nr_zone_unevictable': {
      const sizes = src.reclaim.zoneLruSizes?.(z.nid, z.idx);
      return sizes ? sizes[LRU_ITEM[name.replace('nr_zone_', 'nr_')]!]! : 0;
    }
    default:
      return 0;
  }
}

const pad = (s: string | number, w: number): string => String(s).padStart(w);

/** /proc/zoneinfo (zoneinfo_show_print), every zone of every node, empty ones too. */
export function showZoneinfo(src: VmstatSources): string {
  const { topology, pages } = src;
  const cpus = topology.nodes.reduce((s, n) => s + n.cpus.length, 0);
  let out = '';
  for (const node of topology.nodes) {
    const lru = src.reclaim.lruSizes(node.nid);
    const first = node.zones.find((z) => z.populated);
    for (const z of node.zones) {
      out += `Node ${node.nid}, zone ${pad(z.name, 8)}`;
      if (z === first) {
        out += '\n  per-node stats';
        for (const n of NODE_STAT_ITEMS) out += `\n      ${n.padEnd(12)} ${nodeStat(src, node.nid, n, lru)}`;
      }
      const info = z.populated ? pages.zoneInfo?.(z) : undefined;
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
      for (const n of ZONE_STAT_ITEMS) out += `\n      ${n.padEnd(12)} ${zoneStat(src, z, n)}`;
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

function nrFreeOf(pages: PageAllocator, z: Zone): number[] {
  return Array.from({ length: NR_PAGE_ORDERS }, (_, o) => pages.freeBlocks(z, o));
}

/** %d.%03d of an index ×1000 as C prints it (the sign lives in the integer part only). */
function fmtIndex(index: number, width: number): string {
  const whole = Math.trunc(index / 1000);
  const frac = Math.abs(index % 1000);
  return `${pad(whole, width)}.${String(frac).padStart(3, '0')}`;
}

/** debugfs extfrag/unusable_index (unusable_show_print). */
export function showUnusableIndex(topology: Topology, pages: PageAllocator): string {
  let out = '';
  for (const z of topology.populatedZones) {
    const nr = nrFreeOf(pages, z);
    out += `Node ${z.nid}, zone ${pad(z.name, 8)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${fmtIndex(unusableFreeIndex(o, contigPageInfo(nr, o)), 1)} `;
    out += '\n';
  }
  return out;
}

/** debugfs extfrag/extfrag_index (extfrag_show_print). */
export function showExtfragIndex(topology: Topology, pages: PageAllocator): string {
  let out = '';
  for (const z of topology.populatedZones) {
    const nr = nrFreeOf(pages, z);
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
export function globalDirtyLimits(topology: Topology, reclaim: ReclaimPolicy): [number, number] {
  let x = 0;
  for (const z of topology.zones) if (z.type !== ZoneType.HIGHMEM) x += z.stats.nrFreePages;
  x -= Math.min(x, totalReservePages(topology));
  for (const n of topology.nodes) {
    const lru = reclaim.lruSizes(n.nid);
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

/**
 * Every /proc/vmstat name and value, in the kernel's order. A vm event is
 * the page allocator's count (vmEvents()) plus VMSTAT's: each counter is
 * kept by one of them only.
 */
export function vmstatItems(src: VmstatSources & { readonly memory: MemoryModel }): [string, number][] {
  const { topology } = src;
  const items: [string, number][] = [];
  const zones = topology.populatedZones;
  for (const n of ZONE_STAT_ITEMS) items.push([n, zones.reduce((s, z) => s + zoneStat(src, z, n), 0)]);
  for (const n of NUMA_STAT_ITEMS) items.push([n, zones.reduce((s, z) => s + z.numaStats[n], 0)]);
  const lrus = topology.nodes.map((node) => src.reclaim.lruSizes(node.nid));
  for (const n of NODE_STAT_ITEMS) items.push([n, topology.nodes.reduce((s, node, i) => s + nodeStat(src, node.nid, n, lrus[i]!), 0)]);
  const [bg, dirty] = globalDirtyLimits(topology, src.reclaim);
  let memmap = 0;
  for (const z of zones) memmap += src.memory.memmapPages(z);
  const vm: Record<(typeof VM_STAT_ITEMS)[number], number> = {
    nr_dirty_threshold: dirty, nr_dirty_background_threshold: bg, nr_memmap_pages: 0, nr_memmap_boot_pages: memmap,
  };
  for (const n of VM_STAT_ITEMS) items.push([n, vm[n]]);
  const pa = src.pages.vmEvents?.() ?? {};
  const ev = src.vmstat.events;
  for (const n of vmEventNames(topology.zoneTypes)) items.push([n, (pa[n] ?? 0) + (ev[n] ?? 0)]);
  return items;
}

/** /proc/vmstat (vmstat_show): `name value` lines, then the deprecated `nr_unstable 0`. */
export function showVmstat(src: VmstatSources & { readonly memory: MemoryModel }): string {
  let out = '';
  for (const [n, v] of vmstatItems(src)) out += `${n} ${v}\n`;
  return `${out}nr_unstable 0\n`;
}

// ---- the views, as PROC_ENTRY contributions ---------------------------------------

/** /proc/zoneinfo */
@injectable()
export class ZoneinfoProc implements ProcEntry, VmstatSources {
  readonly name = 'zoneinfo';
  constructor(
    @inject(TOPOLOGY) readonly topology: Topology,
    @inject(PAGE_ALLOCATOR) readonly pages: PageAllocator,
    @inject(SLAB_ALLOCATOR) readonly slab: SlabAllocator,
    @inject(RECLAIM_POLICY) readonly reclaim: ReclaimPolicy,
    @inject(VMSTAT) readonly vmstat: VmStat,
  ) {}
  show(): string {
    return showZoneinfo(this);
  }
}

/** /proc/vmstat */
@injectable()
export class VmstatProc implements ProcEntry, VmstatSources {
  readonly name = 'vmstat';
  constructor(
    @inject(TOPOLOGY) readonly topology: Topology,
    @inject(MEMORY_MODEL) readonly memory: MemoryModel,
    @inject(PAGE_ALLOCATOR) readonly pages: PageAllocator,
    @inject(SLAB_ALLOCATOR) readonly slab: SlabAllocator,
    @inject(RECLAIM_POLICY) readonly reclaim: ReclaimPolicy,
    @inject(VMSTAT) readonly vmstat: VmStat,
  ) {}
  show(): string {
    return showVmstat(this);
  }
}

/** /sys/kernel/debug/extfrag/extfrag_index, reachable as `extfrag/extfrag_index`. */
@injectable()
export class ExtfragIndexProc implements ProcEntry {
  readonly name = 'extfrag/extfrag_index';
  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
  ) {}
  show(): string {
    return showExtfragIndex(this.topology, this.pages);
  }
}

/** /sys/kernel/debug/extfrag/unusable_index, reachable as `extfrag/unusable_index`. */
@injectable()
export class UnusableIndexProc implements ProcEntry {
  readonly name = 'extfrag/unusable_index';
  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
  ) {}
  show(): string {
    return showUnusableIndex(this.topology, this.pages);
  }
}
