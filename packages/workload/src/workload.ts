/**
 * The built-in default workload: a seeded mix of page allocations (the
 * standard order mix), user pages on the LRU, kmalloc and kmem_cache
 * objects, freed in random order. Used by `mmsim run` and the cross-plugin
 * tests; everything it draws comes from the simulator's seeded Random.
 * @module
 */
import {
  DEF_PRIORITY, GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, type KmemCache, MmsimError, PageOwner, Random, scanControl, type Simulator, __GFP_RECLAIMABLE,
} from '@mmsim/core';

/** Options of {@link runDefaultWorkload}. */
export interface DefaultWorkloadOptions {
  /** Operations to run (default 100000). */
  ops?: number;
  /** Fraction of managed memory the workload tries to keep allocated (default 0.5). */
  fill?: number;
  /**
   * Called after every operation with the number of operations done so far
   * (1..ops), e.g. to run `sim.check()` every N operations.
   */
  afterOp?: (done: number) => void;
}

/** What a workload run did. */
export interface WorkloadSummary {
  ops: number;
  pageAllocs: number;
  pageAllocFailures: number;
  pageFrees: number;
  kmallocs: number;
  cacheAllocs: number;
  slabFailures: number;
  objectFrees: number;
  reclaimed: number;
  /** Still allocated at the end (the workload frees nothing at exit, so /proc shows a loaded machine). */
  livePages: number;
  liveObjects: number;
}

/** The standard order mix: 70% order 0, 15% order 1, 10% orders 2-3, 5% orders 4-9. */
export function drawOrder(r: Random): number {
  const x = r.below(100);
  if (x < 70) return 0;
  if (x < 85) return 1;
  if (x < 95) return 2 + r.below(2);
  return 4 + r.below(6);
}

/** Runs the default workload on a booted simulator. */
export function runDefaultWorkload(sim: Simulator, opts: DefaultWorkloadOptions = {}): WorkloadSummary {
  const ops = opts.ops ?? 100_000;
  // validate before anything is allocated: a bad call changes nothing
  if (!Number.isSafeInteger(ops) || ops < 0) throw new MmsimError('EWORKLOAD', `default workload: ops must be a non-negative integer, got ${String(ops)}`, { details: { ops } });
  if (opts.fill !== undefined && (typeof opts.fill !== 'number' || !(opts.fill >= 0 && opts.fill < Infinity))) {
    throw new MmsimError('EWORKLOAD', `default workload: fill must be a non-negative fraction of managed memory, got ${String(opts.fill)}`, { details: { fill: opts.fill } });
  }
  const hook = opts.afterOp;
  // a throwing hook (a failed check) leaves no mover registered
  const afterOp = hook === undefined ? undefined : (done: number) => {
    try {
      hook(done);
    } catch (e) {
      for (const u of unregister) u();
      throw e;
    }
  };
  const r = new Random(sim.config.seed);
  const managed = sim.topology.totalManagedPages;
  const target = Math.floor(managed * (opts.fill ?? 0.5));
  const caches: KmemCache[] = [
    sim.slab.createCache('dentry', 192, { align: 8, flags: 0x20000 }),
    sim.slab.createCache('inode_cache', 600, { align: 8, flags: 0x20000 }),
    sim.slab.createCache('task_struct', 3328, { align: 64 }),
  ];
  interface Held { pfn: number; order: number; user: boolean; anon: boolean; idx: number }
  const pages: Held[] = [];
  const userByPfn = new Map<number, Held>();
  const vm = sim.vmstat.node;
  const t = sim.memory.pages;
  const drop = (h: Held) => {
    const last = pages.pop()!;
    if (last !== h) {
      pages[h.idx] = last;
      last.idx = h.idx;
    }
    if (h.user) userByPfn.delete(h.pfn);
  };
  // user pages are movable: follow them when compaction or offlining migrates them
  const follow = (oldPfn: number, newPfn: number) => {
    const h = userByPfn.get(oldPfn)!;
    userByPfn.delete(oldPfn);
    h.pfn = newPfn;
    userByPfn.set(newPfn, h);
  };
  const unregister = [PageOwner.ANON, PageOwner.PAGE_CACHE].map((kind) => sim.pageOwners.register({ name: 'default-workload', kind, migrate: follow }));
  const objs: { ptr: number; cache: KmemCache | null }[] = [];
  let held = 0;
  const s: WorkloadSummary = { ops, pageAllocs: 0, pageAllocFailures: 0, pageFrees: 0, kmallocs: 0, cacheAllocs: 0, slabFailures: 0, objectFrees: 0, reclaimed: 0, livePages: 0, liveObjects: 0 };
  const cpus = sim.topology.nrCpus;
  // user pages are reclaimable: the allocator's reclaim (kswapd, direct
  // reclaim) hands the victims it picks back here to be freed
  const evict = (pfn: number): boolean => {
    const h = userByPfn.get(pfn);
    if (!h) return false;
    drop(h);
    sim.pages.freePages(h.pfn, h.order);
    vm[h.anon ? 'nr_anon_pages' : 'nr_file_pages']!--;
    held -= 1 << h.order;
    s.reclaimed++;
    return true;
  };
  unregister.push(...[PageOwner.ANON, PageOwner.PAGE_CACHE].map((kind) => sim.pageOwners.register({ name: 'default-workload', kind, evict })));

  const freePage = (i: number) => {
    const p = pages[i]!;
    drop(p);
    if (p.user) {
      sim.reclaim.pageRemoved(p.pfn);
      vm[p.anon ? 'nr_anon_pages' : 'nr_file_pages']!--;
    }
    sim.pages.freePages(p.pfn, p.order);
    held -= 1 << p.order;
    s.pageFrees++;
  };
  const freeObject = (i: number) => {
    const o = objs[i]!;
    objs[i] = objs[objs.length - 1]!;
    objs.pop();
    if (o.cache) sim.slab.cacheFree(o.cache, o.ptr);
    else sim.slab.kfree(o.ptr);
    s.objectFrees++;
  };

  for (let op = 0; op < ops; op++) {
    if (afterOp !== undefined && op > 0) afterOp(op);
    const cpu = r.below(cpus);
    const x = r.below(100);
    if (x < 45) {
      // page allocation, or a free when above the target
      if (held > target && pages.length > 0) {
        freePage(r.below(pages.length));
        continue;
      }
      const user = r.below(2) === 0;
      const order = user ? 0 : drawOrder(r);
      const gfp = user ? GFP_HIGHUSER_MOVABLE : r.below(10) === 0 ? GFP_ATOMIC : GFP_KERNEL;
      let pfn = sim.pages.allocPages(gfp, order, { cpu });
      if (pfn === null && user) {
        // direct reclaim of the LRU and retry once: priority DEF_PRIORITY down
        // to 0 until SWAP_CLUSTER_MAX pages are back; the policy isolates, the
        // engine's shrink_folio_list gives the victims to `evict` above
        const nid = sim.topology.cpuToNode(cpu);
        let got = 0;
        for (let prio = DEF_PRIORITY; prio >= 0 && got < 32; prio--) got += sim.reclaim.shrink(scanControl({ nrToReclaim: 32 - got, nid, priority: prio }), sim.vmscan);
        pfn = sim.pages.allocPages(gfp, order, { cpu });
      }
      if (pfn === null) {
        s.pageAllocFailures++;
        continue;
      }
      s.pageAllocs++;
      held += 1 << order;
      const anon = user && r.below(2) === 0;
      const h: Held = { pfn, order, user, anon, idx: pages.length };
      pages.push(h);
      if (user) {
        userByPfn.set(pfn, h);
        t.ownerKind[sim.memory.pfnToPage(pfn)] = anon ? PageOwner.ANON : PageOwner.PAGE_CACHE;
        sim.reclaim.pageAdded(pfn, anon);
        vm[anon ? 'nr_anon_pages' : 'nr_file_pages']!++;
      }
    } else if (x < 55) {
      // touch a user page: LRU references
      if (pages.length > 0) {
        const p = pages[r.below(pages.length)]!;
        if (p.user) sim.reclaim.pageAccessed(p.pfn);
      }
    } else if (x < 80) {
      // object allocation
      if (objs.length > 4096 && r.below(2) === 0) {
        freeObject(r.below(objs.length));
        continue;
      }
      let ptr: number | null;
      let cache: KmemCache | null = null;
      if (r.below(3) === 0) {
        cache = caches[r.below(caches.length)]!;
        ptr = sim.slab.cacheAlloc(cache, cache.flags & 0x20000 ? GFP_KERNEL | __GFP_RECLAIMABLE : GFP_KERNEL, { cpu });
        if (ptr !== null) s.cacheAllocs++;
      } else {
        const size = r.below(8) === 0 ? 1 + r.below(16384) : 1 + r.below(512);
        ptr = sim.slab.kmalloc(size, GFP_KERNEL, { cpu });
        if (ptr !== null) s.kmallocs++;
      }
      if (ptr === null) s.slabFailures++;
      else objs.push({ ptr, cache });
    } else {
      // frees
      if (r.below(2) === 0 && pages.length > 0) freePage(r.below(pages.length));
      else if (objs.length > 0) freeObject(r.below(objs.length));
    }
  }
  if (afterOp !== undefined && ops > 0) afterOp(ops);
  for (const u of unregister) u();
  s.livePages = held;
  s.liveObjects = objs.length;
  return s;
}

/** Options of {@link runMobilityWorkload}. */
export interface MobilityWorkloadOptions {
  /** Operations (an allocation or a free each). Default 300 000. */
  ops?: number;
  /** Seed of the workload's own Random. Default 1. */
  seed?: number;
  /** Fraction of managed memory the workload fills at most. Default 0.85. */
  fill?: number;
}

/** What {@link runMobilityWorkload} still holds when it ends. */
export interface MobilityWorkloadState {
  /** Live unmovable kernel blocks: [first pfn, order]. */
  kernel: [number, number][];
  /** Live movable user pages (order 0). */
  user: number[];
  /** Frees every user page (the processes exit); the kernel blocks stay. */
  releaseUser(): void;
}

/**
 * The anti-fragmentation workload: unmovable kernel allocations (GFP_KERNEL,
 * orders 0-2, a fifth of the allocations) interleaved with movable user
 * pages (GFP_HIGHUSER_MOVABLE, order 0), memory filled up to `fill`, both
 * freed in random order. What it shows: with mobility grouping the
 * unmovable blocks gather in a few pageblocks, so once the user pages go
 * whole pageblocks are free again; without it they pin nearly every one.
 * Everything is drawn from a Random seeded with `seed`, so one seed runs
 * the same requests on every allocator variant.
 */
export function runMobilityWorkload(sim: Simulator, opts: MobilityWorkloadOptions = {}): MobilityWorkloadState {
  const { ops = 300_000, seed = 1, fill = 0.85 } = opts;
  if (!Number.isInteger(ops) || ops < 0) throw new MmsimError('EINVAL', `ops must be a whole number ≥ 0, not ${ops}`, { details: { ops } });
  if (!(fill > 0 && fill <= 1)) throw new MmsimError('EINVAL', `fill must be a fraction in (0, 1], not ${fill}`, { details: { fill } });
  const pa = sim.pages;
  const r = new Random(seed);
  const target = Math.floor(sim.topology.totalManagedPages * fill);
  const kernel: [number, number][] = [];
  const user: number[] = [];
  let held = 0;
  const take = <T>(list: T[]): T => {
    const j = r.below(list.length);
    const x = list[j]!;
    list[j] = list[list.length - 1]!;
    list.pop();
    return x;
  };
  for (let i = 0; i < ops; i++) {
    if (held < target && r.below(100) < 75) {
      if (r.below(10) < 2) {
        const o = r.below(3);
        const p = pa.allocPages(GFP_KERNEL, o);
        if (p !== null) {
          kernel.push([p, o]);
          held += 1 << o;
        }
      } else {
        const p = pa.allocPages(GFP_HIGHUSER_MOVABLE, 0);
        if (p !== null) {
          user.push(p);
          held++;
        }
      }
    } else if (r.below(10) < 2 && kernel.length) {
      const [p, o] = take(kernel);
      pa.freePages(p, o);
      held -= 1 << o;
    } else if (user.length) {
      pa.freePages(take(user), 0);
      held--;
    }
  }
  return {
    kernel,
    user,
    releaseUser: () => {
      for (const p of user) pa.freePages(p, 0);
      user.length = 0;
    },
  };
}

/**
 * Free blocks of at least `order` in every populated zone, counted in
 * blocks of `order` (an order-10 block counts two order-9 blocks), after the
 * per-CPU lists were drained (drain_all_pages): how many huge pages of that
 * order the machine could hand out now.
 */
export function freeBlocksOfOrder(sim: Simulator, order: number): number {
  const pa = sim.pages;
  if (!Number.isInteger(order) || order < 0 || order > pa.maxOrder) {
    throw new MmsimError('EBAD_ORDER', `order ${order} is outside 0..${pa.maxOrder}`, { details: { order } });
  }
  pa.drainAllPages();
  let n = 0;
  for (const z of sim.topology.populatedZones) for (let o = order; o <= pa.maxOrder; o++) n += pa.freeBlocks(z, o) << (o - order);
  return n;
}
