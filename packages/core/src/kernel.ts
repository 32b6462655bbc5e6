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
import { MmsimError } from './errors.js';
import { PageOwner, PG_lru, PG_reserved } from './page.js';

/** Told when one of its pages moved: update every reference from oldPfn to newPfn. */
export type PageMoveHandler = (oldPfn: number, newPfn: number) => void;
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
