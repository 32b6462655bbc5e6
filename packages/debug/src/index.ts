/**
 * @mmsim/debug — tooling that looks at a whole simulator from outside the
 * mechanisms: the CONFIG_DEBUG_VM-style cross-checks of the page-frame
 * table against every extension point (debug_vm, contributed under
 * INVARIANT_CHECK; `checkVm(sim)` runs them alone and returns their
 * counts), and the snapshot graph walker (SNAPSHOTTER: `sim.snapshot()`
 * and `restore`). Depends on @mmsim/core only.
 *
 * The default export is a list of plugin manifests: name the package under
 * `services` (`services: ['@mmsim/mm', '@mmsim/debug']`).
 * @module @mmsim/debug
 */
import { definePlugin, INVARIANT_CHECK, Lifecycle, type PluginManifest, SNAPSHOTTER } from '@mmsim/core';
import { DebugVm } from './debug_vm.js';
import { GraphSnapshotter } from './snapshot.js';

export { checkVm, DebugVm, type VmCheckReport } from './debug_vm.js';
export { GraphSnapshotter, restoreSnapshot, takeSnapshot } from './snapshot.js';

const manifests: readonly PluginManifest[] = [
  definePlugin({
    name: 'snapshot', provides: SNAPSHOTTER, apiVersion: '1',
    description: 'takes and restores whole-simulator snapshots by walking the state graph (sim.snapshot(), restore)',
    register: (c) => c.register(SNAPSHOTTER, { useClass: GraphSnapshotter }, { lifecycle: Lifecycle.ContainerScoped }),
  }),
  definePlugin({
    name: 'debug-vm', provides: INVARIANT_CHECK, apiVersion: '1',
    description: 'CONFIG_DEBUG_VM cross-checks: every page free, reserved or allocated once, against the allocators\' counters, the LRU lists, the slab census and the OOM scores',
    // transient: the checks read state and hold none (and so are no snapshot root)
    register: (c) => c.register(INVARIANT_CHECK, { useClass: DebugVm }),
  }),
];

export default manifests;
