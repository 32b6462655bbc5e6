// One deterministic scenario, shared by test/determinism.test.ts (in the
// test runner, from the TypeScript sources) and test/determinism-worker.mjs
// (in worker threads, from the built packages): boot, trace every
// tracepoint, run the default workload under memory pressure, fork tasks
// and invoke the OOM killer, then print the summary, every /proc view and
// the trace.
import { createHash } from 'node:crypto';
import { createSimulator, FolioOutcome, runDefaultWorkload, scanControl, TRACEPOINTS } from '@mmsim/defconfig';

/** @param {{ config: object, ops: number }} p */
export async function runScenario({ config, ops }) {
  const sim = await createSimulator(config);
  try {
    const trace = [];
    for (const name of TRACEPOINTS) sim.events.on(name, (e) => trace.push(`${name}: ${JSON.stringify(e)}`));
    const summary = runDefaultWorkload(sim, { ops, fill: 1.1 });
    sim.sysctl.set('vm.swappiness', 100);
    // a shrink whose victims are all kept: shrink_folio_list records them and puts none out
    const victims = [];
    sim.reclaim.shrink(scanControl({ nrToReclaim: 64, priority: 0 }), {
      shrinkFolioList: (folios) => (victims.push(...folios), { nrReclaimed: 0, outcome: folios.map(() => FolioOutcome.KEEP), stat: { nrPageout: 0, nrActivate: [0, 0] } }),
    });
    const r = sim.random;
    for (let i = 0; i < 8; i++) {
      const t = sim.processes.spawn({ comm: `task${i}`, oomScoreAdj: r.below(2001) - 1000 });
      const len = (1 + r.below(1 << 10)) * 4096;
      const addr = sim.processes.mmap(t.pid, len);
      sim.processes.touch(t.pid, addr, len, { write: r.below(4) !== 0, random: true, seed: r.below(1000) });
    }
    const victim = sim.oomKiller.outOfMemory();
    sim.check();
    const procs = sim.procNames().map((n) => `==> /proc/${n} <==\n${sim.proc(n)}`);
    const text = [`composition ${JSON.stringify(sim.composition)}`, `summary ${JSON.stringify(summary)}`, `victims ${victims.join(',')}`, `oom ${victim?.pid}`, ...procs, ...trace].join('\n');
    return { text, sha256: createHash('sha256').update(text).digest('hex'), lines: trace.length };
  } finally {
    sim.dispose();
  }
}
