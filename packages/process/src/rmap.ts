/**
 * Reverse mapping (mm/rmap.c): anon_vma — the object an anonymous page's
 * page->mapping names, linked from every VMA that may map its pages (fork
 * links the child's VMAs to the parent's) — the rmap counters
 * (page_add_new_anon_rmap / page_remove_rmap: mapcount, nr_anon_pages,
 * nr_mapped), try_to_unmap for reclaim (every PTE of the page gets the swap
 * entry) and the ANON page owner (evict, migrate, describe).
 *
 * A shared anonymous mapping is a shmem object here: an AnonVma with
 * `shmem` set that also holds its pages by page offset (what the shmem
 * inode's page cache is), so a forked child's fault finds the page the
 * parent faulted. Its pages are swap backed but not PG_anon, count in
 * nr_shmem, nr_file_pages and MM_SHMEMPAGES, and stay while the object
 * lives; reclaim does not swap them out (shmem writeout is not modelled).
 *
 * An anonymous page's index is its virtual page number (addr >> 12); an
 * anon page's refcount is its mapcount (no other holder keeps one), so the
 * page is freed when its last PTE goes.
 * @module
 */
import { MmsimError, PageOwner, PG_anon, PG_dirty, PG_lru, PG_swapbacked, PG_swapcache } from '@mmsim/core';
import type { MmEnv } from './memory.js';
import { type MmStructImpl, PAGE_SIZE, type VmArea } from './mmap.js';
import { PMD_SIZE, PTE_DIRTY, PTE_RW, PTE_ZERO, pteToSwpEntry, swpEntryToPte } from './pgtable.js';

/** anon_vma (or, with `shmem`, the shmem object of a shared anonymous mapping). */
export class AnonVma {
  /** The VMAs that may map its pages (the anon_vma_chain). */
  readonly vmas = new Set<VmArea>();
  /** shmem only: page offset → pfn. */
  readonly pages: Map<number, number> | null;
  constructor(
    readonly id: number,
    readonly shmem: boolean,
  ) {
    this.pages = shmem ? new Map() : null;
  }
}

/** The anon_vmas of a simulator by id (page->mapping → object). */
export class AnonVmaTable {
  readonly byId = new Map<number, AnonVma>();
  private nextId = 1;
  create(shmem: boolean): AnonVma {
    const a = new AnonVma(this.nextId++, shmem);
    this.byId.set(a.id, a);
    return a;
  }
  /** Drops an anon_vma no VMA links any more (its pages are gone by then). */
  release(a: AnonVma): void {
    if (a.vmas.size === 0 && (a.pages === null || a.pages.size === 0)) this.byId.delete(a.id);
  }
}

/**
 * anon_vma_prepare(): the anon_vma of a private VMA's first anonymous
 * fault — a neighbour's when it could merge with it (find_mergeable_anon_vma),
 * else a new one.
 */
export function anonVmaPrepare(env: MmEnv, v: VmArea): AnonVma {
  if (v.anonVma !== null) return v.anonVma;
  const mm = v.mm;
  const i = mm.list.indexOf(v);
  for (const n of [mm.list[i - 1], mm.list[i + 1]]) {
    if (n !== undefined && n.anonVma !== null && !n.anonVma.shmem && n.flags === v.flags && n.ino === v.ino && (n.end === v.start || v.end === n.start)) {
      v.anonVma = n.anonVma;
      n.anonVma.vmas.add(v);
      return v.anonVma;
    }
  }
  const a = env.anonVmas.create(false);
  a.vmas.add(v);
  v.anonVma = a;
  return a;
}

/**
 * folio_add_new_anon_rmap() + folio_add_lru_vma(): a freshly allocated page
 * becomes the anonymous page at virtual page `vpn` of `anonVma`, mapped once.
 */
export function pageAddNewAnonRmap(env: MmEnv, pfn: number, page: number, anonVma: AnonVma, vpn: number): void {
  const t = env.memory.pages;
  t.flags[page] = t.flags[page]! | PG_anon | PG_swapbacked;
  t.ownerKind[page] = PageOwner.ANON;
  t.owner[page] = anonVma.id;
  t.index[page] = vpn;
  t.mapcount[page] = 1;
  env.vmstat.node.nr_anon_pages!++;
  env.policy().pageAdded(pfn, true);
}

/**
 * The last reference to an anonymous (or shmem) page went: off the LRU, out
 * of the swap cache, back to the page allocator.
 */
export function freeUserPage(env: MmEnv, pfn: number, page: number): void {
  const t = env.memory.pages;
  if (t.flags[page]! & PG_swapcache) env.swap().deleteFromSwapCache(pfn);
  if (t.flags[page]! & PG_lru) env.policy().pageRemoved(pfn);
  t.flags[page] = t.flags[page]! & ~(PG_anon | PG_swapbacked | PG_dirty);
  t.mapcount[page] = 0;
  t.index[page] = 0;
  t.ownerKind[page] = PageOwner.KERNEL;
  t.owner[page] = 0;
  t.refcount[page] = 1;
  env.pages.freePages(pfn, 0);
}

/**
 * page_remove_rmap() + put_page() of one PTE that mapped `pfn` in `mm`: the
 * mm's RSS counter of its kind, mapcount, nr_anon_pages / nr_mapped, and
 * for an anonymous page the free when it was the last.
 */
export function pageRemoveRmap(env: MmEnv, mm: MmStructImpl, pfn: number): void {
  const m = env.memory;
  const page = m.pfnToPage(pfn);
  const t = m.pages;
  const mc = t.mapcount[page]! - 1;
  const kind = t.ownerKind[page]!;
  if (kind === PageOwner.ANON) {
    if (t.flags[page]! & PG_anon) {
      mm.counters.anonRss--;
      if (mc === 0) {
        env.vmstat.node.nr_anon_pages!--;
        freeUserPage(env, pfn, page);
        return;
      }
    } else {
      // shmem: the object keeps its own reference
      mm.counters.shmemRss--;
      if (mc === 0) env.vmstat.node.nr_mapped!--;
    }
  } else {
    // a page-cache page: put_page() through the allocator, which frees it if the cache let go
    mm.counters.fileRss--;
    if (mc === 0) env.vmstat.node.nr_mapped!--;
    t.mapcount[page] = mc;
    env.pages.freePages(pfn, 0);
    return;
  }
  t.mapcount[page] = mc;
  const rc = t.refcount[page]!;
  if (rc > 1) t.refcount[page] = rc - 1;
  else env.pages.freePages(pfn, 0);
}

/**
 * folio_add_file_rmap() of a page that is not private anon (a file or shmem
 * page): mapcount, nr_mapped, the mm's RSS of its kind, and the mapping's
 * page reference unless the caller already holds it (`takeRef` false: the
 * one filemap_fault returned).
 */
export function pageAddSharedRmap(env: MmEnv, mm: MmStructImpl, pfn: number, page: number, takeRef: boolean): void {
  const t = env.memory.pages;
  const mc = t.mapcount[page]! + 1;
  t.mapcount[page] = mc;
  if (takeRef) t.refcount[page]!++;
  if (mc === 1) env.vmstat.node.nr_mapped!++;
  if (t.ownerKind[page] === PageOwner.ANON) mm.counters.shmemRss++;
  else mm.counters.fileRss++;
}

/** The address `pfn` (anon or shmem) is mapped at in `v`, or −1 when outside it. */
function addressIn(v: VmArea, a: AnonVma, index: number): number {
  const addr = a.shmem ? v.start + (index - v.pgoff) * PAGE_SIZE : index * PAGE_SIZE;
  return addr >= v.start && addr < v.end ? addr : -1;
}

/**
 * rmap_walk_anon(): calls `fn(mm, tableEntries, tableBits, slot)` for every
 * PTE that maps `pfn` (an anon or shmem page), through its anon_vma.
 */
export function rmapWalk(env: MmEnv, pfn: number, index: number, owner: number, fn: (mm: MmStructImpl, entry: Int32Array, bits: Uint8Array, slot: number) => void): void {
  const a = env.anonVmas.byId.get(owner);
  if (a === undefined) return;
  const want = pfn + 1;
  for (const v of a.vmas) {
    const addr = addressIn(v, a, index);
    if (addr < 0) continue;
    const tab = v.mm.pt.ptes.get(Math.floor(addr / PMD_SIZE));
    if (tab === undefined) continue;
    const slot = (addr % PMD_SIZE) / PAGE_SIZE;
    if (tab.entry[slot] === want) fn(v.mm, tab.entry, tab.bits, slot);
  }
}

/**
 * try_to_unmap() + __remove_mapping() of an anonymous page reclaim wrote to
 * swap entry `swapEntry`: every PTE that mapped it now holds the entry (one
 * swap_duplicate() each; MM_ANONPAGES → MM_SWAPENTS), and the page is
 * freed. Without an entry, or for a shmem page, the page is kept.
 */
export function tryToUnmapAnon(env: MmEnv, pfn: number, swapEntry: number | undefined): boolean {
  if (swapEntry === undefined || swapEntry < 0) return false;
  const m = env.memory;
  const page = m.pfnToPage(pfn);
  const t = m.pages;
  if (page < 0 || t.ownerKind[page] !== PageOwner.ANON || !(t.flags[page]! & PG_anon) || !env.anonVmas.byId.has(t.owner[page]!)) return false;
  const swap = env.swap();
  const pte = swpEntryToPte(swapEntry);
  let unmapped = 0;
  rmapWalk(env, pfn, t.index[page]!, t.owner[page]!, (mm, entry, bits, slot) => {
    if (bits[slot]! & PTE_DIRTY) t.flags[page] = t.flags[page]! | PG_dirty;
    entry[slot] = pte;
    bits[slot] = 0;
    swap.swapDuplicate(swapEntry);
    mm.counters.anonRss--;
    mm.counters.swapents++;
    unmapped++;
  });
  if (unmapped !== t.mapcount[page]) {
    throw new MmsimError('ECORRUPT', `try_to_unmap: pfn ${pfn} has mapcount ${t.mapcount[page]} but ${unmapped} PTEs map it`, { details: { pfn } });
  }
  env.vmstat.node.nr_anon_pages!--;
  freeUserPage(env, pfn, page);
  return true;
}

/**
 * Page migration of an anonymous or shmem page (remove_migration_ptes):
 * the registry has moved flags, mapcount and owner to `newPfn`; every PTE
 * that mapped `oldPfn` now maps `newPfn`, the page keeps its index, and a
 * shmem object its slot.
 */
export function migrateAnon(env: MmEnv, oldPfn: number, newPfn: number): void {
  const m = env.memory;
  const t = m.pages;
  const op = m.pfnToPage(oldPfn);
  const np = m.pfnToPage(newPfn);
  const owner = t.owner[np]!;
  // every owner of the kind is told: an anonymous page of no anon_vma of ours is someone else's
  if (!env.anonVmas.byId.has(owner)) return;
  const index = t.index[op]!;
  t.index[np] = index;
  t.index[op] = 0;
  // a mapped page's references are its PTEs (and a shmem object's one)
  t.refcount[np] = t.refcount[op]!;
  t.refcount[op] = 1;
  const newEntry = newPfn + 1;
  rmapWalk(env, oldPfn, index, owner, (_mm, entry, _bits, slot) => {
    entry[slot] = newEntry;
  });
  const a = env.anonVmas.byId.get(owner);
  if (a?.pages && a.pages.get(index) === oldPfn) a.pages.set(index, newPfn);
}

/** What an anonymous page is, for page-owner reports. */
export function describeAnon(env: MmEnv, pfn: number): string | undefined {
  const m = env.memory;
  const page = m.pfnToPage(pfn);
  if (page < 0) return undefined;
  const t = m.pages;
  const a = env.anonVmas.byId.get(t.owner[page]!);
  if (a === undefined) return undefined;
  const mappers = new Set<number>();
  rmapWalk(env, pfn, t.index[page]!, a.id, (mm) => mappers.add(mm.id));
  const what = a.shmem ? `shmem object ${a.id} page ${t.index[page]}` : `anon page at 0x${(t.index[page]! * PAGE_SIZE).toString(16)} of anon_vma ${a.id}`;
  return `${what}, mapcount ${t.mapcount[page]}, mapped by mm ${[...mappers].join(', ') || 'none'}`;
}

/**
 * The 'process-rmap' invariant check: walking every mm's page tables, each
 * present PTE maps an allocated user page whose mapcount equals the PTEs
 * that map it; the mm's RSS and swap counters equal a recount; the zero
 * page is never writable; nr_anon_pages covers the mapped anonymous pages.
 */
export function checkRmap(env: MmEnv, mms: Iterable<MmStructImpl>): void {
  const m = env.memory;
  const t = m.pages;
  const seen = new Map<number, number>();
  const bad = (msg: string, details: Record<string, unknown> = {}): never => {
    throw new MmsimError('ECORRUPT', `process-rmap: ${msg}`, { details });
  };
  for (const mm of mms) {
    let anon = 0;
    let file = 0;
    let shmem = 0;
    let swapents = 0;
    for (const [key, tab] of mm.pt.ptes) {
      for (let i = 0; i < 512; i++) {
        const e = tab.entry[i]!;
        if (e === 0) continue;
        const addr = key * PMD_SIZE + i * PAGE_SIZE;
        if (mm.vmaLookup(addr) === undefined) bad(`mm ${mm.id}: a PTE at 0x${addr.toString(16)} outside every VMA`, { mm: mm.id, addr });
        if (e === PTE_ZERO) {
          if (tab.bits[i]! & PTE_RW) bad(`mm ${mm.id}: writable zero page at 0x${addr.toString(16)}`, { mm: mm.id, addr });
          continue;
        }
        if (e < 0) {
          swapents++;
          if (env.swap().swapCount(pteToSwpEntry(e)) < 1) bad(`mm ${mm.id}: swap entry ${pteToSwpEntry(e)} at 0x${addr.toString(16)} with no count`, { mm: mm.id, addr });
          continue;
        }
        const pfn = e - 1;
        const page = m.pfnToPage(pfn);
        if (page < 0 || t.refcount[page]! < 1) bad(`mm ${mm.id}: PTE at 0x${addr.toString(16)} maps pfn ${pfn}, which is not allocated`, { mm: mm.id, addr, pfn });
        const kind = t.ownerKind[page]!;
        if (kind === PageOwner.ANON) {
          if (t.flags[page]! & PG_anon) {
            anon++;
            if (t.index[page] !== addr / PAGE_SIZE) bad(`anon pfn ${pfn} has index ${t.index[page]} but is mapped at 0x${addr.toString(16)}`, { pfn });
          } else shmem++;
        } else if (kind === PageOwner.PAGE_CACHE) file++;
        else bad(`mm ${mm.id}: PTE at 0x${addr.toString(16)} maps pfn ${pfn} owned by ${PageOwner[kind]}`, { mm: mm.id, pfn });
        seen.set(pfn, (seen.get(pfn) ?? 0) + 1);
      }
    }
    const c = mm.counters;
    if (c.anonRss !== anon || c.fileRss !== file || c.shmemRss !== shmem || c.swapents !== swapents) {
      bad(`mm ${mm.id}: counters anon ${c.anonRss} file ${c.fileRss} shmem ${c.shmemRss} swap ${c.swapents}, page tables say ${anon} ${file} ${shmem} ${swapents}`, { mm: mm.id });
    }
  }
  let anonPages = 0;
  for (const [pfn, n] of seen) {
    const page = m.pfnToPage(pfn);
    if (t.mapcount[page] !== n) bad(`pfn ${pfn}: mapcount ${t.mapcount[page]} but ${n} PTEs map it`, { pfn });
    if (t.ownerKind[page] === PageOwner.ANON && t.flags[page]! & PG_anon) {
      anonPages++;
      if (t.refcount[page] !== n) bad(`anon pfn ${pfn}: refcount ${t.refcount[page]} but ${n} PTEs map it`, { pfn });
      if (!env.anonVmas.byId.has(t.owner[page]!)) bad(`anon pfn ${pfn}: anon_vma ${t.owner[page]} does not exist`, { pfn });
    }
  }
  // nr_anon_pages counts every anonymous page; the ones tasks map are at most that (a workload may
  // hold anonymous pages of its own that no task maps, as the default physical-side workload does)
  if (anonPages > env.vmstat.node.nr_anon_pages!) bad(`nr_anon_pages is ${env.vmstat.node.nr_anon_pages} but ${anonPages} anonymous pages are mapped`);
}
