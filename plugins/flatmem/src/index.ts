/**
 * @mmsim/plugin-flatmem — the FLATMEM memory model.
 * @module @mmsim/plugin-flatmem
 */
import { definePlugin, Lifecycle, MEMORY_MODEL } from '@mmsim/core';
import { FlatMem } from './flatmem.js';

export { FlatMem };

export default definePlugin({
  name: 'flatmem',
  provides: MEMORY_MODEL,
  apiVersion: '1',
  description: 'FLATMEM: one mem_map over [min pfn, max pfn], holes included',
  register(container) {
    container.register(MEMORY_MODEL, { useClass: FlatMem }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
