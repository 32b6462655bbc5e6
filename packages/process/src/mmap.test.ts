import { EINVAL, ENOMEM, MAP_FIXED, MAP_GROWSDOWN, PAGE_SIZE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, type Simulator, VM_ACCOUNT } from '@mmsim/core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProcessLayer } from './fork.js';
import { countersOf, type MmStructImpl, vmaFlagsString } from './mmap.js';
import { GiB, MiB, processSim } from './compose.test.js';

const TiB = 2 ** 40;

function mmOf(sim: Simulator, pid: number): MmStructImpl {
  return (sim.processes as ProcessLayer).mmOf(pid);
}
function layout(sim: Simulator, pid: number): string[] {
  return mmOf(sim, pid).vmas().map((v) => `${v.start.toString(16)}-${v.end.toString(16)} ${vmaFlagsString(v)}${v.name ? ` ${v.name}` : ''}`);
}

describe('address spaces: mmap, munmap, mprotect, brk', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await processSim();
  });

  it('128 TiB does not fit in the x86_64 user address space; 127 TiB does not either once the program is mapped; 1 TiB does', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'big' });
    const vm = t.totalVm;
    sim.sysctl.set('vm.overcommit_memory', 1);
    expect(p.mmap(t.pid, 128 * TiB)).toBe(-ENOMEM);
    expect(p.mmap(t.pid, 128 * TiB - 4096)).toBe(-ENOMEM);
    expect(t.totalVm).toBe(vm);
    expect(p.mmap(t.pid, TiB, { flags: 0x4000 })).toBeGreaterThan(0);
    sim.check();
  });

  it('len 0 is EINVAL, an unaligned MAP_FIXED address EINVAL, a length is rounded up to pages', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'args' });
    const vm = t.totalVm;
    expect(p.mmap(t.pid, 0)).toBe(-EINVAL);
    expect(p.mmap(t.pid, PAGE_SIZE, { flags: MAP_FIXED, addr: 0x10000001 })).toBe(-EINVAL);
    expect(p.mmap(t.pid, PAGE_SIZE, { offset: 100, ino: 0 })).toBe(-EINVAL);
    const a = p.mmap(t.pid, 1);
    expect(t.totalVm).toBe(vm + 1);
    expect(p.munmap(t.pid, a + 1, PAGE_SIZE)).toBe(-EINVAL);
    expect(p.munmap(t.pid, a, 0)).toBe(-EINVAL);
    expect(p.munmap(t.pid, a, 1)).toBe(0);
    expect(t.totalVm).toBe(vm);
  });

  it('munmap of the middle of a mapping splits it; the pages unmapped go back', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'split' });
    const a = p.mmap(t.pid, 10 * PAGE_SIZE);
    p.touch(t.pid, a, 10 * PAGE_SIZE, { write: true });
    const n = mmOf(sim, t.pid).mapCount;
    expect(p.munmap(t.pid, a + 4 * PAGE_SIZE, 2 * PAGE_SIZE)).toBe(0);
    const mm = mmOf(sim, t.pid);
    expect(mm.mapCount).toBe(n + 1);
    expect([mm.findVma(a)!.start, mm.findVma(a)!.end]).toEqual([a, a + 4 * PAGE_SIZE]);
    expect(mm.findVma(a + 4 * PAGE_SIZE)!.start).toBe(a + 6 * PAGE_SIZE);
    expect(t.anonRss).toBe(8);
    expect(p.access(t.pid, a + 5 * PAGE_SIZE, false)).toBe('sigsegv');
    sim.check();
  });

  it('adjacent anonymous mappings merge into one VMA, as vma_merge does; different protections do not', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'merge' });
    const n = mmOf(sim, t.pid).mapCount;
    const a = p.mmap(t.pid, 4 * PAGE_SIZE);
    const b = p.mmap(t.pid, 4 * PAGE_SIZE);
    expect(b).toBe(a - 4 * PAGE_SIZE);
    expect(mmOf(sim, t.pid).mapCount).toBe(n + 1);
    const c = p.mmap(t.pid, 4 * PAGE_SIZE, { prot: PROT_READ });
    expect(c).toBe(b - 4 * PAGE_SIZE);
    expect(mmOf(sim, t.pid).mapCount).toBe(n + 2);
    // making it writable merges it with the rest
    expect(p.mprotect(t.pid, c, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE)).toBe(0);
    expect(mmOf(sim, t.pid).mapCount).toBe(n + 1);
    const v = mmOf(sim, t.pid).findVma(c)!;
    expect([v.start, v.end]).toEqual([c, a + 4 * PAGE_SIZE]);
    // touched pages do not stop a merge: both halves share the anon_vma
    p.touch(t.pid, c, 12 * PAGE_SIZE, { write: true });
    expect(p.mprotect(t.pid, b, 4 * PAGE_SIZE, PROT_READ)).toBe(0);
    expect(mmOf(sim, t.pid).mapCount).toBe(n + 3);
    expect(p.mprotect(t.pid, b, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE)).toBe(0);
    expect(mmOf(sim, t.pid).mapCount).toBe(n + 1);
    sim.check();
  });

  it('mprotect splits, write-protects PTEs, and refuses holes and what the mapping may not allow', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'prot' });
    const a = p.mmap(t.pid, 8 * PAGE_SIZE);
    p.touch(t.pid, a, 8 * PAGE_SIZE, { write: true });
    const n = mmOf(sim, t.pid).mapCount;
    expect(p.mprotect(t.pid, a + PAGE_SIZE, PAGE_SIZE, PROT_READ)).toBe(0);
    expect(mmOf(sim, t.pid).mapCount).toBe(n + 2);
    expect(layout(sim, t.pid)).toContain(`${(a + PAGE_SIZE).toString(16)}-${(a + 2 * PAGE_SIZE).toString(16)} r--p`);
    // the PTE lost its write bit; making it writable again gives it back (the page is exclusive) and re-merges
    const tab = mmOf(sim, t.pid).pt.ptes.get(Math.floor((a + PAGE_SIZE) / 2 ** 21))!;
    const slot = ((a + PAGE_SIZE) % 2 ** 21) / PAGE_SIZE;
    expect(tab.bits[slot]! & 1).toBe(0);
    expect(p.mprotect(t.pid, a + PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE)).toBe(0);
    expect(tab.bits[slot]! & 1).toBe(1);
    expect(mmOf(sim, t.pid).mapCount).toBe(n);
    expect(p.mprotect(t.pid, a + PAGE_SIZE, PAGE_SIZE, PROT_READ)).toBe(0);
    expect(p.access(t.pid, a + PAGE_SIZE, true)).toBe('sigsegv');
    const t2 = p.spawn({ comm: 'prot2' });
    const b = p.mmap(t2.pid, 8 * PAGE_SIZE);
    expect(p.mprotect(t2.pid, b + 1, PAGE_SIZE, PROT_READ)).toBe(-EINVAL);
    expect(p.mprotect(t2.pid, b - PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ)).toBe(-ENOMEM);
    expect(p.mprotect(t2.pid, b, PAGE_SIZE, PROT_NONE)).toBe(0);
    expect(p.access(t2.pid, b, false)).toBe('sigsegv');
    const t3 = p.spawn({ comm: 'prot3' });
    const f = p.mmap(t3.pid, PAGE_SIZE, { prot: PROT_READ | PROT_EXEC });
    expect(vmaFlagsString(mmOf(sim, t3.pid).findVma(f)!)).toBe('r-xp');
    expect(p.mprotect(t3.pid, f, PAGE_SIZE, 8)).toBe(-EINVAL);
    sim.check();
  });

  it('MAP_FIXED replaces what was there', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'fixed' });
    const a = p.mmap(t.pid, 4 * PAGE_SIZE);
    p.touch(t.pid, a, 4 * PAGE_SIZE, { write: true });
    const committed = sim.vmstat.node.nr_committed!;
    // a writable mapping over an accounted one carries its charge over
    expect(p.mmap(t.pid, 2 * PAGE_SIZE, { flags: MAP_FIXED, addr: a })).toBe(a);
    expect(sim.vmstat.node.nr_committed).toBe(committed);
    expect(t.anonRss).toBe(2);
    p.touch(t.pid, a, 4 * PAGE_SIZE, { write: true });
    // a read-only one gives it back
    expect(p.mmap(t.pid, 2 * PAGE_SIZE, { flags: MAP_FIXED, addr: a + PAGE_SIZE, prot: PROT_READ })).toBe(a + PAGE_SIZE);
    expect(sim.vmstat.node.nr_committed).toBe(committed - 2);
    expect(t.anonRss).toBe(2);
    expect(p.access(t.pid, a + PAGE_SIZE, true)).toBe('sigsegv');
    sim.check();
  });

  it('brk grows the heap by pages (merging into one [heap] VMA) and shrinking unmaps; brk(0) reports it', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'heap' });
    const mm = mmOf(sim, t.pid);
    const start = mm.brk;
    expect(p.brk(t.pid, 0)).toBe(start);
    expect(p.brk(t.pid, start + 100)).toBe(start + 100);
    expect(p.brk(t.pid, start + 132 * 1024)).toBe(start + 132 * 1024);
    const heap = mm.findVma(start)!;
    expect([heap.start, heap.end, heap.name]).toEqual([start, start + 132 * 1024, '[heap]']);
    p.touch(t.pid, start, 132 * 1024, { write: true });
    expect(t.anonRss).toBe(33);
    expect(p.brk(t.pid, start + 8192)).toBe(start + 8192);
    expect(t.anonRss).toBe(2);
    expect(mm.findVma(start)!.end).toBe(start + 8192);
    expect(countersOf(mm).dataVm).toBeGreaterThan(0);
    // a break below start_brk is refused: the old one comes back
    expect(p.brk(t.pid, start - PAGE_SIZE)).toBe(start + 8192);
    // a break into the next mapping is refused
    p.mmap(t.pid, PAGE_SIZE, { flags: MAP_FIXED, addr: start + 64 * PAGE_SIZE });
    expect(p.brk(t.pid, start + 100 * PAGE_SIZE)).toBe(start + 8192);
    sim.check();
  });

  it('total_vm, data_vm, exec_vm and stack_vm follow vm_stat_account', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'acct' });
    const c0 = countersOf(t.mm!);
    expect(c0.stackVm).toBe(33);
    expect(c0.execVm).toBe(1);
    p.mmap(t.pid, 10 * PAGE_SIZE);
    p.mmap(t.pid, 3 * PAGE_SIZE, { prot: PROT_READ | PROT_EXEC });
    p.mmap(t.pid, 5 * PAGE_SIZE, { prot: PROT_READ });
    p.mmap(t.pid, 7 * PAGE_SIZE, { shared: true });
    const c = countersOf(t.mm!);
    expect(c.totalVm - c0.totalVm).toBe(25);
    expect(c.dataVm - c0.dataVm).toBe(10);
    expect(c.execVm - c0.execVm).toBe(3);
    expect(c.hiwaterVm).toBe(c.totalVm);
  });

  it('a stack grows down on a fault below it, within the rlimit and clear of the guard gap', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'deep' });
    const mm = mmOf(sim, t.pid);
    const stack = mm.vmas()[mm.vmas().length - 1]!;
    const low = stack.start;
    expect(p.access(t.pid, low - 10 * PAGE_SIZE, true)).toBe('minor');
    expect(stack.start).toBe(low - 10 * PAGE_SIZE);
    expect(countersOf(mm).stackVm).toBe(43);
    // 8 MiB below the top is past RLIMIT_STACK
    expect(p.access(t.pid, stack.end - 8 * MiB - PAGE_SIZE, true)).toBe('sigsegv');
    const t2 = p.spawn({ comm: 'gd' });
    const g = p.mmap(t2.pid, 16 * PAGE_SIZE, { flags: MAP_GROWSDOWN });
    expect(p.access(t2.pid, g - PAGE_SIZE, true)).toBe('minor');
    sim.check();
  });

  it('VM_ACCOUNT marks writable private mappings only', () => {
    const p = sim.processes;
    const t = p.spawn({ comm: 'acc' });
    const a = p.mmap(t.pid, PAGE_SIZE);
    const b = p.mmap(t.pid, PAGE_SIZE, { prot: PROT_READ });
    const c = p.mmap(t.pid, PAGE_SIZE, { flags: 0x4000 });
    const mm = mmOf(sim, t.pid);
    expect(mm.findVma(a)!.flags & VM_ACCOUNT).toBe(VM_ACCOUNT);
    expect(mm.findVma(b)!.flags & VM_ACCOUNT).toBe(0);
    expect(mm.findVma(c)!.flags & VM_ACCOUNT).toBe(0);
  });
});

describe('the i386 personality (machine.arch x86_32): a 3 GiB user space', () => {
  it('an 8 GiB request fails at once with ENOMEM; 3 GiB does not fit either; the layout sits under 0xc0000000', async () => {
    const sim = await processSim({ machine: { memory: '1G', arch: 'x86_32' } });
    const p = sim.processes;
    const t = p.spawn({ comm: 'old' });
    const mm = mmOf(sim, t.pid);
    expect(mm.taskSize).toBe(0xc0000000);
    expect(mm.mmapBase).toBe(0xb8000000);
    const stack = mm.vmas()[mm.vmas().length - 1]!;
    expect([stack.start, stack.end]).toEqual([0xbffdf000, 0xc0000000]);
    sim.sysctl.set('vm.overcommit_memory', 1);
    expect(p.mmap(t.pid, 8 * GiB)).toBe(-ENOMEM);
    expect(p.mmap(t.pid, 3 * GiB)).toBe(-ENOMEM);
    const a = p.mmap(t.pid, GiB);
    expect(a).toBeGreaterThan(0);
    expect(a + GiB).toBeLessThanOrEqual(0xb8000000);
    p.touch(t.pid, a, 4 * MiB, { write: true });
    expect(t.anonRss).toBe(1024);
    sim.check();
    p.exit(t.pid);
    sim.check();
  });
});
