/**
 * @mmsim/testkit — one conformance suite per extension point (each with
 * property-based tests of random operation sequences), for our plugins and
 * third parties' alike; state fingerprints for "a refused call changes
 * nothing"; a parser fuzzing harness.
 * @module @mmsim/testkit
 */
export { memoryModelConformance, memoryModelModel, memoryState, MEMORY_MODEL_MACHINES, PAGES_PER_SECTION, pagesPerSection, type MemoryOp, type MemoryModelState } from './memory-model.js';
export { pageAllocatorConformance, pageAllocatorModel, holePfn, PAGE_GFPS, type PageOp, type PageModelState } from './page-allocator.js';
export { slabAllocatorConformance, slabAllocatorModel, slabAllocatorModelFor, type SlabOp, type SlabModelState, type SlabSuiteOptions, type SlabSuiteTarget, type TrackedCache } from './slab-allocator.js';
export { reclaimPolicyConformance, reclaimPolicyModel, type ReclaimOp, type ReclaimModelState } from './reclaim.js';
export { oomScorerConformance, oomScorerModel, checkSelection, taskArb, taskPages, type OomOp, type OomModelState, type TaskFields } from './oom.js';
export { renderErrorsDoc } from './errors-doc.js';
export { fuzzParser, fuzzInputs, type FuzzBudget, type FuzzReport } from './fuzz.js';
export { expectCode, expectRefused, makeSim, pageState, simFingerprint, type SuiteTarget } from './common.js';
export { stubSlabPlugin } from './stubs.js';
export { spawnTask, type TaskSpec } from './tasks.js';
export {
  fileScanWorkload, forkStormWorkload, generateWorkload, hotColdWorkload, leakWorkload, runWorkloadOps, toJsonLines, WORKLOAD_GENERATORS,
  type FileScanOptions, type ForkStormOptions, type GeneratorOptions, type HotColdOptions, type LeakOptions, type WorkloadOp,
} from './generators.js';
export {
  assertOpSequences, checkOpSequences, propertyDefaults, propertyTimeout, stateDiff, pick, type OpModel, type PropertyOptions,
} from './property.js';
