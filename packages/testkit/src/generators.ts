/**
 * Seeded workload generators for tests: hot and cold working sets, a
 * sequential file scan, a fork storm, a leaking process. Each returns the
 * operations of a workload file for a seed; run them with runWorkloadOps.
 * They live in @mmsim/workload (the `mmsim` command runs them too, and must
 * not load this package's vitest suites); this is the test kit's door to them.
 * @module
 */
export {
  fileScanWorkload, forkStormWorkload, generateWorkload, hotColdWorkload, leakWorkload, runWorkloadOps, toJsonLines, WORKLOAD_GENERATORS,
  type FileScanOptions, type ForkStormOptions, type GeneratorOptions, type HotColdOptions, type LeakOptions, type WorkloadOp,
} from '@mmsim/defconfig';
