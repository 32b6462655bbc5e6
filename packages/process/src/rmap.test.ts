import { ENOMEM, GFP_HIGHUSER_MOVABLE, PAGE_SIZE, PageOwner, type Simulator } from '@mmsim/core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProcessLayer } from './fork.js';
import { totalramPages } from './util.js';
import { freePages, HAVE_SWAP, MiB, processSim } from './compose.test.js';

function pfnAt(sim: Simulator, pid: number, addr: number): number {
  const mm = (sim.processes as ProcessLayer).mmOf(pid);
  return mm.pt.ptes.get(Math.floor(addr / 2 ** 21))!.entry[(addr % 2 ** 21) / PAGE_SIZE]! - 1;
}

describe('reverse mapping', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await processSim();
  });

  it('an anonymous page is owned by its anon_vma, indexed by its virtual page, and described through the rmap', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'own' });
    const a = p.mmap(t.pid, PAGE_SIZE);
    p.access(t.pid, a, true);
    const pfn = pfnAt(sim, t.pid, a);
    const page = sim.memory.pfnToPage(pfn);
    expect(sim.memory.pages.ownerKind[page]).toBe(PageOwner.ANON);
    expect(sim.memory.pages.index[page]).toBe(a / PAGE_SIZE);
    const d = sim.pageOwners.describe(pfn)!;
    expect(d).toContain(`anon page at 0x${a.toString(16)}`);
    expect(d).toContain(`mapped by mm ${t.mm!.id}`);
    // fork links the child's VMA to the same anon_vma: both mappers are found
    const c = p.fork(t.pid);
    expect(sim.pageOwners.describe(pfn)).toContain(`mapped by mm ${t.mm!.id}, ${c.mm!.id}`);
  });

  it('migration moves a mapped page: the PTE follows, the page keeps its index and owner', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'mig' });
    const a = p.mmap(t.pid, 2 * PAGE_SIZE);
    p.touch(t.pid, a, 2 * PAGE_SIZE, { write: true });
    const src = pfnAt(sim, t.pid, a);
    expect(sim.pageOwners.isMovable(src)).toBe(true);
    const dst = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    sim.pageOwners.migratePage(src, dst);
    sim.pages.freePages(src, 0);
    expect(pfnAt(sim, t.pid, a)).toBe(dst);
    const t2 = sim.memory.pages;
    expect(t2.index[sim.memory.pfnToPage(dst)]).toBe(a / PAGE_SIZE);
    expect(t2.mapcount[sim.memory.pfnToPage(dst)]).toBe(1);
    expect(p.access(t.pid, a, true)).toBe('none');
    sim.check();
    p.exit(t.pid);
    sim.check();
  });

  it('a page shared copy-on-write is not movable (another reference holds it)', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'pin' });
    const a = p.mmap(t.pid, PAGE_SIZE);
    p.access(t.pid, a, true);
    p.fork(t.pid);
    expect(sim.pageOwners.isMovable(pfnAt(sim, t.pid, a))).toBe(false);
  });

  it('without a swap entry reclaim cannot evict an anonymous page', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'keep' });
    const a = p.mmap(t.pid, PAGE_SIZE);
    p.access(t.pid, a, true);
    expect(sim.pageOwners.evict(pfnAt(sim, t.pid, a))).toBe(false);
    expect(t.anonRss).toBe(1);
  });

  it('the process-rmap check finds a wrong mapcount and a wrong counter', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'bad' });
    const a = p.mmap(t.pid, PAGE_SIZE);
    p.access(t.pid, a, true);
    sim.check();
    const page = sim.memory.pfnToPage(pfnAt(sim, t.pid, a));
    sim.memory.pages.mapcount[page] = 2;
    sim.memory.pages.refcount[page] = 2;
    expect(() => sim.check()).toThrow(/mapcount 2 but 1 PTEs/);
    sim.memory.pages.mapcount[page] = 1;
    sim.memory.pages.refcount[page] = 1;
    t.mm!.counters.anonRss++;
    expect(() => sim.check()).toThrow(/counters anon 2/);
  });

  it('shared anonymous memory is one shmem object: a forked child sees the parent\'s pages, counted as RssShmem', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'shm' });
    const a = p.mmap(t.pid, 4 * PAGE_SIZE, { shared: true });
    const shmem0 = sim.vmstat.node.nr_shmem!;
    p.touch(t.pid, a, 4 * PAGE_SIZE, { write: true });
    expect(t.shmemRss).toBe(4);
    expect(t.anonRss).toBe(0);
    expect(sim.vmstat.node.nr_shmem).toBe(shmem0 + 4);
    const c = p.fork(t.pid);
    expect(c.shmemRss).toBe(0);
    // a page faulted after the fork, by either side, is the other's too
    const b = p.mmap(t.pid, PAGE_SIZE, { shared: true });
    const c2 = p.fork(t.pid);
    p.access(c2.pid, b, true);
    p.access(t.pid, b, false);
    expect(pfnAt(sim, t.pid, b)).toBe(pfnAt(sim, c2.pid, b));
    p.exit(c2.pid);
    p.munmap(t.pid, b, PAGE_SIZE);
    expect(p.touch(c.pid, a, 4 * PAGE_SIZE, { write: true }).minor).toBe(4);
    expect(pfnAt(sim, c.pid, a)).toBe(pfnAt(sim, t.pid, a));
    expect(c.shmemRss).toBe(4);
    sim.check();
    p.exit(t.pid);
    expect(sim.vmstat.node.nr_shmem).toBe(shmem0 + 4);
    p.exit(c.pid);
    expect(sim.vmstat.node.nr_shmem).toBe(shmem0);
    sim.check();
  });

  it('a snapshot carries the address spaces; the restored simulator faults on from there', async () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'snap' });
    const a = p.mmap(t.pid, 8 * PAGE_SIZE);
    p.touch(t.pid, a, 4 * PAGE_SIZE, { write: true });
    const snap = sim.snapshot();
    const sim2 = await processSim({ restore: snap });
    const t2 = sim2.tasks.get(t.pid);
    expect(t2.anonRss).toBe(4);
    expect(sim2.processes.touch(t.pid, a, 8 * PAGE_SIZE, { write: true })).toEqual({ hits: 4, minor: 4, major: 0 });
    sim2.check();
    sim2.processes.exit(t.pid);
    sim2.check();
  });
});


describe.skipIf(!HAVE_SWAP)('anonymous pages and swap', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await processSim({ machine: { memory: '256M' } });
    expect(sim.swap.swapon({ size: 512 * MiB })).toBeGreaterThanOrEqual(0);
  });

  it('try_to_unmap puts the swap entry in every PTE of a page shared since fork; faults bring it back once', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'par' });
    const a = p.mmap(t.pid, 2 * PAGE_SIZE);
    p.touch(t.pid, a, 2 * PAGE_SIZE, { write: true });
    const c = p.fork(t.pid);
    const pfn = pfnAt(sim, t.pid, a);
    // what the engine does: a slot, the write, the owner's unmap, then its own hold dropped
    const swap = sim.swap;
    const entry = swap.getSwapPage();
    sim.reclaim.pageRemoved(pfn);
    swap.writePage(entry);
    expect(sim.pageOwners.evict(pfn, entry)).toBe(true);
    swap.swapFree(entry);
    expect(swap.swapCount(entry)).toBe(2);
    expect([t.anonRss, t.swapents, c.anonRss, c.swapents]).toEqual([1, 1, 1, 1]);
    sim.check();
    const maj = sim.vmstat.events.pgmajfault ?? 0;
    expect(p.access(c.pid, a, false)).toBe('major');
    expect(c.majFlt).toBe(1);
    expect(sim.vmstat.events.pgmajfault).toBe(maj + 1);
    const back = pfnAt(sim, c.pid, a);
    // the parent finds it in the swap cache: a minor fault, the same page
    expect(p.access(t.pid, a, false)).toBe('minor');
    expect(pfnAt(sim, t.pid, a)).toBe(back);
    expect(swap.swapCount(entry)).toBe(0);
    expect(swap.lookupSwapCache(entry)).toBe(-1);
    expect([t.anonRss, t.swapents, c.anonRss, c.swapents]).toEqual([2, 0, 2, 0]);
    // shared again: a write copies
    expect(p.access(c.pid, a, true)).toBe('minor');
    expect(pfnAt(sim, c.pid, a)).not.toBe(back);
    sim.check();
  });

  it('memory pressure swaps anonymous pages out through reclaim; touching them again is major faults', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'hog' });
    const size = 300 * MiB;
    const a = p.mmap(t.pid, size);
    const r = p.touch(t.pid, a, size, { write: true });
    expect(r.killed).toBeUndefined();
    expect(t.anonRss + t.swapents).toBe(size / PAGE_SIZE);
    expect(t.swapents).toBeGreaterThan(0);
    expect(sim.vmstat.events.pswpout).toBeGreaterThan(0);
    sim.check();
    const r2 = p.touch(t.pid, a, size);
    expect(r2.major).toBeGreaterThan(0);
    expect(r2.major + r2.minor + r2.hits).toBe(size / PAGE_SIZE);
    sim.check();
    const before = sim.swap.free;
    p.exit(t.pid);
    expect(sim.swap.free).toBeGreaterThan(before);
    expect(sim.swap.free).toBe(sim.swap.total);
    sim.check();
  });

  it('swapoff brings every swapped page back (try_to_unuse)', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'off' });
    const size = 280 * MiB;
    const a = p.mmap(t.pid, size);
    p.touch(t.pid, a, size, { write: true });
    expect(t.swapents).toBeGreaterThan(0);
    p.munmap(t.pid, a, 100 * MiB);
    const type = sim.swap.devices()[0]!.type;
    expect(sim.swap.swapoff(type)).toBe(0);
    expect(t.swapents).toBe(0);
    expect(t.anonRss).toBe(180 * MiB / PAGE_SIZE);
    sim.check();
  });

  it('overcommit 0 counts swap: exactly MemTotal + SwapTotal is granted, 64 pages more refused', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'ov', uid: 1000 });
    const limit = totalramPages(sim.topology) + sim.swap.total;
    expect(sim.swap.total).toBe(512 * MiB / PAGE_SIZE - 1);
    expect(p.mmap(t.pid, (limit + 64) * PAGE_SIZE)).toBe(-ENOMEM);
    expect(p.mmap(t.pid, limit * PAGE_SIZE)).toBeGreaterThan(0);
  });

  it('exit of a task with swapped pages frees their slots and its memory', () => {
    const p = sim.processes;
    const before = freePages(sim);
    const t = p.spawn({ comm: 'x' });
    const a = p.mmap(t.pid, 4 * PAGE_SIZE);
    p.touch(t.pid, a, 4 * PAGE_SIZE, { write: true });
    const pfn = pfnAt(sim, t.pid, a);
    const e = sim.swap.getSwapPage();
    sim.reclaim.pageRemoved(pfn);
    expect(sim.pageOwners.evict(pfn, e)).toBe(true);
    sim.swap.swapFree(e);
    expect(t.swapents).toBe(1);
    p.exit(t.pid);
    expect(sim.swap.free).toBe(sim.swap.total);
    expect(freePages(sim)).toBe(before);
    sim.check();
  });
});
