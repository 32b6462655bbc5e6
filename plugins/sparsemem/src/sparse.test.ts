import { type MemoryHotplug, STRUCT_PAGE_SIZE, Topology } from '@mmsim/core';
import { layoutMachine } from '@mmsim/machine';
import { describe, expect, it } from 'vitest';
import { SparseMem, type SparsememOptions } from './sparse.js';

const GiB = 2 ** 30;
const make = (machine: Parameters<typeof layoutMachine>[0], options: Partial<SparsememOptions> = {}) =>
  new SparseMem(new Topology(layoutMachine(machine)), () => ({}) as MemoryHotplug, { sectionSizeBits: 27, vmemmap: true, slotLayout: 'auto', ...options });

describe('SPARSEMEM sections', () => {
  it('has a mem_map for present sections only, and maps pfn → section → page', () => {
    const m = make({ e820: [{ start: 0, end: GiB }, { start: 3 * GiB, end: 4 * GiB }] });
    expect(m.pagesPerSection).toBe(32768);
    expect(m.sections().map((s) => s.state).join('')).toBe(`${'online'.repeat(8)}${'absent'.repeat(16)}${'online'.repeat(8)}`);
    expect(m.pages.size).toBe(16 * 32768);
    expect(m.memmapBytes()).toBe(16 * 2 * 2 ** 20);
    expect(m.memmapHoleBytes()).toBe(1 * STRUCT_PAGE_SIZE); // page 0
    expect(m.pfnValid(0)).toBe(true);
    expect(m.pfnValid(GiB / 4096)).toBe(false);
    expect(m.pfnToPage((3 * GiB) / 4096)).toBe(8 * 32768);
    expect(m.pageToPfn(8 * 32768)).toBe((3 * GiB) / 4096);
    expect(m.maxPfn).toBe((4 * GiB) / 4096);
    expect(m.section(26)).toMatchObject({ nr: 26, startPfn: 26 * 32768, state: 'online', nid: 0, presentPages: 32768 });
    m.check();
  });

  it('sizes the memmap per section as section_map_size() does, with and without vmemmap', () => {
    const small = (vmemmap: boolean) => make({ memory: '1G' }, { sectionSizeBits: 23, vmemmap });
    // 8 MiB sections: 2048 struct pages = 128 KiB, a 2 MiB PMD with vmemmap
    expect(small(true).memmapBytes() / small(true).sections().filter((s) => s.state !== 'absent').length).toBe(2 * 2 ** 20);
    expect(small(false).memmapBytes() / small(false).sections().filter((s) => s.state !== 'absent').length).toBe(128 * 1024);
  });

  it('pfns above 8 TiB use the slow path correctly', () => {
    const m = make({ nodes: [{ ranges: [{ start: 0, end: GiB }], cpus: 1 }, { ranges: [{ start: 9 * 2 ** 40, end: 9 * 2 ** 40 + GiB }], cpus: 1 }] });
    const pfn = (9 * 2 ** 40) / 4096 + 5;
    expect(pfn).toBeGreaterThan(2 ** 31);
    expect(m.pageToPfn(m.pfnToPage(pfn))).toBe(pfn);
    expect(m.pfnValid(pfn - 32768)).toBe(false);
  });
});
