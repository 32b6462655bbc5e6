/**
 * `mmsim run --workload FILE` / `mmsim run --generate NAME` (workload files,
 * JSON Lines: see docs/workloads.md) and `mmsim ps` (the `ps aux` table
 * after a workload).
 * @module
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import {
  createSimulator, generateWorkload, isMmsimError, MmsimError, psAux, psRows, type Simulator, type SimulatorConfig, toJsonLines,
  type WorkloadResult, WorkloadRunner, workloadTextWriter,
} from '@mmsim/defconfig';

/** Where the workload commands write. */
export interface WorkloadOutput {
  out: (s: string) => void;
}

/** What `mmsim run` passes when a workload is asked for. */
export interface WorkloadCommandOptions {
  config?: string;
  seed?: number;
  json?: boolean;
  workload?: string;
  generate?: string;
  emit?: boolean;
  checkEvery?: number;
}

/** Feeds `file` to `runner` line by line, without reading it whole. */
async function feedFile(runner: WorkloadRunner, file: string): Promise<void> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    throw new MmsimError('EWORKLOAD', `--workload ${file}: cannot read: ${(e as Error).message}`, { path: file });
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) runner.line(line);
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** MemTotal in kB, as /proc/meminfo prints it (what ps divides RSS by). */
export function memTotalKb(sim: Simulator): number {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(sim.proc('meminfo'));
  return m ? Number(m[1]) : 0;
}

/**
 * Runs a workload file or a generated workload on a simulator built from
 * the config: text output (proc views under `==> /proc/NAME <==` headers,
 * refused calls as `line N: OP: ERRNO`) or, with `json`, one object with
 * `ops` and `proc`.
 */
export async function runWorkloadCommand(io: WorkloadOutput, o: WorkloadCommandOptions, readConfig: (file: string | undefined) => SimulatorConfig): Promise<void> {
  if (o.workload !== undefined && o.generate !== undefined) throw new MmsimError('EINVAL', '--workload and --generate: give one workload');
  if (o.generate !== undefined && o.emit) {
    io.out(toJsonLines(generateWorkload(o.generate, { ...(o.seed !== undefined && { seed: o.seed }) })));
    return;
  }
  if (o.emit) throw new MmsimError('EINVAL', '--emit prints a generated workload: it needs --generate NAME');
  const cfg = readConfig(o.config);
  if (o.seed !== undefined) cfg.seed = o.seed;
  const sim = await createSimulator(cfg);
  try {
    const text = o.json ? undefined : workloadTextWriter(io.out);
    let done = 0;
    const every = o.checkEvery;
    const runner = new WorkloadRunner(sim, {
      file: o.workload ?? `generate:${o.generate}`,
      collect: o.json === true,
      onOp: (r) => {
        text?.onOp(r);
        done++;
        if (every !== undefined && done % every === 0) checkAt(sim, r.line);
      },
      ...(text && { onProc: text.onProc }),
    });
    if (o.workload !== undefined) await feedFile(runner, o.workload);
    else for (const op of generateWorkload(o.generate!, { ...(o.seed !== undefined && { seed: o.seed }) })) runner.op(op);
    if (every !== undefined) checkAt(sim, runner.lines);
    if (o.json) {
      const r: WorkloadResult = runner.result;
      io.out(`${JSON.stringify({ ops: r.ops, proc: r.proc }, null, 2)}\n`);
    }
  } finally {
    sim.dispose();
  }
}

/** sim.check() after line `line`, the failure naming it. */
function checkAt(sim: Simulator, line: number): void {
  try {
    sim.check();
  } catch (e) {
    if (!isMmsimError(e)) throw e;
    throw new MmsimError(e.code, `after line ${line}: ${e.message.replace(/^[A-Z_]+: /, '')}`, { cause: e });
  }
}

/** Registers `mmsim ps`. */
export function registerPsCommand(program: Command, io: WorkloadOutput, readConfig: (file: string | undefined) => SimulatorConfig): void {
  program.command('ps')
    .description('the ps aux table (USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND) of the simulated tasks, after a workload')
    .option('-c, --config <file>', 'JSON config (same schema as createSimulator)')
    .option('-w, --workload <file>', 'a workload file (JSON Lines) to run first')
    .option('--json', 'the rows as JSON')
    .action(async (o: { config?: string; workload?: string; json?: boolean }) => {
      const sim = await createSimulator(readConfig(o.config));
      try {
        if (o.workload !== undefined) await feedFile(new WorkloadRunner(sim, { file: o.workload, collect: false }), o.workload);
        const total = memTotalKb(sim);
        io.out(o.json ? `${JSON.stringify(psRows(sim.tasks, total), null, 2)}\n` : psAux(sim.tasks, total));
      } finally {
        sim.dispose();
      }
    });
}
