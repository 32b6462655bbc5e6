/**
 * /proc/pagetypeinfo (mm/vmstat.c pagetypeinfo_show): free blocks per
 * order and migrate type, then pageblocks per migrate type — the view of
 * grouping pages by mobility, which is this allocator's. A PROC_ENTRY
 * contribution of the buddy plugin.
 * @module
 */
import {
  inject, injectable, MIGRATE_TYPES, MIGRATETYPE_NAMES, NR_PAGE_ORDERS, PAGE_ALLOCATOR, type PageAllocator, type ProcEntry, TOPOLOGY,
  type Topology, type Zone,
} from '@mmsim/core';
import { PAGEBLOCK_ORDER } from './mmzone.js';

/**
 * What a page allocator that groups pages by mobility reports beyond the
 * generic PageAllocator: pageblocks per migrate type (freeBlocksByType is
 * generic, for memory hotplug's isolated blocks).
 */
export interface PageblockInfo extends Pick<PageAllocator, 'freeBlocksByType'> {
  /** Pageblocks of each migrate type in a zone (the second table of /proc/pagetypeinfo). */
  pageblockCounts(zone: Zone): number[];
}

const pad = (s: string | number, w: number): string => String(s).padStart(w);

/** /proc/pagetypeinfo for each node with memory: free blocks per order and migrate type, then pageblocks per migrate type. */
export function showPagetypeinfo(topology: Topology, pages: PageAllocator & Partial<PageblockInfo>): string {
  let out = '';
  for (const node of topology.nodes) {
    const zones = node.zones.filter((z) => z.populated);
    if (zones.length === 0) continue;
    out += `Page block order: ${PAGEBLOCK_ORDER}\nPages per block:  ${1 << PAGEBLOCK_ORDER}\n\n`;
    out += `${'Free pages count per migrate type at order'.padEnd(43)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${pad(o, 6)} `;
    out += '\n';
    for (const z of zones) {
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        out += `Node ${pad(node.nid, 4)}, zone ${pad(z.name, 8)}, type ${pad(MIGRATETYPE_NAMES[mt]!, 12)} `;
        for (let o = 0; o < NR_PAGE_ORDERS; o++) {
          const n = pages.freeBlocksByType(z, o, mt);
          // the kernel stops counting a list at 100000 entries
          out += n >= 100000 ? `>${pad(100000, 6)} ` : `${pad(n, 6)} `;
        }
        out += '\n';
      }
    }
    out += `\n${'Number of blocks type '.padEnd(23)}`;
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(MIGRATETYPE_NAMES[mt]!, 12)} `;
    out += '\n';
    for (const z of zones) {
      const counts = pages.pageblockCounts?.(z) ?? new Array<number>(MIGRATE_TYPES).fill(0);
      out += `Node ${node.nid}, zone ${pad(z.name, 8)} `;
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(counts[mt] ?? 0, 12)} `;
      out += '\n';
    }
  }
  return out;
}

/** /proc/pagetypeinfo, as a PROC_ENTRY contribution. */
@injectable()
export class PagetypeinfoProc implements ProcEntry {
  readonly name = 'pagetypeinfo';
  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator & Partial<PageblockInfo>,
  ) {}
  show(): string {
    return showPagetypeinfo(this.topology, this.pages);
  }
}
