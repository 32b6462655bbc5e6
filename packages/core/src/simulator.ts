/**
 * createSimulator(): validate → load plugins → compose in a child container
 * → boot → freeze. A failure at any step disposes what was built and
 * rethrows a typed error; nothing global is touched.
 * @module
 */
import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer, type InjectionToken } from 'tsyringe';
import { SimClock } from './clock.js';
import { parseConfig, type PluginRef, type ResolvedConfig, type SimulatorConfig } from './config.js';
import { checkVm } from './debug_vm.js';
import { MmsimError } from './errors.js';
import { MigrateType } from './gfp.js';
import { EventBus } from './events.js';
import { Kernel } from './kernel.js';
import { layoutMachine, type MachineDescription } from './machine.js';
import type { MemoryModel } from './memory-model.js';
import type { OomScorer } from './oom.js';
import { NO_PAGE, PageOwner, PG_reserved } from './page.js';
import type { PageAllocator } from './page-allocator.js';
import { checkCompatible, validateOptions, type PluginManifest } from './plugin.js';
import { showBuddyinfo, showMeminfo, showNumaHardware, showNumastat, showOomScore, showSlabinfo, type ProcEntry } from './proc.js';
import { showExtfragIndex, showPagetypeinfo, showUnusableIndex, showVmstat, showZoneinfo } from './vmstat.js';
import { Random } from './random.js';
import type { ReclaimPolicy } from './reclaim.js';
import { DEFAULT_PLUGINS, loadPlugin } from './registry.js';
import type { SlabAllocator } from './slab-allocator.js';
import type { Vmalloc } from './vmalloc.js';
import type { Percpu } from './percpu.js';
import { Sysctl, type SysctlName } from './sysctl.js';
import {
  CLOCK, EVENTS, EXTENSION_POINTS, type ExtensionPointKey, KERNEL, MEMORY_MODEL, OOM_SCORER, PAGE_ALLOCATOR,
  PROC_ENTRY, RANDOM, RECLAIM_POLICY, SLAB_ALLOCATOR, SYSCTL, TOPOLOGY,
} from './tokens.js';
import { Topology } from './topology.js';
import { interleavePrev, setInterleavePrev } from './mempolicy.js';
import { restoreSnapshot, takeSnapshot, type Snapshot } from './snapshot.js';
import { SHRINKER } from './tokens.js';
import { Vmalloc as VmallocClass } from './vmalloc.js';
import { Percpu as PercpuClass } from './percpu.js';
import { ListLru, SlabShrinker } from './list_lru.js';
import { PageFrameTable } from './page.js';
import { DelayedWorkQueue } from './timer.js';
import { TaskTable } from './tasks.js';

/** What snapshot() and restore need to know about a composition. */
interface SnapshotInfo {
  fingerprint: Record<string, unknown>;
  /** Tokens of extra plugins (their persistent instances are state roots). */
  extraTokens: symbol[];
}

/** Core classes a snapshot may hold that boot does not create (created on first use). */
const CORE_SNAPSHOT_CLASSES = [VmallocClass, PercpuClass, ListLru, SlabShrinker, PageFrameTable, TaskTable, DelayedWorkQueue];

/**
 * The roots of the simulated state, in a fixed order. Contributions
 * (shrinkers, /proc entries, extra plugins) count only when the container
 * keeps their instance: a transient one holds no state between calls.
 */
function stateRoots(c: DependencyContainer, kernel: Kernel, extraTokens: symbol[]): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const s of SLOTS) r[s] = c.resolve(EXTENSION_POINTS[s]);
  r.kernel = kernel;
  r.topology = c.resolve(TOPOLOGY);
  r.sysctl = c.resolve(SYSCTL);
  r.clock = c.resolve(CLOCK);
  r.random = c.resolve(RANDOM);
  r.interleave = { prev: interleavePrev(kernel) };
  for (const [name, t] of [['shrinkers', SHRINKER], ['procEntries', PROC_ENTRY], ...extraTokens.map((x, i) => [`extra${i}`, x] as const)] as [string, symbol][]) {
    if (!c.isRegistered(t, true)) continue;
    const a = c.resolveAll<unknown>(t);
    const b = c.resolveAll<unknown>(t);
    r[name] = a.filter((x, i) => x === b[i] && typeof x === 'object' && x !== null);
  }
  return r;
}

/** What is not state but may be referenced from it: rebound by name on restore. */
function snapshotExterns(c: DependencyContainer, events: EventBus): Map<object, string> {
  return new Map<object, string>([[c, 'container'], [rootContainer, 'rootContainer'], [events, 'events'], [events.enabled, 'events.enabled']]);
}

/** JSON-normal form (functions and symbols named, undefined dropped) for fingerprints. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null, (_k, x: unknown) => (typeof x === 'function' ? `[function ${x.name}]` : typeof x === 'symbol' ? String(x) : typeof x === 'bigint' ? String(x) : x)) ?? 'null') as unknown;
}

/** Extension points in boot order: each may depend on the ones before it. */
const SLOTS: ExtensionPointKey[] = ['memoryModel', 'pageAllocator', 'slab', 'reclaim', 'oom'];

interface Loaded {
  slot: ExtensionPointKey | 'extra';
  path: string;
  manifest: PluginManifest;
  options: unknown;
}

async function loadRef(ref: PluginRef, slot: ExtensionPointKey | 'extra', path: string): Promise<Loaded> {
  const use = typeof ref === 'object' && 'use' in ref ? ref.use : ref;
  const rawOptions = typeof ref === 'object' && 'use' in ref ? ref.options : undefined;
  const manifest = typeof use === 'string' ? await loadPlugin(use, path) : use;
  checkCompatible(manifest, slot, path);
  const options = await validateOptions(manifest, rawOptions, `${path}.options`);
  return { slot, path, manifest, options };
}

/**
 * Marks the pages memblock keeps PG_reserved and sets managed_pages; the
 * page allocator frees every other present page. Per zone that is the
 * memmap it is charged (calc_memmap_size, taken from the top of the zone
 * as memblock allocates top-down), the DMA reserve in the first zone
 * (dma_reserve: firmware and early kernel allocations below 16 MiB, from
 * the bottom), or, for zones given outright (a zoneinfo), present - managed.
 */
function reserveBootmem(topology: Topology, memory: MemoryModel): void {
  const t = memory.pages;
  const mark = (pfn: number, owner: PageOwner) => {
    const page = memory.pfnToPage(pfn);
    t.flags[page]! |= PG_reserved;
    t.ownerKind[page] = owner;
    t.refcount[page] = 1;
  };
  for (const z of topology.zones) {
    if (!z.populated) continue;
    const specManaged = topology.specManaged(z);
    let reserve = specManaged !== undefined ? z.presentPages - specManaged : Math.min(memory.memmapPages(z), z.presentPages);
    let low = 0;
    if (specManaged === undefined && z.idx === 0 && topology.layout.dmaReserve && z.presentPages - reserve > topology.layout.dmaReserve) {
      low = topology.layout.dmaReserve;
    }
    z.managedPages = z.presentPages - reserve - low;
    for (let i = z.ranges.length - 1; i >= 0 && reserve > 0; i--) {
      const r = z.ranges[i]!;
      for (let pfn = r.end - 1; pfn >= r.start && reserve > 0; pfn--, reserve--) mark(pfn, PageOwner.MEMMAP);
    }
    for (let i = 0; i < z.ranges.length && low > 0; i++) {
      const r = z.ranges[i]!;
      for (let pfn = r.start; pfn < r.end && low > 0; pfn++, low--) mark(pfn, PageOwner.RESERVED);
    }
  }
}

/** A composed, booted, frozen simulator. */
export class Simulator {
  /** The validated configuration (frozen). */
  readonly config: Readonly<ResolvedConfig>;
  /** Plugin name per extension point (frozen). */
  readonly composition: Readonly<Record<ExtensionPointKey, string>>;
  readonly kernel: Kernel;
  private readonly c: DependencyContainer;
  private disposed = false;
  private readonly snapInfo: SnapshotInfo;

  /** @internal use {@link createSimulator} */
  constructor(config: ResolvedConfig, composition: Record<ExtensionPointKey, string>, c: DependencyContainer, kernel: Kernel, snapInfo?: SnapshotInfo) {
    this.snapInfo = snapInfo ?? { fingerprint: { composition: plain(composition) }, extraTokens: [] };
    this.config = deepFreeze(config);
    this.composition = Object.freeze(composition);
    this.c = c;
    this.kernel = kernel;
    Object.freeze(this.kernel.topology);
  }

  private live(): DependencyContainer {
    if (this.disposed) throw new MmsimError('EDISPOSED', 'this simulator was disposed');
    return this.c;
  }
  /** The simulator's DI container (frozen: registering throws EFROZEN). */
  get container(): DependencyContainer {
    return this.live();
  }
  /** Instances already resolved, by token. */
  private readonly resolved = new Map<InjectionToken<unknown>, unknown>();
  /**
   * The container's instance for `token`, resolved once: the composition is
   * frozen and every registration container-scoped, so the instance never
   * changes, and resolving through the container costs more than a kmalloc.
   */
  private one<T>(token: InjectionToken<T>): T {
    const c = this.live();
    let v = this.resolved.get(token);
    if (v === undefined) {
      v = c.resolve(token);
      this.resolved.set(token, v);
    }
    return v as T;
  }
  get memory(): MemoryModel {
    return this.one(MEMORY_MODEL);
  }
  get pages(): PageAllocator {
    return this.one(PAGE_ALLOCATOR);
  }
  get slab(): SlabAllocator {
    return this.one(SLAB_ALLOCATOR);
  }
  /** vmalloc / vfree, /proc/vmallocinfo. */
  get vmalloc(): Vmalloc {
    this.live();
    return this.kernel.vmalloc;
  }
  /** alloc_percpu / free_percpu. */
  get percpu(): Percpu {
    this.live();
    return this.kernel.percpu;
  }
  get reclaim(): ReclaimPolicy {
    return this.one(RECLAIM_POLICY);
  }
  get oom(): OomScorer {
    return this.one(OOM_SCORER);
  }
  get topology(): Topology {
    return this.one(TOPOLOGY);
  }
  get sysctl(): Sysctl {
    return this.one(SYSCTL);
  }
  get events(): EventBus {
    return this.one(EVENTS);
  }
  get clock(): SimClock {
    return this.one(CLOCK);
  }
  get random(): Random {
    return this.one(RANDOM);
  }
  get tasks() {
    this.live();
    return this.kernel.tasks;
  }

  /**
   * Lets `ms` milliseconds of simulated time pass: the clock advances and
   * the daemons' periodic work whose time comes runs at its deadline —
   * kcompactd's proactive compaction check (every 500 ms while
   * vm.compaction_proactiveness > 0), the vmstat worker's decay of pcp->high
   * (every vm.stat_interval seconds, 6.7+). Returns how many jobs ran.
   * Nothing runs between two allocations unless time is handed over here.
   */
  tick(ms: number): number {
    this.live();
    if (!(Number.isFinite(ms) && ms >= 0)) throw new MmsimError('EINVAL', `tick(): milliseconds must be a finite number ≥ 0, not ${ms}`, { details: { ms } });
    return this.kernel.timers.advance(ms * 1e6);
  }

  private procEntries(): Map<string, () => string> {
    const k = this.kernel;
    const m = new Map<string, () => string>([
      ['buddyinfo', () => showBuddyinfo(k)],
      ['slabinfo', () => showSlabinfo(k)],
      ['meminfo', () => showMeminfo(k)],
      ['vmallocinfo', () => k.vmalloc.showVmallocinfo()],
      ['zoneinfo', () => showZoneinfo(k)],
      ['pagetypeinfo', () => showPagetypeinfo(k)],
      ['vmstat', () => showVmstat(k)],
      // debugfs (/sys/kernel/debug/extfrag/*), reachable under these names
      ['extfrag/extfrag_index', () => showExtfragIndex(k)],
      ['extfrag/unusable_index', () => showUnusableIndex(k)],
      ['numa', () => showNumaHardware(k)],
      ['numastat', () => showNumastat(k)],
    ]);
    for (const [name] of this.sysctl.entries()) {
      m.set(`sys/${name.replace(/\./g, '/')}`, () => {
        const v = this.sysctl.get(name as SysctlName);
        return `${Array.isArray(v) ? v.join('\t') : v}\n`;
      });
    }
    for (const t of k.tasks.all()) m.set(`${t.pid}/oom_score`, () => showOomScore(k, t.pid));
    const c = this.live();
    if (c.isRegistered(PROC_ENTRY, true)) {
      for (const e of c.resolveAll<ProcEntry>(PROC_ENTRY)) if (!m.has(e.name)) m.set(e.name, () => e.show());
    }
    return m;
  }

  /** Names `proc()` accepts. */
  procNames(): string[] {
    return [...this.procEntries().keys()];
  }

  /** A /proc view as the kernel prints it: 'buddyinfo', 'slabinfo', 'meminfo', '<pid>/oom_score', 'sys/vm/swappiness', ... */
  proc(name: string): string {
    const n = name.replace(/^\/?proc\//, '').replace(/^\//, '');
    const fn = this.procEntries().get(n);
    if (!fn) throw new MmsimError('EPROC_UNKNOWN', `no /proc view '${name}'; available: ${this.procNames().filter((x) => !x.startsWith('sys/')).join(', ')}, sys/vm/*`);
    return fn();
  }

  /**
   * Invariants, as CONFIG_DEBUG_VM checks them: every extension point's own
   * check(), then the core's cross-checks. Throws a typed error naming what
   * is wrong.
   */
  check(): void {
    for (const p of [this.memory, this.pages, this.slab, this.reclaim, this.oom] as { check?: () => void }[]) p.check?.();
    this.kernel.checkCoreAllocators();
    const t = this.memory.pages;
    for (const z of this.topology.populatedZones) {
      let fromAreas = 0;
      // isolated free pages (memory offlining) are not in NR_FREE_PAGES
      for (let o = 0; o <= this.pages.maxOrder; o++) fromAreas += (this.pages.freeBlocks(z, o) - this.pages.freeBlocksByType(z, o, MigrateType.ISOLATE)) << o;
      if (fromAreas !== z.stats.nrFreePages) {
        throw new MmsimError('ECORRUPT', `node ${z.nid} zone ${z.name}: free areas hold ${fromAreas} pages but NR_FREE_PAGES is ${z.stats.nrFreePages}`);
      }
    }
    if (t.lruNext.length !== t.size) throw new MmsimError('ECORRUPT', 'page table arrays out of step');
    // the page-by-page cross-checks (debug_vm.ts)
    checkVm(this.kernel);
  }

  /**
   * The whole simulated state as plain JSON data (typed arrays base64
   * encoded): pass it as `restore` to {@link createSimulator} with the same
   * composition to continue from here. Event listeners are not state and
   * are not saved. Closures registered at run time (movers, evictors) are
   * not saved either: restoring refuses a snapshot that holds one
   * (ESNAPSHOT naming it) — unregister them first. See the snapshot module.
   */
  snapshot(): Snapshot {
    const c = this.live();
    const roots = stateRoots(c, this.kernel, this.snapInfo.extraTokens);
    return takeSnapshot(roots, snapshotExterns(c, this.events), this.snapInfo.fingerprint);
  }

  /** Releases the container and listeners; any later use throws EDISPOSED. */
  dispose(): void {
    if (this.disposed) return;
    this.events.removeAllListeners();
    void this.c.dispose();
    this.disposed = true;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) if (typeof v !== 'function') deepFreeze(v);
  }
  return o;
}

/** Makes a container refuse further registrations (a composition is frozen once built). */
function freeze(c: DependencyContainer): void {
  const refuse = () => {
    throw new MmsimError('EFROZEN', 'the simulator is composed and frozen; create a new simulator to change its composition');
  };
  for (const m of ['register', 'registerInstance', 'registerSingleton', 'registerType', 'reset', 'clearInstances'] as const) {
    (c as unknown as Record<string, unknown>)[m] = refuse;
  }
}

/** Validates `config`, composes the plugins in a new child container, boots and freezes the simulator. */
export async function createSimulator(config: SimulatorConfig = {}): Promise<Simulator> {
  const cfg = parseConfig(config);
  const restore = cfg.restore;
  // the snapshot is consumed here, not kept in the (frozen) config
  delete cfg.restore;
  // a point given as `undefined` keeps its default (found by fuzzing: it replaced the default)
  const given = Object.fromEntries(Object.entries(cfg.plugins).filter(([, v]) => v !== undefined));
  const refs = { ...DEFAULT_PLUGINS, ...given } as Record<ExtensionPointKey, PluginRef>;
  // load and check every plugin before building anything
  const loaded: Loaded[] = [];
  for (const slot of SLOTS) loaded.push(await loadRef(refs[slot], slot, `plugins.${slot}`));
  for (const [i, ref] of cfg.extraPlugins.entries()) loaded.push(await loadRef(ref as PluginRef, 'extra', `extraPlugins.${i}`));

  const layout = layoutMachine(cfg.machine as MachineDescription);
  // the kernel whose formulas apply: the config's, else the boot log's, else the default
  layout.kernel = (config as SimulatorConfig | undefined)?.kernel ?? layout.kernel ?? cfg.kernel;
  cfg.kernel = layout.kernel;
  const topology = new Topology(layout);
  const sysctl = new Sysctl(cfg.sysctl);
  if (cfg.sysctl['vm.lowmem_reserve_ratio'] === undefined) {
    // one ratio per configured zone (sysctl_lowmem_reserve_ratio[MAX_NR_ZONES])
    const def: Record<string, number> = { DMA: 256, DMA32: 256, Normal: 32, HighMem: 0, Movable: 0, Device: 0 };
    sysctl.setComputed('vm.lowmem_reserve_ratio', topology.zoneTypes.map((t) => def[t] ?? 0));
  }
  const events = new EventBus();
  const c = rootContainer.createChildContainer();
  try {
    const kernel = new Kernel(c, topology, sysctl, events);
    kernel.version = cfg.kernel;
    c.register(TOPOLOGY, { useValue: topology });
    c.register(SYSCTL, { useValue: sysctl });
    c.register(EVENTS, { useValue: events });
    c.register(CLOCK, { useValue: new SimClock() });
    c.register(RANDOM, { useValue: new Random(cfg.seed) });
    c.register(KERNEL, { useValue: kernel });
    for (const l of loaded) {
      try {
        l.manifest.register(c, l.options);
      } catch (e) {
        if (e instanceof MmsimError) throw e;
        throw new MmsimError('EPLUGIN_REGISTER', `${l.path}: register() failed: ${(e as Error).message}`, { plugin: l.manifest.name, path: l.path, cause: e });
      }
      if (!c.isRegistered(l.manifest.provides, false)) {
        throw new MmsimError('EPLUGIN_INVALID', `${l.path}: plugin '${l.manifest.name}' did not register the token it provides`, { plugin: l.manifest.name, path: l.path });
      }
    }
    // boot in dependency order; a missing @inject surfaces here, naming the plugin
    const boot = (l: Loaded, fn: () => void) => {
      try {
        fn();
      } catch (e) {
        if (e instanceof MmsimError) throw e;
        throw new MmsimError('EPLUGIN_REGISTER', `${l.path}: plugin '${l.manifest.name}' failed to boot: ${(e as Error).message}`, { plugin: l.manifest.name, path: l.path, cause: e });
      }
    };
    const bySlot = Object.fromEntries(loaded.filter((l) => l.slot !== 'extra').map((l) => [l.slot, l])) as Record<ExtensionPointKey, Loaded>;
    boot(bySlot.memoryModel, () => reserveBootmem(topology, c.resolve<MemoryModel>(MEMORY_MODEL)));
    for (const slot of SLOTS.slice(1)) boot(bySlot[slot], () => c.resolve(EXTENSION_POINTS[slot]));
    for (const l of loaded.filter((x) => x.slot === 'extra')) boot(l, () => c.resolveAll(l.manifest.provides));
    const composition = Object.fromEntries(SLOTS.map((s) => [s, bySlot[s].manifest.name])) as Record<ExtensionPointKey, string>;
    const extras = loaded.filter((x) => x.slot === 'extra');
    const snapInfo: SnapshotInfo = {
      fingerprint: plain({
        composition,
        extraPlugins: extras.map((l) => l.manifest.name),
        options: Object.fromEntries(loaded.map((l) => [l.path, l.options])),
        machine: cfg.machine,
        kernel: cfg.kernel,
      }) as Record<string, unknown>,
      extraTokens: extras.map((l) => l.manifest.provides),
    };
    if (restore) {
      const want = snapInfo.fingerprint;
      const got = restore.fingerprint ?? {};
      const differ = [...new Set([...Object.keys(want), ...Object.keys(got)])].filter((k) => JSON.stringify(want[k]) !== JSON.stringify(got[k]));
      if (restore.version !== 1) throw new MmsimError('ESNAPSHOT', `snapshot format version ${restore.version} is not supported (this core reads version 1)`, { path: 'restore.version' });
      if (differ.length) {
        throw new MmsimError('ESNAPSHOT', `the snapshot was taken from another simulator: ${differ.map((k) => `${k} ${JSON.stringify(got[k])} here ${JSON.stringify(want[k])}`).join('; ')}`, { path: 'restore', details: { differ } });
      }
      const roots = stateRoots(c, kernel, snapInfo.extraTokens);
      const classes = [...CORE_SNAPSHOT_CLASSES, ...loaded.flatMap((l) => l.manifest.snapshotClasses ?? [])];
      restoreSnapshot(restore, roots, snapshotExterns(c, events), classes);
      setInterleavePrev(kernel, (roots.interleave as { prev?: number }).prev);
    }
    freeze(c);
    return new Simulator(cfg, composition, c, kernel, snapInfo);
  } catch (e) {
    void c.dispose();
    throw e;
  }
}

export { NO_PAGE };
