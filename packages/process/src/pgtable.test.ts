import { PAGE_SIZE, PageOwner, PG_table } from '@mmsim/core';
import { describe, expect, it } from 'vitest';
import type { ProcessLayer } from './fork.js';
import { PGDIR_SIZE, PUD_SIZE, pteToSwpEntry, swpEntryToPte } from './pgtable.js';
import { processSim } from './compose.test.js';

describe('page tables', () => {
  it('x86_64: the first fault in a 512 GiB region takes a PUD, a PMD and a PTE table; each table is a page owned by the mm', async () => {
    const sim = await processSim();
    const p = sim.processes;
    const t = p.spawn({ comm: 'pt' });
    const mm = (p as ProcessLayer).mmOf(t.pid);
    expect(mm.pt.levels).toBe(4);
    expect(t.pgtablesBytes).toBe(0);
    const a = p.mmap(t.pid, PAGE_SIZE, { flags: 0x10, addr: 3 * PGDIR_SIZE });
    expect(a).toBe(3 * PGDIR_SIZE);
    p.access(t.pid, a, true);
    expect(t.pgtablesBytes).toBe(3 * PAGE_SIZE);
    // another GiB of the same PUD: a PMD and a PTE table more
    const b = p.mmap(t.pid, PAGE_SIZE, { flags: 0x10, addr: 3 * PGDIR_SIZE + PUD_SIZE });
    p.access(t.pid, b, false);
    expect(t.pgtablesBytes).toBe(5 * PAGE_SIZE);
    for (const tab of mm.pt.ptes.values()) {
      const page = sim.memory.pfnToPage(tab.pfn);
      expect(sim.memory.pages.ownerKind[page]).toBe(PageOwner.PAGE_TABLE);
      expect(sim.memory.pages.owner[page]).toBe(mm.id);
      expect(sim.memory.pages.flags[page]! & PG_table).toBe(PG_table);
    }
    // unmapping the lone page frees its PTE and PMD table; the PUD stays for the other
    p.munmap(t.pid, b, PAGE_SIZE);
    expect(t.pgtablesBytes).toBe(3 * PAGE_SIZE);
    p.munmap(t.pid, a, PAGE_SIZE);
    expect(t.pgtablesBytes).toBe(0);
    sim.check();
  });

  it('i386 PAE: three user PMDs are preallocated with the PGD; PTE tables come on demand', async () => {
    const sim = await processSim({ machine: { memory: '1G', arch: 'x86_32' } });
    const t = sim.processes.spawn({ comm: 'pae' });
    expect(t.pgtablesBytes).toBe(3 * PAGE_SIZE);
    const a = sim.processes.mmap(t.pid, PAGE_SIZE);
    sim.processes.access(t.pid, a, true);
    expect(t.pgtablesBytes).toBe(4 * PAGE_SIZE);
    sim.processes.exit(t.pid);
    expect(sim.vmstat.node.nr_page_table_pages).toBe(0);
    sim.check();
  });

  it('swap entries round-trip through the PTE encoding', () => {
    for (const e of [0, 1, 12345, 2 ** 31 - 3]) {
      expect(swpEntryToPte(e)).toBeLessThanOrEqual(-2);
      expect(pteToSwpEntry(swpEntryToPte(e))).toBe(e);
    }
  });
});
