/**
 * The PageAllocator conformance suite. Every page allocator plugin — ours and
 * third parties' — runs it:
 * ```ts
 * import { pageAllocatorConformance } from '@mmsim/testkit';
 * pageAllocatorConformance({ name: 'buddy', plugin: 'buddy' });
 * ```
 * @module
 */
import {
  GFP_ATOMIC, GFP_DMA, GFP_DMA32, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOWAIT, MAX_PAGE_ORDER, Random, type Simulator,
  __GFP_COMP, __GFP_RECLAIMABLE,
} from '@mmsim/defconfig';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectCode, expectRefused, makeSim, pageState, type SuiteTarget } from './common.js';
import { assertOpSequences, fc, type OpModel, pick, propertyTimeout } from './property.js';

/** The gfp masks the random sequences allocate with. */
export const PAGE_GFPS = [GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_ATOMIC, GFP_KERNEL | __GFP_RECLAIMABLE, GFP_DMA | GFP_KERNEL, GFP_DMA32 | GFP_KERNEL, GFP_NOWAIT, GFP_KERNEL | __GFP_COMP] as const;

/** One page-allocator operation of a random sequence. */
export type PageOp =
  | { k: 'alloc'; order: number; gfp: number; cpu: number }
  | { k: 'free'; pick: number }
  | { k: 'drain' }
  | { k: 'bad'; what: 'order' | 'double' | 'wrongOrder' | 'foreign' | 'tail' | 'hole'; pick: number };

/** What the page-allocator sequence holds. */
export interface PageModelState {
  held: { pfn: number; order: number }[];
  /** Every pfn the sequence holds. */
  owned: Set<number>;
  /** Blocks the sequence freed (their pfns are free unless taken again). */
  freed: { pfn: number; order: number }[];
}

/** An order: mostly 0, sometimes any (shrinks towards 0). */
const orderArb = fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: MAX_PAGE_ORDER }), weight: 3 });

/** The page allocator as a state machine: alloc/free/drain and refused calls. */
export const pageAllocatorModel: OpModel<PageOp, PageModelState> = {
  op: fc.oneof(
    { arbitrary: fc.record({ k: fc.constant('alloc' as const), order: orderArb, gfp: fc.integer({ min: 0, max: PAGE_GFPS.length - 1 }), cpu: fc.nat({ max: 63 }) }), weight: 6 },
    { arbitrary: fc.record({ k: fc.constant('free' as const), pick: pick() }), weight: 4 },
    { arbitrary: fc.record({ k: fc.constant('drain' as const) }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('bad' as const), what: fc.constantFrom('order', 'double', 'wrongOrder', 'foreign', 'tail', 'hole'), pick: pick() }), weight: 2 },
  ),
  init: () => ({ held: [], owned: new Set(), freed: [] }),
  apply(sim, s, op) {
    const pa = sim.pages;
    switch (op.k) {
      case 'alloc': {
        const gfp = PAGE_GFPS[op.gfp]!;
        const pfn = pa.allocPages(gfp, op.order, { cpu: op.cpu % sim.topology.nrCpus });
        if (pfn === null) return;
        expect(Number.isInteger(pfn) && pfn % (1 << op.order) === 0, `pfn ${pfn} aligned to order ${op.order}`).toBe(true);
        for (let p = pfn; p < pfn + (1 << op.order); p++) {
          expect(sim.memory.pfnValid(p), `pfn ${p} valid`).toBe(true);
          expect(s.owned.has(p), `pfn ${p} handed out twice`).toBe(false);
          s.owned.add(p);
        }
        if (gfp & GFP_DMA) expect(pfn + (1 << op.order), 'GFP_DMA below 16 MiB').toBeLessThanOrEqual(4096);
        s.held.push({ pfn, order: op.order });
        s.freed = s.freed.filter((f) => f.pfn + (1 << f.order) <= pfn || f.pfn >= pfn + (1 << op.order));
        return;
      }
      case 'free': {
        if (s.held.length === 0) return;
        const [b] = s.held.splice(op.pick % s.held.length, 1);
        pa.freePages(b!.pfn, b!.order);
        for (let p = b!.pfn; p < b!.pfn + (1 << b!.order); p++) s.owned.delete(p);
        s.freed.push(b!);
        return;
      }
      case 'drain':
        pa.drainAllPages();
        return;
      case 'bad':
        badPageCall(sim, s, op.what, op.pick);
    }
  },
  release(sim, s) {
    for (const b of s.held) sim.pages.freePages(b.pfn, b.order);
    s.held = [];
    s.owned.clear();
    sim.pages.drainAllPages();
  },
  observe(sim) {
    sim.pages.drainAllPages();
    return pageState(sim);
  },
};

/** A refused call of each kind; the state must not change. */
function badPageCall(sim: Simulator, s: PageModelState, what: string, n: number): void {
  const pa = sim.pages;
  switch (what) {
    case 'order':
      expectRefused(sim, () => pa.allocPages(GFP_KERNEL, n % 2 ? MAX_PAGE_ORDER + 1 + (n % 5) : -1 - (n % 3)), 'EBAD_ORDER');
      return;
    case 'double': {
      const f = s.freed.find((b) => !s.owned.has(b.pfn));
      if (f) expectRefused(sim, () => pa.freePages(f.pfn, f.order), 'EDOUBLE_FREE', 'EBAD_PFN');
      return;
    }
    case 'wrongOrder': {
      if (s.held.length === 0) return;
      const b = s.held[n % s.held.length]!;
      const wrong = b.order === MAX_PAGE_ORDER ? b.order - 1 : b.order + 1;
      expectRefused(sim, () => pa.freePages(b.pfn, wrong), 'EBAD_ORDER');
      return;
    }
    case 'foreign': {
      const pfns = [sim.memory.maxPfn + (n % 1000), -1 - (n % 7), 0.5 + (n % 100), Number.NaN, 2 ** 53];
      expectRefused(sim, () => pa.freePages(pfns[n % pfns.length]!, 0), 'EBAD_PFN');
      return;
    }
    case 'tail': {
      const b = s.held.find((x) => x.order > 0);
      if (b) expectRefused(sim, () => pa.freePages(b.pfn + 1 + (n % ((1 << b.order) - 1)), 0), 'EBAD_PFN', 'EDOUBLE_FREE');
      return;
    }
    case 'hole': {
      const hole = holePfn(sim);
      if (hole !== undefined) expectRefused(sim, () => pa.freePages(hole, 0), 'EBAD_PFN');
    }
  }
}

/** A pfn with a struct page that is not present RAM (a hole), if the machine has one. */
export function holePfn(sim: Simulator): number | undefined {
  const m = sim.memory;
  let prev = m.minPfn;
  for (const r of m.presentRanges()) {
    for (let p = prev; p < r.start; p++) if (m.pfnValid(p)) return p;
    prev = r.end;
  }
  return undefined;
}

/** Registers the PageAllocator conformance tests for `target`. */
export function pageAllocatorConformance(target: SuiteTarget): void {
  describe(`PageAllocator conformance: ${target.name}`, () => {
    let sim: Simulator;
    beforeEach(async () => {
      sim = await makeSim(target, 'pageAllocator');
    });
    afterEach(() => sim.dispose());

    it('boots with every managed page free and consistent counters', () => {
      sim.pages.drainAllPages();
      for (const z of sim.topology.populatedZones) {
        let pages = 0;
        for (let o = 0; o <= sim.pages.maxOrder; o++) pages += sim.pages.freeBlocks(z, o) << o;
        expect(pages + sim.pages.pcpPages(z)).toBe(z.stats.nrFreePages + sim.pages.pcpPages(z));
        expect(z.stats.nrFreePages).toBeLessThanOrEqual(z.managedPages);
        expect(z.stats.nrFreePages).toBeGreaterThan(z.managedPages * 0.9);
      }
      sim.check();
    });

    it('returns aligned, valid, disjoint blocks of every order', () => {
      const held: [number, number][] = [];
      const owned = new Set<number>();
      for (let order = 0; order <= MAX_PAGE_ORDER; order++) {
        for (let i = 0; i < 3; i++) {
          const pfn = sim.pages.allocPages(GFP_KERNEL, order);
          expect(pfn).not.toBeNull();
          expect(pfn! % (1 << order)).toBe(0);
          for (let p = pfn!; p < pfn! + (1 << order); p++) {
            expect(sim.memory.pfnValid(p)).toBe(true);
            expect(owned.has(p)).toBe(false);
            owned.add(p);
          }
          held.push([pfn!, order]);
        }
      }
      sim.check();
      for (const [pfn, order] of held) sim.pages.freePages(pfn, order);
      sim.check();
    });

    it('gets back to the boot state after everything is freed', () => {
      sim.pages.drainAllPages();
      const boot = pageState(sim);
      const r = new Random(7);
      const held: [number, number][] = [];
      for (let i = 0; i < 3000; i++) {
        if (held.length && r.below(3) === 0) {
          const [pfn, order] = held.splice(r.below(held.length), 1)[0]!;
          sim.pages.freePages(pfn, order);
        } else {
          const order = r.below(4) === 0 ? r.below(MAX_PAGE_ORDER + 1) : 0;
          const pfn = sim.pages.allocPages(r.below(2) ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE, order, { cpu: r.below(sim.topology.nrCpus) });
          if (pfn !== null) held.push([pfn, order]);
        }
      }
      sim.check();
      for (const [pfn, order] of held) sim.pages.freePages(pfn, order);
      sim.pages.drainAllPages();
      sim.check();
      expect(pageState(sim)).toBe(boot);
    });

    it('serves GFP_DMA from ZONE_DMA (below 16 MiB)', () => {
      const pfn = sim.pages.allocPages(GFP_DMA | GFP_KERNEL, 0);
      expect(pfn).not.toBeNull();
      expect(pfn!).toBeLessThan(4096);
      sim.pages.freePages(pfn!, 0);
    });

    it('returns null when memory is exhausted, never the same page twice', () => {
      const seen = new Set<number>();
      const held: number[] = [];
      for (;;) {
        const pfn = sim.pages.allocPages(GFP_KERNEL, 0);
        if (pfn === null) break;
        expect(seen.has(pfn)).toBe(false);
        seen.add(pfn);
        held.push(pfn);
      }
      expect(held.length).toBeGreaterThan(0);
      for (const pfn of held) sim.pages.freePages(pfn, 0);
      sim.check();
    });

    it('refuses bad orders, double frees, wrong orders and foreign pfns, leaving state unchanged', () => {
      const a = sim.pages.allocPages(GFP_KERNEL, 2)!;
      const before = pageState(sim);
      expectCode(() => sim.pages.allocPages(GFP_KERNEL, MAX_PAGE_ORDER + 1), 'EBAD_ORDER');
      expectCode(() => sim.pages.allocPages(GFP_KERNEL, -1), 'EBAD_ORDER');
      expectCode(() => sim.pages.freePages(a, 3), 'EBAD_ORDER');
      expectCode(() => sim.pages.freePages(a + 1, 0), 'EBAD_PFN', 'EDOUBLE_FREE');
      expectCode(() => sim.pages.freePages(sim.memory.maxPfn + 10, 0), 'EBAD_PFN');
      expect(pageState(sim)).toBe(before);
      sim.pages.freePages(a, 2);
      const after = pageState(sim);
      expectCode(() => sim.pages.freePages(a, 2), 'EDOUBLE_FREE');
      expect(pageState(sim)).toBe(after);
      sim.check();
    });

    it('property: random alloc/free/drain sequences keep every invariant and free back to the boot state', async () => {
      await assertOpSequences(() => makeSim(target, 'pageAllocator', { memory: '64M', cpus: 2 }), pageAllocatorModel, target.property);
    }, propertyTimeout());

    it('a refused call (bad order, foreign or hole pfn, tail page) leaves the simulator exactly unchanged', () => {
      const a = sim.pages.allocPages(GFP_KERNEL, 3)!;
      expectRefused(sim, () => sim.pages.freePages(a, 2), 'EBAD_ORDER');
      expectRefused(sim, () => sim.pages.freePages(a + 2, 0), 'EBAD_PFN', 'EDOUBLE_FREE');
      expectRefused(sim, () => sim.pages.freePages(-1, 0), 'EBAD_PFN');
      expectRefused(sim, () => sim.pages.freePages(1.5, 0), 'EBAD_PFN');
      expectRefused(sim, () => sim.pages.allocPages(GFP_KERNEL, 0, { nid: 7 }), 'EINVAL');
      const hole = holePfn(sim);
      if (hole !== undefined) expectRefused(sim, () => sim.pages.freePages(hole, 0), 'EBAD_PFN');
      sim.pages.freePages(a, 3);
      expectRefused(sim, () => sim.pages.freePages(a, 3), 'EDOUBLE_FREE');
    });

    it('fires mm_page_alloc / mm_page_free with the kernel fields', () => {
      const allocs: { pfn: number; order: number; gfp_flags: number; migratetype: number }[] = [];
      const frees: { pfn: number; order: number }[] = [];
      sim.events.on('mm_page_alloc', (e) => allocs.push(e));
      sim.events.on('mm_page_free', (e) => frees.push(e));
      const pfn = sim.pages.allocPages(GFP_KERNEL, 1)!;
      sim.pages.freePages(pfn, 1);
      expect(allocs).toContainEqual({ pfn, order: 1, gfp_flags: GFP_KERNEL, migratetype: 0 });
      expect(frees).toContainEqual({ pfn, order: 1 });
    });
  });
}
