// Fuzzing of every parser the code base has: random and mutated inputs give
// a result or an MmsimError with a catalogued code — never another
// exception, never a hang. Bounded here; MMSIM_NIGHTLY=1 runs far more.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '@mmsim/cli';
import {
  compileKmallocTrace, createSimulator, layoutMachine, machineFromDmesg, machineFromZoneinfo, parseConfig, parseDmesg, parseGfp,
  parseKmallocTrace, parseSize, parseZoneinfo, type SimulatorConfig, Sysctl, SYSCTL_NAMES, Topology, validateSysctl, type SysctlName,
} from '@mmsim/defconfig';
import { fuzzParser, simFingerprint } from '@mmsim/testkit';
import { describe, expect, it } from 'vitest';

const CONFIGS: SimulatorConfig[] = [
  {},
  { machine: { memory: '64M', cpus: 2 }, seed: 7 },
  { machine: { memory: '1G', cpus: 4, arch: 'x86_32' }, kernel: '5.4' },
  { machine: { nodes: [{ memory: '32M', cpus: 1 }, { memory: '32M', cpus: [1, 2] }], distances: [[10, 21], [21, 10]] } },
  { machine: { e820: [{ start: 0, end: '0x9fc00' }, { start: '0x100000', end: '64M', type: 'usable' }, { start: '64M', end: '65M', type: 'reserved' }], cpus: 1 } },
  { machine: { nodes: [{ ranges: [{ start: '1M', end: '40M' }], cpus: 1 }, { ranges: [{ start: '64M', end: '96M' }] }] } },
  { machine: { memory: 67108864 }, plugins: { pageAllocator: { use: 'buddy', options: { mobilityGrouping: false } }, slab: { use: 'slub', options: { cpuPartial: false } } } },
  { sysctl: { 'vm.swappiness': 10, 'vm.min_free_kbytes': 2048, 'vm.lowmem_reserve_ratio': [256, 256, 32, 0, 0] }, machine: { memory: '128M' } },
];

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
/** The first `n` lines of a text. */
const head = (text: string, n: number) => text.split('\n').slice(0, n).join('\n');
const DMESG = fixture('dmesg/aio-h87-k5.4.txt');
const ZONEINFO = fixture('proc-vm1/zoneinfo');

/** Validation and layout only: cheap for any machine size. */
function parseAndLayout(input: unknown): void {
  const c = parseConfig(input);
  new Topology(layoutMachine(c.machine));
}

/** Plugin names that are paths would import files: keep the fuzzer to names. */
function noPaths(cfg: unknown): unknown {
  const p = (cfg as { plugins?: Record<string, unknown> } | null)?.plugins;
  if (p && typeof p === 'object') {
    for (const [k, v] of Object.entries(p)) {
      const name = typeof v === 'string' ? v : typeof (v as { use?: unknown })?.use === 'string' ? (v as { use: string }).use : undefined;
      if (name !== undefined && /^[./\\~]|^file:|^[a-z]:/i.test(name)) p[k] = `no-such-plugin-${name.length}`;
    }
  }
  return cfg;
}

describe('parser fuzzing (bounded budget)', () => {
  it('config: parseConfig + machine layout + topology', async () => {
    const r = await fuzzParser(parseAndLayout, CONFIGS, { runs: 1500, timeMs: 8000 });
    expect(r.ok).toBeGreaterThan(0);
    expect(Object.keys(r.errors)).toEqual(expect.arrayContaining(['ECONFIG']));
  });

  it('config: createSimulator boots what it accepts (machines up to 512M) and refuses the rest with a typed error', async () => {
    const r = await fuzzParser(async (input: unknown) => {
      const cfg = noPaths(input);
      const c = parseConfig(cfg);
      const pages = layoutMachine(c.machine).nodes.flatMap((n) => n.ranges).reduce((s, x) => Math.max(s, x.end), 0);
      if (pages > (512 << 20) / 4096) return;
      const sim = await createSimulator(cfg as SimulatorConfig);
      try {
        sim.check();
      } finally {
        sim.dispose();
      }
    }, CONFIGS.filter((c) => c.machine), { runs: 250, timeMs: 12000 });
    expect(r.ok).toBeGreaterThan(0);
  });

  it('config file text: readConfig + parseConfig + layout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-fuzz-'));
    const file = join(dir, 'cfg.json');
    const r = await fuzzParser((text: string) => {
      writeFileSync(file, text);
      parseAndLayout(readConfig(file));
    }, CONFIGS.map((c) => JSON.stringify(c, null, 1)), { runs: 800, timeMs: 8000 });
    expect(r.errors.ECONFIG).toBeGreaterThan(0);
  });

  it('machine descriptions: e820 maps, nodes, distances', async () => {
    const r = await fuzzParser((machine: unknown) => parseAndLayout({ machine }), CONFIGS.filter((c) => c.machine).map((c) => c.machine!), { runs: 1500, timeMs: 8000 });
    expect(r.errors.EMACHINE ?? 0).toBeGreaterThan(0);
  });

  it('parseSize', async () => {
    const r = await fuzzParser((v: string | number) => {
      const n = parseSize(v);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`parseSize(${JSON.stringify(v)}) = ${n}`);
    }, ['4G', '512M', '64k', '0x1000', '1.5G', ' 16 MiB ', '4096', '1T'], { runs: 2000, timeMs: 5000 });
    expect(r.ok).toBeGreaterThan(0);
    const n = await fuzzParser((v: unknown) => parseSize(v as number), [0, 4096, 2 ** 52], { runs: 300 });
    expect(n.errors.EMACHINE).toBeGreaterThan(0);
  });

  it('parseGfp', async () => {
    const r = await fuzzParser((s: string) => {
      const g = parseGfp(s);
      if (!Number.isFinite(g) || g < 0) throw new Error(`parseGfp(${JSON.stringify(s)}) = ${g}`);
    }, ['GFP_KERNEL', 'GFP_KERNEL|__GFP_ZERO', '0xcc0', '3264', 'GFP_HIGHUSER_MOVABLE|__GFP_COMP', 'GFP_NOWAIT|__GFP_ACCOUNT', 'GFP_ATOMIC|__GFP_NOWARN|0x10'], { runs: 2000, timeMs: 5000 });
    expect(r.errors.EGFP_INVALID).toBeGreaterThan(0);
  });

  it('boot logs: parseDmesg + machineFromDmesg + machine layout', async () => {
    const r = await fuzzParser((text: string) => parseAndLayout({ machine: machineFromDmesg(parseDmesg(text)) }), [DMESG, head(DMESG, 60)], { runs: 600, timeMs: 8000 });
    expect(r.ok).toBeGreaterThan(0);
    expect(r.errors.EPARSE).toBeGreaterThan(0);
  });

  it('/proc/zoneinfo: parseZoneinfo + machineFromZoneinfo + machine layout', async () => {
    const r = await fuzzParser((text: string) => parseAndLayout({ machine: machineFromZoneinfo(parseZoneinfo(text)) }), [ZONEINFO], { runs: 800, timeMs: 8000 });
    expect(r.ok).toBeGreaterThan(0);
    expect(r.errors.EPARSE).toBeGreaterThan(0);
  });

  it('kmalloc traces: parseKmallocTrace + compileKmallocTrace', async () => {
    const r = await fuzzParser((text: string) => compileKmallocTrace(parseKmallocTrace(text)), [head(fixture('kmalloc-trace.txt'), 80), head(fixture('kmalloc-sizes.txt'), 40)], { runs: 800, timeMs: 8000 });
    expect(r.ok).toBeGreaterThan(0);
    expect(r.errors.EWORKLOAD).toBeGreaterThan(0);
  });

  it('sysctl values: refused writes leave the simulator unchanged', async () => {
    const sim = await createSimulator({ machine: { memory: '64M' } });
    const seeds = new Sysctl().entries().map(([name, value]) => ({ name, value }));
    try {
      const r = await fuzzParser((x: { name: string; value: unknown }) => {
        const name = (x && typeof x === 'object' ? x.name : x) as string;
        const value = x && typeof x === 'object' ? x.value : undefined;
        validateSysctl(name, value);
        new Sysctl({ [String(name)]: value });
        const before = simFingerprint(sim);
        try {
          sim.sysctl.set(name as SysctlName, value as never);
        } catch (e) {
          if (simFingerprint(sim) !== before) throw new Error(`a refused sysctl write changed the simulator: ${String(e)}`);
          throw e;
        }
        sim.check();
      }, seeds, { runs: 600, timeMs: 8000 });
      expect(r.errors.ESYSCTL).toBeGreaterThan(0);
      expect(SYSCTL_NAMES.length).toBe(seeds.length);
    } finally {
      sim.dispose();
    }
  });
});

describe('fuzzParser itself', () => {
  it('reports a parser that throws something other than an MmsimError, with the shrunk input', async () => {
    const naive = (s: string) => {
      if (s.includes('|')) throw new TypeError('cannot read properties of undefined');
      return s.length;
    };
    await expect(fuzzParser(naive, ['GFP_KERNEL', 'abc'], { runs: 500 })).rejects.toThrow(/not an MmsimError: TypeError.*\n {2}input \(shrunk\): ".*\|.*"/);
  });

  it('reports a call that runs too long', async () => {
    const slow = (s: string) => {
      const t = performance.now();
      if (s.length > 20) while (performance.now() - t < 30);
    };
    await expect(fuzzParser(slow, ['x'.repeat(30)], { runs: 20, maxCallMs: 10 })).rejects.toThrow(/took \d+ ms/);
  });
});

describe('inputs the nightly fuzzer found', () => {
  it('boot logs: a node range line without its range, a node id past MAX_NUMNODES, a CPU count past NR_CPUS are EPARSE', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(() => parseDmesg(DMESG.replace(/node {3}0: \[mem [^\n]*/, 'node   0:')))).toBe('EPARSE');
    expect(code(() => machineFromDmesg(parseDmesg(DMESG.replace(/node {3}0: /g, 'node   99999999999: '))))).toBe('EPARSE');
    expect(code(() => parseDmesg(`${DMESG}\n[    0.1] smpboot: Allowing 99999999999 CPUs, 0 hotplug CPUs\n`))).toBe('EPARSE');
  });

  it('a plugin point given as undefined keeps its default', async () => {
    const sim = await createSimulator({ machine: { memory: '64M' }, plugins: { slab: undefined, pageAllocator: 'buddy' } });
    expect(sim.composition.slab).toBe('slub');
    sim.dispose();
  });
});
