import { describe, expect, it } from 'vitest';
import { SimClock } from './clock.js';
import { DelayedWorkQueue } from './timer.js';

describe('DelayedWorkQueue', () => {
  it('runs each job at its deadline, in deadline order, equal deadlines in queue order', () => {
    const clock = new SimClock();
    const q = new DelayedWorkQueue(() => clock);
    const log: string[] = [];
    q.queue('a', 300, () => {
      log.push(`a@${clock.now()}`);
    });
    q.queue('b', 200, () => {
      log.push(`b@${clock.now()}`);
    });
    q.queue('c', 300, () => {
      log.push(`c@${clock.now()}`);
    });
    expect(q.advance(199)).toBe(0);
    expect(q.advance(401)).toBe(7);
    // equal deadlines at 600: queue order (a, b, c)
    expect(log).toEqual(['b@200', 'a@300', 'c@300', 'b@400', 'a@600', 'b@600', 'c@600']);
    expect(clock.now()).toBe(600);
    expect(q.pending().map((p) => `${p.name}@${p.due}`)).toEqual(['b@800', 'a@900', 'c@900']);
  });

  it('takes the delay a job returns as its next sleep; a cancelled job never runs again', () => {
    const clock = new SimClock();
    const q = new DelayedWorkQueue(() => clock);
    const at: number[] = [];
    const work = q.queue('defer', 100, () => {
      at.push(clock.now());
      return at.length === 1 ? 1000 : undefined;
    });
    q.advance(1200);
    expect(at).toEqual([100, 1100, 1200]);
    work.cancel();
    q.advance(10_000);
    expect(at).toHaveLength(3);
    expect(q.pending()).toEqual([]);
  });

  it('mod() re-arms a job from now (mod_delayed_work); names are unique', () => {
    const clock = new SimClock();
    const q = new DelayedWorkQueue(() => clock);
    const at: number[] = [];
    const w = q.queue('k', 500, () => {
      at.push(clock.now());
      return 32_000;
    });
    q.advance(500); // ran at 500, deferred to 32 500
    expect(q.pending()).toEqual([{ name: 'k', due: 32_500 }]);
    q.advance(100);
    w.mod(500); // woken at 600: the deferral is lost
    expect(q.pending()).toEqual([{ name: 'k', due: 1100 }]);
    q.advance(500);
    expect(at).toEqual([500, 1100]);
    w.mod(0); // at least 1 ns: a job never runs twice at one instant
    expect(q.pending()[0]!.due).toBe(1101);
    expect(() => w.mod(-1)).toThrowError(/delay/);
    expect(() => q.queue('k', 10, () => {})).toThrowError(/already queued/);
  });

  it('refuses bad intervals, bad advances and a tick from inside a job, leaving the clock as it was', () => {
    const clock = new SimClock();
    const q = new DelayedWorkQueue(() => clock);
    expect(() => q.queue('x', 0, () => {})).toThrowError(/interval/);
    expect(() => q.advance(-1)).toThrowError(/finite number/);
    expect(() => q.advance(Number.NaN)).toThrowError(/finite number/);
    q.queue('nested', 10, () => {
      q.advance(5);
    });
    expect(() => q.advance(10)).toThrowError(/inside delayed work/);
    expect(clock.now()).toBe(10);
  });
});
