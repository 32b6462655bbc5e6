import { ENOMEM, MAP_NORESERVE, PAGE_SIZE, PROT_READ, type Simulator, vmCommitLimit } from '@mmsim/core';
import { describe, expect, it } from 'vitest';
import { guessFree, totalramPages, vmEnoughMemory } from './util.js';
import type { ProcessLayer } from './fork.js';
import { GiB, processSim } from './compose.test.js';

const committed = (sim: Simulator) => sim.vmstat.node.nr_committed!;

describe('overcommit (mm/util.c __vm_enough_memory)', () => {
  it('mode 0 (6.x): a writable private mapping of exactly MemTotal + SwapTotal is granted, 64 pages more refused; read-only and MAP_NORESERVE are not counted', async () => {
    const sim = await processSim({ machine: { memory: '1G' } });
    const p = sim.processes;
    const t = p.spawn({ comm: 'ovc', uid: 1000 });
    const limit = totalramPages(sim.topology) + sim.swap.total;
    const c0 = committed(sim);
    const vm = t.totalVm;
    expect(p.mmap(t.pid, (limit + 64) * PAGE_SIZE)).toBe(-ENOMEM);
    expect(committed(sim)).toBe(c0);
    expect(t.totalVm).toBe(vm);
    const a = p.mmap(t.pid, limit * PAGE_SIZE);
    expect(a).toBeGreaterThan(0);
    expect(committed(sim)).toBe(c0 + limit);
    // each request is judged alone: a second one of the same size is granted too
    expect(p.mmap(t.pid, limit * PAGE_SIZE)).toBeGreaterThan(0);
    const c1 = committed(sim);
    expect(p.mmap(t.pid, 4 * limit * PAGE_SIZE, { prot: PROT_READ })).toBeGreaterThan(0);
    expect(p.mmap(t.pid, 4 * limit * PAGE_SIZE, { flags: MAP_NORESERVE })).toBeGreaterThan(0);
    expect(committed(sim)).toBe(c1);
    expect(p.munmap(t.pid, a, limit * PAGE_SIZE)).toBe(0);
    expect(committed(sim)).toBe(c1 - limit);
    sim.check();
  });

  it('mode 0 before 5.2: the free + page cache + swap + reclaimable slab guess, less the reserves', async () => {
    const sim = await processSim({ machine: { memory: '1G' }, kernel: '4.19' });
    const env = sim.processes as ProcessLayer;
    const p = sim.processes;
    const t = p.spawn({ comm: 'old', uid: 1000 });
    const free = guessFree(env, false);
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThan(totalramPages(sim.topology));
    expect(p.mmap(t.pid, free * PAGE_SIZE)).toBe(-ENOMEM);
    expect(p.mmap(t.pid, (free - 1) * PAGE_SIZE)).toBeGreaterThan(0);
    // root may also use the admin reserve
    const root = p.spawn({ comm: 'root', uid: 0 });
    const rootFree = guessFree(env, true);
    expect(rootFree - free).toBe(8192 / 4);
    expect(p.mmap(root.pid, (rootFree - 1) * PAGE_SIZE)).toBeGreaterThan(0);
    // the 6.x rule would have granted all of RAM
    expect(p.mmap(t.pid, totalramPages(sim.topology) * PAGE_SIZE)).toBe(-ENOMEM);
  });

  it('mprotect read-only of an unfaulted private mapping gives its charge back (6.5+), not once faulted, and not on older kernels', async () => {
    for (const [kernel, back] of [['6.12', true], ['6.1', false]] as const) {
      const sim = await processSim({ kernel });
      const p = sim.processes;
      const base = committed(sim);
      const t = p.spawn({ comm: 'ro' });
      const c0 = committed(sim);
      const a = p.mmap(t.pid, 16 * PAGE_SIZE);
      const b = p.mmap(t.pid, 16 * PAGE_SIZE, { addr: a - 64 * PAGE_SIZE });
      p.access(t.pid, b, true);
      expect(committed(sim)).toBe(c0 + 32);
      expect(p.mprotect(t.pid, a, 16 * PAGE_SIZE, PROT_READ)).toBe(0);
      expect(p.mprotect(t.pid, b, 16 * PAGE_SIZE, PROT_READ)).toBe(0);
      expect(committed(sim)).toBe(c0 + (back ? 16 : 32));
      // writable again: charged again only if it had been given back
      expect(p.mprotect(t.pid, a, 16 * PAGE_SIZE, PROT_READ | 2)).toBe(0);
      expect(committed(sim)).toBe(c0 + 32);
      p.exit(t.pid);
      expect(committed(sim)).toBe(base);
    }
  });

  it('mode 1 grants anything the address space holds', async () => {
    const sim = await processSim({ sysctl: { 'vm.overcommit_memory': 1 } });
    const p = sim.processes;
    const t = p.spawn({ comm: 'yes', uid: 1000 });
    expect(p.mmap(t.pid, 64 * 1024 * GiB)).toBeGreaterThan(0);
  });

  it('mode 2: Committed_AS stays below CommitLimit less the admin reserve and min(total_vm / 32, user reserve)', async () => {
    const sim = await processSim({ sysctl: { 'vm.overcommit_memory': 2 } });
    const env = sim.processes as ProcessLayer;
    const p = sim.processes;
    const t = p.spawn({ comm: 'strict', uid: 1000 });
    const limit = vmCommitLimit(totalramPages(sim.topology), sim.sysctl, sim.swap.total);
    expect(limit).toBe(Math.floor(totalramPages(sim.topology) / 2) + sim.swap.total);
    const allowed = limit - 8192 / 4 - Math.min(Math.floor(t.totalVm / 32), 131072 / 4);
    const room = allowed - committed(sim) - 1;
    expect(p.mmap(t.pid, (room + 1) * PAGE_SIZE)).toBe(-ENOMEM);
    // MAP_NORESERVE does not escape the strict mode
    expect(p.mmap(t.pid, (room + 1) * PAGE_SIZE, { flags: MAP_NORESERVE })).toBe(-ENOMEM);
    const a = p.mmap(t.pid, room * PAGE_SIZE);
    expect(a).toBeGreaterThan(0);
    // nothing left: brk and a one-page mapping are refused; brk returns the old break
    const brk = p.brk(t.pid, 0);
    expect(p.brk(t.pid, brk + PAGE_SIZE)).toBe(brk);
    expect(p.mmap(t.pid, PAGE_SIZE)).toBe(-ENOMEM);
    // a read-only mapping is not charged, but making it writable is
    const ro = p.mmap(t.pid, PAGE_SIZE, { prot: PROT_READ });
    expect(ro).toBeGreaterThan(0);
    expect(p.mprotect(t.pid, ro, PAGE_SIZE, PROT_READ | 2)).toBe(-ENOMEM);
    // fork charges the child's copy of every accounted mapping
    expect(env.kernelClone(t.pid)).toBe(-ENOMEM);
    expect(sim.tasks.all().length).toBe(1);
    expect(p.munmap(t.pid, a, room * PAGE_SIZE)).toBe(0);
    expect(p.mprotect(t.pid, ro, PAGE_SIZE, PROT_READ | 2)).toBe(0);
    expect(typeof env.kernelClone(t.pid)).toBe('object');
    sim.check();
  });

  it('mode 2 with overcommit_kbytes; root keeps the admin reserve', async () => {
    const sim = await processSim({ sysctl: { 'vm.overcommit_memory': 2, 'vm.overcommit_kbytes': 400 * 1024 } });
    const env = sim.processes as ProcessLayer;
    expect(vmCommitLimit(totalramPages(sim.topology), sim.sysctl, sim.swap.total)).toBe(100 * 1024 + sim.swap.total);
    const c = committed(sim);
    const allowedRoot = 100 * 1024 + sim.swap.total;
    expect(vmEnoughMemory(env, null, allowedRoot - c - 1, true)).toBe(0);
    expect(vmEnoughMemory(env, null, 1, true)).toBe(-ENOMEM);
    expect(committed(sim)).toBe(allowedRoot - 1);
  });
});
