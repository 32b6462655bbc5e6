import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kernelAtLeast } from '@mmsim/core';
import { zoneBatchsize, zoneHighsize } from './pcp_calc.js';
import { calculateMinFreeKbytes, multFrac, setupPerZoneLowmemReserve, setupPerZoneWmarks } from './watermark_calc.js';

const FIXTURE = '/work/shared/fixtures/proc-vm1/zoneinfo';
const lowmem = (managed: number) => ({ managedPages: managed, highmem: false });
const wm = (min: number, low: number, high: number, promo: number) => ({ min, low, high, promo });

describe('min_free_kbytes (calculate_min_free_kbytes)', () => {
  it('is int_sqrt(lowmem_kbytes * 16), clamped to 128..262144 (65536 before 5.7)', () => {
    // the table in the kernel's comment
    expect(calculateMinFreeKbytes(16 * 1024)).toBe(512);
    expect(calculateMinFreeKbytes(1024 * 1024)).toBe(4096);
    expect(calculateMinFreeKbytes(4096 * 1024)).toBe(8192);
    expect(calculateMinFreeKbytes(8192 * 1024)).toBe(11585); // the comment rounds it to 11584k
    expect(calculateMinFreeKbytes(16384 * 1024)).toBe(16384);
    expect(calculateMinFreeKbytes(100)).toBe(128);
    expect(calculateMinFreeKbytes(8 * 2 ** 40)).toBe(262144);
    expect(calculateMinFreeKbytes(8 * 2 ** 40, '4.19')).toBe(65536);
  });

  it('mult_frac and version compares behave as the kernel macros', () => {
    expect(multFrac(758708, 10, 10000)).toBe(758);
    expect(multFrac(16777216, 10, 10000)).toBe(16777);
    expect(kernelAtLeast('6.12', '6.7')).toBe(true);
    expect(kernelAtLeast('5.4', '5.14')).toBe(false);
    expect(kernelAtLeast('4.6', '4.6')).toBe(true);
  });
});

describe('__setup_per_zone_wmarks, by hand', () => {
  it('machine 1: one 1 GiB Normal zone (min_free_kbytes 4096)', () => {
    // lowmem 262144 pages = 1048576 kB → int_sqrt(16777216) = 4096 kB → pages_min 1024
    expect(calculateMinFreeKbytes(262144 * 4)).toBe(4096);
    // gap = max(1024/4, 262144 * 10 / 10000 = 262) = 262
    expect(setupPerZoneWmarks([lowmem(262144)], 4096)).toEqual([wm(1024, 1286, 1548, 1810)]);
    // classic: low = min * 5/4, high = min * 3/2
    expect(setupPerZoneWmarks([lowmem(262144)], 4096, 10, 'classic')).toEqual([wm(1024, 1280, 1536, 1536)]);
  });

  it('machine 2: the proc-vm1 guest at boot (min_free_kbytes 67584), where min/4 sets the kswapd gap', () => {
    const zones = [lowmem(3976), lowmem(735000), lowmem(236600)];
    // pages_min 16896 split by 3976 : 735000 : 236600 of 975576 lowmem pages
    // DMA 68 (gap 68/4 = 17), DMA32 12729 (gap 3182), Normal 4097 (gap 1024)
    expect(setupPerZoneWmarks(zones, 67584)).toEqual([wm(68, 85, 102, 119), wm(12729, 15911, 19093, 22275), wm(4097, 5121, 6145, 7169)]);
    // min/4 and min/2 here: the classic formula gives the same low and high
    expect(setupPerZoneWmarks(zones, 67584, 10, 'classic').map((w) => [w.min, w.low, w.high])).toEqual([[68, 85, 102], [12729, 15911, 19093], [4097, 5121, 6145]]);
  });

  it('machine 3: 64 GiB (DMA32 + 16M-page Normal), where watermark_scale_factor sets the gap', () => {
    const zones = [lowmem(782288), lowmem(16777216)];
    // (782288 + 16777216) × 4 kB × 16 → int_sqrt = 33523 kB → pages_min 8380
    const mfk = calculateMinFreeKbytes((782288 + 16777216) * 4);
    expect(mfk).toBe(33523);
    // DMA32: 8380 × 782288 / 17559504 = 373, gap max(93, 782) = 782
    // Normal: 8380 × 16777216 / 17559504 = 8006, gap max(2001, 16777) = 16777
    expect(setupPerZoneWmarks(zones, mfk)).toEqual([wm(373, 1155, 1937, 2719), wm(8006, 24783, 41560, 58337)]);
    expect(setupPerZoneWmarks(zones, mfk, 10, 'classic').map((w) => [w.min, w.low, w.high])).toEqual([[373, 466, 559], [8006, 10007, 12009]]);
    // watermark_scale_factor 100 (1%): gap 7822 and 167772
    expect(setupPerZoneWmarks(zones, mfk, 100)).toEqual([wm(373, 8195, 16017, 23839), wm(8006, 175778, 343550, 511322)]);
  });

  it('machine 4: x86_32 DMA 2048 / Normal 16384 / HighMem 65536 pages, highmem min capped', () => {
    const zones = [lowmem(2048), lowmem(16384), { managedPages: 65536, highmem: true }];
    // lowmem 18432 pages = 73728 kB → int_sqrt(1179648) = 1086 kB → pages_min 271
    const mfk = calculateMinFreeKbytes(18432 * 4);
    expect(mfk).toBe(1086);
    // HighMem: min = clamp(65536 / 1024, 32, 128) = 64; its share tmp = 271 × 65536 / 18432 = 963 sets the gaps
    expect(setupPerZoneWmarks(zones, mfk)).toEqual([wm(30, 37, 44, 51), wm(240, 300, 360, 420), wm(64, 304, 544, 784)]);
    expect(setupPerZoneWmarks(zones, mfk, 10, 'classic').map((w) => [w.min, w.low, w.high])).toEqual([[30, 37, 45], [240, 300, 360], [64, 304, 545]]);
  });
});

describe('setup_per_zone_lowmem_reserve', () => {
  it("the seed's example: DMA 2048, NORMAL 16384, HIGHMEM 65536 pages, ratios 256/32 → 64, 320 and 2048", () => {
    const r = setupPerZoneLowmemReserve([2048, 16384, 65536], [256, 32, 0]);
    expect(r[0]).toEqual([0, 64, 320]); // 16384 / 256, (16384 + 65536) / 256
    expect(r[1]).toEqual([0, 0, 2048]); // 65536 / 32
    expect(r[2]).toEqual([0, 0, 0]);
  });

  it('is 0 for a ratio of 0 and for a zone without managed pages; empty upper zones add nothing', () => {
    expect(setupPerZoneLowmemReserve([3976, 735000, 236600, 0, 0], [256, 256, 32, 0, 0])).toEqual([
      [0, 2871, 3795, 3795, 3795],
      [0, 0, 924, 924, 924],
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
    ]);
    expect(setupPerZoneLowmemReserve([0, 1000, 5000], [256, 0, 32])).toEqual([[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
  });
});

/** The per-zone numbers of a real /proc/zoneinfo. */
function parseZoneinfo(text: string): Map<string, Record<string, number | number[]>> {
  const zones = new Map<string, Record<string, number | number[]>>();
  let cur: Record<string, number | number[]> | undefined;
  for (const line of text.split('\n')) {
    const head = /^Node (\d+), zone +(\S+)/.exec(line);
    if (head) {
      cur = {};
      zones.set(`${head[1]}/${head[2]}`, cur);
      continue;
    }
    if (!cur) continue;
    const prot = /protection: \(([\d, ]+)\)/.exec(line);
    if (prot) cur.protection = prot[1]!.split(',').map(Number);
    const kv = /^\s+(pages free|min|low|high|spanned|present|managed|batch:|high:)\s+(\d+)/.exec(line);
    if (kv && !(kv[1]! in cur)) cur[kv[1]!] = Number(kv[2]);
  }
  return zones;
}

describe('the real proc-vm1 /proc/zoneinfo (Linux 5.8, 4 GiB guest, min_free_kbytes 67584)', () => {
  const real = parseZoneinfo(readFileSync(FIXTURE, 'utf8'));
  const dma = real.get('0/DMA')!;
  const dma32 = real.get('0/DMA32')!;
  const normal = real.get('0/Normal')!;

  it('min/low/high from the managed counts the kernel had at boot land within 1% (within a page, here)', () => {
    // The kernel computed watermarks and lowmem_reserve together at boot,
    // before init memory was freed: the managed counts it used were a little
    // smaller than the file's. lowmem_reserve keeps them: DMA32's protection
    // against Normal is Normal/256 = 924 and DMA's against DMA32 is DMA32/256
    // = 2871, against Normal (DMA32+Normal)/256 = 3795.
    const p = dma.protection as number[];
    const bootDma32 = (p[1]! + 0.5) * 256; // the middle of what DMA32/256 = 2871 allows
    const bootNormal = (p[2]! + 0.5) * 256 - bootDma32;
    expect(Math.floor(bootNormal / 256)).toBe((dma32.protection as number[])[2]);
    const marks = setupPerZoneWmarks([lowmem(dma.managed as number), lowmem(Math.floor(bootDma32)), lowmem(Math.floor(bootNormal))], 67584);
    for (const [z, w] of [[dma, marks[0]!], [dma32, marks[1]!], [normal, marks[2]!]] as const) {
      for (const k of ['min', 'low', 'high'] as const) {
        expect(Math.abs(w[k] - (z[k] as number)) / (z[k] as number)).toBeLessThanOrEqual(0.01);
        expect(Math.abs(w[k] - (z[k] as number))).toBeLessThanOrEqual(1);
      }
    }
  });

  it('with the managed counts printed now (after init memory was freed) the split shifts by up to 3%', () => {
    const marks = setupPerZoneWmarks([lowmem(dma.managed as number), lowmem(dma32.managed as number), lowmem(normal.managed as number)], 67584);
    expect(marks.map((w) => w.min)).toEqual([67, 12827, 4000]);
    const worst = Math.max(...[dma, dma32, normal].map((z, i) => Math.abs(marks[i]!.min - (z.min as number)) / (z.min as number)));
    expect(worst).toBeGreaterThan(0.01);
    expect(worst).toBeLessThan(0.03);
  });

  it('pagesets: batch 63 and (before 5.14) high 6 × batch; DMA batch 1, high 0; vm stats thresholds 4/24/16', () => {
    expect(zoneBatchsize({ managedPages: dma32.managed as number, presentPages: dma32.managed as number })).toBe(63);
    expect(zoneBatchsize({ managedPages: normal.managed as number, presentPages: normal.managed as number })).toBe(63);
    expect(zoneHighsize(758708, 15911, 63, 2, 0, '5.8')).toBe(378);
    expect(zoneBatchsize({ managedPages: dma.managed as number, presentPages: dma.managed as number })).toBe(0); // printed as max(1, 0)
    expect(zoneHighsize(3976, 85, 0, 2, 0, '5.8')).toBe(0);
    expect(real.get('0/DMA32')!['batch:']).toBe(63);
    expect(real.get('0/DMA32')!['high:']).toBe(378);
    // 6.12: the low watermark split over the node's CPUs, at least 4 × batch
    expect(zoneHighsize(758708, 15911, 63, 2)).toBe(7955);
    expect(zoneHighsize(3976, 85, 0, 2)).toBe(42);
    expect(zoneHighsize(758708, 15911, 63, 2, 8)).toBe(47419);
  });
});
