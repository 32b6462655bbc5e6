/**
 * SPARSEMEM (mm/sparse.c, include/linux/mmzone.h): the physical address
 * space is cut into sections of 2^SECTION_SIZE_BITS bytes (128 MiB on
 * x86_64); the mem_section array says for each whether it is present and
 * where its mem_map is, and only present sections have one. pfn_to_page is
 * pfn → section → that section's map. A boot ("early") section is valid over
 * its whole span, holes included (pfn_valid); sections between present ones
 * cost nothing. Sections can be offlined, onlined and hot-added
 * (mm/memory_hotplug.c).
 * @module
 */
import {
  type Lazy, lazy, MEMORY_HOTPLUG, type MemoryHotplug, type MemoryModel, type MemorySection, MmsimError, PageFrameTable, PageOwner,
  PAGE_SHIFT, PAGE_SIZE, type PfnRange, PG_nopage, PG_offline, PG_reserved, STRUCT_PAGE_SIZE, TOPOLOGY, type Topology,
  type Zone, type ZoneType, inject, injectable, initUnavailableRange,
} from '@mmsim/core';
import { SPARSEMEM_OPTIONS } from './options.js';

/** Options of the sparsemem plugin. */
export interface SparsememOptions {
  /** SECTION_SIZE_BITS: 27 (128 MiB) on x86_64, 27 on arm64 with 4K/16K pages, 29 with 64K pages. */
  sectionSizeBits: number;
  /** SPARSEMEM_VMEMMAP: each section's memmap is mapped with PMD-sized (2 MiB) pages, so it is allocated in 2 MiB units. */
  vmemmap: boolean;
  /**
   * Where the simulator keeps a section's struct page slots: 'linear' (pfn
   * order, as vmemmap lays them out) or 'interleaved' (the slots of the same
   * offset in each MAX_ORDER block side by side, so the block heads the buddy
   * allocator writes at boot share memory pages: a huge machine boots touching
   * a fraction of the table, at the price of a larger stride when scanning
   * pfns), or 'auto' (the default: interleaved from 64 GiB of RAM). Only the
   * simulator's memory use and speed change, never a result.
   */
  slotLayout: 'linear' | 'interleaved' | 'auto';
}

/** MAX_PHYSMEM_BITS on x86_64 with 4-level paging. */
export const MAX_PHYSMEM_BITS = 46;
/** PMD_SIZE: the vmemmap mapping unit. */
const PMD_SIZE = 2 * 1024 * 1024;

/** MAX_ORDER_NR_PAGES and its log2 (the interleaved slot layout's row length). */
const MAX_ORDER_SHIFT = 10;
const MAX_ORDER_NR_PAGES = 1 << MAX_ORDER_SHIFT;

/** slotLayout 'auto' interleaves from this many present pages (64 GiB). */
const AUTO_INTERLEAVE_PAGES = (64 * 2 ** 30) / 4096;

const ABSENT = 0;
const OFFLINE = 1;
const ONLINE = 2;
const STATE_NAMES = ['absent', 'offline', 'online'] as const;

@injectable()
export class SparseMem implements MemoryModel {
  readonly name = 'sparsemem';
  readonly supportsHotplug = true;
  readonly pages: PageFrameTable;
  readonly minPfn = 0;
  readonly sectionSizeBits: number;
  /** PAGES_PER_SECTION */
  readonly pagesPerSection: number;
  private readonly shift: number;
  private readonly mask: number;
  /** slotLayout 'interleaved': log2 of the MAX_ORDER blocks per section (0 = linear). */
  private readonly cols: number;
  /** mem_section[nr]: first slot of the section's map, -1 when absent. */
  private sectionBase: Int32Array;
  /** Section state (absent / offline / online). */
  private sectionState: Uint8Array;
  /** Node of each section. */
  private sectionNid: Int16Array;
  /** Present (RAM) pages of each section. */
  private sectionPresent: Int32Array;
  /** Section number of each block of PAGES_PER_SECTION slots (page_to_pfn). */
  private slotSection: Int32Array;
  private nrPresent = 0;
  /** The slot layout in use ('auto' resolved). */
  get slotLayout(): 'linear' | 'interleaved' {
    return this.cols ? 'interleaved' : 'linear';
  }
  private highestSection = -1;

  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    // lazily: the hotplug service works on the memory model this constructs
    @inject(lazy(MEMORY_HOTPLUG)) private readonly hotplug: Lazy<MemoryHotplug>,
    @inject(SPARSEMEM_OPTIONS) private readonly options: SparsememOptions,
  ) {
    const bits = options.sectionSizeBits;
    this.sectionSizeBits = bits;
    this.shift = bits - PAGE_SHIFT;
    this.pagesPerSection = 2 ** this.shift;
    this.mask = this.pagesPerSection - 1;
    const big = topology.totalPresentPages >= AUTO_INTERLEAVE_PAGES;
    this.cols = options.slotLayout === 'interleaved' || (options.slotLayout === 'auto' && big) ? this.shift - MAX_ORDER_SHIFT : 0;
    // sparse_init(): memory_present() for every RAM range
    const ranges = topology.nodes.flatMap((n) => n.ranges.map((r) => ({ ...r, nid: n.nid }))).sort((a, b) => a.start - b.start);
    const lastPfn = ranges[ranges.length - 1]!.end;
    const nrSections = this.sectionsFor(lastPfn);
    this.sectionBase = new Int32Array(nrSections).fill(-1);
    this.sectionState = new Uint8Array(nrSections);
    this.sectionNid = new Int16Array(nrSections).fill(-1);
    this.sectionPresent = new Int32Array(nrSections);
    for (const r of ranges) {
      for (let nr = Math.floor(r.start / this.pagesPerSection); nr * this.pagesPerSection < r.end; nr++) {
        if (this.sectionState[nr] === ABSENT) {
          this.sectionState[nr] = ONLINE;
          this.sectionNid[nr] = r.nid;
          this.nrPresent++;
        }
        const s = Math.max(r.start, nr * this.pagesPerSection);
        const e = Math.min(r.end, (nr + 1) * this.pagesPerSection);
        this.sectionPresent[nr]! += e - s;
      }
    }
    // a mem_map for each present section, in section order
    this.slotSection = new Int32Array(this.nrPresent);
    let slot = 0;
    for (let nr = 0; nr < nrSections; nr++) {
      if (this.sectionState[nr] === ABSENT) continue;
      this.sectionBase[nr] = slot;
      this.slotSection[slot >> this.shift] = nr;
      slot += this.pagesPerSection;
      this.highestSection = nr;
    }
    this.pages = new PageFrameTable(slot);
    // init_unavailable_range(): the holes inside present sections have reserved struct pages; absent sections have none
    initUnavailableRange(this.pages, 0, nrSections * this.pagesPerSection, ranges, (pfn) => {
      const base = this.sectionBase[Math.floor(pfn / this.pagesPerSection)]!;
      return base < 0 ? -1 : base + this.slotOffset(pfn & this.mask);
    }, (pfn) => (Math.floor(pfn / this.pagesPerSection) + 1) * this.pagesPerSection);
  }

  /** Entries of mem_section[] needed to cover pfns below `endPfn` (at least the 2^31 pfns the fast path indexes). */
  private sectionsFor(endPfn: number): number {
    return Math.max(Math.ceil(endPfn / this.pagesPerSection), Math.ceil(2 ** 31 / this.pagesPerSection));
  }

  /** One past the last pfn of the highest present section. */
  get maxPfn(): number {
    return (this.highestSection + 1) * this.pagesPerSection;
  }

  /** pfn_valid(): the pfn's section has a mem_map (valid_section; boot sections are valid over their whole span). */
  pfnValid(pfn: number): boolean {
    return this.pfnToPage(pfn) >= 0;
  }
  /** Slot of a section offset within the section's map (identity when linear). */
  private slotOffset(off: number): number {
    const c = this.cols;
    return c === 0 ? off : ((off & (MAX_ORDER_NR_PAGES - 1)) << c) | (off >> MAX_ORDER_SHIFT);
  }
  /** __pfn_to_page(): section → its map. */
  pfnToPage(pfn: number): number {
    if (pfn >= 0 && pfn < 0x80000000) {
      const base = this.sectionBase[pfn >> this.shift]!;
      if (base < 0) return -1;
      const off = pfn & this.mask;
      const c = this.cols;
      return base + (c === 0 ? off : ((off & (MAX_ORDER_NR_PAGES - 1)) << c) | (off >> MAX_ORDER_SHIFT));
    }
    if (!Number.isInteger(pfn) || pfn < 0) return -1;
    const base = this.sectionBase[Math.floor(pfn / this.pagesPerSection)];
    return base === undefined || base < 0 ? -1 : base + this.slotOffset(pfn % this.pagesPerSection);
  }
  /** __page_to_pfn(): the slot's section number (page_to_section) → pfn. */
  pageToPfn(page: number): number {
    if (!(page >= 0 && page < this.pages.size)) return -1;
    const rel = page & this.mask;
    const c = this.cols;
    const off = c === 0 ? rel : ((rel & ((1 << c) - 1)) << MAX_ORDER_SHIFT) | (rel >> c);
    return this.slotSection[page >> this.shift]! * this.pagesPerSection + off;
  }
  /** pfn_to_online_page(): -1 when the section is offline. */
  pfnToOnlinePage(pfn: number): number {
    const p = this.pfnToPage(pfn);
    return p >= 0 && this.sectionState[this.nrOf(pfn)] === ONLINE ? p : -1;
  }
  private nrOf(pfn: number): number {
    return Math.floor(pfn / this.pagesPerSection);
  }

  /** RAM ranges of online sections. */
  presentRanges(): readonly PfnRange[] {
    return this.topology.nodes.flatMap((n) => n.ranges).sort((a, b) => a.start - b.start);
  }
  /** section_map_size() per present section: PAGES_PER_SECTION struct pages, in 2 MiB units with vmemmap. */
  sectionMapSize(): number {
    const bytes = this.pagesPerSection * STRUCT_PAGE_SIZE;
    return this.options.vmemmap ? Math.ceil(bytes / PMD_SIZE) * PMD_SIZE : Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
  }
  /** sparse_init_nid(): a map for every present section. */
  memmapBytes(): number {
    return this.nrPresent * this.sectionMapSize();
  }
  /** The struct pages of holes inside present sections (and vmemmap rounding). */
  memmapHoleBytes(): number {
    let present = 0;
    for (let nr = 0; nr <= this.highestSection; nr++) if (this.sectionState[nr] !== ABSENT) present += this.sectionPresent[nr]!;
    return this.memmapBytes() - present * STRUCT_PAGE_SIZE;
  }
  /** calc_memmap_size() with SPARSEMEM: present pages' struct pages when the zone has large holes, else spanned. */
  memmapPages(zone: Zone): number {
    const pages = zone.spannedPages > zone.presentPages + (zone.presentPages >> 4) ? zone.presentPages : zone.spannedPages;
    return Math.ceil((pages * STRUCT_PAGE_SIZE) / PAGE_SIZE);
  }

  section(nr: number): MemorySection {
    if (!Number.isInteger(nr) || nr < 0 || nr >= 2 ** (MAX_PHYSMEM_BITS - this.sectionSizeBits)) {
      throw new MmsimError('EINVAL', `section ${nr} is outside 0..${2 ** (MAX_PHYSMEM_BITS - this.sectionSizeBits) - 1} (MAX_PHYSMEM_BITS ${MAX_PHYSMEM_BITS})`, { plugin: this.name, details: { section: nr } });
    }
    const st = nr < this.sectionState.length ? this.sectionState[nr]! : ABSENT;
    return {
      nr, startPfn: nr * this.pagesPerSection, nrPages: this.pagesPerSection, state: STATE_NAMES[st]!,
      nid: st === ABSENT ? -1 : this.sectionNid[nr]!, presentPages: st === ABSENT ? 0 : this.sectionPresent[nr]!,
    };
  }
  /** Sections 0..highest present, as /sys/devices/system/memory lists memory blocks. */
  sections(): MemorySection[] {
    const out: MemorySection[] = [];
    for (let nr = 0; nr <= this.highestSection; nr++) out.push(this.section(nr));
    return out;
  }

  private hotplugError(nr: number, why: string): never {
    throw new MmsimError('EHOTPLUG', `section ${nr}: ${why}`, { plugin: this.name, details: { section: nr } });
  }

  /** offline_pages() over the section: every movable page migrates out, or nothing changes. */
  offlineSection(nr: number): void {
    const s = this.section(nr);
    if (s.state !== 'online') this.hotplugError(nr, `is ${s.state}, not online`);
    this.hotplug().offlinePages(s.startPfn, s.startPfn + s.nrPages);
    this.sectionState[nr] = OFFLINE;
  }

  /** online_pages() of the section into a zone of its node: Normal (a kernel zone) or Movable. */
  onlineSection(nr: number, zone: ZoneType | `${ZoneType}`): void {
    const s = this.section(nr);
    if (s.state !== 'offline') this.hotplugError(nr, `is ${s.state}, not offline`);
    const end = s.startPfn + s.nrPages;
    const hp = this.hotplug();
    const z = hp.zoneForPfnRange(s.nid, s.startPfn, end, zone);
    // the section's RAM: pages offlining (or hot-add) marked PG_offline
    const t = this.pages;
    const base = this.sectionBase[nr]!;
    for (let i = 0; i < this.pagesPerSection; i++) {
      const p = base + i;
      if (t.flags[p]! & PG_nopage) continue;
      t.flags[p] = 0;
      t.ownerKind[p] = PageOwner.NONE;
      t.refcount[p] = 0;
    }
    hp.onlinePages(s.startPfn, end, z, hp.presentRangesIn(s.startPfn, end));
    this.sectionState[nr] = ONLINE;
  }

  /**
   * add_memory() → sparse_add_section(): a mem_map for a new, fully
   * populated section on node `nid`, offline until onlined.
   */
  addSection(nr: number, nid: number): void {
    const s = this.section(nr);
    if (s.state !== 'absent') this.hotplugError(nr, `is already present (${s.state})`);
    if (!this.topology.nodes[nid]) throw new MmsimError('EINVAL', `node ${nid} does not exist`, { plugin: this.name, details: { nid } });
    if (nr >= this.sectionBase.length) {
      const n = this.sectionsFor((nr + 1) * this.pagesPerSection);
      const grow = <T extends Int32Array | Uint8Array | Int16Array>(a: T, fill: number): T => {
        const b = new (a.constructor as new (n: number) => T)(n);
        b.fill(fill);
        b.set(a);
        return b;
      };
      this.sectionBase = grow(this.sectionBase, -1);
      this.sectionState = grow(this.sectionState, ABSENT);
      this.sectionNid = grow(this.sectionNid, -1);
      this.sectionPresent = grow(this.sectionPresent, 0);
    }
    const t = this.pages;
    const base = t.size;
    t.grow(base + this.pagesPerSection);
    const slots = new Int32Array(this.slotSection.length + 1);
    slots.set(this.slotSection);
    slots[this.slotSection.length] = nr;
    this.slotSection = slots;
    for (let p = base; p < base + this.pagesPerSection; p++) {
      t.flags[p] = PG_reserved | PG_offline;
      t.ownerKind[p] = PageOwner.RESERVED;
    }
    this.sectionBase[nr] = base;
    this.sectionState[nr] = OFFLINE;
    this.sectionNid[nr] = nid;
    this.sectionPresent[nr] = this.pagesPerSection;
    this.nrPresent++;
    if (nr > this.highestSection) this.highestSection = nr;
  }

  /** Section table consistency (CONFIG_DEBUG_VM). */
  check(): void {
    let slots = 0;
    for (let nr = 0; nr < this.sectionBase.length; nr++) {
      const b = this.sectionBase[nr]!;
      if ((b >= 0) !== (this.sectionState[nr] !== ABSENT)) throw new MmsimError('ECORRUPT', `section ${nr}: map ${b} but state ${STATE_NAMES[this.sectionState[nr]!]}`, { plugin: this.name });
      if (b < 0) continue;
      if (this.slotSection[b >> this.shift] !== nr) throw new MmsimError('ECORRUPT', `section ${nr}: slot ${b} maps back to section ${this.slotSection[b >> this.shift]}`, { plugin: this.name });
      slots += this.pagesPerSection;
    }
    if (slots !== this.pages.size) throw new MmsimError('ECORRUPT', `sections map ${slots} struct pages, the table has ${this.pages.size}`, { plugin: this.name });
  }
}
