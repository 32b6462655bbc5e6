import {
  GFP_DMA, GFP_KERNEL, lazyAll, PAGE_SIZE, PageOwner, PG_slab, Random, SLAB_HWCACHE_ALIGN, SLAB_RECLAIM_ACCOUNT,
  SHRINKER, SLAB_RED_ZONE, type Simulator, __GFP_RECLAIMABLE,
} from '@mmsim/core';
import { createSimulator } from '@mmsim/defconfig';
import { expectCode, pageState, slabAllocatorConformance } from '@mmsim/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type SlobAllocator, SLOB_UNITS_PER_PAGE } from './index.js';

slabAllocatorConformance({ name: 'slob', plugin: 'slob' });
// the kernel's SLOB serves GFP_DMA from any partially free page; only new pages must come from ZONE_DMA
slabAllocatorConformance({ name: 'slob (shared zone lists, as the kernel)', plugin: { use: 'slob', options: { sharedZoneLists: true } }, sharedZonePages: true, config: { machine: { memory: '256M', cpus: 2 } } });

let sim: Simulator;
afterEach(() => sim?.dispose());
async function boot(options: Record<string, unknown> = {}, cpus = 2): Promise<SlobAllocator> {
  sim = await createSimulator({ machine: { memory: '256M', cpus }, plugins: { slab: { use: 'slob', options } } });
  return sim.slab as SlobAllocator;
}
const freePages = () => sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages + sim.pages.pcpPages(z), 0);
const state = () => `${sim.proc('slabinfo')}\n${pageState(sim)}\n${JSON.stringify(sim.slab.stats())}`;
const pfnOf = (p: number) => Math.floor(p / PAGE_SIZE);

describe('slob: blocks in pages', () => {
  it('kmalloc puts an 8-byte size header before the block; blocks follow each other in SLOB_UNITs', async () => {
    const slob = await boot();
    const a = slob.kmalloc(10, GFP_KERNEL)!;
    const b = slob.kmalloc(30, GFP_KERNEL)!;
    expect(a % 8).toBe(0);
    expect(pfnOf(a)).toBe(pfnOf(b));
    // a: header 8 + 10 bytes = 9 units; b's header follows at once, aligned to 8
    expect(a % PAGE_SIZE).toBe(8);
    expect(b - a).toBe(10 + 6 + 8); // 18 bytes used, the next 8-aligned header at 24
    expect(slob.ksize(a)).toBe(10);
    expect(slob.ksize(slob.kmalloc(11, GFP_KERNEL)!)).toBe(12); // SLOB_UNITS(11) × 2
    // power-of-two sizes are naturally aligned
    const c = slob.kmalloc(256, GFP_KERNEL)!;
    expect(c % 256).toBe(0);
    expect(slob.stats().unreclaimablePages).toBe(slob.pagesHeld);
    sim.check();
  });

  it('chooses the list by size: < 256, < 1024, the rest', async () => {
    const slob = await boot();
    slob.kmalloc(100, GFP_KERNEL);
    slob.kmalloc(500, GFP_KERNEL);
    slob.kmalloc(2000, GFP_KERNEL);
    expect(slob.partialPages().map((p) => p.list)).toEqual([0, 1, 2]);
    // the size header counts: 1015 + 8 ≥ 1024 goes to the large list
    slob.kmalloc(1015, GFP_KERNEL);
    expect(slob.partialPages().filter((p) => p.list === 2).length).toBe(1);
    sim.check();
  });

  it('merges a freed block with its free neighbours and returns an empty page to the page allocator', async () => {
    const slob = await boot();
    sim.pages.drainAllPages();
    const free0 = freePages();
    const c = slob.createCache('merge_me', 100);
    const objs = Array.from({ length: 5 }, () => slob.cacheAlloc(c, GFP_KERNEL)!);
    expect(new Set(objs.map(pfnOf)).size).toBe(1);
    // 100-byte objects (50 units) at 8-byte alignment: a 2-unit free fragment between neighbours
    expect(objs.map((o) => o - objs[0]!)).toEqual([0, 104, 208, 312, 416]);
    const units = () => slob.partialPages()[0]!.freeUnits;
    expect(units()).toBe(SLOB_UNITS_PER_PAGE - 5 * 50);
    slob.cacheFree(c, objs[1]!);
    slob.cacheFree(c, objs[3]!);
    expect(units()).toBe(SLOB_UNITS_PER_PAGE - 3 * 50);
    // freeing 2 joins 1, 2, 3 into one block: a 240-byte object (same list, < 256) fits there, first fit
    slob.cacheFree(c, objs[2]!);
    const big = slob.createCache('three_units', 240);
    const x = slob.cacheAlloc(big, GFP_KERNEL)!;
    expect(x).toBe(objs[1]);
    sim.check();
    slob.cacheFree(big, x);
    slob.cacheFree(c, objs[0]!);
    slob.cacheFree(c, objs[4]!);
    // the page is empty: back to the page allocator
    expect(slob.partialPages()).toEqual([]);
    expect(slob.pagesHeld).toBe(0);
    expect(sim.memory.pages.flags[sim.memory.pfnToPage(pfnOf(objs[0]!))]! & PG_slab).toBe(0);
    sim.pages.drainAllPages();
    expect(freePages()).toBe(free0);
    sim.check();
  });

  it('fragments the head of a free block to align; the fragment stays free', async () => {
    const slob = await boot();
    const c = slob.createCache('aligned', 64, { flags: SLAB_HWCACHE_ALIGN });
    expect(c.align).toBe(64);
    const a = slob.kmalloc(20, GFP_KERNEL)!; // units 0..13 (header + 20 bytes)
    const o = slob.cacheAlloc(c, GFP_KERNEL)!;
    expect(o % 64).toBe(0);
    expect(o - a).toBe(64 - 8);
    const p = slob.kmalloc(4, GFP_KERNEL)!; // first fit: the 36-byte fragment before o
    expect(p).toBeLessThan(o);
    expect(p).toBeGreaterThan(a);
    sim.check();
  });

  it('sends kmalloc of PAGE_SIZE - 8 and more, and caches of a page and more, to the page allocator', async () => {
    const slob = await boot();
    const small = slob.kmalloc(PAGE_SIZE - 9, GFP_KERNEL)!;
    expect(small % PAGE_SIZE).toBe(8);
    const whole = slob.kmalloc(PAGE_SIZE - 8, GFP_KERNEL)!;
    expect(whole % PAGE_SIZE).toBe(0);
    expect(slob.ksize(whole)).toBe(PAGE_SIZE);
    const t = sim.memory.pages;
    expect(t.ownerKind[sim.memory.pfnToPage(pfnOf(whole))]).toBe(PageOwner.KMALLOC_LARGE);
    const big = slob.kmalloc(3 * PAGE_SIZE, GFP_KERNEL)!;
    expect(slob.ksize(big)).toBe(4 * PAGE_SIZE);
    const c = slob.createCache('pagesize', PAGE_SIZE);
    const o = slob.cacheAlloc(c, GFP_KERNEL)!;
    expect(o % PAGE_SIZE).toBe(0);
    expect(t.ownerKind[sim.memory.pfnToPage(pfnOf(o))]).toBe(PageOwner.SLAB);
    expectCode(() => slob.kfree(o), 'EBAD_POINTER');
    const before = state();
    expectCode(() => slob.cacheFree(c, whole), 'EBAD_POINTER');
    expect(state()).toBe(before);
    for (const p of [small, whole, big]) slob.kfree(p);
    expectCode(() => slob.kfree(whole), 'EDOUBLE_FREE');
    slob.cacheFree(c, o);
    sim.check();
  });

  it('marks a cache\'s whole-page objects as slab pages of the cache (PG_slab on every page), large kmalloc as KMALLOC_LARGE', async () => {
    const slob = await boot();
    sim.pages.drainAllPages();
    const free0 = freePages();
    const t = sim.memory.pages;
    const c = slob.createCache('three_pages', 3 * PAGE_SIZE - 1, { flags: SLAB_RECLAIM_ACCOUNT });
    const o = slob.cacheAlloc(c, GFP_KERNEL)!;
    const k = slob.kmalloc(2 * PAGE_SIZE, GFP_KERNEL)!;
    sim.check();
    for (let i = 0; i < 4; i++) {
      const page = sim.memory.pfnToPage(pfnOf(o) + i);
      expect(t.flags[page]! & PG_slab).toBe(PG_slab);
      expect(t.ownerKind[page]).toBe(PageOwner.SLAB);
      expect(t.owner[page]).toBe(c.id);
    }
    for (let i = 0; i < 2; i++) expect(t.flags[sim.memory.pfnToPage(pfnOf(k) + i)]! & PG_slab).toBe(0);
    expect(t.private[sim.memory.pfnToPage(pfnOf(k))]).toBe(1);
    // a pointer inside a whole-page object is no slob page's block
    const before = state();
    expectCode(() => slob.cacheFree(c, o + 64), 'EBAD_POINTER');
    expectCode(() => slob.kfree(o + PAGE_SIZE + 8), 'EBAD_POINTER');
    expect(state()).toBe(before);
    expect(slob.stats()).toEqual({ reclaimablePages: 0, unreclaimablePages: 6 });
    slob.cacheFree(c, o);
    slob.kfree(k);
    for (let i = 0; i < 4; i++) expect(t.flags[sim.memory.pfnToPage(pfnOf(o) + i)]! & PG_slab).toBe(0);
    sim.check();
    sim.pages.drainAllPages();
    expect(freePages()).toBe(free0);
  });

  it('runs a cache constructor on every allocation (SLAB emulated on SLOB); drops debug flags', async () => {
    const slob = await boot();
    const seen: number[] = [];
    const c = slob.createCache('ctor', 48, { ctor: (p) => seen.push(p), flags: SLAB_RED_ZONE });
    expect(c.flags & SLAB_RED_ZONE).toBe(0);
    const a = slob.cacheAlloc(c, GFP_KERNEL)!;
    slob.cacheFree(c, a);
    const b = slob.cacheAlloc(c, GFP_KERNEL)!;
    expect(seen).toEqual([a, b]);
    expect(slob.writeObject(b, 48, [1])).toBe(false);
    slob.validateCache(c);
    slob.cacheFree(c, b);
  });

  it('keeps GFP_DMA blocks on ZONE_DMA pages, or shares lists as the kernel does', async () => {
    let slob = await boot();
    const n = slob.kmalloc(64, GFP_KERNEL)!;
    const d = slob.kmalloc(64, GFP_KERNEL | GFP_DMA)!;
    expect(pfnOf(d)).toBeLessThan(4096);
    expect(pfnOf(d)).not.toBe(pfnOf(n));
    sim.dispose();
    slob = await boot({ sharedZoneLists: true });
    const n2 = slob.kmalloc(64, GFP_KERNEL)!;
    const d2 = slob.kmalloc(64, GFP_KERNEL | GFP_DMA)!;
    // the kernel's SLOB: a DMA request is served from a partially free Normal page
    expect(pfnOf(d2)).toBe(pfnOf(n2));
  });

  it('counts every page as unreclaimable (slob_new_pages), whatever the cache; reclaimable caches still have an LRU', async () => {
    const slob = await boot();
    const c = slob.createCache('dentry', 192, { flags: SLAB_RECLAIM_ACCOUNT });
    const p = slob.cacheAlloc(c, GFP_KERNEL | __GFP_RECLAIMABLE)!;
    expect(slob.stats()).toEqual({ reclaimablePages: 0, unreclaimablePages: 1 });
    expect(slob.lruAdd(c, p)).toBe(true);
    const shrinker = sim.get(lazyAll(SHRINKER))().find((s) => s.name === 'slob-reclaimable')!;
    expect(shrinker.countObjects(0)).toBe(1);
    expect(shrinker.scanObjects(0, 1)).toBe(1);
    expect(slob.stats().unreclaimablePages).toBe(0);
    sim.check();
  });

  it('allocates from the requested node only', async () => {
    sim = await createSimulator({
      machine: { memory: '512M', nodes: [{ memory: '256M', cpus: [0] }, { memory: '256M', cpus: [1] }] },
      plugins: { slab: 'slob' },
    });
    const slob = sim.slab as SlobAllocator;
    const a = slob.kmalloc(32, GFP_KERNEL, { nid: 0 })!;
    const b = slob.kmalloc(32, GFP_KERNEL, { nid: 1 })!;
    expect(sim.topology.pfnZone(pfnOf(a))!.nid).toBe(0);
    expect(sim.topology.pfnZone(pfnOf(b))!.nid).toBe(1);
    expectCode(() => slob.kmalloc(32, GFP_KERNEL, { nid: 5 }), 'EINVAL');
    sim.check();
  });

  it('keeps its invariants under a seeded mix and gives every page back', async () => {
    const slob = await boot({}, 4);
    sim.pages.drainAllPages();
    const free0 = freePages();
    const r = new Random(7);
    const caches = [slob.createCache('c24', 24), slob.createCache('c200', 200, { align: 32 }), slob.createCache('c1500', 1500)];
    const held: [number, number][] = [];
    for (let i = 0; i < 20000; i++) {
      if (held.length > 0 && r.below(100) < 45) {
        const j = r.below(held.length);
        const [p, k] = held[j]!;
        held[j] = held[held.length - 1]!;
        held.pop();
        if (k < 0) slob.kfree(p, { cpu: r.below(4) });
        else slob.cacheFree(caches[k]!, p);
      } else if (r.below(2) === 0) {
        held.push([slob.kmalloc(1 + r.below(r.below(8) === 0 ? 6000 : 300), GFP_KERNEL, { cpu: r.below(4) })!, -1]);
      } else {
        const k = r.below(3);
        held.push([slob.cacheAlloc(caches[k]!, GFP_KERNEL)!, k]);
      }
      if (i % 2500 === 0) sim.check();
    }
    sim.check();
    for (const [p, k] of held) if (k < 0) slob.kfree(p);
    else slob.cacheFree(caches[k]!, p);
    expect(slob.pagesHeld).toBe(0);
    sim.pages.drainAllPages();
    expect(freePages()).toBe(free0);
    sim.check();
  });
});
