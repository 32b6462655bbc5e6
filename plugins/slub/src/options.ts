import { z, type Token } from '@mmsim/core';

/** Options of the slub plugin (the kernel's boot parameters and config choices). */
export const slubOptionsSchema = z.object({
  /** slab_min_objects= (0: derived from the CPU count, as the kernel does). */
  minObjects: z.number().int().min(0).max(32767).default(0),
  /** slab_min_order= */
  minOrder: z.number().int().min(0).max(10).default(0),
  /** slab_max_order= (PAGE_ALLOC_COSTLY_ORDER by default). */
  maxOrder: z.number().int().min(0).max(10).default(3),
  /** CONFIG_SLUB_CPU_PARTIAL: per-CPU partial slab lists. */
  cpuPartial: z.boolean().default(true),
  /** slab_merge / slab_nomerge: let kmem_cache_create() reuse a compatible cache (Linux default: merge; here off unless asked). */
  merge: z.boolean().default(false),
  /** CONFIG_MEMCG with kmem accounting: kmalloc-cg-* caches for __GFP_ACCOUNT, `accounted` in events. */
  memcg: z.boolean().default(false),
  /** cache_line_size(): what SLAB_HWCACHE_ALIGN aligns to. */
  cacheLineSize: z.number().int().min(8).max(4096).refine((v) => (v & (v - 1)) === 0, 'a power of two').default(64),
  /** nr_cpu_ids, used by calculate_order() when only one CPU is present (default: the machine's CPU count). */
  nrCpuIds: z.number().int().min(1).max(8192).optional(),
  /**
   * /proc/slabinfo active_objs: false (the kernel) counts free objects on the
   * node partial lists only, so objects free on CPU slabs and CPU partial
   * slabs show as active; true counts exactly the live objects.
   */
  exactSlabinfo: z.boolean().default(false),
  /**
   * slub_debug= (slab_debug=): `true` for a bare `slub_debug` (F, Z, P and
   * U on every cache), or the option string, e.g. `'FZ'`,
   * `'ZPU,kmalloc-64,dentry'`, `'P;Z,kmalloc-*'`. Debugging is off by default.
   */
  debug: z.union([z.boolean(), z.string().regex(/^[-fzptuaoFZPTUAO]*(,[^;]*)?(;[-fzptuaoFZPTUAO]*(,[^;]*)?)*$/, 'slub_debug syntax: flags (F Z P U T A O -)[,slab,...][;...]')]).optional(),
}).strict();

/** Validated options of the slub plugin. */
export type SlubOptions = z.output<typeof slubOptionsSchema>;

/** The slub plugin's validated options, bound per simulator. */
export const SLUB_OPTIONS = Symbol.for('mmsim:slub:options') as Token<SlubOptions>;
