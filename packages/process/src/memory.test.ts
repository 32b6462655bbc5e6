import { EINVAL, PAGE_SIZE, PG_dirty, PROT_READ, type Simulator } from '@mmsim/core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProcessLayer } from './fork.js';
import { PTE_RW, PTE_ZERO } from './pgtable.js';
import { freePages, MiB, processSim } from './compose.test.js';

const PAGES_100M = (100 * MiB) / PAGE_SIZE;

/** The PTE entry and bits at `addr` of task `pid`. */
function pte(sim: Simulator, pid: number, addr: number): { entry: number; bits: number } {
  const mm = (sim.processes as ProcessLayer).mmOf(pid);
  const tab = mm.pt.ptes.get(Math.floor(addr / 2 ** 21));
  const slot = (addr % 2 ** 21) / PAGE_SIZE;
  return { entry: tab?.entry[slot] ?? 0, bits: tab?.bits[slot] ?? 0 };
}

describe('lazy faults (agreement with a real kernel)', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await processSim();
  });

  it('mapping 100 MiB raises VmSize by 25600 pages and RssAnon by 0; reads map the zero page; writes fault again', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'lazy' });
    const vm0 = t.mm!.counters.totalVm;
    const addr = p.mmap(t.pid, 100 * MiB);
    expect(addr).toBeGreaterThan(0);
    expect(t.mm!.counters.totalVm - vm0).toBe(PAGES_100M);
    expect(t.anonRss).toBe(0);
    const anonPages0 = sim.vmstat.node.nr_anon_pages;
    const pgfault0 = sim.vmstat.events.pgfault ?? 0;

    const rd = p.touch(t.pid, addr, 100 * MiB);
    expect(rd.minor).toBe(PAGES_100M);
    expect(t.minFlt).toBe(PAGES_100M);
    expect(t.anonRss).toBe(0);
    expect(sim.vmstat.node.nr_anon_pages).toBe(anonPages0);
    expect(pte(sim, t.pid, addr).entry).toBe(PTE_ZERO);
    // a second read is no fault at all
    expect(p.touch(t.pid, addr, 100 * MiB)).toEqual({ hits: PAGES_100M, minor: 0, major: 0 });

    const wr = p.touch(t.pid, addr, 100 * MiB, { write: true });
    expect(wr.minor).toBe(PAGES_100M);
    expect(t.minFlt).toBe(2 * PAGES_100M);
    expect(t.anonRss).toBe(PAGES_100M);
    expect(sim.vmstat.node.nr_anon_pages).toBe(anonPages0! + PAGES_100M);
    expect((sim.vmstat.events.pgfault ?? 0) - pgfault0).toBe(2 * PAGES_100M);
    const e = pte(sim, t.pid, addr);
    expect(e.entry).toBeGreaterThan(0);
    expect(e.bits & PTE_RW).toBe(PTE_RW);
    sim.check();
  });

  it('a write fault allocates one page from the page allocator, owned as ANON, on the LRU', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'w' });
    const addr = p.mmap(t.pid, PAGE_SIZE);
    const before = freePages(sim);
    expect(p.access(t.pid, addr, true)).toBe('minor');
    expect(p.access(t.pid, addr, true)).toBe('none');
    const pfn = pte(sim, t.pid, addr).entry - 1;
    const page = sim.memory.pfnToPage(pfn);
    const pt = sim.memory.pages;
    expect(pt.mapcount[page]).toBe(1);
    expect(pt.index[page]).toBe(addr / PAGE_SIZE);
    expect(sim.reclaim.lruSizes(0).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // one data page, plus the PTE, PMD and PUD tables of a new region
    expect(before - freePages(sim)).toBe(4);
    expect(t.pgtablesBytes).toBeGreaterThan(0);
    sim.check();
  });

  it('page tables are real pages: VmPTE and nr_page_table_pages follow them, and munmap frees them', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'pt' });
    const pte0 = t.pgtablesBytes;
    const tables0 = sim.vmstat.node.nr_page_table_pages!;
    const addr = p.mmap(t.pid, 8 * MiB);
    p.touch(t.pid, addr, 8 * MiB, { write: true });
    const added = (t.pgtablesBytes - pte0) / PAGE_SIZE;
    // 8 MiB spans 4 or 5 PTE tables, plus a PMD (and PUD) table when the region is new
    expect(added).toBeGreaterThanOrEqual(4);
    expect(sim.vmstat.node.nr_page_table_pages! - tables0).toBe(added);
    expect(p.munmap(t.pid, addr, 8 * MiB)).toBe(0);
    // the PTE tables go; the PMD and PUD tables stay: the stack, in the same GiB, still hangs from them
    expect(t.pgtablesBytes - pte0).toBe(2 * PAGE_SIZE);
    expect(sim.vmstat.node.nr_page_table_pages! - tables0).toBe(2);
    p.exit(t.pid);
    expect(sim.vmstat.node.nr_page_table_pages).toBe(tables0 - (pte0 / PAGE_SIZE));
    sim.check();
  });

  it('an access outside every mapping kills only that task with SIGSEGV', () => {
    const p = sim.processes;
    const a = p.spawn({ comm: 'bad' });
    const b = p.spawn({ comm: 'good' });
    const addr = p.mmap(b.pid, 4 * PAGE_SIZE);
    p.touch(b.pid, addr, 4 * PAGE_SIZE, { write: true });
    expect(p.access(a.pid, 0x1000, false)).toBe('sigsegv');
    expect(a.killedBy).toBe('SIGSEGV');
    expect(sim.tasks.has(a.pid)).toBe(false);
    expect(sim.tasks.has(b.pid)).toBe(true);
    expect(b.anonRss).toBe(4);
    sim.check();
  });

  it('a write to a read-only mapping is SIGSEGV; touch reports where it stopped', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'ro' });
    const addr = p.mmap(t.pid, 4 * PAGE_SIZE, { prot: PROT_READ });
    expect(p.touch(t.pid, addr, 4 * PAGE_SIZE).minor).toBe(4);
    const r = p.touch(t.pid, addr, 4 * PAGE_SIZE, { write: true });
    expect(r.killed).toBe('SIGSEGV');
    expect(r.faultAddr).toBe(addr);
    expect(t.killedBy).toBe('SIGSEGV');
    sim.check();
  });

  it('touch stops at the end of a mapping: SIGSEGV after the pages before it were faulted', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'over' });
    const addr = p.mmap(t.pid, 4 * PAGE_SIZE);
    p.munmap(t.pid, addr + 4 * PAGE_SIZE, PAGE_SIZE);
    const r = p.touch(t.pid, addr, 5 * PAGE_SIZE, { write: true });
    expect(r.minor).toBe(4);
    expect(r.killed).toBe('SIGSEGV');
    expect(r.faultAddr).toBe(addr + 4 * PAGE_SIZE);
    sim.check();
  });

  it('random order touches every page once, deterministically for a seed', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'rnd' });
    const addr = p.mmap(t.pid, 64 * PAGE_SIZE);
    const r = p.touch(t.pid, addr, 64 * PAGE_SIZE, { write: true, random: true, seed: 7 });
    expect(r.minor).toBe(64);
    expect(t.anonRss).toBe(64);
    sim.check();
  });

  it('MAP_POPULATE pre-faults a writable private mapping for writing', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'pop' });
    const addr = p.mmap(t.pid, 16 * PAGE_SIZE, { flags: 0x8000 });
    expect(t.anonRss).toBe(16);
    expect(t.minFlt).toBe(16);
    expect(p.touch(t.pid, addr, 16 * PAGE_SIZE, { write: true }).hits).toBe(16);
    sim.check();
  });

  it('exit frees everything: pages, page tables, the mm; free memory returns to where it was', () => {
    const p = sim.processes;
    const before = freePages(sim);
    const committed = sim.vmstat.node.nr_committed;
    const t = p.spawn({ comm: 'gone' });
    const addr = p.mmap(t.pid, 20 * MiB);
    p.touch(t.pid, addr, 20 * MiB, { write: true });
    const c = p.fork(t.pid);
    p.touch(c.pid, addr, 10 * MiB, { write: true });
    p.exit(t.pid);
    p.exit(c.pid);
    expect(freePages(sim)).toBe(before);
    expect(sim.vmstat.node.nr_anon_pages).toBe(0);
    expect(sim.vmstat.node.nr_page_table_pages).toBe(0);
    expect(sim.vmstat.node.nr_committed).toBe(committed);
    expect(sim.tasks.all()).toEqual([]);
    sim.check();
  });

  it('refuses bad input with typed errors and changes nothing', () => {
    const p = sim.processes;
    expect(() => p.touch(99, 0, 1)).toThrow(/ETASK_UNKNOWN|no task/);
    const k = p.spawn({ comm: 'kthr', kthread: true });
    expect(k.mm).toBeNull();
    expect(k.unkillable).toBe(true);
    expect(() => p.mmap(k.pid, PAGE_SIZE)).toThrow(/kernel thread/);
    const t = p.spawn({ comm: 'x' });
    expect(p.mmap(t.pid, 0)).toBe(-EINVAL);
  });
});

function pfnAt(sim: Simulator, pid: number, addr: number): number {
  return pte(sim, pid, addr).entry - 1;
}


describe('file mappings fault through the page cache', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await processSim();
  });

  it('a private read maps the cached page (RssFile, Mapped); a private write copies it into anonymous memory', () => {
    const p = sim.processes;
    const f = sim.pageCache.create('/data/a', 64 * PAGE_SIZE);
    const t = p.spawn({ comm: 'rd' });
    const mapped0 = sim.vmstat.node.nr_mapped!;
    const a = p.mmap(t.pid, 64 * PAGE_SIZE, { ino: f.ino, prot: PROT_READ | 2 });
    const r = p.touch(t.pid, a, 64 * PAGE_SIZE);
    expect(r.major).toBeGreaterThan(0);
    expect(r.major + r.minor).toBe(64);
    expect(t.fileRss).toBe(64);
    expect(t.anonRss).toBe(0);
    expect(sim.vmstat.node.nr_mapped).toBe(mapped0 + 64);
    const cached = pfnAt(sim, t.pid, a);
    expect(p.access(t.pid, a, true)).toBe('minor');
    expect(pfnAt(sim, t.pid, a)).not.toBe(cached);
    expect([t.fileRss, t.anonRss]).toEqual([63, 1]);
    expect(sim.vmstat.node.nr_mapped).toBe(mapped0 + 63);
    sim.check();
    p.munmap(t.pid, a, 64 * PAGE_SIZE);
    expect(t.fileRss).toBe(0);
    expect(sim.vmstat.node.nr_mapped).toBe(mapped0);
    // the pages stay cached after the unmap
    expect(sim.pageCache.cachedPages(f.ino)).toBeGreaterThanOrEqual(64);
    sim.check();
  });

  it('a shared write dirties the cached page; fork shares it without copying; past EOF is SIGBUS', () => {
    const p = sim.processes;
    const f = sim.pageCache.create('/data/b', 4 * PAGE_SIZE + 100);
    const t = p.spawn({ comm: 'wr' });
    const a = p.mmap(t.pid, 8 * PAGE_SIZE, { ino: f.ino, shared: true });
    expect(p.access(t.pid, a, true)).not.toBe('sigbus');
    const pfn = pfnAt(sim, t.pid, a);
    expect(sim.memory.pages.flags[sim.memory.pfnToPage(pfn)]! & PG_dirty).toBe(PG_dirty);
    const c = p.fork(t.pid);
    expect(c.fileRss).toBe(0);
    expect(p.access(c.pid, a, true)).toBe('minor');
    expect(pfnAt(sim, c.pid, a)).toBe(pfn);
    // the last page partly inside the file is fine; the next is past EOF
    expect(p.access(t.pid, a + 4 * PAGE_SIZE, false)).not.toBe('sigbus');
    expect(p.access(c.pid, a + 5 * PAGE_SIZE, false)).toBe('sigbus');
    expect(c.killedBy).toBe('SIGBUS');
    sim.check();
    p.exit(t.pid);
    sim.check();
  });

  it('exit drops the mapping references; the page cache keeps the pages', () => {
    const p = sim.processes;
    const f = sim.pageCache.create('/data/c', MiB);
    const t = p.spawn({ comm: 'ex' });
    const a = p.mmap(t.pid, MiB, { ino: f.ino, prot: PROT_READ });
    p.touch(t.pid, a, MiB);
    const pfn = pfnAt(sim, t.pid, a);
    const page = sim.memory.pfnToPage(pfn);
    expect(sim.memory.pages.mapcount[page]).toBe(1);
    p.exit(t.pid);
    expect(sim.memory.pages.mapcount[page]).toBe(0);
    expect(sim.memory.pages.refcount[page]).toBeGreaterThan(0);
    sim.check();
  });
});

describe('out of memory in a fault', () => {
  it('VM_FAULT_OOM kills the faulting task; its memory goes back; the rest of the system is consistent', async () => {
    const sim = await processSim({ machine: { memory: '128M' }, sysctl: { 'vm.overcommit_memory': 1 } });
    const p = sim.processes;
    const bystander = p.spawn({ comm: 'small' });
    const b = p.mmap(bystander.pid, 16 * PAGE_SIZE);
    p.touch(bystander.pid, b, 16 * PAGE_SIZE, { write: true });
    const before = freePages(sim);
    const hog = p.spawn({ comm: 'hog' });
    const a = p.mmap(hog.pid, 256 * MiB);
    const r = p.touch(hog.pid, a, 256 * MiB, { write: true });
    expect(r.killed).toBe('OOM');
    expect(r.minor).toBeGreaterThan(0);
    expect(r.faultAddr).toBe(a + r.minor * PAGE_SIZE);
    expect(hog.killedBy).toBe('OOM');
    expect(sim.tasks.has(hog.pid)).toBe(false);
    expect(bystander.anonRss).toBe(16);
    expect(sim.vmstat.events.oom_kill).toBeGreaterThan(0);
    expect(freePages(sim)).toBe(before);
    sim.check();
  });
});
