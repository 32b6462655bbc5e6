/**
 * vmalloc (mm/vmalloc.c): virtually contiguous areas in the vmalloc range,
 * built from order-0 pages the PAGE_ALLOCATOR gives, each area followed by
 * a guard page; the vm_struct and the pages array come from kmalloc (a
 * pages array above a page is itself vmalloc'ed, as __vmalloc_area_node
 * does). vfree() frees the pages at once and leaves the address range on
 * the lazy list until more than lazy_max_pages() are waiting
 * (free_vmap_area_noflush → purge). /proc/vmallocinfo prints the areas as
 * vmalloc_info_show() does.
 *
 * Kernel virtual addresses above the direct map do not fit a double as
 * unsigned 64-bit numbers; they are kept as signed 64-bit values
 * (0xffffc90000000000 is -0x370000000000), which formatPtr() prints back
 * as the kernel does.
 * @module
 */
import {
  GFP_DMA, GFP_DMA32, GFP_KERNEL, inject, injectable, type InvariantCheck, type Lazy, lazy, MEMORY_MODEL, type MemoryModel, MmsimError,
  PAGE_ALLOCATOR, PAGE_SIZE, type PageAllocator, PageOwner, SLAB_ALLOCATOR, type SlabAllocator, TOPOLOGY, type Topology, VMALLOC,
  type Vmalloc, VMSTAT, type VmStat, __GFP_HIGHMEM, __GFP_NOWARN, __GFP_ZERO,
} from '@mmsim/core';

/** VMALLOC_START (x86_64, 4-level paging, no KASLR) as a signed 64-bit value: 0xffffc90000000000. */
export const VMALLOC_START = -0x370000000000;
/** VMALLOC_END: the last byte of the range, 0xffffe8ffffffffff (VMALLOC_SIZE_TB_L4 = 32 TiB). */
export const VMALLOC_END = VMALLOC_START + 32 * 2 ** 40 - 1;
/** VmallocTotal in kB, as /proc/meminfo prints it. */
export const VMALLOC_TOTAL_KB = Math.floor((VMALLOC_END - VMALLOC_START) / 1024);

/** vm_struct flags (include/linux/vmalloc.h). */
export const VM_IOREMAP = 0x1;
export const VM_ALLOC = 0x2;
export const VM_MAP = 0x4;
export const VM_USERMAP = 0x8;
export const VM_DMA_COHERENT = 0x10;
export const VM_UNINITIALIZED = 0x20;
export const VM_NO_GUARD = 0x40;
export const VM_SPARSE = 0x1000;

/** sizeof(struct vm_struct) on x86_64 (kzalloc_node'ed per area). */
const VM_STRUCT_SIZE = 72;
/** sizeof(struct page *) */
const PTR_SIZE = 8;

/** How to vmalloc. */
export interface VmallocOptions {
  /** gfp of the page allocations (default GFP_KERNEL); __GFP_ZERO for vzalloc. */
  gfp?: number;
  /** Preferred node (vmalloc_node); default: no preference. */
  nid?: number;
  /** Alignment of the area (power of two, default one page). */
  align?: number;
  /** The caller as /proc/vmallocinfo prints it (%pS), e.g. 'alloc_large_system_hash+0x16b/0x25d'. */
  caller?: string;
}

/** struct vm_struct: one area. */
export interface VmStruct {
  /** Area id (page->private of its pages while mapped). */
  readonly id: number;
  /** Start address (signed 64-bit). */
  readonly addr: number;
  /** Size including the guard page, as vmallocinfo prints it. */
  readonly size: number;
  /** The size asked for. */
  readonly requestedSize: number;
  readonly flags: number;
  readonly caller: string | undefined;
  /** pfns of the order-0 pages backing the area, in address order. */
  readonly pages: number[];
  /** Where the pages array lives: a kmalloc pointer, or a vmalloc address (`vpages`). */
  pagesArray: number | null;
  /** The kmalloc'ed vm_struct itself. */
  vmStruct: number | null;
}

interface Range {
  start: number;
  end: number;
  vm: VmStruct | null;
}

/** The vmalloc allocator of one simulator: VMALLOC of @mmsim/mm. */
@injectable()
export class VmallocAllocator implements Vmalloc {
  /** Busy areas, sorted by address. */
  private readonly busy: Range[] = [];
  /** Freed areas waiting for a purge (vmap_area_lazy), in free order. */
  private readonly lazy: Range[] = [];
  private lazyNr = 0;
  private nextId = 1;
  private readonly byAddr = new Map<number, VmStruct>();

  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    // kmalloc for vm_structs and page arrays; the slab allocator may still be booting when vmalloc is first resolved
    @inject(lazy(SLAB_ALLOCATOR)) private readonly slab: Lazy<SlabAllocator>,
    @inject(VMSTAT) private readonly vmstat: VmStat,
  ) {}

  /** lazy_max_pages(): fls(num_online_cpus()) × 32 MiB of pages. */
  lazyMaxPages(): number {
    const n = Math.max(1, this.topology.nrCpus);
    return (32 - Math.clz32(n)) * ((32 * 1024 * 1024) / PAGE_SIZE);
  }

  /** Pages waiting on the lazy list (vmap_lazy_nr). */
  get lazyPages(): number {
    return this.lazyNr;
  }

  /** Every live area, by address. */
  areas(): readonly VmStruct[] {
    return this.busy.filter((r) => r.vm !== null).map((r) => r.vm!);
  }

  private overlaps(start: number, end: number): boolean {
    for (const list of [this.busy, this.lazy]) for (const r of list) if (start < r.end && r.start < end) return true;
    return false;
  }

  /** alloc_vmap_area(): the lowest (or, for percpu chunks, highest) free range of `size` bytes aligned to `align`. */
  private findRange(size: number, align: number, topDown: boolean): number | null {
    const taken = [...this.busy, ...this.lazy].sort((a, b) => a.start - b.start);
    const limit = VMALLOC_END + 1;
    if (!topDown) {
      let cur = VMALLOC_START;
      for (const r of taken) {
        const start = Math.ceil((cur - VMALLOC_START) / align) * align + VMALLOC_START;
        if (start + size <= r.start) return start;
        cur = Math.max(cur, r.end);
      }
      const start = Math.ceil((cur - VMALLOC_START) / align) * align + VMALLOC_START;
      return start + size <= limit ? start : null;
    }
    let cur = limit;
    for (let i = taken.length - 1; i >= 0; i--) {
      const r = taken[i]!;
      const start = Math.floor((cur - size - VMALLOC_START) / align) * align + VMALLOC_START;
      if (start >= r.end) return start;
      cur = Math.min(cur, r.start);
    }
    const start = Math.floor((cur - size - VMALLOC_START) / align) * align + VMALLOC_START;
    return start >= VMALLOC_START ? start : null;
  }

  private insertBusy(r: Range): void {
    let i = this.busy.length;
    while (i > 0 && this.busy[i - 1]!.start > r.start) i--;
    this.busy.splice(i, 0, r);
  }

  /**
   * __get_vm_area_node(): reserves address space (plus a guard page unless
   * VM_NO_GUARD) and kmallocs the vm_struct; no pages. A failed search
   * purges the lazy list and tries again. Null when nothing fits.
   */
  getVmArea(size: number, flags: number, opts: { align?: number; caller?: string; topDown?: boolean; gfp?: number; nid?: number } = {}): VmStruct | null {
    if (!Number.isInteger(size) || size <= 0) throw new MmsimError('EBAD_SIZE', `get_vm_area(${size}): size must be a positive integer`, { details: { size } });
    const align = opts.align ?? PAGE_SIZE;
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0 || align > 2 ** 30) {
      throw new MmsimError('EINVAL', `vmalloc: alignment ${align} is not a power of two up to 1 GiB`, { details: { align } });
    }
    const requested = size;
    size = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    const slab = this.slab();
    // kzalloc_node(sizeof(*area), gfp_mask & GFP_RECLAIM_MASK, node)
    const vmStruct = slab.kmalloc(VM_STRUCT_SIZE, GFP_KERNEL | __GFP_ZERO, opts.nid === undefined ? undefined : { nid: opts.nid });
    if (vmStruct === null) return null;
    if (!(flags & VM_NO_GUARD)) size += PAGE_SIZE;
    const a = Math.max(align, PAGE_SIZE);
    let start = this.findRange(size, a, opts.topDown ?? false);
    if (start === null && this.lazy.length > 0) {
      this.purge();
      start = this.findRange(size, a, opts.topDown ?? false);
    }
    if (start === null) {
      slab.kfree(vmStruct);
      return null;
    }
    const vm: VmStruct = {
      id: this.nextId++, addr: start, size, requestedSize: requested, flags, caller: opts.caller, pages: [], pagesArray: null, vmStruct,
    };
    this.insertBusy({ start, end: start + size, vm });
    this.byAddr.set(start, vm);
    return vm;
  }

  /** __vmalloc_node(): an area of order-0 pages; null when address space or pages ran out (everything taken is given back). */
  vmalloc(size: number, opts: VmallocOptions = {}): number | null {
    if (!Number.isInteger(size) || size < 0) throw new MmsimError('EBAD_SIZE', `vmalloc(${size}): size must be a non-negative integer`, { details: { size } });
    // as __vmalloc_node_range(): nothing for 0 bytes or more than all RAM
    if (size === 0 || size / PAGE_SIZE > this.topology.totalManagedPages) return null;
    const nid = opts.nid;
    if (nid !== undefined && nid !== -1 && !this.topology.nodes.some((n) => n.nid === nid)) {
      throw new MmsimError('EINVAL', `vmalloc_node: node ${nid} does not exist`, { details: { nid } });
    }
    let gfp = opts.gfp ?? GFP_KERNEL;
    const node = nid === undefined || nid === -1 ? undefined : nid;
    const vm = this.getVmArea(size, VM_ALLOC | VM_UNINITIALIZED, { align: opts.align, caller: opts.caller, gfp, nid: node });
    if (!vm) return null;
    const nrPages = (vm.size - PAGE_SIZE) / PAGE_SIZE;
    // the pages array: kmalloc'ed up to a page, vmalloc'ed above (strictly bounded recursion)
    const nested = (gfp & ~(GFP_DMA | GFP_DMA32 | __GFP_HIGHMEM)) | __GFP_ZERO;
    const arraySize = nrPages * PTR_SIZE;
    vm.pagesArray = arraySize > PAGE_SIZE
      ? this.vmalloc(arraySize, { gfp: nested, nid: node, caller: opts.caller })
      : this.slab().kmalloc(arraySize, nested, node === undefined ? undefined : { nid: node });
    if (vm.pagesArray === null) {
      this.release(vm);
      return null;
    }
    if (!(gfp & (GFP_DMA | GFP_DMA32))) gfp |= __GFP_HIGHMEM;
    const pa = this.pages;
    const t = this.memory.pages;
    for (let i = 0; i < nrPages; i++) {
      const pfn = pa.allocPages(gfp | __GFP_NOWARN, 0, node === undefined ? undefined : { nid: node });
      if (pfn === null) {
        this.release(vm);
        return null;
      }
      const page = this.memory.pfnToPage(pfn);
      t.ownerKind[page] = PageOwner.VMALLOC;
      t.owner[page] = vm.id;
      vm.pages.push(pfn);
      this.vmstat.node.nr_vmalloc!++;
    }
    (vm as { flags: number }).flags = vm.flags & ~VM_UNINITIALIZED;
    return vm.addr;
  }

  /** vzalloc() */
  vzalloc(size: number, opts: VmallocOptions = {}): number | null {
    return this.vmalloc(size, { ...opts, gfp: (opts.gfp ?? GFP_KERNEL) | __GFP_ZERO });
  }

  /** Gives back an area's pages, arrays and vm_struct, and puts its range on the lazy list. */
  private release(vm: VmStruct): void {
    const pa = this.pages;
    const t = this.memory.pages;
    for (const pfn of vm.pages) {
      const page = this.memory.pfnToPage(pfn);
      t.ownerKind[page] = PageOwner.KERNEL;
      t.owner[page] = 0;
      pa.freePages(pfn, 0);
      this.vmstat.node.nr_vmalloc!--;
    }
    vm.pages.length = 0;
    if (vm.pagesArray !== null) {
      if (vm.pagesArray < 0) this.vfree(vm.pagesArray);
      else this.slab().kfree(vm.pagesArray);
      vm.pagesArray = null;
    }
    this.unmap(vm);
  }

  /** remove_vm_area() + free_vmap_area_noflush(): the range waits on the lazy list; too many waiting pages trigger a purge. */
  private unmap(vm: VmStruct): void {
    const i = this.busy.findIndex((r) => r.vm === vm);
    const r = this.busy[i]!;
    this.busy.splice(i, 1);
    this.byAddr.delete(vm.addr);
    r.vm = null;
    this.lazy.push(r);
    this.lazyNr += (r.end - r.start) / PAGE_SIZE;
    if (vm.vmStruct !== null) {
      this.slab().kfree(vm.vmStruct);
      vm.vmStruct = null;
    }
    if (this.lazyNr > this.lazyMaxPages()) this.purge();
  }

  /** purge_vmap_area_lazy(): the lazy ranges become free address space. */
  purge(): number {
    const n = this.lazyNr;
    this.lazy.length = 0;
    this.lazyNr = 0;
    return n;
  }

  /** The area starting at `addr` (find_vm_area), or undefined. */
  findVmArea(addr: number): VmStruct | undefined {
    return this.byAddr.get(addr);
  }

  /** vfree(): vfree(null) does nothing; an address that starts no area is EBAD_POINTER (the kernel WARNs "Trying to vfree() nonexistent vm area"). */
  vfree(addr: number | null): void {
    if (addr === null || addr === undefined || addr === 0) return;
    const vm = this.byAddr.get(addr);
    if (!vm || !(vm.flags & VM_ALLOC)) {
      throw new MmsimError('EBAD_POINTER', `vfree(0x${formatAddr(addr)}): trying to vfree() nonexistent vm area`, { details: { addr } });
    }
    this.release(vm);
  }

  /** Frees an area getVmArea() reserved (free_vm_area), without pages of its own. */
  freeVmArea(vm: VmStruct): void {
    if (this.byAddr.get(vm.addr) !== vm) throw new MmsimError('EBAD_POINTER', `free_vm_area(0x${formatAddr(vm.addr)}): not a live area`);
    this.unmap(vm);
  }

  /** vmalloc_to_pfn() */
  vmallocToPfn(addr: number): number | null {
    for (const r of this.busy) {
      if (addr >= r.start && addr < r.end && r.vm) {
        const i = Math.floor((addr - r.start) / PAGE_SIZE);
        return r.vm.pages[i] ?? null;
      }
    }
    return null;
  }

  /** Pages backing vmalloc areas (nr_vmalloc_pages, /proc/meminfo VmallocUsed). */
  get usedPages(): number {
    let n = 0;
    for (const r of this.busy) if (r.vm) n += r.vm.pages.length;
    return n;
  }

  /** /proc/vmallocinfo (vmalloc_info_show), CONFIG_NUMA: busy areas by address, then the unpurged ones. */
  showVmallocinfo(): string {
    let out = '';
    const nodes = this.topology.nodes;
    for (const r of this.busy) {
      const v = r.vm;
      if (!v || v.flags & VM_UNINITIALIZED) continue;
      out += `0x${formatAddr(v.addr)}-0x${formatAddr(v.addr + v.size)} ${String(v.size).padStart(7)}`;
      if (v.caller) out += ` ${v.caller}`;
      if (v.pages.length) out += ` pages=${v.pages.length}`;
      if (v.flags & VM_IOREMAP) out += ' ioremap';
      if (v.flags & VM_SPARSE) out += ' sparse';
      if (v.flags & VM_ALLOC) out += ' vmalloc';
      if (v.flags & VM_MAP) out += ' vmap';
      if (v.flags & VM_USERMAP) out += ' user';
      if (v.flags & VM_DMA_COHERENT) out += ' dma-coherent';
      if (v.pagesArray !== null && v.pagesArray < 0) out += ' vpages';
      // show_numa_info()
      const counters = new Map<number, number>();
      for (const pfn of v.pages) {
        const nid = this.topology.pfnZone(pfn)?.nid ?? 0;
        counters.set(nid, (counters.get(nid) ?? 0) + 1);
      }
      for (const n of nodes) if (counters.get(n.nid)) out += ` N${n.nid}=${counters.get(n.nid)}`;
      out += '\n';
    }
    for (const r of this.lazy) out += `0x${formatAddr(r.start)}-0x${formatAddr(r.end)} ${String(r.end - r.start).padStart(7)} unpurged vm_area\n`;
    return out;
  }

  /** Invariants: ranges disjoint and inside the vmalloc range, pages owned by their area, counters in step. */
  check(): void {
    const bad = (m: string): never => {
      throw new MmsimError('ECORRUPT', `vmalloc check: ${m}`);
    };
    const all = [...this.busy, ...this.lazy].sort((a, b) => a.start - b.start);
    for (let i = 0; i < all.length; i++) {
      const r = all[i]!;
      if (r.start < VMALLOC_START || r.end > VMALLOC_END + 1) bad(`range 0x${formatAddr(r.start)} outside the vmalloc range`);
      if (i > 0 && all[i - 1]!.end > r.start) bad(`ranges at 0x${formatAddr(all[i - 1]!.start)} and 0x${formatAddr(r.start)} overlap`);
    }
    const t = this.memory.pages;
    let pages = 0;
    for (const r of this.busy) {
      if (!r.vm) continue;
      for (const pfn of r.vm.pages) {
        const page = this.memory.pfnToPage(pfn);
        if (t.ownerKind[page] !== PageOwner.VMALLOC || t.owner[page] !== r.vm.id || t.refcount[page] !== 1) bad(`page ${pfn} of area 0x${formatAddr(r.vm.addr)} is not marked as its own`);
      }
      pages += r.vm.pages.length;
    }
    if (pages !== this.vmstat.node.nr_vmalloc) bad(`areas hold ${pages} pages, nr_vmalloc is ${this.vmstat.node.nr_vmalloc}`);
    let lazy = 0;
    for (const r of this.lazy) lazy += (r.end - r.start) / PAGE_SIZE;
    if (lazy !== this.lazyNr) bad(`lazy ranges hold ${lazy} pages, vmap_lazy_nr is ${this.lazyNr}`);
    if (this.overlaps(VMALLOC_END + 1, VMALLOC_END + 2)) bad('a range extends past VMALLOC_END');
  }
}

/** The vmalloc invariants, as an INVARIANT_CHECK contribution. */
@injectable()
export class VmallocCheck implements InvariantCheck {
  readonly name = 'vmalloc';
  constructor(@inject(VMALLOC) private readonly vmalloc: Vmalloc) {}
  check(): void {
    (this.vmalloc as Partial<VmallocAllocator>).check?.();
  }
}

/** A kernel virtual address (signed 64-bit value) as %px prints it, without 0x. */
export function formatAddr(addr: number): string {
  return BigInt.asUintN(64, BigInt(addr)).toString(16).padStart(16, '0');
}
