import { readFileSync } from 'node:fs';
import { bootReport, compareBootWithLog, createSimulator, formatBootReport, printedBoot } from '@mmsim/defconfig';
import { zoneBatchsize } from '@mmsim/plugin-buddy';
import { describe, expect, it } from 'vitest';

const FIXTURE = new URL('./fixtures/dmesg/aio-h87-k5.4.txt', import.meta.url).pathname;
/** The log's lines without timestamps. */
const logLines = readFileSync(FIXTURE, 'utf8').split('\n').map((l) => l.replace(/^\[\s*\d+\.\d+\] ?/, ''));

describe('booting a real machine from its boot log (aio-h87, Linux 5.4)', () => {
  it('reproduces present pages, memmap pages, LIFO batch per zone, totalpages and Total pages exactly', async () => {
    const sim = await createSimulator({ machine: { dmesg: FIXTURE }, plugins: { memoryModel: 'sparsemem' } });
    expect(sim.config.kernel).toBe('5.4');
    const r = bootReport(sim.topology, sim.memory, { zoneBatchsize });
    const n = r.nodes[0]!;
    expect(n.totalpages).toBe(4156887);
    expect(n.zones.filter((z) => z.present).map((z) => [z.name, z.present, z.memmapPages, z.batch])).toEqual([
      ['DMA', 3996, 64, 0], ['DMA32', 880699, 13761, 63], ['Normal', 3272192, 51128, 63],
    ]);
    expect(n.zones[0]!.reserved).toBe(23);
    expect(r.totalPages).toBe(4091911);
    expect(compareBootWithLog(r, printedBoot(sim.topology.layout)!)).toEqual([]);
    // the simulator's zones are the kernel's: managed = present - memmap - DMA reserve
    expect(sim.topology.nodes[0]!.zones.map((z) => z.managedPages)).toEqual([3909, 866938, 3221064, 0]);
    sim.check();
    sim.dispose();
  });

  it('prints the same lines the kernel printed, in its order', async () => {
    const sim = await createSimulator({ machine: { dmesg: FIXTURE }, plugins: { memoryModel: 'sparsemem' } });
    const out = formatBootReport(bootReport(sim.topology, sim.memory, { zoneBatchsize })).trimEnd().split('\n');
    sim.dispose();
    let at = 0;
    for (const line of out) {
      const i = logLines.indexOf(line, at);
      expect(i, `line not in the log after line ${at}: '${line}'`).toBeGreaterThanOrEqual(0);
      at = i + 1;
    }
    expect(out).toContain('  DMA32 zone: 13761 pages used for memmap');
    expect(out).toContain('Built 1 zonelists, mobility grouping on.  Total pages: 4091911');
    expect(out).toContain('Zeroed struct page in unavailable ranges: 37417 pages');
  });

  it('differs where the memory model changes the accounting, and follows the kernel version asked for', async () => {
    const flat = await createSimulator({ machine: { dmesg: FIXTURE }, plugins: { memoryModel: 'flatmem' } });
    const fr = bootReport(flat.topology, flat.memory, { zoneBatchsize });
    // FLATMEM charges the DMA32 zone for its whole span, holes included
    expect(fr.nodes[0]!.zones[1]!.memmapPages).toBe(16320);
    expect(compareBootWithLog(fr, printedBoot(flat.topology.layout)!).map((m) => m.what)).toEqual(expect.arrayContaining(['node 0 DMA32 memmap pages', 'Total pages']));
    flat.dispose();
    const modern = await createSimulator({ machine: { dmesg: FIXTURE }, plugins: { memoryModel: 'sparsemem' }, kernel: '6.12' });
    const mr = bootReport(modern.topology, modern.memory, { zoneBatchsize });
    expect(mr.kernel).toBe('6.12');
    // 6.10+: no memmap charged per zone, managed = present when the batch is sized
    expect(mr.totalPages).toBe(4156887);
    const text = formatBootReport(mr);
    expect(text).not.toMatch(/pages used for memmap/);
    expect(text).toMatch(/^On node 0, zone DMA: 1 pages in unavailable ranges$/m);
    expect(text).toMatch(/^On node 0, zone Normal: 4608 pages in unavailable ranges$/m);
    modern.dispose();
  });
});
