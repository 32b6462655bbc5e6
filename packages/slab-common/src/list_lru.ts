/**
 * list_lru (mm/list_lru.c) and the shrinker of reclaimable slab caches.
 *
 * In Linux a SLAB_RECLAIM_ACCOUNT cache is reclaimable because its owner
 * (the dcache, the inode cache) keeps unused objects on a per-node list_lru
 * and registers a shrinker whose count_objects is the LRU length and whose
 * scan_objects isolates the oldest entries and frees them. The slab
 * allocators here give every reclaimable cache such an LRU ({@link
 * SlabAllocator.lruAdd}) and register one {@link SlabShrinker} under the
 * SHRINKER token that counts and scans all of them.
 * @module
 */
import type { KmemCache, Shrinker } from '@mmsim/core';

/** struct list_lru: per-node lists of unused objects, oldest first. */
export class ListLru {
  /** Per node: object → true, in insertion order (a Map keeps it: the head is the oldest). */
  private readonly nodes: Map<number, Map<number, true>> = new Map();
  private readonly where = new Map<number, number>();

  /** list_lru_add(): false when the object is already on the list. */
  add(ptr: number, nid: number): boolean {
    if (this.where.has(ptr)) return false;
    let l = this.nodes.get(nid);
    if (!l) this.nodes.set(nid, (l = new Map()));
    l.set(ptr, true);
    this.where.set(ptr, nid);
    return true;
  }

  /** list_lru_del(): false when the object is not on the list. */
  del(ptr: number): boolean {
    const nid = this.where.get(ptr);
    if (nid === undefined) return false;
    this.where.delete(ptr);
    this.nodes.get(nid)!.delete(ptr);
    return true;
  }

  has(ptr: number): boolean {
    return this.where.has(ptr);
  }

  /** list_lru_count_node() */
  count(nid: number): number {
    return this.nodes.get(nid)?.size ?? 0;
  }

  /** list_lru_count() over every node. */
  get size(): number {
    return this.where.size;
  }

  /** list_lru_walk_node() isolating up to `n` entries from the head (the oldest). */
  isolate(nid: number, n: number): number[] {
    const l = this.nodes.get(nid);
    const out: number[] = [];
    if (!l) return out;
    for (const ptr of l.keys()) {
      if (out.length >= n) break;
      out.push(ptr);
    }
    for (const ptr of out) {
      l.delete(ptr);
      this.where.delete(ptr);
    }
    return out;
  }
}

interface Tracked {
  cache: KmemCache;
  lru: ListLru;
  release: ((ptr: number) => void) | undefined;
}

/**
 * The shrinker of an allocator's reclaimable caches: count_objects sums
 * the LRUs of every SLAB_RECLAIM_ACCOUNT cache on the node; scan_objects
 * splits the scan among them in proportion to their counts (as shrink_slab
 * would split it among their owners' shrinkers), calls each object's
 * `release` and frees it.
 */
export class SlabShrinker implements Shrinker {
  private readonly tracked = new Map<number, Tracked>();

  /**
   * @param name shrinker name (shown in mm_shrink_slab_* events)
   * @param free kmem_cache_free() of the allocator
   */
  constructor(readonly name: string, private readonly free: (cache: KmemCache, ptr: number) => void) {}

  /** Gives a reclaimable cache its LRU (at kmem_cache_create). */
  track(cache: KmemCache, release?: (ptr: number) => void): void {
    this.tracked.set(cache.id, { cache, lru: new ListLru(), release });
  }
  /** At kmem_cache_destroy. */
  untrack(cache: KmemCache): void {
    this.tracked.delete(cache.id);
  }
  /** The LRU of a tracked cache, or undefined for a cache that is not reclaimable. */
  lru(cache: KmemCache): ListLru | undefined {
    return this.tracked.get(cache.id)?.lru;
  }
  /** An object of a tracked cache was freed by its owner: it leaves the LRU. */
  forget(cacheId: number, ptr: number): void {
    this.tracked.get(cacheId)?.lru.del(ptr);
  }

  countObjects(nid: number): number {
    let n = 0;
    for (const t of this.tracked.values()) n += t.lru.count(nid);
    return n;
  }

  scanObjects(nid: number, nrToScan: number): number {
    const total = this.countObjects(nid);
    if (total === 0 || nrToScan <= 0) return 0;
    let left = Math.min(nrToScan, total);
    let freed = 0;
    for (const t of [...this.tracked.values()]) {
      if (left === 0) break;
      const c = t.lru.count(nid);
      if (c === 0) continue;
      const share = Math.min(left, Math.ceil((nrToScan * c) / total));
      for (const ptr of t.lru.isolate(nid, share)) {
        t.release?.(ptr);
        this.free(t.cache, ptr);
        freed++;
      }
      left -= share;
    }
    return freed;
  }
}
