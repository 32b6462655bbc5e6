// vmalloc / vfree and the per-CPU allocator over the composed page and slab allocators.
import {
  createSimulator, formatPtr, GFP_KERNEL, isMmsimError, PAGE_SIZE, PageOwner, type Simulator, VMALLOC_END, VMALLOC_START,
} from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';

let sim: Simulator;
afterEach(() => sim?.dispose());
const freePages = () => sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages + sim.pages.pcpPages(z), 0);
const meminfo = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(sim.proc('meminfo'))![1]);
function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isMmsimError(e)).toBe(true);
    return (e as { code: string }).code;
  }
  return 'none';
}

describe('vmalloc', () => {
  it('maps order-0 pages at the bottom of the vmalloc range, with a guard page, and prints /proc/vmallocinfo', async () => {
    sim = await createSimulator({ machine: { memory: '512M', cpus: 2 } });
    const free0 = freePages();
    const a = sim.vmalloc.vmalloc(3 * PAGE_SIZE + 100, { caller: 'alloc_large_system_hash+0x16b/0x25d' })!;
    expect(a).toBe(VMALLOC_START);
    expect(formatPtr(a)).toBe('ffffc90000000000');
    const b = sim.vmalloc.vmalloc(PAGE_SIZE)!;
    // 4 pages + the guard page before the next area
    expect(b - a).toBe(5 * PAGE_SIZE);
    const vm = sim.vmalloc.findVmArea(a)!;
    expect(vm.pages.length).toBe(4);
    for (const pfn of vm.pages) expect(sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)]).toBe(PageOwner.VMALLOC);
    expect(sim.vmalloc.vmallocToPfn(a + 2 * PAGE_SIZE + 5)).toBe(vm.pages[2]);
    expect(sim.proc('vmallocinfo')).toBe(
      '0xffffc90000000000-0xffffc90000005000   20480 alloc_large_system_hash+0x16b/0x25d pages=4 vmalloc N0=4\n' +
      '0xffffc90000005000-0xffffc90000007000    8192 pages=1 vmalloc N0=1\n');
    expect(meminfo('VmallocUsed')).toBe(5 * 4);
    expect(freePages()).toBeLessThanOrEqual(free0 - 5);
    sim.vmalloc.vfree(a);
    // the range waits unpurged; the pages are back at once
    expect(sim.proc('vmallocinfo')).toMatch(/^0xffffc90000000000-0xffffc90000005000   20480 unpurged vm_area$/m);
    expect(meminfo('VmallocUsed')).toBe(4);
    // the lazy range is not reused until purged
    const c = sim.vmalloc.vmalloc(PAGE_SIZE)!;
    expect(c).toBe(b + 2 * PAGE_SIZE);
    sim.vmalloc.purge();
    expect(sim.vmalloc.vmalloc(PAGE_SIZE)).toBe(a);
    sim.check();
  });

  it('vmallocs the pages array of a large area (vpages) and gives everything back on vfree', async () => {
    sim = await createSimulator({ machine: { memory: '512M', cpus: 2 } });
    sim.pages.drainAllPages();
    const free0 = freePages();
    const big = sim.vmalloc.vmalloc(4 << 20)!; // 1024 pages: an 8 KiB pages array
    expect(sim.proc('vmallocinfo')).toMatch(/ 4198400 pages=1024 vmalloc vpages N0=1024\n/);
    expect(sim.vmalloc.areas().length).toBe(2);
    sim.vmalloc.vfree(big);
    sim.vmalloc.purge();
    for (const c of sim.slab.caches()) sim.slab.shrinkCache(c);
    sim.pages.drainAllPages();
    expect(freePages()).toBe(free0);
    expect(sim.vmalloc.areas().length).toBe(0);
    sim.check();
  });

  it('purges on its own once more than lazy_max_pages() wait', async () => {
    sim = await createSimulator({ machine: { memory: '1G', cpus: 2 } });
    const max = sim.vmalloc.lazyMaxPages();
    expect(max).toBe(2 * 8192); // fls(2) × 32 MiB
    const chunk = 1 << 20;
    for (let i = 0; i < (max * PAGE_SIZE) / chunk + 2; i++) sim.vmalloc.vfree(sim.vmalloc.vmalloc(chunk));
    expect(sim.vmalloc.lazyPages).toBeLessThanOrEqual(max);
  });

  it('refuses bad input without changing anything', async () => {
    sim = await createSimulator({ machine: { memory: '256M', cpus: 2 } });
    const a = sim.vmalloc.vmalloc(100)!;
    const before = sim.proc('vmallocinfo');
    expect(code(() => sim.vmalloc.vfree(a + PAGE_SIZE))).toBe('EBAD_POINTER');
    expect(code(() => sim.vmalloc.vmalloc(-1))).toBe('EBAD_SIZE');
    expect(code(() => sim.vmalloc.vmalloc(10, { nid: 7 }))).toBe('EINVAL');
    expect(sim.vmalloc.vmalloc(0)).toBeNull();
    expect(sim.vmalloc.vmalloc(2 ** 40)).toBeNull(); // more than all RAM
    expect(sim.proc('vmallocinfo')).toBe(before);
    sim.vmalloc.vfree(null);
    sim.vmalloc.vfree(a);
    expect(code(() => sim.vmalloc.vfree(a))).toBe('EBAD_POINTER');
    expect(VMALLOC_END - VMALLOC_START + 1).toBe(32 * 2 ** 40);
  });

  it('returns null and takes nothing when pages run out', async () => {
    sim = await createSimulator({ machine: { memory: '64M', cpus: 1 } });
    sim.pages.drainAllPages();
    const free0 = freePages();
    // more pages than are free, fewer than the machine has
    expect(sim.vmalloc.vmalloc((free0 + 64) * PAGE_SIZE, { gfp: GFP_KERNEL })).toBeNull();
    sim.vmalloc.purge();
    for (const c of sim.slab.caches()) sim.slab.shrinkCache(c);
    sim.pages.drainAllPages();
    expect(freePages()).toBe(free0);
    sim.check();
  });
});

describe('alloc_percpu', () => {
  it('gives one copy per CPU in a chunk at the top of the vmalloc range, populating pages on demand', async () => {
    sim = await createSimulator({ machine: { memory: '512M', cpus: 4 } });
    const pc = sim.percpu;
    const p = pc.allocPercpu(64, 8)!;
    expect(p).not.toBeNull();
    const chunk = pc.allChunks[0]!;
    expect(chunk.vm.addr + chunk.vm.size).toBeLessThanOrEqual(VMALLOC_END + 1);
    expect(Math.abs(chunk.vm.addr % (2 << 20))).toBe(0);
    expect(sim.proc('vmallocinfo')).toMatch(/ 2097152 pcpu_get_vm_areas\+0x0\/0x0 vmalloc\n/);
    const copies = [0, 1, 2, 3].map((cpu) => pc.perCpuPtr(p, cpu));
    expect(new Set(copies).size).toBe(4);
    expect(copies[1]! - copies[0]!).toBe(pc.unitSize);
    // one page populated in each of the 4 units
    expect(pc.nrPages).toBe(4);
    expect(meminfo('Percpu')).toBe(16);
    const q = pc.allocPercpu(PAGE_SIZE * 2, PAGE_SIZE)!;
    expect((q - p) % PAGE_SIZE).toBe(0);
    expect(pc.nrPages).toBe(4 * 3);
    pc.freePercpu(p);
    pc.freePercpu(q);
    expect(code(() => pc.freePercpu(q))).toBe('EBAD_POINTER');
    expect(code(() => pc.allocPercpu(40 << 10))).toBe('EBAD_SIZE');
    expect(code(() => pc.perCpuPtr(p, 0))).toBe('EBAD_POINTER');
    sim.check();
  });

  it('creates more chunks when one is full and destroys empty ones beyond the first', async () => {
    sim = await createSimulator({ machine: { memory: '512M', cpus: 2 } });
    const pc = sim.percpu;
    const ptrs: number[] = [];
    const per = pc.unitSize / (32 << 10);
    for (let i = 0; i < per + 1; i++) ptrs.push(pc.allocPercpu(32 << 10, PAGE_SIZE)!);
    expect(pc.allChunks.length).toBe(2);
    for (const p of ptrs) pc.freePercpu(p);
    expect(pc.allChunks.length).toBe(1);
    sim.check();
  });
});
