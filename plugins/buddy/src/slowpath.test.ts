import {
  __free_pages, __get_dma_pages, __get_free_pages, alloc_page, alloc_pages, alloc_pages_node, createSimulator, free_pages,
  get_zeroed_page, GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOWAIT, isMmsimError, PageOwner, type Simulator,
  __GFP_HIGHMEM, __GFP_MEMALLOC, __GFP_NOFAIL, __GFP_NORETRY, __GFP_RETRY_MAYFAIL,
} from '@mmsim/defconfig';
import { spawnTask } from '@mmsim/testkit';
import { afterEach, describe, expect, it } from 'vitest';

let sim: Simulator;
afterEach(() => sim?.dispose());

async function boot(options: Record<string, unknown> = {}): Promise<Simulator> {
  sim = await createSimulator({ machine: { memory: '128M', cpus: 1 }, plugins: { pageAllocator: { use: 'buddy', options } } });
  return sim;
}

/** A page cache whose pages reclaim may take (the evictor frees them). */
function pageCache() {
  const pages = new Set<number>();
  let evicted = 0;
  sim.pageOwners.register({ name: 'test', kind: PageOwner.PAGE_CACHE, evict: (pfn) => {
    pages.delete(pfn);
    evicted++;
    sim.pages.freePages(pfn, 0);
    return true;
  } });
  return {
    pages,
    get evicted() {
      return evicted;
    },
    add(): boolean {
      const p = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0);
      if (p === null) return false;
      sim.memory.pages.ownerKind[sim.memory.pfnToPage(p)] = PageOwner.PAGE_CACHE;
      sim.reclaim.pageAdded(p, false);
      pages.add(p);
      return true;
    },
  };
}

const free = () => sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages, 0);

describe('the allocation slow path', () => {
  it('below the low watermark an allocation wakes kswapd, which reclaims page cache back above the high watermark', async () => {
    await boot();
    const cache = pageCache();
    const wakes: { nid: number; zid: number; order: number }[] = [];
    sim.events.on('mm_vmscan_kswapd_wake', (e) => wakes.push(e));
    const dma32 = sim.topology.zones.find((z) => z.name === 'DMA32')!;
    while (wakes.length === 0) expect(cache.add()).toBe(true);
    expect(cache.evicted).toBeGreaterThan(0);
    expect(dma32.stats.nrFreePages).toBeGreaterThan(dma32.watermark[2]!);
    expect(sim.vmstat.events.pageoutrun).toBeGreaterThan(0);
    expect(sim.vmstat.events.pgsteal_kswapd).toBe(cache.evicted);
    // the cache keeps being recycled: a workload of more than the memory never fails
    for (let i = 0; i < sim.topology.totalManagedPages / 4; i++) expect(cache.add()).toBe(true);
    sim.check();
  });

  it('without kswapd the allocating task reclaims directly (allocstall, direct reclaim events)', async () => {
    await boot({ kswapd: false });
    const cache = pageCache();
    const direct: number[] = [];
    sim.events.on('mm_vmscan_direct_reclaim_end', (e) => direct.push(e.nr_reclaimed));
    for (let i = 0; i < sim.topology.totalManagedPages * 1.2; i++) expect(cache.add()).toBe(true);
    expect(direct.length).toBeGreaterThan(0);
    expect(direct.every((n) => n >= 32)).toBe(true); // SWAP_CLUSTER_MAX per stall
    // counted against sc->reclaim_idx = gfp_zone(GFP_HIGHUSER_MOVABLE) = ZONE_MOVABLE
    expect(sim.vmstat.events.allocstall_movable).toBe(direct.length);
    sim.check();
  });

  it('GFP_NOWAIT stops at the min watermark, GFP_ATOMIC digs 5/8 of it deeper (ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK)', async () => {
    // without per-CPU lists every allocation is checked against the watermark (a pcp refill may overshoot it)
    await boot({ kswapd: false, pcp: false });
    while (sim.pages.allocPages(GFP_NOWAIT, 0) !== null) { /* hold */ }
    const dma32 = sim.topology.zones.find((z) => z.name === 'DMA32')!;
    const min = dma32.watermark[0]!;
    expect(dma32.stats.nrFreePages).toBe(min);
    let atomic = 0;
    while (sim.pages.allocPages(GFP_ATOMIC, 0) !== null) atomic++;
    // min - min/2 - (min/2)/4: what GFP_ATOMIC may not touch
    const floor = min - Math.floor(min / 2) - Math.floor((min - Math.floor(min / 2)) / 4);
    expect(dma32.stats.nrFreePages).toBe(floor);
    expect(atomic).toBeGreaterThanOrEqual(min - floor);
    // __GFP_MEMALLOC ignores watermarks altogether
    while (sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0) !== null) { /* hold */ }
    expect(dma32.stats.nrFreePages).toBe(0);
  });

  it('with nothing to reclaim the OOM killer picks a victim; its owner frees its memory and the allocation succeeds', async () => {
    await boot();
    // memory full: a task's anonymous pages (no swap: nothing to reclaim), then kernel pages
    sim.processes.spawn({ comm: 'init' }); // pid 1 is never the OOM killer's victim
    const hog = spawnTask(sim, { comm: 'hog', anonPages: Math.floor(sim.topology.totalManagedPages / 2) });
    spawnTask(sim, { comm: 'small', anonPages: 10 });
    const held: number[] = [];
    for (let p = sim.pages.allocPages(GFP_KERNEL | __GFP_NORETRY, 0); p !== null; p = sim.pages.allocPages(GFP_KERNEL | __GFP_NORETRY, 0)) held.push(p);
    expect(sim.vmstat.events.oom_kill).toBe(0); // __GFP_NORETRY: the allocation just failed
    const victims: string[] = [];
    sim.events.on('mark_victim', (e) => {
      victims.push(e.comm);
      // what the OOM reaper does for a victim: its memory goes back
      if (e.pid === hog.pid) sim.processes.exit(hog.pid);
    });
    const p = sim.pages.allocPages(GFP_KERNEL, 0);
    expect(p).not.toBeNull();
    expect(victims).toEqual(['hog']);
    expect(sim.vmstat.events.oom_kill).toBe(1);
    sim.check();
  });

  it('__GFP_NORETRY and __GFP_RETRY_MAYFAIL fail instead of killing; costly orders do not retry without RETRY_MAYFAIL', async () => {
    await boot();
    sim.processes.spawn({ comm: 'init' }); // pid 1 is never the OOM killer's victim
    spawnTask(sim, { comm: 'bystander', anonPages: 1000 });
    while (sim.pages.allocPages(GFP_KERNEL | __GFP_NORETRY, 0) !== null) { /* fill */ }
    let kills = 0;
    sim.events.on('mark_victim', () => kills++);
    expect(sim.pages.allocPages(GFP_KERNEL | __GFP_NORETRY, 0)).toBeNull();
    expect(sim.pages.allocPages(GFP_KERNEL | __GFP_RETRY_MAYFAIL, 0)).toBeNull();
    expect(sim.pages.allocPages(GFP_KERNEL, 5)).toBeNull(); // costly: no OOM for order > 3
    expect(kills).toBe(0);
    // a plain GFP_KERNEL order-0 request does go to the OOM killer
    expect(sim.pages.allocPages(GFP_KERNEL, 0)).toBeNull();
    expect(kills).toBe(1);
  });

  it('__GFP_NOFAIL gets the reserves below the min watermark, and ENOFAIL when even they are gone', async () => {
    await boot();
    while (sim.pages.allocPages(GFP_KERNEL, 0) !== null) { /* fill to min */ }
    expect(sim.pages.allocPages(GFP_KERNEL | __GFP_NOFAIL, 0)).not.toBeNull();
    while (sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0) !== null) { /* everything */ }
    expect(free()).toBe(0);
    let err: unknown;
    try {
      sim.pages.allocPages(GFP_KERNEL | __GFP_NOFAIL, 0);
    } catch (e) {
      err = e;
    }
    expect(isMmsimError(err, 'ENOFAIL')).toBe(true);
  });
});

describe('the kernel API names', () => {
  it('alloc_pages, alloc_page, alloc_pages_node, __get_free_pages, get_zeroed_page, __get_dma_pages, free_pages, __free_pages', async () => {
    await boot();
    const pa = sim.pages;
    const a = alloc_pages(pa, GFP_KERNEL, 2)!;
    expect(a % 4).toBe(0);
    const b = alloc_page(pa, GFP_KERNEL)!;
    const c = alloc_pages_node(pa, 0, GFP_KERNEL, 1)!;
    const addr = __get_free_pages(pa, GFP_KERNEL | __GFP_HIGHMEM, 3);
    expect(addr % (4096 * 8)).toBe(0);
    const z = get_zeroed_page(pa, GFP_KERNEL);
    const d = __get_dma_pages(pa, GFP_KERNEL, 0);
    expect(d / 4096).toBeLessThan(4096); // ZONE_DMA
    __free_pages(pa, a, 2);
    __free_pages(pa, b, 0);
    __free_pages(pa, c, 1);
    free_pages(pa, addr, 3);
    free_pages(pa, z, 0);
    free_pages(pa, d, 0);
    free_pages(pa, 0, 5); // address 0 is ignored
    sim.pages.drainAllPages();
    sim.check();
  });
});
