/**
 * @mmsim/plugin-sparsemem — the SPARSEMEM memory model: memory sections,
 * a mem_map per present section, memory hotplug.
 *
 * Options: `sectionSizeBits` (SECTION_SIZE_BITS, default 27: 128 MiB
 * sections as on x86_64; 29 gives arm64's 512 MiB sections with 64K pages)
 * or `sectionSize` ('128M', '512M', '1G'); `vmemmap` (default true:
 * SPARSEMEM_VMEMMAP, memmap allocated in 2 MiB units); `slotLayout`
 * ('auto' by default: 'interleaved' from 64 GiB of RAM, else 'linear'; see
 * {@link SparsememOptions}).
 * @module @mmsim/plugin-sparsemem
 */
import { definePlugin, Lifecycle, MEMORY_MODEL, PAGE_SHIFT, MAX_PAGE_ORDER, parseSize, z } from '@mmsim/core';
import { SPARSEMEM_OPTIONS } from './options.js';
import { MAX_PHYSMEM_BITS, SparseMem, type SparsememOptions } from './sparse.js';

export { SparseMem, SPARSEMEM_OPTIONS, MAX_PHYSMEM_BITS, type SparsememOptions };

/** Smallest section: a MAX_PAGE_ORDER block must not cross a section (SECTION_SIZE_BITS >= MAX_PAGE_ORDER + PAGE_SHIFT). */
const MIN_BITS = MAX_PAGE_ORDER + PAGE_SHIFT;

const options = z.object({
  sectionSizeBits: z.number().int().min(MIN_BITS).max(MAX_PHYSMEM_BITS - 1).optional(),
  sectionSize: z.union([z.string(), z.number()]).optional(),
  vmemmap: z.boolean().default(true),
  slotLayout: z.enum(['linear', 'interleaved', 'auto']).default('auto'),
}).strict().transform((o, ctx) => {
  let bits = o.sectionSizeBits ?? 27;
  if (o.sectionSize !== undefined) {
    let bytes: number;
    try {
      bytes = parseSize(o.sectionSize, 'sectionSize');
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected a size like '128M', got ${JSON.stringify(o.sectionSize)}`, path: ['sectionSize'] });
      return z.NEVER;
    }
    const b = Math.log2(bytes);
    if (!Number.isInteger(b) || b < MIN_BITS || b >= MAX_PHYSMEM_BITS) {
      ctx.addIssue({ code: 'custom', message: `a section size must be a power of two from ${2 ** (MIN_BITS - 20)}M, got ${o.sectionSize}`, path: ['sectionSize'] });
      return z.NEVER;
    }
    if (o.sectionSizeBits !== undefined && o.sectionSizeBits !== b) {
      ctx.addIssue({ code: 'custom', message: 'give sectionSizeBits or sectionSize, not two different sizes', path: ['sectionSize'] });
      return z.NEVER;
    }
    bits = b;
  }
  return { sectionSizeBits: bits, vmemmap: o.vmemmap, slotLayout: o.slotLayout } satisfies SparsememOptions;
});

export default definePlugin<unknown, SparsememOptions>({
  name: 'sparsemem',
  provides: MEMORY_MODEL,
  apiVersion: '1',
  description: 'SPARSEMEM: memory sections, a mem_map per present section, section online/offline and hot-add',
  options,
  register(container, opts) {
    container.register(SPARSEMEM_OPTIONS, { useValue: opts });
    container.register(MEMORY_MODEL, { useClass: SparseMem }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
