/**
 * The x86 firmware memory map (arch/x86/kernel/e820.c): entries, the
 * kernel's own updates (e820__range_update / e820__range_remove, as it
 * prints them: `e820: update [mem ...] usable ==> reserved`), the RAM
 * memblock takes from it, and the map as a boot log prints it
 * (e820_print_type, e820__print_table): the type names and the address
 * formats. The entry types are @mmsim/core's (a MachineLayout carries its map).
 * @module
 */
import { type E820Entry, type E820Type, MmsimError } from '@mmsim/core';

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

/** Sorts by start and merges touching entries of one type (e820__update_table, for printing). */
export function e820Sanitize(map: readonly E820Entry[]): E820Entry[] {
  const s = map.filter((e) => e.end > e.start).map((e) => ({ ...e })).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: E820Entry[] = [];
  for (const e of s) {
    const last = out[out.length - 1];
    if (last && last.type === e.type && e.start <= last.end) last.end = Math.max(last.end, e.end);
    else out.push(e);
  }
  return out;
}

/** Cuts [start, end) out of every entry matching `type` (all types when undefined); returns the pieces outside and the pieces inside. */
function carve(map: readonly E820Entry[], start: number, end: number, type: E820Type | undefined): { outside: E820Entry[]; inside: E820Entry[] } {
  const outside: E820Entry[] = [];
  const inside: E820Entry[] = [];
  for (const e of map) {
    if ((type !== undefined && e.type !== type) || e.end <= start || e.start >= end) {
      outside.push({ ...e });
      continue;
    }
    if (e.start < start) outside.push({ start: e.start, end: start, type: e.type });
    inside.push({ start: Math.max(e.start, start), end: Math.min(e.end, end), type: e.type });
    if (e.end > end) outside.push({ start: end, end: e.end, type: e.type });
  }
  return { outside, inside };
}

/** e820__range_update(): the parts of [start, end) that are `oldType` become `newType`. */
export function e820RangeUpdate(map: readonly E820Entry[], start: number, end: number, oldType: E820Type, newType: E820Type): E820Entry[] {
  if (oldType === newType) return map.map((e) => ({ ...e }));
  const { outside, inside } = carve(map, start, end, oldType);
  return e820Sanitize([...outside, ...inside.map((e) => ({ ...e, type: newType }))]);
}

/** e820__range_remove(): drops [start, end) from entries of `oldType` (every type when undefined). */
export function e820RangeRemove(map: readonly E820Entry[], start: number, end: number, oldType?: E820Type): E820Entry[] {
  return e820Sanitize(carve(map, start, end, oldType).outside);
}

/** Usable e820 ranges → page-aligned pfn ranges; page 0 is always reserved (as x86 trims it). */
export function e820ToPfnRanges(e820: readonly E820Entry[]): { start: number; end: number }[] {
  // a PfnRange each (machine.ts's; spelled out here so e820.ts imports nothing of the machine layout that imports it)
  const out: { start: number; end: number }[] = [];
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

/** The kernel's spelling of an e820 type → {@link E820Type} ('persistent (type 12)' → 'persistent'; unknown types are reserved). */
export function e820TypeFromString(s: string): E820Type | undefined {
  const t = s.trim();
  if (t === 'usable' || t === 'reserved' || t === 'ACPI data' || t === 'ACPI NVS' || t === 'unusable' || t === 'soft reserved') return t;
  if (/^persistent( \(type \d+\))?$/.test(t)) return 'persistent';
  if (/^type \d+$/.test(t)) return 'reserved';
  return undefined;
}

/** Formats an address as the kernel's `%#018Lx` (0x + 16 hex digits). */
export function hex18(n: number): string {
  return `0x${n.toString(16).padStart(16, '0')}`;
}

/** Formats an address as the kernel's `%#010Lx` (at least 8 hex digits). */
export function hex10(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
