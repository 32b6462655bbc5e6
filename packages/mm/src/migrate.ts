/**
 * Page owners and page migration (mm/migrate.c): what an address_space's
 * a_ops are to its folios. An owner of a kind of page (anon memory, page
 * cache, a workload's data...) says how to follow its pages to a new pfn
 * (migrate_folio), how to give one up when reclaim picks it (pageout /
 * remove_mapping) and what it is (page_owner). Owners are contributed
 * under PAGE_OWNER or registered at run time; a kind may have several:
 * every owner of the kind is told of a migration, in order; the first that
 * gives a page up evicts it; the first that knows a page describes it.
 * @module
 */
import {
  inject, injectable, type Lazy, lazy, lazyAll, MEMORY_MODEL, type MemoryModel, MmsimError, PAGE_OWNER, PageOwner,
  type PageOwnerOps, type PageOwners, PG_lru, PG_reserved, RECLAIM_POLICY, type ReclaimPolicy, SNAPSHOT_EXCLUDE, VMSTAT, type VmStat,
} from '@mmsim/core';
import { countVmEvents } from './vmstat.js';

/** Owners by kind, contributions first, then run-time registrations in order. */
interface OwnerTable {
  /** The run-time registrations it was built from (the very objects, in order). */
  registered: PageOwnerOps[];
  byKind: (PageOwnerOps[] | undefined)[];
  /** Kinds with a migrate hook (movable). */
  movable: Uint8Array;
  /** Owners with an evict hook, over all kinds. */
  evictors: number;
}

const HOOKS = ['migrate', 'evict', 'describe'] as const;

/** PAGE_OWNERS of @mmsim/mm: the page-owner registry. */
@injectable()
export class PageOwnerRegistry implements PageOwners {
  /** `table` is derived from the contributions and `registered`, and rebuilt when they differ (after a restore too). */
  static readonly [SNAPSHOT_EXCLUDE] = ['table'];
  /** Owners registered at run time, in registration order. */
  private readonly registered: PageOwnerOps[] = [];
  private table: OwnerTable | undefined;

  constructor(
    @inject(MEMORY_MODEL) private readonly memory: MemoryModel,
    @inject(VMSTAT) private readonly vmstat: VmStat,
    @inject(lazy(RECLAIM_POLICY)) private readonly policy: Lazy<ReclaimPolicy>,
    @inject(lazyAll(PAGE_OWNER)) private readonly contributions: Lazy<PageOwnerOps[]>,
  ) {}

  /** Throws EINVAL unless `ops` is an owner: a name, a page kind, at least one hook, hooks that are functions. */
  private static validate(ops: PageOwnerOps): void {
    const name = typeof ops?.name === 'string' && ops.name ? ops.name : undefined;
    const bad = (why: string): never => {
      throw new MmsimError('EINVAL', `page owner${name ? ` '${name}'` : ''}: ${why}`, { details: { owner: name } });
    };
    if (!ops || typeof ops !== 'object') bad('expected an object { name, kind, migrate?, evict?, describe? }');
    if (!name) bad('`name` is required');
    if (!Number.isInteger(ops.kind) || PageOwner[ops.kind] === undefined) bad(`unknown page kind ${String(ops.kind)}`);
    if (!HOOKS.some((h) => ops[h] !== undefined)) bad('has no hook: give it migrate, evict or describe');
    for (const h of HOOKS) if (ops[h] !== undefined && typeof ops[h] !== 'function') bad(`\`${h}\` must be a function`);
  }

  /**
   * Registers an owner at run time. Throws EINVAL, changing nothing, when
   * the same object is already registered or it has no hook. Returns the
   * function that unregisters it (once; later calls do nothing).
   */
  register(ops: PageOwnerOps): () => void {
    PageOwnerRegistry.validate(ops);
    if (this.registered.includes(ops)) {
      throw new MmsimError('EINVAL', `page owner '${ops.name}' (${PageOwner[ops.kind]}) is already registered`, { details: { owner: ops.name } });
    }
    this.registered.push(ops);
    return () => {
      const i = this.registered.indexOf(ops);
      if (i >= 0) this.registered.splice(i, 1);
    };
  }

  /** The owner table, rebuilt when the run-time registrations are not the ones it was built from. */
  private owners(): OwnerTable {
    const cached = this.table;
    if (cached !== undefined && cached.registered.length === this.registered.length) {
      let same = true;
      for (let i = 0; i < cached.registered.length && same; i++) same = cached.registered[i] === this.registered[i];
      if (same) return cached;
    }
    const byKind: (PageOwnerOps[] | undefined)[] = [];
    const movable = new Uint8Array(256);
    let evictors = 0;
    const contributed = this.contributions();
    for (const ops of contributed) PageOwnerRegistry.validate(ops);
    for (const ops of [...contributed, ...this.registered]) {
      (byKind[ops.kind] ??= []).push(ops);
      if (ops.migrate) movable[ops.kind] = 1;
      if (ops.evict) evictors++;
    }
    return (this.table = { registered: [...this.registered], byKind, movable, evictors });
  }

  /** Can the allocated block at `pfn` be migrated: an owner of its kind migrates, nobody else holds it, not reserved. */
  isMovable(pfn: number): boolean {
    const m = this.memory;
    const page = m.pfnToPage(pfn);
    if (page < 0) return false;
    const t = m.pages;
    if (t.refcount[page] !== 1 || this.owners().movable[t.ownerKind[page]!] !== 1 || t.flags[page]! & PG_reserved) return false;
    // an owner that says which pages are its own migrates only those
    for (const o of this.owners().byKind[t.ownerKind[page]!]!) if (o.migrate && (!o.owns || o.owns(pfn))) return true;
    return false;
  }

  /**
   * migrate_pages() for one block: `dst` (a block of the same order the
   * caller allocated) takes over `src`'s struct page state, LRU position and
   * owner reference (folio_migrate_mapping + folio_migrate_flags); every
   * owner of the kind with a migrate hook is told, in order. `src` is left
   * an allocated kernel page for the caller to free. Counts
   * pgmigrate_success. Throws EINVAL, changing nothing, when `src` is not
   * movable.
   */
  migratePage(src: number, dst: number): void {
    const m = this.memory;
    const t = m.pages;
    const sp = m.pfnToPage(src);
    const dp = m.pfnToPage(dst);
    if (sp < 0 || dp < 0) throw new MmsimError('EBAD_PFN', `migratePage: pfn ${sp < 0 ? src : dst} is not valid`);
    if (!this.isMovable(src)) throw new MmsimError('EINVAL', `migratePage: pfn ${src} is not movable (owner ${PageOwner[t.ownerKind[sp]!]}, refcount ${t.refcount[sp]})`, { details: { pfn: src } });
    if (t.refcount[dp] !== 1 || t.private[dp] !== t.private[sp]) throw new MmsimError('EINVAL', `migratePage: destination pfn ${dst} is not an allocated block of order ${t.private[sp]}`, { details: { pfn: dst } });
    const owners = this.owners().byKind[t.ownerKind[sp]!]!.filter((o) => !o.owns || o.owns(src));
    const onLru = (t.flags[sp]! & PG_lru) !== 0;
    // folio_migrate_flags(): the new page carries the old one's state
    t.flags[dp] = (t.flags[dp]! & PG_reserved) | (t.flags[sp]! & ~PG_reserved);
    t.mapcount[dp] = t.mapcount[sp]!;
    t.ownerKind[dp] = t.ownerKind[sp]!;
    t.owner[dp] = t.owner[sp]!;
    if (onLru) this.policy().replacePage(src, dst);
    t.flags[sp] = t.flags[sp]! & PG_reserved;
    t.mapcount[sp] = 0;
    t.ownerKind[sp] = PageOwner.KERNEL;
    t.owner[sp] = 0;
    for (const o of owners) o.migrate?.(src, dst);
    countVmEvents(this.vmstat, 'pgmigrate_success');
  }

  /** Is any owner able to give pages up? (none: reclaim leaves the LRU alone) */
  canEvict(): boolean {
    return this.owners().evictors > 0;
  }

  /** pageout() / remove_mapping(): the owners of `pfn`'s kind are asked in order until one gives the page up. */
  evict(pfn: number, swapEntry?: number): boolean {
    const page = this.memory.pfnToPage(pfn);
    if (page < 0) return false;
    const owners = this.owners().byKind[this.memory.pages.ownerKind[page]!];
    if (owners) for (const o of owners) if (o.evict && (!o.owns || o.owns(pfn)) && o.evict(pfn, swapEntry)) return true;
    return false;
  }

  /** What the page at `pfn` is, from the first owner of its kind that knows it. */
  describe(pfn: number): string | undefined {
    const page = this.memory.pfnToPage(pfn);
    if (page < 0) return undefined;
    const owners = this.owners().byKind[this.memory.pages.ownerKind[page]!];
    if (owners) {
      for (const o of owners) {
        const d = o.describe?.(pfn);
        if (d !== undefined) return d;
      }
    }
    return undefined;
  }
}
