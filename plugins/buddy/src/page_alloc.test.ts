import { createSimulator, GFP_DMA, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, MigrateType, type Simulator, type Zone, __GFP_MEMALLOC } from '@mmsim/defconfig';
import { pageAllocatorConformance } from '@mmsim/testkit';
import { afterEach, describe, expect, it } from 'vitest';

pageAllocatorConformance({ name: 'buddy', plugin: 'buddy' });
pageAllocatorConformance({ name: 'buddy (mobility grouping off)', plugin: { use: 'buddy', options: { mobilityGrouping: false } } });
pageAllocatorConformance({ name: 'buddy (per-CPU lists off)', plugin: { use: 'buddy', options: { pcp: false } } });
pageAllocatorConformance({ name: 'buddy (Linux 5.8 formulas)', plugin: 'buddy', config: { kernel: '5.8', machine: { memory: '256M', cpus: 2 } } });

function dmaZone(sim: Simulator): Zone {
  return sim.topology.nodes[0]!.zones.find((z) => z.name === 'DMA')!;
}
function freeCounts(sim: Simulator, z: Zone): number[] {
  return Array.from({ length: 11 }, (_, o) => sim.pages.freeBlocks(z, o));
}

describe('buddy: split and merge', () => {
  let sim: Simulator;
  afterEach(() => sim.dispose());

  it('order 7 from a lone order-9 block leaves one order-8 and one order-7 block, and merges back', async () => {
    // no watermark boost: emptying the zone steals pageblocks, which would boost it
    sim = await createSimulator({ machine: { memory: '256M', cpus: 1 }, sysctl: { 'vm.watermark_boost_factor': 0 } });
    const dma = dmaZone(sim);
    // empty ZONE_DMA page by page (__GFP_MEMALLOC: below the min watermark too)
    const held: number[] = [];
    const gfp = GFP_KERNEL | GFP_DMA | __GFP_MEMALLOC;
    for (let pfn = sim.pages.allocPages(gfp, 0); pfn !== null; pfn = sim.pages.allocPages(gfp, 0)) held.push(pfn);
    sim.pages.drainAllPages();
    expect(freeCounts(sim, dma)).toEqual(new Array(11).fill(0));
    // give back exactly the aligned order-9 block at pfn 2048
    for (const pfn of held) if (pfn >= 2048 && pfn < 2560) sim.pages.freePages(pfn, 0);
    sim.pages.drainAllPages();
    expect(freeCounts(sim, dma)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    const before = sim.proc('buddyinfo');

    const pfn = sim.pages.allocPages(GFP_KERNEL | GFP_DMA, 7)!;
    expect(pfn).toBe(2048);
    expect(freeCounts(sim, dma)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]);
    sim.check();

    sim.pages.freePages(pfn, 7);
    expect(freeCounts(sim, dma)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(sim.proc('buddyinfo')).toBe(before);
    sim.check();
  });

  it('falls back Normal → DMA32 for GFP_KERNEL; lowmem_reserve keeps ZONE_DMA for GFP_DMA', async () => {
    sim = await createSimulator({ machine: { memory: '4G', cpus: 1 } });
    const zoneOf = (pfn: number) => sim.topology.pfnZone(pfn)!.name;
    const seen = new Set<string>();
    const held: number[] = [];
    for (let pfn = sim.pages.allocPages(GFP_KERNEL, 10); pfn !== null; pfn = sim.pages.allocPages(GFP_KERNEL, 10)) {
      const z = zoneOf(pfn);
      if (!seen.has(z)) seen.add(z);
      held.push(pfn);
    }
    // DMA's reserve against Normal ((DMA32 + Normal) / 256 pages) exceeds the whole zone
    expect([...seen]).toEqual(['Normal', 'DMA32']);
    expect(zoneOf(held[0]!)).toBe('Normal');
    expect(zoneOf(held[held.length - 1]!)).toBe('DMA32');
    const dma = sim.pages.allocPages(GFP_KERNEL | GFP_DMA, 10);
    expect(dma).not.toBeNull();
    expect(zoneOf(dma!)).toBe('DMA');
    held.push(dma!);
    for (const pfn of held) sim.pages.freePages(pfn, 10);
    sim.check();
  });

  it('prints /proc/buddyinfo in the kernel format', async () => {
    sim = await createSimulator({ machine: { memory: '4G', cpus: 2 } });
    const lines = sim.proc('buddyinfo').split('\n');
    expect(lines[0]).toMatch(/^Node 0, zone      DMA( +\d+ ){11}$/);
    expect(lines[1]).toMatch(/^Node 0, zone    DMA32( +\d+ ){11}$/);
    expect(lines[2]).toMatch(/^Node 0, zone   Normal( +\d+ ){11}$/);
    expect(lines[3]).toBe('');
    // %6lu per order, trailing space
    expect(lines[2]!.slice('Node 0, zone   Normal '.length)).toMatch(/^(( {0,5}\d{1,6}) ){11}$/);
    // a fresh 1 GiB Normal zone is all order-10 blocks but the reserved memmap tail
    const normal = sim.topology.nodes[0]!.zones[2]!;
    expect(sim.pages.freeBlocks(normal, 10)).toBeGreaterThan(250);
  });

  it('groups by mobility: movable allocations take Movable pageblocks, unmovable fall back and steal', async () => {
    sim = await createSimulator({ machine: { memory: '256M', cpus: 1 } });
    const z = sim.topology.populatedZones.at(-1)!;
    const m0 = sim.pages.freeBlocksByType(z, 10, MigrateType.MOVABLE);
    expect(m0).toBeGreaterThan(0);
    expect(sim.pages.freeBlocksByType(z, 10, MigrateType.UNMOVABLE)).toBe(0);
    const extfrag: number[] = [];
    sim.events.on('mm_page_alloc_extfrag', (e) => extfrag.push(e.fallback_migratetype));
    const a = sim.pages.allocPages(GFP_KERNEL, 0)!;
    expect(extfrag).toEqual([MigrateType.MOVABLE]);
    const b = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    expect(extfrag).toHaveLength(1);
    sim.pages.freePages(a, 0);
    sim.pages.freePages(b, 0);
    sim.check();
  });
});

describe('buddy: gfp → zone and migrate type', () => {
  // GFP_ZONE_TABLE on x86_64 for the 16 zone-modifier combinations (bit 0 DMA, 1 HIGHMEM, 2 DMA32, 3 MOVABLE)
  const table: (string | null)[] = ['Normal', 'DMA', 'Normal', null, 'DMA32', null, null, null, 'Normal', 'DMA', 'Movable', null, 'DMA32', null, null, null];
  it('serves every valid combination from a zone no higher than gfp_zone(), rejects GFP_ZONE_BAD ones unchanged', async () => {
    const sim = await createSimulator({ machine: { memory: '8G', cpus: 1 } });
    const order = sim.topology.zoneTypes as string[];
    for (let bits = 0; bits < 16; bits++) {
      const want = table[bits];
      const gfp = GFP_KERNEL | bits;
      if (want === null) {
        const before = sim.proc('buddyinfo');
        expect(() => sim.pages.allocPages(gfp, 0)).toThrowError(/EGFP_INVALID/);
        expect(sim.proc('buddyinfo')).toBe(before);
        continue;
      }
      const types: number[] = [];
      const off = () => sim.events.off('mm_page_alloc');
      sim.events.on('mm_page_alloc', (e) => types.push(e.migratetype));
      const pfn = sim.pages.allocPages(gfp, 0)!;
      off();
      const z = sim.topology.pfnZone(pfn)!;
      expect(order.indexOf(z.name)).toBeLessThanOrEqual(order.indexOf(want));
      // gfp_migratetype(): the __GFP_MOVABLE bit (3) makes it Movable
      expect(types).toEqual([bits & 8 ? MigrateType.MOVABLE : MigrateType.UNMOVABLE]);
      sim.pages.freePages(pfn, 0);
    }
    // the mobility bits: __GFP_RECLAIMABLE → Reclaimable; both → rejected
    expect(() => sim.pages.allocPages(GFP_KERNEL | 0x18, 0)).toThrowError(/EGFP_INVALID/);
    sim.check();
    sim.dispose();
  });
});
