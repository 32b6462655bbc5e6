import {
  GFP_ATOMIC, GFP_DMA, GFP_KERNEL, isMmsimError, type KmemCache, PAGE_SIZE, PageOwner, PG_head,
  PG_slab, PG_tail, Random, SLAB_CACHE_DMA, SLAB_HWCACHE_ALIGN, SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE, type Simulator,
  type SimulatorConfig, type SlabInfo, ZERO_SIZE_PTR, __GFP_RECLAIMABLE,
} from '@mmsim/core';
import { createSimulator } from '@mmsim/defconfig';
import { expectCode, pageState, slabAllocatorConformance } from '@mmsim/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SlubAllocator, SlubCache } from './index.js';

// The kernel's slabinfo numbers are tested below ('slabinfo prints what SLUB counts');
// the suite runs with the kernel's counting and with exact counting.
slabAllocatorConformance({ name: 'slub', plugin: 'slub' });
slabAllocatorConformance({ name: 'slub (exact slabinfo)', plugin: { use: 'slub', options: { exactSlabinfo: true } } });
slabAllocatorConformance({ name: 'slub (no CPU partial lists, exact slabinfo)', plugin: { use: 'slub', options: { cpuPartial: false, exactSlabinfo: true } } });

const KMALLOC_CLASSES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
const label = (c: number) => (c >= 1024 ? `${c / 1024}k` : `${c}`);

let sim: Simulator;
afterEach(() => sim?.dispose());

async function boot(cfg: SimulatorConfig = {}, options?: Record<string, unknown>): Promise<Simulator> {
  sim = await createSimulator({
    machine: { memory: '1G', cpus: 2 },
    ...cfg,
    plugins: { slab: options ? { use: 'slub', options } : 'slub', ...cfg.plugins },
  });
  return sim;
}
const slub = () => sim.slab as SlubAllocator;
const row = (name: string): SlabInfo => sim.slab.slabinfo().find((r) => r.name === name)!;
const state = () => `${sim.proc('slabinfo')}\n${pageState(sim)}\n${JSON.stringify(sim.slab.stats())}`;
const freePages = () => sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages + sim.pages.pcpPages(z), 0);
const pageOf = (ptr: number) => sim.memory.pfnToPage(Math.floor(ptr / PAGE_SIZE));
const ownerOf = (ptr: number) => sim.slab.caches().find((c) => c.id === sim.memory.pages.owner[pageOf(ptr)]);
function thrown(fn: () => unknown): { code: string; plugin?: string } {
  try {
    fn();
  } catch (e) {
    expect(isMmsimError(e)).toBe(true);
    return e as { code: string; plugin?: string };
  }
  throw new Error('expected an error');
}
/** /proc/slabinfo's line for one cache, as cache_show() prints it. */
function slabinfoLine(name: string, active: number, num: number, size: number, perSlab: number, pages: number, slabs: number): string {
  const p = (v: number, w: number) => String(v).padStart(w);
  return `${name.padEnd(17)} ${p(active, 6)} ${p(num, 6)} ${p(size, 6)} ${p(perSlab, 4)} ${p(pages, 4)} : tunables ${p(0, 4)} ${p(0, 4)} ${p(0, 4)} : slabdata ${p(slabs, 6)} ${p(slabs, 6)} ${p(0, 6)}`;
}

describe('slub: caches', () => {
  it('creates the kmalloc caches at boot and lists caches newest first, as slab_caches does', async () => {
    await boot();
    const kmallocOrder = (prefix: string) => [96, 192, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192].map((c) => `${prefix}${label(c)}`);
    const created = [...kmallocOrder('kmalloc-'), ...kmallocOrder('kmalloc-rcl-'), ...kmallocOrder('dma-kmalloc-')];
    expect(sim.slab.caches().map((c) => c.name)).toEqual(created);
    sim.slab.createCache('first', 100);
    sim.slab.createCache('second', 200);
    expect(sim.slab.slabinfo().map((r) => r.name)).toEqual(['second', 'first', ...created.reverse()]);
    expect(sim.slab.caches().map((c) => c.name).slice(-2)).toEqual(['first', 'second']);
    const lines = sim.proc('slabinfo').split('\n');
    expect(lines[0]).toBe('slabinfo - version: 2.1');
    expect(lines[2]).toBe(slabinfoLine('second', 0, 0, 200, 20, 1, 0));
    expect(lines[3]).toBe(slabinfoLine('first', 0, 0, 104, 39, 1, 0));
    expect(lines.at(-2)).toBe(slabinfoLine('kmalloc-96', 0, 0, 96, 42, 1, 0));
  });

  it('ksize(kmalloc(n)) is the size class for n = 1..8192, served by kmalloc-<class>', async () => {
    await boot();
    for (let n = 1; n <= 8192; n++) {
      const p = sim.slab.kmalloc(n, GFP_KERNEL)!;
      const cls = KMALLOC_CLASSES.find((c) => c >= n)!;
      expect(sim.slab.ksize(p)).toBe(cls);
      expect(ownerOf(p)?.name).toBe(`kmalloc-${label(cls)}`);
      expect(slub().kmallocSlab(n, GFP_KERNEL).name).toBe(`kmalloc-${label(cls)}`);
      sim.slab.kfree(p);
    }
    sim.check();
  });

  it('kmalloc(8193) goes to the page allocator with get_order(), marked KMALLOC_LARGE', async () => {
    await boot();
    const free0 = freePages();
    const unrecl0 = sim.slab.stats().unreclaimablePages;
    const p = sim.slab.kmalloc(8193, GFP_KERNEL)!;
    expect(p % PAGE_SIZE).toBe(0);
    const t = sim.memory.pages;
    const head = pageOf(p);
    expect(t.ownerKind[head]).toBe(PageOwner.KMALLOC_LARGE);
    expect(t.private[head]).toBe(2);
    expect(t.flags[head]! & PG_slab).toBe(0);
    expect(t.flags[head]! & PG_head).toBe(PG_head);
    expect(t.flags[head + 3]! & PG_tail).toBe(PG_tail);
    expect(sim.slab.ksize(p)).toBe(16384);
    expect(freePages()).toBe(free0 - 4);
    expect(sim.slab.stats().unreclaimablePages).toBe(unrecl0 + 4);
    const q = sim.slab.kmalloc(16385, GFP_KERNEL)!;
    expect(sim.slab.ksize(q)).toBe(32768);
    const big = sim.slab.kmalloc(4 << 20, GFP_KERNEL)!;
    expect(sim.slab.ksize(big)).toBe(4 << 20);
    sim.check();
    // an interior pointer is no allocation
    const before = state();
    expect(thrown(() => sim.slab.kfree(p + PAGE_SIZE)).code).toBe('EBAD_POINTER');
    expect(state()).toBe(before);
    for (const x of [p, q, big]) sim.slab.kfree(x);
    expect(freePages()).toBe(free0);
    expect(t.ownerKind[head]).not.toBe(PageOwner.KMALLOC_LARGE);
    expect(sim.slab.stats().unreclaimablePages).toBe(unrecl0);
    const after = state();
    const e = thrown(() => sim.slab.kfree(p));
    expect([e.code, e.plugin]).toEqual(['EDOUBLE_FREE', 'slub']);
    expect(state()).toBe(after);
    sim.check();
  });

  it('chooses slab orders from the CPU count, as calculate_order does', async () => {
    // objects per slab / pages per slab for kmalloc-96, -256, -512, -1k, -2k, -4k, -8k
    const expected: Record<number, [number, number][]> = {
      1: [[42, 1], [16, 1], [8, 1], [8, 2], [8, 4], [8, 8], [4, 8]], // min_objects 8
      4: [[42, 1], [16, 1], [16, 2], [16, 4], [16, 8], [8, 8], [4, 8]], // min_objects 16
      16: [[42, 1], [32, 2], [32, 4], [32, 8], [16, 8], [8, 8], [4, 8]], // min_objects 24
    };
    for (const [cpus, want] of Object.entries(expected)) {
      await boot({ machine: { memory: '1G', cpus: Number(cpus) } });
      const got = ['96', '256', '512', '1k', '2k', '4k', '8k'].map((c) => {
        const r = row(`kmalloc-${c}`);
        return [r.objPerSlab, r.pagesPerSlab];
      });
      expect(got, `${cpus} CPUs`).toEqual(want);
      sim.dispose();
    }
  });

  it('marks every page of a slab PG_slab with the cache id and the slab index (compound, __GFP_COMP)', async () => {
    await boot();
    const p = sim.slab.kmalloc(1000, GFP_KERNEL)!; // kmalloc-1k: order 2 with 2 CPUs
    const c = ownerOf(p) as SlubCache;
    expect(c.name).toBe('kmalloc-1k');
    expect(c.order).toBe(2);
    const t = sim.memory.pages;
    const headPfn = Math.floor(p / PAGE_SIZE) & ~3;
    const head = sim.memory.pfnToPage(headPfn);
    expect(t.flags[head]! & (PG_slab | PG_head)).toBe(PG_slab | PG_head);
    for (let i = 0; i < 4; i++) {
      const page = sim.memory.pfnToPage(headPfn + i);
      expect(t.flags[page]! & PG_slab).toBe(PG_slab);
      expect(t.ownerKind[page]).toBe(PageOwner.SLAB);
      expect(t.owner[page]).toBe(c.id);
      expect(t.private[page]).toBe(t.private[head]);
      if (i > 0) expect(t.flags[page]! & PG_tail).toBe(PG_tail);
    }
    // an object in the last page of the slab finds the same slab
    const ptrs = Array.from({ length: 15 }, () => sim.slab.kmalloc(1024, GFP_KERNEL)!);
    expect(Math.max(...ptrs, p)).toBe(headPfn * PAGE_SIZE + 15 * 1024);
    for (const x of [p, ...ptrs]) sim.slab.kfree(x);
    expect(sim.slab.shrinkCache(c)).toBe(4);
    expect(t.flags[head]! & PG_slab).toBe(0);
    expect(t.ownerKind[head]).not.toBe(PageOwner.SLAB);
    sim.check();
  });

  it('takes GFP_DMA objects from dma-kmalloc-* in ZONE_DMA and accounts reclaimable slabs apart', async () => {
    await boot();
    const d = sim.slab.kmalloc(100, GFP_KERNEL | GFP_DMA)!;
    expect(Math.floor(d / PAGE_SIZE)).toBeLessThan(4096);
    expect(ownerOf(d)?.name).toBe('dma-kmalloc-128');
    expect(row('dma-kmalloc-128').numObjs).toBe(32);
    const r0 = sim.slab.stats().reclaimablePages;
    const r = sim.slab.kmalloc(100, GFP_KERNEL | __GFP_RECLAIMABLE)!;
    expect(ownerOf(r)?.name).toBe('kmalloc-rcl-128');
    const dentry = sim.slab.createCache('dentry_test', 192, { flags: SLAB_RECLAIM_ACCOUNT });
    const o = sim.slab.cacheAlloc(dentry, GFP_KERNEL)!;
    expect(sim.slab.stats().reclaimablePages).toBe(r0 + 2);
    expect(sim.proc('meminfo')).toMatch(new RegExp(`SReclaimable:\\s+${(r0 + 2) * 4} kB`));
    const dmaCache = sim.slab.createCache('dma_test', 64, { flags: SLAB_CACHE_DMA });
    const x = sim.slab.cacheAlloc(dmaCache, GFP_KERNEL)!;
    expect(Math.floor(x / PAGE_SIZE)).toBeLessThan(4096);
    for (const p of [d, r]) sim.slab.kfree(p);
    sim.slab.cacheFree(dentry, o);
    sim.slab.cacheFree(dmaCache, x);
    sim.check();
  });
});

describe('slub: per-CPU slabs and partial lists', () => {
  it('slabinfo prints what SLUB counts: free objects on CPU slabs and CPU partial slabs show as active', async () => {
    await boot();
    // 256-byte objects, 2 CPUs: min_objects 12 → order 0, 16 per slab, min_partial 5, cpu_partial_slabs 7
    const c = sim.slab.createCache('test_256', 256);
    const ptrs = Array.from({ length: 40 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL)!);
    // two full slabs (off every list) and a CPU slab with 8 of 16 in use: nothing on the node partial list
    expect(sim.proc('slabinfo')).toContain(`${slabinfoLine('test_256', 48, 48, 256, 16, 1, 3)}\n`);
    // the first free into a full slab puts it on CPU 0's partial list: still not counted as free
    sim.slab.cacheFree(c, ptrs[0]!);
    expect(row('test_256').activeObjs).toBe(48);
    // kmem_cache_shrink() flushes the CPU slab and the CPU partial list to the node: now exact
    expect(sim.slab.shrinkCache(c)).toBe(0);
    expect(sim.proc('slabinfo')).toContain(`${slabinfoLine('test_256', 39, 48, 256, 16, 1, 3)}\n`);
    for (const p of ptrs.slice(1)) sim.slab.cacheFree(c, p);
    expect(sim.slab.shrinkCache(c)).toBe(3);
    expect(sim.proc('slabinfo')).toContain(`${slabinfoLine('test_256', 0, 0, 256, 16, 1, 0)}\n`);
    sim.check();
  });

  it('drains a full CPU partial list (cpu_partial_slabs) to the node partial list', async () => {
    await boot();
    const c = sim.slab.createCache('drain_256', 256) as SlubCache;
    expect([c.objects, c.cpuPartialSlabs]).toEqual([16, 7]); // DIV_ROUND_UP(52 × 2, 16)
    const ptrs = Array.from({ length: 9 * 16 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL)!);
    // the first free into each of the 8 full slabs puts it on CPU 0's partial list ...
    for (let s = 0; s < 7; s++) sim.slab.cacheFree(c, ptrs[s * 16]!);
    expect(row('drain_256').activeObjs).toBe(144);
    // ... until 7 are there: the 8th drains those 7 to the node (one free object each)
    sim.slab.cacheFree(c, ptrs[7 * 16]!);
    expect(row('drain_256').activeObjs).toBe(144 - 7);
    sim.check();
  });

  it('refills the CPU partial list from the node with up to cpu_partial_slabs / 2 more slabs', async () => {
    await boot();
    const c = sim.slab.createCache('refill_256', 256);
    const ptrs = Array.from({ length: 10 * 16 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL)!);
    for (let s = 0; s < 10; s++) sim.slab.cacheFree(c, ptrs[s * 16]!);
    sim.slab.shrinkCache(c); // everything on the node partial list: 10 slabs with one free object
    expect(row('refill_256').activeObjs).toBe(150);
    // CPU 1 takes one slab for itself and 4 for its partial list (stops once more than 7 / 2 were added)
    sim.slab.cacheAlloc(c, GFP_KERNEL, { cpu: 1 });
    expect(row('refill_256').activeObjs).toBe(160 - 5);
    sim.check();
  });

  it('counts exactly with exactSlabinfo', async () => {
    await boot({}, { exactSlabinfo: true });
    const c = sim.slab.createCache('test_256', 256);
    for (let i = 0; i < 40; i++) sim.slab.cacheAlloc(c, GFP_KERNEL);
    expect(sim.proc('slabinfo')).toContain(`${slabinfoLine('test_256', 40, 48, 256, 16, 1, 3)}\n`);
  });

  it('frees empty slabs once the node keeps min_partial of them', async () => {
    await boot({}, { cpuPartial: false });
    // 1024-byte objects: order 2, 16 per slab, min_partial = ilog2(1024) / 2 = 5
    const c = sim.slab.createCache('mp_1024', 1024) as SlubCache;
    expect([c.order, c.objects, c.minPartial]).toEqual([2, 16, 5]);
    const ptrs = Array.from({ length: 12 * 16 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL)!);
    expect(row('mp_1024').numSlabs).toBe(12);
    // empty the 11 slabs that are not the CPU slab, one after the other: a slab that empties while
    // the node lists min_partial slabs (itself included) is freed, so 4 empty slabs stay
    const free0 = freePages();
    for (const p of ptrs.slice(0, 11 * 16)) sim.slab.cacheFree(c, p);
    expect(freePages()).toBe(free0 + 7 * 4);
    expect(sim.proc('slabinfo')).toContain(`${slabinfoLine('mp_1024', 16, 80, 1024, 16, 4, 5)}\n`);
    // shrinking gives the 4 empty ones back; the full CPU slab stays
    expect(sim.slab.shrinkCache(c)).toBe(16);
    expect(sim.proc('slabinfo')).toContain(`${slabinfoLine('mp_1024', 16, 16, 1024, 16, 4, 1)}\n`);
    sim.check();
  });

  it('frees to the CPU freelist locally, to the slab freelist remotely, and refills from both', async () => {
    await boot();
    const c = sim.slab.createCache('remote_64', 64) as SlubCache; // 64 per slab
    const a = Array.from({ length: 10 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL, { cpu: 0 })!);
    // remote frees go to the frozen slab's own freelist
    for (const p of a) slub().cacheFree(c, p, { cpu: 1 });
    sim.check();
    // CPU 1 has no slab: it gets a new one, not CPU 0's frozen slab
    const b = sim.slab.cacheAlloc(c, GFP_KERNEL, { cpu: 1 })!;
    expect(Math.floor(b / PAGE_SIZE)).not.toBe(Math.floor(a[0]! / PAGE_SIZE));
    // CPU 0 uses up its CPU freelist (54 left), then takes the remotely freed objects back
    const more = Array.from({ length: 64 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL, { cpu: 0 })!);
    expect(new Set(more.slice(54).map((p) => Math.floor(p / PAGE_SIZE)))).toEqual(new Set([Math.floor(a[0]! / PAGE_SIZE)]));
    expect(new Set(more.slice(54))).toEqual(new Set(a));
    sim.check();
    for (const p of [b, ...more]) slub().cacheFree(c, p, { cpu: 1 });
    sim.slab.shrinkCache(c);
    expect(row('remote_64').numSlabs).toBe(0);
    sim.slab.destroyCache(c);
    sim.check();
  });

  it('allocates from the requested node (kmalloc_node)', async () => {
    await boot({ machine: { nodes: [{ memory: '512M', cpus: [0] }, { memory: '512M', cpus: [1] }] } });
    const nodeOf = (p: number) => sim.topology.pfnZone(Math.floor(p / PAGE_SIZE))!.nid;
    const p0 = sim.slab.kmalloc(64, GFP_KERNEL, { cpu: 0 })!;
    const p1 = sim.slab.kmalloc(64, GFP_KERNEL, { cpu: 0, nid: 1 })!;
    const p2 = sim.slab.kmalloc(64, GFP_KERNEL, { cpu: 1 })!;
    expect([nodeOf(p0), nodeOf(p1), nodeOf(p2)]).toEqual([0, 1, 1]);
    const c = sim.slab.createCache('numa_obj', 128);
    const o = sim.slab.cacheAlloc(c, GFP_KERNEL, { nid: 1 })!;
    expect(nodeOf(o)).toBe(1);
    expect(thrown(() => sim.slab.kmalloc(64, GFP_KERNEL, { nid: 7 })).code).toBe('EINVAL');
    sim.check();
    for (const p of [p0, p1, p2]) sim.slab.kfree(p);
    sim.slab.cacheFree(c, o);
    sim.check();
  });

  it('deactivate_slab() lists the CPU slab at the head, or at the tail when it had remote frees', async () => {
    for (const remoteFree of [false, true]) {
      await boot({ machine: { nodes: [{ memory: '512M', cpus: [0, 1] }, { memory: '512M', cpus: [2] }] } }, { cpuPartial: false });
      const c = sim.slab.createCache('deact_64', 64); // 64 per slab
      const a = Array.from({ length: 64 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL, { cpu: 0 })!); // slab A, full
      const b0 = sim.slab.cacheAlloc(c, GFP_KERNEL, { cpu: 0 })!; // slab B becomes CPU 0's slab
      slub().cacheFree(c, a[5]!, { cpu: 0 }); // A: full → node 0 partial list (tail)
      if (remoteFree) slub().cacheFree(c, b0, { cpu: 1 }); // onto B's own freelist
      // a node-1 request on CPU 0 deactivates B (node mismatch)
      const x = sim.slab.cacheAlloc(c, GFP_KERNEL, { cpu: 0, nid: 1 })!;
      expect(sim.topology.pfnZone(Math.floor(x / PAGE_SIZE))!.nid).toBe(1);
      // CPU 1 (node 0) takes the first slab of node 0's partial list
      const y = sim.slab.cacheAlloc(c, GFP_KERNEL, { cpu: 1 })!;
      expect(y, remoteFree ? 'B went to the tail: A first' : 'B went to the head').toBe(remoteFree ? a[5] : b0 + 64);
      sim.check();
      sim.dispose();
    }
  });
});

describe('slub: misuse is refused and changes nothing', () => {
  it('refuses a double free wherever the object sits (CPU freelist, slab freelist, partial slab)', async () => {
    await boot();
    const c = sim.slab.createCache('df_64', 64);
    const ptrs = Array.from({ length: 100 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL)!);
    sim.slab.cacheFree(c, ptrs[99]!); // CPU slab: onto the CPU freelist
    sim.slab.cacheFree(c, ptrs[0]!); // full slab: onto its freelist, slab to the CPU partial list
    slub().cacheFree(c, ptrs[98]!, { cpu: 1 }); // remote free into CPU 0's slab
    const k = sim.slab.kmalloc(50, GFP_KERNEL)!;
    sim.slab.kfree(k);
    const before = state();
    for (const [fn, where] of [
      [() => sim.slab.cacheFree(c, ptrs[99]!), 'CPU freelist'],
      [() => sim.slab.cacheFree(c, ptrs[0]!), 'slab on the CPU partial list'],
      [() => slub().cacheFree(c, ptrs[98]!, { cpu: 1 }), 'remote'],
      [() => sim.slab.kfree(ptrs[99]!), 'kfree of a cache object'],
      [() => sim.slab.kfree(k), 'kfree'],
      [() => sim.slab.krealloc(k, 500, GFP_KERNEL), 'krealloc'],
    ] as const) {
      const e = thrown(fn);
      expect([e.code, e.plugin], where).toEqual(['EDOUBLE_FREE', 'slub']);
      expect(state(), where).toBe(before);
    }
    sim.check();
  });

  it('refuses foreign, misaligned and stray pointers with EBAD_POINTER', async () => {
    await boot();
    const c = sim.slab.createCache('bp_64', 64);
    const d = sim.slab.createCache('bp_other', 64);
    const a = sim.slab.cacheAlloc(c, GFP_KERNEL)!;
    const k = sim.slab.kmalloc(192, GFP_KERNEL)!; // kmalloc-192: 21 objects, 64 bytes of tail
    const slabBase = Math.floor(k / PAGE_SIZE) * PAGE_SIZE;
    const pfn = sim.pages.allocPages(GFP_KERNEL, 0)!;
    const before = state();
    const cases: [() => unknown, string][] = [
      [() => sim.slab.cacheFree(d, a), 'other cache'],
      [() => sim.slab.cacheFree(c, k), 'kmalloc object to a cache'],
      [() => sim.slab.cacheFree(c, a + 1), 'misaligned'],
      [() => sim.slab.cacheFree(c, a + 8), 'inside the object'],
      [() => sim.slab.cacheFree(c, 0), 'NULL'],
      [() => sim.slab.kfree(slabBase + 21 * 192), 'slab tail past the last object'],
      [() => sim.slab.kfree(pfn * PAGE_SIZE), 'a page the page allocator handed out'],
      [() => sim.slab.kfree(-64), 'negative'],
      [() => sim.slab.kfree(2 ** 45), 'beyond memory'],
      [() => sim.slab.kfree(k + 0.5), 'not an integer'],
      [() => sim.slab.ksize(a + 4), 'ksize of a misaligned pointer'],
    ];
    for (const [fn, what] of cases) {
      const e = thrown(fn);
      expect([e.code, e.plugin], what).toEqual(['EBAD_POINTER', 'slub']);
      expect(state(), what).toBe(before);
    }
    sim.slab.cacheFree(c, a);
    sim.slab.kfree(k);
    sim.pages.freePages(pfn, 0);
    sim.check();
  });

  it('refuses to destroy a busy cache, and forgets a destroyed one', async () => {
    await boot();
    sim.pages.drainAllPages();
    const boot0 = pageState(sim);
    const c = sim.slab.createCache('busy_128', 128);
    const ptrs = Array.from({ length: 50 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL)!);
    const before = state();
    let e = thrown(() => sim.slab.destroyCache(c));
    expect([e.code, e.plugin]).toEqual(['ECACHE_BUSY', 'slub']);
    expect(state()).toBe(before);
    expect(thrown(() => sim.slab.destroyCache(slub().kmallocSlab(64, GFP_KERNEL))).code).toBe('ECACHE_BUSY');
    for (const p of ptrs) sim.slab.cacheFree(c, p);
    sim.slab.destroyCache(c);
    sim.pages.drainAllPages();
    expect(pageState(sim)).toBe(boot0);
    expect(sim.slab.caches().map((x) => x.name)).not.toContain('busy_128');
    const gone = state();
    for (const fn of [
      () => sim.slab.cacheAlloc(c, GFP_KERNEL), () => sim.slab.cacheFree(c, ptrs[0]!), () => sim.slab.shrinkCache(c),
      () => sim.slab.destroyCache(c), () => sim.slab.cacheAlloc({ ...sim.slab.caches()[0]! } as KmemCache, GFP_KERNEL),
    ]) {
      e = thrown(fn);
      expect([e.code, e.plugin]).toEqual(['ECACHE_UNKNOWN', 'slub']);
    }
    expect(state()).toBe(gone);
    sim.check();
  });

  it('refuses bad sizes with EBAD_SIZE', async () => {
    await boot();
    const p = sim.slab.kmalloc(10, GFP_KERNEL)!;
    const before = state();
    for (const fn of [
      () => sim.slab.kmalloc(-1, GFP_KERNEL), () => sim.slab.kmalloc(1.5, GFP_KERNEL), () => sim.slab.kmalloc(NaN, GFP_KERNEL),
      () => sim.slab.kmalloc((4 << 20) + 1, GFP_KERNEL), () => sim.slab.kzalloc(-8, GFP_KERNEL),
      () => sim.slab.krealloc(p, -1, GFP_KERNEL), () => sim.slab.createCache('zero', 0),
      () => sim.slab.createCache('frac', 10.5), () => sim.slab.createCache('huge', (4 << 20) + 1),
      () => sim.slab.createCache('align3', 64, { align: 3 }),
    ]) {
      const e = thrown(fn);
      expect([e.code, e.plugin]).toEqual(['EBAD_SIZE', 'slub']);
    }
    expect(state()).toBe(before);
    expect(sim.slab.kmalloc(0, GFP_KERNEL)).toBe(ZERO_SIZE_PTR);
    expect(sim.slab.ksize(ZERO_SIZE_PTR)).toBe(0);
    sim.slab.kfree(p);
  });
});

describe('slub: kmalloc family, cache options, events', () => {
  it('krealloc keeps the object while it fits ksize and moves it otherwise; kzalloc', async () => {
    await boot();
    const p = sim.slab.kmalloc(100, GFP_KERNEL)!;
    expect(sim.slab.krealloc(p, 128, GFP_KERNEL)).toBe(p);
    expect(sim.slab.krealloc(p, 20, GFP_KERNEL)).toBe(p);
    const q = sim.slab.krealloc(p, 129, GFP_KERNEL)!;
    expect(q).not.toBe(p);
    expect(ownerOf(q)?.name).toBe('kmalloc-192');
    expect(thrown(() => sim.slab.kfree(p)).code).toBe('EDOUBLE_FREE');
    const big = sim.slab.krealloc(q, 10000, GFP_KERNEL)!;
    expect(sim.slab.ksize(big)).toBe(16384);
    expect(sim.slab.krealloc(big, 16000, GFP_KERNEL)).toBe(big);
    expect(sim.slab.krealloc(big, 0, GFP_KERNEL)).toBe(ZERO_SIZE_PTR);
    expect(thrown(() => sim.slab.kfree(big)).code).toBe('EDOUBLE_FREE');
    const n = sim.slab.krealloc(null, 50, GFP_KERNEL)!;
    expect(sim.slab.ksize(n)).toBe(64);
    const z = sim.slab.kzalloc(10, GFP_ATOMIC)!;
    expect(sim.slab.ksize(z)).toBe(16);
    sim.slab.kfree(n);
    sim.slab.kfree(z);
    sim.check();
  });

  it('runs a ctor once per object when its slab is made; aligns objects as asked', async () => {
    await boot();
    const seen: number[] = [];
    const c = sim.slab.createCache('ctor_obj', 100, { ctor: (ptr) => seen.push(ptr) }) as SlubCache;
    expect([c.size, c.offset]).toEqual([112, 104]);
    const a = sim.slab.cacheAlloc(c, GFP_KERNEL)!;
    expect(seen.length).toBe(c.objects);
    expect(seen).toContain(a);
    sim.slab.cacheAlloc(c, GFP_KERNEL);
    expect(seen.length).toBe(c.objects);
    const hw = sim.slab.createCache('hw_obj', 100, { flags: SLAB_HWCACHE_ALIGN });
    expect([hw.size, hw.align]).toEqual([128, 64]);
    const al = sim.slab.createCache('al_obj', 100, { align: 256 });
    expect(al.size).toBe(256);
    for (let i = 0; i < 20; i++) {
      expect(sim.slab.cacheAlloc(hw, GFP_KERNEL)! % 64).toBe(0);
      expect(sim.slab.cacheAlloc(al, GFP_KERNEL)! % 256).toBe(0);
    }
    sim.check();
  });

  it('serves SLAB_RED_ZONE caches one object at a time from the node lists, after the left red zone', async () => {
    await boot();
    const c = sim.slab.createCache('rz_100', 100, { flags: SLAB_RED_ZONE }) as SlubCache;
    expect([c.size, c.redLeftPad, c.objects]).toEqual([120, 8, 34]);
    const ptrs = Array.from({ length: 3 }, () => sim.slab.cacheAlloc(c, GFP_KERNEL)!);
    const base = Math.floor(ptrs[0]! / PAGE_SIZE) * PAGE_SIZE;
    expect(ptrs).toEqual([base + 8, base + 128, base + 248]);
    // no CPU slab: the slab sits on the node partial list, so slabinfo is exact
    expect(row('rz_100')).toMatchObject({ activeObjs: 3, numObjs: 34 });
    expect(sim.slab.ksize(ptrs[0]!)).toBe(100);
    expect(thrown(() => sim.slab.cacheFree(c, base)).code).toBe('EBAD_POINTER');
    for (const p of ptrs) sim.slab.cacheFree(c, p);
    expect(thrown(() => sim.slab.cacheFree(c, ptrs[1]!)).code).toBe('EDOUBLE_FREE');
    sim.check();
  });

  it('merges compatible caches when asked (slab_merge)', async () => {
    await boot({}, { merge: true });
    const a = sim.slab.createCache('merge_a', 96);
    const b = sim.slab.createCache('merge_b', 90);
    const c = sim.slab.createCache('merge_c', 96, { flags: SLAB_RECLAIM_ACCOUNT });
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(sim.slab.slabinfo().filter((r) => r.name.startsWith('merge_')).map((r) => r.name)).toEqual(['merge_c', 'merge_a']);
    const p = sim.slab.cacheAlloc(b, GFP_KERNEL)!;
    sim.slab.destroyCache(b); // drops the alias reference only
    sim.slab.cacheFree(a, p);
    sim.slab.destroyCache(a);
    expect(sim.slab.slabinfo().map((r) => r.name)).not.toContain('merge_a');
    sim.check();
  });

  it('fires kmalloc / kfree / kmem_cache_alloc / kmem_cache_free only when watched', async () => {
    await boot();
    const c = sim.slab.createCache('ev_obj', 100);
    const emit = vi.spyOn(sim.events, 'emit');
    sim.slab.kfree(sim.slab.kmalloc(100, GFP_KERNEL));
    sim.slab.cacheFree(c, sim.slab.cacheAlloc(c, GFP_KERNEL)!);
    expect(emit).not.toHaveBeenCalled();
    const seen: unknown[] = [];
    for (const name of ['kmalloc', 'kfree', 'kmem_cache_alloc', 'kmem_cache_free'] as const) sim.events.on(name, (e: unknown) => seen.push([name, e]));
    const p = sim.slab.kmalloc(100, GFP_KERNEL)!;
    sim.slab.kfree(p);
    const big = sim.slab.kmalloc(10000, GFP_KERNEL)!;
    sim.slab.kfree(big);
    const o = sim.slab.cacheAlloc(c, GFP_KERNEL)!;
    sim.slab.cacheFree(c, o);
    sim.slab.kfree(null);
    expect(seen).toEqual([
      ['kmalloc', { call_site: 0, ptr: p, bytes_req: 100, bytes_alloc: 128, gfp_flags: GFP_KERNEL, node: -1, accounted: false }],
      ['kfree', { call_site: 0, ptr: p }],
      ['kmalloc', { call_site: 0, ptr: big, bytes_req: 10000, bytes_alloc: 16384, gfp_flags: GFP_KERNEL, node: -1, accounted: false }],
      ['kfree', { call_site: 0, ptr: big }],
      ['kmem_cache_alloc', { call_site: 0, ptr: o, name: 'ev_obj', bytes_req: 100, bytes_alloc: 104, gfp_flags: GFP_KERNEL, node: -1, accounted: false }],
      ['kmem_cache_free', { call_site: 0, ptr: o, name: 'ev_obj' }],
      ['kfree', { call_site: 0, ptr: 0 }],
    ]);
    sim.events.removeAllListeners();
    emit.mockClear();
    sim.slab.kfree(sim.slab.kmalloc(100, GFP_KERNEL));
    expect(emit).not.toHaveBeenCalled();
  });
});

describe('slub: randomized', () => {
  it('keeps its invariants under a seeded mix on every CPU and gives every page back', async () => {
    await boot({ machine: { memory: '1G', cpus: 4 } });
    for (const c of sim.slab.caches()) sim.slab.shrinkCache(c);
    sim.pages.drainAllPages();
    const boot0 = pageState(sim);
    const r = new Random(7);
    const caches = [
      sim.slab.createCache('rnd_24', 24), sim.slab.createCache('rnd_700', 700, { align: 64 }),
      sim.slab.createCache('rnd_rcl', 3000, { flags: SLAB_RECLAIM_ACCOUNT }), sim.slab.createCache('rnd_rz', 40, { flags: SLAB_RED_ZONE }),
    ];
    const live = new Map<number, { cache: KmemCache | null; size: number }>();
    const keys: number[] = [];
    const drop = (i: number) => {
      const ptr = keys[i]!;
      keys[i] = keys[keys.length - 1]!;
      keys.pop();
      const o = live.get(ptr)!;
      live.delete(ptr);
      const cpu = r.below(4);
      if (o.cache) slub().cacheFree(o.cache, ptr, { cpu });
      else slub().kfree(ptr, { cpu });
    };
    for (let op = 0; op < 30000; op++) {
      if (keys.length > 0 && (r.below(100) < 45 || keys.length > 3000)) {
        drop(r.below(keys.length));
      } else {
        const cpu = r.below(4);
        let ptr: number;
        let cache: KmemCache | null = null;
        let size: number;
        if (r.below(3) === 0) {
          cache = caches[r.below(caches.length)]!;
          ptr = sim.slab.cacheAlloc(cache, GFP_KERNEL, { cpu })!;
          size = cache.objectSize;
        } else {
          size = r.below(10) === 0 ? 1 + r.below(20000) : 1 + r.below(600);
          ptr = sim.slab.kmalloc(size, r.below(8) === 0 ? GFP_KERNEL | GFP_DMA : GFP_KERNEL, { cpu })!;
          expect(sim.slab.ksize(ptr)).toBeGreaterThanOrEqual(size);
        }
        expect(live.has(ptr)).toBe(false);
        live.set(ptr, { cache, size });
        keys.push(ptr);
      }
      if (op % 5000 === 0) sim.check();
    }
    // no two live objects overlap
    const sorted = [...live.entries()].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]![0] - sorted[i - 1]![0]).toBeGreaterThanOrEqual(sorted[i - 1]![1].size);
    sim.check();
    while (keys.length) drop(keys.length - 1);
    for (const c of sim.slab.caches()) sim.slab.shrinkCache(c);
    for (const row of sim.slab.slabinfo()) expect(row.numSlabs, row.name).toBe(0);
    expect(sim.slab.stats()).toEqual({ reclaimablePages: 0, unreclaimablePages: 0 });
    sim.pages.drainAllPages();
    expect(pageState(sim)).toBe(boot0);
    for (const c of caches) sim.slab.destroyCache(c);
    sim.check();
  });
});
