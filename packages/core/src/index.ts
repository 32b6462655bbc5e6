/**
 * @mmsim/core — the microkernel of mmsim: extension-point tokens and
 * interfaces, plugin manifests and composition, the page-frame table,
 * topology, gfp flags, events, clock, sysctl and errors.
 * @module @mmsim/core
 */
import 'reflect-metadata';

export * from './errors.js';
export * from './gfp.js';
export * from './size.js';
export * from './machine.js';
export * from './e820.js';
export * from './dmesg.js';
export * from './zoneinfo.js';
export * from './kversion.js';
export * from './pcp.js';
export * from './topology.js';
export * from './page.js';
export * from './events.js';
export * from './clock.js';
export * from './timer.js';
export * from './random.js';
export * from './sysctl.js';
export * from './tokens.js';
export * from './memory-model.js';
export * from './memory_hotplug.js';
export * from './mm_init.js';
export * from './mempolicy.js';
export * from './page-allocator.js';
export * from './watermark.js';
export * from './pcp.js';
export * from './vmstat.js';
export * from './slab-allocator.js';
export * from './slab_common.js';
export * from './list_lru.js';
export * from './vmalloc.js';
export * from './percpu.js';
export * from './reclaim.js';
export * from './oom.js';
export * from './tasks.js';
export * from './kernel.js';
export * from './proc.js';
export * from './plugin.js';
export * from './registry.js';
export * from './config.js';
export { Simulator, createSimulator } from './simulator.js';
export * from './format.js';
export * from './workload.js';
export * from './kmalloc_trace.js';
export * from './debug_vm.js';
export * from './snapshot.js';
// zod, for plugin option schemas: plugins need no schema library of their own
export { z } from 'zod';
// re-exported so plugins bind with the same tsyringe the core composes with
export { inject, injectable, injectAll, Lifecycle, type DependencyContainer } from 'tsyringe';
