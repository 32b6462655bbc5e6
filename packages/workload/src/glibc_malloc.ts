/**
 * glibc malloc as a user-space model: ptmalloc2 as glibc 2.36 has it (the
 * main arena, one thread), running on the process layer's system calls —
 * brk for the heap, mmap / munmap for large chunks — so that what a real
 * program shows (brk moving, mappings coming and going, VmSize, RSS)
 * follows from the same calls. Reference: glibc malloc/malloc.c
 * (__libc_malloc, _int_malloc, sysmalloc, systrim, _int_free,
 * malloc_consolidate, __libc_calloc, __libc_mallopt, __libc_mallinfo2);
 * agreement with a real glibc is checked against recorded runs in
 * test/fixtures/real/glibc_malloc.out.
 *
 * Memory contents are not simulated, but the words malloc writes are: a
 * chunk header, a free chunk's list links, a footer, the tcache's memset
 * are writes to the task's memory, so the page holding each is faulted in
 * (a fresh heap's first malloc makes RSS grow by the pages of the headers
 * it wrote, a mapped chunk by the page of its header — as on the real
 * machine). Reads of headers are not modelled: they fall on pages written
 * before. calloc clears what glibc clears (not the freshly sbrk'd part of
 * the top chunk, nothing of a mapped chunk); M_PERTURB fills as glibc does.
 *
 * Chunks are kept in maps keyed by address (head word, prev_size word,
 * where the chunk is), the bins as glibc's doubly linked lists (fd / bk
 * maps, the bin headers at negative keys), fastbins and tcache bins as
 * stacks: the same walk orders as glibc, so the same addresses come back.
 *
 * Not modelled: other arenas (threads), realloc, memalign, malloc_trim,
 * the retry in another arena after a failure, huge pages (hugetlb
 * tunables), memory tagging.
 * @module
 */
import { isErr, MmsimError, PAGE_SIZE, PROT_READ, PROT_WRITE, type Processes, type Simulator } from '@mmsim/core';

// mallopt parameters (malloc/malloc.h)
export const M_MXFAST = 1;
export const M_TRIM_THRESHOLD = -1;
export const M_TOP_PAD = -2;
export const M_MMAP_THRESHOLD = -3;
export const M_MMAP_MAX = -4;
export const M_CHECK_ACTION = -5;
export const M_PERTURB = -6;
export const M_ARENA_TEST = -7;
export const M_ARENA_MAX = -8;

/** struct mallinfo2: what mallinfo2() reports (bytes, or counts). */
export interface MallInfo2 {
  /** Non-mmapped space allocated from the system (the heap's system_mem). */
  arena: number;
  /** Free chunks in the bins, plus the top chunk. */
  ordblks: number;
  /** Free chunks in the fastbins. */
  smblks: number;
  /** Mapped chunks. */
  hblks: number;
  /** Bytes in mapped chunks. */
  hblkhd: number;
  /** Always 0. */
  usmblks: number;
  /** Bytes in fastbin chunks. */
  fsmblks: number;
  /** Bytes in use (tcache chunks count as in use). */
  uordblks: number;
  /** Bytes free in the heap. */
  fordblks: number;
  /** The top chunk's size: what trimming could give back at most. */
  keepcost: number;
}

/** glibc's tunables as they stand (mp_): the dynamic thresholds move on free of a mapped chunk. */
export interface MallocParams {
  mmapThreshold: number;
  trimThreshold: number;
  topPad: number;
  mmapMax: number;
  /** Set by any mallopt of the thresholds, M_TOP_PAD or M_MMAP_MAX: the dynamic threshold stays put. */
  noDynThreshold: boolean;
  /** get_max_fast(): the largest chunk size fastbins take. */
  maxFast: number;
  perturb: number;
  /** Mapped chunks now, and the bytes they take. */
  nMmaps: number;
  mmappedMem: number;
  maxNMmaps: number;
  maxMmappedMem: number;
  /** The heap's system_mem and its high-water mark. */
  systemMem: number;
  maxSystemMem: number;
}

const PREV_INUSE = 1;
const IS_MMAPPED = 2;
const SIZE_BITS = 7;
const NBINS = 128;
const NSMALLBINS = 64;
const TCACHE_MAX_BINS = 64;
const TCACHE_FILL_COUNT = 7;
const DEFAULT_MMAP_THRESHOLD = 128 * 1024;
const DEFAULT_TRIM_THRESHOLD = 128 * 1024;
// include/malloc.h / the malloc(3) documentation: M_TOP_PAD defaults to 128 KiB in glibc builds
const DEFAULT_TOP_PAD = 128 * 1024;
const DEFAULT_MMAP_MAX = 65536;
const FASTBIN_CONSOLIDATION_THRESHOLD = 65536;
const MMAP_AS_MORECORE_SIZE = 1024 * 1024;
/** av->top before the first sysmalloc: initial_top(), a sentinel inside libc (size 0). */
const INITIAL_TOP = -1;

// where a chunk is (the model's bookkeeping; glibc knows it from the memory around)
const T_USER = 1;
const T_TCACHE = 2;
const T_FAST = 3;
const T_BIN = 4;
const T_TOP = 5;
const T_FENCE = 6;
const T_MMAP = 7;

/** The word size dependent constants of a build (SIZE_SZ 8 on x86_64, 4 on i386; MALLOC_ALIGNMENT 16 on both). */
interface Geometry {
  sizeSz: number;
  align: number;
  mask: number;
  /** MINSIZE */
  minSize: number;
  /** CHUNK_HDR_SZ */
  hdr: number;
  /** MIN_LARGE_SIZE */
  minLarge: number;
  smallbinCorrection: number;
  nFastbins: number;
  /** MAX_FAST_SIZE: the largest M_MXFAST accepted */
  maxFastSize: number;
  defaultMxfast: number;
  mmapThresholdMax: number;
  /** sizeof(tcache_perthread_struct) */
  tcacheStruct: number;
  sizeMax: number;
  /** PTRDIFF_MAX + 1: a request this large is refused before any system call. */
  ptrdiffLimit: number;
}

function geometry(sizeSz: number): Geometry {
  const align = 16;
  const hdr = 2 * sizeSz;
  const minChunk = 4 * sizeSz; // offsetof(struct malloc_chunk, fd_nextsize)
  const minSize = (minChunk + align - 1) & ~(align - 1);
  const smallbinCorrection = align > hdr ? 1 : 0;
  const maxFastSize = (80 * sizeSz) / 4;
  const req = (n: number): number => (n + sizeSz + align - 1 < minSize ? minSize : (n + sizeSz + align - 1) & ~(align - 1));
  const fastIdx = (sz: number): number => (sz >> (sizeSz === 8 ? 4 : 3)) - 2;
  return {
    sizeSz,
    align,
    mask: align - 1,
    minSize,
    hdr,
    minLarge: (NSMALLBINS - smallbinCorrection) * align,
    smallbinCorrection,
    nFastbins: fastIdx(req(maxFastSize)) + 1,
    maxFastSize,
    defaultMxfast: (64 * sizeSz) / 4,
    mmapThresholdMax: sizeSz === 8 ? 4 * 1024 * 1024 * 8 : 512 * 1024,
    tcacheStruct: TCACHE_MAX_BINS * 2 + TCACHE_MAX_BINS * sizeSz,
    sizeMax: sizeSz === 8 ? 2 ** 64 - 1 : 2 ** 32 - 1,
    ptrdiffLimit: sizeSz === 8 ? 2 ** 63 : 2 ** 31,
  };
}

/** Thrown inside a call when a write of malloc's faulted the task to death; the call then returns as a dead process would. */
class TaskKilled extends Error {
  constructor(readonly how: string) {
    super(how);
  }
}

/** The arena and the parameters: everything a fork copies. */
interface ArenaState {
  head: Map<number, number>;
  prevSize: Map<number, number>;
  tag: Map<number, number>;
  fd: Map<number, number>;
  bk: Map<number, number>;
  fast: number[][];
  /** null until tcache_init(); then one stack per size class (chunk addresses, head at the end). */
  tcache: number[][] | null;
  /** The chunk holding the tcache itself. */
  tcacheChunk: number;
  top: number;
  lastRemainder: number;
  haveFastchunks: boolean;
  contiguous: boolean;
  systemMem: number;
  maxSystemMem: number;
  sbrkBase: number;
  trimThreshold: number;
  topPad: number;
  mmapThreshold: number;
  nMmaps: number;
  nMmapsMax: number;
  maxNMmaps: number;
  noDynThreshold: boolean;
  mmappedMem: number;
  maxMmappedMem: number;
  maxFast: number;
  perturb: number;
}

/**
 * glibc malloc for one process of a simulator. `malloc` returns the address
 * (0 when glibc would return NULL with ENOMEM), `free` gives it back; a free
 * glibc would abort on (a double free, a pointer malloc never returned)
 * throws an MmsimError naming glibc's message, with nothing changed. When a
 * write of malloc's own kills the task (the OOM killer chose it while its
 * page was allocated), the call returns 0 / nothing and `killed` says how.
 */
export class GlibcMalloc {
  private readonly p: Processes;
  private readonly g: Geometry;
  private s: ArenaState;
  /** The page of the last word written in this call (repeated writes to one page need one access). */
  private lastPage = -1;
  /** Set when the task died during a call (its memory is gone; the model is of no further use). */
  killed: 'SIGSEGV' | 'SIGBUS' | 'OOM' | null = null;

  constructor(
    target: Simulator | Processes,
    readonly pid: number,
  ) {
    this.p = typeof (target as Processes).mmap === 'function' ? (target as Processes) : (target as Simulator).processes;
    const mm = this.p.task(pid).mm;
    if (mm === null) throw new MmsimError('EINVAL', `glibc malloc: pid ${pid} is a kernel thread (no address space)`);
    // an i386 address space (TASK_SIZE 3 GiB) runs the 32-bit build
    this.g = geometry(mm.taskSize > 2 ** 32 ? 8 : 4);
    this.s = GlibcMalloc.initialState(this.g);
  }

  private static initialState(g: Geometry): ArenaState {
    const s: ArenaState = {
      head: new Map(),
      prevSize: new Map(),
      tag: new Map(),
      fd: new Map(),
      bk: new Map(),
      fast: Array.from({ length: g.nFastbins }, () => []),
      tcache: null,
      tcacheChunk: 0,
      top: INITIAL_TOP,
      lastRemainder: 0,
      haveFastchunks: false,
      contiguous: true,
      systemMem: 0,
      maxSystemMem: 0,
      sbrkBase: 0,
      trimThreshold: DEFAULT_TRIM_THRESHOLD,
      topPad: DEFAULT_TOP_PAD,
      mmapThreshold: DEFAULT_MMAP_THRESHOLD,
      nMmaps: 0,
      nMmapsMax: DEFAULT_MMAP_MAX,
      maxNMmaps: 0,
      noDynThreshold: false,
      mmappedMem: 0,
      maxMmappedMem: 0,
      maxFast: 0,
      perturb: 0,
    };
    // malloc_init_state(): every bin empty (a header pointing at itself)
    for (let i = 1; i < NBINS; i++) {
      s.fd.set(binKey(i), binKey(i));
      s.bk.set(binKey(i), binKey(i));
    }
    s.maxFast = setMaxFast(g, g.defaultMxfast);
    return s;
  }

  /**
   * The arena of the child after fork(): a copy of this one (the child's
   * memory is the parent's, copy-on-write), working on `childPid`.
   */
  fork(childPid: number): GlibcMalloc {
    const c = Object.create(GlibcMalloc.prototype) as GlibcMalloc;
    const s = this.s;
    const copy: ArenaState = {
      ...s,
      head: new Map(s.head),
      prevSize: new Map(s.prevSize),
      tag: new Map(s.tag),
      fd: new Map(s.fd),
      bk: new Map(s.bk),
      fast: s.fast.map((b) => b.slice()),
      tcache: s.tcache ? s.tcache.map((b) => b.slice()) : null,
    };
    Object.assign(c, { p: this.p, g: this.g, s: copy, lastPage: -1, killed: null, pid: childPid });
    c.p.task(childPid);
    return c;
  }

  // ---- the public calls ----

  /** malloc(bytes): the address of at least `bytes` usable bytes, or 0 (ENOMEM). */
  malloc(bytes: number): number {
    this.checkSize('malloc', bytes);
    return this.call(() => this.libcMalloc(bytes), 0);
  }

  /** calloc(n, size): zeroed memory (glibc clears only what may not be zero already), or 0. */
  calloc(n: number, size: number): number {
    this.checkSize('calloc', n);
    this.checkSize('calloc', size);
    return this.call(() => this.libcCalloc(n, size), 0);
  }

  /** free(ptr): 0 is ignored; a pointer glibc would abort on throws EDOUBLE_FREE / EBAD_POINTER with glibc's message. */
  free(ptr: number): void {
    if (ptr === 0) return;
    if (!Number.isSafeInteger(ptr) || ptr < 0) throw new MmsimError('EBAD_POINTER', `free(${ptr}): not an address`);
    this.call(() => {
      this.validateFree(ptr);
      this.libcFree(ptr);
    }, undefined);
  }

  /** mallopt(param, value): 1 on success, 0 when glibc refuses the value (as mallopt returns). */
  mallopt(param: number, value: number): number {
    if (!Number.isInteger(param) || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw new MmsimError('EINVAL', `mallopt(${param}, ${value}): both arguments are C ints`);
    }
    return this.call(() => this.libcMallopt(param, value), 0);
  }

  /** mallinfo2() */
  mallinfo2(): MallInfo2 {
    const s = this.s;
    let avail = this.chunksize(s.top);
    let nblocks = 1;
    let nfast = 0;
    let fastavail = 0;
    for (const b of s.fast) {
      for (const c of b) {
        nfast++;
        fastavail += this.chunksize(c);
      }
    }
    avail += fastavail;
    for (let i = 1; i < NBINS; i++) {
      const h = binKey(i);
      for (let c = s.bk.get(h)!; c !== h; c = s.bk.get(c)!) {
        nblocks++;
        avail += this.chunksize(c);
      }
    }
    return {
      arena: s.systemMem,
      ordblks: nblocks,
      smblks: nfast,
      hblks: s.nMmaps,
      hblkhd: s.mmappedMem,
      usmblks: 0,
      fsmblks: fastavail,
      uordblks: s.systemMem - avail,
      fordblks: avail,
      keepcost: this.chunksize(s.top),
    };
  }

  /** malloc_usable_size(ptr) */
  usableSize(ptr: number): number {
    if (ptr === 0) return 0;
    const p = ptr - this.g.hdr;
    const t = this.s.tag.get(p);
    if (t === T_MMAP) return this.chunksize(p) - this.g.hdr;
    if (t === T_USER) return this.chunksize(p) - this.g.sizeSz;
    return 0;
  }

  /** The parameters as they stand (the dynamic mmap and trim thresholds move). */
  params(): MallocParams {
    const s = this.s;
    return {
      mmapThreshold: s.mmapThreshold,
      trimThreshold: s.trimThreshold,
      topPad: s.topPad,
      mmapMax: s.nMmapsMax,
      noDynThreshold: s.noDynThreshold,
      maxFast: s.maxFast,
      perturb: s.perturb,
      nMmaps: s.nMmaps,
      mmappedMem: s.mmappedMem,
      maxNMmaps: s.maxNMmaps,
      maxMmappedMem: s.maxMmappedMem,
      systemMem: s.systemMem,
      maxSystemMem: s.maxSystemMem,
    };
  }

  /**
   * Every chunk of the heap from its first to the top chunk, in address
   * order ([address, size, where]) — for tests and reports; checks that the
   * chunks tile the heap, that PREV_INUSE agrees with where each chunk is,
   * and that every free chunk is in exactly one bin (ECORRUPT otherwise).
   */
  heapChunks(): [number, number, 'used' | 'tcache' | 'fastbin' | 'bin' | 'top' | 'fencepost'][] {
    const s = this.s;
    const names = { [T_USER]: 'used', [T_TCACHE]: 'tcache', [T_FAST]: 'fastbin', [T_BIN]: 'bin', [T_TOP]: 'top', [T_FENCE]: 'fencepost' } as const;
    const out: [number, number, 'used' | 'tcache' | 'fastbin' | 'bin' | 'top' | 'fencepost'][] = [];
    const bad = (m: string): never => {
      throw new MmsimError('ECORRUPT', `glibc malloc model of pid ${this.pid}: ${m}`);
    };
    const starts = [...s.tag.entries()].filter(([, t]) => t !== T_MMAP).map(([a]) => a).sort((a, b) => a - b);
    let expect = -1;
    let prevFree = false;
    for (const a of starts) {
      const t = s.tag.get(a)! as keyof typeof names;
      const h = s.head.get(a);
      if (h === undefined) bad(`chunk ${hex(a)} has no head`);
      const size = h! - (h! % (SIZE_BITS + 1));
      // a chunk follows its neighbour, except across a gap (a segment the mmap fallback started, fenceposts before it)
      if (expect !== -1 && a === expect && Boolean(h! & PREV_INUSE) === prevFree) bad(`chunk ${hex(a)}: PREV_INUSE disagrees with the chunk before`);
      if (expect !== -1 && a < expect) bad(`chunk ${hex(a)} overlaps the chunk before`);
      if (t === T_BIN && prevFree && a === expect) bad(`free chunks ${hex(a)} and the one before were not coalesced`);
      out.push([a, size, names[t]]);
      expect = a + size;
      prevFree = t === T_BIN;
    }
    let inBins = 0;
    for (let i = 1; i < NBINS; i++) {
      const hdr = binKey(i);
      for (let c = s.fd.get(hdr)!; c !== hdr; c = s.fd.get(c)!) {
        if (s.tag.get(c) !== T_BIN) bad(`bin ${i} holds ${hex(c)}, which is not a free chunk`);
        if (s.bk.get(s.fd.get(c)!) !== c) bad(`bin ${i}: broken links at ${hex(c)}`);
        if (i >= 2 && this.binIndex(this.chunksize(c)) !== i) bad(`chunk ${hex(c)} of size ${this.chunksize(c)} is in bin ${i}`);
        inBins++;
      }
    }
    const free = out.filter((c) => c[2] === 'bin').length;
    if (inBins !== free) bad(`${free} free chunks but ${inBins} in the bins`);
    return out;
  }

  // ---- helpers: chunks as glibc's macros see them ----

  private chunksize(p: number): number {
    const h = p === INITIAL_TOP ? 0 : (this.s.head.get(p) ?? 0);
    // arithmetic, not bit operations: sizes reach past 2^32
    return h - (h % (SIZE_BITS + 1));
  }

  private request2size(req: number): number {
    const g = this.g;
    return req + g.sizeSz + g.mask < g.minSize ? g.minSize : Math.floor((req + g.sizeSz + g.mask) / g.align) * g.align;
  }

  private csize2tidx(x: number): number {
    return Math.floor((x - this.g.minSize + this.g.align - 1) / this.g.align);
  }

  private fastbinIndex(sz: number): number {
    return Math.floor(sz / (this.g.sizeSz === 8 ? 16 : 8)) - 2;
  }

  private inSmallbinRange(sz: number): boolean {
    return sz < this.g.minLarge;
  }

  private smallbinIndex(sz: number): number {
    return Math.floor(sz / 16) + this.g.smallbinCorrection;
  }

  private largebinIndex(sz: number): number {
    const first = this.g.sizeSz === 8 ? [48, 48] : [45, 49];
    if (Math.floor(sz / 64) <= first[0]!) return first[1]! + Math.floor(sz / 64);
    if (Math.floor(sz / 512) <= 20) return 91 + Math.floor(sz / 512);
    if (Math.floor(sz / 4096) <= 10) return 110 + Math.floor(sz / 4096);
    if (Math.floor(sz / 32768) <= 4) return 119 + Math.floor(sz / 32768);
    if (Math.floor(sz / 262144) <= 2) return 124 + Math.floor(sz / 262144);
    return 126;
  }

  private binIndex(sz: number): number {
    return this.inSmallbinRange(sz) ? this.smallbinIndex(sz) : this.largebinIndex(sz);
  }

  /** One word written at `addr`: the page is faulted in for writing if it is not already. */
  private w(addr: number): void {
    const page = Math.floor(addr / PAGE_SIZE);
    if (page === this.lastPage) return;
    this.lastPage = page;
    const r = this.p.access(this.pid, addr, true);
    if (r === 'sigsegv' || r === 'sigbus' || r === 'oom') throw new TaskKilled(r === 'oom' ? 'OOM' : r.toUpperCase());
  }

  /** memset() of [addr, addr + len). */
  private wRange(addr: number, len: number): void {
    if (len <= 0) return;
    const r = this.p.touch(this.pid, addr, len, { write: true });
    this.lastPage = -1;
    if (r.killed) throw new TaskKilled(r.killed);
  }

  private setHead(p: number, v: number): void {
    this.s.head.set(p, v);
    this.w(p + this.g.sizeSz);
  }

  /** set_foot(): the prev_size field of the chunk after. */
  private setFoot(p: number, size: number): void {
    this.s.prevSize.set(p + size, size);
    this.w(p + size);
  }

  private setInuseBitAt(p: number, off: number): void {
    const n = p + off;
    const h = this.s.head.get(n)!;
    if (!(h & PREV_INUSE)) this.s.head.set(n, h + PREV_INUSE);
    this.w(n + this.g.sizeSz);
  }

  private clearInuseBitAt(p: number, off: number): void {
    const n = p + off;
    const h = this.s.head.get(n)!;
    if (h & PREV_INUSE) this.s.head.set(n, h - PREV_INUSE);
    this.w(n + this.g.sizeSz);
  }

  private inuseBitAt(p: number, off: number): boolean {
    return ((this.s.head.get(p + off) ?? PREV_INUSE) & PREV_INUSE) !== 0;
  }

  /** A chunk stops being one (merged into a neighbour). */
  private forget(p: number): void {
    this.s.head.delete(p);
    this.s.tag.delete(p);
    this.s.prevSize.delete(p);
  }

  /** The fd / bk words of a free chunk (a bin header lives in libc's data: no page of the heap). */
  private link(p: number, fd: number, bk: number): void {
    this.s.fd.set(p, fd);
    this.s.bk.set(p, bk);
    if (p >= 0) this.w(p + 2 * this.g.sizeSz);
  }
  private setFd(p: number, v: number): void {
    this.s.fd.set(p, v);
    if (p >= 0) this.w(p + 2 * this.g.sizeSz);
  }
  private setBk(p: number, v: number): void {
    this.s.bk.set(p, v);
    if (p >= 0) this.w(p + 3 * this.g.sizeSz);
  }

  /** unlink_chunk() */
  private unlink(p: number): void {
    const fd = this.s.fd.get(p)!;
    const bk = this.s.bk.get(p)!;
    this.setBk(fd, bk);
    this.setFd(bk, fd);
    this.s.fd.delete(p);
    this.s.bk.delete(p);
  }

  /** Puts free chunk `p` at the head of the unsorted bin. */
  private toUnsorted(p: number): void {
    const bck = binKey(1);
    const fwd = this.s.fd.get(bck)!;
    this.link(p, fwd, bck);
    this.setFd(bck, p);
    this.setBk(fwd, p);
    this.s.tag.set(p, T_BIN);
  }

  private tcachePut(p: number, idx: number): void {
    // e->next and e->key, in the chunk's user memory
    this.w(p + this.g.hdr);
    this.w(p + this.g.hdr + this.g.sizeSz);
    this.s.tcache![idx]!.push(p);
    this.s.tag.set(p, T_TCACHE);
  }

  private tcacheGet(idx: number): number {
    const p = this.s.tcache![idx]!.pop()!;
    // e->key = 0
    this.w(p + this.g.hdr + this.g.sizeSz);
    this.s.tag.set(p, T_USER);
    return p + this.g.hdr;
  }

  private allocPerturb(mem: number, n: number): void {
    if (this.s.perturb) this.wRange(mem, n);
  }

  // ---- system calls as glibc makes them ----

  /** sbrk(): the old break, or −1 when brk refused. glibc's __curbrk is the kernel's break (read each time, so a brk the program made itself is seen, as glibc's own brk() wrapper would record it). */
  private sbrk(incr: number): number {
    const cur = this.p.brk(this.pid, 0);
    if (incr === 0) return cur;
    const want = cur + incr;
    if (want < 0 || want > this.g.sizeMax) return -1;
    const got = this.p.brk(this.pid, want);
    if (incr < 0) this.lastPage = -1;
    return got < want ? -1 : cur;
  }

  private mmap(len: number): number {
    const r = this.p.mmap(this.pid, len, { prot: PROT_READ | PROT_WRITE });
    return isErr(r) ? -1 : r;
  }

  // ---- malloc ----

  private call<T>(fn: () => T, dead: T): T {
    if (this.killed) throw new MmsimError('ETASK_UNKNOWN', `glibc malloc: pid ${this.pid} was killed (${this.killed})`);
    this.lastPage = -1;
    try {
      return fn();
    } catch (e) {
      if (e instanceof TaskKilled) {
        this.killed = e.how as 'SIGSEGV' | 'SIGBUS' | 'OOM';
        return dead;
      }
      throw e;
    }
  }

  private checkSize(what: string, n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new MmsimError('EBAD_SIZE', `${what}: size ${n} is not a size_t`);
  }

  /** MAYBE_INIT_TCACHE() → tcache_init(): the per-thread cache is itself the first chunk of the heap. */
  private maybeInitTcache(): void {
    if (this.s.tcache !== null) return;
    const mem = this.intMalloc(this.g.tcacheStruct);
    if (mem === 0) return;
    this.s.tcache = Array.from({ length: TCACHE_MAX_BINS }, () => []);
    // memset (tcache, 0, sizeof (tcache_perthread_struct))
    this.wRange(mem, this.g.tcacheStruct);
    // in use for good: not a chunk a free() may name
    this.s.tcacheChunk = mem - this.g.hdr;
  }

  /** __libc_malloc() */
  private libcMalloc(bytes: number): number {
    if (bytes >= this.g.ptrdiffLimit) return 0;
    const tbytes = this.request2size(bytes);
    const tcIdx = this.csize2tidx(tbytes);
    this.maybeInitTcache();
    if (tcIdx < TCACHE_MAX_BINS && this.s.tcache !== null && this.s.tcache[tcIdx]!.length > 0) return this.tcacheGet(tcIdx);
    return this.intMalloc(bytes);
  }

  /** _int_malloc(): the chunk from a bin, the top chunk or the system; its user address, or 0. */
  private intMalloc(bytes: number): number {
    const g = this.g;
    const s = this.s;
    if (bytes >= g.ptrdiffLimit) return 0;
    const nb = this.request2size(bytes);
    const ret = (p: number): number => {
      s.tag.set(p, T_USER);
      const mem = p + g.hdr;
      this.allocPerturb(mem, bytes);
      return mem;
    };
    const tcIdx = this.csize2tidx(nb);
    const tcacheOk = s.tcache !== null && tcIdx < TCACHE_MAX_BINS;

    // fastbins
    if (nb <= s.maxFast) {
      const fb = s.fast[this.fastbinIndex(nb)]!;
      if (fb.length > 0) {
        const victim = fb.pop()!;
        // stash the rest of this size in the tcache while it has room
        if (tcacheOk) {
          while (s.tcache![tcIdx]!.length < TCACHE_FILL_COUNT && fb.length > 0) this.tcachePut(fb.pop()!, tcIdx);
        }
        return ret(victim);
      }
    }

    let idx: number;
    if (this.inSmallbinRange(nb)) {
      idx = this.smallbinIndex(nb);
      const bin = binKey(idx);
      const victim = s.bk.get(bin)!;
      if (victim !== bin) {
        this.setInuseBitAt(victim, nb);
        this.unlink(victim);
        if (tcacheOk) {
          for (let tc = s.bk.get(bin)!; s.tcache![tcIdx]!.length < TCACHE_FILL_COUNT && tc !== bin; tc = s.bk.get(bin)!) {
            this.setInuseBitAt(tc, nb);
            this.unlink(tc);
            this.tcachePut(tc, tcIdx);
          }
        }
        return ret(victim);
      }
    } else {
      idx = this.largebinIndex(nb);
      if (s.haveFastchunks) this.mallocConsolidate();
    }

    const tcacheNb = tcacheOk ? nb : 0;
    let returnCached = false;
    const unsorted = binKey(1);
    for (;;) {
      let iters = 0;
      let victim: number;
      while ((victim = s.bk.get(unsorted)!) !== unsorted) {
        const bck = s.bk.get(victim)!;
        const size = this.chunksize(victim);
        // a small request served from the last remainder when it is the only unsorted chunk (locality)
        if (this.inSmallbinRange(nb) && bck === unsorted && victim === s.lastRemainder && size > nb + g.minSize) {
          const remainderSize = size - nb;
          const remainder = victim + nb;
          s.fd.delete(victim);
          s.bk.delete(victim);
          s.fd.set(unsorted, remainder);
          s.bk.set(unsorted, remainder);
          s.lastRemainder = remainder;
          this.link(remainder, unsorted, unsorted);
          if (!this.inSmallbinRange(remainderSize)) this.w(remainder + 4 * g.sizeSz);
          s.tag.set(remainder, T_BIN);
          this.setHead(victim, nb + PREV_INUSE);
          this.setHead(remainder, remainderSize + PREV_INUSE);
          this.setFoot(remainder, remainderSize);
          return ret(victim);
        }
        // take it off the unsorted list
        s.bk.set(unsorted, bck);
        this.setFd(bck, unsorted);
        s.fd.delete(victim);
        s.bk.delete(victim);
        if (size === nb) {
          this.setInuseBitAt(victim, size);
          if (tcacheNb && s.tcache![tcIdx]!.length < TCACHE_FILL_COUNT) {
            this.tcachePut(victim, tcIdx);
            returnCached = true;
            continue;
          }
          return ret(victim);
        }
        // place it in its bin: small bins at the head; large bins sorted by size, equal sizes in the second position
        const vi = this.binIndex(size);
        const bin = binKey(vi);
        let fwd = s.fd.get(bin)!;
        let bk = bin;
        if (!this.inSmallbinRange(size) && fwd !== bin) {
          if (size < this.chunksize(s.bk.get(bin)!)) {
            fwd = bin;
            bk = s.bk.get(bin)!;
          } else {
            while (size < this.chunksize(fwd)) fwd = s.fd.get(fwd)!;
            if (size === this.chunksize(fwd)) fwd = s.fd.get(fwd)!;
            else this.w(victim + 4 * g.sizeSz); // fd_nextsize / bk_nextsize of a new size group
            bk = s.bk.get(fwd)!;
          }
        } else if (!this.inSmallbinRange(size)) {
          this.w(victim + 4 * g.sizeSz);
        }
        this.link(victim, fwd, bk);
        this.setBk(fwd, victim);
        this.setFd(bk, victim);
        s.tag.set(victim, T_BIN);
        if (++iters >= 10000) break;
      }

      if (returnCached) return this.tcacheGet(tcIdx);

      // a large request: the smallest chunk that fits in its own bin
      if (!this.inSmallbinRange(nb)) {
        const bin = binKey(idx);
        const first = s.fd.get(bin)!;
        if (first !== bin && this.chunksize(first) >= nb) {
          // the head (first in list order) of the smallest size group that fits
          let best = -1;
          let bestSize = Infinity;
          for (let c = first; c !== bin; c = s.fd.get(c)!) {
            const cs = this.chunksize(c);
            if (cs < nb) break;
            if (cs < bestSize) {
              bestSize = cs;
              best = c;
            }
          }
          let v = best;
          const next = s.fd.get(v)!;
          if (next !== bin && this.chunksize(next) === bestSize) v = next;
          return ret(this.splitFromBin(v, nb, false));
        }
      }

      // the next non-empty bin of larger chunks (binmap): its smallest (last) chunk fits
      let found = -1;
      for (let i = idx + 1; i < NBINS; i++) {
        if (s.fd.get(binKey(i)) !== binKey(i)) {
          found = i;
          break;
        }
      }
      if (found !== -1) {
        const v = s.bk.get(binKey(found))!;
        return ret(this.splitFromBin(v, nb, this.inSmallbinRange(nb)));
      }

      // use_top
      const top = s.top;
      const size = this.chunksize(top);
      if (size >= nb + g.minSize) {
        this.takeFromTop(top, nb, size);
        return ret(top);
      }
      if (s.haveFastchunks) {
        this.mallocConsolidate();
        idx = this.inSmallbinRange(nb) ? this.smallbinIndex(nb) : this.largebinIndex(nb);
        continue;
      }
      const mem = this.sysmalloc(nb);
      if (mem !== 0) this.allocPerturb(mem, bytes);
      return mem;
    }
  }

  /** Carves `nb` off the top chunk `top` of `size`: the rest is the new top. */
  private takeFromTop(top: number, nb: number, size: number): void {
    const s = this.s;
    const remainder = top + nb;
    s.top = remainder;
    s.tag.set(top, T_USER);
    s.tag.set(remainder, T_TOP);
    this.setHead(top, nb + PREV_INUSE);
    this.setHead(remainder, (size - nb) + PREV_INUSE);
  }

  /** Takes chunk `v` out of its bin and splits off `nb`; a remainder of MINSIZE or more goes to the unsorted bin. */
  private splitFromBin(v: number, nb: number, setLastRemainder: boolean): number {
    const g = this.g;
    const size = this.chunksize(v);
    const remainderSize = size - nb;
    this.unlink(v);
    if (remainderSize < g.minSize) {
      this.setInuseBitAt(v, size);
    } else {
      const remainder = v + nb;
      this.toUnsorted(remainder);
      if (!this.inSmallbinRange(remainderSize)) this.w(remainder + 4 * g.sizeSz);
      if (setLastRemainder) this.s.lastRemainder = remainder;
      this.setHead(v, nb + PREV_INUSE);
      this.setHead(remainder, remainderSize + PREV_INUSE);
      this.setFoot(remainder, remainderSize);
    }
    return v;
  }

  /** sysmalloc(): memory from the system for `nb` — a mapping of its own, or the heap grown with brk. */
  private sysmalloc(nb: number): number {
    const g = this.g;
    const s = this.s;
    if (nb >= s.mmapThreshold && s.nMmaps < s.nMmapsMax) {
      const mem = this.sysmallocMmap(nb);
      if (mem !== 0) return mem;
    }

    const oldTop = s.top;
    const oldSize = this.chunksize(oldTop);
    const oldEnd = oldTop === INITIAL_TOP ? INITIAL_TOP : oldTop + oldSize;
    let brk = -1;
    let sndBrk = -1;

    let size = nb + s.topPad + g.minSize;
    if (s.contiguous) size -= oldSize;
    size = pageUp(size);
    if (size > 0 && size < g.ptrdiffLimit) brk = this.sbrk(size);

    if (brk === -1) {
      // sysmalloc_mmap_fallback(): brk could not grow, a mapping serves as heap space (non-contiguous from now on)
      let msize = size;
      if (s.contiguous) msize = pageUp(msize + oldSize);
      if (msize < MMAP_AS_MORECORE_SIZE) msize = MMAP_AS_MORECORE_SIZE;
      if (msize > nb && msize <= g.sizeMax) {
        const mbrk = this.mmap(msize);
        if (mbrk !== -1) {
          s.contiguous = false;
          size = msize;
          brk = mbrk;
          sndBrk = brk + size;
        }
      }
    }

    if (brk !== -1) {
      if (s.sbrkBase === 0) s.sbrkBase = brk;
      s.systemMem += size;
      if (s.contiguous && oldSize && brk < oldEnd) {
        // someone shrank the break under the heap (a brk() of the program's own): glibc aborts
        throw new MmsimError('EINVAL', `malloc in pid ${this.pid}: glibc aborts with 'break adjusted to free malloc space' (SIGABRT)`);
      }
      if (brk === oldEnd && sndBrk === -1) {
        // the heap grew in place: the top chunk is that much larger
        this.setHead(oldTop, (size + oldSize) + PREV_INUSE);
      } else {
        let correction = 0;
        let alignedBrk = brk;
        if (s.contiguous) {
          // the first time, or after a foreign sbrk: align the start, take the rest of the last page
          if (oldSize) s.systemMem += brk - oldEnd;
          const frontMisalign = (brk + g.hdr) & g.mask;
          if (frontMisalign > 0) {
            correction = g.align - frontMisalign;
            alignedBrk += correction;
          }
          correction += oldSize;
          const endMisalign = brk + size + correction;
          correction += pageUp(endMisalign) - endMisalign;
          // the old break comes back: the top chunk's size adds the correction to it
          sndBrk = this.sbrk(correction);
          if (sndBrk === -1) {
            correction = 0;
            sndBrk = this.sbrk(0);
          }
        } else {
          const frontMisalign = (brk + g.hdr) & g.mask;
          if (frontMisalign > 0) alignedBrk += g.align - frontMisalign;
          if (sndBrk === -1) sndBrk = this.sbrk(0);
        }
        if (sndBrk !== -1) {
          s.top = alignedBrk;
          s.tag.set(alignedBrk, T_TOP);
          this.setHead(alignedBrk, (sndBrk - alignedBrk + correction) + PREV_INUSE);
          s.systemMem += correction;
          if (oldSize !== 0) {
            // double fencepost at the old top so nothing coalesces into space we do not own; free the rest
            const keep = Math.floor((oldSize - 2 * g.hdr) / g.align) * g.align;
            this.setHead(oldTop, keep + PREV_INUSE);
            s.tag.set(oldTop + keep, T_FENCE);
            this.setHead(oldTop + keep, g.hdr + PREV_INUSE);
            s.tag.set(oldTop + keep + g.hdr, T_FENCE);
            this.setHead(oldTop + keep + g.hdr, g.hdr + PREV_INUSE);
            if (keep >= g.minSize) {
              s.tag.set(oldTop, T_USER);
              this.intFree(oldTop);
            } else if (keep !== 0) {
              // too small to be of use: lost, as in glibc
              s.tag.set(oldTop, T_FENCE);
            }
          }
        }
      }
    }
    if (s.systemMem > s.maxSystemMem) s.maxSystemMem = s.systemMem;

    const p = s.top;
    const topSize = this.chunksize(p);
    if (p !== INITIAL_TOP && topSize >= nb + g.minSize) {
      this.takeFromTop(p, nb, topSize);
      return p + g.hdr;
    }
    return 0;
  }

  /** sysmalloc_mmap(): a mapping of its own for the chunk (request + one word, page-rounded). */
  private sysmallocMmap(nb: number): number {
    const g = this.g;
    const s = this.s;
    const size = g.align === g.hdr ? pageUp(nb + g.sizeSz) : pageUp(nb + g.sizeSz + g.mask);
    if (size <= nb || size > g.sizeMax) return 0;
    const mm = this.mmap(size);
    if (mm === -1) return 0;
    const frontMisalign = (mm + g.hdr) & g.mask;
    const correction = frontMisalign > 0 ? g.align - frontMisalign : 0;
    const p = mm + correction;
    // prev_size holds the offset from the mapping's start; the head the size with IS_MMAPPED
    s.prevSize.set(p, correction);
    this.w(p);
    s.tag.set(p, T_MMAP);
    this.setHead(p, (size - correction) + IS_MMAPPED);
    s.nMmaps++;
    s.maxNMmaps = Math.max(s.maxNMmaps, s.nMmaps);
    s.mmappedMem += size;
    s.maxMmappedMem = Math.max(s.maxMmappedMem, s.mmappedMem);
    return p + g.hdr;
  }

  /** __libc_calloc(): _int_malloc (no tcache), then clears what may hold old data. */
  private libcCalloc(n: number, elem: number): number {
    const g = this.g;
    const s = this.s;
    const bytes = n * elem;
    if (bytes > g.sizeMax) return 0;
    this.maybeInitTcache();
    const oldTop = s.top;
    let oldTopSize = this.chunksize(oldTop);
    // MORECORE_CLEARS: only memory sbrk'd by this call is known to be zero
    if (oldTop !== INITIAL_TOP && oldTopSize < s.sbrkBase + s.maxSystemMem - oldTop) oldTopSize = s.sbrkBase + s.maxSystemMem - oldTop;
    const mem = this.intMalloc(bytes);
    if (mem === 0) return 0;
    const p = mem - g.hdr;
    if (s.tag.get(p) === T_MMAP) {
      if (s.perturb) this.wRange(mem, bytes);
      return mem;
    }
    let csz = this.chunksize(p);
    if (s.perturb === 0 && p === oldTop && csz > oldTopSize) csz = oldTopSize;
    this.wRange(mem, csz - g.sizeSz);
    return mem;
  }

  // ---- free ----

  /** What glibc checks before it changes anything (and what the model knows glibc would corrupt itself over). */
  private validateFree(ptr: number): void {
    const g = this.g;
    const s = this.s;
    const p = ptr - g.hdr;
    const t = s.tag.get(p);
    const abort = (code: 'EDOUBLE_FREE' | 'EBAD_POINTER', msg: string, note = ''): never => {
      throw new MmsimError(code, `free(${hex(ptr)}) in pid ${this.pid}: glibc aborts with '${msg}' (SIGABRT)${note}`, { details: { pid: this.pid, ptr, glibc: msg } });
    };
    if (ptr & g.mask) abort('EBAD_POINTER', 'free(): invalid pointer');
    if (t === T_USER) {
      if (p === s.tcacheChunk) abort('EBAD_POINTER', 'free(): invalid pointer', ' — that is the tcache, which malloc allocated for itself');
      return;
    }
    if (t === T_MMAP) return;
    if (t === T_TCACHE) abort('EDOUBLE_FREE', 'free(): double free detected in tcache 2');
    if (t === T_FAST) {
      const fb = s.fast[this.fastbinIndex(this.chunksize(p))]!;
      if (fb[fb.length - 1] === p) abort('EDOUBLE_FREE', 'double free or corruption (fasttop)');
      abort('EDOUBLE_FREE', 'double free or corruption (fasttop)', ' — not at the top of its fastbin, glibc would not see it and corrupt the bin instead');
    }
    if (t === T_BIN) abort('EDOUBLE_FREE', 'double free or corruption (!prev)');
    if (t === T_TOP) abort('EDOUBLE_FREE', 'double free or corruption (top)');
    abort('EBAD_POINTER', 'free(): invalid pointer', ' — no chunk starts there');
  }

  /** __libc_free() */
  private libcFree(mem: number): void {
    const g = this.g;
    const s = this.s;
    const p = mem - g.hdr;
    if (s.tag.get(p) === T_MMAP) {
      // the dynamic threshold: a freed mapped chunk raises the mmap threshold to its size, the trim threshold to twice that
      const raw = s.head.get(p)!;
      if (!s.noDynThreshold && raw > s.mmapThreshold && raw <= g.mmapThresholdMax) {
        s.mmapThreshold = this.chunksize(p);
        s.trimThreshold = 2 * s.mmapThreshold;
      }
      this.munmapChunk(p);
      return;
    }
    this.maybeInitTcache();
    this.intFree(p);
  }

  /** munmap_chunk() */
  private munmapChunk(p: number): void {
    const s = this.s;
    const off = s.prevSize.get(p) ?? 0;
    const total = off + this.chunksize(p);
    s.nMmaps--;
    s.mmappedMem -= total;
    this.forget(p);
    this.p.munmap(this.pid, p - off, total);
    this.lastPage = -1;
  }

  /** _int_free(): into the tcache, a fastbin, or coalesced into the unsorted bin or the top chunk (then maybe trimmed). */
  private intFree(p: number): void {
    const g = this.g;
    const s = this.s;
    let size = this.chunksize(p);
    const tcIdx = this.csize2tidx(size);
    if (s.tcache !== null && tcIdx < TCACHE_MAX_BINS && s.tcache[tcIdx]!.length < TCACHE_FILL_COUNT) {
      this.tcachePut(p, tcIdx);
      return;
    }
    if (size <= s.maxFast) {
      if (s.perturb) this.wRange(p + g.hdr, size - g.hdr);
      s.haveFastchunks = true;
      this.w(p + g.hdr); // p->fd
      s.fast[this.fastbinIndex(size)]!.push(p);
      s.tag.set(p, T_FAST);
      return;
    }
    if (s.perturb) this.wRange(p + g.hdr, size - g.hdr);
    size = this.mergeChunk(p, size);
    if (size >= FASTBIN_CONSOLIDATION_THRESHOLD) {
      if (s.haveFastchunks) this.mallocConsolidate();
      if (this.chunksize(s.top) >= s.trimThreshold) this.systrim(s.topPad);
    }
  }

  /** The coalescing part of _int_free() and malloc_consolidate(): with free neighbours, into the unsorted bin or the top. Returns the merged size. */
  private mergeChunk(p0: number, size0: number): number {
    const s = this.s;
    let p = p0;
    let size = size0;
    const next = p + size;
    const nextSize = this.chunksize(next);
    // consolidate backward
    if (!(s.head.get(p)! & PREV_INUSE)) {
      const prevSize = s.prevSize.get(p)!;
      const prev = p - prevSize;
      this.unlink(prev);
      this.forget(p);
      p = prev;
      size += prevSize;
    }
    if (next !== s.top) {
      if (!this.inuseBitAt(next, nextSize)) {
        this.unlink(next);
        this.forget(next);
        size += nextSize;
      } else {
        this.clearInuseBitAt(next, 0);
      }
      this.toUnsorted(p);
      if (!this.inSmallbinRange(size)) this.w(p + 4 * this.g.sizeSz);
      this.setHead(p, size + PREV_INUSE);
      this.setFoot(p, size);
    } else {
      size += nextSize;
      this.forget(next);
      s.tag.set(p, T_TOP);
      this.setHead(p, size + PREV_INUSE);
      s.top = p;
    }
    return size;
  }

  /** malloc_consolidate(): every fastbin chunk coalesced with its free neighbours. */
  private mallocConsolidate(): void {
    const s = this.s;
    s.haveFastchunks = false;
    for (const fb of s.fast) {
      // from the head of the list (the last pushed) to its end
      while (fb.length > 0) {
        const p = fb.pop()!;
        s.tag.set(p, T_USER);
        this.mergeChunk(p, this.chunksize(p));
      }
    }
  }

  /** systrim(): gives the top of the heap back with a negative sbrk, keeping `pad` bytes. */
  private systrim(pad: number): void {
    const g = this.g;
    const s = this.s;
    const topSize = this.chunksize(s.top);
    const topArea = topSize - g.minSize - 1;
    if (topArea <= pad) return;
    const extra = Math.floor((topArea - pad) / PAGE_SIZE) * PAGE_SIZE;
    if (extra === 0) return;
    const current = this.sbrk(0);
    if (current !== s.top + topSize) return;
    this.sbrk(-extra);
    const now = this.sbrk(0);
    const released = current - now;
    if (released !== 0) {
      s.systemMem -= released;
      this.setHead(s.top, (topSize - released) + PREV_INUSE);
    }
  }

  // ---- mallopt ----

  private libcMallopt(param: number, value: number): number {
    const s = this.s;
    const g = this.g;
    // a C int passed where glibc takes a size_t
    const size = value < 0 ? g.sizeMax + 1 + value : value;
    this.mallocConsolidate();
    switch (param) {
      case M_MXFAST:
        if (size > g.maxFastSize) return 0;
        s.maxFast = setMaxFast(g, size);
        return 1;
      case M_TRIM_THRESHOLD:
        s.trimThreshold = size;
        s.noDynThreshold = true;
        return 1;
      case M_TOP_PAD:
        s.topPad = size;
        s.noDynThreshold = true;
        return 1;
      case M_MMAP_THRESHOLD:
        // glibc 2.36 takes any value (observed: mallopt(M_MMAP_THRESHOLD, 64 MiB) returns 1)
        s.mmapThreshold = size;
        s.noDynThreshold = true;
        return 1;
      case M_MMAP_MAX:
        s.nMmapsMax = value;
        s.noDynThreshold = true;
        return 1;
      case M_PERTURB:
        s.perturb = value & 0xff;
        return 1;
      default:
        // M_CHECK_ACTION, M_ARENA_TEST, M_ARENA_MAX and unknown parameters: accepted, nothing to do for one arena
        return 1;
    }
  }
}

function binKey(i: number): number {
  return -(i + 2);
}

function pageUp(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** set_max_fast() */
function setMaxFast(g: Geometry, v: number): number {
  return v <= g.mask - g.sizeSz ? (4 * g.sizeSz) / 2 : Math.floor((v + g.sizeSz) / g.align) * g.align;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
