/**
 * Faults and the page-table walks around them (mm/memory.c, mm/gup.c):
 * handle_mm_fault → handle_pte_fault with do_anonymous_page (the shared
 * zero page on a read, a GFP_HIGHUSER_MOVABLE page on a write),
 * do_wp_page (reuse of an exclusive anonymous page or copy-on-write),
 * do_swap_page (a major fault through SWAP), do_fault (file pages through
 * PAGE_CACHE: mapped read-only, copied on a private write, dirtied on a
 * shared one) and the shmem fault of shared anonymous mappings;
 * zap_pte_range (munmap, exit), copy_page_range (fork), change_protection
 * (mprotect), populate_vma_page_range (MAP_POPULATE) and the range access
 * the workloads use (`touch`), whose sequential path walks one PTE table
 * per 512 pages without allocating.
 *
 * Fault accounting follows mm_account_fault(): pgfault for every fault
 * handle_mm_fault saw, min_flt / maj_flt for the successful ones, pgmajfault
 * where the device was read. An access outside every VMA or against its
 * protection never reaches handle_mm_fault: it is the task's SIGSEGV.
 * @module
 */
import {
  __GFP_ZERO, GFP_HIGHUSER_MOVABLE, type MemoryModel, type PageAllocator, type PageCache, PageOwner, PG_anon, PG_referenced,
  PG_swapbacked, PG_swapcache, type ReclaimPolicy, type SwapSpace, VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, VM_GROWSDOWN, type VmStat,
} from '@mmsim/core';
import { expandStack, type MmStructImpl, PAGE_SIZE, type VmArea, type Caller } from './mmap.js';
import { type PgtableEnv, PMD_SIZE, PTE_ACCESSED, PTE_DIRTY, PTE_RW, PTE_ZERO, pteAlloc, type PteTable, pteToSwpEntry } from './pgtable.js';
import { type AnonVmaTable, anonVmaPrepare, type AnonVma, freeUserPage, pageAddNewAnonRmap, pageAddSharedRmap, pageRemoveRmap } from './rmap.js';
import type { OvercommitEnv } from './util.js';

/** What the process layer's mechanisms reach: the page allocator and frame table, counters, policies, swap and page cache. */
export interface MmEnv extends PgtableEnv, OvercommitEnv {
  readonly memory: MemoryModel;
  readonly pages: PageAllocator;
  readonly vmstat: VmStat;
  readonly anonVmas: AnonVmaTable;
  policy(): ReclaimPolicy;
  swap(): SwapSpace;
  pageCache(): PageCache;
}

/** The faulting task: who allocates (cpu, pid) and whose fault counters move. */
export interface FaultTask extends Caller {
  minFlt: number;
  majFlt: number;
}

/** handle_mm_fault() outcomes, as small integers for the hot path. */
export const F_NONE = 0;
export const F_MINOR = 1;
export const F_MAJOR = 2;
export const F_SIGSEGV = 3;
export const F_OOM = 4;
export const F_SIGBUS = 5;
export const FAULT_NAMES = ['none', 'minor', 'major', 'sigsegv', 'oom', 'sigbus'] as const;

const GFP_USER_PAGE = GFP_HIGHUSER_MOVABLE | __GFP_ZERO;

/** vma_alloc_zeroed_movable_folio(): a user page from the task's CPU (its node, its mempolicy). */
function allocUserPage(env: MmEnv, task: FaultTask): number | null {
  return env.pages.allocPages(GFP_USER_PAGE, 0, { cpu: task.cpu, pid: task.pid });
}

/**
 * lock_mm_and_find_vma() + access_error(): the VMA `addr` may be accessed
 * through (a stack below it grows to cover it), or undefined for a SIGSEGV.
 */
export function faultVma(env: MmEnv, mm: MmStructImpl, caller: Caller, addr: number, write: boolean): VmArea | undefined {
  const v = mm.findVma(addr);
  if (v === undefined) return undefined;
  if (v.start > addr && (!(v.flags & VM_GROWSDOWN) || !expandStack(env, mm, caller, v, addr))) return undefined;
  if (write ? !(v.flags & VM_WRITE) : !(v.flags & (VM_READ | VM_WRITE | VM_EXEC))) return undefined;
  return v;
}

/** count_vm_event() */
function countEvent(env: MmEnv, name: string, n = 1): void {
  const ev = env.vmstat.events;
  ev[name] = (ev[name] ?? 0) + n;
}

/**
 * handle_mm_fault() for the page at `addr` of `v` (access already
 * allowed): allocates the PTE table if needed, handles the PTE, and
 * accounts the fault. Returns an F_* code.
 */
export function handleMmFault(env: MmEnv, task: FaultTask, mm: MmStructImpl, v: VmArea, addr: number, write: boolean): number {
  const page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  const key = Math.floor(page / PMD_SIZE);
  const tab = mm.pt.ptes.get(key) ?? pteAlloc(env, mm.pt, mm.id, task.cpu, key);
  const r = tab === null ? F_OOM : handlePteFault(env, task, mm, v, tab, (page - key * PMD_SIZE) / PAGE_SIZE, page, write);
  accountFault(env, task, r, 1);
  return r;
}

/** mm_account_fault() for `n` faults of outcome `r`. */
function accountFault(env: MmEnv, task: FaultTask, r: number, n: number): void {
  countEvent(env, 'pgfault', n);
  if (r === F_MINOR) task.minFlt += n;
  else if (r === F_MAJOR) task.majFlt += n;
}

/** handle_pte_fault(): dispatch on what the PTE holds. */
export function handlePteFault(env: MmEnv, task: FaultTask, mm: MmStructImpl, v: VmArea, tab: PteTable, slot: number, addr: number, write: boolean): number {
  const e = tab.entry[slot]!;
  if (e === 0) {
    if (v.ino !== 0) return doFault(env, task, mm, v, tab, slot, addr, write);
    if (v.flags & VM_SHARED) return shmemFault(env, task, mm, v, tab, slot, addr, write);
    return doAnonymousPage(env, task, mm, v, tab, slot, addr, write);
  }
  if (e < PTE_ZERO) return doSwapPage(env, task, mm, v, tab, slot, addr, write, true);
  if (write && !(tab.bits[slot]! & PTE_RW)) return doWpPage(env, task, mm, v, tab, slot, addr);
  // a spurious fault: the PTE already allows the access
  tab.bits[slot] = tab.bits[slot]! | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
  return F_MINOR;
}

/** do_anonymous_page(): the zero page for a read, a new zeroed page for a write. */
function doAnonymousPage(env: MmEnv, task: FaultTask, mm: MmStructImpl, v: VmArea, tab: PteTable, slot: number, addr: number, write: boolean): number {
  if (!write) {
    tab.entry[slot] = PTE_ZERO;
    tab.bits[slot] = PTE_ACCESSED;
    return F_MINOR;
  }
  return mapNewAnonPage(env, task, mm, v, tab, slot, addr);
}

/** A new exclusive anonymous page at `addr` (do_anonymous_page's write half, wp_page_copy from the zero page, do_cow_fault). */
function mapNewAnonPage(env: MmEnv, task: FaultTask, mm: MmStructImpl, v: VmArea, tab: PteTable, slot: number, addr: number): number {
  const av = v.anonVma ?? anonVmaPrepare(env, v);
  const pfn = allocUserPage(env, task);
  if (pfn === null) return F_OOM;
  pageAddNewAnonRmap(env, pfn, env.memory.pfnToPage(pfn), av, addr / PAGE_SIZE);
  tab.entry[slot] = pfn + 1;
  tab.bits[slot] = PTE_RW | PTE_ACCESSED | PTE_DIRTY;
  mm.counters.anonRss++;
  return F_MINOR;
}

/**
 * do_wp_page(): a write to a present read-only PTE. A shared mapping gets
 * write access (a file page is dirtied: wp_page_shared); an anonymous page
 * only this PTE maps (and no swap entry still names) is reused; anything
 * else — the zero page, a page shared since fork, a file page of a private
 * mapping — is copied into a new anonymous page (wp_page_copy).
 */
function doWpPage(env: MmEnv, task: FaultTask, mm: MmStructImpl, v: VmArea, tab: PteTable, slot: number, addr: number): number {
  const e = tab.entry[slot]!;
  if (e === PTE_ZERO) return mapNewAnonPage(env, task, mm, v, tab, slot, addr);
  const pfn = e - 1;
  const m = env.memory;
  const page = m.pfnToPage(pfn);
  const t = m.pages;
  if (v.flags & VM_SHARED) {
    if (t.ownerKind[page] === PageOwner.PAGE_CACHE) env.pageCache().dirtyPage(pfn);
    tab.bits[slot] = tab.bits[slot]! | PTE_RW | PTE_ACCESSED | PTE_DIRTY;
    return F_MINOR;
  }
  const f = t.flags[page]!;
  if (t.ownerKind[page] === PageOwner.ANON && f & PG_anon && t.mapcount[page] === 1) {
    // wp_can_reuse_anon_folio(): exclusive; a swap-cache copy nobody else names is dropped
    let reuse = true;
    if (f & PG_swapcache) {
      const swap = env.swap();
      if (swap.swapCount(swap.pageSwapEntry(pfn)) > 0) reuse = false;
      else swap.deleteFromSwapCache(pfn);
    }
    if (reuse) {
      tab.bits[slot] = tab.bits[slot]! | PTE_RW | PTE_ACCESSED | PTE_DIRTY;
      return F_MINOR;
    }
  }
  const av = v.anonVma ?? anonVmaPrepare(env, v);
  const npfn = allocUserPage(env, task);
  if (npfn === null) return F_OOM;
  pageAddNewAnonRmap(env, npfn, m.pfnToPage(npfn), av, addr / PAGE_SIZE);
  pageRemoveRmap(env, mm, pfn);
  tab.entry[slot] = npfn + 1;
  tab.bits[slot] = PTE_RW | PTE_ACCESSED | PTE_DIRTY;
  mm.counters.anonRss++;
  return F_MINOR;
}

/**
 * do_swap_page(): the PTE holds a swap entry. The swap cache's page is
 * used when there is one; else a page is read from the device (a major
 * fault, pgmajfault unless `account` is off, as for swapoff's unuse_pte)
 * and kept in the swap cache while other PTEs still name the entry. Exclusive after the last holder: a write maps it
 * writable, and the slot is freed.
 */
export function doSwapPage(env: MmEnv, task: FaultTask, mm: MmStructImpl, v: VmArea, tab: PteTable, slot: number, addr: number, write: boolean, account: boolean): number {
  const swap = env.swap();
  const e = tab.entry[slot]!;
  const entry = pteToSwpEntry(e);
  const m = env.memory;
  const t = m.pages;
  let pfn = swap.lookupSwapCache(entry);
  let major = false;
  let page: number;
  if (pfn < 0) {
    const av = v.anonVma ?? anonVmaPrepare(env, v);
    const p = allocUserPage(env, task);
    if (p === null) return F_OOM;
    pfn = p;
    swap.readPage(entry);
    major = true;
    if (account) countEvent(env, 'pgmajfault');
    page = m.pfnToPage(pfn);
    pageAddNewAnonRmap(env, pfn, page, av, addr / PAGE_SIZE);
    swap.addToSwapCache(pfn, entry);
  } else {
    page = m.pfnToPage(pfn);
    const mc = t.mapcount[page]! + 1;
    t.mapcount[page] = mc;
    if (mc === 1) {
      // a swap-cache page nobody mapped: it becomes anonymous memory again
      env.vmstat.node.nr_anon_pages!++;
    } else {
      t.refcount[page]!++;
    }
  }
  tab.entry[slot] = pfn + 1;
  tab.bits[slot] = PTE_ACCESSED;
  mm.counters.swapents--;
  mm.counters.anonRss++;
  swap.swapFree(entry);
  if (swap.swapCount(entry) === 0) {
    // should_try_to_free_swap(): nobody names the entry any more
    if (t.flags[page]! & PG_swapcache) swap.deleteFromSwapCache(pfn);
    if (t.mapcount[page] === 1 && v.flags & VM_WRITE) tab.bits[slot] = PTE_ACCESSED | PTE_RW | (write ? PTE_DIRTY : 0);
  }
  if (write && !(tab.bits[slot]! & PTE_RW)) {
    const r = doWpPage(env, task, mm, v, tab, slot, addr);
    if (r === F_OOM) return r;
  }
  return major ? F_MAJOR : F_MINOR;
}

/**
 * do_fault(): a file page through the page cache (filemap_fault, which
 * reads it in and counts a major fault when it was not cached). A private
 * write copies it into an anonymous page (do_cow_fault); a shared write
 * maps it writable and dirties it (do_shared_fault); a read maps it
 * read-only (do_read_fault). Past the end of the file: SIGBUS.
 */
function doFault(env: MmEnv, task: FaultTask, mm: MmStructImpl, v: VmArea, tab: PteTable, slot: number, addr: number, write: boolean): number {
  const pc = env.pageCache();
  const index = v.pgoff + (addr - v.start) / PAGE_SIZE;
  // filemap_fault() counts pgmajfault itself; the page comes with a reference for us
  const got = pc.faultPage(v.ino, index, task.pid);
  if (got === null) return F_OOM;
  if (got === 'sigbus') return F_SIGBUS;
  const res = got.major ? F_MAJOR : F_MINOR;
  if (write && !(v.flags & VM_SHARED)) {
    // do_cow_fault(): the copy is ours; the cache page's reference goes back
    const r = mapNewAnonPage(env, task, mm, v, tab, slot, addr);
    env.pages.freePages(got.pfn, 0);
    return r === F_OOM ? r : res;
  }
  const page = env.memory.pfnToPage(got.pfn);
  pageAddSharedRmap(env, mm, got.pfn, page, false);
  tab.entry[slot] = got.pfn + 1;
  tab.bits[slot] = PTE_ACCESSED;
  if (write) {
    tab.bits[slot] = PTE_ACCESSED | PTE_RW | PTE_DIRTY;
    pc.dirtyPage(got.pfn);
  }
  return res;
}

/** shmem_fault(): the shmem object's page at this offset (allocated, zeroed, on first use), mapped writable if the VMA is. */
function shmemFault(env: MmEnv, task: FaultTask, mm: MmStructImpl, v: VmArea, tab: PteTable, slot: number, addr: number, write: boolean): number {
  const obj = shmemObject(env, v);
  const pgoff = v.pgoff + (addr - v.start) / PAGE_SIZE;
  const m = env.memory;
  const t = m.pages;
  let pfn = obj.pages!.get(pgoff);
  if (pfn === undefined) {
    const p = allocUserPage(env, task);
    if (p === null) return F_OOM;
    pfn = p;
    const page = m.pfnToPage(pfn);
    t.flags[page] = t.flags[page]! | PG_swapbacked;
    t.ownerKind[page] = PageOwner.ANON;
    t.owner[page] = obj.id;
    t.index[page] = pgoff;
    t.mapcount[page] = 0;
    obj.pages!.set(pgoff, pfn);
    const node = env.vmstat.node;
    node.nr_shmem!++;
    node.nr_file_pages!++;
    env.policy().pageAdded(pfn, true);
  }
  pageAddSharedRmap(env, mm, pfn, m.pfnToPage(pfn), true);
  tab.entry[slot] = pfn + 1;
  tab.bits[slot] = PTE_ACCESSED | (v.flags & VM_WRITE ? PTE_RW : 0) | (write ? PTE_DIRTY : 0);
  return F_MINOR;
}

/** The shmem object of a shared anonymous VMA (shmem_zero_setup), made on first use. */
export function shmemObject(env: MmEnv, v: VmArea): AnonVma {
  if (v.anonVma !== null) return v.anonVma;
  const a = env.anonVmas.create(true);
  a.vmas.add(v);
  v.anonVma = a;
  return a;
}

/** The VMA left its anon_vma (unmapped or its mm exited): a shmem object nobody maps any more frees its pages. */
export function vmaUnlinked(env: MmEnv, a: AnonVma | null): void {
  if (a === null || a.vmas.size > 0) return;
  if (a.pages !== null) {
    const m = env.memory;
    const node = env.vmstat.node;
    for (const pfn of a.pages.values()) {
      node.nr_shmem!--;
      node.nr_file_pages!--;
      freeUserPage(env, pfn, m.pfnToPage(pfn));
    }
    a.pages.clear();
  }
  env.anonVmas.release(a);
}

// ---- page-table walks over ranges ----

/**
 * zap_pte_range() over [start, end) of `v`: every present page loses this
 * mapping (page_remove_rmap; an anonymous page's last one frees it), every
 * swap entry its hold (swap_free), and the PTEs become none.
 */
export function zapRange(env: MmEnv, mm: MmStructImpl, _v: VmArea, start: number, end: number): void {
  const pt = mm.pt;
  if (pt.ptes.size === 0) return;
  let swap: SwapSpace | null = null;
  const k0 = Math.floor(start / PMD_SIZE);
  const k1 = Math.floor((end - 1) / PMD_SIZE);
  const visit = (k: number, tab: PteTable) => {
    const base = k * PMD_SIZE;
    const s0 = Math.max(0, (start - base) / PAGE_SIZE);
    const s1 = Math.min(512, (end - base) / PAGE_SIZE);
    const entry = tab.entry;
    for (let s = s0; s < s1; s++) {
      const e = entry[s]!;
      if (e === 0) continue;
      entry[s] = 0;
      tab.bits[s] = 0;
      if (e > 0) pageRemoveRmap(env, mm, e - 1);
      else if (e < PTE_ZERO) {
        swap ??= env.swap();
        swap.swapFree(pteToSwpEntry(e));
        mm.counters.swapents--;
      }
    }
  };
  if (k1 - k0 + 1 <= pt.ptes.size) {
    for (let k = k0; k <= k1; k++) {
      const tab = pt.ptes.get(k);
      if (tab !== undefined) visit(k, tab);
    }
  } else {
    for (const [k, tab] of pt.ptes) if (k >= k0 && k <= k1) visit(k, tab);
  }
}

/**
 * copy_page_range() of a private VMA at fork: the child's PTE tables get
 * every entry of the parent's; anonymous pages become read-only in both
 * (copy-on-write: mapcount and refcount + 1), swap entries get one more
 * holder (swap_duplicate), file pages one more mapping. Shared VMAs are
 * not copied (the child faults their pages in). False when a table could
 * not be allocated.
 */
export function copyPageRange(env: MmEnv, src: MmStructImpl, dst: MmStructImpl, v: VmArea, cpu: number): boolean {
  if (v.flags & VM_SHARED) return true;
  const m = env.memory;
  const t = m.pages;
  const k0 = Math.floor(v.start / PMD_SIZE);
  const k1 = Math.floor((v.end - 1) / PMD_SIZE);
  const keys: number[] = [];
  if (k1 - k0 + 1 <= src.pt.ptes.size) {
    for (let k = k0; k <= k1; k++) if (src.pt.ptes.has(k)) keys.push(k);
  } else {
    for (const k of src.pt.ptes.keys()) if (k >= k0 && k <= k1) keys.push(k);
    keys.sort((a, b) => a - b);
  }
  const c = dst.counters;
  for (const k of keys) {
    const st = src.pt.ptes.get(k)!;
    const dt = pteAlloc(env, dst.pt, dst.id, cpu, k);
    if (dt === null) return false;
    const base = k * PMD_SIZE;
    const s0 = Math.max(0, (v.start - base) / PAGE_SIZE);
    const s1 = Math.min(512, (v.end - base) / PAGE_SIZE);
    for (let s = s0; s < s1; s++) {
      const e = st.entry[s]!;
      if (e === 0) continue;
      if (e > 0) {
        const page = m.pfnToPage(e - 1);
        // both sides lose write access: the first write copies
        st.bits[s] = st.bits[s]! & ~PTE_RW;
        t.mapcount[page]!++;
        t.refcount[page]!++;
        if (t.ownerKind[page] === PageOwner.ANON) {
          if (t.flags[page]! & PG_anon) c.anonRss++;
          else c.shmemRss++;
        } else c.fileRss++;
      } else if (e < PTE_ZERO) {
        env.swap().swapDuplicate(pteToSwpEntry(e));
        c.swapents++;
      }
      dt.entry[s] = e;
      dt.bits[s] = st.bits[s]!;
    }
  }
  return true;
}

/**
 * change_protection() of [start, end): write access removed clears the
 * PTEs' write bits; granted to a private mapping, an exclusive anonymous
 * page becomes writable at once (can_change_pte_writable), anything else
 * waits for its write fault.
 */
export function protectRange(env: MmEnv, mm: MmStructImpl, v: VmArea, start: number, end: number, wasWrite: boolean, nowWrite: boolean): void {
  if (wasWrite === nowWrite) return;
  const m = env.memory;
  const t = m.pages;
  for (const [k, tab] of mm.pt.ptes) {
    const base = k * PMD_SIZE;
    if (base >= end || base + PMD_SIZE <= start) continue;
    const s0 = Math.max(0, (start - base) / PAGE_SIZE);
    const s1 = Math.min(512, (end - base) / PAGE_SIZE);
    for (let s = s0; s < s1; s++) {
      const e = tab.entry[s]!;
      if (e <= 0) continue;
      if (!nowWrite) {
        tab.bits[s] = tab.bits[s]! & ~PTE_RW;
      } else if (!(v.flags & VM_SHARED)) {
        const page = m.pfnToPage(e - 1);
        if (t.ownerKind[page] === PageOwner.ANON && t.flags[page]! & PG_anon && t.mapcount[page] === 1 && !(t.flags[page]! & PG_swapcache)) {
          tab.bits[s] = tab.bits[s]! | PTE_RW;
        }
      } else if (t.ownerKind[m.pfnToPage(e - 1)] === PageOwner.ANON) {
        // shmem needs no dirty tracking
        tab.bits[s] = tab.bits[s]! | PTE_RW;
      }
    }
  }
}

/**
 * populate_vma_page_range() (MAP_POPULATE): faults in every page of the
 * range — for writing in a private writable mapping (breaking COW up
 * front), for reading otherwise. Stops at the first failure.
 */
export function populateRange(env: MmEnv, mm: MmStructImpl, task: FaultTask, v: VmArea, start: number, end: number): number {
  const write = (v.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
  if (!(v.flags & (VM_READ | VM_WRITE | VM_EXEC))) return F_NONE;
  const r = accessRange(env, task, mm, start, end, write, null);
  return r.result;
}

/** What a range access did. */
export interface RangeResult {
  hits: number;
  minor: number;
  major: number;
  /** F_NONE, or the F_* code that stopped it (SIGSEGV, OOM, SIGBUS). */
  result: number;
  /** The address that stopped it. */
  faultAddr: number;
}

/**
 * Accesses every page of [start, end) (page aligned) in address order, or
 * in the order `order` gives (page offsets from start). A present page the
 * PTE allows is a hit (its young bit set; the reclaim policy told of the
 * reference the first time since it last looked, as folio_referenced()
 * would find the young PTE); anything else is a fault. Stops at the first
 * access that kills the task.
 */
export function accessRange(env: MmEnv, task: FaultTask, mm: MmStructImpl, start: number, end: number, write: boolean, order: Uint32Array | null): RangeResult {
  const res: RangeResult = { hits: 0, minor: 0, major: 0, result: F_NONE, faultAddr: 0 };
  if (order !== null) {
    for (let i = 0; i < order.length; i++) {
      const addr = start + order[i]! * PAGE_SIZE;
      if (!accessRun(env, task, mm, addr, addr + PAGE_SIZE, write, res)) break;
    }
  } else {
    accessRun(env, task, mm, start, end, write, res);
  }
  return res;
}

/** The sequential walk: one VMA check per VMA, one table lookup per 512 pages. False when the task was stopped. */
function accessRun(env: MmEnv, task: FaultTask, mm: MmStructImpl, start: number, end: number, write: boolean, res: RangeResult): boolean {
  const m = env.memory;
  const t = m.pages;
  const flagsArr = t.flags;
  let policy: ReclaimPolicy | null = null;
  let addr = start;
  while (addr < end) {
    if (mm.dead) {
      res.result = F_SIGSEGV;
      res.faultAddr = addr;
      return false;
    }
    const v = faultVma(env, mm, task, addr, write);
    if (v === undefined) {
      res.result = F_SIGSEGV;
      res.faultAddr = addr;
      return false;
    }
    const segEnd = Math.min(end, v.end);
    const privAnon = v.ino === 0 && !(v.flags & VM_SHARED);
    while (addr < segEnd) {
      const key = Math.floor(addr / PMD_SIZE);
      const base = key * PMD_SIZE;
      let tab = mm.pt.ptes.get(key);
      if (tab === undefined) {
        const nt = pteAlloc(env, mm.pt, mm.id, task.cpu, key);
        if (nt === null) {
          accountFault(env, task, F_OOM, 1);
          res.result = F_OOM;
          res.faultAddr = addr;
          return false;
        }
        tab = nt;
      }
      const entry = tab.entry;
      const bits = tab.bits;
      const s1 = Math.min(512, (segEnd - base) / PAGE_SIZE);
      let s = (addr - base) / PAGE_SIZE;
      let minor = 0;
      for (; s < s1; s++) {
        const e = entry[s]!;
        if (e > 0) {
          const b = bits[s]!;
          if (!write || b & PTE_RW) {
            bits[s] = b | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
            const page = m.pfnToPage(e - 1);
            if (!(flagsArr[page]! & PG_referenced)) (policy ??= env.policy()).pageAccessed(e - 1);
            res.hits++;
            continue;
          }
        } else if (e === PTE_ZERO) {
          if (!write) {
            bits[s] = bits[s]! | PTE_ACCESSED;
            res.hits++;
            continue;
          }
        } else if (e === 0 && write && privAnon) {
          // do_anonymous_page() inline: the sequential first-touch path
          const r = mapNewAnonPage(env, task, mm, v, tab, s, base + s * PAGE_SIZE);
          if (r === F_MINOR) {
            minor++;
            continue;
          }
        }
        const pa = base + s * PAGE_SIZE;
        const r = e === 0 && write && privAnon ? F_OOM : handlePteFault(env, task, mm, v, tab, s, pa, write);
        if (r === F_MINOR) minor++;
        else if (r === F_MAJOR) {
          accountFault(env, task, F_MAJOR, 1);
          res.major++;
        } else {
          accountFault(env, task, r, 1);
          res.minor += minor;
          accountFault(env, task, F_MINOR, minor);
          res.result = r;
          res.faultAddr = pa;
          return false;
        }
        if (mm.dead) break;
      }
      if (minor) {
        res.minor += minor;
        accountFault(env, task, F_MINOR, minor);
      }
      addr = base + s * PAGE_SIZE;
      if (mm.dead) {
        res.result = F_SIGSEGV;
        res.faultAddr = addr;
        return false;
      }
    }
  }
  return true;
}

