/**
 * The event bus: one per simulator, eventemitter3 underneath, event names and
 * fields as the kernel's tracepoints (include/trace/events/kmem.h, vmscan.h,
 * oom.h). Emitters guard with `bus.enabled.<name>` — the analogue of a
 * tracepoint's static key — so an event with no listener costs one property
 * read on the hot path.
 * @module
 */
import { EventEmitter } from 'eventemitter3';

/** Tracepoint payloads. Pointers are simulated physical addresses (see formatPtr). */
export interface TraceEvents {
  mm_page_alloc: { pfn: number; order: number; gfp_flags: number; migratetype: number };
  mm_page_free: { pfn: number; order: number };
  mm_page_free_batched: { pfn: number };
  mm_page_alloc_zone_locked: { pfn: number; order: number; migratetype: number; percpu_refill: boolean };
  mm_page_pcpu_drain: { pfn: number; order: number; migratetype: number };
  mm_page_alloc_extfrag: { pfn: number; alloc_order: number; fallback_order: number; alloc_migratetype: number; fallback_migratetype: number; change_ownership: boolean };
  kmalloc: { call_site: number; ptr: number; bytes_req: number; bytes_alloc: number; gfp_flags: number; node: number; accounted: boolean };
  kfree: { call_site: number; ptr: number };
  kmem_cache_alloc: { call_site: number; ptr: number; name: string; bytes_req: number; bytes_alloc: number; gfp_flags: number; node: number; accounted: boolean };
  kmem_cache_free: { call_site: number; ptr: number; name: string };
  mm_lru_insertion: { pfn: number; lru: number; flags: number };
  mm_lru_activate: { pfn: number };
  mm_vmscan_kswapd_wake: { nid: number; zid: number; order: number };
  mm_vmscan_kswapd_sleep: { nid: number };
  mm_vmscan_wakeup_kswapd: { nid: number; zid: number; order: number; gfp_flags: number };
  mm_vmscan_direct_reclaim_begin: { order: number; gfp_flags: number };
  mm_vmscan_direct_reclaim_end: { nr_reclaimed: number };
  mm_vmscan_lru_shrink_inactive: { nid: number; nr_scanned: number; nr_reclaimed: number; nr_activate_anon: number; nr_activate_file: number; priority: number; file: boolean };
  mm_vmscan_lru_shrink_active: { nid: number; nr_taken: number; nr_active: number; nr_deactivated: number; nr_referenced: number; priority: number; file: boolean };
  mm_shrink_slab_start: { name: string; nr_objects_to_shrink: number; cache_items: number; delta: number; total_scan: number; priority: number };
  mm_shrink_slab_end: { name: string; unused_scan: number; new_scan: number; retval: number; total_scan: number };
  mark_victim: { pid: number; comm: string; total_vm: number; anon_rss: number; file_rss: number; shmem_rss: number; uid: number; pgtables: number; oom_score_adj: number };
  oom_score_adj_update: { pid: number; comm: string; oom_score_adj: number };
  mm_compaction_begin: { zone_start: number; migrate_pfn: number; free_pfn: number; zone_end: number; sync: boolean };
  mm_compaction_end: { zone_start: number; migrate_pfn: number; free_pfn: number; zone_end: number; sync: boolean; status: string };
}

/** A tracepoint name. */
export type TraceEventName = keyof TraceEvents;

/** Listener signature per tracepoint. */
export type TraceListeners = { [K in TraceEventName]: (e: TraceEvents[K]) => void };

/** Every tracepoint the bus knows, in a stable order. */
export const TRACEPOINTS = [
  'mm_page_alloc', 'mm_page_free', 'mm_page_free_batched', 'mm_page_alloc_zone_locked', 'mm_page_pcpu_drain',
  'mm_page_alloc_extfrag', 'kmalloc', 'kfree', 'kmem_cache_alloc', 'kmem_cache_free', 'mm_lru_insertion',
  'mm_lru_activate', 'mm_vmscan_kswapd_wake', 'mm_vmscan_kswapd_sleep', 'mm_vmscan_wakeup_kswapd',
  'mm_vmscan_direct_reclaim_begin', 'mm_vmscan_direct_reclaim_end', 'mm_vmscan_lru_shrink_inactive',
  'mm_vmscan_lru_shrink_active', 'mm_shrink_slab_start', 'mm_shrink_slab_end', 'mark_victim',
  'oom_score_adj_update', 'mm_compaction_begin', 'mm_compaction_end',
] as const satisfies readonly TraceEventName[];

/** Typed, tracepoint-named event bus with per-event enabled flags (eventemitter3 underneath). */
export class EventBus {
  /** `enabled[name]` is true while the event has a listener (a static key). */
  readonly enabled: Record<TraceEventName, boolean>;
  private readonly ee = new EventEmitter();

  constructor() {
    this.enabled = Object.fromEntries(TRACEPOINTS.map((n) => [n, false])) as Record<TraceEventName, boolean>;
  }

  private sync(name: TraceEventName): void {
    if (name in this.enabled) this.enabled[name] = this.ee.listenerCount(name) > 0;
  }

  /** Subscribes to a tracepoint. */
  on<T extends TraceEventName>(event: T, fn: TraceListeners[T], context?: unknown): this {
    this.ee.on(event, fn, context);
    this.sync(event);
    return this;
  }
  addListener<T extends TraceEventName>(event: T, fn: TraceListeners[T], context?: unknown): this {
    return this.on(event, fn, context);
  }
  /** Subscribes for one event; the static key drops after it fires. */
  once<T extends TraceEventName>(event: T, fn: TraceListeners[T], context?: unknown): this {
    const wrapped = ((e: never) => {
      this.off(event, wrapped as TraceListeners[T]);
      (fn as (e: never) => void).call(context, e);
    }) as TraceListeners[T];
    return this.on(event, wrapped);
  }
  /** Unsubscribes (all listeners of the event when `fn` is omitted). */
  off<T extends TraceEventName>(event: T, fn?: TraceListeners[T], context?: unknown): this {
    this.ee.off(event, fn, context);
    this.sync(event);
    return this;
  }
  removeListener<T extends TraceEventName>(event: T, fn?: TraceListeners[T], context?: unknown): this {
    return this.off(event, fn, context);
  }
  removeAllListeners(event?: TraceEventName): this {
    this.ee.removeAllListeners(event);
    if (event) this.sync(event);
    else for (const n of TRACEPOINTS) this.enabled[n] = false;
    return this;
  }
  /** Fires a tracepoint. Emitters guard with `enabled[name]` first so an unwatched event builds no payload. */
  emit<T extends TraceEventName>(event: T, payload: TraceEvents[T]): boolean {
    return this.ee.emit(event, payload);
  }
  listenerCount(event: TraceEventName): number {
    return this.ee.listenerCount(event);
  }
}
