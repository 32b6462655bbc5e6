import { createSimulator, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, isMmsimError, PageOwner, PG_slab, type Simulator, ZoneType } from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';

const GiB = 2 ** 30;
/** RAM below 1 GiB and 1 GiB above 4 GiB: Normal is sections 32..39, its memmap at the top (section 39). */
const machine = { e820: [{ start: 0, end: GiB }, { start: 4 * GiB, end: 5 * GiB }], cpus: 2 };
const SECTION = 34;
/**
 * The buddy allocator without per-CPU lists, for the tests that place pages exactly (fill a section, put a slab
 * page in it): a per-CPU refill takes a whole batch, past the watermark, and pages on those lists count neither
 * as free nor for the watermark, as in Linux. The per-CPU lists' part in offlining has its own test.
 */
const noPcp = { use: 'buddy', options: { pcp: false } };

function section(sim: Simulator, nr: number) {
  return sim.memory.section!(nr);
}
/** Everything observable about the machine, for "unchanged" assertions. */
function snapshot(sim: Simulator): string {
  const t = sim.memory.pages;
  const s = section(sim, SECTION);
  let flags = 0;
  for (let pfn = s.startPfn; pfn < s.startPfn + s.nrPages; pfn++) flags = (flags * 31 + t.flags[sim.memory.pfnToPage(pfn)]! + t.refcount[sim.memory.pfnToPage(pfn)]!) % 1e9;
  const zones = sim.topology.zones.map((z) => `${z.name}:${z.zoneStartPfn}+${z.spannedPages}:${z.presentPages}/${z.managedPages}/${z.stats.nrFreePages}`);
  return JSON.stringify({ zones, flags, sections: sim.memory.sections!().map((x) => x.state), buddy: sim.proc('buddyinfo') });
}
/** Fills section `nr` with movable order-0 pages, everything else as it was. Returns the owner's map pfn → data. */
function fillSection(sim: Simulator, nr: number): Map<number, string> {
  const s = section(sim, nr);
  const inSection = (p: number) => p >= s.startPfn && p < s.startPfn + s.nrPages;
  // take Normal's free memory in pageblocks, give the section's back: the section is then Normal's only free memory
  const normal = sim.topology.pfnZone(s.startPfn)!;
  const blocks: number[] = [];
  for (;;) {
    const p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 9);
    if (p === null || sim.topology.pfnZone(p) !== normal) {
      if (p !== null) sim.pages.freePages(p, 9);
      break;
    }
    blocks.push(p);
  }
  for (const p of blocks.filter(inSection)) sim.pages.freePages(p, 9);
  const owned = new Map<number, string>();
  while (owned.size < s.presentPages) {
    const p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    if (!inSection(p)) throw new Error(`pfn ${p} is outside section ${nr}`);
    sim.memory.pages.ownerKind[sim.memory.pfnToPage(p)] = PageOwner.ANON;
    owned.set(p, `data of page ${p}`);
  }
  for (const p of blocks.filter((b) => !inSection(b))) sim.pages.freePages(p, 9);
  return owned;
}

describe('memory hotplug (SPARSEMEM)', () => {
  it.each(['linear', 'interleaved'])('offlines a section full of movable pages: every owner follows its data to the new pfn (%s slots)', async (slotLayout) => {
    const sim = await createSimulator({ machine, plugins: { memoryModel: { use: 'sparsemem', options: { slotLayout } }, pageAllocator: noPcp } });
    const owned = fillSection(sim, SECTION);
    const where = new Map<string, number>([...owned].map(([p, d]) => [d, p]));
    sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, migrate: (oldPfn, newPfn) => {
      const d = owned.get(oldPfn)!;
      owned.delete(oldPfn);
      owned.set(newPfn, d);
      where.set(d, newPfn);
    } });
    const normal = sim.topology.nodes[0]!.zones.find((z) => z.type === ZoneType.NORMAL)!;
    const [present, managed, free] = [normal.presentPages, normal.managedPages, normal.stats.nrFreePages];
    sim.memory.offlineSection(SECTION);
    const s = section(sim, SECTION);
    expect(s.state).toBe('offline');
    expect(owned.size).toBe(32768);
    // every datum is still there, once, at a pfn outside the section that is an ANON page
    const lost = [...owned].filter(([pfn, data]) => (pfn >= s.startPfn && pfn < s.startPfn + s.nrPages) || where.get(data) !== pfn
      || sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] !== PageOwner.ANON || !data.startsWith('data of page '));
    expect(lost).toEqual([]);
    expect(new Set(owned.values()).size).toBe(32768);
    expect(normal.presentPages).toBe(present - 32768);
    expect(normal.managedPages).toBe(managed - 32768);
    expect(normal.stats.nrFreePages).toBe(free - 32768); // the migrated pages took free pages elsewhere
    expect(sim.memory.pfnValid(s.startPfn)).toBe(true); // the memmap stays: pfn_valid, not online
    expect(sim.memory.pfnToOnlinePage!(s.startPfn)).toBe(-1);
    sim.check();
    // allocations never land in the offline section
    const got = Array.from({ length: 1000 }, () => sim.pages.allocPages(GFP_KERNEL, 0)!);
    expect(got.filter((p) => p >= s.startPfn && p < s.startPfn + s.nrPages)).toEqual([]);
    sim.memory.onlineSection(SECTION, ZoneType.NORMAL);
    expect(section(sim, SECTION).state).toBe('online');
    expect(normal.presentPages).toBe(present);
    expect(normal.managedPages).toBe(managed);
    sim.check();
    sim.dispose();
  });

  it('offlines the first section of Normal while both CPUs\' per-CPU lists hold its pages: the zone shrinks and its watermarks follow', async () => {
    const sim = await createSimulator({ machine, plugins: { memoryModel: 'sparsemem' } });
    const normal = sim.topology.nodes[0]!.zones.find((z) => z.type === ZoneType.NORMAL)!;
    const s = section(sim, 32);
    const inSection = (p: number) => p >= s.startPfn && p < s.startPfn + s.nrPages;
    expect(normal.zoneStartPfn).toBe(s.startPfn);
    const owned = new Map<number, string>();
    sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, migrate: (oldPfn, newPfn) => {
      owned.set(newPfn, owned.get(oldPfn)!);
      owned.delete(oldPfn);
    } });
    const pages: number[] = [];
    for (let i = 0; i < 300; i++) pages.push(sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cpu: i & 1 })!);
    for (const [i, p] of pages.entries()) {
      if (i % 3) {
        sim.memory.pages.ownerKind[sim.memory.pfnToPage(p)] = PageOwner.ANON;
        owned.set(p, `data ${i}`);
      } else sim.pages.freePages(p, 0, { cpu: (i + 1) & 1 });
    }
    expect(pages.every(inSection)).toBe(true);
    const pcp = sim.pages.zoneInfo!(normal).pagesets;
    expect(pcp.every((p) => p.count > 0)).toBe(true);
    const [present, managed, min] = [normal.presentPages, normal.managedPages, normal.watermark[0]!];
    sim.memory.offlineSection(32);
    expect([normal.zoneStartPfn, normal.spannedPages, normal.presentPages, normal.managedPages]).toEqual([33 * 32768, 7 * 32768, present - 32768, managed - 32768]);
    expect(sim.proc('zoneinfo')).toContain(`start_pfn:           ${33 * 32768}\n`);
    expect([...owned.keys()].filter(inSection)).toEqual([]);
    expect(new Set(owned.values()).size).toBe(200);
    // the per-CPU lists were drained and are back to their sizes (zone_pcp_enable)
    expect(sim.pages.zoneInfo!(normal).pagesets.map((p) => [p.count, p.batch])).toEqual(pcp.map((p) => [0, p.batch]));
    const offlineMin = normal.watermark[0]!;
    expect(offlineMin).toBeLessThan(min); // init_per_zone_wmark_min(): less memory, lower watermarks
    sim.check();
    for (let i = 0; i < 1000; i++) expect(inSection(sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cpu: i & 1 })!)).toBe(false);
    sim.memory.onlineSection(32, ZoneType.NORMAL);
    expect([normal.zoneStartPfn, normal.presentPages, normal.managedPages]).toEqual([32 * 32768, present, managed]);
    expect(normal.watermark[0]).toBeGreaterThan(offlineMin);
    sim.check();
    sim.dispose();
  });

  it('refuses to offline a section holding a slab page and leaves the machine unchanged', async () => {
    const sim = await createSimulator({ machine, plugins: { memoryModel: 'sparsemem', pageAllocator: noPcp } });
    const s = section(sim, SECTION);
    // only the section has free memory in Normal: the next slab page comes from it
    const normal = sim.topology.nodes[0]!.zones.find((z) => z.type === ZoneType.NORMAL)!;
    const inSection: number[] = [];
    for (;;) {
      const p = sim.pages.allocPages(GFP_KERNEL, 9, { nid: 0 });
      if (p === null || sim.topology.pfnZone(p) !== normal) {
        if (p !== null) sim.pages.freePages(p, 9);
        break;
      }
      if (p >= s.startPfn && p < s.startPfn + s.nrPages) inSection.push(p);
    }
    for (const p of inSection) sim.pages.freePages(p, 9);
    let slabPfn = -1;
    for (let i = 0; i < 100 && slabPfn < 0; i++) {
      const ptr = sim.slab.kmalloc(2048, GFP_KERNEL)!;
      const pfn = Math.floor(ptr / 4096);
      if (pfn >= s.startPfn && pfn < s.startPfn + s.nrPages) slabPfn = pfn;
    }
    expect(slabPfn).toBeGreaterThanOrEqual(0);
    expect(sim.memory.pages.flags[sim.memory.pfnToPage(slabPfn)]! & PG_slab).toBeTruthy();
    const before = snapshot(sim);
    try {
      sim.memory.offlineSection(SECTION);
      expect.unreachable();
    } catch (e) {
      expect(isMmsimError(e, 'EHOTPLUG')).toBe(true);
      expect((e as Error).message).toMatch(/slab page \(unmovable\)/);
    }
    expect(snapshot(sim)).toBe(before);
    sim.check();
    sim.dispose();
  });

  it('hot-adds a section and onlines it to ZONE_MOVABLE; zone order is kept', async () => {
    const sim = await createSimulator({ machine, plugins: { memoryModel: 'sparsemem' } });
    expect(() => sim.memory.addSection!(SECTION, 0)).toThrowError(/EHOTPLUG.*already present/);
    const nr = 48; // 6 GiB, above Normal
    sim.memory.addSection!(nr, 0);
    expect(section(sim, nr)).toMatchObject({ state: 'offline', nid: 0 });
    expect(sim.memory.pfnValid(nr * 32768)).toBe(true);
    expect(sim.memory.pfnToOnlinePage!(nr * 32768)).toBe(-1);
    sim.memory.onlineSection(nr, ZoneType.MOVABLE);
    const movable = sim.topology.nodes[0]!.zones.find((z) => z.type === ZoneType.MOVABLE)!;
    expect([movable.zoneStartPfn, movable.spannedPages, movable.presentPages, movable.managedPages, movable.stats.nrFreePages]).toEqual([nr * 32768, 32768, 32768, 32768, 32768]);
    expect(sim.topology.zonelists[0]!.map((z) => z.name)).toEqual(['Movable', 'Normal', 'DMA32', 'DMA']);
    const p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    expect(sim.topology.pfnZone(p)).toBe(movable);
    expect(sim.topology.pfnZone(sim.pages.allocPages(GFP_KERNEL, 0)!)!.name).toBe('Normal');
    sim.check();
    // a Movable section below Normal would interleave the zones: refused
    const hole = sim.memory.section!(20);
    expect(hole.state).toBe('absent');
    sim.memory.addSection!(20, 0);
    expect(() => sim.memory.onlineSection(20, ZoneType.MOVABLE)).toThrowError(/EHOTPLUG.*overlap/);
    sim.memory.onlineSection(20, ZoneType.NORMAL); // below 4 GiB, no kernel zone spans it: Normal grows down
    sim.check();
    sim.dispose();
  });

  it('refuses bad requests with EHOTPLUG, and FLATMEM/DISCONTIGMEM refuse hotplug', async () => {
    const sim = await createSimulator({ machine, plugins: { memoryModel: 'sparsemem' } });
    expect(() => sim.memory.offlineSection(39)).toThrowError(/EHOTPLUG.*reserved \(MEMMAP\)/);
    expect(() => sim.memory.offlineSection(0)).toThrowError(/EHOTPLUG.*span zones DMA and DMA32/);
    expect(() => sim.memory.offlineSection(20)).toThrowError(/EHOTPLUG.*absent, not online/);
    expect(() => sim.memory.onlineSection(33, ZoneType.NORMAL)).toThrowError(/EHOTPLUG.*online, not offline/);
    expect(() => sim.memory.section!(-1)).toThrowError(/EINVAL/);
    sim.dispose();
    for (const m of ['flatmem', 'discontigmem']) {
      const f = await createSimulator({ machine, plugins: { memoryModel: m } });
      expect(() => f.memory.offlineSection(SECTION)).toThrowError(/EHOTPLUG.*needs SPARSEMEM/);
      expect(f.memory.supportsHotplug).toBe(false);
      f.dispose();
    }
  });
});
