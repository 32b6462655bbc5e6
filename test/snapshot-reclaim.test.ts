// Snapshot and restore in the middle of reclaim and compaction: page owners
// are contributions (PAGE_OWNER) whose state is part of the simulator, so a
// snapshot can be taken at any point of a workload and the restored
// simulator continues exactly as the original does.
import {
  createSimulator, definePlugin, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, inject, injectable, type Lazy, lazy, Lifecycle, PAGE_ALLOCATOR,
  PAGE_OWNER, type PageAllocator, PageOwner, type PageOwnerOps, Random, RECLAIM_POLICY, type ReclaimPolicy, type Simulator, VMSTAT, type VmStat,
  MEMORY_MODEL, type MemoryModel,
} from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';

/** The file pages of a simulated page cache: its state is a Set the snapshot carries. */
@injectable()
class PageCache implements PageOwnerOps {
  readonly name = 'test-page-cache';
  readonly kind = PageOwner.PAGE_CACHE;
  readonly pages = new Set<number>();
  evicted = 0;
  constructor(
    @inject(lazy(PAGE_ALLOCATOR)) private readonly pa: Lazy<PageAllocator>,
    @inject(lazy(RECLAIM_POLICY)) private readonly lru: Lazy<ReclaimPolicy>,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(VMSTAT) private readonly vmstat: VmStat,
  ) {}
  /** A page read into the cache. */
  add(pfn: number): void {
    this.memory.pages.ownerKind[this.memory.pfnToPage(pfn)] = PageOwner.PAGE_CACHE;
    this.pages.add(pfn);
    this.lru().pageAdded(pfn, false);
    this.vmstat.node.nr_file_pages!++;
  }
  /** A page dropped by its user (truncate). */
  drop(pfn: number): void {
    this.pages.delete(pfn);
    this.lru().pageRemoved(pfn);
    this.pa().freePages(pfn, 0);
    this.vmstat.node.nr_file_pages!--;
  }
  evict(pfn: number): boolean {
    if (!this.pages.delete(pfn)) return false;
    this.pa().freePages(pfn, 0);
    this.vmstat.node.nr_file_pages!--;
    this.evicted++;
    return true;
  }
  migrate(oldPfn: number, newPfn: number): void {
    if (this.pages.delete(oldPfn)) this.pages.add(newPfn);
  }
}

const pageCachePlugin = definePlugin({
  name: 'test-page-cache',
  provides: PAGE_OWNER,
  apiVersion: '1',
  register(c) {
    c.register(PAGE_OWNER, { useClass: PageCache }, { lifecycle: Lifecycle.ContainerScoped });
  },
});

const config = { machine: { memory: '64M', cpus: 2 }, extraPlugins: [pageCachePlugin], seed: 5 };

const cacheOf = (sim: Simulator) => sim.container.resolveAll(PAGE_OWNER).find((o): o is PageCache => o instanceof PageCache)!;

/** One step of the workload: reads into the cache, drops, and high-order kernel allocations (compaction). */
function step(sim: Simulator, r: Random, held: number[][]): void {
  const cache = cacheOf(sim);
  const op = r.below(10);
  if (op < 6) {
    const pfn = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0, { cpu: r.below(2) });
    if (pfn !== null) cache.add(pfn);
  } else if (op < 8 && cache.pages.size > 0) {
    const pages = [...cache.pages];
    cache.drop(pages[r.below(pages.length)]!);
  } else if (op === 8) {
    const pfn = sim.pages.allocPages(GFP_KERNEL, 3, { cpu: r.below(2) });
    if (pfn !== null) held.push([pfn, 3]);
  } else if (held.length > 0) {
    const [pfn, order] = held.splice(r.below(held.length), 1)[0]!;
    sim.pages.freePages(pfn!, order!);
  }
}

/** What must match: the views, the vm counters, the owner's state. */
const state = (sim: Simulator) => [
  sim.proc('buddyinfo'), sim.proc('vmstat'), sim.proc('meminfo'), sim.proc('zoneinfo'), sim.proc('pagetypeinfo'),
  JSON.stringify([...cacheOf(sim).pages].sort((a, b) => a - b)), String(cacheOf(sim).evicted),
].join('\n');

describe('snapshot/restore in the middle of reclaim and compaction', () => {
  it('a snapshot taken while reclaim and compaction are under way continues exactly as the original', async () => {
    const a = await createSimulator(config);
    const r = new Random(11);
    const held: number[][] = [];
    // run until reclaim and compaction have both happened and the cache keeps the machine full
    let i = 0;
    for (; i < 200_000; i++) {
      step(a, r, held);
      const ev = a.proc('vmstat');
      if (i % 500 === 0 && /pgsteal_(kswapd|direct) [1-9]/.test(ev) && /compact_(stall|daemon_wake) [1-9]/.test(ev) && cacheOf(a).evicted > 100) break;
    }
    expect(i, 'reclaim and compaction never both ran').toBeLessThan(200_000);
    expect(cacheOf(a).evicted).toBeGreaterThan(100);

    const snap = JSON.parse(JSON.stringify(a.snapshot()));
    const b = await createSimulator({ ...config, restore: snap });
    expect(state(b)).toBe(state(a));
    b.check();

    // the same future on both: the same reclaim, the same compaction, the same events
    const ra = new Random(99);
    const rb = new Random(99);
    const heldB = held.map((h) => [...h]);
    const evA: string[] = [];
    const evB: string[] = [];
    for (const [sim, out] of [[a, evA], [b, evB]] as const) {
      sim.events.on('mm_vmscan_kswapd_wake', (e) => out.push(`kswapd_wake ${e.nid} ${e.order}`));
      sim.events.on('mm_vmscan_direct_reclaim_end', (e) => out.push(`direct ${e.nr_reclaimed}`));
      sim.events.on('mm_compaction_end', (e) => out.push(`compaction ${e.status}`));
    }
    const before = cacheOf(a).evicted;
    for (let j = 0; j < 20_000; j++) {
      step(a, ra, held);
      step(b, rb, heldB);
    }
    expect(cacheOf(a).evicted, 'reclaim kept running after the snapshot').toBeGreaterThan(before);
    expect(evA.length).toBeGreaterThan(0);
    expect(evB).toEqual(evA);
    expect(state(b)).toBe(state(a));
    a.check();
    b.check();
    a.dispose();
    b.dispose();
  });
});
