/**
 * @mmsim/testkit — one conformance suite per extension point, for our
 * plugins and third parties' alike.
 * @module @mmsim/testkit
 */
export { pageAllocatorConformance } from './page-allocator.js';
export { slabAllocatorConformance } from './slab-allocator.js';
export { memoryModelConformance } from './memory-model.js';
export { expectCode, pageState, type SuiteTarget } from './common.js';
