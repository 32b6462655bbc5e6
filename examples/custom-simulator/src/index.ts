/**
 * A custom simulator composed in TypeScript: a 2-node NUMA machine, the
 * built-in allocators, and an OOM scorer of our own passed as a manifest
 * object (no package needed). It listens to tracepoints and lets the OOM
 * killer pick among tasks with both scorers.
 * @module @mmsim/example-custom-simulator
 */
import {
  createSimulator, definePlugin, GFP_KERNEL, injectable, Lifecycle, OOM_SCORE_ADJ_MIN, OOM_SCORER, type OomControl,
  type OomScorer, type Task,
} from '@mmsim/defconfig';

/** "Kill the biggest": rss only, oom_score_adj ignored except -1000 — the pre-2.6.36 spirit, simplified. */
@injectable()
export class LargestRss implements OomScorer {
  readonly name = 'largest-rss';
  badness(t: Task): number | null {
    if (t.unkillable || t.oomSkip || t.oomScoreAdj === OOM_SCORE_ADJ_MIN) return null;
    return t.anonRss + t.fileRss + t.shmemRss;
  }
  selectVictim(tasks: Iterable<Task>, oc: OomControl): Task | null {
    let best: Task | null = null;
    let points = -Infinity;
    for (const t of tasks) {
      const p = this.badness(t);
      if (p !== null && p > points) {
        best = t;
        points = p;
      }
    }
    if (best) {
      oc.chosen = best;
      oc.chosenPoints = points;
    }
    return best;
  }
  oomScore(t: Task, totalPages: number): number {
    return Math.floor(((this.badness(t) ?? 0) * 1000) / totalPages);
  }
}

export const largestRss = definePlugin({
  name: 'largest-rss',
  provides: OOM_SCORER,
  apiVersion: '1',
  register(c) {
    c.register(OOM_SCORER, { useClass: LargestRss }, { lifecycle: Lifecycle.ContainerScoped });
  },
});

/** Builds the machine with the given OOM scorer, runs a few allocations and an OOM decision. */
export async function demo(oom: 'oom-linux' | typeof largestRss) {
  const sim = await createSimulator({
    machine: { nodes: [{ ranges: [{ start: 0, end: '0x40000000' }], cpus: 2 }, { ranges: [{ start: '0x100000000', end: '0x140000000' }], cpus: 2 }] },
    plugins: { oom },
    seed: 7,
  });
  const allocs: string[] = [];
  sim.events.on('mm_page_alloc', (e) => allocs.push(`pfn=0x${e.pfn.toString(16)} order=${e.order} migratetype=${e.migratetype}`));
  const pfn = sim.pages.allocPages(GFP_KERNEL, 2, { cpu: 3 })!;
  sim.pages.freePages(pfn, 2);
  // three processes that have written their memory: the counters the scorers read come from that
  const spawn = (comm: string, pages: number, oomScoreAdj: number) => {
    const t = sim.processes.spawn({ comm, oomScoreAdj });
    const addr = sim.processes.mmap(t.pid, pages * 4096);
    sim.processes.touch(t.pid, addr, pages * 4096, { write: true });
  };
  sim.processes.spawn({ comm: 'init' }); // pid 1: never an OOM victim
  spawn('database', 200_000, -500);
  spawn('browser', 120_000, 300);
  spawn('sshd', 2_000, -1000);
  const victim = sim.oomKiller.outOfMemory();
  const result = { node: sim.topology.pfnZone(pfn)!.nid, allocs, victim: victim?.comm ?? null, composition: sim.composition };
  sim.dispose();
  return result;
}
