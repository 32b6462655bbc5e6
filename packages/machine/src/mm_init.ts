/**
 * The memory-setup lines a kernel prints at boot (mm/mm_init.c
 * free_area_init, free_area_init_core, zone_pcp_init; mm/page_alloc.c
 * build_all_zonelists), computed for a simulated machine: zone ranges, the
 * node map, per zone the memmap charged, the DMA reserve, present pages and
 * the pcp batch, and the "Total pages" the zonelists cover. Formulas and
 * wording follow the kernel version the simulator runs (`kernel`). The
 * pcp batch is the page allocator's formula (zone_batchsize()), which the
 * caller passes in: a tool names no plugin (the CLI passes
 * @mmsim/plugin-buddy's).
 * @module
 */
import { kernelAtLeast, MIGRATE_TYPES, type MemoryModel, type Topology, ZoneType } from '@mmsim/core';
import type { PrintedBoot } from './dmesg.js';
import { hex18 } from './e820.js';

/** pageblock_order on x86_64 */
const PAGEBLOCK_ORDER = 9;

/** One zone's boot numbers. */
export interface BootZone {
  name: string;
  startPfn: number;
  spanned: number;
  /** present_pages (`N pages, LIFO batch:M`). */
  present: number;
  /** calc_memmap_size(): `N pages used for memmap` (printed before 6.10; highmem is not charged). */
  memmapPages: number;
  /** dma_reserve, first zone only (`N pages reserved`, before 6.10). */
  reserved?: number;
  /** managed_pages when the pcp batch was computed: present - memmap - reserve before 6.10, present from 6.10. */
  managedAtInit: number;
  /** zone_batchsize(): `LIFO batch:N`. */
  batch: number;
  /** managed_pages after memblock handed memory to the page allocator (the simulator's). */
  managed: number;
}

/** A `On node N, zone Z: M pages in unavailable ranges` line (5.12+), or the total of `Zeroed struct page in unavailable ranges` (older). */
export interface UnavailableRange {
  nid: number;
  zone: string;
  pages: number;
}

/** What a kernel prints about memory while it boots, as data. */
export interface BootReport {
  kernel: string;
  memoryModel: string;
  arch: 'x86_64' | 'x86_32';
  /** `Zone ranges:`: [start, end) pfns per zone type (null: empty). */
  zoneRanges: { name: string; start: number | null; end: number | null }[];
  /** `Movable zone start for each node` */
  movableZoneStart: { nid: number; pfn: number }[];
  /** `Early memory node ranges`, pfns [start, end). */
  nodeRanges: { nid: number; start: number; end: number }[];
  /** Struct pages initialised for holes (pfn_valid pfns without RAM). */
  unavailable: UnavailableRange[];
  nodes: { nid: number; startPfn: number; endPfn: number; totalpages: number; zones: BootZone[] }[];
  /** `Built N zonelists` */
  zonelists: number;
  mobilityGrouping: boolean;
  /** `Total pages: N` (nr_free_zone_pages(gfp_zone(GFP_HIGHUSER_MOVABLE)) with no watermarks yet). */
  totalPages: number;
  /** The memory model's cost. */
  memmap: { model: string; bytes: number; holeBytes: number; hotplug: boolean };
}

/** Pages of [spfn, epfn) whose pageblock has struct pages (init_unavailable_range's count). */
function unavailableCount(memory: MemoryModel, spfn: number, epfn: number): number {
  let n = 0;
  const pb = 1 << PAGEBLOCK_ORDER;
  for (let pfn = spfn; pfn < epfn; pfn++) {
    if (!memory.pfnValid(pfn - (pfn % pb))) {
      pfn = pfn - (pfn % pb) + pb - 1;
      continue;
    }
    n++;
  }
  return n;
}

/** zone_batchsize(): the pcp batch of a zone with these page counts, by the formula of `kernel` (e.g. @mmsim/plugin-buddy's zoneBatchsize). */
export type ZoneBatchsize = (zone: { managedPages: number; presentPages: number }, kernel: string) => number;

/** What {@link bootReport} needs besides the machine. */
export interface BootReportOptions {
  /** The page allocator's zone_batchsize(), for `LIFO batch:N`. */
  zoneBatchsize: ZoneBatchsize;
  /** Kernel version whose formulas and wording apply (default: the topology's). */
  kernel?: string;
}

/** Computes the boot report of a booted simulator's machine. */
export function bootReport(topology: Topology, memory: MemoryModel, opts: BootReportOptions): BootReport {
  const { zoneBatchsize, kernel = topology.kernel } = opts;
  const modern = kernelAtLeast(kernel, '6.10'); // memmap no longer charged per zone, dma_reserve gone
  const x86_64 = topology.arch === 'x86_64';
  const zoneRanges: BootReport['zoneRanges'] = topology.archZones
    .filter((z) => z.type !== ZoneType.MOVABLE)
    .map((z) => ({ name: z.type, start: z.high > z.low ? z.low : null, end: z.high > z.low ? z.high : null }));
  if (x86_64) zoneRanges.push({ name: ZoneType.DEVICE, start: null, end: null });
  const nodeRanges = topology.nodes.flatMap((n) => n.ranges.map((r) => ({ nid: n.nid, start: r.start, end: r.end }))).sort((a, b) => a.start - b.start);
  const dmaReserve = topology.layout.dmaReserve ?? 0;
  const nodes = topology.nodes.map((n) => {
    const zones: BootZone[] = [];
    for (const z of n.zones) {
      const highmem = z.type === ZoneType.HIGHMEM;
      const memmapPages = memory.memmapPages(z);
      let freesize = z.presentPages;
      let reserved: number | undefined;
      if (!modern) {
        if (!highmem && freesize >= memmapPages) freesize -= memmapPages;
        if (z.idx === 0 && freesize > dmaReserve) {
          freesize -= dmaReserve;
          reserved = dmaReserve;
        }
      }
      const managedAtInit = modern ? z.presentPages : freesize;
      const bz: BootZone = {
        name: z.name, startPfn: z.zoneStartPfn, spanned: z.spannedPages, present: z.presentPages, memmapPages,
        managedAtInit, batch: zoneBatchsize({ managedPages: managedAtInit, presentPages: z.presentPages }, kernel), managed: z.managedPages,
      };
      if (reserved !== undefined) bz.reserved = reserved;
      zones.push(bz);
    }
    return { nid: n.nid, startPfn: n.startPfn, endPfn: n.endPfn, totalpages: n.presentPages, zones };
  });
  // memmap_init() / zero_resv_unavail(): struct pages of holes the model keeps
  const unavailable: UnavailableRange[] = [];
  const sectionEnd = (pfn: number) => (memory.sectionSizeBits ? Math.ceil(pfn / 2 ** (memory.sectionSizeBits - 12)) * 2 ** (memory.sectionSizeBits - 12) : pfn);
  if (kernelAtLeast(kernel, '5.12')) {
    let hole = 0;
    let lastZone = '';
    let lastNid = 0;
    for (const r of nodeRanges) {
      const node = topology.nodes[r.nid]!;
      for (const z of node.zones) {
        if (!z.populated) continue;
        const s = Math.min(Math.max(r.start, z.zoneStartPfn), z.zoneEndPfn);
        const e = Math.min(Math.max(r.end, z.zoneStartPfn), z.zoneEndPfn);
        if (s >= e) continue;
        if (hole < s) {
          const pages = unavailableCount(memory, hole, s);
          if (pages) unavailable.push({ nid: r.nid, zone: z.name, pages });
        }
        hole = e;
        lastZone = z.name;
        lastNid = r.nid;
      }
    }
    const end = sectionEnd(nodeRanges[nodeRanges.length - 1]!.end);
    if (hole < end && memory.sectionSizeBits) {
      const pages = unavailableCount(memory, hole, end);
      if (pages) unavailable.push({ nid: lastNid, zone: lastZone, pages });
    }
  } else if (kernelAtLeast(kernel, '4.19')) {
    let next = 0;
    let pages = 0;
    for (const r of nodeRanges) {
      if (next < r.start) pages += unavailableCount(memory, next, r.start);
      next = r.end;
    }
    pages += unavailableCount(memory, next, sectionEnd(topology.maxPfn));
    if (pages) unavailable.push({ nid: -1, zone: '', pages });
  }
  // build_all_zonelists(): nr_free_zone_pages() before any watermark is set
  let totalPages = 0;
  for (const n of nodes) for (const z of n.zones) totalPages += z.managedAtInit;
  return {
    kernel, memoryModel: memory.name, arch: topology.arch, zoneRanges,
    movableZoneStart: topology.zoneMovablePfn.map((pfn, nid) => ({ nid, pfn })).filter((x) => x.pfn > 0),
    nodeRanges, unavailable, nodes,
    zonelists: topology.nodes.length,
    mobilityGrouping: totalPages >= (1 << PAGEBLOCK_ORDER) * MIGRATE_TYPES,
    totalPages,
    memmap: { model: memory.name, bytes: memory.memmapBytes(), holeBytes: memory.memmapHoleBytes?.() ?? 0, hotplug: memory.supportsHotplug },
  };
}

const memRange = (start: number, end: number) => `[mem ${hex18(start * 4096)}-${hex18(end * 4096 - 1)}]`;

/** The report in the kernel's wording and order for its version. */
export function formatBootReport(r: BootReport): string {
  const modern = kernelAtLeast(r.kernel, '6.10');
  const lines: string[] = ['Zone ranges:'];
  for (const z of r.zoneRanges) lines.push(`  ${z.name.padEnd(8)} ${z.start === null ? 'empty' : memRange(z.start, z.end!)}`);
  lines.push('Movable zone start for each node');
  for (const m of r.movableZoneStart) lines.push(`  Node ${m.nid}: ${hex18(m.pfn * 4096)}`);
  lines.push('Early memory node ranges');
  for (const n of r.nodeRanges) lines.push(`  node ${String(n.nid).padStart(3)}: ${memRange(n.start, n.end)}`);
  const zeroed = !kernelAtLeast(r.kernel, '5.12') && r.unavailable[0];
  if (zeroed) lines.push(`Zeroed struct page in unavailable ranges: ${zeroed.pages} pages`);
  for (const n of r.nodes) {
    lines.push(`Initmem setup node ${n.nid} ${memRange(n.startPfn, n.endPfn)}`);
    lines.push(`On node ${n.nid} totalpages: ${n.totalpages}`);
    for (const z of n.zones) {
      if (!modern) {
        if (z.memmapPages && z.name !== ZoneType.HIGHMEM) lines.push(`  ${z.name} zone: ${z.memmapPages} pages used for memmap`);
        if (z.reserved !== undefined) lines.push(`  ${z.name} zone: ${z.reserved} pages reserved`);
      }
      if (z.present) lines.push(`  ${z.name} zone: ${z.present} pages, LIFO batch:${z.batch}`);
    }
  }
  if (kernelAtLeast(r.kernel, '5.12')) for (const u of r.unavailable) lines.push(`On node ${u.nid}, zone ${u.zone}: ${u.pages} pages in unavailable ranges`);
  lines.push(`Built ${r.zonelists} zonelists, mobility grouping ${r.mobilityGrouping ? 'on' : 'off'}.  Total pages: ${r.totalPages}`);
  return `${lines.join('\n')}\n`;
}

/** One number that differs between a simulated boot and a real log. */
export interface BootMismatch {
  what: string;
  log: number | string;
  simulated: number | string;
}

/** Compares a simulated boot with what the real kernel printed (only numbers the log has). */
export function compareBootWithLog(r: BootReport, log: PrintedBoot): BootMismatch[] {
  const out: BootMismatch[] = [];
  const cmp = (what: string, a: number | string | undefined, b: number | string | undefined) => {
    if (a !== undefined && a !== b) out.push({ what, log: a, simulated: b ?? '(none)' });
  };
  for (const ln of log.nodes) {
    const n = r.nodes.find((x) => x.nid === ln.nid);
    cmp(`node ${ln.nid} totalpages`, ln.totalpages, n?.totalpages);
    for (const lz of ln.zones) {
      const z = n?.zones.find((x) => x.name === lz.name);
      cmp(`node ${ln.nid} ${lz.name} present pages`, lz.present, z?.present);
      cmp(`node ${ln.nid} ${lz.name} memmap pages`, lz.memmapPages, z?.memmapPages);
      cmp(`node ${ln.nid} ${lz.name} reserved pages`, lz.reserved, z?.reserved);
      cmp(`node ${ln.nid} ${lz.name} LIFO batch`, lz.batch, z?.batch);
    }
  }
  for (const m of log.movableStart) cmp(`node ${m.nid} Movable zone start`, m.start, (r.movableZoneStart.find((x) => x.nid === m.nid)?.pfn ?? 0) * 4096);
  cmp('zonelists', log.zonelists, r.zonelists);
  cmp('Total pages', log.totalPages, r.totalPages);
  if (log.zeroedUnavailable !== undefined) cmp('zeroed unavailable struct pages', log.zeroedUnavailable, r.unavailable.reduce((s, u) => s + u.pages, 0));
  for (const lz of log.zoneRanges) {
    const z = r.zoneRanges.find((x) => x.name === lz.name);
    const fmt = (a: number | null | undefined, b: number | null | undefined) => (a === null || a === undefined ? 'empty' : `${hex18(a)}-${hex18(b!)}`);
    cmp(`zone range ${lz.name}`, fmt(lz.range?.[0], lz.range?.[1]), z ? fmt(z.start === null ? null : z.start * 4096, z.end === null ? null : z.end * 4096 - 1) : '(none)');
  }
  return out;
}
