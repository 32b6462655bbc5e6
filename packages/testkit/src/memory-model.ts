/**
 * The MemoryModel conformance suite. Every memory model plugin runs it:
 * ```ts
 * import { memoryModelConformance } from '@mmsim/testkit';
 * memoryModelConformance({ name: 'flatmem', plugin: 'flatmem' });
 * ```
 * It checks pfn_valid / pfn_to_page / page_to_pfn on machines with several
 * nodes, holes and a HighMem zone, memmap accounting, and memory hotplug:
 * refused (EHOTPLUG, state unchanged) where the model has no sections,
 * offline → online back to the boot state where it has.
 * @module
 */
import {
  checkVm, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, type MachineDescription, MAX_PAGE_ORDER, PAGE_SHIFT, PAGE_SIZE, PageOwner,
  type Simulator, STRUCT_PAGE_SIZE, type ZoneType,
} from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';
import { expectRefused, makeSim, pageState, type SuiteTarget } from './common.js';
import { assertOpSequences, fc, type OpModel, pick, propertyDefaults, propertyTimeout } from './property.js';

/** SECTION_SIZE_BITS 27 on x86_64: 128 MiB sections (the default; a model may use others, see {@link pagesPerSection}). */
export const PAGES_PER_SECTION = 1 << (27 - 12);

/** PAGES_PER_SECTION of the simulator's memory model: its SECTION_SIZE_BITS when it has sections (512M, 1G ... are configurable), else the x86_64 default. */
export function pagesPerSection(sim: Simulator): number {
  const bits = sim.memory.sectionSizeBits;
  return bits === undefined ? PAGES_PER_SECTION : 2 ** (bits - PAGE_SHIFT);
}

/** Machines every memory model is checked on: one node; two nodes; holes; x86_32 with HighMem. */
export const MEMORY_MODEL_MACHINES: readonly { name: string; machine: MachineDescription }[] = [
  { name: '64M, one node', machine: { memory: '64M', cpus: 2 } },
  { name: 'two nodes', machine: { nodes: [{ memory: '48M', cpus: 1 }, { memory: '48M', cpus: 1 }] } },
  { name: 'e820 with a 24M hole', machine: { e820: [{ start: 0, end: '0x9fc00' }, { start: '1M', end: '40M' }, { start: '64M', end: '100M' }], cpus: 1 } },
  { name: 'x86_32, 1G with HighMem', machine: { memory: '1G', cpus: 1, arch: 'x86_32' } },
];

/** Everything the memory model shapes: present ranges, zone spans and sizes, memmap, free pages. */
export function memoryState(sim: Simulator): string {
  sim.pages.drainAllPages();
  const m = sim.memory;
  const zones = sim.topology.zones.map((z) => `${z.nid}/${z.name}:${z.zoneStartPfn}+${z.spannedPages}:${z.presentPages}:${z.managedPages}`);
  return `present ${JSON.stringify(m.presentRanges())}\nmemmap ${m.memmapBytes()}\nzones ${zones.join(' ')}\n${pageState(sim)}`;
}

/** One memory-model operation of a random sequence. */
export type MemoryOp =
  | { k: 'query'; pfn: number }
  | { k: 'alloc'; order: number; movable: boolean }
  | { k: 'free'; pick: number }
  | { k: 'offline'; section: number }
  | { k: 'online'; pick: number }
  | { k: 'bad'; what: 'onlinePresent' | 'sectionRange' | 'offlineTwice'; pick: number };

/** What the memory-model sequence holds. */
export interface MemoryModelState {
  held: { pfn: number; order: number }[];
  offline: { nr: number; zone: ZoneType }[];
  unregister: () => void;
}

function checkPfn(sim: Simulator, pfn: number): void {
  const m = sim.memory;
  const valid = m.pfnValid(pfn);
  const page = m.pfnToPage(pfn);
  if (valid) {
    expect(page, `pfn_to_page(${pfn}) of a valid pfn`).toBeGreaterThanOrEqual(0);
    expect(page).toBeLessThan(m.pages.size);
    expect(m.pageToPfn(page), `page_to_pfn(pfn_to_page(${pfn}))`).toBe(pfn);
  } else {
    expect(page, `pfn_to_page(${pfn}) of an invalid pfn`).toBe(-1);
  }
  if (pfn < m.minPfn || pfn >= m.maxPfn) expect(valid, `pfn ${pfn} outside [${m.minPfn}, ${m.maxPfn})`).toBe(false);
}

/** The zone type a section's first present pfn belongs to. */
function sectionZone(sim: Simulator, nr: number): ZoneType | undefined {
  const pps = pagesPerSection(sim);
  for (const z of sim.topology.populatedZones) {
    for (const r of z.ranges) {
      if (r.end > nr * pps && r.start < (nr + 1) * pps) return z.type;
    }
  }
  return undefined;
}

/** The memory model as a state machine: pfn queries, allocations in the way, sections offline and online. */
export const memoryModelModel: OpModel<MemoryOp, MemoryModelState> = {
  op: fc.oneof(
    { arbitrary: fc.record({ k: fc.constant('query' as const), pfn: fc.nat() }), weight: 3 },
    { arbitrary: fc.record({ k: fc.constant('alloc' as const), order: fc.integer({ min: 0, max: MAX_PAGE_ORDER }), movable: fc.boolean() }), weight: 3 },
    { arbitrary: fc.record({ k: fc.constant('free' as const), pick: pick() }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('offline' as const), section: fc.nat({ max: 64 }) }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('online' as const), pick: pick() }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('bad' as const), what: fc.constantFrom('onlinePresent', 'sectionRange', 'offlineTwice'), pick: pick() }), weight: 1 },
  ),
  init(sim) {
    const s: MemoryModelState = { held: [], offline: [], unregister: () => {} };
    // movable pages may be migrated when their section goes offline: follow them
    s.unregister = sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, migrate: (from, to) => {
      const h = s.held.find((x) => x.pfn === from);
      if (h) h.pfn = to;
    } });
    return s;
  },
  apply(sim, s, op) {
    const m = sim.memory;
    switch (op.k) {
      case 'query': {
        const span = m.maxPfn - m.minPfn + 64;
        checkPfn(sim, m.minPfn - 32 + (op.pfn % span));
        return;
      }
      case 'alloc': {
        const pfn = sim.pages.allocPages(op.movable ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL, op.order);
        if (pfn === null) return;
        for (let p = pfn; p < pfn + (1 << op.order); p++) expect(m.pfnValid(p), `allocated pfn ${p} is valid`).toBe(true);
        if (op.movable && op.order === 0) m.pages.ownerKind[m.pfnToPage(pfn)] = PageOwner.ANON;
        s.held.push({ pfn, order: op.order });
        return;
      }
      case 'free': {
        if (s.held.length === 0) return;
        const [h] = s.held.splice(op.pick % s.held.length, 1);
        sim.pages.freePages(h!.pfn, h!.order);
        return;
      }
      case 'offline': {
        const pps = pagesPerSection(sim);
        const nr = op.section % (Math.ceil(m.maxPfn / pps) + 2);
        const zone = sectionZone(sim, nr);
        if (!m.supportsHotplug || zone === undefined || s.offline.some((x) => x.nr === nr)) {
          expectRefused(sim, () => m.offlineSection(nr), 'EHOTPLUG', 'EINVAL');
          return;
        }
        const before = memoryState(sim);
        try {
          m.offlineSection(nr);
        } catch (e) {
          // a page in the way (unmovable, reserved): refused, nothing changed
          expect((e as { code?: string }).code, String(e)).toBe('EHOTPLUG');
          expect(memoryState(sim)).toBe(before);
          return;
        }
        s.offline.push({ nr, zone });
        for (let p = nr * pps; p < (nr + 1) * pps; p += 997) {
          expect(m.presentRanges().some((r) => p >= r.start && p < r.end), `pfn ${p} of offline section ${nr} still present`).toBe(false);
        }
        return;
      }
      case 'online': {
        if (s.offline.length === 0) return;
        const [x] = s.offline.splice(op.pick % s.offline.length, 1);
        m.onlineSection(x!.nr, x!.zone);
        return;
      }
      case 'bad': {
        const nrSections = Math.ceil(m.maxPfn / pagesPerSection(sim));
        if (op.what === 'sectionRange') {
          const nr = [-1, 1.5, 1e9, Number.NaN][op.pick % 4]!;
          expectRefused(sim, () => m.offlineSection(nr), 'EHOTPLUG', 'EINVAL');
          expectRefused(sim, () => m.onlineSection(nr, sim.topology.zoneTypes[0]!), 'EHOTPLUG', 'EINVAL');
        } else if (op.what === 'onlinePresent') {
          const nr = op.pick % Math.max(1, nrSections);
          const zone = sectionZone(sim, nr);
          if (zone !== undefined && !s.offline.some((x) => x.nr === nr)) expectRefused(sim, () => m.onlineSection(nr, zone), 'EHOTPLUG', 'EINVAL');
        } else {
          const x = s.offline[op.pick % Math.max(1, s.offline.length)];
          if (x) expectRefused(sim, () => m.offlineSection(x.nr), 'EHOTPLUG', 'EINVAL');
        }
      }
    }
  },
  release(sim, s) {
    for (const x of s.offline) sim.memory.onlineSection(x.nr, x.zone);
    s.offline = [];
    for (const h of s.held) sim.pages.freePages(h.pfn, h.order);
    s.held = [];
    s.unregister();
  },
  observe: memoryState,
};

/** Registers the MemoryModel conformance tests for `target`. */
export function memoryModelConformance(target: SuiteTarget): void {
  describe(`MemoryModel conformance: ${target.name}`, () => {
    for (const { name, machine } of MEMORY_MODEL_MACHINES) {
      it(`${name}: every present pfn has its own struct page, and back; nothing outside is valid`, async () => {
        const sim = await makeSim(target, 'memoryModel', machine);
        try {
          const m = sim.memory;
          const ranges = m.presentRanges();
          expect(ranges.length).toBeGreaterThan(0);
          const seen = new Set<number>();
          let prevEnd = -1;
          for (const r of ranges) {
            expect(r.start, 'present ranges ascending and disjoint').toBeGreaterThanOrEqual(prevEnd);
            expect(r.end).toBeGreaterThan(r.start);
            expect(r.start).toBeGreaterThanOrEqual(m.minPfn);
            expect(r.end).toBeLessThanOrEqual(m.maxPfn);
            prevEnd = r.end;
            // plain comparisons in the loop: expect() per pfn is slow on a 1G machine
            for (let pfn = r.start; pfn < r.end; pfn++) {
              if (!m.pfnValid(pfn)) expect.fail(`present pfn ${pfn} is not pfn_valid()`);
              const page = m.pfnToPage(pfn);
              if (seen.has(page) || m.pageToPfn(page) !== pfn) expect.fail(`pfn ${pfn}: slot ${page} is not its own (page_to_pfn ${m.pageToPfn(page)})`);
              seen.add(page);
            }
          }
          for (const pfn of [m.minPfn - 1, m.maxPfn, m.maxPfn + 1, -1, 2 ** 40]) checkPfn(sim, pfn);
          expect(m.pageToPfn(-1)).toBe(-1);
          expect(m.pageToPfn(m.pages.size)).toBe(-1);
          const total = ranges.reduce((s, r) => s + r.end - r.start, 0);
          expect(total).toBe(sim.topology.totalPresentPages);
          const report = checkVm(sim);
          expect(report.present).toBe(total);
          sim.check();
        } finally {
          sim.dispose();
        }
      });

      it(`${name}: memmap accounting: struct pages for every present page, charged to the zones`, async () => {
        const sim = await makeSim(target, 'memoryModel', machine);
        try {
          const m = sim.memory;
          let slots = 0;
          for (let p = 0; p < m.pages.size; p++) if (m.pageToPfn(p) >= 0) slots++;
          expect(slots).toBeGreaterThanOrEqual(sim.topology.totalPresentPages);
          expect(m.memmapBytes()).toBeGreaterThanOrEqual(slots * STRUCT_PAGE_SIZE);
          for (const z of sim.topology.populatedZones) {
            const pages = m.memmapPages(z);
            expect(pages, `memmap pages of node ${z.nid} ${z.name}`).toBeGreaterThanOrEqual(Math.ceil((z.presentPages * STRUCT_PAGE_SIZE) / PAGE_SIZE));
            expect(pages).toBeLessThanOrEqual(Math.ceil((z.spannedPages * STRUCT_PAGE_SIZE) / PAGE_SIZE));
            expect(z.managedPages).toBeLessThanOrEqual(z.presentPages);
          }
          sim.check();
        } finally {
          sim.dispose();
        }
      });
    }

    it('memory hotplug: refused with EHOTPLUG (state unchanged) without sections; offline → online restores the boot state with them', async () => {
      const sim = await makeSim(target, 'memoryModel', { memory: '384M', cpus: 1 });
      try {
        const m = sim.memory;
        const normal = sim.topology.zoneTypes[sim.topology.zoneTypes.length - 2]!;
        if (!m.supportsHotplug) {
          expectRefused(sim, () => m.offlineSection(1), 'EHOTPLUG');
          expectRefused(sim, () => m.onlineSection(1, normal), 'EHOTPLUG');
          return;
        }
        const boot = memoryState(sim);
        // some section of an idle machine must go offline (one without memmap or holes in the way)
        let done = -1;
        const pps = pagesPerSection(sim);
        for (let nr = 0; nr * pps < m.maxPfn && done < 0; nr++) {
          const zone = sectionZone(sim, nr);
          if (zone === undefined) continue;
          const before = memoryState(sim);
          try {
            m.offlineSection(nr);
            done = nr;
            sim.check();
            expectRefused(sim, () => m.offlineSection(nr), 'EHOTPLUG', 'EINVAL');
            m.onlineSection(nr, zone);
            sim.check();
          } catch (e) {
            if (done >= 0) throw e;
            expect((e as { code?: string }).code).toBe('EHOTPLUG');
            expect(memoryState(sim)).toBe(before);
          }
        }
        expect(done, 'no section of an idle 384M machine could go offline').toBeGreaterThanOrEqual(0);
        expect(memoryState(sim)).toBe(boot);
        // an unmovable page in the way
        const pfn = sim.pages.allocPages(GFP_KERNEL, 0)!;
        expectRefused(sim, () => m.offlineSection(Math.floor(pfn / pps)), 'EHOTPLUG');
        sim.pages.freePages(pfn, 0);
      } finally {
        sim.dispose();
      }
    });

    it('property: random pfn queries, allocations and section offline/online keep every invariant and end in the boot state', async () => {
      const probe = await makeSim(target, 'memoryModel', { memory: '64M', cpus: 1 });
      const hotplug = probe.memory.supportsHotplug;
      probe.dispose();
      const o = propertyDefaults(target.property);
      await assertOpSequences(() => makeSim(target, 'memoryModel', hotplug ? { memory: '384M', cpus: 1 } : { memory: '64M', cpus: 1 }), memoryModelModel,
        { ...target.property, numRuns: hotplug ? Math.max(5, Math.ceil(o.numRuns / 3)) : o.numRuns });
    }, propertyTimeout());
  });
}
