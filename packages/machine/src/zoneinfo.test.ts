import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMmsimError, Topology } from '@mmsim/core';
import { layoutMachine } from './layout.js';
import { importMachine } from './machine.js';
import { machineFromZoneinfo, parseZoneinfo } from './zoneinfo.js';

const FIXTURE = new URL('../../../test/fixtures/proc-vm1/zoneinfo', import.meta.url).pathname;
const text = readFileSync(FIXTURE, 'utf8');

describe('/proc/zoneinfo parser', () => {
  it('reads every zone\'s start_pfn, spanned, present and managed pages', () => {
    const zones = parseZoneinfo(text);
    expect(zones.map((z) => z.name)).toEqual(['DMA', 'DMA32', 'Normal', 'Movable', 'Device']);
    expect(zones[0]).toMatchObject({ nid: 0, startPfn: 1, spanned: 4095, present: 3997, managed: 3976, min: 68, low: 85, high: 102 });
    expect(zones[1]).toMatchObject({ startPfn: 4096, spanned: 1044480, present: 782288, managed: 758708 });
    expect(zones[2]).toMatchObject({ startPfn: 1048576, spanned: 262144, present: 262144, managed: 236634 });
    expect(zones[0]!.cpus).toEqual([0, 1]);
  });

  it('rebuilds the zones exactly', () => {
    const t = new Topology(layoutMachine({ zoneinfo: FIXTURE }, importMachine));
    const [dma, dma32, normal, movable] = t.nodes[0]!.zones;
    expect([dma!.zoneStartPfn, dma!.spannedPages, dma!.presentPages, dma!.managedPages]).toEqual([1, 4095, 3997, 3976]);
    expect([dma32!.zoneStartPfn, dma32!.spannedPages, dma32!.presentPages, dma32!.managedPages]).toEqual([4096, 1044480, 782288, 758708]);
    expect([normal!.zoneStartPfn, normal!.spannedPages, normal!.presentPages, normal!.managedPages]).toEqual([1048576, 262144, 262144, 236634]);
    expect(movable!.populated).toBe(false);
    expect(t.nrCpus).toBe(2);
    expect(machineFromZoneinfo(parseZoneinfo(text)).zones).toHaveLength(3);
  });

  it('reports a malformed line with its line number', () => {
    const lines = text.split('\n');
    lines[40] = '        present  39x7';
    try {
      parseZoneinfo(lines.join('\n'), 'zi');
      expect.unreachable();
    } catch (e) {
      expect(isMmsimError(e, 'EPARSE')).toBe(true);
      expect((e as Error).message).toMatch(/^EPARSE: zi:41: 'present' needs a non-negative integer/);
    }
    expect(() => parseZoneinfo('Node 0, zone  Weird\n  pages free 1', 'zi')).toThrowError(/zi:1: unknown zone 'Weird'/);
    expect(() => parseZoneinfo('Node 0 zone DMA\n', 'zi')).toThrowError(/zi:1: expected a 'Node N, zone NAME' header/);
    expect(() => parseZoneinfo('Node 0, zone      DMA\n        spanned  10\n        present  5\n', 'zi')).toThrowError(/zi:1: node 0 zone DMA has no 'managed' line/);
  });
});
