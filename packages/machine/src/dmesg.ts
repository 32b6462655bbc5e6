/**
 * Real boot logs → machines. Reads what an x86 kernel prints while it sets
 * up memory: the firmware map (`BIOS-e820:`), its own changes to it
 * (`e820: update`, `e820: remove`, MTRR trimming, a `user:` map after
 * `mem=`), the node ranges (`Early memory node ranges`, `SRAT:`), the
 * command line, the CPU count, and the numbers it printed for the zones
 * (so a simulated boot can be checked against them).
 * @module
 */
import { type E820Entry, type E820Type, e820RangeRemove, e820RangeUpdate, e820Sanitize, e820TypeFromString } from './e820.js';
import { MmsimError } from './errors.js';
import { kernelMajorMinor } from './kversion.js';
import type { MachineDescription } from './machine.js';

/** A pfn range with its node, as `Early memory node ranges` prints it. */
export interface NodePfnRange {
  nid: number;
  /** First pfn. */
  start: number;
  /** One past the last pfn. */
  end: number;
}

/** Per-zone numbers a boot log printed (free_area_init_core / zone_pcp_init). */
export interface PrintedZone {
  name: string;
  /** `N pages used for memmap` (kernels before 6.10). */
  memmapPages?: number;
  /** `N pages reserved` (DMA only, kernels before 6.10). */
  reserved?: number;
  /** `N pages, LIFO batch:M`: present pages. */
  present?: number;
  /** `LIFO batch:M` */
  batch?: number;
}

/** The memory-setup numbers a boot log printed. */
export interface PrintedBoot {
  /** `Zone ranges:`: zone name → [start, end] bytes (end inclusive), or null when `empty`. */
  zoneRanges: { name: string; range: [number, number] | null }[];
  /** `Movable zone start for each node`: nid → start bytes. */
  movableStart: { nid: number; start: number }[];
  /** `On node N totalpages: M` and the zone lines after it. */
  nodes: { nid: number; totalpages?: number; zones: PrintedZone[] }[];
  /** `Built N zonelists, mobility grouping on.  Total pages: M` */
  zonelists?: number;
  mobilityGrouping?: boolean;
  totalPages?: number;
  /** `Zeroed struct page in unavailable ranges: N pages` (4.19..5.11). */
  zeroedUnavailable?: number;
}

/** Everything the parser took from a boot log. */
export interface DmesgInfo {
  /** File name (for messages). */
  source: string;
  /** `Linux version 5.4.0-100-generic ...` → '5.4.0-100-generic'. */
  release?: string;
  /** Major.minor of the release ('5.4'). */
  kernel?: string;
  /** `Command line:` */
  cmdline?: string;
  /** The firmware map as printed (`BIOS-e820:`). */
  biosE820: E820Entry[];
  /** The map memblock was built from: the firmware map with the updates printed before memblock was set up (or the `user:` map). */
  e820: E820Entry[];
  /** Every update applied (what /sys/firmware/memmap would differ by). */
  e820Final: E820Entry[];
  /** `Early memory node ranges`, in pfns. */
  nodeRanges: NodePfnRange[];
  /** `SRAT: Node N PXM P [mem ...]` memory affinity, in pfns. */
  sratRanges: NodePfnRange[];
  /** `SRAT: PXM P -> APIC 0x.. -> Node N`: node of each CPU, in the order listed. */
  cpuNodes: number[];
  /** Present CPUs (`smpboot: Allowing N CPUs, M hotplug CPUs` → N - M, or nr_cpu_ids). */
  cpus?: number;
  /** `DMA zone: N pages reserved` (dma_reserve). */
  dmaReserve?: number;
  /** What the kernel printed about its zones. */
  printed: PrintedBoot;
}

/** Strips a `[    0.000000] ` timestamp, a `<6>` level and a syslog `... kernel: ` prefix. */
function stripPrefix(line: string): string {
  let s = line.replace(/\r$/, '');
  const sys = /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: /.exec(s);
  if (sys) s = s.slice(sys[0].length);
  s = s.replace(/^<\d+>/, '');
  const ts = /^\[\s*\d+\.\d+\] ?/.exec(s);
  if (ts) s = s.slice(ts[0].length);
  return s;
}

const HEX = '0x[0-9a-fA-F]+';
const MEM = new RegExp(`\\[mem (${HEX})-(${HEX})\\]`);

/** MAX_NUMNODES with x86_64's largest CONFIG_NODES_SHIFT (10). */
const MAX_NUMNODES = 1 << 10;
/** NR_CPUS (CONFIG_MAXSMP), the config's bound too. */
const NR_CPUS = 8192;

/** Lines printed after e820__memblock_setup(): e820 updates after these no longer change what memblock holds. */
const AFTER_MEMBLOCK = /^(esrt: |check: Scanning|Using GB pages|init_memory_mapping|RAMDISK: |ACPI: |MEMBLOCK configuration|BRK \[|No NUMA configuration|SRAT: |NUMA: |Faking a node|NODE_DATA|Zone ranges:|Early memory node ranges|Initmem setup)/;

/** Parses a boot log. Lines it does not know are skipped; a known line it cannot read is an EPARSE error naming the line. */
export function parseDmesg(text: string, source = 'dmesg'): DmesgInfo {
  const info: DmesgInfo = {
    source, biosE820: [], e820: [], e820Final: [], nodeRanges: [], sratRanges: [], cpuNodes: [],
    printed: { zoneRanges: [], movableStart: [], nodes: [] },
  };
  const lines = text.split('\n');
  let map: E820Entry[] = [];
  let memblockMap: E820Entry[] | null = null;
  let userMap: E820Entry[] | null = null;
  let inUserMap = false;
  let section: 'zones' | 'movable' | 'nodes' | null = null;
  let nid = 0;
  let smpCpus: number | undefined;
  let cpuIds: number | undefined;
  let slubCpus: number | undefined;
  const bad = (n: number, what: string, raw: string): never => {
    throw new MmsimError('EPARSE', `${source}:${n + 1}: malformed ${what} line: '${raw.trim()}'`, { path: source, details: { line: n + 1, text: raw } });
  };
  const range = (s: string, n: number, what: string, raw: string): [number, number] => {
    const m = MEM.exec(s);
    if (!m) return bad(n, what, raw);
    const a = parseInt(m[1]!, 16);
    const b = parseInt(m[2]!, 16);
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || b < a) return bad(n, what, raw);
    return [a, b + 1];
  };
  const printedNode = (id: number) => {
    let p = info.printed.nodes.find((x) => x.nid === id);
    if (!p) info.printed.nodes.push((p = { nid: id, zones: [] }));
    return p;
  };
  const printedZone = (id: number, name: string) => {
    const p = printedNode(id);
    let z = p.zones.find((x) => x.name === name);
    if (!z) p.zones.push((z = { name }));
    return z;
  };

  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const s = stripPrefix(raw);
    const t = s.trim();
    if (!t) continue;
    if (memblockMap === null && AFTER_MEMBLOCK.test(t)) memblockMap = (userMap ?? map).map((e) => ({ ...e }));

    if (t.startsWith('Linux version ')) {
      const m = /^Linux version (\S+)/.exec(t);
      if (!m || !/^\d+\.\d+/.test(m[1]!)) bad(n, 'Linux version', raw);
      info.release = m![1]!;
      info.kernel = kernelMajorMinor(m![1]!);
      continue;
    }
    if (t.startsWith('Command line:')) {
      info.cmdline = t.slice('Command line:'.length).trim();
      continue;
    }
    if (t.startsWith('BIOS-e820:')) {
      const rest = t.slice('BIOS-e820:'.length).trim();
      let e: E820Entry | undefined;
      const m = new RegExp(`^\\[mem (${HEX})-(${HEX})\\] (.+)$`).exec(rest);
      if (m) {
        const type = e820TypeFromString(m[3]!);
        const a = parseInt(m[1]!, 16);
        const b = parseInt(m[2]!, 16) + 1;
        if (type && b > a) e = { start: a, end: b, type };
      } else {
        // 2.6/3.x: "BIOS-e820: 0000000000000000 - 000000000009fc00 (usable)", end exclusive
        const o = /^([0-9a-fA-F]+) - ([0-9a-fA-F]+) \((.+)\)$/.exec(rest);
        const type = o ? e820TypeFromString(o[3]!) : undefined;
        if (o && type) e = { start: parseInt(o[1]!, 16), end: parseInt(o[2]!, 16), type };
      }
      if (!e) bad(n, 'BIOS-e820', raw);
      info.biosE820.push(e!);
      map.push({ ...e! });
      continue;
    }
    if (/^e820[: ]+update/.test(t)) {
      // "e820: update [mem 0x00000000-0x00000fff] usable ==> reserved"; 3.x: "e820 update range: 0000000000000000 - 0000000000010000 (usable) ==> (reserved)"
      const m = new RegExp(`^e820: update \\[mem (${HEX})-(${HEX})\\] (.+?) ==> (.+)$`).exec(t);
      const o = /^e820 update range: ([0-9a-fA-F]+) - ([0-9a-fA-F]+) \((.+)\) ==> \((.+)\)$/.exec(t);
      let a: number;
      let b: number;
      let from: E820Type | undefined;
      let to: E820Type | undefined;
      if (m) {
        a = parseInt(m[1]!, 16);
        b = parseInt(m[2]!, 16) + 1;
        from = e820TypeFromString(m[3]!);
        to = e820TypeFromString(m[4]!);
      } else if (o) {
        a = parseInt(o[1]!, 16);
        b = parseInt(o[2]!, 16);
        from = e820TypeFromString(o[3]!);
        to = e820TypeFromString(o[4]!);
      } else {
        return bad(n, 'e820 update', raw);
      }
      if (!from || !to || !(b > a)) bad(n, 'e820 update', raw);
      map = e820RangeUpdate(map, a, b, from!, to!);
      if (userMap) userMap = e820RangeUpdate(userMap, a, b, from!, to!);
      continue;
    }
    if (/^e820[: ]+remove/.test(t)) {
      // "e820: remove [mem 0x000a0000-0x000fffff] usable"; 3.x: "e820 remove range: 00000000000a0000 - 0000000000100000 (usable)"
      const m = new RegExp(`^e820: remove \\[mem (${HEX})-(${HEX})\\]\\s*(.*)$`).exec(t);
      const o = /^e820 remove range: ([0-9a-fA-F]+) - ([0-9a-fA-F]+)(?: \((.+)\))?$/.exec(t);
      let a: number;
      let b: number;
      let type: string | undefined;
      if (m) {
        a = parseInt(m[1]!, 16);
        b = parseInt(m[2]!, 16) + 1;
        type = m[3] || undefined;
      } else if (o) {
        a = parseInt(o[1]!, 16);
        b = parseInt(o[2]!, 16);
        type = o[3];
      } else {
        return bad(n, 'e820 remove', raw);
      }
      const tt = type === undefined ? undefined : e820TypeFromString(type);
      if ((type !== undefined && !tt) || !(b > a)) bad(n, 'e820 remove', raw);
      map = e820RangeRemove(map, a, b, tt);
      if (userMap) userMap = e820RangeRemove(userMap, a, b, tt);
      continue;
    }
    if (/^(e820: )?user-defined physical RAM map:$/.test(t)) {
      userMap = [];
      inUserMap = true;
      continue;
    }
    if (inUserMap && t.startsWith('user:')) {
      const m = new RegExp(`^user: \\[mem (${HEX})-(${HEX})\\] (.+)$`).exec(t);
      const type = m ? e820TypeFromString(m[3]!) : undefined;
      if (!m || !type) bad(n, 'user e820', raw);
      userMap!.push({ start: parseInt(m![1]!, 16), end: parseInt(m![2]!, 16) + 1, type: type! });
      continue;
    }
    inUserMap = false;

    if (t === 'Zone ranges:') {
      section = 'zones';
      continue;
    }
    if (t === 'Movable zone start for each node') {
      section = 'movable';
      continue;
    }
    if (t === 'Early memory node ranges') {
      section = 'nodes';
      continue;
    }
    if (section === 'zones') {
      const m = /^(DMA32|DMA|Normal|HighMem|Movable|Device)\s+(.*)$/.exec(t);
      if (m) {
        if (m[2] === 'empty') info.printed.zoneRanges.push({ name: m[1]!, range: null });
        else {
          const [a, b] = range(m[2]!, n, 'Zone ranges', raw);
          info.printed.zoneRanges.push({ name: m[1]!, range: [a, b - 1] });
        }
        continue;
      }
      section = null;
    }
    if (section === 'movable') {
      const m = /^Node (\d+): (0x[0-9a-fA-F]+)$/.exec(t);
      if (m) {
        info.printed.movableStart.push({ nid: Number(m[1]), start: parseInt(m[2]!, 16) });
        continue;
      }
      if (/^Node \d+:/.test(t)) bad(n, 'Movable zone start', raw);
      section = null;
    }
    if (section === 'nodes') {
      if (/^node\s+\d+:/.test(t)) {
        const m = /^node\s+(\d+): (.*)$/.exec(t);
        if (!m) return bad(n, 'node range', raw);
        const [a, b] = range(m[2]!, n, 'node range', raw);
        info.nodeRanges.push({ nid: Number(m[1]), start: Math.ceil(a / 4096), end: Math.floor(b / 4096) });
        continue;
      }
      section = null;
    }

    let m: RegExpExecArray | null;
    if ((m = /^SRAT: Node (\d+) PXM \d+ (.*)$/.exec(t))) {
      const [a, b] = range(m[2]!, n, 'SRAT memory affinity', raw);
      info.sratRanges.push({ nid: Number(m[1]), start: Math.ceil(a / 4096), end: Math.floor(b / 4096) });
      continue;
    }
    if ((m = /^SRAT: PXM \d+ -> (?:X2)?APIC 0x[0-9a-fA-F]+ -> Node (\d+)$/.exec(t))) {
      info.cpuNodes.push(Number(m[1]));
      continue;
    }
    if (t.startsWith('smpboot: Allowing')) {
      m = /^smpboot: Allowing (\d+) CPUs, (\d+) hotplug CPUs$/.exec(t);
      if (!m) bad(n, 'smpboot', raw);
      smpCpus = Math.max(1, Number(m![1]) - Number(m![2]));
      continue;
    }
    if ((m = /nr_cpu_ids:(\d+)/.exec(t)) && t.startsWith('setup_percpu:')) {
      cpuIds = Number(m[1]);
      continue;
    }
    if ((m = /^SLUB: .*CPUs=(\d+)/.exec(t))) {
      slubCpus = Number(m[1]);
      continue;
    }
    if ((m = /^(?:Initmem setup node|On node) (\d+)/.exec(t))) {
      nid = Number(m[1]);
      if (t.startsWith('On node') && /totalpages/.test(t)) {
        const x = /^On node (\d+) totalpages: (\d+)$/.exec(t);
        if (!x) bad(n, 'totalpages', raw);
        printedNode(nid).totalpages = Number(x![2]);
        continue;
      }
      const u = /^On node (\d+), zone (\w+): (\d+) pages in unavailable ranges$/.exec(t);
      if (u) continue;
      continue;
    }
    if ((m = /^(DMA32|DMA|Normal|HighMem|Movable) zone: (.*)$/.exec(t))) {
      const z = printedZone(nid, m[1]!);
      const rest = m[2]!;
      let x: RegExpExecArray | null;
      if ((x = /^(\d+) pages used for memmap$/.exec(rest))) z.memmapPages = Number(x[1]);
      else if ((x = /^(\d+) pages reserved$/.exec(rest))) {
        z.reserved = Number(x[1]);
        info.dmaReserve = Number(x[1]);
      } else if ((x = /^(\d+) pages, LIFO batch:(\d+)$/.exec(rest))) {
        z.present = Number(x[1]);
        z.batch = Number(x[2]);
      } else if (!/exceeds freesize/.test(rest)) bad(n, 'zone', raw);
      continue;
    }
    if (t.startsWith('Built ') && t.includes('zonelists')) {
      m = /^Built (\d+) zonelists(?: in \w+ order)?, mobility grouping (on|off)\.\s+Total pages: (\d+)$/.exec(t);
      if (!m) bad(n, 'Built zonelists', raw);
      info.printed.zonelists = Number(m![1]);
      info.printed.mobilityGrouping = m![2] === 'on';
      info.printed.totalPages = Number(m![3]);
      continue;
    }
    if ((m = /^Zeroed struct page in unavailable ranges: (\d+) pages$/.exec(t))) {
      info.printed.zeroedUnavailable = Number(m[1]);
      continue;
    }
  }
  info.cpus = smpCpus ?? cpuIds ?? slubCpus ?? (info.cpuNodes.length || undefined);
  // NR_CPUS (8192, as the config allows): a larger count is a garbled line, and would size per-CPU arrays past memory (found by fuzzing)
  if (info.cpus !== undefined && !(Number.isSafeInteger(info.cpus) && info.cpus <= NR_CPUS)) {
    throw new MmsimError('EPARSE', `${source}: ${info.cpus} CPUs is beyond NR_CPUS (${NR_CPUS})`, { path: source, details: { cpus: info.cpus } });
  }
  const finalMap = e820Sanitize(userMap ?? map);
  info.e820Final = finalMap;
  info.e820 = e820Sanitize(memblockMap ?? finalMap);
  if (info.biosE820.length === 0 && info.nodeRanges.length === 0) {
    throw new MmsimError('EPARSE', `${source}: no BIOS-e820 lines and no 'Early memory node ranges': not an x86 boot log (or it starts too late)`, { path: source });
  }
  return info;
}

/** RAM pfn ranges memblock held (memblock_add of usable entries, partial pages trimmed). */
function ramRanges(e820: readonly E820Entry[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const e of e820) {
    if (e.type !== 'usable') continue;
    const s = Math.ceil(e.start / 4096);
    const t = Math.floor(e.end / 4096);
    if (t > s) out.push({ start: s, end: t });
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * The machine a boot log describes: node ranges as the kernel printed them
 * (or memblock's RAM split by SRAT), CPUs per node, the command line, the
 * DMA reserve, and the kernel version for version-dependent formulas.
 */
export function machineFromDmesg(info: DmesgInfo): MachineDescription & { kernel?: string } {
  let ranges: NodePfnRange[];
  if (info.nodeRanges.length) {
    ranges = info.nodeRanges.filter((r) => r.end > r.start);
  } else {
    const ram = ramRanges(info.e820);
    if (info.sratRanges.length) {
      ranges = [];
      for (const r of ram) {
        for (const s of info.sratRanges) {
          const a = Math.max(r.start, s.start);
          const b = Math.min(r.end, s.end);
          if (b > a) ranges.push({ nid: s.nid, start: a, end: b });
        }
      }
    } else {
      ranges = ram.map((r) => ({ nid: 0, ...r }));
    }
    // x86 never hands out page 0 (trim_bios_range); an unmodified firmware map still lists it
    if (ranges[0]?.start === 0) ranges[0].start = 1;
    ranges = ranges.filter((r) => r.end > r.start);
  }
  if (!ranges.length) throw new MmsimError('EPARSE', `${info.source}: the boot log describes no usable RAM`, { path: info.source });
  const nids = [...new Set(ranges.map((r) => r.nid))].sort((a, b) => a - b);
  const maxNid = nids[nids.length - 1]!;
  // MAX_NUMNODES (CONFIG_NODES_SHIFT ≤ 10 on x86_64): a larger id is a garbled line, not a machine (found by fuzzing)
  if (!Number.isSafeInteger(maxNid) || maxNid >= MAX_NUMNODES) throw new MmsimError('EPARSE', `${info.source}: node ${maxNid} is beyond MAX_NUMNODES (${MAX_NUMNODES})`, { path: info.source, details: { nid: maxNid } });
  const nodes: NonNullable<MachineDescription['nodes']> = [];
  const cpuCount = info.cpus ?? 1;
  const perNode = Array.from({ length: maxNid + 1 }, () => [] as number[]);
  if (info.cpuNodes.length && maxNid > 0) {
    info.cpuNodes.slice(0, cpuCount).forEach((node, cpu) => perNode[Math.min(node, maxNid)]!.push(cpu));
  } else {
    for (let cpu = 0; cpu < cpuCount; cpu++) perNode[nids[cpu % nids.length]!]!.push(cpu);
  }
  for (let id = 0; id <= maxNid; id++) {
    const rs = ranges.filter((r) => r.nid === id).map((r) => ({ start: r.start * 4096, end: r.end * 4096 }));
    if (!rs.length) throw new MmsimError('EPARSE', `${info.source}: node ${id} has no memory (memoryless nodes are not simulated)`, { path: info.source });
    nodes.push({ ranges: rs, cpus: perNode[id]! });
  }
  const desc: MachineDescription & { kernel?: string } = { nodes, e820: info.e820Final.map((e) => ({ ...e })) };
  if (info.cmdline) desc.cmdline = info.cmdline;
  if (info.dmaReserve !== undefined) desc.dmaReserve = info.dmaReserve;
  if (info.kernel) desc.kernel = info.kernel;
  return desc;
}
