import { describe, expect, it } from 'vitest';
import { createSimulator } from '@mmsim/defconfig';
import type { MmCounters, MmStruct, ProcessTask, TaskTable, Topology, Vma } from '@mmsim/core';
import { bitmapList, bitmapString, showOomScoreAdj, showStat, showStatus, sigpendingLimit } from './array.js';
import { showStatm } from './task_mmu.js';
import { formatPs, psAux, psRows } from './ps.js';

// A /usr/bin/cat-like process as this machine's 6.x kernel shows one (counters in pages).
const counters: MmCounters = {
  anonRss: 29, fileRss: 409, shmemRss: 0, swapents: 0, pgtablesBytes: 45056, totalVm: 765, dataVm: 90, execVm: 387, stackVm: 33, lockedVm: 0,
  hiwaterRss: 438, hiwaterVm: 765,
};
const vmas: Vma[] = [
  { start: 0x5637c6e9c000, end: 0x5637c6e9e000, flags: 0x1 | 0x10 | 0x20 | 0x40, pgoff: 0, ino: 7, name: '/usr/bin/cat' },
  { start: 0x5637c6e9e000, end: 0x5637c6ea3000, flags: 0x5 | 0x10 | 0x20 | 0x40, pgoff: 2, ino: 7, name: '/usr/bin/cat' },
  { start: 0x5637d995e000, end: 0x5637d997f000, flags: 0x3 | 0x70, pgoff: 0x5637d995e, ino: 0, name: '[heap]' },
  { start: 0x7ffed9ec6000, end: 0x7ffed9ee7000, flags: 0x103 | 0x70, pgoff: 0x7ffed9ec6, ino: 0, name: '[stack]' },
];
function mmOf(c: MmCounters = counters): MmStruct {
  return {
    id: 1, counters: c, vmas: () => vmas, findVma: () => undefined,
    startCode: 0x5637c6e9e000, endCode: 0x5637c6ea2da9, startData: 0x5637c6ea6c30, endData: 0x5637c6ea7280,
    startBrk: 0x5637d995e000, brk: 0x5637d997f000, startStack: 0x7ffed9ee5e00, mmapBase: 0x7fcb1ed02000, taskSize: 2 ** 47 - 4096, users: 1,
  };
}
function task(over: Partial<ProcessTask> = {}): ProcessTask {
  const mm = over.mm === undefined ? mmOf() : over.mm;
  return {
    pid: 100, tgid: 100, ppid: 1, comm: 'cat', uid: 0, oomScoreAdj: 0, cpu: 1, minFlt: 99, majFlt: 0, state: 'R', mm,
    fileRss: mm?.counters.fileRss ?? 0, anonRss: mm?.counters.anonRss ?? 0, shmemRss: 0, swapents: 0, pgtablesBytes: mm?.counters.pgtablesBytes ?? 0,
    totalVm: mm?.counters.totalVm ?? 0, startTime: 11_655_480_000_000,
    ...over,
  } as ProcessTask;
}
function table(tasks: ProcessTask[]): TaskTable {
  const byPid = new Map(tasks.map((t) => [t.pid, t]));
  return { get: (p: number) => byPid.get(p)!, has: (p: number) => byPid.has(p), all: () => [...byPid.values()].sort((a, b) => a.pid - b.pid), memalloc: 0, ilPrev: -1 };
}
// 24 GiB of managed memory, two CPUs on one node
const topology = { arch: 'x86_64', totalManagedPages: 6_167_488, nodes: [{ nid: 0, cpus: [0, 1] }] } as unknown as Topology;

describe('/proc/<pid>/status (proc_pid_status)', () => {
  it('prints every line 6.12 prints, in order, with tabs and kB columns', () => {
    const t = task();
    expect(showStatus(t, { tasks: table([t]), topology })).toBe([
      'Name:\tcat', 'Umask:\t0022', 'State:\tR (running)', 'Tgid:\t100', 'Ngid:\t0', 'Pid:\t100', 'PPid:\t1', 'TracerPid:\t0',
      'Uid:\t0\t0\t0\t0', 'Gid:\t0\t0\t0\t0', 'FDSize:\t64', 'Groups:\t ', 'NStgid:\t100', 'NSpid:\t100', 'NSpgid:\t100', 'NSsid:\t100', 'Kthread:\t0',
      'VmPeak:\t    3060 kB', 'VmSize:\t    3060 kB', 'VmLck:\t       0 kB', 'VmPin:\t       0 kB', 'VmHWM:\t    1752 kB', 'VmRSS:\t    1752 kB',
      'RssAnon:\t     116 kB', 'RssFile:\t    1636 kB', 'RssShmem:\t       0 kB', 'VmData:\t     360 kB', 'VmStk:\t     132 kB', 'VmExe:\t      20 kB',
      'VmLib:\t    1528 kB', 'VmPTE:\t      44 kB', 'VmSwap:\t       0 kB', 'HugetlbPages:\t       0 kB', 'CoreDumping:\t0', 'THP_enabled:\t1',
      'untag_mask:\t0xffffffffffffffff', 'Threads:\t1', 'SigQ:\t0/96367', 'SigPnd:\t0000000000000000', 'ShdPnd:\t0000000000000000',
      'SigBlk:\t0000000000000000', 'SigIgn:\t0000000000000000', 'SigCgt:\t0000000000000000', 'CapInh:\t0000000000000000',
      'CapPrm:\t000001ffffffffff', 'CapEff:\t000001ffffffffff', 'CapBnd:\t000001ffffffffff', 'CapAmb:\t0000000000000000', 'NoNewPrivs:\t0',
      'Seccomp:\t0', 'Seccomp_filters:\t0', 'Speculation_Store_Bypass:\tvulnerable', 'SpeculationIndirectBranch:\talways enabled',
      'Cpus_allowed:\t3', 'Cpus_allowed_list:\t0-1',
      `Mems_allowed:\t${'00000000,'.repeat(31)}00000001`, 'Mems_allowed_list:\t0',
      'voluntary_ctxt_switches:\t0', 'nonvoluntary_ctxt_switches:\t0', '',
    ].join('\n'));
  });

  it('a kernel thread has no Vm lines, ignores every signal; a user task has no capabilities; threads count in Threads', () => {
    const k = task({ pid: 2, tgid: 2, ppid: 0, comm: 'kthreadd', mm: null, kthread: true, state: 'S' });
    const u = task({ pid: 300, tgid: 300, uid: 1000, comm: 'a\nb\\c' });
    const th = task({ pid: 301, tgid: 300, uid: 1000, comm: 'worker' });
    const tasks = table([k, u, th]);
    const ks = showStatus(k, { tasks, topology });
    expect(ks).toContain('State:\tS (sleeping)\n');
    expect(ks).toContain('Kthread:\t1\n');
    expect(ks).toContain('NSpgid:\t0\nNSsid:\t0\n');
    expect(ks).not.toMatch(/^Vm|^CoreDumping|^untag_mask/m);
    expect(ks).toContain('SigIgn:\tffffffffffffffff\n');
    const us = showStatus(u, { tasks, topology });
    expect(us).toMatch(/^Name:\ta\\nb\\\\c$/m);
    expect(us).toContain('Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n');
    expect(us).toContain('CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\n');
    expect(us).toContain('Threads:\t2\n');
    const ts = showStatus(th, { tasks, topology });
    expect(ts).toContain('Tgid:\t300\nNgid:\t0\nPid:\t301\n');
  });

  it('i386: a 32-bit untag mask and the 8 KiB THREAD_SIZE in the signal limit', () => {
    const t32 = { ...topology, arch: 'x86_32', totalManagedPages: 262_144 } as unknown as Topology;
    const t = task();
    const s = showStatus(t, { tasks: table([t]), topology: t32 });
    expect(s).toContain('untag_mask:\t0xffffffff\n');
    // 1 GiB / (8 * 8 KiB) = 16384 threads, half of them
    expect(s).toContain('SigQ:\t0/8192\n');
    expect(s).toContain('Mems_allowed:\t1\n');
  });
});

describe('/proc/<pid>/stat and statm', () => {
  it('stat has 52 fields in do_task_stat order', () => {
    const t = task({ ppid: 1 });
    const line = showStat(t, { tasks: table([t]), topology });
    expect(line.endsWith('\n')).toBe(true);
    const f = line.trimEnd().split(' ');
    expect(f).toHaveLength(52);
    expect(f.slice(0, 12)).toEqual(['100', '(cat)', 'R', '1', '100', '100', '0', '-1', '4194304', '99', '0', '0']);
    // priority, nice, threads, itrealvalue, starttime (ticks), vsize (bytes), rss (pages), rsslim
    expect(f.slice(17, 25)).toEqual(['20', '0', '1', '0', '1165548', String(765 * 4096), '438', '18446744073709551615']);
    expect(Number(f[25])).toBe(0x5637c6e9e000);
    expect(Number(f[27])).toBe(0x7ffed9ee5e00);
    // exit_signal SIGCHLD, processor
    expect(f.slice(37, 39)).toEqual(['17', '1']);
    expect(Number(f[44])).toBe(0x5637c6ea6c30);
    expect(Number(f[46])).toBe(0x5637d995e000);
    // argv above start_stack, below the stack top; no environment
    const [argStart, argEnd, envStart, envEnd] = f.slice(47, 51).map(Number);
    expect(argStart).toBeGreaterThan(0x7ffed9ee5e00);
    expect(argEnd! - argStart!).toBe(4);
    expect(envStart).toBe(argEnd);
    expect(envEnd).toBe(argEnd);
    expect(argEnd).toBeLessThan(0x7ffed9ee7000);
    expect(f[51]).toBe('0');
  });

  it('a kernel thread: no memory, sigignore, kthreadd without exit signal', () => {
    const k = task({ pid: 2, tgid: 2, ppid: 0, comm: 'kthreadd', mm: null, kthread: true, state: 'S', cpu: 1, startTime: 190_000_000 });
    expect(showStat(k, { tasks: table([k]), topology })).toBe(
      '2 (kthreadd) S 0 0 0 0 -1 2129984 99 0 0 0 0 0 0 0 20 0 1 0 19 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
    );
    expect(showStatm(k)).toBe('0 0 0 0 0 0 0\n');
  });

  it('statm: size resident shared text lib data dt', () => {
    // text: 0x5637c6e9e000..PAGE_ALIGN(0x5637c6ea2da9) = 5 pages; data = data_vm + stack_vm
    expect(showStatm(task())).toBe('765 438 409 5 0 123 0\n');
  });

  it('oom_score_adj prints the signed value', () => {
    expect(showOomScoreAdj(task({ oomScoreAdj: -1000 }))).toBe('-1000\n');
    expect(showOomScoreAdj(task({ oomScoreAdj: 500 }))).toBe('500\n');
  });
});

describe('bitmaps and limits', () => {
  it('%*pb chunks of 32 bits, the first only as wide as its bits; %*pbl ranges', () => {
    expect(bitmapString(2, [0, 1])).toBe('3');
    expect(bitmapString(8, [0, 1, 2, 3, 4, 5])).toBe('3f');
    expect(bitmapString(40, [...Array(40).keys()])).toBe('ff,ffffffff');
    expect(bitmapString(64, [0, 33])).toBe('00000002,00000001');
    expect(bitmapList([0, 1, 2, 3, 5, 7, 8])).toBe('0-3,5,7-8');
    expect(bitmapList([0])).toBe('0');
  });
  it('RLIMIT_SIGPENDING is max_threads / 2 with the MIN_THREADS floor', () => {
    expect(sigpendingLimit(topology)).toBe(96367);
    expect(sigpendingLimit({ ...topology, totalManagedPages: 16 } as unknown as Topology)).toBe(10);
  });
});

describe('ps aux', () => {
  it('prints procps-ng columns: VSZ and RSS in KiB, %MEM truncated to tenths, threads folded, kernel threads bracketed', () => {
    const k = task({ pid: 2, tgid: 2, ppid: 0, comm: 'kthreadd', mm: null, kthread: true, state: 'S', startTime: 0 });
    const big: MmCounters = { ...counters, anonRss: 262_144, totalVm: 300_000 };
    const a = task({ pid: 100, tgid: 100, comm: 'app', uid: 1000, mm: mmOf(big), startTime: 3_723e9 });
    const th = task({ pid: 101, tgid: 100, comm: 'app', uid: 1000, mm: a.mm });
    const c = task({ pid: 102, tgid: 102, ppid: 100, comm: 'child', uid: 1000, state: 'S' });
    const tasks = table([k, a, th, c]);
    // MemTotal 4 GiB: 1 GiB + 1636 kB resident is 25.03% → 25.0
    const out = psAux(tasks, 4 * 1024 * 1024);
    expect(out).toBe([
      'USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND',
      'root         2  0.0  0.0      0     0 ?        S    00:00   0:00 [kthreadd]',
      '1000       100  0.0 25.0 1200000 1050212 ?        Rsl  01:02   0:00 app',
      '1000       102  0.0  0.0   3060  1752 ?        S    03:14   0:00 child',
      '',
    ].join('\n'));
    expect(psRows(tasks, 4 * 1024 * 1024).map((r) => r.pid)).toEqual([2, 100, 102]);
    expect(formatPs([])).toBe('USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n');
  });
});

describe('with the process layer', () => {
  /** A status field's number (kB for the Vm lines). */
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)![1]);

  it('status and stat follow the lazy faults: mmap adds VmSize, reads map the zero page, writes add RssAnon', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    try {
      const p = sim.processes;
      p.spawn({ comm: 'app', pid: 100, uid: 1000, oomScoreAdj: 300 });
      const s0 = sim.proc('100/status');
      const len = 100 * 2 ** 20;
      const addr = p.mmap(100, len, { name: 'buf' });
      const s1 = sim.proc('100/status');
      expect(field(s1, 'VmSize') - field(s0, 'VmSize')).toBe(102400);
      expect(field(s1, 'RssAnon')).toBe(field(s0, 'RssAnon'));
      const minflt = () => Number(sim.proc('100/stat').split(' ')[9]);
      const f0 = minflt();
      p.touch(100, addr, len, { write: false });
      const s2 = sim.proc('100/status');
      expect(field(s2, 'RssAnon')).toBe(field(s0, 'RssAnon'));
      expect(minflt() - f0).toBe(25600);
      p.touch(100, addr, len, { write: true });
      const s3 = sim.proc('100/status');
      expect(field(s3, 'RssAnon') - field(s0, 'RssAnon')).toBe(102400);
      expect(minflt() - f0).toBe(51200);
      expect(field(s3, 'VmHWM')).toBe(field(s3, 'VmRSS'));
      expect(s3).toMatch(/^Uid:\t1000\t1000\t1000\t1000$/m);
      expect(sim.proc('100/oom_score_adj')).toBe('300\n');
      // statm agrees with status: pages, resident = RssAnon + RssFile + RssShmem
      const [size, resident] = sim.proc('100/statm').split(' ').map(Number);
      expect(size! * 4).toBe(field(s3, 'VmSize'));
      expect(resident! * 4).toBe(field(s3, 'VmRSS'));
      // a forked child is in the parent's session, its thread group of one
      p.fork(100, { child: 101 });
      const st = sim.proc('101/stat').split(' ');
      expect(st.slice(3, 6)).toEqual(['100', '100', '100']);
      expect(sim.proc('101/status')).toMatch(/^PPid:\t100$/m);
    } finally {
      sim.dispose();
    }
  });

  it('a kernel thread shows no memory', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    try {
      const k = sim.processes.spawn({ comm: 'kworker/0:1', kthread: true });
      const s = sim.proc(`${k.pid}/status`);
      expect(s).toMatch(/^Kthread:\t1$/m);
      expect(s).not.toMatch(/^VmSize/m);
      expect(sim.proc(`${k.pid}/statm`)).toBe('0 0 0 0 0 0 0\n');
      expect(sim.proc(`${k.pid}/maps`)).toBe('');
      expect(sim.proc(`${k.pid}/stat`).split(' ')[8]).toBe('2129984');
    } finally {
      sim.dispose();
    }
  });
});
