/**
 * The process layer composed with the default plugins (core's
 * createSimulator, not the whole distribution), and the helpers the other
 * tests of this package share. Until the SWAP service is registered in this
 * package, a swap space with no device stands in so the composition boots.
 */
import { describe, expect, it } from 'vitest';
import { createSimulator, definePlugin, injectable, Lifecycle, type PluginManifest, type Simulator, SWAP, type SwapSpace } from '@mmsim/core';
import { layoutMachine } from '@mmsim/machine';
import processManifests from './index.js';

@injectable()
class NoSwap implements SwapSpace {
  total = 0;
  free = 0;
  swapon(): number {
    return -22;
  }
  swapoff(): number {
    return -22;
  }
  devices(): [] {
    return [];
  }
  getSwapPage(): number {
    return -1;
  }
  swapDuplicate(): void {}
  swapFree(): void {}
  swapCount(): number {
    return 0;
  }
  lookupSwapCache(): number {
    return -1;
  }
  addToSwapCache(): void {}
  deleteFromSwapCache(): void {}
  pageSwapEntry(): number {
    return -1;
  }
  writePage(): void {}
  readPage(): void {}
  swapType(): number {
    return -1;
  }
}
const noSwap: PluginManifest = definePlugin({
  name: 'noswap', provides: SWAP, apiVersion: '1',
  register: (c) => c.register(SWAP, { useClass: NoSwap }, { lifecycle: Lifecycle.ContainerScoped }),
});

/** True once this package provides SWAP itself. */
export const HAVE_SWAP = processManifests.some((m) => m.provides === SWAP);

/**
 * The default composition (flatmem, buddy, slub, lru, oom-linux; mm,
 * process, debug) composed with core's createSimulator, so these tests do
 * not load the whole distribution.
 */
export function processSim(config: Record<string, unknown> = {}): Promise<Simulator> {
  const services = HAVE_SWAP ? ['mm', 'process', 'debug'] : ['mm', noSwap, 'process', 'debug'];
  return createSimulator({ machine: { memory: '1G' }, ...config, services } as never, {
    plugins: {
      flatmem: () => import('@mmsim/plugin-flatmem'),
      buddy: () => import('@mmsim/plugin-buddy'),
      slub: () => import('@mmsim/plugin-slub'),
      lru: () => import('@mmsim/plugin-lru'),
      'oom-linux': () => import('@mmsim/plugin-oom-linux'),
      mm: () => import('@mmsim/mm'),
      process: () => import('./index.js'),
      debug: () => import('@mmsim/debug'),
    },
    defaults: { memoryModel: 'flatmem', pageAllocator: 'buddy', slab: 'slub', reclaim: 'lru', oom: 'oom-linux' },
    layoutMachine,
  });
}

/** Free pages of every zone after the per-CPU lists are drained. */
export function freePages(sim: Simulator): number {
  sim.pages.drainAllPages();
  return sim.topology.zones.reduce((s, z) => s + z.stats.nrFreePages, 0);
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

describe('the process layer in a composition', () => {
  it('provides TASKS, PROCESSES, the ANON page owner and the process-rmap check', async () => {
    const sim = await processSim();
    expect(sim.tasks.all()).toEqual([]);
    expect(typeof sim.processes.spawn).toBe('function');
    const t = sim.processes.spawn({ comm: 'init' });
    expect(sim.tasks.get(t.pid)).toBe(t);
    expect(sim.pageOwners.canEvict()).toBe(true);
    expect(processManifests.map((m) => m.name)).toEqual(expect.arrayContaining(['tasks', 'processes', 'anon-owner', 'process-checks']));
    sim.check();
  });
});
