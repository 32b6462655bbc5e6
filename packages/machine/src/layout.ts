/**
 * Machine descriptions → physical memory layout: the e820-style RAM ranges
 * each node owns. The shorthand `{ memory: '4G', cpus: 2 }` lays RAM out as a
 * QEMU/KVM x86_64 guest's firmware does (below 640 KiB, from 1 MiB up to the
 * PCI hole, the rest above 4 GiB). A machine can also come from a real boot
 * log (`{ dmesg: 'path' }`) or a real /proc/zoneinfo (`{ zoneinfo: 'path' }`),
 * read by {@link importMachine}.
 * @module
 */
import {
  type CoreSpec, type MachineDescription, type MachineLayout, MmsimError, parseSize,
  type PfnRange, type ZoneSpec, type E820Entry,
} from '@mmsim/core';
import { e820RangeRemove, e820ToPfnRanges, qemuE820 } from './e820.js';
import { type ImportedMachine, importMachine as defaultImporter, type MachineImporter } from './machine.js';

const MiB = 2 ** 20;

function num(v: number | string, path: string): number {
  return parseSize(v, path);
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

/** cmdline_parse_core(): `512M`, `25%`, or `mirror`. */
function parseCore(v: string, path: string): CoreSpec {
  if (v === 'mirror') return { mirror: true };
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(v);
  if (pct) {
    const p = Number(pct[1]);
    if (p > 100) throw new MmsimError('EMACHINE', `${path}: ${v} is more than 100%`, { path });
    return { percent: Math.floor(p * 100) }; // in 1/100 %, as the kernel keeps it
  }
  return { pages: Math.floor(parseSize(v, path) / 4096) };
}

/** The memory options of a kernel command line: mem=, kernelcore=, movablecore= (the last of each wins, as early_param does). */
export function parseCmdline(cmdline: string, path = 'machine.cmdline'): { mem?: number; kernelcore?: CoreSpec; movablecore?: CoreSpec } {
  const out: { mem?: number; kernelcore?: CoreSpec; movablecore?: CoreSpec } = {};
  for (const word of cmdline.trim().split(/\s+/)) {
    const m = /^(mem|kernelcore|movablecore)=(.+)$/.exec(word);
    if (!m) continue;
    if (m[1] === 'mem') {
      if (m[2] === 'nopentium') continue;
      out.mem = parseSize(m[2]!, `${path} mem=`);
    } else {
      out[m[1] as 'kernelcore' | 'movablecore'] = parseCore(m[2]!, `${path} ${m[1]}=`);
    }
  }
  return out;
}

/** Validates a machine description (reading a boot log or /proc/zoneinfo it names) and lays its RAM out over nodes. */
export function layoutMachine(input: MachineDescription, importMachine: MachineImporter = defaultImporter): MachineLayout {
  const { desc, kernel, bootLog, source }: ImportedMachine = importMachine(input);
  const arch = desc.arch ?? 'x86_64';
  const cmd = parseCmdline(desc.cmdline ?? '');
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
  // mem=: RAM above that address is dropped (parse_memopt → e820__range_remove)
  const clip = (m: E820Entry[]) => (cmd.mem !== undefined ? e820RangeRemove(m, cmd.mem, Number.MAX_SAFE_INTEGER, 'usable') : m);
  e820 = clip(e820);
  const ram = e820ToPfnRanges(e820);
  if (ram.length === 0) throw new MmsimError('EMACHINE', 'machine: no usable RAM', { path: 'machine' });

  const nodeDescs = desc.nodes && desc.nodes.length > 0 ? desc.nodes : [{}];
  const nrNodes = nodeDescs.length;
  const nodes: MachineLayout['nodes'] = [];
  if (nodeDescs.some((n) => n.ranges)) {
    nodeDescs.forEach((n, nid) => {
      if (!n.ranges) throw new MmsimError('EMACHINE', `machine.nodes[${nid}]: give ranges for every node or for none`, { path: `machine.nodes[${nid}].ranges` });
      const rs = e820ToPfnRanges(clip(n.ranges.map((r, j) => ({ start: num(r.start, `machine.nodes[${nid}].ranges[${j}].start`), end: num(r.end, `machine.nodes[${nid}].ranges[${j}].end`), type: 'usable' as const }))));
      if (rs.length === 0) throw new MmsimError('EMACHINE', `machine.nodes[${nid}]: no RAM in this node's ranges`, { path: `machine.nodes[${nid}].ranges` });
      nodes.push({ nid, ranges: rs, cpus: [] });
    });
    const all = nodes.flatMap((n) => n.ranges.map((r) => ({ ...r, nid: n.nid }))).sort((a, b) => a.start - b.start);
    for (let i = 1; i < all.length; i++) {
      if (all[i]!.start < all[i - 1]!.end) {
        throw new MmsimError('EMACHINE', `machine.nodes[${all[i]!.nid}]: its range at 0x${(all[i]!.start * 4096).toString(16)} overlaps node ${all[i - 1]!.nid}`, { path: `machine.nodes[${all[i]!.nid}].ranges` });
      }
    }
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
    const seen = new Set<number>();
    for (const n of nodes) {
      for (const c of n.cpus) {
        if (seen.has(c)) throw new MmsimError('EMACHINE', `machine.nodes[${n.nid}].cpus: CPU ${c} is on two nodes`, { path: `machine.nodes[${n.nid}].cpus` });
        seen.add(c);
      }
    }
    if (seen.size === 0) throw new MmsimError('EMACHINE', 'machine.nodes: no node has a CPU', { path: 'machine.nodes' });
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
  if (desc.dmaReserve !== undefined && (!Number.isInteger(desc.dmaReserve) || desc.dmaReserve < 0)) {
    throw new MmsimError('EMACHINE', `machine.dmaReserve: expected a page count, got ${desc.dmaReserve}`, { path: 'machine.dmaReserve' });
  }
  const numa = { localNs: desc.numa?.localNs ?? 100, remotePercent: desc.numa?.remotePercent ?? 30 };
  if (!(numa.localNs >= 0) || !(numa.remotePercent >= 0)) throw new MmsimError('EMACHINE', 'machine.numa: costs must be non-negative', { path: 'machine.numa' });
  const layout: MachineLayout = { arch, nodes, distances, e820, numa };
  if (desc.cmdline !== undefined) layout.cmdline = desc.cmdline;
  if (cmd.kernelcore) layout.kernelcore = cmd.kernelcore;
  if (cmd.movablecore) layout.movablecore = cmd.movablecore;
  if (desc.dmaReserve !== undefined) layout.dmaReserve = desc.dmaReserve;
  if (desc.llc !== undefined) layout.llcBytes = parseSize(desc.llc, 'machine.llc');
  if (desc.zones) layout.zones = checkZoneSpecs(desc.zones, nodes);
  if (kernel) layout.kernel = kernel;
  if (bootLog) layout.bootLog = bootLog;
  if (source) layout.source = source;
  return layout;
}

function checkZoneSpecs(specs: ZoneSpec[], nodes: MachineLayout['nodes']): ZoneSpec[] {
  specs.forEach((z, i) => {
    const path = `machine.zones[${i}]`;
    if (!nodes.some((n) => n.nid === z.nid)) throw new MmsimError('EMACHINE', `${path}: node ${z.nid} does not exist`, { path });
    for (const k of ['start', 'spanned', 'present', 'managed'] as const) {
      if (!Number.isInteger(z[k]) || z[k] < 0) throw new MmsimError('EMACHINE', `${path}.${k}: expected a non-negative integer`, { path: `${path}.${k}` });
    }
    if (z.present > z.spanned || z.managed > z.present) throw new MmsimError('EMACHINE', `${path}: expected managed ≤ present ≤ spanned`, { path });
  });
  return specs.map((z) => ({ ...z }));
}

