/**
 * Swap devices and slots (mm/swapfile.c): swapon / swapoff, priorities,
 * slot allocation, the per-slot holder counts (swap_map) and /proc/swaps;
 * the swap cache's bookkeeping is swap_state.ts's, the device I/O
 * page_io.ts's.
 *
 * Swap entries are dense small integers so that a PTE can hold one (the
 * page tables store −(2 + entry)): each device gets a range of entry
 * numbers [base, base + maxpages) when it is switched on — the lowest gap
 * among the devices that are on — and entry = base + offset, offset 0
 * being the header page, never handed out (so entry 0 is never valid
 * either). swp_type() is {@link SwapFile.swapType}; swp_offset() is entry −
 * base.
 *
 * Slots are allocated next-fit from the device's cluster_next, between
 * lowest_bit and highest_bit, as the kernel's scan_swap_map did for a
 * rotating disk before the cluster allocator (no per-CPU slot cache, no
 * clusters): deterministic, one slot at a time. The device with the
 * highest priority that has a free slot is used; devices of equal priority
 * take turns (plist_requeue on the avail list).
 * @module
 */
import {
  CLOCK, EBUSY, EINVAL, ENOMEM, EPERM, inject, injectable, type InvariantCheck, type Lazy, lazy, MEMORY_MODEL, type MemoryModel,
  MmsimError, PAGE_SIZE, PageOwner, PG_dirty, PG_swapcache, type ProcEntry, PROCESSES, type Processes, type SimClock, SWAP,
  type SwapDevice, type SwapSpace, VMSTAT, type VmStat,
} from '@mmsim/core';
import { BlockDevice } from './page_io.js';
import { SwapCacheIndex, type SwapCacheMigrator } from './swap_state.js';

/**
 * MAX_SWAPFILES of a 6.12 x86_64 distribution kernel: 2^MAX_SWAPFILES_SHIFT
 * (32) less the types kept for device-private (4), migration (3),
 * hwpoison (1) and PTE-marker (1) entries.
 */
export const MAX_SWAPFILES = 23;
/** swap_map bit: a swap-cache page holds the slot (SWAP_HAS_CACHE, 0x40 in the kernel's byte map). */
export const SWAP_HAS_CACHE = 0x8000;
/** Most holders one slot can count (the kernel chains continuation pages past SWAP_MAP_MAX; this map has room for 32767). */
export const SWAP_MAP_MAX = 0x7fff;
/** SWAP_FLAG_PRIO_MASK: the largest priority swapon(2) can ask for. */
export const SWAP_PRIO_MAX = 0x7fff;

/** swap_info_struct: one device. */
export class SwapInfo implements SwapDevice {
  /** swap_map: holders per slot (the count) | SWAP_HAS_CACHE; slot 0 is the header. */
  readonly map: Uint16Array;
  /** The swap-cache page of each slot: pfn + 1, 0 for none (the device's swap address space). */
  readonly cache: Int32Array;
  /** inuse_pages: slots with holders or a swap-cache page. */
  inuse = 0;
  lowestBit = 1;
  highestBit: number;
  clusterNext = 1;
  /** SWP_WRITEOK: on, and slots may be allocated from it (cleared during swapoff). */
  writeok = true;
  /** The device its pages are written to and read from. */
  readonly dev = new BlockDevice();

  constructor(
    readonly type: number,
    readonly name: string,
    public prio: number,
    /** Slots in the device, header included (swap_header last_page + 1). */
    readonly maxpages: number,
    /** The entry number of slot 0. */
    readonly base: number,
  ) {
    this.map = new Uint16Array(maxpages);
    this.cache = new Int32Array(maxpages);
    this.highestBit = maxpages - 1;
  }

  /** Usable slots (si->pages: all but the header). */
  get pages(): number {
    return this.maxpages - 1;
  }

  /** Free slots. */
  get free(): number {
    return this.pages - this.inuse;
  }
}

const pad = (s: string | number, w: number): string => String(s).padStart(w);

/** seq_file_path()'s mangling of " \t\n\\" in a path: an octal escape each. */
function mangle(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** SWAP of @mmsim/process: swap devices, slots and the swap cache. */
@injectable()
export class SwapFile implements SwapSpace, SwapCacheMigrator {
  /** swap_info[], by type; null for a type not in use. */
  readonly swapInfo: (SwapInfo | null)[] = [];
  /** swap_active_head: the devices that are on, in priority order (plist: equal priorities in the order they came). */
  private readonly active: SwapInfo[] = [];
  /** swap_avail_head: the devices that are on and have a free slot, in priority order; the one used goes behind its equals. */
  private readonly avail: SwapInfo[] = [];
  /** least_priority: the default priorities count down from −2. */
  private leastPriority = -1;
  /** pfn → entry of the swap-cache pages. */
  readonly swapCache = new SwapCacheIndex();
  /** The device the last entry lookup found (most lookups hit the same one). */
  private last: SwapInfo | null = null;

  constructor(
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(VMSTAT) private readonly vmstat: VmStat,
    @inject(CLOCK) private readonly clock: SimClock,
    @inject(lazy(PROCESSES)) private readonly processes: Lazy<Processes>,
  ) {}

  /** total_swap_pages: slots of the devices that are on. */
  get total(): number {
    let n = 0;
    for (const si of this.active) n += si.pages;
    return n;
  }

  /** nr_swap_pages: their free slots. */
  get free(): number {
    let n = 0;
    for (const si of this.active) n += si.free;
    return n;
  }

  // ---- swapon / swapoff ---------------------------------------------------------

  /**
   * swapon(2): alloc_swap_info (EPERM past MAX_SWAPFILES), claim_swapfile
   * (EBUSY: that file is on), read_swap_header (EINVAL: nothing beyond the
   * header), setup_swap_info (the priority) and enable_swap_info.
   */
  swapon(opts: { size: number; prio?: number; name?: string }): number {
    const size = opts?.size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new MmsimError('EBAD_SIZE', `swapon: size must be a whole number of bytes ≥ 0, not ${String(size)}`, { details: { size } });
    }
    const prio = opts.prio;
    if (prio !== undefined && !(Number.isInteger(prio) && prio >= 0 && prio <= SWAP_PRIO_MAX)) {
      throw new MmsimError('EINVAL', `swapon: priority must be an integer 0..${SWAP_PRIO_MAX} (or left out for the default), not ${String(prio)}`, { details: { prio } });
    }
    if (opts.name !== undefined && (typeof opts.name !== 'string' || opts.name.length === 0)) {
      throw new MmsimError('EINVAL', `swapon: name must be a non-empty path, not ${JSON.stringify(opts.name)}`);
    }
    // alloc_swap_info(): the first type not in use
    let type = this.swapInfo.indexOf(null);
    if (type < 0) type = this.swapInfo.length;
    if (type >= MAX_SWAPFILES) return -EPERM;
    const name = opts.name ?? this.defaultName();
    if (this.swapInfo.some((si) => si !== null && si.name === name)) return -EBUSY;
    const maxpages = Math.floor(size / PAGE_SIZE);
    if (maxpages <= 1) return -EINVAL; // "Empty swap-file"
    const si = new SwapInfo(type, name, 0, maxpages, this.entryBase(maxpages));
    this.swapInfo[type] = si;
    this.setupSwapInfo(si, prio ?? -1);
    this.enableSwapInfo(si);
    return type;
  }

  /**
   * swapoff(2): the device leaves the avail and active lists (lower default
   * priorities move up one, least_priority with them), try_to_unuse()
   * brings every slot back — PROCESSES.unuseSwap() for the PTEs, then the
   * swap-cache pages nobody holds (folio_free_swap: they leave the cache,
   * dirty) — and the device is gone. When memory ran out it goes back on
   * (reinsert_swap_info: a default priority is taken anew) and −ENOMEM is
   * returned. −EINVAL for a type that is not on.
   */
  swapoff(type: number): number {
    if (!Number.isInteger(type)) throw new MmsimError('EINVAL', `swapoff: type must be an integer, not ${String(type)}`, { details: { type } });
    const si = this.swapInfo[type];
    if (si === undefined || si === null || !si.writeok) return -EINVAL;
    this.delFromAvail(si);
    const at = this.active.indexOf(si);
    if (si.prio < 0) {
      for (let i = at + 1; i < this.active.length; i++) this.active[i]!.prio++;
      this.leastPriority++;
    }
    this.active.splice(at, 1);
    si.writeok = false;
    if (si.inuse > 0) this.tryToUnuse(si);
    if (si.inuse > 0) {
      this.setupSwapInfo(si, si.prio);
      si.writeok = true;
      this.enableSwapInfo(si);
      return -ENOMEM;
    }
    this.swapInfo[type] = null;
    if (this.last === si) this.last = null;
    // nr_swapfiles never shrinks; trailing free types are just unused slots
    return 0;
  }

  /** try_to_unuse(): the PTEs first, then the swap-cache pages whose slot has no holder left. */
  private tryToUnuse(si: SwapInfo): void {
    this.processes().unuseSwap(si.type);
    const t = this.memory.pages;
    for (let off = 1; off < si.maxpages && si.inuse > 0; off++) {
      const m = si.map[off]!;
      if (!(m & SWAP_HAS_CACHE) || m & SWAP_MAP_MAX) continue;
      const pfn = si.cache[off]! - 1;
      // folio_free_swap(): the page keeps the data, so it is dirty again
      this.deleteFromSwapCache(pfn);
      const page = this.memory.pfnToPage(pfn);
      t.flags[page]! |= PG_dirty;
    }
  }

  /** setup_swap_info(): the priority asked for, or the next default one (--least_priority); the device joins the active list. */
  private setupSwapInfo(si: SwapInfo, prio: number): void {
    si.prio = prio >= 0 ? prio : --this.leastPriority;
    plistAdd(this.active, si);
  }

  /** _enable_swap_info(): slots become allocatable. */
  private enableSwapInfo(si: SwapInfo): void {
    si.writeok = true;
    if (si.free > 0) plistAdd(this.avail, si);
  }

  private delFromAvail(si: SwapInfo): void {
    const i = this.avail.indexOf(si);
    if (i >= 0) this.avail.splice(i, 1);
  }

  /** '/swapfile0', '/swapfile1', ...: the first not on. */
  private defaultName(): string {
    for (let i = 0; ; i++) {
      const n = `/swapfile${i}`;
      if (!this.swapInfo.some((si) => si !== null && si.name === n)) return n;
    }
  }

  /** The lowest entry number from which `maxpages` are free of the other devices' ranges. */
  private entryBase(maxpages: number): number {
    const ranges = this.swapInfo.filter((si): si is SwapInfo => si !== null).sort((a, b) => a.base - b.base);
    let base = 0;
    for (const r of ranges) {
      if (r.base - base >= maxpages) break;
      base = Math.max(base, r.base + r.maxpages);
    }
    return base;
  }

  /** The devices that are on, in type order (/proc/swaps). */
  devices(): readonly SwapDevice[] {
    return this.swapInfo.filter((si): si is SwapInfo => si !== null && si.writeok);
  }

  // ---- entries and slots --------------------------------------------------------

  /** The device of a valid entry (EINVAL otherwise) — `op` names the caller in the error. */
  private resolve(entry: number, op: string): SwapInfo {
    const l = this.last;
    if (l !== null && entry >= l.base + 1 && entry < l.base + l.maxpages) return l;
    if (Number.isInteger(entry)) {
      for (const si of this.swapInfo) {
        if (si !== null && entry > si.base && entry < si.base + si.maxpages) return (this.last = si);
      }
    }
    throw new MmsimError('EINVAL', `${op}: bad swap entry ${String(entry)} (no device holds it)`, { details: { entry } });
  }

  swapType(entry: number): number {
    return this.resolve(entry, 'swp_type').type;
  }

  /**
   * get_swap_page(): the first device of the avail list (highest priority)
   * gives a slot — next-fit from its cluster_next — and goes behind the
   * devices of its priority; a full device leaves the list. The slot has
   * one holder (the caller's). −1 when no device has room.
   */
  getSwapPage(): number {
    const si = this.avail[0];
    if (si === undefined) return -1;
    const off = this.scanSwapMap(si);
    si.map[off] = 1;
    si.inuse++;
    if (si.free === 0) {
      // swap_range_alloc(): full, the bounds reset for when slots come back
      si.lowestBit = si.maxpages;
      si.highestBit = 0;
    }
    this.avail.shift();
    if (si.free > 0) plistAdd(this.avail, si);
    return si.base + off;
  }

  /** scan_swap_map_slots() without clusters: the next free slot from cluster_next, wrapping to lowest_bit. */
  private scanSwapMap(si: SwapInfo): number {
    const map = si.map;
    let off = Math.max(si.clusterNext, si.lowestBit);
    if (off > si.highestBit) off = si.lowestBit;
    for (let i = off; i <= si.highestBit; i++) {
      if (map[i] === 0) return this.took(si, i);
    }
    for (let i = si.lowestBit; i < off; i++) {
      if (map[i] === 0) return this.took(si, i);
    }
    throw new MmsimError('ECORRUPT', `swap device ${si.name}: ${si.free} slots free but none found between ${si.lowestBit} and ${si.highestBit}`);
  }

  private took(si: SwapInfo, off: number): number {
    if (off === si.lowestBit) si.lowestBit++;
    if (off === si.highestBit) si.highestBit--;
    si.clusterNext = off + 1;
    return off;
  }

  /** swap_range_free(): a slot with no holder and no cached page is free again. */
  private freeSlot(si: SwapInfo, off: number): void {
    si.map[off] = 0;
    si.inuse--;
    if (off < si.lowestBit) si.lowestBit = off;
    if (off > si.highestBit) si.highestBit = off;
    if (si.writeok && si.free === 1) plistAdd(this.avail, si); // add_to_avail_list()
  }

  swapDuplicate(entry: number): void {
    const si = this.resolve(entry, 'swap_duplicate');
    const off = entry - si.base;
    const m = si.map[off]!;
    if (m === 0) throw new MmsimError('EINVAL', `swap_duplicate: unused swap entry ${entry}`, { details: { entry } });
    if ((m & SWAP_MAP_MAX) === SWAP_MAP_MAX) throw new MmsimError('EINVAL', `swap_duplicate: entry ${entry} already has ${SWAP_MAP_MAX} holders`, { details: { entry } });
    si.map[off] = m + 1;
  }

  swapFree(entry: number): void {
    const si = this.resolve(entry, 'swap_free');
    const off = entry - si.base;
    const m = si.map[off]!;
    if ((m & SWAP_MAP_MAX) === 0) throw new MmsimError('EINVAL', `swap_free: unused swap offset entry ${entry}`, { details: { entry } });
    if (m - 1 === 0) this.freeSlot(si, off);
    else si.map[off] = m - 1;
  }

  swapCount(entry: number): number {
    const si = this.resolve(entry, 'swap_count');
    return si.map[entry - si.base]! & SWAP_MAP_MAX;
  }

  // ---- the swap cache (swap_state.c) --------------------------------------------

  lookupSwapCache(entry: number): number {
    const si = this.resolve(entry, 'lookup_swap_cache');
    return si.cache[entry - si.base]! - 1;
  }

  addToSwapCache(pfn: number, entry: number): void {
    const si = this.resolve(entry, 'add_to_swap_cache');
    const off = entry - si.base;
    const page = this.memory.pfnToPage(pfn);
    const t = this.memory.pages;
    if (page < 0 || t.refcount[page]! <= 0) throw new MmsimError('EBAD_PFN', `add_to_swap_cache: pfn ${pfn} is not an allocated page`, { details: { pfn } });
    const m = si.map[off]!;
    if (m === 0) throw new MmsimError('EINVAL', `add_to_swap_cache: entry ${entry} is not allocated`, { details: { entry } });
    if (m & SWAP_HAS_CACHE) throw new MmsimError('EINVAL', `add_to_swap_cache: entry ${entry} already has swap-cache page ${si.cache[off]! - 1}`, { details: { entry } });
    if (t.flags[page]! & PG_swapcache) throw new MmsimError('EINVAL', `add_to_swap_cache: pfn ${pfn} is already in the swap cache`, { details: { pfn } });
    si.map[off] = m | SWAP_HAS_CACHE;
    si.cache[off] = pfn + 1;
    t.flags[page]! |= PG_swapcache;
    this.swapCache.set(page, entry, t.size);
    this.vmstat.node.nr_swapcached = (this.vmstat.node.nr_swapcached ?? 0) + 1;
    this.vmstat.node.nr_file_pages = (this.vmstat.node.nr_file_pages ?? 0) + 1;
  }

  deleteFromSwapCache(pfn: number): void {
    const page = this.memory.pfnToPage(pfn);
    const entry = page < 0 ? -1 : this.swapCache.get(page);
    if (entry < 0) throw new MmsimError('EINVAL', `delete_from_swap_cache: pfn ${pfn} is not in the swap cache`, { details: { pfn } });
    const si = this.resolve(entry, 'delete_from_swap_cache');
    const off = entry - si.base;
    const t = this.memory.pages;
    t.flags[page]! &= ~PG_swapcache;
    this.swapCache.clear(page);
    si.cache[off] = 0;
    this.vmstat.node.nr_swapcached! -= 1;
    this.vmstat.node.nr_file_pages! -= 1;
    // put_swap_folio(): the cache's hold on the slot goes
    const m = si.map[off]! & ~SWAP_HAS_CACHE;
    if (m === 0) this.freeSlot(si, off);
    else si.map[off] = m;
  }

  pageSwapEntry(pfn: number): number {
    const page = this.memory.pfnToPage(pfn);
    return page < 0 ? -1 : this.swapCache.get(page);
  }

  migrateSwapCache(oldPfn: number, newPfn: number): void {
    const oldPage = this.memory.pfnToPage(oldPfn);
    const newPage = this.memory.pfnToPage(newPfn);
    const entry = this.swapCache.get(oldPage);
    if (entry < 0) return;
    const si = this.resolve(entry, 'migrate swap cache');
    si.cache[entry - si.base] = newPfn + 1;
    this.swapCache.clear(oldPage);
    this.swapCache.set(newPage, entry, this.memory.pages.size);
  }

  // ---- I/O (page_io.c) ----------------------------------------------------------

  /**
   * swap_writepage(): the page of `entry` is written to its device; the
   * caller waits for it (the clock moves by the device time). Counts
   * pswpout and pgpgout (KiB, as /proc/vmstat shows it).
   */
  writePage(entry: number): void {
    this.io(entry, true, 'swap_writepage');
  }

  /** swap_read_folio(): the page of `entry` is read from its device, synchronously. Counts pswpin and pgpgin. */
  readPage(entry: number): void {
    this.io(entry, false, 'swap_read_folio');
  }

  private io(entry: number, write: boolean, op: string): void {
    const si = this.resolve(entry, op);
    if (si.map[entry - si.base] === 0) throw new MmsimError('EINVAL', `${op}: entry ${entry} is not allocated`, { details: { entry } });
    const now = this.clock.now();
    const req = si.dev.submit(now, 1, write, []);
    this.clock.advance(req.done - now);
    const ev = this.vmstat.events;
    const kb = PAGE_SIZE / 1024;
    if (write) {
      ev.pswpout = (ev.pswpout ?? 0) + 1;
      ev.pgpgout = (ev.pgpgout ?? 0) + kb;
    } else {
      ev.pswpin = (ev.pswpin ?? 0) + 1;
      ev.pgpgin = (ev.pgpgin ?? 0) + kb;
    }
  }

  // ---- checks and views ---------------------------------------------------------

  /** Every slot count, cache entry and total agrees (CONFIG_DEBUG_VM style); throws ECORRUPT naming what is wrong. */
  check(): void {
    const t = this.memory.pages;
    const bad = (msg: string): never => {
      throw new MmsimError('ECORRUPT', `swap: ${msg}`);
    };
    let cached = 0;
    for (const si of this.swapInfo) {
      if (si === null) continue;
      let inuse = 0;
      if (si.map[0] !== 0) bad(`${si.name}: the header slot is in use`);
      for (let off = 1; off < si.maxpages; off++) {
        const m = si.map[off]!;
        if (m !== 0) inuse++;
        const c = si.cache[off]!;
        if (((m & SWAP_HAS_CACHE) !== 0) !== (c !== 0)) bad(`${si.name} slot ${off}: SWAP_HAS_CACHE ${m & SWAP_HAS_CACHE ? 'set' : 'clear'} but cache page ${c - 1}`);
        if (c === 0) continue;
        cached++;
        const page = this.memory.pfnToPage(c - 1);
        if (page < 0 || t.refcount[page]! <= 0) bad(`${si.name} slot ${off}: swap-cache pfn ${c - 1} is not allocated`);
        if (!(t.flags[page]! & PG_swapcache)) bad(`swap-cache pfn ${c - 1} lacks PG_swapcache`);
        if (t.ownerKind[page] !== PageOwner.ANON) bad(`swap-cache pfn ${c - 1} is owned by ${PageOwner[t.ownerKind[page]!]}, not ANON`);
        if (this.swapCache.get(page) !== si.base + off) bad(`swap-cache pfn ${c - 1} maps back to entry ${this.swapCache.get(page)}, not ${si.base + off}`);
      }
      if (inuse !== si.inuse) bad(`${si.name}: inuse_pages ${si.inuse} but ${inuse} slots are used`);
    }
    if (cached !== this.swapCache.count) bad(`${this.swapCache.count} pages marked in the swap cache, ${cached} found by entry`);
    if ((this.vmstat.node.nr_swapcached ?? 0) !== cached) bad(`nr_swapcached ${this.vmstat.node.nr_swapcached} but ${cached} swap-cache pages`);
    for (const si of this.avail) if (!si.writeok || si.free === 0 || !this.active.includes(si)) bad(`${si.name} is on the avail list without room`);
  }

  /** /proc/swaps (swap_show). */
  show(): string {
    return showSwaps(this.devices());
  }
}

/** plist_add() for a descending-priority list: behind every entry of the same or a higher priority. */
function plistAdd(list: SwapInfo[], si: SwapInfo): void {
  let i = 0;
  while (i < list.length && list[i]!.prio >= si.prio) i++;
  list.splice(i, 0, si);
}

/**
 * /proc/swaps (swap_show): the header, then per device the path padded to
 * 40 columns, 'file' or 'partition' (a /dev/ path), size and used in KiB
 * (an extra tab below 10000000) and the priority.
 */
export function showSwaps(devices: readonly SwapDevice[]): string {
  let out = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
  const kb = PAGE_SIZE / 1024;
  for (const d of devices) {
    const path = mangle(d.name);
    const bytes = d.pages * kb;
    const inuse = d.inuse * kb;
    const kind = d.name.startsWith('/dev/') ? 'partition' : 'file\t';
    out += `${path}${pad(' ', path.length < 40 ? 40 - path.length : 1)}${kind}\t${bytes}\t${bytes < 10000000 ? '\t' : ''}${inuse}\t${inuse < 10000000 ? '\t' : ''}${d.prio}\n`;
  }
  return out;
}

/** /proc/swaps */
@injectable()
export class SwapsProc implements ProcEntry {
  readonly name = 'swaps';
  constructor(@inject(SWAP) private readonly swap: SwapSpace) {}
  show(): string {
    return showSwaps(this.swap.devices());
  }
}

/** The swap map, swap cache and totals agree (sim.check()). */
@injectable()
export class SwapCheck implements InvariantCheck {
  readonly name = 'swap';
  constructor(@inject(SWAP) private readonly swap: SwapSpace) {}
  check(): void {
    (this.swap as Partial<SwapFile>).check?.();
  }
}
