/**
 * `ps aux` as procps-ng 4 prints it, from what /proc/<pid>/stat and status
 * say: one line per process (threads folded into their process), VSZ and
 * RSS in KiB, %MEM = RSS / MemTotal in tenths of a percent, truncated.
 * @module
 */
import { PAGE_SIZE, type ProcessTask, type TaskTable } from '@mmsim/core';
import { isKthread, sessionOf } from './array.js';

/** One row of the table, as numbers (for programs). */
export interface PsRow {
  user: string;
  pid: number;
  /** Tenths of a percent of CPU (always 0: no CPU time is simulated). */
  pcpu: number;
  /** Tenths of a percent of MemTotal. */
  pmem: number;
  /** KiB */
  vsz: number;
  /** KiB */
  rss: number;
  tty: string;
  stat: string;
  start: string;
  time: string;
  command: string;
}

/** The USER column: root for uid 0, else the number (no passwd database in the simulator). */
function userName(uid: number): string {
  return uid === 0 ? 'root' : String(uid);
}

/** START: the time of day the task started, the simulated boot being midnight. */
function startColumn(ns: number): string {
  const min = Math.floor(ns / 60e9);
  const hh = Math.floor(min / 60) % 24;
  const mm = min % 60;
  return `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}`;
}

/** The rows of `ps aux`: every process (thread-group leader or lone task) in pid order. */
export function psRows(tasks: TaskTable, memTotalKb: number): PsRow[] {
  const all = tasks.all();
  const nlwp = new Map<number, number>();
  for (const t of all) nlwp.set(t.tgid, (nlwp.get(t.tgid) ?? 0) + 1);
  const rows: PsRow[] = [];
  for (const t of all) {
    if (t.pid !== t.tgid && tasks.has(t.tgid)) continue;
    rows.push(psRow(t, tasks, memTotalKb, nlwp.get(t.tgid) ?? 1));
  }
  return rows;
}

function psRow(t: ProcessTask, tasks: TaskTable, memTotalKb: number, threads: number): PsRow {
  const mm = t.mm;
  const kb = PAGE_SIZE / 1024;
  const rss = mm ? (mm.counters.anonRss + mm.counters.fileRss + mm.counters.shmemRss) * kb : 0;
  const vsz = mm ? mm.counters.totalVm * kb : 0;
  // pr_pmem(): rss * 1000 / MemTotal, capped at 99.9
  const pmem = memTotalKb > 0 ? Math.min(999, Math.floor((rss * 1000) / memTotalKb)) : 0;
  let stat = t.state?.[0] ?? 'R';
  if (mm && mm.counters.lockedVm > 0) stat += 'L';
  if (sessionOf(t, tasks) === t.pid) stat += 's';
  if (threads > 1) stat += 'l';
  return {
    user: userName(t.uid), pid: t.pid, pcpu: 0, pmem, vsz, rss, tty: '?', stat,
    start: startColumn(t.startTime ?? 0), time: '0:00',
    command: isKthread(t) ? `[${t.comm}]` : t.comm,
  };
}

const tenths = (v: number) => `${Math.floor(v / 10)}.${v % 10}`;

/** Formats rows as `ps aux` prints them (procps-ng 4, pid_max 32768). */
export function formatPs(rows: readonly PsRow[]): string {
  let out = 'USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n';
  for (const r of rows) {
    // a user name wider than the column is cut with '+', as procps does
    const user = r.user.length > 8 ? `${r.user.slice(0, 7)}+` : r.user.padEnd(8);
    out += `${user} ${String(r.pid).padStart(5)} ${tenths(r.pcpu).padStart(4)} ${tenths(r.pmem).padStart(4)} ${String(r.vsz).padStart(6)} ${String(r.rss).padStart(5)} `;
    out += `${r.tty.padEnd(8)} ${r.stat.padEnd(4)} ${r.start.padStart(5)} ${r.time.padStart(6)} ${r.command}\n`;
  }
  return out;
}

/** `ps aux` of the simulated tasks; `memTotalKb` is /proc/meminfo's MemTotal. */
export function psAux(tasks: TaskTable, memTotalKb: number): string {
  return formatPs(psRows(tasks, memTotalKb));
}
