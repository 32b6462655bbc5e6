import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './index.js';

const FIXTURE = new URL('../../../test/fixtures/dmesg/aio-h87-k5.4.txt', import.meta.url).pathname;
const ZONEINFO = new URL('../../../test/fixtures/proc-vm1/zoneinfo', import.meta.url).pathname;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('mmsim boot', () => {
  it('--dmesg reproduces the real boot log\'s memory-setup lines and --check agrees', async () => {
    const r = await run('boot', '--dmesg', FIXTURE, '--check');
    expect(r.code).toBe(0);
    const log = readFileSync(FIXTURE, 'utf8');
    for (const line of [
      '  DMA zone: 64 pages used for memmap', '  DMA zone: 23 pages reserved', '  DMA zone: 3996 pages, LIFO batch:0',
      '  DMA32 zone: 13761 pages used for memmap', '  DMA32 zone: 880699 pages, LIFO batch:63',
      '  Normal zone: 51128 pages used for memmap', '  Normal zone: 3272192 pages, LIFO batch:63',
      'On node 0 totalpages: 4156887', 'Built 1 zonelists, mobility grouping on.  Total pages: 4091911',
      '  Normal   [mem 0x0000000100000000-0x000000041edfffff]', '  node   0: [mem 0x00000000d9fff000-0x00000000d9ffffff]',
    ]) {
      expect(log).toContain(line);
      expect(r.out.split('\n')).toContain(line);
    }
    expect(r.err).toMatch(/matches every number/);
  });

  it('--json prints the same as data; --memory-model changes the accounting; --check reports differences', async () => {
    const j = JSON.parse((await run('boot', '--dmesg', FIXTURE, '--json')).out);
    expect(j.kernel).toBe('5.4');
    expect(j.memoryModel).toBe('sparsemem');
    expect(j.nodes[0].totalpages).toBe(4156887);
    expect(j.nodes[0].zones.map((z: { memmapPages: number }) => z.memmapPages).slice(0, 3)).toEqual([64, 13761, 51128]);
    expect(j.totalPages).toBe(4091911);
    expect(j.log.mismatches).toEqual([]);
    const flat = await run('boot', '--dmesg', FIXTURE, '--memory-model', 'flatmem', '--check');
    expect(flat.code).toBe(1);
    expect(flat.err).toMatch(/DMA32 memmap pages: log 13761, simulated 16320/);
  });

  it('--compare-models shows memmap bytes, bytes on holes and hotplug for each model', async () => {
    const r = await run('boot', '--dmesg', FIXTURE, '--compare-models');
    expect(r.out).toMatch(/^model +memmap +on holes +hotplug$/m);
    expect(r.out).toMatch(/^flatmem +263\.75 MiB +10\.03 MiB +no$/m);
    expect(r.out).toMatch(/^discontigmem +263\.75 MiB +10\.03 MiB +no$/m);
    expect(r.out).toMatch(/^sparsemem +256\.00 MiB +2\.28 MiB +yes$/m);
  });

  it('boots configs and zoneinfo machines, and names a malformed line', async () => {
    const z = await run('boot', '--zoneinfo', ZONEINFO, '--kernel', '5.8');
    expect(z.out).toMatch(/^ {2}DMA32 zone: 782288 pages, LIFO batch:63$/m);
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-boot-'));
    const cfg = join(dir, 'numa.json');
    writeFileSync(cfg, JSON.stringify({ machine: { nodes: [{ memory: '1G', cpus: 1 }, { memory: '1G', cpus: 1 }] }, kernel: '6.12' }));
    const c = await run('boot', '--config', cfg);
    expect(c.out).toMatch(/^Built 2 zonelists, mobility grouping on\.  Total pages: \d+$/m);
    expect(c.out).not.toMatch(/pages used for memmap/);
    const bad = join(dir, 'bad.log');
    writeFileSync(bad, 'Linux version 5.4.0\nBIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\nBIOS-e820: [mem 0x00100000-oops] usable\n');
    const e = await run('boot', '--dmesg', bad);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/EPARSE: .*bad\.log:3: malformed BIOS-e820 line/);
  });
});
