/**
 * Injection tokens: the five extension points and the core services a
 * plugin may depend on. Each token is typed with the interface it resolves
 * to; resolve with {@link resolveToken} to keep the type.
 * @module
 */
import type { DependencyContainer } from 'tsyringe';
import type { EventBus } from './events.js';
import type { SimClock } from './clock.js';
import type { Random } from './random.js';
import type { Sysctl } from './sysctl.js';
import type { Topology } from './topology.js';
import type { MemoryModel } from './memory-model.js';
import type { PageAllocator } from './page-allocator.js';
import type { SlabAllocator, Shrinker } from './slab-allocator.js';
import type { ReclaimPolicy } from './reclaim.js';
import type { OomScorer } from './oom.js';
import type { ProcEntry } from './proc.js';
import type { DelayedWorkQueue } from './timer.js';
import type { Snapshotter } from './snapshot.js';
import type { InvariantCheck, MemoryHotplug, OomKiller, PageOwnerOps, PageOwners, Percpu, Reclaim, TaskTable, Vmalloc, VmStat } from './services.js';
import type { PageCache, Processes, SwapSpace } from './process.js';

/** A typed injection token: a symbol that remembers the type it resolves to. */
export type Token<T> = symbol & { readonly __type?: T };

function token<T>(description: string): Token<T> {
  return Symbol.for(`mmsim:${description}`) as Token<T>;
}

/** Extension point: the physical memory model (FLATMEM / DISCONTIGMEM / SPARSEMEM). */
export const MEMORY_MODEL = token<MemoryModel>('MemoryModel');
/** Extension point: the page allocator (zoned buddy). */
export const PAGE_ALLOCATOR = token<PageAllocator>('PageAllocator');
/** Extension point: the small-object allocator (SLAB / SLUB / SLOB). */
export const SLAB_ALLOCATOR = token<SlabAllocator>('SlabAllocator');
/** Extension point: the reclaim policy (LRU lists). */
export const RECLAIM_POLICY = token<ReclaimPolicy>('ReclaimPolicy');
/** Extension point: the OOM scorer. */
export const OOM_SCORER = token<OomScorer>('OomScorer');

/** Core service: nodes, zones, zonelists, CPUs. */
export const TOPOLOGY = token<Topology>('Topology');
/** Core service: the sysctl table. */
export const SYSCTL = token<Sysctl>('Sysctl');
/** Core service: the tracepoint event bus. */
export const EVENTS = token<EventBus>('EventBus');
/** Core service: the simulated clock. */
export const CLOCK = token<SimClock>('SimClock');
/** Core service: the simulator's seeded random source. */
export const RANDOM = token<Random>('Random');
/** Core service: the delayed-work queue of the simulated daemons (kcompactd, the vmstat worker), run by Simulator.tick(). */
export const TIMERS = token<DelayedWorkQueue>('DelayedWorkQueue');

// ---- services: the kernel's shared mechanisms (implemented outside core, e.g. @mmsim/mm) ----

/** Service: vm counters that cross mechanisms (node stats, vm events). */
export const VMSTAT = token<VmStat>('VmStat');
/** Service: swap devices, slots and the swap cache. */
export const SWAP = token<SwapSpace>('SwapSpace');
/** Service: the task table (what the OOM killer iterates). */
export const TASKS = token<TaskTable>('TaskTable');
/** Service: the process layer — tasks, address spaces, faults, fork / exec / exit. */
export const PROCESSES = token<Processes>('Processes');
/** Service: files and the page cache. */
export const PAGE_CACHE = token<PageCache>('PageCache');
/** Service: the page-owner registry (migrate, evict, describe a page through its owner). */
export const PAGE_OWNERS = token<PageOwners>('PageOwners');
/** Service: the reclaim engine (kswapd, direct and node reclaim, shrink_node, shrink_slab). */
export const RECLAIM = token<Reclaim>('Reclaim');
/** Service: the OOM killer. */
export const OOM_KILLER = token<OomKiller>('OomKiller');
/** Service: vmalloc / vfree. */
export const VMALLOC = token<Vmalloc>('Vmalloc');
/** Service: alloc_percpu / free_percpu. */
export const PERCPU = token<Percpu>('Percpu');
/** Service: memory hotplug (online / offline pages). */
export const MEMORY_HOTPLUG = token<MemoryHotplug>('MemoryHotplug');

/** The service tokens, in boot order (each is resolved at boot, so it is in every snapshot). */
export const SERVICE_TOKENS: readonly symbol[] = [VMSTAT, SWAP, TASKS, PAGE_OWNERS, RECLAIM, OOM_KILLER, VMALLOC, PERCPU, MEMORY_HOTPLUG, PAGE_CACHE, PROCESSES];

/** Tooling: takes and restores snapshots (sim.snapshot(), `restore`); e.g. @mmsim/debug's. */
export const SNAPSHOTTER = token<Snapshotter>('Snapshotter');
/** Contribution point (many): shrinkers, collected with `@injectAll(SHRINKER)`. Composes in sequence, in registration order. */
export const SHRINKER = token<Shrinker>('Shrinker');
/** Contribution point (many): /proc views. First registration of a name wins. */
export const PROC_ENTRY = token<ProcEntry>('ProcEntry');
/** Contribution point (many): page owners (migrate / evict / describe), collected by the PAGE_OWNERS service. */
export const PAGE_OWNER = token<PageOwnerOps>('PageOwner');
/** Contribution point (many): invariant checks; sim.check() runs them in sequence, in registration order. */
export const INVARIANT_CHECK = token<InvariantCheck>('InvariantCheck');

/** A getter of a token's instance, resolved on first call: breaks a construction cycle (the page allocator calls reclaim, reclaim asks the page allocator). */
export type Lazy<T> = () => T;

/**
 * The token of a lazy getter for `t`, registered by the composition for
 * every extension point and service: inject `lazy(RECLAIM)` where the
 * dependency is only needed after boot.
 */
export function lazy<T>(t: Token<T>): Token<Lazy<T>> {
  return Symbol.for(`mmsim:lazy:${t.description ?? ''}`) as Token<Lazy<T>>;
}

/** The token of a lazy getter of every contribution to `t` (resolved on each call: contributions are few and calls rare). */
export function lazyAll<T>(t: Token<T>): Token<Lazy<T[]>> {
  return Symbol.for(`mmsim:lazyAll:${t.description ?? ''}`) as Token<Lazy<T[]>>;
}

/** Contribution points, whose lazyAll getters the composition registers. */
export const CONTRIBUTION_TOKENS: readonly symbol[] = [SHRINKER, PROC_ENTRY, PAGE_OWNER, INVARIANT_CHECK];

/** The extension points, keyed by their config key. */
export const EXTENSION_POINTS = {
  memoryModel: MEMORY_MODEL,
  pageAllocator: PAGE_ALLOCATOR,
  slab: SLAB_ALLOCATOR,
  reclaim: RECLAIM_POLICY,
  oom: OOM_SCORER,
} as const;

/** A config key naming an extension point. */
export type ExtensionPointKey = keyof typeof EXTENSION_POINTS;

/** Human name of an extension point token (for errors). */
export function extensionPointName(t: symbol): string {
  return t.description?.replace(/^mmsim:/, '') ?? String(t);
}

/** container.resolve with the token's type kept. */
export function resolveToken<T>(c: DependencyContainer, t: Token<T>): T {
  return c.resolve<T>(t);
}
