/**
 * Stand-ins for extension points a test does not exercise, so a plugin's
 * tests need not depend on another plugin.
 * @module
 */
import { definePlugin, SLAB_ALLOCATOR, type SlabAllocator } from '@mmsim/defconfig';

/**
 * A do-nothing slab allocator plugin ('stub-slab'): createCache hands out a
 * handle, allocations fail (null), kfree and shrinking do nothing, and the
 * calls that need a real object (destroyCache, cacheFree, ksize, the
 * debug bytes and list_lru calls) throw.
 */
export const stubSlabPlugin = definePlugin({
  name: 'stub-slab',
  provides: SLAB_ALLOCATOR,
  apiVersion: '1',
  register(c) {
    const none = (): never => {
      throw new Error('stub slab');
    };
    const slab: SlabAllocator = {
      name: 'stub-slab',
      createCache: (name, size, opts) => ({ id: 1, name, objectSize: size, size, align: opts?.align ?? 8, flags: opts?.flags ?? 0 }), destroyCache: none, cacheAlloc: () => null, cacheFree: none,
      shrinkCache: () => 0, kmalloc: () => null, kzalloc: () => null, kfree: () => undefined, ksize: none,
      krealloc: () => null, caches: () => [], slabinfo: () => [], stats: () => ({ reclaimablePages: 0, unreclaimablePages: 0 }),
      writeObject: none, readObject: none, validateCache: none, lruAdd: none, lruDel: none,
    };
    c.register(SLAB_ALLOCATOR, { useValue: slab });
  },
});
