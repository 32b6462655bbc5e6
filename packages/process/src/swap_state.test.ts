import { PageOwner, PG_dirty, PG_swapcache, type Simulator } from '@mmsim/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { SwapFile } from './swapfile.js';
import { processSim } from './compose.test.js';

let sim: Simulator;
afterEach(() => sim?.dispose());

const MiB = 2 ** 20;
const swap = (): SwapFile => sim.swap as SwapFile;
/** An anonymous page of the kernel's to put in the swap cache. */
function anonPage(): number {
  const pfn = sim.pages.allocPages(0xcc0, 0)!;
  const page = sim.memory.pfnToPage(pfn);
  sim.memory.pages.ownerKind[page] = PageOwner.ANON;
  return pfn;
}

describe('the swap cache', () => {
  it('adds a page with PG_swapcache, counts it in nr_swapcached, SwapCached and nr_file_pages, and holds the slot', async () => {
    sim = await processSim();
    sim.swap.swapon({ size: 1 * MiB });
    const e = sim.swap.getSwapPage();
    const pfn = anonPage();
    const files = sim.vmstat.node.nr_file_pages!;
    sim.swap.addToSwapCache(pfn, e);
    const page = sim.memory.pfnToPage(pfn);
    expect(sim.memory.pages.flags[page]! & PG_swapcache).toBe(PG_swapcache);
    expect(sim.swap.lookupSwapCache(e)).toBe(pfn);
    expect(sim.swap.pageSwapEntry(pfn)).toBe(e);
    expect(sim.vmstat.node.nr_swapcached).toBe(1);
    expect(sim.vmstat.node.nr_file_pages).toBe(files + 1);
    expect(sim.proc('meminfo')).toMatch(/^SwapCached:\s+4 kB$/m);
    expect(() => sim.swap.addToSwapCache(pfn, e)).toThrow(/already/);
    sim.check();
    // the last holder goes: the cache still holds the slot
    const free = sim.swap.free;
    sim.swap.swapFree(e);
    expect(sim.swap.free).toBe(free);
    expect(sim.swap.swapCount(e)).toBe(0);
    sim.swap.deleteFromSwapCache(pfn);
    expect(sim.swap.free).toBe(free + 1);
    expect(sim.memory.pages.flags[page]! & PG_swapcache).toBe(0);
    expect(sim.swap.lookupSwapCache(e)).toBe(-1);
    expect(sim.swap.pageSwapEntry(pfn)).toBe(-1);
    expect(sim.vmstat.node.nr_swapcached).toBe(0);
    sim.pages.freePages(pfn, 0);
    sim.check();
  });

  it('migration of a swap-cache page moves the cache entry', async () => {
    sim = await processSim();
    sim.swap.swapon({ size: 1 * MiB });
    const e = sim.swap.getSwapPage();
    const pfn = anonPage();
    sim.swap.addToSwapCache(pfn, e);
    const dst = sim.pages.allocPages(0xcc0, 0)!;
    swap().migrateSwapCache(pfn, dst);
    expect(sim.swap.lookupSwapCache(e)).toBe(dst);
    expect(sim.swap.pageSwapEntry(dst)).toBe(e);
    expect(sim.swap.pageSwapEntry(pfn)).toBe(-1);
  });

  it('writePage and readPage take device time and count pswpout / pswpin and pgpgout / pgpgin in KiB', async () => {
    sim = await processSim();
    sim.swap.swapon({ size: 1 * MiB });
    const e = sim.swap.getSwapPage();
    const t0 = sim.clock.now();
    const ev = sim.vmstat.events;
    const out0 = ev.pgpgout ?? 0;
    sim.swap.writePage(e);
    sim.swap.readPage(e);
    expect(ev.pswpout).toBe(1);
    expect(ev.pswpin).toBe(1);
    expect((ev.pgpgout ?? 0) - out0).toBe(4);
    expect(sim.proc('vmstat')).toMatch(/^pswpout 1$/m);
    // 100 µs + 4096 bytes at 500 MB/s, twice
    expect(sim.clock.now() - t0).toBe(2 * (100_000 + 8192));
    expect(() => sim.swap.writePage(e + 1)).toThrow(/not allocated/);
  });

  it('swapoff takes the swap-cache pages nobody holds out of the cache, dirty (folio_free_swap)', async () => {
    sim = await processSim();
    const type = sim.swap.swapon({ size: 1 * MiB });
    const e = sim.swap.getSwapPage();
    const pfn = anonPage();
    sim.swap.addToSwapCache(pfn, e);
    sim.swap.swapFree(e);
    expect(sim.swap.devices()[0]!.inuse).toBe(1);
    expect(sim.swap.swapoff(type)).toBe(0);
    const page = sim.memory.pfnToPage(pfn);
    expect(sim.memory.pages.flags[page]! & (PG_swapcache | PG_dirty)).toBe(PG_dirty);
    expect(sim.vmstat.node.nr_swapcached).toBe(0);
    expect(sim.swap.devices()).toEqual([]);
    sim.pages.freePages(pfn, 0);
    sim.check();
  });
});
