import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './index.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('mmsim cli', () => {
  it('run prints a summary, /proc/buddyinfo in the kernel format and /proc/slabinfo', async () => {
    const r = await run('run', '--ops', '5000');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^mmsim: flatmem \+ buddy \+ slub \+ lru \+ oom-linux, seed 1$/m);
    expect(r.out).toMatch(/^Node 0, zone      DMA( +\d+ ){11}$/m);
    expect(r.out).toMatch(/^Node 0, zone   Normal( +\d+ ){11}$/m);
    expect(r.out).toContain('slabinfo - version: 2.1\n');
    expect(r.out).toMatch(/^kmalloc-192 +\d+/m);
  });

  it('--json is machine-readable and deterministic', async () => {
    const a = await run('run', '--ops', '3000', '--json');
    const b = await run('run', '--ops', '3000', '--json');
    expect(a.out).toBe(b.out);
    const j = JSON.parse(a.out);
    expect(j.composition.pageAllocator).toBe('buddy');
    expect(j.summary.ops).toBe(3000);
    expect(j.proc.buddyinfo).toMatch(/^Node 0, zone /);
  });

  it('reads --config and prints one /proc view', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-'));
    const file = join(dir, 'cfg.json');
    writeFileSync(file, JSON.stringify({ machine: { memory: '1G', cpus: 4 }, sysctl: { 'vm.swappiness': 10 } }));
    const r = await run('proc', 'sys/vm/swappiness', '--config', file);
    expect(r.out).toBe('10\n');
    const m = await run('proc', 'meminfo', '--config', file);
    expect(m.out).toMatch(/^MemTotal: +\d+ kB$/m);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ plugins: { slab: 'nope' } }));
    const e = await run('run', '--config', bad);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/EPLUGIN_UNKNOWN: \[nope\] plugins\.slab/);
    const u = await run('proc', 'nosuchview');
    expect(u.code).toBe(1);
    expect(u.err).toMatch(/EPROC_UNKNOWN/);
  });
});
