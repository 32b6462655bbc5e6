import { EBUSY, EINVAL, ENOMEM, EPERM, type Simulator } from '@mmsim/core';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SWAPFILES, showSwaps } from './swapfile.js';
import { processSim } from './compose.test.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

let sim: Simulator;
afterEach(() => sim?.dispose());

describe('swapon / swapoff', () => {
  it('swapon gives types 0, 1, ... and default priorities −2, −3, ...; the header page is not a slot', async () => {
    sim = await processSim();
    expect(sim.swap.swapon({ size: 1 * GiB })).toBe(0);
    expect(sim.swap.swapon({ size: 64 * MiB, name: '/dev/sdb2' })).toBe(1);
    expect(sim.swap.swapon({ size: 16 * MiB, prio: 5 })).toBe(2);
    expect(sim.swap.devices().map((d) => [d.type, d.name, d.pages, d.prio])).toEqual([
      [0, '/swapfile0', 262143, -2], [1, '/dev/sdb2', 16383, -3], [2, '/swapfile1', 4095, 5],
    ]);
    expect(sim.swap.total).toBe(262143 + 16383 + 4095);
    expect(sim.swap.free).toBe(sim.swap.total);
    expect(sim.proc('meminfo')).toMatch(/^SwapTotal:\s+1130484 kB$/m);
    expect(sim.proc('meminfo')).toMatch(/^SwapFree:\s+1130484 kB$/m);
    sim.check();
  });

  it('/proc/swaps prints as swap_show does', async () => {
    sim = await processSim();
    sim.swap.swapon({ size: 1 * GiB, name: '/swapfile' });
    sim.swap.swapon({ size: 8 * GiB, name: '/dev/nvme0n1p3', prio: 10 });
    sim.swap.swapon({ size: 64 * MiB, name: '/var/lib/swap file' });
    const e = sim.swap.getSwapPage();
    expect(e).toBeGreaterThan(0);
    expect(sim.proc('swaps')).toBe(
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n' +
      '/swapfile                               file\t\t1048572\t\t0\t\t-2\n' +
      '/dev/nvme0n1p3                          partition\t8388604\t\t4\t\t10\n' +
      '/var/lib/swap\\040file                   file\t\t65532\t\t0\t\t-3\n',
    );
    // sizes of 10000000 KiB and more lose the second tab
    expect(showSwaps([{ type: 0, name: '/big', pages: 2_500_000, inuse: 2_500_000, prio: -2 }])).toBe(
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/big                                    file\t\t10000000\t10000000\t-2\n',
    );
  });

  it('refuses what the kernel refuses: a file with no slot (EINVAL), a name that is on (EBUSY), more than MAX_SWAPFILES (EPERM)', async () => {
    sim = await processSim();
    expect(sim.swap.swapon({ size: 4096 })).toBe(-EINVAL);
    expect(sim.swap.swapon({ size: 8191 })).toBe(-EINVAL);
    expect(sim.swap.swapon({ size: 8192, name: '/s' })).toBe(0);
    expect(sim.swap.swapon({ size: 1 * MiB, name: '/s' })).toBe(-EBUSY);
    for (let i = 1; i < MAX_SWAPFILES; i++) expect(sim.swap.swapon({ size: 64 * 1024 })).toBe(i);
    expect(sim.swap.swapon({ size: 64 * 1024 })).toBe(-EPERM);
    expect(() => sim.swap.swapon({ size: 1 * MiB, prio: 40000 })).toThrow(/priority/);
    expect(() => sim.swap.swapon({ size: -1 })).toThrow(/EBAD_SIZE/);
    expect(sim.swap.swapoff(99)).toBe(-EINVAL);
    sim.check();
  });

  it('swapoff of a default-priority device moves the lower ones up, and the next default continues from there', async () => {
    sim = await processSim();
    sim.swap.swapon({ size: 1 * MiB }); // -2
    sim.swap.swapon({ size: 1 * MiB }); // -3
    sim.swap.swapon({ size: 1 * MiB }); // -4
    expect(sim.swap.swapoff(0)).toBe(0);
    expect(sim.swap.devices().map((d) => [d.type, d.prio])).toEqual([[1, -2], [2, -3]]);
    expect(sim.swap.swapon({ size: 1 * MiB })).toBe(0);
    expect(sim.swap.devices().map((d) => [d.type, d.prio])).toEqual([[0, -4], [1, -2], [2, -3]]);
    expect(sim.swap.swapoff(1)).toBe(0);
    expect(sim.swap.swapoff(1)).toBe(-EINVAL);
    sim.check();
  });
});

describe('slots', () => {
  it('allocates from the highest priority device, equal priorities in turn, next-fit within a device', async () => {
    sim = await processSim();
    const a = sim.swap.swapon({ size: 1 * MiB, prio: 1 });
    const b = sim.swap.swapon({ size: 1 * MiB, prio: 1 });
    const c = sim.swap.swapon({ size: 1 * MiB, prio: 7 });
    const types = (n: number) => Array.from({ length: n }, () => sim.swap.swapType(sim.swap.getSwapPage()));
    // device c (prio 7) first, until it is full (255 slots)
    expect(new Set(types(255))).toEqual(new Set([c]));
    expect(types(6)).toEqual([a, b, a, b, a, b]);
    expect(sim.swap.free).toBe(2 * 255 - 6);
    sim.check();
  });

  it('counts holders: getSwapPage gives one, swapDuplicate adds, swapFree drops; the slot is free with no holder and no cache page', async () => {
    sim = await processSim();
    sim.swap.swapon({ size: 1 * MiB });
    const free = sim.swap.free;
    const e = sim.swap.getSwapPage();
    expect(sim.swap.swapCount(e)).toBe(1);
    sim.swap.swapDuplicate(e);
    sim.swap.swapDuplicate(e);
    expect(sim.swap.swapCount(e)).toBe(3);
    expect(sim.swap.free).toBe(free - 1);
    sim.swap.swapFree(e);
    sim.swap.swapFree(e);
    expect(sim.swap.free).toBe(free - 1);
    sim.swap.swapFree(e);
    expect(sim.swap.free).toBe(free);
    expect(() => sim.swap.swapFree(e)).toThrow(/unused swap offset/);
    expect(() => sim.swap.swapDuplicate(e)).toThrow(/unused swap entry/);
    expect(() => sim.swap.swapCount(10 ** 9)).toThrow(/bad swap entry/);
    // the freed slot is found again after the others (next-fit)
    const e2 = sim.swap.getSwapPage();
    expect(e2).toBe(e + 1);
    sim.check();
  });

  it('entries are dense: each device takes the lowest free range, and a device switched off leaves its range for the next', async () => {
    sim = await processSim();
    sim.swap.swapon({ size: 1 * MiB, prio: 3 });
    sim.swap.swapon({ size: 1 * MiB, prio: 2 });
    const first = sim.swap.getSwapPage();
    expect(first).toBe(1);
    sim.swap.swapFree(first);
    sim.swap.swapoff(0);
    const t = sim.swap.swapon({ size: 512 * 1024, prio: 9 });
    expect(t).toBe(0);
    expect(sim.swap.getSwapPage()).toBe(1);
    sim.check();
  });
});

describe('with the process layer', () => {
  it('anonymous memory beyond RAM is swapped out by reclaim; swapoff brings it back or says ENOMEM', async () => {
    sim = await processSim({ machine: { memory: '128M' } });
    expect(sim.swap.swapon({ size: 256 * MiB })).toBe(0);
    const t = sim.processes.spawn({ comm: 'big' });
    const addr = sim.processes.mmap(t.pid, 160 * MiB);
    expect(addr).toBeGreaterThan(0);
    const r = sim.processes.touch(t.pid, addr, 160 * MiB, { write: true });
    expect(r.killed).toBeUndefined();
    const used = sim.swap.total - sim.swap.free;
    expect(used).toBeGreaterThan(0);
    expect(sim.vmstat.events.pswpout).toBeGreaterThanOrEqual(used);
    expect(t.swapents).toBeGreaterThan(0);
    expect(sim.swap.devices()[0]!.inuse).toBe(used);
    sim.check();
    // 160 MiB cannot come back into 128 MiB
    expect(sim.swap.swapoff(0)).toBe(-ENOMEM);
    expect(sim.swap.devices().map((d) => d.prio)).toEqual([-2]);
    sim.check();
    // with most of it unmapped, the rest fits
    sim.processes.munmap(t.pid, addr + 16 * MiB, 144 * MiB);
    sim.check();
    expect(sim.swap.swapoff(0)).toBe(0);
    expect(sim.swap.total).toBe(0);
    expect(t.swapents).toBe(0);
    expect(sim.vmstat.node.nr_swapcached).toBe(0);
    sim.check();
  });
});
