/**
 * The PageAllocator conformance suite. Every page allocator plugin — ours and
 * third parties' — runs it:
 * ```ts
 * import { pageAllocatorConformance } from '@mmsim/testkit';
 * pageAllocatorConformance({ name: 'buddy', plugin: 'buddy' });
 * ```
 * @module
 */
import { GFP_DMA, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, MAX_PAGE_ORDER, Random, type Simulator } from '@mmsim/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectCode, makeSim, pageState, type SuiteTarget } from './common.js';

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
