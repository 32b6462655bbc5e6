import type { Token } from '@mmsim/core';
import type { BuddyOptions } from './page_alloc.js';
/** The buddy plugin's validated options, bound per simulator. */
export const BUDDY_OPTIONS = Symbol.for('mmsim:buddy:options') as Token<BuddyOptions>;
