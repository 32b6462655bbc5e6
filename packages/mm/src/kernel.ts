/**
 * The kernel object of one simulator: lazy access to every extension point
 * (for paths that cross points, such as the allocator's slow path calling
 * reclaim and the OOM killer), the task table and out_of_memory().
 * @module
 */
import type { DependencyContainer } from 'tsyringe';
import type { EventBus } from './events.js';
import type { SimClock } from './clock.js';
import type { MemoryModel } from './memory-model.js';
import type { OomControl, OomScorer, Task } from './oom.js';
import type { PageAllocator } from './page-allocator.js';
import type { ReclaimPolicy } from './reclaim.js';
import type { Shrinker, SlabAllocator } from './slab-allocator.js';
import type { Sysctl } from './sysctl.js';
import { TaskTable } from './tasks.js';
import { DelayedWorkQueue } from './timer.js';
import { MmsimError } from './errors.js';
import { PageOwner, PG_lru, PG_reserved } from './page.js';
import { Percpu } from './percpu.js';
import { Vmalloc } from './vmalloc.js';
import { DEF_PRIORITY, type ScanControl } from './reclaim.js';

/** Told when one of its pages moved: update every reference from oldPfn to newPfn. */
export type PageMoveHandler = (oldPfn: number, newPfn: number) => void;
/**
 * Told that reclaim picked one of its pages (already off the LRU): drop every
 * reference, free the page and return true, or return false to keep it (it
 * goes back on the LRU).
 */
export type PageEvictHandler = (pfn: number) => boolean;
import { CLOCK, MEMORY_MODEL, OOM_SCORER, PAGE_ALLOCATOR, RECLAIM_POLICY, SHRINKER, SLAB_ALLOCATOR } from './tokens.js';
import type { Topology } from './topology.js';

/** Shared state and cross-point paths of one simulator. */
export class Kernel {
  readonly tasks = new TaskTable();
  /** vmstat event counters that cross mechanisms (oom_kill, ...), by kernel name. */
  readonly vmEvents: Record<string, number> = { oom_kill: 0 };
  /**
   * Node-stat counters in pages, by /proc/vmstat name (nr_anon_pages,
   * nr_file_pages, nr_shmem, nr_mapped, nr_dirty, nr_writeback,
   * nr_page_table_pages, nr_vmalloc, nr_swapcached; nr_kernel_stack in kB).
   * Whoever owns such pages keeps these current.
   */
  readonly vmstat: Record<string, number> = {
    nr_anon_pages: 0, nr_mapped: 0, nr_file_pages: 0, nr_dirty: 0, nr_writeback: 0, nr_shmem: 0,
    nr_kernel_stack: 0, nr_page_table_pages: 0, nr_vmalloc: 0, nr_swapcached: 0, nr_mlock: 0,
    nr_percpu: 0, nr_committed: 0,
  };
  /** Swap space, pages (total_swap_pages / nr_swap_pages). */
  readonly swap = { total: 0, free: 0 };
  /** The kernel version whose formulas apply (the config's `kernel`, e.g. '6.12'). */
  version = '6.12';
  /** Periodic work of the simulated daemons (kcompactd, the vmstat worker), run by Simulator.tick(). */
  readonly timers = new DelayedWorkQueue(() => this.clock);

  constructor(
    private readonly container: DependencyContainer,
    readonly topology: Topology,
    readonly sysctl: Sysctl,
    readonly events: EventBus,
  ) {}

  /** The simulated clock (mechanisms that model a cost advance it). */
  get clock(): SimClock {
    return this.container.resolve<SimClock>(CLOCK);
  }
  get memory(): MemoryModel {
    return this.container.resolve<MemoryModel>(MEMORY_MODEL);
  }
  get pages(): PageAllocator {
    return this.container.resolve<PageAllocator>(PAGE_ALLOCATOR);
  }
  get slab(): SlabAllocator {
    return this.container.resolve<SlabAllocator>(SLAB_ALLOCATOR);
  }
  get reclaim(): ReclaimPolicy {
    return this.container.resolve<ReclaimPolicy>(RECLAIM_POLICY);
  }
  get oom(): OomScorer {
    return this.container.resolve<OomScorer>(OOM_SCORER);
  }
  private vmallocState?: Vmalloc;
  private percpuState?: Percpu;
  /** vmalloc / vfree over the page allocator (created on first use). */
  get vmalloc(): Vmalloc {
    return (this.vmallocState ??= new Vmalloc(this));
  }
  /** alloc_percpu / free_percpu (created on first use). */
  get percpu(): Percpu {
    return (this.percpuState ??= new Percpu(this));
  }
  /** Invariants of the core's own allocators (vmalloc, percpu), when they were used. */
  checkCoreAllocators(): void {
    this.vmallocState?.check();
    this.percpuState?.check();
  }

  /** Every registered shrinker, in registration order. */
  shrinkers(): Shrinker[] {
    return this.container.isRegistered(SHRINKER, true) ? this.container.resolveAll<Shrinker>(SHRINKER) : [];
  }

  private readonly movers = new Map<PageOwner, PageMoveHandler>();

  /**
   * Registers the owner of a kind of page (anon memory, page cache, ...) as
   * able to follow its pages to a new pfn — what a_ops->migrate_folio is to
   * an address_space. Pages whose owner kind has a mover are movable
   * (compaction, memory offlining). Returns an unregister function.
   */
  registerMover(kind: PageOwner, fn: PageMoveHandler): () => void {
    if (this.movers.has(kind)) throw new MmsimError('EINVAL', `a mover for owner kind ${PageOwner[kind]} is already registered`);
    this.movers.set(kind, fn);
    return () => {
      if (this.movers.get(kind) === fn) this.movers.delete(kind);
    };
  }

  private readonly evictors = new Map<PageOwner, PageEvictHandler>();

  /**
   * Registers the owner of a kind of page as able to give one up when
   * reclaim picks it (what pageout()/remove_mapping() do for an
   * address_space). Victims of owner kinds without an evictor go back on
   * the LRU. Returns an unregister function.
   */
  registerEvictor(kind: PageOwner, fn: PageEvictHandler): () => void {
    if (this.evictors.has(kind)) throw new MmsimError('EINVAL', `an evictor for owner kind ${PageOwner[kind]} is already registered`);
    this.evictors.set(kind, fn);
    return () => {
      if (this.evictors.get(kind) === fn) this.evictors.delete(kind);
    };
  }

  /** Free pages (buddy + per-CPU lists) of node `nid`. */
  private nodeFreePages(nid: number): number {
    const node = this.topology.nodes[nid];
    if (!node) return 0;
    const pa = this.pages;
    let n = 0;
    for (const z of node.zones) if (z.populated) n += z.stats.nrFreePages + pa.pcpPages(z);
    return n;
  }

  /**
   * shrink_node() driven as do_try_to_free_pages() drives it: from
   * sc.priority (normally DEF_PRIORITY) down to 0 until sc.nrToReclaim pages
   * are freed. Each round asks the reclaim policy for victims on node sc.nid
   * and hands each to its owner's evictor (victims without one, or kept,
   * go back with putback; with no evictor registered at all the policy is
   * not asked), then runs the shrinkers (shrink_slab) with
   * freeable >> priority × 2 objects to scan. Stops after `minPriority`
   * (0: all the way). Returns the pages freed, which are also added to
   * sc.nrReclaimed; sc.priority is left at the last priority used.
   */
  shrinkNode(sc: ScanControl, minPriority = 0): number {
    const policy = this.reclaim;
    const t = this.memory.pages;
    let freed = 0;
    const start = Math.min(sc.priority, DEF_PRIORITY);
    for (let prio = start; prio >= Math.max(0, minPriority) && freed < sc.nrToReclaim; prio--) {
      sc.priority = prio;
      // with no evictor registered no page can be given up: leave the LRU alone
      const pass: ScanControl = { ...sc, nrToReclaim: sc.nrToReclaim - freed, nrScanned: 0, nrReclaimed: 0 };
      const victims = this.evictors.size > 0 ? policy.shrink(pass) : [];
      sc.nrScanned += pass.nrScanned;
      for (const pfn of victims) {
        const page = this.memory.pfnToPage(pfn);
        const evict = page >= 0 ? this.evictors.get(t.ownerKind[page]!) : undefined;
        if (evict && evict(pfn)) freed++;
        else policy.putback(pfn);
      }
      const shrinkers = this.shrinkers();
      if (shrinkers.length > 0) {
        const before = this.nodeFreePages(sc.nid);
        for (const s of shrinkers) {
          const freeable = s.countObjects(sc.nid);
          if (freeable <= 0) continue;
          // do_shrink_slab(): delta = (freeable >> priority) * 4 / DEFAULT_SEEKS
          const nrToScan = Math.min(freeable, Math.max(1, Math.floor(freeable / 2 ** prio) * 2));
          if (this.events.enabled.mm_shrink_slab_start) {
            this.events.emit('mm_shrink_slab_start', { name: s.name, nr_objects_to_shrink: 0, cache_items: freeable, delta: nrToScan, total_scan: nrToScan, priority: prio });
          }
          const ret = s.scanObjects(sc.nid, nrToScan);
          this.vmEvents.slabs_scanned = (this.vmEvents.slabs_scanned ?? 0) + nrToScan;
          if (this.events.enabled.mm_shrink_slab_end) {
            this.events.emit('mm_shrink_slab_end', { name: s.name, unused_scan: 0, new_scan: 0, retval: ret, total_scan: nrToScan });
          }
        }
        freed += Math.max(0, this.nodeFreePages(sc.nid) - before);
      }
    }
    sc.nrReclaimed += freed;
    return freed;
  }

  /** Can the allocated block at `pfn` be migrated (its owner has a mover, nobody else holds it)? */
  isMovable(pfn: number): boolean {
    const m = this.memory;
    const page = m.pfnToPage(pfn);
    if (page < 0) return false;
    const t = m.pages;
    return t.refcount[page] === 1 && this.movers.has(t.ownerKind[page]!) && !(t.flags[page]! & PG_reserved);
  }

  /**
   * migrate_pages() for one block: `dst` (a block of the same order the
   * caller allocated) takes over `src`'s struct page state, LRU position and
   * owner reference; the owner's mover is told. `src` is left an allocated
   * kernel page for the caller to free. Throws EINVAL, changing nothing, when
   * `src` is not movable.
   */
  migratePage(src: number, dst: number): void {
    const m = this.memory;
    const t = m.pages;
    const sp = m.pfnToPage(src);
    const dp = m.pfnToPage(dst);
    if (sp < 0 || dp < 0) throw new MmsimError('EBAD_PFN', `migratePage: pfn ${sp < 0 ? src : dst} is not valid`);
    if (!this.isMovable(src)) throw new MmsimError('EINVAL', `migratePage: pfn ${src} is not movable (owner ${PageOwner[t.ownerKind[sp]!]}, refcount ${t.refcount[sp]})`, { details: { pfn: src } });
    if (t.refcount[dp] !== 1 || t.private[dp] !== t.private[sp]) throw new MmsimError('EINVAL', `migratePage: destination pfn ${dst} is not an allocated block of order ${t.private[sp]}`, { details: { pfn: dst } });
    const mover = this.movers.get(t.ownerKind[sp]!)!;
    const onLru = (t.flags[sp]! & PG_lru) !== 0;
    // folio_migrate_flags(): the new page carries the old one's state
    t.flags[dp] = (t.flags[dp]! & PG_reserved) | (t.flags[sp]! & ~PG_reserved);
    t.mapcount[dp] = t.mapcount[sp]!;
    t.ownerKind[dp] = t.ownerKind[sp]!;
    t.owner[dp] = t.owner[sp]!;
    if (onLru) this.reclaim.replacePage(src, dst);
    t.flags[sp] = t.flags[sp]! & PG_reserved;
    t.mapcount[sp] = 0;
    t.ownerKind[sp] = PageOwner.KERNEL;
    t.owner[sp] = 0;
    mover(src, dst);
    this.vmEvents.pgmigrate_success = (this.vmEvents.pgmigrate_success ?? 0) + 1;
  }

  /** totalram_pages() + total_swap_pages: what oom_badness scores against. */
  oomTotalPages(): number {
    return this.topology.totalManagedPages + this.swap.total;
  }

  /**
   * out_of_memory(): picks a victim with the OOM scorer and marks it
   * (mark_oom_victim; the owner of its memory frees it). Returns the victim
   * or null when no task is eligible.
   */
  outOfMemory(oc: Partial<OomControl> = {}): Task | null {
    const control: OomControl = { totalPages: this.oomTotalPages(), gfpMask: 0xcc0, order: 0, constraint: 'CONSTRAINT_NONE', ...oc };
    const victim = this.oom.selectVictim(this.tasks.all(), control);
    if (!victim) return null;
    victim.oomSkip = true;
    this.vmEvents.oom_kill = (this.vmEvents.oom_kill ?? 0) + 1;
    if (this.events.enabled.mark_victim) {
      this.events.emit('mark_victim', {
        pid: victim.pid, comm: victim.comm, total_vm: victim.totalVm * 4, anon_rss: victim.anonRss * 4,
        file_rss: victim.fileRss * 4, shmem_rss: victim.shmemRss * 4, uid: victim.uid,
        pgtables: victim.pgtablesBytes >> 10, oom_score_adj: victim.oomScoreAdj,
      });
    }
    return victim;
  }
}
