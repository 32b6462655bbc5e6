/**
 * The MEMORY_MODEL extension point: where struct pages live and how a pfn
 * finds its struct page (FLATMEM, DISCONTIGMEM, SPARSEMEM).
 * @module
 */
import { MmsimError } from './errors.js';
import type { PfnRange } from './machine.js';
import { type PageFrameTable, PageOwner, PG_nopage, PG_reserved } from './page.js';
import { PAGE_SIZE } from './size.js';
import type { Topology, Zone } from './topology.js';
import type { ZoneType } from './gfp.js';

/** Bytes of one struct page on x86_64. */
export const STRUCT_PAGE_SIZE = 64;

/** State of a memory section (SPARSEMEM). */
export type SectionState = 'absent' | 'offline' | 'online';

/** A memory section as /sys/devices/system/memory/memoryN describes it. */
export interface MemorySection {
  /** Section number (phys_index). */
  nr: number;
  /** First pfn. */
  startPfn: number;
  /** Pages per section. */
  nrPages: number;
  state: SectionState;
  /** Node the section belongs to (-1 when absent). */
  nid: number;
  /** Pages of the section backed by RAM. */
  presentPages: number;
}

/** A physical memory model. */
export interface MemoryModel {
  /** Plugin name ('flatmem', ...). */
  readonly name: string;
  /** The struct page table this model laid out. Slot indices are "struct page pointers". */
  readonly pages: PageFrameTable;
  /** Lowest and one-past-highest pfn the model covers. */
  readonly minPfn: number;
  readonly maxPfn: number;
  /** True when onlineSection/offlineSection work (SPARSEMEM). */
  readonly supportsHotplug: boolean;
  /** pfn_valid(): a struct page exists for this pfn. */
  pfnValid(pfn: number): boolean;
  /** pfn_to_page(): the struct page slot, or -1 when !pfn_valid. */
  pfnToPage(pfn: number): number;
  /** page_to_pfn(): inverse of pfnToPage; -1 for a slot that is not in use. */
  pageToPfn(page: number): number;
  /** Present (RAM-backed) pfn ranges, ascending. */
  presentRanges(): readonly PfnRange[];
  /** Bytes of struct pages the model keeps (holes included where the model maps them), as the kernel allocates them. */
  memmapBytes(): number;
  /** Pages of memmap charged to a zone at boot (calc_memmap_size). */
  memmapPages(zone: Zone): number;
  /** Onlines a memory section into a zone (memory hotplug). Throws EHOTPLUG where unsupported. */
  onlineSection(nr: number, zone: ZoneType): void;
  /** Offlines a memory section. Throws EHOTPLUG where unsupported or a page is in the way. */
  offlineSection(nr: number): void;
  /** Bytes of struct pages that describe no RAM: the cost of the holes the model maps. */
  memmapHoleBytes?(): number;
  /** SECTION_SIZE_BITS (SPARSEMEM). */
  readonly sectionSizeBits?: number;
  /** The sections of the physical address space that exist or could be hot-added below the highest one (SPARSEMEM). */
  sections?(): MemorySection[];
  /** One section's state (SPARSEMEM). */
  section?(nr: number): MemorySection;
  /** pfn_to_online_page(): the struct page slot when its section is online, else -1. */
  pfnToOnlinePage?(pfn: number): number;
  /** Memory hot-add (add_memory → sparse_add_section): struct pages for a new section on `nid`, offline until {@link onlineSection}. */
  addSection?(nr: number, nid: number): void;
}

/** The RAM ranges of every node, as copies in ascending pfn order. */
export function presentPfnRanges(topology: Topology): PfnRange[] {
  return topology.nodes.flatMap((n) => n.ranges).sort((a, b) => a.start - b.start).map((r) => ({ ...r }));
}

/**
 * init_unavailable_range() (mm/mm_init.c): the struct pages of a map in
 * [firstPfn, endPfn) that no `present` range (ascending) covers describe no
 * RAM: reserved, owned RESERVED, never freed. `slotOf(pfn)` is the pfn's
 * slot, or -1 where the model keeps no struct page (then `nextMapped(pfn)`,
 * when given, is the next pfn that may have one: SPARSEMEM skips absent
 * sections whole).
 */
export function initUnavailableRange(t: PageFrameTable, firstPfn: number, endPfn: number, present: readonly PfnRange[],
  slotOf: (pfn: number) => number, nextMapped?: (pfn: number) => number): void {
  let prev = firstPfn;
  for (const r of [...present, { start: endPfn, end: endPfn }]) {
    const s = Math.min(Math.max(r.start, firstPfn), endPfn);
    for (let pfn = prev; pfn < s; pfn++) {
      const slot = slotOf(pfn);
      if (slot < 0) {
        if (nextMapped) pfn = nextMapped(pfn) - 1;
        continue;
      }
      t.flags[slot] = PG_reserved | PG_nopage;
      t.ownerKind[slot] = PageOwner.RESERVED;
    }
    prev = Math.max(prev, Math.min(r.end, endPfn));
  }
}

/**
 * What the mem_map models share (FLATMEM: one map; DISCONTIGMEM: one per
 * node, alloc_node_mem_map()): a struct page for every pfn of a map, holes
 * included, so a hole's pfn is valid and its struct page reserved; no
 * sections, so no hotplug. A subclass lays out `pages` and the pfn lookups.
 */
export abstract class MemMapModel implements MemoryModel {
  abstract readonly name: string;
  abstract readonly pages: PageFrameTable;
  abstract readonly minPfn: number;
  abstract readonly maxPfn: number;
  readonly supportsHotplug = false;
  /** The RAM ranges, ascending. */
  protected readonly present: PfnRange[];
  /** Pages of RAM. */
  protected readonly presentPages: number;

  constructor(topology: Topology) {
    this.present = presentPfnRanges(topology);
    this.presentPages = this.present.reduce((s, r) => s + r.end - r.start, 0);
  }

  abstract pfnValid(pfn: number): boolean;
  abstract pfnToPage(pfn: number): number;
  abstract pageToPfn(page: number): number;

  presentRanges(): readonly PfnRange[] {
    return this.present;
  }
  /** alloc_node_mem_map() for every map: the whole array, holes and alignment padding included, × sizeof(struct page). */
  memmapBytes(): number {
    return this.pages.size * STRUCT_PAGE_SIZE;
  }
  /** What the struct pages of holes (and padding) cost. */
  memmapHoleBytes(): number {
    return (this.pages.size - this.presentPages) * STRUCT_PAGE_SIZE;
  }
  /** calc_memmap_size() without SPARSEMEM: the spanned pages' struct pages, page aligned. */
  memmapPages(zone: Zone): number {
    return Math.ceil((zone.spannedPages * STRUCT_PAGE_SIZE) / PAGE_SIZE);
  }
  /** Always EHOTPLUG: memory hotplug needs sections. */
  onlineSection(): void {
    throw this.noSections();
  }
  /** Always EHOTPLUG: memory hotplug needs sections. */
  offlineSection(): void {
    throw this.noSections();
  }
  private noSections(): MmsimError {
    return new MmsimError('EHOTPLUG', `${this.name.toUpperCase()} has no memory sections: memory hotplug needs SPARSEMEM`, { plugin: this.name });
  }
}
