/**
 * The kernel object of one simulator: lazy access to every extension point
 * (for paths that cross points, such as the allocator's slow path calling
 * reclaim and the OOM killer), the task table and out_of_memory().
 * @module
 */
import type { DependencyContainer } from 'tsyringe';
import type { EventBus } from './events.js';
import type { MemoryModel } from './memory-model.js';
import type { OomControl, OomScorer, Task } from './oom.js';
import type { PageAllocator } from './page-allocator.js';
import type { ReclaimPolicy } from './reclaim.js';
import type { Shrinker, SlabAllocator } from './slab-allocator.js';
import type { Sysctl } from './sysctl.js';
import { TaskTable } from './tasks.js';
import { MEMORY_MODEL, OOM_SCORER, PAGE_ALLOCATOR, RECLAIM_POLICY, SHRINKER, SLAB_ALLOCATOR } from './tokens.js';
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
