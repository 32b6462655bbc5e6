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
  initUnavailableRange, MAX_ORDER_NR_PAGES, MemMapModel, PageFrameTable, TOPOLOGY, type Topology, inject, injectable,
} from '@mmsim/core';

@injectable()
export class FlatMem extends MemMapModel {
  readonly name = 'flatmem';
  readonly pages: PageFrameTable;
  /** ARCH_PFN_OFFSET: x86 maps from pfn 0. */
  readonly minPfn = 0;
  /** max_mapnr */
  readonly maxPfn: number;

  constructor(@inject(TOPOLOGY) topology: Topology) {
    super(topology);
    this.maxPfn = topology.maxPfn;
    const end = Math.ceil(this.maxPfn / MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES;
    this.pages = new PageFrameTable(end - this.minPfn);
    initUnavailableRange(this.pages, this.minPfn, end, this.present, (pfn) => pfn - this.minPfn);
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
}
