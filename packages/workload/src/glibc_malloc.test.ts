import { createSimulator } from '@mmsim/defconfig';
import { ENOMEM, isMmsimError, type FaultResult, type Processes } from '@mmsim/core';
import { describe, expect, it } from 'vitest';
import { GlibcMalloc, M_MMAP_MAX, M_MMAP_THRESHOLD, M_MXFAST, M_PERTURB, M_TOP_PAD, M_TRIM_THRESHOLD } from './glibc_malloc.js';

const K = 1024;
const PAGE = 4096;
const pageUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;

/**
 * A stand-in for the process layer with just what malloc uses: a break, a
 * top-down mmap area, and the set of pages written. A write outside the
 * heap or a mapping is a SIGSEGV, so the model is also checked never to
 * write outside memory it owns.
 */
class FakeProcesses {
  readonly start: number;
  cur: number;
  /** brk refuses to go past this. */
  brkLimit = Infinity;
  mmapFail = false;
  /** What access() answers for a page not written before. */
  faultResult: FaultResult = 'minor';
  next: number;
  readonly maps = new Map<number, number>();
  readonly written = new Set<number>();
  readonly calls: string[] = [];
  constructor(readonly taskSize = 2 ** 47 - PAGE) {
    // where a PIE's break and the mmap area start with randomisation off
    const i386 = taskSize <= 2 ** 32;
    this.start = this.cur = i386 ? 0x56558000 : 0x555555556000;
    this.next = i386 ? 0xf7ff0000 : 0x7ffff7ff0000;
  }
  task(pid: number): { pid: number; mm: { taskSize: number } } {
    return { pid, mm: { taskSize: this.taskSize } };
  }
  brk(_pid: number, addr: number): number {
    if (addr === 0) return this.cur;
    this.calls.push(`brk ${addr - this.start}`);
    if (addr < this.start || addr > this.brkLimit) return this.cur;
    if (addr < this.cur) this.drop(pageUp(addr), pageUp(this.cur));
    this.cur = addr;
    return addr;
  }
  mmap(_pid: number, len: number): number {
    this.calls.push(`mmap ${len}`);
    if (this.mmapFail) return -ENOMEM;
    this.next -= pageUp(len) + PAGE;
    this.maps.set(this.next, pageUp(len));
    return this.next;
  }
  munmap(_pid: number, addr: number, len: number): number {
    this.calls.push(`munmap ${len}`);
    if (this.maps.get(addr) !== pageUp(len)) throw new Error(`munmap of ${addr}+${len}: not a mapping`);
    this.maps.delete(addr);
    this.drop(addr, addr + len);
    return 0;
  }
  private drop(lo: number, hi: number): void {
    for (const pg of [...this.written]) if (pg * PAGE >= lo && pg * PAGE < hi) this.written.delete(pg);
  }
  private mapped(addr: number): boolean {
    if (addr >= this.start && addr < pageUp(this.cur)) return true;
    for (const [a, l] of this.maps) if (addr >= a && addr < a + l) return true;
    return false;
  }
  access(_pid: number, addr: number): FaultResult {
    if (!this.mapped(addr)) return 'sigsegv';
    const pg = Math.floor(addr / PAGE);
    if (this.written.has(pg)) return 'none';
    if (this.faultResult !== 'minor') return this.faultResult;
    this.written.add(pg);
    return 'minor';
  }
  touch(pid: number, addr: number, len: number): { hits: number; minor: number; major: number; killed?: 'SIGSEGV' | 'OOM' } {
    for (let a = Math.floor(addr / PAGE) * PAGE; a < addr + len; a += PAGE) {
      const r = this.access(pid, a);
      if (r === 'sigsegv') return { hits: 0, minor: 0, major: 0, killed: 'SIGSEGV' };
      if (r === 'oom') return { hits: 0, minor: 0, major: 0, killed: 'OOM' };
    }
    return { hits: 0, minor: 0, major: 0 };
  }
  /** Pages written in the brk heap. */
  heapPages(): number {
    return [...this.written].filter((pg) => pg * PAGE < pageUp(this.cur) && pg * PAGE >= this.start).length;
  }
}

function fake(taskSize?: number): [FakeProcesses, GlibcMalloc] {
  const f = new FakeProcesses(taskSize);
  return [f, new GlibcMalloc(f as unknown as Processes, 100)];
}

/** A deterministic sequence for the fuzz test (no Math.random in the project). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

describe('glibc malloc model: chunk sizes and where requests come from', () => {
  it('request2size: 16-byte aligned chunks of at least 32 bytes, 8 bytes of overhead (usable sizes as glibc 2.36 reports them)', () => {
    const [, m] = fake();
    // malloc_usable_size() observed on the real machine (test/fixtures/real/glibc_malloc.out, small.usable_*)
    const cases: [number, number][] = [[0, 24], [8, 24], [24, 24], [25, 40], [32, 40], [40, 40], [48, 56], [100, 104], [1000, 1000]];
    for (const [n, usable] of cases) {
      const p = m.malloc(n);
      expect(p % 16).toBe(0);
      expect(m.usableSize(p), `malloc(${n})`).toBe(usable);
    }
  });

  it('the first malloc sets up the tcache (a 656-byte chunk) at the start of a heap grown by request + 128 KiB top pad + MINSIZE, page-rounded', () => {
    const [f, m] = fake();
    const p = m.malloc(100 * K);
    // 656 + 131072 + 32 → 33 pages for the tcache; the 100 KiB request then fits in what is left
    expect(f.calls).toEqual([`brk ${135168}`]);
    expect(p - f.start).toBe(672);
    // the tcache's memset and two chunk headers: pages 0 and 25 of the heap
    expect(f.heapPages()).toBe(2);
    expect(m.mallinfo2()).toMatchObject({ arena: 135168, uordblks: 656 + 102416, keepcost: 135168 - 656 - 102416, ordblks: 1 });
    // the next one does not fit: the heap grows by what is missing (plus pad), page-rounded
    m.malloc(100 * K);
    expect(f.calls[1]).toBe(`brk ${135168 + 204800}`);
  });

  it('a request at or above the mmap threshold gets a mapping of its own: request + 8 bytes, page-rounded; free unmaps it', () => {
    const [f, m] = fake();
    m.free(m.malloc(1));
    f.calls.length = 0;
    const p = m.malloc(200 * K);
    expect(f.calls).toEqual([`mmap ${204 * K}`]);
    expect(p % PAGE).toBe(16);
    expect(m.usableSize(p)).toBe(204 * K - 16);
    // only its header page is written
    expect([...f.written].filter((pg) => pg * PAGE >= p - 16 && pg * PAGE < p - 16 + 204 * K)).toHaveLength(1);
    expect(m.mallinfo2()).toMatchObject({ hblks: 1, hblkhd: 204 * K });
    m.free(p);
    expect(f.calls).toEqual([`mmap ${204 * K}`, `munmap ${204 * K}`]);
    expect(m.mallinfo2()).toMatchObject({ hblks: 0, hblkhd: 0 });
  });

  it('chunk sizes past 4 GiB keep their size and flags (no 32-bit bit operations)', () => {
    const [f, m] = fake();
    const n = 5 * 1024 * 1024 * K;
    const p = m.malloc(n);
    expect(f.calls.at(-1)).toBe(`mmap ${n + PAGE}`);
    expect(m.usableSize(p)).toBe(n + PAGE - 16);
    m.free(p);
    expect(f.calls.at(-1)).toBe(`munmap ${n + PAGE}`);
    // and from the heap
    expect(m.mallopt(M_MMAP_MAX, 0)).toBe(1);
    const q = m.malloc(n);
    expect(m.usableSize(q)).toBe(n + 8);
    m.free(q);
    expect(f.cur - f.start).toBeLessThan(300 * K);
    m.heapChunks();
  });

  it('the dynamic threshold: freeing a mapped chunk raises the mmap threshold to its size and the trim threshold to twice that, up to 32 MiB', () => {
    const [f, m] = fake();
    m.free(m.malloc(1));
    m.free(m.malloc(200 * K));
    expect(m.params()).toMatchObject({ mmapThreshold: 204 * K, trimThreshold: 408 * K });
    f.calls.length = 0;
    const q = m.malloc(200 * K);
    expect(f.calls).toEqual([`brk ${135168 + 204800}`]);
    expect(q).toBeLessThan(f.cur);
    // a chunk past DEFAULT_MMAP_THRESHOLD_MAX leaves the thresholds as they are
    m.free(m.malloc(40 * 1024 * K));
    expect(m.params().mmapThreshold).toBe(204 * K);
    // exactly 32 MiB is not raised to either: glibc compares the size word with its IS_MMAPPED bit
    m.free(m.malloc(32 * 1024 * K - 24));
    expect(m.params().mmapThreshold).toBe(204 * K);
  });

  it('mallopt(M_MMAP_THRESHOLD) fixes the threshold (no dynamic change after); M_MMAP_MAX 0 serves every size from the heap', () => {
    const [f, m] = fake();
    expect(m.mallopt(M_MMAP_THRESHOLD, 1024 * K)).toBe(1);
    expect(m.params().noDynThreshold).toBe(true);
    const p = m.malloc(200 * K);
    expect(p).toBeLessThan(f.cur);
    m.free(m.malloc(2048 * K));
    expect(m.params().mmapThreshold).toBe(1024 * K);
    expect(m.mallopt(M_MMAP_MAX, 0)).toBe(1);
    f.calls.length = 0;
    m.malloc(4096 * K);
    expect(f.calls.some((c) => c.startsWith('mmap'))).toBe(false);
  });
});

describe('glibc malloc model: bins', () => {
  it('tcache: up to 7 chunks per size, last in first out; the 8th small one goes to a fastbin', () => {
    const [, m] = fake();
    const v = Array.from({ length: 9 }, () => m.malloc(100));
    for (const p of v) m.free(p);
    // fixture small.after_9_free: smblks 2, fsmblks 224
    expect(m.mallinfo2()).toMatchObject({ smblks: 2, fsmblks: 224 });
    expect(m.malloc(100)).toBe(v[6]);
    expect(m.malloc(100)).toBe(v[5]);
    expect(m.heapChunks().filter((c) => c[2] === 'tcache')).toHaveLength(5);
  });

  it('a fastbin chunk taken by malloc brings the rest of its bin into the tcache', () => {
    const [, m] = fake();
    const v = Array.from({ length: 10 }, () => m.malloc(40));
    for (const p of v) m.free(p);
    // 7 in the tcache, 3 in the fastbin; take the 7, then one from the fastbin stashes the other 2
    for (let i = 0; i < 7; i++) m.malloc(40);
    expect(m.mallinfo2().smblks).toBe(3);
    expect(m.malloc(40)).toBe(v[9]);
    expect(m.mallinfo2().smblks).toBe(0);
    expect(m.heapChunks().filter((c) => c[2] === 'tcache')).toHaveLength(2);
  });

  it('free coalesces with free neighbours; the merged chunk is reused from its start', () => {
    const [, m] = fake();
    const a = m.malloc(2000);
    const b = m.malloc(2000);
    const c = m.malloc(2000);
    m.malloc(16); // keeps c away from the top chunk
    m.free(a);
    m.free(c);
    expect(m.heapChunks().filter((x) => x[2] === 'bin')).toHaveLength(2);
    m.free(b);
    const bins = m.heapChunks().filter((x) => x[2] === 'bin');
    expect(bins).toHaveLength(1);
    expect(bins[0]![1]).toBe(3 * 2016);
    expect(m.malloc(5000)).toBe(a);
  });

  it('a free chunk next to the top chunk merges into it', () => {
    const [, m] = fake();
    m.free(m.malloc(1));
    const before = m.mallinfo2().keepcost;
    const a = m.malloc(5000);
    m.free(a);
    expect(m.mallinfo2().keepcost).toBe(before);
    expect(m.heapChunks().filter((x) => x[2] === 'bin')).toHaveLength(0);
  });

  it('large bins: a request gets the smallest chunk that fits (best fit), the remainder goes back to the unsorted bin', () => {
    const [, m] = fake();
    const sizes = [3000, 2500, 2700];
    const ptrs = sizes.map((n) => {
      const p = m.malloc(n);
      m.malloc(16);
      return p;
    });
    for (const p of ptrs) m.free(p);
    // a large request sorts the unsorted chunks into their bins first
    m.malloc(8000);
    const q = m.malloc(2400);
    expect(q).toBe(ptrs[1]);
    m.heapChunks();
  });

  it('a large request consolidates the fastbins first', () => {
    const [, m] = fake();
    const v = Array.from({ length: 9 }, () => m.malloc(100));
    m.malloc(16);
    for (const p of v) m.free(p);
    expect(m.mallinfo2().smblks).toBe(2);
    m.malloc(2000);
    expect(m.mallinfo2().smblks).toBe(0);
  });

  it('mallopt(M_MXFAST, 0) turns fastbins off; a value past 160 is refused', () => {
    const [, m] = fake();
    expect(m.mallopt(M_MXFAST, 0)).toBe(1);
    expect(m.params().maxFast).toBe(16);
    const v = Array.from({ length: 9 }, () => m.malloc(100));
    m.malloc(16);
    for (const p of v) m.free(p);
    expect(m.mallinfo2().smblks).toBe(0);
    expect(m.mallopt(M_MXFAST, 161)).toBe(0);
    expect(m.mallopt(M_MXFAST, 160)).toBe(1);
    expect(m.params().maxFast).toBe(160);
  });
});

describe('glibc malloc model: trimming and the top pad', () => {
  it('freeing into a top chunk past M_TRIM_THRESHOLD shrinks the heap, keeping the top pad', () => {
    const [f, m] = fake();
    expect(m.mallopt(M_MMAP_THRESHOLD, 2048 * K)).toBe(1);
    m.free(m.malloc(1));
    const p = m.malloc(1000 * K);
    const brk = f.cur;
    m.free(p);
    // top = 1000 KiB + what was left; everything past 128 KiB pad + MINSIZE, page-rounded down, goes back
    const top = m.mallinfo2().keepcost;
    expect(f.cur).toBeLessThan(brk);
    expect(top).toBeGreaterThanOrEqual(128 * K);
    expect(top).toBeLessThan(128 * K + PAGE + 33);
    expect(m.mallinfo2().arena).toBe(f.cur - f.start);
  });

  it('M_TRIM_THRESHOLD: nothing is given back until the top chunk reaches it', () => {
    const [f, m] = fake();
    expect(m.mallopt(M_TRIM_THRESHOLD, 1024 * K)).toBe(1);
    m.free(m.malloc(1));
    const p = Array.from({ length: 12 }, () => m.malloc(100 * K));
    const brk = f.cur;
    for (let i = 11; i >= 4; i--) m.free(p[i]!);
    expect(f.cur).toBe(brk);
    m.free(p[3]!);
    expect(f.cur).toBe(brk - 921600); // the recorded trim_threshold.free_3.brk_delta
  });

  it('M_TOP_PAD 0: the heap grows by the request alone (page-rounded)', () => {
    const [f, m] = fake();
    expect(m.mallopt(M_TOP_PAD, 0)).toBe(1);
    m.malloc(100 * K);
    expect(f.cur - f.start).toBe(106496); // top_pad.malloc_100K.brk_delta
  });
});

describe('glibc malloc model: what glibc aborts on', () => {
  it('double frees and invalid pointers throw with glibc\'s message, nothing changed', () => {
    const [f, m] = fake();
    // (a large malloc would consolidate the fastbins: allocate everything first)
    const small = m.malloc(32);
    const fast = Array.from({ length: 8 }, () => m.malloc(48));
    const big = m.malloc(2000);
    m.malloc(16);
    m.free(small);
    for (const p of fast) m.free(p);
    m.free(big);
    const before = JSON.stringify([m.mallinfo2(), m.heapChunks(), f.cur, [...f.written]]);
    const cases: [number, string, string][] = [
      [small, 'EDOUBLE_FREE', 'free(): double free detected in tcache 2'],
      [fast[7]!, 'EDOUBLE_FREE', 'double free or corruption (fasttop)'],
      [big, 'EDOUBLE_FREE', 'double free or corruption (!prev)'],
      [small + 8, 'EBAD_POINTER', 'free(): invalid pointer'],
      [f.start + 0x10000000, 'EBAD_POINTER', 'free(): invalid pointer'],
      [f.start + 16, 'EBAD_POINTER', 'free(): invalid pointer'],
    ];
    for (const [ptr, code, msg] of cases) {
      let err: unknown;
      try {
        m.free(ptr);
      } catch (e) {
        err = e;
      }
      expect(isMmsimError(err, code as 'EDOUBLE_FREE')).toBe(true);
      expect((err as Error).message).toContain(msg);
      expect((err as { details: { glibc: string } }).details.glibc).toBe(msg);
    }
    expect(JSON.stringify([m.mallinfo2(), m.heapChunks(), f.cur, [...f.written]])).toBe(before);
    expect(() => m.malloc(-1)).toThrow(/EBAD_SIZE/);
    expect(() => m.malloc(1.5)).toThrow(/EBAD_SIZE/);
    expect(() => m.mallopt(M_TOP_PAD, 2 ** 31)).toThrow(/EINVAL/);
    m.free(0);
  });
});

describe('glibc malloc model: when the system says no', () => {
  it('brk refused: the heap continues in a 1 MiB mapping (sysmalloc_mmap_fallback), fenceposts keep the old top apart', () => {
    const [f, m] = fake();
    m.malloc(100 * K);
    f.brkLimit = f.cur;
    f.calls.length = 0;
    const p = m.malloc(100 * K);
    expect(p).toBeGreaterThan(0);
    expect(f.calls[0]).toMatch(/^brk /);
    expect(f.calls[1]).toBe(`mmap ${1024 * K}`);
    const chunks = m.heapChunks();
    expect(chunks.filter((c) => c[2] === 'fencepost')).toHaveLength(2);
    // the old top's rest was freed into a bin
    expect(chunks.filter((c) => c[2] === 'bin')).toHaveLength(1);
    // no trimming of a heap that is not contiguous any more: frees keep it all
    m.free(p);
    expect(f.maps.size).toBe(1);
  });

  it('nothing left (malloc(8 GiB) with every call refused): 0, three refused calls, nothing changed', () => {
    const [f, m] = fake();
    m.free(m.malloc(1));
    f.mmapFail = true;
    f.brkLimit = f.cur;
    const before = JSON.stringify([m.mallinfo2(), m.heapChunks(), m.params()]);
    f.calls.length = 0;
    expect(m.malloc(8 * 1024 * 1024 * K)).toBe(0);
    expect(f.calls).toEqual([`mmap ${8 * 1024 * 1024 * K + PAGE}`, `brk ${135168 + 8 * 1024 * 1024 * K}`, `mmap ${8 * 1024 * 1024 * K + 135168}`]);
    expect(JSON.stringify([m.mallinfo2(), m.heapChunks(), m.params()])).toBe(before);
    // beyond PTRDIFF_MAX: refused before any system call
    f.calls.length = 0;
    expect(m.malloc(2 ** 63)).toBe(0);
    expect(f.calls).toEqual([]);
  });

  it('a header write that gets the task OOM-killed: malloc returns 0, the model says killed, further calls are refused', () => {
    const [f, m] = fake();
    m.malloc(10);
    f.faultResult = 'oom';
    expect(m.malloc(200 * K)).toBe(0);
    expect(m.killed).toBe('OOM');
    expect(() => m.malloc(1)).toThrow(/ETASK_UNKNOWN/);
  });

  it('M_PERTURB fills what malloc returns and what free takes back: every page is touched', () => {
    const [f, m] = fake();
    m.free(m.malloc(1));
    const before = f.heapPages();
    expect(m.mallopt(M_PERTURB, 0xaa)).toBe(1);
    m.malloc(100 * K);
    expect(f.heapPages() - before).toBe(25);
  });
});

describe('glibc malloc model: the 32-bit build (i386 address space)', () => {
  it('SIZE_SZ 4: 16-byte alignment with a 4-byte overhead, 400-byte tcache, mapped chunks start 8 bytes into their page', () => {
    const [f, m] = fake(0xc0000000);
    const p = m.malloc(100);
    expect(m.usableSize(p)).toBe(108);
    expect(p % 16).toBe(0);
    // the first chunk is 8 bytes in (chunk2mem must be 16-aligned), the tcache's chunk is 400 bytes
    expect(p - f.start).toBe(8 + 400 + 8);
    // the alignment correction made the first sbrk take one more page
    expect(f.calls).toEqual([`brk ${pageUp(400 + 128 * K + 16)}`, `brk ${pageUp(400 + 128 * K + 16) + PAGE}`]);
    const q = m.malloc(200 * K);
    expect(q % PAGE).toBe(16);
    expect(m.usableSize(q)).toBe(pageUp(200 * K + 4 + 4 + 15) - 8 - 8);
    m.free(q);
    expect(f.maps.size).toBe(0);
    expect(m.params().mmapThreshold).toBe(pageUp(200 * K + 4 + 4 + 15) - 8);
    // 8 GiB does not even fit a 32-bit size: refused before any system call
    f.calls.length = 0;
    expect(m.malloc(8 * 1024 * 1024 * K)).toBe(0);
    expect(f.calls).toEqual([]);
    // DEFAULT_MMAP_THRESHOLD_MAX is 512 KiB on 32-bit
    m.free(m.malloc(600 * K));
    expect(m.params().mmapThreshold).toBe(pageUp(200 * K + 4 + 4 + 15) - 8);
    m.free(m.malloc(400 * K));
    expect(m.params().mmapThreshold).toBe(pageUp(400 * K + 4 + 4 + 15) - 8);
  });
});

describe('glibc malloc model: random use keeps the heap consistent', () => {
  it('a seeded mix of malloc, calloc and free: chunks tile the heap, live allocations never overlap, the model agrees with itself', () => {
    const [f, m] = fake();
    const rnd = lcg(12);
    const live = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const r = rnd();
      if (r < 0.55 || live.size === 0) {
        const kind = rnd();
        const n = kind < 0.6 ? Math.floor(rnd() * 200) : kind < 0.9 ? Math.floor(rnd() * 4000) : Math.floor(rnd() * 300 * K);
        const p = rnd() < 0.1 ? m.calloc(1, n) : m.malloc(n);
        expect(p).toBeGreaterThan(0);
        expect(m.usableSize(p)).toBeGreaterThanOrEqual(n);
        for (const [q, len] of live) expect(p + n <= q || q + len <= p, `overlap at step ${i}`).toBe(true);
        live.set(p, n);
      } else {
        const keys = [...live.keys()];
        const p = keys[Math.floor(rnd() * keys.length)]!;
        m.free(p);
        live.delete(p);
      }
      if (i % 50 === 0) m.heapChunks();
    }
    for (const p of live.keys()) m.free(p);
    m.heapChunks();
    const info = m.mallinfo2();
    expect(info.hblks).toBe(0);
    expect(info.arena).toBe(f.cur - f.start);
  });
});

describe('glibc malloc on the simulator', () => {
  it('fork: the child has its own copy of the arena; its malloc writes headers on copy-on-write pages (faults in the child only)', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const parent = sim.processes.spawn({ comm: 'parent' });
    const m = new GlibcMalloc(sim, parent.pid);
    const a = m.malloc(100);
    const b = m.malloc(5000);
    m.free(a);
    const child = sim.processes.fork(parent.pid);
    const mc = m.fork(child.pid);
    const pRss = parent.anonRss;
    const f0 = child.minFlt;
    // the tcache has a's chunk in both
    expect(mc.malloc(100)).toBe(a);
    expect(child.minFlt).toBeGreaterThan(f0);
    expect(parent.anonRss).toBe(pRss);
    mc.free(b);
    expect(() => mc.free(b)).toThrow(/EDOUBLE_FREE/);
    // the parent's arena is its own: b is still allocated there, a still free
    m.free(b);
    expect(m.malloc(100)).toBe(a);
    sim.check();
  });

  it('kernel threads have no address space to malloc in', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const k = sim.processes.spawn({ comm: 'kthread', kthread: true });
    expect(() => new GlibcMalloc(sim, k.pid)).toThrow(/EINVAL/);
    expect(() => new GlibcMalloc(sim.processes, 4242)).toThrow(/ETASK_UNKNOWN/);
  });
});
