import { describe, expect, it } from 'vitest';
import { createSimulator } from '@mmsim/defconfig';
import { freeBlocksOfOrder, runMobilityWorkload } from './workload.js';

describe('runMobilityWorkload', () => {
  it('draws the same requests for one seed and holds both kinds of pages until told', async () => {
    const run = async () => {
      const sim = await createSimulator({ machine: { memory: '128M', cpus: 1 }, seed: 5 });
      const w = runMobilityWorkload(sim, { ops: 20_000, seed: 7, fill: 0.5 });
      const held = w.kernel.reduce((s, [, o]) => s + (1 << o), 0) + w.user.length;
      expect(held).toBeLessThanOrEqual(Math.floor(sim.topology.totalManagedPages * 0.5) + 4);
      expect(w.kernel.length).toBeGreaterThan(0);
      expect(w.user.length).toBeGreaterThan(w.kernel.length);
      const before = sim.proc('buddyinfo');
      w.releaseUser();
      expect(w.user).toEqual([]);
      sim.check();
      const out = [before, w.kernel.join(';'), sim.proc('buddyinfo')].join('\n');
      sim.dispose();
      return out;
    };
    expect(await run()).toBe(await run());
  });

  it('refuses a bad count or fill before it allocates anything', async () => {
    const sim = await createSimulator({ machine: { memory: '128M', cpus: 1 } });
    const free = sim.topology.populatedZones.map((z) => z.stats.nrFreePages).join();
    expect(() => runMobilityWorkload(sim, { ops: -1 })).toThrowError(/EINVAL|ops/);
    expect(() => runMobilityWorkload(sim, { fill: 1.5 })).toThrowError(/fill/);
    expect(sim.topology.populatedZones.map((z) => z.stats.nrFreePages).join()).toBe(free);
    sim.dispose();
  });
});

describe('freeBlocksOfOrder', () => {
  it('counts larger free blocks in units of the order, pcp lists drained first', async () => {
    const sim = await createSimulator({ machine: { memory: '128M', cpus: 1 } });
    const by = (o: number) => sim.topology.populatedZones.reduce((s, z) => s + sim.pages.freeBlocks(z, o), 0);
    const pfn = sim.pages.allocPages(0xcc0, 0)!; // GFP_KERNEL, order 0: an order-10 block is split
    sim.pages.freePages(pfn, 0); // onto the pcp list, not yet merged back
    const n9 = freeBlocksOfOrder(sim, 9);
    expect(n9).toBe(by(9) + 2 * by(10));
    expect(freeBlocksOfOrder(sim, 10)).toBe(by(10));
    expect(freeBlocksOfOrder(sim, 0)).toBe(sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages, 0));
    expect(() => freeBlocksOfOrder(sim, 11)).toThrowError(/EBAD_ORDER|order 11/);
    expect(() => freeBlocksOfOrder(sim, 1.5)).toThrowError(/order/);
    sim.dispose();
  });
});
