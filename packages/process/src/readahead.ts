/**
 * Ondemand readahead (mm/readahead.c, Linux 6.12: page_cache_sync_ra and
 * page_cache_async_ra after the 6.11 rework, no large folios — every
 * page-cache folio is one page, as on ext4). A file_ra_state per open file
 * remembers the last window: [start, start + size), its last `asyncSize`
 * pages marked by PG_readahead on the first of them; reaching the marked
 * page pushes the next window, twice or four times as large, up to
 * ra_pages (read_ahead_kb 128 → 32 pages). A read at the start of the file,
 * right after the previous one, or larger than the window starts a window
 * of get_init_ra_size(); a read elsewhere with no cached history before it
 * reads just what it asked for.
 * @module
 */

/** VM_READAHEAD_PAGES: read_ahead_kb 128 in pages. */
export const VM_READAHEAD_PAGES = 32;
/** MMAP_LOTSAMISS: mmap faults missing this often turn read-around off. */
export const MMAP_LOTSAMISS = 100;

/**
 * PG_readahead: the same bit as PG_reclaim, as in the kernel (a page under
 * writeback means reclaim, otherwise readahead).
 */
export { PG_reclaim as PG_readahead } from '@mmsim/core';

/** struct file_ra_state */
export class FileRaState {
  start = 0;
  size = 0;
  asyncSize = 0;
  /** ra_pages: the largest window (bdi->ra_pages). */
  raPages = VM_READAHEAD_PAGES;
  /** mmap_miss: recent mmap faults that missed the cache. */
  mmapMiss = 0;
  /** prev_pos: the byte after the last one the previous read copied; −1 before the first. */
  prevPos = -1;
}

/** What readahead does to a file's page cache (a readahead_control's mapping, as filemap.ts provides it). */
export interface RaMapping {
  /** i_size, bytes. */
  readonly size: number;
  /** bdi->io_pages: the largest request the device takes. */
  readonly ioPages: number;
  /** Is file page `index` in the cache (xa_load)? */
  has(index: number): boolean;
  /**
   * A new page for `index`, locked and not uptodate, with PG_readahead when
   * `mark` (ractl_alloc_folio + filemap_add_folio); false when no page
   * could be had (readahead's gfp gives up early).
   */
  addPage(index: number, mark: boolean): boolean;
  /** read_pages(): submits the pages added since the last call as one read. */
  readPages(): void;
}

/** roundup_pow_of_two() */
function roundupPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/** get_init_ra_size(): the first window for a request of `size` pages: ×4 when small, ×2 when medium, else `max`. */
export function getInitRaSize(size: number, max: number): number {
  let newsize = roundupPow2(size);
  if (newsize <= Math.floor(max / 32)) newsize *= 4;
  else if (newsize <= Math.floor(max / 4)) newsize *= 2;
  else newsize = max;
  return newsize;
}

/** get_next_ra_size(): ×4 while below max/16, ×2 up to max/2, then max. */
export function getNextRaSize(ra: FileRaState, max: number): number {
  const cur = ra.size;
  if (cur < Math.floor(max / 16)) return 4 * cur;
  if (cur <= Math.floor(max / 2)) return 2 * cur;
  return max;
}

/** ractl_max_pages(): a request larger than the window may be as large as the device's largest I/O. */
function ractlMaxPages(m: RaMapping, ra: FileRaState, req: number): number {
  let max = ra.raPages;
  if (req > max && m.ioPages > max) max = Math.min(req, m.ioPages);
  return max;
}

/**
 * page_cache_ra_unbounded(): pages for [index, index + nr) that are not
 * cached, each contiguous run submitted as one read; the page
 * `lookahead` before the end gets PG_readahead. Stops when no page can be
 * had. Returns the pages added.
 */
function raUnbounded(m: RaMapping, index: number, nr: number, lookahead: number): number {
  let added = 0;
  for (let i = 0; i < nr; i++) {
    if (m.has(index + i)) {
      // already present: kick off the batch so far, the next one starts after it
      m.readPages();
      continue;
    }
    if (!m.addPage(index + i, i === nr - lookahead)) break;
    added++;
  }
  m.readPages();
  return added;
}

/** do_page_cache_ra(): page_cache_ra_unbounded() no further than the page holding the last byte. Returns the pages added. */
export function doPageCacheRa(m: RaMapping, index: number, nr: number, lookahead: number): number {
  const isize = m.size;
  if (isize === 0) return 0;
  const endIndex = Math.floor((isize - 1) / 4096);
  if (index > endIndex) return 0;
  if (nr > endIndex - index) nr = endIndex - index + 1;
  return raUnbounded(m, index, nr, lookahead);
}

/** force_page_cache_ra(): `nr` pages from `index` in 2 MiB chunks, no window (readahead off, or FMODE_RANDOM). */
export function forcePageCacheRa(m: RaMapping, ra: FileRaState, index: number, nr: number): number {
  const max = Math.max(m.ioPages, ra.raPages);
  nr = Math.min(nr, max);
  let added = 0;
  while (nr > 0) {
    const chunk = Math.min(512, nr);
    added += doPageCacheRa(m, index, chunk, 0);
    index += chunk;
    nr -= chunk;
  }
  return added;
}

/** page_cache_ra_order() for a mapping without large folios: the window as order-0 pages. */
function raOrder(m: RaMapping, ra: FileRaState): number {
  return doPageCacheRa(m, ra.start, ra.size, ra.asyncSize);
}

/**
 * page_cache_prev_miss(): scanning down from `index` at most `max` pages,
 * the first not cached; −1 (ULONG_MAX) when the scan passed page 0;
 * `index − max + 1` (the last page looked at) when all were cached.
 */
export function prevMiss(m: RaMapping, index: number, max: number): number {
  let i = index;
  for (let n = 0; n < max; n++, i--) {
    if (i < 0) return -1;
    if (!m.has(i)) return i;
    if (n === max - 1) return i;
  }
  return i;
}

/**
 * page_cache_next_miss(): scanning up from `index` at most `max` pages,
 * the first not cached; with none, index − 1 (the kernel's index +
 * max_scan after the counter wrapped: "outside the range").
 */
export function nextMiss(m: RaMapping, index: number, max: number): number {
  for (let n = 0; n < max; n++) {
    if (!m.has(index + n)) return index + n;
  }
  return index - 1;
}

/**
 * page_cache_sync_ra(): a read missed the cache at `index` wanting
 * `reqCount` pages. Returns the pages added to the cache.
 */
export function pageCacheSyncRa(m: RaMapping, ra: FileRaState, index: number, reqCount: number): number {
  if (ra.raPages === 0) {
    // readahead off: just the page asked for, as forced readahead
    return forcePageCacheRa(m, ra, index, 1);
  }
  const maxPages = ractlMaxPages(m, ra, reqCount);
  // prev_pos of −1 is ULONG_MAX >> PAGE_SHIFT: never next to index
  const prevIndex = ra.prevPos < 0 ? Number.MAX_SAFE_INTEGER : Math.floor(ra.prevPos / 4096);
  const d = index - prevIndex;
  // a start of file, an oversized read, or a sequential miss (index − prev_index ≤ 1, unsigned)
  if (index === 0 || reqCount > maxPages || d === 0 || d === 1) {
    ra.start = index;
    ra.size = getInitRaSize(reqCount, maxPages);
    ra.asyncSize = ra.size > reqCount ? ra.size - reqCount : ra.size >> 1;
    return raOrder(m, ra);
  }
  // the traces a sequential stream leaves behind: cached pages just before
  const miss = prevMiss(m, index - 1, maxPages);
  let contig = index - miss - 1;
  if (contig <= reqCount) {
    // a standalone small random read: as is, the state left alone
    return doPageCacheRa(m, index, reqCount, 0);
  }
  // cached from the beginning: a long stream (or a whole-file read)
  if (miss === -1) contig *= 2;
  ra.start = index;
  ra.size = Math.min(contig + reqCount, maxPages);
  ra.asyncSize = 1;
  return raOrder(m, ra);
}

/**
 * page_cache_async_ra(): a read reached the PG_readahead page at `index`
 * (the caller has checked ra_pages, writeback, and cleared the mark),
 * wanting `reqCount` pages from there. Returns the pages added.
 */
export function pageCacheAsyncRa(m: RaMapping, ra: FileRaState, index: number, reqCount: number): number {
  const maxPages = ractlMaxPages(m, ra, reqCount);
  // the expected marker: sequential, push the window forward and ramp it up
  if (index === ra.start + ra.size - ra.asyncSize) {
    ra.start += ra.size;
    ra.size = Math.max(ra.size, getNextRaSize(ra, maxPages));
    ra.asyncSize = ra.size;
    return raOrder(m, ra);
  }
  // a marked page without the state that marked it (interleaved streams): the cache says how far the old window reached
  const start = nextMiss(m, index + 1, maxPages);
  if (start === 0 || start - index > maxPages) return 0;
  ra.start = start;
  ra.size = start - index + reqCount;
  ra.size = getNextRaSize(ra, maxPages);
  ra.asyncSize = ra.size;
  return raOrder(m, ra);
}
