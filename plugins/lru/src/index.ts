/**
 * @mmsim/plugin-lru — the two-list (active/inactive) LRU reclaim policy.
 * @module @mmsim/plugin-lru
 */
import { definePlugin, Lifecycle, RECLAIM_POLICY } from '@mmsim/core';
import { LruReclaim } from './vmscan.js';

export {
  LruReclaim, LruVec, ScanBalance, SWAP_CLUSTER_MAX, MAX_SWAPPINESS, DEACTIVATE_ANON, DEACTIVATE_FILE,
  folioLruList, isFileLru, isActiveLru, type Isolated, type ScanState,
  PAGEMAP_MAPPED, PAGEMAP_ANONYMOUS, PAGEMAP_FILE, PAGEMAP_SWAPCACHE, PAGEMAP_SWAPBACKED, PAGEMAP_MAPPEDDISK, PAGEMAP_BUFFERS,
} from './vmscan.js';

export default definePlugin({
  name: 'lru',
  provides: RECLAIM_POLICY,
  apiVersion: '1',
  description: 'Two-list LRU: inactive/active x anon/file plus unevictable per node, second-access promotion, swappiness-balanced shrink',
  register(container) {
    container.register(RECLAIM_POLICY, { useClass: LruReclaim }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
