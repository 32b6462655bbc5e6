import { describe, expect, it } from 'vitest';
import { isMmsimError } from './errors.js';
import { initUnavailableRange, MemMapModel, presentPfnRanges, STRUCT_PAGE_SIZE } from './memory-model.js';
import { PageFrameTable, PageOwner, PG_nopage, PG_reserved } from './page.js';
import type { Topology, Zone } from './topology.js';

const HOLE = PG_reserved | PG_nopage;

// RAM at [0, 4) on node 1 and [8, 12), [14, 16) on node 0: listed out of order on purpose
const topology = {
  maxPfn: 16,
  nodes: [{ nid: 0, ranges: [{ start: 8, end: 12 }, { start: 14, end: 16 }] }, { nid: 1, ranges: [{ start: 0, end: 4 }] }],
} as unknown as Topology;

/** A one-map model over [0, 16): FLATMEM in miniature. */
class OneMap extends MemMapModel {
  readonly name = 'onemap';
  readonly pages = new PageFrameTable(16);
  readonly minPfn = 0;
  readonly maxPfn = 16;
  constructor() {
    super(topology);
    initUnavailableRange(this.pages, 0, 16, this.present, (pfn) => pfn);
  }
  pfnValid(pfn: number): boolean {
    return pfn >= 0 && pfn < 16;
  }
  pfnToPage(pfn: number): number {
    return this.pfnValid(pfn) ? pfn : -1;
  }
  pageToPfn(page: number): number {
    return this.pfnValid(page) ? page : -1;
  }
}

describe('memory model helpers', () => {
  it('presentPfnRanges(): every node’s RAM, ascending, as copies', () => {
    const r = presentPfnRanges(topology);
    expect(r).toEqual([{ start: 0, end: 4 }, { start: 8, end: 12 }, { start: 14, end: 16 }]);
    r[0]!.end = 99;
    expect(topology.nodes[1]!.ranges[0]!.end).toBe(4);
  });

  it('init_unavailable_range(): a hole’s struct pages are reserved, RAM’s untouched', () => {
    const m = new OneMap();
    const flags = Array.from({ length: 16 }, (_, pfn) => m.pages.flags[pfn]);
    expect(flags).toEqual([0, 0, 0, 0, HOLE, HOLE, HOLE, HOLE, 0, 0, 0, 0, HOLE, HOLE, 0, 0]);
    expect(m.pages.ownerKind[5]).toBe(PageOwner.RESERVED);
    expect(m.pages.ownerKind[9]).not.toBe(PageOwner.RESERVED);
    // a hole's pfn is valid under a mem_map model: its struct page exists
    expect(m.pfnValid(5)).toBe(true);
    expect(m.pfnToPage(5)).toBe(5);
  });

  it('clips the ranges to the map and pads its end; skips what the model does not map', () => {
    const t = new PageFrameTable(8);
    // a map over pfns [4, 12): slot = pfn - 4; RAM [0, 6) and [9, 30)
    initUnavailableRange(t, 4, 12, [{ start: 0, end: 6 }, { start: 9, end: 30 }], (pfn) => pfn - 4);
    expect(Array.from(t.flags.subarray(0, 8))).toEqual([0, 0, HOLE, HOLE, HOLE, 0, 0, 0]);
    const u = new PageFrameTable(8);
    const seen: number[] = [];
    // pfns [0, 32) in sections of 8; only section 2 (pfns 16..23) is mapped, RAM [18, 20)
    initUnavailableRange(u, 0, 32, [{ start: 18, end: 20 }], (pfn) => {
      seen.push(pfn);
      return pfn >> 3 === 2 ? pfn - 16 : -1;
    }, (pfn) => ((pfn >> 3) + 1) << 3);
    expect(Array.from(u.flags.subarray(0, 8))).toEqual([HOLE, HOLE, 0, 0, HOLE, HOLE, HOLE, HOLE]);
    // one look per unmapped section, not per pfn
    expect(seen.filter((p) => p >> 3 !== 2)).toEqual([0, 8, 24]);
  });

  it('memmap sizes and no hotplug', () => {
    const m = new OneMap();
    expect(m.supportsHotplug).toBe(false);
    expect(m.memmapBytes()).toBe(16 * STRUCT_PAGE_SIZE);
    expect(m.memmapHoleBytes()).toBe(6 * STRUCT_PAGE_SIZE);
    expect(m.memmapPages({ spannedPages: 100 } as Zone)).toBe(Math.ceil((100 * STRUCT_PAGE_SIZE) / 4096));
    let err: unknown;
    try {
      m.onlineSection();
    } catch (e) {
      err = e;
    }
    expect(isMmsimError(err, 'EHOTPLUG')).toBe(true);
    expect(String(err)).toContain('ONEMAP has no memory sections: memory hotplug needs SPARSEMEM');
    expect(() => m.offlineSection()).toThrowError(/EHOTPLUG/);
  });
});
