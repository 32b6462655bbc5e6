import {
  createSimulator, type ExtensionPointKey, isMmsimError, type ErrorCode, type PluginRef, type Simulator, type SimulatorConfig,
} from '@mmsim/defconfig';
import { expect } from 'vitest';
import type { PropertyOptions } from './property.js';

/** How a conformance suite gets a fresh simulator with the plugin under test. */
export interface SuiteTarget {
  /** Shown in test names. */
  name: string;
  /** The plugin under test: a built-in name, package name, path or manifest (with options via `{ use, options }`). */
  plugin?: PluginRef;
  /** Other settings (machine, other plugins, sysctl, seed). */
  config?: SimulatorConfig;
  /** Or a factory, for full control. */
  create?: () => Promise<Simulator>;
  /** Budget of the property-based tests (random operation sequences). */
  property?: PropertyOptions;
}

/** A fresh simulator with the target's plugin in `slot` (machine default: 256M, 2 CPUs). */
export async function makeSim(t: SuiteTarget, slot: ExtensionPointKey, machine: SimulatorConfig['machine'] = { memory: '256M', cpus: 2 }): Promise<Simulator> {
  if (t.create) return t.create();
  const cfg: SimulatorConfig = { machine, ...t.config };
  if (t.plugin !== undefined) cfg.plugins = { ...cfg.plugins, [slot]: t.plugin };
  return createSimulator(cfg);
}

/** Asserts `fn` throws an MmsimError with one of `codes`. */
export function expectCode(fn: () => unknown, ...codes: ErrorCode[]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected an MmsimError ${codes.join('|')}`).toBeDefined();
  expect(isMmsimError(thrown), `expected MmsimError, got ${String(thrown)}`).toBe(true);
  expect(codes).toContain((thrown as { code: string }).code);
}

/** Everything observable about page-allocator state, for "unchanged" assertions. */
export function pageState(sim: Simulator): string {
  const zones = sim.topology.populatedZones.map((z) => `${z.nid}/${z.name}:${z.stats.nrFreePages}:${sim.pages.pcpPages(z)}`);
  return `${zones.join(',')}\n${sim.proc('buddyinfo')}`;
}

/** FNV-1a over the bytes of a typed array. */
function fnv(h: number, a: ArrayBufferView): number {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return h;
}

/**
 * A fingerprint of everything a simulator holds: every array of the
 * page-frame table (hashed), zone counters and watermarks, the /proc views
 * (buddyinfo, slabinfo, meminfo), LRU sizes, tasks, sysctls, vmstat and
 * swap. Equal fingerprints before and after a refused call show the call
 * left the state exactly as it was.
 */
export function simFingerprint(sim: Simulator): string {
  const t = sim.memory.pages;
  let h = 0x811c9dc5;
  for (const a of [t.flags, t.refcount, t.mapcount, t.private, t.lruNext, t.lruPrev, t.ownerKind, t.owner]) h = fnv(h, a);
  const zones = sim.topology.zones.map((z) => [z.nid, z.name, z.presentPages, z.managedPages, z.stats.nrFreePages, sim.pages.pcpPages(z), ...z.watermark, ...z.lowmemReserve].join(':'));
  const lru = sim.topology.nodes.map((n) => sim.reclaim.lruSizes(n.nid).join(','));
  return [
    `pages ${t.size} ${h.toString(16)}`,
    `zones ${zones.join(' ')}`,
    `lru ${lru.join(' | ')}`,
    `tasks ${JSON.stringify(sim.tasks.all().map((t) => [t.pid, t.comm, t.uid, t.oomScoreAdj, t.oomSkip ?? false, t.anonRss, t.fileRss, t.shmemRss, t.swapents, t.pgtablesBytes, t.totalVm, t.mm?.vmas().map((v) => [v.start, v.end, v.flags]) ?? null]))}`,
    `sysctl ${JSON.stringify(sim.sysctl.entries())}`,
    `vmstat ${JSON.stringify(sim.vmstat.node)} events ${JSON.stringify(sim.vmstat.events)} swap ${sim.swap.total} ${sim.swap.free} ${JSON.stringify(sim.swap.devices())}`,
    `present ${JSON.stringify(sim.memory.presentRanges())} memmap ${sim.memory.memmapBytes()}`,
    sim.proc('buddyinfo'),
    sim.proc('slabinfo'),
    sim.proc('meminfo'),
  ].join('\n');
}

/** Asserts `fn` throws an MmsimError with one of `codes` and leaves {@link simFingerprint} unchanged. */
export function expectRefused(sim: Simulator, fn: () => unknown, ...codes: ErrorCode[]): void {
  const before = simFingerprint(sim);
  expectCode(fn, ...codes);
  expect(simFingerprint(sim), 'a refused call must leave the simulator unchanged').toBe(before);
}
