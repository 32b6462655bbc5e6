/** The simulated clock: nanoseconds since boot, advanced by mechanisms that model a cost. */
export class SimClock {
  private ns = 0;
  /** ktime_get_ns() */
  now(): number {
    return this.ns;
  }
  /** Advances the clock by `ns` nanoseconds (never backwards). */
  advance(ns: number): void {
    if (ns > 0) this.ns += ns;
  }
  /** Seconds since boot with microseconds, as ftrace prints timestamps. */
  formatTimestamp(): string {
    return (this.ns / 1e9).toFixed(6);
  }
}
