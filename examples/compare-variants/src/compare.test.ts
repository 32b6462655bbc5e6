import { describe, expect, it } from 'vitest';
import { compareMobilityGrouping } from './index.js';

describe('example: mobility grouping on vs off', () => {
  it('keeps more free high-order blocks with grouping on, from the same free page count', async () => {
    const [on, off] = await compareMobilityGrouping({ memory: '256M', seed: 3 });
    expect(on!.freePages).toBe(off!.freePages);
    expect(on!.freeHighOrderBlocks).toBeGreaterThan(off!.freeHighOrderBlocks);
    expect(on!.hugeAllocs).toBeGreaterThan(off!.hugeAllocs);
  });
});
