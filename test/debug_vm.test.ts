// The invariant checker of @mmsim/debug (debug_vm.ts): it passes on healthy state of
// every kind, reads without writing, and reports each kind of corruption
// with an ECORRUPT naming the pfn and what is wrong.
import {
  checkVm, createSimulator, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, isMmsimError, type MmsimError, PageOwner, PG_buddy, PG_lru,
  PG_slab, PG_reserved, runDefaultWorkload, type Simulator,
} from '@mmsim/defconfig';
import { simFingerprint } from '@mmsim/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const sims: Simulator[] = [];
afterEach(() => {
  for (const s of sims.splice(0)) s.dispose();
});

/** A 64M machine with the default workload's mix of pages: free blocks, kernel, slab, large kmalloc, anon and file pages on the LRU. */
async function loaded(pageAllocator = 'buddy'): Promise<Simulator> {
  const sim = await createSimulator({ machine: { memory: '64M', cpus: 2 }, plugins: { pageAllocator }, seed: 3 });
  sims.push(sim);
  runDefaultWorkload(sim, { ops: 4000, fill: 0.4 });
  sim.check();
  return sim;
}

/** pfns matching a predicate on the page-frame table. */
function find(sim: Simulator, pred: (page: number, pfn: number) => boolean): number[] {
  const m = sim.memory;
  const out: number[] = [];
  for (const r of m.presentRanges()) {
    for (let pfn = r.start; pfn < r.end; pfn++) if (pred(m.pfnToPage(pfn), pfn)) out.push(pfn);
  }
  return out;
}

/** Runs checkVm, expecting ECORRUPT; the check itself must change nothing. */
function corrupted(sim: Simulator, match: RegExp): MmsimError {
  const before = simFingerprint(sim);
  let err: unknown;
  try {
    checkVm(sim);
  } catch (e) {
    err = e;
  }
  expect(isMmsimError(err, 'ECORRUPT'), `expected ECORRUPT, got ${String(err)}`).toBe(true);
  expect((err as Error).message).toMatch(match);
  expect(simFingerprint(sim), 'checkVm must not change the state').toBe(before);
  // and sim.check() (every point's own check, then the INVARIANT_CHECK contributions) refuses it too
  expect(() => sim.check()).toThrowError(/ECORRUPT/);
  return err as MmsimError;
}

describe('debug_vm: checkVm on healthy state', () => {
  it('passes on every composition kind after a workload, and its counts add up', async () => {
    for (const pa of ['buddy', 'mmsim-plugin-bitmap']) {
      const sim = await loaded(pa);
      const before = simFingerprint(sim);
      const r = checkVm(sim);
      expect(simFingerprint(sim)).toBe(before);
      expect(r.mode).toBe(pa === 'buddy' ? 'flags' : 'opaque');
      expect(r.present).toBe(sim.topology.totalPresentPages);
      expect(r.reserved + r.free + r.pcp + r.allocated).toBe(r.present);
      expect(r.byOwner.SLAB).toBeGreaterThan(0);
      expect((r.byOwner.ANON ?? 0) + (r.byOwner.PAGE_CACHE ?? 0)).toBe(r.lru);
      expect(Object.values(r.byOwner).reduce((a, b) => a + b, 0)).toBe(r.allocated);
      const st = sim.slab.stats();
      expect((r.byOwner.SLAB ?? 0) + (r.byOwner.KMALLOC_LARGE ?? 0)).toBe(st.reclaimablePages + st.unreclaimablePages);
    }
  });

  it('passes at boot on machines with nodes, holes and HighMem', async () => {
    for (const machine of [
      { nodes: [{ memory: '48M', cpus: 1 }, { memory: '48M', cpus: 1 }] },
      { e820: [{ start: 0, end: '0x9fc00' }, { start: '1M', end: '40M' }, { start: '64M', end: '100M' }] },
      { memory: '1G', arch: 'x86_32' as const },
    ]) {
      const sim = await createSimulator({ machine });
      sims.push(sim);
      runDefaultWorkload(sim, { ops: 2000 });
      const r = checkVm(sim);
      expect(r.reserved + r.free + r.pcp + r.allocated).toBe(r.present);
    }
  });
});

describe('debug_vm: each kind of corruption is caught, naming the pfn', () => {
  it('a free page with a reference', async () => {
    const sim = await loaded();
    const [pfn] = find(sim, (p) => (sim.memory.pages.flags[p]! & PG_buddy) !== 0);
    sim.memory.pages.refcount[sim.memory.pfnToPage(pfn!)] = 1;
    const e = corrupted(sim, new RegExp(`pfn ${pfn} .*free page with refcount 1`));
    expect(e.details).toMatchObject({ pfn });
  });

  it('a page listed twice (a free block inside another)', async () => {
    const sim = await loaded();
    const t = sim.memory.pages;
    const [pfn] = find(sim, (p) => (t.flags[p]! & PG_buddy) !== 0 && t.private[p]! >= 1);
    const inner = sim.memory.pfnToPage(pfn! + 1);
    t.flags[inner]! |= PG_buddy;
    t.private[inner] = 0;
    corrupted(sim, new RegExp(`pfn ${pfn! + 1} .*listed twice`));
  });

  it('a lost page: neither free nor allocated', async () => {
    const sim = await loaded();
    const pfn = sim.pages.allocPages(GFP_KERNEL, 0)!;
    const page = sim.memory.pfnToPage(pfn);
    sim.memory.pages.refcount[page] = 0;
    sim.memory.pages.ownerKind[page] = PageOwner.NONE;
    corrupted(sim, new RegExp(`pfn ${pfn} .*neither free nor allocated`));
  });

  it('an allocated page without an owner', async () => {
    const sim = await loaded();
    const pfn = sim.pages.allocPages(GFP_KERNEL, 0)!;
    sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] = PageOwner.NONE;
    corrupted(sim, new RegExp(`pfn ${pfn} .*allocated \\(refcount 1\\) but owned by NONE`));
  });

  it('a page both free and allocated', async () => {
    const sim = await loaded();
    const pfn = sim.pages.allocPages(GFP_KERNEL, 2)!;
    const inner = sim.memory.pfnToPage(pfn + 2);
    sim.memory.pages.flags[inner]! |= PG_buddy;
    sim.memory.pages.private[inner] = 0;
    corrupted(sim, new RegExp(`pfn ${pfn + 2} .*both free and allocated.*block at pfn ${pfn}`));
  });

  it('mapcount above refcount, and a mapped kernel page', async () => {
    const sim = await loaded();
    const t = sim.memory.pages;
    const [anon] = find(sim, (p) => t.ownerKind[p] === PageOwner.ANON);
    t.mapcount[sim.memory.pfnToPage(anon!)] = 2;
    corrupted(sim, new RegExp(`pfn ${anon} .*mapcount 2 above refcount 1`));
    t.mapcount[sim.memory.pfnToPage(anon!)] = 0;
    const k = sim.pages.allocPages(GFP_KERNEL, 0)!;
    t.mapcount[sim.memory.pfnToPage(k)] = 1;
    corrupted(sim, new RegExp(`pfn ${k} .*mapped \\(mapcount 1\\) but owned by KERNEL`));
  });

  it('LRU membership that disagrees with PG_lru', async () => {
    const sim = await loaded();
    const pfn = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]! |= PG_lru;
    corrupted(sim, /node 0: the LRU lists hold \d+ anon \/ \d+ file \/ 0 unevictable pages, page flags say/);
  });

  it('PG_slab on a page the slab allocator does not own; slab pages the allocator does not count', async () => {
    const sim = await loaded();
    const t = sim.memory.pages;
    const pfn = sim.pages.allocPages(GFP_KERNEL, 0)!;
    const page = sim.memory.pfnToPage(pfn);
    t.flags[page]! |= PG_slab;
    corrupted(sim, new RegExp(`pfn ${pfn} .*PG_slab set but owned by KERNEL`));
    t.ownerKind[page] = PageOwner.SLAB;
    t.owner[page] = sim.slab.caches()[0]!.id;
    corrupted(sim, /slab: \d+ slab pages \+ \d+ large kmalloc pages in the page table, but the allocator reports/);
  });

  it('a tail page of a slab owned by someone else', async () => {
    const sim = await loaded();
    const t = sim.memory.pages;
    const [head] = find(sim, (p, pfn) => t.ownerKind[p] === PageOwner.SLAB && t.refcount[p]! > 0 && t.ownerKind[sim.memory.pfnToPage(pfn + 1)] === PageOwner.SLAB && t.refcount[sim.memory.pfnToPage(pfn + 1)] === 0);
    t.ownerKind[sim.memory.pfnToPage(head! + 1)] = PageOwner.ANON;
    corrupted(sim, new RegExp(`pfn ${head! + 1} .*tail of the SLAB block at pfn ${head} but owned by ANON`));
  });

  it('an allocated block head with an impossible order', async () => {
    const sim = await loaded();
    const pfn = sim.pages.allocPages(GFP_KERNEL, 0)!;
    sim.memory.pages.private[sim.memory.pfnToPage(pfn)] = 99;
    corrupted(sim, new RegExp(`pfn ${pfn} .*KERNEL block head with order 99`));
  });

  it('NR_FREE_PAGES that disagrees with the free areas', async () => {
    const sim = await loaded();
    sim.topology.populatedZones[1]!.stats.nrFreePages++;
    corrupted(sim, /zone DMA32: free areas hold \d+ pages but NR_FREE_PAGES is \d+/);
  });

  it('reserved pages that disagree with present - managed', async () => {
    const sim = await loaded();
    sim.topology.populatedZones[1]!.managedPages--;
    corrupted(sim, /zone DMA32: \d+ present pages are reserved but present - managed is \d+/);
  });

  it('a hole in use, and a zone whose ranges disagree with present_pages', async () => {
    const sim = await loaded();
    // flatmem: pfn 0 is a hole with a struct page (reserved, never handed out)
    const t = sim.memory.pages;
    expect(t.flags[sim.memory.pfnToPage(0)]! & PG_reserved).toBeTruthy();
    t.refcount[sim.memory.pfnToPage(0)] = 1;
    corrupted(sim, /pfn 0: not in any present range \(a hole or offline\) but in use/);
    t.refcount[sim.memory.pfnToPage(0)] = 0;
    sim.check();
    sim.topology.populatedZones[0]!.presentPages++;
    corrupted(sim, /node 0 zone DMA: present_pages is \d+ but its ranges hold \d+ pages/);
  });
});
