import {
  GFP_DMA, GFP_KERNEL, isMmsimError, lazyAll, PAGE_SIZE, PageOwner, POISON_FREE, POISON_INUSE, Random,
  SLAB_HWCACHE_ALIGN, SLAB_POISON, SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE, SLAB_STORE_USER, type Simulator, type SimulatorConfig,
  SHRINKER, type SlabInfo, __GFP_RECLAIMABLE,
} from '@mmsim/core';
import { createSimulator } from '@mmsim/defconfig';
import { expectCode, pageState, slabAllocatorConformance } from '@mmsim/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { RED_ACTIVE_BYTES, RED_INACTIVE_BYTES, type SlabAllocatorImpl, type SlabCache } from './index.js';

slabAllocatorConformance({ name: 'slab', plugin: 'slab' });
slabAllocatorConformance({ name: 'slab (one CPU, no shared arrays)', plugin: 'slab', config: { machine: { memory: '256M', cpus: 1 } } });
slabAllocatorConformance({
  name: 'slab (two nodes, alien caches)', plugin: 'slab',
  config: { machine: { memory: '512M', nodes: [{ memory: '256M', cpus: [0] }, { memory: '256M', cpus: [1] }] } },
});

let sim: Simulator;
afterEach(() => sim?.dispose());
async function boot(options: Record<string, unknown> = { autoReap: false }, machine: SimulatorConfig['machine'] = { memory: '1G', cpus: 2 }): Promise<SlabAllocatorImpl> {
  sim = await createSimulator({ machine, plugins: { slab: { use: 'slab', options } } });
  return sim.slab as SlabAllocatorImpl;
}
const row = (name: string): SlabInfo => sim.slab.slabinfo().find((r) => r.name === name)!;
const state = () => `${sim.proc('slabinfo')}\n${pageState(sim)}\n${JSON.stringify(sim.slab.stats())}`;
const freePages = () => sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages + sim.pages.pcpPages(z), 0);
const pfnOf = (p: number) => Math.floor(p / PAGE_SIZE);
function corrupt(fn: () => unknown): { cache: string; ptr: number; offset: number; what: string } {
  try {
    fn();
  } catch (e) {
    expect(isMmsimError(e, 'EOBJ_CORRUPT'), String(e)).toBe(true);
    return (e as { details: { cache: string; ptr: number; offset: number; what: string } }).details;
  }
  throw new Error('expected EOBJ_CORRUPT');
}

describe('slab: caches and tunables', () => {
  it('creates kmalloc-32 .. kmalloc-8k (kmalloc-128 first), hardware-cache aligned, and prints the real tunables', async () => {
    await boot();
    const names = sim.slab.caches().map((c) => c.name);
    expect(names.slice(0, 13)).toEqual(['kmalloc-128', 'kmalloc-32', 'kmalloc-64', 'kmalloc-96', 'kmalloc-192', 'kmalloc-256', 'kmalloc-512',
      'kmalloc-1k', 'kmalloc-2k', 'kmalloc-4k', 'kmalloc-8k', 'kmalloc-rcl-32', 'kmalloc-rcl-64']);
    expect(names).toContain('dma-kmalloc-8k');
    // objsize objperslab pagesperslab : tunables limit batchcount shared
    const t = (n: string) => {
      const r = row(n);
      return [r.objSize, r.objPerSlab, r.pagesPerSlab, r.limit, r.batchCount, r.shared];
    };
    expect(t('kmalloc-32')).toEqual([32, 124, 1, 120, 60, 8]); // on-slab freelist: 4096 / 33
    expect(t('kmalloc-96')).toEqual([128, 32, 1, 120, 60, 8]); // SLAB_HWCACHE_ALIGN: 96 rounds to 128
    expect(t('kmalloc-192')).toEqual([192, 21, 1, 120, 60, 8]);
    expect(t('kmalloc-512')).toEqual([512, 8, 1, 54, 27, 8]);
    expect(t('kmalloc-4k')).toEqual([4096, 1, 1, 24, 12, 8]);
    expect(t('kmalloc-8k')).toEqual([8192, 1, 2, 8, 4, 0]); // above a page: no shared array
    expect(sim.proc('slabinfo')).toMatch(/^kmalloc-32 +0 +0 +32 +124 +1 : tunables  120   60    8 : slabdata      0      0      0$/m);
  });

  it('uses no shared array on one CPU and limit 1 above 128 KiB', async () => {
    const slab = await boot({ autoReap: false }, { memory: '1G', cpus: 1 });
    expect(row('kmalloc-64').shared).toBe(0);
    const big = slab.createCache('big_obj', 200_000);
    expect([slab.slabinfoOf(big).limit, slab.slabinfoOf(big).batchCount]).toEqual([1, 1]);
  });

  it('sizes kmalloc requests as SLAB does: at least kmalloc-32, ksize is the object size, above 8 KiB the page allocator', async () => {
    const slab = await boot();
    const cacheOf = (p: number) => slab.caches().find((c) => c.id === sim.memory.pages.owner[sim.memory.pfnToPage(pfnOf(p))])!.name;
    const a = slab.kmalloc(8, GFP_KERNEL)!;
    expect([cacheOf(a), slab.ksize(a)]).toEqual(['kmalloc-32', 32]);
    const b = slab.kmalloc(70, GFP_KERNEL)!;
    expect([cacheOf(b), slab.ksize(b)]).toEqual(['kmalloc-96', 96]);
    const c = slab.kmalloc(8193, GFP_KERNEL)!;
    expect(slab.ksize(c)).toBe(16384);
    expect(sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfnOf(c))]).toBe(PageOwner.KMALLOC_LARGE);
    const d = slab.kmalloc(100, GFP_KERNEL | GFP_DMA)!;
    expect([cacheOf(d), pfnOf(d) < 4096]).toEqual(['dma-kmalloc-128', true]);
    const r0 = slab.stats().reclaimablePages;
    const e = slab.kmalloc(100, GFP_KERNEL | __GFP_RECLAIMABLE)!;
    expect(cacheOf(e)).toBe('kmalloc-rcl-128');
    expect(slab.stats().reclaimablePages).toBe(r0 + 1);
    for (const p of [a, b, c, d, e]) slab.kfree(p);
    sim.check();
  });

  it('lays the freelist in an object, off the slab (kmalloc-ed) or on it, as __kmem_cache_create chooses', async () => {
    const slab = await boot();
    const plain = slab.createCache('plain_200', 200) as SlabCache;
    expect([plain.mgmt, plain.num, plain.order]).toEqual(['objfreelist', 20, 0]);
    const ctorBig = slab.createCache('ctor_1k', 1024, { ctor: () => {} }) as SlabCache;
    expect([ctorBig.mgmt, ctorBig.num]).toEqual(['offslab', 4]);
    const ctorSmall = slab.createCache('ctor_100', 100, { ctor: () => {} }) as SlabCache;
    expect([ctorSmall.mgmt, ctorSmall.num, ctorSmall.size]).toEqual(['onslab', 39, 104]); // 4096 / (104 + 1)
    // an off-slab slab's freelist is a kmalloc-32 object, freed with the slab
    const k32 = slab.caches().find((c) => c.name === 'kmalloc-32')!;
    const before = slab.slabinfoOf(k32).activeObjs;
    const p = slab.cacheAlloc(ctorBig, GFP_KERNEL)!;
    const fl = slab.slabOfObject(p)!.offSlabFreelist!;
    expect(fl).not.toBeNull();
    expect(slab.caches().find((c) => c.id === sim.memory.pages.owner[sim.memory.pfnToPage(pfnOf(fl))])!.name).toBe('kmalloc-32');
    expect(slab.slabinfoOf(k32).activeObjs).toBeGreaterThan(before);
    slab.cacheFree(ctorBig, p);
    slab.shrinkCache(ctorBig);
    expect(slab.slabinfoOf(ctorBig).numSlabs).toBe(0);
    sim.check();
  });
});

describe('slab: colouring', () => {
  it('offsets successive slabs by colour_off, cycling through colour values', async () => {
    const slab = await boot();
    const c = slab.createCache('coloured', 700) as SlabCache;
    // size 704: order 1 holds 11 with 448 bytes left = 7 colours of 64 bytes
    expect([c.size, c.order, c.num, c.colour, c.colourOff]).toEqual([704, 1, 11, 7, 64]);
    const firstSeen = new Map<number, number>();
    for (let i = 0; i < 11 * 9; i++) {
      const p = slab.cacheAlloc(c, GFP_KERNEL)!;
      const info = slab.slabOfObject(p)!;
      const head = pfnOf(p) & ~1;
      if (!firstSeen.has(head)) firstSeen.set(head, info.colourOffset);
      // objects sit at the colour offset plus whole object sizes
      expect((p - head * PAGE_SIZE - info.colourOffset) % 704).toBe(0);
    }
    expect([...firstSeen.values()]).toEqual([64, 128, 192, 256, 320, 384, 0, 64, 128]);
  });
});

describe('slab: array caches, shared arrays, free_limit', () => {
  it('refills an untouched array cache with at most 16, a touched one with batchcount', async () => {
    const slab = await boot();
    const c = slab.createCache('batches', 64) as SlabCache; // limit 120, batchcount 60
    slab.cacheAlloc(c, GFP_KERNEL);
    expect(slab.arrays(c).cpu[0]).toBe(15);
    // objects in the array cache count as active in slabinfo (they are not free_objects)
    expect(slab.slabinfoOf(c).activeObjs).toBe(16);
    for (let i = 0; i < 15; i++) slab.cacheAlloc(c, GFP_KERNEL);
    slab.cacheAlloc(c, GFP_KERNEL);
    // the slab's other 48 objects, then no more slabs: 48 - 1
    expect(slab.arrays(c).cpu[0]).toBe(47);
    sim.check();
  });

  it('flushes a full array cache into the node shared array, and refills another CPU from it', async () => {
    const slab = await boot();
    const c = slab.createCache('sharing', 64) as SlabCache;
    const ptrs = Array.from({ length: 200 }, () => slab.cacheAlloc(c, GFP_KERNEL, { cpu: 0 })!);
    for (const p of ptrs) slab.cacheFree(c, p, { cpu: 1 });
    // 120 fill CPU 1's array; two flushes of 60 went to the shared array
    expect(slab.arrays(c).cpu[1]).toBe(80);
    expect(slab.arrays(c).shared[0]).toBe(120);
    expect(slab.slabinfoOf(c).sharedAvail).toBe(120);
    // CPU 0 empties its array, then takes batchcount objects from the shared array
    const left = slab.arrays(c).cpu[0]!;
    for (let i = 0; i <= left; i++) slab.cacheAlloc(c, GFP_KERNEL, { cpu: 0 });
    expect(slab.arrays(c).shared[0]).toBe(60);
    expect(slab.arrays(c).cpu[0]).toBe(59);
    sim.check();
  });

  it('gives free slabs back once free objects exceed free_limit = (1 + CPUs) × batchcount + num', async () => {
    const slab = await boot({ autoReap: false }, { memory: '1G', cpus: 1 });
    const c = slab.createCache('limited', 256) as SlabCache; // 16 per slab, batchcount 60, no shared array
    const freeLimit = 2 * 60 + 16;
    const ptrs = Array.from({ length: 800 }, () => slab.cacheAlloc(c, GFP_KERNEL)!);
    const slabs0 = slab.slabinfoOf(c).numSlabs;
    for (const p of ptrs) slab.cacheFree(c, p);
    const r = slab.slabinfoOf(c);
    const free = r.numObjs - r.activeObjs;
    expect(free).toBeLessThanOrEqual(freeLimit);
    expect(r.activeObjs).toBe(slab.arrays(c).cpu[0]); // only the array cache's objects are "active"
    expect(r.numSlabs).toBeLessThan(slabs0);
    // kmem_cache_shrink drains the array and frees every free slab
    expect(slab.shrinkCache(c)).toBe(r.numSlabs);
    expect(slab.slabinfoOf(c).numSlabs).toBe(0);
    sim.check();
  });

  it('parks objects freed on another node in the alien cache, draining 12 at a time to their node', async () => {
    const slab = await boot({ autoReap: false }, { memory: '512M', nodes: [{ memory: '256M', cpus: [0] }, { memory: '256M', cpus: [1] }] });
    const c = slab.createCache('remote', 128) as SlabCache;
    const ptrs = Array.from({ length: 13 }, () => slab.cacheAlloc(c, GFP_KERNEL, { cpu: 0 })!);
    for (const p of ptrs) expect(slab.slabOfObject(p)!.nid).toBe(0);
    for (let i = 0; i < 12; i++) slab.cacheFree(c, ptrs[i]!, { cpu: 1 });
    expect(slab.arrays(c).alien[1]![0]).toBe(12);
    slab.cacheFree(c, ptrs[12]!, { cpu: 1 });
    // the full alien cache went to node 0's shared array, then took the 13th
    expect(slab.arrays(c).alien[1]![0]).toBe(1);
    expect(slab.arrays(c).shared[0]).toBe(12);
    // a node-1 request does not use CPU 0's array
    const q = slab.cacheAlloc(c, GFP_KERNEL, { cpu: 0, nid: 1 })!;
    expect(slab.slabOfObject(q)!.nid).toBe(1);
    sim.check();
  });
});

describe('slab: cache_reap', () => {
  it('skips a touched array once, then drains a fifth of the limit; node lists every REAPTIMEOUT_NODE', async () => {
    const slab = await boot({ autoReap: false }, { memory: '1G', cpus: 1 });
    const c = slab.createCache('reaped', 64) as SlabCache;
    const ptrs = Array.from({ length: 100 }, () => slab.cacheAlloc(c, GFP_KERNEL)!);
    for (const p of ptrs) slab.cacheFree(c, p);
    const a = slab.arrays(c).cpu[0]!;
    expect(a).toBeGreaterThan(48);
    slab.cacheReap(0);
    expect(slab.arrays(c).cpu[0]).toBe(a); // touched since the last reap
    slab.cacheReap(0);
    expect(slab.arrays(c).cpu[0]).toBe(a - 24); // (120 + 4) / 5
    sim.clock.advance(10e9);
    const slabs = slab.slabinfoOf(c).numSlabs;
    slab.cacheReap(0);
    expect(slab.arrays(c).cpu[0]).toBe(a - 48);
    // free slabs drained: (free_limit + 5 num - 1) / (5 num) = (184 + 319) / 320 = 1 per reap, if the free list was not touched
    expect(slab.slabinfoOf(c).numSlabs).toBeLessThanOrEqual(slabs);
    sim.check();
  });

  it('runs the reap timers from the simulated clock when autoReap is on', async () => {
    const slab = await boot({ autoReap: true }, { memory: '1G', cpus: 1 });
    const c = slab.createCache('timed', 64) as SlabCache;
    const ptrs = Array.from({ length: 100 }, () => slab.cacheAlloc(c, GFP_KERNEL)!);
    for (const p of ptrs) slab.cacheFree(c, p);
    const a = slab.arrays(c).cpu[0]!;
    sim.clock.advance(5e9);
    slab.kfree(slab.kmalloc(8, GFP_KERNEL)); // any slab operation runs the due reap first: 'timed' was touched, now cleared
    expect(slab.arrays(c).cpu[0]).toBe(a);
    sim.clock.advance(2.5e9);
    slab.kfree(slab.kmalloc(8, GFP_KERNEL)); // the next reap drains (120 + 4) / 5
    expect(slab.arrays(c).cpu[0]).toBe(a - 24);
  });
});

describe('slab: debugging (CONFIG_DEBUG_SLAB)', () => {
  it('reports a one-byte overrun into the second red zone on free; the free does not happen', async () => {
    const slab = await boot();
    const c = slab.createCache('rz', 64, { flags: SLAB_RED_ZONE | SLAB_STORE_USER }) as SlabCache;
    expect([c.objOffset, c.size]).toEqual([8, 64 + 16 + 8]);
    const p = slab.cacheAlloc(c, GFP_KERNEL)!;
    expect(Array.from(slab.readObject(p, -8, 8)!)).toEqual(Array.from(RED_ACTIVE_BYTES));
    slab.writeObject(p, 64, [0x41]);
    const before = state();
    const d = corrupt(() => slab.cacheFree(c, p));
    expect(d).toMatchObject({ cache: 'rz', ptr: p, offset: 64, what: 'Redzone 2' });
    expect(state()).toBe(before);
    slab.cacheFree(c, p);
    expect(Array.from(slab.readObject(p, 64, 8)!)).toEqual(Array.from(RED_INACTIVE_BYTES));
    expect(slab.lastUser(c, p)).toMatchObject({ cpu: 0, freed: true });
    // an underrun hits the first red zone
    const q = slab.cacheAlloc(c, GFP_KERNEL)!;
    slab.writeObject(q, -2, [0, 0]);
    expect(corrupt(() => slab.cacheFree(c, q))).toMatchObject({ offset: -2, what: 'Redzone 1' });
    sim.check();
  });

  it('poisons free objects 0x6b and allocated ones 0x5a; a write after free is reported on allocation and validation', async () => {
    const slab = await boot({ autoReap: false, debug: 'P,uaf' });
    const c = slab.createCache('uaf', 128) as SlabCache;
    expect(c.flags & SLAB_POISON).toBe(SLAB_POISON);
    const keep = slab.cacheAlloc(c, GFP_KERNEL)!;
    expect(slab.readObject(keep, 0, 1)![0]).toBe(POISON_INUSE);
    const p = slab.cacheAlloc(c, GFP_KERNEL)!;
    slab.cacheFree(c, p);
    expect(slab.readObject(p, 0, 1)![0]).toBe(POISON_FREE);
    slab.writeObject(p, 100, [1, 2, 3]);
    expect(corrupt(() => slab.validateCache(c))).toMatchObject({ cache: 'uaf', ptr: p, offset: 100, what: 'Poison' });
    slab.writeObject(p, 100, [1, 2, 3]);
    // LIFO: the next allocation is that object; the check finds the write, puts it back, restored
    expect(corrupt(() => slab.cacheAlloc(c, GFP_KERNEL))).toMatchObject({ ptr: p, offset: 100, what: 'Poison' });
    expect(slab.cacheAlloc(c, GFP_KERNEL)).toBe(p);
    sim.check();
  });

  it('cannot red-zone naturally aligned kmalloc caches (alignment above a word switches it off), as in the kernel', async () => {
    const slab = await boot({ autoReap: false, debug: 'ZPU' });
    const k64 = slab.caches().find((c) => c.name === 'kmalloc-64')!;
    expect(k64.flags & (SLAB_RED_ZONE | SLAB_STORE_USER)).toBe(0);
    expect(k64.flags & SLAB_POISON).toBe(SLAB_POISON);
    const k96 = slab.caches().find((c) => c.name === 'kmalloc-96')!; // HWCACHE_ALIGN: 64
    expect(k96.flags & SLAB_RED_ZONE).toBe(0);
    const hw = slab.createCache('hw', 100, { flags: SLAB_HWCACHE_ALIGN | SLAB_RED_ZONE });
    expect(hw.flags & SLAB_RED_ZONE).toBe(0);
    // limits are capped at 32 for debug caches
    expect(slab.slabinfoOf(k64).limit).toBe(32);
  });

  it('FORCED_DEBUG (debug: true) red-zones and poisons every cache it can', async () => {
    const slab = await boot({ autoReap: false, debug: true });
    const c = slab.createCache('forced', 200);
    expect(c.flags & (SLAB_RED_ZONE | SLAB_STORE_USER | SLAB_POISON)).toBe(SLAB_RED_ZONE | SLAB_STORE_USER | SLAB_POISON);
    const p = slab.cacheAlloc(c, GFP_KERNEL)!;
    slab.cacheFree(c, p);
    expectCode(() => slab.cacheFree(c, p), 'EDOUBLE_FREE');
    expect(slab.writeObject(slab.kmalloc(20000, GFP_KERNEL)!, 0, [1])).toBe(false);
  });
});

describe('slab: misc', () => {
  it('tunes through slabinfo writes and refuses unknown names', async () => {
    const slab = await boot();
    slab.tune('kmalloc-64', 32, 16, 4);
    expect(sim.proc('slabinfo')).toMatch(/^kmalloc-64 .* : tunables   32   16    4 :/m);
    slab.tune('kmalloc-64', 10, 20, 0); // batchcount > limit: ignored, as the kernel ignores it
    expect(row('kmalloc-64').limit).toBe(32);
    expectCode(() => slab.tune('nope', 1, 1, 1), 'EINVAL');
    sim.check();
  });

  it('shrinks reclaimable caches through the shrinker', async () => {
    const slab = await boot();
    const released: number[] = [];
    const c = slab.createCache('dentry', 192, { flags: SLAB_RECLAIM_ACCOUNT, release: (p) => released.push(p) });
    const ps = Array.from({ length: 5 }, () => slab.cacheAlloc(c, GFP_KERNEL)!);
    for (const p of ps) slab.lruAdd(c, p);
    const sh = sim.get(lazyAll(SHRINKER))().find((s) => s.name === 'slab-reclaimable')!;
    expect(sh.countObjects(0)).toBe(5);
    expect(sh.scanObjects(0, 2)).toBe(2);
    expect(released).toEqual(ps.slice(0, 2));
    sim.check();
  });

  it('keeps its invariants under a seeded mix on two nodes and gives every page back', async () => {
    const slab = await boot({ autoReap: true }, { memory: '512M', nodes: [{ memory: '256M', cpus: [0, 1] }, { memory: '256M', cpus: [2, 3] }] });
    sim.pages.drainAllPages();
    const free0 = freePages();
    const r = new Random(11);
    const caches = [slab.createCache('c24', 24), slab.createCache('c300', 300, { ctor: () => {} }), slab.createCache('c2000', 2000, { flags: SLAB_RED_ZONE | SLAB_POISON })];
    const held: [number, number][] = [];
    for (let i = 0; i < 20000; i++) {
      sim.clock.advance(1e6);
      const cpu = r.below(4);
      if (held.length > 0 && r.below(100) < 47) {
        const j = r.below(held.length);
        const [p, k] = held[j]!;
        held[j] = held[held.length - 1]!;
        held.pop();
        if (k < 0) slab.kfree(p, { cpu });
        else slab.cacheFree(caches[k]!, p, { cpu });
      } else if (r.below(2) === 0) {
        held.push([slab.kmalloc(1 + r.below(r.below(8) === 0 ? 12000 : 700), GFP_KERNEL, { cpu, nid: r.below(4) === 0 ? r.below(2) : undefined })!, -1]);
      } else {
        const k = r.below(3);
        held.push([slab.cacheAlloc(caches[k]!, GFP_KERNEL, { cpu })!, k]);
      }
      if (i % 2500 === 0) sim.check();
    }
    sim.check();
    for (const [p, k] of held) if (k < 0) slab.kfree(p);
    else slab.cacheFree(caches[k]!, p);
    for (const c of slab.caches()) slab.shrinkCache(c);
    expect(slab.stats()).toEqual({ reclaimablePages: 0, unreclaimablePages: 0 });
    sim.pages.drainAllPages();
    expect(freePages()).toBe(free0);
    expect(slab.reports).toEqual([]);
    sim.check();
  });
});
