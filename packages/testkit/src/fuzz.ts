/**
 * Parser fuzzing: {@link fuzzParser} feeds a parser its seed inputs, random
 * mutations of them and random inputs, and requires each call to return a
 * result or throw an MmsimError whose code is in ERROR_CODES — never another
 * exception, never a call that runs too long. Built on fast-check, so a
 * failing input is shrunk before it is reported. Every parser plugs in with
 * one call:
 * ```ts
 * await fuzzParser((text) => parseZoneinfo(text), [fixture1, fixture2], 500);
 * ```
 * String seeds get text mutations (characters, numbers, lines, splices);
 * other seeds (configs, machine descriptions) get structural mutations
 * (values replaced by odd ones, keys added and removed, types changed).
 * (No test-runner imports here: usable from any runner or script.)
 * @module
 */
import { ERROR_CODES, isMmsimError } from '@mmsim/defconfig';
import fc from 'fast-check';

/** How much fuzzing to do. */
export interface FuzzBudget {
  /** Inputs to try (default 300; MMSIM_NIGHTLY=1: 20000). */
  runs?: number;
  /** Stop after this long even if runs remain (default 10 s; nightly 120 s). */
  timeMs?: number;
  /** A single call taking longer than this fails the run (a hang, or a quadratic blow-up); default 2000 ms. */
  maxCallMs?: number;
  /** fast-check seed (default fixed; MMSIM_FUZZ_SEED overrides). */
  seed?: number;
}

/** What a fuzzing run saw. */
export interface FuzzReport {
  runs: number;
  /** Calls that returned a result. */
  ok: number;
  /** Calls refused with an MmsimError, by code. */
  errors: Record<string, number>;
  /** The slowest call, ms. */
  slowestMs: number;
}

/** Values that break parsers: boundaries, wrong types, odd numbers and strings. */
const ODD_VALUES: unknown[] = [
  null, undefined, true, false, 0, -0, -1, 1, 0.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, Number.MAX_VALUE,
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '', ' ', '0', '-1', '4G', '0x', '0x1000', '1e9', 'NaN',
  '💾', '\u0000', 'a'.repeat(1000), [], [[]], {}, { '': 0 }, Object.create(null), ['4G'], [0, 1, 2], BigInt(1), Symbol('odd'),
  'constructor', '__proto__', 'toString', () => 0, new Date(0),
];
const ODD_STRINGS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', '', '0', '-1', '4294967296', '9007199254740993', '1e309', 'NaN', '0x', '0xffffffffffffffff', '1.', '.5', '   ', '\t', '\n', '\r\n', '\u0000', '💾', '|', '||', ':', '=', '#', ',', '[', ']', '{', '}', '(', ')', '"', "'", '\\', '%', 'GFP_KERNEL', 'Node 0', 'zone', 'pages free'];

const ODD_NUMBERS = ['0', '-1', '4294967296', '9007199254740993', '1e309', 'NaN', '0x', '0xffffffffffffffff', '1.', '.5', '99999999999999999999999'];

/** One mutation step, drawn by fast-check (and shrunk by it). */
interface Mutation {
  kind: number;
  at: number;
  n: number;
  value: unknown;
  text: string;
}
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.nat({ max: 11 }),
  at: fc.nat(),
  n: fc.nat({ max: 64 }),
  value: fc.oneof(fc.constantFrom(...ODD_VALUES), fc.jsonValue({ maxDepth: 2 })),
  text: fc.oneof(fc.constantFrom(...ODD_STRINGS), fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 })),
});

function mutateText(s: string, m: Mutation, seeds: readonly string[]): string {
  const pos = s.length === 0 ? 0 : m.at % (s.length + 1);
  switch (m.kind) {
    case 0: // replace one character
      return s.slice(0, pos) + m.text.slice(0, 1) + s.slice(pos + 1);
    case 1: // insert
      return s.slice(0, pos) + m.text + s.slice(pos);
    case 2: // delete a range
      return s.slice(0, pos) + s.slice(pos + 1 + m.n);
    case 3: // duplicate a range
      return s.slice(0, pos + m.n) + s.slice(pos, pos + m.n) + s.slice(pos);
    case 4: { // a number token → an odd number
      const nums = [...s.matchAll(/-?(0x[0-9a-f]+|\d+(\.\d+)?)/gi)];
      if (nums.length === 0) return s + m.text;
      const hit = nums[m.at % nums.length]!;
      return s.slice(0, hit.index) + ODD_NUMBERS[m.n % ODD_NUMBERS.length]! + s.slice(hit.index! + hit[0].length);
    }
    case 5: // truncate
      return s.slice(0, pos);
    case 6: { // lines: drop, duplicate or swap one
      const lines = s.split('\n');
      const i = m.at % lines.length;
      const j = m.n % lines.length;
      if (m.n % 3 === 0) lines.splice(i, 1);
      else if (m.n % 3 === 1) lines.splice(i, 0, lines[i]!);
      else [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    case 7: { // splice with another seed
      const o = seeds[m.n % seeds.length] ?? '';
      return s.slice(0, pos) + o.slice(o.length === 0 ? 0 : m.at % o.length);
    }
    case 8: // whitespace games
      return m.n % 2 ? s.replace(/ +/g, m.n % 4 === 1 ? '\t' : '') : s.replace(/\n/g, '\r\n');
    case 9: // case
      return m.n % 2 ? s.toUpperCase() : s.toLowerCase();
    case 10: // repeat
      return s.repeat(1 + (m.n % 4));
    default: // a random string instead
      return m.text;
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v ?? null) ?? 'null';
  } catch {
    return typeof v;
  }
}

/** Paths to every node of a JSON-ish value (arrays and plain objects walked). */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function clone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(clone) as T;
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  return v;
}

function mutateValue(root: unknown, m: Mutation, seeds: readonly unknown[]): unknown {
  const all = paths(root);
  const path = all[m.at % all.length]!;
  const get = (p: (string | number)[]) => p.reduce<unknown>((x, k) => (x as Record<string | number, unknown>)?.[k], root);
  const cur = get(path);
  let next: unknown;
  switch (m.kind) {
    case 0: case 1: case 2:
      next = clone(m.value);
      break;
    case 3: // a number nudged, scaled or negated
      next = typeof cur === 'number' ? [cur + 1, cur - 1, -cur, cur * 1024, cur / 3, cur * 2 ** 20][m.n % 6] : m.value;
      break;
    case 4: case 5: // a string mutated as text
      next = typeof cur === 'string' ? mutateText(cur, { ...m, kind: m.n % 11 }, ODD_STRINGS) : m.text;
      break;
    case 6: // a key removed
      if (path.length === 0) return root;
      {
        const parent = get(path.slice(0, -1));
        const k = path[path.length - 1]!;
        if (Array.isArray(parent)) parent.splice(Number(k), 1);
        else delete (parent as Record<string, unknown>)[k];
      }
      return root;
    case 7: // a key added
      if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) (cur as Record<string, unknown>)[m.text || 'x'] = clone(m.value);
      else if (Array.isArray(cur)) cur.push(clone(m.value));
      return root;
    case 8: // wrapped in an array, or an array's first element
      next = Array.isArray(cur) ? cur[0] : [cur];
      break;
    case 9: // a value from another seed at a random path
      {
        const o = seeds[m.n % seeds.length];
        const op = paths(o);
        next = clone(op[m.at % op.length]!.reduce<unknown>((x, k) => (x as Record<string | number, unknown>)?.[k], o));
      }
      break;
    case 10: // stringified / number-ified
      next = typeof cur === 'string' ? Number(cur) : typeof cur === 'number' ? String(cur) : typeof cur === 'bigint' ? Number(cur) : safeJson(cur);
      break;
    default:
      next = undefined;
  }
  if (path.length === 0) return next;
  const parent = get(path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = next;
  return root;
}

function budgetOf(b: number | FuzzBudget): Required<FuzzBudget> {
  const o = typeof b === 'number' ? { runs: b } : b;
  const env = typeof process !== 'undefined' ? process.env : {};
  const nightly = env.MMSIM_NIGHTLY === '1';
  return {
    runs: nightly ? Math.max(20_000, o.runs ?? 0) : o.runs ?? 300,
    timeMs: nightly ? Math.max(120_000, o.timeMs ?? 0) : o.timeMs ?? 10_000,
    maxCallMs: o.maxCallMs ?? 2000,
    seed: env.MMSIM_FUZZ_SEED ? Number(env.MMSIM_FUZZ_SEED) : o.seed ?? 0xf022,
  };
}

/** The inputs fuzzParser draws for `seeds`: the seeds, mutations of them, and random values. */
export function fuzzInputs<I>(seeds: readonly I[]): fc.Arbitrary<unknown> {
  if (seeds.length === 0) throw new Error('fuzzParser: give at least one seed input');
  const text = seeds.every((s) => typeof s === 'string');
  const mutated = fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 6 })).map(([i, ms]) => {
    let v: unknown = clone(seeds[i]);
    for (const m of ms) v = text ? mutateText(v as string, m, seeds as readonly string[]) : mutateValue(v, m, seeds);
    return v;
  });
  const random = text
    ? fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 }), fc.string({ unit: fc.constantFrom(...'0123456789abcdefxGMKkB|_ :=\n\t.-'), maxLength: 60 }))
    : fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(...ODD_VALUES), fc.anything({ maxDepth: 2 }));
  return fc.oneof({ arbitrary: fc.constantFrom(...seeds), weight: 1 }, { arbitrary: mutated, weight: 8 }, { arbitrary: random, weight: 2 });
}

function show(v: unknown): string {
  try {
    const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x === undefined ? '<undefined>' : typeof x === 'bigint' ? `${x}n` : typeof x === 'symbol' || typeof x === 'function' ? `<${typeof x}>` : x));
    return s === undefined ? String(v) : s.length > 2000 ? `${s.slice(0, 2000)}…` : s;
  } catch {
    return String(v);
  }
}

/**
 * Fuzzes `parse` from `seeds` within `budget` (a number of inputs, or a
 * {@link FuzzBudget}). Resolves with what it saw; rejects — with the shrunk
 * input — when a call throws anything but an MmsimError with a catalogued
 * code, or runs longer than `maxCallMs`.
 */
export async function fuzzParser<I>(parse: (input: I) => unknown, seeds: readonly I[], budget: number | FuzzBudget = {}): Promise<FuzzReport> {
  const b = budgetOf(budget);
  const report: FuzzReport = { runs: 0, ok: 0, errors: {}, slowestMs: 0 };
  const prop = fc.asyncProperty(fuzzInputs(seeds), async (input) => {
    report.runs++;
    const t0 = performance.now();
    try {
      await parse(input as I);
      report.ok++;
    } catch (e) {
      if (!isMmsimError(e)) throw new Error(`not an MmsimError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
      if (!(e.code in ERROR_CODES)) throw new Error(`MmsimError code ${e.code} is not in ERROR_CODES`, { cause: e });
      report.errors[e.code] = (report.errors[e.code] ?? 0) + 1;
    } finally {
      const ms = performance.now() - t0;
      if (ms > report.slowestMs) report.slowestMs = ms;
      if (ms > b.maxCallMs) throw new Error(`one call took ${Math.round(ms)} ms (limit ${b.maxCallMs} ms): a hang or a blow-up`);
    }
  });
  const d = await fc.check(prop, { numRuns: b.runs, seed: b.seed, interruptAfterTimeLimit: b.timeMs, markInterruptAsFailure: false });
  if (d.failed) {
    const cause = d.errorInstance instanceof Error ? d.errorInstance.message : String(d.errorInstance);
    throw new Error(`fuzzParser: ${cause}\n  input (shrunk): ${show(d.counterexample?.[0])}\n  seed ${d.seed}, path ${d.counterexamplePath}\n  (after ${d.numRuns} inputs)`, { cause: d.errorInstance });
  }
  return report;
}
