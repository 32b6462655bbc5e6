// The bad-input catalogue: every error code the code base throws is in
// ERROR_CODES and in the generated docs page; every catalogued code has a
// test below that triggers it and shows the simulator unchanged afterwards.
// Adding a code means adding a line to TRIGGERS.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfig } from '@mmsim/cli';
import { createSimulator as createCoreSimulator } from '@mmsim/core';

const CORE_ALONE_PLUGINS = { memoryModel: '@mmsim/plugin-flatmem', pageAllocator: '@mmsim/plugin-buddy', slab: '@mmsim/plugin-slub', reclaim: '@mmsim/plugin-lru', oom: '@mmsim/plugin-oom-linux' };
import {
  createSimulator, definePlugin, ERROR_CODES, type ErrorCode, GFP_DMA, GFP_DMA32, GFP_HIGHUSER_MOVABLE, GFP_KERNEL,
  injectable, isMmsimError, Lifecycle, layoutMachine, MAX_PAGE_ORDER, MEMORY_MODEL, OOM_SCORER, PAGE_ALLOCATOR,
  PageOwner, PAGE_SIZE, parseConfig, parseDmesg, parseGfp, parseSize, parseZoneinfo, runDefaultWorkload, type Simulator,
  SLAB_ALLOCATOR, SLAB_CONSISTENCY_CHECKS, SLAB_KMALLOC, SLAB_RED_ZONE, type SimulatorConfig, TOPOLOGY, type Topology,
  validateSysctl, __GFP_MEMALLOC, __GFP_MOVABLE, __GFP_NOFAIL, __GFP_RECLAIMABLE,
} from '@mmsim/defconfig';
import { renderErrorsDoc, simFingerprint } from '@mmsim/testkit';
import { container as rootContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/** Expects an MmsimError of `code` from `fn` (sync or async); returns it. */
async function throwsCode(code: ErrorCode, fn: () => unknown): Promise<Error> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(isMmsimError(err), `expected MmsimError ${code}, got ${String(err)}`).toBe(true);
  expect((err as { code: string }).code, (err as Error).message).toBe(code);
  expect(Object.keys(ERROR_CODES)).toContain((err as { code: string }).code);
  return err as Error;
}

/** A bad call on a booted simulator: it must throw `code` and leave the simulator exactly as it was. */
function onSim<T>(setup: (sim: Simulator) => T, bad: (sim: Simulator, ctx: T) => unknown, { machine = { memory: '64M', cpus: 2 }, healthy = true, attempted = false }: { machine?: SimulatorConfig['machine']; healthy?: boolean; attempted?: boolean } = {}) {
  // `attempted`: the call did real work before it was refused (an ENOFAIL request ran reclaim over and over,
  // as the kernel would): the vm event counters (allocstall_*) count those attempts, and reclaim aged the LRU
  // lists (PG_referenced / PG_active of the pages it scanned, their order); every other state is unchanged
  const print = (sim: Simulator) => (attempted ? simFingerprint(sim).replace(/ events \{[^}]*\}/, '').replace(/^pages \d+ [0-9a-f]+$/m, '') : simFingerprint(sim));
  return async (code: ErrorCode) => {
    const sim = await createSimulator({ machine });
    try {
      runDefaultWorkload(sim, { ops: 500 });
      const ctx = setup(sim);
      const before = print(sim);
      await throwsCode(code, () => bad(sim, ctx));
      expect(print(sim), 'state after the refused call').toBe(before);
      if (healthy) sim.check();
    } finally {
      sim.dispose();
    }
  };
}
const simple = (bad: (sim: Simulator) => unknown) => onSim(() => undefined, bad);

/** A bad configuration: createSimulator must refuse it and build nothing (the global container stays empty). */
function onCreate(config: unknown) {
  return async (code: ErrorCode) => {
    await throwsCode(code, () => createSimulator(config as SimulatorConfig));
    for (const t of [MEMORY_MODEL, PAGE_ALLOCATOR, SLAB_ALLOCATOR, OOM_SCORER, TOPOLOGY]) expect(rootContainer.isRegistered(t, true)).toBe(false);
  };
}
/** A pure function refusing its input. */
const pure = (bad: () => unknown) => async (code: ErrorCode) => {
  await throwsCode(code, bad);
};

/** A file holding `text` (for inputs the simulator reads from disk). */
function tmpFile(name: string, text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'mmsim-errors-')), name);
  writeFileSync(p, text);
  return p;
}

/** Every page allocated (the reserves too) and the per-CPU lists drained: nothing left to reclaim, compact or hand out. */
function exhaust(sim: Simulator): void {
  for (let i = 0; i < 3; i++) {
    while (sim.pages.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0) !== null) { /* take it */ }
    sim.pages.drainAllPages();
  }
}

@injectable()
class NoInject {
  readonly name = 'noinject';
  constructor(readonly topology: Topology) {}
}

type Trigger = [what: string, run: (code: ErrorCode) => Promise<void>];

/** At least one trigger per code; each entry one line. */
const TRIGGERS: Partial<Record<ErrorCode, Trigger[]>> = {
  ECONFIG: [
    ['an unknown top-level key', onCreate({ nope: 1 })],
    ['a malformed size', onCreate({ machine: { memory: 'lots' } })],
    ['a negative seed', onCreate({ seed: -1 })],
    ['a malformed kernel version', onCreate({ kernel: 'six' })],
    ['an unknown extension point', onCreate({ plugins: { allocator: 'buddy' } })],
    ['a node with more CPUs than NR_CPUS', onCreate({ machine: { nodes: [{ memory: '32M', cpus: 1 }, { memory: '32M', cpus: 4294967296 }] } })],
    ['a CPU id beyond NR_CPUS', onCreate({ machine: { nodes: [{ memory: '64M', cpus: [1e9] }] } })],
    ['a config file that is not JSON', pure(() => readConfig(join(root, 'README.md')))],
    ['a config file that does not exist', pure(() => readConfig(join(root, 'no-such-config.json')))],
  ],
  EPLUGIN_UNKNOWN: [['a plugin name nobody provides', onCreate({ plugins: { slab: 'slob-from-mars' } })]],
  EPLUGIN_KIND: [['a slab allocator as the page allocator', onCreate({ plugins: { pageAllocator: 'slub' } })]],
  EPLUGIN_API: [['a plugin for API version 2', onCreate({ plugins: { oom: definePlugin({ name: 'future', provides: OOM_SCORER, apiVersion: '2', register() {} }) } })]],
  EPLUGIN_OPTIONS: [
    ['a wrongly typed option', onCreate({ plugins: { pageAllocator: { use: 'buddy', options: { mobilityGrouping: 'yes' } } } })],
    ['an unknown option', onCreate({ plugins: { pageAllocator: { use: 'buddy', options: { nope: 1 } } } })],
    ['options to a plugin that takes none', onCreate({ plugins: { memoryModel: { use: 'flatmem', options: { x: 1 } } } })],
  ],
  EPLUGIN_INVALID: [
    ['a manifest without a name', pure(() => definePlugin({} as never))],
    ['a package that is not a plugin', onCreate({ plugins: { oom: 'tsyringe' } })],
    ['a plugin that does not register its token', onCreate({ plugins: { oom: definePlugin({ name: 'lazy', provides: OOM_SCORER, apiVersion: '1', register() {} }) } })],
  ],
  EPLUGIN_MISSING: [
    ['core alone with no plugin for a point', pure(() => createCoreSimulator({ machine: { memory: '64M' } }))],
    ['core alone without the services a plugin needs', pure(() => createCoreSimulator({ machine: { memory: '64M' }, plugins: CORE_ALONE_PLUGINS }, { layoutMachine }))],
    ['core alone with no machine layout', pure(() => createCoreSimulator({ machine: { memory: '64M' }, plugins: CORE_ALONE_PLUGINS, services: ['@mmsim/mm'] }))],
  ],
  EPLUGIN_REGISTER: [
    ['register() throws', onCreate({ plugins: { slab: definePlugin({ name: 'broken', provides: SLAB_ALLOCATOR, apiVersion: '1', register() { throw new Error('boom'); } }) } })],
    ['a constructor parameter without @inject', onCreate({ plugins: { oom: definePlugin({ name: 'noinject', provides: OOM_SCORER, apiVersion: '1', register(c) { c.register(OOM_SCORER, { useClass: NoInject as never }, { lifecycle: Lifecycle.ContainerScoped }); } }) } })],
  ],
  EFROZEN: [['registering in a composed simulator', simple((sim) => sim.container.register(TOPOLOGY, { useValue: null }))]],
  EDISPOSED: [['using a disposed simulator', async (code) => {
    const sim = await createSimulator({ machine: { memory: '64M' } });
    sim.dispose();
    await throwsCode(code, () => sim.pages);
    await throwsCode(code, () => sim.proc('meminfo'));
  }]],
  EMACHINE: [
    ['less than 16M', onCreate({ machine: { memory: '8M' } })],
    ['an e820 entry ending before it starts', onCreate({ machine: { e820: [{ start: '1M', end: '0x1000' }] } })],
    ['an e820 map without usable RAM', onCreate({ machine: { e820: [{ start: 0, end: '64M', type: 'reserved' }] } })],
    ['overlapping usable e820 ranges', onCreate({ machine: { e820: [{ start: '1M', end: '40M' }, { start: '32M', end: '64M' }] } })],
    ['ranges for some nodes only', onCreate({ machine: { nodes: [{ ranges: [{ start: '1M', end: '64M' }] }, { memory: '64M' }] } })],
    ['a distance table of the wrong size', onCreate({ machine: { memory: '64M', nodes: [{}, {}], distances: [[10]] } })],
    ['a size too large', pure(() => parseSize('99999999999P'))],
    ['a layout with no memory at all', pure(() => layoutMachine({}))],
  ],
  ESYSCTL: [
    ['an out-of-range write', simple((sim) => sim.sysctl.set('vm.swappiness', 300))],
    ['percpu_pagelist_high_fraction below 8', simple((sim) => sim.sysctl.set('vm.percpu_pagelist_high_fraction', 4))],
    ['an unknown sysctl in the config', onCreate({ sysctl: { 'vm.nope': 1 } })],
    ['a non-integer value', pure(() => validateSysctl('vm.min_free_kbytes', '1024'))],
    ['a name inherited from Object.prototype', pure(() => validateSysctl('toString', 1))],
    ['a BigInt value', pure(() => validateSysctl('vm.swappiness', BigInt(10)))],
  ],
  EGFP_INVALID: [
    ['two zone modifiers', simple((sim) => sim.pages.allocPages(GFP_DMA | GFP_DMA32 | GFP_KERNEL, 0))],
    ['movable and reclaimable', simple((sim) => sim.pages.allocPages(GFP_KERNEL | __GFP_MOVABLE | __GFP_RECLAIMABLE, 0))],
    ['an unknown flag name', pure(() => parseGfp('GFP_KERNEL|__GFP_BOGUS'))],
  ],
  EBAD_ORDER: [
    ['an order above MAX_PAGE_ORDER', simple((sim) => sim.pages.allocPages(GFP_KERNEL, MAX_PAGE_ORDER + 1))],
    ['freeing with another order', onSim((sim) => sim.pages.allocPages(GFP_KERNEL, 2)!, (sim, pfn) => sim.pages.freePages(pfn, 1))],
  ],
  EBAD_PFN: [
    ['a pfn outside the machine', simple((sim) => sim.pages.freePages(sim.memory.maxPfn + 10, 0))],
    ['a pfn in a hole', simple((sim) => sim.pages.freePages(0, 0))],
    ['a tail page of an allocated block', onSim((sim) => sim.pages.allocPages(GFP_KERNEL, 3)!, (sim, pfn) => sim.pages.freePages(pfn + 1, 0))],
    ['a page added to the LRU twice', onSim((sim) => userPage(sim), (sim, pfn) => sim.reclaim.pageAdded(pfn, true))],
  ],
  EDOUBLE_FREE: [
    ['a page freed twice', onSim((sim) => { const p = sim.pages.allocPages(GFP_KERNEL, 1)!; sim.pages.freePages(p, 1); return p; }, (sim, pfn) => sim.pages.freePages(pfn, 1))],
    ['an object freed twice', onSim((sim) => { const c = sim.slab.createCache('twice', 64); sim.slab.cacheAlloc(c, GFP_KERNEL); const p = sim.slab.cacheAlloc(c, GFP_KERNEL)!; sim.slab.cacheFree(c, p); return { c, p }; }, (sim, x) => sim.slab.cacheFree(x.c, x.p))],
    ['a large kmalloc freed twice', onSim((sim) => { const p = sim.slab.kmalloc(5 * PAGE_SIZE, GFP_KERNEL)!; sim.slab.kfree(p); return p; }, (sim, p) => sim.slab.kfree(p))],
  ],
  EBAD_POINTER: [
    ['kfree of a pointer never returned', simple((sim) => sim.slab.kfree(12345 * PAGE_SIZE + 8))],
    ['cacheFree into the wrong cache', onSim((sim) => { const a = sim.slab.createCache('wrong_a', 64); return { b: sim.slab.createCache('wrong_b', 300), p: sim.slab.cacheAlloc(a, GFP_KERNEL)! }; }, (sim, x) => sim.slab.cacheFree(x.b, x.p))],
    ['a pointer into the middle of an object', onSim((sim) => sim.slab.kmalloc(100, GFP_KERNEL)!, (sim, p) => sim.slab.kfree(p + 8))],
  ],
  EBAD_SIZE: [
    ['kmalloc of a negative size', simple((sim) => sim.slab.kmalloc(-1, GFP_KERNEL))],
    ['kmalloc beyond KMALLOC_MAX_SIZE', simple((sim) => sim.slab.kmalloc(2 ** 40, GFP_KERNEL))],
  ],
  ECACHE_BUSY: [['destroying a cache with live objects', onSim((sim) => { const c = sim.slab.createCache('busy', 128); sim.slab.cacheAlloc(c, GFP_KERNEL); return c; }, (sim, c) => sim.slab.destroyCache(c))]],
  ECACHE_UNKNOWN: [['allocating from a destroyed cache', onSim((sim) => { const c = sim.slab.createCache('gone', 128); sim.slab.destroyCache(c); return c; }, (sim, c) => sim.slab.cacheAlloc(c, GFP_KERNEL))]],
  EPROC_UNKNOWN: [
    ['an unknown /proc view', simple((sim) => sim.proc('nosuchview'))],
    ['the oom_score of no task', simple((sim) => sim.proc('4242/oom_score'))],
  ],
  ESNAPSHOT: [['restoring a snapshot on another machine', simple((sim) => createSimulator({ machine: { memory: '32M', cpus: 1 }, restore: sim.snapshot() }))]],
  ETASK_UNKNOWN: [['a pid nobody has', simple((sim) => sim.tasks.get(4242))]],
  EHOTPLUG: [
    ['offlining a section under FLATMEM', simple((sim) => sim.memory.offlineSection(1))],
    ['onlining a section under FLATMEM', simple((sim) => sim.memory.onlineSection(1, sim.topology.zoneTypes[2]!))],
  ],
  EINVAL: [
    ['an oom_score_adj out of range (as a write to /proc/<pid>/oom_score_adj is)', simple((sim) => sim.processes.spawn({ comm: 'x', oomScoreAdj: 1001 }))],
    ['a node that does not exist', simple((sim) => sim.pages.allocPages(GFP_KERNEL, 0, { nid: 9 }))],
    ['a CPU that does not exist', simple((sim) => sim.slab.kmalloc(64, GFP_KERNEL, { cpu: 99 }))],
    ['a cache asking for SLAB_KMALLOC', simple((sim) => sim.slab.createCache('kmallocish', 64, { flags: SLAB_KMALLOC }))],
    ['migrating a page that is not movable', onSim((sim) => [sim.pages.allocPages(GFP_KERNEL, 0)!, sim.pages.allocPages(GFP_KERNEL, 0)!], (sim, [a, b]) => sim.pageOwners.migratePage(a!, b!))],
    ['registering one page owner twice', onSim((sim) => { const o = { name: 'twice', kind: PageOwner.SLAB, migrate: () => {} }; sim.pageOwners.register(o); return o; }, (sim, o) => sim.pageOwners.register(o))],
  ],
  ECORRUPT: [['a free page with a reference (sim.check() reads, never writes)', onSim((sim) => {
    const t = sim.memory.pages;
    for (let p = 0; p < t.size; p++) if (t.ownerKind[p] === PageOwner.BUDDY) { t.refcount[p] = 1; return; }
  }, (sim) => sim.check(), { healthy: false })]],
  ENOFAIL: [['a __GFP_NOFAIL request with every page (reserves too) taken', onSim(exhaust, (sim) => sim.pages.allocPages(GFP_KERNEL | __GFP_NOFAIL, 0), { attempted: true })]],
  EOBJ_CORRUPT: [['a one-byte overrun of a red-zoned object, found on free', onSim((sim) => { const c = sim.slab.createCache('overrun', 64, { flags: SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE }); const p = sim.slab.cacheAlloc(c, GFP_KERNEL)!; sim.slab.writeObject(p, 64, [0x41]); return { c, p }; }, (sim, x) => sim.slab.cacheFree(x.c, x.p))]],
  EPARSE: [
    ['a boot log with a malformed BIOS-e820 line', onCreate({ machine: { dmesg: tmpFile('dmesg.txt', '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n[    0.000000] BIOS-e820: [mem 0x100000-] usable\n') } })],
    ['a boot log with a node range line without its range', pure(() => parseDmesg('Early memory node ranges\n  node   0:\n'))],
    ['a zoneinfo field that is not a number', pure(() => parseZoneinfo('Node 0, zone      DMA\n  pages free     3975\n        spanned  4095\n        present  x\n'))],
  ],
  EWORKLOAD: [
    ['a negative operation count', simple((sim) => runDefaultWorkload(sim, { ops: -1 }))],
    ['a fill that is not a fraction', simple((sim) => runDefaultWorkload(sim, { fill: Number.NaN }))],
  ],
};

/** A user page on the LRU (as a page fault makes one). */
function userPage(sim: Simulator): number {
  const pfn = sim.pages.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
  sim.memory.pages.ownerKind[sim.memory.pfnToPage(pfn)] = PageOwner.ANON;
  sim.reclaim.pageAdded(pfn, true);
  return pfn;
}

/** Every non-test source file of the code base. */
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|mts|js|mjs)$/.test(name) && !/\.test\.|\.d\.ts$/.test(name)) out.push(p);
    }
  };
  for (const group of ['packages', 'plugins', 'examples']) {
    for (const pkg of readdirSync(join(root, group))) {
      const src = join(root, group, pkg, 'src');
      try {
        if (statSync(src).isDirectory()) walk(src);
      } catch {
        // a package without sources
      }
    }
  }
  return out;
}

describe('the error catalogue', () => {
  it('the docs page is generated from ERROR_CODES and current (npm run docs:errors)', () => {
    const page = readFileSync(join(root, 'packages/core/docs/errors.md'), 'utf8');
    expect(page, 'packages/core/docs/errors.md is stale: run `npm run docs:errors`').toBe(renderErrorsDoc(ERROR_CODES));
  });

  it('every code the code base throws is catalogued', () => {
    const thrown = new Map<string, string>();
    const patterns = [
      /MmsimError\(\s*['"`]([A-Z][A-Z0-9_]*)['"`]/g, // new MmsimError('CODE', ...)
      /\berr\(\s*['"`]([A-Z][A-Z0-9_]*)['"`]/g, // a plugin's this.err('CODE', ...)
      /isMmsimError\([^,()]+,\s*['"`]([A-Z][A-Z0-9_]*)['"`]/g,
      /\bcode:\s*['"`](E[A-Z0-9_]+)['"`]/g,
    ];
    for (const file of sources()) {
      const text = readFileSync(file, 'utf8');
      for (const re of patterns) for (const m of text.matchAll(re)) thrown.set(m[1]!, relative(root, file));
    }
    expect(thrown.size, 'the scan finds the codes thrown today').toBeGreaterThanOrEqual(20);
    for (const [code, file] of thrown) expect(Object.keys(ERROR_CODES), `${file} throws ${code}, which ERROR_CODES (and so the docs) lack`).toContain(code);
  });

  it('every catalogued code has a trigger test below', () => {
    const missing = Object.keys(ERROR_CODES).filter((c) => !TRIGGERS[c as ErrorCode]?.length);
    expect(missing, 'add a line to TRIGGERS in test/errors.test.ts for each').toEqual([]);
  });
});

describe('bad inputs: each code triggered, the simulator left unchanged', () => {
  for (const [code, triggers] of Object.entries(TRIGGERS)) {
    for (const [what, run] of triggers!) it(`${code}: ${what}`, () => run(code as ErrorCode));
  }
});

describe('parseConfig names the field', () => {
  it('for nested machine errors', async () => {
    const e = await throwsCode('ECONFIG', () => parseConfig({ machine: { nodes: [{ cpus: -1 }] } }));
    expect(e.message).toMatch(/machine\.nodes\.0\.cpus/);
  });
});
