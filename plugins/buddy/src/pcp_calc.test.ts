import { describe, expect, it } from 'vitest';
import { kernelAtLeast, parseKernelVersion } from '@mmsim/core';
import { pcpBatchCapBytes, zoneBatchsize } from './pcp_calc.js';

describe('zone_batchsize (pcp batch) and its kernel variants', () => {
  it('parses and compares kernel versions', () => {
    expect(parseKernelVersion('5.4.0-100-generic')).toEqual([5, 4]);
    expect(kernelAtLeast('5.4', '4.19')).toBe(true);
    expect(kernelAtLeast('4.15', '4.19')).toBe(false);
    expect(kernelAtLeast('6.12', '6.10')).toBe(true);
    expect(() => parseKernelVersion('linux')).toThrowError(/EINVAL/);
  });

  it('matches what real kernels printed as LIFO batch', () => {
    // aio-h87 boot log, 5.4: DMA managed 3909 → 0, DMA32 866938 → 63
    expect(zoneBatchsize({ managedPages: 3909, presentPages: 3996 }, '5.4')).toBe(0);
    expect(zoneBatchsize({ managedPages: 866938, presentPages: 880699 }, '5.4')).toBe(63);
    expect(zoneBatchsize({ managedPages: 3221064, presentPages: 3272192 }, '6.12')).toBe(63);
  });

  it('caps at 1 MiB from 4.19 and at 512 KiB before; reads present pages before 3.10', () => {
    expect(pcpBatchCapBytes('4.18')).toBe(512 * 1024);
    expect(pcpBatchCapBytes('4.19')).toBe(1024 * 1024);
    const big = { managedPages: 4_000_000, presentPages: 4_000_000 };
    expect(zoneBatchsize(big, '4.15')).toBe(31); // 128 / 4 = 32 → rounddown_pow_of_two(48) - 1
    expect(zoneBatchsize(big, '5.4')).toBe(63); // 256 / 4 = 64 → 96 → 63
    // a zone whose managed pages are far below its present pages
    const z = { managedPages: 10_000, presentPages: 200_000 };
    expect(zoneBatchsize(z, '3.2')).toBe(31); // present: 195 → 48 → 31
    expect(zoneBatchsize(z, '3.10')).toBe(1); // managed: 9 → 2 → 3 → 1
    expect(zoneBatchsize({ managedPages: 0, presentPages: 0 })).toBe(0);
  });
});
