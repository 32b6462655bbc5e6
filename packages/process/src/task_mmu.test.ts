import { describe, expect, it } from 'vitest';
import { createSimulator } from '@mmsim/defconfig';
import { type MemoryModel, type MmCounters, type MmStruct, PG_anon, PG_dirty, PG_referenced, PG_swapbacked, type ProcessTask, type Vma } from '@mmsim/core';
import { gatherStats, showMaps, showSmapsRollup, taskMem } from './task_mmu.js';

const counters: MmCounters = {
  anonRss: 3, fileRss: 2, shmemRss: 0, swapents: 1, pgtablesBytes: 8192, totalVm: 100, dataVm: 40, execVm: 10, stackVm: 33, lockedVm: 0,
  hiwaterRss: 9, hiwaterVm: 120,
};
const R = 0x1 | 0x10 | 0x20 | 0x40;
const vmas: Vma[] = [
  { start: 0x400000, end: 0x402000, flags: R | 0x4, pgoff: 0, ino: 12, name: '/bin/app' },
  { start: 0x601000, end: 0x622000, flags: 0x3 | 0x70, pgoff: 0x601, ino: 0, name: '' },
  { start: 0x7f0000000000, end: 0x7f0000100000, flags: 0x3 | 0x70, pgoff: 0x7f0000000, ino: 0, name: 'buf' },
  { start: 0x7f0000200000, end: 0x7f0000201000, flags: 0xb | 0xf0, pgoff: 0, ino: 0, name: '' },
  { start: 0x7ffffffde000, end: 0x7ffffffff000, flags: 0x103 | 0x70, pgoff: 0x7ffffffde, ino: 0, name: '[stack]' },
];
// PTEs: [addr, entry, bits]; pages 1..6 in a table where pfn p sits in slot p
const ptes: [number, number, number][] = [
  [0x400000, 1 + 1, 2], // file text page, young, clean, mapped by 2
  [0x601000, 2 + 1, 2 | 4], // heap page, anon dirty, private
  [0x7f0000000000, -1, 0], // zero page: not counted
  [0x7f0000001000, 3 + 1, 0], // anon page shared with a forked child (mapcount 2), clean
  [0x7f0000002000, -2 - 5, 0], // swap entry 5, swap count 2
  [0x7f0000003000, -2 - 6, 0], // swap entry 6, count 1
  [0x7ffffffdf000, 4 + 1, 2 | 4], // stack page, anon, dirty
];
function mmOf(walk: boolean): MmStruct {
  return {
    id: 1, counters, vmas: () => vmas, findVma: () => undefined, startCode: 0x400000, endCode: 0x401800, startData: 0x601000, endData: 0x601100,
    startBrk: 0x602000, brk: 0x622000, startStack: 0x7fffffffe000, mmapBase: 0x7ffff7fff000, taskSize: 2 ** 47 - 4096, users: 1,
    ...(walk && {
      walkPtes(start: number, end: number, fn: (a: number, e: number, b: number) => void) {
        for (const [a, e, b] of ptes) if (a >= start && a < end) fn(a, e, b);
      },
    }),
  };
}
const flags = new Uint32Array(8);
const mapcount = new Int32Array(8);
flags[1] = PG_referenced;
mapcount[1] = 2;
flags[2] = PG_anon | PG_swapbacked;
mapcount[2] = 1;
flags[3] = PG_anon | PG_swapbacked;
mapcount[3] = 2;
flags[4] = PG_anon | PG_swapbacked | PG_dirty;
mapcount[4] = 1;
const memory = { pages: { flags, mapcount, refcount: new Int32Array(8) }, pfnToPage: (pfn: number) => pfn } as unknown as MemoryModel;
const task = (mm: MmStruct | null) => ({ pid: 7, tgid: 7, comm: 'app', mm }) as unknown as ProcessTask;

describe('/proc/<pid>/maps (show_map_vma)', () => {
  it('pads the name column to 73, prints the file, [heap], [anon:NAME], shared anon, [stack], then [vsyscall]', () => {
    const out = showMaps(task(mmOf(true)), (ino) => (ino === 12 ? '/bin/app' : undefined), false);
    expect(out).toBe([
      '00400000-00402000 r-xp 00000000 fe:00 12                                 /bin/app',
      '00601000-00622000 rw-p 00000000 00:00 0                                  [heap]',
      '7f0000000000-7f0000100000 rw-p 00000000 00:00 0                          [anon:buf]',
      '7f0000200000-7f0000201000 rw-s 00000000 00:01 0                          /dev/zero (deleted)',
      '7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]',
      'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]',
      '',
    ].join('\n'));
  });
  it('an unnamed anonymous mapping ends in a space; 32-bit pads to 49 and has no vsyscall page', () => {
    const mm = { ...mmOf(false), vmas: () => [{ start: 0xb7f00000, end: 0xb7f10000, flags: 0x73, pgoff: 0xb7f00, ino: 0, name: '' }], brk: 0, startBrk: 0, startStack: 0xbffff000 };
    expect(showMaps(task(mm), () => undefined, false)).toBe('b7f00000-b7f10000 rw-p 00000000 00:00 0 \nffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n');
    const named = { ...mm, vmas: () => [{ ...mm.vmas()[0]!, name: 'x' }] };
    expect(showMaps(task(named), () => undefined, true)).toBe('b7f00000-b7f10000 rw-p 00000000 00:00 0          [anon:x]\n');
    expect(showMaps(task(null), () => undefined, false)).toBe('');
  });
});

describe('/proc/<pid>/smaps_rollup (show_smaps_rollup)', () => {
  it('sums the PTEs: zero page not resident, shared pages split in Pss, swap entries by their count', () => {
    const swapCount = (e: number) => (e === 5 ? 2 : 1);
    const mss = gatherStats(mmOf(true), { memory, swapCount });
    expect(mss.resident).toBe(4 * 4096);
    expect(mss.anonymous).toBe(3 * 4096);
    expect(mss.shared_clean).toBe(2 * 4096);
    expect(mss.private_dirty).toBe(2 * 4096);
    expect(mss.swap).toBe(2 * 4096);
    const out = showSmapsRollup(task(mmOf(true)), { memory, swapCount }, false);
    expect(out).toBe([
      '00400000-7ffffffff000 ---p 00000000 00:00 0                              [rollup]',
      'Rss:                  16 kB',
      'Pss:                  12 kB',
      'Pss_Dirty:             8 kB',
      'Pss_Anon:             10 kB',
      'Pss_File:              2 kB',
      'Pss_Shmem:             0 kB',
      'Shared_Clean:          8 kB',
      'Shared_Dirty:          0 kB',
      'Private_Clean:         0 kB',
      'Private_Dirty:         8 kB',
      'Referenced:           12 kB',
      'Anonymous:            12 kB',
      'KSM:                   0 kB',
      'LazyFree:              0 kB',
      'AnonHugePages:         0 kB',
      'ShmemPmdMapped:        0 kB',
      'FilePmdMapped:         0 kB',
      'Shared_Hugetlb:        0 kB',
      'Private_Hugetlb:       0 kB',
      'Swap:                  8 kB',
      'SwapPss:               6 kB',
      'Locked:                0 kB',
      '',
    ].join('\n'));
  });
  it('an empty address space rolls up from 0 to 0; without a PTE walk the counters stand in', () => {
    const empty = { ...mmOf(true), vmas: () => [] };
    expect(showSmapsRollup(task(empty), { memory }, false).split('\n')[0]).toBe('00000000-00000000 ---p 00000000 00:00 0                                  [rollup]');
    const mss = gatherStats(mmOf(false), { memory });
    expect(mss.resident).toBe(5 * 4096);
    expect(mss.anonymous).toBe(3 * 4096);
    expect(mss.swap).toBe(4096);
  });
});

describe('task_mem (status Vm lines)', () => {
  it('VmPeak/VmHWM take the high-water marks; text and lib split exec_vm', () => {
    const s = taskMem(mmOf(true));
    expect(s).toContain('VmPeak:\t     480 kB\nVmSize:\t     400 kB\n');
    expect(s).toContain('VmHWM:\t      36 kB\nVmRSS:\t      20 kB\n');
    // text: 0x400000..PAGE_ALIGN(0x401800) = 8 kB; lib = 40 - 8
    expect(s).toContain('VmExe:\t       8 kB\nVmLib:\t      32 kB\nVmPTE:\t       8 kB\nVmSwap:\t       4 kB\nHugetlbPages:\t       0 kB\n');
  });
});

describe('with the process layer', () => {
  it('maps lists the named mapping; smaps_rollup splits Pss between a parent and its forked child', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    try {
      const p = sim.processes;
      p.spawn({ comm: 'app', pid: 100 });
      const len = 8 * 2 ** 20;
      const addr = p.mmap(100, len, { name: 'buf' });
      const line = sim.proc('100/maps').split('\n').find((l) => l.endsWith('[anon:buf]'))!;
      expect(line.slice(0, 30)).toBe(`${addr.toString(16)}-${(addr + len).toString(16)} rw-p`);
      expect(line.indexOf('[anon:buf]')).toBe(73);
      expect(sim.proc('100/maps')).toMatch(/\[stack\]\nffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 {18}\[vsyscall\]\n$/);
      const kb = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text)![1]);
      p.touch(100, addr, len, { write: true });
      const before = sim.proc('100/smaps_rollup');
      expect(before.split('\n')[0]).toMatch(/^[0-9a-f]+-7ffffffff000 ---p 00000000 00:00 0 +\[rollup\]$/);
      expect(kb(before, 'Anonymous')).toBeGreaterThanOrEqual(8192);
      expect(kb(before, 'Private_Dirty')).toBe(kb(before, 'Anonymous'));
      p.fork(100, { child: 101 });
      const parent = sim.proc('100/smaps_rollup');
      // every anonymous page is now mapped twice: shared, half of it in each Pss
      expect(kb(parent, 'Shared_Dirty')).toBe(kb(before, 'Anonymous'));
      expect(kb(parent, 'Pss_Anon')).toBe(kb(before, 'Anonymous') / 2);
      expect(kb(parent, 'Rss')).toBe(kb(before, 'Rss'));
      // the child writes one page: it gets its own copy, private again
      p.touch(101, addr, 4096, { write: true });
      const child = sim.proc('101/smaps_rollup');
      expect(kb(child, 'Private_Dirty')).toBe(4);
      expect(kb(child, 'Rss')).toBe(kb(before, 'Rss'));
      expect(sim.proc('100/status')).toMatch(new RegExp(`^RssAnon:\\s+${kb(before, 'Anonymous')} kB$`, 'm'));
    } finally {
      sim.dispose();
    }
  });
});
