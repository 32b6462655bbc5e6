/**
 * The task table the OOM killer chooses from (task_struct + mm counters),
 * and what the simulator keeps of `current`, the task whose allocation is
 * running: its PF_MEMALLOC nesting and its interleave cursor (il_prev).
 * @module
 */
import { injectable, MmsimError, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN, type Task, type TaskTable } from '@mmsim/core';

/** Tasks by pid; pids are handed out from 1 up, as alloc_pid does after boot. TASKS of @mmsim/mm. */
@injectable()
export class TaskList implements TaskTable {
  private readonly byPid = new Map<number, Task>();
  private nextPid = 1;
  /**
   * current->flags & PF_MEMALLOC, as a nesting depth: reclaim and compaction
   * raise it so that their own allocations use the reserves and never
   * recurse into reclaim.
   */
  memalloc = 0;
  /** current->il_prev: the node the last MPOL_INTERLEAVE allocation used (-1: none yet). */
  ilPrev = -1;

  /** Creates a task (fork + exec). Counters start at zero unless given. */
  fork(t: Partial<Omit<Task, 'pid'>> & { comm: string }): Task {
    if (t.oomScoreAdj !== undefined && (!Number.isInteger(t.oomScoreAdj) || t.oomScoreAdj < OOM_SCORE_ADJ_MIN || t.oomScoreAdj > OOM_SCORE_ADJ_MAX)) {
      throw new MmsimError('EBAD_SIZE', `oom_score_adj must be an integer ${OOM_SCORE_ADJ_MIN}..${OOM_SCORE_ADJ_MAX}, got ${t.oomScoreAdj}`);
    }
    const task: Task = {
      pid: this.nextPid++, comm: t.comm, uid: t.uid ?? 0, fileRss: t.fileRss ?? 0, anonRss: t.anonRss ?? 0,
      shmemRss: t.shmemRss ?? 0, swapents: t.swapents ?? 0, pgtablesBytes: t.pgtablesBytes ?? 0,
      totalVm: t.totalVm ?? 0, oomScoreAdj: t.oomScoreAdj ?? 0, unkillable: t.unkillable ?? false, oomSkip: false,
    };
    this.byPid.set(task.pid, task);
    return task;
  }
  /** The task with `pid`, or ETASK_UNKNOWN. */
  get(pid: number): Task {
    const t = this.byPid.get(pid);
    if (!t) throw new MmsimError('ETASK_UNKNOWN', `no task with pid ${pid}`, { details: { pid } });
    return t;
  }
  has(pid: number): boolean {
    return this.byPid.has(pid);
  }
  /** exit(): the task goes away. */
  exit(pid: number): void {
    this.get(pid);
    this.byPid.delete(pid);
  }
  /** for_each_process, in pid order. */
  all(): Task[] {
    return [...this.byPid.values()];
  }
}
