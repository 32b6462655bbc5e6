/**
 * The sysctl table (/proc/sys/vm/*), with the kernel's names, defaults and
 * ranges. Mechanisms read tunables here and subscribe to changes, as the
 * kernel's proc handlers recompute (e.g. setup_per_zone_wmarks on
 * min_free_kbytes).
 * @module
 */
import { MmsimError } from './errors.js';

/** Every sysctl the simulator knows, with its value type. */
export interface SysctlValues {
  'vm.min_free_kbytes': number;
  'vm.swappiness': number;
  'vm.overcommit_memory': number;
  'vm.overcommit_ratio': number;
  'vm.overcommit_kbytes': number;
  'vm.zone_reclaim_mode': number;
  'vm.lowmem_reserve_ratio': number[];
  'vm.watermark_scale_factor': number;
  'vm.watermark_boost_factor': number;
  'vm.percpu_pagelist_high_fraction': number;
  'vm.panic_on_oom': number;
  'vm.oom_kill_allocating_task': number;
  'vm.extfrag_threshold': number;
  'vm.compaction_proactiveness': number;
  /** Seconds between runs of the vmstat worker (vmstat_update, decay_pcp_high). */
  'vm.stat_interval': number;
  'vm.min_unmapped_ratio': number;
  'vm.min_slab_ratio': number;
  'vm.admin_reserve_kbytes': number;
  'vm.user_reserve_kbytes': number;
  'vm.dirty_background_ratio': number;
  'vm.dirty_background_bytes': number;
  'vm.dirty_ratio': number;
  'vm.dirty_bytes': number;
  'vm.dirty_writeback_centisecs': number;
  'vm.dirty_expire_centisecs': number;
  /** Write-only: each write drops caches (1 page cache, 2 slab, 3 both). */
  'vm.drop_caches': number;
}
export type SysctlName = keyof SysctlValues;

interface Spec {
  def: number | number[];
  min: number;
  max: number;
  /** extra rule, returns an error text or null */
  check?: (v: number) => string | null;
}

const SPECS: Record<SysctlName, Spec> = {
  // 0 means "not set": the page allocator computes it at boot (init_per_zone_wmark_min)
  'vm.min_free_kbytes': { def: 0, min: 0, max: 2 ** 31 - 1 },
  'vm.swappiness': { def: 60, min: 0, max: 200 },
  'vm.overcommit_memory': { def: 0, min: 0, max: 2 },
  'vm.overcommit_ratio': { def: 50, min: 0, max: 2 ** 31 - 1 },
  'vm.overcommit_kbytes': { def: 0, min: 0, max: 2 ** 53 - 1 },
  'vm.zone_reclaim_mode': { def: 0, min: 0, max: 7 },
  'vm.lowmem_reserve_ratio': { def: [256, 256, 32, 0, 0], min: 0, max: 2 ** 31 - 1 },
  'vm.watermark_scale_factor': { def: 10, min: 1, max: 3000 },
  'vm.watermark_boost_factor': { def: 15000, min: 0, max: 2 ** 31 - 1 },
  'vm.percpu_pagelist_high_fraction': { def: 0, min: 0, max: 2 ** 31 - 1, check: (v) => (v !== 0 && v < 8 ? 'must be 0 or at least 8 (MIN_PERCPU_PAGELIST_HIGH_FRACTION)' : null) },
  'vm.panic_on_oom': { def: 0, min: 0, max: 2 },
  'vm.oom_kill_allocating_task': { def: 0, min: 0, max: 1 },
  'vm.extfrag_threshold': { def: 500, min: 0, max: 1000 },
  'vm.compaction_proactiveness': { def: 20, min: 0, max: 100 },
  'vm.stat_interval': { def: 1, min: 1, max: 2 ** 31 - 1 },
  'vm.min_unmapped_ratio': { def: 1, min: 0, max: 100 },
  'vm.min_slab_ratio': { def: 5, min: 0, max: 100 },
  'vm.admin_reserve_kbytes': { def: 8192, min: 0, max: 2 ** 53 - 1 },
  'vm.user_reserve_kbytes': { def: 131072, min: 0, max: 2 ** 53 - 1 },
  // a *_bytes write must be ≥ 1 / 2 pages, yet 0 (unset) is the default
  'vm.dirty_background_ratio': { def: 10, min: 0, max: 100 },
  'vm.dirty_background_bytes': { def: 0, min: 1, max: 2 ** 53 - 1 },
  'vm.dirty_ratio': { def: 20, min: 0, max: 100 },
  'vm.dirty_bytes': { def: 0, min: 2 * 4096, max: 2 ** 53 - 1 },
  'vm.dirty_writeback_centisecs': { def: 500, min: -(2 ** 31), max: 2 ** 31 - 1 },
  'vm.dirty_expire_centisecs': { def: 3000, min: 0, max: 2 ** 31 - 1 },
  'vm.drop_caches': { def: 0, min: 1, max: 4 },
};

/** Names of every known sysctl. */
export const SYSCTL_NAMES = Object.keys(SPECS) as SysctlName[];

/** A value as an error message shows it (JSON.stringify throws on a BigInt: found by fuzzing). */
function shown(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
}

/** Throws ESYSCTL unless `value` is valid for `name`; returns the normalised value. */
export function validateSysctl(name: string, value: unknown): number | number[] {
  const spec = typeof name === 'string' && Object.hasOwn(SPECS, name) ? SPECS[name as SysctlName] : undefined;
  // found by fuzzing: a name that is not a string must be refused, not stringified
  if (typeof name !== 'string') throw new MmsimError('ESYSCTL', `a sysctl name must be a string, got ${name === null ? 'null' : typeof name}`);
  if (!spec) throw new MmsimError('ESYSCTL', `unknown sysctl '${name}'; known: ${SYSCTL_NAMES.join(', ')}`, { path: `sysctl.${name}` });
  const one = (v: unknown, where: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < spec.min || v > spec.max) {
      throw new MmsimError('ESYSCTL', `${where}: expected an integer ${spec.min}..${spec.max}, got ${shown(v)}`, { path: `sysctl.${where}` });
    }
    const err = spec.check?.(v);
    if (err) throw new MmsimError('ESYSCTL', `${where}: ${err}`, { path: `sysctl.${where}` });
    return v;
  };
  if (Array.isArray(spec.def)) {
    if (!Array.isArray(value) || value.length === 0) throw new MmsimError('ESYSCTL', `${name}: expected an array of integers`, { path: `sysctl.${name}` });
    return value.map((v, i) => one(v, `${name}[${i}]`));
  }
  return one(value, name);
}

/** A sysctl write subscriber. */
export type SysctlHandler = (name: SysctlName, value: unknown) => void;

/** One simulator's sysctl values. */
export class Sysctl {
  private readonly values = new Map<SysctlName, number | number[]>();
  private readonly userSet = new Set<SysctlName>();
  private readonly handlers: SysctlHandler[] = [];

  constructor(initial: Partial<Record<string, unknown>> = {}) {
    for (const n of SYSCTL_NAMES) {
      const d = SPECS[n].def;
      this.values.set(n, Array.isArray(d) ? [...d] : d);
    }
    for (const [k, v] of Object.entries(initial)) {
      this.values.set(k as SysctlName, validateSysctl(k, v));
      this.userSet.add(k as SysctlName);
    }
  }

  get<K extends SysctlName>(name: K): SysctlValues[K] {
    const v = this.values.get(name);
    if (v === undefined) throw new MmsimError('ESYSCTL', `unknown sysctl '${name}'`);
    return v as SysctlValues[K];
  }

  /** Writes a value as `sysctl -w` does; subscribers recompute. Invalid values throw and change nothing. */
  set<K extends SysctlName>(name: K, value: SysctlValues[K]): void {
    const v = validateSysctl(name, value);
    this.values.set(name, v);
    this.userSet.add(name);
    for (const h of this.handlers) h(name, v);
  }

  /** True when the user set this sysctl (config or set()), false when it holds the default. */
  isUserSet(name: SysctlName): boolean {
    return this.userSet.has(name);
  }

  /** Stores a value the kernel computed itself (e.g. min_free_kbytes at boot; the default even below a write's minimum); no handlers run. */
  setComputed<K extends SysctlName>(name: K, value: SysctlValues[K]): void {
    const def = Object.hasOwn(SPECS, name) ? SPECS[name].def : undefined;
    this.values.set(name, typeof def === 'number' && value === def ? def : validateSysctl(name, value));
  }

  /** Subscribes to writes; returns an unsubscribe function. */
  onChange(fn: SysctlHandler): () => void {
    this.handlers.push(fn);
    return () => {
      const i = this.handlers.indexOf(fn);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** All values, as `sysctl vm` lists them. */
  entries(): [SysctlName, number | number[]][] {
    return SYSCTL_NAMES.map((n) => [n, this.values.get(n)!]);
  }
}
