import {
  createSimulator, definePlugin, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, PAGE_OWNER, PageOwner, type PageOwnerOps,
  PG_lru, type Simulator,
} from '@mmsim/defconfig';
import processLayer from '@mmsim/process';
import { expectCode } from '@mmsim/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { PageOwnerRegistry } from './migrate.js';

let sim: Simulator;
afterEach(() => sim?.dispose());

// the registry on its own: the process layer without its own page owners (of anon and page-cache pages)
const machine = {
  machine: { memory: '128M', cpus: 1 },
  services: ['mm', ...processLayer.filter((m) => m.provides !== PAGE_OWNER), 'debug'],
};

/** `n` movable pages marked as owned by `kind`. */
function owned(kind: PageOwner, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const pfn = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] = kind;
    out.push(pfn);
  }
  return out;
}

describe('PAGE_OWNERS (mm/migrate.c)', () => {
  it('is the registry of @mmsim/mm', async () => {
    sim = await createSimulator(machine);
    expect(sim.pageOwners).toBeInstanceOf(PageOwnerRegistry);
  });

  it('owners of one kind compose: every one is told of a migration, in order; evict and describe are first-wins', async () => {
    sim = await createSimulator(machine);
    const told: string[] = [];
    const evictAsked: string[] = [];
    const a: PageOwnerOps = {
      name: 'a', kind: PageOwner.ANON,
      migrate: (o, n) => told.push(`a ${o}->${n}`),
      evict: (pfn) => {
        evictAsked.push(`a ${pfn}`);
        return false; // keeps it: the next owner is asked
      },
      describe: () => undefined,
    };
    const b: PageOwnerOps = {
      name: 'b', kind: PageOwner.ANON,
      migrate: (o, n) => told.push(`b ${o}->${n}`),
      evict: (pfn) => {
        evictAsked.push(`b ${pfn}`);
        sim.pages.freePages(pfn, 0);
        return true;
      },
      describe: (pfn) => `b's page ${pfn}`,
    };
    const c: PageOwnerOps = {
      name: 'c', kind: PageOwner.ANON,
      evict: (pfn) => {
        evictAsked.push(`c ${pfn}`);
        return true;
      },
      describe: (pfn) => `c's page ${pfn}`,
    };
    const offs = [a, b, c].map((o) => sim.pageOwners.register(o));
    const [src] = owned(PageOwner.ANON, 1);
    const dst = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    expect(sim.pageOwners.isMovable(src!)).toBe(true);
    const before = sim.vmstat.events.pgmigrate_success ?? 0;
    sim.pageOwners.migratePage(src!, dst);
    expect(told).toEqual([`a ${src}->${dst}`, `b ${src}->${dst}`]); // c has no migrate hook: not told
    expect(sim.vmstat.events.pgmigrate_success).toBe(before + 1);
    expect(sim.memory.pages.ownerKind[sim.memory.pfnToPage(dst)]).toBe(PageOwner.ANON);
    sim.pages.freePages(src!, 0);
    expect(sim.pageOwners.describe(dst)).toBe(`b's page ${dst}`);
    expect(sim.pageOwners.canEvict()).toBe(true);
    expect(sim.pageOwners.evict(dst)).toBe(true);
    expect(evictAsked).toEqual([`a ${dst}`, `b ${dst}`]); // b gave it up: c is not asked
    // a kind nobody owns: not movable, nothing to evict or describe
    const k = sim.pages.allocPages(GFP_KERNEL, 0)!;
    expect(sim.pageOwners.isMovable(k)).toBe(false);
    expect(sim.pageOwners.evict(k)).toBe(false);
    expect(sim.pageOwners.describe(k)).toBeUndefined();
    for (const off of offs) off();
    expect(sim.pageOwners.canEvict()).toBe(false);
    sim.check();
  });

  it('a kind is movable while an owner of it has a migrate hook', async () => {
    sim = await createSimulator(machine);
    const [p] = owned(PageOwner.PAGE_CACHE, 1);
    expect(sim.pageOwners.isMovable(p!)).toBe(false);
    const offEvict = sim.pageOwners.register({ name: 'evict-only', kind: PageOwner.PAGE_CACHE, evict: () => false });
    expect(sim.pageOwners.isMovable(p!)).toBe(false);
    const off = sim.pageOwners.register({ name: 'mover', kind: PageOwner.PAGE_CACHE, migrate: () => {} });
    expect(sim.pageOwners.isMovable(p!)).toBe(true);
    off();
    off(); // a second call does nothing
    expect(sim.pageOwners.isMovable(p!)).toBe(false);
    offEvict();
  });

  it('refuses (EINVAL, nothing registered) the same owner twice, an owner without a hook, and one without a name', async () => {
    sim = await createSimulator(machine);
    const o: PageOwnerOps = { name: 'twice', kind: PageOwner.SLAB, migrate: () => {} };
    const off = sim.pageOwners.register(o);
    expectCode(() => sim.pageOwners.register(o), 'EINVAL');
    expectCode(() => sim.pageOwners.register({ name: 'idle', kind: PageOwner.ANON }), 'EINVAL');
    expectCode(() => sim.pageOwners.register({ name: '', kind: PageOwner.ANON, evict: () => true }), 'EINVAL');
    expectCode(() => sim.pageOwners.register({ name: 'bad', kind: PageOwner.ANON, evict: 1 as never }), 'EINVAL');
    expect(sim.pageOwners.canEvict()).toBe(false);
    off();
    // once unregistered, the same object may come back
    expect(() => sim.pageOwners.register(o)()).not.toThrow();
  });

  it('collects owners contributed under PAGE_OWNER before the ones registered at run time', async () => {
    const moves: string[] = [];
    const contributed = definePlugin({
      name: 'anon-owner', provides: PAGE_OWNER, apiVersion: '1',
      register(c) {
        c.register(PAGE_OWNER, { useValue: { name: 'contributed', kind: PageOwner.ANON, migrate: (o: number, n: number) => moves.push(`contributed ${o}->${n}`) } });
      },
    });
    sim = await createSimulator({ ...machine, extraPlugins: [contributed] });
    const [p] = owned(PageOwner.ANON, 1);
    expect(sim.pageOwners.isMovable(p!)).toBe(true);
    sim.pageOwners.register({ name: 'runtime', kind: PageOwner.ANON, migrate: (o, n) => moves.push(`runtime ${o}->${n}`) });
    const dst = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    sim.pageOwners.migratePage(p!, dst);
    expect(moves).toEqual([`contributed ${p}->${dst}`, `runtime ${p}->${dst}`]);
  });

  it('migrates an LRU page: its place on the list follows it', async () => {
    sim = await createSimulator(machine);
    sim.pageOwners.register({ name: 'cache', kind: PageOwner.PAGE_CACHE, migrate: () => {} });
    const [p] = owned(PageOwner.PAGE_CACHE, 1);
    sim.reclaim.pageAdded(p!, false);
    const dst = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    sim.pageOwners.migratePage(p!, dst);
    const t = sim.memory.pages;
    expect(t.flags[sim.memory.pfnToPage(dst)]! & PG_lru).toBeTruthy();
    expect(t.flags[sim.memory.pfnToPage(p!)]! & PG_lru).toBe(0);
    sim.pages.freePages(p!, 0);
    sim.check();
  });
});
