import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('the mmsim bin', () => {
  it('is a committed shim (npm links it at install, before any build)', () => {
    const pkg = JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.mmsim).toBe('./bin/mmsim.js');
    const tracked = execFileSync('git', ['ls-files', 'bin/mmsim.js'], { cwd: cli, encoding: 'utf8' }).trim();
    expect(tracked).toBe('bin/mmsim.js');
  });

  it('runs the built command', () => {
    // npm test builds first (tsc -b), so dist/bin.js exists here
    expect(existsSync(join(cli, 'dist/bin.js'))).toBe(true);
    const out = execFileSync(process.execPath, [join(cli, 'bin/mmsim.js'), 'proc', 'sys/vm/swappiness'], { encoding: 'utf8' });
    expect(out).toBe('60\n');
  });

  it('says how to build it when it is not built', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-bin-'));
    cpSync(join(cli, 'bin'), join(dir, 'bin'), { recursive: true });
    const r = spawnSync(process.execPath, [join(dir, 'bin/mmsim.js'), 'run'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not built yet: run `npm run build`/);
  });
});
