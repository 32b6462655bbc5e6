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
}

/** A queued job as {@link DelayedWorkQueue.pending} lists it. */
export interface PendingWork {
  name: string;
  /** Simulated time of the next run, ns since boot. */
  due: number;
}

/** What {@link DelayedWorkQueue.queue} returns: the job's handle. */
export interface DelayedWork {
  readonly name: string;
  /** mod_delayed_work(): the next run `delayNs` from now (the daemon was woken and went back to sleep). */
  mod(delayNs: number): void;
  /** cancel_delayed_work(): the job never runs again. */
  cancel(): void;
}

/** Run order: the earlier deadline first, equal deadlines in queue order. */
const runsBefore = (a: Job, b: Job): boolean => a.due < b.due || (a.due === b.due && a.seq < b.seq);

/** The shortest sleep: a job cannot run twice at one instant. */
const MIN_DELAY_NS = 1;

/** The periodic jobs of one simulator, by name. */
export class DelayedWorkQueue {
  // by name: a snapshot restores each job's state onto the job of the same name the boot queued
  private readonly jobs = new Map<string, Job>();
  private seq = 0;
  private running = false;

  constructor(private readonly clock: () => SimClock) {}

  /**
   * Queues `fn` to run `intervalNs` from now and then periodically (the
   * first run is one interval away, as a daemon sleeps before its first
   * check). Names are unique (`kcompactd0`, `vmstat_update`). Returns the
   * job's handle.
   */
  queue(name: string, intervalNs: number, fn: DelayedWorkFn): DelayedWork {
    if (!(Number.isFinite(intervalNs) && intervalNs >= MIN_DELAY_NS)) {
      throw new MmsimError('EINVAL', `delayed work '${name}': the interval must be a positive number of ns, not ${intervalNs}`, { details: { name, intervalNs } });
    }
    if (this.jobs.has(name)) throw new MmsimError('EINVAL', `delayed work '${name}' is already queued`, { details: { name } });
    this.jobs.set(name, { name, intervalNs, fn, due: this.clock().now() + intervalNs, seq: this.seq++ });
    return {
      name,
      mod: (delayNs: number) => {
        if (!(Number.isFinite(delayNs) && delayNs >= 0)) throw new MmsimError('EINVAL', `delayed work '${name}': a delay must be a finite number of ns ≥ 0, not ${delayNs}`, { details: { name, delayNs } });
        const job = this.jobs.get(name);
        if (job) job.due = this.clock().now() + Math.max(delayNs, MIN_DELAY_NS);
      },
      cancel: () => {
        this.jobs.delete(name);
      },
    };
  }

  /** Queued jobs, next first. */
  pending(): PendingWork[] {
    return [...this.jobs.values()].sort((a, b) => (runsBefore(a, b) ? -1 : 1)).map((j) => ({ name: j.name, due: j.due }));
  }

  /**
   * Advances the clock by `ns`, running every job whose deadline falls in
   * that time at its deadline (the clock reads the deadline while it runs).
   * Returns how many runs happened. A job that throws has already moved the
   * clock to its deadline and stays due: the error propagates and the next
   * advance runs it again.
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
        for (const j of this.jobs.values()) if (j.due <= end && (!next || runsBefore(j, next))) next = j;
        if (!next) break;
        clock.advance(next.due - clock.now());
        const due = next.due;
        const delay = next.fn();
        runs++;
        // the job may have been cancelled, or re-armed (mod) from inside its own run
        if (this.jobs.get(next.name) === next && next.due === due) {
          next.due = clock.now() + (typeof delay === 'number' && delay >= MIN_DELAY_NS ? delay : next.intervalNs);
        }
      }
    } finally {
      this.running = false;
    }
    clock.advance(end - clock.now());
    return runs;
  }
}
