/**
 * FLATMEM (mm/mm_init.c alloc_node_mem_map, include/asm-generic/memory_model.h):
 * one mem_map array covering every pfn from the lowest to the highest,
 * holes included. pfn_to_page is `mem_map + (pfn - ARCH_PFN_OFFSET)`;
 * pfn_valid is `pfn - ARCH_PFN_OFFSET < max_mapnr`, so a pfn in a hole is
 * valid: its struct page exists and is PG_reserved.
 * @module
 */
import {
  type MemoryModel, MmsimError, PageFrameTable, PageOwner, PAGE_SIZE, type PfnRange, PG_nopage, PG_reserved,
  STRUCT_PAGE_SIZE, TOPOLOGY, type Topology, type Zone, inject, injectable,
} from '@mmsim/core';

@injectable()
export class FlatMem implements MemoryModel {
  readonly name = 'flatmem';
  readonly supportsHotplug = false;
  readonly pages: PageFrameTable;
  /** ARCH_PFN_OFFSET: x86 maps from pfn 0. */
  readonly minPfn = 0;
  readonly maxPfn: number;
  private readonly present: PfnRange[];

  constructor(@inject(TOPOLOGY) topology: Topology) {
    this.maxPfn = topology.maxPfn;
    this.present = topology.nodes.flatMap((n) => n.ranges).sort((a, b) => a.start - b.start);
    this.pages = new PageFrameTable(this.maxPfn - this.minPfn);
    // init_unavailable_range(): struct pages of holes exist, reserved, never freed
    let prev = this.minPfn;
    for (const r of [...this.present, { start: this.maxPfn, end: this.maxPfn }]) {
      for (let pfn = prev; pfn < r.start; pfn++) {
        this.pages.flags[pfn - this.minPfn] = PG_reserved | PG_nopage;
        this.pages.ownerKind[pfn - this.minPfn] = PageOwner.RESERVED;
      }
      prev = r.end;
    }
  }

  pfnValid(pfn: number): boolean {
    return pfn >= this.minPfn && pfn < this.maxPfn;
  }
  pfnToPage(pfn: number): number {
    return pfn >= this.minPfn && pfn < this.maxPfn ? pfn - this.minPfn : -1;
  }
  pageToPfn(page: number): number {
    return page >= 0 && page < this.pages.size ? page + this.minPfn : -1;
  }
  presentRanges(): readonly PfnRange[] {
    return this.present;
  }
  /** The whole array, holes included: (max_pfn - min_pfn) × sizeof(struct page). */
  memmapBytes(): number {
    return (this.maxPfn - this.minPfn) * STRUCT_PAGE_SIZE;
  }
  /** calc_memmap_size(): spanned pages' struct pages, page aligned. */
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
