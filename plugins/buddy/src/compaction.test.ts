import {
  createSimulator, GFP_HIGHUSER_MOVABLE, GFP_NOWAIT, PageOwner, type Simulator, type Zone, __GFP_MEMALLOC, __GFP_MOVABLE,
} from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuddyAllocator } from './index.js';
import { fragmentationScoreNode, fragmentationScoreWmark, fragmentationScoreZone } from './compaction.js';

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
  sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, migrate: (from, to) => {
    owned.delete(from);
    owned.add(to);
    moves++;
  } });
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

describe('proactive compaction (kcompactd every 500 ms of simulated time)', () => {
  const node0Score = (pa: BuddyAllocator) => fragmentationScoreNode(pa, 0);

  it('compacts a node whose fragmentation score is above the high mark, down to the low mark, at the 500 ms check', async () => {
    const { pa, zone, owned, moves } = await fragmented();
    const zs = pa.zoneState(zone)!;
    // proactiveness 20: low mark 80, high mark 90
    expect(fragmentationScoreWmark(true, 20)).toBe(80);
    expect(fragmentationScoreWmark(false, 20)).toBe(90);
    expect(node0Score(pa)).toBeGreaterThan(90);
    expect(fragmentationScoreZone(zs)).toBe(100); // no free block of order 9 at all
    const wake0 = pa.vmEvents().compact_daemon_wake ?? 0;
    expect(sim.tick(499)).toBe(0);
    expect(moves()).toBe(0);
    expect(sim.clock.now()).toBe(499e6);
    expect(sim.tick(1)).toBeGreaterThan(0);
    expect(moves()).toBeGreaterThan(0);
    expect(owned.size).toBeGreaterThan(0);
    expect(fragmentationScoreZone(zs)).toBeLessThanOrEqual(80);
    expect(node0Score(pa)).toBeLessThanOrEqual(90);
    const ev = pa.vmEvents();
    expect(ev.compact_daemon_migrate_scanned).toBeGreaterThan(0);
    expect(ev.compact_daemon_free_scanned).toBeGreaterThan(0);
    expect(ev.compact_daemon_wake ?? 0).toBe(wake0); // the proactive pass is not a kcompactd_do_work() wakeup
    // the next check is 500 ms later: the score is below the high mark, so it does nothing
    const m = moves();
    sim.tick(500);
    expect(moves()).toBe(m);
    sim.check();
  });

  it('stops once the zone score is at the low mark (__compact_finished), not at the end of the zone', async () => {
    // without pcp lists every migrated-from page merges at once, so the score falls as the scanners go
    // (with them, freed pages wait on the lists and an order -1 run never drains them: it goes on to the end)
    const { pa, zone, owned } = await fragmented({ pcp: false });
    const zs = pa.zoneState(zone)!;
    const traces: string[] = [];
    sim.events.on('mm_compaction_end', (e) => traces.push(e.status));
    sim.tick(500);
    const score = fragmentationScoreZone(zs);
    expect(score).toBeLessThanOrEqual(80);
    expect(score).toBeGreaterThan(60);
    expect(traces).toContain('success');
    // blockers are left in the upper part of the zone: the scanners did not meet
    expect([...owned].filter((p) => sim.topology.pfnZone(p) === zone).length).toBeGreaterThan(10);
    // a higher proactiveness asks for a lower score: 50 → low mark 50
    sim.sysctl.set('vm.compaction_proactiveness', 50);
    expect(fragmentationScoreZone(zs)).toBeLessThanOrEqual(50);
    sim.check();
  });

  it('does nothing with vm.compaction_proactiveness 0; writing a non-zero value runs a pass at once', async () => {
    const { pa, moves } = await fragmented();
    sim.sysctl.set('vm.compaction_proactiveness', 0);
    expect(moves()).toBe(0);
    sim.tick(10_000);
    expect(moves()).toBe(0);
    expect(node0Score(pa)).toBeGreaterThan(90);
    sim.sysctl.set('vm.compaction_proactiveness', 20); // compaction_proactiveness_sysctl_handler
    expect(moves()).toBeGreaterThan(0);
    expect(node0Score(pa)).toBeLessThanOrEqual(90);
  });

  it('a pass that cannot lower the score defers the next check by 2^COMPACT_MAX_DEFER_SHIFT periods', async () => {
    // an unmovable kernel page in every pageblock too: nothing compaction does frees a pageblock
    const { pa, moves } = await fragmented({}, (p) => (p & 511) === 128);
    const before = node0Score(pa);
    sim.tick(500);
    expect(node0Score(pa)).toBe(before);
    expect(moves()).toBeGreaterThan(0); // it tried
    const due = () => sim.timers.pending().find((w) => w.name === 'kcompactd0')!.due;
    expect(due()).toBe(500e6 + 64 * 500e6);
    // a write of the sysctl wakes kcompactd: its pass (no progress again) sleeps the deferral from now
    sim.tick(1000);
    sim.sysctl.set('vm.compaction_proactiveness', 30);
    expect(due()).toBe(1500e6 + 64 * 500e6);
  });

  it('kcompactd off (or compaction off): no proactive work is queued', async () => {
    await fragmented({ kcompactd: false });
    expect(sim.timers.pending().map((w) => w.name)).not.toContain('kcompactd0');
  });
});
