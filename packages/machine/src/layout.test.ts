import { describe, expect, it } from 'vitest';
import { layoutMachine } from './layout.js';
import { Topology } from '@mmsim/core';
import { parseSize, getOrder } from '@mmsim/core';
import { isMmsimError } from '@mmsim/core';

describe('machine layout and zones', () => {
  it('parses sizes as memparse does', () => {
    expect(parseSize('4G')).toBe(4 * 2 ** 30);
    expect(parseSize('512M')).toBe(512 * 2 ** 20);
    expect(parseSize('64k')).toBe(65536);
    expect(parseSize(4096)).toBe(4096);
    expect(() => parseSize('lots')).toThrowError(/EMACHINE/);
    expect(getOrder(1)).toBe(0);
    expect(getOrder(4096)).toBe(0);
    expect(getOrder(4097)).toBe(1);
    expect(getOrder(8193)).toBe(2);
  });

  it('sizes x86_64 zones for { memory: 4G } like a QEMU guest', () => {
    const t = new Topology(layoutMachine({ memory: '4G', cpus: 2 }));
    const [dma, dma32, normal, movable] = t.nodes[0]!.zones;
    // DMA: pfn 1..0x9e plus 1 MiB..16 MiB
    expect(dma!.name).toBe('DMA');
    expect(dma!.zoneStartPfn).toBe(1);
    expect(dma!.spannedPages).toBe(4095);
    expect(dma!.presentPages).toBe(0x9f - 1 + (4096 - 256));
    // DMA32: 16 MiB .. 3 GiB (RAM below the PCI hole)
    expect(dma32!.zoneStartPfn).toBe(4096);
    expect(dma32!.presentPages).toBe(0xc0000 - 4096);
    // Normal: the 1 GiB relocated above 4 GiB
    expect(normal!.zoneStartPfn).toBe(0x100000);
    expect(normal!.presentPages).toBe(0x40000);
    expect(movable!.populated).toBe(false);
    expect(t.nrCpus).toBe(2);
    // GFP_KERNEL fallback: Normal → DMA32 → DMA
    expect(t.zonelists[0]!.map((z) => z.name)).toEqual(['Normal', 'DMA32', 'DMA']);
  });

  it('has no Normal zone below 3.5G of RAM', () => {
    const t = new Topology(layoutMachine({ memory: '1G' }));
    expect(t.zonelists[0]!.map((z) => z.name)).toEqual(['DMA32', 'DMA']);
  });

  it('lays out NUMA nodes and orders zonelists by distance', () => {
    const t = new Topology(layoutMachine({
      nodes: [
        { ranges: [{ start: 0, end: '0x80000000' }], cpus: 2 },
        { ranges: [{ start: '0x100000000', end: '0x200000000' }], cpus: 2 },
      ],
    }));
    expect(t.nodes).toHaveLength(2);
    expect(t.nodes[1]!.startPfn).toBe(0x100000);
    expect(t.zonelists[1]!.map((z) => `${z.nid}:${z.name}`)).toEqual(['1:Normal', '0:DMA32', '0:DMA']);
    expect(t.zonelistsThisNode[1]!.map((z) => `${z.nid}:${z.name}`)).toEqual(['1:Normal']);
    expect(t.cpuToNode(3)).toBe(1);
  });

  it('refuses bad machines with the field named', () => {
    try {
      layoutMachine({ memory: '1M' });
      expect.unreachable();
    } catch (e) {
      expect(isMmsimError(e, 'EMACHINE')).toBe(true);
      expect((e as Error).message).toMatch(/machine.memory/);
    }
    expect(() => layoutMachine({ memory: '1G', nodes: [{}, {}], distances: [[10, 20]] })).toThrowError(/machine.distances/);
  });

  it('builds a 32-bit layout with HighMem above 896 MiB', () => {
    const t = new Topology(layoutMachine({ memory: '2G', arch: 'x86_32' }));
    expect(t.nodes[0]!.zones.filter((z) => z.populated).map((z) => z.name)).toEqual(['DMA', 'Normal', 'HighMem']);
    expect(t.nodes[0]!.zones[1]!.zoneEndPfn).toBe(896 * 256);
  });
});

describe('ZONE_MOVABLE from kernelcore= / movablecore= (find_zone_movable_pfns_for_nodes)', () => {
  it('movablecore=512M carves 512 MiB off the top of Normal, MAX_ORDER aligned', () => {
    const t = new Topology(layoutMachine({ memory: '4G', cmdline: 'ro movablecore=512M' }));
    const [, , normal, movable] = t.nodes[0]!.zones;
    expect(t.zoneMovablePfn[0]).toBe(0x140000 - 131072);
    expect(t.zoneMovablePfn[0]! % 1024).toBe(0);
    expect(movable!.zoneStartPfn).toBe(t.zoneMovablePfn[0]);
    expect(movable!.presentPages).toBe(131072);
    expect(normal!.zoneEndPfn).toBe(movable!.zoneStartPfn);
    expect(normal!.presentPages + movable!.presentPages).toBe(0x40000);
    expect(t.zonelists[0]!.map((z) => z.name)).toEqual(['Movable', 'Normal', 'DMA32', 'DMA']);
  });

  it('kernelcore= spreads kernel memory evenly over nodes; too much kernelcore means no ZONE_MOVABLE', () => {
    const nodes = [
      { ranges: [{ start: 0, end: '0x200000000' }], cpus: 1 },
      { ranges: [{ start: '0x200000000', end: '0x400000000' }], cpus: 1 },
    ];
    const t = new Topology(layoutMachine({ nodes, cmdline: 'kernelcore=8G' }));
    // 4 GiB of kernel memory per node; node 0's DMA/DMA32 count towards its share
    expect(t.zoneMovablePfn).toEqual([0x100400, 0x300000]);
    expect(t.nodes[1]!.zones.find((z) => z.name === 'Movable')!.presentPages).toBe(0x100000);
    // all of node 0 below 4 GiB is kernel memory: it takes its whole share, node 1 ends up all movable
    const low = [{ ranges: [{ start: 0, end: '0x100000000' }], cpus: 1 }, { ranges: [{ start: '0x100000000', end: '0x200000000' }], cpus: 1 }];
    expect(new Topology(layoutMachine({ nodes: low, cmdline: 'kernelcore=4G' })).zoneMovablePfn).toEqual([0, 0x100000]);
    expect(new Topology(layoutMachine({ nodes, cmdline: 'kernelcore=100G' })).zoneMovablePfn).toEqual([0, 0]);
    const pct = new Topology(layoutMachine({ memory: '8G', cmdline: 'movablecore=50%' }));
    const mv = pct.nodes[0]!.zones.find((z) => z.name === 'Movable')!;
    expect(Math.abs(mv.presentPages - pct.totalPresentPages / 2)).toBeLessThan(1024);
  });

  it('honours mem= and refuses bad command-line sizes', () => {
    const t = new Topology(layoutMachine({ memory: '4G', cmdline: 'mem=2G' }));
    expect(t.maxPfn).toBe(0x80000);
    expect(() => layoutMachine({ memory: '4G', cmdline: 'kernelcore=lots' })).toThrowError(/EMACHINE.*kernelcore/);
    expect(() => layoutMachine({ memory: '4G', cmdline: 'movablecore=150%' })).toThrowError(/more than 100%/);
  });
});
