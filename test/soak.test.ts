// "10^6 random operations per built-in composition with the checker on":
// every composition of the built-in plugins (and their option variants, and
// the example third-party allocator) runs the default workload — seeded
// page, object, LRU and reclaim operations — with sim.check() every K
// operations. The normal suite runs a reduced budget; `npm run test:nightly`
// (MMSIM_NIGHTLY=1) runs 10^6 operations each. MMSIM_SOAK_OPS and
// MMSIM_SOAK_CHECK_EVERY override both. Every 2000 operations 250 ms of
// simulated time pass (sim.tick), so the daemons' periodic work (proactive
// compaction, decay_pcp_high) runs under the checker too.
import {
  BUILTIN_PLUGINS, createSimulator, DEFAULT_SERVICES, type ExtensionPointKey, EXTENSION_POINTS, loadPlugin, type PluginRef, runDefaultWorkload,
} from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';

const nightly = process.env.MMSIM_NIGHTLY === '1';
const OPS = Number(process.env.MMSIM_SOAK_OPS ?? (nightly ? 1_000_000 : 20_000));
const EVERY = Number(process.env.MMSIM_SOAK_CHECK_EVERY ?? (nightly ? 100 : 500));

/** Option variants of built-ins that change their behaviour enough to soak separately. */
const VARIANTS: Partial<Record<ExtensionPointKey, PluginRef[]>> = {
  pageAllocator: [{ use: 'buddy', options: { mobilityGrouping: false } }, 'mmsim-plugin-bitmap'],
  slab: [{ use: 'slub', options: { cpuPartial: false, exactSlabinfo: true } }],
};

/** Every built-in plugin by the extension point it provides. */
async function builtinsByPoint(): Promise<Record<ExtensionPointKey, PluginRef[]>> {
  const by = Object.fromEntries(Object.keys(EXTENSION_POINTS).map((k) => [k, [] as PluginRef[]])) as Record<ExtensionPointKey, PluginRef[]>;
  for (const name of Object.keys(BUILTIN_PLUGINS)) {
    const m = await loadPlugin(name, 'soak', BUILTIN_PLUGINS);
    if (Array.isArray(m)) continue; // a service package, in every composition
    const point = (Object.keys(EXTENSION_POINTS) as ExtensionPointKey[]).find((k) => EXTENSION_POINTS[k] === m.provides);
    if (point) by[point].push(name);
  }
  return by;
}

/** The cartesian product of the built-ins, plus each variant swapped into the default composition. */
async function compositions(): Promise<Record<ExtensionPointKey, PluginRef>[]> {
  const by = await builtinsByPoint();
  let out: Record<string, PluginRef>[] = [{}];
  for (const [point, refs] of Object.entries(by)) out = out.flatMap((c) => refs.map((r) => ({ ...c, [point]: r })));
  const first = out[0]!;
  for (const [point, refs] of Object.entries(VARIANTS)) for (const r of refs!) out.push({ ...first, [point]: r });
  return out as Record<ExtensionPointKey, PluginRef>[];
}

const label = (c: Record<string, PluginRef>) => Object.values(c).map((r) => (typeof r === 'string' ? r : typeof r.use === 'string' ? `${r.use}${JSON.stringify(r.options ?? {})}` : '?')).join(' + ');

describe(`soak: ${OPS} operations per composition, sim.check() every ${EVERY}`, async () => {
  const all = await compositions();
  it('covers every built-in plugin', () => {
    const used = new Set(all.flatMap((c) => Object.values(c)).filter((r): r is string => typeof r === 'string'));
    for (const name of Object.keys(BUILTIN_PLUGINS)) if (!DEFAULT_SERVICES.includes(name)) expect(used).toContain(name);
  });
  for (const plugins of all) {
    for (const fill of [0.5, 1.2]) {
      it(`${label(plugins)}, fill ${fill}`, async () => {
        // a machine small enough for fill 1.2 to push it into reclaim and failed allocations
        const sim = await createSimulator({ machine: { memory: fill > 1 ? '64M' : '256M', cpus: 2 }, plugins, seed: 1 + Math.round(fill * 10) });
        try {
          let checks = 0;
          const t0 = performance.now();
          const s = runDefaultWorkload(sim, {
            ops: Math.ceil(OPS / 2),
            fill,
            afterOp: (n) => {
              if (n % 2000 === 0) sim.tick(250);
              if (n % EVERY === 0) {
                sim.check();
                checks++;
              }
            },
          });
          sim.check();
          const ms = performance.now() - t0;
          expect(s.pageAllocs).toBeGreaterThan(0);
          if (fill > 1) expect(s.reclaimed + s.pageAllocFailures, 'memory pressure reached').toBeGreaterThan(0);
          if (nightly || process.env.MMSIM_SOAK_OPS) console.log(JSON.stringify({ composition: label(plugins), fill, ops: s.ops, checks: checks + 1, ms: Math.round(ms) }));
        } finally {
          sim.dispose();
        }
      }, nightly ? 3_600_000 : 60_000);
    }
  }
});
