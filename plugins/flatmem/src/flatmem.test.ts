import { PG_nopage, PG_reserved, Topology } from '@mmsim/core';
import { layoutMachine } from '@mmsim/machine';
import { describe, expect, it } from 'vitest';
import { FlatMem } from './flatmem.js';

describe('FLATMEM', () => {
  it('maps every pfn from 0 to max_pfn, holes as reserved struct pages, the end aligned to MAX_ORDER_NR_PAGES', () => {
    const m = new FlatMem(new Topology(layoutMachine({ e820: [{ start: 0, end: '0x9fc00' }, { start: '1M', end: '0x7fff0000' }] })));
    expect(m.maxPfn).toBe(0x7fff0);
    expect(m.pages.size).toBe(0x80000);
    expect(m.memmapBytes()).toBe(0x80000 * 64);
    expect(m.pfnValid(0xa0)).toBe(true); // the ISA hole has struct pages
    expect(m.pages.flags[m.pfnToPage(0xa0)]).toBe(PG_reserved | PG_nopage);
    expect(m.pfnValid(0x7fff0)).toBe(false);
    expect(m.pageToPfn(0x7fff5)).toBe(-1); // padding slot
    expect(m.memmapHoleBytes()).toBe((0x80000 - (0x9f - 1) - (0x7fff0 - 0x100)) * 64);
  });
});
