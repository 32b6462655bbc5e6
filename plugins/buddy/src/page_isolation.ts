/**
 * The buddy allocator's side of memory hotplug (mm/page_isolation.c and
 * the page_alloc.c helpers memory_hotplug.c calls): isolating a range's
 * free pages (MIGRATE_ISOLATE lists are never allocated from), taking an
 * isolated, all-free range off the free lists (__offline_isolated_pages),
 * freeing a newly onlined range into them, and re-laying a zone's
 * pageblock types when its span changes.
 * @module
 */
import { MigrateType, MmsimError, type MemoryModel, type PageFrameTable, PageOwner, PG_buddy, PG_nopage, PG_reserved, MAX_PAGE_ORDER, type Zone } from '@mmsim/core';

/** The part of a zone's free area this file works with. */
export interface IsolationArea {
  readonly zone: Zone;
  pageblockMt: Uint8Array;
  pageblockIndex(pfn: number): number;
}

/** The free-list primitives of the allocator (page_alloc.ts hands them over). */
export interface BuddyInternals {
  readonly t: PageFrameTable;
  readonly memory: MemoryModel;
  readonly pageblockOrder: number;
  readonly mobilityGrouping: boolean;
  areaOf(zone: Zone): IsolationArea | undefined;
  areaFor(pfn: number): IsolationArea | undefined;
  /** Creates (and registers) the free area of a zone that had none. */
  newArea(zone: Zone): IsolationArea;
  listAdd(a: IsolationArea, page: number, pfn: number, order: number, mt: number): void;
  listDel(a: IsolationArea, page: number, order: number): void;
  freeOne(a: IsolationArea, pfn: number, order: number): void;
}

/** Pageblock types a range had before isolation, to restore them (undo_isolate_page_range). */
const saved = new WeakMap<object, Map<number, number>>();

function savedTypes(owner: object): Map<number, number> {
  let m = saved.get(owner);
  if (!m) saved.set(owner, (m = new Map()));
  return m;
}

/** Free blocks whose head lies in [start, end): [pfn, slot, order]. */
function freeBlocksIn(b: BuddyInternals, start: number, end: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let pfn = start; pfn < end;) {
    const slot = b.memory.pfnToPage(pfn);
    if (slot >= 0 && b.t.flags[slot]! & PG_buddy) {
      const order = b.t.private[slot]!;
      out.push([pfn, slot, order]);
      pfn += 1 << order;
    } else pfn++;
  }
  return out;
}

/** start_isolate_page_range(): pageblocks → MIGRATE_ISOLATE, their free blocks onto the isolate lists. */
export function isolateRange(owner: object, b: BuddyInternals, start: number, nr: number): void {
  const end = start + nr;
  const pb = 1 << b.pageblockOrder;
  const keep = savedTypes(owner);
  for (let pfn = start; pfn < end; pfn += pb) {
    const a = b.areaFor(pfn);
    if (!a) continue;
    const i = a.pageblockIndex(pfn);
    if (a.pageblockMt[i] === MigrateType.ISOLATE) continue;
    keep.set(pfn, a.pageblockMt[i]!);
    a.pageblockMt[i] = MigrateType.ISOLATE;
  }
  for (const [pfn, slot, order] of freeBlocksIn(b, start, end)) {
    const a = b.areaFor(pfn)!;
    b.listDel(a, slot, order);
    b.listAdd(a, slot, pfn, order, MigrateType.ISOLATE);
  }
}

/** undo_isolate_page_range(): pageblocks get their types back, isolated free blocks their lists. */
export function undoIsolateRange(owner: object, b: BuddyInternals, start: number, nr: number): void {
  const end = start + nr;
  const pb = 1 << b.pageblockOrder;
  const keep = savedTypes(owner);
  for (let pfn = start; pfn < end; pfn += pb) {
    const a = b.areaFor(pfn);
    const mt = keep.get(pfn);
    keep.delete(pfn);
    if (!a) continue;
    const i = a.pageblockIndex(pfn);
    if (a.pageblockMt[i] === MigrateType.ISOLATE) a.pageblockMt[i] = mt ?? MigrateType.MOVABLE;
  }
  for (const [pfn, slot, order] of freeBlocksIn(b, start, end)) {
    const a = b.areaFor(pfn)!;
    b.listDel(a, slot, order);
    b.listAdd(a, slot, pfn, order, b.mobilityGrouping ? a.pageblockMt[a.pageblockIndex(pfn)]! : MigrateType.UNMOVABLE);
  }
}

/**
 * __offline_isolated_pages() after test_pages_isolated(): every present
 * page of the range must be free; they all leave the free lists and
 * NR_FREE_PAGES. Returns the pages taken.
 */
export function offlineRange(owner: object, b: BuddyInternals, start: number, nr: number, plugin: string): number {
  const end = start + nr;
  const blocks = freeBlocksIn(b, start, end);
  // test_pages_isolated(): nothing but free (or absent) pages left
  let covered = start;
  for (const [pfn, , order] of blocks) {
    for (let p = covered; p < pfn; p++) {
      const s = b.memory.pfnToPage(p);
      if (s >= 0 && !(b.t.flags[s]! & PG_nopage)) throw new MmsimError('EHOTPLUG', `pfn 0x${p.toString(16)} is still in use: the range is not all free`, { plugin, details: { pfn: p } });
    }
    covered = pfn + (1 << order);
  }
  for (let p = covered; p < end; p++) {
    const s = b.memory.pfnToPage(p);
    if (s >= 0 && !(b.t.flags[s]! & PG_nopage)) throw new MmsimError('EHOTPLUG', `pfn 0x${p.toString(16)} is still in use: the range is not all free`, { plugin, details: { pfn: p } });
  }
  let taken = 0;
  for (const [pfn, slot, order] of blocks) {
    const a = b.areaFor(pfn)!;
    b.listDel(a, slot, order);
    b.t.private[slot] = 0;
    a.zone.stats.nrFreePages -= 1 << order;
    taken += 1 << order;
  }
  const keep = savedTypes(owner);
  for (let pfn = start; pfn < end; pfn += 1 << b.pageblockOrder) keep.delete(pfn);
  return taken;
}

/**
 * online_pages() → online_pages_range(): the range's present pages, not
 * reserved, go to the free lists in the largest aligned blocks
 * (__free_pages_core), their pageblocks MIGRATE_MOVABLE.
 */
export function onlineRange(b: BuddyInternals, start: number, nr: number): void {
  const end = start + nr;
  const t = b.t;
  const pb = 1 << b.pageblockOrder;
  for (let pfn = start; pfn < end; pfn += pb) {
    const a = b.areaFor(pfn);
    if (a) a.pageblockMt[a.pageblockIndex(pfn)] = MigrateType.MOVABLE;
  }
  const usable = (pfn: number) => {
    const s = b.memory.pfnToPage(pfn);
    return s >= 0 && !(t.flags[s]! & (PG_reserved | PG_nopage | PG_buddy)) && t.refcount[s] === 0;
  };
  for (let pfn = start; pfn < end;) {
    if (!usable(pfn)) {
      pfn++;
      continue;
    }
    const a = b.areaFor(pfn);
    if (!a) throw new MmsimError('ECORRUPT', `online: pfn 0x${pfn.toString(16)} is in no zone the allocator knows`);
    let order = 0;
    while (order < MAX_PAGE_ORDER && (pfn & ((2 << order) - 1)) === 0 && pfn + (2 << order) <= end) order++;
    let n = 1 << order;
    for (let i = 1; i < n; i++) {
      if (!usable(pfn + i)) {
        order = 0;
        n = 1;
        break;
      }
    }
    t.ownerKind[b.memory.pfnToPage(pfn)] = PageOwner.NONE;
    b.freeOne(a, pfn, order);
    a.zone.stats.nrFreePages += n;
    pfn += n;
  }
}

/** resize_zone_range() / shrink_zone_span() happened: pageblock types follow the zone's new span (a zone that had no area gets one). */
export function zoneSpanChanged(b: BuddyInternals, zone: Zone, oldStart: number): void {
  const a = b.areaOf(zone);
  if (!a) {
    if (zone.spannedPages) b.newArea(zone);
    return;
  }
  const pb = b.pageblockOrder;
  const len = Math.ceil((zone.spannedPages + (zone.zoneStartPfn & ((1 << pb) - 1))) / (1 << pb)) + 1;
  const next = new Uint8Array(len).fill(MigrateType.MOVABLE);
  const shift = (oldStart >> pb) - (zone.zoneStartPfn >> pb);
  const old = a.pageblockMt;
  for (let i = 0; i < old.length; i++) {
    const j = i + shift;
    if (j >= 0 && j < len) next[j] = old[i]!;
  }
  a.pageblockMt = next;
}
