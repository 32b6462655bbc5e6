import { existsSync } from 'node:fs';
import {
  createSimulator, OOM_SCORER, type OomControl, type Simulator, type Task,
} from '@mmsim/defconfig';
import { spawnTask, stubSlabPlugin } from '@mmsim/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import oomPlugin, { LinuxOomScorer } from './index.js';

/** A do-nothing slab allocator, so these tests do not depend on the slub plugin. */
const stubSlab = stubSlabPlugin;

/** The default slab plugin is written separately; the default-composition test waits for it. */
const HAVE_SLUB = existsSync(new URL('../../slub/src/index.ts', import.meta.url));

let nextPid = 100;
function task(t: Partial<Task> & { comm?: string } = {}): Task {
  return {
    pid: nextPid++, comm: 'task', uid: 0, fileRss: 0, anonRss: 0, shmemRss: 0, swapents: 0, pgtablesBytes: 0,
    totalVm: 0, oomScoreAdj: 0, unkillable: false, oomSkip: false, ...t,
  };
}
function control(totalPages: number): OomControl {
  return { totalPages, gfpMask: 0xcc0, order: 0, constraint: 'CONSTRAINT_NONE' };
}

/** 1,000,000 pages: totalpages / 1000 = 1000. */
const T = 1_000_000;
const oom = new LinuxOomScorer();

describe('oom-linux: oom_badness (6.12)', () => {
  // rss 1000 + 200 + 50, swap 100, page tables 24676 bytes = 6 pages (integer division)
  const base = { anonRss: 1000, fileRss: 200, shmemRss: 50, swapents: 100, pgtablesBytes: 24676 };

  it('is rss + swap entries + page-table pages at oom_score_adj 0', () => {
    expect(oom.badness(task(base), T)).toBe(1356);
    expect(oom.badness(task({ pgtablesBytes: 4095 }), T)).toBe(0);
    expect(oom.badness(task({ pgtablesBytes: 4096 }), T)).toBe(1);
  });

  it('adds oom_score_adj × (totalpages / 1000), the division truncated first', () => {
    expect(oom.badness(task({ ...base, oomScoreAdj: 500 }), T)).toBe(1356 + 500 * 1000);
    expect(oom.badness(task({ ...base, oomScoreAdj: 1000 }), T)).toBe(1_001_356);
    expect(oom.badness(task({ ...base, oomScoreAdj: -500 }), T)).toBe(1356 - 500_000);
    // 262143 / 1000 = 262
    expect(oom.badness(task({ anonRss: 10, oomScoreAdj: 10 }), 262_143)).toBe(10 + 2620);
    // under 1000 pages the adjustment is worth nothing
    expect(oom.badness(task({ anonRss: 10, oomScoreAdj: 999 }), 999)).toBe(10);
  });

  it('is LONG_MIN (null) for oom_score_adj -1000, unkillable tasks and MMF_OOM_SKIP', () => {
    expect(oom.badness(task({ ...base, oomScoreAdj: -1000 }), T)).toBeNull();
    expect(oom.badness(task({ ...base, unkillable: true }), T)).toBeNull();
    expect(oom.badness(task({ ...base, oomSkip: true }), T)).toBeNull();
    expect(oom.badness(task({ ...base, oomScoreAdj: -999 }), T)).toBe(1356 - 999_000);
  });
});

describe('oom-linux: select_bad_process', () => {
  it('picks the highest badness; oom_score_adj +1000 beats a bigger task; -1000 is never chosen', () => {
    const big = task({ comm: 'big', anonRss: 500_000 }); // 500000
    const adj = task({ comm: 'adj', anonRss: 100, oomScoreAdj: 1000 }); // 100 + 1000000
    const never = task({ comm: 'never', anonRss: 900_000, oomScoreAdj: -1000 });
    const oc = control(T);
    expect(oom.selectVictim([big, never, adj], oc)).toBe(adj);
    expect(oc.chosen).toBe(adj);
    expect(oc.chosenPoints).toBe(1_000_100);
    expect(oom.selectVictim([big, never], control(T))).toBe(big);
  });

  it('never chooses a -1000 task even when it is the only one', () => {
    const oc = control(T);
    oc.chosen = task();
    oc.chosenPoints = 5;
    expect(oom.selectVictim([task({ anonRss: 900_000, oomScoreAdj: -1000 })], oc)).toBeNull();
    expect(oc.chosen).toBeUndefined();
    expect(oc.chosenPoints).toBeUndefined();
    expect(oom.selectVictim([], control(T))).toBeNull();
  });

  it('on equal points the later task wins (points < chosen_points skips)', () => {
    const a = task({ comm: 'a', anonRss: 1000 });
    const b = task({ comm: 'b', fileRss: 1000 });
    expect(oom.selectVictim([a, b], control(T))).toBe(b);
    expect(oom.selectVictim([b, a], control(T))).toBe(a);
    const c = task({ comm: 'c', anonRss: 999 });
    expect(oom.selectVictim([a, c], control(T))).toBe(a);
  });

  it('chooses a task with negative points when it is the only eligible one (chosen_points starts at LONG_MIN)', () => {
    const low = task({ anonRss: 10, oomScoreAdj: -999 });
    const oc = control(T);
    expect(oom.selectVictim([low, task({ unkillable: true, anonRss: 10 ** 6 })], oc)).toBe(low);
    expect(oc.chosenPoints).toBe(10 - 999_000);
  });

  it('passes over unkillable tasks and tasks already chosen (oomSkip)', () => {
    const init = task({ comm: 'init', anonRss: 10 ** 6, unkillable: true });
    const dying = task({ comm: 'dying', anonRss: 10 ** 6, oomSkip: true });
    const small = task({ comm: 'small', anonRss: 1 });
    expect(oom.selectVictim([init, dying, small], control(T))).toBe(small);
  });
});

describe('oom-linux: /proc/<pid>/oom_score (proc_oom_score, 6.12)', () => {
  const base = { anonRss: 1000, fileRss: 200, shmemRss: 50, swapents: 100, pgtablesBytes: 24676 };

  it('is (1000 + badness * 1000 / totalpages) * 2 / 3', () => {
    // (1000 + 1356000/1000000 → 1) * 2 / 3 = 2002 / 3 = 667
    expect(oom.oomScore(task(base), T)).toBe(667);
    // (1000 + 1001) * 2 / 3 = 1334
    expect(oom.oomScore(task({ ...base, oomScoreAdj: 1000 }), T)).toBe(1334);
    // badness -498644 → -498 (C division truncates toward zero) → 502 * 2 / 3 = 334
    expect(oom.oomScore(task({ ...base, oomScoreAdj: -500 }), T)).toBe(334);
    // badness -1500 → -1 (not -2) → 999 * 2 / 3 = 666
    expect(oom.oomScore(task({ anonRss: 500, oomScoreAdj: -2 }), T)).toBe(666);
    // nothing at all: 1000 * 2 / 3
    expect(oom.oomScore(task(), T)).toBe(666);
    // a task as big as all memory with +1000: (1000 + 2000) * 2 / 3 = 2000
    expect(oom.oomScore(task({ anonRss: T, oomScoreAdj: 1000 }), T)).toBe(2000);
  });

  it('prints 0 for LONG_MIN (-1000, unkillable, MMF_OOM_SKIP)', () => {
    expect(oom.oomScore(task({ ...base, oomScoreAdj: -1000 }), T)).toBe(0);
    expect(oom.oomScore(task({ ...base, unkillable: true }), T)).toBe(0);
    expect(oom.oomScore(task({ ...base, oomSkip: true }), T)).toBe(0);
  });

  it('refuses a non-positive totalpages', () => {
    expect(() => oom.oomScore(task(base), 0)).toThrow(/EBAD_SIZE/);
  });
});

describe('oom-linux: composed by createSimulator', () => {
  let sim: Simulator;
  afterEach(() => sim?.dispose());

  it('scores the task table, prints /proc/<pid>/oom_score and kills in badness order', async () => {
    sim = await createSimulator({ machine: { memory: '1G', cpus: 2 }, plugins: { slab: stubSlab, reclaim: 'lru', oom: 'oom-linux' } });
    expect(sim.oom).toBeInstanceOf(LinuxOomScorer);
    expect(sim.oom.name).toBe('oom-linux');
    expect(sim.container.resolve(OOM_SCORER)).toBe(sim.oom);
    expect(oomPlugin.provides).toBe(OOM_SCORER);
    const total = sim.oomKiller.totalPages();
    const k = Math.floor(total / 1000);
    // real tasks: their counters come from the memory they wrote (and the page tables that maps it)
    const init = spawnTask(sim, { comm: 'init', anonPages: 300 }); // pid 1: is_global_init, never killed
    const sshd = spawnTask(sim, { comm: 'sshd', anonPages: 2000, oomScoreAdj: -1000 });
    const db = spawnTask(sim, { comm: 'db', anonPages: 60_000 });
    const chrome = spawnTask(sim, { comm: 'chrome', anonPages: 20_000, oomScoreAdj: 300 });
    expect(init.pid).toBe(1);
    expect(db.anonRss).toBeGreaterThanOrEqual(60_000);
    expect(db.pgtablesBytes).toBeGreaterThan(0);
    // oom_badness: rss + swap entries + page-table pages, then oom_score_adj × totalpages / 1000
    const rssPoints = (t: typeof db) => t.anonRss + t.fileRss + t.shmemRss + t.swapents + Math.floor(t.pgtablesBytes / 4096);
    const dbPoints = rssPoints(db);
    const chromePoints = rssPoints(chrome) + 300 * k;
    expect(sim.oom.badness(db, total)).toBe(dbPoints);
    expect(sim.oom.badness(chrome, total)).toBe(chromePoints);
    const score = (p: number) => Math.trunc(((1000 + Math.trunc((p * 1000) / total)) * 2) / 3);
    expect(sim.proc(`${db.pid}/oom_score`)).toBe(`${score(dbPoints)}\n`);
    expect(sim.proc(`${chrome.pid}/oom_score`)).toBe(`${score(chromePoints)}\n`);
    expect(sim.proc(`${sshd.pid}/oom_score`)).toBe('0\n');
    expect(sim.proc(`${init.pid}/oom_score`)).toBe('0\n');

    const marked: string[] = [];
    sim.events.on('mark_victim', (e) => marked.push(e.comm));
    const first = chromePoints > dbPoints ? chrome : db;
    const second = first === chrome ? db : chrome;
    expect(sim.oomKiller.outOfMemory()).toBe(first);
    expect(sim.oomKiller.outOfMemory()).toBe(second);
    expect(sim.oomKiller.outOfMemory()).toBeNull(); // only init and sshd (-1000) are left
    expect(marked).toEqual([first.comm, second.comm]);
    sim.check();
  });

  it.skipIf(!HAVE_SLUB)('boots in the default composition', async () => {
    sim = await createSimulator({ machine: { memory: '1G', cpus: 2 }, plugins: { reclaim: 'lru', oom: 'oom-linux' } });
    expect(sim.composition.oom).toBe('oom-linux');
    spawnTask(sim, { comm: 'init' }); // pid 1 is never chosen
    const t = spawnTask(sim, { comm: 'x', anonPages: 1 });
    expect(sim.oom.selectVictim(sim.tasks.all(), { totalPages: sim.oomKiller.totalPages(), gfpMask: 0xcc0, order: 0, constraint: 'CONSTRAINT_NONE' })).toBe(t);
  });
});
