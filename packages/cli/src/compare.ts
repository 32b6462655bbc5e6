/**
 * `mmsim compare --slab slab,slub,slob --workload FILE`: the same
 * kmalloc-trace workload under several small-object allocators, side by
 * side — memory used, internal fragmentation, pages held and ops/s.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  compileKmallocTrace, createSimulator, MmsimError, parseKmallocTrace, PAGE_SIZE, runKmallocTrace, type KmallocTrace, type SimulatorConfig,
} from '@mmsim/defconfig';

/** One allocator's numbers. */
export interface CompareRow {
  /** The slab plugin. */
  slab: string;
  /** Pages the allocator holds when the workload ends (slab pages and large kmallocs), and in kB. */
  pagesHeld: number;
  memoryUsedKb: number;
  /** The most pages it held during the run. */
  peakPagesHeld: number;
  /** Live objects at the end, the bytes they asked for (bytes_req) and were given (bytes_alloc). */
  liveObjects: number;
  requestedKb: number;
  allocatedKb: number;
  /** (bytes_alloc − bytes_req) / bytes_alloc of the live objects, percent: rounding to size classes / units. */
  internalFragmentation: number;
  /** (memory used − bytes_req) / memory used, percent: rounding plus partly empty slabs and metadata. */
  overhead: number;
  /** Allocations that failed, frees of pointers the trace never allocated. */
  failures: number;
  unmatchedFrees: number;
  /** Operations replayed per second (no tracepoint listeners; warm; median of the rounds). */
  opsPerSec: number;
  /** Every page came back after freeing what was left and shrinking every cache. */
  allPagesReturned: boolean;
}

/** The comparison of one workload. */
export interface CompareResult {
  workload: string;
  ops: number;
  counts: { kmalloc: number; kfree: number; cacheAlloc: number; cacheFree: number; ignored: number };
  warnings: string[];
  rows: CompareRow[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs `trace` under each slab plugin in `slabs`, on the machine of `config`. */
export async function compareAllocators(trace: KmallocTrace, slabs: string[], config: SimulatorConfig = {}, opts: { rounds?: number; name?: string } = {}): Promise<CompareResult> {
  const rounds = Math.max(1, opts.rounds ?? 3);
  const counts = { kmalloc: 0, kfree: 0, cacheAlloc: 0, cacheFree: 0, ignored: trace.ignored };
  for (const o of trace.ops) {
    if (o.op === 'kmalloc') counts.kmalloc++;
    else if (o.op === 'kfree') counts.kfree++;
    else if (o.op === 'cache_alloc') counts.cacheAlloc++;
    else counts.cacheFree++;
  }
  const rows: CompareRow[] = [];
  const compiled = compileKmallocTrace(trace);
  const boot = (slab: string) => createSimulator({ ...config, plugins: { ...config.plugins, slab } });
  for (const slab of slabs) {
    // the memory pass watches the alloc tracepoints for bytes_alloc
    const sim = await boot(slab);
    let row: CompareRow;
    try {
      const free0 = () => sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages + sim.pages.pcpPages(z), 0);
      sim.pages.drainAllPages();
      for (const c of sim.slab.caches()) sim.slab.shrinkCache(c);
      sim.pages.drainAllPages();
      const before = free0();
      const machine = { nrCpus: sim.topology.nrCpus, nrNodes: sim.topology.nodes.length };
      const r = runKmallocTrace(sim.slab, compiled, machine, { events: sim.events, trackPeak: true });
      sim.check();
      const used = r.pagesHeld * PAGE_SIZE;
      row = {
        slab: sim.composition.slab, pagesHeld: r.pagesHeld, memoryUsedKb: used / 1024, peakPagesHeld: r.peakPagesHeld, liveObjects: r.liveObjects,
        requestedKb: Math.round(r.liveRequested / 102.4) / 10, allocatedKb: Math.round(r.liveAllocated / 102.4) / 10,
        internalFragmentation: r.liveAllocated ? Math.round((1000 * (r.liveAllocated - r.liveRequested)) / r.liveAllocated) / 10 : 0,
        overhead: used ? Math.round((1000 * (used - r.liveRequested)) / used) / 10 : 0,
        failures: r.failures, unmatchedFrees: r.unmatchedFrees, opsPerSec: 0, allPagesReturned: false,
      };
      for (const { ptr, cache } of r.live) {
        if (cache) sim.slab.cacheFree(cache, ptr);
        else sim.slab.kfree(ptr);
      }
      for (const c of sim.slab.caches()) sim.slab.shrinkCache(c);
      sim.pages.drainAllPages();
      row.allPagesReturned = free0() === before;
      sim.check();
    } finally {
      sim.dispose();
    }
    // the speed pass: no listeners; the workload replayed (what it leaves freed after each replay)
    // until ~50k operations per round, after a warm-up round
    const rates: number[] = [];
    const s = await boot(slab);
    try {
      const machine = { nrCpus: s.topology.nrCpus, nrNodes: s.topology.nodes.length };
      const slabApi = s.slab;
      const reps = Math.max(1, Math.ceil(50_000 / Math.max(1, compiled.length)));
      for (let i = 0; i <= rounds; i++) {
        let ns = 0;
        for (let k = 0; k < reps; k++) {
          const t0 = process.hrtime.bigint();
          const r = runKmallocTrace(slabApi, compiled, machine);
          ns += Number(process.hrtime.bigint() - t0);
          for (const { ptr, cache } of r.live) {
            if (cache) slabApi.cacheFree(cache, ptr);
            else slabApi.kfree(ptr);
          }
        }
        if (i > 0) rates.push((compiled.length * reps) / (ns / 1e9));
      }
    } finally {
      s.dispose();
    }
    row.opsPerSec = Math.round(median(rates));
    rows.push(row);
  }
  return { workload: opts.name ?? 'workload', ops: trace.ops.length, counts, warnings: trace.warnings, rows };
}

const human = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));

/** The side-by-side table `mmsim compare` prints. */
export function formatCompare(r: CompareResult): string {
  const c = r.counts;
  let out = `mmsim compare: ${r.workload}: ${r.ops} ops (${c.kmalloc} kmalloc, ${c.kfree} kfree, ${c.cacheAlloc} kmem_cache_alloc, ${c.cacheFree} kmem_cache_free; ${c.ignored} other events ignored)\n`;
  for (const w of r.warnings) out += `warning: ${w}\n`;
  const lines: [string, (x: CompareRow) => string][] = [
    ['memory used (kB)', (x) => String(x.memoryUsedKb)],
    ['pages held', (x) => String(x.pagesHeld)],
    ['pages held (peak)', (x) => String(x.peakPagesHeld)],
    ['live objects', (x) => String(x.liveObjects)],
    ['requested (kB)', (x) => x.requestedKb.toFixed(1)],
    ['allocated (kB)', (x) => x.allocatedKb.toFixed(1)],
    ['internal fragmentation (%)', (x) => x.internalFragmentation.toFixed(1)],
    ['overhead (%)', (x) => x.overhead.toFixed(1)],
    ['failed allocations', (x) => String(x.failures)],
    ['ops/s', (x) => human(x.opsPerSec)],
    ['all pages returned', (x) => (x.allPagesReturned ? 'yes' : 'NO')],
  ];
  const w0 = Math.max(...lines.map(([l]) => l.length)) + 2;
  const cols = r.rows.map((x) => Math.max(x.slab.length, ...lines.map(([, f]) => f(x).length)) + 2);
  out += `${''.padEnd(w0)}${r.rows.map((x, i) => x.slab.padStart(cols[i]!)).join('')}\n`;
  for (const [label, f] of lines) out += `${label.padEnd(w0)}${r.rows.map((x, i) => f(x).padStart(cols[i]!)).join('')}\n`;
  return out;
}

/** Registers `mmsim compare` on the program. */
export function registerCompare(program: Command, io: { out: (s: string) => void }, readConfig: (file: string | undefined) => SimulatorConfig): void {
  program.command('compare')
    .description('run one kmalloc-trace workload (bytes_req per line, or ftrace kmem events) under several slab allocators side by side')
    .requiredOption('--workload <file>', 'the workload: one bytes_req per line, or ftrace text of kmalloc / kfree / kmem_cache_* events')
    .option('--slab <list>', 'comma-separated slab plugins', 'slab,slub,slob')
    .option('-c, --config <file>', 'JSON config for the machine and the other plugins')
    .option('--rounds <n>', 'timed rounds per allocator (median ops/s)', (v) => Number(v), 3)
    .option('--json', 'machine-readable output')
    .action(async (o: { workload: string; slab: string; config?: string; rounds: number; json?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(o.workload, 'utf8');
      } catch (e) {
        throw new MmsimError('EWORKLOAD', `--workload ${o.workload}: cannot read: ${(e as Error).message}`);
      }
      const slabs = o.slab.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (slabs.length === 0) throw new MmsimError('ECONFIG', '--slab: name at least one slab allocator', { path: 'slab' });
      if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new MmsimError('ECONFIG', '--rounds: a positive integer', { path: 'rounds' });
      const trace = parseKmallocTrace(text);
      const r = await compareAllocators(trace, slabs, readConfig(o.config), { rounds: o.rounds, name: o.workload });
      io.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : formatCompare(r));
    });
}
