import type { Token } from '@mmsim/core';
import type { WatermarkFormula } from './watermark_calc.js';

/** Options of the buddy plugin. */
export interface BuddyOptions {
  /**
   * Group pages by mobility (2.6.24+: free lists per migrate type,
   * pageblocks, fallbacks). false: page_group_by_mobility_disabled, every
   * allocation uses one list per order.
   */
  mobilityGrouping: boolean;
  /** Per-CPU page lists (order 0..3 and THP per CPU per zone). false: every page goes to and from the buddy lists. */
  pcp: boolean;
  /** Watermark formula; default `classic` for kernels before 4.6, `scale-factor` after. */
  watermarks?: WatermarkFormula;
  /** CONFIG_COMPACTION: direct compaction in the slow path and kcompactd. */
  compaction: boolean;
  /** Run kswapd (synchronously) when an allocation wakes it: the `run` argument of the reclaim engine's wakeupKswapd(). */
  kswapd: boolean;
  /** Run kcompactd (synchronously) when kswapd or an allocation wakes it. */
  kcompactd: boolean;
}

/** The buddy plugin's validated options, bound per simulator. */
export const BUDDY_OPTIONS = Symbol.for('mmsim:buddy:options') as Token<BuddyOptions>;
