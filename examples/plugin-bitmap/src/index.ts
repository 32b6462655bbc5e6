/**
 * mmsim-plugin-bitmap — an example third-party page allocator for mmsim.
 * Use it with `plugins: { pageAllocator: 'mmsim-plugin-bitmap' }`.
 * @module mmsim-plugin-bitmap
 */
import { definePlugin, Lifecycle, PAGE_ALLOCATOR } from '@mmsim/core';
import { BitmapAllocator } from './bitmap.js';

export { BitmapAllocator };

export default definePlugin({
  name: 'bitmap',
  provides: PAGE_ALLOCATOR,
  apiVersion: '1',
  description: 'Next-fit bitmap page allocator (example third-party plugin)',
  register(container) {
    container.register(PAGE_ALLOCATOR, { useClass: BitmapAllocator }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
