import { createSimulator, GFP_KERNEL, isMmsimError, runDefaultWorkload, STRUCT_PAGE_SIZE, type Simulator, type SimulatorConfig } from '@mmsim/defconfig';
import { memoryModelConformance } from '@mmsim/testkit';
import { describe, expect, it } from 'vitest';

const GiB = 2 ** 30;
/** 2 GiB of RAM, a 4 GiB hole, 2 GiB more. */
const holey: SimulatorConfig['machine'] = { e820: [{ start: 0, end: 2 * GiB }, { start: 6 * GiB, end: 8 * GiB }], cpus: 1 };
const boot = (memoryModel: string, machine = holey, options?: unknown) =>
  createSimulator({ machine, plugins: { memoryModel: options ? { use: memoryModel, options } : memoryModel } });

memoryModelConformance({ name: 'sparsemem (interleaved slots)', plugin: { use: 'sparsemem', options: { slotLayout: 'interleaved' } } });
memoryModelConformance({ name: 'sparsemem (512M sections, interleaved slots) with a hole', plugin: { use: 'sparsemem', options: { sectionSize: '512M', slotLayout: 'interleaved' } }, config: { machine: { e820: [{ start: 0, end: 700 * 2 ** 20 }, { start: 2 * GiB, end: 2 * GiB + 256 * 2 ** 20 }], cpus: 2 } } });
for (const model of ['flatmem', 'discontigmem', 'sparsemem']) {
  memoryModelConformance({ name: model, plugin: model });
  // a 2.25G machine checked after every step: without hotplug (no smaller run count) a smaller budget keeps it inside the timeout; MMSIM_NIGHTLY raises it
  memoryModelConformance({ name: `${model} on a machine with a hole`, plugin: model, config: { machine: { e820: [{ start: 0, end: 512 * 2 ** 20 }, { start: 2 * GiB, end: 2 * GiB + 256 * 2 ** 20 }], cpus: 2 } }, property: model === 'sparsemem' ? undefined : { numRuns: 10 } });
}

describe('memory models on a machine with a large hole', () => {
  it('FLATMEM costs more memmap than SPARSEMEM by exactly the struct pages of the hole', async () => {
    const flat = await boot('flatmem');
    const sparse = await boot('sparsemem');
    const holePages = (4 * GiB) / 4096;
    expect(flat.memory.memmapBytes() - sparse.memory.memmapBytes()).toBe(holePages * STRUCT_PAGE_SIZE);
    expect(flat.memory.memmapBytes()).toBe(((8 * GiB) / 4096) * STRUCT_PAGE_SIZE);
    expect(sparse.memory.memmapBytes()).toBe(32 * 2 * 2 ** 20); // 32 present sections × 2 MiB
    expect(flat.memory.memmapHoleBytes!() - sparse.memory.memmapHoleBytes!()).toBe(holePages * STRUCT_PAGE_SIZE);
    expect(flat.memory.pages.size - sparse.memory.pages.size).toBe(holePages);
    flat.dispose();
    sparse.dispose();
  });

  it('pfn_valid on holes: FLATMEM maps them, SPARSEMEM only inside present sections, DISCONTIGMEM only inside nodes', async () => {
    const inHole = (3 * GiB) / 4096;
    const flat = await boot('flatmem');
    expect(flat.memory.pfnValid(inHole)).toBe(true);
    expect(flat.memory.pfnValid(0)).toBe(true); // page 0: no RAM, a struct page
    expect(flat.memory.pfnValid((8 * GiB) / 4096)).toBe(false);
    const page = flat.memory.pfnToPage(inHole);
    expect(flat.memory.pages.flags[page]! & (1 << 9)).toBeTruthy(); // PG_reserved
    expect(flat.pages.allocPages(GFP_KERNEL, 0)).not.toBeNull();
    flat.dispose();

    const sparse = await boot('sparsemem');
    expect(sparse.memory.pfnValid(inHole)).toBe(false);
    expect(sparse.memory.pfnToPage(inHole)).toBe(-1);
    expect(sparse.memory.pfnValid(0)).toBe(true); // early section: valid over its whole span
    expect(sparse.memory.section!(24)).toMatchObject({ state: 'absent', nid: -1 });
    expect(sparse.memory.section!(48)).toMatchObject({ state: 'online', presentPages: 32768 });
    sparse.dispose();

    const twoNodes: SimulatorConfig['machine'] = { nodes: [{ ranges: [{ start: 0, end: 2 * GiB }], cpus: 1 }, { ranges: [{ start: 6 * GiB, end: 8 * GiB }], cpus: 1 }] };
    const dis = await boot('discontigmem', twoNodes);
    expect(dis.memory.pfnValid(inHole)).toBe(false); // between nodes: no node_mem_map
    expect(dis.memory.pfnValid(0)).toBe(false); // node 0 starts at pfn 1: before its span
    expect(dis.memory.pfnValid(1)).toBe(true);
    expect(dis.memory.memmapBytes()).toBe(((4 * GiB) / 4096) * STRUCT_PAGE_SIZE);
    dis.dispose();
    const disOne = await boot('discontigmem');
    expect(disOne.memory.pfnValid(inHole)).toBe(true); // one node spanning the hole: like FLATMEM
    disOne.dispose();
  });

  it('calc_memmap_size charges holey zones their present pages only under SPARSEMEM', async () => {
    const machine = { memory: '4G', cpus: 1 };
    const flat = await boot('flatmem', machine);
    const sparse = await boot('sparsemem', machine);
    const dma32 = (s: Simulator) => s.topology.nodes[0]!.zones[1]!;
    expect(flat.memory.memmapPages(dma32(flat))).toBe(Math.ceil((dma32(flat).spannedPages * 64) / 4096));
    expect(sparse.memory.memmapPages(dma32(sparse))).toBe(Math.ceil((dma32(sparse).presentPages * 64) / 4096));
    expect(dma32(sparse).managedPages).toBeGreaterThan(dma32(flat).managedPages);
    flat.dispose();
    sparse.dispose();
  });

  it('DISCONTIGMEM refuses interleaved nodes; SPARSEMEM takes them', async () => {
    const machine: SimulatorConfig['machine'] = {
      nodes: [
        { ranges: [{ start: 0, end: GiB }, { start: 2 * GiB, end: 3 * GiB }], cpus: 1 },
        { ranges: [{ start: GiB, end: 2 * GiB }], cpus: 1 },
      ],
    };
    try {
      await boot('discontigmem', machine);
      expect.unreachable();
    } catch (e) {
      expect(isMmsimError(e, 'EMACHINE')).toBe(true);
      expect((e as Error).message).toMatch(/DISCONTIGMEM needs each node's memory in one span/);
    }
    const sparse = await boot('sparsemem', machine);
    expect(sparse.topology.pfnToNid(GiB / 4096)).toBe(1);
    expect(sparse.topology.pfnToNid(2 * GiB / 4096)).toBe(0);
    expect(sparse.topology.pfnZone(GiB / 4096)!.nid).toBe(1);
    runDefaultWorkload(sparse, { ops: 3000 });
    sparse.check();
    sparse.dispose();
  });

  it('SPARSEMEM section sizes are configurable (x86_64 128M, arm64-style 512M / 1G)', async () => {
    const s29 = await boot('sparsemem', { memory: '2G' }, { sectionSizeBits: 29 });
    expect(s29.memory.sectionSizeBits).toBe(29);
    expect(s29.memory.section!(1).nrPages).toBe(131072);
    s29.dispose();
    const s1g = await boot('sparsemem', { memory: '2G' }, { sectionSize: '1G', vmemmap: false });
    expect(s1g.memory.sectionSizeBits).toBe(30);
    expect((s1g.memory as unknown as { slotLayout: string }).slotLayout).toBe('linear'); // 'auto' below 64 GiB
    s1g.dispose();
    const il = await boot('sparsemem', { memory: '2G' }, { slotLayout: 'interleaved' });
    expect((il.memory as unknown as { slotLayout: string }).slotLayout).toBe('interleaved');
    // the same pfns, other slots: max-order block heads sit side by side
    expect(il.memory.pfnToPage(1024) - il.memory.pfnToPage(0)).toBe(1);
    expect(il.memory.pfnToPage(1) - il.memory.pfnToPage(0)).toBe(32);
    il.dispose();
    for (const bad of [{ sectionSize: '3M' }, { sectionSizeBits: 12 }, { sectionSizeBits: 27, sectionSize: '1G' }]) {
      try {
        await boot('sparsemem', { memory: '1G' }, bad);
        expect.unreachable();
      } catch (e) {
        expect(isMmsimError(e, 'EPLUGIN_OPTIONS')).toBe(true);
      }
    }
  });

  it('runs the default workload under every model', async () => {
    for (const model of ['flatmem', 'discontigmem', 'sparsemem']) {
      const sim = await boot(model, { memory: '512M', cpus: 2 });
      runDefaultWorkload(sim, { ops: 3000 });
      sim.check();
      sim.dispose();
    }
  });
});
