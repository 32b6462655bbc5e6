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
import type { Kernel } from './kernel.js';

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
/** Core service: the kernel (lazy access to every extension point, for paths that cross them, e.g. slow path → reclaim → OOM). */
export const KERNEL = token<Kernel>('Kernel');
/** Contribution point (many): shrinkers, collected with `@injectAll(SHRINKER)`. Composes in sequence, in registration order. */
export const SHRINKER = token<Shrinker>('Shrinker');
/** Contribution point (many): extra /proc views. First registration of a name wins. */
export const PROC_ENTRY = token<ProcEntry>('ProcEntry');

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
