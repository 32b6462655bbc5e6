/**
 * Benchmarks. Targets live here, never in unit tests. Prints one JSON
 * document: each result with ops/s (median of several rounds).
 * Run: `npm run bench` (or `npm run bench -- --quick`; `-- --only 'order mix'`
 * runs the benchmarks whose names contain that text).
 * @module @mmsim/bench
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  compileKmallocTrace, createSimulator, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, type PageAllocator, parseKmallocTrace, Random,
  runDefaultWorkload, runKmallocTrace, type Simulator,
} from '@mmsim/defconfig';
import { memoryModelBenchmarks } from './memory-models.js';
import { processBenchmarks } from './processes.js';

const quick = process.argv.includes('--quick');
/** `--only <text>`: run just the benchmarks whose names contain it. */
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] ?? '' : '';
const want = (name: string): boolean => name.includes(only);
/** Any of these benchmark names wanted? */
const wantAny = (...names: string[]): boolean => names.some(want);
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
  const pa = sim.pages; // resolved once: sim.pages goes through the DI container
  return () => {
    // alloc/free in batches of 256 so the pattern is not a single page ping-pong
    for (let i = 0; i < n; i += 256) {
      for (let j = 0; j < 256; j++) held[j] = pa.allocPages(GFP_KERNEL, 0)!;
      for (let j = 255; j >= 0; j--) pa.freePages(held[j]!, 0);
    }
  };
}

/** The standard mix's order for each 10-bit draw: 70% order 0, 15% order 1, 10% orders 2-3, 5% orders 4-9. */
const ORDER_MIX = Uint8Array.from({ length: 1024 }, (_, i) => {
  const r = (i * 100) / 1024;
  return r < 70 ? 0 : r < 85 ? 1 : r < 95 ? 2 + (i & 1) : 4 + (i % 6);
});

/**
 * The standard order mix against one page allocator: 70% order 0, 15%
 * order 1, 10% orders 2-3, 5% orders 4-9 (a 1024-entry table drawn by 10
 * random bits); half the requests unmovable (GFP_KERNEL), half movable
 * (GFP_HIGHUSER_MOVABLE); memory kept about half allocated (an allocation
 * is more likely below half, a free above); allocations, orders and which
 * block to free all drawn from one seeded xorshift32. Returns run(n)
 * performing n operations (an alloc or a free).
 *
 * The harness's own cost is kept out of the way: each held block is one
 * Int32Array word (pfn << 4 | order), and the block the next free will
 * release is drawn at the previous free, so its word is already in cache
 * when that free comes (a random read of a table of ~50k words, evicted by
 * the allocator's page-table traffic, would otherwise stall every free
 * before the allocator starts). Blocks allocated in between are not
 * candidates for that one free; every held block remains equally likely
 * to be the next victim drawn.
 */
function orderMix(pa: PageAllocator, managedPages: number): { run: (n: number) => void; fails: () => number } {
  const cap = 1 << 22;
  const held = new Int32Array(cap);
  const target = managedPages >> 1;
  const st = { s: 2463534242 | 0, n: 0, pages: 0, fails: 0, victim: -1 };
  const run = (ops: number): void => {
    // the state lives in locals while the loop runs
    let s = st.s;
    let n = st.n;
    let pages = st.pages;
    let victim = st.victim;
    let next = victim >= 0 ? held[victim]! : 0;
    for (let i = 0; i < ops; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const x = s >>> 0;
      if (n === 0 || (pages < target ? (x & 1023) < 563 : (x & 1023) < 461)) {
        const order = ORDER_MIX[(x >>> 10) & 1023]!;
        const pfn = pa.allocPages(x & 0x80000000 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE, order);
        if (pfn === null) {
          st.fails++;
          continue;
        }
        held[n++] = (pfn << 4) | order;
        pages += 1 << order;
      } else {
        if (victim < 0) {
          victim = (((x >>> 10) * n) / 4194304) | 0;
          next = held[victim]!;
        }
        // swap-remove the victim, then draw the next one among what is left
        held[victim] = held[--n]!;
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        const v = next;
        victim = n > 0 ? ((((s >>> 0) >>> 10) * n) / 4194304) | 0 : -1;
        next = victim >= 0 ? held[victim]! : 0;
        pa.freePages(v >>> 4, v & 15);
        pages -= 1 << (v & 15);
      }
    }
    st.s = s;
    st.n = n;
    st.pages = pages;
    st.victim = victim;
  };
  // fill to the target before timing
  while (st.pages < target) run(1 << 16);
  return { run, fails: () => st.fails };
}

async function main(): Promise<void> {
  const results: Result[] = [];
  const N = quick ? 200_000 : 1_000_000;

  // order-0 alloc+free, no listener vs one mm_page_alloc listener
  if (wantAny('page_alloc order-0 alloc+free (no listener)', 'page_alloc order-0 alloc+free (mm_page_alloc listener)')) {
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

  // the standard order mix on a 4 GiB zone (ZONE_NORMAL only: RAM at 4..8 GiB), migrate types, pcp and watermarks on
  {
    const variants: [string, Record<string, unknown>, number | undefined, string?][] = [
      ['page_alloc standard order mix, 4 GiB zone (migrate types, pcp, watermarks; no listeners)', {}, 20_000_000],
      ['page_alloc standard order mix, 4 GiB zone, pcp off', { pcp: false }, undefined],
      ['page_alloc standard order mix, 4 GiB zone, mobility grouping off', { mobilityGrouping: false }, undefined],
      // before 6.7 pcp->high is fixed: no free_high flushes of up to batch << 5 pages, so fewer pcp <-> buddy round trips
      ['page_alloc standard order mix, 4 GiB zone, kernel 6.6 (pcp->high fixed)', {}, undefined, '6.6'],
    ];
    // --quick runs the first variant only, unless --only names others
    for (const [name, options, target, kernel] of quick && !only ? variants.slice(0, 1) : variants) {
      if (!want(name)) continue;
      const sim = await createSimulator({
        machine: { e820: [{ start: '4G', end: '8G' }], cpus: 2 }, seed: 1, ...(kernel ? { kernel } : {}),
        plugins: { pageAllocator: { use: 'buddy', options } },
      });
      const zone = sim.topology.populatedZones[0]!;
      const mix = orderMix(sim.pages, zone.managedPages);
      const ops = quick ? 1_000_000 : 4_000_000;
      const c0 = process.cpuUsage();
      const r = measure(name, ops, () => mix.run(ops), target ? { target } : {});
      const cpu = process.cpuUsage(c0);
      const cpuRate = ((ops * (ROUNDS + 1)) / ((cpu.user + cpu.system) / 1e6));
      r.note = `${zone.name} ${zone.managedPages} managed pages; ${mix.fails()} failed allocations; ${(cpuRate / 1e6).toFixed(1)}M ops per CPU-second`;
      results.push(r);
      sim.check();
      sim.dispose();
    }
  }

  // kmalloc + kfree pairs, sizes 8..4096, on each small-object allocator, no listeners.
  // The slab API is taken from the simulator once (sim.slab is a getter; before it cached
  // the instance, resolving it through the DI container cost more than the kmalloc itself).
  const pairNames = (a: string) => [`kmalloc+kfree pairs 8..4096, 64 in flight (${a})`, `kmalloc+kfree pairs 8..4096, freed at once (${a})`];
  for (const allocator of ['slub', 'slab', 'slob'].filter((a) => wantAny(...pairNames(a)))) {
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
  if (wantAny(...['slub', 'slab', 'slob'].map((a) => `kmalloc-trace replay (${a})`))) {
    const file = fileURLToPath(new URL('../../../test/fixtures/kmalloc-trace.txt', import.meta.url));
    const trace = compileKmallocTrace(parseKmallocTrace(readFileSync(file, 'utf8')));
    for (const allocator of ['slub', 'slab', 'slob'].filter((a) => want(`kmalloc-trace replay (${a})`))) {
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
  if (want('default workload (mmsim run)')) {
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
  if (want('boot 4 GiB (ms)')) {
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
  results.push(...(await memoryModelBenchmarks(quick, ROUNDS, want)));
  // the process layer: anonymous faults, fork + COW, memory per resident user page
  results.push(...(await processBenchmarks(quick, ROUNDS, want)));
  // a group measures all of its benchmarks: keep the ones asked for
  const shown = results.filter((r) => want(r.name));
  results.length = 0;
  results.push(...shown);
  if (results.length === 0) {
    process.stderr.write(`bench: no benchmark name contains '${only}'\n`);
    process.exitCode = 1;
  }

  process.stdout.write(`${JSON.stringify({ node: process.version, quick, results }, null, 2)}\n`);
}

await main();
