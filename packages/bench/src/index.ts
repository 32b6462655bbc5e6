/**
 * Benchmarks. Targets live here, never in unit tests. Prints one JSON
 * document: each result with ops/s (median of several rounds).
 * Run: `npm run bench` (or `npm run bench -- --quick`).
 * @module @mmsim/bench
 */
import { createSimulator, GFP_KERNEL, Random, runDefaultWorkload, type Simulator } from '@mmsim/core';
import { memoryModelBenchmarks } from './memory-models.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;

interface Result {
  name: string;
  opsPerSec: number;
  ops: number;
  rounds: number;
  target?: number;
  note?: string;
  [k: string]: unknown;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Times `fn` (which performs `ops` operations) over ROUNDS rounds after a warm-up. */
function measure(name: string, ops: number, fn: () => void, extra: Partial<Result> = {}): Result {
  fn();
  const rates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push((ops * 1e9) / ns);
  }
  return { name, opsPerSec: Math.round(median(rates)), ops, rounds: ROUNDS, ...extra };
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

  // kmalloc + kfree pairs, sizes 8..4096
  {
    const sim = await createSimulator({ machine: { memory: '4G', cpus: 2 }, seed: 1 });
    const r = new Random(1);
    const sizes = Int32Array.from({ length: 4096 }, () => 8 + r.below(4089));
    const held = new Float64Array(64);
    const pairs = quick ? 200_000 : 1_000_000;
    results.push(measure('kmalloc+kfree pairs 8..4096 (slub)', pairs, () => {
      for (let i = 0; i < pairs; i += 64) {
        for (let j = 0; j < 64; j++) held[j] = sim.slab.kmalloc(sizes[(i + j) & 4095]!, GFP_KERNEL)!;
        for (let j = 0; j < 64; j++) sim.slab.kfree(held[j]!);
      }
    }, { target: 20_000_000 }));
    sim.dispose();
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

  // memory models: pfn → page rate, metadata per page, 1 TiB sparse boot
  results.push(...(await memoryModelBenchmarks(quick, ROUNDS)));

  process.stdout.write(`${JSON.stringify({ node: process.version, quick, results }, null, 2)}\n`);
}

await main();
