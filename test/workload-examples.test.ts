// Every workload of examples/workloads runs, on the default 4 GiB x86_64
// machine and on the 32-bit one of i386.json, and gives the answers the
// seed questions are about (docs/workloads.md).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createSimulator, runWorkloadFile, type SimulatorConfig, type WorkloadResult } from '@mmsim/defconfig';

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'examples', 'workloads');
const MACHINES: Record<string, SimulatorConfig> = {
  x86_64: {},
  i386: JSON.parse(readFileSync(join(dir, 'i386.json'), 'utf8')) as SimulatorConfig,
};

async function run(file: string, arch: string): Promise<WorkloadResult> {
  const sim = await createSimulator(structuredClone(MACHINES[arch]!));
  try {
    return runWorkloadFile(sim, readFileSync(join(dir, file), 'utf8'), { file });
  } finally {
    sim.dispose();
  }
}

/** The result of the `op` line naming `name` in the file's `text`. */
function resultOf(r: WorkloadResult, op: string, name: string, text: string): string {
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.startsWith('{') && l.includes(`"op":"${op}"`) && l.includes(`"name":"${name}"`)) + 1;
  const o = r.ops.find((x) => x.line === line);
  if (!o) throw new Error(`no result for ${op} ${name}`);
  return o.result;
}

const kb = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)![1]);

describe('examples/workloads', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();

  it('has the seed questions', () => {
    expect(files).toEqual(['malloc-lazy.jsonl', 'overcommit-0.jsonl', 'overcommit-1.jsonl', 'overcommit-2.jsonl']);
  });

  it('malloc is lazy: address space at malloc, memory at the first write', async () => {
    const r = await run('malloc-lazy.jsonl', 'x86_64');
    expect(r.ops.every((o) => o.result === 'ok')).toBe(true);
    const [maps, afterMalloc, afterRead, afterWrite, , afterFree] = r.proc.map((v) => v.text);
    // 100 KiB from the heap, 200 KiB in a 204 kB mapping of its own
    expect(maps).toMatch(/\[heap\]\n/);
    expect(maps!.split('\n').some((l) => { const m = /^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0 /.exec(l); return m !== null && parseInt(m[2]!, 16) - parseInt(m[1]!, 16) === 204 * 1024; })).toBe(true);
    expect(kb(afterRead!, 'VmSize')).toBe(kb(afterMalloc!, 'VmSize'));
    expect(kb(afterRead!, 'RssAnon')).toBe(kb(afterMalloc!, 'RssAnon'));
    expect(kb(afterWrite!, 'RssAnon') - kb(afterRead!, 'RssAnon')).toBe(1024 * 1024);
    expect(kb(afterMalloc!, 'VmSize') - kb(afterFree!, 'VmSize')).toBeGreaterThanOrEqual(1024 * 1024);
    // munmap took the gigabyte back, with the one page malloc wrote itself (the chunk header)
    expect(kb(afterFree!, 'RssAnon')).toBe(kb(afterRead!, 'RssAnon') - 4);
  });

  it('overcommit 0: 8 GiB refused at once (6.x: more than RAM + swap); 3 GiB granted on 64-bit only', async () => {
    const text = readFileSync(join(dir, 'overcommit-0.jsonl'), 'utf8');
    const r64 = await run('overcommit-0.jsonl', 'x86_64');
    expect(resultOf(r64, 'malloc', '8g', text)).toBe('ENOMEM');
    expect(resultOf(r64, 'malloc', '3g', text)).toBe('ok');
    const r32 = await run('overcommit-0.jsonl', 'i386');
    expect(resultOf(r32, 'malloc', '8g', text)).toBe('ENOMEM');
    expect(resultOf(r32, 'malloc', '3g', text)).toBe('ENOMEM');
  });

  it('overcommit 1: 8 GiB granted on 64-bit and the OOM killer ends the writer; 32-bit has no room and the NULL faults', async () => {
    const text = readFileSync(join(dir, 'overcommit-1.jsonl'), 'utf8');
    const r64 = await run('overcommit-1.jsonl', 'x86_64');
    expect(resultOf(r64, 'malloc', '8g', text)).toBe('ok');
    const status = r64.proc.find((v) => v.name === '100/status')!.text;
    expect(kb(status, 'VmSize')).toBeGreaterThan(8 * 1024 * 1024);
    const meminfo = r64.proc.find((v) => v.name === 'meminfo')!.text;
    expect(kb(meminfo, 'Committed_AS')).toBeGreaterThan(kb(meminfo, 'CommitLimit'));
    expect(resultOf(r64, 'touch', '8g', text)).toBe('SIGKILL');
    expect(r64.proc.find((v) => v.name === 'vmstat')!.text).toMatch(/^oom_kill 1$/m);
    const r32 = await run('overcommit-1.jsonl', 'i386');
    expect(resultOf(r32, 'malloc', '8g', text)).toBe('ENOMEM');
    expect(resultOf(r32, 'touch', '8g', text)).toBe('SIGSEGV');
  });

  it('overcommit 2: CommitLimit refuses 8 GiB and then 2 GiB more; swap raises the limit', async () => {
    const text = readFileSync(join(dir, 'overcommit-2.jsonl'), 'utf8');
    for (const arch of ['x86_64', 'i386']) {
      const r = await run('overcommit-2.jsonl', arch);
      expect(resultOf(r, 'malloc', '8g', text), arch).toBe('ENOMEM');
      expect(resultOf(r, 'malloc', '1g', text), arch).toBe('ok');
      expect(resultOf(r, 'malloc', '2g', text), arch).toBe('ENOMEM');
      if (arch === 'x86_64') expect(resultOf(r, 'malloc', '2g-again', text)).toBe('ok');
    }
  });
});
