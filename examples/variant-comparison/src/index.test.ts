import { describe, expect, it } from 'vitest';
import { compareMobilityGrouping } from './index.js';

describe('example: mobility grouping on and off', () => {
  it('grouping by mobility leaves many more free order-9 blocks once the movable pages are gone', async () => {
    const [on, off] = await compareMobilityGrouping(150_000);
    expect(on!.order9After).toBeGreaterThan(2 * off!.order9After);
    expect(Number(on!.unusableOrder9)).toBeLessThan(Number(off!.unusableOrder9));
  });
});
