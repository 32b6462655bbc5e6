/**
 * Machine descriptions → physical memory layout: the e820-style RAM ranges
 * each node owns. The shorthand `{ memory: '4G', cpus: 2 }` lays RAM out as a
 * QEMU/KVM x86_64 guest's firmware does (below 640 KiB, from 1 MiB up to the
 * PCI hole, the rest above 4 GiB).
 * @module
 */
import { MmsimError } from './errors.js';
import { PAGE_SHIFT, parseSize } from './size.js';

/** A half-open pfn range [start, end). */
export interface PfnRange {
  start: number;
  end: number;
}

/** One e820 entry, bytes, `end` exclusive; type as the kernel prints it. */
export interface E820Entry {
  start: number;
  end: number;
  type: 'usable' | 'reserved' | 'ACPI data' | 'ACPI NVS' | 'unusable' | 'persistent' | 'soft reserved';
}

/** A node as the user describes it. */
export interface NodeDescription {
  /** Bytes of RAM on this node (taken in address order from the RAM ranges). */
  memory?: string | number;
  /** Explicit byte ranges [start, end) of this node's RAM. */
  ranges?: { start: number | string; end: number | string }[];
  /** CPU count, or explicit CPU ids. */
  cpus?: number | number[];
}

/** The `machine` part of a config. */
export interface MachineDescription {
  /** Total RAM (shorthand). */
  memory?: string | number;
  /** Number of CPUs (default 1, or the sum over nodes). */
  cpus?: number;
  /** Firmware memory map; only `usable` ranges become RAM. */
  e820?: { start: number | string; end: number | string; type?: string }[];
  /** NUMA nodes; without it the machine is one node. */
  nodes?: NodeDescription[];
  /** node_distance() table; default 10 local, 20 remote. */
  distances?: number[][];
  /** 'x86_64' (DMA/DMA32/Normal) or 'x86_32' (DMA/Normal/HighMem at 896 MiB). */
  arch?: 'x86_64' | 'x86_32';
}

/** What the topology is built from: RAM pfn ranges per node, CPU ids, distances. */
export interface MachineLayout {
  arch: 'x86_64' | 'x86_32';
  nodes: { nid: number; ranges: PfnRange[]; cpus: number[] }[];
  distances: number[][];
  e820: E820Entry[];
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** The e820 map QEMU's SeaBIOS hands a guest with `bytes` of RAM (i440fx: 3 GiB below 4 GiB when RAM ≥ 3.5 GiB). */
export function qemuE820(bytes: number): E820Entry[] {
  const e: E820Entry[] = [
    { start: 0, end: 0x9fc00, type: 'usable' },
    { start: 0x9fc00, end: 0xa0000, type: 'reserved' },
    { start: 0xf0000, end: 0x100000, type: 'reserved' },
  ];
  const low = bytes >= 0xe0000000 ? 0xc0000000 : bytes;
  if (low > MiB) e.push({ start: MiB, end: low, type: 'usable' });
  e.push({ start: 0xfeffc000, end: 0xff000000, type: 'reserved' });
  e.push({ start: 0xfffc0000, end: 0x100000000, type: 'reserved' });
  if (bytes > low) e.push({ start: 4 * GiB, end: 4 * GiB + (bytes - low), type: 'usable' });
  return e;
}

function num(v: number | string, path: string): number {
  return typeof v === 'number' ? parseSize(v, path) : /^0x/i.test(v) ? parseSize(v, path) : parseSize(v, path);
}

/** Usable e820 ranges → page-aligned pfn ranges; page 0 is always reserved (as x86 trims it). */
export function e820ToPfnRanges(e820: readonly E820Entry[]): PfnRange[] {
  const out: PfnRange[] = [];
  for (const r of e820) {
    if (r.type !== 'usable') continue;
    let start = Math.ceil(r.start / 4096);
    const end = Math.floor(r.end / 4096);
    if (start === 0) start = 1; // e820: update [mem 0x00000000-0x00000fff] usable ==> reserved
    if (end > start) out.push({ start, end });
  }
  out.sort((a, b) => a.start - b.start);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.start < out[i - 1]!.end) {
      throw new MmsimError('EMACHINE', `machine.e820: usable ranges overlap at 0x${(out[i]!.start * 4096).toString(16)}`, { path: 'machine.e820' });
    }
  }
  return out;
}

/** Takes `pages` pages from the front of `ranges` (consumed in place). */
function takePages(ranges: PfnRange[], pages: number): PfnRange[] {
  const out: PfnRange[] = [];
  while (pages > 0 && ranges.length > 0) {
    const r = ranges[0]!;
    const n = Math.min(pages, r.end - r.start);
    out.push({ start: r.start, end: r.start + n });
    pages -= n;
    if (r.start + n === r.end) ranges.shift();
    else r.start += n;
  }
  return out;
}

/** Validates a machine description and lays its RAM out over nodes. */
export function layoutMachine(desc: MachineDescription): MachineLayout {
  const arch = desc.arch ?? 'x86_64';
  let e820: E820Entry[];
  if (desc.e820) {
    e820 = desc.e820.map((r, i) => {
      const start = num(r.start, `machine.e820[${i}].start`);
      const end = num(r.end, `machine.e820[${i}].end`);
      if (end <= start) throw new MmsimError('EMACHINE', `machine.e820[${i}]: end must be above start`, { path: `machine.e820[${i}]` });
      return { start, end, type: (r.type ?? 'usable') as E820Entry['type'] };
    });
  } else if (desc.nodes?.some((n) => n.ranges)) {
    e820 = desc.nodes.flatMap((n, i) => (n.ranges ?? []).map((r, j) => ({ start: num(r.start, `machine.nodes[${i}].ranges[${j}].start`), end: num(r.end, `machine.nodes[${i}].ranges[${j}].end`), type: 'usable' as const })));
  } else {
    const total = desc.memory !== undefined ? parseSize(desc.memory, 'machine.memory')
      : desc.nodes ? desc.nodes.reduce((s, n, i) => s + parseSize(n.memory ?? 0, `machine.nodes[${i}].memory`), 0) : NaN;
    if (!(total > 0)) throw new MmsimError('EMACHINE', 'machine: give `memory`, `e820` or `nodes`', { path: 'machine.memory' });
    if (total < 16 * MiB) throw new MmsimError('EMACHINE', `machine.memory: at least 16M is needed, got ${total} bytes`, { path: 'machine.memory' });
    e820 = qemuE820(total);
  }
  const ram = e820ToPfnRanges(e820);
  if (ram.length === 0) throw new MmsimError('EMACHINE', 'machine: no usable RAM', { path: 'machine' });

  const nodeDescs = desc.nodes && desc.nodes.length > 0 ? desc.nodes : [{}];
  const nrNodes = nodeDescs.length;
  const nodes: MachineLayout['nodes'] = [];
  if (nodeDescs.some((n) => n.ranges)) {
    nodeDescs.forEach((n, nid) => {
      if (!n.ranges) throw new MmsimError('EMACHINE', `machine.nodes[${nid}]: give ranges for every node or for none`, { path: `machine.nodes[${nid}].ranges` });
      const rs = e820ToPfnRanges(n.ranges.map((r, j) => ({ start: num(r.start, `machine.nodes[${nid}].ranges[${j}].start`), end: num(r.end, `machine.nodes[${nid}].ranges[${j}].end`), type: 'usable' as const })));
      nodes.push({ nid, ranges: rs, cpus: [] });
    });
  } else {
    const pool = ram.map((r) => ({ ...r }));
    const totalPages = ram.reduce((s, r) => s + r.end - r.start, 0);
    nodeDescs.forEach((n, nid) => {
      let pages: number;
      if (nid === nrNodes - 1) pages = Infinity;
      else if (n.memory !== undefined) pages = Math.floor(parseSize(n.memory, `machine.nodes[${nid}].memory`) / 4096);
      else pages = Math.floor(totalPages / nrNodes);
      const rs = takePages(pool, pages);
      if (rs.length === 0) throw new MmsimError('EMACHINE', `machine.nodes[${nid}]: no memory left for this node`, { path: `machine.nodes[${nid}].memory` });
      nodes.push({ nid, ranges: rs, cpus: [] });
    });
  }

  // CPUs: explicit ids, per-node counts, or `cpus` spread round-robin over nodes.
  const cpuTotal = desc.cpus ?? (nodeDescs.some((n) => n.cpus !== undefined) ? undefined : 1);
  if (cpuTotal !== undefined && (!Number.isInteger(cpuTotal) || cpuTotal < 1 || cpuTotal > 8192)) {
    throw new MmsimError('EMACHINE', `machine.cpus: expected an integer 1..8192, got ${cpuTotal}`, { path: 'machine.cpus' });
  }
  if (nodeDescs.some((n) => n.cpus !== undefined)) {
    let next = 0;
    nodeDescs.forEach((n, nid) => {
      const c = n.cpus ?? 0;
      nodes[nid]!.cpus = Array.isArray(c) ? [...c] : Array.from({ length: c }, () => next++);
      if (Array.isArray(c)) next = Math.max(next, ...c.map((x) => x + 1));
    });
  } else {
    for (let cpu = 0; cpu < cpuTotal!; cpu++) nodes[cpu % nrNodes]!.cpus.push(cpu);
  }

  const distances = desc.distances ?? nodes.map((_, i) => nodes.map((__, j) => (i === j ? 10 : 20)));
  if (distances.length !== nrNodes || distances.some((row) => row.length !== nrNodes)) {
    throw new MmsimError('EMACHINE', `machine.distances: expected a ${nrNodes}x${nrNodes} table`, { path: 'machine.distances' });
  }
  distances.forEach((row, i) => row.forEach((d, j) => {
    if (!Number.isInteger(d) || d < 10 || d > 254 || (i === j && d !== 10)) {
      throw new MmsimError('EMACHINE', `machine.distances[${i}][${j}]: expected 10 on the diagonal and 10..254 elsewhere, got ${d}`, { path: `machine.distances[${i}][${j}]` });
    }
  }));
  return { arch, nodes, distances, e820 };
}

export { PAGE_SHIFT };
