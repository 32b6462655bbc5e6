/**
 * Delayed work on the simulated clock (queue_delayed_work() and the timer
 * wheel): the periodic jobs of the kernel's daemons, such as kcompactd's
 * proactive compaction check every 500 ms or the vmstat worker every
 * vm.stat_interval. A simulation is never preempted, so due work runs only
 * where simulated time is handed over: {@link Simulator.tick} advances the
 * clock to each job's deadline in turn and runs it there, jobs with the
 * same deadline in the order they were queued. Deterministic: no wall time
 * is involved.
 * @module
 */
import type { SimClock } from './clock.js';
import { MmsimError } from './errors.js';

/**
 * One run of a periodic job. Returns the delay in nanoseconds until its next
 * run (what the daemon would sleep, e.g. kcompactd's deferred timeout), or
 * nothing to keep its interval.
 */
export type DelayedWorkFn = () => number | void;

interface Job {
  readonly name: string;
  readonly intervalNs: number;
  readonly fn: DelayedWorkFn;
  due: number;
  /** Queue order: breaks ties between equal deadlines. */
  readonly seq: number;
  cancelled: boolean;
}

/** A queued job as {@link DelayedWorkQueue.pending} lists it. */
export interface PendingWork {
  name: string;
  /** Simulated time of the next run, ns since boot. */
  due: number;
}

/** The periodic jobs of one simulator. */
export class DelayedWorkQueue {
  private readonly jobs: Job[] = [];
  private seq = 0;
  private running = false;

  constructor(private readonly clock: () => SimClock) {}

  /**
   * Queues `fn` to run `intervalNs` from now and then periodically (the
   * first run is one interval away, as a daemon sleeps before its first
   * check). Returns a function that cancels it.
   */
  queue(name: string, intervalNs: number, fn: DelayedWorkFn): () => void {
    if (!(Number.isFinite(intervalNs) && intervalNs > 0)) {
      throw new MmsimError('EINVAL', `delayed work '${name}': the interval must be a positive number of ns, not ${intervalNs}`, { details: { name, intervalNs } });
    }
    const job: Job = { name, intervalNs, fn, due: this.clock().now() + intervalNs, seq: this.seq++, cancelled: false };
    this.jobs.push(job);
    return () => {
      job.cancelled = true;
      const i = this.jobs.indexOf(job);
      if (i >= 0) this.jobs.splice(i, 1);
    };
  }

  /** Queued jobs, next first. */
  pending(): PendingWork[] {
    return [...this.jobs].sort((a, b) => a.due - b.due || a.seq - b.seq).map((j) => ({ name: j.name, due: j.due }));
  }

  /**
   * Advances the clock by `ns`, running every job whose deadline falls in
   * that time at its deadline (the clock reads the deadline while it runs).
   * Returns how many runs happened.
   */
  advance(ns: number): number {
    if (!(Number.isFinite(ns) && ns >= 0)) throw new MmsimError('EINVAL', `time to advance must be a finite number ≥ 0, not ${ns}`, { details: { ns } });
    if (this.running) throw new MmsimError('EINVAL', 'tick() from inside delayed work: a job cannot wait for time to pass', {});
    const clock = this.clock();
    const end = clock.now() + ns;
    let runs = 0;
    this.running = true;
    try {
      for (;;) {
        let next: Job | undefined;
        for (const j of this.jobs) if (j.due <= end && (!next || j.due < next.due || (j.due === next.due && j.seq < next.seq))) next = j;
        if (!next) break;
        clock.advance(next.due - clock.now());
        const delay = next.fn();
        runs++;
        if (!next.cancelled) next.due = clock.now() + (typeof delay === 'number' && delay > 0 ? delay : next.intervalNs);
      }
    } finally {
      this.running = false;
    }
    clock.advance(end - clock.now());
    return runs;
  }
}
