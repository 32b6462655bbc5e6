// The three small-object allocators behind the same API: the default workload, /proc,
// vmalloc on top of each, and a kmalloc-trace workload replayed under each.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createSimulator, GFP_KERNEL, parseKmallocTrace, runDefaultWorkload, runKmallocTrace, type Simulator } from '@mmsim/defconfig';
import { afterEach, describe, expect, it } from 'vitest';

const ALLOCATORS = ['slab', 'slub', 'slob'] as const;
let sim: Simulator;
afterEach(() => sim?.dispose());
const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');
const meminfoKb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(sim.proc('meminfo'))![1]);

describe.each(ALLOCATORS)('%s', (slab) => {
  it('runs the default workload, keeps every invariant and prints Slab / SReclaimable / SUnreclaim', async () => {
    sim = await createSimulator({ machine: { memory: '512M', cpus: 2 }, plugins: { slab } });
    expect(sim.composition.slab).toBe(slab);
    runDefaultWorkload(sim, { ops: 8000 });
    sim.check();
    const s = sim.slab.stats();
    expect(meminfoKb('Slab')).toBe((s.reclaimablePages + s.unreclaimablePages) * 4);
    expect(meminfoKb('SReclaimable')).toBe(s.reclaimablePages * 4);
    expect(meminfoKb('SUnreclaim')).toBe(s.unreclaimablePages * 4);
    expect(sim.proc('slabinfo')).toMatch(/^slabinfo - version: 2\.1\n# name +<active_objs>/);
  });

  it('serves vmalloc and alloc_percpu metadata from its kmalloc; VmallocUsed and Percpu follow', async () => {
    sim = await createSimulator({ machine: { memory: '512M', cpus: 2 }, plugins: { slab } });
    const a = sim.vmalloc.vmalloc(64 << 10, { caller: 'test_vmalloc+0x10/0x20' })!;
    expect(meminfoKb('VmallocUsed')).toBe(64);
    const p = sim.percpu.allocPercpu(128)!;
    expect(meminfoKb('Percpu')).toBe(2 * 4);
    // the chunk's allocation maps are above a page: pcpu_mem_zalloc vmallocs them (2 × 5 pages)
    expect(meminfoKb('VmallocUsed')).toBe(64 + 40);
    expect(sim.proc('vmallocinfo')).toMatch(/ 69632 test_vmalloc\+0x10\/0x20 pages=16 vmalloc N0=16\n/);
    sim.check();
    sim.percpu.freePercpu(p);
    sim.vmalloc.vfree(a);
    // the empty chunk stays (pcpu_balance_free keeps one), with its maps
    expect(meminfoKb('VmallocUsed')).toBe(40);
    sim.check();
  });

  it('replays the kmalloc trace fixture and gives every page back afterwards', async () => {
    sim = await createSimulator({ machine: { memory: '512M', cpus: 2 }, plugins: { slab } });
    const trace = parseKmallocTrace(fixture('kmalloc-trace.txt'));
    const r = runKmallocTrace(sim.slab, trace, { nrCpus: 2, nrNodes: 1 }, { events: sim.events, trackPeak: true });
    expect(r.failures).toBe(0);
    expect(r.unmatchedFrees).toBe(0);
    expect(r.kmallocs + r.cacheAllocs).toBe(trace.ops.filter((o) => o.op === 'kmalloc' || o.op === 'cache_alloc').length);
    expect(r.liveObjects).toBe(r.live.length);
    expect(r.liveAllocated).toBeGreaterThanOrEqual(r.liveRequested);
    expect(r.peakPagesHeld).toBeGreaterThanOrEqual(r.pagesHeld);
    sim.check();
    for (const { ptr, cache } of r.live) {
      if (cache) sim.slab.cacheFree(cache, ptr);
      else sim.slab.kfree(ptr);
    }
    for (const c of sim.slab.caches()) sim.slab.shrinkCache(c);
    expect(sim.slab.stats()).toEqual({ reclaimablePages: 0, unreclaimablePages: 0 });
    sim.check();
  });

  it('is deterministic for a seed', async () => {
    const out: string[] = [];
    for (let i = 0; i < 2; i++) {
      sim = await createSimulator({ machine: { memory: '256M', cpus: 2 }, plugins: { slab }, seed: 7 });
      runDefaultWorkload(sim, { ops: 3000 });
      out.push(sim.proc('slabinfo') + sim.proc('buddyinfo'));
      sim.dispose();
    }
    expect(out[0]).toBe(out[1]);
    sim = await createSimulator({ plugins: { slab } });
    expect(sim.slab.kmalloc(1, GFP_KERNEL)).not.toBeNull();
  });
});
