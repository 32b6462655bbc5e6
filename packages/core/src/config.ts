/**
 * The simulator configuration (also the JSON `mmsim --config` reads),
 * validated with zod. Errors name the field path and what was expected.
 * @module
 */
import { z } from 'zod';
import { MmsimError } from './errors.js';
import type { MachineDescription } from './machine.js';
import type { PluginManifest } from './plugin.js';
import { isSnapshot, type Snapshot } from './snapshot.js';
import { validateSysctl } from './sysctl.js';

const size = z.union([z.string().regex(/^\s*(0x[0-9a-fA-F]+|\d+(\.\d+)?)\s*[kKmMgGtTpPB]?(i?B)?\s*$/, "a size like '4G', '512M' or a byte count"), z.number().int().nonnegative()]);
const addr = z.union([z.string(), z.number().int().nonnegative()]);

const machineSchema = z.object({
  memory: size.optional(),
  cpus: z.number().int().min(1).max(8192).optional(),
  e820: z.array(z.object({ start: addr, end: addr, type: z.enum(['usable', 'reserved', 'ACPI data', 'ACPI NVS', 'unusable', 'persistent', 'soft reserved']).optional() }).strict()).min(1).optional(),
  nodes: z.array(z.object({
    memory: size.optional(),
    ranges: z.array(z.object({ start: addr, end: addr }).strict()).min(1).optional(),
    // NR_CPUS bounds (found by fuzzing: an unbounded count or id sized per-CPU arrays past memory)
    cpus: z.union([z.number().int().min(0).max(8192), z.array(z.number().int().min(0).max(8191)).max(8192)]).optional(),
  }).strict()).min(1).max(1024).optional(),
  distances: z.array(z.array(z.number().int())).optional(),
  arch: z.enum(['x86_64', 'x86_32']).optional(),
  cmdline: z.string().optional(),
  dmaReserve: z.number().int().nonnegative().optional(),
  dmesg: z.string().min(1).optional(),
  zoneinfo: z.string().min(1).optional(),
  zones: z.array(z.object({
    nid: z.number().int().min(0),
    type: z.enum(['DMA', 'DMA32', 'Normal', 'HighMem', 'Movable', 'Device']),
    start: z.number().int().nonnegative(),
    spanned: z.number().int().nonnegative(),
    present: z.number().int().nonnegative(),
    managed: z.number().int().nonnegative(),
  }).strict()).optional(),
  numa: z.object({ localNs: z.number().nonnegative().optional(), remotePercent: z.number().nonnegative().optional() }).strict().optional(),
  llc: size.optional(),
}).strict();

const manifestLike = z.custom<PluginManifest>((v) => typeof v === 'object' && v !== null && typeof (v as PluginManifest).register === 'function' && (typeof (v as PluginManifest).provides === 'symbol' || Array.isArray((v as PluginManifest).provides)), 'a plugin manifest');
const pluginRef = z.union([
  z.string().min(1),
  manifestLike,
  z.object({ use: z.union([z.string().min(1), manifestLike]), options: z.unknown().optional() }).strict(),
]);

export const configSchema = z.object({
  machine: machineSchema.default({ memory: '4G', cpus: 2 }),
  plugins: z.object({
    memoryModel: pluginRef.optional(),
    pageAllocator: pluginRef.optional(),
    slab: pluginRef.optional(),
    reclaim: pluginRef.optional(),
    oom: pluginRef.optional(),
  }).strict().default({}),
  /** Service packages: the kernel's shared mechanisms (reclaim engine, OOM killer, vmalloc, ...), e.g. '@mmsim/mm'. */
  services: z.array(pluginRef).optional(),
  /** Plugins that contribute to a many-implementation point (SHRINKER, PROC_ENTRY, PAGE_OWNER, INVARIANT_CHECK, ...). */
  extraPlugins: z.array(pluginRef).default([]),
  sysctl: z.record(z.string(), z.unknown()).default({}),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
  /** Kernel version whose formulas to follow where Linux changed them. */
  kernel: z.string().regex(/^\d+\.\d+$/, "a kernel version like '6.12'").default('6.12'),
  /** A {@link Snapshot} (from `sim.snapshot()`) to continue from. */
  restore: z.custom<Snapshot>((v) => isSnapshot(v), 'a snapshot from sim.snapshot()').optional(),
}).strict();

/** A plugin reference: a name/path/package, a manifest, or `{ use, options }`. */
export type PluginRef = string | PluginManifest | { use: string | PluginManifest; options?: unknown };

/** The configuration a user writes. */
export interface SimulatorConfig {
  machine?: MachineDescription;
  plugins?: Partial<Record<'memoryModel' | 'pageAllocator' | 'slab' | 'reclaim' | 'oom', PluginRef>>;
  /** Service packages (default: the distribution's, e.g. ['@mmsim/mm'] under @mmsim/defconfig; none in core alone). */
  services?: PluginRef[];
  extraPlugins?: PluginRef[];
  sysctl?: Record<string, unknown>;
  seed?: number;
  kernel?: string;
  /** Continue from this snapshot (same composition, plugin options, machine and kernel version). */
  restore?: Snapshot;
}

/** The configuration after validation and defaults. */
export type ResolvedConfig = z.output<typeof configSchema>;

/** Validates a config; ECONFIG names the first bad field path and what was expected. */
export function parseConfig(input: unknown): ResolvedConfig {
  const r = configSchema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join('.') || '(root)';
    let what = issue.message;
    if (issue.code === 'unrecognized_keys') what = `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    throw new MmsimError('ECONFIG', `${path}: ${what}`, { path, details: { issues: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) } });
  }
  for (const [k, v] of Object.entries(r.data.sysctl)) validateSysctl(k, v);
  return r.data;
}
