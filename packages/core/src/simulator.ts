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
import { MmsimError } from './errors.js';
import { EventBus } from './events.js';
import type { MachineDescription, MachineLayouter } from './machine.js';
import type { MemoryModel } from './memory-model.js';
import type { OomScorer } from './oom.js';
import { NO_PAGE, PageFrameTable, PageOwner, PG_reserved } from './page.js';
import type { PageAllocator } from './page-allocator.js';
import { checkCompatible, providedTokens, validateOptions, type PluginManifest } from './plugin.js';
import type { ProcEntry } from './proc.js';
import { Random } from './random.js';
import type { ReclaimPolicy } from './reclaim.js';
import { loadPlugin, type PluginLoader } from './registry.js';
import type { InvariantCheck, MemoryHotplug, OomKiller, PageOwners, Percpu, Reclaim, TaskTable, Vmalloc, VmStat } from './services.js';
import type { PageCache, Processes, SwapSpace } from './process.js';
import type { SlabAllocator } from './slab-allocator.js';
import type { Snapshot, Snapshotter } from './snapshot.js';
import { Sysctl, type SysctlName } from './sysctl.js';
import { DelayedWorkQueue } from './timer.js';
import {
  CLOCK, CONTRIBUTION_TOKENS, EVENTS, EXTENSION_POINTS, extensionPointName, type ExtensionPointKey, INVARIANT_CHECK, lazy, lazyAll,
  MEMORY_HOTPLUG, MEMORY_MODEL, OOM_KILLER, OOM_SCORER, PAGE_ALLOCATOR, PAGE_CACHE, PAGE_OWNERS, PROCESSES, PERCPU, PROC_ENTRY, RANDOM, RECLAIM, RECLAIM_POLICY,
  SERVICE_TOKENS, SLAB_ALLOCATOR, SNAPSHOTTER, SWAP, SYSCTL, TASKS, TIMERS, type Token, TOPOLOGY, VMALLOC, VMSTAT,
} from './tokens.js';
import { Topology } from './topology.js';

/**
 * What a distribution package (the one that ships a default composition,
 * e.g. @mmsim/defconfig) gives createSimulator: core itself names no plugin.
 */
export interface Distribution {
  /** Short plugin names and how to load them: `{ buddy: () => import('@mmsim/plugin-buddy') }`. */
  plugins?: Readonly<Record<string, PluginLoader>>;
  /** The plugin for each extension point the config leaves out. */
  defaults?: Readonly<Partial<Record<ExtensionPointKey, PluginRef>>>;
  /** The service packages when the config names none. */
  services?: readonly PluginRef[];
  /**
   * Lays the config's `machine` out (the shorthand, an e820 map, explicit
   * nodes, a boot log...): @mmsim/machine's layoutMachine. Core builds the
   * topology from the layout but reads no machine description itself.
   */
  layoutMachine?: MachineLayouter;
}

/** What snapshot() and restore need to know about a composition. */
interface SnapshotInfo {
  fingerprint: Record<string, unknown>;
  /** Tokens of extra plugins (their persistent instances are state roots). */
  extraTokens: symbol[];
}

/** Core classes a snapshot may hold that boot does not create (created on first use). */
const CORE_SNAPSHOT_CLASSES = [PageFrameTable, DelayedWorkQueue];

/**
 * The roots of the simulated state, in a fixed order. Contributions
 * (shrinkers, /proc entries, extra plugins) count only when the container
 * keeps their instance: a transient one holds no state between calls.
 */
function stateRoots(c: DependencyContainer, extraTokens: symbol[]): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const s of SLOTS) r[s] = c.resolve(EXTENSION_POINTS[s]);
  for (const t of SERVICE_TOKENS) if (c.isRegistered(t, true)) r[extensionPointName(t)] = c.resolve(t);
  r.topology = c.resolve(TOPOLOGY);
  r.sysctl = c.resolve(SYSCTL);
  r.clock = c.resolve(CLOCK);
  r.random = c.resolve(RANDOM);
  r.timers = c.resolve(TIMERS);
  for (const [name, t] of [...CONTRIBUTION_TOKENS.map((x) => [extensionPointName(x), x] as const), ...extraTokens.map((x, i) => [`extra${i}`, x] as const)] as [string, symbol][]) {
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
  slot: ExtensionPointKey | 'extra' | 'service';
  path: string;
  manifest: PluginManifest;
  options: unknown;
}

async function loadRef(ref: PluginRef, slot: ExtensionPointKey | 'extra' | 'service', path: string, known: Readonly<Record<string, PluginLoader>>): Promise<Loaded[]> {
  const use = typeof ref === 'object' && 'use' in ref ? ref.use : ref;
  const rawOptions = typeof ref === 'object' && 'use' in ref ? ref.options : undefined;
  const got = typeof use === 'string' ? await loadPlugin(use, path, known) : use;
  // a service package may export a list of manifests (one per mechanism)
  const manifests = Array.isArray(got) ? (got as readonly PluginManifest[]) : [got as PluginManifest];
  if (manifests.length > 1 && slot !== 'service') {
    throw new MmsimError('EPLUGIN_KIND', `${path}: '${String(use)}' is a package of ${manifests.length} services; list it under \`services\``, { path });
  }
  const out: Loaded[] = [];
  for (const [i, manifest] of manifests.entries()) {
    const at = manifests.length > 1 ? `${path}[${i}]` : path;
    checkCompatible(manifest, slot, at);
    const options = await validateOptions(manifest, rawOptions, `${at}.options`);
    out.push({ slot, path: at, manifest, options });
  }
  return out;
}

/** A tsyringe "unregistered dependency" error about one of mmsim's tokens, as the name of that token. */
function missingToken(e: unknown): string | null {
  const m = /unregistered dependency token: "?Symbol\(mmsim:([^)]+)\)/.exec(String((e as Error)?.message ?? ''));
  return m ? m[1]! : null;
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
  private readonly c: DependencyContainer;
  private disposed = false;
  private readonly snapInfo: SnapshotInfo;

  /** @internal use {@link createSimulator} */
  constructor(config: ResolvedConfig, composition: Record<ExtensionPointKey, string>, c: DependencyContainer, snapInfo?: SnapshotInfo) {
    this.snapInfo = snapInfo ?? { fingerprint: { composition: plain(composition) }, extraTokens: [] };
    this.config = deepFreeze(config);
    this.composition = Object.freeze(composition);
    this.c = c;
    Object.freeze(c.resolve(TOPOLOGY));
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
      if (typeof token === 'symbol' && !c.isRegistered(token, true)) {
        throw new MmsimError('EPLUGIN_MISSING', `this composition has no ${extensionPointName(token)}: list a service package that provides it (the defconfig's: services: ['@mmsim/mm', '@mmsim/debug'])`);
      }
      v = c.resolve(token);
      this.resolved.set(token, v);
    }
    return v as T;
  }
  /** The instance registered for `token` (an extension point, a service, a core service). */
  get<T>(token: Token<T>): T {
    return this.one(token as InjectionToken<T>);
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
  /** The reclaim policy (RECLAIM_POLICY): the LRU lists. */
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
  /** The daemons' periodic work on the simulated clock. */
  get timers(): DelayedWorkQueue {
    return this.one(TIMERS);
  }
  // ---- services ----
  /** vmalloc / vfree, /proc/vmallocinfo. */
  get vmalloc(): Vmalloc {
    return this.one(VMALLOC);
  }
  /** alloc_percpu / free_percpu. */
  get percpu(): Percpu {
    return this.one(PERCPU);
  }
  /** The task table. */
  get tasks(): TaskTable {
    return this.one(TASKS);
  }
  /** Swap devices, slots and the swap cache. */
  get swap(): SwapSpace {
    return this.one(SWAP);
  }
  /** The process layer: spawn, fork, exec, exit, mmap, munmap, mprotect, brk, faults. */
  get processes(): Processes {
    return this.one(PROCESSES);
  }
  /** Files and the page cache. */
  get pageCache(): PageCache {
    return this.one(PAGE_CACHE);
  }
  /** Node stat and vm event counters that cross mechanisms. */
  get vmstat(): VmStat {
    return this.one(VMSTAT);
  }
  /** The page-owner registry: register an owner, migrate a page. */
  get pageOwners(): PageOwners {
    return this.one(PAGE_OWNERS);
  }
  /** The reclaim engine (mm/vmscan.c): kswapd, direct and node reclaim, shrink_node. */
  get vmscan(): Reclaim {
    return this.one(RECLAIM);
  }
  /** The OOM killer (mm/oom_kill.c). */
  get oomKiller(): OomKiller {
    return this.one(OOM_KILLER);
  }
  /** Memory hotplug (mm/memory_hotplug.c). */
  get hotplug(): MemoryHotplug {
    return this.one(MEMORY_HOTPLUG);
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
    return this.timers.advance(ms * 1e6);
  }

  private procEntries(): Map<string, () => string> {
    const m = new Map<string, () => string>();
    const c = this.live();
    if (c.isRegistered(PROC_ENTRY, true)) {
      for (const e of c.resolveAll<ProcEntry>(PROC_ENTRY)) {
        if (e.names) {
          for (const n of e.names()) if (!m.has(n)) m.set(n, () => e.show(n));
        } else if (!m.has(e.name)) m.set(e.name, () => e.show());
      }
    }
    for (const [name] of this.sysctl.entries()) {
      m.set(`sys/${name.replace(/\./g, '/')}`, () => {
        const v = this.sysctl.get(name as SysctlName);
        return `${Array.isArray(v) ? v.join('\t') : v}\n`;
      });
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
   * check(), then every INVARIANT_CHECK contribution in registration order
   * (the services' own, the page-by-page cross-checks of @mmsim/debug).
   * Throws a typed error naming what is wrong.
   */
  check(): void {
    for (const p of [this.memory, this.pages, this.slab, this.reclaim, this.oom] as { check?: () => void }[]) p.check?.();
    const t = this.memory.pages;
    if (t.lruNext.length !== t.size) throw new MmsimError('ECORRUPT', 'page table arrays out of step');
    const c = this.live();
    if (c.isRegistered(INVARIANT_CHECK, true)) for (const k of c.resolveAll<InvariantCheck>(INVARIANT_CHECK)) k.check();
  }

  /**
   * The whole simulated state as plain JSON data (typed arrays base64
   * encoded): pass it as `restore` to {@link createSimulator} with the same
   * composition to continue from here. Event listeners are not state and
   * are not saved. Closures registered at run time (a workload's page
   * owner) are not saved either: restoring refuses a snapshot that holds
   * one (ESNAPSHOT naming it) — contribute owners under PAGE_OWNER instead,
   * or unregister them first. See the snapshot module.
   */
  snapshot(): Snapshot {
    const c = this.live();
    const roots = stateRoots(c, this.snapInfo.extraTokens);
    return this.one<Snapshotter>(SNAPSHOTTER).take(roots, snapshotExterns(c, this.events), this.snapInfo.fingerprint);
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

/**
 * Validates `config`, composes the plugins and services in a new child
 * container, boots and freezes the simulator. Core alone has no default
 * composition: every extension point must be named (or come from the
 * `distribution`, as @mmsim/defconfig's createSimulator passes it).
 */
export async function createSimulator(config: SimulatorConfig = {}, distribution: Distribution = {}): Promise<Simulator> {
  const cfg = parseConfig(config);
  const restore = cfg.restore;
  // the snapshot is consumed here, not kept in the (frozen) config
  delete cfg.restore;
  const known = distribution.plugins ?? {};
  // a point given as `undefined` keeps its default (found by fuzzing: it replaced the default)
  const given = Object.fromEntries(Object.entries(cfg.plugins).filter(([, v]) => v !== undefined));
  const refs = { ...distribution.defaults, ...given } as Partial<Record<ExtensionPointKey, PluginRef>>;
  for (const slot of SLOTS) {
    if (refs[slot] === undefined) {
      throw new MmsimError('EPLUGIN_MISSING', `plugins.${slot}: no plugin for the ${extensionPointName(EXTENSION_POINTS[slot])} point: core alone has no default composition (name one, or use createSimulator from @mmsim/defconfig)`, { path: `plugins.${slot}` });
    }
  }
  const services = (cfg.services ?? distribution.services ?? []) as PluginRef[];
  cfg.services = services;
  // load and check every plugin before building anything
  const loaded: Loaded[] = [];
  for (const slot of SLOTS) loaded.push(...(await loadRef(refs[slot]!, slot, `plugins.${slot}`, known)));
  for (const [i, ref] of services.entries()) loaded.push(...(await loadRef(ref, 'service', `services.${i}`, known)));
  for (const [i, ref] of cfg.extraPlugins.entries()) loaded.push(...(await loadRef(ref as PluginRef, 'extra', `extraPlugins.${i}`, known)));

  if (!distribution.layoutMachine) {
    throw new MmsimError('EPLUGIN_MISSING', "machine: core alone lays out no machine: pass a layout function (createSimulator(config, { layoutMachine }) with @mmsim/machine's), or use createSimulator from @mmsim/defconfig", { path: 'machine' });
  }
  const layout = distribution.layoutMachine(cfg.machine as MachineDescription);
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
    const clock = new SimClock();
    c.register(TOPOLOGY, { useValue: topology });
    c.register(SYSCTL, { useValue: sysctl });
    c.register(EVENTS, { useValue: events });
    c.register(CLOCK, { useValue: clock });
    c.register(RANDOM, { useValue: new Random(cfg.seed) });
    c.register(TIMERS, { useValue: new DelayedWorkQueue(() => clock) });
    // lazy getters: a dependency needed only after boot, without a construction cycle
    for (const t of [...Object.values(EXTENSION_POINTS), ...SERVICE_TOKENS]) {
      c.register(lazy(t as Token<unknown>), { useFactory: (dc) => {
        let v: unknown;
        return () => (v ??= dc.resolve(t));
      } });
    }
    for (const t of CONTRIBUTION_TOKENS) {
      c.register(lazyAll(t as Token<unknown>), { useFactory: (dc) => () => (dc.isRegistered(t, true) ? dc.resolveAll(t) : []) });
    }
    for (const l of loaded) {
      try {
        l.manifest.register(c, l.options);
      } catch (e) {
        if (e instanceof MmsimError) throw e;
        throw new MmsimError('EPLUGIN_REGISTER', `${l.path}: register() failed: ${(e as Error).message}`, { plugin: l.manifest.name, path: l.path, cause: e });
      }
      for (const t of providedTokens(l.manifest)) {
        if (!c.isRegistered(t, false)) {
          throw new MmsimError('EPLUGIN_INVALID', `${l.path}: plugin '${l.manifest.name}' did not register the token it provides (${extensionPointName(t)})`, { plugin: l.manifest.name, path: l.path });
        }
      }
    }
    // boot in dependency order; a missing @inject or service surfaces here, naming the plugin
    const boot = (l: Loaded, fn: () => void) => {
      try {
        fn();
      } catch (e) {
        if (e instanceof MmsimError) throw e;
        const missing = missingToken(e);
        if (missing) {
          throw new MmsimError('EPLUGIN_MISSING', `${l.path}: plugin '${l.manifest.name}' depends on ${missing}, which nothing in this composition provides${SERVICE_TOKENS.some((t) => extensionPointName(t) === missing) ? " (a service: list a service package such as '@mmsim/mm' under `services`)" : ''}`, { plugin: l.manifest.name, path: l.path, cause: e });
        }
        throw new MmsimError('EPLUGIN_REGISTER', `${l.path}: plugin '${l.manifest.name}' failed to boot: ${(e as Error).message}`, { plugin: l.manifest.name, path: l.path, cause: e });
      }
    };
    const bySlot = Object.fromEntries(loaded.filter((l) => l.slot !== 'extra' && l.slot !== 'service').map((l) => [l.slot, l])) as Record<ExtensionPointKey, Loaded>;
    boot(bySlot.memoryModel, () => reserveBootmem(topology, c.resolve<MemoryModel>(MEMORY_MODEL)));
    for (const slot of SLOTS.slice(1)) boot(bySlot[slot], () => c.resolve(EXTENSION_POINTS[slot]));
    for (const l of loaded.filter((x) => x.slot === 'service')) boot(l, () => providedTokens(l.manifest).forEach((t) => c.resolveAll(t)));
    for (const l of loaded.filter((x) => x.slot === 'extra')) boot(l, () => providedTokens(l.manifest).forEach((t) => c.resolveAll(t)));
    const composition = Object.fromEntries(SLOTS.map((s) => [s, bySlot[s].manifest.name])) as Record<ExtensionPointKey, string>;
    const extras = loaded.filter((x) => x.slot === 'extra');
    const snapInfo: SnapshotInfo = {
      fingerprint: plain({
        composition,
        services: loaded.filter((l) => l.slot === 'service').map((l) => l.manifest.name),
        extraPlugins: extras.map((l) => l.manifest.name),
        options: Object.fromEntries(loaded.map((l) => [l.path, l.options])),
        machine: cfg.machine,
        kernel: cfg.kernel,
      }) as Record<string, unknown>,
      extraTokens: extras.flatMap((l) => providedTokens(l.manifest)),
    };
    if (restore) {
      const want = snapInfo.fingerprint;
      const got = restore.fingerprint ?? {};
      const differ = [...new Set([...Object.keys(want), ...Object.keys(got)])].filter((k) => JSON.stringify(want[k]) !== JSON.stringify(got[k]));
      if (restore.version !== 1) throw new MmsimError('ESNAPSHOT', `snapshot format version ${restore.version} is not supported (this core reads version 1)`, { path: 'restore.version' });
      if (differ.length) {
        throw new MmsimError('ESNAPSHOT', `the snapshot was taken from another simulator: ${differ.map((k) => `${k} ${JSON.stringify(got[k])} here ${JSON.stringify(want[k])}`).join('; ')}`, { path: 'restore', details: { differ } });
      }
      const roots = stateRoots(c, snapInfo.extraTokens);
      const classes = [...CORE_SNAPSHOT_CLASSES, ...loaded.flatMap((l) => l.manifest.snapshotClasses ?? [])];
      if (!c.isRegistered(SNAPSHOTTER, true)) throw new MmsimError('EPLUGIN_MISSING', "restore: this composition has no Snapshotter: list a tooling package that provides one (services: ['@mmsim/debug'])", { path: 'restore' });
      c.resolve<Snapshotter>(SNAPSHOTTER).restore(restore, roots, snapshotExterns(c, events), classes);
    }
    freeze(c);
    return new Simulator(cfg, composition, c, snapInfo);
  } catch (e) {
    void c.dispose();
    throw e;
  }
}

export { NO_PAGE };
