/**
 * The OOM killer (mm/oom_kill.c): out_of_memory() picks a victim with the
 * configured OOM_SCORER and marks it (mark_oom_victim); the owner of its
 * memory frees it. The scoring is the extension point's, the killing and
 * counting are here.
 * @module
 */
import {
  EVENTS, type EventBus, inject, injectable, type Lazy, lazy, OOM_SCORER, type OomControl, type OomKiller, type OomScorer, SWAP,
  type SwapSpace, type Task, TASKS, type TaskTable, TOPOLOGY, type Topology, VMSTAT, type VmStat,
} from '@mmsim/core';
import { countVmEvents } from './vmstat.js';

/** OOM_KILLER of @mmsim/mm. */
@injectable()
export class OomKill implements OomKiller {
  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(TASKS) private readonly tasks: TaskTable,
    @inject(SWAP) private readonly swap: SwapSpace,
    @inject(VMSTAT) private readonly vmstat: VmStat,
    @inject(EVENTS) private readonly events: EventBus,
    // the scorer boots after the page allocator, whose slow path may call here first
    @inject(lazy(OOM_SCORER)) private readonly scorer: Lazy<OomScorer>,
  ) {}

  /** totalram_pages() + total_swap_pages: what oom_badness scores against. */
  totalPages(): number {
    return this.topology.totalManagedPages + this.swap.total;
  }

  /**
   * out_of_memory(): picks a victim with the OOM scorer and marks it
   * (mark_oom_victim: it may use the reserves, and is not picked again);
   * counts oom_kill and traces mark_victim. Returns the victim or null when
   * no task is eligible.
   */
  outOfMemory(oc: Partial<OomControl> = {}): Task | null {
    const control: OomControl = { totalPages: this.totalPages(), gfpMask: 0xcc0, order: 0, constraint: 'CONSTRAINT_NONE', ...oc };
    const victim = this.scorer().selectVictim(this.tasks.all(), control);
    if (!victim) return null;
    victim.oomSkip = true;
    countVmEvents(this.vmstat, 'oom_kill');
    if (this.events.enabled.mark_victim) {
      this.events.emit('mark_victim', {
        pid: victim.pid, comm: victim.comm, total_vm: victim.totalVm * 4, anon_rss: victim.anonRss * 4,
        file_rss: victim.fileRss * 4, shmem_rss: victim.shmemRss * 4, uid: victim.uid,
        pgtables: victim.pgtablesBytes >> 10, oom_score_adj: victim.oomScoreAdj,
      });
    }
    return victim;
  }

  /** tsk_is_oom_victim(): task `pid` (0: none) was chosen and may use the reserves. */
  isVictim(pid: number): boolean {
    return pid !== 0 && this.tasks.has(pid) && this.tasks.get(pid).oomSkip === true;
  }
}
