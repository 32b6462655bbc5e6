import { describe, expect, it } from 'vitest';
import { createSimulator, isMmsimError, type Simulator } from '@mmsim/defconfig';
import { formatWorkloadResult, runWorkloadFile, runWorkloadOps, WorkloadRunner, workloadTextWriter } from './ops.js';

const MiB = 2 ** 20;

async function sim(config: Record<string, unknown> = {}): Promise<Simulator> {
  return createSimulator({ machine: { memory: '1G' }, ...config });
}

/** The EWORKLOAD error a run throws (fails the test when it does not throw). */
function refusal(fn: () => unknown): Error & { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isMmsimError(e)) return e;
    throw e;
  }
  throw new Error('expected the run to stop with an error');
}

const lines = (...o: object[]) => o.map((x) => JSON.stringify(x)).join('\n');

describe('workload files (JSON Lines)', () => {
  it('runs ops line by line: results per line, proc views as the kernel prints them', async () => {
    const s = await sim();
    try {
      const r = runWorkloadFile(s, [
        '# a comment, then a blank line',
        '',
        lines(
          { op: 'spawn', pid: 100, comm: 'app', uid: 1000, adj: 0 },
          { op: 'mmap', pid: 100, name: 'buf', size: '100M' },
          { op: 'proc', name: '100/status' },
          { op: 'touch', pid: 100, name: 'buf', access: 'write' },
          { op: 'proc', name: '/proc/100/status' },
          { op: 'mmap', pid: 100, name: 'huge', size: 128 * 2 ** 40 },
          { op: 'proc', name: 'meminfo' },
        ),
      ].join('\r\n'), { file: 'w.jsonl' });
      expect(r.ops).toEqual([
        { line: 3, op: 'spawn', result: 'ok' },
        { line: 4, op: 'mmap', result: 'ok' },
        { line: 5, op: 'proc', result: 'ok' },
        { line: 6, op: 'touch', result: 'ok' },
        { line: 7, op: 'proc', result: 'ok' },
        // 128 TiB does not fit below TASK_SIZE
        { line: 8, op: 'mmap', result: 'ENOMEM' },
        { line: 9, op: 'proc', result: 'ok' },
      ]);
      expect(r.proc.map((v) => [v.line, v.name])).toEqual([[5, '100/status'], [7, '100/status'], [9, 'meminfo']]);
      const kb = (t: string, f: string) => Number(new RegExp(`^${f}:\\s+(\\d+) kB$`, 'm').exec(t)![1]);
      expect(kb(r.proc[1]!.text, 'RssAnon') - kb(r.proc[0]!.text, 'RssAnon')).toBe(102400);
      expect(r.proc[1]!.text).toBe(s.proc('100/status'));
      const text = formatWorkloadResult(r);
      expect(text.startsWith('==> /proc/100/status <==\nName:\tapp\n')).toBe(true);
      expect(text).toContain('\n\n==> /proc/100/status <==\nName:\tapp\n');
      expect(text).toContain('\nline 8: mmap: ENOMEM\n\n==> /proc/meminfo <==\nMemTotal:');
    } finally {
      s.dispose();
    }
  });

  it('a malformed line stops the run with FILE:LINE: cause, everything before it done', async () => {
    const s = await sim();
    try {
      const head = lines({ op: 'spawn', pid: 100, comm: 'app' }, { op: 'mmap', pid: 100, name: 'buf', size: '8M' });
      const bad: [string, RegExp][] = [
        ['{"op":"mmap",', /^EWORKLOAD: w\.jsonl:3: not valid JSON/],
        ['[1,2]', /w\.jsonl:3: expected a JSON object, got \[1,2\]/],
        ['{"pid":100}', /w\.jsonl:3: missing field 'op'/],
        ['{"op":"mlock","pid":100}', /w\.jsonl:3: unknown op "mlock"; known: spawn, fork/],
        ['{"op":"touch","pid":100,"name":"buf"}', /w\.jsonl:3: touch: missing field 'access'/],
        ['{"op":"touch","pid":100,"name":"buf","access":"write","nmae":"x"}', /w\.jsonl:3: touch: unknown field 'nmae'/],
        ['{"op":"touch","pid":"100","name":"buf","access":"write"}', /w\.jsonl:3: touch: field 'pid': expected an integer 1\.\.4194304, got "100"/],
        ['{"op":"touch","pid":100,"name":"buf","access":"exec"}', /field 'access': expected 'read' or 'write'/],
        ['{"op":"mmap","pid":100,"name":"b2","size":"12Q"}', /w\.jsonl:3: mmap: size: expected a size like '4G' or '512M', got '12Q'/],
        ['{"op":"mmap","pid":100,"name":"b2","size":"1M","prot":"rwz"}', /field 'prot'/],
        ['{"op":"touch","pid":101,"name":"buf","access":"write"}', /w\.jsonl:3: touch: no task with pid 101/],
        ['{"op":"touch","pid":100,"name":"nope","access":"write"}', /w\.jsonl:3: touch: pid 100 has no mapping or allocation named 'nope'/],
        ['{"op":"touch","pid":100,"name":"buf","access":"write","offset":"4M","size":"8M"}', /lies past the mapping/],
        ['{"op":"mmap","pid":100,"name":"buf","size":"1M"}', /already has a mapping or allocation named 'buf'/],
        ['{"op":"spawn","pid":100}', /w\.jsonl:3: spawn: pid 100 already exists/],
        ['{"op":"sysctl","name":"vm.overcommit_memory","value":7}', /w\.jsonl:3: sysctl: vm\.overcommit_memory: expected an integer 0\.\.2, got 7/],
        ['{"op":"proc","name":"999/status"}', /w\.jsonl:3: proc: no \/proc view '999\/status'/],
        ['{"op":"alloc_pages","name":"p","order":11}', /field 'order': expected an integer 0\.\.10/],
        ['{"op":"kfree","name":"never"}', /no kmalloc named 'never'/],
        ['{"op":"read","pid":100,"path":"/nope"}', /no file '\/nope'/],
      ];
      for (const [line, re] of bad) {
        const s2 = await sim();
        try {
          const e = refusal(() => runWorkloadFile(s2, `${head}\n${line}\n${lines({ op: 'exit', pid: 100 })}`, { file: 'w.jsonl' }));
          expect(e.code, line).toBe('EWORKLOAD');
          expect(e.message, line).toMatch(re);
          // the lines before ran; the bad one and those after did not
          expect(s2.tasks.has(100), line).toBe(true);
          expect(s2.proc('100/maps'), line).toContain('[anon:buf]');
        } finally {
          s2.dispose();
        }
      }
    } finally {
      s.dispose();
    }
  });

  it('a refused call is its errno, a fatal access its signal: the task is gone for the lines after', async () => {
    const s = await sim();
    try {
      const r = runWorkloadOps(s, [
        { op: 'spawn', pid: 100, comm: 'app' },
        { op: 'spawn', pid: 200, comm: 'other' },
        { op: 'mmap', pid: 100, name: 'ro', size: '1M', prot: 'r--' },
        { op: 'touch', pid: 100, name: 'ro', access: 'read' },
        { op: 'mprotect', pid: 100, name: 'ro', prot: 'rw', offset: 100, size: 4096 },
        { op: 'touch', pid: 100, name: 'ro', access: 'write' },
        { op: 'proc', name: '200/status' },
      ]);
      expect(r.ops.map((o) => o.result)).toEqual(['ok', 'ok', 'ok', 'ok', 'EINVAL', 'SIGSEGV', 'ok']);
      expect(s.tasks.has(100)).toBe(false);
      expect(s.tasks.has(200)).toBe(true);
      const e = refusal(() => new WorkloadRunner(s, { file: 'x' }).op({ op: 'exit', pid: 100 }));
      expect(e.message).toBe('EWORKLOAD: x:1: exit: no task with pid 100');
    } finally {
      s.dispose();
    }
  });

  it('fork hands the parent\'s names to the child; munmap, mprotect and brk; overcommit by sysctl', async () => {
    const s = await sim({ machine: { memory: '1G' } });
    try {
      const r = runWorkloadOps(s, [
        { op: 'spawn', pid: 100, comm: 'app' },
        { op: 'mmap', pid: 100, name: 'buf', size: '4M' },
        { op: 'touch', pid: 100, name: 'buf', access: 'write' },
        { op: 'fork', pid: 100, child: 101 },
        { op: 'touch', pid: 101, name: 'buf', access: 'write', size: 4096 },
        { op: 'proc', name: '101/smaps_rollup' },
        { op: 'munmap', pid: 100, name: 'buf', offset: '1M', size: '1M' },
        // the range has a hole now: mprotect answers ENOMEM, as the kernel does for unmapped pages
        { op: 'mprotect', pid: 100, name: 'buf', prot: 'r' },
        { op: 'mprotect', pid: 100, name: 'buf', prot: 'r', size: '1M' },
        { op: 'munmap', pid: 100, name: 'buf' },
        { op: 'mmap', pid: 100, name: 'buf', size: '4M', populate: true },
        { op: 'brk', pid: 100, size: '1M' },
        { op: 'proc', name: '100/maps' },
        { op: 'sysctl', name: 'vm.overcommit_memory', value: 2 },
        { op: 'mmap', pid: 100, name: 'big', size: '2G' },
        { op: 'mmap', pid: 100, name: 'big2', size: '2G', prot: 'r' },
        { op: 'exit', pid: 101 },
        { op: 'exec', pid: 100, comm: 'app2' },
        { op: 'proc', name: '100/status' },
      ]);
      expect(r.ops.map((o) => `${o.op}:${o.result}`)).toEqual([
        'spawn:ok', 'mmap:ok', 'touch:ok', 'fork:ok', 'touch:ok', 'proc:ok', 'munmap:ok', 'mprotect:ENOMEM', 'mprotect:ok', 'munmap:ok', 'mmap:ok', 'brk:ok',
        'proc:ok', 'sysctl:ok', 'mmap:ENOMEM', 'mmap:ok', 'exit:ok', 'exec:ok', 'proc:ok',
      ]);
      expect(r.proc[0]!.text).toMatch(/^Private_Dirty:\s+4 kB$/m);
      expect(r.proc[1]!.text).toMatch(/\[heap\]\n/);
      expect(r.proc[1]!.text.match(/\[anon:buf\]/g)).toHaveLength(1);
      expect(r.proc[2]!.text).toMatch(/^Name:\tapp2$/m);
      // after exec the old names are gone
      const e = refusal(() => new WorkloadRunner(s).op({ op: 'touch', pid: 100, name: 'buf', access: 'read' }));
      expect(e.message).toMatch(/no mapping or allocation named 'buf'/);
    } finally {
      s.dispose();
    }
  });

  it('kernel allocations and simulated time', async () => {
    const s = await sim();
    try {
      const free = () => { s.pages.drainAllPages(); return s.topology.zones.reduce((n, z) => n + z.stats.nrFreePages, 0); };
      const f0 = free();
      const runner = new WorkloadRunner(s);
      runner.op({ op: 'alloc_pages', name: 'blk', order: 3, gfp: 'GFP_KERNEL|__GFP_ZERO' });
      runner.op({ op: 'kmalloc', name: 'obj', size: 3000 });
      expect(free()).toBeLessThanOrEqual(f0 - 8);
      runner.op({ op: 'free_pages', name: 'blk' });
      runner.op({ op: 'kfree', name: 'obj' });
      runner.op({ op: 'alloc_pages', name: 'big', order: 10, gfp: 'GFP_KERNEL' });
      expect(runner.result.ops.map((o) => o.result)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      const t0 = s.clock.now();
      runner.op({ op: 'sleep', ms: 250 });
      expect(s.clock.now() - t0).toBe(250e6);
      expect(() => runner.op({ op: 'kmalloc', name: 'x', size: 8, gfp: 'GFP_BOGUS' })).toThrow(/field 'gfp': unknown gfp flag 'GFP_BOGUS'/);
    } finally {
      s.dispose();
    }
  });

  it('streams: callbacks see each result, collect: false keeps none; the text writer prints as it goes', async () => {
    const s = await sim();
    try {
      let out = '';
      const w = workloadTextWriter((x) => (out += x));
      const seen: string[] = [];
      const runner = new WorkloadRunner(s, { collect: false, onOp: (r) => { seen.push(r.op); w.onOp(r); }, onProc: w.onProc });
      runner.line('{"op":"spawn","pid":7,"comm":"t"}');
      runner.line('{"op":"mmap","pid":7,"name":"b","size":"1G","prot":"rw","noreserve":true,"shared":true}');
      runner.line('{"op":"proc","name":"7/oom_score_adj"}');
      expect(seen).toEqual(['spawn', 'mmap', 'proc']);
      expect(runner.result.ops).toEqual([]);
      expect(out).toBe('==> /proc/7/oom_score_adj <==\n0\n');
    } finally {
      s.dispose();
    }
  });

  it('is deterministic: the same file on the same config gives the same results', async () => {
    const text = lines(
      { op: 'spawn', pid: 100, comm: 'app' },
      { op: 'mmap', pid: 100, name: 'buf', size: '16M' },
      { op: 'touch', pid: 100, name: 'buf', access: 'write', pattern: 'random', repeat: 2 },
      { op: 'fork', pid: 100, child: 101 },
      { op: 'touch', pid: 101, name: 'buf', access: 'write', pattern: 'random', offset: '4M', size: '4M' },
      { op: 'proc', name: 'meminfo' },
      { op: 'proc', name: '101/smaps_rollup' },
      { op: 'proc', name: '100/stat' },
    );
    const once = async () => {
      const s = await sim({ seed: 9 });
      try {
        return JSON.stringify(runWorkloadFile(s, text));
      } finally {
        s.dispose();
      }
    };
    expect(await once()).toBe(await once());
  });
});

describe('files and swap', () => {
  it('file, read, write, fsync, a file mapping; swapon and swapoff by name', async () => {
    const s = await sim();
    try {
      const r = runWorkloadOps(s, [
        { op: 'file', path: '/data/a', size: '8M' },
        { op: 'spawn', pid: 100, comm: 'reader' },
        { op: 'read', pid: 100, path: '/data/a' },
        { op: 'proc', name: 'meminfo' },
        { op: 'write', pid: 100, path: '/data/a', offset: '1M', size: '64K' },
        { op: 'fsync', path: '/data/a' },
        { op: 'mmap', pid: 100, name: 'map', file: '/data/a', prot: 'r', offset: '4M' },
        { op: 'touch', pid: 100, name: 'map', access: 'read' },
        { op: 'proc', name: '100/maps' },
        { op: 'proc', name: '100/status' },
        { op: 'swapon', size: '64M', name: '/swapfile' },
        { op: 'proc', name: 'swaps' },
        { op: 'swapoff', name: '/swapfile' },
      ]);
      expect(r.ops.map((o) => `${o.op}:${o.result}`)).toEqual([
        'file:ok', 'spawn:ok', 'read:ok', 'proc:ok', 'write:ok', 'fsync:ok', 'mmap:ok', 'touch:ok', 'proc:ok', 'proc:ok', 'swapon:ok', 'proc:ok', 'swapoff:ok',
      ]);
      expect(r.proc[0]!.text).toMatch(/^Cached:\s+8192 kB$/m);
      const ino = s.pageCache.lookup('/data/a')!.ino;
      // the file's path and inode, its offset in the file
      expect(r.proc[1]!.text).toMatch(new RegExp(`^[0-9a-f]+-[0-9a-f]+ r--p 00400000 fe:00 ${ino} +/data/a$`, 'm'));
      expect(r.proc[2]!.text).toMatch(/^RssFile:\s+4096 kB$/m);
      expect(r.proc[3]!.text).toMatch(/^\/swapfile/m);
      expect(() => runWorkloadOps(s, [{ op: 'file', path: '/data/a', size: 1 }])).toThrow(/workload:1: file: file '\/data\/a' already exists/);
      expect(() => runWorkloadOps(s, [{ op: 'swapoff', name: '/swapfile' }])).toThrow(/no swap device '\/swapfile'; on: none/);
      expect(() => runWorkloadOps(s, [{ op: 'mmap', pid: 100, name: 'x', size: '1M', offset: 4096 }])).toThrow(/'offset' is a file offset: it needs 'file'/);
    } finally {
      s.dispose();
    }
  });
});

describe('odd lines', () => {
  it('a field named like an Object method is unknown, not a crash; a kernel thread spawns without memory', async () => {
    const s = await sim();
    try {
      expect(() => runWorkloadFile(s, '{"op":"exit","pid":1,"toString":1}')).toThrow(/workload:1: exit: unknown field 'toString'; exit takes pid/);
      expect(() => runWorkloadFile(s, '{"op":"constructor"}')).toThrow(/unknown op "constructor"/);
      const r = runWorkloadFile(s, '{"op":"spawn","pid":50,"comm":"kworker/0:0","kthread":true}\n{"op":"proc","name":"50/statm"}\n');
      expect(r.proc[0]!.text).toBe('0 0 0 0 0 0 0\n');
    } finally {
      s.dispose();
    }
  });
});

describe('malloc through glibc\'s model', () => {
  it('100K from the brk heap, 200K in a 204 kB mapping free() removes; touch reaches an allocation; mallopt; fork copies the arena', async () => {
    const s = await sim();
    try {
      const vmsize = () => Number(/^VmSize:\s+(\d+) kB$/m.exec(s.proc('100/status'))![1]);
      const runner = new WorkloadRunner(s);
      runner.op({ op: 'spawn', pid: 100, comm: 'm' });
      const v0 = vmsize();
      const brk0 = s.tasks.get(100).mm!.brk;
      runner.op({ op: 'malloc', pid: 100, name: 'small', size: '100K' });
      expect(s.tasks.get(100).mm!.brk).toBeGreaterThan(brk0);
      const v1 = vmsize();
      runner.op({ op: 'malloc', pid: 100, name: 'big', size: '200K' });
      expect(vmsize() - v1).toBe(204);
      runner.op({ op: 'touch', pid: 100, name: 'big', access: 'write' });
      expect(s.proc('100/status')).toMatch(/^RssAnon:\s+(20[0-9]|21[0-9]) kB$/m);
      runner.op({ op: 'free', pid: 100, name: 'big' });
      expect(vmsize()).toBe(v1);
      expect(v1).toBeGreaterThan(v0);
      // a raised threshold keeps 200K in the heap
      runner.op({ op: 'mallopt', pid: 100, param: 'M_MMAP_THRESHOLD', value: 512 * 1024 });
      // past MAX_FAST_SIZE: glibc refuses
      runner.op({ op: 'mallopt', pid: 100, param: 'M_MXFAST', value: 1000 });
      const brk1 = s.tasks.get(100).mm!.brk;
      runner.op({ op: 'malloc', pid: 100, name: 'big2', size: '200K' });
      // no mapping of its own: the heap grew (by the request and the top pad)
      expect(s.proc('100/maps').split('\n').filter((l) => / 00:00 0 $/.test(l))).toEqual([]);
      expect(s.tasks.get(100).mm!.brk - brk1).toBeGreaterThanOrEqual(200 * 1024);
      runner.op({ op: 'fork', pid: 100, child: 101 });
      runner.op({ op: 'free', pid: 101, name: 'small' });
      runner.op({ op: 'touch', pid: 101, name: 'big2', access: 'write', size: 4096 });
      // a NULL from malloc: the name holds 0, touching it faults at address 0
      runner.op({ op: 'malloc', pid: 101, name: 'huge', size: '128T' });
      runner.op({ op: 'free', pid: 101, name: 'huge' });
      runner.op({ op: 'malloc', pid: 101, name: 'huge', size: '128T' });
      runner.op({ op: 'touch', pid: 101, name: 'huge', access: 'read' });
      expect(runner.result.ops.map((o) => `${o.op}:${o.result}`)).toEqual([
        'spawn:ok', 'malloc:ok', 'malloc:ok', 'touch:ok', 'free:ok', 'mallopt:ok', 'mallopt:EINVAL', 'malloc:ok', 'fork:ok', 'free:ok', 'touch:ok',
        'malloc:ENOMEM', 'free:ok', 'malloc:ENOMEM', 'touch:SIGSEGV',
      ]);
      expect(s.tasks.has(101)).toBe(false);
      expect(s.tasks.has(100)).toBe(true);
      expect(() => runner.op({ op: 'mallopt', pid: 100, param: 'M_BOGUS', value: 1 })).toThrow(/field 'param': expected a mallopt parameter/);
      expect(() => runner.op({ op: 'free', pid: 100, name: 'nope' })).toThrow(/pid 100 has no allocation named 'nope'/);
    } finally {
      s.dispose();
    }
  });
});
