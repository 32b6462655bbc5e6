/**
 * Property-based testing of an extension point: fast-check draws random
 * sequences of the point's operations; each sequence runs on a freshly
 * booted simulator, with `sim.check()` after every step; then everything the
 * sequence holds is given back and the state must equal the boot state. A
 * failure is shrunk to a minimal failing sequence.
 *
 * Each conformance suite defines an {@link OpModel} for its point; a third
 * party can write one for anything else and run it with
 * {@link assertOpSequences}.
 * @module
 */
import type { Simulator } from '@mmsim/defconfig';
import fc from 'fast-check';

/** Budget and seed of a property run. */
export interface PropertyOptions {
  /** Sequences to try (default 30; MMSIM_PROPERTY_RUNS, or 500 with MMSIM_NIGHTLY=1). */
  numRuns?: number;
  /** Longest sequence (default 40; 200 with MMSIM_NIGHTLY=1). */
  maxOps?: number;
  /** fast-check seed (default fixed, so the suite is deterministic; MMSIM_PROPERTY_SEED overrides). */
  seed?: number;
  /** Run sim.check() after every step (default true). */
  checkEachStep?: boolean;
}

/** A point's operations, as a state machine over a simulator. */
export interface OpModel<Op, S> {
  /** One operation. Sequences of these are drawn and shrunk. */
  op: fc.Arbitrary<Op>;
  /** What the model tracks (what the sequence holds) for a freshly booted simulator. */
  init(sim: Simulator): S;
  /** Runs one operation and checks its result; throws when the plugin misbehaves. */
  apply(sim: Simulator, s: S, op: Op): void;
  /** Gives back everything the sequence holds (free every page and object, exit every task ...). */
  release(sim: Simulator, s: S): void;
  /** The observable state that must be equal at boot and after release. May drain per-CPU caches first. */
  observe(sim: Simulator): string;
}

/** The defaults, with the MMSIM_* environment overrides. */
export function propertyDefaults(o: PropertyOptions = {}): Required<PropertyOptions> {
  const env = typeof process !== 'undefined' ? process.env : {};
  const nightly = env.MMSIM_NIGHTLY === '1';
  const runs = env.MMSIM_PROPERTY_RUNS ? Number(env.MMSIM_PROPERTY_RUNS) : undefined;
  const seed = env.MMSIM_PROPERTY_SEED ? Number(env.MMSIM_PROPERTY_SEED) : undefined;
  return {
    numRuns: runs ?? (nightly ? Math.max(500, o.numRuns ?? 0) : o.numRuns ?? 30),
    maxOps: nightly ? Math.max(200, o.maxOps ?? 0) : o.maxOps ?? 40,
    seed: seed ?? o.seed ?? 0x5eed,
    checkEachStep: o.checkEachStep ?? true,
  };
}

/** A test timeout fit for the property budget: an hour in nightly mode, vitest's default otherwise. */
export function propertyTimeout(): number | undefined {
  const env = typeof process !== 'undefined' ? process.env : {};
  return env.MMSIM_NIGHTLY === '1' ? 3_600_000 : undefined;
}

/** The first lines where two states differ (for failure messages). */
export function stateDiff(a: string, b: string, max = 6): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(x.length, y.length) && out.length < max; i++) {
    if (x[i] !== y[i]) out.push(`  line ${i + 1}:\n    boot:  ${x[i] ?? '(none)'}\n    after: ${y[i] ?? '(none)'}`);
  }
  return out.join('\n');
}

function describeOp(op: unknown): string {
  try {
    return JSON.stringify(op);
  } catch {
    return String(op);
  }
}

/**
 * Runs random operation sequences of `model` (fast-check `check`, no throw):
 * the details say whether it failed and give the shrunk counterexample.
 */
export async function checkOpSequences<Op, S>(create: () => Promise<Simulator>, model: OpModel<Op, S>, options: PropertyOptions = {}): Promise<fc.RunDetails<[Op[]]>> {
  const o = propertyDefaults(options);
  // size 'max': lengths spread over 0..maxOps (the default size keeps arrays to about ten)
  const prop = fc.asyncProperty(fc.array(model.op, { maxLength: o.maxOps, size: 'max' }), async (ops) => {
    const sim = await create();
    try {
      const s = model.init(sim);
      const boot = model.observe(sim);
      for (let i = 0; i < ops.length; i++) {
        try {
          model.apply(sim, s, ops[i]!);
          if (o.checkEachStep) sim.check();
        } catch (e) {
          throw new Error(`step ${i + 1} of ${ops.length} ${describeOp(ops[i])}: ${(e as Error).message}`, { cause: e });
        }
      }
      try {
        model.release(sim, s);
        sim.check();
      } catch (e) {
        throw new Error(`giving everything back after ${ops.length} steps: ${(e as Error).message}`, { cause: e });
      }
      const end = model.observe(sim);
      if (end !== boot) throw new Error(`after giving everything back, the state differs from the boot state:\n${stateDiff(boot, end)}`);
    } finally {
      sim.dispose();
    }
  });
  return fc.check(prop, { numRuns: o.numRuns, seed: o.seed });
}

/** Like {@link checkOpSequences}, but throws fast-check's report (seed, shrunk counterexample, cause) on failure. */
export async function assertOpSequences<Op, S>(create: () => Promise<Simulator>, model: OpModel<Op, S>, options: PropertyOptions = {}): Promise<void> {
  const d = await checkOpSequences(create, model, options);
  if (d.failed) {
    const cause = d.errorInstance instanceof Error ? `\nCause: ${d.errorInstance.message}` : '';
    throw new Error(`${fc.defaultReportMessage(d) ?? 'property failed'}${cause}`, { cause: d.errorInstance });
  }
}

/** A list index drawn as a natural number, taken modulo the list length when applied (shrinks to 0). */
export const pick = (): fc.Arbitrary<number> => fc.nat({ max: 1 << 20 });

export { fc };
