/**
 * @mmsim/defconfig — the default composition, as `make defconfig` is the
 * kernel's: the built-in plugins and services by short name, and
 * {@link createSimulator} with the defaults filled in (flatmem, buddy, slub,
 * lru, oom-linux; the @mmsim/mm services and the @mmsim/debug tooling; boot
 * logs and /proc/zoneinfo laid out by @mmsim/machine). Core names no plugin:
 * this is the package that depends on them. For convenience it re-exports
 * the APIs of core, the services, the workloads, the machine importers and
 * the debug tooling.
 * @module @mmsim/defconfig
 */
import { createSimulator as composeSimulator, type Distribution, type PluginLoader, type Simulator, type SimulatorConfig } from '@mmsim/core';
import { layoutMachine } from '@mmsim/machine';

/** The built-in plugins and service packages: short name → loader. */
export const BUILTIN_PLUGINS: Readonly<Record<string, PluginLoader>> = Object.freeze({
  flatmem: () => import('@mmsim/plugin-flatmem'),
  discontigmem: () => import('@mmsim/plugin-discontigmem'),
  sparsemem: () => import('@mmsim/plugin-sparsemem'),
  buddy: () => import('@mmsim/plugin-buddy'),
  slub: () => import('@mmsim/plugin-slub'),
  slab: () => import('@mmsim/plugin-slab'),
  slob: () => import('@mmsim/plugin-slob'),
  lru: () => import('@mmsim/plugin-lru'),
  'oom-linux': () => import('@mmsim/plugin-oom-linux'),
  // service packages (lists of manifests)
  mm: () => import('@mmsim/mm'),
  process: () => import('@mmsim/process'),
  debug: () => import('@mmsim/debug'),
});

/** Package name of each built-in short name (for messages and docs). */
export const BUILTIN_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  flatmem: '@mmsim/plugin-flatmem', discontigmem: '@mmsim/plugin-discontigmem', sparsemem: '@mmsim/plugin-sparsemem',
  buddy: '@mmsim/plugin-buddy', slub: '@mmsim/plugin-slub', slab: '@mmsim/plugin-slab', slob: '@mmsim/plugin-slob',
  lru: '@mmsim/plugin-lru', 'oom-linux': '@mmsim/plugin-oom-linux', mm: '@mmsim/mm', process: '@mmsim/process', debug: '@mmsim/debug',
});

/** The default composition when a config names no plugins. */
export const DEFAULT_PLUGINS = Object.freeze({
  memoryModel: 'flatmem',
  pageAllocator: 'buddy',
  slab: 'slub',
  reclaim: 'lru',
  oom: 'oom-linux',
});

/** The default services: the kernel's shared mechanisms, the process layer, then the debug tooling (invariant checks, snapshots). */
export const DEFAULT_SERVICES: readonly string[] = Object.freeze(['mm', 'process', 'debug']);

/** What createSimulator fills in. */
export const DEFCONFIG: Distribution = Object.freeze({
  plugins: BUILTIN_PLUGINS,
  defaults: DEFAULT_PLUGINS,
  services: DEFAULT_SERVICES,
  layoutMachine,
});

/**
 * Validates `config`, composes it over the defaults and boots it: core's
 * createSimulator with {@link DEFCONFIG}. Points the config names replace
 * the default's; `services`, when given, replaces the default list.
 */
export function createSimulator(config: SimulatorConfig = {}): Promise<Simulator> {
  return composeSimulator(config, DEFCONFIG);
}

export * from '@mmsim/core';
export * from '@mmsim/mm';
export * from '@mmsim/process';
export * from '@mmsim/workload';
export * from '@mmsim/machine';
export * from '@mmsim/debug';
