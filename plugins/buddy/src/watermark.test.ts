import { ALLOC_MIN_RESERVE, ALLOC_NON_BLOCK, ALLOC_OOM, createSimulator, type Simulator, type SimulatorConfig, ZoneType } from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';
import { calculateMinFreeKbytes, setupPerZoneLowmemReserve, setupPerZoneWmarks } from './watermark_calc.js';

let sim: Simulator;
afterEach(() => sim?.dispose());

/** What the pure formulas give for the simulator's own zones. */
function expected(s: Simulator, formula: 'scale-factor' | 'classic' = 'scale-factor') {
  const zones = s.topology.zones;
  return setupPerZoneWmarks(
    zones.map((z) => ({ managedPages: z.populated ? z.managedPages : 0, highmem: z.type === ZoneType.HIGHMEM || z.type === ZoneType.MOVABLE })),
    s.sysctl.get('vm.min_free_kbytes'),
    s.sysctl.get('vm.watermark_scale_factor'),
    formula,
  );
}

async function boot(cfg: SimulatorConfig): Promise<Simulator> {
  sim = await createSimulator(cfg);
  return sim;
}

describe('zone watermarks at boot', () => {
  const machines: [string, SimulatorConfig][] = [
    ['x86_64 4 GiB, 2 CPUs', { machine: { memory: '4G', cpus: 2 } }],
    ['x86_64 2 nodes × 1 GiB', { machine: { nodes: [{ memory: '1G', cpus: 1 }, { memory: '1G', cpus: 1 }] } }],
    ['x86_32 1 GiB (DMA, Normal, HighMem)', { machine: { memory: '1G', cpus: 1, arch: 'x86_32' } }],
  ];
  it.each(machines)('%s: min_free_kbytes from lowmem, watermarks and lowmem_reserve from the formulas', async (_name, cfg) => {
    const s = await boot(cfg);
    // nr_free_buffer_pages() at boot: managed pages of the zones up to Normal (no watermarks yet)
    const normal = s.topology.zoneIndex(ZoneType.NORMAL);
    const lowmem = s.topology.zones.filter((z) => z.populated && z.idx <= normal).reduce((a, z) => a + z.managedPages, 0);
    expect(s.sysctl.get('vm.min_free_kbytes')).toBe(calculateMinFreeKbytes(lowmem * 4));
    const want = expected(s);
    s.topology.zones.forEach((z, i) => expect([...z.watermark]).toEqual([want[i]!.min, want[i]!.low, want[i]!.high, want[i]!.promo]));
    for (const node of s.topology.nodes) {
      const r = setupPerZoneLowmemReserve(node.zones.map((z) => (z.populated ? z.managedPages : 0)), s.sysctl.get('vm.lowmem_reserve_ratio'));
      node.zones.forEach((z, i) => expect(z.lowmemReserve).toEqual(r[i]));
    }
  });

  it('the classic variant (and kernels before 4.6) use low = min × 5/4, high = min × 3/2', async () => {
    const s = await boot({ machine: { memory: '1G', cpus: 1 }, plugins: { pageAllocator: { use: 'buddy', options: { watermarks: 'classic' } } } });
    const normal = s.topology.zones.find((z) => z.type === ZoneType.DMA32)!;
    const [min, low, high] = normal.watermark as [number, number, number];
    expect(low).toBe(min + (min >> 2));
    expect(high).toBe(min + (min >> 1));
    sim.dispose();
    const old = await boot({ machine: { memory: '1G', cpus: 1 }, kernel: '4.4' });
    const z = old.topology.zones.find((x) => x.type === ZoneType.DMA32)!;
    expect(z.watermark[1]).toBe(z.watermark[0]! + (z.watermark[0]! >> 2));
  });

  it('a user-set vm.min_free_kbytes wins, and sysctl writes recompute watermarks, pcp high and reserves', async () => {
    const s = await boot({ machine: { memory: '4G', cpus: 2 }, sysctl: { 'vm.min_free_kbytes': 67584 } });
    expect(s.sysctl.get('vm.min_free_kbytes')).toBe(67584);
    expect(s.topology.zones.map((z) => z.watermark[0])).toEqual(expected(s).map((w) => w.min));
    const dma32 = s.topology.zones.find((z) => z.type === ZoneType.DMA32)!;
    const info0 = s.pages.zoneInfo!(dma32);
    s.sysctl.set('vm.watermark_scale_factor', 200);
    expect(s.topology.zones.map((z) => z.watermark[1])).toEqual(expected(s).map((w) => w.low));
    // pcp high_min follows the low watermark
    expect(s.pages.zoneInfo!(dma32).pagesets[0]!.high).toBeGreaterThan(info0.pagesets[0]!.high);
    s.sysctl.set('vm.lowmem_reserve_ratio', [128, 128, 32, 0]);
    const dma = s.topology.zones[0]!;
    expect(dma.lowmemReserve[2]).toBe(Math.floor((dma32.managedPages + s.topology.zones[2]!.managedPages) / 128));
    expect(s.proc('sys/vm/min_free_kbytes')).toBe('67584\n');
  });
});

describe('__zone_watermark_ok', () => {
  it('order-aware, with the ALLOC_MIN_RESERVE / ALLOC_NON_BLOCK / ALLOC_OOM reductions and lowmem_reserve', async () => {
    const s = await boot({ machine: { memory: '1G', cpus: 1 } });
    const z = s.topology.zones.find((x) => x.type === ZoneType.DMA32)!;
    const free = z.stats.nrFreePages;
    const ok = (order: number, mark: number, hz = z.idx, flags = 0) => s.pages.zoneWatermarkOk(z, order, mark, hz, flags);
    expect(ok(0, free - 1)).toBe(true);
    expect(ok(0, free)).toBe(false); // free must stay above the mark
    // __GFP_HIGH may use half of the mark, GFP_ATOMIC a further quarter, OOM victims half again
    expect(ok(0, 2 * free - 2, z.idx, ALLOC_MIN_RESERVE)).toBe(true);
    expect(ok(0, 2 * free + 2, z.idx, ALLOC_MIN_RESERVE)).toBe(false);
    const m = 2 * free; // min - min/2 = free; - (free/4) → 3/4 free
    expect(ok(0, m, z.idx, ALLOC_MIN_RESERVE)).toBe(false);
    expect(ok(0, m, z.idx, ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK)).toBe(true);
    expect(ok(0, m, z.idx, ALLOC_OOM)).toBe(false); // OOM alone halves: free <= free
    expect(ok(0, m + 4, z.idx, ALLOC_OOM | ALLOC_MIN_RESERVE)).toBe(true);
    // high orders: (2^order - 1) pages do not count and a big enough block must be free
    expect(ok(10, free - 1024)).toBe(true);
    expect(ok(10, free - 1023)).toBe(false);
    // a higher classzone adds the lowmem_reserve against it
    const dma = s.topology.zones[0]!;
    const dfree = dma.stats.nrFreePages;
    const reserve = dma.lowmemReserve[z.idx]!;
    expect(reserve).toBe(Math.floor(z.managedPages / 256));
    expect(s.pages.zoneWatermarkOk(dma, 0, 1, 0)).toBe(true);
    expect(s.pages.zoneWatermarkOk(dma, 0, dfree - reserve - 1, z.idx)).toBe(true);
    expect(s.pages.zoneWatermarkOk(dma, 0, dfree - reserve, z.idx)).toBe(false);
  });
});
