import { z, type Token } from '@mmsim/core';

/** Options of the slob plugin. */
export const slobOptionsSchema = z.object({
  /**
   * The kernel's SLOB keeps one set of partially free pages for every
   * request, so a GFP_DMA kmalloc may be served from a ZONE_NORMAL page
   * that happens to have room. `false` (the default) keeps separate lists
   * per zone the pages came from (DMA, DMA32, the rest), so gfp zone
   * modifiers hold as the SlabAllocator API promises; `true` is the
   * kernel's behaviour.
   */
  sharedZoneLists: z.boolean().default(false),
}).strict();

/** Validated options of the slob plugin. */
export type SlobOptions = z.output<typeof slobOptionsSchema>;

/** The slob plugin's validated options, bound per simulator. */
export const SLOB_OPTIONS = Symbol.for('mmsim:slob:options') as Token<SlobOptions>;
