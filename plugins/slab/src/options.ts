import { z, type Token } from '@mmsim/core';

/** Options of the slab plugin (the kernel's boot parameters and config choices). */
export const slabOptionsSchema = z.object({
  /** slab_max_order= (default: 1 on machines with more than 32 MiB, else 0 — SLAB_MAX_ORDER_HI / _LO). */
  maxOrder: z.number().int().min(0).max(10).optional(),
  /** noaliencache: no alien caches for objects freed on another node's CPU (default: alien caches on NUMA machines). */
  noAlienCache: z.boolean().default(false),
  /** slab_merge: let kmem_cache_create() reuse a compatible cache (Linux default: merge; here off unless asked). */
  merge: z.boolean().default(false),
  /** CONFIG_MEMCG_KMEM: kmalloc-cg-* caches for __GFP_ACCOUNT. */
  memcg: z.boolean().default(false),
  /** cache_line_size(): SLAB_HWCACHE_ALIGN and the colour offset. */
  cacheLineSize: z.number().int().min(8).max(4096).refine((v) => (v & (v - 1)) === 0, 'a power of two').default(64),
  /**
   * Debugging. `true` is CONFIG_DEBUG_SLAB's FORCED_DEBUG: red zones and
   * user tracking on every cache whose size that does not push past a power
   * of two, poisoning on every cache but RCU ones. A string uses
   * slub_debug= syntax (`'ZP'`, `'PU,dentry'`, ...); SLAB knows Z, P and U
   * (F and T are accepted and ignored). Caches may always ask for
   * SLAB_RED_ZONE / SLAB_POISON / SLAB_STORE_USER themselves.
   */
  debug: z.union([z.boolean(), z.string().regex(/^[-fzptuaoFZPTUAO]*(,[^;]*)?(;[-fzptuaoFZPTUAO]*(,[^;]*)?)*$/, 'slub_debug syntax: flags (F Z P U T A O -)[,slab,...][;...]')]).optional(),
  /**
   * cache_reap() runs from a per-CPU timer every REAPTIMEOUT_AC (2 s); the
   * simulator runs it on the allocator's slow paths once the simulated
   * clock has passed the next reap time. `false` runs it only when
   * cacheReap() is called.
   */
  autoReap: z.boolean().default(true),
}).strict();

/** Validated options of the slab plugin. */
export type SlabOptions = z.output<typeof slabOptionsSchema>;

/** The slab plugin's validated options, bound per simulator. */
export const SLAB_OPTIONS = Symbol.for('mmsim:slab:options') as Token<SlabOptions>;
