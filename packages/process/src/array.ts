/**
 * The task views of /proc/<pid> (fs/proc/array.c): `status`
 * (proc_pid_status), `stat` (do_task_stat) and `statm` (proc_pid_statm),
 * and `oom_score_adj` (fs/proc/base.c oom_score_adj_read), in 6.12's exact
 * formats. What the simulator does not model (signals, credentials beyond
 * the uid, capabilities, seccomp, CPU time, context switches) prints what a
 * plain process on a 6.x distribution kernel shows.
 * @module
 */
import {
  inject, injectable, type ProcEntry, type ProcessTask, TASKS, type TaskTable, TOPOLOGY, type Topology,
} from '@mmsim/core';
import { is32bit, pidOf, showStatm, taskMem, taskVsize } from './task_mmu.js';

/** PF_KTHREAD | PF_NOFREEZE | PF_FORKNOEXEC: what a kernel thread's task->flags hold. */
const PF_KTHREAD_FLAGS = 0x00200000 | 0x00008000 | 0x00000040;
/** PF_RANDOMIZE: a user process with address-space randomisation. */
const PF_RANDOMIZE = 0x00400000;
/** SIGCHLD: a process's exit_signal. */
const SIGCHLD = 17;
/** USER_HZ: clock ticks per second of stat's time fields. */
const USER_HZ = 100;
/** RLIM_INFINITY as the unsigned long stat prints for rsslim. */
const RLIM_INFINITY = '18446744073709551615';
/** CAP_FULL_SET in 6.12 (CAP_LAST_CAP = CAP_CHECKPOINT_RESTORE = 40). */
const CAP_FULL = '000001ffffffffff';
const CAP_NONE = '0000000000000000';
/** A sigset_t of _NSIG = 64 signals, rendered (render_sigset_t). */
const SIGSET_EMPTY = '0000000000000000';
const SIGSET_FULL = 'ffffffffffffffff';
/** MAX_NUMNODES of a distribution kernel: CONFIG_NODES_SHIFT=10 on x86_64; i386 kernels are built without NUMA. */
const MAX_NUMNODES_64 = 1024;

/** task_state_array: the letter and its name. */
const TASK_STATES: Record<string, string> = {
  R: 'R (running)', S: 'S (sleeping)', D: 'D (disk sleep)', T: 'T (stopped)', t: 't (tracing stop)', X: 'X (dead)', Z: 'Z (zombie)', P: 'P (parked)', I: 'I (idle)',
};

/** get_task_state(): the state letter (R when the task says nothing else). */
function stateLetter(task: ProcessTask): string {
  const s = task.state?.[0] ?? 'R';
  return TASK_STATES[s] !== undefined ? s : 'R';
}

/** comm as the task holds it: TASK_COMM_LEN (16) bytes with the NUL. */
function comm(task: ProcessTask): string {
  return task.comm.slice(0, 15);
}

/** proc_task_name(m, p, escape = true): only '\n' and '\\' are escaped (seq_escape_str with "\n\\"). */
function escapedComm(task: ProcessTask): string {
  return comm(task).replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * `%*pb` of a bitmap of `nbits` bits with the bits of `set`: 32-bit chunks
 * in hex, most significant first, separated by commas; the first chunk only
 * as wide as its bits need (bitmap_string).
 */
export function bitmapString(nbits: number, set: readonly number[]): string {
  const words = new Uint32Array(Math.ceil(nbits / 32));
  for (const b of set) if (b >= 0 && b < nbits) words[b >> 5]! |= 1 << (b & 31);
  let chunksz = nbits & 31 || 32;
  let out = '';
  for (let i = words.length - 1; i >= 0; i--) {
    const mask = chunksz === 32 ? 0xffffffff : (2 ** chunksz - 1);
    const val = (words[i]! & mask) >>> 0;
    if (out !== '') out += ',';
    out += val.toString(16).padStart(Math.ceil(chunksz / 4), '0');
    chunksz = 32;
  }
  return out;
}

/** `%*pbl`: the set bits as ranges, '0-3,5'. */
export function bitmapList(set: readonly number[]): string {
  const s = [...new Set(set)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * RLIMIT_SIGPENDING of init, which every task inherits: max_threads / 2,
 * max_threads = totalram_pages * PAGE_SIZE / (8 * THREAD_SIZE) clamped to
 * [MIN_THREADS, MAX_THREADS] (set_max_threads in kernel/fork.c). THREAD_SIZE
 * is 16 KiB on x86_64, 8 KiB on i386.
 */
export function sigpendingLimit(topology: Topology): number {
  const threadSize = is32bit(topology) ? 8192 : 16384;
  const threads = Math.floor((topology.totalManagedPages * 4096) / (8 * threadSize));
  const maxThreads = Math.min(Math.max(threads, 20), 0x3fffffff);
  return Math.floor(maxThreads / 2);
}

/** What the task views read besides the task itself. */
export interface TaskViewSources {
  readonly tasks: TaskTable;
  readonly topology: Topology;
}

/** Threads of `task`'s group (signal->nr_threads). */
function nrThreads(task: ProcessTask, tasks: TaskTable): number {
  let n = 0;
  for (const t of tasks.all()) if (t.tgid === task.tgid) n++;
  return Math.max(n, 1);
}

/**
 * The session (and process group) a task belongs to: a process the
 * workload spawned leads its own session, as a program started from a
 * login would; its forks and threads inherit it. Kernel threads: 0.
 */
export function sessionOf(task: ProcessTask, tasks: TaskTable): number {
  if (isKthread(task)) return 0;
  let t = task;
  for (let guard = 0; guard < 1 << 20; guard++) {
    const parent = t.ppid > 1 && tasks.has(t.ppid) ? tasks.get(t.ppid) : undefined;
    if (!parent || isKthread(parent)) return t.tgid;
    t = parent;
  }
  return t.tgid;
}

/** A kernel thread (PF_KTHREAD); a task without mm that is not a zombie is one too. */
export function isKthread(task: ProcessTask): boolean {
  return task.kthread ?? (task.mm === null && task.state !== 'Z' && task.state !== 'X');
}

/** proc_pid_status(): /proc/<pid>/status. */
export function showStatus(task: ProcessTask, src: TaskViewSources): string {
  const kthread = isKthread(task);
  const uid = task.uid;
  const sid = sessionOf(task, src.tasks);
  const ids = (v: number) => `${v}\t${v}\t${v}\t${v}`;
  // task_state()
  let out = `Name:\t${escapedComm(task)}\n`;
  out += 'Umask:\t0022\n';
  out += `State:\t${TASK_STATES[stateLetter(task)]}\n`;
  out += `Tgid:\t${task.tgid}\nNgid:\t0\nPid:\t${task.pid}\nPPid:\t${task.ppid}\nTracerPid:\t0\n`;
  out += `Uid:\t${ids(uid)}\nGid:\t${ids(uid)}\n`;
  // files_fdtable()->max_fds: NR_OPEN_DEFAULT until a task opens more than 64 files
  out += 'FDSize:\t64\nGroups:\t \n';
  out += `NStgid:\t${task.tgid}\nNSpid:\t${task.pid}\nNSpgid:\t${sid}\nNSsid:\t${sid}\n`;
  out += `Kthread:\t${kthread ? 1 : 0}\n`;
  const mm = task.mm;
  if (mm) {
    out += taskMem(mm);
    out += 'CoreDumping:\t0\n';
    out += 'THP_enabled:\t1\n';
    // mm_untag_mask(): -1UL, no LAM tagging
    out += `untag_mask:\t${is32bit(src.topology) ? '0xffffffff' : '0xffffffffffffffff'}\n`;
  }
  // task_sig()
  out += `Threads:\t${nrThreads(task, src.tasks)}\nSigQ:\t0/${sigpendingLimit(src.topology)}\n`;
  out += `SigPnd:\t${SIGSET_EMPTY}\nShdPnd:\t${SIGSET_EMPTY}\nSigBlk:\t${SIGSET_EMPTY}\n`;
  // kernel threads ignore every signal (ignore_signals() in kthreadd)
  out += `SigIgn:\t${kthread ? SIGSET_FULL : SIGSET_EMPTY}\nSigCgt:\t${SIGSET_EMPTY}\n`;
  // task_cap(): root holds every capability, others none; the bounding set is full
  const caps = uid === 0 ? CAP_FULL : CAP_NONE;
  out += `CapInh:\t${CAP_NONE}\nCapPrm:\t${caps}\nCapEff:\t${caps}\nCapBnd:\t${CAP_FULL}\nCapAmb:\t${CAP_NONE}\n`;
  // task_seccomp()
  out += 'NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n';
  out += 'Speculation_Store_Bypass:\tvulnerable\nSpeculationIndirectBranch:\talways enabled\n';
  // task_cpus_allowed(), cpuset_task_status_allowed()
  const cpus = src.topology.nodes.flatMap((n) => n.cpus);
  const nrCpuIds = Math.max(...cpus, 0) + 1;
  const nids = src.topology.nodes.map((n) => n.nid);
  const maxNodes = is32bit(src.topology) ? Math.max(...nids, 0) + 1 : MAX_NUMNODES_64;
  out += `Cpus_allowed:\t${bitmapString(nrCpuIds, cpus)}\nCpus_allowed_list:\t${bitmapList(cpus)}\n`;
  out += `Mems_allowed:\t${bitmapString(maxNodes, nids)}\nMems_allowed_list:\t${bitmapList(nids)}\n`;
  out += 'voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n';
  return out;
}

/**
 * Where exec left argv and the environment (mm->arg_start .. env_end):
 * above start_stack, below the top of the stack VMA, as fs/exec.c copies
 * them — the program's path, then (none) environment strings, then argv,
 * here just the command name.
 */
function argEnv(task: ProcessTask): [number, number, number, number] {
  const mm = task.mm!;
  const stack = mm.vmas().find((v) => v.start <= mm.startStack && v.end > mm.startStack);
  const top = stack ? stack.end : mm.startStack;
  const name = comm(task);
  // bprm->p starts one pointer below the top; the filename, then argv[0]
  const p = top - (mm.taskSize > 2 ** 32 ? 8 : 4) - (name.length + 1);
  const argStart = p - (name.length + 1);
  const argEnd = p;
  return [argStart, argEnd, argEnd, argEnd];
}

/** do_task_stat(m, ns, pid, task, whole = 1): /proc/<pid>/stat, 52 fields on one line. */
export function showStat(task: ProcessTask, src: TaskViewSources): string {
  const kthread = isKthread(task);
  const mm = task.mm;
  const sid = sessionOf(task, src.tasks);
  const state = stateLetter(task);
  const threads = nrThreads(task, src.tasks);
  const startTime = Math.floor((task.startTime ?? 0) / (1e9 / USER_HZ));
  const f: (string | number)[] = [
    task.pid, `(${comm(task)})`, state, task.ppid, sid, sid,
    0, -1, // tty_nr, tty_pgrp: no controlling terminal
    kthread ? PF_KTHREAD_FLAGS : PF_RANDOMIZE,
    task.minFlt, 0, task.majFlt, 0, // min_flt, cmin_flt, maj_flt, cmaj_flt
    0, 0, 0, 0, // utime, stime, cutime, cstime (no CPU time is simulated)
    20, 0, threads, 0, // priority (task_prio: 120 - MAX_RT_PRIO), nice, num_threads, itrealvalue
    startTime,
    mm ? taskVsize(mm) : 0,
    mm ? mm.counters.anonRss + mm.counters.fileRss + mm.counters.shmemRss : 0,
    RLIM_INFINITY,
    mm ? mm.startCode : 0, mm ? mm.endCode : 0, mm ? mm.startStack : 0,
    0, 0, // esp, eip: zeroed unless the task is dumping core
    0, 0, kthread ? 0x7fffffff : 0, 0, // signal, blocked, sigignore, sigcatch
    state === 'R' ? 0 : 1, // wchan: whether /proc/PID/wchan has something
    0, 0, // nswap, cnswap
    kthread && task.pid === 2 ? 0 : task.tgid !== task.pid ? -1 : SIGCHLD, // exit_signal: kthreadd has none, threads -1
    task.cpu, 0, 0, 0, 0, 0, // processor, rt_priority, policy, delayacct_blkio_ticks, gtime, cgtime
  ];
  if (mm) f.push(mm.startData, mm.endData, mm.startBrk, ...argEnv(task));
  else f.push(0, 0, 0, 0, 0, 0, 0);
  f.push(0); // exit_code
  return `${f.join(' ')}\n`;
}

/** oom_score_adj_read(): `%hd\n`. */
export function showOomScoreAdj(task: ProcessTask): string {
  return `${task.oomScoreAdj}\n`;
}

/** A per-task view: `<pid>/NAME` for every task, shown by `fn`. */
abstract class PidView implements ProcEntry {
  abstract readonly file: string;
  get name(): string {
    return `<pid>/${this.file}`;
  }
  constructor(
    protected readonly tasks: TaskTable,
    protected readonly topology: Topology,
  ) {}
  names(): string[] {
    return this.tasks.all().map((t) => `${t.pid}/${this.file}`);
  }
  show(name = ''): string {
    return this.render(this.tasks.get(pidOf(name)));
  }
  protected abstract render(task: ProcessTask): string;
}

/** /proc/<pid>/status of every task. */
@injectable()
export class PidStatusProc extends PidView {
  readonly file = 'status';
  constructor(@inject(TASKS) tasks: TaskTable, @inject(TOPOLOGY) topology: Topology) {
    super(tasks, topology);
  }
  protected render(task: ProcessTask): string {
    return showStatus(task, { tasks: this.tasks, topology: this.topology });
  }
}

/** /proc/<pid>/stat of every task. */
@injectable()
export class PidStatProc extends PidView {
  readonly file = 'stat';
  constructor(@inject(TASKS) tasks: TaskTable, @inject(TOPOLOGY) topology: Topology) {
    super(tasks, topology);
  }
  protected render(task: ProcessTask): string {
    return showStat(task, { tasks: this.tasks, topology: this.topology });
  }
}

/** /proc/<pid>/statm of every task. */
@injectable()
export class PidStatmProc extends PidView {
  readonly file = 'statm';
  constructor(@inject(TASKS) tasks: TaskTable, @inject(TOPOLOGY) topology: Topology) {
    super(tasks, topology);
  }
  protected render(task: ProcessTask): string {
    return showStatm(task);
  }
}

/** /proc/<pid>/oom_score_adj of every task. */
@injectable()
export class PidOomScoreAdjProc extends PidView {
  readonly file = 'oom_score_adj';
  constructor(@inject(TASKS) tasks: TaskTable, @inject(TOPOLOGY) topology: Topology) {
    super(tasks, topology);
  }
  protected render(task: ProcessTask): string {
    return showOomScoreAdj(task);
  }
}
