/**
 * @mmsim/plugin-discontigmem — the DISCONTIGMEM memory model: one mem_map
 * per node.
 * @module @mmsim/plugin-discontigmem
 */
import { definePlugin, Lifecycle, MEMORY_MODEL } from '@mmsim/core';
import { DiscontigMem, type NodeMemMap } from './discontig.js';

export { DiscontigMem, type NodeMemMap };

export default definePlugin({
  name: 'discontigmem',
  provides: MEMORY_MODEL,
  apiVersion: '1',
  description: 'DISCONTIGMEM: one node_mem_map per node, each over the node span',
  register(container) {
    container.register(MEMORY_MODEL, { useClass: DiscontigMem }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
