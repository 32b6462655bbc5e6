import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

  it('--tick-every lets simulated time pass during the run (sim.tick), and says how much', async () => {
    const r = await run('run', '--ops', '5000', '--tick-every', '1000', '--tick-ms', '500', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.time).toEqual({ ticks: 5, ns: 2.5e9 });
    const t = await run('run', '--ops', '5000', '--tick-every', '1000');
    expect(t.out).toMatch(/^simulated time: 0\.500 s \(5 ticks of 100 ms, every 1000 operations\)$/m);
    // without it, no time passes and the output does not mention it
    const plain = await run('run', '--ops', '5000');
    expect(plain.out).not.toMatch(/simulated time/);
    const bad = await run('run', '--ops', '10', '--tick-every', '0');
    expect(bad.code).not.toBe(0);
    const alone = await run('run', '--ops', '10', '--tick-ms', '50');
    expect(alone.code).not.toBe(0);
    expect(alone.err).toMatch(/--tick-ms needs --tick-every/);
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

  it('compare runs a kmalloc trace under slab, slub and slob side by side', async () => {
    const workload = fileURLToPath(new URL('../../../test/fixtures/kmalloc-trace.txt', import.meta.url));
    const r = await run('compare', '--workload', workload, '--rounds', '1');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^mmsim compare: .*kmalloc-trace\.txt: 2276 ops \(883 kmalloc, 751 kfree, 347 kmem_cache_alloc, 295 kmem_cache_free; 124 other events ignored\)$/m);
    expect(r.out).toMatch(/^ +slab +slub +slob$/m);
    for (const label of ['memory used \\(kB\\)', 'internal fragmentation \\(%\\)', 'pages held', 'ops/s']) expect(r.out).toMatch(new RegExp(`^${label} +\\S+ +\\S+ +\\S+$`, 'm'));
    expect(r.out).toMatch(/^all pages returned +yes +yes +yes$/m);
    const j = await run('compare', '--workload', workload, '--slab', 'slub,slob', '--rounds', '1', '--json');
    const res = JSON.parse(j.out);
    expect(res.rows.map((x: { slab: string }) => x.slab)).toEqual(['slub', 'slob']);
    // same live objects and requested bytes; different memory
    expect(res.rows[0].liveObjects).toBe(res.rows[1].liveObjects);
    expect(res.rows[0].requestedKb).toBe(res.rows[1].requestedKb);
    expect(res.rows[0].pagesHeld).not.toBe(res.rows[1].pagesHeld);
    const sizes = fileURLToPath(new URL('../../../test/fixtures/kmalloc-sizes.txt', import.meta.url));
    expect((await run('compare', '--workload', sizes, '--rounds', '1')).out).toMatch(/1500 ops \(1500 kmalloc/);
  });

  it('compare refuses a missing workload or a malformed one, naming it', async () => {
    const r = await run('compare', '--workload', '/nonexistent/trace.txt');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/EWORKLOAD: --workload \/nonexistent\/trace\.txt: cannot read/);
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-'));
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, '64\nnot a trace line\n');
    const b = await run('compare', '--workload', bad);
    expect(b.err).toMatch(/EWORKLOAD: line 2/);
    const u = await run('compare', '--workload', join(dir, 'bad.txt'), '--slab', 'slab,nope');
    expect(u.code).toBe(1);
  });
});
