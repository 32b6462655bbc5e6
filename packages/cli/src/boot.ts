/**
 * `mmsim boot`: the memory-setup lines a kernel prints at boot, for a
 * simulated machine (a config, a real boot log or a real /proc/zoneinfo),
 * and the memory models side by side.
 * @module
 */
import type { Command } from 'commander';
import {
  bootReport, type BootMismatch, type BootReport, compareBootWithLog, createSimulator, formatBootReport, formatBytes, isMmsimError,
  MmsimError, printedBoot, type SimulatorConfig,
} from '@mmsim/defconfig';
// the pcp batch printed as `LIFO batch:N` is the page allocator's formula: the boot report takes buddy's
import { zoneBatchsize } from '@mmsim/plugin-buddy';

/** Where the command writes. */
interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Options of `mmsim boot`. */
export interface BootOptions {
  config?: SimulatorConfig;
  dmesg?: string;
  zoneinfo?: string;
  memoryModel?: string;
  kernel?: string;
}

/** The memory models `--compare-models` boots. */
export const COMPARED_MODELS = ['flatmem', 'discontigmem', 'sparsemem'] as const;

/** One model's line of `--compare-models`. */
export interface ModelComparison {
  model: string;
  memmapBytes?: number;
  holeBytes?: number;
  hotplug?: boolean;
  /** Why the model cannot describe this machine (e.g. DISCONTIGMEM with interleaved nodes). */
  error?: string;
}

function machineConfig(o: BootOptions): SimulatorConfig {
  const cfg: SimulatorConfig = { ...(o.config ?? {}) };
  if (o.dmesg && o.zoneinfo) throw new MmsimError('ECONFIG', 'give --dmesg or --zoneinfo, not both', { path: 'machine' });
  if (o.dmesg) cfg.machine = { ...(cfg.machine?.cpus ? { cpus: cfg.machine.cpus } : {}), dmesg: o.dmesg };
  if (o.zoneinfo) cfg.machine = { ...(cfg.machine?.cpus ? { cpus: cfg.machine.cpus } : {}), zoneinfo: o.zoneinfo };
  // a real x86_64 kernel uses SPARSEMEM (with vmemmap)
  const model = o.memoryModel ?? (o.dmesg || o.zoneinfo ? 'sparsemem' : undefined);
  if (model) cfg.plugins = { ...cfg.plugins, memoryModel: model };
  if (o.kernel) cfg.kernel = o.kernel;
  return cfg;
}

/** Boots the machine and computes its boot report (and, for a boot log, how it compares). */
export async function runBoot(o: BootOptions): Promise<{ report: BootReport; log?: { kernel?: string; mismatches: BootMismatch[] } }> {
  const sim = await createSimulator(machineConfig(o));
  try {
    const report = bootReport(sim.topology, sim.memory, { zoneBatchsize, kernel: sim.config.kernel });
    const printed = printedBoot(sim.topology.layout);
    if (!printed) return { report };
    return { report, log: { mismatches: compareBootWithLog(report, printed) } };
  } finally {
    sim.dispose();
  }
}

/** Boots the same machine under each memory model. */
export async function compareModels(o: BootOptions): Promise<ModelComparison[]> {
  const out: ModelComparison[] = [];
  for (const model of COMPARED_MODELS) {
    try {
      const sim = await createSimulator(machineConfig({ ...o, memoryModel: model }));
      try {
        const m = sim.memory;
        out.push({ model, memmapBytes: m.memmapBytes(), holeBytes: m.memmapHoleBytes?.() ?? 0, hotplug: m.supportsHotplug });
      } finally {
        sim.dispose();
      }
    } catch (e) {
      if (!isMmsimError(e)) throw e;
      out.push({ model, error: e.message });
    }
  }
  return out;
}

/** The comparison as a table. */
export function formatComparison(rows: readonly ModelComparison[]): string {
  let s = `${'model'.padEnd(14)}${'memmap'.padStart(14)}${'on holes'.padStart(14)}  hotplug\n`;
  for (const r of rows) {
    if (r.error) s += `${r.model.padEnd(14)}  cannot: ${r.error}\n`;
    else s += `${r.model.padEnd(14)}${formatBytes(r.memmapBytes!).padStart(14)}${formatBytes(r.holeBytes!).padStart(14)}  ${r.hotplug ? 'yes' : 'no'}\n`;
  }
  return s;
}

/** Adds `mmsim boot` to the program. */
export function registerBootCommand(program: Command, io: Io, readConfig: (file: string | undefined) => SimulatorConfig): void {
  program.command('boot')
    .description("print the kernel's memory-setup boot lines for a machine (zones, node ranges, memmap, LIFO batch, Total pages)")
    .option('-c, --config <file>', 'JSON config (same schema as createSimulator)')
    .option('--dmesg <file>', 'a real boot log: simulate the machine it describes')
    .option('--zoneinfo <file>', 'a real /proc/zoneinfo: simulate the machine it describes')
    .option('--memory-model <name>', 'flatmem, discontigmem or sparsemem (default: the config\'s; sparsemem for a real log)')
    .option('--kernel <version>', "formulas of this kernel version (default: the log's, else the config's, else 6.12)")
    .option('--compare-models', 'memmap bytes, bytes on holes and hotplug, for each memory model')
    .option('--check', 'compare with the numbers the boot log printed; exit 1 on a difference')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config?: string; dmesg?: string; zoneinfo?: string; memoryModel?: string; kernel?: string; compareModels?: boolean; check?: boolean; json?: boolean }) => {
      const o: BootOptions = { config: readConfig(opts.config) };
      if (opts.dmesg) o.dmesg = opts.dmesg;
      if (opts.zoneinfo) o.zoneinfo = opts.zoneinfo;
      if (opts.memoryModel) o.memoryModel = opts.memoryModel;
      if (opts.kernel) o.kernel = opts.kernel;
      if (opts.compareModels) {
        const rows = await compareModels(o);
        io.out(opts.json ? `${JSON.stringify({ models: rows }, null, 2)}\n` : formatComparison(rows));
        return;
      }
      const { report, log } = await runBoot(o);
      if (opts.json) {
        io.out(`${JSON.stringify(log ? { ...report, log } : report, null, 2)}\n`);
      } else {
        io.out(formatBootReport(report));
      }
      if (opts.check) {
        if (!log) throw new MmsimError('ECONFIG', '--check needs --dmesg (a boot log to compare with)', { path: '--check' });
        if (log.mismatches.length) {
          for (const m of log.mismatches) io.err(`mmsim: boot differs from the log: ${m.what}: log ${m.log}, simulated ${m.simulated}\n`);
          throw new MmsimError('EINVAL', `the simulated boot differs from ${opts.dmesg} in ${log.mismatches.length} number(s)`, { details: { mismatches: log.mismatches } });
        }
        if (!opts.json) io.err(`mmsim: the simulated boot matches every number ${opts.dmesg} printed\n`);
      }
    });
}
