/**
 * The Linux 6.12 OOM scorer (mm/oom_kill.c, fs/proc/base.c): oom_badness(),
 * select_bad_process() / oom_evaluate_task(), and /proc/<pid>/oom_score.
 *
 * Integer arithmetic follows the kernel's C: `totalpages / 1000` and
 * `pgtables_bytes / PAGE_SIZE` are unsigned divisions, `badness * 1000 /
 * totalpages` is a signed long division (truncating toward zero).
 * @module
 */
import {
  MmsimError, OOM_SCORE_ADJ_MIN, type OomControl, type OomScorer, PAGE_SIZE, type Task, injectable,
} from '@mmsim/core';

/** Linux's oom_badness(), oom_evaluate_task() and proc_oom_score(), 6.12. */
@injectable()
export class LinuxOomScorer implements OomScorer {
  readonly name = 'oom-linux';

  /**
   * oom_badness(): null (LONG_MIN) for an unkillable task (kernel thread,
   * init), oom_score_adj == OOM_SCORE_ADJ_MIN, or MMF_OOM_SKIP; otherwise
   * rss (file + anon + shmem) + swap entries + page-table pages, plus
   * oom_score_adj × (totalpages / 1000).
   */
  badness(task: Task, totalPages: number): number | null {
    if (task.unkillable) return null;
    const adj = task.oomScoreAdj;
    if (adj === OOM_SCORE_ADJ_MIN || task.oomSkip) return null;
    const points = task.fileRss + task.anonRss + task.shmemRss + task.swapents + Math.floor(task.pgtablesBytes / PAGE_SIZE);
    return points + adj * Math.floor(totalPages / 1000);
  }

  /**
   * select_bad_process(): for_each_process → oom_evaluate_task(). Unkillable
   * tasks and tasks already chosen (oomSkip) are passed over; a task with
   * points not below the current choice replaces it, so among equals the
   * last one in task order wins. Writes oc.chosen / oc.chosenPoints; clears
   * them when nothing is eligible.
   */
  selectVictim(tasks: Iterable<Task>, oc: OomControl): Task | null {
    let chosen: Task | null = null;
    let chosenPoints = Number.NEGATIVE_INFINITY; // LONG_MIN
    for (const task of tasks) {
      if (task.unkillable) continue; // oom_unkillable_task()
      if (task.oomSkip) continue; // tsk_is_oom_victim() with MMF_OOM_SKIP
      const points = this.badness(task, oc.totalPages);
      if (points === null || points < chosenPoints) continue;
      chosen = task;
      chosenPoints = points;
    }
    if (chosen) {
      oc.chosen = chosen;
      oc.chosenPoints = chosenPoints;
    } else {
      delete oc.chosen;
      delete oc.chosenPoints;
    }
    return chosen;
  }

  /**
   * proc_oom_score(): 0 for LONG_MIN badness, otherwise
   * (1000 + badness * 1000 / totalpages) * 2 / 3, the [0, 2000] range scaled
   * as 6.12 prints it.
   */
  oomScore(task: Task, totalPages: number): number {
    if (!Number.isInteger(totalPages) || totalPages <= 0) {
      throw new MmsimError('EBAD_SIZE', `oom_score: totalpages must be a positive integer, got ${totalPages}`, { plugin: this.name, details: { totalPages } });
    }
    const badness = this.badness(task, totalPages);
    if (badness === null) return 0;
    const points = Math.trunc((1000 + Math.trunc((badness * 1000) / totalPages)) * 2 / 3);
    return Math.max(points, 0);
  }
}
