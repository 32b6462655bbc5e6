/**
 * @mmsim/mm — the kernel's shared mechanisms, as services over the
 * extension points: the vm counters (VMSTAT), swap space (SWAP), the task
 * table (TASKS), page owners and migration (PAGE_OWNERS, mm/migrate.c), the
 * reclaim engine (RECLAIM, mm/vmscan.c: kswapd, direct and node reclaim,
 * shrink_node, shrink_slab), the OOM killer (OOM_KILLER), vmalloc
 * (VMALLOC), the per-CPU allocator (PERCPU), memory hotplug
 * (MEMORY_HOTPLUG), NUMA memory policies, the /proc views (PROC_ENTRY) and
 * the services' invariant checks (INVARIANT_CHECK). Depends on
 * @mmsim/core only.
 *
 * The default export is a list of plugin manifests, one per mechanism:
 * name the package under `services` (`services: ['@mmsim/mm']`).
 * @module @mmsim/mm
 */
import {
  definePlugin, type DependencyContainer, INVARIANT_CHECK, Lifecycle, MEMORY_HOTPLUG, OOM_KILLER, PAGE_OWNERS, PERCPU, type PluginManifest,
  PROC_ENTRY, RECLAIM, SWAP, TASKS, VMALLOC, VMSTAT,
} from '@mmsim/core';
import { Hotplug } from './memory_hotplug.js';
import { PageOwnerRegistry } from './migrate.js';
import { OomKill } from './oom_kill.js';
import { PercpuAllocator, PercpuCheck } from './percpu.js';
import { BuddyinfoProc, MeminfoProc, NumaProc, NumastatProc, OomScoreProc, SlabinfoProc, VmallocinfoProc } from './proc.js';
import { VmallocAllocator, VmallocCheck } from './vmalloc.js';
import { Vmscan } from './vmscan.js';
import { ExtfragIndexProc, UnusableIndexProc, VmStatCounters, VmstatProc, ZoneinfoProc } from './vmstat.js';

export { VmStatCounters, countVmEvents, calculateNormalThreshold, zoneEventName, vmEventNames, vmstatItems, globalDirtyLimits, ZONE_STAT_ITEMS, NUMA_STAT_ITEMS, NODE_STAT_ITEMS } from './vmstat.js';
export { showZoneinfo, showVmstat, showExtfragIndex, showUnusableIndex, type VmstatSources, ZoneinfoProc, VmstatProc, ExtfragIndexProc, UnusableIndexProc } from './vmstat.js';
export {
  showBuddyinfo, showSlabinfo, showMeminfo, showNumaHardware, showNumastat, nodeNumastat, totalReservePages, memAvailable, type MeminfoSources,
  BuddyinfoProc, SlabinfoProc, MeminfoProc, VmallocinfoProc, NumaProc, NumastatProc, OomScoreProc,
} from './proc.js';
export { PageOwnerRegistry } from './migrate.js';
export { Vmscan, KswapdState, SWAP_CLUSTER_MAX, NODE_RECLAIM_PRIORITY, MAX_RECLAIM_RETRIES, RECLAIM_ZONE, RECLAIM_WRITE, RECLAIM_UNMAP } from './vmscan.js';
export { OomKill } from './oom_kill.js';
export * from './vmalloc.js';
export * from './percpu.js';
export { Hotplug } from './memory_hotplug.js';
export * from './page_alloc.js';
export { allocPagesPolicy, type InterleaveState, type MemPolicy, type MempolicyContext } from './mempolicy.js';

/** Binds `cls` to `token`, container scoped (one instance per simulator). */
function scoped(c: DependencyContainer, token: symbol, cls: new (...args: never[]) => unknown): void {
  c.register(token, { useClass: cls as never }, { lifecycle: Lifecycle.ContainerScoped });
}

/** The manifest of one service: `cls` bound to `token`, container scoped. */
function service(name: string, token: symbol, cls: new (...args: never[]) => unknown, description: string): PluginManifest {
  return definePlugin({ name, provides: token, apiVersion: '1', description, register: (c) => scoped(c, token, cls) });
}

/**
 * The services, in boot order (core's SERVICE_TOKENS order), then the /proc
 * views and the invariant checks. The /proc views are registered in the
 * order /proc listed them before they left core (pagetypeinfo is the buddy
 * allocator's now).
 */
const manifests: readonly PluginManifest[] = [
  service('vmstat', VMSTAT, VmStatCounters, 'vm counters that cross mechanisms: node stat items and vm events (mm/vmstat.c)'),
  service('page-owners', PAGE_OWNERS, PageOwnerRegistry, 'page owners and page migration: migrate, evict and describe a page through its owners (mm/migrate.c)'),
  service('vmscan', RECLAIM, Vmscan, 'the reclaim engine: kswapd, direct and node reclaim, shrink_node, shrink_slab (mm/vmscan.c)'),
  service('oom-kill', OOM_KILLER, OomKill, 'the OOM killer: out_of_memory() with the configured OOM scorer (mm/oom_kill.c)'),
  service('vmalloc', VMALLOC, VmallocAllocator, 'vmalloc / vfree over the page allocator, /proc/vmallocinfo (mm/vmalloc.c)'),
  service('percpu', PERCPU, PercpuAllocator, 'alloc_percpu / free_percpu in vmalloc-backed chunks (mm/percpu.c)'),
  service('memory-hotplug', MEMORY_HOTPLUG, Hotplug, 'online_pages / offline_pages for memory models that hotplug (mm/memory_hotplug.c)'),
  definePlugin({
    name: 'proc', provides: PROC_ENTRY, apiVersion: '1',
    description: '/proc views: buddyinfo, slabinfo, meminfo, vmallocinfo, zoneinfo, vmstat, extfrag, numa, numastat, <pid>/oom_score',
    register(c) {
      for (const cls of [
        BuddyinfoProc, SlabinfoProc, MeminfoProc, VmallocinfoProc, ZoneinfoProc, VmstatProc, ExtfragIndexProc, UnusableIndexProc,
        NumaProc, NumastatProc, OomScoreProc,
      ]) scoped(c, PROC_ENTRY, cls);
    },
  }),
  definePlugin({
    name: 'mm-checks', provides: INVARIANT_CHECK, apiVersion: '1',
    description: 'invariants of vmalloc and the per-CPU allocator (CONFIG_DEBUG_VM)',
    register(c) {
      scoped(c, INVARIANT_CHECK, VmallocCheck);
      scoped(c, INVARIANT_CHECK, PercpuCheck);
    },
  }),
];

export default manifests;
