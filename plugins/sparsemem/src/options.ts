import type { Token } from '@mmsim/core';
import type { SparsememOptions } from './sparse.js';
/** The sparsemem plugin's validated options, bound per simulator. */
export const SPARSEMEM_OPTIONS = Symbol.for('mmsim:sparsemem:options') as Token<SparsememOptions>;
