import { PageOwner, PG_dirty, PG_uptodate, PG_writeback, type Simulator } from '@mmsim/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { Filemap } from './filemap.js';
import { globalDirtyableMemory } from './page-writeback.js';
import { processSim } from './compose.test.js';

const KiB = 1024;
const MiB = 1024 * KiB;

let sim: Simulator;
afterEach(() => sim?.dispose());

const fm = (): Filemap => sim.pageCache as Filemap;
const flagsOf = (pfn: number): number => sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]!;

describe('write, dirty pages and writeback', () => {
  it('a write allocates dirty pages, extends i_size and counts nr_dirty and nr_dirtied', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/w', 0);
    expect(sim.pageCache.write(0, f.ino, 0, 100 * KiB)).toBe(100 * KiB);
    expect(f.size).toBe(100 * KiB);
    expect(sim.pageCache.cachedPages(f.ino)).toBe(25);
    expect(sim.vmstat.node.nr_dirty).toBe(25);
    expect(sim.vmstat.node.nr_dirtied).toBe(25);
    const p = sim.pageCache.findPage(f.ino, 3);
    expect(flagsOf(p) & (PG_dirty | PG_uptodate)).toBe(PG_dirty | PG_uptodate);
    expect(sim.memory.pages.ownerKind[sim.memory.pfnToPage(p)]).toBe(PageOwner.PAGE_CACHE);
    // nothing read: the file had no data there
    expect(sim.vmstat.events.pgpgin ?? 0).toBe(0);
    sim.check();
  });

  it('a partial write of a page with data on the device reads it first', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/p', 64 * KiB);
    sim.pageCache.write(0, f.ino, 100, 10);
    expect(sim.vmstat.events.pgpgin).toBe(4);
    expect(f.size).toBe(64 * KiB);
    sim.check();
  });

  it('the flusher writes data older than dirty_expire_centisecs; writeback completes as time passes', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/old', 0);
    sim.pageCache.write(0, f.ino, 0, 1 * MiB);
    expect(sim.vmstat.node.nr_dirty).toBe(256);
    sim.tick(25_000);
    expect(sim.vmstat.node.nr_dirty).toBe(256); // not 30 s old yet
    sim.tick(5_000);
    // the flusher ran at 30 s: all under writeback, done ~2 ms later
    expect((sim.vmstat.node.nr_dirty ?? 0) + (sim.vmstat.node.nr_writeback ?? 0)).toBe(256);
    expect(sim.vmstat.node.nr_dirty).toBe(0);
    sim.check();
    sim.tick(10);
    expect(sim.vmstat.node.nr_writeback).toBe(0);
    expect(sim.vmstat.node.nr_written).toBe(256);
    expect(sim.vmstat.events.pgpgout).toBe(1024);
    const p = sim.pageCache.findPage(f.ino, 0);
    expect(flagsOf(p) & (PG_dirty | PG_writeback)).toBe(0);
    sim.check();
  });

  it('dirty pages above the background threshold start background writeback', async () => {
    sim = await processSim({ sysctl: { 'vm.dirty_background_bytes': 4 * MiB } });
    const f = sim.pageCache.create('/bg', 0);
    sim.pageCache.write(0, f.ino, 0, 8 * MiB);
    const [bg] = fm().wb.limits();
    expect(bg).toBe(1024);
    // the writer is never over the dirty threshold, but background writeback has taken the excess
    expect(sim.vmstat.node.nr_dirty).toBeLessThanOrEqual(1024 + 32);
    expect(sim.vmstat.node.nr_writeback).toBeGreaterThan(0);
    sim.check();
    sim.tick(100);
    expect(sim.vmstat.node.nr_writeback).toBe(0);
    expect(sim.vmstat.node.nr_dirty).toBeLessThanOrEqual(1024 + 32);
    sim.check();
  });

  it('above vm.dirty_bytes the writer waits for writeback', async () => {
    sim = await processSim({ sysctl: { 'vm.dirty_bytes': 2 * MiB, 'vm.dirty_background_bytes': 1 * MiB } });
    const f = sim.pageCache.create('/th', 0);
    const t0 = sim.clock.now();
    sim.pageCache.write(0, f.ino, 0, 64 * MiB);
    // 16384 pages, at most 512 + 32 of them dirty or under writeback when the write returns
    expect((sim.vmstat.node.nr_dirty ?? 0) + (sim.vmstat.node.nr_writeback ?? 0)).toBeLessThanOrEqual(512 + 32);
    // the writer waited for most of the 64 MiB to reach the device (≈ 134 ms at 500 MB/s)
    expect(sim.clock.now() - t0).toBeGreaterThan(100e6);
    sim.check();
  });

  it('fsync writes the file\'s dirty pages and waits for them', async () => {
    sim = await processSim();
    const a = sim.pageCache.create('/a', 0);
    const b = sim.pageCache.create('/b', 0);
    sim.pageCache.write(0, a.ino, 0, 400 * KiB);
    sim.pageCache.write(0, b.ino, 0, 40 * KiB);
    const t0 = sim.clock.now();
    expect(sim.pageCache.fsync(a.ino)).toBe(100);
    expect(sim.clock.now()).toBeGreaterThan(t0);
    expect(sim.vmstat.node.nr_writeback).toBe(0);
    expect(sim.vmstat.node.nr_dirty).toBe(10);
    expect(sim.pageCache.fsync(a.ino)).toBe(0);
    sim.check();
  });

  it('dirtyPage() dirties a cached page (a write through a shared mapping)', async () => {
    sim = await processSim();
    const f = sim.pageCache.create('/s', 64 * KiB);
    sim.pageCache.read(0, f.ino, 0, 4096);
    const p = sim.pageCache.findPage(f.ino, 0);
    sim.pageCache.dirtyPage(p);
    sim.pageCache.dirtyPage(p);
    expect(sim.vmstat.node.nr_dirty).toBe(1);
    expect(() => sim.pageCache.dirtyPage(0)).toThrow(/not a page-cache page/);
    sim.check();
  });

  it('vm.dirty_ratio and vm.dirty_bytes exclude each other, as their handlers do', async () => {
    sim = await processSim();
    sim.sysctl.set('vm.dirty_bytes', 1 * MiB);
    expect(sim.sysctl.get('vm.dirty_ratio')).toBe(0);
    sim.sysctl.set('vm.dirty_ratio', 30);
    expect(sim.sysctl.get('vm.dirty_bytes')).toBe(0);
    sim.sysctl.set('vm.dirty_background_bytes', 1 * MiB);
    expect(sim.sysctl.get('vm.dirty_background_ratio')).toBe(0);
    expect(() => sim.sysctl.set('vm.dirty_bytes', 4096)).toThrow(/ESYSCTL/);
    expect(() => sim.sysctl.set('vm.dirty_background_bytes', 0)).toThrow(/ESYSCTL/);
    expect(() => sim.sysctl.set('vm.dirty_ratio', 101)).toThrow(/ESYSCTL/);
  });
  it('the dirty thresholds are /proc/vmstat\'s with the default ratios, and follow the sysctls', async () => {
    sim = await processSim();
    const [bg, thresh] = fm().wb.limits();
    const vmstat = sim.proc('vmstat');
    expect(vmstat).toContain(`nr_dirty_threshold ${thresh}\n`);
    expect(vmstat).toContain(`nr_dirty_background_threshold ${bg}\n`);
    sim.sysctl.set('vm.dirty_ratio', 40);
    const avail = globalDirtyableMemory(sim.topology, sim.reclaim);
    expect(fm().wb.limits()).toEqual([Math.floor((409 * avail) / 4096), Math.floor((1638 * avail) / 4096)]);
    sim.sysctl.set('vm.dirty_bytes', 8 * MiB);
    sim.sysctl.set('vm.dirty_background_bytes', 16 * MiB);
    // a background threshold at or above the dirty one is halved
    expect(fm().wb.limits()).toEqual([1024, 2048]);
  });

});
