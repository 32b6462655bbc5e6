/**
 * Seeded randomness. Every random choice a simulator makes comes from its own
 * {@link Random}, so a run is a function of (config, workload, seed).
 */
export class Random {
  private s: number;
  constructor(seed: number) {
    // xorshift32 must not start at 0; mix the seed so nearby seeds diverge
    let x = (seed ^ 0x9e3779b9) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
    this.s = (x ^ (x >>> 16)) >>> 0 || 0x6d2b79f5;
  }
  /** xorshift32: the next 32-bit unsigned value. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }
  /** Uniform float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }
  /** The internal state (for snapshots). */
  get state(): number {
    return this.s;
  }
  set state(v: number) {
    this.s = v >>> 0 || 0x6d2b79f5;
  }
}
