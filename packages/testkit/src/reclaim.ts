/**
 * The ReclaimPolicy conformance suite. Every reclaim policy plugin runs it:
 * ```ts
 * import { reclaimPolicyConformance } from '@mmsim/testkit';
 * reclaimPolicyConformance({ name: 'lru', plugin: 'lru' });
 * ```
 * The policy keeps user pages on its lists (pageAdded / pageAccessed /
 * pageRemoved), ages them and isolates victims in batches for the engine's
 * shrink_folio_list() (shrink), puts back what the engine did not free as
 * it says, and follows migrated pages (replacePage). The suite drives it on
 * a two-node machine as the kernel's callers would, standing in for the
 * engine with a FolioReclaimer whose outcomes it chooses — and once with the
 * real engine (RECLAIM).
 * @module
 */
import {
  DEF_PRIORITY, FolioOutcome, type FolioReclaimer, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, LruList, NR_LRU_LISTS, PageOwner, PG_lru,
  type ScanControl, scanControl, type Simulator, type Vmscan,
} from '@mmsim/defconfig';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectRefused, makeSim, pageState, type SuiteTarget } from './common.js';
import { assertOpSequences, fc, type OpModel, pick, propertyTimeout } from './property.js';

const TWO_NODES = { nodes: [{ memory: '32M', cpus: 1 }, { memory: '32M', cpus: 1 }] };

/** One reclaim-policy operation of a random sequence. */
export type ReclaimOp =
  | { k: 'add'; anon: boolean; cpu: number }
  | { k: 'access'; pick: number }
  | { k: 'remove'; pick: number }
  | { k: 'shrink'; nr: number; priority: number; nid: number; outcomes: number }
  | { k: 'migrate'; pick: number }
  | { k: 'bad'; what: 'addTwice' | 'removeOffList' | 'badNid' | 'badPfn' | 'accessFree' | 'badPriority'; pick: number };

/** What the reclaim sequence holds. */
export interface ReclaimModelState {
  /** User pages on the policy's lists: pfn → anon. */
  pages: Map<number, boolean>;
  unregister: (() => void)[];
  /** The swap device the sequence turned on (−1: the machine had swap), and the slots its swapped-out pages hold. */
  swap: { type: number; entries: number[] };
}

/** A user page as the page-fault / page-cache paths make one: allocated, owned, handed to the policy. */
function addUserPage(sim: Simulator, anon: boolean, cpu = 0): number | null {
  const pfn = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cpu });
  if (pfn === null) return null;
  sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] = anon ? PageOwner.ANON : PageOwner.PAGE_CACHE;
  sim.reclaim.pageAdded(pfn, anon);
  return pfn;
}

/**
 * The engine's part as the suite plays it: each folio handed over is checked
 * against what a policy owes shrink_folio_list() — isolated (PG_lru clear),
 * one of the policy's pages, of node sc.nid, not twice in a batch, the same
 * ScanControl, no more than sc.nrToReclaim less the pages freed — and then
 * freed (as its owner would: the suite frees the page), kept or activated
 * as `decide` says. `freed` collects the freed pfns.
 */
function engineStandIn(sim: Simulator, pages: ReadonlyMap<number, boolean>, given: ScanControl, decide: (pfn: number, n: number) => FolioOutcome): FolioReclaimer & { freed: number[]; handed: number[] } {
  const freed: number[] = [];
  const handed: number[] = [];
  return {
    freed,
    handed,
    shrinkFolioList(folios, sc) {
      expect(sc, 'shrinkFolioList gets the ScanControl shrink() was given').toBe(given);
      expect(folios.length, 'no more folios than sc.nrToReclaim less the pages freed').toBeLessThanOrEqual(given.nrToReclaim - freed.length);
      expect(new Set(folios).size, 'distinct folios in a batch').toBe(folios.length);
      const outcome = folios.map((pfn) => {
        expect(pages.has(pfn), `folio ${pfn} is one of the policy's pages`).toBe(true);
        expect(sim.topology.pfnZone(pfn)?.nid, `folio ${pfn} from node ${sc.nid}`).toBe(sc.nid);
        expect(sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]! & PG_lru, `folio ${pfn} is isolated (off the lists)`).toBe(0);
        handed.push(pfn);
        const o = decide(pfn, handed.length - 1);
        if (o === FolioOutcome.FREED) {
          freed.push(pfn);
          sim.pages.freePages(pfn, 0);
        }
        return o;
      });
      const nrReclaimed = outcome.filter((o) => o === FolioOutcome.FREED).length;
      sc.nrReclaimed += nrReclaimed;
      return { nrReclaimed, outcome, stat: { nrPageout: 0, nrActivate: [0, 0] } };
    },
  };
}

/** Pages on each list, summed over nodes. */
function lruTotals(sim: Simulator): number[] {
  const tot = new Array<number>(NR_LRU_LISTS).fill(0);
  for (const n of sim.topology.nodes) sim.reclaim.lruSizes(n.nid).forEach((v, i) => (tot[i]! += v));
  return tot;
}

function expectListed(sim: Simulator, s: ReclaimModelState): void {
  const tot = lruTotals(sim);
  let anon = 0;
  for (const a of s.pages.values()) if (a) anon++;
  expect(tot.reduce((x, y) => x + y, 0), 'pages on the lists').toBe(s.pages.size);
  // nothing is mlocked, so nothing is unevictable
  expect(tot[LruList.UNEVICTABLE], 'unevictable pages').toBe(0);
  expect(tot[LruList.INACTIVE_ANON]! + tot[LruList.ACTIVE_ANON]!, 'anon pages').toBe(anon);
  expect(tot[LruList.INACTIVE_FILE]! + tot[LruList.ACTIVE_FILE]!, 'file pages').toBe(s.pages.size - anon);
}

/** The reclaim policy as a state machine: user pages in and out, accesses, shrinks, migration. */
export const reclaimPolicyModel: OpModel<ReclaimOp, ReclaimModelState> = {
  op: fc.oneof(
    { arbitrary: fc.record({ k: fc.constant('add' as const), anon: fc.boolean(), cpu: fc.nat({ max: 7 }) }), weight: 6 },
    { arbitrary: fc.record({ k: fc.constant('access' as const), pick: pick() }), weight: 4 },
    { arbitrary: fc.record({ k: fc.constant('remove' as const), pick: pick() }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('shrink' as const), nr: fc.integer({ min: 1, max: 64 }), priority: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: DEF_PRIORITY })), nid: fc.nat({ max: 7 }), outcomes: fc.nat() }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('migrate' as const), pick: pick() }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('bad' as const), what: fc.constantFrom('addTwice', 'removeOffList', 'badNid', 'badPfn', 'accessFree', 'badPriority'), pick: pick() }), weight: 1 },
  ),
  init(sim) {
    // some swap, so anon pages can be victims too
    const s: ReclaimModelState = { pages: new Map(), unregister: [], swap: { type: sim.swap.total === 0 ? sim.swap.swapon({ size: 4097 * 4096 }) : -1, entries: [] } };
    const follow = (from: number, to: number) => {
      const anon = s.pages.get(from)!;
      s.pages.delete(from);
      s.pages.set(to, anon);
    };
    s.unregister.push(sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, migrate: follow }), sim.pageOwners.register({ name: 'test', kind: PageOwner.PAGE_CACHE, migrate: follow }));
    return s;
  },
  apply(sim, s, op) {
    const rp = sim.reclaim;
    const listed = [...s.pages.keys()];
    const any = (n: number) => listed[n % listed.length]!;
    switch (op.k) {
      case 'add': {
        const pfn = addUserPage(sim, op.anon, op.cpu % sim.topology.nrCpus);
        if (pfn !== null) s.pages.set(pfn, op.anon);
        break;
      }
      case 'access':
        if (listed.length) rp.pageAccessed(any(op.pick));
        break;
      case 'remove': {
        if (!listed.length) break;
        const pfn = any(op.pick);
        rp.pageRemoved(pfn);
        expect(sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]! & PG_lru, 'PG_lru cleared by pageRemoved').toBe(0);
        s.pages.delete(pfn);
        sim.pages.freePages(pfn, 0);
        break;
      }
      case 'shrink': {
        const nid = op.nid % sim.topology.nodes.length;
        const sc = scanControl({ nrToReclaim: op.nr, priority: op.priority, nid, reclaimIdx: sim.topology.zoneTypes.length - 1 });
        // two bits of op.outcomes per folio handed over: freed, kept or activated
        const engine = engineStandIn(sim, s.pages, sc, (_pfn, n) => [FolioOutcome.FREED, FolioOutcome.KEEP, FolioOutcome.ACTIVATE, FolioOutcome.FREED][(op.outcomes >> ((2 * n) % 30)) & 3]!);
        const freed = rp.shrink(sc, engine);
        expect(freed, 'shrink returns the pages the engine freed').toBe(engine.freed.length);
        expect(freed, 'no more freed than asked for').toBeLessThanOrEqual(op.nr);
        for (const pfn of engine.freed) {
          if (s.pages.get(pfn) && sim.swap.free > 0) s.swap.entries.push(sim.swap.getSwapPage()); // swapped out: its slot is held
          s.pages.delete(pfn);
        }
        // what the engine kept or activated is back on the lists
        for (const pfn of engine.handed) {
          if (s.pages.has(pfn)) expect(sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]! & PG_lru, `folio ${pfn} put back`).toBe(PG_lru);
        }
        break;
      }
      case 'migrate': {
        if (!listed.length) break;
        const src = any(op.pick);
        if (!sim.pageOwners.isMovable(src)) break;
        const dst = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0);
        if (dst === null) break;
        sim.pageOwners.migratePage(src, dst);
        expect(s.pages.has(dst) && !s.pages.has(src), 'the mover followed the page').toBe(true);
        sim.pages.freePages(src, 0);
        break;
      }
      case 'bad':
        badReclaimCall(sim, s, op.what, op.pick);
    }
    expectListed(sim, s);
  },
  release(sim, s) {
    for (const pfn of s.pages.keys()) {
      sim.reclaim.pageRemoved(pfn);
      sim.pages.freePages(pfn, 0);
    }
    s.pages.clear();
    for (const u of s.unregister) u();
    for (const e of s.swap.entries) sim.swap.swapFree(e);
    s.swap.entries = [];
    if (s.swap.type >= 0) sim.swap.swapoff(s.swap.type);
  },
  observe(sim) {
    sim.pages.drainAllPages();
    return `${pageState(sim)}\nlru ${sim.topology.nodes.map((n) => sim.reclaim.lruSizes(n.nid).join(',')).join(' | ')}`;
  },
};

/** An engine no refused call may reach. */
const refusingEngine: FolioReclaimer = {
  shrinkFolioList() {
    throw new Error('a refused shrink() handed folios to the engine');
  },
};

function badReclaimCall(sim: Simulator, s: ReclaimModelState, what: string, n: number): void {
  const rp = sim.reclaim;
  const listed = [...s.pages.keys()];
  switch (what) {
    case 'addTwice':
      if (listed.length) expectRefused(sim, () => rp.pageAdded(listed[n % listed.length]!, false), 'EBAD_PFN', 'EINVAL');
      return;
    case 'removeOffList': {
      const pfn = sim.pages.allocPages(GFP_KERNEL, 0);
      if (pfn === null) return;
      expectRefused(sim, () => rp.pageRemoved(pfn), 'EBAD_PFN', 'EINVAL');
      sim.pages.freePages(pfn, 0);
      return;
    }
    case 'badNid':
      expectRefused(sim, () => rp.lruSizes(sim.topology.nodes.length + (n % 5)), 'EINVAL');
      expectRefused(sim, () => rp.shrink(scanControl({ nrToReclaim: 8, nid: -1 - (n % 3) }), refusingEngine), 'EINVAL');
      return;
    case 'badPfn': {
      const pfns = [sim.memory.maxPfn + (n % 100), -1, 0.5, Number.NaN];
      const pfn = pfns[n % pfns.length]!;
      expectRefused(sim, () => rp.pageAdded(pfn, true), 'EBAD_PFN');
      expectRefused(sim, () => rp.pageAccessed(pfn), 'EBAD_PFN');
      expectRefused(sim, () => rp.pageRemoved(pfn), 'EBAD_PFN');
      return;
    }
    case 'accessFree': {
      // a page nobody holds: the buddy allocator's
      const pfn = sim.pages.allocPages(GFP_KERNEL, 0);
      if (pfn === null) return;
      sim.pages.freePages(pfn, 0);
      expectRefused(sim, () => rp.pageAdded(pfn, false), 'EBAD_PFN');
      return;
    }
    case 'badPriority': {
      const prio = [-1, 0.5, Number.NaN][n % 3]!;
      expectRefused(sim, () => rp.shrink(scanControl({ nrToReclaim: 8, priority: prio }), refusingEngine), 'EBAD_SIZE', 'EINVAL');
    }
  }
}

/** Registers the ReclaimPolicy conformance tests for `target`. */
export function reclaimPolicyConformance(target: SuiteTarget): void {
  describe(`ReclaimPolicy conformance: ${target.name}`, () => {
    let sim: Simulator;
    beforeEach(async () => {
      sim = await makeSim(target, 'reclaim', TWO_NODES);
    });
    afterEach(() => sim.dispose());

    it('keeps added pages on the lists of their node, anon apart from file, and gives them back on removal', () => {
      const pfns: [number, boolean][] = [];
      for (let i = 0; i < 200; i++) {
        const anon = i % 3 === 0;
        const pfn = addUserPage(sim, anon, i % sim.topology.nrCpus)!;
        pfns.push([pfn, anon]);
      }
      const perNode = new Map<number, number>();
      for (const [pfn] of pfns) perNode.set(sim.topology.pfnZone(pfn)!.nid, (perNode.get(sim.topology.pfnZone(pfn)!.nid) ?? 0) + 1);
      for (const n of sim.topology.nodes) {
        const sz = sim.reclaim.lruSizes(n.nid);
        expect(sz).toHaveLength(NR_LRU_LISTS);
        expect(sz.reduce((a, b) => a + b, 0)).toBe(perNode.get(n.nid) ?? 0);
      }
      const tot = lruTotals(sim);
      expect(tot[LruList.INACTIVE_ANON]! + tot[LruList.ACTIVE_ANON]!).toBe(pfns.filter(([, a]) => a).length);
      expect(tot[LruList.INACTIVE_FILE]! + tot[LruList.ACTIVE_FILE]!).toBe(pfns.filter(([, a]) => !a).length);
      for (const [pfn] of pfns) sim.reclaim.pageAccessed(pfn);
      sim.check();
      for (const [pfn] of pfns) {
        sim.reclaim.pageRemoved(pfn);
        sim.pages.freePages(pfn, 0);
      }
      expect(lruTotals(sim).every((x) => x === 0)).toBe(true);
      sim.check();
    });

    it('shrink hands the engine isolated folios, at most nrToReclaim freed; without swap no anon folio; the freed leave the lists', () => {
      expect(sim.swap.free).toBe(0);
      const pages = new Map<number, boolean>();
      for (let i = 0; i < 300; i++) {
        const anon = i % 2 === 0;
        pages.set(addUserPage(sim, anon)!, anon);
      }
      let freed = 0;
      for (let prio = DEF_PRIORITY; prio >= 0; prio--) {
        const sc = scanControl({ nrToReclaim: 32, priority: prio, nid: 0 });
        const engine = engineStandIn(sim, pages, sc, () => FolioOutcome.FREED);
        const n = sim.reclaim.shrink(sc, engine);
        expect(n).toBe(engine.freed.length);
        expect(n).toBeLessThanOrEqual(32);
        expect(sc.nrScanned, 'nr_scanned counts the folios handed over').toBeGreaterThanOrEqual(engine.handed.length);
        for (const pfn of engine.handed) {
          expect(pages.get(pfn), `anon folio ${pfn} isolated without swap`).toBe(false);
          pages.delete(pfn);
        }
        freed += n;
        sim.check();
      }
      expect(freed, 'file pages of node 0 are reclaimable').toBeGreaterThan(0);
      expect(lruTotals(sim).reduce((a, b) => a + b, 0)).toBe(pages.size);
    });

    it('what the engine keeps or activates goes back to the lists; a migrated page keeps its place', () => {
      const pfns = Array.from({ length: 64 }, () => addUserPage(sim, false)!);
      const pages = new Map(pfns.map((p) => [p, false]));
      const before = lruTotals(sim).reduce((a, b) => a + b, 0);
      for (const o of [FolioOutcome.KEEP, FolioOutcome.ACTIVATE]) {
        const sc = scanControl({ nrToReclaim: 8, priority: 0, nid: sim.topology.pfnZone(pfns[0]!)!.nid });
        const engine = engineStandIn(sim, pages, sc, () => o);
        expect(sim.reclaim.shrink(sc, engine)).toBe(0);
        expect(engine.handed.length, 'unreferenced file pages are handed over').toBeGreaterThan(0);
        expect(lruTotals(sim).reduce((a, b) => a + b, 0)).toBe(before);
        sim.check();
      }
      const unregister = sim.pageOwners.register({ name: 'test', kind: PageOwner.PAGE_CACHE, migrate: () => {} });
      const dst = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
      sim.pageOwners.migratePage(pfns[5]!, dst);
      sim.pages.freePages(pfns[5]!, 0);
      expect(lruTotals(sim).reduce((a, b) => a + b, 0)).toBe(before);
      sim.check();
      unregister();
    });

    it('with the reclaim engine: shrink_node frees file pages through their owner and takes no anon page without swap', () => {
      const pages = new Map<number, boolean>();
      for (let i = 0; i < 400; i++) {
        const anon = i % 2 === 0;
        const pfn = addUserPage(sim, anon)!;
        if (sim.topology.pfnZone(pfn)!.nid === 0) pages.set(pfn, anon);
        else {
          sim.reclaim.pageRemoved(pfn);
          sim.pages.freePages(pfn, 0);
        }
      }
      const evicted: number[] = [];
      const evict = (pfn: number) => {
        if (!pages.has(pfn)) return false;
        expect(pages.get(pfn), `anon page ${pfn} evicted without swap`).toBe(false);
        evicted.push(pfn);
        pages.delete(pfn);
        sim.pages.freePages(pfn, 0);
        return true;
      };
      const off = [PageOwner.ANON, PageOwner.PAGE_CACHE].map((kind) => sim.pageOwners.register({ name: 'test', kind, evict }));
      const sc = scanControl({ nrToReclaim: 32, nid: 0 });
      // (the shrinkers may add slab pages to what shrink_node frees)
      expect((sim.vmscan as Vmscan).shrinkNode(sc)).toBeGreaterThanOrEqual(evicted.length);
      expect(evicted.length).toBeGreaterThan(0);
      expect(evicted.length).toBeLessThanOrEqual(32);
      expect(lruTotals(sim).reduce((a, b) => a + b, 0)).toBe(pages.size);
      sim.check();
      for (const u of off) u();
    });

    it('refuses a page added twice, removing a page not on a list, unknown nodes and pfns, leaving the simulator exactly unchanged', () => {
      const pfn = addUserPage(sim, true)!;
      expectRefused(sim, () => sim.reclaim.pageAdded(pfn, true), 'EBAD_PFN');
      const k = sim.pages.allocPages(GFP_KERNEL, 0)!;
      expectRefused(sim, () => sim.reclaim.pageRemoved(k), 'EBAD_PFN');
      expectRefused(sim, () => sim.reclaim.lruSizes(9), 'EINVAL');
      expectRefused(sim, () => sim.reclaim.pageAdded(sim.memory.maxPfn + 1, false), 'EBAD_PFN');
      sim.check();
    });

    it('property: random add/access/remove/shrink (freed, kept, activated)/migrate sequences keep every invariant and end in the boot state', async () => {
      await assertOpSequences(() => makeSim(target, 'reclaim', TWO_NODES), reclaimPolicyModel, target.property);
    }, propertyTimeout());
  });
}
