/**
 * The OomScorer conformance suite. Every OOM scorer plugin runs it:
 * ```ts
 * import { oomScorerConformance } from '@mmsim/testkit';
 * oomScorerConformance({ name: 'oom-linux', plugin: 'oom-linux' });
 * ```
 * What every Linux OOM policy promises: a task with oom_score_adj -1000
 * (OOM_SCORE_ADJ_MIN), an unkillable task and a task already chosen are
 * never chosen; the victim has the highest badness of the eligible tasks;
 * raising oom_score_adj or memory use never lowers badness; scores are
 * integers in 0..2000; choosing changes nothing but oc.chosen.
 * @module
 */
import { OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN, type OomControl, type OomScorer, type Simulator, type Task } from '@mmsim/defconfig';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefused, makeSim, type SuiteTarget } from './common.js';
import { spawnTask } from './tasks.js';
import { assertOpSequences, fc, type OpModel, pick, propertyDefaults, propertyTimeout } from './property.js';

/** A task without its pid. */
export type TaskFields = Omit<Task, 'pid'>;

/** A task's memory counters and flags (no pid). */
export const taskArb: fc.Arbitrary<TaskFields> = fc.record({
  comm: fc.constantFrom('init', 'bash', 'postgres', 'chrome', 'java', 'kworker/0:1'),
  uid: fc.nat({ max: 2000 }),
  fileRss: fc.nat({ max: 1 << 20 }),
  anonRss: fc.nat({ max: 1 << 22 }),
  shmemRss: fc.nat({ max: 1 << 18 }),
  swapents: fc.nat({ max: 1 << 20 }),
  pgtablesBytes: fc.nat({ max: 1 << 28 }),
  totalVm: fc.nat({ max: 1 << 24 }),
  oomScoreAdj: fc.oneof(fc.integer({ min: OOM_SCORE_ADJ_MIN, max: OOM_SCORE_ADJ_MAX }), fc.constantFrom(OOM_SCORE_ADJ_MIN, 0, OOM_SCORE_ADJ_MAX)),
  unkillable: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constant(true), weight: 1 }),
  oomSkip: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constant(true), weight: 1 }),
}).map((t) => ({ ...t, totalVm: Math.max(t.totalVm, t.fileRss + t.anonRss + t.shmemRss) }));

const totalPagesArb = fc.integer({ min: 1, max: 2 ** 40 });

/** Pages a task holds as oom_badness counts them: rss, swap entries, page tables. */
export function taskPages(t: TaskFields): number {
  return t.fileRss + t.anonRss + t.shmemRss + t.swapents + Math.ceil(t.pgtablesBytes / 4096);
}

/** Would select_bad_process() consider this task at all? */
function eligible(o: OomScorer, t: Task, total: number): boolean {
  return !t.unkillable && !t.oomSkip && t.oomScoreAdj !== OOM_SCORE_ADJ_MIN && o.badness(t, total) !== null;
}

/** What an OOM scorer may read of a task (task_struct + mm counters), as plain data. */
function taskFields(t: Task): Task {
  return {
    pid: t.pid, comm: t.comm, uid: t.uid, fileRss: t.fileRss, anonRss: t.anonRss, shmemRss: t.shmemRss, swapents: t.swapents,
    pgtablesBytes: t.pgtablesBytes, totalVm: t.totalVm, oomScoreAdj: t.oomScoreAdj, unkillable: t.unkillable ?? false, oomSkip: t.oomSkip ?? false,
  };
}

/** Checks one selectVictim() call against the contract. */
export function checkSelection(o: OomScorer, tasks: Task[], total: number): Task | null {
  const before = JSON.stringify(tasks.map(taskFields));
  const oc: OomControl = { totalPages: total, gfpMask: 0xcc0, order: 0, constraint: 'CONSTRAINT_NONE' };
  const v = o.selectVictim(tasks, oc);
  expect(JSON.stringify(tasks.map(taskFields)), 'selectVictim must not change the tasks').toBe(before);
  const elig = tasks.filter((t) => eligible(o, t, total));
  if (elig.length === 0) {
    expect(v, 'no eligible task, no victim').toBeNull();
    expect(oc.chosen).toBeUndefined();
    return null;
  }
  expect(v, 'an eligible task exists: a victim').not.toBeNull();
  expect(tasks).toContain(v);
  expect(eligible(o, v!, total), `victim pid ${v!.pid} is eligible`).toBe(true);
  const points = o.badness(v!, total)!;
  for (const t of elig) expect(o.badness(t, total)!, `pid ${t.pid} has more badness than the victim ${v!.pid}`).toBeLessThanOrEqual(points);
  expect(oc.chosen).toBe(v);
  expect(oc.chosenPoints).toBe(points);
  // deterministic
  const again = o.selectVictim(tasks, { ...oc, chosen: undefined as never, chosenPoints: undefined as never });
  expect(again).toBe(v);
  return v;
}

/** One OOM operation of a random sequence over the simulator's task table. */
export type OomOp =
  | { k: 'fork'; task: TaskFields }
  | { k: 'exit'; pick: number }
  | { k: 'adj'; pick: number; adj: number }
  | { k: 'select' }
  | { k: 'oom' }
  | { k: 'score'; pick: number }
  | { k: 'bad'; what: 'pid' | 'adj' | 'proc'; pick: number };

/** What the OOM sequence holds: the pids it spawned and the anonymous pages each wrote. */
export interface OomModelState {
  pids: number[];
  pages: Map<number, number>;
}

/** The OOM scorer over a task table: fork/exit, adj changes, selection, out_of_memory(), /proc scores. */
export const oomScorerModel: OpModel<OomOp, OomModelState> = {
  op: fc.oneof(
    { arbitrary: fc.record({ k: fc.constant('fork' as const), task: taskArb }), weight: 4 },
    { arbitrary: fc.record({ k: fc.constant('exit' as const), pick: pick() }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('adj' as const), pick: pick(), adj: fc.integer({ min: OOM_SCORE_ADJ_MIN, max: OOM_SCORE_ADJ_MAX }) }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('select' as const) }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('oom' as const) }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('score' as const), pick: pick() }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('bad' as const), what: fc.constantFrom('pid', 'adj', 'proc'), pick: pick() }), weight: 1 },
  ),
  init: () => ({ pids: [], pages: new Map() }),
  apply(sim, s, op) {
    const k = { tasks: sim.tasks, oomTotalPages: () => sim.oomKiller.totalPages(), vmEvents: sim.vmstat.events, outOfMemory: () => sim.oomKiller.outOfMemory() };
    const total = k.oomTotalPages();
    switch (op.k) {
      case 'fork': {
        // a real task: its counters come from the memory it writes, scaled into a quarter of the machine
        const held = [...s.pages.values()].reduce((a, b) => a + b, 0);
        const room = Math.max(0, Math.floor(sim.topology.totalManagedPages / 4) - held);
        const anonPages = op.task.unkillable ? 0 : Math.min(room, Math.floor(op.task.anonRss / 256));
        const t = op.task.unkillable
          ? sim.processes.spawn({ comm: op.task.comm, kthread: true })
          : spawnTask(sim, { comm: op.task.comm, uid: op.task.uid, oomScoreAdj: op.task.oomScoreAdj, anonPages });
        s.pids.push(t.pid);
        s.pages.set(t.pid, anonPages);
        if (op.task.oomSkip) t.oomSkip = true;
        return;
      }
      case 'exit': {
        if (!s.pids.length) return;
        const [pid] = s.pids.splice(op.pick % s.pids.length, 1);
        sim.processes.exit(pid!);
        s.pages.delete(pid!);
        return;
      }
      case 'adj':
        if (s.pids.length) k.tasks.get(s.pids[op.pick % s.pids.length]!).oomScoreAdj = op.adj;
        return;
      case 'select':
        checkSelection(sim.oom, k.tasks.all(), total);
        return;
      case 'oom': {
        const want = sim.oom.selectVictim(k.tasks.all(), { totalPages: total, gfpMask: 0xcc0, order: 0, constraint: 'CONSTRAINT_NONE' });
        const kills = k.vmEvents.oom_kill ?? 0;
        const v = k.outOfMemory();
        expect(v).toBe(want);
        if (v) {
          expect(v.oomSkip, 'the victim is marked').toBe(true);
          expect(k.vmEvents.oom_kill).toBe(kills + 1);
          // the victim dies and its memory goes back
          sim.processes.exit(v.pid);
          s.pids.splice(s.pids.indexOf(v.pid), 1);
          s.pages.delete(v.pid);
        }
        return;
      }
      case 'score': {
        if (!s.pids.length) return;
        const t = k.tasks.get(s.pids[op.pick % s.pids.length]!);
        const score = sim.oom.oomScore(t, total);
        expect(Number.isInteger(score) && score >= 0 && score <= 2000, `oom_score ${score}`).toBe(true);
        if (sim.oom.badness(t, total) === null) expect(score, 'an unkillable task scores 0').toBe(0);
        expect(sim.proc(`${t.pid}/oom_score`)).toBe(`${score}\n`);
        return;
      }
      case 'bad':
        if (op.what === 'pid') expectRefused(sim, () => k.tasks.get(1e6 + op.pick), 'ETASK_UNKNOWN');
        else if (op.what === 'adj') expectRefused(sim, () => sim.processes.spawn({ comm: 'bad', oomScoreAdj: OOM_SCORE_ADJ_MAX + 1 + (op.pick % 10) }), 'EINVAL');
        else expectRefused(sim, () => sim.proc(`${1e6 + op.pick}/oom_score`), 'EPROC_UNKNOWN');
    }
  },
  release(sim, s) {
    for (const pid of s.pids) sim.processes.exit(pid);
    s.pids = [];
    s.pages.clear();
  },
  observe: (sim) => `tasks ${JSON.stringify(sim.tasks.all().map(taskFields))}\nproc ${sim.procNames().join(' ')}`,
};

/** Registers the OomScorer conformance tests for `target`. */
export function oomScorerConformance(target: SuiteTarget): void {
  describe(`OomScorer conformance: ${target.name}`, () => {
    let sim: Simulator;
    let o: OomScorer;
    beforeAll(async () => {
      sim = await makeSim(target, 'oom', { memory: '64M', cpus: 1 });
      o = sim.oom;
    });
    afterAll(() => sim.dispose());
    const runs = () => propertyDefaults(target.property).numRuns * 10;
    const seed = () => propertyDefaults(target.property).seed;
    let nextPid = 1;
    const withPids = (ts: TaskFields[]): Task[] => ts.map((t) => ({ ...t, pid: nextPid++ }));

    it('never chooses a task with oom_score_adj -1000, an unkillable task or one already chosen; no eligible task, no victim', () => {
      const total = 1 << 20;
      const tasks = withPids([
        { comm: 'init', uid: 0, fileRss: 9e5, anonRss: 9e5, shmemRss: 0, swapents: 0, pgtablesBytes: 0, totalVm: 2e6, oomScoreAdj: 0, unkillable: true },
        { comm: 'sshd', uid: 0, fileRss: 8e5, anonRss: 8e5, shmemRss: 0, swapents: 0, pgtablesBytes: 0, totalVm: 2e6, oomScoreAdj: OOM_SCORE_ADJ_MIN },
        { comm: 'dying', uid: 0, fileRss: 7e5, anonRss: 7e5, shmemRss: 0, swapents: 0, pgtablesBytes: 0, totalVm: 2e6, oomScoreAdj: 0, oomSkip: true },
      ]);
      expect(checkSelection(o, tasks, total)).toBeNull();
      expect(o.selectVictim([], { totalPages: total, gfpMask: 0, order: 0, constraint: 'CONSTRAINT_NONE' })).toBeNull();
      const small = withPids([{ comm: 'small', uid: 1000, fileRss: 10, anonRss: 10, shmemRss: 0, swapents: 0, pgtablesBytes: 4096, totalVm: 100, oomScoreAdj: 0 }]);
      expect(checkSelection(o, [...tasks, ...small], total)).toBe(small[0]);
      for (const t of tasks) expect(o.oomScore(t, total), `${t.comm} scores 0`).toBe(0);
    });

    it('the biggest task is chosen, and oom_score_adj 1000 makes a task the victim', () => {
      const total = 1 << 20;
      const t = withPids([
        { comm: 'a', uid: 0, fileRss: 100, anonRss: 5000, shmemRss: 0, swapents: 0, pgtablesBytes: 0, totalVm: 6000, oomScoreAdj: 0 },
        { comm: 'b', uid: 0, fileRss: 100, anonRss: 50000, shmemRss: 0, swapents: 0, pgtablesBytes: 0, totalVm: 60000, oomScoreAdj: 0 },
        { comm: 'c', uid: 0, fileRss: 100, anonRss: 1000, shmemRss: 0, swapents: 0, pgtablesBytes: 0, totalVm: 2000, oomScoreAdj: 0 },
      ]);
      expect(checkSelection(o, t, total)).toBe(t[1]);
      t[2]!.oomScoreAdj = OOM_SCORE_ADJ_MAX;
      expect(checkSelection(o, t, total)).toBe(t[2]);
    });

    it('out_of_memory() marks the victim, counts oom_kill and fires mark_victim; /proc/<pid>/oom_score is oomScore()', () => {
      const k = { oomTotalPages: () => sim.oomKiller.totalPages(), vmEvents: sim.vmstat.events, outOfMemory: () => sim.oomKiller.outOfMemory() };
      if (!sim.tasks.has(1)) sim.processes.spawn({ comm: 'init' }); // pid 1 is never a victim
      const a = spawnTask(sim, { comm: 'hog', anonPages: 4000 });
      const b = spawnTask(sim, { comm: 'idle', anonPages: 10 });
      expect(sim.proc(`${a.pid}/oom_score`)).toBe(`${o.oomScore(a, k.oomTotalPages())}\n`);
      const seen: number[] = [];
      sim.events.on('mark_victim', (e) => seen.push(e.pid));
      const kills = k.vmEvents.oom_kill ?? 0;
      expect(k.outOfMemory()).toBe(a);
      expect(a.oomSkip).toBe(true);
      expect(k.vmEvents.oom_kill).toBe(kills + 1);
      expect(seen).toEqual([a.pid]);
      sim.events.off('mark_victim');
      sim.processes.exit(a.pid);
      sim.processes.exit(b.pid);
    });

    it('property: the victim is eligible and has the highest badness; selection is deterministic and changes no task', () => {
      fc.assert(fc.property(fc.array(taskArb, { maxLength: 12 }), totalPagesArb, (ts, total) => {
        checkSelection(o, withPids(ts), total);
      }), { numRuns: runs(), seed: seed() });
    }, propertyTimeout());

    it('property: raising oom_score_adj or memory use never lowers badness; oom_score is an integer in 0..2000', () => {
      fc.assert(fc.property(taskArb, totalPagesArb, fc.integer({ min: 0, max: 2000 }), fc.nat({ max: 1 << 20 }), (tf, anyTotal, dAdj, dMem) => {
        const [t] = withPids([{ ...tf, unkillable: false, oomSkip: false, oomScoreAdj: Math.min(tf.oomScoreAdj, OOM_SCORE_ADJ_MAX - 1) }]);
        // a task's memory fits in RAM + swap (what keeps proc_oom_score within 0..2000)
        const total = Math.max(anyTotal, taskPages(t!) + dMem);
        const b = o.badness(t!, total);
        const up = { ...t!, oomScoreAdj: Math.min(OOM_SCORE_ADJ_MAX, t!.oomScoreAdj + dAdj) };
        const big = { ...t!, anonRss: t!.anonRss + dMem, totalVm: t!.totalVm + dMem };
        if (b !== null) {
          expect(o.badness(up, total)!).toBeGreaterThanOrEqual(b);
          expect(o.badness(big, total)!).toBeGreaterThanOrEqual(b);
        }
        for (const x of [t!, up, big]) {
          const s = o.oomScore(x, total);
          expect(Number.isInteger(s) && s >= 0 && s <= 2000, `oom_score ${s}`).toBe(true);
        }
      }), { numRuns: runs(), seed: seed() });
    }, propertyTimeout());

    it('property: random fork/exit/adj/select/out_of_memory sequences keep every invariant and end in the boot state', async () => {
      await assertOpSequences(() => makeSim(target, 'oom', { memory: '64M', cpus: 1 }), oomScorerModel, target.property);
    }, propertyTimeout());
  });
}
