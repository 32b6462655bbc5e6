/**
 * The snapshot graph walker: takes and restores a simulator's whole state
 * without per-plugin serialisation code. See @mmsim/core's snapshot module
 * for the format and what is (not) captured.
 * @module
 */
import { MmsimError, SNAPSHOT_EXCLUDE, type Snapshot, type SnapshotObject, type Snapshotter, type SnapshotValue } from '@mmsim/core';

const TYPED = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
} as const;
type TypedName = keyof typeof TYPED;
type Typed = InstanceType<(typeof TYPED)[TypedName]>;

function typedName(o: object): TypedName | null {
  if (!ArrayBuffer.isView(o) || o instanceof DataView) return null;
  const n = Object.prototype.toString.call(o).slice(8, -1);
  return n in TYPED ? (n as TypedName) : null;
}

function toBase64(a: Typed): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (typeof Buffer !== 'undefined') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b: string): Uint8Array {
  if (typeof Buffer !== 'undefined') {
    const buf = Buffer.from(b, 'base64');
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const s = atob(b);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The typed array a snapshot stores, decoded (a copy, aligned). */
function decodeTyped(c: string, b: string, path: string): Typed {
  const T = TYPED[c as TypedName];
  if (!T) throw new MmsimError('ESNAPSHOT', `${path}: unknown typed array type '${c}' in the snapshot`, { path });
  const bytes = fromBase64(b);
  if (bytes.byteLength % T.BYTES_PER_ELEMENT) throw new MmsimError('ESNAPSHOT', `${path}: ${c} data of ${bytes.byteLength} bytes is not whole elements`, { path });
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new T(copy.buffer);
}

/** The prototype chain as a name: 'SlabCache', 'Derived<Base'. Null for Object.prototype, '' for a null prototype. */
function chainOf(o: object): string | null {
  let p = Object.getPrototypeOf(o) as object | null;
  if (p === Object.prototype) return null;
  const names: string[] = [];
  while (p && p !== Object.prototype) {
    const ctor = Object.getOwnPropertyDescriptor(p, 'constructor')?.value as { name?: string } | undefined;
    names.push(typeof ctor?.name === 'string' ? ctor.name : '?');
    p = Object.getPrototypeOf(p) as object | null;
  }
  return p === null ? ['<null>', ...names].join('<') : names.join('<');
}

function excludedKeys(o: object): readonly string[] | undefined {
  const ctor = (Object.getPrototypeOf(o) as { constructor?: Record<symbol, unknown> } | null)?.constructor;
  const list = ctor && typeof ctor === 'function' ? ctor[SNAPSHOT_EXCLUDE] : undefined;
  return Array.isArray(list) ? (list as string[]) : undefined;
}

function isPlainKind(o: object): 'a' | 'm' | 's' | 't' | 'o' | 'weak' | 'bad' {
  if (Array.isArray(o)) return Object.getPrototypeOf(o) === Array.prototype ? 'a' : 'bad';
  if (o instanceof Map) return Object.getPrototypeOf(o) === Map.prototype ? 'm' : 'bad';
  if (o instanceof Set) return Object.getPrototypeOf(o) === Set.prototype ? 's' : 'bad';
  if (ArrayBuffer.isView(o)) return typedName(o) ? 't' : 'bad';
  if (o instanceof WeakMap || o instanceof WeakSet || o instanceof WeakRef) return 'weak';
  if (o instanceof ArrayBuffer || o instanceof Promise || o instanceof RegExp || o instanceof Date || (typeof SharedArrayBuffer !== 'undefined' && o instanceof SharedArrayBuffer)) return 'bad';
  return 'o';
}

const key = (path: string, k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`);

/**
 * Encodes the graph reachable from `roots`. `externs` are objects that are
 * not state (the container, the event bus): references to them are recorded
 * by name and rebound on restore.
 */
export function takeSnapshot(roots: Record<string, unknown>, externs: Map<object, string>, fingerprint: Record<string, unknown>): Snapshot {
  const ids = new Map<object, number>();
  const objects: SnapshotObject[] = [];
  const paths: string[] = [];
  const live: object[] = [];
  const enc = (v: unknown, path: string): SnapshotValue => {
    switch (typeof v) {
      case 'number':
        return Number.isFinite(v) ? v : { n: String(v) as 'NaN' };
      case 'string':
      case 'boolean':
        return v;
      case 'undefined':
        return { u: 1 };
      case 'bigint':
        return { big: v.toString() };
      case 'symbol': {
        const k = Symbol.keyFor(v);
        if (k === undefined) throw new MmsimError('ESNAPSHOT', `${path}: a symbol not made with Symbol.for() cannot be saved`, { path });
        return { sym: k };
      }
      case 'function':
        return { f: v.name };
      default: {
        if (v === null) return null;
        const o = v as object;
        const ext = externs.get(o);
        if (ext !== undefined) return { x: ext };
        let id = ids.get(o);
        if (id === undefined) {
          id = objects.length;
          ids.set(o, id);
          objects.push(null as unknown as SnapshotObject);
          paths.push(path);
          live.push(o);
        }
        return { r: id };
      }
    }
  };
  const rootsEnc: Record<string, SnapshotValue> = {};
  for (const [name, v] of Object.entries(roots)) rootsEnc[name] = enc(v, name);
  // breadth first, in id order: restore meets the objects in the same order
  for (let id = 0; id < live.length; id++) {
    const o = live[id]!;
    const path = paths[id]!;
    const kind = isPlainKind(o);
    if (kind === 'weak') throw new MmsimError('ESNAPSHOT', `${path}: a ${Object.prototype.toString.call(o).slice(8, -1)} cannot be enumerated, so it cannot be saved; list the field in its class's static [SNAPSHOT_EXCLUDE] if it is a derived cache`, { path });
    if (kind === 'bad') throw new MmsimError('ESNAPSHOT', `${path}: a ${chainOf(o) ?? 'object'} cannot be saved (subclassed collection or unsupported built-in)`, { path });
    if (kind === 't') {
      objects[id] = { k: 't', c: typedName(o)!, b: toBase64(o as Typed) };
    } else if (kind === 'a') {
      const a = o as unknown[];
      const v = new Array<SnapshotValue>(a.length);
      for (let i = 0; i < a.length; i++) v[i] = enc(a[i], `${path}[${i}]`);
      objects[id] = { k: 'a', v };
    } else if (kind === 'm') {
      const e: [SnapshotValue, SnapshotValue][] = [];
      for (const [mk, mv] of o as Map<unknown, unknown>) e.push([enc(mk, `${path}.key`), enc(mv, `${path}.get(${typeof mk === 'object' ? '…' : String(mk)})`)]);
      objects[id] = { k: 'm', e };
    } else if (kind === 's') {
      const v: SnapshotValue[] = [];
      for (const x of o as Set<unknown>) v.push(enc(x, `${path}.value`));
      objects[id] = { k: 's', v };
    } else {
      const skip = excludedKeys(o);
      const p: [string, SnapshotValue][] = [];
      for (const k of Reflect.ownKeys(o)) {
        if (typeof k === 'symbol') {
          throw new MmsimError('ESNAPSHOT', `${path}: a symbol-keyed field (${String(k)}) cannot be saved`, { path });
        }
        if (skip?.includes(k)) continue;
        const d = Object.getOwnPropertyDescriptor(o, k)!;
        if (!('value' in d)) throw new MmsimError('ESNAPSHOT', `${key(path, k)}: an own accessor property cannot be saved`, { path: key(path, k) });
        p.push([k, enc(d.value, key(path, k))]);
      }
      objects[id] = { k: 'o', c: chainOf(o), p };
    }
  }
  return { format: 'mmsim-snapshot', version: 1, fingerprint, roots: rootsEnc, objects };
}

/** Collects every prototype (by chain name) reachable from `roots`, for objects restore must create. */
function collectPrototypes(roots: unknown[], externs: Map<object, string>, classes: readonly unknown[]): Map<string, object | null> {
  const protos = new Map<string, object | null>();
  const add = (o: object) => {
    const c = chainOf(o);
    if (c === null) return;
    const p = Object.getPrototypeOf(o) as object;
    const had = protos.get(c);
    if (had === undefined) protos.set(c, p);
    else if (had !== p) protos.set(c, null); // two classes with one name: ambiguous
  };
  for (const k of classes) if (typeof k === 'function' && k.prototype) add(Object.create(k.prototype as object) as object);
  const seen = new Set<object>();
  const stack: unknown[] = [...roots];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v) || externs.has(v)) continue;
    seen.add(v);
    const kind = isPlainKind(v);
    if (kind === 'a') for (const x of v as unknown[]) stack.push(x);
    else if (kind === 'm') for (const [a, b] of v as Map<unknown, unknown>) stack.push(a, b);
    else if (kind === 's') for (const x of v as Set<unknown>) stack.push(x);
    else if (kind === 'o') {
      add(v);
      for (const k of Object.keys(v)) {
        const d = Object.getOwnPropertyDescriptor(v, k);
        if (d && 'value' in d) stack.push(d.value);
      }
    }
  }
  return protos;
}

/**
 * Writes `snap` into the booted graph under `roots` (same names as when it
 * was taken). Throws ESNAPSHOT naming the path of anything it cannot
 * restore; the caller then discards the half-restored simulator.
 */
export function restoreSnapshot(snap: Snapshot, roots: Record<string, unknown>, externs: Map<object, string>, classes: readonly unknown[] = []): void {
  const byName = new Map<string, object>();
  for (const [o, n] of externs) byName.set(n, o);
  const objs = snap.objects;
  const ids: (object | undefined)[] = new Array(objs.length);
  const paths: string[] = new Array(objs.length);
  const claimed = new Set<object>();
  const queue: number[] = [];
  let protos: Map<string, object | null> | undefined;
  const fail = (path: string, why: string): never => {
    throw new MmsimError('ESNAPSHOT', `${path}: ${why}`, { path });
  };

  const compatible = (rec: SnapshotObject, cand: unknown): cand is object => {
    if (typeof cand !== 'object' || cand === null || claimed.has(cand) || externs.has(cand)) return false;
    const kind = isPlainKind(cand);
    if (kind !== rec.k) return false;
    if (rec.k === 'o') return chainOf(cand) === rec.c && !Object.isFrozen(cand);
    if (rec.k === 't') return typedName(cand) === rec.c;
    return true;
  };
  const create = (rec: SnapshotObject, path: string): object => {
    switch (rec.k) {
      case 'a':
        return [];
      case 'm':
        return new Map();
      case 's':
        return new Set();
      case 't':
        return decodeTyped(rec.c, rec.b, path);
      case 'o': {
        if (rec.c === null) return {};
        if (rec.c === '<null>') return Object.create(null) as object;
        protos ??= collectPrototypes(Object.values(roots), externs, classes);
        const p = protos.get(rec.c);
        if (p === undefined) return fail(path, `no class '${rec.c}' in the booted simulator to create this object from; the plugin that defines it can list it in its manifest's snapshotClasses`);
        if (p === null) return fail(path, `two different classes are named '${rec.c}'; cannot tell which one to create`);
        return Object.create(p) as object;
      }
    }
  };
  const resolve = (v: SnapshotValue, cand: unknown, path: string): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if ('r' in v) {
      const id = v.r;
      const have = ids[id];
      if (have !== undefined) return have;
      const rec = objs[id];
      if (!rec) return fail(path, `object #${id} is missing from the snapshot`);
      let o: object;
      if (rec.k === 't' && compatible(rec, cand)) {
        const data = decodeTyped(rec.c, rec.b, path);
        if (data.length === (cand as Typed).length) {
          (cand as Typed).set(data as never);
          o = cand;
        } else o = data;
      } else o = compatible(rec, cand) ? cand : create(rec, path);
      ids[id] = o;
      paths[id] = path;
      claimed.add(o);
      if (rec.k !== 't') queue.push(id);
      return o;
    }
    if ('u' in v) return undefined;
    if ('n' in v) return Number(v.n);
    if ('big' in v) return BigInt(v.big);
    if ('sym' in v) return Symbol.for(v.sym);
    if ('x' in v) return byName.get(v.x) ?? fail(path, `no '${v.x}' in the booted simulator`);
    if ('f' in v) {
      if (typeof cand === 'function') return cand;
      return fail(path, `held a function${v.f ? ` (${v.f})` : ''} that the booted simulator has not got: a closure registered at run time (a mover, an evictor, a cache constructor) cannot be saved; unregister it before snapshot() and register it again after restoring`);
    }
    return fail(path, `malformed value ${JSON.stringify(v)}`);
  };

  for (const [name, v] of Object.entries(snap.roots)) {
    if (!(name in roots)) fail(name, 'the booted simulator has no such root (another composition?)');
    const o = resolve(v, roots[name], name);
    if (o !== roots[name]) fail(name, 'the booted simulator holds a different kind of object here (another composition or plugin version?)');
  }
  for (let qi = 0; qi < queue.length; qi++) {
    const id = queue[qi]!;
    const rec = objs[id]!;
    const o = ids[id]!;
    const path = paths[id]!;
    if (rec.k === 'a') {
      const a = o as unknown[];
      const vals = rec.v.map((x, i) => resolve(x, a[i], `${path}[${i}]`));
      a.length = vals.length;
      for (let i = 0; i < vals.length; i++) a[i] = vals[i];
    } else if (rec.k === 'm') {
      const m = o as Map<unknown, unknown>;
      const old = [...m];
      const vals = rec.e.map(([ke, ve], i) => {
        const k = resolve(ke, old[i]?.[0], `${path}.key`);
        return [k, resolve(ve, m.has(k) ? m.get(k) : old[i]?.[1], `${path}.get(${typeof k === 'object' ? '…' : String(k)})`)] as const;
      });
      m.clear();
      for (const [k, x] of vals) m.set(k, x);
    } else if (rec.k === 's') {
      const s = o as Set<unknown>;
      const old = [...s];
      const vals = rec.v.map((x, i) => resolve(x, old[i], `${path}.value`));
      s.clear();
      for (const x of vals) s.add(x);
    } else if (rec.k === 'o') {
      const t = o as Record<string, unknown>;
      const skip = excludedKeys(t);
      const saved = new Set<string>();
      for (const [k, x] of rec.p) {
        saved.add(k);
        if (skip?.includes(k)) continue;
        const p = key(path, k);
        const val = resolve(x, Object.getOwnPropertyDescriptor(t, k)?.value, p);
        if (t[k] === val && Object.hasOwn(t, k)) continue;
        try {
          if (Object.hasOwn(t, k)) t[k] = val;
          else Object.defineProperty(t, k, { value: val, writable: true, enumerable: true, configurable: true });
        } catch (e) {
          fail(p, `cannot be written (${(e as Error).message})`);
        }
      }
      for (const k of Object.keys(t)) {
        if (saved.has(k) || skip?.includes(k)) continue;
        // a field the booted object has but the saved one had not (deleted at run time)
        if (!delete t[k]) fail(key(path, k), 'cannot be deleted');
      }
    }
  }
}

/** The SNAPSHOTTER service: the walker above. */
export class GraphSnapshotter implements Snapshotter {
  take(roots: Record<string, unknown>, externs: Map<object, string>, fingerprint: Record<string, unknown>): Snapshot {
    return takeSnapshot(roots, externs, fingerprint);
  }
  restore(snap: Snapshot, roots: Record<string, unknown>, externs: Map<object, string>, classes: readonly unknown[]): void {
    restoreSnapshot(snap, roots, externs, classes);
  }
}
