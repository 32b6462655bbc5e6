/**
 * The slub_debug= boot parameter (mm/slub.c: setup_slub_debug(),
 * parse_slub_debug_flags(), kmem_cache_flags()): which debug flags each
 * cache gets. SLUB takes it as the kernel does; the slab plugin's `debug`
 * option takes the same syntax (CONFIG_DEBUG_SLAB itself only knows
 * FORCED_DEBUG for every cache), so the parser is shared.
 * @module
 */
import {
  DEBUG_DEFAULT_FLAGS, MmsimError, SLAB_CONSISTENCY_CHECKS, SLAB_FAILSLAB, SLAB_NOLEAKTRACE, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER,
  SLAB_TRACE,
} from '@mmsim/core';

/**
 * slub_debug= as the kernel parses it (parse_slub_debug_flags /
 * kmem_cache_flags): `FZPU` for every cache, `ZP,kmalloc-64,dentry` for
 * some, blocks separated by `;`, `*` globs at the end of a name, `-`
 * switching off, `O` keeping debug metadata off caches whose order it would
 * raise. The empty string (a bare `slub_debug`) is full debugging.
 */
export interface SlabDebugSpec {
  /** Flags for caches no block names (slub_debug). */
  global: number;
  /** Blocks with a slab list, in order: the first that names a cache decides its flags. */
  blocks: { flags: number; slabs: string[] }[];
  /** `O`: drop metadata debugging where it would raise the slab order (disable_higher_order_debug). */
  higherOrderDisable: boolean;
}

/** Parses a slub_debug= value (the part after `=`; '' for a bare `slub_debug`). Throws EINVAL for an unknown flag letter. */
export function parseSlabDebug(str: string): SlabDebugSpec {
  const spec: SlabDebugSpec = { global: DEBUG_DEFAULT_FLAGS, blocks: [], higherOrderDisable: false };
  if (str === '') return spec;
  let globalChanged = false;
  for (const block of str.split(';')) {
    if (block === '') continue;
    const comma = block.indexOf(',');
    const letters = comma < 0 ? block : block.slice(0, comma);
    // ',slabs' without letters: full debugging for those slabs
    let flags = comma === 0 ? DEBUG_DEFAULT_FLAGS : 0;
    for (const ch of letters.toLowerCase()) {
      switch (ch) {
        case '-': flags = 0; break;
        case 'f': flags |= SLAB_CONSISTENCY_CHECKS; break;
        case 'z': flags |= SLAB_RED_ZONE; break;
        case 'p': flags |= SLAB_POISON; break;
        case 'u': flags |= SLAB_STORE_USER; break;
        case 't': flags |= SLAB_TRACE; break;
        case 'a': flags |= SLAB_FAILSLAB; break;
        case 'o': spec.higherOrderDisable = true; break;
        default:
          throw new MmsimError('EINVAL', `slub_debug: unknown option '${ch}' in '${str}' (use F, Z, P, U, T, A, O or -)`, { details: { slub_debug: str } });
      }
    }
    if (comma < 0) {
      spec.global = flags;
      globalChanged = true;
    } else {
      spec.blocks.push({ flags, slabs: block.slice(comma + 1).split(',').filter((x) => x !== '') });
    }
  }
  // a list of slabs alone leaves the other caches without debugging
  if (spec.blocks.length > 0 && !globalChanged) spec.global = 0;
  return spec;
}

/** kmem_cache_flags(): a cache's flags with the slub_debug options that apply to its name. */
export function slabDebugFlags(spec: SlabDebugSpec | undefined, flags: number, name: string): number {
  if (!spec) return flags;
  for (const b of spec.blocks) {
    for (const pat of b.slabs) {
      const glob = pat.indexOf('*');
      if (glob >= 0 ? name.startsWith(pat.slice(0, glob)) : name === pat) return flags | b.flags;
    }
  }
  let global = spec.global;
  // debugging caches (kmemleak's own) do not store users unless asked by name
  if (flags & SLAB_NOLEAKTRACE) global &= ~SLAB_STORE_USER;
  return flags | global;
}
