/**
 * DISCONTIGMEM (removed in 5.14; mm/page_alloc.c alloc_node_mem_map with
 * CONFIG_NEED_MULTIPLE_NODES, arch/x86/include/asm/mmzone_32.h): one
 * mem_map per node (pgdat->node_mem_map), each a FLATMEM over its node's
 * span with the ends aligned to MAX_ORDER_NR_PAGES. pfn_to_page finds the
 * node first (pfn_to_nid), then indexes its map; pfn_valid is "inside some
 * node's span", so holes inside a node cost struct pages and holes between
 * nodes do not. A node's memory must be one span: nodes may not interleave.
 * @module
 */
import {
  type MemoryModel, MmsimError, PageFrameTable, PageOwner, PAGE_SIZE, type PfnRange, PG_nopage, PG_reserved,
  STRUCT_PAGE_SIZE, TOPOLOGY, type Topology, type Zone, inject, injectable,
} from '@mmsim/core';

/** MAX_ORDER_NR_PAGES */
const MAX_ORDER_NR_PAGES = 1024;

/** One node's mem_map. */
export interface NodeMemMap {
  nid: number;
  /** node_start_pfn / pgdat_end_pfn() */
  startPfn: number;
  endPfn: number;
  /** The map covers [mapStart, mapEnd): the node span aligned out to MAX_ORDER_NR_PAGES. */
  mapStart: number;
  mapEnd: number;
  /** Slot of mapStart in the page table (node_mem_map). */
  base: number;
}

@injectable()
export class DiscontigMem implements MemoryModel {
  readonly name = 'discontigmem';
  readonly supportsHotplug = false;
  readonly pages: PageFrameTable;
  readonly minPfn: number;
  readonly maxPfn: number;
  /** node_mem_map per node, by ascending pfn. */
  readonly maps: readonly NodeMemMap[];
  private readonly present: PfnRange[];
  private readonly presentPages: number;
  /** Last node hit (pfn_to_nid lookups cluster). */
  private last = 0;

  constructor(@inject(TOPOLOGY) topology: Topology) {
    const maps: NodeMemMap[] = [];
    let slots = 0;
    const nodes = [...topology.nodes].filter((n) => n.ranges.length).sort((a, b) => a.startPfn - b.startPfn);
    for (const n of nodes) {
      const mapStart = Math.floor(n.startPfn / MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES;
      const mapEnd = Math.ceil(n.endPfn / MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES;
      const prev = maps[maps.length - 1];
      if (prev && n.startPfn < prev.endPfn) {
        throw new MmsimError('EMACHINE', `DISCONTIGMEM needs each node's memory in one span: node ${n.nid} starts at pfn 0x${n.startPfn.toString(16)}, inside node ${prev.nid} (use sparsemem)`, { plugin: 'discontigmem', path: 'machine.nodes' });
      }
      maps.push({ nid: n.nid, startPfn: n.startPfn, endPfn: n.endPfn, mapStart, mapEnd, base: slots });
      slots += mapEnd - mapStart;
    }
    this.maps = maps;
    this.minPfn = maps[0]!.startPfn;
    this.maxPfn = maps[maps.length - 1]!.endPfn;
    this.present = topology.nodes.flatMap((n) => n.ranges).sort((a, b) => a.start - b.start).map((r) => ({ ...r }));
    this.presentPages = this.present.reduce((s, r) => s + r.end - r.start, 0);
    this.pages = new PageFrameTable(slots);
    // struct pages of the holes inside each map (and of its alignment padding): reserved
    const t = this.pages;
    for (const m of maps) {
      let prev = m.mapStart;
      for (const r of [...this.present.filter((x) => x.start < m.mapEnd && x.end > m.mapStart), { start: m.mapEnd, end: m.mapEnd }]) {
        for (let pfn = prev; pfn < Math.max(r.start, m.mapStart); pfn++) {
          const slot = m.base + pfn - m.mapStart;
          t.flags[slot] = PG_reserved | PG_nopage;
          t.ownerKind[slot] = PageOwner.RESERVED;
        }
        prev = Math.max(prev, r.end);
      }
    }
  }

  /** pfn_to_nid(): the map whose node spans pfn, or undefined. */
  private mapOf(pfn: number): NodeMemMap | undefined {
    const maps = this.maps;
    const m = maps[this.last]!;
    if (pfn >= m.startPfn && pfn < m.endPfn) return m;
    for (let i = 0; i < maps.length; i++) {
      const x = maps[i]!;
      if (pfn >= x.startPfn && pfn < x.endPfn) {
        this.last = i;
        return x;
      }
    }
    return undefined;
  }

  pfnValid(pfn: number): boolean {
    return this.mapOf(pfn) !== undefined;
  }
  pfnToPage(pfn: number): number {
    const m = this.mapOf(pfn);
    return m ? m.base + pfn - m.mapStart : -1;
  }
  pageToPfn(page: number): number {
    for (const m of this.maps) {
      if (page >= m.base && page < m.base + m.mapEnd - m.mapStart) {
        const pfn = m.mapStart + page - m.base;
        return pfn >= m.startPfn && pfn < m.endPfn ? pfn : -1;
      }
    }
    return -1;
  }
  presentRanges(): readonly PfnRange[] {
    return this.present;
  }
  /** Σ node_mem_map sizes: each node's aligned span × sizeof(struct page). */
  memmapBytes(): number {
    return this.pages.size * STRUCT_PAGE_SIZE;
  }
  memmapHoleBytes(): number {
    return (this.pages.size - this.presentPages) * STRUCT_PAGE_SIZE;
  }
  /** calc_memmap_size() without SPARSEMEM: spanned pages' struct pages. */
  memmapPages(zone: Zone): number {
    return Math.ceil((zone.spannedPages * STRUCT_PAGE_SIZE) / PAGE_SIZE);
  }
  onlineSection(): void {
    throw new MmsimError('EHOTPLUG', 'DISCONTIGMEM has no memory sections: memory hotplug needs SPARSEMEM', { plugin: this.name });
  }
  offlineSection(): void {
    throw new MmsimError('EHOTPLUG', 'DISCONTIGMEM has no memory sections: memory hotplug needs SPARSEMEM', { plugin: this.name });
  }
}
