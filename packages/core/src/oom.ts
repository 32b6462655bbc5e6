/**
 * The OOM_SCORER extension point: oom_badness and victim selection
 * (mm/oom_kill.c).
 * @module
 */

/** OOM_SCORE_ADJ_MIN: never kill. */
export const OOM_SCORE_ADJ_MIN = -1000;
export const OOM_SCORE_ADJ_MAX = 1000;

/** What the OOM killer knows of a task (task_struct + mm_struct counters), in pages. */
export interface Task {
  pid: number;
  comm: string;
  uid: number;
  /** MM_FILEPAGES */
  fileRss: number;
  /** MM_ANONPAGES */
  anonRss: number;
  /** MM_SHMEMPAGES */
  shmemRss: number;
  /** MM_SWAPENTS */
  swapents: number;
  /** mm_pgtables_bytes() */
  pgtablesBytes: number;
  /** total_vm, pages */
  totalVm: number;
  /** /proc/<pid>/oom_score_adj */
  oomScoreAdj: number;
  /** Kernel thread, init, or otherwise unkillable (oom_unkillable_task). */
  unkillable?: boolean;
  /** Already an OOM victim (tsk_is_oom_victim / MMF_OOM_SKIP). */
  oomSkip?: boolean;
}

/** struct oom_control */
export interface OomControl {
  /** Pages the scores are relative to (totalram + total swap, or the constraint's). */
  totalPages: number;
  gfpMask: number;
  order: number;
  /** CONSTRAINT_NONE, CONSTRAINT_CPUSET, CONSTRAINT_MEMORY_POLICY, CONSTRAINT_MEMCG */
  constraint: 'CONSTRAINT_NONE' | 'CONSTRAINT_CPUSET' | 'CONSTRAINT_MEMORY_POLICY' | 'CONSTRAINT_MEMCG';
  /** Out: the victim and its points. */
  chosen?: Task;
  chosenPoints?: number;
}

/** An OOM scorer. */
export interface OomScorer {
  /** Plugin name. */
  readonly name: string;
  /** oom_badness(): points, or null for a task that must never be chosen (LONG_MIN). */
  badness(task: Task, totalPages: number): number | null;
  /** select_bad_process(): the victim (also written to oc.chosen / chosenPoints), or null. */
  selectVictim(tasks: Iterable<Task>, oc: OomControl): Task | null;
  /** /proc/<pid>/oom_score for a task. */
  oomScore(task: Task, totalPages: number): number;
}
