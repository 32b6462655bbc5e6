/**
 * Memory-model benchmarks: pfn → page lookup rate per model, simulator
 * metadata per simulated page, and the time and RSS to boot a 1 TiB sparse
 * machine (two nodes, a hole between them) — the latter in a fresh child
 * process (`boot-machine.js`), so its RSS is its own.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSimulator, Random, type SimulatorConfig } from '@mmsim/defconfig';

/** A benchmark result (same shape as index.ts prints). */
export interface ModelResult {
  name: string;
  opsPerSec: number;
  ops: number;
  rounds: number;
  target?: number;
  note?: string;
  [k: string]: unknown;
}

const GiB = 2 ** 30;

/** Two nodes of `each` bytes with a hole of `each / 2` between them. */
export function sparseMachine(each: number): SimulatorConfig['machine'] {
  return {
    nodes: [
      { ranges: [{ start: 0, end: each }], cpus: 2 },
      { ranges: [{ start: each * 1.5, end: each * 2.5 }], cpus: 2 },
    ],
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Boots a machine in a child process; returns what boot-machine.js measured. */
function bootInChild(machine: SimulatorConfig['machine'], model: unknown): { ms: number; rssBytes: number; pages: number; tableBytes: number; baseRss: number; slotLayout?: string } {
  const script = fileURLToPath(new URL('./boot-machine.js', import.meta.url));
  const out = execFileSync(process.execPath, [script, JSON.stringify({ machine, plugins: { memoryModel: model } })], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out) as { ms: number; rssBytes: number; pages: number; tableBytes: number; baseRss: number; slotLayout?: string };
}

/** The memory-model benchmarks. */
export async function memoryModelBenchmarks(quick: boolean, rounds: number, want: (name: string) => boolean = () => true): Promise<ModelResult[]> {
  const results: ModelResult[] = [];
  // pfn → page over random valid pfns of a 16 GiB two-node machine with a hole
  const machine = sparseMachine(8 * GiB);
  const lookups = quick ? 2_000_000 : 10_000_000;
  const interleaved = { use: 'sparsemem', options: { slotLayout: 'interleaved' } };
  for (const [model, label] of [['flatmem', 'flatmem'], ['discontigmem', 'discontigmem'], ['sparsemem', 'sparsemem'], [interleaved, 'sparsemem, interleaved slots']] as [unknown, string][]) {
    if (!want(`pfn_to_page lookups (${label})`)) continue;
    const sim = await createSimulator({ machine, plugins: { memoryModel: model as string } });
    const r = new Random(1);
    const ranges = sim.memory.presentRanges();
    const pfns = Int32Array.from({ length: 1 << 16 }, () => {
      const x = ranges[r.below(ranges.length)]!;
      return x.start + r.below(x.end - x.start);
    });
    const m = sim.memory;
    let sink = 0;
    const run = () => {
      for (let i = 0; i < lookups; i++) sink += m.pfnToPage(pfns[i & 0xffff]!);
    };
    run();
    const rates: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      run();
      rates.push((lookups * 1e9) / Number(process.hrtime.bigint() - t0));
    }
    results.push({ name: `pfn_to_page lookups (${label})`, opsPerSec: Math.round(median(rates)), ops: lookups, rounds, note: `checksum ${sink % 1000}` });
    sim.dispose();
  }
  // metadata per simulated (present) page, and the 1 TiB boot, each in a fresh process
  const each = quick ? 64 * GiB : 512 * GiB;
  const linear = { use: 'sparsemem', options: { slotLayout: 'linear' } };
  const models: [unknown, string][] = [['sparsemem', 'sparsemem, default options'], [linear, 'sparsemem, linear slots'], [interleaved, 'sparsemem, interleaved slots']];
  if (quick) models.unshift(['flatmem', 'flatmem']);
  for (const [model, label] of models) {
    if (!want(`boot ${(2 * each) / GiB} GiB sparse machine, 2 nodes + hole (${label})`)) continue;
    // each boot in a fresh process; the best of two, so that one disturbed by the host (the first big
    // allocation after the parent's work can wait on the OS for seconds) does not stand for the model
    const boots = Array.from({ length: quick ? 1 : 2 }, () => bootInChild(sparseMachine(each), model));
    const b = boots.reduce((x, y) => (y.ms < x.ms ? y : x));
    results.push({
      name: `boot ${(2 * each) / GiB} GiB sparse machine, 2 nodes + hole (${label}${b.slotLayout && label.endsWith('default options') ? `: ${b.slotLayout} slots` : ''})`,
      opsPerSec: 0, ops: 1, rounds: 1,
      ...(each === 512 * GiB ? { target: 5000 } : {}),
      bootMs: Math.round(b.ms),
      rssMiB: Math.round(b.rssBytes / 2 ** 20),
      presentPages: b.pages,
      tableBytesPerPage: +(b.tableBytes / b.pages).toFixed(2),
      rssBytesPerPage: +((b.rssBytes - b.baseRss) / b.pages).toFixed(2),
      note: `metadata per simulated page: ${(b.tableBytes / b.pages).toFixed(1)} B allocated, ${((b.rssBytes - b.baseRss) / b.pages).toFixed(1)} B resident after boot (target ≤ 16); boot ${Math.round(b.ms)} ms${each === 512 * GiB ? ' (target ≤ 5000)' : ''}${boots.length > 1 ? ` (best of ${boots.map((x) => Math.round(x.ms)).join(', ')} ms)` : ''}`,
    });
  }
  return results;
}
