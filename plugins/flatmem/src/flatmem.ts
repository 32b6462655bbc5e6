/**
 * FLATMEM (mm/mm_init.c alloc_node_mem_map, include/asm-generic/memory_model.h):
 * one mem_map array covering every pfn from ARCH_PFN_OFFSET (0 on x86) to
 * the highest, holes included, its end aligned to MAX_ORDER_NR_PAGES.
 * pfn_to_page is `mem_map + (pfn - ARCH_PFN_OFFSET)`; pfn_valid is
 * `pfn - ARCH_PFN_OFFSET < max_mapnr`, so a pfn in a hole is valid: its
 * struct page exists and is PG_reserved.
 * @module
 */
import {
  type MemoryModel, MmsimError, PageFrameTable, PageOwner, PAGE_SIZE, type PfnRange, PG_nopage, PG_reserved,
  STRUCT_PAGE_SIZE, TOPOLOGY, type Topology, type Zone, inject, injectable,
} from '@mmsim/core';

/** MAX_ORDER_NR_PAGES: node_mem_map ends are aligned to it so the buddy allocator never walks off the map. */
export const MAX_ORDER_NR_PAGES = 1024;

/** Marks the struct pages of a map that describe no RAM (init_unavailable_range): reserved, never freed. */
export function markHoles(t: PageFrameTable, firstPfn: number, endPfn: number, present: readonly PfnRange[], slotOf: (pfn: number) => number): void {
  let prev = firstPfn;
  for (const r of [...present, { start: endPfn, end: endPfn }]) {
    const s = Math.min(Math.max(r.start, firstPfn), endPfn);
    for (let pfn = prev; pfn < s; pfn++) {
      const slot = slotOf(pfn);
      t.flags[slot] = PG_reserved | PG_nopage;
      t.ownerKind[slot] = PageOwner.RESERVED;
    }
    prev = Math.max(prev, Math.min(r.end, endPfn));
  }
}

@injectable()
export class FlatMem implements MemoryModel {
  readonly name = 'flatmem';
  readonly supportsHotplug = false;
  readonly pages: PageFrameTable;
  /** ARCH_PFN_OFFSET: x86 maps from pfn 0. */
  readonly minPfn = 0;
  /** max_mapnr */
  readonly maxPfn: number;
  private readonly present: PfnRange[];
  private readonly presentPages: number;

  constructor(@inject(TOPOLOGY) topology: Topology) {
    this.maxPfn = topology.maxPfn;
    this.present = topology.nodes.flatMap((n) => n.ranges).sort((a, b) => a.start - b.start).map((r) => ({ ...r }));
    this.presentPages = this.present.reduce((s, r) => s + r.end - r.start, 0);
    const end = Math.ceil(this.maxPfn / MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES;
    this.pages = new PageFrameTable(end - this.minPfn);
    markHoles(this.pages, this.minPfn, end, this.present, (pfn) => pfn - this.minPfn);
  }

  pfnValid(pfn: number): boolean {
    return pfn >= this.minPfn && pfn < this.maxPfn;
  }
  pfnToPage(pfn: number): number {
    return pfn >= this.minPfn && pfn < this.maxPfn ? pfn - this.minPfn : -1;
  }
  pageToPfn(page: number): number {
    return page >= 0 && page < this.maxPfn - this.minPfn ? page + this.minPfn : -1;
  }
  presentRanges(): readonly PfnRange[] {
    return this.present;
  }
  /** alloc_node_mem_map(): the whole array, holes included, (ALIGN(max_pfn, MAX_ORDER_NR_PAGES) - ARCH_PFN_OFFSET) × sizeof(struct page). */
  memmapBytes(): number {
    return this.pages.size * STRUCT_PAGE_SIZE;
  }
  /** What the struct pages of holes cost. */
  memmapHoleBytes(): number {
    return (this.pages.size - this.presentPages) * STRUCT_PAGE_SIZE;
  }
  /** calc_memmap_size() without SPARSEMEM: the spanned pages' struct pages, page aligned. */
  memmapPages(zone: Zone): number {
    return Math.ceil((zone.spannedPages * STRUCT_PAGE_SIZE) / PAGE_SIZE);
  }
  onlineSection(): void {
    throw new MmsimError('EHOTPLUG', 'FLATMEM has no memory sections: memory hotplug needs SPARSEMEM', { plugin: this.name });
  }
  offlineSection(): void {
    throw new MmsimError('EHOTPLUG', 'FLATMEM has no memory sections: memory hotplug needs SPARSEMEM', { plugin: this.name });
  }
}
