/** Sizes as the kernel command line writes them (memparse): `4G`, `512M`, `64k`, plain bytes. */
import { MmsimError } from './errors.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

const UNITS: Record<string, number> = { '': 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/** memparse(): `4G` → 4294967296. Accepts numbers (bytes) unchanged. */
export function parseSize(v: string | number, path = 'size'): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new MmsimError('EMACHINE', `${path}: expected a non-negative byte count, got ${v}`, { path });
    return v;
  }
  // found by fuzzing: an object here (JSON gone wrong) must be refused, not stringified
  if (typeof v !== 'string') throw new MmsimError('EMACHINE', `${path}: expected a size like '4G' or a byte count, got ${v === null ? 'null' : typeof v}`, { path });
  const m = /^\s*(0x[0-9a-f]+|\d+(?:\.\d+)?)\s*([kmgtpKMGTPB]?)(?:i?B)?\s*$/.exec(v);
  if (!m) throw new MmsimError('EMACHINE', `${path}: expected a size like '4G' or '512M', got '${v}'`, { path });
  const n = m[1]!.startsWith('0x') ? parseInt(m[1]!, 16) : Number(m[1]);
  const bytes = Math.round(n * UNITS[m[2]!.toUpperCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new MmsimError('EMACHINE', `${path}: '${v}' is too large`, { path });
  return bytes;
}

/** Formats bytes the way humans read /proc: 4.00 GiB. */
export function formatBytes(b: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let x = b;
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return `${i === 0 ? x : x.toFixed(2)} ${u[i]}`;
}

/** get_order(): smallest order whose block holds `size` bytes. */
export function getOrder(size: number): number {
  let order = 0;
  let s = (size - 1) >> PAGE_SHIFT;
  while (s > 0) { s >>= 1; order++; }
  return order;
}

/** int_sqrt() */
export function intSqrt(x: number): number {
  return Math.floor(Math.sqrt(x));
}
