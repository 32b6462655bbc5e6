/**
 * The cross-point invariant checker (what CONFIG_DEBUG_VM's VM_BUG_ON_PAGE
 * and check_new_page / free_page_is_bad do for the kernel, run over the
 * whole machine at once). It works for any composition: it reads only the
 * extension points' interfaces, the task table, the OOM killer's total and
 * the page-frame table, and relies on the page-table conventions every
 * plugin follows (listed below). It is contributed under INVARIANT_CHECK
 * ({@link DebugVm}): `sim.check()` runs each point's own `check()` first,
 * then the contributions; {@link checkVm} runs it alone and returns its
 * counts.
 *
 * One pass runs named checks in a fixed order, the first wrong thing found
 * wins: the page-frame table's arrays (`checkPageTableArrays`), the
 * memmap (`checkMemmap`), the present ranges
 * (`checkPresentRanges`), then zone by zone the free blocks and
 * per-CPU pages (`markFreeBlocks`), every present page
 * (`walkZonePages`) and the zone counters (`checkZoneCounters`),
 * then the holes (`checkHoles`), the LRU lists (`checkLru`),
 * the slab census (`checkSlabCensus`) and the OOM scores
 * (`checkOomScores`). The page walk gathers what the checks after it
 * compare with (a `PageCensus`).
 *
 * Page-table conventions the checker enforces:
 * - A present page is in exactly one state: reserved (PG_reserved: memmap
 *   and other boot allocations, never handed to the page allocator), free
 *   (inside a free block or on a per-CPU list), or allocated.
 * - A free block's head has PG_buddy, page->private = its order and
 *   refcount 0; the block is aligned to its order, lies in one zone and one
 *   present range, and no page of it is reserved, on an LRU or a slab page.
 *   A page allocator that does not mark free blocks this way (a bitmap
 *   allocator) is checked by counts only ("opaque" mode). NR_FREE_PAGES
 *   counts free blocks except those on the MIGRATE_ISOLATE lists
 *   (account_freepages()), free_area[].nr_free counts them all.
 * - A page on a per-CPU list has PG_pcp (page->private = its order, or
 *   every page of the block flagged).
 * - An allocated block starts at a head with refcount ≥ 1 and an owner kind
 *   other than NONE/BUDDY; its other pages have refcount 0 and owner kind
 *   NONE or the head's. Heads of kind KERNEL, ANON, PAGE_CACHE and
 *   KMALLOC_LARGE keep their order in page->private (as alloc_pages leaves
 *   it); pages of other kinds (SLAB, ...) carry the owner kind and owner on
 *   every page of the block.
 * - mapcount ≤ refcount, and only user pages (ANON, PAGE_CACHE) are mapped.
 * - PG_lru only on an allocated head that is not a slab page; PG_slab exactly
 *   on pages of owner kind SLAB.
 * @module
 */
import {
  inject, injectable, type InvariantCheck, LruList, type MemoryModel, MEMORY_MODEL, MIGRATE_TYPES, MigrateType, MmsimError, NO_PAGE,
  NR_LRU_LISTS, OOM_KILLER, OOM_SCORER, type OomKiller, type OomScorer, PAGE_ALLOCATOR, type PageAllocator, type PageFrameTable, PageOwner,
  PG_buddy, PG_head, PG_lru, PG_pcp, PG_reserved, PG_slab, PG_swapbacked, PG_tail, PG_unevictable, RECLAIM_POLICY, type ReclaimPolicy,
  type Simulator, SLAB_ALLOCATOR, SLAB_RECLAIM_ACCOUNT, type SlabAllocator, STRUCT_PAGE_SIZE, TASKS, type TaskTable, TOPOLOGY, type Topology,
  type Zone,
} from '@mmsim/core';

/** What one {@link checkVm} pass found (all page counts). */
export interface VmCheckReport {
  /** 'flags': free blocks are marked PG_buddy and checked page by page; 'opaque': the allocator does not mark them, counts only. */
  mode: 'flags' | 'opaque';
  present: number;
  reserved: number;
  free: number;
  pcp: number;
  allocated: number;
  /** Allocated pages by owner kind name (tails counted with their head). */
  byOwner: Record<string, number>;
  /** Pages with PG_lru. */
  lru: number;
  /** struct page slots the memory model maps to a pfn. */
  memmapSlots: number;
}

/** Owner kinds whose head page keeps the block order in page->private. */
const ORDER_IN_PRIVATE = new Set<number>([PageOwner.KERNEL, PageOwner.ANON, PageOwner.PAGE_CACHE, PageOwner.KMALLOC_LARGE]);

// coverage marks per slot
const C_NONE = 0;
const C_FREE = 1;
const C_PCP = 2;
const C_VISITED = 4;

function corrupt(msg: string, details: Record<string, unknown> = {}): never {
  throw new MmsimError('ECORRUPT', `debug_vm: ${msg}`, { details });
}

/** A half-open pfn range. */
interface Run {
  start: number;
  end: number;
}

/** What the page walk reads, and what it gathers for the checks after it. */
interface PageCensus {
  readonly m: MemoryModel;
  readonly pa: PageAllocator;
  readonly t: PageFrameTable;
  readonly maxOrder: number;
  /** Free blocks are marked PG_buddy (else the allocator is opaque: counts only). */
  readonly flagMode: boolean;
  /** C_* marks per struct page slot. */
  readonly cover: Uint8Array;
  /** Allocated pages by owner kind. */
  readonly byOwner: Float64Array;
  /** PG_lru pages per node, by the LRU list their flags put them on. */
  readonly lruByNode: Map<number, Float64Array>;
  /** Slab pages per cache id. */
  readonly slabPagesByCache: Map<number, number>;
  /** Slab pages of no cache (an allocator that does not record its caches in page->owner). */
  slabPagesNoCache: number;
  kmallocLargePages: number;
}

/** The allocated block the page walk is in. */
interface BlockCursor {
  /** pfn of the block head, -1 for none. */
  head: number;
  headKind: number;
  headOwner: number;
  /** pfn past the head's known extent. */
  extentEnd: number;
}

/** The page-frame table's arrays all have one slot per struct page. */
function checkPageTableArrays(t: PageFrameTable): void {
  const size = t.size;
  for (const a of [t.refcount, t.mapcount, t.private, t.lruNext, t.lruPrev, t.ownerKind, t.owner]) {
    if (a.length !== size) corrupt(`page table arrays out of step: ${a.length} slots, table size ${size}`);
  }
}

/** The memory model's slots and pfns map one to one, unmapped slots are unused, and the memmap it reports holds them. Returns the mapped slots. */
function checkMemmap(m: MemoryModel): number {
  const t = m.pages;
  const { flags, refcount } = t;
  let memmapSlots = 0;
  for (let slot = 0; slot < t.size; slot++) {
    const pfn = m.pageToPfn(slot);
    if (pfn < 0) {
      if (refcount[slot] !== 0 || flags[slot]! & (PG_buddy | PG_lru | PG_slab | PG_pcp)) {
        corrupt(`struct page slot ${slot} maps to no pfn but is in use (refcount ${refcount[slot]}, flags 0x${flags[slot]!.toString(16)})`, { slot });
      }
      continue;
    }
    memmapSlots++;
    if (!m.pfnValid(pfn)) corrupt(`pfn ${pfn}: slot ${slot} maps to it but pfn_valid() is false`, { pfn, slot });
    const back = m.pfnToPage(pfn);
    if (back !== slot) corrupt(`pfn ${pfn}: page_to_pfn(slot ${slot}) is ${pfn} but pfn_to_page(${pfn}) is slot ${back}`, { pfn, slot });
  }
  if (m.memmapBytes() < memmapSlots * STRUCT_PAGE_SIZE) {
    corrupt(`memmap: the model reports ${m.memmapBytes()} bytes of struct pages but maps ${memmapSlots} (${memmapSlots * STRUCT_PAGE_SIZE} bytes)`);
  }
  return memmapSlots;
}

/** The memory model's present ranges equal the zones' (which do not overlap). */
function checkPresentRanges(m: MemoryModel, topo: Topology): void {
  const zoneRanges = topo.zones.flatMap((z) => z.ranges.map((r) => ({ start: r.start, end: r.end, z })))
    .filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const merged: Run[] = [];
  for (const r of zoneRanges) {
    const last = merged[merged.length - 1];
    if (last && r.start < last.end) corrupt(`pfn ${r.start}: present in two zones (node ${r.z.nid} ${r.z.name} and another)`, { pfn: r.start });
    if (last && r.start === last.end) last.end = r.end;
    else merged.push({ start: r.start, end: r.end });
  }
  const modelRanges: Run[] = [];
  for (const r of m.presentRanges()) {
    const last = modelRanges[modelRanges.length - 1];
    if (last && r.start < last.end) corrupt(`memory model: present ranges overlap or are unsorted at pfn ${r.start}`, { pfn: r.start });
    if (r.end <= r.start) continue;
    if (last && r.start === last.end) last.end = r.end;
    else modelRanges.push({ start: r.start, end: r.end });
  }
  const fmt = (rs: Run[]) => rs.map((r) => `[${r.start}, ${r.end})`).join(' ');
  if (fmt(merged) !== fmt(modelRanges)) {
    corrupt(`memmap: the memory model's present ranges ${fmt(modelRanges)} differ from the zones' ${fmt(merged)}`);
  }
}

/** Does the page allocator mark its free blocks PG_buddy? (With nothing free there is nothing to mark: the strict rules apply.) */
function freeBlocksFlagged(t: PageFrameTable, topo: Topology): boolean {
  for (let slot = 0; slot < t.size; slot++) if (t.flags[slot]! & PG_buddy) return true;
  return topo.populatedZones.reduce((s, z) => s + z.stats.nrFreePages, 0) === 0;
}

/**
 * present_pages agrees with the zone's ranges, which lie in its span.
 * Returns the zone's present pfns as runs (adjacent ranges joined: a free
 * block may span them), or null for an empty zone.
 */
function checkZoneSpan(z: Zone): Run[] | null {
  const rangePages = z.ranges.reduce((s, r) => s + Math.max(0, r.end - r.start), 0);
  if (rangePages !== z.presentPages) corrupt(`node ${z.nid} zone ${z.name}: present_pages is ${z.presentPages} but its ranges hold ${rangePages} pages`, { nid: z.nid, zone: z.name });
  if (!z.populated) return null;
  for (const r of z.ranges) {
    if (r.start < z.zoneStartPfn || r.end > z.zoneEndPfn) corrupt(`node ${z.nid} zone ${z.name}: present range [${r.start}, ${r.end}) outside the zone span [${z.zoneStartPfn}, ${z.zoneEndPfn})`, { nid: z.nid, zone: z.name });
  }
  const runs: Run[] = [];
  for (const r of [...z.ranges].sort((a, b) => a.start - b.start)) {
    const last = runs[runs.length - 1];
    if (last && r.start === last.end) last.end = r.end;
    else if (r.end > r.start) runs.push({ start: r.start, end: r.end });
  }
  return runs;
}

/** What the free-block pass found in a zone. */
interface FreeMarks {
  /** PG_buddy blocks by order. */
  freeByOrder: Float64Array;
  /** Pages in PG_buddy blocks. */
  freePages: number;
  /** Pages marked PG_pcp. */
  pcpPages: number;
}

/**
 * Pass 1 over a zone: every free block (PG_buddy head) and per-CPU list
 * page (PG_pcp) is well formed — order, alignment, inside one present run
 * — and no page is in two of them; marks their pages in the coverage map.
 */
function markFreeBlocks(cs: PageCensus, runs: readonly Run[], where: (pfn: number) => string): FreeMarks {
  const { m, t, cover, maxOrder } = cs;
  const { flags, private: priv } = t;
  const marks: FreeMarks = { freeByOrder: new Float64Array(maxOrder + 1), freePages: 0, pcpPages: 0 };
  for (const r of runs) {
    for (let pfn = r.start; pfn < r.end; pfn++) {
      const page = m.pfnToPage(pfn);
      if (page < 0) corrupt(`${where(pfn)}: present but has no struct page`, { pfn });
      const f = flags[page]!;
      if (!(f & (PG_buddy | PG_pcp))) continue;
      if ((f & PG_buddy) && (f & PG_pcp)) corrupt(`${where(pfn)}: both PageBuddy and on a per-CPU list`, { pfn });
      const buddy = (f & PG_buddy) !== 0;
      if (cover[page] !== C_NONE) {
        // inside a block already seen: only a flagged tail of a pcp block may be
        if (buddy || cover[page] !== C_PCP) corrupt(`${where(pfn)}: listed twice: marked ${buddy ? `a free order-${priv[page]} block` : 'a per-CPU list page'} but inside another free block`, { pfn });
        continue;
      }
      const order = priv[page]!;
      let n: number;
      if (buddy) {
        if (!Number.isInteger(order) || order < 0 || order > maxOrder) corrupt(`${where(pfn)}: free block head with order ${order} (0..${maxOrder})`, { pfn, order });
        if (pfn & ((1 << order) - 1)) corrupt(`${where(pfn)}: free order-${order} block is not aligned to its order`, { pfn, order });
        n = 1 << order;
        if (pfn + n > r.end) corrupt(`${where(pfn)}: free order-${order} block runs past the present range ending at pfn ${r.end} (into a hole or another zone)`, { pfn, order });
        marks.freeByOrder[order]!++;
        marks.freePages += n;
      } else {
        // a pcp page: its block when private holds a plausible order, else the page alone
        n = order >= 1 && order <= maxOrder && !(pfn & ((1 << order) - 1)) && pfn + (1 << order) <= r.end ? 1 << order : 1;
        marks.pcpPages += n;
      }
      for (let i = 0; i < n; i++) {
        const p = i === 0 ? page : m.pfnToPage(pfn + i);
        if (p < 0) corrupt(`${where(pfn + i)}: inside the free block at pfn ${pfn} but has no struct page`, { pfn: pfn + i });
        if (cover[p] !== C_NONE) {
          corrupt(`${where(pfn + i)}: in two free blocks (listed twice): ${buddy ? `the order-${order} free block` : 'a per-CPU list block'} at pfn ${pfn} overlaps another`, { pfn: pfn + i, head: pfn });
        }
        cover[p] = buddy ? C_FREE : C_PCP;
      }
    }
  }
  return marks;
}

/** A page of a free block or a per-CPU list: unreferenced, unmapped, unflagged, unowned, and not inside an allocated block. */
function checkFreePage(cs: PageCensus, where: (pfn: number) => string, pfn: number, page: number, c: number, cur: BlockCursor): void {
  const { m, t } = cs;
  const f = t.flags[page]!;
  const kind = t.ownerKind[page]!;
  const rc = t.refcount[page]!;
  if (cur.head >= 0 && pfn < cur.extentEnd) {
    corrupt(`${where(pfn)}: both free and allocated: inside the allocated order-${t.private[m.pfnToPage(cur.head)]} block at pfn ${cur.head} (${PageOwner[cur.headKind]}) and in a free block`, { pfn, head: cur.head });
  }
  cur.head = -1;
  if (rc !== 0) corrupt(`${where(pfn)}: free page with refcount ${rc}`, { pfn, refcount: rc });
  if (t.mapcount[page] !== 0) corrupt(`${where(pfn)}: free page with mapcount ${t.mapcount[page]}`, { pfn });
  if (f & (PG_lru | PG_slab | PG_reserved | PG_head | PG_tail)) corrupt(`${where(pfn)}: free page with flags 0x${f.toString(16)} (${f & PG_lru ? 'PG_lru' : f & PG_slab ? 'PG_slab' : f & PG_reserved ? 'PG_reserved' : 'compound'})`, { pfn, flags: f });
  const isHead = c === C_FREE ? (f & PG_buddy) !== 0 : (f & PG_pcp) !== 0;
  if (c === C_FREE && !isHead && kind !== PageOwner.NONE) corrupt(`${where(pfn)}: inside a free block but owned (${PageOwner[kind] ?? kind})`, { pfn, ownerKind: kind });
  if (c === C_FREE && isHead && kind !== PageOwner.BUDDY && kind !== PageOwner.NONE) corrupt(`${where(pfn)}: free block head owned by ${PageOwner[kind] ?? kind}`, { pfn, ownerKind: kind });
  if (c === C_PCP && kind !== PageOwner.NONE && kind !== PageOwner.BUDDY) corrupt(`${where(pfn)}: per-CPU list page owned by ${PageOwner[kind] ?? kind}`, { pfn, ownerKind: kind });
}

/** A PG_reserved page (memmap, firmware, early allocations): off the LRU, no slab, a boot owner. */
function checkReservedPage(where: (pfn: number) => string, pfn: number, f: number, kind: number): void {
  if (f & (PG_lru | PG_slab)) corrupt(`${where(pfn)}: reserved page on an LRU list or a slab page`, { pfn, flags: f });
  if (kind !== PageOwner.MEMMAP && kind !== PageOwner.RESERVED && kind !== PageOwner.KERNEL) corrupt(`${where(pfn)}: reserved page owned by ${PageOwner[kind] ?? kind}`, { pfn, ownerKind: kind });
}

/** The head of an allocated block (refcount ≥ 1): exactly one owner, not inside another block; the cursor moves to it. */
function checkBlockHead(cs: PageCensus, where: (pfn: number) => string, pfn: number, page: number, run: Run, cur: BlockCursor): void {
  const { m, t, maxOrder } = cs;
  const f = t.flags[page]!;
  const kind = t.ownerKind[page]!;
  const rc = t.refcount[page]!;
  const mapcount = t.mapcount[page]!;
  if (kind === PageOwner.NONE || kind === PageOwner.BUDDY || kind === PageOwner.MEMMAP || kind === PageOwner.RESERVED || PageOwner[kind] === undefined) {
    corrupt(`${where(pfn)}: allocated (refcount ${rc}) but owned by ${PageOwner[kind] ?? `kind ${kind}`}: every allocated page needs one owner (KERNEL, SLAB, ANON, PAGE_CACHE, ...)`, { pfn, ownerKind: kind });
  }
  if (f & PG_tail) corrupt(`${where(pfn)}: a compound tail (PG_tail) with refcount ${rc}`, { pfn });
  if (mapcount > rc) corrupt(`${where(pfn)}: mapcount ${mapcount} above refcount ${rc}`, { pfn });
  if (mapcount > 0 && kind !== PageOwner.ANON && kind !== PageOwner.PAGE_CACHE) corrupt(`${where(pfn)}: mapped (mapcount ${mapcount}) but owned by ${PageOwner[kind]}`, { pfn });
  if (cur.head >= 0 && pfn < cur.extentEnd) {
    corrupt(`${where(pfn)}: allocated twice: a block head (refcount ${rc}, ${PageOwner[kind]}) inside the order-${t.private[m.pfnToPage(cur.head)]} ${PageOwner[cur.headKind]} block at pfn ${cur.head}`, { pfn, head: cur.head });
  }
  cur.head = pfn;
  cur.headKind = kind;
  cur.headOwner = t.owner[page]!;
  cur.extentEnd = pfn + 1;
  if (ORDER_IN_PRIVATE.has(kind)) {
    const order = t.private[page]!;
    if (!Number.isInteger(order) || order < 0 || order > maxOrder || pfn & ((1 << order) - 1)) {
      corrupt(`${where(pfn)}: ${PageOwner[kind]} block head with order ${order} in page->private (0..${maxOrder}, aligned)`, { pfn, order });
    }
    cur.extentEnd = pfn + (1 << order);
    if (cur.extentEnd > run.end) corrupt(`${where(pfn)}: the allocated order-${order} block runs past the present range ending at pfn ${run.end}`, { pfn, order });
  }
}

/**
 * A page with refcount 0, neither free nor reserved: a tail of the block
 * before it, owned by nobody or by the head's owner. Returns false for an
 * unmarked free page of an opaque allocator (not counted as allocated).
 */
function checkTailPage(cs: PageCensus, where: (pfn: number) => string, pfn: number, page: number, cur: BlockCursor): boolean {
  const { t, flagMode } = cs;
  const f = t.flags[page]!;
  const kind = t.ownerKind[page]!;
  const { head, headKind } = cur;
  const sameOwner = kind === headKind && t.owner[page] === cur.headOwner && kind !== PageOwner.NONE;
  if (head >= 0 && kind !== PageOwner.NONE && kind !== headKind && (flagMode || pfn < cur.extentEnd)) {
    corrupt(`${where(pfn)}: tail of the ${PageOwner[headKind]} block at pfn ${head} but owned by ${PageOwner[kind] ?? kind}`, { pfn, head });
  }
  if (head < 0 || (pfn >= cur.extentEnd && !sameOwner)) {
    if (!flagMode && kind === PageOwner.NONE && !(f & (PG_lru | PG_slab | PG_tail))) {
      // opaque mode: a free page the allocator does not mark
      cur.head = -1;
      return false;
    }
    corrupt(`${where(pfn)}: neither free nor allocated (refcount 0, in no free block, not part of an allocated block${head >= 0 ? ` — the block at pfn ${head} ends at ${cur.extentEnd}` : ''}): the page is lost`, { pfn, ownerKind: kind });
  }
  if (kind !== PageOwner.NONE && kind !== headKind) corrupt(`${where(pfn)}: tail of the ${PageOwner[headKind]} block at pfn ${head} but owned by ${PageOwner[kind] ?? kind}`, { pfn, head });
  if (f & (PG_lru | PG_head)) corrupt(`${where(pfn)}: tail of the block at pfn ${head} with ${f & PG_lru ? 'PG_lru' : 'PG_head'}`, { pfn, head });
  if (t.mapcount[page] !== 0 && headKind !== PageOwner.ANON && headKind !== PageOwner.PAGE_CACHE) corrupt(`${where(pfn)}: mapped tail of a ${PageOwner[headKind]} block`, { pfn });
  if (pfn >= cur.extentEnd) cur.extentEnd = pfn + 1;
  return true;
}

/**
 * Counts an allocated page under its block's owner: PG_slab exactly on
 * SLAB pages (counted per cache), large kmallocs, and PG_lru only on a
 * held user page (counted on the list its flags name). Returns true when
 * the page is on an LRU list.
 */
function countAllocatedPage(cs: PageCensus, where: (pfn: number) => string, pfn: number, page: number, cur: BlockCursor, lru: Float64Array): boolean {
  const { t } = cs;
  const f = t.flags[page]!;
  const headKind = cur.headKind;
  cs.byOwner[headKind]!++;
  // slab flag and owner kind agree
  const slabKind = headKind === PageOwner.SLAB;
  if (((f & PG_slab) !== 0) !== slabKind) corrupt(`${where(pfn)}: ${f & PG_slab ? 'PG_slab set but owned by ' + PageOwner[headKind] : 'owned by SLAB without PG_slab'}`, { pfn });
  if (slabKind) {
    const id = t.owner[page]!;
    if (id === 0) cs.slabPagesNoCache++;
    else cs.slabPagesByCache.set(id, (cs.slabPagesByCache.get(id) ?? 0) + 1);
  } else if (headKind === PageOwner.KMALLOC_LARGE) {
    cs.kmallocLargePages++;
  }
  if (!(f & PG_lru)) return false;
  if (t.refcount[page]! < 1) corrupt(`${where(pfn)}: PG_lru on a page nobody holds`, { pfn });
  if (headKind === PageOwner.KMALLOC_LARGE || headKind === PageOwner.PAGE_TABLE) corrupt(`${where(pfn)}: ${PageOwner[headKind]} page on an LRU list`, { pfn });
  const l = f & PG_unevictable ? LruList.UNEVICTABLE : f & PG_swapbacked ? LruList.INACTIVE_ANON : LruList.INACTIVE_FILE;
  lru[l]!++;
  return true;
}

/** What the page walk counted in a zone. */
interface ZonePages {
  reserved: number;
  allocated: number;
  lruPages: number;
}

/** Pass 2 over a zone: every present page, in pfn order, is exactly one of free, reserved or allocated (a block head or a tail of one). */
function walkZonePages(cs: PageCensus, z: Zone, runs: readonly Run[], where: (pfn: number) => string): ZonePages {
  const { m, t, cover } = cs;
  const { flags, ownerKind, refcount, mapcount } = t;
  const counts: ZonePages = { reserved: 0, allocated: 0, lruPages: 0 };
  const lru = cs.lruByNode.get(z.nid) ?? new Float64Array(NR_LRU_LISTS);
  cs.lruByNode.set(z.nid, lru);
  for (const r of runs) {
    const cur: BlockCursor = { head: -1, headKind: 0, headOwner: 0, extentEnd: 0 };
    for (let pfn = r.start; pfn < r.end; pfn++) {
      const page = m.pfnToPage(pfn);
      const f = flags[page]!;
      const c = cover[page]!;
      const rc = refcount[page]!;
      cover[page] = c | C_VISITED;
      if (c === C_FREE || c === C_PCP) {
        checkFreePage(cs, where, pfn, page, c, cur);
        continue;
      }
      if (f & (PG_buddy | PG_pcp)) corrupt(`${where(pfn)}: flagged ${f & PG_buddy ? 'PageBuddy' : 'PG_pcp'} but in no free block`, { pfn });
      if (f & PG_reserved) {
        cur.head = -1;
        counts.reserved++;
        checkReservedPage(where, pfn, f, ownerKind[page]!);
        continue;
      }
      if (mapcount[page]! < 0) corrupt(`${where(pfn)}: mapcount ${mapcount[page]}`, { pfn });
      if (rc < 0) corrupt(`${where(pfn)}: refcount ${rc}`, { pfn, refcount: rc });
      if (rc > 0) checkBlockHead(cs, where, pfn, page, r, cur);
      else if (!checkTailPage(cs, where, pfn, page, cur)) continue;
      counts.allocated++;
      if (countAllocatedPage(cs, where, pfn, page, cur, lru)) counts.lruPages++;
    }
  }
  return counts;
}

/**
 * The zone's counters agree with its pages: free_area[].nr_free by order
 * and by migrate type (buddyinfo and pagetypeinfo), NR_FREE_PAGES (which
 * leaves out free blocks on the MIGRATE_ISOLATE lists: account_freepages()
 * skips them, free_area[].nr_free does not), the per-CPU lists, present -
 * managed (reserved pages) and managed - free - pcp (allocated pages).
 * Adds the zone to the report.
 */
function checkZoneCounters(cs: PageCensus, z: Zone, marks: FreeMarks, pcp: number, pages: ZonePages, report: VmCheckReport): void {
  const { pa, maxOrder, flagMode } = cs;
  const { reserved, allocated } = pages;
  const nrFree = z.stats.nrFreePages;
  let fromAreas = 0;
  let isolated = 0;
  for (let o = 0; o <= maxOrder; o++) {
    const blocks = pa.freeBlocks(z, o);
    if (!Number.isInteger(blocks) || blocks < 0) corrupt(`node ${z.nid} zone ${z.name}: free_area[${o}].nr_free is ${blocks}`, { nid: z.nid, zone: z.name });
    fromAreas += blocks * 2 ** o;
    isolated += pa.freeBlocksByType(z, o, MigrateType.ISOLATE) * 2 ** o;
    let byType = 0;
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) byType += pa.freeBlocksByType(z, o, mt);
    if (byType !== blocks) corrupt(`node ${z.nid} zone ${z.name}: order ${o} has ${blocks} free blocks (buddyinfo) but ${byType} by migrate type (pagetypeinfo)`, { nid: z.nid, zone: z.name, order: o });
    if (flagMode && marks.freeByOrder[o] !== blocks) {
      corrupt(`node ${z.nid} zone ${z.name}: ${marks.freeByOrder[o]} order-${o} blocks are marked PageBuddy but buddyinfo counts ${blocks}`, { nid: z.nid, zone: z.name, order: o });
    }
  }
  const isoNote = isolated ? ` + ${isolated} isolated` : '';
  if (fromAreas !== nrFree + isolated) corrupt(`node ${z.nid} zone ${z.name}: free areas hold ${fromAreas} pages but NR_FREE_PAGES is ${nrFree}${isoNote}`, { nid: z.nid, zone: z.name });
  if (flagMode && marks.freePages !== nrFree + isolated) corrupt(`node ${z.nid} zone ${z.name}: PageBuddy blocks cover ${marks.freePages} pages but NR_FREE_PAGES is ${nrFree}${isoNote}`, { nid: z.nid, zone: z.name });
  if (!flagMode && marks.pcpPages !== 0 && marks.pcpPages !== pcp) corrupt(`node ${z.nid} zone ${z.name}: ${marks.pcpPages} pages are marked PG_pcp but the per-CPU lists hold ${pcp}`, { nid: z.nid, zone: z.name });
  if (reserved !== z.presentPages - z.managedPages) {
    corrupt(`node ${z.nid} zone ${z.name}: ${reserved} present pages are reserved but present - managed is ${z.presentPages - z.managedPages}`, { nid: z.nid, zone: z.name });
  }
  const expectAllocated = z.managedPages - nrFree - isolated - pcp;
  if (flagMode ? allocated !== expectAllocated : allocated > expectAllocated) {
    corrupt(`node ${z.nid} zone ${z.name}: ${allocated} pages are allocated but managed - free${isolated ? ' - isolated' : ''} - pcp is ${expectAllocated}`, { nid: z.nid, zone: z.name });
  }
  if (nrFree < 0 || pcp < 0 || nrFree + isolated + pcp > z.managedPages) corrupt(`node ${z.nid} zone ${z.name}: ${nrFree} free${isoNote} + ${pcp} pcp pages of ${z.managedPages} managed`, { nid: z.nid, zone: z.name });
  report.present += z.presentPages;
  report.reserved += reserved;
  report.free += nrFree;
  report.pcp += pcp;
  report.allocated += flagMode ? allocated : expectAllocated;
  report.lru += pages.lruPages;
}

/** One zone: its span, its free blocks and per-CPU pages, every present page, its counters. */
function checkZone(cs: PageCensus, z: Zone, report: VmCheckReport): void {
  const where = (pfn: number) => `pfn ${pfn} (node ${z.nid} zone ${z.name})`;
  const runs = checkZoneSpan(z);
  if (!runs) return;
  const marks = markFreeBlocks(cs, runs, where);
  const pcp = cs.pa.pcpPages(z);
  if (cs.flagMode && marks.pcpPages !== pcp) corrupt(`node ${z.nid} zone ${z.name}: the per-CPU lists hold ${pcp} pages but ${marks.pcpPages} are marked PG_pcp`, { nid: z.nid, zone: z.name });
  const pages = walkZonePages(cs, z, runs, where);
  checkZoneCounters(cs, z, marks, pcp, pages, report);
}

/** Valid struct pages outside every present range (holes, offline sections) are unused and on no list. */
function checkHoles(cs: PageCensus): void {
  const { m, t, cover } = cs;
  const { flags, refcount, ownerKind } = t;
  for (let slot = 0; slot < t.size; slot++) {
    if (cover[slot]! & C_VISITED) continue;
    const pfn = m.pageToPfn(slot);
    if (pfn < 0) continue;
    const kind = ownerKind[slot]!;
    if (refcount[slot] !== 0 || flags[slot]! & (PG_buddy | PG_lru | PG_slab | PG_pcp) || (kind !== PageOwner.NONE && kind !== PageOwner.RESERVED) || cover[slot] !== C_NONE) {
      corrupt(`pfn ${pfn}: not in any present range (a hole or offline) but in use (refcount ${refcount[slot]}, flags 0x${flags[slot]!.toString(16)}, owner ${PageOwner[kind] ?? kind})`, { pfn });
    }
    if (t.lruNext[slot] !== NO_PAGE || t.lruPrev[slot] !== NO_PAGE) corrupt(`pfn ${pfn}: a hole linked into a list`, { pfn });
  }
}

/** The reclaim policy's LRU lists hold, per node, exactly the pages flagged PG_lru (anon, file, unevictable). */
function checkLru(cs: PageCensus, topo: Topology, reclaim: ReclaimPolicy): void {
  for (const node of topo.nodes) {
    const sizes = reclaim.lruSizes(node.nid);
    const flagged = cs.lruByNode.get(node.nid) ?? new Float64Array(NR_LRU_LISTS);
    const anon = (sizes[LruList.INACTIVE_ANON] ?? 0) + (sizes[LruList.ACTIVE_ANON] ?? 0);
    const file = (sizes[LruList.INACTIVE_FILE] ?? 0) + (sizes[LruList.ACTIVE_FILE] ?? 0);
    const unev = sizes[LruList.UNEVICTABLE] ?? 0;
    const want = [flagged[LruList.INACTIVE_ANON]!, flagged[LruList.INACTIVE_FILE]!, flagged[LruList.UNEVICTABLE]!];
    if (anon !== want[0] || file !== want[1] || unev !== want[2]) {
      corrupt(`node ${node.nid}: the LRU lists hold ${anon} anon / ${file} file / ${unev} unevictable pages, page flags say ${want[0]} / ${want[1]} / ${want[2]} (PG_lru with PG_swapbacked / without / PG_unevictable)`, { nid: node.nid });
    }
  }
}

/**
 * The slab pages in the page table are what the slab allocator reports:
 * in total (/proc/meminfo Slab, with large kmallocs), per live cache
 * (slabinfo's slabs), and SLAB_RECLAIM_ACCOUNT caches' as SReclaimable.
 */
function checkSlabCensus(cs: PageCensus, slab: SlabAllocator): void {
  const { slabPagesByCache, slabPagesNoCache, kmallocLargePages } = cs;
  const st = slab.stats();
  const slabPages = slabPagesNoCache + [...slabPagesByCache.values()].reduce((s, n) => s + n, 0);
  if (slabPages + kmallocLargePages !== st.reclaimablePages + st.unreclaimablePages) {
    corrupt(`slab: ${slabPages} slab pages + ${kmallocLargePages} large kmalloc pages in the page table, but the allocator reports ${st.reclaimablePages} reclaimable + ${st.unreclaimablePages} unreclaimable (/proc/meminfo Slab)`);
  }
  const caches = slab.caches();
  const byId = new Map(caches.map((c) => [c.id, c]));
  for (const [id, pages] of slabPagesByCache) {
    if (!byId.has(id)) corrupt(`slab: ${pages} slab pages belong to cache id ${id}, which is not a live cache`, { cache: id });
  }
  const rows = slab.slabinfo();
  const names = new Map<string, number>();
  for (const c of caches) names.set(c.name, (names.get(c.name) ?? 0) + 1);
  const rowByName = new Map(rows.map((r) => [r.name, r]));
  let reclaimable = 0;
  for (const c of caches) {
    const pages = slabPagesByCache.get(c.id) ?? 0;
    if (c.flags & SLAB_RECLAIM_ACCOUNT) reclaimable += pages;
    const row = names.get(c.name) === 1 ? rowByName.get(c.name) : undefined;
    if (!row) continue;
    if (row.activeObjs < 0 || row.activeObjs > row.numObjs) corrupt(`slabinfo ${c.name}: ${row.activeObjs} active of ${row.numObjs} objects`, { cache: c.name });
    if (slabPagesNoCache === 0 && (pages < row.numSlabs || pages > row.numSlabs * row.pagesPerSlab)) {
      corrupt(`slabinfo ${c.name}: ${row.numSlabs} slabs of up to ${row.pagesPerSlab} pages, but ${pages} pages are owned by the cache`, { cache: c.name });
    }
  }
  if (slabPagesNoCache === 0 && slab.reclaimAccounting !== false && reclaimable !== st.reclaimablePages) {
    corrupt(`slab: SLAB_RECLAIM_ACCOUNT caches own ${reclaimable} pages but SReclaimable is ${st.reclaimablePages} pages`);
  }
}

/** OOM scores are non-negative integers (0..2000 while a task's memory fits in RAM + swap). */
function checkOomScores(tasks: TaskTable, oom: OomScorer, oomKiller: OomKiller): void {
  const total = oomKiller.totalPages();
  for (const task of tasks.all()) {
    const s = oom.oomScore(task, total);
    if (!Number.isInteger(s) || s < 0) corrupt(`oom: /proc/${task.pid}/oom_score is ${s}`, { pid: task.pid });
  }
}

/**
 * The debug_vm checks as an INVARIANT_CHECK contribution. It reads state
 * only and holds none: registered transient, a new one per sim.check().
 */
@injectable()
export class DebugVm implements InvariantCheck {
  readonly name = 'debug_vm';

  constructor(
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    @inject(SLAB_ALLOCATOR) private readonly slab: SlabAllocator,
    @inject(RECLAIM_POLICY) private readonly reclaim: ReclaimPolicy,
    @inject(OOM_SCORER) private readonly oom: OomScorer,
    @inject(OOM_KILLER) private readonly oomKiller: OomKiller,
    @inject(TASKS) private readonly tasks: TaskTable,
    @inject(TOPOLOGY) private readonly topology: Topology,
  ) {}

  check(): void {
    this.run();
  }

  /**
   * Checks every cross-point invariant and throws ECORRUPT naming the pfn
   * (or zone, node, cache) and what is wrong; returns the counts. Reads
   * state only; never changes it.
   */
  run(): VmCheckReport {
    const m = this.memory;
    const t = m.pages;
    const topo = this.topology;
    checkPageTableArrays(t);
    const memmapSlots = checkMemmap(m);
    checkPresentRanges(m, topo);
    const cs: PageCensus = {
      m, pa: this.pages, t, maxOrder: this.pages.maxOrder, flagMode: freeBlocksFlagged(t, topo), cover: new Uint8Array(t.size),
      byOwner: new Float64Array(256), lruByNode: new Map(), slabPagesByCache: new Map(), slabPagesNoCache: 0, kmallocLargePages: 0,
    };
    const report: VmCheckReport = { mode: cs.flagMode ? 'flags' : 'opaque', present: 0, reserved: 0, free: 0, pcp: 0, allocated: 0, byOwner: {}, lru: 0, memmapSlots };
    for (const z of topo.zones) checkZone(cs, z, report);
    checkHoles(cs);
    checkLru(cs, topo, this.reclaim);
    checkSlabCensus(cs, this.slab);
    cs.byOwner.forEach((n, kind) => {
      if (n) report.byOwner[PageOwner[kind] ?? String(kind)] = n;
    });
    checkOomScores(this.tasks, this.oom, this.oomKiller);
    return report;
  }
}

/** Runs the debug_vm checks on a simulator (what sim.check() runs after the points' own checks) and returns the counts. */
export function checkVm(sim: Simulator): VmCheckReport {
  return new DebugVm(sim.memory, sim.pages, sim.slab, sim.reclaim, sim.oom, sim.oomKiller, sim.tasks, sim.topology).run();
}
