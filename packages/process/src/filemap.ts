/**
 * The page cache (mm/filemap.c) over a simple file namespace: files are
 * inodes numbered from 1 with a path and a size, their data on the
 * simulated device (page_io.ts); cached pages are found by file page
 * index in chunked typed arrays per inode (the address_space's xarray).
 * A page-cache page is an order-0 GFP_HIGHUSER_MOVABLE allocation of kind
 * PageOwner.PAGE_CACHE, owner = the inode number (page->mapping), index =
 * the file page; it is on the file LRU through the reclaim policy
 * (folio_add_lru) and counts in nr_file_pages.
 *
 * read() is filemap_read with filemap_get_pages and ondemand readahead
 * (readahead.ts) on a file_ra_state per task and file; reads mark pages
 * accessed as filemap_read does, so a second read of a file moves its pages
 * to the active list. faultPage() is filemap_fault with
 * do_sync_mmap_readahead's read-around and do_async_mmap_readahead. write()
 * is generic_perform_write: pages allocated or read in (a partial write of
 * a page that has data on the device reads it first), dirtied, i_size
 * extended, then balance_dirty_pages (page-writeback.ts). Reads wait for
 * the device on the simulated clock; readahead beyond what the reader
 * needs completes as time passes. drop_caches (fs/drop_caches.c) drops
 * clean unmapped pages (invalidate_mapping_pages) and asks the slab
 * shrinkers (drop_slab).
 *
 * Page states: a page being read is PG_locked and not PG_uptodate and
 * carries the request's reference (refcount 2) until the read completes;
 * a page under writeback carries one too. PG_readahead is PG_reclaim's bit.
 * @module
 */
import {
  __GFP_NORETRY, __GFP_NOWARN, __GFP_WRITE, CLOCK, type DelayedWork, type DelayedWorkQueue, ENOMEM, GFP_HIGHUSER_MOVABLE, inject,
  injectable, type InvariantCheck, type Lazy, lazy, lazyAll, MEMORY_MODEL, type MemoryModel, MmsimError, PAGE_ALLOCATOR, PAGE_CACHE,
  PAGE_SIZE, type PageAllocator, type PageCache, PageOwner, type PageOwnerOps, PG_dirty, PG_locked, PG_lru, PG_reclaim, PG_uptodate,
  PG_writeback, RECLAIM_POLICY, type ReclaimPolicy, SHRINKER, type Shrinker, type SimClock, type SimFile, SLAB_ALLOCATOR,
  type SlabAllocator, SYSCTL, type Sysctl, type SysctlName, TASKS, type TaskTable, TIMERS, TOPOLOGY, type Topology, VMSTAT, type VmStat,
} from '@mmsim/core';
import { BdiWriteback, IDLE_NS, type WbHost, type WbInode } from './page-writeback.js';
import { BioRequest, BlockDevice } from './page_io.js';
import { doPageCacheRa, FileRaState, MMAP_LOTSAMISS, pageCacheAsyncRa, pageCacheSyncRa, type RaMapping } from './readahead.js';

/** Page slots per chunk of an inode's page index. */
const PER_CHUNK = 512;
/** PAGEVEC_SIZE: folios per filemap_get_read_batch(). */
const PAGEVEC_SIZE = 31;
/** PG_readahead shares PG_reclaim's bit. */
const PG_readahead = PG_reclaim;
/** mapping_gfp_mask() of a regular file. */
const MAPPING_GFP = GFP_HIGHUSER_MOVABLE;
/** readahead_gfp_mask(): readahead gives up rather than reclaim hard. */
const READAHEAD_GFP = MAPPING_GFP | __GFP_NORETRY | __GFP_NOWARN;
const KB_PER_PAGE = PAGE_SIZE / 1024;

/** An inode of the simulated file namespace with its page cache (struct inode + struct address_space). */
export class Inode implements SimFile, WbInode {
  /** Cached pages (mapping->nrpages). */
  nrpages = 0;
  nrDirty = 0;
  nrWriteback = 0;
  dirtiedWhen = -1;
  wbIndex = 0;
  /** The page index: chunk k holds file pages [512k, 512k + 512) as pfn + 1 (0: not cached). */
  readonly chunks: (Int32Array | null)[] = [];
  /** Cached pages per chunk. */
  readonly chunkUsed: number[] = [];
  /** Dirty pages per chunk. */
  readonly chunkDirty: number[] = [];

  constructor(
    readonly ino: number,
    readonly path: string,
    /** i_size, bytes. */
    public size: number,
  ) {}

  /** The cached page's pfn at file page `index`, or −1. */
  get(index: number): number {
    const c = this.chunks[Math.floor(index / PER_CHUNK)];
    return c ? c[index % PER_CHUNK]! - 1 : -1;
  }
}

const inc = (r: Record<string, number>, k: string, n = 1): void => {
  r[k] = (r[k] ?? 0) + n;
};

/** The readahead_control the readahead code works through: one per page cache, pointed at a file for each call. */
class RaControl implements RaMapping {
  inode: Inode | null = null;
  cpu = 0;
  pid = 0;
  /** Pages added since the last readPages(). */
  batch: number[] = [];

  constructor(private readonly fm: Filemap) {}

  get size(): number {
    return this.inode!.size;
  }
  get ioPages(): number {
    return this.fm.device.ioPages;
  }
  has(index: number): boolean {
    return this.inode!.get(index) >= 0;
  }
  addPage(index: number, mark: boolean): boolean {
    const pfn = this.fm.addPage(this.inode!, index, READAHEAD_GFP, this.cpu, this.pid, PG_locked | (mark ? PG_readahead : 0));
    if (pfn < 0) return false;
    this.batch.push(pfn);
    return true;
  }
  readPages(): void {
    if (this.batch.length === 0) return;
    const b = this.batch;
    this.batch = [];
    this.fm.submitRead(b);
  }
}

/** PAGE_CACHE of @mmsim/process: files, their cached pages, readahead, dirty pages and writeback. */
@injectable()
export class Filemap implements PageCache, WbHost {
  /** Inodes by number (0 unused). */
  readonly files: (Inode | null)[] = [null];
  private readonly byPath = new Map<string, Inode>();
  /** The device the files live on (throughput and latency can be changed). */
  readonly device = new BlockDevice();
  /** file_ra_state of read(2)s, by pid × 2^32 + ino. */
  private readonly raRead = new Map<number, FileRaState>();
  /** file_ra_state of mmap faults, by pid × 2^32 + ino. */
  private readonly raMmap = new Map<number, FileRaState>();
  readonly wb: BdiWriteback;
  private readonly ractl: RaControl;
  /** Pages submitted for device reads, ever (read()'s readIn is the difference). */
  private readInTotal = 0;
  private readonly flusherJob: DelayedWork;
  private readonly ioJob: DelayedWork;
  /** When the completion timer fires next. */
  private ioDue = Infinity;
  /** The values the writeback sysctls had (their handlers act on a change). */
  private lastDirtyRatio: number;
  private lastDirtyBytes: number;
  private lastWritebackCentisecs: number;

  constructor(
    @inject(MEMORY_MODEL) readonly memory: MemoryModel,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    @inject(RECLAIM_POLICY) readonly policy: ReclaimPolicy,
    @inject(VMSTAT) readonly vmstat: VmStat,
    @inject(SYSCTL) readonly sysctl: Sysctl,
    @inject(TOPOLOGY) readonly topology: Topology,
    @inject(CLOCK) readonly clock: SimClock,
    @inject(TIMERS) timers: DelayedWorkQueue,
    @inject(lazy(TASKS)) private readonly tasks: Lazy<TaskTable>,
    @inject(SLAB_ALLOCATOR) private readonly slab: SlabAllocator,
    @inject(lazyAll(SHRINKER)) private readonly shrinkers: Lazy<Shrinker[]>,
  ) {
    this.wb = new BdiWriteback(this);
    this.ractl = new RaControl(this);
    this.flusherJob = timers.queue('wb_workfn', IDLE_NS, () => this.wb.wbWorkfn());
    this.ioJob = timers.queue('blk_complete_reqs', IDLE_NS, () => this.ioWork());
    this.lastDirtyRatio = sysctl.get('vm.dirty_ratio');
    this.lastDirtyBytes = sysctl.get('vm.dirty_bytes');
    this.lastWritebackCentisecs = sysctl.get('vm.dirty_writeback_centisecs');
    sysctl.onChange((name, value) => this.sysctlWritten(name, value as number));
  }

  // ---- the file namespace -------------------------------------------------------

  create(path: string, size: number): SimFile {
    if (typeof path !== 'string' || path.length === 0) throw new MmsimError('EINVAL', `create: a file needs a non-empty path, not ${JSON.stringify(path)}`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new MmsimError('EBAD_SIZE', `create: size must be a whole number of bytes ≥ 0, not ${String(size)}`, { details: { size } });
    if (this.byPath.has(path)) throw new MmsimError('EINVAL', `create: ${path} exists (EEXIST)`, { details: { path } });
    const inode = new Inode(this.files.length, path, size);
    this.files.push(inode);
    this.byPath.set(path, inode);
    return inode;
  }

  lookup(path: string): SimFile | undefined {
    return this.byPath.get(path);
  }

  file(ino: number): SimFile {
    return this.inode(ino);
  }

  /** The inode `ino` (EINVAL naming it otherwise). */
  inode(ino: number): Inode {
    const i = Number.isInteger(ino) ? this.files[ino] : undefined;
    if (!i) throw new MmsimError('EINVAL', `no file with inode number ${String(ino)} (ENOENT)`, { details: { ino } });
    return i;
  }

  cachedPages(ino: number): number {
    return this.inode(ino).nrpages;
  }

  findPage(ino: number, index: number): number {
    return Number.isInteger(index) && index >= 0 ? this.inode(ino).get(index) : -1;
  }

  // ---- the page index -----------------------------------------------------------

  /**
   * filemap_alloc_folio + filemap_add_folio: a page for file page `index`
   * with `flags`, on the inactive file list. A PG_locked page carries the
   * read's reference too. −1 when no page could be had.
   */
  addPage(inode: Inode, index: number, gfp: number, cpu: number, pid: number, flags: number): number {
    const pfn = this.pages.allocPages(gfp, 0, pid > 0 ? { cpu, pid } : { cpu });
    if (pfn === null) return -1;
    const t = this.memory.pages;
    const page = this.memory.pfnToPage(pfn);
    t.ownerKind[page] = PageOwner.PAGE_CACHE;
    t.owner[page] = inode.ino;
    t.index[page] = index;
    t.flags[page]! |= flags;
    if (flags & PG_locked) t.refcount[page]!++;
    const ci = Math.floor(index / PER_CHUNK);
    let c = inode.chunks[ci];
    if (!c) {
      c = inode.chunks[ci] = new Int32Array(PER_CHUNK);
      inode.chunkUsed[ci] = 0;
      inode.chunkDirty[ci] = 0;
    }
    for (let k = inode.chunkUsed.length; k < ci; k++) {
      inode.chunkUsed[k] ??= 0;
      inode.chunkDirty[k] ??= 0;
      inode.chunks[k] ??= null;
    }
    c[index % PER_CHUNK] = pfn + 1;
    inode.chunkUsed[ci]!++;
    inode.nrpages++;
    inc(this.vmstat.node, 'nr_file_pages');
    this.policy.pageAdded(pfn, false);
    return pfn;
  }

  /** __filemap_remove_folio + the cache's folio_put: the page leaves the index and the LRU and is freed. */
  private removePage(inode: Inode, index: number, pfn: number): void {
    const t = this.memory.pages;
    const page = this.memory.pfnToPage(pfn);
    if (t.flags[page]! & PG_lru) this.policy.pageRemoved(pfn);
    const ci = Math.floor(index / PER_CHUNK);
    const c = inode.chunks[ci]!;
    c[index % PER_CHUNK] = 0;
    if (--inode.chunkUsed[ci]! === 0) inode.chunks[ci] = null;
    inode.nrpages--;
    this.vmstat.node.nr_file_pages! -= 1;
    t.flags[page]! &= ~(PG_uptodate | PG_readahead);
    this.pages.freePages(pfn, 0);
  }

  /** Can the page be dropped (mapping_evict_folio): clean, not under I/O, mapped by nobody, no reference but the cache's. */
  private evictable(page: number): boolean {
    const t = this.memory.pages;
    return !(t.flags[page]! & (PG_dirty | PG_writeback | PG_locked)) && t.mapcount[page] === 0 && t.refcount[page] === 1;
  }

  // ---- device I/O -----------------------------------------------------------------

  /** read_pages(): the pages (locked, each with the request's reference) are read in requests of at most io_pages; pgpgin. */
  submitRead(pfns: number[]): void {
    const dev = this.device;
    for (let i = 0; i < pfns.length; i += dev.ioPages) {
      const part = pfns.slice(i, i + dev.ioPages);
      dev.submit(this.clock.now(), part.length, false, part);
    }
    this.readInTotal += pfns.length;
    inc(this.vmstat.events, 'pgpgin', pfns.length * KB_PER_PAGE);
    this.armCompletion();
  }

  /** bio_endio for one request: reads make their pages uptodate and unlock them, writes end writeback. */
  private endRequest(r: BioRequest): void {
    const t = this.memory.pages;
    for (const pfn of r.pfns) {
      const page = this.memory.pfnToPage(pfn);
      if (r.write) {
        this.wb.endWriteback(this.inode(t.owner[page]!), page);
      } else {
        t.flags[page] = (t.flags[page]! & ~PG_locked) | PG_uptodate;
        t.refcount[page]!--;
      }
    }
    if (r.write) this.wb.requestDone();
  }

  completeIo(): void {
    const now = this.clock.now();
    let done = false;
    for (;;) {
      const r = this.device.peek();
      if (r === undefined || r.done > now) break;
      this.device.shift();
      this.endRequest(r);
      done = true;
    }
    // the flusher goes on as its requests complete
    if (done && (this.wb.bgActive || this.wb.kupdateBefore >= 0)) this.wb.run();
    this.armCompletion();
  }

  waitOne(): boolean {
    const r = this.device.peek();
    if (r === undefined) return false;
    this.clock.advance(r.done - this.clock.now());
    this.completeIo();
    return true;
  }

  /** Waits (folio_wait_locked) until the page's read has completed. */
  private waitPage(page: number): void {
    const t = this.memory.pages;
    while (t.flags[page]! & PG_locked) {
      if (!this.waitOne()) throw new MmsimError('ECORRUPT', `page slot ${page} is locked with no I/O in flight`);
    }
  }

  armCompletion(): void {
    const r = this.device.peek();
    if (r !== undefined && r.done < this.ioDue) {
      this.ioDue = r.done;
      this.ioJob.mod(r.done - this.clock.now());
    }
  }

  armFlusher(delayNs: number): void {
    this.flusherJob.mod(delayNs);
  }

  /** The completion timer's job: what is done by now completes; the timer is set for the next request. */
  private ioWork(): number {
    this.ioDue = Infinity;
    this.completeIo();
    const r = this.device.peek();
    this.ioDue = r === undefined ? Infinity : r.done;
    return r === undefined ? IDLE_NS : r.done - this.clock.now();
  }

  /** A sync read of one page added locked: submitted and waited for. */
  private readPageSync(pfn: number): void {
    this.submitRead([pfn]);
    this.waitPage(this.memory.pfnToPage(pfn));
  }

  // ---- read(2) --------------------------------------------------------------------

  private cpuOf(pid: number): number {
    if (pid === 0) return 0;
    const tasks = this.tasks();
    if (!tasks.has(pid)) throw new MmsimError('ETASK_UNKNOWN', `no task with pid ${pid}`, { details: { pid } });
    return tasks.get(pid).cpu;
  }

  private raState(map: Map<number, FileRaState>, pid: number, ino: number): FileRaState {
    const key = pid * 2 ** 32 + ino;
    let ra = map.get(key);
    if (ra === undefined) map.set(key, (ra = new FileRaState()));
    return ra;
  }

  private checkRange(op: string, pid: number, offset: number, len: number): void {
    if (!Number.isInteger(pid) || pid < 0) throw new MmsimError('EINVAL', `${op}: pid must be an integer ≥ 0, not ${String(pid)}`);
    for (const [k, v] of [['offset', offset], ['len', len]] as const) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new MmsimError('EBAD_SIZE', `${op}: ${k} must be a whole number of bytes ≥ 0, not ${String(v)}`, { details: { [k]: v } });
    }
  }

  /** Points the readahead control at a file for one call. */
  private ra(inode: Inode, cpu: number, pid: number): RaControl {
    const r = this.ractl;
    r.inode = inode;
    r.cpu = cpu;
    r.pid = pid;
    return r;
  }

  read(pid: number, ino: number, offset: number, len: number): { bytes: number; pages: number; readIn: number } {
    this.checkRange('read', pid, offset, len);
    const inode = this.inode(ino);
    const cpu = this.cpuOf(pid);
    this.completeIo();
    const before = this.readInTotal;
    if (len === 0) return { bytes: 0, pages: 0, readIn: 0 };
    const ra = this.raState(this.raRead, pid, ino);
    const t = this.memory.pages;
    let pos = offset;
    let count = len;
    let lastPos = ra.prevPos;
    let already = 0;
    let copiedPages = 0;
    let error = 0;
    do {
      if (pos >= inode.size) break;
      const batch = this.getPages(inode, ra, pos, count, cpu, pid);
      if (typeof batch === 'number') {
        error = batch;
        break;
      }
      const isize = inode.size;
      if (pos >= isize) break;
      const endOffset = Math.min(isize, pos + count);
      // when a read accesses the same folio several times, only the first marks it accessed
      if (Math.floor(pos / PAGE_SIZE) !== Math.floor((lastPos - 1) / PAGE_SIZE)) this.policy.pageAccessed(batch[0]!);
      for (let i = 0; i < batch.length; i++) {
        const page = this.memory.pfnToPage(batch[i]!);
        const fpos = t.index[page]! * PAGE_SIZE;
        if (endOffset < fpos) break;
        if (i > 0) this.policy.pageAccessed(batch[i]!);
        const bytes = Math.min(endOffset - pos, PAGE_SIZE - (pos % PAGE_SIZE));
        already += bytes;
        pos += bytes;
        count -= bytes;
        lastPos = pos;
        if (bytes > 0) copiedPages++;
      }
    } while (count > 0 && pos < inode.size && error === 0);
    ra.prevPos = lastPos;
    return { bytes: already > 0 ? already : error, pages: copiedPages, readIn: this.readInTotal - before };
  }

  /**
   * filemap_get_pages(): the batch of cached pages from `pos` (sync
   * readahead on a miss, one page read alone when even that got nothing;
   * async readahead when the batch ends on a PG_readahead page; a wait for
   * the last page's read). A pfn list, or −ENOMEM.
   */
  private getPages(inode: Inode, ra: FileRaState, pos: number, count: number, cpu: number, pid: number): number[] | number {
    const t = this.memory.pages;
    const index = Math.floor(pos / PAGE_SIZE);
    const lastIndex = Math.ceil((pos + count) / PAGE_SIZE);
    for (;;) {
      let batch = this.readBatch(inode, index, lastIndex - 1);
      if (batch.length === 0) {
        pageCacheSyncRa(this.ra(inode, cpu, pid), ra, index, lastIndex - index);
        batch = this.readBatch(inode, index, lastIndex - 1);
      }
      if (batch.length === 0) {
        // filemap_create_folio(): the one page, with the mapping's own gfp
        const pfn = this.addPage(inode, index, MAPPING_GFP, cpu, pid, PG_locked);
        if (pfn < 0) return -ENOMEM;
        this.readPageSync(pfn);
        return [pfn];
      }
      const last = batch[batch.length - 1]!;
      const lp = this.memory.pfnToPage(last);
      if (t.flags[lp]! & PG_readahead) this.asyncRa(inode, ra, last, lp, lastIndex - t.index[lp]!, cpu, pid);
      if (t.flags[lp]! & PG_uptodate) return batch;
      // filemap_update_page(): wait for the read in flight; the page leaves this batch (AOP_TRUNCATED_PAGE)
      this.waitPage(lp);
      batch.pop();
      if (batch.length > 0) return batch;
    }
  }

  /** filemap_get_read_batch(): consecutive cached pages from `index` to `max`, ending at one not uptodate or marked for readahead. */
  private readBatch(inode: Inode, index: number, max: number): number[] {
    const t = this.memory.pages;
    const out: number[] = [];
    for (let i = index; i <= max && out.length < PAGEVEC_SIZE; i++) {
      const pfn = inode.get(i);
      if (pfn < 0) break;
      out.push(pfn);
      const f = t.flags[this.memory.pfnToPage(pfn)]!;
      if (!(f & PG_uptodate) || f & PG_readahead) break;
    }
    return out;
  }

  /** page_cache_async_ra() from a read (or a fault): not under writeback, the mark cleared, then the next window. */
  private asyncRa(inode: Inode, ra: FileRaState, pfn: number, page: number, reqCount: number, cpu: number, pid: number): void {
    if (ra.raPages === 0) return;
    const t = this.memory.pages;
    if (t.flags[page]! & PG_writeback) return;
    t.flags[page]! &= ~PG_readahead;
    pageCacheAsyncRa(this.ra(inode, cpu, pid), ra, t.index[page]!, reqCount);
    void pfn;
  }

  // ---- mmap faults ------------------------------------------------------------------

  faultPage(ino: number, index: number, pid = 0): { pfn: number; major: boolean } | 'sigbus' | null {
    const inode = this.inode(ino);
    if (!Number.isSafeInteger(index) || index < 0) throw new MmsimError('EINVAL', `faultPage: index must be a file page number ≥ 0, not ${String(index)}`);
    const cpu = this.cpuOf(pid);
    this.completeIo();
    if (index >= Math.ceil(inode.size / PAGE_SIZE)) return 'sigbus';
    const ra = this.raState(this.raMmap, pid, ino);
    const t = this.memory.pages;
    let pfn = inode.get(index);
    let major = false;
    if (pfn >= 0) {
      // do_async_mmap_readahead()
      if (ra.raPages > 0) {
        if (ra.mmapMiss > 0) ra.mmapMiss--;
        const page = this.memory.pfnToPage(pfn);
        if (t.flags[page]! & PG_readahead) this.asyncRa(inode, ra, pfn, page, ra.raPages, cpu, pid);
      }
    } else {
      major = true;
      inc(this.vmstat.events, 'pgmajfault');
      this.syncMmapRa(inode, ra, index, cpu, pid);
      pfn = inode.get(index);
      if (pfn < 0) {
        // __filemap_get_folio(FGP_CREAT|FGP_FOR_MMAP), then read it in
        pfn = this.addPage(inode, index, MAPPING_GFP, cpu, pid, PG_locked);
        if (pfn < 0) return null;
        this.submitRead([pfn]);
      }
    }
    const page = this.memory.pfnToPage(pfn);
    this.waitPage(page);
    // the reference the PTE keeps
    t.refcount[page]!++;
    return { pfn, major };
  }

  /** do_sync_mmap_readahead(): read-around of ra_pages centred on the fault, until mmap faults keep missing. */
  private syncMmapRa(inode: Inode, ra: FileRaState, index: number, cpu: number, pid: number): void {
    if (ra.raPages === 0) return;
    if (ra.mmapMiss < MMAP_LOTSAMISS * 10) ra.mmapMiss++;
    if (ra.mmapMiss > MMAP_LOTSAMISS) return;
    ra.start = Math.max(0, index - Math.floor(ra.raPages / 2));
    ra.size = ra.raPages;
    ra.asyncSize = Math.floor(ra.raPages / 4);
    doPageCacheRa(this.ra(inode, cpu, pid), ra.start, ra.size, ra.asyncSize);
  }

  // ---- write(2) ---------------------------------------------------------------------

  write(pid: number, ino: number, offset: number, len: number): number {
    this.checkRange('write', pid, offset, len);
    const inode = this.inode(ino);
    const cpu = this.cpuOf(pid);
    this.completeIo();
    const t = this.memory.pages;
    let pos = offset;
    let written = 0;
    while (written < len) {
      const index = Math.floor(pos / PAGE_SIZE);
      const off = pos % PAGE_SIZE;
      const bytes = Math.min(PAGE_SIZE - off, len - written);
      let pfn = inode.get(index);
      let page: number;
      if (pfn < 0) {
        // write_begin: a new page; a partial write of a page with data on the device reads it first
        const partial = off !== 0 || bytes !== PAGE_SIZE;
        const onDisk = index * PAGE_SIZE < inode.size;
        pfn = this.addPage(inode, index, MAPPING_GFP | __GFP_WRITE, cpu, pid, partial && onDisk ? PG_locked : PG_uptodate);
        if (pfn < 0) break;
        page = this.memory.pfnToPage(pfn);
        if (partial && onDisk) this.readPageSync(pfn);
      } else {
        page = this.memory.pfnToPage(pfn);
        this.waitPage(page);
      }
      // write_end: i_size, then the page is dirty
      pos += bytes;
      written += bytes;
      if (pos > inode.size) inode.size = pos;
      t.flags[page]! |= PG_uptodate;
      this.wb.markDirty(inode, page, index);
      this.wb.ratelimited();
    }
    return written > 0 || len === 0 ? written : -ENOMEM;
  }

  dirtyPage(pfn: number): void {
    const page = this.memory.pfnToPage(pfn);
    const t = this.memory.pages;
    if (page < 0 || t.refcount[page]! <= 0 || t.ownerKind[page] !== PageOwner.PAGE_CACHE) {
      throw new MmsimError('EBAD_PFN', `dirtyPage: pfn ${pfn} is not a page-cache page`, { details: { pfn } });
    }
    const inode = this.inode(t.owner[page]!);
    if (this.wb.markDirty(inode, page, t.index[page]!)) this.wb.ratelimited();
  }

  fsync(ino: number): number {
    return this.wb.fsync(this.inode(ino));
  }

  // ---- drop_caches -------------------------------------------------------------------

  /**
   * drop_caches_sysctl_handler(): 1 drops every clean, unmapped page not
   * under I/O (invalidate_mapping_pages over every inode), counting
   * drop_pagecache; 2 runs the slab shrinkers until they free little
   * (drop_slab), counting drop_slab; 3 both (4 only silences the kernel's
   * log line). Returns the pages freed.
   */
  dropCaches(mode: number): number {
    if (!Number.isInteger(mode) || mode < 1 || mode > 4) throw new MmsimError('EINVAL', `drop_caches: mode must be 1..4, not ${String(mode)}`, { details: { mode } });
    this.completeIo();
    let freed = 0;
    if (mode & 1) {
      for (const inode of this.files) if (inode) freed += this.invalidateMappingPages(inode);
      inc(this.vmstat.events, 'drop_pagecache');
    }
    if (mode & 2) {
      freed += this.dropSlab();
      inc(this.vmstat.events, 'drop_slab');
    }
    return freed;
  }

  /** invalidate_mapping_pages(mapping, 0, -1): the pages nobody needs go. */
  private invalidateMappingPages(inode: Inode): number {
    let freed = 0;
    for (let ci = 0; ci < inode.chunks.length; ci++) {
      const c = inode.chunks[ci];
      if (!c) continue;
      for (let j = 0; j < PER_CHUNK; j++) {
        const e = c[j]!;
        if (e === 0) continue;
        const pfn = e - 1;
        if (!this.evictable(this.memory.pfnToPage(pfn))) continue;
        this.removePage(inode, ci * PER_CHUNK + j, pfn);
        freed++;
        if (inode.chunks[ci] === null) break;
      }
    }
    return freed;
  }

  /** drop_slab(): shrink_slab at priority 0 on every node until a pass frees little; returns the slab pages freed. */
  private dropSlab(): number {
    const shrinkers = this.shrinkers();
    const pagesOf = (): number => {
      const s = this.slab.stats();
      return s.reclaimablePages + s.unreclaimablePages;
    };
    const before = pagesOf();
    let shift = 0;
    let freed: number;
    do {
      freed = 0;
      for (const n of this.topology.nodes) for (const s of shrinkers) freed += this.doShrinkSlab(s, n.nid);
    } while (Math.floor(freed / 2 ** shift++) > 1);
    return Math.max(0, before - pagesOf());
  }

  /** do_shrink_slab() at priority 0: twice the freeable objects (DEFAULT_SEEKS), in batches of 128. */
  private doShrinkSlab(s: Shrinker, nid: number): number {
    const freeable = s.countObjects(nid);
    if (freeable <= 0) return 0;
    let totalScan = Math.min(2 * freeable, 2 * freeable);
    let freed = 0;
    let scanned = 0;
    while (totalScan >= 128 || totalScan >= freeable) {
      const nr = Math.min(128, totalScan);
      const ret = s.scanObjects(nid, nr);
      if (ret < 0) break;
      freed += ret;
      scanned += nr;
      totalScan -= nr;
      if (nr === 0) break;
    }
    inc(this.vmstat.events, 'slabs_scanned', scanned);
    return freed;
  }

  // ---- sysctls ------------------------------------------------------------------------

  /** The proc handlers of the writeback sysctls and drop_caches. */
  private sysctlWritten(name: SysctlName, value: number): void {
    switch (name) {
      case 'vm.dirty_ratio':
        if (value !== this.lastDirtyRatio) this.sysctl.setComputed('vm.dirty_bytes', 0);
        break;
      case 'vm.dirty_bytes':
        if (value !== this.lastDirtyBytes) this.sysctl.setComputed('vm.dirty_ratio', 0);
        break;
      case 'vm.dirty_background_ratio':
        this.sysctl.setComputed('vm.dirty_background_bytes', 0);
        break;
      case 'vm.dirty_background_bytes':
        this.sysctl.setComputed('vm.dirty_background_ratio', 0);
        break;
      case 'vm.dirty_writeback_centisecs':
        // a new interval wakes the flushers to write everything (wakeup_flusher_threads)
        if (value > 0 && value !== this.lastWritebackCentisecs && this.wb.dirtyInodes.size > 0) {
          this.wb.kupdateBefore = this.clock.now();
          this.wb.run();
        }
        this.wb.flusherArmed = this.wb.dirtyInodes.size > 0 && value > 0;
        this.armFlusher(this.wb.flusherArmed ? value * 10e6 : IDLE_NS);
        break;
      case 'vm.drop_caches':
        this.dropCaches(value);
        break;
      default:
        return;
    }
    this.lastDirtyRatio = this.sysctl.get('vm.dirty_ratio');
    this.lastDirtyBytes = this.sysctl.get('vm.dirty_bytes');
    this.lastWritebackCentisecs = this.sysctl.get('vm.dirty_writeback_centisecs');
  }

  // ---- the page owner (a_ops) ---------------------------------------------------------

  /** migrate_folio(): the index follows the page to its new frame. */
  ownerMigrate(oldPfn: number, newPfn: number): void {
    const t = this.memory.pages;
    const oldPage = this.memory.pfnToPage(oldPfn);
    const newPage = this.memory.pfnToPage(newPfn);
    // every owner of the kind is told: a page cache page that is not in our files is someone else's
    const inode = this.files[t.owner[newPage]!];
    if (!inode || !t.index) return;
    const index = t.index[oldPage]!;
    if (inode.get(index) !== oldPfn) return;
    t.index[newPage] = index;
    inode.chunks[Math.floor(index / PER_CHUNK)]![index % PER_CHUNK] = newPfn + 1;
  }

  /** __remove_mapping() for reclaim: a clean, unmapped page nobody else holds leaves the cache and is freed. */
  ownerEvict(pfn: number): boolean {
    const page = this.memory.pfnToPage(pfn);
    if (page < 0 || !this.evictable(page)) return false;
    const t = this.memory.pages;
    const inode = this.files[t.owner[page]!];
    if (!inode) return false;
    const index = t.index[page]!;
    if (inode.get(index) !== pfn) return false;
    this.removePage(inode, index, pfn);
    return true;
  }

  ownerDescribe(pfn: number): string | undefined {
    const page = this.memory.pfnToPage(pfn);
    if (page < 0) return undefined;
    const t = this.memory.pages;
    const inode = this.files[t.owner[page]!];
    if (!inode) return undefined;
    const index = t.index[page]!;
    const f = t.flags[page]!;
    const state = [f & PG_dirty ? 'dirty' : '', f & PG_writeback ? 'writeback' : '', f & PG_locked ? 'locked' : ''].filter(Boolean).join(',');
    return `page cache: ${inode.path} (ino ${inode.ino}) page ${index}${state ? ` ${state}` : ''}`;
  }

  // ---- invariants ---------------------------------------------------------------------

  /** Index, page-frame table and counters agree (sim.check()); throws ECORRUPT naming what is wrong. */
  check(): void {
    const t = this.memory.pages;
    const bad = (msg: string): never => {
      throw new MmsimError('ECORRUPT', `page cache: ${msg}`);
    };
    let cached = 0;
    let dirty = 0;
    let writeback = 0;
    for (const inode of this.files) {
      if (!inode) continue;
      let n = 0;
      let d = 0;
      let w = 0;
      for (let ci = 0; ci < inode.chunks.length; ci++) {
        const c = inode.chunks[ci];
        if (!c) continue;
        let used = 0;
        let cd = 0;
        for (let j = 0; j < PER_CHUNK; j++) {
          const e = c[j]!;
          if (e === 0) continue;
          used++;
          const pfn = e - 1;
          const index = ci * PER_CHUNK + j;
          const page = this.memory.pfnToPage(pfn);
          if (page < 0 || t.refcount[page]! <= 0) bad(`${inode.path} page ${index}: pfn ${pfn} is not allocated`);
          if (t.ownerKind[page] !== PageOwner.PAGE_CACHE || t.owner[page] !== inode.ino) bad(`${inode.path} page ${index}: pfn ${pfn} is owned by ${PageOwner[t.ownerKind[page]!]} ${t.owner[page]}`);
          if (t.index[page] !== index) bad(`${inode.path} page ${index}: pfn ${pfn} has index ${t.index[page]}`);
          const f = t.flags[page]!;
          if (f & PG_dirty) cd++;
          if (f & PG_writeback) w++;
          if (!(f & PG_uptodate) !== !!(f & PG_locked)) bad(`${inode.path} page ${index}: pfn ${pfn} is ${f & PG_locked ? 'locked and uptodate' : 'neither uptodate nor being read'}`);
        }
        if (used !== inode.chunkUsed[ci]) bad(`${inode.path} chunk ${ci}: ${used} pages, counted ${inode.chunkUsed[ci]}`);
        if (cd !== inode.chunkDirty[ci]) bad(`${inode.path} chunk ${ci}: ${cd} dirty pages, counted ${inode.chunkDirty[ci]}`);
        n += used;
        d += cd;
      }
      if (n !== inode.nrpages) bad(`${inode.path}: nrpages ${inode.nrpages} but ${n} cached`);
      if (d !== inode.nrDirty) bad(`${inode.path}: ${inode.nrDirty} dirty pages counted, ${d} found`);
      if (w !== inode.nrWriteback) bad(`${inode.path}: ${inode.nrWriteback} pages under writeback counted, ${w} found`);
      if ((d > 0) !== this.wb.dirtyInodes.has(inode)) bad(`${inode.path}: ${d} dirty pages but ${this.wb.dirtyInodes.has(inode) ? '' : 'not '}on the dirty list`);
      cached += n;
      dirty += d;
      writeback += w;
    }
    // pages of the PAGE_CACHE kind that others own (a workload's own page owner) may count in the same counters
    let owned = 0;
    for (let page = 0; page < t.size; page++) if (t.ownerKind[page] === PageOwner.PAGE_CACHE && t.refcount[page]! > 0) owned++;
    const exact = owned === cached;
    const node = this.vmstat.node;
    const agree = (have: number, want: number): boolean => (exact ? have === want : have >= want);
    // NR_FILE_PAGES counts the swap cache and shmem too
    const others = (node.nr_swapcached ?? 0) + (node.nr_shmem ?? 0);
    if (!agree(node.nr_file_pages ?? 0, cached + others)) bad(`nr_file_pages ${node.nr_file_pages} but ${cached} cached pages and ${others} swap-cache and shmem pages`);
    if (!agree(node.nr_dirty ?? 0, dirty)) bad(`nr_dirty ${node.nr_dirty} but ${dirty} dirty pages`);
    if (!agree(node.nr_writeback ?? 0, writeback)) bad(`nr_writeback ${node.nr_writeback} but ${writeback} pages under writeback`);
  }
}

/** The PAGE_OWNER of page-cache pages: migrate, evict and describe through the page cache. */
@injectable()
export class PageCacheOwner implements PageOwnerOps {
  readonly name = 'page-cache';
  readonly kind = PageOwner.PAGE_CACHE;
  constructor(@inject(PAGE_CACHE) private readonly cache: PageCache) {}
  private fm(): Filemap {
    if (!(this.cache instanceof Filemap)) throw new MmsimError('EINVAL', 'the PAGE_CACHE service is not @mmsim/process\'s: its page owner cannot reach it');
    return this.cache;
  }
  /** Pages of our files only (a workload's own page-cache pages are not ours). */
  owns(pfn: number): boolean {
    const fm = this.fm();
    const page = fm.memory.pfnToPage(pfn);
    if (page < 0) return false;
    const inode = fm.files[fm.memory.pages.owner[page]!];
    return inode != null && inode.get(fm.memory.pages.index[page]!) === pfn;
  }
  migrate(oldPfn: number, newPfn: number): void {
    this.fm().ownerMigrate(oldPfn, newPfn);
  }
  evict(pfn: number): boolean {
    return this.fm().ownerEvict(pfn);
  }
  describe(pfn: number): string | undefined {
    return this.fm().ownerDescribe(pfn);
  }
}

/** The page cache's invariants (sim.check()). */
@injectable()
export class PageCacheCheck implements InvariantCheck {
  readonly name = 'page-cache';
  constructor(@inject(PAGE_CACHE) private readonly cache: PageCache) {}
  check(): void {
    if (this.cache instanceof Filemap) this.cache.check();
  }
}
