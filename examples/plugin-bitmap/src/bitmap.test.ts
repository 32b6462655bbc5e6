import { createSimulator, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, MAP_NORESERVE, PageOwner, runDefaultWorkload } from '@mmsim/defconfig';
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

describe('mmsim-plugin-bitmap gets reclaim and the OOM killer (services, not its own code)', () => {
  it('a workload that needs reclaim: page cache is evicted through its owner, then the OOM killer frees a hog', async () => {
    const sim = await createSimulator({ machine: { memory: '64M', cpus: 1 }, plugins: { pageAllocator: 'mmsim-plugin-bitmap' }, seed: 3 });
    const t = sim.memory.pages;
    const cache = new Set<number>();
    let evicted = 0;
    // the page cache's owner: reclaim hands it the victims the LRU policy picks
    sim.pageOwners.register({
      name: 'test-page-cache', kind: PageOwner.PAGE_CACHE,
      evict: (pfn) => {
        if (!cache.delete(pfn)) return false;
        sim.pages.freePages(pfn, 0);
        sim.vmstat.node.nr_file_pages!--;
        evicted++;
        return true;
      },
    });
    const own = (pfn: number, kind: PageOwner) => {
      t.ownerKind[sim.memory.pfnToPage(pfn)] = kind;
    };
    const managed = sim.topology.totalManagedPages;
    // 1. read twice the machine's memory through the page cache: only reclaim makes that fit
    for (let i = 0; i < 2 * managed; i++) {
      const pfn = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0);
      expect(pfn, `page cache read ${i} of ${2 * managed}`).not.toBeNull();
      own(pfn!, PageOwner.PAGE_CACHE);
      cache.add(pfn!);
      sim.reclaim.pageAdded(pfn!, false);
      sim.vmstat.node.nr_file_pages!++;
    }
    expect(evicted).toBeGreaterThan(managed / 2);
    const ev = sim.vmstat.events;
    expect((ev.pgsteal_kswapd ?? 0) + (ev.pgsteal_direct ?? 0)).toBe(evicted);
    sim.check();

    // 2. a task's anonymous memory (no swap): once the cache is gone, only the OOM killer can help
    sim.processes.spawn({ comm: 'init' }); // pid 1 is never the OOM killer's victim
    const hog = sim.processes.spawn({ comm: 'hog' });
    const len = 2 * managed * 4096;
    const addr = sim.processes.mmap(hog.pid, len, { flags: MAP_NORESERVE }); // more than RAM: not accounted
    expect(addr).toBeGreaterThan(0);
    const victims: string[] = [];
    sim.events.on('mark_victim', (e) => victims.push(e.comm));
    // write until memory runs out: the OOM killer picks the hog, which dies and gives its memory back
    const r = sim.processes.touch(hog.pid, addr, len, { write: true });
    expect(r.killed).toBe('OOM');
    expect(r.minor).toBeGreaterThan(managed / 2);
    expect(sim.tasks.has(hog.pid)).toBe(false);
    expect(victims).toEqual(['hog']);
    expect(sim.vmstat.events.oom_kill).toBe(1);
    expect(cache.size, 'the page cache went first').toBeLessThan(managed / 8);
    sim.check();
    sim.dispose();
  });
});
