/**
 * The e820 map as a boot log prints it (arch/x86/kernel/e820.c
 * e820_print_type, e820__print_table): the type names and the address
 * formats, for reading a log and for printing the boot report in the
 * kernel's words. The map itself (entries, e820__range_update /
 * e820__range_remove) is @mmsim/core's.
 * @module
 */
import type { E820Type } from '@mmsim/core';

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
