import { describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '@mmsim/defconfig';
import { forkStormWorkload, generateWorkload, hotColdWorkload, leakWorkload, toJsonLines, WORKLOAD_GENERATORS, fileScanWorkload } from './generators.js';
import { runWorkloadFile, runWorkloadOps } from './ops.js';

async function sim(): Promise<Simulator> {
  return createSimulator({ machine: { memory: '512M' } });
}

describe('seeded workload generators', () => {
  it('the same seed gives the same file, another seed another one', () => {
    for (const name of Object.keys(WORKLOAD_GENERATORS)) {
      const a = toJsonLines(generateWorkload(name, { seed: 3 }));
      expect(toJsonLines(generateWorkload(name, { seed: 3 })), name).toBe(a);
      expect(toJsonLines(generateWorkload(name, { seed: 4 })), name).not.toBe(a);
    }
    expect(() => generateWorkload('nope')).toThrow(/EWORKLOAD: no workload generator 'nope'; known: hot-cold, file-scan, fork-storm, leak/);
    expect(() => hotColdWorkload({ hot: '1Q' })).toThrow(/EWORKLOAD: hot: expected a size/);
    expect(() => forkStormWorkload({ children: 0 })).toThrow(/EWORKLOAD: children: expected an integer 1\.\.10000/);
  });

  it('hot-cold: the hot set is touched every round, the cold set seldom', async () => {
    const ops = hotColdWorkload({ seed: 5, hot: '2M', cold: '8M', rounds: 30 });
    const touches = ops.filter((o) => o.op === 'touch');
    expect(touches.filter((o) => o.name === 'hot')).toHaveLength(31);
    expect(touches.filter((o) => o.name === 'cold').length).toBeLessThan(10);
    const s = await sim();
    try {
      const r = runWorkloadOps(s, ops);
      expect(r.ops.every((o) => o.result === 'ok')).toBe(true);
      expect(r.proc.map((v) => v.name)).toEqual(['meminfo', '100/status', '100/smaps_rollup']);
      expect(r.proc[1]!.text).toMatch(/^RssAnon:\s+10240 kB$/m);
    } finally {
      s.dispose();
    }
  });

  it('fork-storm: children share the heap copy-on-write and each copies what it writes', async () => {
    const ops = forkStormWorkload({ seed: 2, children: 6, size: '4M' });
    const s = await sim();
    try {
      // through the text form too: what `mmsim run --generate` runs is what the file says
      const r = runWorkloadFile(s, toJsonLines(ops));
      expect(r.ops.every((o) => o.result === 'ok')).toBe(true);
      const rollup = r.proc.find((v) => v.name === '300/smaps_rollup')!.text;
      const kb = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+) kB$`, 'm').exec(rollup)![1]);
      expect(kb('Pss_Anon')).toBeLessThan(kb('Anonymous'));
    } finally {
      s.dispose();
    }
  });

  it('file-scan reads the file sequentially, pass after pass', async () => {
    const ops = fileScanWorkload({ seed: 1, size: '1M', chunk: '256K', passes: 2 });
    const s = await sim();
    try {
      const r = runWorkloadOps(s, ops);
      expect(r.ops.every((o) => o.result === 'ok')).toBe(true);
      expect(r.proc[0]!.text).toMatch(/^Cached:\s+1024 kB$/m);
    } finally {
      s.dispose();
    }
    const reads = ops.filter((o) => o.op === 'read');
    expect(reads.length).toBeGreaterThanOrEqual(8);
    expect(reads.slice(0, 4).map((o) => o.offset)).toEqual([0, 262144, 524288, 786432]);
    expect(ops[0]).toEqual({ op: 'file', path: '/data/scan.dat', size: 1048576 });
  });

  it('leak: buffers mapped and written, never unmapped', async () => {
    const ops = leakWorkload({ seed: 1, step: '1M', steps: 8 });
    const s = await sim();
    try {
      const r = runWorkloadOps(s, ops);
      expect(r.ops.every((o) => o.result === 'ok')).toBe(true);
      expect(Number(/^VmRSS:\s+(\d+) kB$/m.exec(r.proc[0]!.text)![1])).toBeGreaterThan(4 * 1024);
    } finally {
      s.dispose();
    }
    expect(ops.filter((o) => o.op === 'mmap')).toHaveLength(8);
    expect(ops.filter((o) => o.op === 'munmap' || o.op === 'free')).toHaveLength(0);
    expect(ops.filter((o) => o.op === 'proc').map((o) => o.name)).toEqual(['400/status', 'meminfo']);
  });
});
