/**
 * The MemoryModel conformance suite. Every memory model plugin runs it:
 * ```ts
 * import { memoryModelConformance } from '@mmsim/testkit';
 * memoryModelConformance({ name: 'sparsemem', plugin: 'sparsemem' });
 * ```
 * @module
 */
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, PG_reserved, runDefaultWorkload, STRUCT_PAGE_SIZE, type Simulator, ZoneType } from '@mmsim/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectCode, makeSim, type SuiteTarget } from './common.js';

/** Registers the MemoryModel conformance tests for `target`. */
export function memoryModelConformance(target: SuiteTarget): void {
  describe(`MemoryModel conformance: ${target.name}`, () => {
    let sim: Simulator;
    beforeEach(async () => {
      sim = await makeSim(target, 'memoryModel');
    });
    afterEach(() => sim.dispose());

    it('has a struct page for every present pfn, and pfn_to_page / page_to_pfn are inverse', () => {
      const m = sim.memory;
      const seen = new Set<number>();
      let present = 0;
      for (const r of m.presentRanges()) {
        for (let pfn = r.start; pfn < r.end; pfn += pfn + 97 < r.end ? 97 : 1) {
          expect(m.pfnValid(pfn)).toBe(true);
          const page = m.pfnToPage(pfn);
          expect(page).toBeGreaterThanOrEqual(0);
          expect(page).toBeLessThan(m.pages.size);
          expect(m.pageToPfn(page)).toBe(pfn);
          expect(seen.has(page)).toBe(false);
          seen.add(page);
        }
        present += r.end - r.start;
      }
      expect(present).toBe(sim.topology.totalPresentPages);
      expect(m.pfnValid(-1)).toBe(false);
      expect(m.pfnToPage(-1)).toBe(-1);
      expect(m.pfnToPage(m.maxPfn + 1e9)).toBe(-1);
      expect(m.pageToPfn(-1)).toBe(-1);
      expect(m.pageToPfn(m.pages.size)).toBe(-1);
    });

    it('keeps struct pages of holes reserved, and charges at least a struct page per present page', () => {
      const m = sim.memory;
      const t = m.pages;
      const ranges = m.presentRanges();
      for (let i = 1; i < ranges.length; i++) {
        for (let pfn = ranges[i - 1]!.end; pfn < ranges[i]!.start; pfn += 61) {
          if (m.pfnValid(pfn)) expect(t.flags[m.pfnToPage(pfn)]! & PG_reserved).toBeTruthy();
        }
      }
      expect(m.memmapBytes()).toBeGreaterThanOrEqual(sim.topology.totalPresentPages * STRUCT_PAGE_SIZE);
      if (m.memmapHoleBytes) expect(m.memmapHoleBytes()).toBe(m.memmapBytes() - sim.topology.totalPresentPages * STRUCT_PAGE_SIZE);
      for (const z of sim.topology.populatedZones) {
        expect(m.memmapPages(z)).toBeGreaterThan(0);
        expect(m.memmapPages(z)).toBeLessThanOrEqual(Math.ceil((z.spannedPages * STRUCT_PAGE_SIZE) / 4096));
      }
    });

    it('serves the page allocator and the default workload', () => {
      const a = sim.pages.allocPages(GFP_KERNEL, 3)!;
      const b = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
      expect(sim.memory.pfnValid(a) && sim.memory.pfnValid(b)).toBe(true);
      sim.pages.freePages(a, 3);
      sim.pages.freePages(b, 0);
      runDefaultWorkload(sim, { ops: 1500 });
      sim.check();
    });

    it('supports memory hotplug or refuses it with EHOTPLUG', () => {
      if (!sim.memory.supportsHotplug) {
        expectCode(() => sim.memory.offlineSection(1), 'EHOTPLUG');
        expectCode(() => sim.memory.onlineSection(1, ZoneType.NORMAL), 'EHOTPLUG');
        return;
      }
      // a section that is online already cannot be onlined again; nothing changes
      const online = sim.memory.sections!().find((s) => s.state === 'online')!;
      const before = sim.proc('buddyinfo');
      expectCode(() => sim.memory.onlineSection(online.nr, ZoneType.NORMAL), 'EHOTPLUG');
      expect(sim.proc('buddyinfo')).toBe(before);
    });
  });
}
