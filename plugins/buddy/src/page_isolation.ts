/**
 * The page allocator's side of memory hotplug (mm/page_isolation.c and the
 * mm/page_alloc.c helpers mm/memory_hotplug.c calls): isolating a range's
 * pageblocks (their free blocks move to the MIGRATE_ISOLATE lists, which
 * nothing allocates from, and pages freed into them stay there), undoing
 * that, taking an isolated all-free range off the free lists for good
 * (__offline_isolated_pages) and freeing a newly onlined range into them
 * (online_pages_range). Ranges are whole pageblocks.
 * @module
 */
import { MigrateType, MmsimError, PG_buddy, PG_nopage, PG_pcp, PG_reserved } from '@mmsim/core';
import { PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER, type ZoneState } from './mmzone.js';
import type { BuddyAllocator } from './page_alloc.js';
import { drainPagesZone } from './pcp.js';
import { zonePcpUpdate } from './watermark.js';

/** The pageblocks of [start, start + nr) that belong to a zone: [first pfn, zone state]. EINVAL for a range that is not whole pageblocks. */
function pageblocksIn(a: BuddyAllocator, start: number, nr: number): [number, ZoneState][] {
  if (!Number.isInteger(start) || !Number.isInteger(nr) || start < 0 || nr <= 0 || (start | nr) & (PAGEBLOCK_NR_PAGES - 1)) {
    throw new MmsimError('EINVAL', `pfn range 0x${start.toString(16)}+${nr} is not whole pageblocks of ${PAGEBLOCK_NR_PAGES} pages`, { plugin: a.name, details: { start, nr } });
  }
  const out: [number, ZoneState][] = [];
  for (let pfn = start; pfn < start + nr; pfn += PAGEBLOCK_NR_PAGES) {
    const zs = a.zoneOfPfn(pfn);
    if (zs) out.push([pfn, zs]);
  }
  return out;
}

/**
 * zone_pcp_disable(): every CPU's lists of the zone run with high 0 and
 * batch 1 (a freed page goes straight to the buddy lists, a refill takes
 * one block), and are drained.
 */
function zonePcpDisable(zs: ZoneState): void {
  if (zs.pcpDisabled++ === 0) {
    for (const pcp of zs.pcp) {
      if (!pcp) continue;
      pcp.high = pcp.highMin = pcp.highMax = 0;
      pcp.batch = 1;
    }
  }
  for (const pcp of zs.pcp) if (pcp && pcp.count) drainPagesZone(zs, pcp);
}

/** zone_pcp_enable(): the zone's pageset_high_min / _max / batch again. */
function zonePcpEnable(a: BuddyAllocator, zs: ZoneState): void {
  if (zs.pcpDisabled > 0 && --zs.pcpDisabled === 0) zonePcpUpdate(a, zs);
}

/** The distinct zones of pageblocks. */
function zonesOf(blocks: readonly [number, ZoneState][]): Set<ZoneState> {
  return new Set(blocks.map(([, zs]) => zs));
}

/** Free blocks whose head lies in [start, end): [pfn, slot, order]. */
function freeBlocksIn(a: BuddyAllocator, start: number, end: number): [number, number, number][] {
  const mem = a.memory;
  const t = mem.pages;
  const out: [number, number, number][] = [];
  for (let pfn = start; pfn < end;) {
    const page = mem.pfnToPage(pfn);
    if (page >= 0 && t.flags[page]! & PG_buddy) {
      const order = t.private[page]!;
      out.push([pfn, page, order]);
      pfn += 1 << order;
    } else pfn++;
  }
  return out;
}

/**
 * isolate_single_pageblock(): a free block larger than a pageblock that
 * straddles `pfn` (a pageblock boundary) is split there, so no free block
 * lies both inside and outside the range. Same list type, same counters.
 */
function splitFreeBlockAt(a: BuddyAllocator, pfn: number): void {
  const mem = a.memory;
  const t = mem.pages;
  for (let order = PAGEBLOCK_ORDER + 1; order <= a.maxOrder; order++) {
    let head = pfn & ~((1 << order) - 1);
    const page = mem.pfnToPage(head);
    if (head === pfn || page < 0 || !(t.flags[page]! & PG_buddy) || t.private[page] !== order) continue;
    const zs = a.zoneOfPfn(head)!;
    const mt = t.owner[page]!;
    zs.delFromFreeList(page, order);
    // list the halves that lie wholly on one side, halving the one holding the boundary
    for (;;) {
      if (head === pfn) {
        zs.addToFreeList(zs.pageOf(head), order, mt, false);
        return;
      }
      order--;
      const mid = head + (1 << order);
      if (pfn >= mid) {
        zs.addToFreeList(zs.pageOf(head), order, mt, false);
        head = mid;
      } else {
        zs.addToFreeList(zs.pageOf(mid), order, mt, false);
      }
    }
  }
}

/**
 * zone_pcp_disable() + start_isolate_page_range() as offline_pages() runs
 * them: the range's zones stop keeping per-CPU pages (until
 * undoIsolateRange or offlineRange), then each pageblock becomes
 * MIGRATE_ISOLATE and its free blocks move to the isolate lists
 * (set_migratetype_isolate → move_freepages_block_isolate), leaving
 * NR_FREE_PAGES. The types it had are kept for undoIsolateRange. EHOTPLUG,
 * nothing changed, when a pageblock is isolated already (-EBUSY).
 */
export function isolateRange(a: BuddyAllocator, start: number, nr: number): void {
  const blocks = pageblocksIn(a, start, nr);
  for (const [pfn, zs] of blocks) {
    if (zs.pageblockMigratetype(pfn) === MigrateType.ISOLATE) {
      throw new MmsimError('EHOTPLUG', `pageblock at pfn 0x${pfn.toString(16)} is already isolated`, { plugin: a.name, details: { pfn } });
    }
    // move_freepages_block_isolate() fails for a pageblock two zones share
    if (!zs.owns(pfn) || !zs.owns(pfn + PAGEBLOCK_NR_PAGES - 1)) {
      throw new MmsimError('EHOTPLUG', `pageblock at pfn 0x${pfn.toString(16)} crosses the boundary of zone ${zs.zone.name}`, { plugin: a.name, details: { pfn } });
    }
  }
  for (const zs of zonesOf(blocks)) zonePcpDisable(zs);
  splitFreeBlockAt(a, start);
  splitFreeBlockAt(a, start + nr);
  for (const [pfn, zs] of blocks) {
    a.isolatedFrom.set(pfn, zs.pageblockMigratetype(pfn));
    zs.moveFreepagesBlock(pfn, MigrateType.ISOLATE);
  }
}

/**
 * undo_isolate_page_range() + zone_pcp_enable(): each isolated pageblock
 * gets its type back and its free blocks are freed again
 * (unset_migratetype_isolate: to the list tails, merging with buddies
 * outside the range that isolation kept apart).
 */
export function undoIsolateRange(a: BuddyAllocator, start: number, nr: number): void {
  const blocks = pageblocksIn(a, start, nr).filter(([pfn, zs]) => zs.pageblockMigratetype(pfn) === MigrateType.ISOLATE);
  const t = a.memory.pages;
  const free: [number, number, ZoneState][] = [];
  for (const [pfn, page, order] of freeBlocksIn(a, start, start + nr)) {
    if (t.owner[page] !== MigrateType.ISOLATE) continue;
    const zs = a.zoneOfPfn(pfn)!;
    zs.delFromFreeList(page, order); // isolated pages are not in NR_FREE_PAGES
    free.push([pfn, order, zs]);
  }
  for (const [pfn, zs] of blocks) {
    zs.setPageblockMigratetype(pfn, a.isolatedFrom.get(pfn) ?? MigrateType.MOVABLE);
    a.isolatedFrom.delete(pfn);
  }
  for (const [pfn, order, zs] of free) zs.freeBlock(pfn, order, true);
  for (const zs of zonesOf(blocks)) zonePcpEnable(a, zs);
}

/**
 * test_pages_isolated() + __offline_isolated_pages() + zone_pcp_enable():
 * every present page of the isolated range must be in a free block on an
 * isolate list (EHOTPLUG, nothing changed, otherwise); those blocks leave
 * the lists for good. The pageblocks stay isolated, as the kernel leaves
 * offline memory. Returns the pages taken.
 */
export function offlineRange(a: BuddyAllocator, start: number, nr: number): number {
  const blocks = pageblocksIn(a, start, nr);
  const mem = a.memory;
  const t = mem.pages;
  for (const [pfn, zs] of blocks) {
    if (zs.pageblockMigratetype(pfn) !== MigrateType.ISOLATE) {
      throw new MmsimError('EHOTPLUG', `pageblock at pfn 0x${pfn.toString(16)} is not isolated: isolate the range first`, { plugin: a.name, details: { pfn } });
    }
  }
  const taken: [number, number, ZoneState][] = [];
  for (let pfn = start, end = start + nr; pfn < end;) {
    const page = mem.pfnToPage(pfn);
    if (page < 0 || t.flags[page]! & PG_nopage) {
      pfn++;
      continue;
    }
    if (!(t.flags[page]! & PG_buddy) || t.owner[page] !== MigrateType.ISOLATE) {
      throw new MmsimError('EHOTPLUG', `pfn 0x${pfn.toString(16)} is still in use: the range is not all free`, { plugin: a.name, details: { pfn } });
    }
    taken.push([page, t.private[page]!, a.zoneOfPfn(pfn)!]);
    pfn += 1 << t.private[page]!;
  }
  let pages = 0;
  for (const [page, order, zs] of taken) {
    zs.delFromFreeList(page, order);
    pages += 1 << order;
  }
  for (const [pfn, zs] of blocks) {
    if (a.isolatedFrom.get(pfn) === MigrateType.HIGHATOMIC) zs.nrReservedHighatomic = Math.max(0, zs.nrReservedHighatomic - PAGEBLOCK_NR_PAGES);
    a.isolatedFrom.delete(pfn);
  }
  for (const zs of zonesOf(blocks)) zonePcpEnable(a, zs);
  return pages;
}

/**
 * online_pages(): the range's pageblocks become MIGRATE_MOVABLE
 * (memmap_init_range isolates them, undo_isolate_page_range makes them
 * Movable) and its present pages, neither reserved nor in use, are freed in
 * the largest aligned blocks to the list tails (online_pages_range →
 * __free_pages_core with FPI_TO_TAIL).
 */
export function onlineRange(a: BuddyAllocator, start: number, nr: number): void {
  const blocks = pageblocksIn(a, start, nr);
  const mem = a.memory;
  const t = mem.pages;
  const end = start + nr;
  const usable = (pfn: number): boolean => {
    const s = mem.pfnToPage(pfn);
    return s >= 0 && !(t.flags[s]! & (PG_reserved | PG_nopage | PG_buddy | PG_pcp)) && t.refcount[s] === 0 && a.zoneOfPfn(pfn) !== undefined;
  };
  for (let pfn = start; pfn < end; pfn++) {
    const s = mem.pfnToPage(pfn);
    if (s >= 0 && !(t.flags[s]! & (PG_reserved | PG_nopage)) && !usable(pfn)) {
      throw new MmsimError('ECORRUPT', `online: pfn 0x${pfn.toString(16)} is in use, already free, or in no zone the allocator knows`, { plugin: a.name, details: { pfn } });
    }
  }
  for (const [pfn, zs] of blocks) {
    zs.setPageblockMigratetype(pfn, MigrateType.MOVABLE);
    a.isolatedFrom.delete(pfn);
  }
  for (let pfn = start; pfn < end;) {
    if (!usable(pfn)) {
      pfn++;
      continue;
    }
    let order = 0;
    while (order < a.maxOrder && (pfn & ((2 << order) - 1)) === 0 && pfn + (2 << order) <= end) order++;
    let n = 1 << order;
    for (let i = 1; i < n; i++) {
      if (!usable(pfn + i)) {
        order = 0;
        n = 1;
        break;
      }
    }
    a.zoneOfPfn(pfn)!.freeBlock(pfn, order, true);
    pfn += n;
  }
}
