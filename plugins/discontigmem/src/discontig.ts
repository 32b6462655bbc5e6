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
  initUnavailableRange, MAX_ORDER_NR_PAGES, MemMapModel, MmsimError, PageFrameTable, TOPOLOGY, type Topology, inject, injectable,
} from '@mmsim/core';

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
export class DiscontigMem extends MemMapModel {
  readonly name = 'discontigmem';
  readonly pages: PageFrameTable;
  readonly minPfn: number;
  readonly maxPfn: number;
  /** node_mem_map per node, by ascending pfn. */
  readonly maps: readonly NodeMemMap[];
  /** Last node hit (pfn_to_nid lookups cluster). */
  private last = 0;

  constructor(@inject(TOPOLOGY) topology: Topology) {
    super(topology);
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
    this.pages = new PageFrameTable(slots);
    // struct pages of the holes inside each map (and of its alignment padding): reserved
    for (const m of maps) {
      const present = this.present.filter((x) => x.start < m.mapEnd && x.end > m.mapStart);
      initUnavailableRange(this.pages, m.mapStart, m.mapEnd, present, (pfn) => m.base + pfn - m.mapStart);
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
}
