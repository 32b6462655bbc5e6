/**
 * A real /proc/zoneinfo → a machine: nodes and zones with their start_pfn,
 * spanned, present and managed pages (zoneinfo_show_print's fields); the
 * simulator computes everything else (watermarks, lists) itself.
 * @module
 */
import { type MachineDescription, MmsimError, type ZoneSpec, ZoneType } from '@mmsim/core';

/** One zone as /proc/zoneinfo printed it. */
export interface ZoneinfoZone {
  nid: number;
  name: string;
  /** 1-based line of its `Node N, zone NAME` header. */
  line: number;
  startPfn?: number;
  spanned?: number;
  present?: number;
  managed?: number;
  free?: number;
  /** Watermarks as printed (min, low, high). */
  min?: number;
  low?: number;
  high?: number;
  /** CPUs listed under `pagesets`. */
  cpus: number[];
}

const ZONE_NAMES: Record<string, ZoneType> = {
  DMA: ZoneType.DMA, DMA32: ZoneType.DMA32, Normal: ZoneType.NORMAL, HighMem: ZoneType.HIGHMEM, Movable: ZoneType.MOVABLE, Device: ZoneType.DEVICE,
};

/** Parses /proc/zoneinfo text; a line it cannot read is an EPARSE error naming the line. */
export function parseZoneinfo(text: string, source = 'zoneinfo'): ZoneinfoZone[] {
  const zones: ZoneinfoZone[] = [];
  let cur: ZoneinfoZone | undefined;
  const lines = text.split('\n');
  const bad = (n: number, why: string): never => {
    throw new MmsimError('EPARSE', `${source}:${n + 1}: ${why}: '${lines[n]!.trim()}'`, { path: source, details: { line: n + 1, text: lines[n] } });
  };
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      const m = /^Node (\d+), zone\s+(\S+)$/.exec(line);
      if (!m) bad(n, "expected a 'Node N, zone NAME' header");
      if (!ZONE_NAMES[m![2]!]) bad(n, `unknown zone '${m![2]}'`);
      cur = { nid: Number(m![1]), name: m![2]!, line: n + 1, cpus: [] };
      zones.push(cur);
      continue;
    }
    if (!cur) bad(n, 'a zone field before the first zone header');
    const t = line.trim();
    const field = /^(pages free|min|low|high|spanned|present|managed)\s+(.*)$/.exec(t) ?? /^(start_pfn:|cpu:)\s*(.*)$/.exec(t);
    if (!field) continue; // per-node stats, counters, protection, pagesets: the simulator computes its own
    const v = field[2]!.trim();
    if (!/^\d+$/.test(v)) bad(n, `'${field[1]}' needs a non-negative integer`);
    const x = Number(v);
    switch (field[1]) {
      case 'pages free': cur!.free = x; break;
      case 'min': cur!.min = x; break;
      case 'low': cur!.low = x; break;
      case 'high': cur!.high = x; break;
      case 'spanned': cur!.spanned = x; break;
      case 'present': cur!.present = x; break;
      case 'managed': cur!.managed = x; break;
      case 'start_pfn:': cur!.startPfn = x; break;
      case 'cpu:': cur!.cpus.push(x); break;
    }
  }
  if (!zones.length) throw new MmsimError('EPARSE', `${source}: no 'Node N, zone NAME' header: not a /proc/zoneinfo`, { path: source });
  for (const z of zones) {
    for (const k of ['spanned', 'present', 'managed'] as const) {
      if (z[k] === undefined) throw new MmsimError('EPARSE', `${source}:${z.line}: node ${z.nid} zone ${z.name} has no '${k}' line`, { path: source, details: { line: z.line } });
    }
    if (z.present! > z.spanned! || z.managed! > z.present!) {
      throw new MmsimError('EPARSE', `${source}:${z.line}: node ${z.nid} zone ${z.name}: expected managed ≤ present ≤ spanned, got ${z.managed}/${z.present}/${z.spanned}`, { path: source, details: { line: z.line } });
    }
    if (z.spanned! > 0 && z.startPfn === undefined) {
      throw new MmsimError('EPARSE', `${source}:${z.line}: node ${z.nid} zone ${z.name} spans pages but has no 'start_pfn:' line`, { path: source, details: { line: z.line } });
    }
  }
  return zones;
}

/**
 * The machine a zoneinfo describes. zoneinfo does not say where a zone's
 * holes are: its present pages are laid out from the zone start, the hole
 * at the end of the span.
 */
export function machineFromZoneinfo(zones: readonly ZoneinfoZone[], source = 'zoneinfo'): MachineDescription {
  const specs: ZoneSpec[] = [];
  const nodes = new Map<number, { start: number; end: number }[]>();
  let cpus = 1;
  let highmem = false;
  for (const z of zones) {
    cpus = Math.max(cpus, z.cpus.length);
    if (z.name === 'HighMem' && z.present! > 0) highmem = true;
    if (!nodes.has(z.nid)) nodes.set(z.nid, []);
    if (z.name === 'Device') {
      if (z.present! > 0) throw new MmsimError('EPARSE', `${source}:${z.line}: ZONE_DEVICE memory is not simulated`, { path: source, details: { line: z.line } });
      continue;
    }
    if (!z.spanned) continue;
    specs.push({ nid: z.nid, type: ZONE_NAMES[z.name]!, start: z.startPfn!, spanned: z.spanned!, present: z.present!, managed: z.managed! });
    if (z.present! > 0) nodes.get(z.nid)!.push({ start: z.startPfn! * 4096, end: (z.startPfn! + z.present!) * 4096 });
  }
  const nids = [...nodes.keys()].sort((a, b) => a - b);
  if (nids.some((id, i) => id !== i)) throw new MmsimError('EPARSE', `${source}: node ids must run 0..N-1, got ${nids.join(', ')}`, { path: source });
  const desc: MachineDescription = {
    nodes: nids.map((id, i) => {
      const rs = nodes.get(id)!.sort((a, b) => a.start - b.start);
      if (!rs.length) throw new MmsimError('EPARSE', `${source}: node ${id} has no present memory (memoryless nodes are not simulated)`, { path: source });
      // CPUs: zoneinfo lists every CPU under every zone, not their nodes: split them evenly
      const per = Math.floor(cpus / nids.length) + (i < cpus % nids.length ? 1 : 0);
      return { ranges: rs, cpus: per };
    }),
    zones: specs,
  };
  if (highmem) desc.arch = 'x86_32';
  return desc;
}
