/**
 * The /proc registry: views are contributed under PROC_ENTRY (the /proc
 * files of mm/vmstat.c, fs/proc/meminfo.c, ... come from the service and
 * plugin packages that own their data); `sim.proc(name)` prints one.
 * @module
 */

/**
 * A /proc view. A plain entry serves `name`; an entry with `names()` serves
 * every name it lists (per-task files such as `<pid>/oom_score`), and
 * `name` is then its pattern, for listings. First registration of a name wins.
 */
export interface ProcEntry {
  /** Path below /proc, e.g. 'buddyinfo' or 'sys/vm/min_free_kbytes'; a pattern ('<pid>/oom_score') with `names()`. */
  readonly name: string;
  /** The names served now, for entries that serve many. */
  names?(): string[];
  /** The view as the kernel prints it (`name`: the one asked for, for entries that serve many). */
  show(name?: string): string;
}
