/**
 * Seeded workload generators: each builds the operation lines of a
 * workload file (see ops.ts) from a seed, with core's Random, so the same
 * seed gives the same file. Run one with runWorkloadOps, print it with
 * toJsonLines, or from the command line: `mmsim run --generate NAME --seed N`.
 * Re-exported by @mmsim/testkit for tests.
 * @module
 */
import { MmsimError, PAGE_SIZE, parseSize, Random } from '@mmsim/core';

/** One workload operation, as a line of a workload file holds it. */
export type WorkloadOp = { op: string } & Record<string, unknown>;

/** Options every generator takes. */
export interface GeneratorOptions {
  /** Seed of the generator's Random (default 1). */
  seed?: number;
  /** First pid the generator uses (default per generator: 100, 200, 300, 400). */
  pid?: number;
}

/** Bytes of a size option, page aligned up. */
function bytes(v: string | number | undefined, def: string, what: string): number {
  let b: number;
  try {
    b = parseSize(v ?? def, what);
  } catch (e) {
    throw new MmsimError('EWORKLOAD', (e as Error).message.replace(/^[A-Z_]+: /, ''), { cause: e });
  }
  if (b < PAGE_SIZE) throw new MmsimError('EWORKLOAD', `${what}: at least one page (4096 bytes), got ${b}`);
  return Math.ceil(b / PAGE_SIZE) * PAGE_SIZE;
}

function count(v: number | undefined, def: number, what: string, max = 1_000_000): number {
  const n = v ?? def;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new MmsimError('EWORKLOAD', `${what}: expected an integer 1..${max}, got ${String(n)}`);
  return n;
}

/** A page-aligned random slice of `len` bytes: [offset, size], at least one page. */
function slice(r: Random, len: number, maxFraction: number): [number, number] {
  const pages = len / PAGE_SIZE;
  const n = 1 + r.below(Math.max(1, Math.floor(pages * maxFraction)));
  const first = r.below(pages - n + 1);
  return [first * PAGE_SIZE, n * PAGE_SIZE];
}

/** Options of {@link hotColdWorkload}. */
export interface HotColdOptions extends GeneratorOptions {
  /** The hot working set (default '16M'). */
  hot?: string | number;
  /** The cold set (default '64M'). */
  cold?: string | number;
  /** Rounds of accesses (default 20). */
  rounds?: number;
}

/**
 * Hot and cold working sets: one task writes both sets once, then touches
 * its hot set every round (reads and writes, in random order) and only now
 * and then a slice of the cold set, with simulated time passing — what
 * reclaim should tell apart.
 */
export function hotColdWorkload(opts: HotColdOptions = {}): WorkloadOp[] {
  const r = new Random(opts.seed ?? 1);
  const pid = opts.pid ?? 100;
  const hot = bytes(opts.hot, '16M', 'hot');
  const cold = bytes(opts.cold, '64M', 'cold');
  const rounds = count(opts.rounds, 20, 'rounds');
  const ops: WorkloadOp[] = [
    { op: 'spawn', pid, comm: 'hotcold' },
    { op: 'mmap', pid, name: 'hot', size: hot },
    { op: 'mmap', pid, name: 'cold', size: cold },
    { op: 'touch', pid, name: 'hot', access: 'write' },
    { op: 'touch', pid, name: 'cold', access: 'write' },
  ];
  for (let i = 0; i < rounds; i++) {
    ops.push({ op: 'touch', pid, name: 'hot', access: r.below(2) === 0 ? 'read' : 'write', pattern: 'random', seed: r.next() });
    if (r.below(10) === 0) {
      const [offset, size] = slice(r, cold, 0.1);
      ops.push({ op: 'touch', pid, name: 'cold', access: 'read', offset, size });
    }
    ops.push({ op: 'sleep', ms: 10 });
  }
  ops.push({ op: 'proc', name: 'meminfo' }, { op: 'proc', name: `${pid}/status` }, { op: 'proc', name: `${pid}/smaps_rollup` });
  return ops;
}

/** Options of {@link fileScanWorkload}. */
export interface FileScanOptions extends GeneratorOptions {
  /** The file's size (default '64M'). */
  size?: string | number;
  /** Bytes per read() (default '128K'). */
  chunk?: string | number;
  /** Times the file is read start to end (default 2). */
  passes?: number;
}

/**
 * A sequential file scan: a reader reads a file start to end in chunks,
 * `passes` times — readahead grows its window, the first pass fills the
 * inactive file list, the next ones promote what they find. Now and then
 * (seeded) it re-reads a chunk it just read.
 */
export function fileScanWorkload(opts: FileScanOptions = {}): WorkloadOp[] {
  const r = new Random(opts.seed ?? 1);
  const pid = opts.pid ?? 200;
  const size = bytes(opts.size, '64M', 'size');
  const chunk = Math.min(bytes(opts.chunk, '128K', 'chunk'), size);
  const passes = count(opts.passes, 2, 'passes', 1000);
  const path = '/data/scan.dat';
  const ops: WorkloadOp[] = [{ op: 'file', path, size }, { op: 'spawn', pid, comm: 'scanner' }];
  for (let p = 0; p < passes; p++) {
    for (let off = 0; off < size; off += chunk) {
      const len = Math.min(chunk, size - off);
      ops.push({ op: 'read', pid, path, offset: off, size: len });
      if (r.below(16) === 0) ops.push({ op: 'read', pid, path, offset: off, size: len });
    }
    ops.push({ op: 'proc', name: 'meminfo' });
  }
  ops.push({ op: 'proc', name: 'vmstat' });
  return ops;
}

/** Options of {@link forkStormWorkload}. */
export interface ForkStormOptions extends GeneratorOptions {
  /** Children forked (default 16). */
  children?: number;
  /** The parent's written memory, shared copy-on-write with every child (default '32M'). */
  size?: string | number;
}

/**
 * A fork storm: a server writes its heap, then forks children one after
 * another; each child writes a random slice of the shared heap (breaking
 * copy-on-write for those pages) and some exit while others are still
 * being forked.
 */
export function forkStormWorkload(opts: ForkStormOptions = {}): WorkloadOp[] {
  const r = new Random(opts.seed ?? 1);
  const pid = opts.pid ?? 300;
  const size = bytes(opts.size, '32M', 'size');
  const children = count(opts.children, 16, 'children', 10_000);
  const ops: WorkloadOp[] = [
    { op: 'spawn', pid, comm: 'server' },
    { op: 'mmap', pid, name: 'heap', size },
    { op: 'touch', pid, name: 'heap', access: 'write' },
  ];
  const live: number[] = [];
  for (let i = 1; i <= children; i++) {
    const child = pid + i;
    ops.push({ op: 'fork', pid, child, comm: 'worker' });
    const [offset, len] = slice(r, size, 0.25);
    ops.push({ op: 'touch', pid: child, name: 'heap', access: 'write', offset, size: len });
    live.push(child);
    if (live.length > 1 && r.below(3) === 0) ops.push({ op: 'exit', pid: live.splice(r.below(live.length), 1)[0]! });
  }
  ops.push({ op: 'proc', name: 'meminfo' }, { op: 'proc', name: `${pid}/smaps_rollup` });
  if (live.length > 0) ops.push({ op: 'proc', name: `${live[live.length - 1]}/status` });
  return ops;
}

/** Options of {@link leakWorkload}. */
export interface LeakOptions extends GeneratorOptions {
  /** Mean bytes leaked per step (default '4M'). */
  step?: string | number;
  /** Steps (default 32). */
  steps?: number;
}

/**
 * A leaking process: every step it maps and writes a new buffer (a random
 * size around `step`), mallocs a small block it never frees, and never
 * unmaps anything; time passes between steps and its status is sampled —
 * VmRSS climbs until memory runs out.
 */
export function leakWorkload(opts: LeakOptions = {}): WorkloadOp[] {
  const r = new Random(opts.seed ?? 1);
  const pid = opts.pid ?? 400;
  const step = bytes(opts.step, '4M', 'step');
  const steps = count(opts.steps, 32, 'steps');
  const ops: WorkloadOp[] = [{ op: 'spawn', pid, comm: 'leaker' }];
  for (let i = 0; i < steps; i++) {
    const pages = Math.max(1, Math.round(((0.5 + r.float()) * step) / PAGE_SIZE));
    ops.push({ op: 'mmap', pid, name: `leak${i}`, size: pages * PAGE_SIZE });
    ops.push({ op: 'touch', pid, name: `leak${i}`, access: 'write' });
    ops.push({ op: 'malloc', pid, name: `obj${i}`, size: 64 + r.below(4096) });
    ops.push({ op: 'sleep', ms: 100 });
    if ((i + 1) % 8 === 0) ops.push({ op: 'proc', name: `${pid}/status` });
  }
  ops.push({ op: 'proc', name: 'meminfo' });
  return ops;
}

/** The generators by the name `mmsim run --generate` takes. */
export const WORKLOAD_GENERATORS: Readonly<Record<string, (opts: GeneratorOptions) => WorkloadOp[]>> = Object.freeze({
  'hot-cold': hotColdWorkload,
  'file-scan': fileScanWorkload,
  'fork-storm': forkStormWorkload,
  leak: leakWorkload,
});

/** A generator's operations by name (EWORKLOAD for an unknown name). */
export function generateWorkload(name: string, opts: GeneratorOptions = {}): WorkloadOp[] {
  const g = Object.hasOwn(WORKLOAD_GENERATORS, name) ? WORKLOAD_GENERATORS[name] : undefined;
  if (!g) throw new MmsimError('EWORKLOAD', `no workload generator '${name}'; known: ${Object.keys(WORKLOAD_GENERATORS).join(', ')}`);
  return g(opts);
}

/** Operations as a workload file: one JSON object a line. */
export function toJsonLines(ops: Iterable<object>): string {
  let s = '';
  for (const o of ops) s += `${JSON.stringify(o)}\n`;
  return s;
}
