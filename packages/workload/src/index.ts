/**
 * @mmsim/workload — what drives a composed simulator: the default mixed
 * workload (`mmsim run`), the anti-fragmentation workload, and kmalloc
 * traces (bpftrace CSV, ftrace text) replayed against any slab allocator.
 * Tooling: depends on @mmsim/core only.
 * @module @mmsim/workload
 */
export * from './workload.js';
export * from './kmalloc_trace.js';
