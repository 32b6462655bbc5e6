import { existsSync } from 'node:fs';
import {
  DEF_PRIORITY, FolioOutcome, type FolioReclaimer, GFP_DMA, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, __GFP_MEMALLOC, isMmsimError, LruList,
  MEMORY_MODEL, PageOwner, PG_active, PG_lru, PG_mlocked, PG_referenced, PG_swapbacked, PG_unevictable, PG_workingset,
  RECLAIM_POLICY, scanControl, type ScanControl, type SimulatorConfig, type Simulator,
} from '@mmsim/core';
import { createSimulator, runDefaultWorkload, type Vmscan } from '@mmsim/defconfig';
import { stubSlabPlugin } from '@mmsim/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import lruPlugin, { LruReclaim, ScanBalance } from './index.js';

/** A do-nothing slab allocator, so these tests do not depend on the slub plugin. */
const stubSlab = stubSlabPlugin;

const MACHINE = { memory: '1G', cpus: 2 };
const I_ANON = LruList.INACTIVE_ANON;
const A_ANON = LruList.ACTIVE_ANON;
const I_FILE = LruList.INACTIVE_FILE;
const UNEVICTABLE = LruList.UNEVICTABLE;

let sim: Simulator;
/** The default slab plugin is written separately; the default-composition test waits for it. */
const HAVE_SLUB = existsSync(new URL('../../slub/src/index.ts', import.meta.url));
afterEach(() => sim?.dispose());

async function boot(cfg: Omit<SimulatorConfig, 'plugins'> = {}): Promise<Simulator> {
  sim = await createSimulator({ machine: MACHINE, ...cfg, plugins: { slab: stubSlab, reclaim: 'lru', oom: 'oom-linux' } });
  return sim;
}

/** A fresh LruReclaim over the simulator's page table (the class, not the registered instance). */
function lruOf(s: Simulator): LruReclaim {
  return new LruReclaim(s.memory, s.topology, s.sysctl, s.events, s.vmstat, s.swap);
}

function flags(pfn: number): number {
  return sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]!;
}

/** `n` pages for the LRU, owned by the page cache (whose owner reclaim asks to evict them). */
function alloc(n: number, gfp = GFP_HIGHUSER_MOVABLE, nid?: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const pfn = sim.pages.allocPages(gfp, 0, nid === undefined ? undefined : { nid });
    if (pfn === null) throw new Error('out of memory');
    sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] = PageOwner.PAGE_CACHE;
    out.push(pfn);
  }
  return out;
}

/**
 * lru.shrink() with the simulator's reclaim engine (its shrink_folio_list()
 * decides each page the policy isolates); the owner gives up every page it
 * is asked for to the test, which frees or reuses it. Returns those pages,
 * in order.
 */
function shrinkWith(lru: LruReclaim, c: ScanControl): number[] {
  const taken: number[] = [];
  const off = [PageOwner.ANON, PageOwner.PAGE_CACHE].map((kind) => sim.pageOwners.register({ name: 'test', kind, evict: (pfn) => (taken.push(pfn), true) }));
  try {
    expect(lru.shrink(c, sim.vmscan as Vmscan)).toBe(taken.length);
  } finally {
    for (const u of off) u();
  }
  return taken;
}

/** An engine that leaves each page where `decide` says, freeing none; records the batches and charges `nrPageout` per batch. */
function stubEngine(decide: (pfn: number) => FolioOutcome, nrPageout = 0): FolioReclaimer & { batches: number[][] } {
  const batches: number[][] = [];
  return {
    batches,
    shrinkFolioList(folios) {
      batches.push([...folios]);
      const outcome = folios.map(decide);
      const nrActivate: [number, number] = [0, 0];
      folios.forEach((pfn, i) => outcome[i] === FolioOutcome.ACTIVATE && nrActivate[flags(pfn) & PG_swapbacked ? 0 : 1]++);
      return { nrReclaimed: 0, outcome, stat: { nrPageout, nrActivate } };
    },
  };
}

/** Allocates every free page left on the machine (so NR_FREE_PAGES is 0). */
function exhaust(): [number, number][] {
  // __GFP_MEMALLOC: past the watermarks and lowmem reserves, every free page
  const held: [number, number][] = [];
  for (let o = 10; o >= 0; o--) for (let p = sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, o); p !== null; p = sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, o)) held.push([p, o]);
  return held;
}

function sc(partial: Partial<ScanControl> = {}): ScanControl {
  return scanControl({ nrToReclaim: 32, priority: 0, ...partial });
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(isMmsimError(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('lru: folio_add_lru and folio_mark_accessed', () => {
  it('adds anon and file pages to the head of their inactive lists, PG_lru and PG_swapbacked as Linux sets them', async () => {
    await boot();
    const lru = lruOf(sim);
    const [a, f] = alloc(2) as [number, number];
    lru.pageAdded(a, true);
    lru.pageAdded(f, false);
    expect(lru.lruSizes(0)).toEqual([1, 0, 1, 0, 0]);
    expect(flags(a) & (PG_lru | PG_swapbacked | PG_active)).toBe(PG_lru | PG_swapbacked);
    expect(flags(f) & (PG_lru | PG_swapbacked | PG_active)).toBe(PG_lru);
    lru.check();
  });

  it('second access promotes: inactive → referenced → active (unreferenced) → active referenced', async () => {
    await boot();
    const lru = lruOf(sim);
    const activated: number[] = [];
    sim.events.on('mm_lru_activate', (e) => activated.push(e.pfn));
    const [p] = alloc(1) as [number];
    lru.pageAdded(p, false);

    lru.pageAccessed(p);
    expect(flags(p) & (PG_referenced | PG_active)).toBe(PG_referenced);
    expect(lru.lruSizes(0)).toEqual([0, 0, 1, 0, 0]);
    expect(activated).toEqual([]);

    lru.pageAccessed(p);
    expect(flags(p) & (PG_referenced | PG_active)).toBe(PG_active);
    expect(lru.lruSizes(0)).toEqual([0, 0, 0, 1, 0]);
    expect(activated).toEqual([p]);

    lru.pageAccessed(p);
    expect(flags(p) & (PG_referenced | PG_active)).toBe(PG_referenced | PG_active);
    lru.pageAccessed(p);
    expect(flags(p) & (PG_referenced | PG_active)).toBe(PG_referenced | PG_active);
    expect(activated).toEqual([p]);
    expect(sim.vmstat.events.pgactivate).toBe(1);
    lru.check();
  });

  it('emits mm_lru_insertion only while someone listens', async () => {
    await boot();
    const lru = lruOf(sim);
    expect(sim.events.enabled.mm_lru_insertion).toBe(false);
    const [a, b] = alloc(2) as [number, number];
    lru.pageAdded(a, true);
    const seen: { pfn: number; lru: number; flags: number }[] = [];
    sim.events.on('mm_lru_insertion', (e) => seen.push(e));
    lru.pageAdded(b, false);
    expect(seen).toEqual([{ pfn: b, lru: I_FILE, flags: 0x4 /* PAGEMAP_FILE */ }]);
  });

  it('keeps mlocked pages on the unevictable list: accesses only mark them, reclaim never takes them', async () => {
    await boot();
    const lru = lruOf(sim);
    const [p, q] = alloc(2) as [number, number];
    sim.memory.pages.flags[sim.memory.pfnToPage(p)]! |= PG_mlocked;
    lru.pageAdded(p, false);
    lru.pageAdded(q, false);
    expect(lru.lruSizes(0)).toEqual([0, 0, 1, 0, 1]);
    expect(flags(p) & PG_unevictable).toBe(PG_unevictable);
    lru.pageAccessed(p);
    lru.pageAccessed(p);
    expect(lru.lruSizes(0)[UNEVICTABLE]).toBe(1);
    expect(shrinkWith(lru, sc())).toEqual([q]);
    lru.pageRemoved(p);
    expect(flags(p) & (PG_lru | PG_unevictable)).toBe(0);
    lru.check();
  });
});

describe('lru: shrink', () => {
  it('hands the engine unreferenced pages oldest-first and promotes referenced ones (second chance)', async () => {
    await boot();
    const lru = lruOf(sim);
    const pages = alloc(10);
    for (const p of pages) lru.pageAdded(p, false); // pages[0] is the oldest
    lru.pageAccessed(pages[2]!);
    lru.pageAccessed(pages[5]!);
    const c = sc();
    const victims = shrinkWith(lru, c);
    expect(victims).toEqual([0, 1, 3, 4, 6, 7, 8, 9].map((i) => pages[i]));
    expect(c.nrScanned).toBe(10);
    expect(c.nrReclaimed).toBe(8);
    expect(lru.lruSizes(0)).toEqual([0, 0, 0, 2, 0]);
    for (const v of victims) expect(flags(v) & PG_lru).toBe(0);
    // the promoted pages used up their mark
    for (const i of [2, 5]) expect(flags(pages[i]!) & (PG_lru | PG_active | PG_referenced)).toBe(PG_lru | PG_active);
    lru.check();
    // the owner gave them up to the test
    for (const v of victims) sim.pages.freePages(v, 0);
    for (const i of [2, 5]) lru.pageRemoved(pages[i]!);
    sim.check();
  });

  it('isolates at most nrToReclaim victims and leaves the rest in LRU order', async () => {
    await boot();
    const lru = lruOf(sim);
    const pages = alloc(10);
    for (const p of pages) lru.pageAdded(p, false);
    lru.pageAccessed(pages[2]!);
    const c = sc({ nrToReclaim: 3 });
    expect(shrinkWith(lru, c)).toEqual([pages[0], pages[1], pages[3]]);
    expect(c.nrReclaimed).toBe(3);
    // the rest are next, oldest first
    expect(shrinkWith(lru, sc({ nrToReclaim: 2 }))).toEqual([pages[4], pages[5]]);
    lru.check();
  });

  it('scans list size >> priority pages', async () => {
    await boot();
    const lru = lruOf(sim);
    const pages = alloc(100);
    for (const p of pages) lru.pageAdded(p, false);
    const c = sc({ priority: 4 });
    expect(shrinkWith(lru, c)).toEqual(pages.slice(0, 100 >> 4));
    expect(c.nrScanned).toBe(6);
    // at DEF_PRIORITY a 94-page list is not scanned at all
    expect(shrinkWith(lru, sc({ priority: DEF_PRIORITY }))).toEqual([]);
  });

  it('deactivates the active list when the inactive list is low (inactive_is_low), then evicts', async () => {
    await boot();
    const lru = lruOf(sim);
    const pages = alloc(8);
    for (const p of pages) {
      lru.pageAdded(p, false);
      lru.pageAccessed(p);
      lru.pageAccessed(p);
    }
    lru.pageAccessed(pages[7]!); // active and referenced
    expect(lru.lruSizes(0)).toEqual([0, 0, 0, 8, 0]);
    const active: unknown[] = [];
    sim.events.on('mm_vmscan_lru_shrink_active', (e) => active.push(e));
    expect(lru.inactiveIsLow(lru.lruvec(0), I_FILE)).toBe(true);
    expect(shrinkWith(lru, sc())).toEqual([]);
    expect(lru.lruSizes(0)).toEqual([0, 0, 8, 0, 0]);
    expect(active).toEqual([{ nid: 0, nr_taken: 8, nr_active: 0, nr_deactivated: 8, nr_referenced: 0, priority: 0, file: true }]);
    for (const p of pages) expect(flags(p) & (PG_active | PG_workingset)).toBe(PG_workingset);
    // the referenced one keeps its mark through deactivation and gets a second chance
    const inactive: unknown[] = [];
    sim.events.on('mm_vmscan_lru_shrink_inactive', (e) => inactive.push(e));
    expect(shrinkWith(lru, sc())).toEqual(pages.slice(0, 7));
    expect(inactive).toEqual([{ nid: 0, nr_scanned: 8, nr_reclaimed: 7, nr_activate_anon: 0, nr_activate_file: 1, priority: 0, file: true }]);
    expect(lru.lruSizes(0)).toEqual([0, 0, 0, 1, 0]);
    lru.check();
  });

  it('inactive_ratio is int_sqrt(10 * GB) of the list pair, or 1 under 1 GB', async () => {
    await boot();
    const lru = lruOf(sim);
    const vec = lru.lruvec(0);
    vec.size[I_ANON] = 100;
    vec.size[A_ANON] = 101;
    expect(lru.inactiveIsLow(vec, I_ANON)).toBe(true);
    vec.size[A_ANON] = 100;
    expect(lru.inactiveIsLow(vec, I_ANON)).toBe(false);
    // 3 GB in the pair: ratio int_sqrt(30) = 5
    vec.size[I_ANON] = 131072;
    vec.size[A_ANON] = 3 * 262144 - 131072;
    expect(lru.inactiveIsLow(vec, I_ANON)).toBe(false); // 131072 * 5 == 655360
    vec.size[I_ANON] = 131071;
    vec.size[A_ANON] = 3 * 262144 - 131071;
    expect(lru.inactiveIsLow(vec, I_ANON)).toBe(true);
  });

  it('without swap (or with sc.maySwap false) never scans anon', async () => {
    await boot();
    const lru = lruOf(sim);
    const anon = alloc(10);
    for (const p of anon) lru.pageAdded(p, true);
    expect(sim.swap.total).toBe(0);
    expect(shrinkWith(lru, sc())).toEqual([]);
    sim.swap.swapon({ size: 1001 * 4096 }); // 1000 slots
    expect(shrinkWith(lru, sc({ maySwap: false }))).toEqual([]);
    expect(shrinkWith(lru, sc({ nrToReclaim: 4 }))).toEqual(anon.slice(0, 4));
    lru.check();
  });

  it('puts back what the engine keeps and activates, in isolation order, and charges its nr_pageout to lru_note_cost', async () => {
    await boot();
    const lru = lruOf(sim);
    const pages = alloc(6);
    for (const p of pages) lru.pageAdded(p, false);
    const vec = lru.lruvec(0);
    const inactive: unknown[] = [];
    sim.events.on('mm_vmscan_lru_shrink_inactive', (e) => inactive.push(e));
    // pages 0, 2, 4 activated, 1, 3, 5 kept; the engine says it wrote 2 out
    const engine = stubEngine((pfn) => (pages.indexOf(pfn) % 2 ? FolioOutcome.KEEP : FolioOutcome.ACTIVATE), 2);
    const c = sc({ nrToReclaim: 6 });
    expect(lru.shrink(c, engine)).toBe(0);
    expect(engine.batches).toEqual([pages]);
    expect(c.nrScanned).toBe(6);
    expect(lru.lruSizes(0)).toEqual([0, 0, 3, 3, 0]);
    for (const [i, p] of pages.entries()) expect(flags(p) & (PG_lru | PG_active)).toBe(i % 2 ? PG_lru : PG_lru | PG_active);
    // put back one by one from the oldest: the youngest of each list is the last isolated
    expect(vec.head[I_FILE]).toBe(sim.memory.pfnToPage(pages[5]!));
    expect(vec.head[LruList.ACTIVE_FILE]).toBe(sim.memory.pfnToPage(pages[4]!));
    expect(sim.vmstat.events.pgactivate).toBe(3);
    expect(sim.vmstat.events.pgsteal_direct ?? 0, 'pgsteal is the engine\'s').toBe(0);
    // lru_note_cost(): 2 IOs × SWAP_CLUSTER_MAX + 6 pages not reclaimed, halved
    // at once as the cost is more than a quarter of the lists
    expect(vec.fileCost).toBe(Math.floor((2 * 32 + 6) / 2));
    expect(inactive).toEqual([{ nid: 0, nr_scanned: 6, nr_reclaimed: 0, nr_activate_anon: 0, nr_activate_file: 3, priority: 0, file: true }]);
    lru.check();
  });

  it('takes its referenced and mlocked pages out of the batch: the engine sees neither', async () => {
    await boot();
    const lru = lruOf(sim);
    const pages = alloc(4);
    sim.memory.pages.flags[sim.memory.pfnToPage(pages[1]!)]! |= PG_mlocked;
    for (const p of pages) lru.pageAdded(p, false);
    // the mlocked page is on the unevictable list already; make one inactive page mlocked after it was listed
    sim.memory.pages.flags[sim.memory.pfnToPage(pages[3]!)]! |= PG_mlocked;
    lru.pageAccessed(pages[2]!);
    const engine = stubEngine(() => FolioOutcome.KEEP);
    lru.shrink(sc(), engine);
    expect(engine.batches).toEqual([[pages[0]]]);
    expect(lru.lruSizes(0)).toEqual([0, 0, 1, 1, 2]);
    lru.check();
  });

  it('swappiness balances anon against file: 0 → file only, 100 → even, 200 → anon only', async () => {
    await boot();
    sim.swap.swapon({ size: 100001 * 4096 }); // 100000 slots
    const lru = lruOf(sim);
    for (const p of alloc(4096)) lru.pageAdded(p, true);
    // a file LRU whose inactive list is low (so no cache trim mode)
    const file = alloc(4096);
    file.forEach((p, i) => {
      lru.pageAdded(p, false);
      if (i >= 1024) {
        lru.pageAccessed(p);
        lru.pageAccessed(p);
      }
    });
    expect(lru.lruSizes(0)).toEqual([4096, 0, 1024, 3072, 0]);
    const vec = lru.lruvec(0);
    const c = sc({ priority: 2 });
    const state = { cacheTrimMode: false, fileIsTiny: false };
    sim.sysctl.set('vm.swappiness', 0);
    expect(lru.scanBalance(vec, c, state)).toBe(ScanBalance.FRACT);
    expect(lru.getScanCount(vec, c)).toEqual([0, 0, 256, 768, 0]);
    sim.sysctl.set('vm.swappiness', 100);
    expect(lru.getScanCount(vec, c)).toEqual([512, 0, 128, 384, 0]);
    sim.sysctl.set('vm.swappiness', 200);
    expect(lru.getScanCount(vec, c)).toEqual([1024, 0, 0, 0, 0]);

    // swappiness 0: a shrink pass takes file pages only
    sim.sysctl.set('vm.swappiness', 0);
    const victims = shrinkWith(lru, sc({ priority: 2, nrToReclaim: 10000 }));
    expect(victims.length).toBeGreaterThan(0);
    expect(victims.every((v) => file.includes(v))).toBe(true);
    expect(lru.lruSizes(0)[I_ANON]).toBe(4096);
    lru.check();
  });

  it('swappiness 0 still reclaims anon when the file LRU is empty and memory is exhausted (file_is_tiny)', async () => {
    await boot({ sysctl: { 'vm.swappiness': 0 } });
    sim.swap.swapon({ size: 1001 * 4096 }); // 1000 slots
    const lru = lruOf(sim);
    const anon = alloc(16);
    for (const p of anon) lru.pageAdded(p, true);
    // plenty of free memory: swappiness 0 means no anon scanning
    expect(shrinkWith(lru, sc())).toEqual([]);
    const held = exhaust();
    expect(shrinkWith(lru, sc({ nrToReclaim: 5 }))).toEqual(anon.slice(0, 5));
    // as soon as file cache and free memory are back above the high watermarks, it is file only
    const f = anon[0]!; // a victim, reused as a page-cache page
    lru.pageAdded(f, false);
    const zones = sim.topology.populatedZones;
    const high = zones.reduce((s, z) => s + z.watermark[2]!, 0);
    while (zones.reduce((s, z) => s + z.stats.nrFreePages, 0) + 1 <= high) {
      const [p, o] = held.pop()!;
      sim.pages.freePages(p, o);
      sim.pages.drainAllPages();
    }
    expect(shrinkWith(lru, sc())).toEqual([f]);
    lru.check();
  });

  it('at priority 0 with swappiness > 0 scans anon and file equally (SCAN_EQUAL)', async () => {
    await boot();
    sim.swap.swapon({ size: 1001 * 4096 }); // 1000 slots
    const lru = lruOf(sim);
    for (const p of alloc(40)) lru.pageAdded(p, true);
    for (const p of alloc(40)) lru.pageAdded(p, false);
    const vec = lru.lruvec(0);
    expect(lru.scanBalance(vec, sc(), { cacheTrimMode: false, fileIsTiny: false })).toBe(ScanBalance.EQUAL);
    // (cache trim mode comes after SCAN_EQUAL in get_scan_count)
    expect(lru.getScanCount(vec, sc())).toEqual([40, 0, 40, 0, 0]);
    const victims = shrinkWith(lru, sc({ nrToReclaim: 80 }));
    expect(victims.length).toBe(80);
  });

  it('skips pages of zones above sc.reclaimIdx', async () => {
    await boot();
    const lru = lruOf(sim);
    const dma32 = alloc(3);
    const dma = alloc(2, GFP_KERNEL | GFP_DMA);
    expect(dma.every((p) => sim.topology.pfnZone(p)!.name === 'DMA')).toBe(true);
    lru.pageAdded(dma[0]!, false);
    for (const p of dma32) lru.pageAdded(p, false);
    lru.pageAdded(dma[1]!, false);
    expect(shrinkWith(lru, sc({ reclaimIdx: 0 }))).toEqual(dma);
    expect(shrinkWith(lru, sc())).toEqual(dma32);
    lru.check();
  });

  it('leaves mapped pages alone when sc.mayUnmap is false', async () => {
    await boot();
    const lru = lruOf(sim);
    const [m, u] = alloc(2) as [number, number];
    sim.memory.pages.mapcount[sim.memory.pfnToPage(m)] = 1;
    lru.pageAdded(m, false);
    lru.pageAdded(u, false);
    expect(shrinkWith(lru, sc({ mayUnmap: false }))).toEqual([u]);
    expect(lru.lruSizes(0)[I_FILE]).toBe(1);
    expect(shrinkWith(lru, sc())).toEqual([m]);
  });

  it('reclaims per node: each node has its own lruvec', async () => {
    sim = await createSimulator({
      machine: { nodes: [{ memory: '512M', cpus: 1 }, { memory: '512M', cpus: 1 }] },
      plugins: { slab: stubSlab, reclaim: 'lru', oom: 'oom-linux' },
    });
    const lru = lruOf(sim);
    const n0 = alloc(3, GFP_HIGHUSER_MOVABLE, 0);
    const n1 = alloc(2, GFP_HIGHUSER_MOVABLE, 1);
    expect(n1.every((p) => sim.topology.pfnZone(p)!.nid === 1)).toBe(true);
    for (const p of [...n0, ...n1]) lru.pageAdded(p, false);
    expect(lru.lruSizes(0)).toEqual([0, 0, 3, 0, 0]);
    expect(lru.lruSizes(1)).toEqual([0, 0, 2, 0, 0]);
    expect(shrinkWith(lru, sc({ nid: 1 }))).toEqual(n1);
    expect(lru.lruSizes(0)).toEqual([0, 0, 3, 0, 0]);
    expectCode(() => lru.lruSizes(2), 'EINVAL');
    lru.check();
  });
});

describe('lru: remove, putback, check', () => {
  it('refuses to remove a page that is not on an LRU list, state unchanged', async () => {
    await boot();
    const lru = lruOf(sim);
    const [p, q] = alloc(2) as [number, number];
    lru.pageAdded(q, false);
    const before = { sizes: lru.lruSizes(0), flags: flags(p) };
    expectCode(() => lru.pageRemoved(p), 'EBAD_PFN');
    expect({ sizes: lru.lruSizes(0), flags: flags(p) }).toEqual(before);
    lru.pageRemoved(q);
    expectCode(() => lru.pageRemoved(q), 'EBAD_PFN');
    expect(lru.lruSizes(0)).toEqual([0, 0, 0, 0, 0]);
    expectCode(() => lru.pageRemoved(-1), 'EBAD_PFN');
    lru.check();
  });

  it('refuses to add a page twice, a free page, or an invalid pfn', async () => {
    await boot();
    const lru = lruOf(sim);
    const [p] = alloc(1) as [number];
    lru.pageAdded(p, true);
    expectCode(() => lru.pageAdded(p, true), 'EBAD_PFN');
    const free = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    sim.pages.freePages(free, 0);
    expectCode(() => lru.pageAdded(free, false), 'EBAD_PFN');
    expectCode(() => lru.pageAdded(1 << 30, false), 'EBAD_PFN');
    expect(lru.lruSizes(0)).toEqual([1, 0, 0, 0, 0]);
    lru.check();
  });

  it('removal clears the LRU flags: a removed active page comes back inactive', async () => {
    await boot();
    const lru = lruOf(sim);
    const [p] = alloc(1) as [number];
    lru.pageAdded(p, true);
    lru.pageAccessed(p);
    lru.pageAccessed(p);
    lru.pageAccessed(p);
    expect(lru.lruSizes(0)).toEqual([0, 1, 0, 0, 0]);
    lru.pageRemoved(p);
    expect(flags(p) & (PG_lru | PG_active | PG_referenced)).toBe(0);
    expect(lru.lruSizes(0)).toEqual([0, 0, 0, 0, 0]);
    lru.pageAdded(p, false);
    expect(lru.lruSizes(0)).toEqual([0, 0, 1, 0, 0]);
    expect(flags(p) & PG_swapbacked).toBe(0);
    lru.check();
    lru.pageRemoved(p);
    sim.pages.freePages(p, 0);
    sim.check();
  });

  it('a page the engine keeps goes back to the head of its inactive list', async () => {
    await boot();
    const lru = lruOf(sim);
    const pages = alloc(3);
    for (const p of pages) lru.pageAdded(p, false);
    // the first page isolated is kept (its owner would not give it up), the next freed
    const taken: number[] = [];
    const engine: FolioReclaimer = {
      shrinkFolioList(folios, c) {
        const outcome = folios.map((pfn) => (pfn === pages[0] ? FolioOutcome.KEEP : (taken.push(pfn), FolioOutcome.FREED)));
        const nrReclaimed = outcome.filter((o) => o === FolioOutcome.FREED).length;
        c.nrReclaimed += nrReclaimed;
        return { nrReclaimed, outcome, stat: { nrPageout: 0, nrActivate: [0, 0] } };
      },
    };
    expect(lru.shrink(sc({ nrToReclaim: 1 }), engine)).toBe(1);
    expect(taken).toEqual([pages[1]]);
    expect(flags(pages[0]!) & (PG_lru | PG_active)).toBe(PG_lru);
    // now the youngest: reclaim takes the others first
    expect(shrinkWith(lru, sc())).toEqual([pages[2], pages[0]]);
    lru.check();
  });

  it('check() finds a PG_lru page on no list, a miscounted list, and a page on the wrong list', async () => {
    await boot();
    const lru = lruOf(sim);
    const [p, q] = alloc(2) as [number, number];
    lru.pageAdded(p, false);
    lru.check();
    const t = sim.memory.pages;
    const slot = (pfn: number) => sim.memory.pfnToPage(pfn);
    t.flags[slot(q)]! |= PG_lru;
    expectCode(() => lru.check(), 'ECORRUPT');
    t.flags[slot(q)]! &= ~PG_lru;
    lru.check();
    lru.lruvec(0).size[I_FILE] = 2;
    expectCode(() => lru.check(), 'ECORRUPT');
    lru.lruvec(0).size[I_FILE] = 1;
    t.flags[slot(p)]! |= PG_active;
    expectCode(() => lru.check(), 'ECORRUPT');
    t.flags[slot(p)]! &= ~PG_active;
    lru.check();
  });
});

describe('lru: composed by createSimulator', () => {
  it('is the RECLAIM_POLICY of a simulator, and /proc/meminfo and sim.check() see its lists', async () => {
    await boot();
    expect(sim.reclaim).toBeInstanceOf(LruReclaim);
    expect(sim.reclaim.name).toBe('lru');
    expect(sim.container.resolve(RECLAIM_POLICY)).toBe(sim.reclaim);
    expect(lruPlugin.name).toBe('lru');
    expect(lruPlugin.provides).toBe(RECLAIM_POLICY);
    const anon = alloc(3);
    const file = alloc(5);
    for (const p of anon) sim.reclaim.pageAdded(p, true);
    for (const p of file) sim.reclaim.pageAdded(p, false);
    sim.reclaim.pageAccessed(file[0]!);
    sim.reclaim.pageAccessed(file[0]!);
    expect(sim.reclaim.lruSizes(0)).toEqual([3, 0, 4, 1, 0]);
    const meminfo = sim.proc('meminfo');
    expect(meminfo).toMatch(/^Inactive\(anon\):\s+12 kB$/m);
    expect(meminfo).toMatch(/^Inactive\(file\):\s+16 kB$/m);
    expect(meminfo).toMatch(/^Active\(file\):\s+4 kB$/m);
    sim.check();
    const victims = shrinkWith(sim.reclaim as LruReclaim, scanControl({ nrToReclaim: 32, priority: 0 }));
    expect(victims).toEqual(file.slice(1));
    for (const v of victims) sim.pages.freePages(v, 0);
    sim.check();
  });

  it('two simulators keep separate lists', async () => {
    await boot();
    const other = await createSimulator({ machine: MACHINE, plugins: { slab: stubSlab, reclaim: 'lru', oom: 'oom-linux' } });
    try {
      const [p] = alloc(1) as [number];
      sim.reclaim.pageAdded(p, false);
      expect(other.reclaim.lruSizes(0)).toEqual([0, 0, 0, 0, 0]);
      expect(other.reclaim).not.toBe(sim.reclaim);
      // each resolves its own memory model
      expect(other.container.resolve(MEMORY_MODEL)).not.toBe(sim.container.resolve(MEMORY_MODEL));
    } finally {
      other.dispose();
    }
  });

  it('keeps its invariants through the default workload under memory pressure', async () => {
    await boot({ machine: { memory: '256M', cpus: 2 } });
    const shrunk: number[] = [];
    sim.events.on('mm_vmscan_lru_shrink_inactive', (e) => shrunk.push(e.nr_reclaimed));
    const s = runDefaultWorkload(sim, { ops: 150000, fill: 1.2 });
    expect(s.reclaimed).toBeGreaterThan(0);
    expect(shrunk.length).toBeGreaterThan(0);
    sim.check();
  });

  it.skipIf(!HAVE_SLUB)(
    'boots in the default composition and survives the default workload',
    async () => {
      sim = await createSimulator({ machine: { memory: '1G', cpus: 2 }, plugins: { reclaim: 'lru', oom: 'oom-linux' } });
      expect(sim.composition.reclaim).toBe('lru');
      runDefaultWorkload(sim, { ops: 20000, fill: 0.9 });
      sim.check();
    },
  );
});
