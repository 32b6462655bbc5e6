/**
 * /proc views of the shared mechanisms, in the kernel's exact formats:
 * /proc/buddyinfo (mm/vmstat.c frag_show), /proc/slabinfo
 * (mm/slab_common.c), /proc/meminfo (fs/proc/meminfo.c), /proc/vmallocinfo
 * (mm/vmalloc.c), `numactl --hardware` and `numastat`, and
 * /proc/<pid>/oom_score (fs/proc/base.c). Each is a PROC_ENTRY
 * contribution that injects only what it reads.
 * @module
 */
import {
  inject, injectable, LruList, NR_PAGE_ORDERS, OOM_KILLER, OOM_SCORER, type OomKiller, type OomScorer, PAGE_ALLOCATOR, PAGE_SIZE,
  type PageAllocator, type ProcEntry, RECLAIM_POLICY, type ReclaimPolicy, SLAB_ALLOCATOR, type SlabAllocator, SWAP, type SwapSpace,
  SYSCTL, type Sysctl, TASKS, type TaskTable, TOPOLOGY, type Topology, VMALLOC, type Vmalloc, vmCommitLimit, VMSTAT, type VmStat, WMARK_HIGH, WMARK_LOW,
} from '@mmsim/core';

const pad = (s: string | number, w: number): string => String(s).padStart(w);

/** /proc/buddyinfo (frag_show_print): `Node 0, zone   Normal` then `%6lu ` per order; freeBlocks is any zoned allocator's nr_free. */
export function showBuddyinfo(topology: Topology, pages: PageAllocator): string {
  let out = '';
  for (const node of topology.nodes) {
    for (const z of node.zones) {
      if (!z.populated) continue;
      out += `Node ${node.nid}, zone ${pad(z.name, 8)} `;
      for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${pad(pages.freeBlocks(z, o), 6)} `;
      out += '\n';
    }
  }
  return out;
}

/** /proc/slabinfo version 2.1 (cache_show). */
export function showSlabinfo(slab: SlabAllocator): string {
  let out = 'slabinfo - version: 2.1\n';
  out += '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n';
  for (const s of slab.slabinfo()) {
    out += `${s.name.padEnd(17)} ${pad(s.activeObjs, 6)} ${pad(s.numObjs, 6)} ${pad(s.objSize, 6)} ${pad(s.objPerSlab, 4)} ${pad(s.pagesPerSlab, 4)}`;
    out += ` : tunables ${pad(s.limit, 4)} ${pad(s.batchCount, 4)} ${pad(s.shared, 4)}`;
    out += ` : slabdata ${pad(s.activeSlabs, 6)} ${pad(s.numSlabs, 6)} ${pad(s.sharedAvail, 6)}\n`;
  }
  return out;
}

/** calculate_totalreserve_pages(): per zone, the largest lowmem_reserve plus the high watermark. */
export function totalReservePages(topology: Topology): number {
  let total = 0;
  for (const z of topology.zones) {
    let max = 0;
    for (const r of z.lowmemReserve) if (r > max) max = r;
    max += z.watermark[WMARK_HIGH]!;
    total += Math.min(max, z.managedPages);
  }
  return total;
}

/** si_mem_available() */
export function memAvailable(topology: Topology, free: number, lru: number[], reclaimableSlab: number): number {
  let wmarkLow = 0;
  for (const z of topology.zones) wmarkLow += z.watermark[WMARK_LOW]!;
  let available = free - totalReservePages(topology);
  const pagecache = lru[LruList.ACTIVE_FILE]! + lru[LruList.INACTIVE_FILE]!;
  available += pagecache - Math.min(Math.floor(pagecache / 2), wmarkLow);
  available += reclaimableSlab - Math.min(Math.floor(reclaimableSlab / 2), wmarkLow);
  return Math.max(available, 0);
}

/** What /proc/meminfo reads. */
export interface MeminfoSources {
  readonly topology: Topology;
  readonly sysctl: Sysctl;
  readonly slab: SlabAllocator;
  readonly reclaim: ReclaimPolicy;
  readonly vmstat: VmStat;
  readonly swap: SwapSpace;
}

/** /proc/meminfo (meminfo_proc_show), 6.12 line order; values the simulator does not model print 0. */
export function showMeminfo(src: MeminfoSources): string {
  const { topology, swap } = src;
  const kb = (pages: number) => pages * (PAGE_SIZE / 1024);
  const zones = topology.zones;
  const total = zones.reduce((s, z) => s + z.managedPages, 0);
  const free = zones.reduce((s, z) => s + z.stats.nrFreePages, 0);
  const lru = [0, 0, 0, 0, 0];
  for (const n of topology.nodes) src.reclaim.lruSizes(n.nid).forEach((v, i) => (lru[i]! += v));
  const slab = src.slab.stats();
  const v = src.vmstat.node;
  const cached = Math.max(0, v.nr_file_pages! - v.nr_swapcached!);
  const commitLimit = vmCommitLimit(total, src.sysctl, swap.total);
  const lines: [string, number][] = [
    ['MemTotal:       ', kb(total)],
    ['MemFree:        ', kb(free)],
    ['MemAvailable:   ', kb(memAvailable(topology, free, lru, slab.reclaimablePages))],
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
    ['SwapTotal:      ', kb(swap.total)],
    ['SwapFree:       ', kb(swap.free)],
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
  const ramKb = kb(topology.totalPresentPages);
  const dm4k = Math.min(ramKb, 2048);
  out += `DirectMap4k:    ${pad(dm4k, 8)} kB\nDirectMap2M:    ${pad(ramKb - dm4k, 8)} kB\n`;
  return out;
}

/** `numactl --hardware`: nodes, their CPUs, size and free memory (MB), the distance table. */
export function showNumaHardware(topology: Topology, pages: PageAllocator): string {
  const nodes = topology.nodes;
  const mb = (n: number) => Math.floor((n * PAGE_SIZE) / 2 ** 20);
  const ids = nodes.map((n) => n.nid);
  const span = ids.length > 1 ? `${ids[0]}-${ids[ids.length - 1]}` : `${ids[0]}`;
  let out = `available: ${nodes.length} nodes (${span})\n`;
  for (const n of nodes) {
    out += `node ${n.nid} cpus:${n.cpus.map((c) => ` ${c}`).join('')}\n`;
    out += `node ${n.nid} size: ${mb(n.zones.reduce((s, z) => s + z.managedPages, 0))} MB\n`;
    out += `node ${n.nid} free: ${mb(n.zones.reduce((s, z) => s + z.stats.nrFreePages + pages.pcpPages(z), 0))} MB\n`;
  }
  const d = (x: number) => pad(x, 3);
  out += 'node distances:\nnode ';
  for (const n of nodes) out += `${d(n.nid)} `;
  out += '\n';
  for (const a of nodes) {
    out += `${d(a.nid)}: `;
    for (const b of nodes) out += `${d(topology.distances[a.nid]![b.nid]!)} `;
    out += '\n';
  }
  return out;
}

/** Per-node NUMA counters (/sys/devices/system/node/nodeN/numastat names), summed over the node's zones. */
export function nodeNumastat(topology: Topology, nid: number): Record<'numa_hit' | 'numa_miss' | 'numa_foreign' | 'interleave_hit' | 'local_node' | 'other_node', number> {
  const r = { numa_hit: 0, numa_miss: 0, numa_foreign: 0, interleave_hit: 0, local_node: 0, other_node: 0 };
  for (const z of topology.nodes[nid]?.zones ?? []) {
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
export function showNumastat(topology: Topology): string {
  const nodes = topology.nodes;
  const stats = nodes.map((n) => nodeNumastat(topology, n.nid));
  let out = ''.padEnd(16) + nodes.map((n) => `node${n.nid}`.padStart(16)).join('') + '\n';
  for (const key of ['numa_hit', 'numa_miss', 'numa_foreign', 'interleave_hit', 'local_node', 'other_node'] as const) {
    out += key.padEnd(16) + stats.map((s) => String(s[key]).padStart(16)).join('') + '\n';
  }
  return out;
}

// ---- the views, as PROC_ENTRY contributions ---------------------------------------

/** /proc/buddyinfo */
@injectable()
export class BuddyinfoProc implements ProcEntry {
  readonly name = 'buddyinfo';
  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
  ) {}
  show(): string {
    return showBuddyinfo(this.topology, this.pages);
  }
}

/** /proc/slabinfo */
@injectable()
export class SlabinfoProc implements ProcEntry {
  readonly name = 'slabinfo';
  constructor(@inject(SLAB_ALLOCATOR) private readonly slab: SlabAllocator) {}
  show(): string {
    return showSlabinfo(this.slab);
  }
}

/** /proc/meminfo */
@injectable()
export class MeminfoProc implements ProcEntry, MeminfoSources {
  readonly name = 'meminfo';
  constructor(
    @inject(TOPOLOGY) readonly topology: Topology,
    @inject(SYSCTL) readonly sysctl: Sysctl,
    @inject(SLAB_ALLOCATOR) readonly slab: SlabAllocator,
    @inject(RECLAIM_POLICY) readonly reclaim: ReclaimPolicy,
    @inject(VMSTAT) readonly vmstat: VmStat,
    @inject(SWAP) readonly swap: SwapSpace,
  ) {}
  show(): string {
    return showMeminfo(this);
  }
}

/** /proc/vmallocinfo */
@injectable()
export class VmallocinfoProc implements ProcEntry {
  readonly name = 'vmallocinfo';
  constructor(@inject(VMALLOC) private readonly vmalloc: Vmalloc) {}
  show(): string {
    return this.vmalloc.showVmallocinfo();
  }
}

/** `numactl --hardware`, as `numa`. */
@injectable()
export class NumaProc implements ProcEntry {
  readonly name = 'numa';
  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
  ) {}
  show(): string {
    return showNumaHardware(this.topology, this.pages);
  }
}

/** `numastat`, as `numastat`. */
@injectable()
export class NumastatProc implements ProcEntry {
  readonly name = 'numastat';
  constructor(@inject(TOPOLOGY) private readonly topology: Topology) {}
  show(): string {
    return showNumastat(this.topology);
  }
}

/** /proc/<pid>/oom_score of every task (proc_oom_score): the scorer's badness against totalram + swap. */
@injectable()
export class OomScoreProc implements ProcEntry {
  readonly name = '<pid>/oom_score';
  constructor(
    @inject(TASKS) private readonly tasks: TaskTable,
    @inject(OOM_SCORER) private readonly scorer: OomScorer,
    @inject(OOM_KILLER) private readonly oomKiller: OomKiller,
  ) {}
  names(): string[] {
    return this.tasks.all().map((t) => `${t.pid}/oom_score`);
  }
  show(name = ''): string {
    const pid = Number(name.slice(0, name.indexOf('/')));
    return `${this.scorer.oomScore(this.tasks.get(pid), this.oomKiller.totalPages())}\n`;
  }
}
