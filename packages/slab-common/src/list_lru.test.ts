import type { KmemCache } from '@mmsim/core';
import { describe, expect, it } from 'vitest';
import { ListLru, SlabShrinker } from './list_lru.js';

describe('list_lru and the slab shrinker', () => {
  it('keeps per-node lists oldest first', () => {
    const l = new ListLru();
    expect(l.add(10, 0)).toBe(true);
    expect(l.add(20, 1)).toBe(true);
    expect(l.add(30, 0)).toBe(true);
    expect(l.add(10, 0)).toBe(false);
    expect([l.count(0), l.count(1), l.size]).toEqual([2, 1, 3]);
    expect(l.isolate(0, 5)).toEqual([10, 30]);
    expect(l.del(20)).toBe(true);
    expect(l.del(20)).toBe(false);
    expect(l.size).toBe(0);
  });
  it('splits a scan among caches in proportion to their counts', () => {
    const freed: [number, number][] = [];
    const sh = new SlabShrinker('test', (c, p) => freed.push([c.id, p]));
    const a = { id: 1, name: 'a' } as KmemCache;
    const b = { id: 2, name: 'b' } as KmemCache;
    const released: number[] = [];
    sh.track(a, (p) => released.push(p));
    sh.track(b);
    for (let i = 0; i < 30; i++) sh.lru(a)!.add(100 + i, 0);
    for (let i = 0; i < 10; i++) sh.lru(b)!.add(200 + i, 0);
    expect(sh.countObjects(0)).toBe(40);
    expect(sh.countObjects(1)).toBe(0);
    expect(sh.scanObjects(0, 8)).toBe(8);
    expect(freed.filter(([c]) => c === 1).length).toBe(6);
    expect(freed.filter(([c]) => c === 2).length).toBe(2);
    expect(released).toEqual([100, 101, 102, 103, 104, 105]);
    sh.untrack(a);
    expect(sh.countObjects(0)).toBe(8);
  });
});
