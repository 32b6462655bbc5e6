import { LruList, PG_locked, PG_lru, PG_reclaim, PG_uptodate, type Simulator } from '@mmsim/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Filemap } from './filemap.js';
import { processSim } from './compose.test.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const PAGE = 4096;

let sim: Simulator;
afterEach(() => sim?.dispose());

const fm = (): Filemap => sim.pageCache as Filemap;
/** Which file pages of `ino` are cached, as [first, last] runs. */
function cachedRuns(ino: number, pages: number): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = 0; i < pages; i++) {
    if (sim.pageCache.findPage(ino, i) < 0) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else runs.push([i, i]);
  }
  return runs;
}
const flagsOf = (pfn: number): number => sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]!;
const fileLru = (): [number, number] => {
  const l = sim.reclaim.lruSizes(0);
  return [l[LruList.INACTIVE_FILE]!, l[LruList.ACTIVE_FILE]!];
};

describe('files', () => {
  it('creates files with inode numbers from 1, looks them up, refuses a second file of a path', async () => {
    sim = await processSim();
    const a = sim.pageCache.create('/data/a', 10_000);
    const b = sim.pageCache.create('/data/b', 0);
    expect([a.ino, b.ino]).toEqual([1, 2]);
    expect(sim.pageCache.lookup('/data/a')).toBe(a);
    expect(sim.pageCache.file(2).path).toBe('/data/b');
    expect(() => sim.pageCache.create('/data/a', 1)).toThrow(/exists/);
    expect(() => sim.pageCache.file(3)).toThrow(/inode number 3/);
    expect(() => sim.pageCache.create('/x', -1)).toThrow(/EBAD_SIZE/);
    expect(sim.pageCache.cachedPages(a.ino)).toBe(0);
    sim.check();
  });
});

describe('ondemand readahead', () => {
  it('a sequential 4 KiB read of 1 MiB grows the window 4, 8, 16, 32 pages and then reads 32 at a time, the first page of each window marked', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/big', 1 * MiB);
    const seen: number[] = [];
    const windows: [number, number][] = [];
    const before = sim.vmstat.events.pgpgin ?? 0;
    for (let i = 0; i < 256; i++) {
      const r = sim.pageCache.read(0, f.ino, i * PAGE, PAGE);
      expect(r.bytes).toBe(PAGE);
      const n = sim.pageCache.cachedPages(f.ino);
      if (r.readIn > 0) windows.push([n - r.readIn, r.readIn]);
      seen.push(n);
    }
    // [first page, pages] of each readahead: the sync window at 0, then one async window each time the marked page is read
    expect(windows).toEqual([
      [0, 4], [4, 8], [12, 16], [28, 32], [60, 32], [92, 32], [124, 32], [156, 32], [188, 32], [220, 32], [252, 4],
    ]);
    expect(seen.slice(0, 13)).toEqual([4, 12, 12, 12, 28, 28, 28, 28, 28, 28, 28, 28, 60]);
    expect((sim.vmstat.events.pgpgin ?? 0) - before).toBe(1024);
    expect(sim.vmstat.node.nr_file_pages).toBeGreaterThanOrEqual(256);
    // every readahead mark was consumed; none left past the end of the file
    for (let i = 0; i < 256; i++) expect(flagsOf(sim.pageCache.findPage(f.ino, i)) & PG_reclaim).toBe(0);
    sim.check();
  });

  it('the marks sit where the windows put them: page 1 after the first read, page 4 after the second', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/m', 1 * MiB);
    sim.pageCache.read(0, f.ino, 0, PAGE);
    const marked = () => [...Array(64).keys()].filter((i) => { const p = sim.pageCache.findPage(f.ino, i); return p >= 0 && flagsOf(p) & PG_reclaim; });
    expect(marked()).toEqual([1]);
    sim.pageCache.read(0, f.ino, PAGE, PAGE);
    expect(marked()).toEqual([4]);
    expect(cachedRuns(f.ino, 256)).toEqual([[0, 11]]);
  });

  it('one 1 MiB read() reads the file in one window as large as the request (up to the device\'s io_pages)', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/one', 1 * MiB);
    const r = sim.pageCache.read(0, f.ino, 0, 1 * MiB);
    expect(r).toEqual({ bytes: 1 * MiB, pages: 256, readIn: 256 });
    expect(sim.pageCache.cachedPages(f.ino)).toBe(256);
    sim.check();
  });

  it('random 4 KiB reads read only the pages asked for', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/rand', 64 * MiB);
    const at = [9000, 123, 5000, 77, 14000, 3000, 10001, 600];
    for (const p of at) {
      const r = sim.pageCache.read(0, f.ino, p * PAGE, PAGE);
      expect(r.readIn).toBe(1);
    }
    expect(sim.pageCache.cachedPages(f.ino)).toBe(at.length);
    sim.check();
  });

  it('reads at or past the end of the file return 0; a read across it stops there', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/short', 10_000);
    expect(sim.pageCache.read(0, f.ino, 10_000, 100).bytes).toBe(0);
    // a random read: just the pages asked for that exist (do_page_cache_ra stops at the last page)
    expect(sim.pageCache.read(0, f.ino, 8000, 10_000)).toEqual({ bytes: 2000, pages: 2, readIn: 2 });
    expect(cachedRuns(f.ino, 8)).toEqual([[1, 2]]);
    sim.check();
  });

  it('reading takes simulated time on the device', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/t', 8 * MiB);
    const t0 = sim.clock.now();
    sim.pageCache.read(0, f.ino, 0, 8 * MiB);
    // 2048 pages at 500 MB/s is 16.8 ms, plus one request latency per 320-page request
    const dt = sim.clock.now() - t0;
    expect(dt).toBeGreaterThan(16e6);
    expect(dt).toBeLessThan(20e6);
  });
});

describe('the LRU', () => {
  it('a sequential read leaves its pages on the inactive file list; reading the file again activates them', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/lru', 4 * MiB);
    const [i0, a0] = fileLru();
    for (let off = 0; off < 4 * MiB; off += 64 * KiB) sim.pageCache.read(0, f.ino, off, 64 * KiB);
    const [i1, a1] = fileLru();
    expect(i1 - i0).toBe(1024);
    expect(a1 - a0).toBe(0);
    const p = sim.pageCache.findPage(f.ino, 10);
    expect(flagsOf(p) & PG_lru).toBe(PG_lru);
    for (let off = 0; off < 4 * MiB; off += 64 * KiB) sim.pageCache.read(0, f.ino, off, 64 * KiB);
    const [i2, a2] = fileLru();
    expect(i2 - i0).toBe(0);
    expect(a2 - a0).toBe(1024);
    sim.check();
  });
});

describe('faults', () => {
  it('filemap_fault reads around the faulting page and counts a major fault; the next fault nearby is minor', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/mm', 4 * MiB);
    const before = sim.vmstat.events.pgmajfault ?? 0;
    const got = sim.pageCache.faultPage(f.ino, 100);
    expect(got).not.toBeNull();
    expect(got).not.toBe('sigbus');
    const { pfn, major } = got as { pfn: number; major: boolean };
    expect(major).toBe(true);
    expect(sim.vmstat.events.pgmajfault).toBe(before + 1);
    // read-around: ra_pages (32) from 100 − 16
    expect(cachedRuns(f.ino, 1024)).toEqual([[84, 115]]);
    // the caller got a reference for its PTE
    expect(sim.memory.pages.refcount[sim.memory.pfnToPage(pfn)]).toBe(2);
    const again = sim.pageCache.faultPage(f.ino, 101) as { major: boolean };
    expect(again.major).toBe(false);
    expect(sim.pageCache.faultPage(f.ino, 1024)).toBe('sigbus');
    sim.pages.freePages(pfn, 0);
    sim.pages.freePages(sim.pageCache.findPage(f.ino, 101), 0);
    sim.check();
  });
});

describe('drop_caches and reclaim', () => {
  it('drop_caches 1 frees only clean, unmapped pages not under I/O and counts drop_pagecache', async () => {
    sim = await processSim();
    const clean = sim.pageCache.create('/clean', 1 * MiB);
    const dirty = sim.pageCache.create('/dirty', 0);
    sim.pageCache.read(0, clean.ino, 0, 1 * MiB);
    sim.pageCache.write(0, dirty.ino, 0, 64 * KiB);
    const mapped = sim.pageCache.faultPage(clean.ino, 5) as { pfn: number };
    const filePages = sim.vmstat.node.nr_file_pages!;
    const freed = sim.pageCache.dropCaches(1);
    expect(freed).toBe(255);
    expect(sim.pageCache.cachedPages(clean.ino)).toBe(1);
    expect(sim.pageCache.findPage(clean.ino, 5)).toBe(mapped.pfn);
    expect(sim.pageCache.cachedPages(dirty.ino)).toBe(16);
    expect(sim.vmstat.node.nr_file_pages).toBe(filePages - 255);
    expect(sim.vmstat.events.drop_pagecache).toBe(1);
    sim.pages.freePages(mapped.pfn, 0);
    sim.check();
    // writing the sysctl drops too
    sim.pageCache.fsync(dirty.ino);
    sim.sysctl.set('vm.drop_caches', 3);
    expect(sim.pageCache.cachedPages(dirty.ino)).toBe(0);
    expect(sim.vmstat.events.drop_pagecache).toBe(2);
    expect(sim.vmstat.events.drop_slab).toBe(1);
    sim.check();
  });

  it('reclaim evicts clean page-cache pages through the owner, not dirty ones', async () => {
    // no periodic flush: the dirty file stays dirty
    sim = await processSim({ machine: { memory: '256M' }, sysctl: { 'vm.dirty_writeback_centisecs': 0 } });
    const dirty = sim.pageCache.create('/dirty', 0);
    sim.pageCache.write(0, dirty.ino, 0, 1 * MiB);
    const big = sim.pageCache.create('/huge', 1024 * MiB);
    // more than memory: reclaim must evict earlier pages to make room
    for (let off = 0; off < 512 * MiB; off += 1 * MiB) sim.pageCache.read(0, big.ino, off, 1 * MiB);
    expect(sim.pageCache.cachedPages(big.ino)).toBeLessThan(65536);
    expect(sim.vmstat.events.pgsteal_file ?? 0).toBeGreaterThan(0);
    expect(sim.pageCache.cachedPages(dirty.ino)).toBe(256);
    expect(sim.vmstat.node.nr_dirty).toBe(256);
    sim.check();
  });

  it('migrating a page-cache page moves it in the index', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/mig', 64 * KiB);
    sim.pageCache.read(0, f.ino, 0, 64 * KiB);
    const old = sim.pageCache.findPage(f.ino, 2);
    const dst = sim.pages.allocPages(0xcc0, 0)!;
    expect(sim.pageOwners.isMovable(old)).toBe(true);
    sim.pageOwners.migratePage(old, dst);
    sim.pages.freePages(old, 0);
    expect(sim.pageCache.findPage(f.ino, 2)).toBe(dst);
    expect(sim.memory.pages.index[sim.memory.pfnToPage(dst)]).toBe(2);
    expect(sim.pageOwners.describe(dst)).toBe('page cache: /mig (ino 1) page 2');
    sim.check();
  });

  it('pages being read are locked and not evictable', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/lock', 1 * MiB);
    sim.pageCache.read(0, f.ino, 0, 4096);
    sim.pageCache.read(0, f.ino, 4096, 4096);
    // the async window [4, 12) is still being read
    const p = sim.pageCache.findPage(f.ino, 8);
    expect(flagsOf(p) & (PG_locked | PG_uptodate)).toBe(PG_locked);
    expect(sim.pageCache.dropCaches(1)).toBe(4);
    sim.check();
    sim.tick(1);
    expect(flagsOf(p) & (PG_locked | PG_uptodate)).toBe(PG_uptodate);
    sim.check();
  });
});

describe('snapshots', () => {
  it('a snapshot carries files, cached pages, readahead state, dirty pages and swap; the restored simulator goes on', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/snap', 1 * MiB);
    const w = sim.pageCache.create('/wsnap', 0);
    sim.pageCache.read(0, f.ino, 0, 4096);
    sim.pageCache.read(0, f.ino, 4096, 4096);
    sim.pageCache.write(0, w.ino, 0, 64 * KiB);
    sim.swap.swapon({ size: 16 * MiB, prio: 3 });
    const e = sim.swap.getSwapPage();
    const snap = sim.snapshot();
    const restored = await processSim({ restore: snap });
    try {
      expect(restored.proc('swaps')).toBe(sim.proc('swaps'));
      expect(restored.swap.swapCount(e)).toBe(1);
      expect(restored.pageCache.lookup('/snap')!.ino).toBe(f.ino);
      expect(restored.pageCache.cachedPages(f.ino)).toBe(12);
      restored.check();
      // the window goes on where it was: page 4 is the mark
      for (let i = 2; i < 5; i++) restored.pageCache.read(0, f.ino, i * 4096, 4096);
      expect(restored.pageCache.cachedPages(f.ino)).toBe(28);
      restored.tick(40_000);
      expect(restored.vmstat.node.nr_dirty).toBe(0);
      expect(restored.vmstat.node.nr_written).toBe(16);
      restored.check();
    } finally {
      restored.dispose();
    }
  });
});
