/**
 * Benchmarks. Targets live here, never in unit tests. Prints one JSON
 * document: each result with ops/s (median of several rounds).
 * Run: `npm run bench` (or `npm run bench -- --quick`).
 * @module @mmsim/bench
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  compileKmallocTrace, createSimulator, GFP_KERNEL, parseKmallocTrace, Random, runDefaultWorkload, runKmallocTrace, type Simulator,
} from '@mmsim/core';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;

interface Result {
  name: string;
  opsPerSec: number;
  /** The same rate against the process's CPU time: steadier than wall time on a loaded machine. */
  cpuOpsPerSec?: number;
  ops: number;
  rounds: number;
  target?: number;
  note?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Times `fn` (which performs `ops` operations) over ROUNDS rounds after a warm-up. */
function measure(name: string, ops: number, fn: () => void, extra: Partial<Result> = {}): Result {
  fn();
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    const ns = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(c0);
    rates.push((ops * 1e9) / ns);
    cpuRates.push((ops * 1e6) / Math.max(1, cpu.user + cpu.system));
  }
  return { name, opsPerSec: Math.round(median(rates)), cpuOpsPerSec: Math.round(median(cpuRates)), ops, rounds: ROUNDS, ...extra };
}

function order0Loop(sim: Simulator, n: number): () => void {
  const held = new Int32Array(256);
  return () => {
    // alloc/free in batches of 256 so the pattern is not a single page ping-pong
    for (let i = 0; i < n; i += 256) {
      for (let j = 0; j < 256; j++) held[j] = sim.pages.allocPages(GFP_KERNEL, 0)!;
      for (let j = 255; j >= 0; j--) sim.pages.freePages(held[j]!, 0);
    }
  };
}

async function main(): Promise<void> {
  const results: Result[] = [];
  const N = quick ? 200_000 : 1_000_000;

  // order-0 alloc+free, no listener vs one mm_page_alloc listener
  {
    const sim = await createSimulator({ machine: { memory: '4G', cpus: 2 }, seed: 1 });
    results.push(measure('page_alloc order-0 alloc+free (no listener)', N * 2, order0Loop(sim, N)));
    let seen = 0;
    sim.events.on('mm_page_alloc', () => {
      seen++;
    });
    const r = measure('page_alloc order-0 alloc+free (mm_page_alloc listener)', N * 2, order0Loop(sim, N));
    r.note = `listener saw ${seen} events`;
    results.push(r);
    sim.dispose();
  }

  // kmalloc + kfree pairs, sizes 8..4096, on each small-object allocator, no listeners.
  // The slab API is taken from the simulator once (sim.slab is a getter; before it cached
  // the instance, resolving it through the DI container cost more than the kmalloc itself).
  for (const allocator of ['slub', 'slab', 'slob']) {
    const sim = await createSimulator({ machine: { memory: '4G', cpus: 2 }, seed: 1, plugins: { slab: allocator } });
    const slab = sim.slab;
    const r = new Random(1);
    const sizes = Int32Array.from({ length: 4096 }, () => 8 + r.below(4089));
    const held = new Float64Array(64);
    const pairs = quick ? 200_000 : 1_000_000;
    const target = allocator === 'slub' ? { target: 20_000_000 } : {};
    // 64 live at a time: the size classes' slabs fill and empty, the slow paths run
    results.push(measure(`kmalloc+kfree pairs 8..4096, 64 in flight (${allocator})`, pairs, () => {
      for (let i = 0; i < pairs; i += 64) {
        for (let j = 0; j < 64; j++) held[j] = slab.kmalloc(sizes[(i + j) & 4095]!, GFP_KERNEL)!;
        for (let j = 0; j < 64; j++) slab.kfree(held[j]!);
      }
    }, target));
    // each object freed at once: the per-CPU fast paths only
    results.push(measure(`kmalloc+kfree pairs 8..4096, freed at once (${allocator})`, pairs, () => {
      for (let i = 0; i < pairs; i++) slab.kfree(slab.kmalloc(sizes[i & 4095]!, GFP_KERNEL));
    }));
    sim.check();
    sim.dispose();
  }

  // the kmalloc-trace workload (test/fixtures/kmalloc-trace.txt) replayed on each allocator
  {
    const file = fileURLToPath(new URL('../../../test/fixtures/kmalloc-trace.txt', import.meta.url));
    const trace = compileKmallocTrace(parseKmallocTrace(readFileSync(file, 'utf8')));
    for (const allocator of ['slub', 'slab', 'slob']) {
      const sim = await createSimulator({ machine: { memory: '4G', cpus: 2 }, seed: 1, plugins: { slab: allocator } });
      const slab = sim.slab;
      const machine = { nrCpus: 2, nrNodes: 1 };
      const reps = quick ? 5 : 20;
      results.push(measure(`kmalloc-trace replay (${allocator})`, trace.length * reps, () => {
        for (let k = 0; k < reps; k++) {
          const res = runKmallocTrace(slab, trace, machine);
          for (const { ptr, cache } of res.live) {
            if (cache) slab.cacheFree(cache, ptr);
            else slab.kfree(ptr);
          }
        }
      }));
      sim.dispose();
    }
  }

  // the default workload end to end (boot excluded)
  {
    const ops = quick ? 50_000 : 200_000;
    const rates: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const sim = await createSimulator({ machine: { memory: '4G', cpus: 2 }, seed: i + 1 });
      const t0 = process.hrtime.bigint();
      runDefaultWorkload(sim, { ops });
      rates.push((ops * 1e9) / Number(process.hrtime.bigint() - t0));
      sim.dispose();
    }
    results.push({ name: 'default workload (mmsim run)', opsPerSec: Math.round(median(rates)), ops, rounds: ROUNDS });
  }

  // boot time of a 4 GiB machine
  {
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint();
      const sim = await createSimulator({ machine: { memory: '4G', cpus: 2 } });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      sim.dispose();
    }
    results.push({ name: 'boot 4 GiB (ms)', opsPerSec: 0, ops: 1, rounds: ROUNDS, note: `median ${median(times).toFixed(1)} ms` });
  }

  process.stdout.write(`${JSON.stringify({ node: process.version, quick, results }, null, 2)}\n`);
}

await main();
