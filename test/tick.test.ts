// Simulator.tick on the default composition: the daemons' periodic work runs on the simulated clock.
import { createSimulator } from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';

describe('Simulator.tick', () => {
  it('advances the simulated clock and runs the daemons due; bad input is refused', async () => {
    const sim = await createSimulator({ machine: { memory: '256M', cpus: 2 } });
    const names = sim.timers.pending().map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['kcompactd0', 'vmstat_update']));
    expect(sim.tick(1000)).toBe(3); // kcompactd at 500 and 1000 ms, vmstat_update at 1 s
    expect(sim.clock.now()).toBe(1e9);
    expect(() => sim.tick(-5)).toThrowError(/EINVAL|milliseconds/);
    expect(() => sim.tick(Number.POSITIVE_INFINITY)).toThrowError(/milliseconds/);
    expect(sim.clock.now()).toBe(1e9);
    sim.dispose();
  });
});
