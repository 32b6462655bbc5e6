/**
 * Snapshots of a simulator's whole state: the format and the SNAPSHOTTER
 * contract. The graph walker that takes and restores them is tooling, in
 * @mmsim/debug (the simulator's CRIU, not a kernel mechanism).
 *
 * `sim.snapshot()` walks the state graph from its roots (the five extension
 * points, the kernel — task table, vmstat, vm events, swap, vmalloc, percpu —
 * topology, sysctl, clock, random, and the shrinkers / /proc entries / extra
 * plugins that persist in the container) and records every reachable object
 * once, so sharing and cycles survive: typed arrays (base64 with their type),
 * Maps, Sets, arrays, plain objects and class instances (own data fields; the
 * class is named by its prototype chain of constructor names). The event bus
 * and the DI container are not state and are not walked.
 *
 * Restoring (`createSimulator({ ...config, restore })`) boots the same
 * composition, then walks the new simulator's graph in parallel with the
 * snapshot and writes the saved state into the objects it meets; objects
 * that exist only in the snapshot (caches, tasks, policies created after
 * boot) are created from the prototype of a same-named class found in the
 * booted graph or declared by a plugin (`snapshotClasses` in its manifest).
 *
 * Not captured (refused with ESNAPSHOT rather than restored wrongly):
 * functions. A function in the saved graph is kept only if the booted graph
 * has a function at the same place (handlers registered at boot); a closure
 * registered at run time (a workload's mover or evictor, a cache
 * constructor) makes restore fail naming its path — unregister it before
 * snapshot() and register it again on the restored simulator. WeakMaps and
 * WeakSets cannot be enumerated: snapshot() refuses them unless their field
 * is listed in the class's {@link SNAPSHOT_EXCLUDE} (derived caches).
 * @module
 */

/**
 * A class opts fields out of snapshots with a static list under this key
 * (`static [SNAPSHOT_EXCLUDE] = ['memo']`): derived caches the code rebuilds
 * on demand. On restore such a field keeps the value the booted simulator
 * gave it.
 */
export const SNAPSHOT_EXCLUDE: unique symbol = Symbol.for('mmsim:snapshotExclude') as never;

/** A value in a snapshot: a JSON primitive or a tagged object. */
export type SnapshotValue =
  | number
  | string
  | boolean
  | null
  | { u: 1 }
  | { n: 'NaN' | 'Infinity' | '-Infinity' }
  | { big: string }
  | { sym: string }
  | { f: string }
  | { x: string }
  | { r: number };

/** One object of a snapshot. */
export type SnapshotObject =
  | { k: 'o'; c: string | null; p: [string, SnapshotValue][] }
  | { k: 'a'; v: SnapshotValue[] }
  | { k: 'm'; e: [SnapshotValue, SnapshotValue][] }
  | { k: 's'; v: SnapshotValue[] }
  | { k: 't'; c: string; b: string };

/** What `sim.snapshot()` returns: plain JSON data. */
export interface Snapshot {
  format: 'mmsim-snapshot';
  version: 1;
  /** What a restoring simulator must match: composition, plugin options, machine, kernel version. */
  fingerprint: Record<string, unknown>;
  roots: Record<string, SnapshotValue>;
  objects: SnapshotObject[];
}

/** True when `v` looks like a {@link Snapshot} (shape only). */
export function isSnapshot(v: unknown): v is Snapshot {
  const s = v as Partial<Snapshot> | null;
  return typeof s === 'object' && s !== null && s.format === 'mmsim-snapshot' && typeof s.version === 'number' && Array.isArray(s.objects) && typeof s.roots === 'object' && s.roots !== null;
}

/** Takes and restores snapshots (a service of the tooling layer, e.g. @mmsim/debug's). */
export interface Snapshotter {
  /** Encodes the graph reachable from `roots`; `externs` (container, event bus) are recorded by name. */
  take(roots: Record<string, unknown>, externs: Map<object, string>, fingerprint: Record<string, unknown>): Snapshot;
  /** Writes `snap` into the booted graph under `roots`; ESNAPSHOT naming the path of anything it cannot restore. */
  restore(snap: Snapshot, roots: Record<string, unknown>, externs: Map<object, string>, classes: readonly unknown[]): void;
}
