/**
 * /proc views the core renders from the extension points' interfaces, in
 * the kernel's exact formats (mm/vmstat.c, mm/slab_common.c,
 * fs/proc/meminfo.c). Plugins add views through the PROC_ENTRY
 * contribution token.
 * @module
 */
import type { Kernel } from './kernel.js';
import { NR_PAGE_ORDERS, WMARK_HIGH, WMARK_LOW } from './page-allocator.js';
import { LruList } from './reclaim.js';
import { PAGE_SIZE } from './size.js';

/** A /proc view: `sim.proc(name)` prints `show()`. */
export interface ProcEntry {
  /** Path below /proc, e.g. 'buddyinfo' or 'sys/vm/min_free_kbytes'. */
  readonly name: string;
  show(): string;
}

const pad = (s: string | number, w: number): string => String(s).padStart(w);

/** /proc/buddyinfo (frag_show_print): `Node 0, zone   Normal` then `%6lu ` per order. */
export function showBuddyinfo(k: Kernel): string {
  let out = '';
  for (const node of k.topology.nodes) {
    for (const z of node.zones) {
      if (!z.populated) continue;
      out += `Node ${node.nid}, zone ${pad(z.name, 8)} `;
      for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${pad(k.pages.freeBlocks(z, o), 6)} `;
      out += '\n';
    }
  }
  return out;
}

/** /proc/slabinfo version 2.1 (cache_show). */
export function showSlabinfo(k: Kernel): string {
  let out = 'slabinfo - version: 2.1\n';
  out += '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n';
  for (const s of k.slab.slabinfo()) {
    out += `${s.name.padEnd(17)} ${pad(s.activeObjs, 6)} ${pad(s.numObjs, 6)} ${pad(s.objSize, 6)} ${pad(s.objPerSlab, 4)} ${pad(s.pagesPerSlab, 4)}`;
    out += ` : tunables ${pad(s.limit, 4)} ${pad(s.batchCount, 4)} ${pad(s.shared, 4)}`;
    out += ` : slabdata ${pad(s.activeSlabs, 6)} ${pad(s.numSlabs, 6)} ${pad(s.sharedAvail, 6)}\n`;
  }
  return out;
}

/** calculate_totalreserve_pages(): per zone, the largest lowmem_reserve plus the high watermark. */
export function totalReservePages(k: Kernel): number {
  let total = 0;
  for (const z of k.topology.zones) {
    let max = 0;
    for (const r of z.lowmemReserve) if (r > max) max = r;
    max += z.watermark[WMARK_HIGH]!;
    total += Math.min(max, z.managedPages);
  }
  return total;
}

/** si_mem_available() */
export function memAvailable(k: Kernel, free: number, lru: number[], reclaimableSlab: number): number {
  let wmarkLow = 0;
  for (const z of k.topology.zones) wmarkLow += z.watermark[WMARK_LOW]!;
  let available = free - totalReservePages(k);
  const pagecache = lru[LruList.ACTIVE_FILE]! + lru[LruList.INACTIVE_FILE]!;
  available += pagecache - Math.min(Math.floor(pagecache / 2), wmarkLow);
  available += reclaimableSlab - Math.min(Math.floor(reclaimableSlab / 2), wmarkLow);
  return Math.max(available, 0);
}

/** /proc/meminfo (meminfo_proc_show), 6.12 line order; values the simulator does not model print 0. */
export function showMeminfo(k: Kernel): string {
  const kb = (pages: number) => pages * (PAGE_SIZE / 1024);
  const zones = k.topology.zones;
  const total = zones.reduce((s, z) => s + z.managedPages, 0);
  const free = zones.reduce((s, z) => s + z.stats.nrFreePages, 0);
  const lru = [0, 0, 0, 0, 0];
  for (const n of k.topology.nodes) k.reclaim.lruSizes(n.nid).forEach((v, i) => (lru[i]! += v));
  const slab = k.slab.stats();
  const v = k.vmstat;
  const cached = Math.max(0, v.nr_file_pages! - v.nr_swapcached!);
  const commitLimit = Math.floor((total * k.sysctl.get('vm.overcommit_ratio')) / 100) + k.swap.total;
  const lines: [string, number][] = [
    ['MemTotal:       ', kb(total)],
    ['MemFree:        ', kb(free)],
    ['MemAvailable:   ', kb(memAvailable(k, free, lru, slab.reclaimablePages))],
    ['Buffers:        ', 0],
    ['Cached:         ', kb(cached)],
    ['SwapCached:     ', kb(v.nr_swapcached!)],
    ['Active:         ', kb(lru[LruList.ACTIVE_ANON]! + lru[LruList.ACTIVE_FILE]!)],
    ['Inactive:       ', kb(lru[LruList.INACTIVE_ANON]! + lru[LruList.INACTIVE_FILE]!)],
    ['Active(anon):   ', kb(lru[LruList.ACTIVE_ANON]!)],
    ['Inactive(anon): ', kb(lru[LruList.INACTIVE_ANON]!)],
    ['Active(file):   ', kb(lru[LruList.ACTIVE_FILE]!)],
    ['Inactive(file): ', kb(lru[LruList.INACTIVE_FILE]!)],
    ['Unevictable:    ', kb(lru[LruList.UNEVICTABLE]!)],
    ['Mlocked:        ', kb(v.nr_mlock!)],
    ['SwapTotal:      ', kb(k.swap.total)],
    ['SwapFree:       ', kb(k.swap.free)],
    ['Zswap:          ', 0],
    ['Zswapped:       ', 0],
    ['Dirty:          ', kb(v.nr_dirty!)],
    ['Writeback:      ', kb(v.nr_writeback!)],
    ['AnonPages:      ', kb(v.nr_anon_pages!)],
    ['Mapped:         ', kb(v.nr_mapped!)],
    ['Shmem:          ', kb(v.nr_shmem!)],
    ['KReclaimable:   ', kb(slab.reclaimablePages)],
    ['Slab:           ', kb(slab.reclaimablePages + slab.unreclaimablePages)],
    ['SReclaimable:   ', kb(slab.reclaimablePages)],
    ['SUnreclaim:     ', kb(slab.unreclaimablePages)],
    ['KernelStack:    ', v.nr_kernel_stack!],
    ['PageTables:     ', kb(v.nr_page_table_pages!)],
    ['SecPageTables:  ', 0],
    ['NFS_Unstable:   ', 0],
    ['Bounce:         ', 0],
    ['WritebackTmp:   ', 0],
    ['CommitLimit:    ', kb(commitLimit)],
    ['Committed_AS:   ', kb(v.nr_committed!)],
    ['VmallocTotal:   ', 34359738367],
    ['VmallocUsed:    ', kb(v.nr_vmalloc!)],
    ['VmallocChunk:   ', 0],
    ['Percpu:         ', kb(v.nr_percpu!)],
  ];
  let out = '';
  for (const [label, val] of lines) out += `${label}${pad(val, 8)} kB\n`;
  out += `HardwareCorrupted: ${pad(0, 5)} kB\n`;
  for (const l of ['AnonHugePages:  ', 'ShmemHugePages: ', 'ShmemPmdMapped: ', 'FileHugePages:  ', 'FilePmdMapped:  ']) out += `${l}${pad(0, 8)} kB\n`;
  out += `HugePages_Total:   ${pad(0, 5)}\nHugePages_Free:    ${pad(0, 5)}\nHugePages_Rsvd:    ${pad(0, 5)}\nHugePages_Surp:    ${pad(0, 5)}\n`;
  out += `Hugepagesize:   ${pad(2048, 8)} kB\nHugetlb:        ${pad(0, 8)} kB\n`;
  // the direct map covers all RAM with 4k pages below 2M alignment, 2M pages above (as a KVM guest)
  const ramKb = kb(k.topology.totalPresentPages);
  const dm4k = Math.min(ramKb, 2048);
  out += `DirectMap4k:    ${pad(dm4k, 8)} kB\nDirectMap2M:    ${pad(ramKb - dm4k, 8)} kB\n`;
  return out;
}

/** /proc/<pid>/oom_score */
export function showOomScore(k: Kernel, pid: number): string {
  return `${k.oom.oomScore(k.tasks.get(pid), k.oomTotalPages())}\n`;
}

/** `numactl --hardware`: nodes, their CPUs, size and free memory (MB), the distance table. */
export function showNumaHardware(k: Kernel): string {
  const nodes = k.topology.nodes;
  const mb = (pages: number) => Math.floor((pages * PAGE_SIZE) / 2 ** 20);
  const ids = nodes.map((n) => n.nid);
  const span = ids.length > 1 ? `${ids[0]}-${ids[ids.length - 1]}` : `${ids[0]}`;
  let out = `available: ${nodes.length} nodes (${span})\n`;
  for (const n of nodes) {
    out += `node ${n.nid} cpus:${n.cpus.map((c) => ` ${c}`).join('')}\n`;
    out += `node ${n.nid} size: ${mb(n.zones.reduce((s, z) => s + z.managedPages, 0))} MB\n`;
    out += `node ${n.nid} free: ${mb(n.zones.reduce((s, z) => s + z.stats.nrFreePages + k.pages.pcpPages(z), 0))} MB\n`;
  }
  const d = (x: number) => pad(x, 3);
  out += 'node distances:\nnode ';
  for (const n of nodes) out += `${d(n.nid)} `;
  out += '\n';
  for (const a of nodes) {
    out += `${d(a.nid)}: `;
    for (const b of nodes) out += `${d(k.topology.distances[a.nid]![b.nid]!)} `;
    out += '\n';
  }
  return out;
}

/** Per-node NUMA counters (/sys/devices/system/node/nodeN/numastat names), summed over the node's zones. */
export function nodeNumastat(k: Kernel, nid: number): Record<'numa_hit' | 'numa_miss' | 'numa_foreign' | 'interleave_hit' | 'local_node' | 'other_node', number> {
  const r = { numa_hit: 0, numa_miss: 0, numa_foreign: 0, interleave_hit: 0, local_node: 0, other_node: 0 };
  for (const z of k.topology.nodes[nid]?.zones ?? []) {
    const s = z.numaStats;
    r.numa_hit += s.numa_hit;
    r.numa_miss += s.numa_miss;
    r.numa_foreign += s.numa_foreign;
    r.interleave_hit += s.numa_interleave;
    r.local_node += s.numa_local;
    r.other_node += s.numa_other;
  }
  return r;
}

/** `numastat` (numactl's, without options): the per-node counters side by side. */
export function showNumastat(k: Kernel): string {
  const nodes = k.topology.nodes;
  const stats = nodes.map((n) => nodeNumastat(k, n.nid));
  let out = ''.padEnd(16) + nodes.map((n) => `node${n.nid}`.padStart(16)).join('') + '\n';
  for (const key of ['numa_hit', 'numa_miss', 'numa_foreign', 'interleave_hit', 'local_node', 'other_node'] as const) {
    out += key.padEnd(16) + stats.map((s) => String(s[key]).padStart(16)).join('') + '\n';
  }
  return out;
}
