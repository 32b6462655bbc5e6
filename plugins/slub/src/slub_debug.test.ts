import {
  GFP_KERNEL, isMmsimError, lazyAll, type MmsimError, PAGE_SIZE, POISON_END, POISON_FREE, POISON_INUSE,
  SLAB_CONSISTENCY_CHECKS, SLAB_POISON, SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE, SLAB_STORE_USER, type Simulator, type SlabCorruption,
  SHRINKER, SLUB_RED_ACTIVE, SLUB_RED_INACTIVE, __GFP_ZERO,
} from '@mmsim/core';
import { createSimulator } from '@mmsim/defconfig';
import { expectCode, pageState } from '@mmsim/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { SlubAllocator, SlubCache } from './index.js';

let sim: Simulator;
afterEach(() => sim?.dispose());
async function boot(options: Record<string, unknown> = {}): Promise<SlubAllocator> {
  sim = await createSimulator({ machine: { memory: '256M', cpus: 2 }, plugins: { slab: { use: 'slub', options } } });
  return sim.slab as SlubAllocator;
}
const state = () => `${sim.proc('slabinfo')}\n${pageState(sim)}\n${JSON.stringify(sim.slab.stats())}`;
function corruption(fn: () => unknown): MmsimError & { details: { cache: string; ptr: number; offset: number; what: string; corruptions: SlabCorruption[] } } {
  try {
    fn();
  } catch (e) {
    expect(isMmsimError(e, 'EOBJ_CORRUPT'), String(e)).toBe(true);
    return e as never;
  }
  throw new Error('expected EOBJ_CORRUPT');
}
const FZ = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE;

describe('slub debug: red zones', () => {
  it('reports a one-byte overrun on free, naming cache, object and offset; the free does not happen', async () => {
    const slub = await boot();
    const c = slub.createCache('rz_obj', 64, { flags: FZ });
    const p = slub.cacheAlloc(c, GFP_KERNEL)!;
    const q = slub.cacheAlloc(c, GFP_KERNEL)!;
    expect(slub.writeObject(p, 64, [0x41])).toBe(true);
    const before = state();
    const e = corruption(() => slub.cacheFree(c, p));
    expect(e.details.cache).toBe('rz_obj');
    expect(e.details.ptr).toBe(p);
    expect(e.details.offset).toBe(64);
    expect(e.details.what).toBe('Right Redzone');
    expect(e.message).toMatch(/BUG rz_obj: Right Redzone overwritten/);
    expect(e.message).toMatch(/First byte 0x41 instead of 0xcc/);
    expect(e.details.corruptions[0]).toMatchObject({ length: 1, found: 0x41, expected: SLUB_RED_ACTIVE });
    // nothing was freed; the red zone was restored, so the retry succeeds
    expect(state()).toBe(before);
    expect(Array.from(slub.readObject(p, 64, 8)!)).toEqual(new Array(8).fill(SLUB_RED_ACTIVE));
    slub.cacheFree(c, p);
    slub.cacheFree(c, q);
    sim.check();
  });

  it('reports an underrun into the left red zone', async () => {
    const slub = await boot();
    const c = slub.createCache('rz_left', 100, { flags: FZ });
    const p = slub.cacheAlloc(c, GFP_KERNEL)!;
    slub.writeObject(p, -3, [1, 2]);
    const e = corruption(() => slub.cacheFree(c, p));
    expect(e.details).toMatchObject({ what: 'Left Redzone', offset: -3 });
    expect(e.details.corruptions[0]!.length).toBe(2);
  });

  it('reports an overrun past the requested size of a kmalloc object (kmalloc Redzone, with SLAB_STORE_USER)', async () => {
    const slub = await boot({ debug: 'FZU,kmalloc-64' });
    const p = slub.kmalloc(60, GFP_KERNEL)!;
    expect(slub.ksize(p)).toBe(64); // ksize lets the caller use the whole object (skip_orig_size_check) ...
    slub.writeObject(p, 60, [0, 0, 0, 0]);
    slub.kfree(p);
    const q = slub.kmalloc(60, GFP_KERNEL)!;
    slub.writeObject(q, 60, [0]); // ... but without it bytes 60..63 belong to the red zone
    const e = corruption(() => slub.kfree(q));
    expect(e.details).toMatchObject({ cache: 'kmalloc-64', what: 'kmalloc Redzone', offset: 60 });
    slub.kfree(q);
    // other kmalloc caches are not debugged: no bytes kept
    const r = slub.kmalloc(100, GFP_KERNEL)!;
    expect(slub.writeObject(r, 200, [1])).toBe(false);
    expect(slub.readObject(r, 0, 4)).toBeNull();
    slub.kfree(r);
  });

  it('without SLAB_CONSISTENCY_CHECKS (Z alone) free does not check, as in the kernel; validation still finds a live overrun', async () => {
    const slub = await boot();
    const c = slub.createCache('rz_only', 64, { flags: SLAB_RED_ZONE });
    const p = slub.cacheAlloc(c, GFP_KERNEL)!;
    slub.writeObject(p, 64, [7]);
    const e = corruption(() => slub.validateCache(c));
    expect(e.details).toMatchObject({ cache: 'rz_only', ptr: p, offset: 64, what: 'Right Redzone' });
    slub.validateCache(c); // restored
    slub.writeObject(p, 64, [7]);
    slub.cacheFree(c, p); // init_object() red-zones the free object again: the overrun is gone unseen
    slub.validateCache(c);
  });
});

describe('slub debug: poison', () => {
  it('fills free objects with 0x6b ending in 0xa5 and padding with 0x5a', async () => {
    const slub = await boot();
    const c = slub.createCache('poisoned', 100, { flags: SLAB_POISON | SLAB_RED_ZONE });
    const p = slub.cacheAlloc(c, GFP_KERNEL)!;
    const q = slub.cacheAlloc(c, GFP_KERNEL)!;
    slub.cacheFree(c, q);
    const bytes = slub.readObject(q, 0, 100)!;
    expect(bytes[0]).toBe(POISON_FREE);
    expect(bytes[98]).toBe(POISON_FREE);
    expect(bytes[99]).toBe(POISON_END);
    expect(slub.readObject(q, 100, 4)![0]).toBe(SLUB_RED_INACTIVE);
    // allocated objects are poisoned too (init_object does not look at val for the poison)
    expect(slub.readObject(p, 0, 1)![0]).toBe(POISON_FREE);
    const s = c as SlubCache;
    // the padding after the tracking words
    const pad = slub.readObject(p, s.size - s.redLeftPad - 8, 8)!;
    expect(Array.from(pad)).toEqual(new Array(8).fill(POISON_INUSE));
    slub.cacheFree(c, p);
  });

  it('reports a write after free on the next allocation of the object (with F) and on validation', async () => {
    const slub = await boot({ debug: 'FP,uaf_cache' });
    const c = slub.createCache('uaf_cache', 128);
    expect(c.flags & (SLAB_POISON | SLAB_CONSISTENCY_CHECKS)).toBe(SLAB_POISON | SLAB_CONSISTENCY_CHECKS);
    const keep = slub.cacheAlloc(c, GFP_KERNEL)!;
    const p = slub.cacheAlloc(c, GFP_KERNEL)!;
    slub.cacheFree(c, p);
    slub.writeObject(p, 16, [0xde, 0xad]);
    const v = corruption(() => slub.validateCache(c));
    expect(v.details).toMatchObject({ cache: 'uaf_cache', ptr: p, offset: 16, what: 'Poison' });
    slub.writeObject(p, 16, [0xde, 0xad]);
    const before = state();
    const e = corruption(() => slub.cacheAlloc(c, GFP_KERNEL));
    expect(e.details).toMatchObject({ ptr: p, offset: 16, what: 'Poison' });
    expect(e.message).toMatch(/found on allocation/);
    expect(state()).toBe(before);
    // restored: the allocation now succeeds and returns that object
    expect(slub.cacheAlloc(c, GFP_KERNEL)).toBe(p);
    slub.cacheFree(c, p);
    slub.cacheFree(c, keep);
  });

  it('reports a write into the slab padding on validation', async () => {
    const slub = await boot();
    const c = slub.createCache('padded', 1000, { flags: SLAB_POISON }) as SlubCache;
    const p = slub.cacheAlloc(c, GFP_KERNEL)!;
    const slabStart = Math.floor(p / PAGE_SIZE) * PAGE_SIZE;
    const slabBytes = PAGE_SIZE << c.order;
    const padOff = c.objects * c.size; // the bytes after the last object
    expect(padOff).toBeLessThan(slabBytes);
    slub.writeObject(slabStart, padOff + 3, [9]);
    const e = corruption(() => slub.validateCache(c));
    expect(e.details.what).toBe('Padding');
    expect(e.details.corruptions[0]!.slabOffset).toBe(padOff + 3);
    slub.cacheFree(c, p);
  });

  it('kzalloc zeroes a debug object; a debug slab checks its other objects before it is discarded', async () => {
    const slub = await boot({ debug: 'FZP,kmalloc-32' });
    const z = slub.kzalloc(20, GFP_KERNEL)!;
    expect(Array.from(slub.readObject(z, 0, 20)!)).toEqual(new Array(20).fill(0));
    slub.kfree(z);
    const c = slub.createCache('discard_me', 200, { flags: SLAB_POISON | FZ }) as SlubCache;
    // fill min_partial slabs so the next empty one is discarded on its last free
    const held: number[] = [];
    for (let i = 0; i < c.objects * (c.minPartial + 2); i++) held.push(slub.cacheAlloc(c, GFP_KERNEL)!);
    for (let i = 0; i < c.objects * c.minPartial; i++) slub.cacheFree(c, held[i]!);
    const lastSlab = held.slice(c.objects * c.minPartial, c.objects * (c.minPartial + 1));
    for (let i = 1; i < lastSlab.length; i++) slub.cacheFree(c, lastSlab[i]!);
    slub.writeObject(lastSlab[1]!, 5, [0]); // use after free of a neighbour
    const before = state();
    const e = corruption(() => slub.cacheFree(c, lastSlab[0]!));
    expect(e.details.corruptions.map((x) => x.object)).toContain(lastSlab[1]);
    expect(state()).toBe(before);
    slub.cacheFree(c, lastSlab[0]!);
    for (const p of held.slice(c.objects * (c.minPartial + 1))) slub.cacheFree(c, p);
    slub.shrinkCache(c);
    slub.destroyCache(c);
    sim.check();
  });
});

describe('slub debug: misuse is still refused first', () => {
  it('a double free on a debug cache is EDOUBLE_FREE and changes nothing', async () => {
    const slub = await boot({ debug: true });
    const c = slub.createCache('dbl', 64);
    expect(c.flags & (SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_CONSISTENCY_CHECKS)).toBe(SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_CONSISTENCY_CHECKS);
    const p = slub.cacheAlloc(c, GFP_KERNEL)!;
    const q = slub.cacheAlloc(c, GFP_KERNEL)!;
    slub.cacheFree(c, p);
    const before = state();
    expectCode(() => slub.cacheFree(c, p), 'EDOUBLE_FREE');
    expectCode(() => slub.cacheFree(c, q + 8), 'EBAD_POINTER');
    expect(state()).toBe(before);
    slub.cacheFree(c, q);
    sim.check();
  });

  it('writes outside slab memory are refused; writes past a slab are EINVAL', async () => {
    const slub = await boot();
    const c = slub.createCache('edge', 64, { flags: SLAB_RED_ZONE }) as SlubCache;
    const p = slub.cacheAlloc(c, GFP_KERNEL)!;
    expectCode(() => slub.writeObject(-4096, 0, [1]), 'EBAD_POINTER');
    const slabEnd = Math.floor(p / PAGE_SIZE) * PAGE_SIZE + (PAGE_SIZE << c.order);
    const before = Array.from(slub.readObject(slabEnd - 2, 0, 2)!);
    expectCode(() => slub.writeObject(slabEnd - 2, 0, [1, 2, 3, 4]), 'EINVAL');
    expect(Array.from(slub.readObject(slabEnd - 2, 0, 2)!)).toEqual(before);
    slub.cacheFree(c, p);
  });

  it('keeps alloc and free tracks for SLAB_STORE_USER caches', async () => {
    const slub = await boot();
    const c = slub.createCache('tracked', 64, { flags: SLAB_STORE_USER });
    const p = slub.cacheAlloc(c, GFP_KERNEL, { cpu: 1 })!;
    sim.clock.advance(1000);
    slub.cacheFree(c, p, { cpu: 0 });
    const t = slub.trackOf(c, p)!;
    expect(t.alloc).toEqual({ cpu: 1, when: 0 });
    expect(t.free).toEqual({ cpu: 0, when: 1000 });
    // tracking only: no bytes are kept
    expect(slub.writeObject(p, 0, [1])).toBe(false);
  });

  it('refuses a malformed slub_debug option, naming the plugin', async () => {
    await expect(createSimulator({ plugins: { slab: { use: 'slub', options: { debug: 'FXZ' } } } })).rejects.toMatchObject({ code: 'EPLUGIN_OPTIONS' });
  });
});

describe('slub shrinker (list_lru of SLAB_RECLAIM_ACCOUNT caches)', () => {
  it('counts the objects owners put on the LRU and frees the oldest on scan, calling release', async () => {
    const slub = await boot();
    const released: number[] = [];
    const c = slub.createCache('dentry', 192, { flags: SLAB_RECLAIM_ACCOUNT, release: (p) => released.push(p) });
    const objs = Array.from({ length: 10 }, () => slub.cacheAlloc(c, GFP_KERNEL)!);
    const shrinker = sim.get(lazyAll(SHRINKER))().find((s) => s.name === 'slub-reclaimable')!;
    expect(shrinker).toBeDefined();
    expect(shrinker.countObjects(0)).toBe(0);
    for (const p of objs.slice(0, 6)) expect(slub.lruAdd(c, p)).toBe(true);
    expect(slub.lruAdd(c, objs[0]!)).toBe(false);
    expect(slub.lruDel(c, objs[5]!)).toBe(true);
    expect(shrinker.countObjects(0)).toBe(5);
    // the owner frees one itself: it leaves the LRU
    slub.cacheFree(c, objs[4]!);
    expect(shrinker.countObjects(0)).toBe(4);
    expect(shrinker.scanObjects(0, 3)).toBe(3);
    expect(released).toEqual(objs.slice(0, 3));
    expect(shrinker.countObjects(0)).toBe(1);
    for (const p of objs.slice(0, 3)) expectCode(() => slub.cacheFree(c, p), 'EDOUBLE_FREE');
    expect(shrinker.scanObjects(0, 100)).toBe(1);
    expect(shrinker.countObjects(0)).toBe(0);
    // non-reclaimable caches have no LRU
    const d = slub.createCache('plain', 64);
    const q = slub.cacheAlloc(d, GFP_KERNEL)!;
    expectCode(() => slub.lruAdd(d, q), 'EINVAL');
    sim.check();
  });

  it('zeroes kzalloc objects of non-debug caches without keeping bytes', async () => {
    const slub = await boot();
    const p = slub.kmalloc(10, GFP_KERNEL | __GFP_ZERO)!;
    expect(slub.readObject(p, 0, 10)).toBeNull();
    slub.kfree(p);
  });
});
