/**
 * @mmsim/core — the microkernel of mmsim: the extension points (tokens and
 * interfaces), the contracts of the shared services, plugin manifests,
 * loading and composition, the page-frame table, topology (nodes, zones,
 * zonelists), gfp flags, events, the simulated clock and its delayed work,
 * random, sysctl, errors and the /proc registry. It names no plugin and no
 * service: a distribution (e.g. @mmsim/defconfig) supplies the defaults.
 * @module @mmsim/core
 */
import 'reflect-metadata';

// the extension points and the services' contracts
export * from './tokens.js';
export * from './memory-model.js';
export * from './page-allocator.js';
export * from './slab-allocator.js';
export * from './reclaim.js';
export * from './oom.js';
export * from './services.js';
export * from './process.js';
export type { ProcEntry } from './proc.js';
// composition
export { API_VERSION, definePlugin, type PluginManifest, type StandardResult, type StandardSchemaV1 } from './plugin.js';
export { loadPlugin, type PluginLoader } from './registry.js';
export { configSchema, parseConfig, type PluginRef, type ResolvedConfig, type SimulatorConfig } from './config.js';
export { createSimulator, type Distribution, Simulator } from './simulator.js';
export { isSnapshot, SNAPSHOT_EXCLUDE, type Snapshot, type SnapshotObject, type Snapshotter, type SnapshotValue } from './snapshot.js';
// the data every mechanism shares
export * from './page.js';
export * from './topology.js';
export type {
  CoreSpec, E820Entry, E820Type, MachineDescription, MachineLayout, MachineLayouter, NodeDescription,
  NumaCost, PfnRange, ZoneSpec,
} from './machine.js';
export * from './gfp.js';
export * from './size.js';
export * from './kversion.js';
export * from './format.js';
// kernel infrastructure
export * from './events.js';
export * from './clock.js';
export * from './timer.js';
export * from './random.js';
export * from './sysctl.js';
export * from './errors.js';
// zod, for plugin option schemas: plugins need no schema library of their own
export { z } from 'zod';
// re-exported so plugins bind with the same tsyringe the core composes with
export { inject, injectable, injectAll, Lifecycle, type DependencyContainer } from 'tsyringe';
