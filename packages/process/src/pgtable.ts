/**
 * Four-level page tables of one address space (arch/x86/mm/pgtable.c,
 * mm/memory.c __pte_alloc / __pmd_alloc / __pud_alloc, free_pgtables).
 *
 * A PTE table maps 2 MiB: 512 entries as an Int32Array (`entry`) with a
 * parallel Uint8Array of PTE bits (`bits`), kept in a Map keyed by
 * addr / 2 MiB (the PMD slot it hangs from). PMD tables (1 GiB each) and PUD
 * tables (512 GiB each) hold no data of their own here — the Map of PTE
 * tables is the walk — but each is a real page of the page allocator, as is
 * every PTE table and the PGD: GFP_PGTABLE_USER pages owned by the mm
 * (PageOwner.PAGE_TABLE, owner = mm id). PTE, PMD and PUD tables count in
 * nr_page_table_pages and in the mm's pgtables_bytes (VmPTE); the PGD, as
 * in 6.12's _pgd_alloc(), in neither.
 *
 * PTE encoding (shared with the swap code): entry 0 none; > 0 a present
 * page, pfn + 1; −1 the shared zero page (present, read-only, no struct page
 * of ours); ≤ −2 a swap entry, −(2 + entry).
 * @module
 */
import { GFP_KERNEL_ACCOUNT, __GFP_ZERO, type MemoryModel, type PageAllocator, PageOwner, PG_table, type VmStat } from '@mmsim/core';

/** Entries per table (PTRS_PER_PTE / PTRS_PER_PMD / PTRS_PER_PUD). */
export const PTRS_PER_TABLE = 512;
/** Bytes one PTE table maps (PMD_SIZE). */
export const PMD_SIZE = 2 ** 21;
/** Bytes one PMD table maps (PUD_SIZE). */
export const PUD_SIZE = 2 ** 30;
/** Bytes one PUD table maps (P4D / PGDIR_SIZE on 4-level x86_64). */
export const PGDIR_SIZE = 2 ** 39;
/** Bytes of one table page. */
export const TABLE_BYTES = 4096;

/** _PAGE_RW: the PTE allows writes. */
export const PTE_RW = 1;
/** _PAGE_ACCESSED: the young bit. */
export const PTE_ACCESSED = 2;
/** _PAGE_DIRTY */
export const PTE_DIRTY = 4;

/** entry value of the shared zero page. */
export const PTE_ZERO = -1;
/** A PTE entry holding swap entry `e`. */
export function swpEntryToPte(e: number): number {
  return -(2 + e);
}
/** The swap entry of a PTE entry ≤ −2. */
export function pteToSwpEntry(v: number): number {
  return -v - 2;
}

/** GFP_PGTABLE_USER */
export const GFP_PGTABLE_USER = GFP_KERNEL_ACCOUNT | __GFP_ZERO;

/** One PTE table: 512 entries mapping 2 MiB, and the page it lives in. */
export class PteTable {
  readonly entry = new Int32Array(PTRS_PER_TABLE);
  readonly bits = new Uint8Array(PTRS_PER_TABLE);
  constructor(
    /** The table's own page. */
    readonly pfn: number,
  ) {}
}

/** An address space's page tables. */
export class PageTables {
  /** PTE tables by addr / PMD_SIZE. */
  readonly ptes = new Map<number, PteTable>();
  /** PMD table pages by addr / PUD_SIZE. */
  readonly pmds = new Map<number, number>();
  /** PUD table pages by addr / PGDIR_SIZE (4-level only). */
  readonly puds = new Map<number, number>();
  /** The PGD page (−1 once freed). */
  pgd = -1;
  constructor(
    /** 4 (x86_64) or 3 (i386 PAE: no PUD level). */
    readonly levels: 3 | 4,
  ) {}
  /** mm_pgtables_bytes(): PTE, PMD and PUD tables. */
  get bytes(): number {
    return (this.ptes.size + this.pmds.size + this.puds.size) * TABLE_BYTES;
  }
  /** Table pages counted in nr_page_table_pages. */
  get pages(): number {
    return this.ptes.size + this.pmds.size + this.puds.size;
  }
}

/** What allocating and freeing table pages needs. */
export interface PgtableEnv {
  readonly pages: PageAllocator;
  readonly memory: MemoryModel;
  readonly vmstat: VmStat;
}

/** One table page (pagetable_alloc + the ctor's accounting): owner PAGE_TABLE of mm `mmId`; null when the allocator failed. */
function allocTablePage(env: PgtableEnv, mmId: number, cpu: number, counted: boolean): number | null {
  const pfn = env.pages.allocPages(GFP_PGTABLE_USER, 0, { cpu });
  if (pfn === null) return null;
  const t = env.memory.pages;
  const page = env.memory.pfnToPage(pfn);
  t.ownerKind[page] = PageOwner.PAGE_TABLE;
  t.owner[page] = mmId;
  t.flags[page] = t.flags[page]! | PG_table;
  if (counted) env.vmstat.node.nr_page_table_pages!++;
  return pfn;
}

/** pagetable_free(): the table page goes back to the allocator. */
function freeTablePage(env: PgtableEnv, pfn: number, counted: boolean): void {
  const t = env.memory.pages;
  const page = env.memory.pfnToPage(pfn);
  t.flags[page] = t.flags[page]! & ~PG_table;
  t.ownerKind[page] = PageOwner.KERNEL;
  t.owner[page] = 0;
  env.pages.freePages(pfn, 0);
  if (counted) env.vmstat.node.nr_page_table_pages!--;
}

/** pgd_alloc(): the PGD (and, on i386 PAE, the three preallocated user PMDs). False when memory ran out (nothing kept). */
export function pgdAlloc(env: PgtableEnv, pt: PageTables, mmId: number, cpu: number, taskSize: number): boolean {
  const pgd = allocTablePage(env, mmId, cpu, false);
  if (pgd === null) return false;
  pt.pgd = pgd;
  if (pt.levels === 3) {
    // preallocate_pmds(): PAE keeps a PMD for every user PGD slot
    for (let k = 0; k * PUD_SIZE < taskSize; k++) {
      const pmd = allocTablePage(env, mmId, cpu, true);
      if (pmd === null) {
        pgdFree(env, pt);
        return false;
      }
      pt.pmds.set(k, pmd);
    }
  }
  return true;
}

/** pgd_free() with what free_pgtables left: every table page of the mm goes back. */
export function pgdFree(env: PgtableEnv, pt: PageTables): void {
  for (const tab of pt.ptes.values()) freeTablePage(env, tab.pfn, true);
  pt.ptes.clear();
  for (const pfn of pt.pmds.values()) freeTablePage(env, pfn, true);
  pt.pmds.clear();
  for (const pfn of pt.puds.values()) freeTablePage(env, pfn, true);
  pt.puds.clear();
  if (pt.pgd >= 0) freeTablePage(env, pt.pgd, false);
  pt.pgd = -1;
}

/**
 * pte_alloc() of the PTE table covering `key` × 2 MiB, with the PUD and PMD
 * tables above it (__pud_alloc, __pmd_alloc, __pte_alloc). null when the
 * page allocator failed (VM_FAULT_OOM); tables allocated on the way stay,
 * as in the kernel.
 */
export function pteAlloc(env: PgtableEnv, pt: PageTables, mmId: number, cpu: number, key: number): PteTable | null {
  const have = pt.ptes.get(key);
  if (have) return have;
  if (pt.levels === 4) {
    const pudKey = Math.floor(key / (PTRS_PER_TABLE * PTRS_PER_TABLE));
    if (!pt.puds.has(pudKey)) {
      const pfn = allocTablePage(env, mmId, cpu, true);
      if (pfn === null) return null;
      pt.puds.set(pudKey, pfn);
    }
  }
  const pmdKey = Math.floor(key / PTRS_PER_TABLE);
  if (!pt.pmds.has(pmdKey)) {
    const pfn = allocTablePage(env, mmId, cpu, true);
    if (pfn === null) return null;
    pt.pmds.set(pmdKey, pfn);
  }
  const pfn = allocTablePage(env, mmId, cpu, true);
  if (pfn === null) return null;
  const tab = new PteTable(pfn);
  pt.ptes.set(key, tab);
  return tab;
}

/**
 * free_pgtables() after an unmap of [start, end): frees each PTE table of
 * the range that no VMA overlaps any more (its entries are all none by
 * then), then each PMD and PUD table left with nothing under it and no VMA
 * over it. `covered(lo, hi)` says whether any VMA overlaps [lo, hi).
 */
export function freePgtables(env: PgtableEnv, pt: PageTables, start: number, end: number, covered: (lo: number, hi: number) => boolean): void {
  if (end <= start) return;
  const k0 = Math.floor(start / PMD_SIZE);
  const k1 = Math.floor((end - 1) / PMD_SIZE);
  const freePte = (k: number) => {
    const tab = pt.ptes.get(k);
    if (!tab || covered(k * PMD_SIZE, (k + 1) * PMD_SIZE)) return;
    pt.ptes.delete(k);
    freeTablePage(env, tab.pfn, true);
  };
  if (k1 - k0 + 1 <= pt.ptes.size) {
    for (let k = k0; k <= k1; k++) freePte(k);
  } else {
    for (const k of [...pt.ptes.keys()]) if (k >= k0 && k <= k1) freePte(k);
  }
  if (pt.levels === 3) return; // PAE's PMDs live as long as the PGD
  const m0 = Math.floor(start / PUD_SIZE);
  const m1 = Math.floor((end - 1) / PUD_SIZE);
  const pteKeysIn = (lo: number, hi: number) => {
    for (const k of pt.ptes.keys()) if (k >= lo && k < hi) return true;
    return false;
  };
  for (const m of [...pt.pmds.keys()]) {
    if (m < m0 || m > m1) continue;
    if (covered(m * PUD_SIZE, (m + 1) * PUD_SIZE) || pteKeysIn(m * PTRS_PER_TABLE, (m + 1) * PTRS_PER_TABLE)) continue;
    freeTablePage(env, pt.pmds.get(m)!, true);
    pt.pmds.delete(m);
  }
  const u0 = Math.floor(start / PGDIR_SIZE);
  const u1 = Math.floor((end - 1) / PGDIR_SIZE);
  for (const u of [...pt.puds.keys()]) {
    if (u < u0 || u > u1) continue;
    let used = covered(u * PGDIR_SIZE, (u + 1) * PGDIR_SIZE);
    if (!used) for (const m of pt.pmds.keys()) if (Math.floor(m / PTRS_PER_TABLE) === u) used = true;
    if (used) continue;
    freeTablePage(env, pt.puds.get(u)!, true);
    pt.puds.delete(u);
  }
}
