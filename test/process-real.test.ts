// Agreement with a real kernel and a real glibc. The numbers come from the
// small C programs of test/fixtures/real, run on a Linux 6.x x86_64 machine
// with glibc 2.36 (their outputs, <name>.out, name the kernel and the C
// library in their first line; README.md there says how to regenerate
// them). Each fact runs on the simulator and is compared with the recorded
// deltas — never absolute values, which depend on the machine and the
// program image. Where the recording machine is not a stock kernel (its
// command line disables the shared zero page, pvm_no_zero_page=1), the
// test asserts what mainline Linux does and says so.
import { readFileSync } from 'node:fs';
import {
  createSimulator, ENOMEM, MAP_NORESERVE, MAP_POPULATE, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE, type ProcessTask, type Simulator,
} from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';
import { GlibcMalloc, M_MMAP_MAX, M_MMAP_THRESHOLD, M_TOP_PAD, M_TRIM_THRESHOLD } from '../packages/workload/src/glibc_malloc.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TiB = 2 ** 40;
const K = 1024;

/** A recorded output: `key value` lines after a `#` header. */
function fixture(name: string): { header: string; get(key: string): string; num(key: string): number; keys(prefix: string): string[] } {
  const text = readFileSync(new URL(`./fixtures/real/${name}.out`, import.meta.url), 'utf8');
  const lines = text.split('\n');
  const header = lines[0]!;
  const m = new Map<string, string>();
  for (const l of lines.slice(1)) {
    if (!l) continue;
    const sp = l.indexOf(' ');
    m.set(sp < 0 ? l : l.slice(0, sp), sp < 0 ? '' : l.slice(sp + 1));
  }
  return {
    header,
    get(key) {
      const v = m.get(key);
      if (v === undefined) throw new Error(`${name}.out has no key ${key}`);
      return v;
    },
    num(key) {
      return Number(this.get(key));
    },
    keys(prefix) {
      return [...m.keys()].filter((k) => k.startsWith(prefix));
    },
  };
}

/** One field of /proc/<pid>/status, in kB, as the simulator prints it. */
function status(sim: Simulator, pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(sim.proc(`${pid}/status`));
  if (!m) throw new Error(`no ${field} in ${pid}/status`);
  return Number(m[1]);
}

interface Snap { VmSize_kB: number; VmRSS_kB: number; RssAnon_kB: number; VmPTE_kB: number; VmData_kB: number; minflt: number; majflt: number }
function snap(sim: Simulator, t: ProcessTask): Snap {
  return {
    VmSize_kB: status(sim, t.pid, 'VmSize'),
    VmRSS_kB: status(sim, t.pid, 'VmRSS'),
    RssAnon_kB: status(sim, t.pid, 'RssAnon'),
    VmPTE_kB: status(sim, t.pid, 'VmPTE'),
    VmData_kB: status(sim, t.pid, 'VmData'),
    minflt: t.minFlt,
    majflt: t.majFlt,
  };
}
function delta(a: Snap, b: Snap): Snap {
  const d = {} as Snap;
  for (const k of Object.keys(a) as (keyof Snap)[]) d[k] = b[k] - a[k];
  return d;
}

describe('lazy anonymous memory (malloc_lazy.c)', () => {
  const real = fixture('malloc_lazy');

  it('mmap of 100 MiB raises VmSize by 102400 kB and RssAnon by 0; writing every page faults each once (+102400 kB, +25600)', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const p = sim.processes;
    const t = p.spawn({ comm: 'lazy' });
    let a = snap(sim, t);
    const addr = p.mmap(t.pid, 100 * MiB);
    let d = delta(a, snap(sim, t));
    for (const k of ['VmSize_kB', 'RssAnon_kB', 'VmRSS_kB', 'VmPTE_kB', 'VmData_kB', 'minflt'] as const) expect(d[k], `mmap.${k}`).toBe(real.num(`mmap.${k}`));
    expect(d.VmSize_kB).toBe(102400);
    expect(d.RssAnon_kB).toBe(0);

    // a second mapping written without reading first: the recorded write_fresh step
    a = snap(sim, t);
    expect(p.touch(t.pid, addr, 100 * MiB, { write: true }).minor).toBe(25600);
    d = delta(a, snap(sim, t));
    for (const k of ['VmSize_kB', 'RssAnon_kB', 'VmRSS_kB', 'minflt', 'majflt'] as const) expect(d[k], `write_fresh.${k}`).toBe(real.num(`write_fresh.${k}`));

    // munmap gives back the RSS and the VM (the recording unmapped two such mappings)
    a = snap(sim, t);
    expect(p.munmap(t.pid, addr, 100 * MiB)).toBe(0);
    d = delta(a, snap(sim, t));
    for (const k of ['VmSize_kB', 'RssAnon_kB'] as const) expect(d[k] * 2, `munmap.${k}`).toBe(real.num(`munmap.${k}`));
    sim.check();
  });

  it('page tables: 100 MiB takes 50 PTE tables (VmPTE +200 kB) — the kernel (__get_unmapped_area of 6.12, THP on) aligns an anonymous mapping whose length is a multiple of 2 MiB to 2 MiB', async () => {
    // __get_unmapped_area() (mm/mmap.c): !file && !addr && IS_ALIGNED(len, PMD_SIZE) → thp_get_unmapped_area_vmflags()
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const p = sim.processes;
    const t = p.spawn({ comm: 'pte' });
    // a real process has its libraries just below mmap_base: the upper-level tables there exist already
    const lib = p.mmap(t.pid, 2 * MiB);
    p.touch(t.pid, lib, PAGE_SIZE, { write: true });
    let a = snap(sim, t);
    const addr = p.mmap(t.pid, 100 * MiB);
    expect(addr % (2 * MiB)).toBe(0);
    p.touch(t.pid, addr, 100 * MiB, { write: true });
    let d = delta(a, snap(sim, t));
    expect(d.VmPTE_kB).toBe(real.num('write_fresh.VmPTE_kB'));
    // (the recording's first mapping, read.VmPTE_kB, paid 4 kB more: a PMD table of its own)
    expect(real.num('read.VmPTE_kB') - real.num('write_fresh.VmPTE_kB')).toBe(4);
    a = snap(sim, t);
    p.munmap(t.pid, addr, 100 * MiB);
    d = delta(a, snap(sim, t));
    // munmap frees its 50 PTE tables (the recording unmapped both of its mappings: 200 + 204 kB)
    expect(d.VmPTE_kB).toBe(-real.num('write_fresh.VmPTE_kB'));
    expect(real.num('munmap.VmPTE_kB')).toBe(-(real.num('write_fresh.VmPTE_kB') + real.num('read.VmPTE_kB')));
  });

  it('reading every page maps the shared zero page (RssAnon +0, 25600 minor faults); writing afterwards faults each page again (+102400 kB, +25600)', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const p = sim.processes;
    const t = p.spawn({ comm: 'lazy' });
    const addr = p.mmap(t.pid, 100 * MiB);
    let a = snap(sim, t);
    expect(p.touch(t.pid, addr, 100 * MiB).minor).toBe(25600);
    let d = delta(a, snap(sim, t));
    // the fault count agrees with the recording
    expect(d.minflt).toBe(real.num('read.minflt'));
    // the recording machine's kernel runs with pvm_no_zero_page=1 (a vendor patch: every read fault allocates,
    // so it shows read.RssAnon_kB 102400 and no second fault on write); mainline maps the zero page
    expect(real.header).toContain('pvm_no_zero_page=1): yes');
    expect(real.num('read.RssAnon_kB')).toBe(102400);
    expect(d.RssAnon_kB).toBe(0);
    a = snap(sim, t);
    expect(p.touch(t.pid, addr, 100 * MiB, { write: true }).minor).toBe(25600);
    d = delta(a, snap(sim, t));
    expect(d.RssAnon_kB).toBe(102400);
    expect(d.minflt).toBe(25600);
    // and reading it all again needs no fault (the recorded reread step)
    a = snap(sim, t);
    p.touch(t.pid, addr, 100 * MiB);
    d = delta(a, snap(sim, t));
    expect(d.minflt).toBe(real.num('reread.minflt'));
    expect(d.RssAnon_kB).toBe(real.num('reread.RssAnon_kB'));
    sim.check();
  });

  it('MAP_POPULATE faults every page in at mmap time (counted as minor faults), then writing needs none', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const p = sim.processes;
    const t = p.spawn({ comm: 'populate' });
    let a = snap(sim, t);
    const addr = p.mmap(t.pid, 100 * MiB, { flags: MAP_POPULATE });
    let d = delta(a, snap(sim, t));
    for (const k of ['VmSize_kB', 'RssAnon_kB', 'minflt'] as const) expect(d[k], `populate.${k}`).toBe(real.num(`populate.${k}`));
    a = snap(sim, t);
    p.touch(t.pid, addr, 100 * MiB, { write: true });
    d = delta(a, snap(sim, t));
    for (const k of ['RssAnon_kB', 'minflt'] as const) expect(d[k], `populate_write.${k}`).toBe(real.num(`populate_write.${k}`));
  });
});

describe('fork and copy-on-write (fork_cow.c)', () => {
  const real = fixture('fork_cow');

  it("a child that writes one page keeps its RssAnon (one minor fault) and the parent's page is untouched", async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const p = sim.processes;
    const parent = p.spawn({ comm: 'parent' });
    const addr = p.mmap(parent.pid, 100 * PAGE_SIZE);
    p.touch(parent.pid, addr, 100 * PAGE_SIZE, { write: true });
    const pa = snap(sim, parent);
    const child = p.fork(parent.pid);
    const c0 = snap(sim, child);
    expect(c0.RssAnon_kB - pa.RssAnon_kB).toBe(real.num('child.RssAnon_minus_parent_kB'));
    // reading: no fault, fork copied the PTEs
    p.touch(child.pid, addr, 100 * PAGE_SIZE);
    const c1 = snap(sim, child);
    for (const k of ['RssAnon_kB', 'minflt', 'VmPTE_kB'] as const) expect(c1[k] - c0[k], `child_read.${k}`).toBe(real.num(`child_read.${k}`));
    const pfnOf = (pid: number, a: number): number => {
      let e = 0;
      p.task(pid).mm!.walkPtes!(a, a + PAGE_SIZE, (_x, entry) => (e = entry));
      return e;
    };
    const before = pfnOf(parent.pid, addr + 7 * PAGE_SIZE);
    expect(pfnOf(child.pid, addr + 7 * PAGE_SIZE)).toBe(before);
    expect(p.access(child.pid, addr + 7 * PAGE_SIZE, true)).toBe('minor');
    const c2 = snap(sim, child);
    for (const k of ['VmSize_kB', 'RssAnon_kB', 'minflt', 'VmPTE_kB'] as const) expect(c2[k] - c1[k], `child_write_one.${k}`).toBe(real.num(`child_write_one.${k}`));
    expect(p.access(child.pid, addr + 7 * PAGE_SIZE + 1, true)).toBe('none');
    expect(real.num('child_write_again.minflt')).toBe(0);
    // the parent's data is untouched: its PTE still maps the page it wrote; the child's maps a copy
    expect(real.get('parent.data_intact')).toBe('1');
    expect(pfnOf(parent.pid, addr + 7 * PAGE_SIZE)).toBe(before);
    expect(pfnOf(child.pid, addr + 7 * PAGE_SIZE)).not.toBe(before);
    p.exit(child.pid);
    const pb = snap(sim, parent);
    expect(pb.RssAnon_kB - pa.RssAnon_kB).toBe(real.num('parent_after_child.RssAnon_kB'));
    // the parent's PTEs stay write-protected from fork: writing them is one fault each, resolved by reuse (no copy)
    const a = snap(sim, parent);
    p.touch(parent.pid, addr, 100 * PAGE_SIZE, { write: true });
    const d = delta(a, snap(sim, parent));
    for (const k of ['RssAnon_kB', 'minflt'] as const) expect(d[k], `parent_write_after_child_exit.${k}`).toBe(real.num(`parent_write_after_child_exit.${k}`));
    expect(pfnOf(parent.pid, addr + 7 * PAGE_SIZE)).toBe(before);
    sim.check();
  });
});

// ---- glibc malloc: the scenarios of glibc_malloc.c, replayed step by step ----

/** What glibc_malloc.c prints for a scenario, produced on the simulator. */
class Recorder {
  readonly out = new Map<string, string>();
  private readonly brk0: number;
  private at: { brk: number; maps: number; vm: number; anon: number; data: number };
  constructor(
    readonly sim: Simulator,
    readonly t: ProcessTask,
    readonly m: GlibcMalloc,
    readonly S: string,
  ) {
    this.brk0 = sim.processes.brk(t.pid, 0);
    this.at = this.point();
  }
  private point(): { brk: number; maps: number; vm: number; anon: number; data: number } {
    return {
      brk: this.sim.processes.brk(this.t.pid, 0) - this.brk0,
      maps: this.t.mm!.vmas().length,
      vm: status(this.sim, this.t.pid, 'VmSize'),
      anon: status(this.sim, this.t.pid, 'RssAnon'),
      data: status(this.sim, this.t.pid, 'VmData'),
    };
  }
  set(key: string, v: number | string): void {
    this.out.set(`${this.S}.${key}`, String(v));
  }
  reset(): void {
    this.at = this.point();
  }
  step(what: string): void {
    const b = this.point();
    const a = this.at;
    this.set(`${what}.brk_delta`, b.brk - a.brk);
    this.set(`${what}.maps_delta`, b.maps - a.maps);
    this.set(`${what}.VmSize_kB`, b.vm - a.vm);
    this.set(`${what}.RssAnon_kB`, b.anon - a.anon);
    this.set(`${what}.VmData_kB`, b.data - a.data);
    this.at = b;
  }
  inHeap(p: number): boolean {
    return p >= this.brk0 && p < this.sim.processes.brk(this.t.pid, 0);
  }
  ptr(what: string, p: number): void {
    this.set(`${what}.in_heap`, p ? (this.inHeap(p) ? 1 : 0) : -1);
    if (p && this.inHeap(p)) this.set(`${what}.heap_offset`, p - this.brk0);
    if (p && !this.inHeap(p)) this.set(`${what}.page_offset`, p % 4096);
    if (p) this.set(`${what}.usable`, this.m.usableSize(p));
  }
  info(what: string): void {
    const i = this.m.mallinfo2();
    for (const k of ['arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'fsmblks', 'uordblks', 'fordblks', 'keepcost'] as const) this.set(`${what}.${k}`, i[k]);
  }
}

const scenarios: Record<string, (r: Recorder, m: GlibcMalloc) => void> = {
  first(r, m) {
    r.set('heap_exists_before', r.t.mm!.vmas().some((v) => v.name === '[heap]') ? 1 : 0);
    const p = m.malloc(100 * K);
    r.step('malloc_100K');
    r.ptr('p', p);
    r.info('after_p');
    const q = m.malloc(100 * K);
    r.step('malloc_100K_2');
    r.ptr('q', q);
    const x = m.malloc(100 * K);
    r.step('malloc_100K_3');
    r.ptr('r', x);
    r.info('after_r');
  },
  first_mmap(r, m) {
    const p = m.malloc(200 * K);
    r.step('malloc_200K');
    r.ptr('p', p);
    r.info('after_p');
    m.free(p);
    r.step('free');
    r.info('after_free');
  },
  mmap200(r, m) {
    const w = m.malloc(1);
    r.ptr('w', w);
    r.reset();
    const p = m.malloc(200 * K);
    r.step('malloc_200K');
    r.ptr('p', p);
    r.info('after_p');
    m.free(p);
    r.step('free');
  },
  dynthresh(r, m) {
    m.free(m.malloc(1));
    r.reset();
    const p = m.malloc(200 * K);
    r.step('malloc_200K');
    r.ptr('p', p);
    m.free(p);
    r.step('free');
    const q = m.malloc(200 * K);
    r.step('malloc_200K_again');
    r.ptr('q', q);
    r.info('after_q');
    const q2 = m.malloc(200 * K);
    r.step('malloc_200K_third');
    r.ptr('q2', q2);
    m.free(q2);
    r.step('free_q2');
    m.free(q);
    r.step('free_q');
    r.info('after_free_q');
    const x = m.malloc(300 * K);
    r.step('malloc_300K');
    r.ptr('r', x);
    const s = m.malloc(MiB);
    r.step('malloc_1M');
    r.ptr('s', s);
    m.free(s);
    r.step('free_1M');
    const t = m.malloc(600 * K);
    r.step('malloc_600K');
    r.ptr('t', t);
  },
  trim(r, m) {
    const p: number[] = [];
    m.free(m.malloc(1));
    r.reset();
    for (let i = 0; i < 8; i++) {
      p.push(m.malloc(100 * K));
      r.step(`malloc_${i}`);
    }
    r.info('full');
    for (let i = 7; i >= 0; i--) {
      m.free(p[i]!);
      r.step(`free_${i}`);
      if (i === 4) r.info('after_free_4');
    }
    r.info('empty');
  },
  trim_forward(r, m) {
    const p: number[] = [];
    m.free(m.malloc(1));
    r.reset();
    for (let i = 0; i < 8; i++) p.push(m.malloc(100 * K));
    r.step('malloc_8x100K');
    for (let i = 0; i < 8; i++) {
      m.free(p[i]!);
      r.step(`free_${i}`);
    }
    r.info('empty');
    const q = m.malloc(100 * K);
    r.step('malloc_again');
    r.ptr('q', q);
    r.set('q_equals_p0', q === p[0] ? 1 : 0);
  },
  trim_threshold(r, m) {
    const p: number[] = [];
    r.set('mallopt', m.mallopt(M_TRIM_THRESHOLD, MiB));
    m.free(m.malloc(1));
    r.reset();
    for (let i = 0; i < 12; i++) p.push(m.malloc(100 * K));
    r.step('malloc_12x100K');
    for (let i = 11; i >= 0; i--) {
      m.free(p[i]!);
      r.step(`free_${i}`);
    }
  },
  top_pad(r, m) {
    r.set('mallopt', m.mallopt(M_TOP_PAD, 0));
    r.reset();
    const p = m.malloc(100 * K);
    r.step('malloc_100K');
    r.ptr('p', p);
    const q = m.malloc(10 * K);
    r.step('malloc_10K');
    m.free(q);
    r.step('free_10K');
    m.free(p);
    r.step('free_100K');
    r.set('mallopt_64K', m.mallopt(M_TOP_PAD, 64 * K));
    const x = m.malloc(100 * K);
    r.step('malloc_100K_pad64K');
    r.ptr('r', x);
  },
  threshold(r, m) {
    m.free(m.malloc(1));
    r.set('mallopt_1M', m.mallopt(M_MMAP_THRESHOLD, MiB));
    r.set('mallopt_32M', m.mallopt(M_MMAP_THRESHOLD, 32 * MiB));
    r.set('mallopt_32M_plus1', m.mallopt(M_MMAP_THRESHOLD, 32 * MiB + 1));
    r.set('mallopt_1M_again', m.mallopt(M_MMAP_THRESHOLD, MiB));
    r.reset();
    const p = m.malloc(200 * K);
    r.step('malloc_200K');
    r.ptr('p', p);
    const q = m.malloc(2 * MiB);
    r.step('malloc_2M');
    r.ptr('q', q);
    m.free(q);
    r.step('free_2M');
    const x = m.malloc(1536 * K);
    r.step('malloc_1536K');
    r.ptr('r', x);
    m.free(x);
    r.step('free_1536K');
    m.free(p);
    r.step('free_200K');
  },
  mmap_max(r, m) {
    m.free(m.malloc(1));
    r.set('mallopt', m.mallopt(M_MMAP_MAX, 0));
    r.reset();
    const p = m.malloc(MiB);
    r.step('malloc_1M');
    r.ptr('p', p);
    m.free(p);
    r.step('free_1M');
  },
  thresh_max(r, m) {
    m.free(m.malloc(1));
    r.reset();
    let p = m.malloc(40 * MiB);
    r.step('malloc_40M');
    m.free(p);
    r.step('free_40M');
    let q = m.malloc(200 * K);
    r.step('malloc_200K');
    r.ptr('q', q);
    m.free(q);
    r.step('free_200K');
    p = m.malloc(16 * MiB);
    r.step('malloc_16M');
    m.free(p);
    r.step('free_16M');
    q = m.malloc(8 * MiB);
    r.step('malloc_8M');
    r.ptr('q8', q);
    m.free(q);
    r.step('free_8M');
    r.info('end');
  },
  small(r, m) {
    const p = m.malloc(100);
    r.ptr('p', p);
    m.free(p);
    const q = m.malloc(100);
    r.set('reused', p === q ? 1 : 0);
    const v: number[] = [];
    for (let i = 0; i < 9; i++) v.push(m.malloc(100));
    for (let i = 0; i < 9; i++) m.free(v[i]!);
    r.info('after_9_free');
    const w = m.malloc(100);
    r.set('w_is_v6', w === v[6] ? 1 : 0);
    r.set('w_is_v8', w === v[8] ? 1 : 0);
    for (let n = 0; n <= 48; n += 8) r.set(`usable_${n}`, m.usableSize(m.malloc(n)));
    r.set('usable_24', m.usableSize(m.malloc(24)));
    r.set('usable_25', m.usableSize(m.malloc(25)));
    r.set('usable_1000', m.usableSize(m.malloc(1000)));
  },
  calloc(r, m) {
    m.free(m.malloc(1));
    r.reset();
    m.calloc(1, 100 * K);
    r.step('calloc_100K');
    m.calloc(1, 200 * K);
    r.step('calloc_200K');
  },
  rss(r, m) {
    m.free(m.malloc(1));
    r.reset();
    const p = m.malloc(100 * K);
    r.step('malloc_100K');
    const q = m.malloc(200 * K);
    r.step('malloc_200K');
    m.free(p);
    r.step('free_100K');
    m.free(q);
    r.step('free_200K');
  },
};

describe('glibc malloc (glibc_malloc.c): the same calls move brk, add and remove mappings and fault pages as a real glibc 2.36', () => {
  const real = fixture('glibc_malloc');

  it('the recording starts without a heap and with a page-aligned break, as a spawned task does', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const t = sim.processes.spawn({ comm: 'start' });
    expect(real.get('start.heap_exists')).toBe('0');
    expect(t.mm!.vmas().some((v) => v.name === '[heap]')).toBe(false);
    expect(real.get('start.brk_page_offset')).toBe('0');
    expect(sim.processes.brk(t.pid, 0) % PAGE_SIZE).toBe(0);
  });

  for (const [name, run] of Object.entries(scenarios)) {
    it(`${name}: every recorded key agrees`, async () => {
      const sim = await createSimulator({ machine: { memory: '1G' } });
      const t = sim.processes.spawn({ comm: name });
      const m = new GlibcMalloc(sim, t.pid);
      const r = new Recorder(sim, t, m, name);
      run(r, m);
      const keys = real.keys(`${name}.`);
      expect(keys.length).toBeGreaterThan(0);
      const want = Object.fromEntries(keys.map((k) => [k, real.get(k)]));
      const got = Object.fromEntries(keys.map((k) => [k, r.out.get(k) ?? '(not produced)']));
      expect(got).toEqual(want);
      m.heapChunks();
      sim.check();
    });
  }

  it('malloc(100K) comes from the brk heap; malloc(200K) adds a 204 kB mapping that free() removes', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const t = sim.processes.spawn({ comm: 'facts' });
    const m = new GlibcMalloc(sim, t.pid);
    const brk0 = sim.processes.brk(t.pid, 0);
    const a = m.malloc(100 * K);
    expect(sim.processes.brk(t.pid, 0)).toBeGreaterThan(brk0);
    expect(a).toBeGreaterThan(brk0);
    expect(a).toBeLessThan(sim.processes.brk(t.pid, 0));
    const maps = t.mm!.vmas().length;
    const vm = status(sim, t.pid, 'VmSize');
    const b = m.malloc(200 * K);
    expect(t.mm!.vmas().length).toBe(maps + 1);
    expect(status(sim, t.pid, 'VmSize') - vm).toBe(204);
    expect(real.num('mmap200.malloc_200K.VmSize_kB')).toBe(204);
    const v = t.mm!.findVma(b)!;
    expect(v.end - v.start).toBe(204 * K);
    m.free(b);
    expect(t.mm!.vmas().length).toBe(maps);
    expect(status(sim, t.pid, 'VmSize')).toBe(vm);
  });

  it('the double free and invalid pointer glibc aborts on are refused with its message', async () => {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    const t = sim.processes.spawn({ comm: 'df' });
    const cases: [string, (m: GlibcMalloc) => void][] = [
      ['tcache', (m) => {
        const p = m.malloc(32);
        m.free(p);
        m.free(p);
      }],
      ['fastbin', (m) => {
        const v = Array.from({ length: 8 }, () => m.malloc(32));
        for (let i = 0; i < 7; i++) m.free(v[i]!);
        m.free(v[7]!);
        m.free(v[7]!);
      }],
      ['normal', (m) => {
        const p = m.malloc(2000);
        m.malloc(16);
        m.free(p);
        m.free(p);
      }],
      ['misaligned', (m) => m.free(m.malloc(32) + 8)],
    ];
    for (const [what, fn] of cases) {
      const c = sim.processes.fork(t.pid);
      const m = new GlibcMalloc(sim, c.pid);
      let msg = '';
      try {
        fn(m);
      } catch (e) {
        msg = ((e as { details?: { glibc?: string } }).details?.glibc) ?? String(e);
      }
      expect(msg, what).toBe(real.get(`double_free.${what}.message`));
      expect(real.get(`double_free.${what}.signal`)).toBe('6');
      sim.processes.exit(c.pid);
    }
  });
});

// ---- overcommit (overcommit.c) ----

function meminfoKb(sim: Simulator, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(sim.proc('meminfo'));
  if (!m) throw new Error(`no ${field} in meminfo`);
  return Number(m[1]);
}

describe('overcommit (overcommit.c): vm.overcommit_memory 0 on a 6.x kernel', () => {
  const real = fixture('overcommit');
  const rw = PROT_READ | PROT_WRITE;

  async function machine(swap: boolean): Promise<{ sim: Simulator; t: ProcessTask; total: number }> {
    const sim = await createSimulator({ machine: { memory: '1G' } });
    if (swap) expect(sim.swap.swapon({ size: 512 * MiB })).toBeGreaterThanOrEqual(0);
    const t = sim.processes.spawn({ comm: 'commit', uid: 1000 });
    const total = (meminfoKb(sim, 'MemTotal') + meminfoKb(sim, 'SwapTotal')) * 1024;
    return { sim, t, total };
  }
  /** 'ok' (and unmapped again) or the errno name, as overcommit.c prints it. */
  function tryMap(sim: Simulator, pid: number, len: number, prot: number, flags = 0, shared = false): string {
    const a = sim.processes.mmap(pid, len, { prot, flags, shared });
    if (a < 0) return a === -ENOMEM ? 'ENOMEM' : 'other';
    expect(sim.processes.munmap(pid, a, len)).toBe(0);
    return 'ok';
  }

  it('the recording ran under mode 0', () => {
    expect(real.get('overcommit_memory')).toBe('0');
  });

  for (const swap of [false, true]) {
    it(`exactly MemTotal + SwapTotal is granted, one page or 64 pages more refused${swap ? ' (with 512 MiB of swap)' : ''}`, async () => {
      const { sim, t, total } = await machine(swap);
      expect(sim.sysctl.get('vm.overcommit_memory')).toBe(0);
      const committed = meminfoKb(sim, 'Committed_AS');
      const vm = t.totalVm;
      for (const [key, len] of [['exact', total], ['exact_minus_1_page', total - PAGE_SIZE], ['plus_1_page', total + PAGE_SIZE], ['plus_64_pages', total + 64 * PAGE_SIZE], ['double', 2 * total]] as const) {
        expect(tryMap(sim, t.pid, len, rw), key).toBe(real.get(key));
      }
      // a refusal leaves nothing behind
      expect(t.totalVm).toBe(vm);
      expect(meminfoKb(sim, 'Committed_AS')).toBe(committed);
      sim.check();
    });
  }

  it('read-only, PROT_NONE and MAP_NORESERVE mappings are not counted; shared anonymous memory is, unless MAP_NORESERVE', async () => {
    const { sim, t, total } = await machine(false);
    expect(tryMap(sim, t.pid, 2 * total, PROT_READ)).toBe(real.get('double_readonly'));
    expect(tryMap(sim, t.pid, 2 * total, PROT_NONE)).toBe(real.get('double_prot_none'));
    expect(tryMap(sim, t.pid, 2 * total, rw, MAP_NORESERVE)).toBe(real.get('double_noreserve'));
    expect(tryMap(sim, t.pid, 2 * total, rw, 0, true)).toBe(real.get('double_shared'));
    expect(tryMap(sim, t.pid, 2 * total, rw, MAP_NORESERVE, true)).toBe(real.get('double_shared_noreserve'));
  });

  it('each request is judged alone: two mappings of the whole total both succeed; mprotect to writable is counted', async () => {
    const { sim, t, total } = await machine(false);
    const a = sim.processes.mmap(t.pid, total, { prot: rw });
    const b = sim.processes.mmap(t.pid, total, { prot: rw });
    expect(a > 0 && b > 0 ? 'ok' : 'ENOMEM').toBe(real.get('two_exact_at_once'));
    sim.processes.munmap(t.pid, a, total);
    sim.processes.munmap(t.pid, b, total);
    const r = sim.processes.mmap(t.pid, 2 * total, { prot: PROT_READ });
    expect(r).toBeGreaterThan(0);
    const e = sim.processes.mprotect(t.pid, r, 2 * total, rw);
    expect(e === 0 ? 'ok' : e === -ENOMEM ? 'ENOMEM' : 'other').toBe(real.get('mprotect_double_rw'));
  });

  it('brk is counted: the break does not move past MemTotal + SwapTotal', async () => {
    const { sim, t, total } = await machine(false);
    const cur = sim.processes.brk(t.pid, 0);
    const got = sim.processes.brk(t.pid, cur + total + 64 * PAGE_SIZE);
    expect(got === cur + total + 64 * PAGE_SIZE ? 'ok' : 'ENOMEM').toBe(real.get('brk_plus_64_pages'));
    expect(sim.processes.brk(t.pid, 0) === cur ? '1' : '0').toBe(real.get('brk_unchanged'));
  });

  it('128 TiB does not fit in the x86_64 user address space (TASK_SIZE 2^47 − 4096), even unaccounted; 64 TiB does', async () => {
    const { sim, t } = await machine(false);
    expect(tryMap(sim, t.pid, 128 * TiB, PROT_NONE, MAP_NORESERVE)).toBe(real.get('tib128_noreserve'));
    expect(tryMap(sim, t.pid, 128 * TiB, rw)).toBe(real.get('tib128_rw'));
    expect(tryMap(sim, t.pid, 64 * TiB, PROT_NONE, MAP_NORESERVE)).toBe(real.get('tib64_noreserve'));
  });

  it('malloc(8 GiB) on a 4 GiB machine: NULL under mode 0, a pointer under mode 1 (nothing touched but its header)', async () => {
    const sim = await createSimulator({ machine: { memory: '4G' } });
    const t = sim.processes.spawn({ comm: 'big', uid: 1000 });
    const m = new GlibcMalloc(sim, t.pid);
    // the first malloc sets up the tcache in the brk heap (132 KiB of it)
    m.free(m.malloc(1));
    const vm = t.totalVm;
    const maps = t.mm!.vmas().length;
    // mmap(8 GiB + 4 KiB), brk(+8 GiB + 128 KiB), the mmap fallback: all refused, nothing changed
    expect(m.malloc(8 * GiB)).toBe(0);
    expect(t.totalVm).toBe(vm);
    expect(t.mm!.vmas().length).toBe(maps);
    sim.sysctl.set('vm.overcommit_memory', 1);
    const p = m.malloc(8 * GiB);
    expect(p).toBeGreaterThan(0);
    expect(status(sim, t.pid, 'RssAnon')).toBeLessThanOrEqual(8);
    expect((t.totalVm - vm) * 4).toBe(8 * GiB / 1024 + 4);
    expect(m.usableSize(p)).toBe(8 * GiB + PAGE_SIZE - 16);
    m.free(p);
    expect(t.totalVm).toBe(vm);
  });

  it('on the i386 machine (3 GiB of user space) an 8 GiB request fails at once, whatever the overcommit mode', async () => {
    const sim = await createSimulator({ machine: { memory: '4G', arch: 'x86_32' } });
    sim.sysctl.set('vm.overcommit_memory', 1);
    const t = sim.processes.spawn({ comm: 'big32', uid: 1000 });
    expect(sim.processes.mmap(t.pid, 8 * GiB, { flags: MAP_NORESERVE })).toBe(-ENOMEM);
    expect(sim.processes.mmap(t.pid, 3 * GiB)).toBe(-ENOMEM);
    // and glibc's 32-bit malloc refuses it before any system call: it exceeds PTRDIFF_MAX
    const m = new GlibcMalloc(sim, t.pid);
    const vm = t.totalVm;
    expect(m.malloc(8 * GiB)).toBe(0);
    expect(t.totalVm).toBe(vm);
    expect(t.mm!.vmas().some((v) => v.name === '[heap]')).toBe(false);
  });
});
