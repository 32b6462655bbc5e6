/**
 * The kernel's API names for the page allocator (include/linux/gfp.h,
 * mm/page_alloc.c): alloc_pages, __get_free_pages, free_pages, ... over any
 * PAGE_ALLOCATOR — for code written the way kernel code is.
 * @module
 */
import type { AllocOptions, FreeOptions, PageAllocator } from '@mmsim/core';

/** alloc_pages(): a 2^order block from the local node (the first pfn), or null. */
export function alloc_pages(pa: PageAllocator, gfp: number, order: number, opts?: AllocOptions): number | null {
  return pa.allocPages(gfp, order, opts);
}
/** alloc_page(): one page. */
export function alloc_page(pa: PageAllocator, gfp: number, opts?: AllocOptions): number | null {
  return pa.allocPages(gfp, 0, opts);
}
/** alloc_pages_node(): prefer node `nid` (NUMA_NO_NODE = -1: the local node). */
export function alloc_pages_node(pa: PageAllocator, nid: number, gfp: number, order: number, opts?: AllocOptions): number | null {
  return pa.allocPages(gfp, order, nid < 0 ? opts : { ...opts, nid });
}
/** __alloc_pages(): the heart of the allocator, with a preferred node and an optional nodemask. */
export function __alloc_pages(pa: PageAllocator, gfp: number, order: number, preferredNid: number, nodemask?: readonly number[]): number | null {
  return pa.allocPages(gfp, order, nodemask ? { nid: preferredNid, nodemask } : { nid: preferredNid });
}
/**
 * __get_free_pages(): the address of a 2^order block (a simulated physical
 * address, pfn << PAGE_SHIFT; formatPtr prints its direct-map address), or
 * 0. __GFP_HIGHMEM is masked off, as highmem has no permanent address.
 */
export function __get_free_pages(pa: PageAllocator, gfp: number, order: number, opts?: AllocOptions): number {
  const pfn = pa.allocPages(gfp & ~0x02, order, opts);
  return pfn === null ? 0 : pfn * 4096;
}
/** __get_free_page() */
export function __get_free_page(pa: PageAllocator, gfp: number, opts?: AllocOptions): number {
  return __get_free_pages(pa, gfp, 0, opts);
}
/** get_zeroed_page(): __get_free_pages(gfp | __GFP_ZERO, 0). */
export function get_zeroed_page(pa: PageAllocator, gfp: number, opts?: AllocOptions): number {
  return __get_free_pages(pa, gfp | 0x100, 0, opts);
}
/** __get_dma_pages(): __get_free_pages(gfp | GFP_DMA, order). */
export function __get_dma_pages(pa: PageAllocator, gfp: number, order: number, opts?: AllocOptions): number {
  return __get_free_pages(pa, gfp | 0x01, order, opts);
}
/** __free_pages(): frees the block at `pfn`. */
export function __free_pages(pa: PageAllocator, pfn: number, order: number, opts?: FreeOptions): void {
  pa.freePages(pfn, order, opts);
}
/** __free_page() */
export function __free_page(pa: PageAllocator, pfn: number, opts?: FreeOptions): void {
  pa.freePages(pfn, 0, opts);
}
/** free_pages(): frees by address; address 0 is ignored, as the kernel does. */
export function free_pages(pa: PageAllocator, addr: number, order: number, opts?: FreeOptions): void {
  if (addr !== 0) pa.freePages(Math.floor(addr / 4096), order, opts);
}
/** free_page() */
export function free_page(pa: PageAllocator, addr: number, opts?: FreeOptions): void {
  free_pages(pa, addr, 0, opts);
}
