import {
  DEBUG_DEFAULT_FLAGS, isMmsimError, SLAB_CONSISTENCY_CHECKS, SLAB_FAILSLAB, SLAB_NOLEAKTRACE, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER,
  SLAB_TRACE,
} from '@mmsim/core';
import { describe, expect, it } from 'vitest';
import { parseSlabDebug, slabDebugFlags } from './slub_debug.js';

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
