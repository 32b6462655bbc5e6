import { describe, expect, it } from 'vitest';
import { FileRaState, getInitRaSize, getNextRaSize, nextMiss, pageCacheAsyncRa, pageCacheSyncRa, prevMiss, type RaMapping } from './readahead.js';

/** A file's page cache as a set of indices; records what readahead adds, each read it submits, and the marks. */
class FakeMapping implements RaMapping {
  readonly cached = new Set<number>();
  readonly marks = new Set<number>();
  readonly reads: [number, number][] = [];
  private pending: number[] = [];
  /** Pages addPage() may still allocate (memory running out). */
  budget = Infinity;
  constructor(readonly size: number, readonly ioPages = 320) {}
  has(i: number): boolean {
    return this.cached.has(i);
  }
  addPage(i: number, mark: boolean): boolean {
    if (this.budget-- <= 0) return false;
    this.cached.add(i);
    if (mark) this.marks.add(i);
    this.pending.push(i);
    return true;
  }
  readPages(): void {
    if (this.pending.length) this.reads.push([this.pending[0]!, this.pending.length]);
    this.pending = [];
  }
}

const PAGE = 4096;

describe('window sizes', () => {
  it('get_init_ra_size for ra_pages 32: 1-2 pages → 16k, 3-4 → 32k, 5-8 → 64k, more → 128k', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 16, 64].map((n) => getInitRaSize(n, 32))).toEqual([4, 4, 8, 8, 16, 16, 32, 32, 32]);
    expect(getInitRaSize(1, 256)).toBe(4);
    expect(getInitRaSize(16, 256)).toBe(32);
  });

  it('get_next_ra_size: ×4 below max/16, ×2 to max/2, then max', () => {
    const ra = new FileRaState();
    const next = (size: number, max: number) => ((ra.size = size), getNextRaSize(ra, max));
    expect([1, 2, 4, 8, 16, 17, 32].map((s) => next(s, 32))).toEqual([4, 4, 8, 16, 32, 32, 32]);
    expect(next(4, 256)).toBe(16);
  });

  it('the cache scans for history and for the end of the old window', () => {
    const m = new FakeMapping(1 << 30);
    for (let i = 0; i <= 10; i++) m.cached.add(i);
    expect(prevMiss(m, 10, 32)).toBe(-1); // cached from the start of the file
    expect(prevMiss(m, 10, 4)).toBe(7); // none missing in the 4 looked at
    m.cached.delete(5);
    expect(prevMiss(m, 10, 32)).toBe(5);
    expect(nextMiss(m, 6, 32)).toBe(11);
    expect(nextMiss(m, 6, 3)).toBe(5); // none missing: "outside the range"
  });
});

describe('page_cache_sync_ra', () => {
  it('at the start of the file: a window of get_init_ra_size, the page after the request marked', () => {
    const m = new FakeMapping(1 << 20);
    const ra = new FileRaState();
    expect(pageCacheSyncRa(m, ra, 0, 1)).toBe(4);
    expect([ra.start, ra.size, ra.asyncSize]).toEqual([0, 4, 3]);
    expect(m.reads).toEqual([[0, 4]]);
    expect([...m.marks]).toEqual([1]);
  });

  it('a request as large as the window marks its middle (async_size = size / 2)', () => {
    const m = new FakeMapping(1 << 20);
    const ra = new FileRaState();
    pageCacheSyncRa(m, ra, 0, 32);
    expect([ra.start, ra.size, ra.asyncSize]).toEqual([0, 32, 16]);
    expect([...m.marks]).toEqual([16]);
  });

  it('a sequential miss (right after the previous read) starts a window there', () => {
    const m = new FakeMapping(1 << 20);
    const ra = new FileRaState();
    ra.prevPos = 100 * PAGE;
    pageCacheSyncRa(m, ra, 100, 2);
    expect([ra.start, ra.size, ra.asyncSize]).toEqual([100, 4, 2]);
  });

  it('a random read with no history reads only the request and leaves the state alone', () => {
    const m = new FakeMapping(1 << 30);
    const ra = new FileRaState();
    ra.prevPos = 5 * PAGE;
    expect(pageCacheSyncRa(m, ra, 1000, 3)).toBe(3);
    expect(m.reads).toEqual([[1000, 3]]);
    expect([ra.start, ra.size, ra.asyncSize]).toEqual([0, 0, 0]);
    expect(m.marks.size).toBe(0);
  });

  it('a miss after cached history (context readahead) reads history + request, up to the window, marking the next page', () => {
    const m = new FakeMapping(1 << 30);
    for (let i = 490; i < 500; i++) m.cached.add(i);
    const ra = new FileRaState();
    pageCacheSyncRa(m, ra, 500, 1);
    expect([ra.start, ra.size, ra.asyncSize]).toEqual([500, 11, 1]);
    expect([...m.marks]).toEqual([510]);
    // cached from the start of the file: the history counts twice
    const m2 = new FakeMapping(1 << 30);
    for (let i = 0; i < 10; i++) m2.cached.add(i);
    const ra2 = new FileRaState();
    ra2.prevPos = 3 * PAGE;
    pageCacheSyncRa(m2, ra2, 10, 1);
    expect(ra2.size).toBe(21);
  });

  it('an oversized read may be as large as io_pages; readahead off reads just the page', () => {
    const m = new FakeMapping(1 << 30, 320);
    const ra = new FileRaState();
    ra.prevPos = 1;
    pageCacheSyncRa(m, ra, 5000, 1000);
    expect([ra.start, ra.size]).toEqual([5000, 320]);
    const off = new FileRaState();
    off.raPages = 0;
    const m2 = new FakeMapping(1 << 30);
    expect(pageCacheSyncRa(m2, off, 7, 64)).toBe(1);
  });

  it('stops at the end of the file, and where memory runs out; cached pages split the reads', () => {
    const m = new FakeMapping(10 * PAGE + 1);
    const ra = new FileRaState();
    m.cached.add(2);
    pageCacheSyncRa(m, ra, 0, 32);
    expect(m.reads).toEqual([[0, 2], [3, 8]]);
    const m2 = new FakeMapping(1 << 20);
    m2.budget = 3;
    expect(pageCacheSyncRa(m2, new FileRaState(), 0, 8)).toBe(3);
  });
});

describe('page_cache_async_ra', () => {
  it('the expected mark pushes the window forward and ramps it up', () => {
    const m = new FakeMapping(1 << 30);
    const ra = new FileRaState();
    pageCacheSyncRa(m, ra, 0, 1); // [0,4) mark 1
    m.marks.clear();
    expect(pageCacheAsyncRa(m, ra, 1, 1)).toBe(8);
    expect([ra.start, ra.size, ra.asyncSize]).toEqual([4, 8, 8]);
    expect([...m.marks]).toEqual([4]);
  });

  it('a mark without its state (interleaved reads) sizes the window from what is cached after it', () => {
    const m = new FakeMapping(1 << 30);
    for (let i = 200; i < 208; i++) m.cached.add(i);
    const ra = new FileRaState();
    pageCacheAsyncRa(m, ra, 200, 1);
    // old window ended at 208: 8 + 1 requested → 9, ramped ×2
    expect([ra.start, ra.size, ra.asyncSize]).toEqual([208, 18, 18]);
  });
});
