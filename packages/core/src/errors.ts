/**
 * Typed errors. Every error mmsim throws is an {@link MmsimError} with a
 * stable {@link ErrorCode}; the catalogue of codes (cause and remedy) is
 * {@link ERROR_CODES}.
 * @module
 */

/** Every error code mmsim throws, with its cause and what to do about it. */
export const ERROR_CODES = {
  ECONFIG: 'The configuration failed validation; the message names the field path and what was expected. Fix that field.',
  EPLUGIN_UNKNOWN: 'A plugin name is neither built in nor an importable package or path. Check the spelling, or install the package.',
  EPLUGIN_KIND: 'A plugin was configured for an extension point it does not provide (e.g. a slab allocator as `pageAllocator`). Put it under the right key.',
  EPLUGIN_API: 'A plugin was written for another plugin API version than this core. Upgrade the plugin or the core.',
  EPLUGIN_OPTIONS: 'A plugin rejected its options; the message names the plugin and the field. Fix the option.',
  EPLUGIN_INVALID: 'A module does not export a valid plugin manifest (definePlugin), or its register() did not bind the token it claims. Fix the plugin.',
  EPLUGIN_MISSING: 'A composition lacks an extension point, a service a plugin depends on, or the machine layout function: core alone has no default composition. Name a plugin for every point, list the services (`services: [\'@mmsim/mm\']`) and pass a layout function (`createSimulator(config, { layoutMachine })`, @mmsim/machine), or use createSimulator from @mmsim/defconfig, which fills in the defaults.',
  EPLUGIN_REGISTER: 'A plugin threw while registering or booting. The message carries the plugin name and the cause.',
  EFROZEN: 'A composed simulator was changed after it was frozen. Build a new simulator with the other composition.',
  EDISPOSED: 'A simulator was used after dispose(). Create a new one.',
  EMACHINE: 'The machine description is invalid (sizes, ranges, nodes). The message names the field.',
  ESYSCTL: 'An unknown sysctl name or an out-of-range value. Use the kernel name (vm.swappiness) and a value in its range.',
  EGFP_INVALID: 'An invalid gfp combination (e.g. __GFP_DMA|__GFP_HIGHMEM, or __GFP_MOVABLE|__GFP_RECLAIMABLE). Use one zone modifier and one mobility flag.',
  EBAD_ORDER: 'An order outside 0..MAX_PAGE_ORDER, or a free with another order than the allocation had. Pass the order used to allocate.',
  EBAD_PFN: 'A pfn outside the machine, in a hole, or not the head of an allocated block. Pass a pfn the allocator returned.',
  EDOUBLE_FREE: 'A page or object was freed twice. Free it once.',
  EBAD_POINTER: 'A pointer the allocator never returned (or from another cache) was passed to free. Pass what alloc returned, to the same cache.',
  EBAD_SIZE: 'An invalid size (negative, not an integer, or too large). Pass a size in range.',
  ECACHE_BUSY: 'destroyCache on a cache that still has live objects. Free them first.',
  ECACHE_UNKNOWN: 'A cache handle that is not (or no longer) a cache of this allocator.',
  EPROC_UNKNOWN: 'No /proc view of that name. See the list in the message.',
  ETASK_UNKNOWN: 'No task with that pid.',
  EHOTPLUG: 'The memory model cannot online/offline that section (unsupported model, or a page in the way).',
  EINVAL: 'An invalid argument to an API call: a flag a cache may not ask for, a CPU or node that does not exist. The message names the argument.',
  ECORRUPT: 'An invariant check (sim.check(), CONFIG_DEBUG_VM-style) found inconsistent state; the message names the pfn, cache or list and what is wrong. This is a bug in a plugin: report it.',
  ENOFAIL: 'A __GFP_NOFAIL allocation could not be satisfied after reclaim, compaction, the OOM killer and the reserves: the kernel would retry forever (a livelock), so the simulator stops it. Give the machine more memory, free pages, or let the OOM killer find a victim whose owner frees its memory.',
  EWORKLOAD: 'A malformed workload line or operation; the message names the line.',
  EOBJ_CORRUPT: 'A slab debug check (SLAB_RED_ZONE, SLAB_POISON, padding) found bytes around or in an object overwritten: an overrun, an underrun or a write after free. The message names the cache, the object address and the offset; the bytes are restored (as the kernel "FIX"es them) and the free or allocation that found it did not happen. Fix the code that wrote there.',
  ESNAPSHOT: 'A snapshot cannot be taken or restored: it is not a snapshot, it was taken from another composition, plugin options, machine or kernel version, or the state holds something a snapshot cannot carry (a closure registered at run time, a WeakMap). The message names the path; for a closure, unregister it before snapshot() and register it again after restoring.',
  EPARSE: 'A malformed line in an input file the simulator reads (a boot log, a /proc/zoneinfo); the message names the file and line number. Fix or remove that line.',
} as const;

/** A stable error code: see {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The one base class of every error mmsim throws. */
export class MmsimError extends Error {
  override readonly name = 'MmsimError';
  /** Stable code; match on this, not on the message. */
  readonly code: ErrorCode;
  /** The plugin the error comes from, when one does. */
  readonly plugin?: string;
  /** Field path in the configuration, when the error is about one. */
  readonly path?: string;
  /** Structured details (pfn, order, cache, ...). */
  readonly details?: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    extra: { plugin?: string; path?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(`${code}: ${extra.plugin ? `[${extra.plugin}] ` : ''}${message}`, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.code = code;
    if (extra.plugin !== undefined) this.plugin = extra.plugin;
    if (extra.path !== undefined) this.path = extra.path;
    if (extra.details !== undefined) this.details = extra.details;
  }
}

/** True when `e` is an MmsimError (optionally with the given code). */
export function isMmsimError(e: unknown, code?: ErrorCode): e is MmsimError {
  return e instanceof MmsimError && (code === undefined || e.code === code);
}
