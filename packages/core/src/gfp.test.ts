import { describe, expect, it } from 'vitest';
import {
  GFP_ATOMIC, GFP_DMA, GFP_DMA32, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_USER, MigrateType, ZoneType, __GFP_DMA,
  __GFP_DMA32, __GFP_HIGHMEM, __GFP_MOVABLE, __GFP_RECLAIMABLE, __GFP_ZERO, formatGfp, gfpMigratetype, gfpZone, parseGfp,
} from './gfp.js';
import { isMmsimError } from './errors.js';

describe('gfp flags', () => {
  it('have the kernel bit values', () => {
    expect(GFP_KERNEL).toBe(0xcc0);
    expect(GFP_ATOMIC).toBe(0x820);
    expect(GFP_USER).toBe(0x100cc0);
    expect(GFP_HIGHUSER_MOVABLE).toBe(0x100cca);
    expect(GFP_DMA).toBe(0x1);
    expect(GFP_DMA32).toBe(0x4);
  });

  // GFP_ZONE_TABLE / GFP_ZONE_BAD for all 16 zone-modifier combinations (x86_64: no HIGHMEM)
  const x86_64: (ZoneType | 'BAD')[] = [
    ZoneType.NORMAL, ZoneType.DMA, ZoneType.NORMAL, 'BAD', ZoneType.DMA32, 'BAD', 'BAD', 'BAD',
    ZoneType.NORMAL, ZoneType.DMA, ZoneType.MOVABLE, 'BAD', ZoneType.DMA32, 'BAD', 'BAD', 'BAD',
  ];
  it.each(x86_64.map((z, bit) => [bit, z] as const))('gfp_zone(0x%s) on x86_64 is %s', (bit, want) => {
    if (want === 'BAD') {
      expect(() => gfpZone(bit)).toThrowError(/EGFP_INVALID/);
    } else {
      expect(gfpZone(bit)).toBe(want);
    }
  });

  it('folds HIGHMEM to NORMAL without CONFIG_HIGHMEM and keeps it with it', () => {
    expect(gfpZone(__GFP_HIGHMEM)).toBe(ZoneType.NORMAL);
    expect(gfpZone(__GFP_HIGHMEM, { dma: true, dma32: false, highmem: true, movable: true })).toBe(ZoneType.HIGHMEM);
    expect(gfpZone(__GFP_DMA32, { dma: true, dma32: false, highmem: true, movable: true })).toBe(ZoneType.NORMAL);
    expect(gfpZone(GFP_HIGHUSER_MOVABLE)).toBe(ZoneType.MOVABLE);
  });

  it('maps gfp to migratetype and rejects both mobility bits', () => {
    expect(gfpMigratetype(GFP_KERNEL)).toBe(MigrateType.UNMOVABLE);
    expect(gfpMigratetype(GFP_HIGHUSER_MOVABLE)).toBe(MigrateType.MOVABLE);
    expect(gfpMigratetype(GFP_KERNEL | __GFP_RECLAIMABLE)).toBe(MigrateType.RECLAIMABLE);
    expect(gfpMigratetype(GFP_HIGHUSER_MOVABLE, false)).toBe(MigrateType.UNMOVABLE);
    try {
      gfpMigratetype(__GFP_MOVABLE | __GFP_RECLAIMABLE);
      expect.unreachable();
    } catch (e) {
      expect(isMmsimError(e, 'EGFP_INVALID')).toBe(true);
    }
  });

  it('prints and parses flags as kmem tracepoints do', () => {
    expect(formatGfp(GFP_KERNEL)).toBe('GFP_KERNEL');
    expect(formatGfp(GFP_KERNEL | __GFP_ZERO)).toBe('GFP_KERNEL|__GFP_ZERO');
    expect(formatGfp(GFP_HIGHUSER_MOVABLE)).toBe('GFP_HIGHUSER_MOVABLE');
    expect(parseGfp('GFP_KERNEL|__GFP_ZERO')).toBe(GFP_KERNEL | __GFP_ZERO);
    expect(parseGfp('0xcc0')).toBe(GFP_KERNEL);
    expect(() => parseGfp('GFP_BOGUS')).toThrowError(/EGFP_INVALID/);
    expect(gfpZone(__GFP_DMA | __GFP_MOVABLE)).toBe(ZoneType.DMA);
  });
});
