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

function files(workload: string, config: object = { machine: { memory: '1G' } }): { dir: string; w: string; c: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-wl-'));
  const w = join(dir, 'w.jsonl');
  const c = join(dir, 'c.json');
  writeFileSync(w, workload);
  writeFileSync(c, JSON.stringify(config));
  return { dir, w, c };
}

const WORKLOAD = [
  '{"op":"spawn","pid":100,"comm":"app","uid":1000}',
  '{"op":"mmap","pid":100,"name":"buf","size":"100M"}',
  '{"op":"touch","pid":100,"name":"buf","access":"write","size":"10M"}',
  '{"op":"mmap","pid":100,"name":"huge","size":"128T"}',
  '{"op":"proc","name":"100/statm"}',
  '{"op":"proc","name":"100/oom_score_adj"}',
  '',
].join('\n');

describe('mmsim run --workload / --generate, mmsim ps', () => {
  it('text: proc views under ==> headers, refused calls as line N: OP: ERRNO', async () => {
    const { w, c } = files(WORKLOAD);
    const r = await run('run', '--config', c, '--workload', w);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^line 4: mmap: ENOMEM\n\n==> \/proc\/100\/statm <==\n\d+ 2\d{3} 0 \d+ 0 \d+ 0\n\n==> \/proc\/100\/oom_score_adj <==\n0\n$/);
  });

  it('--json: one object with ops and proc', async () => {
    const { w, c } = files(WORKLOAD);
    const r = await run('run', '-c', c, '-w', w, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.ops).toHaveLength(6);
    expect(j.ops[3]).toEqual({ line: 4, op: 'mmap', result: 'ENOMEM' });
    expect(j.proc.map((v: { line: number; name: string }) => [v.line, v.name])).toEqual([[5, '100/statm'], [6, '100/oom_score_adj']]);
    expect(j.proc[1].text).toBe('0\n');
  });

  it('a malformed line exits non-zero naming the file and line', async () => {
    const { w, c } = files(`${WORKLOAD}{"op":"touch","pid":100,"name":"buf"}\n`);
    const r = await run('run', '-c', c, '-w', w);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`mmsim: EWORKLOAD: ${w}:7: touch: missing field 'access'\n`);
    // what ran before the bad line was printed
    expect(r.out).toContain('==> /proc/100/oom_score_adj <==\n0\n');
    const missing = await run('run', '-w', join(tmpdir(), 'no-such-workload.jsonl'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^mmsim: EWORKLOAD: --workload .*no-such-workload\.jsonl: cannot read/);
    const both = await run('run', '-w', w, '--generate', 'leak');
    expect(both.err).toMatch(/give one workload/);
    const ticks = await run('run', '-w', w, '--tick-every', '10');
    expect(ticks.err).toMatch(/\{"op":"sleep"\}/);
  });

  it('--generate runs a seeded generator, deterministic for a seed; --emit prints its file', async () => {
    const { c } = files('', { machine: { memory: '512M' } });
    const a = await run('run', '-c', c, '--generate', 'fork-storm', '--seed', '7', '--json');
    const b = await run('run', '-c', c, '--generate', 'fork-storm', '--seed', '7', '--json');
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    expect(JSON.parse(a.out).ops[0]).toEqual({ line: 1, op: 'spawn', result: 'ok' });
    const e = await run('run', '--generate', 'hot-cold', '--seed', '7', '--emit');
    expect(e.out.split('\n')[0]).toBe('{"op":"spawn","pid":100,"comm":"hotcold"}');
    const bad = await run('run', '--generate', 'nope');
    expect(bad.err).toMatch(/no workload generator 'nope'/);
  });

  it('ps: the ps aux table after a workload', async () => {
    const { w, c } = files(WORKLOAD);
    const r = await run('ps', '-c', c, '-w', w);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND');
    const app = lines.find((l) => l.endsWith(' app'))!;
    // 10 MiB of a 1 GiB machine: procps truncates to tenths
    expect(app).toMatch(/^1000 {7}100 {2}0\.0 {2}[01]\.\d +\d+ +1\d{4} \? +Rs +00:00 +0:00 app$/);
    const j = JSON.parse((await run('ps', '-c', c, '-w', w, '--json')).out);
    expect(j.find((x: { pid: number }) => x.pid === 100).rss).toBeGreaterThanOrEqual(10240);
  });

  it('plain run keeps the default workload', async () => {
    const r = await run('run', '--ops', '2000');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^mmsim: flatmem \+ buddy/);
  });
});
