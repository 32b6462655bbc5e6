/**
 * The MEMORY_MODEL extension point: where struct pages live and how a pfn
 * finds its struct page (FLATMEM, DISCONTIGMEM, SPARSEMEM).
 * @module
 */
import type { PfnRange } from './machine.js';
import type { PageFrameTable } from './page.js';
import type { Zone } from './topology.js';
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
