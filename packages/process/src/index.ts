/**
 * @mmsim/process — the process layer (services): tasks (TASKS, PROCESSES:
 * kernel/fork.c), address spaces — mm_struct, VMAs, four-level page tables
 * (mm/mmap.c, mm/memory.c) — reverse mapping (mm/rmap.c), overcommit
 * (mm/util.c), the page cache (PAGE_CACHE: mm/filemap.c, mm/readahead.c,
 * mm/page-writeback.c) and swap (SWAP: mm/swapfile.c, mm/swap_state.c), and
 * the /proc/<pid> views (fs/proc/array.c, fs/proc/task_mmu.c). Its default
 * export is the list of manifests a composition's `services` names.
 * @module @mmsim/process
 */
import { definePlugin, type DependencyContainer, INVARIANT_CHECK, Lifecycle, PAGE_CACHE, PAGE_OWNER, type PluginManifest, PROC_ENTRY, PROCESSES, SWAP, TASKS } from '@mmsim/core';
import { AnonPageOwner, ProcessLayer, RmapCheck, TaskStruct, TaskStructs } from './fork.js';
import { MmCountersImpl, MmStructImpl, VmArea } from './mmap.js';
import { PageTables, PteTable } from './pgtable.js';
import { AnonVma, AnonVmaTable } from './rmap.js';
import { PidOomScoreAdjProc, PidStatmProc, PidStatProc, PidStatusProc } from './array.js';
import { PidMapsProc, PidSmapsRollupProc } from './task_mmu.js';
import { Filemap, Inode, PageCacheCheck, PageCacheOwner } from './filemap.js';
import { BioRequest } from './page_io.js';
import { FileRaState } from './readahead.js';
import { SwapCacheOwner } from './swap_state.js';
import { SwapCheck, SwapFile, SwapInfo, SwapsProc } from './swapfile.js';

export { bitmapList, bitmapString, showOomScoreAdj, showStat, showStatus, sigpendingLimit, type TaskViewSources } from './array.js';
export { type FilePath, gatherStats, type MemSizeStats, showMaps, showSmap, showSmapsRollup, showStatm, type SmapsSources, taskMem, taskStatm, type Statm } from './task_mmu.js';
export { AnonPageOwner, ProcessLayer, RmapCheck, TaskStruct, TaskStructs } from './fork.js';
export {
  accountableMapping, type Arch, countersOf, isDataMapping, isExecMapping, isStackMapping, MmCountersImpl, mmLayout, type MmLayout, MmStructImpl,
  MMAP_MIN_ADDR, STACK_GUARD_GAP, TASK_SIZE_32, TASK_SIZE_64, type Caller, VmArea, vmaFlagsString,
} from './mmap.js';
export { F_MAJOR, F_MINOR, F_NONE, F_OOM, F_SIGBUS, F_SIGSEGV, FAULT_NAMES, type FaultTask, type MmEnv, type RangeResult } from './memory.js';
export { PageTables, type PgtableEnv, PteTable, PTE_ACCESSED, PTE_DIRTY, PTE_RW, PTE_ZERO, pteToSwpEntry, swpEntryToPte } from './pgtable.js';
export { AnonVma, AnonVmaTable, checkRmap } from './rmap.js';
export { commitLimit, GUESS_SIMPLE_SINCE, guessFree, type OvercommitEnv, OVERCOMMIT_ALWAYS, OVERCOMMIT_GUESS, OVERCOMMIT_NEVER, totalramPages, totalreservePages, vmEnoughMemory, vmMemoryCommitted } from './util.js';
export { formatPs, psAux, psRows, type PsRow } from './ps.js';
export { Filemap, Inode, PageCacheCheck, PageCacheOwner } from './filemap.js';
export { BdiWriteback, DIRTY_RATELIMIT_PAGES, domainDirtyLimits, globalDirtyableMemory, MIN_WRITEBACK_PAGES, WB_MAX_INFLIGHT_REQUESTS, type WbHost, type WbInode } from './page-writeback.js';
export { BioRequest, BlockDevice, DEFAULT_DEVICE, type DeviceSpec } from './page_io.js';
export { FileRaState, getInitRaSize, getNextRaSize, pageCacheAsyncRa, pageCacheSyncRa, type RaMapping, VM_READAHEAD_PAGES } from './readahead.js';
export { SwapCacheIndex, type SwapCacheMigrator, SwapCacheOwner } from './swap_state.js';
export { MAX_SWAPFILES, showSwaps, SWAP_HAS_CACHE, SwapCheck, SwapFile, SwapInfo, SwapsProc } from './swapfile.js';

/** Binds `cls` to `token`, container scoped (one instance per simulator). */
function scoped(c: DependencyContainer, token: symbol, cls: new (...args: never[]) => unknown): void {
  c.register(token, { useClass: cls as never }, { lifecycle: Lifecycle.ContainerScoped });
}

/** The manifest of one service: `cls` bound to `token`, container scoped. */
function service(name: string, token: symbol, cls: new (...args: never[]) => unknown, description: string): PluginManifest {
  return definePlugin({ name, provides: token, apiVersion: '1', description, register: (c) => scoped(c, token, cls) });
}

const manifests: readonly PluginManifest[] = [
  // H1: tasks (TASKS), processes (PROCESSES), PAGE_OWNER for ANON
  service('tasks', TASKS, TaskStructs, 'the task table: tasks in pid order, PF_MEMALLOC nesting and the interleave cursor of the current task'),
  definePlugin({
    name: 'processes', provides: PROCESSES, apiVersion: '1',
    description: 'the process layer: spawn, fork (copy-on-write), threads, exec, exit; mmap, munmap, mprotect, brk; faults (kernel/fork.c, mm/mmap.c, mm/memory.c)',
    snapshotClasses: [TaskStruct, MmStructImpl, MmCountersImpl, VmArea, PageTables, PteTable, AnonVma, AnonVmaTable],
    register: (c) => scoped(c, PROCESSES, ProcessLayer),
  }),
  definePlugin({
    name: 'anon-owner', provides: PAGE_OWNER, apiVersion: '1',
    description: 'the owner of anonymous pages: try_to_unmap to swap, migration of mapped pages, page descriptions (mm/rmap.c)',
    register: (c) => scoped(c, PAGE_OWNER, AnonPageOwner),
  }),
  definePlugin({
    name: 'process-checks', provides: INVARIANT_CHECK, apiVersion: '1',
    description: 'process-rmap: every present PTE against its page\'s mapcount, the mm counters against the page tables (CONFIG_DEBUG_VM)',
    register: (c) => scoped(c, INVARIANT_CHECK, RmapCheck),
  }),
  // H2: swap (SWAP), page-cache (PAGE_CACHE), PAGE_OWNER for PAGE_CACHE, /proc/swaps
  definePlugin({
    name: 'swap', provides: SWAP, apiVersion: '1',
    description: 'swap devices, slots and the swap cache: swapon / swapoff, priorities, swap_map counts, swap I/O (mm/swapfile.c, mm/swap_state.c, mm/page_io.c)',
    snapshotClasses: [SwapInfo, BioRequest],
    register: (c) => scoped(c, SWAP, SwapFile),
  }),
  definePlugin({
    name: 'page-cache', provides: PAGE_CACHE, apiVersion: '1',
    description: 'files and the page cache: read with ondemand readahead, write, mmap faults, dirty pages and writeback, fsync, drop_caches (mm/filemap.c, mm/readahead.c, mm/page-writeback.c)',
    snapshotClasses: [Inode, FileRaState, BioRequest],
    register: (c) => scoped(c, PAGE_CACHE, Filemap),
  }),
  definePlugin({
    name: 'page-cache-owners', provides: PAGE_OWNER, apiVersion: '1',
    description: 'the owner of page-cache pages (migrate, evict clean unmapped pages, describe) and the swap cache\'s migration of anonymous pages',
    register: (c) => {
      scoped(c, PAGE_OWNER, PageCacheOwner);
      scoped(c, PAGE_OWNER, SwapCacheOwner);
    },
  }),
  definePlugin({
    name: 'swaps-proc', provides: PROC_ENTRY, apiVersion: '1',
    description: '/proc/swaps (mm/swapfile.c swap_show)',
    register: (c) => scoped(c, PROC_ENTRY, SwapsProc),
  }),
  definePlugin({
    name: 'page-cache-checks', provides: INVARIANT_CHECK, apiVersion: '1',
    description: 'swap map, swap cache and page cache against the page-frame table and the vm counters (CONFIG_DEBUG_VM)',
    register: (c) => {
      scoped(c, INVARIANT_CHECK, SwapCheck);
      scoped(c, INVARIANT_CHECK, PageCacheCheck);
    },
  }),
  definePlugin({
    name: 'pid-proc', provides: PROC_ENTRY, apiVersion: '1',
    description: '/proc/<pid>/status, stat, statm (fs/proc/array.c), maps, smaps_rollup (fs/proc/task_mmu.c), oom_score_adj (fs/proc/base.c)',
    register: (c) => {
      for (const cls of [PidStatusProc, PidStatProc, PidStatmProc, PidMapsProc, PidSmapsRollupProc, PidOomScoreAdjProc]) scoped(c, PROC_ENTRY, cls);
    },
  }),
];

export default manifests;
