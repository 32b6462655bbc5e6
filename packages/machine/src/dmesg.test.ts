import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMmsimError } from '@mmsim/core';
import { layoutMachine } from './layout.js';
import { machineFromDmesg, parseDmesg } from './dmesg.js';
import { importMachine } from './machine.js';

const FIXTURE = new URL('../../../test/fixtures/dmesg/aio-h87-k5.4.txt', import.meta.url).pathname;
const text = readFileSync(FIXTURE, 'utf8');

function parseError(t: string): Error & { details?: { line?: number } } {
  try {
    parseDmesg(t, 'bad.log');
  } catch (e) {
    expect(isMmsimError(e, 'EPARSE')).toBe(true);
    return e as Error & { details?: { line?: number } };
  }
  throw new Error('expected EPARSE');
}

describe('boot log parser', () => {
  it('reads the firmware map, the kernel\'s updates, node ranges, CPUs, command line and what the kernel printed', () => {
    const d = parseDmesg(text, 'aio');
    expect(d.kernel).toBe('5.4');
    expect(d.release).toBe('5.4.0-100-generic');
    expect(d.cmdline).toMatch(/ro quiet splash$/);
    expect(d.biosE820).toHaveLength(22);
    expect(d.biosE820[0]).toEqual({ start: 0, end: 0x58000, type: 'usable' });
    expect(d.cpus).toBe(4);
    expect(d.dmaReserve).toBe(23);
    expect(d.nodeRanges).toHaveLength(8);
    expect(d.nodeRanges[0]).toEqual({ nid: 0, start: 1, end: 0x58 });
    expect(d.nodeRanges[7]).toEqual({ nid: 0, start: 0x100000, end: 0x41ee00 });
    // the kernel's own updates: page 0 reserved, the ISA hole gone; MTRR trimming; ESRT after memblock
    expect(d.e820.find((e) => e.start === 0)?.type).toBe('reserved');
    expect(d.e820.some((e) => e.start < 0x100000 && e.end > 0xa0000 && e.type === 'usable')).toBe(false);
    expect(d.e820Final.find((e) => e.start === 0xd5966000)?.type).toBe('reserved');
    expect(d.e820.find((e) => e.start <= 0xd5966000 && e.end > 0xd5966000)?.type).toBe('usable');
    expect(d.printed.nodes[0]!.totalpages).toBe(4156887);
    expect(d.printed.nodes[0]!.zones.map((z) => [z.name, z.memmapPages, z.present, z.batch])).toEqual([
      ['DMA', 64, 3996, 0], ['DMA32', 13761, 880699, 63], ['Normal', 51128, 3272192, 63],
    ]);
    expect(d.printed.totalPages).toBe(4091911);
    expect(d.printed.zoneRanges.map((z) => z.name)).toEqual(['DMA', 'DMA32', 'Normal', 'Device']);
    expect(d.printed.zeroedUnavailable).toBe(37417);
  });

  it('derives the same RAM from the e820 lines alone as the kernel printed in its node map', () => {
    const withoutNodeMap = text.split('\n').filter((l) => !/\bnode +\d+: \[mem/.test(l)).join('\n');
    const a = machineFromDmesg(parseDmesg(text, 'a'));
    const b = machineFromDmesg(parseDmesg(withoutNodeMap, 'b'));
    expect(b.nodes).toEqual(a.nodes);
    const layout = layoutMachine({ dmesg: FIXTURE }, importMachine);
    expect(layout.nodes[0]!.ranges.reduce((s, r) => s + r.end - r.start, 0)).toBe(4156887);
    expect(layout.kernel).toBe('5.4');
    expect(layout.dmaReserve).toBe(23);
    expect(layout.nodes[0]!.cpus).toEqual([0, 1, 2, 3]);
  });

  it('reads older and syslog-prefixed formats, user maps after mem=, and SRAT nodes', () => {
    const old = [
      '<6>[    0.000000] Linux version 3.18.6 (buildbot@x) #2 SMP',
      'Jan  5 10:00:00 host kernel: [    0.000000] BIOS-e820: 0000000000000000 - 000000000009fc00 (usable)',
      '[    0.000000] BIOS-e820: 0000000000100000 - 00000000bfffd000 (usable)',
      '[    0.000000] BIOS-e820: 0000000100000000 - 0000000440000000 (usable)',
      '[    0.000000] e820 update range: 0000000000000000 - 0000000000010000 (usable) ==> (reserved)',
      '[    0.000000] e820 remove range: 00000000000a0000 - 0000000000100000 (usable)',
      '[    0.000000] SRAT: Node 0 PXM 0 [mem 0x00000000-0xbfffffff]',
      '[    0.000000] SRAT: Node 1 PXM 1 [mem 0x100000000-0x43fffffff]',
      '[    0.000000] SRAT: PXM 0 -> APIC 0x00 -> Node 0',
      '[    0.000000] SRAT: PXM 1 -> APIC 0x01 -> Node 1',
      '[    0.000000] smpboot: Allowing 2 CPUs, 0 hotplug CPUs',
    ].join('\n');
    const d = parseDmesg(old, 'old');
    expect(d.kernel).toBe('3.18');
    expect(d.e820.filter((e) => e.type === 'usable')[0]).toEqual({ start: 0x10000, end: 0x9fc00, type: 'usable' });
    const m = machineFromDmesg(d);
    expect(m.nodes).toHaveLength(2);
    expect(m.nodes![1]!.ranges).toEqual([{ start: 0x100000000, end: 0x440000000 }]);
    expect(m.nodes![1]!.cpus).toEqual([1]);
    const user = parseDmesg([
      'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
      'BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable',
      'e820: user-defined physical RAM map:',
      'user: [mem 0x0000000000000000-0x000000000009fbff] usable',
      'user: [mem 0x0000000000100000-0x000000003fffffff] usable',
      'Command line: ro mem=1G',
    ].join('\n'));
    expect(user.e820.filter((e) => e.type === 'usable').map((e) => e.end)).toEqual([0x9fc00, 0x40000000]);
  });

  it('reports a malformed line with its line number', () => {
    const lines = text.split('\n');
    lines[15] = '[    0.000000] BIOS-e820: [mem 0x0000000000059000-0x00000000000Xdfff] usable';
    const e = parseError(lines.join('\n'));
    expect(e.message).toMatch(/^EPARSE: bad\.log:16: malformed BIOS-e820 line/);
    expect(e.details?.line).toBe(16);
    expect(parseError('ok\nBIOS-e820: [mem 0x0-0xfff] usable\ne820: update [mem 0x0-0xfff] usable ==> nonsense').message).toMatch(/bad\.log:3: malformed e820 update/);
    expect(parseError('BIOS-e820: [mem 0x0-0xfff] usable\n  DMA zone: lots of pages').message).toMatch(/bad\.log:2: malformed zone line/);
    expect(parseError('just text\nmore text').message).toMatch(/not an x86 boot log/);
  });
});
