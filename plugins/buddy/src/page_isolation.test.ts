import { createSimulator, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, isMmsimError, MigrateType, PG_buddy, PG_pcp, type Simulator, ZoneType } from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuddyAllocator } from './index.js';

let sim: Simulator;
afterEach(() => sim?.dispose());

async function boot(): Promise<BuddyAllocator> {
  sim = await createSimulator({ machine: { memory: '1G', cpus: 2 } });
  return sim.pages as BuddyAllocator;
}

/** Two MAX_PAGE_ORDER blocks. */
const NR = 2048;
const dma32 = () => sim.topology.zones.find((z) => z.type === ZoneType.DMA32)!;
const slot = (pfn: number) => sim.memory.pfnToPage(pfn);
const isolatedPages = (pa: BuddyAllocator) => {
  let n = 0;
  for (let o = 0; o <= pa.maxOrder; o++) n += pa.freeBlocksByType(dma32(), o, MigrateType.ISOLATE) << o;
  return n;
};
/** Pages of [start, start + NR) free in the buddy lists or on a per-CPU list. */
const freeIn = (start: number) => {
  const t = sim.memory.pages;
  let n = 0;
  for (let pfn = start; pfn < start + NR;) {
    const f = t.flags[slot(pfn)]!;
    const nr = f & (PG_buddy | PG_pcp) ? 1 << t.private[slot(pfn)]! : 1;
    if (f & (PG_buddy | PG_pcp)) n += nr;
    pfn += nr;
  }
  return n;
};
const isFreeHead = (pfn: number, order: number) => (sim.memory.pages.flags[slot(pfn)]! & PG_buddy) !== 0 && sim.memory.pages.private[slot(pfn)] === order;
/** The first NR-aligned range of DMA32 that is two free MAX_PAGE_ORDER blocks. */
const freeRange = () => {
  const z = dma32();
  for (let pfn = Math.ceil(z.zoneStartPfn / NR) * NR; pfn + NR <= z.zoneEndPfn; pfn += NR) if (isFreeHead(pfn, 10) && isFreeHead(pfn + 1024, 10)) return pfn;
  throw new Error('no free range');
};
/** What the free lists and counters look like. */
const state = () => JSON.stringify([sim.proc('buddyinfo'), sim.proc('pagetypeinfo'), dma32().stats.nrFreePages, dma32().watermark]);

describe('page isolation (memory hotplug)', () => {
  it('drains every CPU\'s lists, moves the range to the isolate lists (out of NR_FREE_PAGES), never allocates from it; undo restores it', async () => {
    const pa = await boot();
    const z = dma32();
    // a refill on each CPU: their lists now hold pages of the range
    const held = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cpu: 1 })!;
    const other = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cpu: 0 })!;
    sim.pages.freePages(other, 0, { cpu: 0 });
    const start = Math.floor(held / NR) * NR;
    const inRange = (pfn: number) => pfn >= start && pfn < start + NR;
    expect(pa.pcpOf(z, 0)!.list(1).some(inRange) && pa.pcpOf(z, 1)!.list(1).some(inRange)).toBe(true);
    const free0 = z.stats.nrFreePages;
    const onPcp = pa.pcpPages(z);
    const free = freeIn(start);
    const batch = pa.pcpOf(z, 0)!.batch;

    pa.isolateRange(start, NR);
    expect(pa.pcpPages(z)).toBe(0);
    for (let pfn = start; pfn < start + NR; pfn += 512) expect(pa.pageblockMigratetype(pfn)).toBe(MigrateType.ISOLATE);
    expect(isolatedPages(pa)).toBe(free);
    expect(z.stats.nrFreePages).toBe(free0 + onPcp - free);
    sim.check();
    // zone_pcp_disable(): high 0, batch 1 while the range is isolated
    expect(pa.zoneInfo(z).pagesets.map((p) => [p.high, p.batch])).toEqual([[0, 1], [0, 1]]);
    const got: number[] = [];
    for (let i = 0; i < 3000; i++) got.push(sim.pages.allocPages(GFP_KERNEL, i % 4, { cpu: i & 1 })!);
    expect(got.filter(inRange)).toEqual([]);
    expect(pa.pcpPages(z)).toBe(0);
    got.forEach((p, i) => sim.pages.freePages(p, i % 4, { cpu: i & 1 }));
    expect(pa.pcpPages(z)).toBe(0);
    // a page freed into the range stays isolated, on no per-CPU list
    const before = z.stats.nrFreePages;
    sim.pages.freePages(held, 0, { cpu: 1 });
    expect(isolatedPages(pa)).toBe(free + 1);
    expect(z.stats.nrFreePages).toBe(before);
    expect(() => pa.isolateRange(start, NR)).toThrowError(/EHOTPLUG.*already isolated/);
    expect(() => pa.isolateRange(start + 1, NR)).toThrowError(/EINVAL/);
    sim.check();

    pa.undoIsolateRange(start, NR);
    for (let pfn = start; pfn < start + NR; pfn += 512) expect(pa.pageblockMigratetype(pfn)).toBe(MigrateType.MOVABLE);
    expect(isolatedPages(pa)).toBe(0);
    expect(z.stats.nrFreePages).toBe(before + free + 1);
    // zone_pcp_enable()
    expect(pa.zoneInfo(z).pagesets.every((p) => p.batch === batch && p.high > 0)).toBe(true);
    sim.check();
  });

  it('offlines an isolated range only when it is all free (EHOTPLUG, nothing changed, otherwise); onlining frees it again', async () => {
    const pa = await boot();
    const z = dma32();
    const held = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cpu: 1 })!;
    const busy = Math.floor(held / NR) * NR;
    expect(() => pa.offlineRange(busy, NR)).toThrowError(/EHOTPLUG.*not isolated/);
    pa.isolateRange(busy, NR);
    const before = state();
    try {
      pa.offlineRange(busy, NR);
      expect.unreachable();
    } catch (e) {
      expect(isMmsimError(e, 'EHOTPLUG')).toBe(true);
      expect((e as Error).message).toMatch(/pfn 0x[0-9a-f]+ is still in use/);
    }
    expect(state()).toBe(before);
    pa.undoIsolateRange(busy, NR);

    const start = freeRange();
    pa.isolateRange(start, NR);
    const free = z.stats.nrFreePages;
    expect(pa.offlineRange(start, NR)).toBe(NR);
    expect(z.stats.nrFreePages).toBe(free); // isolated pages were not counted free
    expect(isolatedPages(pa)).toBe(0);
    expect(freeIn(start)).toBe(0);
    expect(pa.zoneInfo(z).pagesets.every((p) => p.batch > 1)).toBe(true); // zone_pcp_enable()
    // only the allocator's lists and counters: the zone still counts the range present and managed until
    // offline_pages() (memory_hotplug.ts offlinePages) shrinks it, so the whole-machine sim.check() would call the pages lost
    pa.check();
    for (let i = 0; i < 2000; i++) {
      const p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
      expect(p >= start && p < start + NR).toBe(false);
    }

    const free1 = z.stats.nrFreePages;
    pa.onlineRange(start, NR);
    expect(z.stats.nrFreePages).toBe(free1 + NR);
    for (let pfn = start; pfn < start + NR; pfn += 512) expect(pa.pageblockMigratetype(pfn)).toBe(MigrateType.MOVABLE);
    expect(isFreeHead(start, 10) && isFreeHead(start + 1024, 10)).toBe(true);
    sim.check();
    // one pageblock: the MAX_PAGE_ORDER block around it is split at its edges, and merges again on undo
    pa.isolateRange(start + 512, 512);
    expect(isolatedPages(pa)).toBe(512);
    expect(isFreeHead(start, 9) && pa.pageblockMigratetype(start) === MigrateType.MOVABLE).toBe(true);
    expect(isFreeHead(start + 512, 9) && sim.memory.pages.owner[slot(start + 512)] === MigrateType.ISOLATE).toBe(true);
    sim.check();
    pa.undoIsolateRange(start + 512, 512);
    expect(isFreeHead(start, 10)).toBe(true);
    sim.check();
  });
});
