/**
 * The process layer's contracts (the points of the services that give the
 * simulator tasks with address spaces): PROCESSES — tasks, mm_struct and
 * VMAs, faults, fork / exec / exit (kernel/fork.c, mm/mmap.c, mm/memory.c);
 * PAGE_CACHE — files and their cached pages (mm/filemap.c, mm/readahead.c,
 * mm/page-writeback.c); SWAP — swap devices, slots and the swap cache
 * (mm/swapfile.c, mm/swap_state.c). The implementations live in a service
 * package (the project's own is `@mmsim/process`).
 *
 * System calls answer as the kernel does: a number ≥ 0, or a negative errno
 * (`-ENOMEM`) for a refusal the task sees. Misuse of the simulator's API
 * (a pid that does not exist, a size that is not a number) is a typed
 * MmsimError instead.
 * @module
 */
import type { Task } from './oom.js';
import type { Sysctl } from './sysctl.js';

// ---- errno (include/uapi/asm-generic/errno-base.h) ----
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EBADF = 9;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
const ERRNO_NAMES: Record<number, string> = {
  [EPERM]: 'EPERM', [ENOENT]: 'ENOENT', [ESRCH]: 'ESRCH', [EBADF]: 'EBADF', [ENOMEM]: 'ENOMEM', [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT', [EBUSY]: 'EBUSY', [EEXIST]: 'EEXIST', [EINVAL]: 'EINVAL', [ENOSPC]: 'ENOSPC',
};
/** 'ENOMEM' for 12 or -12. */
export function errnoName(e: number): string {
  return ERRNO_NAMES[Math.abs(e)] ?? `E${Math.abs(e)}`;
}
/** IS_ERR_VALUE for a syscall result: a negative errno. */
export function isErr(r: number): boolean {
  return r < 0 && r >= -4095;
}

/**
 * vm_commit_limit() (mm/util.c): the CommitLimit of overcommit mode 2, in
 * pages — vm.overcommit_kbytes when set, else (RAM − hugetlb) ×
 * vm.overcommit_ratio / 100 — plus the swap pages. Shared by
 * __vm_enough_memory and /proc/meminfo.
 */
export function vmCommitLimit(totalramPages: number, sysctl: Sysctl, totalSwapPages: number, hugetlbPages = 0): number {
  const kbytes = sysctl.get('vm.overcommit_kbytes');
  const allowed = kbytes ? Math.floor(kbytes / 4) : Math.floor(((totalramPages - hugetlbPages) * sysctl.get('vm.overcommit_ratio')) / 100);
  return allowed + totalSwapPages;
}

// ---- mmap(2) arguments (include/uapi/asm-generic/mman-common.h) ----
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;

// ---- vm_flags (include/linux/mm.h) ----
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_LOCKED = 0x2000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;

/** One VMA (vm_area_struct), as the process layer shows it. Addresses are byte addresses (< 2^53). */
export interface Vma {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  /** VM_* bits. */
  readonly flags: number;
  /** vm_pgoff: for a file mapping, the file page at `start`; for anon, start >> PAGE_SHIFT. */
  readonly pgoff: number;
  /** The mapped file's inode number, or 0 for anonymous memory. */
  readonly ino: number;
  /** '[heap]', '[stack]', or the workload's name for the mapping; the maps column shows the file's path for file mappings. */
  readonly name: string;
}

/** What `mm_struct` counts, derived from the address space (never set by hand). Pages unless said. */
export interface MmCounters {
  /** MM_ANONPAGES */
  anonRss: number;
  /** MM_FILEPAGES */
  fileRss: number;
  /** MM_SHMEMPAGES */
  shmemRss: number;
  /** MM_SWAPENTS */
  swapents: number;
  /** mm_pgtables_bytes(): bytes of PTE, PMD and PUD tables. */
  pgtablesBytes: number;
  /** total_vm */
  totalVm: number;
  /** data_vm: private writable, not stack */
  dataVm: number;
  /** exec_vm */
  execVm: number;
  /** stack_vm */
  stackVm: number;
  /** locked_vm */
  lockedVm: number;
  /** hiwater_rss / hiwater_vm (VmHWM / VmPeak) */
  hiwaterRss: number;
  hiwaterVm: number;
}

/** mm_struct as the process layer shows it. */
export interface MmStruct {
  /** An id unique in the simulator (threads of one process share it). */
  readonly id: number;
  /** The VMAs in address order. */
  vmas(): readonly Vma[];
  /** find_vma(): the first VMA ending above addr, or undefined. */
  findVma(addr: number): Vma | undefined;
  readonly counters: MmCounters;
  readonly startCode: number;
  readonly endCode: number;
  readonly startData: number;
  readonly endData: number;
  readonly startBrk: number;
  readonly brk: number;
  readonly startStack: number;
  readonly mmapBase: number;
  /** TASK_SIZE of this mm's personality. */
  readonly taskSize: number;
  /** Tasks using this mm (mm_users). */
  readonly users: number;
  /** walk_page_range() for /proc (smaps_pte_range): each non-none PTE of [start, end) in order, as the page tables encode it (> 0 pfn + 1, −1 zero page, ≤ −2 swap −(2 + entry)), with its bits (RW 1, ACCESSED 2, DIRTY 4). */
  walkPtes?(start: number, end: number, fn: (addr: number, entry: number, bits: number) => void): void;
}

/** A task of the process layer: what the OOM killer sees (counters derived from its mm), and more. */
export interface ProcessTask extends Task {
  /** Thread-group id (the pid of the group leader). */
  readonly tgid: number;
  /** Parent's pid (0 for init and kernel threads' kthreadd). */
  readonly ppid: number;
  /** null for kernel threads. */
  readonly mm: MmStruct | null;
  /** CPU the task runs on (its allocations are local to this CPU's node). */
  cpu: number;
  /** min_flt / maj_flt */
  readonly minFlt: number;
  readonly majFlt: number;
  /** 'R' running, 'S' sleeping, 'Z' zombie (exited, not reaped), 'X' dead. */
  readonly state: string;
  /** Set when the task died of a signal the simulation raised ('SIGSEGV', 'SIGKILL'). */
  readonly killedBy?: string;
  /** PF_KTHREAD; and task->start_boottime (ns on the simulated clock: stat's starttime, ps's START). */
  readonly kthread?: boolean;
  readonly startTime?: number;
}

/** How an access went (handle_mm_fault's outcome, from the task's side). */
export type FaultResult = 'none' | 'minor' | 'major' | 'sigsegv' | 'oom' | 'sigbus';

/** What a range access did: counts per outcome. */
export interface TouchResult {
  /** Pages whose access needed no fault. */
  hits: number;
  minor: number;
  major: number;
  /** Set when the task was killed part way (SIGSEGV / SIGBUS / OOM): the access stopped there. */
  killed?: 'SIGSEGV' | 'SIGBUS' | 'OOM';
  /** First address that failed, when killed. */
  faultAddr?: number;
}

/** Options of {@link Processes.spawn}. */
export interface SpawnOptions {
  comm: string;
  /** Requested pid (must be free); default the next free one. */
  pid?: number;
  uid?: number;
  /** oom_score_adj, −1000..1000 */
  oomScoreAdj?: number;
  cpu?: number;
  /** Kernel thread: no mm. */
  kthread?: boolean;
  /** Bytes of text, data and bss of the program image (defaults: a small program). */
  text?: number;
  data?: number;
  bss?: number;
}

/** Options of {@link Processes.mmap}. */
export interface MmapOptions {
  /** PROT_* bits (default PROT_READ | PROT_WRITE). */
  prot?: number;
  /** MAP_* bits besides the sharing type (MAP_POPULATE, MAP_NORESERVE, MAP_FIXED, MAP_GROWSDOWN). */
  flags?: number;
  /** MAP_SHARED instead of MAP_PRIVATE. */
  shared?: boolean;
  /** Inode number of a file to map (0 or absent: anonymous). */
  ino?: number;
  /** Byte offset into the file (page aligned). */
  offset?: number;
  /** Address hint (or the address, with MAP_FIXED). */
  addr?: number;
  /** A name for the mapping (shown in maps for anonymous memory as the workload named it). */
  name?: string;
}

/**
 * The process layer (PROCESSES): tasks and their address spaces. Tasks are
 * listed by the TASKS table too; this is where they are made and where
 * their memory comes and goes.
 */
export interface Processes {
  /** A new process (fork of init + exec): a fresh mm with text, data, bss, an empty heap and an 8 MiB stack VMA. */
  spawn(opts: SpawnOptions): ProcessTask;
  /** fork() (or clone(CLONE_VM) with `thread`): the child shares every private page copy-on-write. A refused fork throws: see kernelClone. */
  fork(pid: number, opts?: { child?: number; thread?: boolean; comm?: string }): ProcessTask;
  /** kernel_clone(): fork() as the system call answers — the child, or −errno (−ENOMEM) with nothing changed. */
  kernelClone(pid: number, opts?: { child?: number; thread?: boolean; comm?: string }): ProcessTask | number;
  /** execve(): the old mm is released and a fresh one built. */
  exec(pid: number, opts?: { comm?: string; text?: number; data?: number; bss?: number }): void;
  /** do_exit(): the task's mm is released when its last user exits; the task is reaped. */
  exit(pid: number): void;
  /** The task with `pid` (ETASK_UNKNOWN otherwise). */
  task(pid: number): ProcessTask;
  /** mmap(): the address, or −errno. */
  mmap(pid: number, len: number, opts?: MmapOptions): number;
  /** munmap(): 0 or −errno. Part of a VMA splits it. */
  munmap(pid: number, addr: number, len: number): number;
  /** mprotect(): 0 or −errno. */
  mprotect(pid: number, addr: number, len: number, prot: number): number;
  /** brk(): the new break (the old one when refused, as the syscall returns). */
  brk(pid: number, addr: number): number;
  /** One access (handle_mm_fault when the PTE does not allow it). */
  access(pid: number, addr: number, write: boolean): FaultResult;
  /** Accesses every page of [addr, addr+len): in order, or in a seeded random order. */
  touch(pid: number, addr: number, len: number, opts?: { write?: boolean; random?: boolean; seed?: number }): TouchResult;
  /** swapoff's try_to_unuse(): every PTE holding a slot of swap device `type` gets its page back; false when memory ran out. */
  unuseSwap(type: number): boolean;
}

/** A file of the simulated file namespace (an inode). */
export interface SimFile {
  readonly ino: number;
  readonly path: string;
  /** i_size, bytes */
  readonly size: number;
}

/** Page cache (PAGE_CACHE): files and their cached pages. */
export interface PageCache {
  /** Creates a file of `size` bytes (its data on the simulated device, nothing cached); an EINVAL MmsimError ("exists") when the path exists. */
  create(path: string, size: number): SimFile;
  /** The file at `path`, or undefined. */
  lookup(path: string): SimFile | undefined;
  /** The file with inode `ino` (an EINVAL MmsimError otherwise). */
  file(ino: number): SimFile;
  /** read(2) with readahead on task `pid`'s file_ra_state (pid 0: the kernel): bytes read (or −ENOMEM), pages copied from, pages it read in. */
  read(pid: number, ino: number, offset: number, len: number): { bytes: number; pages: number; readIn: number };
  /** write(2): dirties the pages (allocating those not cached; balance_dirty_pages throttles). Returns bytes written or −errno. */
  write(pid: number, ino: number, offset: number, len: number): number;
  /** fsync(2): writes back the file's dirty pages and waits; returns the pages written. */
  fsync(ino: number): number;
  /**
   * filemap_fault(): the page at file page `index`, read in with read-around when missing (`major`, counted in
   * pgmajfault); with a reference for the caller's PTE (put_page: freePages(pfn, 0)). 'sigbus' past EOF; null: OOM.
   */
  faultPage(ino: number, index: number, pid?: number): { pfn: number; major: boolean } | 'sigbus' | null;
  /** The cached page at file page `index`, or −1 (no reference taken). */
  findPage(ino: number, index: number): number;
  /** Marks a cached page dirty (a write through a shared mapping). */
  dirtyPage(pfn: number): void;
  /** echo N > /proc/sys/vm/drop_caches: 1 page cache (clean, unmapped), 2 slab, 3 both. Returns the pages freed. */
  dropCaches(mode: number): number;
  /** Pages cached for file `ino`. */
  cachedPages(ino: number): number;
}

/** One swap device (swap_info_struct). */
export interface SwapDevice {
  readonly type: number;
  readonly name: string;
  /** Slots (pages), excluding the header page. */
  readonly pages: number;
  readonly inuse: number;
  readonly prio: number;
}

/**
 * Swap space (SWAP): devices, slots and the swap cache (mm/swapfile.c,
 * mm/swap_state.c). Counts in pages. A swap entry is a small non-negative
 * integer, dense over all devices (the implementation maps it to the
 * device's type and slot offset, as swp_entry(type, offset) does), so a PTE
 * can hold it.
 */
export interface SwapSpace {
  /** total_swap_pages */
  readonly total: number;
  /** nr_swap_pages */
  readonly free: number;
  /** swapon(): `size` bytes (a header page and slots), `prio` 0..32767 (default −2, −3, ...). Its type, or −EPERM (MAX_SWAPFILES), −EINVAL (no slot), −EBUSY (name on). */
  swapon(opts: { size: number; prio?: number; name?: string }): number;
  /** swapoff(): brings every page back in (try_to_unuse through PROCESSES); 0, or −ENOMEM when memory ran out (the device stays on). */
  swapoff(type: number): number;
  /** The devices, in type order (/proc/swaps). */
  devices(): readonly SwapDevice[];
  /** swp_type() of a valid entry. */
  swapType(entry: number): number;
  /** get_swap_page(): a free slot of the highest-priority device with room (count 1), or −1 when none. */
  getSwapPage(): number;
  /** swap_duplicate(): one more PTE holds `entry` (fork). */
  swapDuplicate(entry: number): void;
  /** swap_free(): one PTE less holds `entry`; the slot is free when no holder and no swap-cache page is left. */
  swapFree(entry: number): void;
  /** Holders of `entry` (swap_count). */
  swapCount(entry: number): number;
  /** The swap-cache page of `entry`, or −1 (lookup_swap_cache). */
  lookupSwapCache(entry: number): number;
  /** add_to_swap_cache(): PG_swapcache, nr_swapcached and nr_file_pages; no page reference is taken (free it out of the cache). */
  addToSwapCache(pfn: number, entry: number): void;
  /** delete_from_swap_cache(): `pfn` leaves the swap cache (the slot keeps its holders). */
  deleteFromSwapCache(pfn: number): void;
  /** The entry of a swap-cache page, or −1. */
  pageSwapEntry(pfn: number): number;
  /** swap_writepage(): the device write of one page; advances the simulated clock by the I/O time, counts pswpout. */
  writePage(entry: number): void;
  /** swap_read_folio(): the device read of one page; counts pswpin. */
  readPage(entry: number): void;
}
