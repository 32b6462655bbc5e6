import { describe, expect, it } from 'vitest';
import { demo, largestRss } from './index.js';

describe('example: custom simulator', () => {
  it('allocates on the CPU\'s node and the two OOM scorers choose differently', async () => {
    const linux = await demo('oom-linux');
    const mine = await demo(largestRss);
    expect(linux.node).toBe(1);
    expect(linux.allocs[0]).toMatch(/^pfn=0x[0-9a-f]+ order=2 migratetype=0$/);
    // oom_badness weighs oom_score_adj: the browser (+300) goes first
    expect(linux.victim).toBe('browser');
    // rss alone: the database is biggest
    expect(mine.victim).toBe('database');
    expect(mine.composition.oom).toBe('largest-rss');
  });
});
