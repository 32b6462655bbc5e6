import { describe, expect, it } from 'vitest';
import { EventBus } from './events.js';
import { Sysctl } from './sysctl.js';

describe('event bus', () => {
  it('tracks whether a tracepoint has listeners (static key)', () => {
    const bus = new EventBus();
    expect(bus.enabled.mm_page_alloc).toBe(false);
    const seen: number[] = [];
    const fn = (e: { pfn: number }) => seen.push(e.pfn);
    bus.on('mm_page_alloc', fn);
    expect(bus.enabled.mm_page_alloc).toBe(true);
    bus.emit('mm_page_alloc', { pfn: 7, order: 0, gfp_flags: 0xcc0, migratetype: 0 });
    bus.off('mm_page_alloc', fn);
    expect(bus.enabled.mm_page_alloc).toBe(false);
    bus.once('kfree', (e) => seen.push(e.ptr));
    expect(bus.enabled.kfree).toBe(true);
    bus.emit('kfree', { call_site: 0, ptr: 9 });
    expect(bus.enabled.kfree).toBe(false);
    expect(seen).toEqual([7, 9]);
  });
});

describe('sysctl', () => {
  it('validates names and ranges and keeps the old value on error', () => {
    const s = new Sysctl({ 'vm.swappiness': 10 });
    expect(s.get('vm.swappiness')).toBe(10);
    expect(() => s.set('vm.swappiness', 201)).toThrowError(/ESYSCTL.*vm.swappiness/);
    expect(s.get('vm.swappiness')).toBe(10);
    expect(() => new Sysctl({ 'vm.nope': 1 })).toThrowError(/unknown sysctl 'vm.nope'/);
    expect(() => s.set('vm.percpu_pagelist_high_fraction', 4)).toThrowError(/at least 8/);
    const changes: string[] = [];
    s.onChange((n) => changes.push(n));
    s.set('vm.watermark_scale_factor', 100);
    expect(changes).toEqual(['vm.watermark_scale_factor']);
  });
});
