import {
  createSimulator, GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, MigrateType, type Simulator, type SimulatorConfig, type Zone,
  type Vmscan, __GFP_MEMALLOC, __GFP_RECLAIMABLE,
} from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';
import { type BuddyAllocator, FALLBACKS, PAGEBLOCK_ORDER } from './index.js';

let sim: Simulator;
afterEach(() => sim?.dispose());

async function boot(options: Record<string, unknown> = {}, extra: SimulatorConfig = {}): Promise<BuddyAllocator> {
  sim = await createSimulator({ machine: { memory: '64M', cpus: 1 }, plugins: { pageAllocator: { use: 'buddy', options: { pcp: false, ...options } } }, ...extra });
  return sim.pages as BuddyAllocator;
}

/** Every free page of the machine, as movable order-0 pages (so no free list of any type is left). */
function exhaustMovable(): number[] {
  const held: number[] = [];
  for (let p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, 0); p !== null; p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, 0)) held.push(p);
  return held;
}

function zoneOf(pfn: number): Zone {
  return sim.topology.pfnZone(pfn)!;
}

describe('migrate types and fallbacks', () => {
  it('has the kernel fallback table', () => {
    expect(FALLBACKS).toEqual([
      [MigrateType.RECLAIMABLE, MigrateType.MOVABLE],
      [MigrateType.RECLAIMABLE, MigrateType.UNMOVABLE],
      [MigrateType.UNMOVABLE, MigrateType.MOVABLE],
    ]);
    expect(PAGEBLOCK_ORDER).toBe(9);
  });

  it('every pageblock starts Movable; an unmovable request claims the largest free block, whole pageblocks change owner', async () => {
    const pa = await boot();
    for (const z of sim.topology.populatedZones) {
      const counts = pa.pageblockCounts(z);
      expect(counts[MigrateType.MOVABLE]).toBeGreaterThan(0);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(counts[MigrateType.MOVABLE]);
    }
    const ev: { pfn: number; alloc_order: number; fallback_order: number; alloc_migratetype: number; fallback_migratetype: number; change_ownership: boolean }[] = [];
    sim.events.on('mm_page_alloc_extfrag', (e) => ev.push(e));
    const pfn = sim.pages.allocPages(GFP_KERNEL, 0)!;
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ alloc_order: 0, fallback_order: 10, alloc_migratetype: MigrateType.UNMOVABLE, fallback_migratetype: MigrateType.MOVABLE, change_ownership: true });
    // both pageblocks of the order-10 block are Unmovable now
    const base = pfn & ~1023;
    expect(pa.pageblockMigratetype(base)).toBe(MigrateType.UNMOVABLE);
    expect(pa.pageblockMigratetype(base + 512)).toBe(MigrateType.UNMOVABLE);
    // the rest of the split block serves the next unmovable requests without falling back
    const p2 = sim.pages.allocPages(GFP_KERNEL, 3)!;
    expect(ev).toHaveLength(1);
    expect(p2 >> 10).toBe(pfn >> 10);
    // the largest free block wins over the order of the table: a Movable order-10 block, not the Unmovable remainder
    sim.pages.allocPages(GFP_KERNEL | __GFP_RECLAIMABLE, 0);
    expect(ev[1]).toMatchObject({ alloc_migratetype: MigrateType.RECLAIMABLE, fallback_migratetype: MigrateType.MOVABLE, fallback_order: 10 });
    sim.check();
  });

  it("claims a pageblock below pageblock size only when half of it is free or compatible (try_to_steal_block)", async () => {
    const pa = await boot({}, { sysctl: { 'vm.watermark_boost_factor': 0 } });
    const held = exhaustMovable();
    // the allocated pages are LRU pages: movable, so not "alike" for an unmovable request
    for (const p of held) sim.reclaim.pageAdded(p, true);
    const block = held.find((p) => (p & 511) === 0 && zoneOf(p).name === 'DMA32' && held.includes(p + 511))!;
    const free = (n: number) => {
      for (let p = block; p < block + n; p++) {
        sim.reclaim.pageRemoved(p);
        sim.pages.freePages(p, 0);
      }
    };
    free(255);
    const ev: { change_ownership: boolean; fallback_order: number; pfn: number }[] = [];
    sim.events.on('mm_page_alloc_extfrag', (e) => ev.push(e));
    // 255 free + 0 alike < 256: a single block is stolen, the pageblock stays Movable
    const a = sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0)!;
    expect(a >> PAGEBLOCK_ORDER).toBe(block >> PAGEBLOCK_ORDER);
    expect(ev.at(-1)).toMatchObject({ change_ownership: false, fallback_order: 0 });
    expect(pa.pageblockMigratetype(block)).toBe(MigrateType.MOVABLE);
    sim.pages.freePages(a, 0);
    // one more free page: 256 ≥ half a pageblock, the whole block is claimed
    sim.reclaim.pageRemoved(block + 255);
    sim.pages.freePages(block + 255, 0);
    const b = sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0)!;
    expect(b >> PAGEBLOCK_ORDER).toBe(block >> PAGEBLOCK_ORDER);
    expect(ev.at(-1)).toMatchObject({ change_ownership: true, fallback_order: 8 });
    expect(pa.pageblockMigratetype(block)).toBe(MigrateType.UNMOVABLE);
    // the rest of the block's free pages moved to the Unmovable lists
    const z = zoneOf(block);
    expect(pa.freeBlocksByType(z, 7, MigrateType.UNMOVABLE)).toBe(1);
    expect(pa.freeBlocksByType(z, 7, MigrateType.MOVABLE)).toBe(0);
    sim.check();
  });

  it('a movable request counts LRU pages as alike; an unmovable one counts the non-LRU pages of a Movable block', async () => {
    const pa = await boot({}, { sysctl: { 'vm.watermark_boost_factor': 0 } });
    const held = exhaustMovable();
    const block = held.find((p) => (p & 511) === 0 && zoneOf(p).name === 'DMA32' && held.includes(p + 511))!;
    // no page is on the LRU: all 412 allocated pages are "unmovable-like" for an unmovable request
    for (let p = block; p < block + 100; p++) sim.pages.freePages(p, 0);
    sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0);
    expect(pa.pageblockMigratetype(block)).toBe(MigrateType.UNMOVABLE); // 100 free + 412 alike ≥ 256
    sim.check();
  });

  it('a fragmenting fallback boosts the watermark (boost_watermark) and wakes kswapd, which clears it', async () => {
    const pa = await boot({ kswapd: false });
    const held = exhaustMovable();
    for (const p of held) sim.reclaim.pageAdded(p, true);
    const block = held.find((p) => (p & 511) === 0 && zoneOf(p).name === 'DMA32' && held.includes(p + 511))!;
    for (let p = block; p < block + 8; p++) {
      sim.reclaim.pageRemoved(p);
      sim.pages.freePages(p, 0);
    }
    const z = zoneOf(block);
    expect(pa.zoneInfo(z).boost).toBe(0);
    sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0);
    // min(boost + pageblock_nr_pages, max(pageblock_nr_pages, high × 15000 / 10000))
    const maxBoost = Math.max(512, Math.floor((z.watermark[2]! * 15000) / 10000));
    expect(pa.zoneInfo(z).boost).toBe(Math.min(512, maxBoost));
    expect(sim.proc('zoneinfo')).toMatch(new RegExp(`zone    DMA32\\n(?:.*\\n)*?  pages free +\\d+\\n        boost    ${pa.zoneInfo(z).boost}\\n`));
    sim.dispose();
    // kswapd (here made hopeful again: the exhaustion above made it give up) balances the node and resets the boost
    const pb = await boot();
    const held2 = exhaustMovable();
    for (const p of held2) sim.reclaim.pageAdded(p, true);
    const blk = held2.find((p) => (p & 511) === 0 && zoneOf(p).name === 'DMA32' && held2.includes(p + 511))!;
    for (let p = blk; p < blk + 8; p++) {
      sim.reclaim.pageRemoved(p);
      sim.pages.freePages(p, 0);
    }
    sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0);
    const zs = pb.zoneState(zoneOf(blk))!;
    expect(zs.boost).toBeGreaterThan(0);
    const wakes: number[] = [];
    sim.events.on('mm_vmscan_kswapd_wake', (e) => wakes.push(e.nid));
    const vmscan = sim.vmscan as Vmscan;
    vmscan.pgdat[zs.nid]!.kswapdFailures = 0;
    vmscan.wakeupKswapd(zs.zone, 0, 0, zs.idx);
    expect(wakes.length).toBeGreaterThan(0); // once per kswapd round; it keeps going while the node is unbalanced
    expect(zs.boost).toBe(0);
  });

  it('with mobility grouping off every pageblock is Unmovable and nothing falls back', async () => {
    const pa = await boot({ mobilityGrouping: false });
    for (const z of sim.topology.populatedZones) {
      const c = pa.pageblockCounts(z);
      expect(c[MigrateType.UNMOVABLE]).toBe(c.reduce((a, b) => a + b, 0));
      expect(pa.freeBlocksByType(z, 10, MigrateType.MOVABLE)).toBe(0);
    }
    let extfrag = 0;
    sim.events.on('mm_page_alloc_extfrag', () => extfrag++);
    const types: number[] = [];
    sim.events.on('mm_page_alloc', (e) => types.push(e.migratetype));
    const a = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    const b = sim.pages.allocPages(GFP_KERNEL, 0)!;
    expect(extfrag).toBe(0);
    expect(types).toEqual([MigrateType.UNMOVABLE, MigrateType.UNMOVABLE]);
    expect(Math.abs(a - b)).toBe(1); // one list per order: neighbours
    sim.check();
  });
});

describe('MIGRATE_HIGHATOMIC', () => {
  it('a high-order atomic allocation below the low watermark reserves its pageblock; the watermark check discounts it', async () => {
    sim = await createSimulator({ machine: { memory: '512M', cpus: 1 }, plugins: { pageAllocator: { use: 'buddy', options: { pcp: false, kswapd: false } } } });
    const pa = sim.pages as BuddyAllocator;
    // GFP_KERNEL order-0 allocations stop at the min watermark (no reclaim possible here)
    while (sim.pages.allocPages(GFP_KERNEL & ~0x400, 0) !== null) { /* hold */ }
    const z = sim.topology.zones.find((x) => x.name === 'DMA32')!;
    expect(z.stats.nrFreePages).toBeLessThanOrEqual(z.watermark[1]!);
    const p = sim.pages.allocPages(GFP_ATOMIC, 2);
    expect(p).not.toBeNull();
    expect(pa.pageblockMigratetype(p!)).toBe(MigrateType.HIGHATOMIC);
    expect(pa.pageblockCounts(zoneOf(p!))[MigrateType.HIGHATOMIC]).toBe(1);
    const info = sim.proc('pagetypeinfo');
    expect(info).toMatch(/type   HighAtomic/);
    sim.check();
  });
});
