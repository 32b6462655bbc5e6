import { createSimulator, isMmsimError, type ErrorCode, type PluginRef, type Simulator, type SimulatorConfig } from '@mmsim/core';
import { expect } from 'vitest';

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
}

export async function makeSim(t: SuiteTarget, slot: 'pageAllocator' | 'slab' | 'memoryModel'): Promise<Simulator> {
  if (t.create) return t.create();
  const cfg: SimulatorConfig = { machine: { memory: '256M', cpus: 2 }, ...t.config };
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
