import {
  createSimulator, GFP_HIGHUSER_MOVABLE, GFP_NOWAIT, PageOwner, type Simulator, type Zone, __GFP_MEMALLOC, __GFP_MOVABLE,
} from '@mmsim/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuddyAllocator } from './index.js';

let sim: Simulator;
afterEach(() => sim?.dispose());

/**
 * Zones with most of their memory free but no free order-9 block: one
 * movable (anon) page left in the middle of every pageblock. The owner
 * follows its pages when they are migrated.
 */
async function fragmented(options: Record<string, unknown> = {}, keep: (pfn: number) => boolean = () => false) {
  sim = await createSimulator({ machine: { memory: '256M', cpus: 1 }, plugins: { pageAllocator: { use: 'buddy', options } } });
  const pa = sim.pages as BuddyAllocator;
  const owned = new Set<number>();
  let moves = 0;
  sim.kernel.registerMover(PageOwner.ANON, (from, to) => {
    owned.delete(from);
    owned.add(to);
    moves++;
  });
  const zone = sim.topology.zones.find((z) => z.name === 'DMA32')!;
  const held: number[] = [];
  for (let p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, 0); p !== null; p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, 0)) held.push(p);
  for (const p of held) {
    if ((p & 511) === 256) {
      sim.memory.pages.ownerKind[sim.memory.pfnToPage(p)] = PageOwner.ANON;
      owned.add(p);
    } else if (!keep(p)) {
      sim.pages.freePages(p, 0);
    }
  }
  sim.pages.drainAllPages();
  return { pa, zone, owned, moves: () => moves };
}

function order9Free(pa: BuddyAllocator, z: Zone): number {
  return pa.freeBlocks(z, 9) + 2 * pa.freeBlocks(z, 10);
}

describe('compaction', () => {
  it('the fragmented zone: plenty free, no order-9 block, extfrag index near 1', async () => {
    const { pa, zone } = await fragmented();
    expect(zone.stats.nrFreePages).toBeGreaterThan(zone.managedPages * 0.9);
    for (const z of sim.topology.populatedZones) expect(order9Free(pa, z)).toBe(0);
    expect(pa.zoneWatermarkOk(zone, 9, zone.watermark[0]!, zone.idx)).toBe(false);
    const line = sim.proc('extfrag/extfrag_index').split('\n').find((l) => l.includes('DMA32'))!;
    const idx9 = Number(line.trim().split(/\s+/)[4 + 9]);
    expect(idx9).toBeGreaterThan(0.85);
    const unusable = sim.proc('extfrag/unusable_index').split('\n').find((l) => l.includes('DMA32'))!;
    expect(Number(unusable.trim().split(/\s+/)[4 + 9])).toBe(1);
  });

  it('compact_memory: the scanners meet in the middle, movable blockers move, order-9 blocks appear', async () => {
    const { pa, zone, owned, moves } = await fragmented();
    const before = owned.size;
    const traces: string[] = [];
    sim.events.on('mm_compaction_end', (e) => traces.push(e.status));
    pa.compactMemory();
    sim.pages.drainAllPages();
    expect(order9Free(pa, zone)).toBeGreaterThan(0);
    expect(owned.size).toBe(before); // every page is still owned, some now elsewhere
    expect(moves()).toBeGreaterThan(0);
    // the blockers moved up: the low pageblocks are free
    expect([...owned].filter((p) => sim.topology.pfnZone(p) === zone).every((p) => p > zone.zoneStartPfn + zone.spannedPages / 4)).toBe(true);
    expect(traces).toContain('complete');
    const ev = pa.vmEvents();
    expect(ev.compact_migrate_scanned).toBeGreaterThan(0);
    expect(ev.compact_free_scanned).toBeGreaterThan(0);
    expect(ev.compact_isolated).toBeGreaterThan(0);
    const vmstat = sim.proc('vmstat');
    expect(vmstat).toMatch(/^pgmigrate_success [1-9]\d*$/m);
    expect(vmstat).toMatch(/^compact_isolated [1-9]\d*$/m);
    sim.check();
  });

  it('the migrate scanner does not take page->private of a slab page for its order (SLUB keeps its slab index there)', async () => {
    // slab pages before the blockers of the first pageblocks: slab index 255
    // (1 << 255 is 1 << 31 < 0 in JS: the scanner went 2^31 pfns back) and 9
    // (a 512-pfn skip past the blocker)
    const slabs = new Map<number, number>();
    const { pa, zone, owned } = await fragmented({}, (p) => {
      const z = sim.topology.zones.find((zz) => zz.name === 'DMA32')!;
      const block = (p - z.zoneStartPfn) >> 9;
      if ((p & 511) !== 100 || block < 2 || block > 5) return false;
      slabs.set(p, block === 2 ? 255 : 9);
      return true;
    });
    const t = sim.memory.pages;
    for (const [p, priv] of slabs) {
      const page = sim.memory.pfnToPage(p);
      t.ownerKind[page] = PageOwner.SLAB;
      t.private[page] = priv;
    }
    const blockers = [...owned].filter((p) => slabs.has(p - 156));
    expect(blockers).toHaveLength(4);
    pa.compactMemory();
    // every blocker behind a slab page was seen and moved
    for (const b of blockers) expect(owned.has(b)).toBe(false);
    const spanned = sim.topology.populatedZones.reduce((n, z) => n + z.spannedPages, 0);
    expect(pa.vmEvents().compact_migrate_scanned).toBeLessThan(4 * spanned);
    expect(order9Free(pa, zone)).toBeGreaterThan(0);
  });

  it('direct compaction from the slow path serves an order-9 allocation', async () => {
    const { pa, zone } = await fragmented({ kswapd: false });
    const p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 9);
    expect(p).not.toBeNull();
    expect(sim.topology.pfnZone(p!)).toBe(zone);
    const ev = pa.vmEvents();
    expect(ev.compact_stall).toBeGreaterThan(0);
    expect(ev.compact_success).toBe(1);
    sim.check();
  });

  it('without compaction (CONFIG_COMPACTION off) the same request fails', async () => {
    await fragmented({ kswapd: false, compaction: false });
    expect(sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 9)).toBeNull();
  });

  it('a non-blocking order-9 request wakes kswapd, which hands over to kcompactd; the retry succeeds', async () => {
    const { pa, zone } = await fragmented();
    const p = sim.pages.allocPages(GFP_NOWAIT | __GFP_MOVABLE, 9);
    expect(p).not.toBeNull();
    expect(sim.topology.pfnZone(p!)).toBe(zone);
    const ev = pa.vmEvents();
    expect(ev.compact_daemon_wake).toBeGreaterThan(0);
    expect(ev.compact_daemon_migrate_scanned).toBeGreaterThan(0);
    expect(ev.compact_stall ?? 0).toBe(0); // no direct compaction for a non-blocking request
    sim.check();
  });
});
