/**
 * Interfaces of the kernel's shared mechanisms (the services layer): what a
 * plugin may ask of them through their tokens. Core holds only the
 * contracts; the implementations live in service packages (the project's
 * own is `@mmsim/mm`), chosen by the composition like plugins are.
 * @module
 */
import type { PageOwner } from './page.js';
import type { FolioReclaimer, ScanControl } from './reclaim.js';
import type { OomControl, Task } from './oom.js';
import type { ProcessTask } from './process.js';
import type { Zone } from './topology.js';

/**
 * The vm counters that cross mechanisms: node-stat counters in pages by
 * /proc/vmstat name (nr_anon_pages, nr_file_pages, nr_mapped, nr_dirty,
 * nr_vmalloc, ...; nr_kernel_stack in kB) — whoever owns such pages keeps
 * them current — and vm event counters (pgsteal_kswapd, oom_kill,
 * allocstall_normal, ...). /proc/vmstat adds the page allocator's own.
 */
export interface VmStat {
  /** Node stat items (global_node_page_state), by name. */
  readonly node: Record<string, number>;
  /** vm_event_states (count_vm_events), by name. */
  readonly events: Record<string, number>;
}

/**
 * The task table the OOM killer chooses from (task_struct with its mm's
 * counters): the tasks PROCESSES made, in pid order. Tasks are created and
 * end through PROCESSES (spawn, fork, exit); their counters derive from
 * their address spaces.
 */
export interface TaskTable {
  /** The task with `pid`, or ETASK_UNKNOWN. */
  get(pid: number): ProcessTask;
  has(pid: number): boolean;
  /** for_each_process, in pid order. */
  all(): ProcessTask[];
  /**
   * Nesting depth of PF_MEMALLOC on the current task: reclaim and
   * compaction set it so their own allocations may use the reserves and do
   * not recurse into reclaim.
   */
  memalloc: number;
  /** current->il_prev: the node the last MPOL_INTERLEAVE allocation used (−1: none yet). */
  ilPrev: number;
}

/**
 * A page owner (what an address_space's a_ops are to its folios): how
 * reclaim and compaction reach the owner of a kind of page. Contributed
 * under PAGE_OWNER, many per kind; how each hook composes is said on it.
 */
export interface PageOwnerOps {
  /** Required; errors about the owner carry it. */
  readonly name: string;
  /** The kind of page it owns (page->owner kind in the page-frame table). */
  readonly kind: PageOwner;
  /**
   * migrate_folio(): one of its pages moved from oldPfn to newPfn — update
   * every reference. In sequence: every owner of the kind is told. A kind
   * with a migrate hook is movable.
   */
  migrate?(oldPfn: number, newPfn: number): void;
  /**
   * try_to_unmap() + __remove_mapping(): reclaim picked one of its pages
   * (already off the LRU). Drop every reference, free it and return true, or
   * return false to keep it. For an anonymous page the engine has written
   * it to swap first and passes the `swapEntry` (SwapSpace): the owner puts
   * it in every PTE that mapped the page, one swapDuplicate() each. First
   * wins: owners of the kind are asked in order until one gives the page up.
   */
  evict?(pfn: number, swapEntry?: number): boolean;
  /**
   * Is `pfn` one of this owner's pages? Owners that share a kind with
   * others (the process layer's anon and page-cache pages beside a
   * workload's) say so: the registry then asks them only about their own
   * pages. Without it, the owner takes every page of its kind.
   */
  owns?(pfn: number): boolean;
  /** What the page is, for page_owner-style reports. First wins (first non-undefined). */
  describe?(pfn: number): string | undefined;
}

/** The page-owner registry: contributions and run-time registrations, and the mechanisms that reach owners. */
export interface PageOwners {
  /** Registers an owner at run time (a workload's). Returns an unregister function. */
  register(ops: PageOwnerOps): () => void;
  /** Can the allocated block at `pfn` be migrated (an owner of its kind migrates, nobody else holds it)? */
  isMovable(pfn: number): boolean;
  /** migrate_pages() for one block: `dst` takes over `src`'s state and owner; `src` is left for the caller to free. */
  migratePage(src: number, dst: number): void;
  /** Any owner able to give pages up? (no evictor: reclaim leaves the LRU alone) */
  canEvict(): boolean;
  /** Asks the owners of `pfn`'s kind to give it up (an anon page with the swap entry it was written to); true when one did. */
  evict(pfn: number, swapEntry?: number): boolean;
  /** describe() of the first owner of `pfn`'s kind that knows it. */
  describe(pfn: number): string | undefined;
}

/** Where a direct reclaim runs (the allocation's context, as try_to_free_pages gets it). */
export interface ReclaimRequest {
  gfp: number;
  order: number;
  /** Highest zone index that helps (ac->highest_zoneidx). */
  highestZoneidx: number;
  /** Nodes to reclaim from, in zonelist order. */
  nodes: readonly number[];
}

/**
 * The reclaim engine (mm/vmscan.c): everything reclaim does that is not a
 * policy. Any page allocator's slow path calls it, as page_alloc.c calls
 * wakeup_kswapd, try_to_free_pages and node_reclaim; a reclaim policy hands
 * it each batch it isolates (shrinkFolioList: shrink_folio_list).
 */
export interface Reclaim extends FolioReclaimer {
  /**
   * wakeup_kswapd(): records the order and zone kswapd of `zone`'s node
   * should balance for and, when `run`, lets it run (balance_pgdat).
   */
  wakeupKswapd(zone: Zone, gfp: number, order: number, highestZoneidx: number, run?: boolean): void;
  /** try_to_free_pages(): direct reclaim of SWAP_CLUSTER_MAX pages; returns the pages freed. */
  tryToFreePages(req: ReclaimRequest): number;
  /** node_reclaim() for vm.zone_reclaim_mode: NODE_RECLAIM_* result. */
  nodeReclaim(nid: number, gfp: number, order: number, highestZoneidx: number, localNid: number): number;
  /** shrink_node() priority by priority down to `minPriority`; returns the pages freed (also added to sc.nrReclaimed). */
  shrinkNode(sc: ScanControl, minPriority?: number): number;
  /** zone_reclaimable_pages(): the zone's file LRU, and its anon LRU when swap has room. */
  zoneReclaimablePages(zone: Zone): number;
  /** pgdat->kswapd_failures of node `nid`. */
  kswapdFailures(nid: number): number;
}

/** NODE_RECLAIM_* results of node_reclaim(). */
export const NODE_RECLAIM_NOSCAN = -2;
export const NODE_RECLAIM_FULL = -1;
export const NODE_RECLAIM_SOME = 0;
export const NODE_RECLAIM_SUCCESS = 1;

/** The OOM killer (mm/oom_kill.c): selects with the configured OOM_SCORER, kills, counts. */
export interface OomKiller {
  /** out_of_memory(): picks a victim and marks it; null when no task is eligible. */
  outOfMemory(oc?: Partial<OomControl>): Task | null;
  /** totalram_pages() + total_swap_pages: what oom_badness scores against. */
  totalPages(): number;
  /** tsk_is_oom_victim(): task `pid` was chosen and may use the reserves. */
  isVictim(pid: number): boolean;
}

/** vmalloc / vfree over the page allocator (mm/vmalloc.c). */
export interface Vmalloc {
  vmalloc(size: number, opts?: { gfp?: number; nid?: number; align?: number; caller?: string }): number | null;
  vzalloc(size: number, opts?: { gfp?: number; nid?: number; align?: number; caller?: string }): number | null;
  vfree(addr: number | null): void;
  /** vmalloc_to_pfn() */
  vmallocToPfn(addr: number): number | null;
  /** /proc/vmallocinfo */
  showVmallocinfo(): string;
}

/** alloc_percpu / free_percpu (mm/percpu.c). */
export interface Percpu {
  allocPercpu(size: number, align?: number, gfp?: number): number | null;
  freePercpu(ptr: number | null): void;
  /** per_cpu_ptr() */
  perCpuPtr(ptr: number, cpu: number): number;
}

/** Memory hotplug (mm/memory_hotplug.c), for memory models that can online and offline sections. */
export interface MemoryHotplug {
  /** Present pfn ranges of the machine within [start, end). */
  presentRangesIn(start: number, end: number): { start: number; end: number }[];
  /** The zone of node `nid` the range goes into when onlined as `type` (zone_for_pfn_range). */
  zoneForPfnRange(nid: number, start: number, end: number, type: string): Zone;
  /** online_pages() */
  onlinePages(start: number, end: number, zone: Zone, present: readonly { start: number; end: number }[]): void;
  /** offline_pages(): migrates what is movable, takes the free pages off; returns the pages offlined. */
  offlinePages(start: number, end: number): number;
}

/** An invariant check (CONFIG_DEBUG_VM): contributed under INVARIANT_CHECK; sim.check() runs them all in sequence. */
export interface InvariantCheck {
  readonly name: string;
  /** Throws a typed error (ECORRUPT, ...) naming what is wrong. */
  check(): void;
}
