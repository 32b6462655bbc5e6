/**
 * Dirty page accounting and writeback (mm/page-writeback.c,
 * fs/fs-writeback.c): folio_account_dirtied and the inode's dirtied_when,
 * the dirty limits of vm.dirty_ratio / vm.dirty_background_ratio (or their
 * _bytes), balance_dirty_pages for writers, the flusher (wb_workfn: the
 * periodic kupdate writeback of data older than vm.dirty_expire_centisecs
 * every vm.dirty_writeback_centisecs, and background writeback while dirty
 * pages exceed the background threshold), write_cache_pages and
 * folio_end_writeback, fsync.
 *
 * I/O goes to the page cache's simulated device (page_io.ts) and completes
 * as simulated time passes: a write is under writeback (PG_writeback,
 * nr_writeback) until its request completes, which Simulator.tick() reaches
 * through the delayed-work queue. Simplifications, all documented where
 * they apply: one bdi_writeback; the flusher keeps at most
 * {@link WB_MAX_INFLIGHT_REQUESTS} requests in flight and submits more as
 * they complete; a writer is not throttled below the dirty threshold (the
 * kernel paces it between the freerun ceiling and the threshold), above it
 * it waits for writeback — starting it itself when the flusher is idle —
 * until the dirty and writeback pages are back under the threshold;
 * balance_dirty_pages runs every {@link DIRTY_RATELIMIT_PAGES} pages a
 * writer dirties (the kernel's initial nr_dirtied_pause).
 * @module
 */
import {
  LruList, type MemoryModel, MmsimError, PAGE_SIZE, PG_dirty, PG_reclaim, PG_writeback, type ReclaimPolicy, type SimClock,
  type Sysctl, type Topology, type VmStat, WMARK_HIGH, ZoneType,
} from '@mmsim/core';
import type { BlockDevice } from './page_io.js';

/** MIN_WRITEBACK_PAGES: the flusher writes an inode in chunks of at least 4 MiB before moving to the next. */
export const MIN_WRITEBACK_PAGES = 1024;
/** The flusher's queue depth: requests it keeps in flight (the device's nr_requests). */
export const WB_MAX_INFLIGHT_REQUESTS = 64;
/** balance_dirty_pages_ratelimited(): a writer is checked after this many pages (nr_dirtied_pause's start, 128 KiB). */
export const DIRTY_RATELIMIT_PAGES = 32;
/** A delay that never comes (an idle daemon's timer). */
export const IDLE_NS = 1e15;

/** What writeback needs of an inode (filemap.ts's Inode). */
export interface WbInode {
  readonly ino: number;
  /** Page slots per chunk of the page index. */
  readonly chunks: (Int32Array | null)[];
  /** Dirty pages per chunk. */
  readonly chunkDirty: number[];
  nrDirty: number;
  nrWriteback: number;
  /** dirtied_when, ns; −1 while clean. */
  dirtiedWhen: number;
  /** mapping->writeback_index: where the next cyclic writeback starts. */
  wbIndex: number;
}

/** What writeback needs of the page cache (filemap.ts provides it). */
export interface WbHost {
  readonly memory: MemoryModel;
  readonly vmstat: VmStat;
  readonly sysctl: Sysctl;
  readonly topology: Topology;
  readonly policy: ReclaimPolicy;
  readonly clock: SimClock;
  readonly device: BlockDevice;
  /** Retires the requests done by now and re-arms the completion timer. */
  completeIo(): void;
  /** Waits (the clock moves) for the oldest request in flight and retires it; false when none is in flight. */
  waitOne(): boolean;
  /** The completion timer must fire for the request just submitted. */
  armCompletion(): void;
  /** The flusher's timer: next run `delayNs` from now. */
  armFlusher(delayNs: number): void;
}

const PER_CHUNK = 512;

/** calculate_totalreserve_pages(): per zone, the largest lowmem_reserve plus the high watermark. */
function totalReservePages(topology: Topology): number {
  let total = 0;
  for (const z of topology.zones) {
    let max = 0;
    for (const r of z.lowmemReserve) if (r > max) max = r;
    total += Math.min(max + z.watermark[WMARK_HIGH]!, z.managedPages);
  }
  return total;
}

/**
 * global_dirtyable_memory(): free pages outside highmem less the reserves,
 * plus the file LRU pages, plus one.
 */
export function globalDirtyableMemory(topology: Topology, policy: ReclaimPolicy): number {
  let x = 0;
  for (const z of topology.zones) if (z.type !== ZoneType.HIGHMEM) x += z.stats.nrFreePages;
  x -= Math.min(x, totalReservePages(topology));
  for (const n of topology.nodes) {
    const lru = policy.lruSizes(n.nid);
    x += lru[LruList.INACTIVE_FILE]! + lru[LruList.ACTIVE_FILE]!;
  }
  return x + 1;
}

/**
 * domain_dirty_limits() for the global domain: [background, dirty]
 * thresholds in pages for `available` dirtyable pages, from vm.dirty_bytes
 * or vm.dirty_ratio and vm.dirty_background_bytes or
 * vm.dirty_background_ratio (bytes win when set; a background threshold at
 * or above the dirty one is halved). With the default ratios this is
 * @mmsim/mm's globalDirtyLimits (nr_dirty_threshold in /proc/vmstat).
 */
export function domainDirtyLimits(available: number, sysctl: Sysctl): [number, number] {
  const bytes = sysctl.get('vm.dirty_bytes');
  const bgBytes = sysctl.get('vm.dirty_background_bytes');
  // ratios per PAGE_SIZE for precision, as the kernel converts them
  const ratio = Math.floor((sysctl.get('vm.dirty_ratio') * PAGE_SIZE) / 100);
  const bgRatio = Math.floor((sysctl.get('vm.dirty_background_ratio') * PAGE_SIZE) / 100);
  const thresh = Math.min(bytes ? Math.ceil(bytes / PAGE_SIZE) : Math.floor((ratio * available) / PAGE_SIZE), 2 ** 32 - 1);
  let bg = bgBytes ? Math.ceil(bgBytes / PAGE_SIZE) : Math.floor((bgRatio * available) / PAGE_SIZE);
  if (bg >= thresh) bg = Math.floor(thresh / 2);
  return [bg, thresh];
}

const inc = (r: Record<string, number>, k: string, n = 1): void => {
  r[k] = (r[k] ?? 0) + n;
};

/** The bdi_writeback of the page cache's device: dirty inodes, the flusher's work, throttling. */
export class BdiWriteback {
  /** b_dirty: inodes with dirty pages, the longest dirty first. */
  readonly dirtyInodes = new Set<WbInode>();
  /** Background writeback is running (wb_start_background_writeback until under the background threshold). */
  bgActive = false;
  /** A kupdate pass is running: inodes dirtied at or before this time (ns) are written; −1 none. */
  kupdateBefore = -1;
  /** last_old_flush: when kupdate last ran. */
  lastOldFlush = 0;
  /** Pages dirtied since the writer was last balanced (current->nr_dirtied). */
  nrDirtied = 0;
  /** Write requests in flight. */
  inflight = 0;
  /** The flusher's timer is armed for dirty data (wb_wakeup_delayed). */
  flusherArmed = false;

  constructor(private readonly host: WbHost) {}

  /** [background, dirty] thresholds now (global_dirty_limits). */
  limits(): [number, number] {
    return domainDirtyLimits(globalDirtyableMemory(this.host.topology, this.host.policy), this.host.sysctl);
  }

  /** vm.dirty_writeback_centisecs in ns; 0 when periodic writeback is off. */
  private intervalNs(): number {
    const c = this.host.sysctl.get('vm.dirty_writeback_centisecs');
    return c > 0 ? c * 10e6 : 0;
  }

  // ---- dirtying ----------------------------------------------------------------

  /**
   * folio_mark_dirty() of a clean page-cache page (slot `page` at file page
   * `index`): PG_dirty, nr_dirty, nr_dirtied; the inode becomes dirty
   * (dirtied_when, b_dirty) and the flusher is woken for it
   * (__mark_inode_dirty → wb_wakeup_delayed). Returns false when it was dirty.
   */
  markDirty(inode: WbInode, page: number, index: number): boolean {
    const t = this.host.memory.pages;
    const f = t.flags[page]!;
    if (f & PG_dirty) return false;
    t.flags[page] = f | PG_dirty;
    const node = this.host.vmstat.node;
    inc(node, 'nr_dirty');
    inc(node, 'nr_dirtied');
    inode.nrDirty++;
    inode.chunkDirty[Math.floor(index / PER_CHUNK)]!++;
    if (inode.dirtiedWhen < 0) {
      inode.dirtiedWhen = this.host.clock.now();
      const first = this.dirtyInodes.size === 0;
      this.dirtyInodes.add(inode);
      if (first && !this.flusherArmed) {
        this.flusherArmed = true;
        this.host.armFlusher(this.intervalNs());
      }
    }
    this.nrDirtied++;
    return true;
  }

  /** The inode's last dirty page went to writeback: it leaves b_dirty (inode_sync_complete / redirty_tail no more). */
  private cleared(inode: WbInode): void {
    if (inode.nrDirty === 0 && inode.dirtiedWhen >= 0) {
      inode.dirtiedWhen = -1;
      this.dirtyInodes.delete(inode);
    }
  }

  // ---- writing -----------------------------------------------------------------

  /**
   * write_cache_pages(): up to `max` dirty pages of the inode, cyclically
   * from writeback_index, go under writeback (folio_clear_dirty_for_io,
   * folio_start_writeback: nr_dirty → nr_writeback; the bio holds a
   * reference) in requests of contiguous pages no larger than the device
   * takes; pgpgout. A page already under writeback is skipped (WB_SYNC_NONE).
   * Returns the pages submitted.
   */
  writePages(inode: WbInode, max: number): number {
    const host = this.host;
    const t = host.memory.pages;
    const dev = host.device;
    const node = host.vmstat.node;
    let written = 0;
    let run: number[] = [];
    let runEnd = -1;
    const flush = (): void => {
      if (run.length === 0) return;
      dev.submit(host.clock.now(), run.length, true, run);
      this.inflight++;
      inc(host.vmstat.events, 'pgpgout', run.length * (PAGE_SIZE / 1024));
      run = [];
    };
    const nChunks = inode.chunks.length;
    const startChunk = Math.min(Math.floor(inode.wbIndex / PER_CHUNK), Math.max(0, nChunks - 1));
    let lastIndex = inode.wbIndex;
    for (let k = 0; k <= nChunks && written < max && inode.nrDirty > 0; k++) {
      // cyclic: from writeback_index to the end, then from 0 back to where it started
      const ci = (startChunk + k) % Math.max(1, nChunks);
      const chunk = inode.chunks[ci];
      if (!chunk || inode.chunkDirty[ci] === 0) continue;
      const from = k === 0 ? Math.max(0, inode.wbIndex - ci * PER_CHUNK) : 0;
      const to = k === nChunks ? Math.max(0, inode.wbIndex - ci * PER_CHUNK) : PER_CHUNK;
      for (let j = from; j < to && written < max; j++) {
        const e = chunk[j]!;
        if (e === 0) continue;
        const pfn = e - 1;
        const page = host.memory.pfnToPage(pfn);
        const f = t.flags[page]!;
        if (!(f & PG_dirty) || f & PG_writeback) continue;
        const index = ci * PER_CHUNK + j;
        if (index !== runEnd || run.length >= dev.ioPages) flush();
        t.flags[page] = (f & ~PG_dirty) | PG_writeback;
        t.refcount[page]!++;
        node.nr_dirty! -= 1;
        inc(node, 'nr_writeback');
        inode.nrDirty--;
        inode.chunkDirty[ci]!--;
        inode.nrWriteback++;
        run.push(pfn);
        runEnd = index + 1;
        lastIndex = index + 1;
        written++;
      }
    }
    flush();
    inode.wbIndex = lastIndex;
    this.cleared(inode);
    if (written > 0) host.armCompletion();
    return written;
  }

  /**
   * folio_end_writeback(): the write of the page at slot `page` finished —
   * PG_writeback (and PG_reclaim) clear, nr_writeback down, nr_written up,
   * the bio's reference dropped.
   */
  endWriteback(inode: WbInode, page: number): void {
    const t = this.host.memory.pages;
    const f = t.flags[page]!;
    if (!(f & PG_writeback)) throw new MmsimError('ECORRUPT', `end_writeback: page ${page} of inode ${inode.ino} is not under writeback`);
    t.flags[page] = f & ~(PG_writeback | PG_reclaim);
    t.refcount[page]!--;
    const node = this.host.vmstat.node;
    node.nr_writeback! -= 1;
    inc(node, 'nr_written');
    inode.nrWriteback--;
  }

  /** A write request completed (bio_endio). */
  requestDone(): void {
    if (this.inflight > 0) this.inflight--;
  }

  /**
   * The flusher's writeback work (wb_writeback): a kupdate pass writes the
   * inodes dirtied at or before its cutoff, oldest first; background
   * writeback then writes the oldest dirty inodes in chunks while dirty
   * pages exceed the background threshold (wb_over_bg_thresh). At most
   * {@link WB_MAX_INFLIGHT_REQUESTS} requests in flight: the rest waits for
   * completions, which call this again.
   */
  run(): void {
    const host = this.host;
    while (this.inflight < WB_MAX_INFLIGHT_REQUESTS) {
      let inode: WbInode | undefined;
      if (this.kupdateBefore >= 0) {
        for (const i of this.dirtyInodes) {
          if (i.dirtiedWhen <= this.kupdateBefore) {
            inode = i;
            break;
          }
        }
        if (inode === undefined) this.kupdateBefore = -1;
      }
      if (inode === undefined && this.bgActive) {
        const [bg] = this.limits();
        if ((host.vmstat.node.nr_dirty ?? 0) > bg && this.dirtyInodes.size > 0) inode = this.dirtyInodes.values().next().value;
        else this.bgActive = false;
      }
      if (inode === undefined) return;
      // requeue_io(): an inode written in part goes behind the others, keeping its dirtied_when
      this.dirtyInodes.delete(inode);
      const n = this.writePages(inode, MIN_WRITEBACK_PAGES);
      if (inode.dirtiedWhen >= 0) this.dirtyInodes.add(inode);
      // its dirty pages are all still under writeback: go on when a request completes
      if (n === 0) return;
    }
  }

  /**
   * wb_workfn(), the flusher's timer job: wb_check_old_data_flush (a
   * kupdate pass when an interval has passed since the last) and
   * wb_check_background_flush; then it sleeps an interval while dirty data
   * is left (wb_wakeup_delayed), or until woken. Returns the delay.
   */
  wbWorkfn(): number {
    const host = this.host;
    host.completeIo();
    const now = host.clock.now();
    const interval = this.intervalNs();
    if (interval > 0 && now >= this.lastOldFlush + interval) {
      this.lastOldFlush = now;
      const expire = host.sysctl.get('vm.dirty_expire_centisecs') * 10e6;
      this.kupdateBefore = Math.max(this.kupdateBefore, now - expire);
    }
    const [bg] = this.limits();
    if ((host.vmstat.node.nr_dirty ?? 0) > bg) this.bgActive = true;
    this.run();
    this.flusherArmed = this.dirtyInodes.size > 0 && interval > 0;
    return this.flusherArmed ? interval : IDLE_NS;
  }

  /** wb_start_background_writeback(): the flusher is woken now. */
  startBackground(): void {
    if (this.bgActive) return;
    this.bgActive = true;
    this.run();
  }

  /**
   * balance_dirty_pages(): background writeback starts once dirty pages
   * exceed the background threshold; above the dirty threshold (dirty plus
   * writeback pages) the writer waits for writeback — writing the oldest
   * dirty inode itself when nothing is in flight — until it is back under.
   * The clock moves by the time it waited.
   */
  balanceDirtyPages(): void {
    const host = this.host;
    this.nrDirtied = 0;
    for (;;) {
      host.completeIo();
      const node = host.vmstat.node;
      const nrDirty = node.nr_dirty ?? 0;
      const [bg, thresh] = this.limits();
      if (nrDirty > bg) this.startBackground();
      if (nrDirty + (node.nr_writeback ?? 0) <= thresh) return;
      if (host.device.inFlight === 0) {
        const inode = this.dirtyInodes.values().next().value;
        if (inode === undefined) return;
        this.dirtyInodes.delete(inode);
        this.writePages(inode, MIN_WRITEBACK_PAGES);
        if (inode.dirtiedWhen >= 0) this.dirtyInodes.add(inode);
        if (host.device.inFlight === 0) return;
      }
      host.waitOne();
    }
  }

  /** balance_dirty_pages_ratelimited(): after every DIRTY_RATELIMIT_PAGES pages dirtied. */
  ratelimited(): void {
    if (this.nrDirtied >= DIRTY_RATELIMIT_PAGES) this.balanceDirtyPages();
  }

  /**
   * fsync(): file_write_and_wait_range over the whole file — every dirty
   * page is written (WB_SYNC_ALL) and the caller waits until none of the
   * file's pages is under writeback. Returns the pages it wrote.
   */
  fsync(inode: WbInode): number {
    const host = this.host;
    host.completeIo();
    let written = 0;
    // WB_SYNC_ALL waits for a page already under writeback and writes it again if it was redirtied
    while (inode.nrDirty > 0) {
      const n = this.writePages(inode, Number.MAX_SAFE_INTEGER);
      written += n;
      if (n === 0 && !host.waitOne()) break;
    }
    while (inode.nrWriteback > 0) if (!host.waitOne()) break;
    return written;
  }
}
