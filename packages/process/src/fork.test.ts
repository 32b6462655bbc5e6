import { PAGE_SIZE, type Simulator } from '@mmsim/core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProcessLayer } from './fork.js';
import { PTE_RW } from './pgtable.js';
import { freePages, MiB, processSim } from './compose.test.js';

function pte(sim: Simulator, pid: number, addr: number): { entry: number; bits: number } {
  const mm = (sim.processes as ProcessLayer).mmOf(pid);
  const tab = mm.pt.ptes.get(Math.floor(addr / 2 ** 21));
  const slot = (addr % 2 ** 21) / PAGE_SIZE;
  return { entry: tab?.entry[slot] ?? 0, bits: tab?.bits[slot] ?? 0 };
}

describe('fork, copy-on-write, threads, exec, exit', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await processSim();
  });

  it('pids count from 1; a requested pid is used; tasks are listed in pid order', () => {
    const p = sim.processes;
    expect(p.spawn({ comm: 'init' }).pid).toBe(1);
    expect(p.spawn({ comm: 'b', pid: 100 }).pid).toBe(100);
    expect(p.spawn({ comm: 'c' }).pid).toBe(2);
    expect(sim.tasks.all().map((t) => t.pid)).toEqual([1, 2, 100]);
    expect(() => p.spawn({ comm: 'd', pid: 100 })).toThrow(/in use/);
    expect(() => p.spawn({ comm: 'e', oomScoreAdj: 1001 })).toThrow(/oom_score_adj/);
  });

  it('after fork a child that writes one page gets its own copy; the parent keeps its page and counters', () => {
    const p = sim.processes;
    const parent = p.spawn({ comm: 'parent' });
    const addr = p.mmap(parent.pid, 100 * PAGE_SIZE);
    p.touch(parent.pid, addr, 100 * PAGE_SIZE, { write: true });
    const before = pte(sim, parent.pid, addr).entry;
    const anon0 = sim.vmstat.node.nr_anon_pages!;
    const child = p.fork(parent.pid, { child: 500 });
    expect(child.pid).toBe(500);
    expect(child.ppid).toBe(parent.pid);
    expect(child.anonRss).toBe(100);
    expect(child.totalVm).toBe(parent.totalVm);
    // shared read-only in both
    expect(pte(sim, child.pid, addr).entry).toBe(before);
    expect(pte(sim, parent.pid, addr).bits & PTE_RW).toBe(0);
    const page = sim.memory.pfnToPage(before - 1);
    expect(sim.memory.pages.mapcount[page]).toBe(2);
    expect(sim.vmstat.node.nr_anon_pages).toBe(anon0);

    expect(p.access(child.pid, addr, true)).toBe('minor');
    const copy = pte(sim, child.pid, addr).entry;
    expect(copy).not.toBe(before);
    expect(pte(sim, parent.pid, addr).entry).toBe(before);
    expect(child.anonRss).toBe(100);
    expect(parent.anonRss).toBe(100);
    expect(sim.memory.pages.mapcount[page]).toBe(1);
    expect(sim.vmstat.node.nr_anon_pages).toBe(anon0 + 1);
    // the parent's page is exclusive again: its write reuses it
    expect(p.access(parent.pid, addr, true)).toBe('minor');
    expect(pte(sim, parent.pid, addr).entry).toBe(before);
    expect(sim.vmstat.node.nr_anon_pages).toBe(anon0 + 1);
    // reads of the other shared pages are no faults
    expect(p.touch(child.pid, addr + PAGE_SIZE, 99 * PAGE_SIZE).hits).toBe(99);
    sim.check();
  });

  it('a zero-page mapping stays the zero page in the child', () => {
    const p = sim.processes;
    const parent = p.spawn({ comm: 'z' });
    const addr = p.mmap(parent.pid, 8 * PAGE_SIZE);
    p.touch(parent.pid, addr, 8 * PAGE_SIZE);
    const child = p.fork(parent.pid);
    expect(child.anonRss).toBe(0);
    expect(p.touch(child.pid, addr, 8 * PAGE_SIZE).hits).toBe(8);
    expect(p.touch(child.pid, addr, 8 * PAGE_SIZE, { write: true }).minor).toBe(8);
    expect(child.anonRss).toBe(8);
    expect(parent.anonRss).toBe(0);
    sim.check();
  });

  it('threads share one mm; it lives until the last of them exits', () => {
    const p = sim.processes;
    const leader = p.spawn({ comm: 'srv' });
    const addr = p.mmap(leader.pid, 10 * PAGE_SIZE);
    const thr = p.fork(leader.pid, { thread: true });
    expect(thr.mm).toBe(leader.mm);
    expect(thr.tgid).toBe(leader.pid);
    expect(leader.mm!.users).toBe(2);
    p.touch(thr.pid, addr, 10 * PAGE_SIZE, { write: true });
    expect(leader.anonRss).toBe(10);
    expect(thr.minFlt).toBe(10);
    expect(leader.minFlt).toBe(0);
    p.exit(leader.pid);
    expect(thr.anonRss).toBe(10);
    expect(thr.mm!.users).toBe(1);
    sim.check();
    p.exit(thr.pid);
    expect(sim.vmstat.node.nr_anon_pages).toBe(0);
    sim.check();
  });

  it('a SIGSEGV kills the whole thread group and nothing else', () => {
    const p = sim.processes;
    const leader = p.spawn({ comm: 'mt' });
    const thr = p.fork(leader.pid, { thread: true });
    const other = p.fork(leader.pid);
    expect(p.access(thr.pid, 0x10000, true)).toBe('sigsegv');
    expect(sim.tasks.has(leader.pid)).toBe(false);
    expect(sim.tasks.has(thr.pid)).toBe(false);
    expect(leader.killedBy).toBe('SIGSEGV');
    expect(sim.tasks.has(other.pid)).toBe(true);
    sim.check();
  });

  it('exec in a thread group ends the other threads (de_thread)', () => {
    const p = sim.processes;
    const leader = p.spawn({ comm: 'mt' });
    const a = p.mmap(leader.pid, 4 * PAGE_SIZE);
    p.touch(leader.pid, a, 4 * PAGE_SIZE, { write: true });
    const thr = p.fork(leader.pid, { thread: true });
    p.exec(leader.pid, { comm: 'new' });
    expect(sim.tasks.has(thr.pid)).toBe(false);
    expect(thr.killedBy).toBe('SIGKILL');
    expect(leader.mm!.users).toBe(1);
    expect(sim.vmstat.node.nr_anon_pages).toBe(0);
    sim.check();
  });

  it('exec replaces the address space; the old pages go back', () => {
    const p = sim.processes;
    const before = freePages(sim);
    const t = p.spawn({ comm: 'sh' });
    const addr = p.mmap(t.pid, MiB);
    p.touch(t.pid, addr, MiB, { write: true });
    const vm = t.totalVm;
    p.exec(t.pid, { comm: 'ls' });
    expect(t.comm).toBe('ls');
    expect(t.anonRss).toBe(0);
    expect(t.totalVm).toBe(vm - MiB / PAGE_SIZE);
    expect(t.mm!.findVma(addr)?.start === addr).toBe(false);
    p.exit(t.pid);
    expect(freePages(sim)).toBe(before);
    sim.check();
  });

  it('the x86_64 layout with randomisation off: PIE at 0x555555554000, [stack] of 132 KiB under 0x7ffffffff000, mmap below 0x7ffff7fff000', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'cat' });
    const mm = t.mm!;
    expect(mm.startCode).toBe(0x555555554000);
    expect(mm.taskSize).toBe(2 ** 47 - 4096);
    expect(mm.mmapBase).toBe(0x7ffff7fff000);
    const vmas = mm.vmas();
    const stack = vmas[vmas.length - 1]!;
    expect([stack.start, stack.end, stack.name]).toEqual([0x7ffffffde000, 0x7ffffffff000, '[stack]']);
    expect(p.mmap(t.pid, PAGE_SIZE)).toBe(0x7ffff7ffe000);
    expect(mm.startBrk).toBe(mm.brk);
    expect(mm.brk).toBe(0x555555556000);
  });

  it('kernel threads have no mm and are unkillable', () => {
    const k = sim.processes.spawn({ comm: 'kswapd0', kthread: true });
    expect(k.mm).toBeNull();
    expect(k.unkillable).toBe(true);
    expect(k.kthread).toBe(true);
    expect(k.anonRss + k.totalVm + k.pgtablesBytes).toBe(0);
    sim.processes.exit(k.pid);
    sim.check();
  });
});
