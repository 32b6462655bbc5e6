/**
 * Kernel versions, for formulas Linux changed between releases (the
 * `kernel` config option, or the `Linux version` line of a boot log).
 * @module
 */
import { MmsimError } from './errors.js';

/** The version whose formulas apply when nothing else is said. */
export const DEFAULT_KERNEL = '6.12';

/** '5.4.0-100-generic', '6.12', 'v4.19.3' → [major, minor]. */
export function parseKernelVersion(v: string): [number, number] {
  const m = /^v?(\d+)\.(\d+)/.exec(v.trim());
  if (!m) throw new MmsimError('EINVAL', `'${v}' is not a kernel version like '6.12' or '5.4.0-100-generic'`, { details: { kernel: v } });
  return [Number(m[1]), Number(m[2])];
}

/** True when `kernel` is `ref` or later ('5.4' vs '4.19' compares numerically). */
export function kernelAtLeast(kernel: string, ref: string): boolean {
  const [a, b] = parseKernelVersion(kernel);
  const [c, d] = parseKernelVersion(ref);
  return a > c || (a === c && b >= d);
}

/** Normalises to 'major.minor'. */
export function kernelMajorMinor(v: string): string {
  const [a, b] = parseKernelVersion(v);
  return `${a}.${b}`;
}
