/**
 * Real boot logs → machines. Reads what an x86 kernel prints while it sets
 * up memory: the firmware map (`BIOS-e820:`), its own changes to it
 * (`e820: update`, `e820: remove`, MTRR trimming, a `user:` map after
 * `mem=`), the node ranges (`Early memory node ranges`, `SRAT:`), the
 * command line, the CPU count, and the numbers it printed for the zones
 * (so a simulated boot can be checked against them).
 * @module
 */
import { type E820Entry, type E820Type, kernelMajorMinor, type MachineDescription, MmsimError } from '@mmsim/core';
import { e820RangeRemove, e820RangeUpdate, e820Sanitize, e820TypeFromString } from './e820.js';

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

/** One line of the log, as the stages see it. */
interface LogLine {
  /** 0-based line number. */
  n: number;
  /** The line as the log has it (for messages). */
  raw: string;
  /** Without its prefix, trimmed. */
  t: string;
}

/** What the parser carries from line to line. */
interface DmesgState {
  info: DmesgInfo;
  /** The e820 map with every update printed so far applied. */
  map: E820Entry[];
  /** The map as it stood when memblock was set up (e820__memblock_setup), once a later line shows it was. */
  memblockMap: E820Entry[] | null;
  /** The `user:` map printed after `mem=` / `memmap=`. */
  userMap: E820Entry[] | null;
  inUserMap: boolean;
  /** The multi-line printout being read (free_area_init's). */
  section: 'zones' | 'movable' | 'nodes' | null;
  /** The node of the zone lines that follow (`Initmem setup node N`, `On node N`). */
  nid: number;
  smpCpus?: number;
  cpuIds?: number;
  slubCpus?: number;
}

/** EPARSE naming the file, the line and what kind of line it failed to read. */
function bad(st: DmesgState, l: LogLine, what: string): never {
  const source = st.info.source;
  throw new MmsimError('EPARSE', `${source}:${l.n + 1}: malformed ${what} line: '${l.raw.trim()}'`, { path: source, details: { line: l.n + 1, text: l.raw } });
}

/** The `[mem 0x...-0x...]` of `s` as bytes [start, end). */
function memRange(st: DmesgState, s: string, l: LogLine, what: string): [number, number] {
  const m = MEM.exec(s);
  if (!m) return bad(st, l, what);
  const a = parseInt(m[1]!, 16);
  const b = parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || b < a) return bad(st, l, what);
  return [a, b + 1];
}

function printedNode(info: DmesgInfo, id: number): PrintedBoot['nodes'][number] {
  let p = info.printed.nodes.find((x) => x.nid === id);
  if (!p) info.printed.nodes.push((p = { nid: id, zones: [] }));
  return p;
}

function printedZone(info: DmesgInfo, id: number, name: string): PrintedZone {
  const p = printedNode(info, id);
  let z = p.zones.find((x) => x.name === name);
  if (!z) p.zones.push((z = { name }));
  return z;
}

/**
 * A stage of the parser: one kind of boot line. It reads a line of its
 * kind into the state and returns true, or returns false to pass the line
 * on to the next stage.
 */
type Stage = (st: DmesgState, l: LogLine) => boolean;

/** `Linux version 5.4.0-100-generic ...` (start_kernel's linux_banner). */
const kernelVersion: Stage = (st, l) => {
  if (!l.t.startsWith('Linux version ')) return false;
  const m = /^Linux version (\S+)/.exec(l.t);
  if (!m || !/^\d+\.\d+/.test(m[1]!)) bad(st, l, 'Linux version');
  st.info.release = m![1]!;
  st.info.kernel = kernelMajorMinor(m![1]!);
  return true;
};

/** `Command line: ...` */
const commandLine: Stage = (st, l) => {
  if (!l.t.startsWith('Command line:')) return false;
  st.info.cmdline = l.t.slice('Command line:'.length).trim();
  return true;
};

/** `BIOS-e820: [mem ...] type`, or 2.6/3.x's `BIOS-e820: start - end (type)` (e820__print_table of the firmware map). */
const biosE820: Stage = (st, l) => {
  if (!l.t.startsWith('BIOS-e820:')) return false;
  const rest = l.t.slice('BIOS-e820:'.length).trim();
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
  if (!e) bad(st, l, 'BIOS-e820');
  st.info.biosE820.push(e!);
  st.map.push({ ...e! });
  return true;
};

/** The kernel's own change of a range's type (e820__range_update). */
const e820Update: Stage = (st, l) => {
  const t = l.t;
  if (!/^e820[: ]+update/.test(t)) return false;
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
    return bad(st, l, 'e820 update');
  }
  if (!from || !to || !(b > a)) bad(st, l, 'e820 update');
  st.map = e820RangeUpdate(st.map, a, b, from!, to!);
  if (st.userMap) st.userMap = e820RangeUpdate(st.userMap, a, b, from!, to!);
  return true;
};

/** The kernel's own removal of a range (e820__range_remove). */
const e820Remove: Stage = (st, l) => {
  const t = l.t;
  if (!/^e820[: ]+remove/.test(t)) return false;
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
    return bad(st, l, 'e820 remove');
  }
  const tt = type === undefined ? undefined : e820TypeFromString(type);
  if ((type !== undefined && !tt) || !(b > a)) bad(st, l, 'e820 remove');
  st.map = e820RangeRemove(st.map, a, b, tt);
  if (st.userMap) st.userMap = e820RangeRemove(st.userMap, a, b, tt);
  return true;
};

/** `user-defined physical RAM map:` and its `user:` lines (printed after mem= / memmap=); any other line ends the map. */
const userE820: Stage = (st, l) => {
  const t = l.t;
  if (/^(e820: )?user-defined physical RAM map:$/.test(t)) {
    st.userMap = [];
    st.inUserMap = true;
    return true;
  }
  if (st.inUserMap && t.startsWith('user:')) {
    const m = new RegExp(`^user: \\[mem (${HEX})-(${HEX})\\] (.+)$`).exec(t);
    const type = m ? e820TypeFromString(m[3]!) : undefined;
    if (!m || !type) bad(st, l, 'user e820');
    st.userMap!.push({ start: parseInt(m![1]!, 16), end: parseInt(m![2]!, 16) + 1, type: type! });
    return true;
  }
  st.inUserMap = false;
  return false;
};

/** The headers of free_area_init()'s printouts: `Zone ranges:`, `Movable zone start for each node`, `Early memory node ranges`. */
const sectionHeader: Stage = (st, l) => {
  const section = l.t === 'Zone ranges:' ? 'zones' : l.t === 'Movable zone start for each node' ? 'movable' : l.t === 'Early memory node ranges' ? 'nodes' : null;
  if (!section) return false;
  st.section = section;
  return true;
};

/** A line of `Zone ranges:`: `  DMA      [mem ...]` or `empty`; any other line ends the printout. */
const zoneRange: Stage = (st, l) => {
  if (st.section !== 'zones') return false;
  const m = /^(DMA32|DMA|Normal|HighMem|Movable|Device)\s+(.*)$/.exec(l.t);
  if (!m) {
    st.section = null;
    return false;
  }
  if (m[2] === 'empty') st.info.printed.zoneRanges.push({ name: m[1]!, range: null });
  else {
    const [a, b] = memRange(st, m[2]!, l, 'Zone ranges');
    st.info.printed.zoneRanges.push({ name: m[1]!, range: [a, b - 1] });
  }
  return true;
};

/** A line of `Movable zone start for each node`: `  Node N: 0x...`; any other line ends the printout. */
const movableZoneStart: Stage = (st, l) => {
  if (st.section !== 'movable') return false;
  const m = /^Node (\d+): (0x[0-9a-fA-F]+)$/.exec(l.t);
  if (m) {
    st.info.printed.movableStart.push({ nid: Number(m[1]), start: parseInt(m[2]!, 16) });
    return true;
  }
  if (/^Node \d+:/.test(l.t)) bad(st, l, 'Movable zone start');
  st.section = null;
  return false;
};

/** A line of `Early memory node ranges`: `  node   N: [mem ...]`, in whole pages; any other line ends the printout. */
const nodeRange: Stage = (st, l) => {
  if (st.section !== 'nodes') return false;
  if (!/^node\s+\d+:/.test(l.t)) {
    st.section = null;
    return false;
  }
  const m = /^node\s+(\d+): (.*)$/.exec(l.t);
  if (!m) return bad(st, l, 'node range');
  const [a, b] = memRange(st, m[2]!, l, 'node range');
  st.info.nodeRanges.push({ nid: Number(m[1]), start: Math.ceil(a / 4096), end: Math.floor(b / 4096) });
  return true;
};

/** ACPI SRAT: memory affinity (`SRAT: Node N PXM P [mem ...]`) and the node of each CPU (`SRAT: PXM P -> APIC 0x.. -> Node N`). */
const srat: Stage = (st, l) => {
  let m: RegExpExecArray | null;
  if ((m = /^SRAT: Node (\d+) PXM \d+ (.*)$/.exec(l.t))) {
    const [a, b] = memRange(st, m[2]!, l, 'SRAT memory affinity');
    st.info.sratRanges.push({ nid: Number(m[1]), start: Math.ceil(a / 4096), end: Math.floor(b / 4096) });
    return true;
  }
  if ((m = /^SRAT: PXM \d+ -> (?:X2)?APIC 0x[0-9a-fA-F]+ -> Node (\d+)$/.exec(l.t))) {
    st.info.cpuNodes.push(Number(m[1]));
    return true;
  }
  return false;
};

/** The CPU count, from whichever of these the log has: `smpboot: Allowing N CPUs, M hotplug CPUs`, `setup_percpu: ... nr_cpu_ids:N`, `SLUB: ... CPUs=N`. */
const cpuCount: Stage = (st, l) => {
  const t = l.t;
  let m: RegExpExecArray | null;
  if (t.startsWith('smpboot: Allowing')) {
    m = /^smpboot: Allowing (\d+) CPUs, (\d+) hotplug CPUs$/.exec(t);
    if (!m) bad(st, l, 'smpboot');
    st.smpCpus = Math.max(1, Number(m![1]) - Number(m![2]));
    return true;
  }
  if ((m = /nr_cpu_ids:(\d+)/.exec(t)) && t.startsWith('setup_percpu:')) {
    st.cpuIds = Number(m[1]);
    return true;
  }
  if ((m = /^SLUB: .*CPUs=(\d+)/.exec(t))) {
    st.slubCpus = Number(m[1]);
    return true;
  }
  return false;
};

/** `Initmem setup node N [mem ...]`, `On node N totalpages: M` (free_area_init_node): the node the zone lines after it are about. */
const nodeHeader: Stage = (st, l) => {
  const t = l.t;
  const m = /^(?:Initmem setup node|On node) (\d+)/.exec(t);
  if (!m) return false;
  st.nid = Number(m[1]);
  if (t.startsWith('On node') && /totalpages/.test(t)) {
    const x = /^On node (\d+) totalpages: (\d+)$/.exec(t);
    if (!x) bad(st, l, 'totalpages');
    printedNode(st.info, st.nid).totalpages = Number(x![2]);
  }
  // `On node N, zone Z: M pages in unavailable ranges` (5.12+): the simulator computes its own
  return true;
};

/** `  DMA zone: N pages used for memmap`, `N pages reserved`, `N pages, LIFO batch:M` (free_area_init_core, zone_pcp_init). */
const zoneLine: Stage = (st, l) => {
  const m = /^(DMA32|DMA|Normal|HighMem|Movable) zone: (.*)$/.exec(l.t);
  if (!m) return false;
  const z = printedZone(st.info, st.nid, m[1]!);
  const rest = m[2]!;
  let x: RegExpExecArray | null;
  if ((x = /^(\d+) pages used for memmap$/.exec(rest))) z.memmapPages = Number(x[1]);
  else if ((x = /^(\d+) pages reserved$/.exec(rest))) {
    z.reserved = Number(x[1]);
    st.info.dmaReserve = Number(x[1]);
  } else if ((x = /^(\d+) pages, LIFO batch:(\d+)$/.exec(rest))) {
    z.present = Number(x[1]);
    z.batch = Number(x[2]);
  } else if (!/exceeds freesize/.test(rest)) bad(st, l, 'zone');
  return true;
};

/** `Built N zonelists, mobility grouping on.  Total pages: M` (build_all_zonelists). */
const zonelists: Stage = (st, l) => {
  const t = l.t;
  if (!(t.startsWith('Built ') && t.includes('zonelists'))) return false;
  const m = /^Built (\d+) zonelists(?: in \w+ order)?, mobility grouping (on|off)\.\s+Total pages: (\d+)$/.exec(t);
  if (!m) bad(st, l, 'Built zonelists');
  st.info.printed.zonelists = Number(m![1]);
  st.info.printed.mobilityGrouping = m![2] === 'on';
  st.info.printed.totalPages = Number(m![3]);
  return true;
};

/** `Zeroed struct page in unavailable ranges: N pages` (zero_resv_unavail, 4.19..5.11). */
const zeroedUnavailable: Stage = (st, l) => {
  const m = /^Zeroed struct page in unavailable ranges: (\d+) pages$/.exec(l.t);
  if (!m) return false;
  st.info.printed.zeroedUnavailable = Number(m[1]);
  return true;
};

/**
 * The stages in the order a line is offered to them (the first that reads
 * it wins): the firmware map and the kernel's changes to it, then the
 * user map (whose stage ends it on any other line), free_area_init()'s
 * printouts (each ends on a line not its own, which the stages after it
 * then see), NUMA, CPUs, and the per-node and per-zone numbers.
 */
const STAGES: readonly Stage[] = [
  kernelVersion, commandLine, biosE820, e820Update, e820Remove, userE820,
  sectionHeader, zoneRange, movableZoneStart, nodeRange,
  srat, cpuCount, nodeHeader, zoneLine, zonelists, zeroedUnavailable,
];

/** The CPU count, the e820 maps and the checks of what was read, once every line was. */
function finish(st: DmesgState): DmesgInfo {
  const info = st.info;
  const source = info.source;
  info.cpus = st.smpCpus ?? st.cpuIds ?? st.slubCpus ?? (info.cpuNodes.length || undefined);
  // NR_CPUS (8192, as the config allows): a larger count is a garbled line, and would size per-CPU arrays past memory (found by fuzzing)
  if (info.cpus !== undefined && !(Number.isSafeInteger(info.cpus) && info.cpus <= NR_CPUS)) {
    throw new MmsimError('EPARSE', `${source}: ${info.cpus} CPUs is beyond NR_CPUS (${NR_CPUS})`, { path: source, details: { cpus: info.cpus } });
  }
  const finalMap = e820Sanitize(st.userMap ?? st.map);
  info.e820Final = finalMap;
  info.e820 = e820Sanitize(st.memblockMap ?? finalMap);
  if (info.biosE820.length === 0 && info.nodeRanges.length === 0) {
    throw new MmsimError('EPARSE', `${source}: no BIOS-e820 lines and no 'Early memory node ranges': not an x86 boot log (or it starts too late)`, { path: source });
  }
  return info;
}

/** Parses a boot log. Lines it does not know are skipped; a known line it cannot read is an EPARSE error naming the line. */
export function parseDmesg(text: string, source = 'dmesg'): DmesgInfo {
  const st: DmesgState = {
    info: {
      source, biosE820: [], e820: [], e820Final: [], nodeRanges: [], sratRanges: [], cpuNodes: [],
      printed: { zoneRanges: [], movableStart: [], nodes: [] },
    },
    map: [], memblockMap: null, userMap: null, inUserMap: false, section: null, nid: 0,
  };
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const t = stripPrefix(raw).trim();
    if (!t) continue;
    // e820 updates printed after memblock was set up no longer change the RAM it holds
    if (st.memblockMap === null && AFTER_MEMBLOCK.test(t)) st.memblockMap = (st.userMap ?? st.map).map((e) => ({ ...e }));
    const l: LogLine = { n, raw, t };
    STAGES.some((stage) => stage(st, l));
  }
  return finish(st);
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
