// `mmsim run --check-every N`: the invariant checker every N operations.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '@mmsim/cli';
import { describe, expect, it } from 'vitest';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('mmsim run --check-every', () => {
  it('checks every N operations and at the end, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-check-'));
    const cfg = join(dir, 'small.json');
    writeFileSync(cfg, JSON.stringify({ machine: { memory: '256M', cpus: 2 } }));
    const r = await run('run', '--config', cfg, '--ops', '2000', '--check-every', '500');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^invariant checks: 4 passed \(every 500 operations and at the end\)$/m);
    const j = JSON.parse((await run('run', '--config', cfg, '--ops', '1000', '--check-every', '300', '--json')).out);
    expect(j.checks).toEqual({ every: 300, passed: 4 });
    // without the option the output is what it always was
    expect(JSON.parse((await run('run', '--config', cfg, '--ops', '1000', '--json')).out).checks).toBeUndefined();
  });

  it('refuses a count that is not a positive integer', async () => {
    for (const v of ['0', '-3', 'x', '1.5']) {
      const r = await run('run', '--ops', '10', '--check-every', v);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/--check-every.*positive integer/);
    }
  });

  it('stops at the first violation of a broken plugin, naming when and the pfn', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-check-'));
    const file = join(dir, 'broken.json');
    const plugin = fileURLToPath(new URL('./fixtures/broken-buddy.ts', import.meta.url));
    writeFileSync(file, JSON.stringify({ machine: { memory: '64M', cpus: 2 }, plugins: { pageAllocator: plugin } }));
    const r = await run('run', '--config', file, '--ops', '3000', '--check-every', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^mmsim: ECORRUPT: after \d+ operations: debug_vm: pfn \d+ \(node 0 zone \w+\): neither free nor allocated/);
    // the same plugin without the checker runs to the end: nothing else notices
    expect((await run('run', '--config', file, '--ops', '3000')).code).toBe(0);
  });
});
