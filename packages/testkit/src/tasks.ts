/**
 * Tasks with real memory for tests: a process spawned through PROCESSES
 * whose counters come from what it maps and touches, as the kernel's do —
 * no counter is ever set by hand.
 * @module
 */
import { errnoName, isErr, MmsimError, PAGE_SIZE, type ProcessTask, type Simulator } from '@mmsim/core';

/** What {@link spawnTask} builds. */
export interface TaskSpec {
  comm: string;
  uid?: number;
  oomScoreAdj?: number;
  cpu?: number;
  /** Anonymous pages the task writes (a private mapping of that size, every page touched for write). */
  anonPages?: number;
}

/**
 * spawn() + mmap() + a write to every page: a task whose RssAnon is
 * `anonPages` (plus what its program image faulted in). Throws EWORKLOAD when
 * the simulated machine refuses (ENOMEM) or the task is killed on the way.
 */
export function spawnTask(sim: Simulator, spec: TaskSpec): ProcessTask {
  const p = sim.processes;
  const t = p.spawn({ comm: spec.comm, ...(spec.uid !== undefined && { uid: spec.uid }), ...(spec.oomScoreAdj !== undefined && { oomScoreAdj: spec.oomScoreAdj }), ...(spec.cpu !== undefined && { cpu: spec.cpu }) });
  const n = spec.anonPages ?? 0;
  if (n > 0) {
    const addr = p.mmap(t.pid, n * PAGE_SIZE, { name: 'anon' });
    if (isErr(addr)) throw new MmsimError('EWORKLOAD', `spawnTask ${spec.comm}: mmap of ${n} pages: ${errnoName(addr)}`);
    const r = p.touch(t.pid, addr, n * PAGE_SIZE, { write: true });
    if (r.killed) throw new MmsimError('EWORKLOAD', `spawnTask ${spec.comm}: killed by ${r.killed} while touching its ${n} pages`);
  }
  return t;
}
