/**
 * @mmsim/workload — what drives a composed simulator: the default mixed
 * workload (`mmsim run`), the anti-fragmentation workload, kmalloc
 * traces (bpftrace CSV, ftrace text) replayed against any slab allocator,
 * workload files (JSON Lines of process, file, swap and kernel operations)
 * and their seeded generators.
 * Tooling: depends on @mmsim/core only.
 * @module @mmsim/workload
 */
export * from './workload.js';
export * from './kmalloc_trace.js';
export * from './ops.js';
export * from './generators.js';
export * from './glibc_malloc.js';
