import { describe, expect, it } from 'vitest';
import { isMmsimError } from './errors.js';
import { ListLru, SlabShrinker } from './list_lru.js';
import {
  DEBUG_DEFAULT_FLAGS, parseSlabDebug, SLAB_CONSISTENCY_CHECKS, SLAB_FAILSLAB, SLAB_NOLEAKTRACE, SLAB_POISON, SLAB_RED_ZONE,
  SLAB_STORE_USER, SLAB_TRACE, slabDebugFlags, type KmemCache,
} from './slab-allocator.js';

describe('slub_debug= parsing (parse_slub_debug_flags / kmem_cache_flags)', () => {
  it('a bare slub_debug is F, Z, P, U for every cache', () => {
    const s = parseSlabDebug('');
    expect(s.global).toBe(DEBUG_DEFAULT_FLAGS);
    expect(slabDebugFlags(s, 0, 'anything')).toBe(SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER);
  });
  it('letters alone apply to every cache; with a slab list only to those caches', () => {
    expect(slabDebugFlags(parseSlabDebug('zp'), 0, 'dentry')).toBe(SLAB_RED_ZONE | SLAB_POISON);
    const s = parseSlabDebug('ZU,dentry,kmalloc-*');
    expect(slabDebugFlags(s, 0, 'dentry')).toBe(SLAB_RED_ZONE | SLAB_STORE_USER);
    expect(slabDebugFlags(s, 0, 'kmalloc-64')).toBe(SLAB_RED_ZONE | SLAB_STORE_USER);
    expect(slabDebugFlags(s, 0, 'dentry2')).toBe(0);
    expect(slabDebugFlags(s, 0, 'inode_cache')).toBe(0);
  });
  it('blocks separated by ; with a global block; , alone means full debugging for the list; - switches off', () => {
    const s = parseSlabDebug('T;,dentry;-,kmalloc-8');
    expect(slabDebugFlags(s, 0, 'x')).toBe(SLAB_TRACE);
    expect(slabDebugFlags(s, 0, 'dentry')).toBe(DEBUG_DEFAULT_FLAGS);
    expect(slabDebugFlags(s, 0, 'kmalloc-8')).toBe(0);
    expect(parseSlabDebug('A').global).toBe(SLAB_FAILSLAB);
    expect(parseSlabDebug('O').higherOrderDisable).toBe(true);
  });
  it('does not store users of SLAB_NOLEAKTRACE caches unless named; refuses unknown letters', () => {
    expect(slabDebugFlags(parseSlabDebug(''), SLAB_NOLEAKTRACE, 'kmemleak_object') & SLAB_STORE_USER).toBe(0);
    let e: unknown;
    try {
      parseSlabDebug('FQ');
    } catch (x) {
      e = x;
    }
    expect(isMmsimError(e, 'EINVAL')).toBe(true);
  });
});

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
