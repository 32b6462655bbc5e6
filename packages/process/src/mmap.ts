/**
 * Address spaces (mm/mmap.c, mm/vma.c, mm/mprotect.c, arch/x86/mm/mmap.c):
 * mm_struct with its VMAs in a sorted array (find_vma by binary search, a
 * one-entry cache as the old mmap_cache), the x86_64 and i386 layouts with
 * randomisation off (`setarch -R`), get_unmapped_area top-down from
 * mmap_base, mmap / munmap / mprotect / brk with VMA splitting and merging
 * as vma_merge does, and vm_stat_account's total_vm, data_vm, exec_vm and
 * stack_vm. Overcommit charges (VM_ACCOUNT) go through util.ts.
 * @module
 */
import {
  EACCES, EINVAL, ENOMEM, EPERM, kernelAtLeast, MAP_FIXED, MAP_GROWSDOWN, MAP_NORESERVE, MAP_POPULATE, type MmCounters, type MmapOptions,
  type MmStruct, PROT_EXEC, PROT_READ, PROT_WRITE, type Vma, VM_ACCOUNT, VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_MAYEXEC, VM_MAYREAD,
  VM_MAYSHARE, VM_MAYWRITE, VM_NORESERVE, VM_READ, VM_SHARED, VM_WRITE,
} from '@mmsim/core';
import { PageTables, PMD_SIZE, freePgtables } from './pgtable.js';
import type { AnonVma } from './rmap.js';
import { OVERCOMMIT_NEVER, vmAcctMemory, vmEnoughMemory, vmUnacctMemory } from './util.js';
import type { FaultTask, MmEnv } from './memory.js';
import { populateRange, protectRange, shmemObject, vmaUnlinked, zapRange } from './memory.js';

/** PAGE_SIZE / PAGE_SHIFT of x86. */
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** TASK_SIZE of x86_64 with 4-level paging (TASK_SIZE_MAX = 2^47 − PAGE_SIZE). */
export const TASK_SIZE_64 = 2 ** 47 - PAGE_SIZE;
/** TASK_SIZE of i386 with the 3G/1G split. */
export const TASK_SIZE_32 = 0xc0000000;
/** vm.mmap_min_addr's default (CONFIG_DEFAULT_MMAP_MIN_ADDR). */
export const MMAP_MIN_ADDR = 65536;
/** stack_guard_gap: 256 pages. */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;
/** RLIMIT_STACK's default soft limit (8 MiB). */
export const STACK_RLIMIT = 8 * 1024 * 1024;
/** mmap_base()'s MIN_GAP (128 MiB, no stack randomisation). */
export const MIN_GAP = 128 * 1024 * 1024;
/** setup_arg_pages(): the stack is expanded by 128 KiB at exec. */
export const STACK_EXPAND = 128 * 1024;
/** DEFAULT_MAX_MAP_COUNT */
export const MAX_MAP_COUNT = 65530;
/** VM_STACK on x86 (CONFIG_STACK_GROWSUP off). */
export const VM_STACK = VM_GROWSDOWN;
/** VM_DATA_DEFAULT_FLAGS (no READ_IMPLIES_EXEC): rw with every VM_MAY*. */
export const VM_DATA_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
/** VM_STACK_FLAGS */
export const VM_STACK_FLAGS = VM_STACK | VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT;

/** PAGE_ALIGN() */
export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** The personality of an address space. */
export type Arch = 'x86_64' | 'x86_32';

/** The fixed layout of a fresh address space, randomisation off (setarch -R). */
export interface MmLayout {
  taskSize: number;
  /** Where a PIE program is loaded (ELF_ET_DYN_BASE). */
  elfBase: number;
  /** mmap_base(): TASK_SIZE less the stack gap (rlimit + guard gap, at least MIN_GAP). */
  mmapBase: number;
  /** TASK_UNMAPPED_BASE: the bottom-up fallback's start (mmap_legacy_base). */
  legacyBase: number;
  /** STACK_TOP */
  stackTop: number;
}

/** The layouts of arch/x86/mm/mmap.c with PF_RANDOMIZE clear. */
export function mmLayout(arch: Arch): MmLayout {
  const taskSize = arch === 'x86_32' ? TASK_SIZE_32 : TASK_SIZE_64;
  // mmap_base(): gap = rlimit stack + stack_guard_gap, clamped to [MIN_GAP, MAX_GAP]
  const gap = Math.max(MIN_GAP, Math.min(STACK_RLIMIT + STACK_GUARD_GAP, Math.floor((taskSize / 6) * 5)));
  return {
    taskSize,
    // ELF_ET_DYN_BASE: 2/3 of the address space on x86_64; the ia32 PIE base 0x56555000 seen under setarch -R
    elfBase: arch === 'x86_32' ? 0x56555000 : Math.floor((Math.floor(TASK_SIZE_64 / 3) * 2) / PAGE_SIZE) * PAGE_SIZE,
    mmapBase: pageAlign(taskSize - gap),
    legacyBase: pageAlign(Math.floor(taskSize / 3)),
    stackTop: taskSize,
  };
}

/** A VMA (vm_area_struct). */
export class VmArea implements Vma {
  constructor(
    readonly mm: MmStructImpl,
    public start: number,
    public end: number,
    public flags: number,
    public pgoff: number,
    public ino: number,
    /** The name a workload gave the mapping (anon_vma_name: VMAs of different names never merge), or a file's path. */
    public label: string,
    /** The anon_vma its anonymous pages hang from (assigned at the first anonymous fault, or by fork). */
    public anonVma: AnonVma | null,
  ) {}
  /** The label (a file's path, a workload's name), else '[heap]' over the brk area (vma_is_initial_heap), '[stack]' over the initial stack (vma_is_initial_stack). */
  get name(): string {
    if (this.label) return this.label;
    const mm = this.mm;
    if (this.start < mm.brk && this.end > mm.startBrk) return '[heap]';
    if (this.start <= mm.startStack && this.end >= mm.startStack) return '[stack]';
    return '';
  }
  /** vma_pages() */
  get pages(): number {
    return (this.end - this.start) / PAGE_SIZE;
  }
}

/** The 'rw-p' column of /proc/<pid>/maps. */
export function vmaFlagsString(vma: Pick<Vma, 'flags'>): string {
  const f = vma.flags;
  return `${f & VM_READ ? 'r' : '-'}${f & VM_WRITE ? 'w' : '-'}${f & VM_EXEC ? 'x' : '-'}${f & VM_MAYSHARE ? 's' : 'p'}`;
}

/** mm_struct's counters: RSS by kind and swap entries kept as faults happen; the rest derived. */
export class MmCountersImpl implements MmCounters {
  anonRss = 0;
  fileRss = 0;
  shmemRss = 0;
  swapents = 0;
  totalVm = 0;
  dataVm = 0;
  execVm = 0;
  stackVm = 0;
  lockedVm = 0;
  /** hiwater_rss as update_hiwater_rss() last set it. */
  hiwaterRssMark = 0;
  /** hiwater_vm as update_hiwater_vm() last set it. */
  hiwaterVmMark = 0;
  constructor(private readonly pt: PageTables) {}
  get pgtablesBytes(): number {
    return this.pt.bytes;
  }
  /** VmHWM: max(hiwater_rss, get_mm_rss()). */
  get hiwaterRss(): number {
    return Math.max(this.hiwaterRssMark, this.anonRss + this.fileRss + this.shmemRss);
  }
  /** VmPeak: max(hiwater_vm, total_vm). */
  get hiwaterVm(): number {
    return Math.max(this.hiwaterVmMark, this.totalVm);
  }
}

/** A copy of an mm's counters as plain numbers (for reports and tests). */
export function countersOf(mm: MmStruct): MmCounters {
  const c = mm.counters;
  return {
    anonRss: c.anonRss, fileRss: c.fileRss, shmemRss: c.shmemRss, swapents: c.swapents, pgtablesBytes: c.pgtablesBytes,
    totalVm: c.totalVm, dataVm: c.dataVm, execVm: c.execVm, stackVm: c.stackVm, lockedVm: c.lockedVm,
    hiwaterRss: c.hiwaterRss, hiwaterVm: c.hiwaterVm,
  };
}

/** mm_struct */
export class MmStructImpl implements MmStruct {
  /** The VMAs, sorted by address, not overlapping. */
  readonly list: VmArea[] = [];
  readonly pt: PageTables;
  readonly counters: MmCountersImpl;
  /** The last VMA find_vma returned (vmacache). */
  private cache: VmArea | null = null;
  startCode = 0;
  endCode = 0;
  startData = 0;
  endData = 0;
  startBrk = 0;
  brk = 0;
  startStack = 0;
  readonly mmapBase: number;
  readonly legacyBase: number;
  readonly taskSize: number;
  readonly stackTop: number;
  /** mm_users */
  users = 1;
  /** Being torn down (exit_mmap): no more faults. */
  dead = false;
  constructor(
    readonly id: number,
    readonly arch: Arch,
  ) {
    const l = mmLayout(arch);
    this.taskSize = l.taskSize;
    this.mmapBase = l.mmapBase;
    this.legacyBase = l.legacyBase;
    this.stackTop = l.stackTop;
    this.pt = new PageTables(arch === 'x86_32' ? 3 : 4);
    this.counters = new MmCountersImpl(this.pt);
  }
  vmas(): readonly VmArea[] {
    return this.list;
  }
  /** map_count */
  get mapCount(): number {
    return this.list.length;
  }
  /** Index of the first VMA ending above addr (list.length when none). */
  indexAfter(addr: number): number {
    const l = this.list;
    let lo = 0;
    let hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (l[mid]!.end > addr) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
  /** find_vma(): the first VMA ending above addr. */
  findVma(addr: number): VmArea | undefined {
    const c = this.cache;
    if (c !== null && c.start <= addr && c.end > addr) return c;
    const v = this.list[this.indexAfter(addr)];
    if (v !== undefined && v.start <= addr) this.cache = v;
    return v;
  }
  /** vma_lookup(): the VMA containing addr. */
  vmaLookup(addr: number): VmArea | undefined {
    const v = this.findVma(addr);
    return v !== undefined && v.start <= addr ? v : undefined;
  }
  /** Any VMA overlapping [lo, hi)? */
  overlaps(lo: number, hi: number): boolean {
    const v = this.list[this.indexAfter(lo)];
    return v !== undefined && v.start < hi;
  }
  insert(v: VmArea): void {
    const i = this.indexAfter(v.start);
    this.list.splice(i, 0, v);
  }
  remove(v: VmArea): void {
    const i = this.list.indexOf(v);
    if (i >= 0) this.list.splice(i, 1);
    if (this.cache === v) this.cache = null;
    v.anonVma?.vmas.delete(v);
  }
  invalidateCache(): void {
    this.cache = null;
  }
  /** walk_page_range() over [start, end): every PTE that is not none, in address order (the encoding of pgtable.ts). */
  walkPtes(start: number, end: number, fn: (addr: number, entry: number, bits: number) => void): void {
    const pt = this.pt;
    if (pt.ptes.size === 0 || end <= start) return;
    const k0 = Math.floor(start / PMD_SIZE);
    const k1 = Math.floor((end - 1) / PMD_SIZE);
    let keys: number[];
    if (k1 - k0 + 1 <= pt.ptes.size) {
      keys = [];
      for (let k = k0; k <= k1; k++) if (pt.ptes.has(k)) keys.push(k);
    } else {
      keys = [...pt.ptes.keys()].filter((k) => k >= k0 && k <= k1).sort((a, b) => a - b);
    }
    for (const k of keys) {
      const tab = pt.ptes.get(k)!;
      const base = k * PMD_SIZE;
      const s0 = Math.max(0, Math.ceil((start - base) / PAGE_SIZE));
      const s1 = Math.min(512, Math.ceil((end - base) / PAGE_SIZE));
      for (let s = s0; s < s1; s++) {
        const e = tab.entry[s]!;
        if (e !== 0) fn(base + s * PAGE_SIZE, e, tab.bits[s]!);
      }
    }
  }
}

// ---- vm_stat_account ----

/** is_exec_mapping(): executable, not writable, not a stack (exec_vm). */
export function isExecMapping(flags: number): boolean {
  return (flags & (VM_EXEC | VM_WRITE | VM_STACK)) === VM_EXEC;
}
/** is_stack_mapping(): VM_STACK (stack_vm). */
export function isStackMapping(flags: number): boolean {
  return (flags & VM_STACK) === VM_STACK;
}
/** is_data_mapping(): private writable, not a stack (data_vm). */
export function isDataMapping(flags: number): boolean {
  return (flags & (VM_WRITE | VM_SHARED | VM_STACK)) === VM_WRITE;
}

/** vm_stat_account(): `npages` (negative to remove) of a mapping with `flags`. */
export function vmStatAccount(mm: MmStructImpl, flags: number, npages: number): void {
  const c = mm.counters;
  c.totalVm += npages;
  if (npages > 0 && c.totalVm > c.hiwaterVmMark) c.hiwaterVmMark = c.totalVm;
  if (isExecMapping(flags)) c.execVm += npages;
  else if (isStackMapping(flags)) c.stackVm += npages;
  else if (isDataMapping(flags)) c.dataVm += npages;
  if (flags & VM_LOCKED) c.lockedVm += npages;
}

/** update_hiwater_rss() */
export function updateHiwaterRss(mm: MmStructImpl): void {
  const c = mm.counters;
  const rss = c.anonRss + c.fileRss + c.shmemRss;
  if (rss > c.hiwaterRssMark) c.hiwaterRssMark = rss;
}

/** accountable_mapping(): private writable mappings without VM_NORESERVE are charged (VM_ACCOUNT). */
export function accountableMapping(flags: number): boolean {
  return (flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
}

/** calc_vm_prot_bits() */
export function protToVmFlags(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

// ---- VMA tree operations ----

/** vm_start_gap(): a stack keeps stack_guard_gap free below it. */
export function vmStartGap(v: VmArea): number {
  if (v.flags & VM_GROWSDOWN) return Math.max(0, v.start - STACK_GUARD_GAP);
  return v.start;
}

/** __split_vma(): splits `v` at `addr` (page aligned, inside it); returns the upper part, now in the list. */
export function splitVma(v: VmArea, addr: number): VmArea {
  const hi = new VmArea(v.mm, addr, v.end, v.flags, v.pgoff + (addr - v.start) / PAGE_SIZE, v.ino, v.label, v.anonVma);
  v.end = addr;
  v.anonVma?.vmas.add(hi);
  v.mm.insert(hi);
  return hi;
}

/** Could `a` (below) and `b` (above, adjacent) be one VMA (is_mergeable_vma + is_mergeable_anon_vma + contiguous pgoff)? */
export function canMerge(a: VmArea, b: VmArea): boolean {
  if (a.end !== b.start || a.flags !== b.flags || a.ino !== b.ino || a.label !== b.label) return false;
  // a shared anonymous mapping is its own shmem object: never merged
  if (a.ino === 0 && a.flags & VM_SHARED) return false;
  if (a.anonVma !== null && b.anonVma !== null && a.anonVma !== b.anonVma) return false;
  return a.pgoff + a.pages === b.pgoff;
}

/** vma_merge(): merges `v` with its neighbours where they are compatible; returns the VMA that now covers v's range. */
export function mergeAround(v: VmArea): VmArea {
  const mm = v.mm;
  let i = mm.list.indexOf(v);
  const next = mm.list[i + 1];
  if (next !== undefined && canMerge(v, next)) {
    if (v.anonVma === null && next.anonVma !== null) {
      v.anonVma = next.anonVma;
      v.anonVma.vmas.add(v);
    }
    v.end = next.end;
    mm.remove(next);
  }
  i = mm.list.indexOf(v);
  const prev = mm.list[i - 1];
  if (prev !== undefined && canMerge(prev, v)) {
    if (prev.anonVma === null && v.anonVma !== null) {
      prev.anonVma = v.anonVma;
      prev.anonVma.vmas.add(prev);
    }
    prev.end = v.end;
    mm.remove(v);
    mm.invalidateCache();
    return prev;
  }
  mm.invalidateCache();
  return v;
}

/**
 * The VMAs over [start, end), split at the ends so each lies inside the
 * range (the part of vms_gather_munmap_vmas / vma_modify that splits).
 */
export function isolateRange(mm: MmStructImpl, start: number, end: number): VmArea[] {
  const out: VmArea[] = [];
  let i = mm.indexAfter(start);
  while (i < mm.list.length) {
    let v = mm.list[i]!;
    if (v.start >= end) break;
    if (v.start < start) {
      v = splitVma(v, start);
      i++;
    }
    if (v.end > end) splitVma(v, end);
    out.push(v);
    i++;
  }
  mm.invalidateCache();
  return out;
}

/** Pages of [start, end) a VM_ACCOUNT VMA covers (what an unmap of the range gives back). */
function accountedIn(mm: MmStructImpl, start: number, end: number): number {
  let n = 0;
  for (let i = mm.indexAfter(start); i < mm.list.length; i++) {
    const v = mm.list[i]!;
    if (v.start >= end) break;
    if (v.flags & VM_ACCOUNT) n += (Math.min(end, v.end) - Math.max(start, v.start)) / PAGE_SIZE;
  }
  return n;
}

/**
 * The unmap of [start, end) (do_vmi_align_munmap): splits the VMAs at the
 * ends, zaps their pages, gives back their accounting, removes them and
 * frees the page tables nothing maps any more.
 */
export function unmapRange(env: MmEnv, mm: MmStructImpl, start: number, end: number): void {
  if (!mm.overlaps(start, end)) return;
  updateHiwaterRss(mm);
  const vmas = isolateRange(mm, start, end);
  let unacct = 0;
  for (const v of vmas) {
    zapRange(env, mm, v, v.start, v.end);
    vmStatAccount(mm, v.flags, -v.pages);
    if (v.flags & VM_ACCOUNT) unacct += v.pages;
    mm.remove(v);
    vmaUnlinked(env, v.anonVma);
  }
  if (unacct) vmUnacctMemory(env, unacct);
  const lo = vmas[0]!.start;
  const hi = vmas[vmas.length - 1]!.end;
  freePgtables(env, mm.pt, lo, hi, (a, b) => mm.overlaps(a, b));
}

// ---- get_unmapped_area ----

/**
 * arch_get_unmapped_area_topdown() (and its bottom-up fallback
 * arch_get_unmapped_area()): the address of a free range of `len` bytes,
 * or −ENOMEM. A hint is used when the range there is free.
 */
export function getUnmappedArea(mm: MmStructImpl, len: number, hint: number): number {
  if (len > mm.taskSize) return -ENOMEM;
  const lowLimit = Math.max(PAGE_SIZE, MMAP_MIN_ADDR);
  if (hint) {
    const addr = pageAlign(hint);
    if (mm.taskSize - len >= addr && addr >= MMAP_MIN_ADDR && rangeFree(mm, addr, addr + len)) return addr;
  }
  // vm_unmapped_area(VM_UNMAPPED_AREA_TOPDOWN): the highest gap below mmap_base
  const top = topdownGap(mm, len, lowLimit, mm.mmapBase);
  if (top >= 0) return top;
  // a failed top-down search falls back to bottom-up from TASK_UNMAPPED_BASE
  return bottomupGap(mm, len, mm.legacyBase, mm.taskSize);
}

const PMD_BYTES = 2 * 1024 * 1024;

/**
 * __thp_get_unmapped_area() for an anonymous mapping (offset 0): search for
 * len + PMD_SIZE, then align the start up to a PMD boundary (top-down: a
 * result already aligned moves up by one PMD, as the kernel does). −1 when
 * the padded search fails (the caller retries without padding).
 */
function thpGetUnmappedArea(mm: MmStructImpl, len: number): number {
  const ret = getUnmappedArea(mm, len + PMD_BYTES, 0);
  if (ret < 0) return -1;
  const offSub = (PMD_BYTES - (ret % PMD_BYTES)) % PMD_BYTES;
  return offSub === 0 ? ret + PMD_BYTES : ret + offSub;
}

/** Is [lo, hi) clear of every VMA and of the guard gaps around stacks? */
function rangeFree(mm: MmStructImpl, lo: number, hi: number): boolean {
  const i = mm.indexAfter(lo);
  const next = mm.list[i];
  const prev = mm.list[i - 1];
  if (next !== undefined && hi > vmStartGap(next)) return false;
  if (prev !== undefined && lo < prev.end) return false;
  return true;
}

function topdownGap(mm: MmStructImpl, len: number, low: number, high: number): number {
  const l = mm.list;
  // walk gaps from the top: gap i lies between l[i-1] (or low) and l[i] (or high)
  for (let i = mm.indexAfter(high - 1); i >= 0; i--) {
    const gapEnd = Math.min(high, i < l.length ? vmStartGap(l[i]!) : high);
    const gapStart = Math.max(low, i > 0 ? l[i - 1]!.end : low);
    if (gapEnd - gapStart >= len) return gapEnd - len;
    if (gapStart <= low) break;
  }
  return -ENOMEM;
}

function bottomupGap(mm: MmStructImpl, len: number, low: number, high: number): number {
  const l = mm.list;
  for (let i = mm.indexAfter(low); i <= l.length; i++) {
    const gapStart = Math.max(low, i > 0 ? l[i - 1]!.end : low);
    const gapEnd = Math.min(high, i < l.length ? vmStartGap(l[i]!) : high);
    if (gapEnd - gapStart >= len) return gapStart;
    if (gapEnd >= high) break;
  }
  return -ENOMEM;
}

// ---- the system calls ----

/** What a system call needs of the calling task. */
export interface Caller {
  readonly uid: number;
  readonly cpu: number;
  readonly pid: number;
}

/** Insert a new VMA for [addr, addr+len) and merge it with its neighbours (mmap_region's tail). */
export function insertVma(mm: MmStructImpl, addr: number, len: number, flags: number, pgoff: number, ino: number, label: string): VmArea {
  const v = new VmArea(mm, addr, addr + len, flags, pgoff, ino, label, null);
  mm.insert(v);
  vmStatAccount(mm, flags, len / PAGE_SIZE);
  return mergeAround(v);
}

/**
 * do_mmap() + mmap_region(): the address, or −errno (EINVAL: len 0, an
 * unaligned offset or fixed address; ENOMEM: no room, too many mappings,
 * or the overcommit check refused; EPERM: a fixed address below
 * mmap_min_addr). A refusal changes nothing.
 */
export function doMmap(env: MmEnv, mm: MmStructImpl, caller: FaultTask, lenIn: number, opts: MmapOptions = {}): number {
  const prot = opts.prot ?? PROT_READ | PROT_WRITE;
  const flags = opts.flags ?? 0;
  const ino = opts.ino ?? 0;
  const offset = opts.offset ?? 0;
  if (!Number.isFinite(lenIn) || lenIn <= 0) return lenIn === 0 ? -EINVAL : -ENOMEM;
  if (offset % PAGE_SIZE !== 0 || offset < 0) return -EINVAL;
  const len = pageAlign(lenIn);
  if (len > mm.taskSize) return -ENOMEM;
  if (mm.mapCount > MAX_MAP_COUNT) return -ENOMEM;
  let vmFlags = protToVmFlags(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (flags & MAP_GROWSDOWN) vmFlags |= VM_GROWSDOWN;
  if (opts.shared) vmFlags |= VM_SHARED | VM_MAYSHARE;
  if (flags & MAP_NORESERVE && env.sysctl.get('vm.overcommit_memory') !== OVERCOMMIT_NEVER) vmFlags |= VM_NORESERVE;
  let addr: number;
  if (flags & MAP_FIXED) {
    addr = opts.addr ?? 0;
    if (addr % PAGE_SIZE !== 0) return -EINVAL;
    if (addr + len > mm.taskSize) return -ENOMEM;
    if (addr < MMAP_MIN_ADDR) return -EPERM;
  } else {
    addr = -1;
    // __get_unmapped_area(): a private anonymous mapping of whole PMDs with no hint is THP aligned (64-bit only)
    if (!ino && !opts.shared && !opts.addr && len % PMD_BYTES === 0 && mm.taskSize > TASK_SIZE_32) addr = thpGetUnmappedArea(mm, len);
    if (addr < 0) addr = getUnmappedArea(mm, len, opts.addr ?? 0);
    if (addr < 0) return addr;
  }
  // file pgoff, or for private anonymous memory the page number of the address
  const pgoff = ino ? offset / PAGE_SIZE : opts.shared ? 0 : addr / PAGE_SIZE;
  // a private writable mapping is charged (VM_ACCOUNT); a shared anonymous one is charged by its shmem object (shmem_acct_size)
  const shmem = ino === 0 && opts.shared === true;
  // a MAP_FIXED over accounted pages only charges the difference: the replaced charge carries over (vms.nr_accounted = 0)
  const replaced = flags & MAP_FIXED ? accountedIn(mm, addr, addr + len) : 0;
  const accountable = accountableMapping(vmFlags) || (shmem && !(vmFlags & VM_NORESERVE));
  if (accountable) {
    const charged = len / PAGE_SIZE - replaced;
    if (charged > 0 && vmEnoughMemory(env, mm.counters.totalVm, charged, caller.uid === 0) < 0) return -ENOMEM;
    vmFlags |= VM_ACCOUNT;
  }
  if (flags & MAP_FIXED) {
    unmapRange(env, mm, addr, addr + len);
    if (accountable && replaced) vmAcctMemory(env, replaced);
  }
  const v = insertVma(mm, addr, len, vmFlags, pgoff, ino, opts.name ?? '');
  // shmem_zero_setup(): the object exists from mmap on, so a child forked before any fault shares it
  if (shmem) shmemObject(env, v);
  if (flags & MAP_POPULATE) populateRange(env, mm, caller, v, addr, addr + len);
  return addr;
}

/** do_munmap(): 0 or −EINVAL (unaligned start, len 0, past TASK_SIZE). Unmapping nothing succeeds. */
export function doMunmap(env: MmEnv, mm: MmStructImpl, addr: number, lenIn: number): number {
  if (addr % PAGE_SIZE !== 0 || addr > mm.taskSize || !(lenIn > 0)) return -EINVAL;
  const len = pageAlign(lenIn);
  if (len > mm.taskSize - addr) return -EINVAL;
  unmapRange(env, mm, addr, addr + len);
  return 0;
}

/**
 * do_mprotect_pkey(): 0 or −errno (EINVAL unaligned, ENOMEM a hole in the
 * range, EACCES a protection the mapping may not have). Splits and merges
 * the VMAs, charges a private mapping that becomes writable, and write-
 * protects the PTEs when write permission goes.
 */
export function doMprotect(env: MmEnv, mm: MmStructImpl, caller: Caller, start: number, lenIn: number, prot: number): number {
  if (start % PAGE_SIZE !== 0 || !(lenIn >= 0)) return -EINVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) return -EINVAL;
  const len = pageAlign(lenIn);
  const end = start + len;
  if (end < start || end > mm.taskSize) return -ENOMEM;
  if (len === 0) return 0;
  // the whole range must be mapped
  let cur = start;
  let charge = 0;
  const newBits = protToVmFlags(prot);
  for (let i = mm.indexAfter(start); i < mm.list.length && cur < end; i++) {
    const v = mm.list[i]!;
    if (v.start > cur) return -ENOMEM;
    const nf = (v.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | newBits;
    // newflags & ~(newflags >> 4): each VM_x needs its VM_MAYx
    if ((nf & ~(nf >> 4)) & (VM_READ | VM_WRITE | VM_EXEC)) return -EACCES;
    if (nf & VM_WRITE && !(v.flags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE))) {
      charge += (Math.min(end, v.end) - Math.max(start, v.start)) / PAGE_SIZE;
    }
    cur = v.end;
  }
  if (cur < end) return -ENOMEM;
  if (charge && vmEnoughMemory(env, mm.counters.totalVm, charge, caller.uid === 0) < 0) return -ENOMEM;
  const vmas = isolateRange(mm, start, end);
  // since 6.5 ("allow unfaulted VMAs to be unaccounted on mprotect()") a private anonymous VMA made read-only before any fault gives its charge back
  const unacctUnfaulted = kernelAtLeast(env.topology.kernel, '6.5');
  let unacct = 0;
  for (const v of vmas) {
    const old = v.flags;
    let nf = (old & ~(VM_READ | VM_WRITE | VM_EXEC)) | newBits;
    if (nf & VM_WRITE && !(old & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE))) nf |= VM_ACCOUNT;
    else if (!(nf & VM_WRITE) && old & VM_ACCOUNT && unacctUnfaulted && v.ino === 0 && !(old & VM_SHARED) && v.anonVma === null) {
      nf &= ~VM_ACCOUNT;
      unacct += v.pages;
    }
    if (nf === old) continue;
    vmStatAccount(mm, old, -v.pages);
    v.flags = nf;
    vmStatAccount(mm, nf, v.pages);
    protectRange(env, mm, v, v.start, v.end, (old & VM_WRITE) !== 0, (nf & VM_WRITE) !== 0);
  }
  if (unacct) vmUnacctMemory(env, unacct);
  // vma_merge on both ends of each modified piece
  for (const v of vmas) if (mm.list.includes(v)) mergeAround(v);
  return 0;
}

/**
 * sys_brk(): the new break, or the old one when refused (no room below the
 * next mapping and its guard gap, or the overcommit check). Shrinking
 * unmaps the pages above the new break; brk(0) asks for the current one.
 */
export function doBrk(env: MmEnv, mm: MmStructImpl, caller: Caller, brk: number): number {
  const origbrk = mm.brk;
  if (!(brk >= mm.startBrk) || !Number.isFinite(brk)) return mm.brk;
  const newbrk = pageAlign(brk);
  const oldbrk = pageAlign(mm.brk);
  if (newbrk > mm.taskSize) return mm.brk;
  if (oldbrk === newbrk) {
    mm.brk = brk;
    return brk;
  }
  if (brk <= mm.brk) {
    mm.brk = brk;
    unmapRange(env, mm, newbrk, oldbrk);
    return brk;
  }
  // the new break must stay clear of the next mapping and its guard gap
  const next = mm.list[mm.indexAfter(oldbrk)];
  if (next !== undefined && newbrk + PAGE_SIZE > vmStartGap(next)) return origbrk;
  // do_brk_flags()
  const len = newbrk - oldbrk;
  if (mm.mapCount > MAX_MAP_COUNT) return origbrk;
  if (vmEnoughMemory(env, mm.counters.totalVm, len / PAGE_SIZE, caller.uid === 0) < 0) return origbrk;
  const flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT;
  const prev = mm.list[mm.indexAfter(oldbrk) - 1];
  if (prev !== undefined && prev.end === oldbrk && prev.flags === flags && prev.ino === 0 && prev.label === '' && !(prev.flags & VM_SHARED)) {
    // can_vma_merge_after(): the brk VMA grows
    prev.end = newbrk;
    vmStatAccount(mm, flags, len / PAGE_SIZE);
    mm.invalidateCache();
  } else {
    insertVma(mm, oldbrk, len, flags, oldbrk / PAGE_SIZE, 0, '');
  }
  mm.brk = brk;
  return brk;
}

/**
 * expand_downwards() for a fault at `addr` below a VM_GROWSDOWN VMA: grows
 * it when the stack stays within RLIMIT_STACK, clear of the guard gap above
 * the previous VMA, and the overcommit check allows (acct_stack_growth).
 */
export function expandStack(env: MmEnv, mm: MmStructImpl, caller: Caller, v: VmArea, addr: number): boolean {
  const newStart = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  if (newStart >= v.start) return true;
  if (newStart < MMAP_MIN_ADDR) return false;
  if (v.end - newStart > STACK_RLIMIT) return false;
  const i = mm.list.indexOf(v);
  const prev = mm.list[i - 1];
  if (prev !== undefined && newStart - STACK_GUARD_GAP < prev.end && !(prev.flags & VM_GROWSDOWN)) return false;
  const grow = (v.start - newStart) / PAGE_SIZE;
  if (v.flags & VM_ACCOUNT && vmEnoughMemory(env, mm.counters.totalVm, grow, caller.uid === 0) < 0) return false;
  v.start = newStart;
  v.pgoff -= grow;
  vmStatAccount(mm, v.flags, grow);
  mm.invalidateCache();
  return true;
}

/** The stack VMA of a fresh address space (setup_arg_pages): 128 KiB + one page of arguments below STACK_TOP. */
export function setupStack(env: MmEnv, mm: MmStructImpl): void {
  const len = STACK_EXPAND + PAGE_SIZE;
  const start = mm.stackTop - len;
  const v = new VmArea(mm, start, mm.stackTop, VM_STACK_FLAGS, start / PAGE_SIZE, 0, '', null);
  mm.insert(v);
  vmStatAccount(mm, v.flags, len / PAGE_SIZE);
  // insert_vm_struct() charges VM_ACCOUNT unconditionally at exec
  vmEnoughMemoryForce(env, len / PAGE_SIZE);
  mm.startStack = mm.stackTop - PAGE_SIZE + 0xc30;
}

/** vm_acct_memory() without the check (exec's own mappings are not refused here). */
function vmEnoughMemoryForce(env: MmEnv, pages: number): void {
  vmAcctMemory(env, pages);
}

/**
 * load_elf_binary() of a PIE program with randomisation off: text (r-xp)
 * at ELF_ET_DYN_BASE, data (rw-p) after it, bss beyond the data page as an
 * anonymous VMA, the break right after, and the stack.
 */
export function loadProgram(env: MmEnv, mm: MmStructImpl, path: string, text: number, data: number, bss: number): void {
  const base = mmLayout(mm.arch).elfBase;
  const textLen = pageAlign(Math.max(text, 1));
  const tv = new VmArea(mm, base, base + textLen, VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC, 0, 0, path, null);
  mm.insert(tv);
  vmStatAccount(mm, tv.flags, tv.pages);
  mm.startCode = base;
  mm.endCode = base + text;
  const dataStart = base + textLen;
  const dataLen = pageAlign(Math.max(data, 1));
  const dv = new VmArea(mm, dataStart, dataStart + dataLen, VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT, textLen / PAGE_SIZE, 0, path, null);
  mm.insert(dv);
  vmStatAccount(mm, dv.flags, dv.pages);
  vmEnoughMemoryForce(env, dv.pages);
  mm.startData = dataStart;
  mm.endData = dataStart + data;
  // bss past the last data page: vm_brk_flags() of the rest
  const bssEnd = pageAlign(dataStart + data + bss);
  if (bssEnd > dataStart + dataLen) {
    const bv = new VmArea(mm, dataStart + dataLen, bssEnd, VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT, (dataStart + dataLen) / PAGE_SIZE, 0, '', null);
    mm.insert(bv);
    vmStatAccount(mm, bv.flags, bv.pages);
    vmEnoughMemoryForce(env, bv.pages);
  }
  mm.startBrk = mm.brk = Math.max(bssEnd, dataStart + dataLen);
  setupStack(env, mm);
}

/** Aligned to a 2 MiB page-table boundary (for tests and reports). */
export function pmdAlignDown(addr: number): number {
  return Math.floor(addr / PMD_SIZE) * PMD_SIZE;
}
