import { createSimulator, GFP_DMA32, GFP_KERNEL, GFP_HIGHUSER_MOVABLE, type Simulator, type SimulatorConfig, ZoneType, __GFP_THISNODE } from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuddyAllocator } from './index.js';
import { zoneBatchsize } from './pcp_calc.js';

let sim: Simulator;
afterEach(() => sim?.dispose());

async function boot(cfg: SimulatorConfig = {}, options: Record<string, unknown> = {}): Promise<BuddyAllocator> {
  sim = await createSimulator({ machine: { memory: '1G', cpus: 2 }, plugins: { pageAllocator: { use: 'buddy', options } }, ...cfg });
  return sim.pages as BuddyAllocator;
}

const dma32 = () => sim.topology.zones.find((z) => z.type === ZoneType.DMA32)!;

describe('per-CPU page lists', () => {
  it('batch and high as zone_set_pageset_high_and_batch() computes them (6.12: high_min from low, high_max from managed / 8)', async () => {
    const pa = await boot();
    const z = dma32();
    const batch = zoneBatchsize({ managedPages: z.managedPages, presentPages: z.presentPages });
    expect(batch).toBe(63);
    const low = z.watermark[1]!;
    for (const p of pa.zoneInfo(z).pagesets) {
      expect(p.batch).toBe(63);
      expect(p.high).toBe(Math.max(Math.floor(low / 2), 63 * 4));
    }
    const pcp = pa.pcpOf(z, 0)!;
    expect(pcp.highMax).toBe(Math.max(Math.floor(Math.floor(z.managedPages / 8) / 2), 252));
    // before 5.14: high = 6 × batch, fixed
    sim.dispose();
    const old = await boot({ kernel: '5.8' });
    const oz = dma32();
    expect(old.zoneInfo(oz).pagesets.map((p) => [p.high, p.batch])).toEqual([[378, 63], [378, 63]]);
    expect(sim.proc('zoneinfo')).toMatch(/zone    DMA32\n(?:.*\n)*?    cpu: 1\n              count: 0\n              high:  378\n              batch: 63\n  vm stats threshold: 16\n/);
  });

  it('refills in bulk from the buddy lists, hands out the hot head, a cold request the tail', async () => {
    const pa = await boot();
    const z = dma32();
    const free0 = z.stats.nrFreePages;
    const pcp = pa.pcpOf(z, 0)!;
    const refills: boolean[] = [];
    sim.events.on('mm_page_alloc_zone_locked', (e) => refills.push(e.percpu_refill));
    const a = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { nid: 0 })!;
    // nr_pcp_alloc(): batch << alloc_factor (0) = 63 pages, capped by high - count - batch
    const taken = free0 - z.stats.nrFreePages;
    expect(taken).toBe(63);
    expect(refills.filter(Boolean)).toHaveLength(63);
    expect(pcp.count).toBe(62);
    expect(pa.pcpPages(z)).toBe(62);
    expect(pcp.allocFactor).toBe(1); // the next refill doubles
    // free two pages: the last freed is the first handed out again (hot)
    const b = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    sim.pages.freePages(a, 0);
    sim.pages.freePages(b, 0);
    expect(sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)).toBe(b);
    // a cold request takes the tail: the last page the refill brought in, the highest pfn
    const cold = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cold: true })!;
    expect(cold).toBeGreaterThan(a);
    expect(cold).toBe(Math.max(a, b) + 61);
    // a cold free goes to the tail
    sim.pages.freePages(cold, 0, { cold: true });
    expect(sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cold: true })).toBe(cold);
    sim.check();
  });

  it('each CPU has its own lists; migrate types have their own lists', async () => {
    const pa = await boot();
    const z = dma32();
    sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 1 });
    expect(pa.pcpOf(z, 0)!.count).toBe(0);
    expect(pa.pcpOf(z, 1)!.count).toBe(62);
    const m = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cpu: 1 })!;
    // a second list refilled, with twice the batch (alloc_factor 1: no free since the last refill)
    expect(pa.pcpOf(z, 1)!.count).toBe(62 + 125);
    sim.pages.freePages(m, 0, { cpu: 0 });
    expect(pa.pcpOf(z, 0)!.count).toBe(1);
    expect(() => sim.pages.allocPages(GFP_KERNEL, 0, { cpu: 7 })).toThrowError(/EINVAL/);
    sim.check();
  });

  it('refills grow pcp->high towards high_max (6.7+ auto-tuning)', async () => {
    const pa = await boot();
    const z = dma32();
    for (let i = 0; i < 3000; i++) sim.pages.allocPages(GFP_KERNEL, 0);
    const pcp = pa.pcpOf(z, 0)!;
    expect(pcp.high).toBeGreaterThan(pcp.highMin);
    expect(pcp.high).toBeLessThanOrEqual(pcp.highMax);
  });

  it('frees past pcp->high flush a batch back to the buddy lists; drain_all_pages empties every list with mm_page_pcpu_drain', async () => {
    // vm.percpu_pagelist_high_fraction fixes high (no auto-tuning): managed / 1000 over 2 CPUs, at least 4 × batch
    const pa = await boot({ sysctl: { 'vm.percpu_pagelist_high_fraction': 1000 } });
    const z = dma32();
    const held: number[] = [];
    for (let i = 0; i < 3000; i++) held.push(sim.pages.allocPages(GFP_KERNEL, 0)!);
    const pcp = pa.pcpOf(z, 0)!;
    expect(pcp.highMin).toBe(pcp.highMax);
    expect(pcp.high).toBe(Math.max(Math.floor(Math.floor(z.managedPages / 1000) / 2), 252));
    const drained: number[] = [];
    sim.events.on('mm_page_pcpu_drain', (e) => drained.push(e.pfn));
    for (const p of held) {
      sim.pages.freePages(p, 0);
      expect(pcp.count).toBeLessThanOrEqual(Math.max(pcp.high, pcp.highMin) + 1);
    }
    expect(drained.length).toBeGreaterThan(0);
    const onLists = pa.pcpPages(z);
    const freeBefore = z.stats.nrFreePages;
    drained.length = 0;
    sim.pages.drainAllPages();
    expect(drained).toHaveLength(onLists);
    expect(pa.pcpPages(z)).toBe(0);
    expect(z.stats.nrFreePages).toBe(freeBefore + onLists);
    sim.check();
  });

  it('pcp: false keeps no per-CPU pages: every page goes to and from the buddy lists', async () => {
    const pa = await boot({}, { pcp: false });
    const z = dma32();
    const free0 = z.stats.nrFreePages;
    const a = sim.pages.allocPages(GFP_KERNEL, 0)!;
    expect(z.stats.nrFreePages).toBe(free0 - 1);
    expect(pa.pcpPages(z)).toBe(0);
    sim.pages.freePages(a, 0);
    expect(z.stats.nrFreePages).toBe(free0);
    sim.check();
  });

  it('order 1..3 and THP-order blocks use their own lists; other orders bypass the pcp', async () => {
    const pa = await boot();
    const z = dma32();
    const free0 = z.stats.nrFreePages;
    sim.pages.allocPages(GFP_KERNEL, 3);
    expect(pa.pcpOf(z, 0)!.count).toBeGreaterThan(0);
    const before = pa.pcpOf(z, 0)!.count;
    const big = sim.pages.allocPages(GFP_KERNEL, 5)!;
    expect(pa.pcpOf(z, 0)!.count).toBe(before);
    expect(z.stats.nrFreePages).toBe(free0 - before - 8 - 32);
    sim.pages.freePages(big, 5);
    sim.check();
  });
});

describe('the option-less fast path', () => {
  // allocPages(gfp, order) without options takes a shortcut for pcp hits; with an empty
  // options object it runs the full path. Both must leave the machine in the same state.
  async function drive(useOpts: boolean): Promise<string> {
    const s = await createSimulator({ machine: { memory: '512M', cpus: 2 }, seed: 3, plugins: { pageAllocator: 'buddy' } });
    const pa = s.pages;
    const held: [number, number][] = [];
    let x = 12345;
    const seen: number[] = [];
    s.events.on('mm_page_alloc', (e) => seen.push(e.pfn));
    for (let i = 0; i < 40_000; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const r = x >>> 0;
      if (held.length === 0 || r % 100 < 55) {
        const order = [0, 0, 0, 0, 1, 1, 2, 3, 9][r % 9]!;
        const gfp = r & 0x100 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE;
        const pfn = useOpts ? pa.allocPages(gfp, order, {}) : pa.allocPages(gfp, order);
        if (pfn !== null) held.push([pfn, order]);
      } else {
        const j = (r >>> 8) % held.length;
        const [pfn, order] = held[j]!;
        held[j] = held[held.length - 1]!;
        held.pop();
        pa.freePages(pfn, order);
      }
    }
    s.check();
    const out = [s.proc('buddyinfo'), s.proc('zoneinfo'), s.proc('vmstat'), seen.join(','), held.map((h) => h[0]).join(',')].join('\n');
    s.dispose();
    return out;
  }

  it('leaves the same state, counters and events as the full path', async () => {
    const fast = await drive(false);
    const full = await drive(true);
    expect(fast.length).toBeGreaterThan(1000);
    expect(fast).toBe(full);
  });

  it('is not taken for a zone below its high watermark, an invalid gfp or a non-pcp order', async () => {
    const pa = await boot();
    // GFP_ZONE_BAD (__GFP_DMA | __GFP_HIGHMEM) is still refused on the option-less call
    expect(() => pa.allocPages(0x01 | 0x02, 0)).toThrow(/gfp/i);
    // order 5 is not a pcp order: served from the buddy lists
    const z = dma32();
    const pfn = pa.allocPages(GFP_KERNEL, 5)!;
    expect(pfn).not.toBeNull();
    expect(pa.pcpOf(z, 0)!.count).toBe(0);
    pa.freePages(pfn, 5);
  });
});

describe('decay_pcp_high (the vmstat worker, every vm.stat_interval)', () => {
  it('lowers pcp->high by an eighth a run, never below high_min or count - batch << 5, and frees what is above it', async () => {
    const pa = await boot();
    const z = dma32();
    const pcp = pa.pcpOf(z, 0)!;
    // refills raise pcp->high (nr_pcp_alloc); the frees then fill the list up to it
    const held: number[] = [];
    for (let i = 0; i < 6000; i++) held.push(pa.allocPages(GFP_KERNEL, 0)!);
    for (const p of held) pa.freePages(p, 0);
    let high = pcp.high;
    expect(high).toBeGreaterThan(pcp.highMin);
    const batch = pcp.batch;
    const free0 = z.stats.nrFreePages;
    let runs = 0;
    while (pcp.high > pcp.highMin && runs < 100) {
      const count = pcp.count;
      const want = Math.max(count - (batch << 5), high - (high >> 3), pcp.highMin);
      sim.tick(1000);
      runs++;
      expect(pcp.high).toBe(want);
      expect(pcp.count).toBe(Math.min(count, want));
      high = pcp.high;
    }
    expect(runs).toBeGreaterThan(2);
    expect(runs).toBeLessThan(100);
    expect(z.stats.nrFreePages).toBeGreaterThanOrEqual(free0); // drained pages went back to the buddy lists
    // vm.stat_interval 5: the next decay comes 5 s later
    sim.sysctl.set('vm.stat_interval', 5);
    const now = sim.clock.now();
    sim.tick(1000); // the run already queued for 1 s from the last one
    const next = sim.timers.pending().find((w) => w.name === 'vmstat_update')!;
    expect(next.due).toBe(now + 1e9 + 5e9);
    sim.check();
  });

  it('is not there before 6.7 (pcp->high fixed)', async () => {
    await boot({ kernel: '6.6' });
    expect(sim.timers.pending().map((w) => w.name)).not.toContain('vmstat_update');
  });
});

describe('PCPF_FREE_HIGH_BATCH (cacheinfo: machine.llc)', () => {
  // a run of order-1 frees without allocations: once free_count reaches a batch, free_high
  // flushes the lists; with a large enough LLC slice they keep a batch first (6.7+)
  async function burst(llc?: string): Promise<{ flag: boolean; maxLate: number }> {
    const pa = await boot({ machine: { memory: '1G', cpus: 2, ...(llc ? { llc } : {}) } });
    const z = dma32();
    const pcp = pa.pcpOf(z, 0)!;
    const blocks: number[] = [];
    for (let i = 0; i < 120; i++) blocks.push(pa.allocPages(GFP_KERNEL, 1)!);
    sim.pages.drainAllPages();
    let maxLate = 0;
    blocks.forEach((p, i) => {
      pa.freePages(p, 1);
      if (i >= 40) maxLate = Math.max(maxLate, pcp.count);
    });
    const flag = (pcp.flags & 2) !== 0;
    sim.check();
    sim.dispose();
    return { flag, maxLate };
  }

  it('without cache information every free in the burst is flushed at once; with 32 MiB over 2 CPUs the list keeps a batch', async () => {
    const none = await burst();
    expect(none.flag).toBe(false);
    expect(none.maxLate).toBe(0);
    const big = await burst('32M'); // 16 MiB a CPU: 4096 pages > 3 × batch 63
    expect(big.flag).toBe(true);
    expect(big.maxLate).toBeGreaterThanOrEqual(62);
    const small = await burst('1M'); // 512 KiB a CPU: 128 pages, not more than 189
    expect(small.flag).toBe(false);
  });

  it('an unparsable llc is refused naming the field', async () => {
    await expect(createSimulator({ machine: { memory: '1G', llc: 'lots' } })).rejects.toThrow(/machine\.llc/);
  });
});

describe('the fast path on two nodes', () => {
  // node 0 (CPU 0) has only ZONE_NORMAL; node 1 (CPU 1) holds DMA and DMA32
  const machine = { nodes: [{ ranges: [{ start: '4G', end: '5G' }], cpus: [0] }, { ranges: [{ start: 0, end: '1G' }], cpus: [1] }] };

  it('__GFP_THISNODE is not served from another node (ZONELIST_NOFALLBACK), with or without options', async () => {
    const pa = await boot({ machine });
    // warm CPU 0's lists in node 1's DMA32 through the fallback zonelist
    const warm = pa.allocPages(GFP_DMA32, 0)!;
    expect(sim.topology.pfnZone(warm)!.nid).toBe(1);
    pa.freePages(warm, 0);
    expect(pa.allocPages(GFP_DMA32 | __GFP_THISNODE, 0, {})).toBeNull();
    expect(pa.allocPages(GFP_DMA32 | __GFP_THISNODE, 0)).toBeNull();
    // without __GFP_THISNODE both fall back to node 1
    const p = pa.allocPages(GFP_DMA32, 0)!;
    expect(sim.topology.pfnZone(p)!.nid).toBe(1);
    pa.freePages(p, 0);
    sim.check();
  });
});

describe('PCPF_FREE_HIGH_BATCH on a CPU-less node', () => {
  it("each CPU's slice is its own node's LLC over that node's CPUs, whichever zone the list belongs to", async () => {
    const pa = await boot({ machine: { llc: '8M', nodes: [{ memory: '1G', cpus: 4 }, { memory: '1G', cpus: 0 }] } });
    const z1 = sim.topology.populatedZones.find((z) => z.nid === 1)!;
    // 8 MiB / 4 CPUs = 512 pages > 3 × batch: set for every CPU's list, in node 1's zone too
    for (let cpu = 0; cpu < 4; cpu++) expect(pa.pcpOf(z1, cpu)!.flags & 2).toBe(2);
  });
});
