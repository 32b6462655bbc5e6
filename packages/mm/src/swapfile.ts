/**
 * Swap space (mm/swapfile.c): total_swap_pages and nr_swap_pages. The
 * simulator has no swap devices; whoever models swapping out moves `free`.
 * @module
 */
import { injectable, type SwapSpace } from '@mmsim/core';

/** total_swap_pages / nr_swap_pages, in pages: SWAP of @mmsim/mm. No swap until someone sets it. */
@injectable()
export class SwapInfo implements SwapSpace {
  total = 0;
  free = 0;
}
