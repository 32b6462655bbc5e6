/**
 * Workload files: JSON Lines, one operation a line, run against a composed
 * simulator — tasks and their address spaces (spawn, fork, exec, exit,
 * mmap, munmap, mprotect, brk, touch), glibc malloc / free, files through
 * the page cache (file, read, write, fsync), swap (swapon, swapoff),
 * sysctl, kernel allocations (kmalloc / kfree, alloc_pages / free_pages),
 * simulated time (sleep) and /proc views (proc).
 *
 * A line is validated whole before it acts: a malformed one (bad JSON, an
 * unknown op or field, a missing or mistyped field, a size that does not
 * parse, a pid or name that does not exist) stops the run with an
 * EWORKLOAD error naming FILE:LINE and the cause; everything up to that
 * line has happened. A system call the simulated kernel refuses is not an
 * error: its line's result is the errno name (`ENOMEM`), as a task sees it;
 * an access that kills the task gives the signal (`SIGSEGV`).
 * @module
 */
import {
  errnoName, isErr, isMmsimError, MAP_NORESERVE, MAP_POPULATE, MAX_PAGE_ORDER, MmsimError, GFP_KERNEL, PAGE_SIZE, parseGfp, parseSize,
  PROT_EXEC, PROT_READ, PROT_WRITE, type Simulator, validateSysctl, type SysctlName,
} from '@mmsim/core';
import {
  GlibcMalloc, M_ARENA_MAX, M_ARENA_TEST, M_CHECK_ACTION, M_MMAP_MAX, M_MMAP_THRESHOLD, M_MXFAST, M_PERTURB, M_TOP_PAD, M_TRIM_THRESHOLD,
} from './glibc_malloc.js';

/** mallopt() parameters by their <malloc.h> names. */
const MALLOPT_PARAMS: Record<string, number> = {
  M_MXFAST, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_CHECK_ACTION, M_PERTURB, M_ARENA_TEST, M_ARENA_MAX,
};

/** One operation's outcome: `ok`, an errno name (`ENOMEM`), or the signal that killed the task (`SIGSEGV`). */
export interface WorkloadOpResult {
  /** 1-based line of the file. */
  line: number;
  op: string;
  result: string;
}

/** One `proc` operation's view. */
export interface WorkloadProcView {
  line: number;
  /** The name as written (`100/status`, `meminfo`). */
  name: string;
  /** The view as the kernel prints it. */
  text: string;
}

/** What a run did: one entry per operation line, one per proc view. */
export interface WorkloadResult {
  ops: WorkloadOpResult[];
  proc: WorkloadProcView[];
}

/** Options of {@link runWorkloadFile} and {@link WorkloadRunner}. */
export interface WorkloadRunOptions {
  /** The file name errors show (default `workload`). */
  file?: string;
  /** Called after each operation (streaming consumers). */
  onOp?: (r: WorkloadOpResult) => void;
  /** Called for each proc view. */
  onProc?: (v: WorkloadProcView) => void;
  /** Keep every result in memory for {@link WorkloadRunner.result} (default true; false for huge files with callbacks). */
  collect?: boolean;
}

/** The operations a workload line may name. */
export const WORKLOAD_OPS = [
  'spawn', 'fork', 'exec', 'exit', 'mmap', 'munmap', 'mprotect', 'brk', 'touch', 'malloc', 'free', 'mallopt', 'file', 'read', 'write', 'fsync',
  'swapon', 'swapoff', 'sysctl', 'kmalloc', 'kfree', 'alloc_pages', 'free_pages', 'sleep', 'proc',
] as const;
/** An operation name. */
export type WorkloadOpName = (typeof WORKLOAD_OPS)[number];

/** Field kinds a line's fields are checked against. */
type Kind = 'pid' | 'int' | 'cint' | 'mallopt' | 'adj' | 'order' | 'size' | 'string' | 'name' | 'bool' | 'prot' | 'access' | 'pattern' | 'gfp' | 'ms' | 'value' | 'count';

/** Each op's fields: required (true) or optional (false). */
const SCHEMA: Record<WorkloadOpName, Record<string, [Kind, boolean]>> = {
  spawn: {
    pid: ['pid', true], comm: ['string', false], uid: ['int', false], adj: ['adj', false], cpu: ['int', false], kthread: ['bool', false], text: ['size', false],
    data: ['size', false], bss: ['size', false],
  },
  fork: { pid: ['pid', true], child: ['pid', true], thread: ['bool', false], comm: ['string', false] },
  exec: { pid: ['pid', true], comm: ['string', false], text: ['size', false], data: ['size', false], bss: ['size', false] },
  exit: { pid: ['pid', true] },
  mmap: {
    pid: ['pid', true], name: ['name', true], size: ['size', false], prot: ['prot', false], shared: ['bool', false], file: ['string', false],
    offset: ['size', false], populate: ['bool', false], noreserve: ['bool', false],
  },
  munmap: { pid: ['pid', true], name: ['name', true], offset: ['size', false], size: ['size', false] },
  mprotect: { pid: ['pid', true], name: ['name', true], prot: ['prot', true], offset: ['size', false], size: ['size', false] },
  brk: { pid: ['pid', true], size: ['size', true] },
  touch: {
    pid: ['pid', true], name: ['name', true], access: ['access', true], offset: ['size', false], size: ['size', false], pattern: ['pattern', false],
    repeat: ['count', false], seed: ['int', false],
  },
  malloc: { pid: ['pid', true], name: ['name', true], size: ['size', true] },
  free: { pid: ['pid', true], name: ['name', true] },
  mallopt: { pid: ['pid', true], param: ['mallopt', true], value: ['cint', true] },
  file: { path: ['string', true], size: ['size', true] },
  read: { pid: ['pid', true], path: ['string', true], offset: ['size', false], size: ['size', false] },
  write: { pid: ['pid', true], path: ['string', true], offset: ['size', false], size: ['size', false] },
  fsync: { path: ['string', true], pid: ['pid', false] },
  swapon: { size: ['size', true], prio: ['int', false], name: ['string', false] },
  swapoff: { name: ['string', true] },
  sysctl: { name: ['string', true], value: ['value', true] },
  kmalloc: { name: ['name', true], size: ['size', true], gfp: ['gfp', false] },
  kfree: { name: ['name', true] },
  alloc_pages: { name: ['name', true], order: ['order', false], gfp: ['gfp', false] },
  free_pages: { name: ['name', true] },
  sleep: { ms: ['ms', true] },
  proc: { name: ['string', true] },
};

/** A malformed line: the cause, for the FILE:LINE message. */
class Malformed extends Error {}

/** A value as a message shows it. */
function shown(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
}

/** prot as maps writes it ('rw-', 'r-x') or just the letters ('rw', ''): PROT_* bits. */
function parseProt(v: string): number | undefined {
  if (/^[r-][w-][x-]$/.test(v)) return (v[0] === 'r' ? PROT_READ : 0) | (v[1] === 'w' ? PROT_WRITE : 0) | (v[2] === 'x' ? PROT_EXEC : 0);
  if (/^r?w?x?$/.test(v)) return (v.includes('r') ? PROT_READ : 0) | (v.includes('w') ? PROT_WRITE : 0) | (v.includes('x') ? PROT_EXEC : 0);
  return undefined;
}

/** Checks one field; returns its parsed value. */
function field(key: string, kind: Kind, v: unknown): unknown {
  const bad = (what: string) => new Malformed(`field '${key}': expected ${what}, got ${shown(v)}`);
  const int = (lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) throw bad(lo === 0 && hi === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `an integer ${lo}..${hi}`);
    return v;
  };
  switch (kind) {
    case 'pid': return int(1, 4194304);
    case 'int': return int(0, Number.MAX_SAFE_INTEGER);
    case 'cint': return int(-(2 ** 31), 2 ** 31 - 1);
    case 'mallopt': {
      if (typeof v !== 'string' || !Object.hasOwn(MALLOPT_PARAMS, v)) throw bad(`a mallopt parameter (${Object.keys(MALLOPT_PARAMS).join(', ')})`);
      return MALLOPT_PARAMS[v];
    }
    case 'count': return int(1, 1_000_000);
    case 'adj': return int(-1000, 1000);
    case 'order': return int(0, MAX_PAGE_ORDER);
    case 'ms': {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad('milliseconds ≥ 0');
      return v;
    }
    case 'size': {
      if (typeof v !== 'string' && typeof v !== 'number') throw bad("a size like '100M' or a byte count");
      try {
        return parseSize(v, key);
      } catch (e) {
        if (isMmsimError(e)) throw new Malformed(e.message.replace(/^[A-Z_]+: /, ''));
        throw e;
      }
    }
    case 'string':
      if (typeof v !== 'string' || v === '') throw bad('a non-empty string');
      return v;
    case 'name':
      if (typeof v !== 'string' || v === '') throw bad('a non-empty name');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    case 'prot': {
      const p = typeof v === 'string' ? parseProt(v) : undefined;
      if (p === undefined) throw bad("letters of 'rwx' as maps shows them ('rw-', 'r-x', 'rw')");
      return p;
    }
    case 'access':
      if (v !== 'read' && v !== 'write') throw bad("'read' or 'write'");
      return v;
    case 'pattern':
      if (v !== 'sequential' && v !== 'random') throw bad("'sequential' or 'random'");
      return v;
    case 'gfp': {
      if (typeof v !== 'string') throw bad("gfp flags like 'GFP_KERNEL|__GFP_ZERO'");
      try {
        return parseGfp(v);
      } catch (e) {
        if (isMmsimError(e)) throw new Malformed(`field '${key}': ${e.message.replace(/^[A-Z_]+: /, '')}`);
        throw e;
      }
    }
    case 'value':
      if (typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number'))) return v;
      throw bad('a number or an array of numbers');
  }
}

/** A named mapping of a task: the range its mmap returned. */
interface Mapping {
  addr: number;
  len: number;
}

/** What the runner keeps per process (thread group): its named mappings and its malloc arena. */
interface ProcState {
  maps: Map<string, Mapping>;
  malloc: GlibcMalloc | null;
  /** Named malloc allocations: the pointer and the size asked for. */
  allocs: Map<string, Mapping>;
}

/**
 * Runs a workload line by line: feed it lines ({@link WorkloadRunner.line})
 * or parsed operations ({@link WorkloadRunner.op}); read the outcome from
 * {@link WorkloadRunner.result} or the callbacks.
 */
export class WorkloadRunner {
  private lineNo = 0;
  private readonly fileName: string;
  private readonly collect: boolean;
  private readonly ops: WorkloadOpResult[] = [];
  private readonly views: WorkloadProcView[] = [];
  /** Per thread group (tgid). */
  private readonly procs = new Map<number, ProcState>();
  private readonly kmallocs = new Map<string, number>();
  private readonly pages = new Map<string, { pfn: number; order: number }>();

  constructor(
    private readonly sim: Simulator,
    private readonly opts: WorkloadRunOptions = {},
  ) {
    this.fileName = opts.file ?? 'workload';
    this.collect = opts.collect ?? true;
  }

  /** Results so far. */
  get result(): WorkloadResult {
    return { ops: this.ops, proc: this.views };
  }

  /** Lines consumed so far (blank and comment lines included). */
  get lines(): number {
    return this.lineNo;
  }

  /** One line of the file: blank lines and lines starting with '#' are skipped (they count for line numbers). */
  line(text: string): void {
    const n = ++this.lineNo;
    const t = text.trim();
    if (t === '' || t.startsWith('#')) return;
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw this.error(n, `not valid JSON: ${(e as Error).message}`);
    }
    this.run(n, v);
  }

  /** One operation given as an object (a generator's): counts as the next line. */
  op(o: object): void {
    this.run(++this.lineNo, o);
  }

  private error(line: number, cause: string, e?: unknown): MmsimError {
    return new MmsimError('EWORKLOAD', `${this.fileName}:${line}: ${cause}`, { details: { file: this.fileName, line }, ...(e !== undefined && { cause: e }) });
  }

  private run(line: number, v: unknown): void {
    let op: WorkloadOpName;
    let f: Record<string, unknown>;
    try {
      [op, f] = this.validate(v);
    } catch (e) {
      if (e instanceof Malformed) throw this.error(line, e.message);
      throw e;
    }
    let result: string;
    try {
      result = this.act(line, op, f);
    } catch (e) {
      if (e instanceof Malformed) throw this.error(line, `${op}: ${e.message}`);
      // the simulator refused the call as API misuse (a typed error): the run stops here
      if (isMmsimError(e)) throw this.error(line, `${op}: ${e.message}`, e);
      throw e;
    }
    const r = { line, op, result };
    if (this.collect) this.ops.push(r);
    this.opts.onOp?.(r);
  }

  /** Syntax: a known op, known fields of the right kinds, the required ones present. */
  private validate(v: unknown): [WorkloadOpName, Record<string, unknown>] {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Malformed(`expected a JSON object, got ${shown(v)}`);
    const o = v as Record<string, unknown>;
    if (!('op' in o)) throw new Malformed("missing field 'op'");
    const op = o.op;
    if (typeof op !== 'string' || !Object.hasOwn(SCHEMA, op)) throw new Malformed(`unknown op ${shown(op)}; known: ${WORKLOAD_OPS.join(', ')}`);
    const schema = SCHEMA[op as WorkloadOpName];
    const f: Record<string, unknown> = {};
    for (const k of Object.keys(o)) {
      if (k === 'op') continue;
      const s = Object.hasOwn(schema, k) ? schema[k] : undefined;
      if (!s) throw new Malformed(`${op}: unknown field '${k}'; ${op} takes ${Object.keys(schema).join(', ')}`);
      try {
        f[k] = field(k, s[0], o[k]);
      } catch (e) {
        if (e instanceof Malformed) throw new Malformed(`${op}: ${e.message}`);
        throw e;
      }
    }
    for (const [k, [, req]] of Object.entries(schema)) if (req && !(k in f)) throw new Malformed(`${op}: missing field '${k}'`);
    return [op as WorkloadOpName, f];
  }

  private task(pid: number): void {
    if (!this.sim.tasks.has(pid)) throw new Malformed(`no task with pid ${pid}`);
  }

  /** The state of pid's thread group (created on first use). */
  private state(pid: number): ProcState {
    const tgid = this.sim.tasks.get(pid).tgid;
    let s = this.procs.get(tgid);
    if (!s) {
      s = { maps: new Map(), malloc: null, allocs: new Map() };
      this.procs.set(tgid, s);
    }
    return s;
  }

  private mapping(pid: number, name: string): Mapping {
    const m = this.state(pid).maps.get(name);
    if (!m) throw new Malformed(`pid ${pid} has no mapping named '${name}'`);
    return m;
  }

  /** What touch reaches by name: a mapping, or else a malloc allocation's bytes. */
  private touchable(pid: number, name: string): Mapping {
    const s = this.state(pid);
    const m = s.maps.get(name) ?? s.allocs.get(name);
    if (!m) throw new Malformed(`pid ${pid} has no mapping or allocation named '${name}'`);
    return m;
  }

  /** [addr, len] of a mapping narrowed by offset / size; a range past the mapping is malformed. */
  private range(m: Mapping, f: Record<string, unknown>): [number, number] {
    const off = (f.offset as number | undefined) ?? 0;
    const len = (f.size as number | undefined) ?? m.len - off;
    if (off > m.len || off + len > m.len) throw new Malformed(`offset ${off} + size ${len} lies past the mapping's ${m.len} bytes`);
    return [m.addr + off, len];
  }

  private inode(path: string): number {
    const file = this.sim.pageCache.lookup(path);
    if (!file) throw new Malformed(`no file '${path}' (create it with {"op":"file"})`);
    return file.ino;
  }

  /** The result of a call during which `pid` was killed: the signal it got (the OOM killer's is SIGKILL). */
  private killedBy(tgid: number, how: 'SIGSEGV' | 'SIGBUS' | 'OOM'): string {
    this.forget(tgid);
    return how === 'OOM' ? 'SIGKILL' : how;
  }

  /** Drops what the runner knew of pid's group once it has no task left (exit, a fatal signal, the OOM killer). */
  private forget(tgid: number): void {
    if (!this.sim.tasks.all().some((t) => t.tgid === tgid)) this.procs.delete(tgid);
  }

  /** Semantic checks that need the simulator's state, then the call. Returns the result column. */
  private act(line: number, op: WorkloadOpName, f: Record<string, unknown>): string {
    const sim = this.sim;
    const p = sim.processes;
    const pid = f.pid as number;
    if (pid !== undefined && op !== 'spawn') this.task(pid);
    // the thread group, known before a call that may end it
    const tgid = pid !== undefined && op !== 'spawn' ? sim.tasks.get(pid).tgid : 0;
    switch (op) {
      case 'spawn': {
        if (sim.tasks.has(pid)) throw new Malformed(`pid ${pid} already exists`);
        const t = p.spawn({
          pid, comm: (f.comm as string | undefined) ?? `task${pid}`,
          ...(f.uid !== undefined && { uid: f.uid as number }), ...(f.adj !== undefined && { oomScoreAdj: f.adj as number }),
          ...(f.cpu !== undefined && { cpu: f.cpu as number }), ...(f.kthread === true && { kthread: true }), ...(f.text !== undefined && { text: f.text as number }),
          ...(f.data !== undefined && { data: f.data as number }), ...(f.bss !== undefined && { bss: f.bss as number }),
        });
        this.procs.delete(t.tgid);
        return 'ok';
      }
      case 'fork': {
        const child = f.child as number;
        if (sim.tasks.has(child)) throw new Malformed(`pid ${child} already exists`);
        const parent = this.state(pid);
        const thread = f.thread === true;
        // kernel_clone(): a refused fork (no memory for the new mm) is the task's -ENOMEM
        const c = p.kernelClone(pid, { child, ...(thread && { thread: true }), ...(f.comm !== undefined && { comm: f.comm as string }) });
        if (typeof c === 'number') return errnoName(c);
        // a thread shares its group's state; a forked child gets a copy of the parent's names and heap
        if (!thread) {
          this.procs.set(c.tgid, {
            maps: new Map([...parent.maps].map(([k, m]) => [k, { ...m }])),
            malloc: parent.malloc ? parent.malloc.fork(c.pid) : null,
            allocs: new Map([...parent.allocs].map(([k, a]) => [k, { ...a }])),
          });
        }
        return 'ok';
      }
      case 'exec': {
        p.exec(pid, {
          ...(f.comm !== undefined && { comm: f.comm as string }), ...(f.text !== undefined && { text: f.text as number }),
          ...(f.data !== undefined && { data: f.data as number }), ...(f.bss !== undefined && { bss: f.bss as number }),
        });
        // a new image: the old names and heap are gone
        this.procs.delete(tgid);
        return 'ok';
      }
      case 'exit': {
        p.exit(pid);
        this.forget(tgid);
        return 'ok';
      }
      case 'mmap': {
        const s = this.state(pid);
        const name = f.name as string;
        if (s.maps.has(name) || s.allocs.has(name)) throw new Malformed(`pid ${pid} already has a mapping or allocation named '${name}'`);
        let ino = 0;
        let size = f.size as number | undefined;
        if (f.file !== undefined) {
          ino = this.inode(f.file as string);
          size ??= Math.max(0, sim.pageCache.file(ino).size - ((f.offset as number | undefined) ?? 0));
        } else if (f.offset !== undefined) throw new Malformed("mmap: 'offset' is a file offset: it needs 'file'");
        if (size === undefined) throw new Malformed("mmap: missing field 'size'");
        const flags = (f.populate === true ? MAP_POPULATE : 0) | (f.noreserve === true ? MAP_NORESERVE : 0);
        const addr = p.mmap(pid, size, {
          prot: (f.prot as number | undefined) ?? PROT_READ | PROT_WRITE, flags, shared: f.shared === true, name,
          ...(ino !== 0 && { ino, offset: (f.offset as number | undefined) ?? 0 }),
        });
        if (isErr(addr)) return errnoName(addr);
        s.maps.set(name, { addr, len: Math.ceil(size / PAGE_SIZE) * PAGE_SIZE });
        return 'ok';
      }
      case 'munmap': {
        const m = this.mapping(pid, f.name as string);
        const [addr, len] = this.range(m, f);
        const r = p.munmap(pid, addr, len);
        if (isErr(r)) return errnoName(r);
        if (addr === m.addr && len >= m.len) this.state(pid).maps.delete(f.name as string);
        return 'ok';
      }
      case 'mprotect': {
        const [addr, len] = this.range(this.mapping(pid, f.name as string), f);
        const r = p.mprotect(pid, addr, len, f.prot as number);
        return isErr(r) ? errnoName(r) : 'ok';
      }
      case 'brk': {
        const mm = sim.tasks.get(pid).mm;
        if (!mm) throw new Malformed(`pid ${pid} is a kernel thread: it has no heap`);
        const want = mm.startBrk + (f.size as number);
        const got = p.brk(pid, want);
        return got === want ? 'ok' : 'ENOMEM';
      }
      case 'touch': {
        const [addr, len] = this.range(this.touchable(pid, f.name as string), f);
        const random = f.pattern === 'random';
        const seed = (f.seed as number | undefined) ?? ((sim.config.seed * 1_000_003 + line) >>> 0);
        const repeat = (f.repeat as number | undefined) ?? 1;
        for (let i = 0; i < repeat; i++) {
          const r = p.touch(pid, addr, len, { write: f.access === 'write', ...(random && { random: true, seed: (seed + i) >>> 0 }) });
          if (r.killed) return this.killedBy(tgid, r.killed);
        }
        return 'ok';
      }
      case 'malloc': {
        const s = this.state(pid);
        const name = f.name as string;
        if (s.maps.has(name) || s.allocs.has(name)) throw new Malformed(`pid ${pid} already has a mapping or allocation named '${name}'`);
        s.malloc ??= new GlibcMalloc(p, pid);
        const size = f.size as number;
        const ptr = s.malloc.malloc(size);
        if (s.malloc.killed) return this.killedBy(tgid, s.malloc.killed);
        // the name holds the pointer even when it is NULL, as a C program's variable would:
        // touching it then faults at address 0 (SIGSEGV), freeing it does nothing
        s.allocs.set(name, { addr: ptr, len: size });
        return ptr === 0 ? 'ENOMEM' : 'ok';
      }
      case 'free': {
        const s = this.state(pid);
        const name = f.name as string;
        const a = s.allocs.get(name);
        if (a === undefined || !s.malloc) throw new Malformed(`pid ${pid} has no allocation named '${name}'`);
        if (a.addr !== 0) s.malloc.free(a.addr);
        s.allocs.delete(name);
        if (s.malloc.killed) return this.killedBy(tgid, s.malloc.killed);
        return 'ok';
      }
      case 'mallopt': {
        const s = this.state(pid);
        s.malloc ??= new GlibcMalloc(p, pid);
        const ok = s.malloc.mallopt(f.param as number, f.value as number);
        if (s.malloc.killed) return this.killedBy(tgid, s.malloc.killed);
        // mallopt returns 0 for a value glibc refuses
        return ok === 1 ? 'ok' : 'EINVAL';
      }
      case 'file': {
        const path = f.path as string;
        if (sim.pageCache.lookup(path)) throw new Malformed(`file '${path}' already exists`);
        sim.pageCache.create(path, f.size as number);
        return 'ok';
      }
      case 'read':
      case 'write': {
        const ino = this.inode(f.path as string);
        const size = sim.pageCache.file(ino).size;
        const off = (f.offset as number | undefined) ?? 0;
        const len = (f.size as number | undefined) ?? Math.max(0, size - off);
        if (op === 'read') {
          const r = sim.pageCache.read(pid, ino, off, len);
          return isErr(r.bytes) ? errnoName(r.bytes) : 'ok';
        }
        const r = sim.pageCache.write(pid, ino, off, len);
        return isErr(r) ? errnoName(r) : 'ok';
      }
      case 'fsync':
        sim.pageCache.fsync(this.inode(f.path as string));
        return 'ok';
      case 'swapon': {
        const name = f.name as string | undefined;
        if (name !== undefined && sim.swap.devices().some((d) => d.name === name)) throw new Malformed(`swap device '${name}' is already on`);
        const r = sim.swap.swapon({ size: f.size as number, ...(f.prio !== undefined && { prio: f.prio as number }), ...(name !== undefined && { name }) });
        return isErr(r) ? errnoName(r) : 'ok';
      }
      case 'swapoff': {
        const dev = sim.swap.devices().find((d) => d.name === f.name);
        if (!dev) throw new Malformed(`no swap device '${f.name as string}'; on: ${sim.swap.devices().map((d) => d.name).join(', ') || 'none'}`);
        const r = sim.swap.swapoff(dev.type);
        return isErr(r) ? errnoName(r) : 'ok';
      }
      case 'sysctl': {
        const name = f.name as string;
        let v: number | number[];
        try {
          v = validateSysctl(name, f.value);
        } catch (e) {
          if (isMmsimError(e)) throw new Malformed(e.message.replace(/^[A-Z_]+: /, ''));
          throw e;
        }
        sim.sysctl.set(name as SysctlName, v as never);
        return 'ok';
      }
      case 'kmalloc': {
        const name = f.name as string;
        if (this.kmallocs.has(name)) throw new Malformed(`kmalloc name '${name}' is in use`);
        const ptr = sim.slab.kmalloc(f.size as number, (f.gfp as number | undefined) ?? GFP_KERNEL);
        if (ptr === null) return 'ENOMEM';
        this.kmallocs.set(name, ptr);
        return 'ok';
      }
      case 'kfree': {
        const name = f.name as string;
        const ptr = this.kmallocs.get(name);
        if (ptr === undefined) throw new Malformed(`no kmalloc named '${name}'`);
        sim.slab.kfree(ptr);
        this.kmallocs.delete(name);
        return 'ok';
      }
      case 'alloc_pages': {
        const name = f.name as string;
        if (this.pages.has(name)) throw new Malformed(`alloc_pages name '${name}' is in use`);
        const order = (f.order as number | undefined) ?? 0;
        const pfn = sim.pages.allocPages((f.gfp as number | undefined) ?? GFP_KERNEL, order);
        if (pfn === null) return 'ENOMEM';
        this.pages.set(name, { pfn, order });
        return 'ok';
      }
      case 'free_pages': {
        const name = f.name as string;
        const b = this.pages.get(name);
        if (!b) throw new Malformed(`no alloc_pages named '${name}'`);
        sim.pages.freePages(b.pfn, b.order);
        this.pages.delete(name);
        return 'ok';
      }
      case 'sleep':
        sim.tick(f.ms as number);
        return 'ok';
      case 'proc': {
        const name = f.name as string;
        let text: string;
        try {
          text = sim.proc(name);
        } catch (e) {
          if (isMmsimError(e, 'EPROC_UNKNOWN')) throw new Malformed(`no /proc view '${name}'`);
          throw e;
        }
        const v = { line, name: name.replace(/^\/?proc\//, ''), text };
        if (this.collect) this.views.push(v);
        this.opts.onProc?.(v);
        return 'ok';
      }
    }
  }

}

/**
 * Runs a JSON Lines workload held in `text`, line by line (no copy of the
 * lines is made). Throws EWORKLOAD `FILE:LINE: cause` at the first
 * malformed line, the state up to it intact.
 */
export function runWorkloadFile(sim: Simulator, text: string, opts: WorkloadRunOptions = {}): WorkloadResult {
  const r = new WorkloadRunner(sim, opts);
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    // a final newline ends the last line; it does not start another
    if (start === text.length && end === start) break;
    r.line(text.slice(start, end).replace(/\r$/, ''));
    start = end + 1;
  }
  return r.result;
}

/** Runs operations given as objects (a generator's output), each counting as one line. */
export function runWorkloadOps(sim: Simulator, ops: Iterable<object>, opts: WorkloadRunOptions = {}): WorkloadResult {
  const r = new WorkloadRunner(sim, opts);
  for (const o of ops) r.op(o);
  return r.result;
}

/**
 * The text output of a run, streamed: each proc view under a
 * `==> /proc/NAME <==` header (a blank line before every header but the
 * first output, as head and tail print files), each refused call as
 * `line N: OP: ERRNO`. Returns the two callbacks and writes through `out`.
 */
export function workloadTextWriter(out: (s: string) => void): Required<Pick<WorkloadRunOptions, 'onOp' | 'onProc'>> {
  let wrote = false;
  return {
    onOp: (r) => {
      if (r.result === 'ok') return;
      out(`line ${r.line}: ${r.op}: ${r.result}\n`);
      wrote = true;
    },
    onProc: (v) => {
      out(`${wrote ? '\n' : ''}==> /proc/${v.name} <==\n${v.text}`);
      wrote = true;
    },
  };
}

/** The text output of a finished run (see {@link workloadTextWriter}). */
export function formatWorkloadResult(result: WorkloadResult): string {
  let s = '';
  const w = workloadTextWriter((x) => (s += x));
  const views = new Map(result.proc.map((v) => [v.line, v]));
  for (const r of result.ops) {
    const v = views.get(r.line);
    if (v && r.op === 'proc') w.onProc(v);
    w.onOp(r);
  }
  return s;
}
