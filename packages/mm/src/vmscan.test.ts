import {
  createSimulator, definePlugin, FolioOutcome, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, LruList, NODE_RECLAIM_FULL, NODE_RECLAIM_NOSCAN, PageOwner,
  PG_active, PG_dirty, PG_lru, PG_reclaim, PG_swapbacked, PG_writeback, scanControl, SHRINKER, type Shrinker, type Simulator, type SimulatorConfig,
} from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';
import { Vmscan } from './vmscan.js';

let sim: Simulator;
afterEach(() => sim?.dispose());

async function boot(cfg: SimulatorConfig = {}): Promise<Vmscan> {
  sim = await createSimulator({ machine: { memory: '128M', cpus: 1 }, ...cfg });
  return sim.vmscan as Vmscan;
}

/** `n` page-cache pages on the LRU. */
function pageCache(n: number): Set<number> {
  const pages = new Set<number>();
  for (let i = 0; i < n; i++) {
    const pfn = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] = PageOwner.PAGE_CACHE;
    sim.reclaim.pageAdded(pfn, false);
    pages.add(pfn);
  }
  return pages;
}

/** An owner of the page cache that gives up every page it is asked for. */
function evictingOwner(pages: Set<number>): { evicted: number[]; off: () => void } {
  const evicted: number[] = [];
  const off = sim.pageOwners.register({
    name: 'test-cache', kind: PageOwner.PAGE_CACHE,
    evict: (pfn) => {
      pages.delete(pfn);
      evicted.push(pfn);
      sim.pages.freePages(pfn, 0);
      return true;
    },
  });
  return { evicted, off };
}

const fileLru = () => {
  const l = sim.reclaim.lruSizes(0);
  return l[LruList.INACTIVE_FILE]! + l[LruList.ACTIVE_FILE]!;
};

describe('the reclaim engine (mm/vmscan.c)', () => {
  it('is RECLAIM of @mmsim/mm', async () => {
    expect(await boot()).toBeInstanceOf(Vmscan);
  });

  it('shrink_node frees the pages the policy picks through the owner that evicts them', async () => {
    const vmscan = await boot();
    const pages = pageCache(200);
    const owner = evictingOwner(pages);
    const free0 = sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages + sim.pages.pcpPages(z), 0);
    const sc = scanControl({ nrToReclaim: 32, nid: 0 });
    const freed = vmscan.shrinkNode(sc);
    expect(freed).toBe(32);
    expect(sc.nrReclaimed).toBe(32);
    expect(owner.evicted.length).toBe(32);
    expect(fileLru()).toBe(168);
    const free1 = sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages + sim.pages.pcpPages(z), 0);
    expect(free1 - free0).toBe(32);
    for (const p of owner.evicted) expect(sim.memory.pages.refcount[sim.memory.pfnToPage(p)]).toBe(0);
    owner.off();
    sim.check();
  });

  it('leaves the LRU alone when no owner can give a page up, and puts back what an owner keeps, counting none as stolen', async () => {
    const vmscan = await boot();
    pageCache(100);
    expect(vmscan.shrinkNode(scanControl({ nrToReclaim: 32, nid: 0 }))).toBe(0);
    expect(fileLru()).toBe(100);
    const asked: number[] = [];
    const off = sim.pageOwners.register({ name: 'keeper', kind: PageOwner.PAGE_CACHE, evict: (pfn) => (asked.push(pfn), false) });
    expect(vmscan.shrinkNode(scanControl({ nrToReclaim: 8, nid: 0, priority: 0 }))).toBe(0);
    expect(asked.length).toBeGreaterThan(0);
    expect(fileLru()).toBe(100); // put back
    // pgsteal counts the pages freed, not those offered to the owner
    expect(sim.vmstat.events.pgsteal_direct ?? 0).toBe(0);
    expect(sim.vmstat.events.pgsteal_file ?? 0).toBe(0);
    off();
    sim.check();
  });

  it('shrink_folio_list: writeback and dirty file pages are activated with PG_reclaim, the clean freed and counted as stolen', async () => {
    const vmscan = await boot();
    const pages = [...pageCache(6)];
    const owner = evictingOwner(new Set(pages));
    const t = sim.memory.pages;
    const slot = (pfn: number) => sim.memory.pfnToPage(pfn);
    for (const p of pages) t.flags[slot(p)]! &= ~PG_lru; // isolated, as the policy hands them over
    t.flags[slot(pages[1]!)]! |= PG_writeback;
    t.flags[slot(pages[2]!)]! |= PG_dirty;
    const sc = scanControl({ nrToReclaim: 32, kswapd: true });
    const res = vmscan.shrinkFolioList(pages, sc);
    expect(res.outcome).toEqual([FolioOutcome.FREED, FolioOutcome.ACTIVATE, FolioOutcome.ACTIVATE, FolioOutcome.FREED, FolioOutcome.FREED, FolioOutcome.FREED]);
    expect(res.nrReclaimed).toBe(4);
    expect(sc.nrReclaimed).toBe(4);
    expect(res.stat).toEqual({ nrPageout: 0, nrActivate: [0, 2] });
    expect(owner.evicted).toEqual([pages[0], pages[3], pages[4], pages[5]]);
    for (const i of [1, 2]) expect(t.flags[slot(pages[i]!)]! & (PG_reclaim | PG_active), 'PG_reclaim; activating is the policy\'s').toBe(PG_reclaim);
    expect(sim.vmstat.events).toMatchObject({ pgsteal_kswapd: 4, pgsteal_file: 4 });
    owner.off();
  });

  it('shrink_folio_list: an anon page needs a swap slot and writeback; a mapped page stays when the pass may not unmap', async () => {
    const vmscan = await boot();
    const anon: number[] = [];
    for (let i = 0; i < 6; i++) {
      const pfn = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
      sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] = PageOwner.ANON;
      sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]! |= PG_swapbacked;
      anon.push(pfn);
    }
    const evicted: number[] = [];
    const entries: number[] = [];
    // the owner's try_to_unmap: the page's one PTE takes the swap entry the engine wrote it to
    const off = sim.pageOwners.register({ name: 'test-anon', kind: PageOwner.ANON, evict: (pfn, entry) => (evicted.push(pfn), entries.push(entry!), sim.swap.swapDuplicate(entry!), true) });
    // no swap: add_to_swap() fails, the page is activated
    let res = vmscan.shrinkFolioList(anon.slice(0, 2), scanControl({ nrToReclaim: 32 }));
    expect(res.outcome).toEqual([FolioOutcome.ACTIVATE, FolioOutcome.ACTIVATE]);
    expect(res.stat.nrActivate).toEqual([2, 0]);
    // 3 slots (a header page and three): the pass swaps out 3, the 4th finds none
    sim.swap.swapon({ size: 4 * 4096 });
    const sc = scanControl({ nrToReclaim: 32 });
    res = vmscan.shrinkFolioList(anon.slice(0, 2), sc);
    expect(res.outcome).toEqual([FolioOutcome.FREED, FolioOutcome.FREED]);
    res = vmscan.shrinkFolioList(anon.slice(2, 4), sc);
    expect(res.outcome).toEqual([FolioOutcome.FREED, FolioOutcome.ACTIVATE]);
    expect(res.stat).toEqual({ nrPageout: 1, nrActivate: [1, 0] });
    expect(sim.swap.free).toBe(0);
    expect(entries.map((e) => sim.swap.swapCount(e))).toEqual([1, 1, 1]);
    expect(sim.vmstat.events).toMatchObject({ pgsteal_direct: 3, pgsteal_anon: 3, pswpout: 3 });
    // no writeback (node reclaim without RECLAIM_WRITE): kept, no slot taken
    res = vmscan.shrinkFolioList([anon[4]!], scanControl({ nrToReclaim: 32, mayWriteback: false }));
    expect(res.outcome).toEqual([FolioOutcome.KEEP]);
    // mapped, and the pass may not unmap: kept
    sim.memory.pages.mapcount[sim.memory.pfnToPage(anon[5]!)] = 1;
    res = vmscan.shrinkFolioList([anon[5]!], scanControl({ nrToReclaim: 32, mayUnmap: false }));
    expect(res.outcome).toEqual([FolioOutcome.KEEP]);
    expect(evicted).toEqual(anon.slice(0, 3));
    off();
  });

  it('takes no more anon pages in a pass than there are free swap slots (with the LRU policy)', async () => {
    const vmscan = await boot();
    const anon: number[] = [];
    for (let i = 0; i < 10; i++) {
      const pfn = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
      sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] = PageOwner.ANON;
      sim.reclaim.pageAdded(pfn, true);
      anon.push(pfn);
    }
    const evicted: number[] = [];
    const off = sim.pageOwners.register({ name: 'test-anon', kind: PageOwner.ANON, evict: (pfn, entry) => (evicted.push(pfn), sim.swap.swapDuplicate(entry!), sim.pages.freePages(pfn, 0), true) });
    sim.swap.swapon({ size: 4 * 4096 }); // 3 slots
    const before = { ...sim.vmstat.events };
    expect(sim.reclaim.shrink(scanControl({ nrToReclaim: 32, priority: 0 }), vmscan)).toBe(3);
    expect(evicted).toEqual(anon.slice(0, 3));
    // the others could not get a slot: activated (add_to_swap failed), then the
    // anon aging at the end of shrink_lruvec deactivated them again (inactive was low)
    expect(sim.reclaim.lruSizes(0)).toEqual([7, 0, 0, 0, 0]);
    expect((sim.vmstat.events.pgactivate ?? 0) - (before.pgactivate ?? 0)).toBe(7);
    expect((sim.vmstat.events.pgdeactivate ?? 0) - (before.pgdeactivate ?? 0)).toBe(7);
    off();
    sim.check();
  });

  it('shrink_slab scans every shrinker with (freeable >> priority) * 2 objects, counting slabs_scanned', async () => {
    const scans: [number, number][] = [];
    const shrinker: Shrinker = {
      name: 'test-shrinker',
      countObjects: () => 4096,
      scanObjects: (nid, n) => (scans.push([nid, n]), 0),
    };
    const plugin = definePlugin({ name: 'test-shrinker', provides: SHRINKER, apiVersion: '1', register: (c) => c.register(SHRINKER, { useValue: shrinker }) });
    const vmscan = await boot({ extraPlugins: [plugin] });
    const before = sim.vmstat.events.slabs_scanned ?? 0;
    vmscan.shrinkNode(scanControl({ nrToReclaim: 1, nid: 0, priority: 12 }), 10);
    expect(scans).toEqual([[0, 2], [0, 4], [0, 8]]);
    expect(sim.vmstat.events.slabs_scanned).toBe(before + 14);
    expect(sim.proc('vmstat')).toMatch(new RegExp(`^slabs_scanned ${before + 14}$`, 'm'));
  });

  it('try_to_free_pages counts allocstall for the highest zone, runs PF_MEMALLOC and traces begin/end', async () => {
    const vmscan = await boot();
    const pages = pageCache(100);
    const owner = evictingOwner(pages);
    const ends: number[] = [];
    sim.events.on('mm_vmscan_direct_reclaim_begin', () => expect(sim.tasks.memalloc).toBe(0));
    sim.events.on('mm_vmscan_direct_reclaim_end', (e) => ends.push(e.nr_reclaimed));
    const normal = sim.topology.zoneTypes.indexOf('Normal' as never);
    const hz = normal >= 0 ? normal : sim.topology.zoneTypes.indexOf('DMA32' as never);
    const name = `allocstall_${sim.topology.zoneTypes[hz]!.toLowerCase()}`;
    const freed = vmscan.tryToFreePages({ gfp: GFP_KERNEL, order: 0, highestZoneidx: hz, nodes: [0] });
    expect(freed).toBe(32); // SWAP_CLUSTER_MAX
    expect(ends).toEqual([32]);
    expect(sim.vmstat.events[name]).toBe(1);
    expect(sim.proc('vmstat')).toMatch(new RegExp(`^${name} 1$`, 'm'));
    expect(sim.tasks.memalloc).toBe(0);
    owner.off();
  });

  it('wakeup_kswapd records the request; kswapd runs only when asked to (the allocator\'s kswapd option)', async () => {
    const vmscan = await boot();
    const zone = sim.topology.populatedZones.at(-1)!;
    const wakes: number[] = [];
    sim.events.on('mm_vmscan_kswapd_wake', (e) => wakes.push(e.order));
    vmscan.wakeupKswapd(zone, GFP_KERNEL, 3, zone.idx, false);
    expect(vmscan.pgdat[zone.nid]).toMatchObject({ kswapdOrder: 3, kswapdHighestZoneidx: zone.idx, kswapdRunning: false });
    expect(wakes).toEqual([]);
    // a balanced node: kswapd stays asleep
    vmscan.wakeupKswapd(zone, GFP_KERNEL, 0, zone.idx);
    expect(wakes).toEqual([]);
    expect(vmscan.kswapdFailures(zone.nid)).toBe(0);
  });

  it('node_reclaim: FULL with nothing reclaimable, NOSCAN from inside reclaim (PF_MEMALLOC)', async () => {
    const vmscan = await boot({ sysctl: { 'vm.zone_reclaim_mode': 1 } });
    const hz = sim.topology.zoneTypes.length - 1;
    expect(vmscan.nodeReclaim(0, GFP_KERNEL, 0, hz, 0)).toBe(NODE_RECLAIM_FULL);
    pageCache(5000);
    sim.tasks.memalloc++;
    try {
      expect(vmscan.nodeReclaim(0, GFP_KERNEL, 0, hz, 0)).toBe(NODE_RECLAIM_NOSCAN);
    } finally {
      sim.tasks.memalloc--;
    }
  });
});
