import { Topology } from '@mmsim/core';
import { layoutMachine } from '@mmsim/machine';
import { describe, expect, it } from 'vitest';
import { DiscontigMem } from './discontig.js';

const GiB = 2 ** 30;

describe('DISCONTIGMEM', () => {
  it('keeps one node_mem_map per node, aligned to MAX_ORDER_NR_PAGES, and looks pfns up by node', () => {
    const m = new DiscontigMem(new Topology(layoutMachine({
      nodes: [{ ranges: [{ start: 0, end: GiB }], cpus: 1 }, { ranges: [{ start: 4 * GiB, end: 5 * GiB + 4096 }], cpus: 1 }],
    })));
    expect(m.maps.map((x) => [x.nid, x.mapStart, x.mapEnd])).toEqual([[0, 0, 0x40000], [1, 0x100000, 0x140400]]);
    expect(m.pages.size).toBe(0x40000 + 0x40400);
    expect(m.pfnValid(0x100000)).toBe(true);
    expect(m.pfnValid(0x140000)).toBe(true);
    expect(m.pfnValid(0x140001)).toBe(false); // alignment padding is not a node pfn
    expect(m.pfnValid(0x80000)).toBe(false); // between nodes
    expect(m.pageToPfn(m.pfnToPage(0x123456))).toBe(0x123456);
  });
});
