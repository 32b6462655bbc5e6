/**
 * Child process of the process-layer benchmarks: boots a machine, then has
 * one task write `argv[2]` bytes of anonymous memory, and prints the RSS
 * the simulator process gained per resident user page (its struct page
 * fields, reverse mapping, LRU links and PTE) as JSON. A fresh process, so
 * the figure is not disturbed by what ran before.
 * @module
 */
import { createSimulator, PAGE_SIZE } from '@mmsim/defconfig';

const bytes = Number(process.argv[2] ?? 2 ** 30);
const sim = await createSimulator({ machine: { memory: '8G', cpus: 2 } });
const gc = (globalThis as { gc?: () => void }).gc;
const t = sim.processes.spawn({ comm: 'toucher' });
const addr = sim.processes.mmap(t.pid, bytes);
gc?.();
const before = process.memoryUsage().rss;
const r = sim.processes.touch(t.pid, addr, bytes, { write: true });
gc?.();
const after = process.memoryUsage().rss;
const pages = bytes / PAGE_SIZE;
process.stdout.write(`${JSON.stringify({ pages, faults: r.minor, residentUserPages: t.anonRss, rssDelta: after - before, bytesPerPage: (after - before) / t.anonRss, structPageBytes: sim.memory.pages.bytesPerPage })}\n`);
sim.dispose();
