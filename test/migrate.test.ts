import { createSimulator, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, LruList, PageOwner, PG_lru, runDefaultWorkload, isMmsimError } from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';

describe('page migration (Kernel.migratePage)', () => {
  it('moves an LRU page: flags, list position and owner follow, the old page is freeable', async () => {
    const sim = await createSimulator({ machine: { memory: '256M', cpus: 1 } });
    const t = sim.memory.pages;
    const owned = new Map<number, string>();
    sim.pageOwners.register({ name: 'test', kind: PageOwner.PAGE_CACHE, migrate: (o, n) => {
      owned.set(n, owned.get(o)!);
      owned.delete(o);
    } });
    const a = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    const b = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    const c = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    for (const p of [a, b, c]) {
      t.ownerKind[sim.memory.pfnToPage(p)] = PageOwner.PAGE_CACHE;
      sim.reclaim.pageAdded(p, false);
      owned.set(p, `file@${p}`);
    }
    const dst = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    expect(sim.pageOwners.isMovable(b)).toBe(true);
    expect(sim.pageOwners.isMovable(dst)).toBe(false);
    sim.pageOwners.migratePage(b, dst);
    expect(owned.get(dst)).toBe(`file@${b}`);
    expect(owned.has(b)).toBe(false);
    expect(t.flags[sim.memory.pfnToPage(dst)]! & PG_lru).toBeTruthy();
    expect(t.flags[sim.memory.pfnToPage(b)]! & PG_lru).toBe(0);
    expect(sim.reclaim.lruSizes(0)[LruList.INACTIVE_FILE]).toBe(3);
    sim.pages.freePages(b, 0);
    sim.check();
    // not movable: a kernel page; the state stays
    const k = sim.pages.allocPages(GFP_KERNEL, 0)!;
    const d2 = sim.pages.allocPages(GFP_KERNEL, 0)!;
    try {
      sim.pageOwners.migratePage(k, d2);
      expect.unreachable();
    } catch (e) {
      expect(isMmsimError(e, 'EINVAL')).toBe(true);
    }
    sim.check();
    sim.dispose();
  });

  it('the default workload lets its user pages be migrated while it runs and unregisters after', async () => {
    const sim = await createSimulator({ machine: { memory: '256M', cpus: 1 } });
    runDefaultWorkload(sim, { ops: 2000 });
    expect(() => sim.pageOwners.register({ name: 'test', kind: PageOwner.ANON, migrate: () => {} })).not.toThrow();
    sim.dispose();
  });
});
