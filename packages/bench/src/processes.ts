/**
 * Process-layer benchmarks: anonymous write faults on a 1 GiB region,
 * fork of a task with 1 GiB resident and the copy-on-write faults after it,
 * and the simulator's memory per resident user page (in a child process,
 * `fault-memory.js`, so its RSS is its own).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSimulator, type Simulator } from '@mmsim/defconfig';
import type { ModelResult } from './memory-models.js';

const GiB = 2 ** 30;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A task with a `bytes` anonymous mapping, unfaulted. */
function mapped(sim: Simulator, bytes: number): { pid: number; addr: number } {
  const t = sim.processes.spawn({ comm: 'bench' });
  const addr = sim.processes.mmap(t.pid, bytes);
  if (addr < 0) throw new Error(`bench: mmap of ${bytes} bytes failed (${addr})`);
  return { pid: t.pid, addr };
}

/** The process-layer benchmarks. */
export async function processBenchmarks(quick: boolean, rounds: number, want: (name: string) => boolean = () => true): Promise<ModelResult[]> {
  const results: ModelResult[] = [];
  const bytes = quick ? GiB / 4 : GiB;
  const pages = bytes / 4096;
  const label = `${bytes / 2 ** 20} MiB`;

  const faultName = `page faults: write to a ${label} anonymous region (no listener)`;
  if (want(faultName)) {
    const sim = await createSimulator({ machine: { memory: '4G', cpus: 2 } });
    const rates: number[] = [];
    for (let i = 0; i <= rounds; i++) {
      const { pid, addr } = mapped(sim, bytes);
      const t0 = process.hrtime.bigint();
      const r = sim.processes.touch(pid, addr, bytes, { write: true });
      const ns = Number(process.hrtime.bigint() - t0);
      if (r.minor !== pages) throw new Error(`bench: ${r.minor} faults for ${pages} pages`);
      if (i > 0) rates.push((pages * 1e9) / ns); // the first round warms up
      sim.processes.exit(pid);
    }
    results.push({ name: faultName, opsPerSec: Math.round(median(rates)), ops: pages, rounds, target: 2_000_000, note: 'do_anonymous_page per page: page allocation, rmap, LRU add, PTE' });
    sim.dispose();
  }

  const forkName = `fork of a task with ${label} resident, then one COW write per page`;
  if (want(forkName)) {
    const sim = await createSimulator({ machine: { memory: '4G', cpus: 2 } });
    const forkMs: number[] = [];
    const cow: number[] = [];
    for (let i = 0; i <= rounds; i++) {
      const { pid, addr } = mapped(sim, bytes);
      sim.processes.touch(pid, addr, bytes, { write: true });
      const t0 = process.hrtime.bigint();
      const child = sim.processes.fork(pid);
      const t1 = process.hrtime.bigint();
      const r = sim.processes.touch(child.pid, addr, bytes, { write: true });
      const t2 = process.hrtime.bigint();
      if (r.minor !== pages) throw new Error(`bench: ${r.minor} COW faults for ${pages} pages`);
      if (i > 0) {
        forkMs.push(Number(t1 - t0) / 1e6);
        cow.push((pages * 1e9) / Number(t2 - t1));
      }
      sim.processes.exit(child.pid);
      sim.processes.exit(pid);
    }
    results.push({
      name: forkName, opsPerSec: Math.round(median(cow)), ops: pages, rounds,
      forkMs: +median(forkMs).toFixed(1),
      note: `fork (copy_page_range of ${pages} PTEs, write-protected) ${median(forkMs).toFixed(1)} ms; COW faults (do_wp_page: copy) ${Math.round(median(cow))}/s`,
    });
    sim.dispose();
  }

  const memName = 'simulator memory per resident user page (struct page, rmap, LRU links, PTE)';
  if (want(memName)) {
    const script = fileURLToPath(new URL('./fault-memory.js', import.meta.url));
    const runs = Array.from({ length: quick ? 1 : 2 }, () => JSON.parse(execFileSync(process.execPath, ['--expose-gc', script, String(2 * GiB)], { encoding: 'utf8' })) as { residentUserPages: number; rssDelta: number; bytesPerPage: number; structPageBytes: number });
    const best = runs.reduce((a, b) => (b.bytesPerPage < a.bytesPerPage ? b : a));
    results.push({
      name: memName, opsPerSec: 0, ops: best.residentUserPages, rounds: runs.length, target: 32,
      bytesPerPage: +best.bytesPerPage.toFixed(2),
      note: `${best.bytesPerPage.toFixed(1)} B of resident memory per user page written (2 GiB written on an 8 GiB machine; target ≤ 32); struct page slots take ${best.structPageBytes} B each, paid at boot for every page`,
    });
  }
  return results;
}
