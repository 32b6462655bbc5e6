/**
 * The address-space views of /proc/<pid> (fs/proc/task_mmu.c): task_mem()
 * (the Vm* lines of status), task_statm(), `<pid>/maps` (show_map_vma) and
 * `<pid>/smaps_rollup` (show_smaps_rollup with smaps_pte_range's
 * accounting), in 6.12's exact formats.
 * @module
 */
import {
  inject, injectable, lazy, type Lazy, MEMORY_MODEL, type MemoryModel, type MmStruct, PAGE_CACHE, PAGE_SIZE, type PageCache,
  PG_anon, PG_dirty, PG_referenced, PG_swapbacked, type ProcEntry, type ProcessTask, SWAP, type SwapSpace, TASKS, type TaskTable, TOPOLOGY,
  type Topology, type Vma, VM_EXEC, VM_LOCKED, VM_MAYSHARE, VM_READ, VM_SHARED, VM_WRITE,
} from '@mmsim/core';

/** _PAGE_ACCESSED / _PAGE_DIRTY in the PTE bits the page tables keep. */
const PTE_ACCESSED = 2;
const PTE_DIRTY = 4;
/** PSS_SHIFT: Pss is accumulated in bytes << 12 so that dividing by the mapcount keeps precision. */
const PSS_SHIFT = 12;

/** The block device the simulated files live on (MAJOR:MINOR as maps prints them: a virtio disk, 254:0). */
export const SIM_FILE_DEV = 'fe:00';
/** The device of shmem's internal mount (shared anonymous memory: /dev/zero (deleted)). */
const SHMEM_DEV = '00:01';

/** seq_put_decimal_ull_width(m, label, v, 8) */
const w8 = (label: string, v: number): string => `${label}${String(v).padStart(8)}`;
/** seq_put_hex_ll(m, NULL, v, width): lower-case hex, zero-padded to `width`. */
const hex = (v: number, width: number): string => v.toString(16).padStart(width, '0');

/** Is this a 32-bit kernel (sizeof(void *) == 4)? */
export function is32bit(topology: Topology): boolean {
  return topology.arch === 'x86_32';
}

/** PAGE_ALIGN(end_code) - (start_code & PAGE_MASK): bytes of the text segment. */
function textBytes(mm: MmStruct): number {
  const end = Math.ceil(mm.endCode / PAGE_SIZE) * PAGE_SIZE;
  const start = Math.floor(mm.startCode / PAGE_SIZE) * PAGE_SIZE;
  return Math.max(0, end - start);
}

/**
 * task_mem(): the VmPeak..VmSwap and HugetlbPages lines of /proc/<pid>/status.
 * Counters are pages; each line is kB right-aligned in 8 columns.
 */
export function taskMem(mm: MmStruct): string {
  const c = mm.counters;
  const kb = (pages: number) => pages * (PAGE_SIZE / 1024);
  const totalVm = c.totalVm;
  const hiwaterVm = Math.max(totalVm, c.hiwaterVm);
  const totalRss = c.anonRss + c.fileRss + c.shmemRss;
  const hiwaterRss = Math.max(totalRss, c.hiwaterRss);
  // split executable areas between text and lib
  const text = Math.min(textBytes(mm), c.execVm * PAGE_SIZE);
  const lib = c.execVm * PAGE_SIZE - text;
  let out = w8('VmPeak:\t', kb(hiwaterVm));
  out += w8(' kB\nVmSize:\t', kb(totalVm));
  out += w8(' kB\nVmLck:\t', kb(c.lockedVm));
  // pinned_vm: nothing pins user pages (no RDMA / io_uring buffers) in the simulator
  out += w8(' kB\nVmPin:\t', 0);
  out += w8(' kB\nVmHWM:\t', kb(hiwaterRss));
  out += w8(' kB\nVmRSS:\t', kb(totalRss));
  out += w8(' kB\nRssAnon:\t', kb(c.anonRss));
  out += w8(' kB\nRssFile:\t', kb(c.fileRss));
  out += w8(' kB\nRssShmem:\t', kb(c.shmemRss));
  out += w8(' kB\nVmData:\t', kb(c.dataVm));
  out += w8(' kB\nVmStk:\t', kb(c.stackVm));
  out += w8(' kB\nVmExe:\t', Math.floor(text / 1024));
  out += w8(' kB\nVmLib:\t', Math.floor(lib / 1024));
  out += w8(' kB\nVmPTE:\t', Math.floor(c.pgtablesBytes / 1024));
  out += w8(' kB\nVmSwap:\t', kb(c.swapents));
  out += ' kB\n';
  // hugetlb_report_usage(): no hugetlbfs mappings in the simulator
  out += `HugetlbPages:\t${String(0).padStart(8)} kB\n`;
  return out;
}

/** task_vsize(): bytes of address space (stat's vsize). */
export function taskVsize(mm: MmStruct): number {
  return mm.counters.totalVm * PAGE_SIZE;
}

/** What task_statm() returns, in pages. */
export interface Statm {
  size: number;
  resident: number;
  shared: number;
  text: number;
  data: number;
}

/** task_statm() */
export function taskStatm(mm: MmStruct): Statm {
  const c = mm.counters;
  const shared = c.fileRss + c.shmemRss;
  return {
    size: c.totalVm,
    resident: shared + c.anonRss,
    shared,
    text: Math.floor(textBytes(mm) / PAGE_SIZE),
    data: c.dataVm + c.stackVm,
  };
}

/** /proc/<pid>/statm (proc_pid_statm): size resident shared text lib(0) data dt(0). */
export function showStatm(task: ProcessTask): string {
  if (!task.mm) return '0 0 0 0 0 0 0\n';
  const s = taskStatm(task.mm);
  return `${s.size} ${s.resident} ${s.shared} ${s.text} 0 ${s.data} 0\n`;
}

/**
 * show_vma_header_prefix(): `start-end perms offset dev inode ` with the
 * seq_setwidth(25 + sizeof(void *) * 6 - 1) the name column pads to.
 */
function vmaHeader(start: number, end: number, flags: number, pgoff: number, dev: string, ino: number): string {
  return `${hex(start, 8)}-${hex(end, 8)} ${flags & VM_READ ? 'r' : '-'}${flags & VM_WRITE ? 'w' : '-'}${flags & VM_EXEC ? 'x' : '-'}${flags & VM_MAYSHARE ? 's' : 'p'} ${hex(pgoff, 8)} ${dev} ${ino} `;
}

/** seq_pad(m, ' ') then the name: pads to the name column, always at least one space. */
function padName(line: string, name: string, ptr32: boolean): string {
  const width = 25 + (ptr32 ? 4 : 8) * 6 - 1;
  return `${line.padEnd(width)} ${name}`;
}

/** How a maps line names a file mapping: the file's path (seq_path), or undefined when the page cache does not know the inode. */
export type FilePath = (ino: number) => string | undefined;

/**
 * show_map_vma() for one VMA. get_vma_name(): a file's path (the shmem
 * file of shared anonymous memory: `/dev/zero (deleted)`); `[heap]` for
 * the VMA holding the brk area; `[stack]` for the one holding start_stack;
 * `[anon:NAME]` for an
 * anonymous VMA the workload named (as PR_SET_VMA_ANON_NAME names one);
 * nothing (a trailing space) otherwise.
 */
export function showMapVma(mm: MmStruct, vma: Vma, filePath: FilePath, ptr32: boolean): string {
  const anonShared = vma.ino === 0 && (vma.flags & VM_SHARED) !== 0;
  // a file's path; the program image may carry its path without an inode of the page cache
  const path = (vma.ino !== 0 ? filePath(vma.ino) : undefined) ?? (vma.name.startsWith('/') ? vma.name : undefined);
  let dev = '00:00';
  let ino = 0;
  let pgoff = 0;
  if (path !== undefined) {
    if (vma.ino !== 0) dev = SIM_FILE_DEV;
    ino = vma.ino;
    pgoff = vma.ino !== 0 ? vma.pgoff * PAGE_SIZE : 0;
  } else if (anonShared || vma.ino !== 0) {
    // shmem_zero_setup(): a shmem file backs MAP_SHARED|MAP_ANONYMOUS, mapped from its offset 0
    dev = SHMEM_DEV;
    ino = vma.ino;
  }
  const head = vmaHeader(vma.start, vma.end, vma.flags, pgoff, dev, ino);
  let name: string | undefined;
  if (path !== undefined) name = path;
  else if (dev === SHMEM_DEV) name = '/dev/zero (deleted)';
  // vma_is_initial_heap(), vma_is_initial_stack()
  else if (vma.start < mm.brk && vma.end > mm.startBrk) name = '[heap]';
  else if (vma.start <= mm.startStack && vma.end >= mm.startStack) name = '[stack]';
  else if (vma.name.startsWith('[')) name = vma.name;
  else if (vma.name !== '') name = `[anon:${vma.name}]`;
  return name === undefined ? `${head}\n` : `${padName(head, name, ptr32)}\n`;
}

/** The vsyscall page x86_64 shows after the last VMA (gate_vma, vsyscall=xonly). */
const VSYSCALL_START = 0xffffffffff600000n;

/** /proc/<pid>/maps: every VMA in address order, then the gate VMA on x86_64. Empty for a kernel thread. */
export function showMaps(task: ProcessTask, filePath: FilePath, ptr32: boolean): string {
  const mm = task.mm;
  if (!mm) return '';
  let out = '';
  for (const vma of mm.vmas()) out += showMapVma(mm, vma, filePath, ptr32);
  if (!ptr32) {
    // the gate area lies above 2^53: print it from BigInt
    const s = VSYSCALL_START.toString(16);
    const e = (VSYSCALL_START + 4096n).toString(16);
    out += `${padName(`${s}-${e} --xp 00000000 00:00 0 `, '[vsyscall]', false)}\n`;
  }
  return out;
}

/** struct mem_size_stats: bytes, Pss-like fields in bytes << PSS_SHIFT. */
export interface MemSizeStats {
  resident: number;
  shared_clean: number;
  shared_dirty: number;
  private_clean: number;
  private_dirty: number;
  referenced: number;
  anonymous: number;
  lazyfree: number;
  swap: number;
  pss: number;
  pss_dirty: number;
  pss_anon: number;
  pss_file: number;
  pss_shmem: number;
  pss_locked: number;
  swap_pss: number;
}

/** An empty mem_size_stats. */
export function memSizeStats(): MemSizeStats {
  return {
    resident: 0, shared_clean: 0, shared_dirty: 0, private_clean: 0, private_dirty: 0, referenced: 0, anonymous: 0, lazyfree: 0, swap: 0,
    pss: 0, pss_dirty: 0, pss_anon: 0, pss_file: 0, pss_shmem: 0, pss_locked: 0, swap_pss: 0,
  };
}

/** What smaps accounting reads besides the mm. */
export interface SmapsSources {
  readonly memory: MemoryModel;
  /** swp_swapcount(); absent when the composition has no swap. */
  readonly swapCount?: (entry: number) => number;
}

/**
 * smap_gather_stats() over every VMA of `mm`: smaps_pte_entry() for each PTE
 * (present pages through smaps_account / smaps_page_accumulate, the zero
 * page not at all — vm_normal_page() has no page for it —, swap entries by
 * their swap count). Without a PTE walk (an mm that offers none) the
 * counters stand in: every resident page private, anon dirty, file clean.
 */
export function gatherStats(mm: MmStruct, src: SmapsSources): MemSizeStats {
  const mss = memSizeStats();
  const walk = mm.walkPtes?.bind(mm);
  if (!walk) {
    const c = mm.counters;
    const anon = c.anonRss * PAGE_SIZE;
    const file = (c.fileRss + c.shmemRss) * PAGE_SIZE;
    mss.resident = anon + file;
    mss.anonymous = anon;
    mss.private_dirty = anon;
    mss.private_clean = file;
    mss.referenced = anon + file;
    mss.pss = (anon + file) * 2 ** PSS_SHIFT;
    mss.pss_anon = anon * 2 ** PSS_SHIFT;
    mss.pss_file = c.fileRss * PAGE_SIZE * 2 ** PSS_SHIFT;
    mss.pss_shmem = c.shmemRss * PAGE_SIZE * 2 ** PSS_SHIFT;
    mss.pss_dirty = mss.pss_anon;
    mss.swap = c.swapents * PAGE_SIZE;
    mss.swap_pss = mss.swap * 2 ** PSS_SHIFT;
    return mss;
  }
  const t = src.memory.pages;
  const full = PAGE_SIZE * 2 ** PSS_SHIFT;
  for (const vma of mm.vmas()) {
    const locked = (vma.flags & VM_LOCKED) !== 0;
    walk(vma.start, vma.end, (_addr, entry, bits) => {
      if (entry === -1 || entry === 0) return; // pte_none / the zero page: no struct page to account
      if (entry <= -2) {
        // a swap entry (smaps_pte_entry's is_swap_pte branch)
        mss.swap += PAGE_SIZE;
        const n = src.swapCount ? src.swapCount(-entry - 2) : 1;
        mss.swap_pss += n >= 2 ? Math.floor(full / n) : full;
        return;
      }
      const page = src.memory.pfnToPage(entry - 1);
      const flags = t.flags[page]!;
      const anon = (flags & PG_anon) !== 0;
      mss.resident += PAGE_SIZE;
      if (anon) {
        mss.anonymous += PAGE_SIZE;
        if ((flags & PG_swapbacked) === 0 && (bits & PTE_DIRTY) === 0 && (flags & PG_dirty) === 0) mss.lazyfree += PAGE_SIZE;
      }
      if ((bits & PTE_ACCESSED) !== 0 || (flags & PG_referenced) !== 0) mss.referenced += PAGE_SIZE;
      // smaps_account(): a page mapped twice or more is shared, its Pss split
      const mapcount = t.mapcount[page]!;
      const pss = mapcount >= 2 ? Math.floor(full / mapcount) : full;
      const priv = mapcount < 2;
      const dirty = (bits & PTE_DIRTY) !== 0 || (flags & PG_dirty) !== 0;
      // smaps_page_accumulate()
      mss.pss += pss;
      if (anon) mss.pss_anon += pss;
      else if (flags & PG_swapbacked) mss.pss_shmem += pss;
      else mss.pss_file += pss;
      if (locked) mss.pss_locked += pss;
      if (dirty) {
        mss.pss_dirty += pss;
        if (priv) mss.private_dirty += PAGE_SIZE;
        else mss.shared_dirty += PAGE_SIZE;
      } else if (priv) mss.private_clean += PAGE_SIZE;
      else mss.shared_clean += PAGE_SIZE;
    });
  }
  return mss;
}

/** __show_smap(m, mss, rollup = true): the kB lines. */
export function showSmap(mss: MemSizeStats): string {
  const kb = (bytes: number) => Math.floor(bytes / 1024);
  const pss = (v: number) => Math.floor(v / 2 ** PSS_SHIFT / 1024);
  let out = w8('Rss:            ', kb(mss.resident));
  out += w8(' kB\nPss:            ', pss(mss.pss));
  out += w8(' kB\nPss_Dirty:      ', pss(mss.pss_dirty));
  out += w8(' kB\nPss_Anon:       ', pss(mss.pss_anon));
  out += w8(' kB\nPss_File:       ', pss(mss.pss_file));
  out += w8(' kB\nPss_Shmem:      ', pss(mss.pss_shmem));
  out += w8(' kB\nShared_Clean:   ', kb(mss.shared_clean));
  out += w8(' kB\nShared_Dirty:   ', kb(mss.shared_dirty));
  out += w8(' kB\nPrivate_Clean:  ', kb(mss.private_clean));
  out += w8(' kB\nPrivate_Dirty:  ', kb(mss.private_dirty));
  out += w8(' kB\nReferenced:     ', kb(mss.referenced));
  out += w8(' kB\nAnonymous:      ', kb(mss.anonymous));
  // KSM, huge pages and hugetlb: not simulated
  out += w8(' kB\nKSM:            ', 0);
  out += w8(' kB\nLazyFree:       ', kb(mss.lazyfree));
  out += w8(' kB\nAnonHugePages:  ', 0);
  out += w8(' kB\nShmemPmdMapped: ', 0);
  out += w8(' kB\nFilePmdMapped:  ', 0);
  out += w8(' kB\nShared_Hugetlb: ', 0);
  out += ` kB\nPrivate_Hugetlb: ${String(0).padStart(7)}`;
  out += w8(' kB\nSwap:           ', kb(mss.swap));
  out += w8(' kB\nSwapPss:        ', pss(mss.swap_pss));
  out += w8(' kB\nLocked:         ', pss(mss.pss_locked));
  return `${out} kB\n`;
}

/** /proc/<pid>/smaps_rollup (show_smaps_rollup): a `[rollup]` header from the first VMA's start to the last one's end, then the sums. */
export function showSmapsRollup(task: ProcessTask, src: SmapsSources, ptr32: boolean): string {
  const mm = task.mm;
  // a kernel thread has no mm: the file reads empty (smaps_rollup_open's get_task_mm fails → ESRCH on read in 6.12; an empty view here)
  if (!mm) return '';
  const vmas = mm.vmas();
  const start = vmas.length > 0 ? vmas[0]!.start : 0;
  const end = vmas.length > 0 ? vmas[vmas.length - 1]!.end : 0;
  const head = padName(vmaHeader(start, end, 0, 0, '00:00', 0), '[rollup]', ptr32);
  return `${head}\n${showSmap(gatherStats(mm, src))}`;
}

/** The pid of a per-task /proc name ('100/maps' → 100). */
export function pidOf(name: string): number {
  return Number(name.slice(0, name.indexOf('/')));
}

/** /proc/<pid>/maps of every task. */
@injectable()
export class PidMapsProc implements ProcEntry {
  readonly name = '<pid>/maps';
  constructor(
    @inject(TASKS) private readonly tasks: TaskTable,
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(lazy(PAGE_CACHE)) private readonly pageCache: Lazy<PageCache>,
  ) {}
  names(): string[] {
    return this.tasks.all().map((t) => `${t.pid}/maps`);
  }
  show(name = ''): string {
    return showMaps(this.tasks.get(pidOf(name)), (ino) => filePath(this.pageCache, ino), is32bit(this.topology));
  }
}

/** The path of inode `ino` in the page cache's namespace, or undefined. */
export function filePath(pageCache: Lazy<PageCache>, ino: number): string | undefined {
  try {
    return pageCache().file(ino).path;
  } catch {
    // no such file (or no page cache in this composition): not a file mapping to name
    return undefined;
  }
}

/** /proc/<pid>/smaps_rollup of every task. */
@injectable()
export class PidSmapsRollupProc implements ProcEntry {
  readonly name = '<pid>/smaps_rollup';
  constructor(
    @inject(TASKS) private readonly tasks: TaskTable,
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(lazy(SWAP)) private readonly swap: Lazy<SwapSpace>,
  ) {}
  names(): string[] {
    return this.tasks.all().map((t) => `${t.pid}/smaps_rollup`);
  }
  show(name = ''): string {
    const swap = this.swap;
    return showSmapsRollup(this.tasks.get(pidOf(name)), { memory: this.memory, swapCount: (e) => swap().swapCount(e) }, is32bit(this.topology));
  }
}
