/**
 * @mmsim/cli — the `mmsim` command as a library: {@link buildProgram} builds
 * the commander program; {@link main} runs it.
 * @module @mmsim/cli
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { createSimulator, isMmsimError, MmsimError, runDefaultWorkload, type SimulatorConfig, WORKLOAD_GENERATORS } from '@mmsim/defconfig';
import { registerCompare } from './compare.js';
import { registerPsCommand, runWorkloadCommand } from './workload.js';

export { memTotalKb, registerPsCommand, runWorkloadCommand, type WorkloadCommandOptions, type WorkloadOutput } from './workload.js';

export { compareAllocators, type CompareResult, type CompareRow, formatCompare } from './compare.js';
import { registerBootCommand } from './boot.js';

export { compareModels, COMPARED_MODELS, formatComparison, runBoot, type BootOptions, type ModelComparison } from './boot.js';

/** Where the CLI writes; tests pass buffers. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Reads a JSON config file; EWORKLOAD-free: a bad file is ECONFIG naming the file. */
export function readConfig(file: string | undefined): SimulatorConfig {
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MmsimError('ECONFIG', `--config ${file}: cannot read: ${(e as Error).message}`, { path: file });
  }
  try {
    return JSON.parse(text) as SimulatorConfig;
  } catch (e) {
    throw new MmsimError('ECONFIG', `--config ${file}: not valid JSON: ${(e as Error).message}`, { path: file });
  }
}

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};

const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

/** Builds the `mmsim` program. */
export function buildProgram(io: Io): Command {
  const program = new Command('mmsim')
    .description('Simulate Linux physical memory management')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  program.command('run')
    .description('boot a simulator, run the default workload, print a summary, /proc/buddyinfo and /proc/slabinfo; or run a workload file (--workload) or a generated one (--generate)')
    .option('-c, --config <file>', 'JSON config (same schema as createSimulator)')
    .option('--ops <n>', 'operations to run', int, 100_000)
    .option('--seed <n>', 'override the config seed', int)
    .option('--json', 'machine-readable output')
    .option('--check-every <n>', 'run the invariant checker (sim.check(), as CONFIG_DEBUG_VM) every n operations and at the end', positive)
    .option('--tick-every <n>', "let simulated time pass every n operations (sim.tick): the daemons' periodic work runs (kcompactd's proactive compaction, the vmstat worker)", positive)
    .option('--tick-ms <ms>', 'milliseconds of simulated time each tick lets pass (default 100; needs --tick-every)', positive)
    .option('-w, --workload <file>', 'run this workload file (JSON Lines, one op a line: docs/workloads.md) instead of the default workload')
    .option('-g, --generate <name>', `run a seeded generated workload (${Object.keys(WORKLOAD_GENERATORS).join(', ')}) instead of the default workload`)
    .option('--emit', 'with --generate: print the generated workload file instead of running it')
    .action(async (o: { config?: string; ops: number; seed?: number; json?: boolean; checkEvery?: number; tickEvery?: number; tickMs?: number; workload?: string; generate?: string; emit?: boolean }) => {
      if (o.workload !== undefined || o.generate !== undefined || o.emit) {
        // simulated time passes where the workload says (sleep ops)
        if (o.tickEvery !== undefined || o.tickMs !== undefined) throw new MmsimError('EINVAL', '--tick-every / --tick-ms apply to the default workload: a workload file lets time pass with {"op":"sleep"}');
        await runWorkloadCommand(io, o, readConfig);
        return;
      }
      if (o.tickMs !== undefined && o.tickEvery === undefined) throw new MmsimError('EINVAL', '--tick-ms needs --tick-every: say how often the time passes');
      const tickMs = o.tickMs ?? 100;
      const cfg = readConfig(o.config);
      if (o.seed !== undefined) cfg.seed = o.seed;
      const sim = await createSimulator(cfg);
      try {
        let checks = 0;
        const every = o.checkEvery;
        const check = (done: number) => {
          try {
            sim.check();
          } catch (e) {
            if (!isMmsimError(e)) throw e;
            // say when: the first failing check after `done` operations
            throw new MmsimError(e.code, `after ${done} operations: ${e.message.replace(/^[A-Z_]+: /, '')}`, { ...(e.plugin !== undefined && { plugin: e.plugin }), ...(e.details !== undefined && { details: e.details }), cause: e });
          }
          checks++;
        };
        const tickEvery = o.tickEvery;
        let ticks = 0;
        const afterOp = every === undefined && tickEvery === undefined ? undefined : (done: number) => {
          if (tickEvery !== undefined && done % tickEvery === 0) {
            sim.tick(tickMs);
            ticks++;
          }
          if (every !== undefined && (done % every === 0 || done === o.ops)) check(done);
        };
        const summary = runDefaultWorkload(sim, { ops: o.ops, ...(afterOp !== undefined && { afterOp }) });
        const timeNs = sim.clock.now();
        if (every !== undefined && o.ops === 0) check(0);
        const buddyinfo = sim.proc('buddyinfo');
        const slabinfo = sim.proc('slabinfo');
        const zones = sim.topology.populatedZones.map((z) => ({ node: z.nid, zone: z.name, managed: z.managedPages, free: z.stats.nrFreePages }));
        if (o.json) {
          io.out(`${JSON.stringify({ composition: sim.composition, seed: sim.config.seed, summary, zones, ...(every !== undefined && { checks: { every, passed: checks } }), ...(tickEvery !== undefined && { time: { ticks, ns: timeNs } }), proc: { buddyinfo, slabinfo } }, null, 2)}\n`);
        } else {
          const c = sim.composition;
          io.out(`mmsim: ${c.memoryModel} + ${c.pageAllocator} + ${c.slab} + ${c.reclaim} + ${c.oom}, seed ${sim.config.seed}\n`);
          io.out(`ops ${summary.ops}: ${summary.pageAllocs} page allocs (${summary.pageAllocFailures} failed), ${summary.pageFrees} page frees, ` +
            `${summary.kmallocs} kmallocs, ${summary.cacheAllocs} cache allocs, ${summary.objectFrees} object frees, ${summary.reclaimed} pages reclaimed\n`);
          for (const z of zones) io.out(`Node ${z.node} ${z.zone.padEnd(7)} managed ${z.managed} pages, free ${z.free} pages\n`);
          if (every !== undefined) io.out(`invariant checks: ${checks} passed (every ${every} operations and at the end)\n`);
          if (tickEvery !== undefined) io.out(`simulated time: ${(timeNs / 1e9).toFixed(3)} s (${ticks} ticks of ${tickMs} ms, every ${tickEvery} operations)\n`);
          io.out('\n/proc/buddyinfo\n');
          io.out(buddyinfo);
          io.out('\n/proc/slabinfo\n');
          io.out(slabinfo);
        }
      } finally {
        sim.dispose();
      }
    });

  program.command('proc')
    .description('print one /proc view after boot (buddyinfo, slabinfo, meminfo, sys/vm/<name>, ...)')
    .argument('<name>', 'view name')
    .option('-c, --config <file>', 'JSON config')
    .option('--json', 'print {"name", "text"} as JSON')
    .action(async (name: string, o: { config?: string; json?: boolean }) => {
      const sim = await createSimulator(readConfig(o.config));
      try {
        const text = sim.proc(name);
        io.out(o.json ? `${JSON.stringify({ name, text })}\n` : text);
      } finally {
        sim.dispose();
      }
    });
  registerCompare(program, io, readConfig);
  registerBootCommand(program, io, readConfig);
  registerPsCommand(program, io, readConfig);
  return program;
}

/** Runs the CLI; returns the exit code (errors print `mmsim: CODE: message`). */
export async function main(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) return ce.exitCode ?? 1;
    if (isMmsimError(e)) {
      io.err(`mmsim: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
