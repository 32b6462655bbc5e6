/**
 * The per-CPU allocator (mm/percpu.c, mm/percpu-vm.c): alloc_percpu()
 * hands out one copy of an object per possible CPU. Memory comes in chunks
 * of one unit per CPU; a chunk's address range is a vmalloc area taken
 * from the top of the vmalloc range (pcpu_get_vm_areas), and its pages are
 * populated on demand, one order-0 page per unit for each page an
 * allocation touches (pcpu_populate_chunk, on the CPU's node). Areas are
 * found first fit in PCPU_MIN_ALLOC_SIZE (4-byte) granularity. A chunk that
 * becomes empty is destroyed when another empty chunk exists
 * (pcpu_balance_free keeps one). /proc/meminfo's Percpu is the populated
 * pages times the number of units.
 *
 * Not modelled: the first chunk (static per-CPU variables, embedded from
 * memblock at boot) — every allocation here comes from dynamic chunks; the
 * atomic pool and depopulation of partly used chunks.
 * @module
 */
import {
  GFP_KERNEL, inject, injectable, type InvariantCheck, type Lazy, lazy, MEMORY_MODEL, type MemoryModel, MmsimError, PAGE_ALLOCATOR,
  PAGE_SIZE, type PageAllocator, PageOwner, type Percpu, PERCPU, SLAB_ALLOCATOR, type SlabAllocator, TOPOLOGY, type Topology, VMALLOC,
  VMSTAT, type VmStat, __GFP_HIGHMEM, __GFP_ZERO,
} from '@mmsim/core';
import { formatAddr, VM_ALLOC, VM_NO_GUARD, type VmallocAllocator, type VmStruct } from './vmalloc.js';

/** PCPU_MIN_ALLOC_SIZE: allocation granularity. */
export const PCPU_MIN_ALLOC_SIZE = 4;
/** PCPU_MIN_UNIT_SIZE: the largest single allocation. */
export const PCPU_MIN_UNIT_SIZE = 32 << 10;

/** sizeof(struct pcpu_chunk) on x86_64 (kzalloc'ed per chunk, with its bitmaps). */
const PCPU_CHUNK_SIZE = 160;

/** pcpu_unit_size in bytes: 512 KiB, what a small x86_64 VM prints as `u524288`. */
export const PCPU_UNIT_SIZE = 512 << 10;
/** pcpu_atom_size: alignment of a chunk's vmalloc area, PMD_SIZE (2 MiB). */
export const PCPU_ATOM_SIZE = 2 << 20;

/** struct pcpu_chunk */
export interface PcpuChunk {
  readonly id: number;
  /** The vmalloc area (all units). */
  readonly vm: VmStruct;
  /** Address of unit 0 (base_addr). */
  readonly base: number;
  /** Live areas: offset → size. */
  readonly areas: Map<number, number>;
  /** Per page of a unit: populated? */
  readonly populated: Uint8Array;
  /** pfn per (page, unit): page * nrUnits + unit. */
  readonly pfns: Float64Array;
  freeBytes: number;
  /** kmalloc'ed metadata (the struct and its bitmaps). */
  meta: number[];
}

/** The per-CPU allocator of one simulator: PERCPU of @mmsim/mm. Its chunks' address ranges come from @mmsim/mm's vmalloc. */
@injectable()
export class PercpuAllocator implements Percpu {
  readonly unitSize = PCPU_UNIT_SIZE;
  readonly atomSize = PCPU_ATOM_SIZE;
  readonly nrUnits: number;
  private readonly chunks: PcpuChunk[] = [];
  private nextId = 1;
  private populatedPages = 0;

  constructor(
    @inject(TOPOLOGY) private readonly topology: Topology,
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    @inject(lazy(SLAB_ALLOCATOR)) private readonly slab: Lazy<SlabAllocator>,
    @inject(VMALLOC) private readonly vmalloc: VmallocAllocator,
    @inject(VMSTAT) private readonly vmstat: VmStat,
  ) {
    this.nrUnits = Math.max(1, topology.nrCpus);
  }

  /** Every chunk (pcpu_chunk_lists), oldest first. */
  get allChunks(): readonly PcpuChunk[] {
    return this.chunks;
  }

  /** pcpu_nr_pages(): populated pages times units, as /proc/meminfo's Percpu counts them. */
  get nrPages(): number {
    return this.populatedPages * this.nrUnits;
  }

  /** Per-unit CPUs: unit i serves CPU i (pcpu_unit_map, identity here). */
  private cpus(): number[] {
    const cpus: number[] = [];
    for (const n of this.topology.nodes) cpus.push(...n.cpus);
    cpus.sort((a, b) => a - b);
    while (cpus.length < this.nrUnits) cpus.push(cpus.length);
    return cpus.slice(0, this.nrUnits);
  }

  /** pcpu_mem_zalloc(): kzalloc up to a page, vzalloc above. */
  private memZalloc(size: number, gfp: number): number | null {
    return size <= PAGE_SIZE ? this.slab().kmalloc(size, gfp | __GFP_ZERO) : this.vmalloc.vzalloc(size, { gfp, caller: 'pcpu_mem_zalloc+0x0/0x0' });
  }
  private memFree(ptr: number): void {
    if (ptr < 0) this.vmalloc.vfree(ptr);
    else this.slab().kfree(ptr);
  }

  /** pcpu_create_chunk(): metadata, then a vmalloc area for all units from the top of the range. */
  private createChunk(gfp: number): PcpuChunk | null {
    const regionBits = this.unitSize / PCPU_MIN_ALLOC_SIZE;
    const mapBytes = Math.ceil((regionBits + 1) / 64) * 8;
    const meta: number[] = [];
    for (const size of [PCPU_CHUNK_SIZE, mapBytes, mapBytes]) {
      const p = this.memZalloc(size, gfp);
      if (p === null) {
        for (const m of meta) this.memFree(m);
        return null;
      }
      meta.push(p);
    }
    const vm = this.vmalloc.getVmArea(this.unitSize * this.nrUnits, VM_ALLOC | VM_NO_GUARD, {
      align: this.atomSize, topDown: true, caller: 'pcpu_get_vm_areas+0x0/0x0',
    });
    if (!vm) {
      for (const m of meta) this.memFree(m);
      return null;
    }
    const pages = this.unitSize / PAGE_SIZE;
    const c: PcpuChunk = {
      id: this.nextId++, vm, base: vm.addr, areas: new Map(), populated: new Uint8Array(pages),
      pfns: new Float64Array(pages * this.nrUnits).fill(-1), freeBytes: this.unitSize, meta,
    };
    this.chunks.push(c);
    return c;
  }

  private destroyChunk(c: PcpuChunk): void {
    const pages = this.unitSize / PAGE_SIZE;
    for (let p = 0; p < pages; p++) if (c.populated[p]) this.depopulate(c, p);
    this.vmalloc.freeVmArea(c.vm);
    for (const m of c.meta) this.memFree(m);
    c.meta = [];
    this.chunks.splice(this.chunks.indexOf(c), 1);
  }

  /** pcpu_populate_chunk() for one page: one page per unit, on the unit's CPU's node. False (nothing kept) when a page cannot be had. */
  private populate(c: PcpuChunk, page: number, gfp: number): boolean {
    const cpus = this.cpus();
    const t = this.memory.pages;
    for (let u = 0; u < this.nrUnits; u++) {
      const pfn = this.pages.allocPages((gfp & ~__GFP_ZERO) | __GFP_HIGHMEM, 0, { nid: this.topology.cpuToNode(cpus[u]!), cpu: cpus[u]! });
      if (pfn === null) {
        for (let v = 0; v < u; v++) {
          const q = c.pfns[page * this.nrUnits + v]!;
          t.ownerKind[this.memory.pfnToPage(q)] = PageOwner.KERNEL;
          this.pages.freePages(q, 0);
          c.pfns[page * this.nrUnits + v] = -1;
        }
        return false;
      }
      const pg = this.memory.pfnToPage(pfn);
      t.ownerKind[pg] = PageOwner.PERCPU;
      t.owner[pg] = c.id;
      c.pfns[page * this.nrUnits + u] = pfn;
    }
    c.populated[page] = 1;
    this.populatedPages++;
    this.vmstat.node.nr_percpu! += this.nrUnits;
    return true;
  }

  private depopulate(c: PcpuChunk, page: number): void {
    const t = this.memory.pages;
    for (let u = 0; u < this.nrUnits; u++) {
      const pfn = c.pfns[page * this.nrUnits + u]!;
      t.ownerKind[this.memory.pfnToPage(pfn)] = PageOwner.KERNEL;
      t.owner[this.memory.pfnToPage(pfn)] = 0;
      this.pages.freePages(pfn, 0);
      c.pfns[page * this.nrUnits + u] = -1;
    }
    c.populated[page] = 0;
    this.populatedPages--;
    this.vmstat.node.nr_percpu! -= this.nrUnits;
  }

  /** First fit of `size` bytes aligned to `align` in a chunk's unit, or -1. */
  private findFit(c: PcpuChunk, size: number, align: number): number {
    if (c.freeBytes < size) return -1;
    const taken = [...c.areas.entries()].sort((a, b) => a[0] - b[0]);
    let cur = 0;
    for (const [off, sz] of taken) {
      const start = Math.ceil(cur / align) * align;
      if (start + size <= off) return start;
      cur = Math.max(cur, off + sz);
    }
    const start = Math.ceil(cur / align) * align;
    return start + size <= this.unitSize ? start : -1;
  }

  /**
   * __alloc_percpu_gfp(): `size` bytes aligned to `align` in every CPU's
   * unit; returns the address of CPU 0's copy (see {@link perCpuPtr}), or
   * null when no chunk or page could be had. A size of 0, above
   * PCPU_MIN_UNIT_SIZE or an alignment above a page is EBAD_SIZE / EINVAL
   * (the kernel WARNs and returns NULL).
   */
  allocPercpu(size: number, align = PCPU_MIN_ALLOC_SIZE, gfp = GFP_KERNEL): number | null {
    if (!Number.isInteger(size) || size <= 0 || size > PCPU_MIN_UNIT_SIZE) {
      throw new MmsimError('EBAD_SIZE', `alloc_percpu(${size}): size must be 1..${PCPU_MIN_UNIT_SIZE}`, { details: { size } });
    }
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0 || align > PAGE_SIZE) {
      throw new MmsimError('EINVAL', `alloc_percpu: alignment ${align} is not a power of two up to ${PAGE_SIZE}`, { details: { align } });
    }
    align = Math.max(align, PCPU_MIN_ALLOC_SIZE);
    size = Math.ceil(size / PCPU_MIN_ALLOC_SIZE) * PCPU_MIN_ALLOC_SIZE;
    let chunk: PcpuChunk | undefined;
    let off = -1;
    for (const c of this.chunks) {
      off = this.findFit(c, size, align);
      if (off >= 0) {
        chunk = c;
        break;
      }
    }
    let created = false;
    if (!chunk) {
      const c = this.createChunk(gfp);
      if (!c) return null;
      chunk = c;
      created = true;
      off = this.findFit(c, size, align);
    }
    // populate the pages the area spans
    const first = Math.floor(off / PAGE_SIZE);
    const last = Math.floor((off + size - 1) / PAGE_SIZE);
    const fresh: number[] = [];
    for (let p = first; p <= last; p++) {
      if (chunk.populated[p]) continue;
      if (!this.populate(chunk, p, gfp)) {
        for (const q of fresh) this.depopulate(chunk, q);
        if (created) this.destroyChunk(chunk);
        return null;
      }
      fresh.push(p);
    }
    chunk.areas.set(off, size);
    chunk.freeBytes -= size;
    return chunk.base + off;
  }

  private locate(ptr: number): { chunk: PcpuChunk; off: number } | undefined {
    for (const c of this.chunks) {
      const off = ptr - c.base;
      if (off >= 0 && off < this.unitSize && c.areas.has(off)) return { chunk: c, off };
    }
    return undefined;
  }

  /** free_percpu(): free_percpu(null) does nothing; anything else alloc_percpu did not return is EBAD_POINTER. */
  freePercpu(ptr: number | null): void {
    if (ptr === null || ptr === undefined) return;
    const hit = this.locate(ptr);
    if (!hit) throw new MmsimError('EBAD_POINTER', `free_percpu(0x${formatAddr(ptr)}): not a live per-CPU allocation`, { details: { ptr } });
    const { chunk, off } = hit;
    chunk.freeBytes += chunk.areas.get(off)!;
    chunk.areas.delete(off);
    // pcpu_balance_free(): keep one empty chunk, destroy the others
    if (chunk.areas.size === 0 && this.chunks.some((c) => c !== chunk && c.areas.size === 0)) this.destroyChunk(chunk);
  }

  /** per_cpu_ptr(): the address of `cpu`'s copy. */
  perCpuPtr(ptr: number, cpu: number): number {
    const units = this.cpus();
    const u = units.indexOf(cpu);
    if (u < 0) throw new MmsimError('EINVAL', `per_cpu_ptr: CPU ${cpu} does not exist`, { details: { cpu } });
    if (!this.locate(ptr)) throw new MmsimError('EBAD_POINTER', `per_cpu_ptr(0x${formatAddr(ptr)}): not a live per-CPU allocation`, { details: { ptr } });
    return ptr + u * this.unitSize;
  }

  /** Invariants: areas disjoint within units, populated pages owned and counted. */
  check(): void {
    const bad = (m: string): never => {
      throw new MmsimError('ECORRUPT', `percpu check: ${m}`);
    };
    const t = this.memory.pages;
    let populated = 0;
    for (const c of this.chunks) {
      const areas = [...c.areas.entries()].sort((a, b) => a[0] - b[0]);
      let used = 0;
      for (let i = 0; i < areas.length; i++) {
        const [off, size] = areas[i]!;
        if (i > 0 && areas[i - 1]![0] + areas[i - 1]![1] > off) bad(`chunk ${c.id}: areas at ${areas[i - 1]![0]} and ${off} overlap`);
        if (off + size > this.unitSize) bad(`chunk ${c.id}: area at ${off} runs past the unit`);
        for (let p = Math.floor(off / PAGE_SIZE); p <= Math.floor((off + size - 1) / PAGE_SIZE); p++) if (!c.populated[p]) bad(`chunk ${c.id}: area at ${off} is on unpopulated page ${p}`);
        used += size;
      }
      if (used + c.freeBytes !== this.unitSize) bad(`chunk ${c.id}: ${used} bytes used + ${c.freeBytes} free != unit size`);
      for (let p = 0; p < c.populated.length; p++) {
        if (!c.populated[p]) continue;
        populated++;
        for (let u = 0; u < this.nrUnits; u++) {
          const pg = this.memory.pfnToPage(c.pfns[p * this.nrUnits + u]!);
          if (pg < 0 || t.ownerKind[pg] !== PageOwner.PERCPU || t.owner[pg] !== c.id) bad(`chunk ${c.id}: page ${p} unit ${u} is not marked as the chunk's`);
        }
      }
    }
    if (populated !== this.populatedPages) bad(`${populated} populated pages, counter says ${this.populatedPages}`);
    if (this.nrPages !== this.vmstat.node.nr_percpu) bad(`pcpu_nr_pages ${this.nrPages} but nr_percpu is ${this.vmstat.node.nr_percpu}`);
  }
}

/** The per-CPU allocator's invariants, as an INVARIANT_CHECK contribution. */
@injectable()
export class PercpuCheck implements InvariantCheck {
  readonly name = 'percpu';
  constructor(@inject(PERCPU) private readonly percpu: Percpu) {}
  check(): void {
    (this.percpu as Partial<PercpuAllocator>).check?.();
  }
}
