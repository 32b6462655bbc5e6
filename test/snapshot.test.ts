// Snapshot / restore (issue 6 point 6): a workload split at its midpoint,
// snapshotted, sent through JSON and restored into a new simulator, ends in
// the same state as the uninterrupted run, for several compositions.
import {
  createSimulator, GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, isMmsimError, type KmemCache, PageOwner, Random,
  scanControl, type Simulator, type SimulatorConfig, type Snapshot, __GFP_RECLAIMABLE,
} from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';

const VIEWS = ['buddyinfo', 'pagetypeinfo', 'zoneinfo', 'slabinfo', 'meminfo', 'vmstat', 'vmallocinfo'];

/** The workload driver's own state: plain data, carried alongside the snapshot. */
interface DriverState {
  rng: number;
  op: number;
  pages: { pfn: number; order: number; user: boolean; anon: boolean }[];
  objs: { ptr: number; cache: string | null }[];
  vmas: number[];
  pids: number[];
}

/**
 * A resumable seeded workload over the public API: page allocs/frees (user
 * pages on the LRU), kmalloc/kfree, cache alloc/free in caches it creates,
 * LRU accesses and shrinks, vmalloc/vfree, fork/exit. Its evictor is a
 * closure registered at run time: attach() registers it, detach() removes
 * it (a snapshot cannot carry it).
 */
class Driver {
  private r = new Random(0);
  private unregister: (() => void)[] = [];
  constructor(private readonly sim: Simulator, readonly s: DriverState) {
    this.r.state = s.rng;
  }
  static fresh(sim: Simulator, seed: number): Driver {
    const r = new Random(seed);
    return new Driver(sim, { rng: r.state, op: 0, pages: [], objs: [], vmas: [], pids: [] });
  }
  attach(): this {
    const evict = (pfn: number): boolean => {
      const i = this.s.pages.findIndex((p) => p.pfn === pfn);
      if (i < 0) return false;
      this.dropPage(i, false);
      return true;
    };
    this.unregister = [this.sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, evict: evict }), this.sim.pageOwners.register({ name: 'test', kind: PageOwner.PAGE_CACHE, evict: evict })];
    return this;
  }
  detach(): void {
    for (const u of this.unregister) u();
    this.unregister = [];
  }
  /** A deep copy of the state, through JSON like the snapshot. */
  save(): DriverState {
    this.s.rng = this.r.state;
    return JSON.parse(JSON.stringify(this.s)) as DriverState;
  }
  private cache(name: string): KmemCache {
    const c = this.sim.slab.caches().find((x) => x.name === name);
    return c ?? this.sim.slab.createCache(name, name === 'snap_big' ? 700 : 96, { align: 8, flags: name === 'snap_big' ? 0x20000 : 0 });
  }
  private dropPage(i: number, removeFromLru: boolean): void {
    const p = this.s.pages[i]!;
    this.s.pages[i] = this.s.pages[this.s.pages.length - 1]!;
    this.s.pages.pop();
    const vm = this.sim.vmstat.node;
    if (p.user) {
      if (removeFromLru) this.sim.reclaim.pageRemoved(p.pfn);
      vm[p.anon ? 'nr_anon_pages' : 'nr_file_pages']!--;
    }
    this.sim.pages.freePages(p.pfn, p.order);
  }
  private freeObj(i: number): void {
    const o = this.s.objs[i]!;
    this.s.objs[i] = this.s.objs[this.s.objs.length - 1]!;
    this.s.objs.pop();
    if (o.cache) this.sim.slab.cacheFree(this.cache(o.cache), o.ptr);
    else this.sim.slab.kfree(o.ptr);
  }
  run(until: number): void {
    const { sim, r, s } = this;
    const cpus = sim.topology.nrCpus;
    const t = sim.memory.pages;
    for (; s.op < until; s.op++) {
      const cpu = r.below(cpus);
      const x = r.below(100);
      if (x < 35) {
        const user = r.below(2) === 0;
        const order = user ? 0 : r.below(4);
        const gfp = user ? GFP_HIGHUSER_MOVABLE : r.below(10) === 0 ? GFP_ATOMIC : GFP_KERNEL;
        const pfn = sim.pages.allocPages(gfp, order, { cpu });
        if (pfn === null) continue;
        const anon = user && r.below(2) === 0;
        s.pages.push({ pfn, order, user, anon });
        if (user) {
          t.ownerKind[sim.memory.pfnToPage(pfn)] = anon ? PageOwner.ANON : PageOwner.PAGE_CACHE;
          sim.reclaim.pageAdded(pfn, anon);
          sim.vmstat.node[anon ? 'nr_anon_pages' : 'nr_file_pages']!++;
        }
      } else if (x < 45) {
        const p = s.pages.length ? s.pages[r.below(s.pages.length)]! : undefined;
        if (p?.user) sim.reclaim.pageAccessed(p.pfn);
      } else if (x < 50) {
        // an explicit LRU shrink: the engine's shrink_folio_list gives the victims to the driver's evictor
        sim.reclaim.shrink(scanControl({ nrToReclaim: 1 + r.below(8), nid: sim.topology.cpuToNode(cpu), priority: r.below(13) }), sim.vmscan);
      } else if (x < 70) {
        let ptr: number | null;
        let cache: string | null = null;
        if (r.below(3) === 0) {
          cache = r.below(2) === 0 ? 'snap_small' : 'snap_big';
          ptr = sim.slab.cacheAlloc(this.cache(cache), cache === 'snap_big' ? GFP_KERNEL | __GFP_RECLAIMABLE : GFP_KERNEL, { cpu });
        } else {
          ptr = sim.slab.kmalloc(r.below(8) === 0 ? 1 + r.below(8192) : 1 + r.below(512), GFP_KERNEL, { cpu });
        }
        if (ptr !== null) s.objs.push({ ptr, cache });
      } else if (x < 73) {
        if (s.vmas.length > 4 || r.below(2) === 0) {
          if (s.vmas.length) sim.vmalloc.vfree(s.vmas.splice(r.below(s.vmas.length), 1)[0]!);
        } else {
          const a = sim.vmalloc.vmalloc((1 + r.below(16)) * 4096);
          if (a !== null) s.vmas.push(a);
        }
      } else if (x < 76) {
        s.pids = s.pids.filter((pid) => sim.tasks.has(pid)); // killed ones are gone
        if (s.pids.length > 3 && r.below(2) === 0) sim.processes.exit(s.pids.splice(r.below(s.pids.length), 1)[0]!);
        else {
          const t = sim.processes.spawn({ comm: `t${s.op}`, oomScoreAdj: r.below(200) - 100 });
          const len = r.below(100) * 4096;
          const addr = sim.processes.mmap(t.pid, Math.max(len, 4096));
          if (len > 0 && addr >= 0) sim.processes.touch(t.pid, addr, len, { write: r.below(2) === 0 });
          if (sim.tasks.has(t.pid)) s.pids.push(t.pid);
        }
      } else if (r.below(2) === 0 && s.pages.length > 0) {
        this.dropPage(r.below(s.pages.length), true);
      } else if (s.objs.length > 0) {
        this.freeObj(r.below(s.objs.length));
      }
    }
    s.rng = r.state;
  }
}

const views = (sim: Simulator) => Object.fromEntries([...VIEWS, ...sim.procNames().filter((n) => /^\d+\/oom_score$/.test(n))].map((n) => [n, sim.proc(n)]));

const COMPOSITIONS: [string, SimulatorConfig][] = [
  ['default (flatmem, buddy, slub, lru, oom-linux)', { machine: { memory: '96M', cpus: 2 } }],
  ['sparsemem + buddy(pcp off) + slab', { machine: { memory: '96M', cpus: 2 }, plugins: { memoryModel: 'sparsemem', pageAllocator: { use: 'buddy', options: { pcp: false } }, slab: 'slab' } }],
  ['flatmem + buddy(mobilityGrouping off) + slob', { machine: { memory: '64M', cpus: 1 }, plugins: { memoryModel: 'flatmem', pageAllocator: { use: 'buddy', options: { mobilityGrouping: false } }, slab: 'slob' } }],
  ['discontigmem, two nodes', { machine: { nodes: [{ memory: '48M', cpus: 1 }, { memory: '48M', cpus: 1 }] }, plugins: { memoryModel: 'discontigmem' } }],
];

const N = 6000;

describe('snapshot / restore at the midpoint of a workload', () => {
  for (const [name, cfg] of COMPOSITIONS) {
    it(`${name}: same final /proc views and check() as the uninterrupted run`, async () => {
      const config: SimulatorConfig = { ...cfg, seed: 7 };
      // A: uninterrupted
      const a = await createSimulator(config);
      const da = Driver.fresh(a, 99).attach();
      da.run(N);
      da.detach();
      a.check();
      // B: first half, snapshot, JSON round trip, restore, second half
      const b1 = await createSimulator(config);
      const db1 = Driver.fresh(b1, 99).attach();
      db1.run(N / 2);
      db1.detach();
      const mid = views(b1);
      const snap = JSON.parse(JSON.stringify(b1.snapshot())) as Snapshot;
      const carried = db1.save();
      b1.dispose();
      const b2 = await createSimulator({ ...config, restore: snap });
      expect(views(b2), 'restored state at the midpoint').toEqual(mid);
      b2.check();
      const db2 = new Driver(b2, carried).attach();
      db2.run(N);
      db2.detach();
      b2.check();
      expect(views(b2)).toEqual(views(a));
      expect(db2.save()).toEqual(da.save());
      // the restored simulator is frozen like any other
      expect(() => b2.container.register('x', { useValue: 1 })).toThrow(/EFROZEN/);
      // and its whole state equals the uninterrupted run's
      expect(JSON.stringify(b2.snapshot())).toBe(JSON.stringify(a.snapshot()));
      a.dispose();
      b2.dispose();
    });
  }
});

describe('snapshot / restore with simulated time', () => {
  it('the daemons\' timers resume where they were: a restored run and an unbroken one tick alike', async () => {
    const config = { machine: { memory: '256M', cpus: 2 }, seed: 4 };
    const drive = (sim: Simulator, from: number, to: number) => {
      const held: number[] = [];
      for (let i = from; i < to; i++) {
        const p = sim.pages.allocPages(0xcc0, i % 3);
        if (p !== null && i % 4 !== 0) held.push(p);
        if (i % 50 === 49) sim.tick(130);
      }
      return held;
    };
    const a = await createSimulator(config);
    drive(a, 0, 2000);
    const b1 = await createSimulator(config);
    drive(b1, 0, 1000);
    const snap = JSON.parse(JSON.stringify(b1.snapshot())) as Snapshot;
    b1.dispose();
    const b2 = await createSimulator({ ...config, restore: snap });
    drive(b2, 1000, 2000);
    expect(b2.clock.now()).toBe(a.clock.now());
    expect(b2.timers.pending()).toEqual(a.timers.pending());
    expect(views(b2)).toEqual(views(a));
    a.dispose();
    b2.dispose();
  });
});

describe('snapshot refusals', () => {
  const machine = { memory: '32M', cpus: 1 };
  const code = async (fn: () => unknown): Promise<string> => {
    try {
      await fn();
    } catch (e) {
      expect(isMmsimError(e), String(e)).toBe(true);
      return (e as Error).message;
    }
    return 'no error';
  };

  it('refuses a snapshot of another composition, options or machine', async () => {
    const sim = await createSimulator({ machine });
    const snap = sim.snapshot();
    expect(await code(() => createSimulator({ machine, plugins: { slab: 'slab' }, restore: snap }))).toMatch(/^ESNAPSHOT: .*composition/);
    expect(await code(() => createSimulator({ machine, plugins: { pageAllocator: { use: 'buddy', options: { pcp: false } } }, restore: snap }))).toMatch(/^ESNAPSHOT: .*options/);
    expect(await code(() => createSimulator({ machine: { memory: '64M', cpus: 1 }, restore: snap }))).toMatch(/^ESNAPSHOT: .*machine/);
    expect(await code(() => createSimulator({ machine, kernel: '6.1', restore: snap }))).toMatch(/^ESNAPSHOT: .*kernel/);
    expect(await code(() => createSimulator({ machine, restore: { hello: 1 } as unknown as Snapshot }))).toMatch(/^ECONFIG: restore/);
    sim.dispose();
  });

  it('refuses to restore a closure registered at run time, naming its path', async () => {
    const sim = await createSimulator({ machine });
    const off = sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, evict: () => false });
    const snap = JSON.parse(JSON.stringify(sim.snapshot())) as Snapshot;
    expect(await code(() => createSimulator({ machine, restore: snap }))).toMatch(/^ESNAPSHOT: PageOwners\.registered\[\d+\]\.evict: held a function/);
    off();
    const ok = await createSimulator({ machine, restore: sim.snapshot() });
    ok.dispose();
    sim.dispose();
  });

  it('a cache with a constructor created at run time cannot be restored', async () => {
    const sim = await createSimulator({ machine });
    sim.slab.createCache('with_ctor', 64, { ctor: () => undefined });
    const snap = sim.snapshot();
    expect(await code(() => createSimulator({ machine, restore: snap }))).toMatch(/^ESNAPSHOT: .*held a function/);
    sim.dispose();
  });

  it('snapshot() costs nothing until called and leaves the simulator unchanged', async () => {
    const sim = await createSimulator({ machine, seed: 5 });
    const d = Driver.fresh(sim, 1);
    d.run(500);
    const before = views(sim);
    const s1 = JSON.stringify(sim.snapshot());
    expect(views(sim)).toEqual(before);
    expect(JSON.stringify(sim.snapshot())).toBe(s1);
    sim.dispose();
  });
});
