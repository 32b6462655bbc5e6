import { createSimulator, GFP_KERNEL, runDefaultWorkload } from '@mmsim/defconfig';
import { pageAllocatorConformance } from '@mmsim/testkit';
import { describe, expect, it } from 'vitest';

// loaded by its npm package name, exactly as a user's config would name it
pageAllocatorConformance({ name: 'mmsim-plugin-bitmap', plugin: 'mmsim-plugin-bitmap' });

describe('mmsim-plugin-bitmap', () => {
  it('loads by package name and runs the default workload beside the built-ins', async () => {
    const sim = await createSimulator({ machine: { memory: '256M', cpus: 2 }, plugins: { pageAllocator: 'mmsim-plugin-bitmap' } });
    expect(sim.composition.pageAllocator).toBe('bitmap');
    runDefaultWorkload(sim, { ops: 3000 });
    expect(sim.pages.allocPages(GFP_KERNEL, 3)).not.toBeNull();
    sim.check();
    sim.dispose();
  });
});
