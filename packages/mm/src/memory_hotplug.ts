/**
 * Memory hotplug (mm/memory_hotplug.c): onlining a range of pages into a
 * zone (online_pages, move_pfn_range_to_zone) and offlining one
 * (offline_pages: isolate, migrate every movable page out, take the free
 * pages off the free lists, shrink the zone). The memory model decides what
 * a section is; this is the zone and allocator side, shared by every model
 * that supports hotplug.
 * @module
 */
import {
  GFP_HIGHUSER_MOVABLE, inject, injectable, type MemNode, MEMORY_MODEL, type MemoryHotplug, type MemoryModel, MmsimError,
  PAGE_ALLOCATOR, PAGE_OWNERS, type PageAllocator, PageOwner, type PageOwners, type PfnRange, PG_buddy, PG_lru, PG_nopage, PG_offline,
  PG_pcp, PG_reserved, PG_slab, TOPOLOGY, type Topology, type Zone, ZoneType, __GFP_NOWARN,
} from '@mmsim/core';

/** Present (RAM-backed) pfn ranges of [start, end), as the page table marks them (holes carry PG_nopage). */
function presentRanges(m: MemoryModel, start: number, end: number): PfnRange[] {
  const t = m.pages;
  const out: PfnRange[] = [];
  let run = -1;
  for (let pfn = start; pfn < end; pfn++) {
    const slot = m.pfnToPage(pfn);
    const ram = slot >= 0 && !(t.flags[slot]! & PG_nopage);
    if (ram && run < 0) run = pfn;
    if (!ram && run >= 0) {
      out.push({ start: run, end: pfn });
      run = -1;
    }
  }
  if (run >= 0) out.push({ start: run, end });
  return out;
}

function addRanges(list: PfnRange[], add: readonly PfnRange[]): void {
  list.push(...add.map((r) => ({ ...r })));
  list.sort((a, b) => a.start - b.start);
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.start <= list[i - 1]!.end) {
      list[i - 1]!.end = Math.max(list[i - 1]!.end, list[i]!.end);
      list.splice(i--, 1);
    }
  }
}

function removeRange(list: PfnRange[], start: number, end: number): void {
  const out: PfnRange[] = [];
  for (const r of list) {
    if (r.end <= start || r.start >= end) out.push(r);
    else {
      if (r.start < start) out.push({ start: r.start, end: start });
      if (r.end > end) out.push({ start: end, end: r.end });
    }
  }
  list.splice(0, list.length, ...out);
}

/** MEMORY_HOTPLUG of @mmsim/mm: the zone and allocator side of onlining and offlining, for memory models that hotplug. */
@injectable()
export class Hotplug implements MemoryHotplug {
  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    @inject(PAGE_OWNERS) private readonly owners: PageOwners,
  ) {}

  /** Present (RAM-backed) pfn ranges of [start, end), as the page table marks them (holes carry PG_nopage). */
  presentRangesIn(start: number, end: number): PfnRange[] {
    return presentRanges(this.memory, start, end);
  }

  private nodeOf(nid: number): MemNode {
    const n = this.topology.nodes[nid];
    if (!n) throw new MmsimError('EINVAL', `node ${nid} does not exist`, { details: { nid } });
    return n;
  }

  /** Tells the allocator a zone's span moved. */
  private setSpan(z: Zone, start: number, end: number): void {
    const oldStart = z.zoneStartPfn;
    const oldEnd = z.zoneEndPfn;
    if (end <= start) {
      z.zoneStartPfn = 0;
      z.spannedPages = 0;
    } else {
      z.zoneStartPfn = start;
      z.spannedPages = end - start;
    }
    if (oldStart !== z.zoneStartPfn || oldEnd !== z.zoneEndPfn) this.pages.zoneSpanChanged?.(z, oldStart, oldEnd);
  }

  /** init_per_zone_wmark_min() after managed pages changed, when the allocator has it. */
  private recomputeWatermarks(): void {
    const p = this.pages as { initPerZoneWmarkMin?: () => void; setupPerZoneWmarks?: () => void };
    if (p.initPerZoneWmarkMin) p.initPerZoneWmarkMin();
    else p.setupPerZoneWmarks?.();
  }

  /**
   * zone_for_pfn_range(): the zone onlining [start, end) as `type` lands in.
   * A kernel type (DMA, DMA32, Normal) picks the kernel zone already spanning
   * the range (default_kernel_zone_for_pfn), else Normal; Movable is Movable.
   * Zones here may not overlap, so the choice must keep spans apart.
   */
  zoneForPfnRange(nid: number, start: number, end: number, type: ZoneType | `${ZoneType}`): Zone {
    const node = this.nodeOf(nid);
    const byType = (t: ZoneType) => node.zones.find((z) => z.type === t);
    let zone: Zone | undefined;
    if (type === ZoneType.MOVABLE) zone = byType(ZoneType.MOVABLE);
    else if (type === ZoneType.DMA || type === ZoneType.DMA32 || type === ZoneType.NORMAL) {
      zone = node.zones.find((z) => z.type !== ZoneType.MOVABLE && z.spannedPages && z.zoneStartPfn <= start && z.zoneEndPfn >= end) ?? byType(ZoneType.NORMAL);
    }
    if (!zone) throw new MmsimError('EHOTPLUG', `cannot online memory into zone ${type}: use Normal or Movable`, { details: { zone: type } });
    const newStart = zone.spannedPages ? Math.min(zone.zoneStartPfn, start) : start;
    const newEnd = zone.spannedPages ? Math.max(zone.zoneEndPfn, end) : end;
    for (const other of node.zones) {
      if (other === zone || !other.spannedPages) continue;
      if (other.zoneStartPfn < newEnd && other.zoneEndPfn > newStart) {
        throw new MmsimError('EHOTPLUG', `onlining pfns 0x${start.toString(16)}-0x${(end - 1).toString(16)} into ${zone.name} would make it overlap ${other.name} (0x${other.zoneStartPfn.toString(16)}-0x${(other.zoneEndPfn - 1).toString(16)}); online sections in address order, Movable above Normal`, { details: { zone: zone.name, other: other.name } });
      }
    }
    return zone;
  }

  /**
   * online_pages(): grows `zone` over [start, end), accounts the range's
   * present pages to the zone and node and frees them into the allocator.
   * The memory model has already made the pages' struct pages ready (no
   * PG_offline / PG_reserved on RAM pages).
   */
  onlinePages(start: number, end: number, zone: Zone, present: readonly PfnRange[]): void {
    const pages = this.pages;
    if (!pages.onlineRange) throw new MmsimError('EHOTPLUG', `page allocator '${pages.name}' cannot online memory (no onlineRange)`, { plugin: pages.name });
    const wasPopulated = zone.populated;
    const nr = present.reduce((s, r) => s + r.end - r.start, 0);
    // move_pfn_range_to_zone(): resize_zone_range + resize_pgdat_range
    this.setSpan(zone, zone.spannedPages ? Math.min(zone.zoneStartPfn, start) : start, zone.spannedPages ? Math.max(zone.zoneEndPfn, end) : end);
    addRanges(zone.ranges, present);
    zone.presentPages += nr;
    zone.managedPages += nr; // adjust_managed_page_count()
    const node = this.nodeOf(zone.nid);
    addRanges(node.ranges, present);
    this.topology.refreshSpans();
    pages.onlineRange(start, end - start);
    if (!wasPopulated) this.topology.rebuildZonelists(); // build_all_zonelists(): a zone gained its first pages
    this.recomputeWatermarks();
  }

  /** Why the block at `slot` cannot be migrated (has_unmovable_pages), for the error. */
  private unmovableReason(slot: number): string {
    const t = this.memory.pages;
    const f = t.flags[slot]!;
    if (f & PG_offline) return 'is offline';
    if (f & PG_reserved) return `is reserved (${PageOwner[t.ownerKind[slot]!] ?? 'firmware'})`;
    if (f & PG_slab) return 'is a slab page (unmovable)';
    if (t.refcount[slot]! > 1) return `is pinned (refcount ${t.refcount[slot]})`;
    return `belongs to ${PageOwner[t.ownerKind[slot]!] ?? 'an owner'} that cannot move it${f & PG_lru ? '' : ' (unmovable)'}`;
  }

  /**
   * offline_pages(): [start, end) must lie in one zone. Every allocated block
   * must be movable (an owner of its kind migrates it); otherwise EHOTPLUG
   * and nothing changes. The range is isolated, each block migrated to
   * memory outside it (its owners told the new pfn), the now-free range taken
   * off the free lists, and the zone and node shrunk. Returns the pages
   * offlined.
   */
  offlinePages(start: number, end: number): number {
    const m = this.memory;
    const t = m.pages;
    const pages = this.pages;
    if (!pages.isolateRange || !pages.undoIsolateRange || !pages.offlineRange) {
      throw new MmsimError('EHOTPLUG', `page allocator '${pages.name}' cannot offline memory (no isolateRange/offlineRange)`, { plugin: pages.name });
    }
    const present = presentRanges(m, start, end);
    const nr = present.reduce((s, r) => s + r.end - r.start, 0);
    // test_pages_in_a_zone()
    const zones = new Set<Zone>();
    for (const r of present) {
      const z1 = this.topology.pfnZone(r.start);
      const z2 = this.topology.pfnZone(r.end - 1);
      if (!z1 || !z2) throw new MmsimError('EHOTPLUG', `pfn 0x${r.start.toString(16)} is in no zone: the range is not online`);
      zones.add(z1).add(z2);
    }
    if (zones.size > 1) throw new MmsimError('EHOTPLUG', `pfns 0x${start.toString(16)}-0x${(end - 1).toString(16)} span zones ${[...zones].map((z) => z.name).join(' and ')}: a range offlines from one zone only`);
    const zone = [...zones][0];
    // scan_movable_pages() / has_unmovable_pages(), before anything changes (a page on a per-CPU list is free: isolateRange drains it)
    const movable: [number, number][] = [];
    for (const r of present) {
      for (let pfn = r.start; pfn < r.end;) {
        const slot = m.pfnToPage(pfn);
        const f = t.flags[slot]!;
        if (f & (PG_buddy | PG_pcp)) {
          pfn += 1 << t.private[slot]!;
          continue;
        }
        if (t.refcount[slot]! > 0 && !(f & PG_reserved) && this.owners.isMovable(pfn)) {
          const order = t.private[slot]!;
          movable.push([pfn, order]);
          pfn += 1 << order;
          continue;
        }
        throw new MmsimError('EHOTPLUG', `cannot offline pfns 0x${start.toString(16)}-0x${(end - 1).toString(16)}: pfn 0x${pfn.toString(16)} ${this.unmovableReason(slot)}`, { details: { pfn } });
      }
    }
    if (!zone) return 0;
    pages.isolateRange(start, end - start);
    // alloc_migration_target(): every destination first, so a failure changes nothing
    const dst: number[] = [];
    for (const [, order] of movable) {
      const d = pages.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, order, { nid: zone.nid });
      if (d === null) {
        for (let i = 0; i < dst.length; i++) pages.freePages(dst[i]!, movable[i]![1]);
        pages.undoIsolateRange(start, end - start);
        throw new MmsimError('EHOTPLUG', `cannot offline pfns 0x${start.toString(16)}-0x${(end - 1).toString(16)}: no free memory outside the range to migrate ${movable.length} blocks to`, { details: { blocks: movable.length } });
      }
      dst.push(d);
    }
    movable.forEach(([src, order], i) => {
      this.owners.migratePage(src, dst[i]!);
      pages.freePages(src, order);
    });
    const taken = pages.offlineRange(start, end - start);
    if (taken !== nr) throw new MmsimError('ECORRUPT', `offline: took ${taken} free pages off the lists, the range has ${nr} present pages`);
    for (const r of present) {
      for (let pfn = r.start; pfn < r.end; pfn++) {
        const slot = m.pfnToPage(pfn);
        t.flags[slot] = PG_reserved | PG_offline;
        t.ownerKind[slot] = PageOwner.RESERVED;
        t.owner[slot] = 0;
        t.private[slot] = 0;
      }
    }
    zone.presentPages -= nr;
    zone.managedPages -= nr;
    for (const r of present) removeRange(zone.ranges, r.start, r.end);
    // shrink_zone_span(): a span that started or ended in the range now starts/ends at the zone's outermost remaining pages
    if (!zone.ranges.length) this.setSpan(zone, 0, 0);
    else {
      let zs = zone.zoneStartPfn;
      let ze = zone.zoneEndPfn;
      if (zs >= start && zs < end) zs = zone.ranges[0]!.start;
      if (ze > start && ze <= end) ze = zone.ranges[zone.ranges.length - 1]!.end;
      this.setSpan(zone, zs, ze);
    }
    const node = this.nodeOf(zone.nid);
    for (const r of present) removeRange(node.ranges, r.start, r.end);
    this.topology.refreshSpans();
    if (!zone.populated) this.topology.rebuildZonelists();
    this.recomputeWatermarks();
    return nr;
  }
}
