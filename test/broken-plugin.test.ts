// A deliberately broken page allocator is caught by the invariant checker
// and by the property tests, which shrink to a minimal failing sequence.
import { createSimulator, isMmsimError, runDefaultWorkload, type PluginManifest } from '@mmsim/defconfig';
import { checkOpSequences, pageAllocatorModel, type PageOp } from '@mmsim/testkit';
import { describe, expect, it } from 'vitest';
import { doubleListBuddy, lossyBuddy, quietLeakBuddy } from './fixtures/broken-buddy.js';

const create = (p: PluginManifest) => () => createSimulator({ machine: { memory: '64M', cpus: 2 }, plugins: { pageAllocator: p } });

/** Runs the default workload with sim.check() after every operation; returns the error (or null) and when it came. */
async function workloadWithChecker(p: PluginManifest, every = 1): Promise<{ err: unknown; at: number }> {
  const sim = await create(p)();
  let at = 0;
  try {
    runDefaultWorkload(sim, {
      ops: 3000,
      afterOp: (n) => {
        at = n;
        if (n % every === 0) sim.check();
      },
    });
    return { err: null, at };
  } catch (e) {
    return { err: e, at };
  } finally {
    sim.dispose();
  }
}

describe('a broken page allocator', () => {
  it('that loses freed blocks: the checker names the lost pfn right after the bad free', async () => {
    const { err, at } = await workloadWithChecker(lossyBuddy);
    expect(isMmsimError(err, 'ECORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(/pfn \d+ .*neither free nor allocated.*the page is lost/);
    expect(at).toBeGreaterThan(0);
  });

  it('that lists a page twice: the checker names the page', async () => {
    const { err } = await workloadWithChecker(doubleListBuddy);
    expect(isMmsimError(err, 'ECORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(/pfn \d+ .*listed twice/);
  });

  it('the property tests catch both and shrink to one allocation of the bad order', async () => {
    for (const [p, order] of [[lossyBuddy, 3], [doubleListBuddy, 1]] as const) {
      const d = await checkOpSequences(create(p), pageAllocatorModel);
      expect(d.failed, `${p.name}: property must fail`).toBe(true);
      const [ops] = d.counterexample! as [PageOp[]];
      expect(ops, `${p.name}: minimal counterexample`).toEqual([{ k: 'alloc', order, gfp: 0, cpu: 0 }]);
      expect(String((d.errorInstance as Error).message)).toMatch(/ECORRUPT/);
    }
  });

  it('that keeps freed blocks: every invariant holds, only "free everything, back to the boot state" catches it', async () => {
    const { err } = await workloadWithChecker(quietLeakBuddy, 10);
    expect(err).toBeNull();
    const d = await checkOpSequences(create(quietLeakBuddy), pageAllocatorModel);
    expect(d.failed).toBe(true);
    expect(d.counterexample![0]).toEqual([{ k: 'alloc', order: 2, gfp: 0, cpu: 0 }]);
    expect(String((d.errorInstance as Error).message)).toMatch(/differs from the boot state/);
  });
});
