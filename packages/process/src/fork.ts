/**
 * Tasks (kernel/fork.c, kernel/exit.c, fs/exec.c): task_struct with its
 * OOM counters read from its mm, the task table (TASKS: pid order,
 * PF_MEMALLOC nesting, the interleave cursor of `current`) and the process
 * layer (PROCESSES): spawn (fork of init + execve), fork with copy-on-write
 * (dup_mmap + copy_page_range), threads sharing one mm (CLONE_VM), exec,
 * exit (exit_mmap when the last user goes), kernel threads, and the system
 * calls and accesses that reach mmap.ts and memory.ts. A task an access
 * kills (SIGSEGV, SIGBUS, VM_FAULT_OOM) exits with its whole thread group.
 * @module
 */
import {
  CLOCK, ENOMEM, errnoName, type FaultResult, inject, injectable, type InvariantCheck, lazy, type Lazy, MEMORY_MODEL, type MemoryModel, MmsimError,
  type MmapOptions, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN, PAGE_ALLOCATOR, PAGE_CACHE, type PageAllocator, type PageCache, PageOwner, PG_anon,
  type PageOwnerOps, type Processes, type ProcessTask, PROCESSES, RANDOM, type Random, RECLAIM_POLICY, type ReclaimPolicy, type SimClock,
  SLAB_ALLOCATOR, type SlabAllocator, type SpawnOptions, SWAP, type SwapSpace, SYSCTL, type Sysctl, type TaskTable, TASKS, TOPOLOGY, type Topology,
  type TouchResult, VM_ACCOUNT, VMSTAT, type VmStat, Random as Rng,
} from '@mmsim/core';
import {
  accessRange, copyPageRange, doSwapPage, F_MAJOR, F_MINOR, F_NONE, F_OOM, F_SIGBUS, F_SIGSEGV, FAULT_NAMES, type FaultTask,
  type MmEnv, vmaUnlinked, zapRange,
} from './memory.js';
import {
  type Arch, doBrk, doMmap, doMprotect, doMunmap, loadProgram, MmStructImpl, PAGE_SIZE, VmArea, vmStatAccount,
} from './mmap.js';
import { PMD_SIZE, pgdAlloc, pgdFree } from './pgtable.js';
import { AnonVmaTable, checkRmap, describeAnon, migrateAnon, tryToUnmapAnon } from './rmap.js';
import { vmAcctMemory, vmEnoughMemory, vmUnacctMemory } from './util.js';

/** task_struct: identity, its mm, fault counters; the OOM counters are its mm's. */
export class TaskStruct implements ProcessTask, FaultTask {
  oomSkip = false;
  minFlt = 0;
  majFlt = 0;
  state = 'R';
  killedBy?: string;
  /** PF_KTHREAD: a kernel thread, no mm of its own. */
  kthread = false;
  constructor(
    readonly pid: number,
    public tgid: number,
    public ppid: number,
    public comm: string,
    public uid: number,
    public oomScoreAdj: number,
    public cpu: number,
    public mm: MmStructImpl | null,
    public unkillable: boolean,
    readonly startTime: number,
  ) {}
  get anonRss(): number {
    return this.mm?.counters.anonRss ?? 0;
  }
  get fileRss(): number {
    return this.mm?.counters.fileRss ?? 0;
  }
  get shmemRss(): number {
    return this.mm?.counters.shmemRss ?? 0;
  }
  get swapents(): number {
    return this.mm?.counters.swapents ?? 0;
  }
  get pgtablesBytes(): number {
    return this.mm?.counters.pgtablesBytes ?? 0;
  }
  get totalVm(): number {
    return this.mm?.counters.totalVm ?? 0;
  }
}

/** The task table (TASKS): tasks by pid, PF_MEMALLOC nesting and il_prev of `current`. */
@injectable()
export class TaskStructs implements TaskTable {
  readonly byPid = new Map<number, TaskStruct>();
  /** current->flags & PF_MEMALLOC as a nesting depth (reclaim and compaction raise it). */
  memalloc = 0;
  /** current->il_prev: the node the last MPOL_INTERLEAVE allocation used (−1: none yet). */
  ilPrev = -1;
  /** The task with `pid`, or ETASK_UNKNOWN. */
  get(pid: number): TaskStruct {
    const t = this.byPid.get(pid);
    if (!t) throw new MmsimError('ETASK_UNKNOWN', `no task with pid ${pid}`, { details: { pid } });
    return t;
  }
  has(pid: number): boolean {
    return this.byPid.has(pid);
  }
  /** for_each_process, in pid order. */
  all(): TaskStruct[] {
    return [...this.byPid.values()].sort((a, b) => a.pid - b.pid);
  }
  /** alloc_pid(): `want` when free, else the lowest free pid from 1 up (no wrap modelled). */
  allocPid(want?: number): number {
    if (want !== undefined) {
      if (!Number.isInteger(want) || want < 1 || want > 4194304) throw new MmsimError('EINVAL', `pid ${want} is not a pid (1..4194304)`, { details: { pid: want } });
      if (this.byPid.has(want)) throw new MmsimError('EINVAL', `pid ${want} is in use`, { details: { pid: want } });
      return want;
    }
    let pid = 1;
    while (this.byPid.has(pid)) pid++;
    return pid;
  }
}

/** Defaults of a spawned program image: one page each of text and data, no bss beyond it. */
const DEFAULT_TEXT = PAGE_SIZE;
const DEFAULT_DATA = PAGE_SIZE;

/** The process layer (PROCESSES) and the mechanisms' environment (MmEnv). */
@injectable()
export class ProcessLayer implements Processes, MmEnv {
  readonly anonVmas = new AnonVmaTable();
  /** Live address spaces by id. */
  readonly mms = new Map<number, MmStructImpl>();
  private nextMmId = 1;
  readonly arch: Arch;
  constructor(
    @inject(TASKS) private readonly taskTable: TaskTable,
    @inject(MEMORY_MODEL) readonly memory: MemoryModel,
    @inject(PAGE_ALLOCATOR) readonly pages: PageAllocator,
    @inject(VMSTAT) readonly vmstat: VmStat,
    @inject(SYSCTL) readonly sysctl: Sysctl,
    @inject(TOPOLOGY) readonly topology: Topology,
    @inject(CLOCK) private readonly clock: SimClock,
    @inject(RANDOM) private readonly random: Random,
    @inject(lazy(RECLAIM_POLICY)) private readonly policyOf: Lazy<ReclaimPolicy>,
    @inject(lazy(SWAP)) private readonly swapOf: Lazy<SwapSpace>,
    @inject(lazy(PAGE_CACHE)) private readonly pageCacheOf: Lazy<PageCache>,
    @inject(lazy(SLAB_ALLOCATOR)) private readonly slabOf: Lazy<SlabAllocator>,
  ) {
    this.arch = topology.arch;
    const node = vmstat.node;
    for (const k of ['nr_anon_pages', 'nr_mapped', 'nr_file_pages', 'nr_shmem', 'nr_page_table_pages', 'nr_committed']) node[k] ??= 0;
  }
  // ---- MmEnv ----
  policy(): ReclaimPolicy {
    return this.policyOf();
  }
  swap(): SwapSpace {
    return this.swapOf();
  }
  pageCache(): PageCache {
    return this.pageCacheOf();
  }
  slab(): SlabAllocator {
    return this.slabOf();
  }
  /** The task table as this layer fills it. */
  get tasks(): TaskStructs {
    return this.taskTable as TaskStructs;
  }

  // ---- tasks ----

  task(pid: number): TaskStruct {
    return this.tasks.get(pid);
  }

  /** A task with an address space (not a kernel thread), or ETASK_UNKNOWN / EINVAL. */
  private userTask(pid: number): TaskStruct & { mm: MmStructImpl } {
    const t = this.tasks.get(pid);
    if (t.mm === null) throw new MmsimError('EINVAL', `pid ${pid} (${t.comm}) is a kernel thread: it has no address space`, { details: { pid } });
    return t as TaskStruct & { mm: MmStructImpl };
  }

  private checkAdj(adj: number | undefined): number {
    if (adj === undefined) return 0;
    if (!Number.isInteger(adj) || adj < OOM_SCORE_ADJ_MIN || adj > OOM_SCORE_ADJ_MAX) {
      throw new MmsimError('EINVAL', `oom_score_adj must be an integer ${OOM_SCORE_ADJ_MIN}..${OOM_SCORE_ADJ_MAX}, got ${adj}`, { details: { oomScoreAdj: adj } });
    }
    return adj;
  }

  private checkCpu(cpu: number | undefined): number {
    if (cpu === undefined) return 0;
    if (!Number.isInteger(cpu) || !this.topology.nodes.some((n) => n.cpus.includes(cpu))) {
      throw new MmsimError('EINVAL', `cpu ${cpu} does not exist`, { details: { cpu } });
    }
    return cpu;
  }

  private checkSize(what: string, n: number | undefined): void {
    if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 2 ** 40)) throw new MmsimError('EBAD_SIZE', `${what} must be a byte count, got ${n}`, { details: { [what]: n } });
  }

  /** mm_alloc() + pgd_alloc(). */
  private newMm(cpu: number): MmStructImpl {
    const mm = new MmStructImpl(this.nextMmId++, this.arch);
    if (!pgdAlloc(this, mm.pt, mm.id, cpu, mm.taskSize)) throw new MmsimError('ENOFAIL', 'no page for a page-table root: the machine is out of memory');
    this.mms.set(mm.id, mm);
    return mm;
  }

  spawn(opts: SpawnOptions): TaskStruct {
    if (!opts || typeof opts.comm !== 'string') throw new MmsimError('EINVAL', 'spawn: comm (a string) is required');
    const adj = this.checkAdj(opts.oomScoreAdj);
    const cpu = this.checkCpu(opts.cpu);
    const uid = opts.uid ?? 0;
    if (!Number.isInteger(uid) || uid < 0) throw new MmsimError('EINVAL', `uid must be a non-negative integer, got ${uid}`);
    this.checkSize('text', opts.text);
    this.checkSize('data', opts.data);
    this.checkSize('bss', opts.bss);
    const pid = this.tasks.allocPid(opts.pid);
    const comm = opts.comm.slice(0, 15); // TASK_COMM_LEN
    let mm: MmStructImpl | null = null;
    if (!opts.kthread) {
      mm = this.newMm(cpu);
      loadProgram(this, mm, `/usr/bin/${comm}`, opts.text ?? DEFAULT_TEXT, opts.data ?? DEFAULT_DATA, opts.bss ?? 0);
    }
    // init's parent is the idle task; kernel threads are kthreadd's (pid 2) children
    const ppid = opts.kthread ? (pid === 2 ? 0 : 2) : pid === 1 ? 0 : 1;
    // oom_unkillable_task(): kernel threads, and init (is_global_init: the thread group of pid 1)
    const t = new TaskStruct(pid, pid, ppid, comm, uid, adj, cpu, mm, opts.kthread === true || pid === 1, this.clock.now());
    if (opts.kthread) {
      t.state = 'S';
      t.kthread = true;
    }
    this.tasks.byPid.set(pid, t);
    return t;
  }

  /**
   * fork() (dup_mmap: every VMA copied, VM_ACCOUNT ones charged again,
   * private pages shared copy-on-write) or, with `thread`, clone(CLONE_VM):
   * the same mm, one more user. A fork the machine refuses (overcommit 2,
   * no page for a page table) throws EINVAL naming the errno, which
   * {@link kernelClone} returns instead.
   */
  fork(pid: number, opts: { child?: number; thread?: boolean; comm?: string } = {}): TaskStruct {
    const r = this.kernelClone(pid, opts);
    if (typeof r === 'number') throw new MmsimError('EINVAL', `fork of pid ${pid} refused with ${errnoName(r)} (kernelClone() returns it)`, { details: { pid, errno: r } });
    return r;
  }

  /** kernel_clone(): the child, or −ENOMEM with nothing changed. */
  kernelClone(pid: number, opts: { child?: number; thread?: boolean; comm?: string } = {}): TaskStruct | number {
    const parent = this.tasks.get(pid);
    const childPid = this.tasks.allocPid(opts.child);
    const comm = (opts.comm ?? parent.comm).slice(0, 15);
    let mm: MmStructImpl | null = null;
    if (parent.mm !== null) {
      if (opts.thread) {
        mm = parent.mm;
        mm.users++;
      } else {
        const m = this.dupMmap(parent, parent.mm);
        if (typeof m === 'number') return m;
        mm = m;
      }
    }
    const tgid = opts.thread ? parent.tgid : childPid;
    const t = new TaskStruct(childPid, tgid, opts.thread ? parent.ppid : parent.tgid, comm, parent.uid, parent.oomScoreAdj, parent.cpu, mm, parent.mm === null || tgid === 1, this.clock.now());
    this.tasks.byPid.set(childPid, t);
    return t;
  }

  /** dup_mmap(): the child's address space. */
  private dupMmap(parent: TaskStruct, old: MmStructImpl): MmStructImpl | number {
    let charge = 0;
    for (const v of old.list) if (v.flags & VM_ACCOUNT) charge += v.pages;
    if (charge && vmEnoughMemory(this, old.counters.totalVm, charge, parent.uid === 0) < 0) return -ENOMEM;
    const mm = this.newMm(parent.cpu);
    for (const k of ['startCode', 'endCode', 'startData', 'endData', 'startBrk', 'brk', 'startStack'] as const) mm[k] = old[k];
    const c = mm.counters;
    c.hiwaterRssMark = 0;
    for (const v of old.list) {
      const nv = new VmArea(mm, v.start, v.end, v.flags, v.pgoff, v.ino, v.label, v.anonVma);
      v.anonVma?.vmas.add(nv);
      mm.list.push(nv);
      vmStatAccount(mm, v.flags, v.pages);
      if (!copyPageRange(this, old, mm, v, parent.cpu)) {
        // out of memory for page tables: undo the child entirely (exit_mmap gives back what it holds)
        let held = 0;
        for (const w of mm.list) if (w.flags & VM_ACCOUNT) held += w.pages;
        this.exitMmap(mm);
        vmUnacctMemory(this, charge - held);
        return -ENOMEM;
      }
    }
    return mm;
  }

  exec(pid: number, opts: { comm?: string; text?: number; data?: number; bss?: number } = {}): void {
    const t = this.tasks.get(pid);
    this.checkSize('text', opts.text);
    this.checkSize('data', opts.data);
    this.checkSize('bss', opts.bss);
    if (opts.comm !== undefined) t.comm = opts.comm.slice(0, 15);
    // de_thread(): the other threads of the group die first
    for (const o of this.tasks.all()) {
      if (o.tgid === t.tgid && o !== t) {
        o.killedBy = 'SIGKILL';
        this.doExit(o);
      }
    }
    // exec_mmap(): a fresh mm; the old one loses this user
    const mm = this.newMm(t.cpu);
    const old = t.mm;
    t.mm = mm;
    if (old !== null) this.mmput(old);
    loadProgram(this, mm, `/usr/bin/${t.comm}`, opts.text ?? DEFAULT_TEXT, opts.data ?? DEFAULT_DATA, opts.bss ?? 0);
    t.minFlt = 0;
    t.majFlt = 0;
  }

  exit(pid: number): void {
    const t = this.tasks.get(pid);
    this.doExit(t);
  }

  /** do_exit() + release_task(): the mm loses a user (exit_mmap at the last), the task leaves the table. */
  private doExit(t: TaskStruct): void {
    const mm = t.mm;
    t.mm = null;
    t.state = 'X';
    this.tasks.byPid.delete(t.pid);
    if (mm !== null) this.mmput(mm);
  }

  /** mmput(): the last user tears the address space down. */
  private mmput(mm: MmStructImpl): void {
    if (--mm.users > 0) return;
    this.exitMmap(mm);
  }

  /** exit_mmap(): every VMA zapped and unlinked, its accounting given back, every table page freed. */
  private exitMmap(mm: MmStructImpl): void {
    mm.dead = true;
    let unacct = 0;
    for (const v of mm.list) {
      zapRange(this, mm, v, v.start, v.end);
      if (v.flags & VM_ACCOUNT) unacct += v.pages;
    }
    const vmas = mm.list.splice(0);
    for (const v of vmas) {
      v.anonVma?.vmas.delete(v);
      vmaUnlinked(this, v.anonVma);
      vmStatAccount(mm, v.flags, -v.pages);
    }
    mm.invalidateCache();
    if (unacct) vmUnacctMemory(this, unacct);
    pgdFree(this, mm.pt);
    this.mms.delete(mm.id);
  }

  /** The whole thread group dies of `sig` (a fatal signal the access raised). */
  private kill(t: TaskStruct, sig: string): void {
    for (const o of this.tasks.all()) {
      if (o.tgid === t.tgid && o !== t) {
        o.killedBy = sig;
        this.doExit(o);
      }
    }
    t.killedBy = sig;
    if (this.tasks.byPid.get(t.pid) === t) this.doExit(t);
  }

  // ---- system calls ----

  mmap(pid: number, len: number, opts: MmapOptions = {}): number {
    const t = this.userTask(pid);
    if (opts.ino) this.pageCache().file(opts.ino);
    return doMmap(this, t.mm, t, len, opts);
  }

  munmap(pid: number, addr: number, len: number): number {
    const t = this.userTask(pid);
    return doMunmap(this, t.mm, addr, len);
  }

  mprotect(pid: number, addr: number, len: number, prot: number): number {
    const t = this.userTask(pid);
    return doMprotect(this, t.mm, t, addr, len, prot);
  }

  brk(pid: number, addr: number): number {
    const t = this.userTask(pid);
    return doBrk(this, t.mm, t, addr);
  }

  access(pid: number, addr: number, write: boolean): FaultResult {
    const t = this.userTask(pid);
    if (!Number.isFinite(addr) || addr < 0) throw new MmsimError('EINVAL', `access: address ${addr} is not an address`);
    const page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    const r = accessRange(this, t, t.mm, page, page + PAGE_SIZE, write, null);
    if (r.result !== F_NONE) {
      this.afterFault(t, r.result);
      return FAULT_NAMES[r.result]!;
    }
    return r.major ? 'major' : r.minor ? 'minor' : 'none';
  }

  /** A fatal access outcome kills the task (and its thread group). */
  private afterFault(t: TaskStruct, r: number): void {
    if (r === F_SIGSEGV) this.kill(t, 'SIGSEGV');
    else if (r === F_SIGBUS) this.kill(t, 'SIGBUS');
    else if (r === F_OOM) this.kill(t, 'OOM');
  }

  touch(pid: number, addr: number, len: number, opts: { write?: boolean; random?: boolean; seed?: number } = {}): TouchResult {
    const t = this.userTask(pid);
    if (!Number.isFinite(addr) || addr < 0 || !Number.isFinite(len) || len < 0) throw new MmsimError('EINVAL', `touch: bad range ${addr}+${len}`);
    const start = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    const end = Math.ceil((addr + len) / PAGE_SIZE) * PAGE_SIZE;
    if (end <= start) return { hits: 0, minor: 0, major: 0 };
    let order: Uint32Array | null = null;
    if (opts.random) {
      const n = (end - start) / PAGE_SIZE;
      if (n > 2 ** 28) throw new MmsimError('EBAD_SIZE', `touch: ${n} pages are too many for a random order`);
      order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      const rng = opts.seed !== undefined ? new Rng(opts.seed) : this.random;
      for (let i = n - 1; i > 0; i--) {
        const j = rng.below(i + 1);
        const x = order[i]!;
        order[i] = order[j]!;
        order[j] = x;
      }
    }
    const r = accessRange(this, t, t.mm, start, end, opts.write === true, order);
    const out: TouchResult = { hits: r.hits, minor: r.minor, major: r.major };
    if (r.result !== F_NONE && r.result !== F_MINOR && r.result !== F_MAJOR) {
      this.afterFault(t, r.result);
      out.killed = r.result === F_SIGSEGV ? 'SIGSEGV' : r.result === F_SIGBUS ? 'SIGBUS' : 'OOM';
      out.faultAddr = r.faultAddr;
    }
    return out;
  }

  /**
   * try_to_unuse() for swapoff of device `type`: every PTE holding a slot of
   * it faults its page back in (the owning task's CPU allocating).
   */
  unuseSwap(type: number): boolean {
    const swap = this.swap();
    // swapoff runs in its own context: the pages come from its CPU and count no task's faults
    const ctx: FaultTask = { pid: 0, uid: 0, cpu: 0, minFlt: 0, majFlt: 0 };
    for (const mm of [...this.mms.values()]) {
      if (mm.counters.swapents === 0 || mm.dead) continue;
      for (const [k, tab] of [...mm.pt.ptes]) {
        for (let s = 0; s < 512; s++) {
          const e = tab.entry[s]!;
          if (e > -2 || swap.swapType(-e - 2) !== type) continue;
          const addr = k * PMD_SIZE + s * PAGE_SIZE;
          const v = mm.vmaLookup(addr);
          if (v === undefined) continue;
          // unuse_pte(): the page comes back without counting a fault
          if (doSwapPage(this, ctx, mm, v, tab, s, addr, false, false) === F_OOM) return false;
        }
      }
    }
    return true;
  }

  // ---- helpers for others ----

  /** The mm of task `pid` with its implementation's extras (page tables, VMA objects). */
  mmOf(pid: number): MmStructImpl {
    return this.userTask(pid).mm;
  }

  /** vm_acct_memory() for a caller outside the address spaces (shmem, hugetlb reservations). */
  acctMemory(pages: number): void {
    vmAcctMemory(this, pages);
  }
}

/** The ANON page owner (PAGE_OWNER): reclaim's try_to_unmap, compaction's migration, reports. */
@injectable()
export class AnonPageOwner implements PageOwnerOps {
  readonly name = 'anon';
  readonly kind = PageOwner.ANON;
  constructor(@inject(lazy(PROCESSES)) private readonly processes: Lazy<Processes>) {}
  private env(): ProcessLayer {
    return this.processes() as ProcessLayer;
  }
  /** Anonymous pages of our anon_vmas only (a workload's own anonymous pages are not ours). */
  owns(pfn: number): boolean {
    const env = this.env();
    const page = env.memory.pfnToPage(pfn);
    return page >= 0 && (env.memory.pages.flags[page]! & PG_anon) !== 0 && env.anonVmas.byId.has(env.memory.pages.owner[page]!);
  }
  migrate(oldPfn: number, newPfn: number): void {
    migrateAnon(this.env(), oldPfn, newPfn);
  }
  evict(pfn: number, swapEntry?: number): boolean {
    return tryToUnmapAnon(this.env(), pfn, swapEntry);
  }
  describe(pfn: number): string | undefined {
    return describeAnon(this.env(), pfn);
  }
}

/** The 'process-rmap' invariant check (rmap.ts checkRmap) over the live address spaces. */
@injectable()
export class RmapCheck implements InvariantCheck {
  readonly name = 'process-rmap';
  constructor(@inject(lazy(PROCESSES)) private readonly processes: Lazy<Processes>) {}
  check(): void {
    const p = this.processes() as ProcessLayer;
    checkRmap(p, p.mms.values());
  }
}

