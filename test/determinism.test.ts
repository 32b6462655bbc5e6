// Determinism: the same config, workload and seed give byte-identical
// output — summary, every /proc view, the trace of every tracepoint — twice
// in one process, in two simulators alive at once, and in two worker
// threads (which load the built packages rather than the sources).
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
// a plain .mjs module, shared with the worker thread
import { runScenario } from './determinism-scenario.mjs';

interface Out { text: string; sha256: string; lines: number }
const run = runScenario as (p: { config: object; ops: number }) => Promise<Out>;

const CONFIGS = [
  { name: 'default composition, 128M', config: { machine: { memory: '128M', cpus: 2 }, seed: 42 } },
  { name: 'two nodes, 4 CPUs, no mobility grouping, no CPU partial lists', config: {
    machine: { nodes: [{ memory: '64M', cpus: 2 }, { memory: '64M', cpus: 2 }] }, seed: 7,
    plugins: { pageAllocator: { use: 'buddy', options: { mobilityGrouping: false } }, slab: { use: 'slub', options: { cpuPartial: false } } },
  } },
];

function inWorker(p: { config: object; ops: number }): Promise<Out> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./determinism-worker.mjs', import.meta.url), { workerData: p });
    w.once('message', (m: Out) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

describe('determinism', () => {
  for (const { name, config } of CONFIGS) {
    it(`${name}: byte-identical across runs in one process and across worker threads`, async () => {
      const p = { config, ops: 8000 };
      const a = await run(p);
      const b = await run(p);
      expect(a.lines, 'the scenario fires tracepoints').toBeGreaterThan(1000);
      expect(a.text).toMatch(/==> \/proc\/meminfo <==/);
      expect(a.text).toMatch(/^mark_victim: /m);
      expect(b.text === a.text, 'second run in the same process').toBe(true);
      const [w1, w2] = await Promise.all([inWorker(p), inWorker(p)]);
      expect(w1.sha256, 'worker 1 vs worker 2').toBe(w2.sha256);
      expect(w1.text === a.text, 'worker thread (built packages) vs this thread (sources)').toBe(true);
    });
  }

  it('two simulators alive at once do not perturb each other; another seed gives other output', async () => {
    const p = { config: CONFIGS[0]!.config, ops: 3000 };
    const [a, b] = await Promise.all([run(p), run(p)]);
    expect(a.sha256).toBe(b.sha256);
    const c = await run({ ...p, config: { ...p.config, seed: 43 } });
    expect(c.sha256).not.toBe(a.sha256);
  });
});
