/**
 * Overcommit accounting (mm/util.c): vm_committed_as (Committed_AS, kept in
 * the VMSTAT node counter nr_committed), vm_commit_limit() (CommitLimit) and
 * __vm_enough_memory(), the check mmap, brk, stack growth, mprotect and fork
 * make before charging a VM_ACCOUNT mapping.
 *
 * vm.overcommit_memory 0 (OVERCOMMIT_GUESS) follows the configured kernel
 * version: since 5.2 ("mm: fix false-positive OVERCOMMIT_GUESS failures")
 * one request larger than total RAM + total swap is refused and nothing
 * else; before, the request had to fit in a guess of what could be made
 * free — free pages + file pages − shmem + free swap + reclaimable slab,
 * less totalreserve_pages and, for non-root, admin_reserve_kbytes.
 * 1 (OVERCOMMIT_ALWAYS) grants everything; 2 (OVERCOMMIT_NEVER) keeps
 * Committed_AS below CommitLimit less the admin reserve (non-root) and
 * min(total_vm / 32, user_reserve_kbytes) of the asking mm.
 * @module
 */
import { ENOMEM, kernelAtLeast, vmCommitLimit, type SlabAllocator, type SwapSpace, type Sysctl, type Topology, type VmStat, WMARK_HIGH } from '@mmsim/core';

export const OVERCOMMIT_GUESS = 0;
export const OVERCOMMIT_ALWAYS = 1;
export const OVERCOMMIT_NEVER = 2;

/** The kernel release whose OVERCOMMIT_GUESS is the totalram + swap rule (commit 8c7829b04c52, Linux 5.2). */
export const GUESS_SIMPLE_SINCE = '5.2';

/** What the accounting reads. */
export interface OvercommitEnv {
  readonly sysctl: Sysctl;
  readonly topology: Topology;
  readonly vmstat: VmStat;
  swap(): SwapSpace;
  /** For the pre-5.2 heuristic's reclaimable slab; absent: none counted. */
  slab?(): SlabAllocator;
}

/** totalram_pages(): the managed pages of every zone. */
export function totalramPages(topology: Topology): number {
  let n = 0;
  for (const z of topology.zones) n += z.managedPages;
  return n;
}

/** totalreserve_pages (calculate_totalreserve_pages): per zone, the highest lowmem reserve plus the high watermark, at most the managed pages. */
export function totalreservePages(topology: Topology): number {
  let total = 0;
  for (const z of topology.zones) {
    let max = 0;
    for (const r of z.lowmemReserve) if (r > max) max = r;
    max += z.watermark[WMARK_HIGH]!;
    total += Math.min(max, z.managedPages);
  }
  return total;
}

/** Total swap pages, 0 when no SWAP service answers yet. */
function swapTotal(env: OvercommitEnv): number {
  return env.swap().total;
}

/**
 * vm_commit_limit() of this machine (core's vmCommitLimit): overcommit_kbytes
 * when set, else totalram × overcommit_ratio / 100; plus total swap. No
 * hugetlb pages are modelled.
 */
export function commitLimit(env: OvercommitEnv): number {
  return vmCommitLimit(totalramPages(env.topology), env.sysctl, swapTotal(env));
}

/** vm_memory_committed(): Committed_AS, pages. */
export function vmMemoryCommitted(env: Pick<OvercommitEnv, 'vmstat'>): number {
  return env.vmstat.node.nr_committed ?? 0;
}

/** vm_acct_memory() */
export function vmAcctMemory(env: Pick<OvercommitEnv, 'vmstat'>, pages: number): void {
  env.vmstat.node.nr_committed = (env.vmstat.node.nr_committed ?? 0) + pages;
}

/** vm_unacct_memory() */
export function vmUnacctMemory(env: Pick<OvercommitEnv, 'vmstat'>, pages: number): void {
  env.vmstat.node.nr_committed = (env.vmstat.node.nr_committed ?? 0) - pages;
}

/**
 * __vm_enough_memory(mm, pages, cap_sys_admin): charges `pages` to
 * Committed_AS and returns 0, or returns −ENOMEM with nothing charged.
 * `totalVm` is the asking mm's total_vm (null: no mm, as for a kernel
 * caller); root (uid 0) has CAP_SYS_ADMIN and may use the admin reserve.
 */
export function vmEnoughMemory(env: OvercommitEnv, totalVm: number | null, pages: number, capSysAdmin: boolean): number {
  const mode = env.sysctl.get('vm.overcommit_memory');
  vmAcctMemory(env, pages);
  if (mode === OVERCOMMIT_ALWAYS) return 0;
  if (mode === OVERCOMMIT_GUESS) {
    if (kernelAtLeast(env.topology.kernel, GUESS_SIMPLE_SINCE)) {
      if (pages > totalramPages(env.topology) + swapTotal(env)) return refuse(env, pages);
      return 0;
    }
    if (guessFree(env, capSysAdmin) > pages) return 0;
    return refuse(env, pages);
  }
  let allowed = commitLimit(env);
  if (!capSysAdmin) allowed -= Math.floor(env.sysctl.get('vm.admin_reserve_kbytes') / 4);
  if (totalVm !== null) allowed -= Math.min(Math.floor(totalVm / 32), Math.floor(env.sysctl.get('vm.user_reserve_kbytes') / 4));
  if (Math.max(0, vmMemoryCommitted(env)) < allowed) return 0;
  return refuse(env, pages);
}

function refuse(env: OvercommitEnv, pages: number): number {
  vmUnacctMemory(env, pages);
  return -ENOMEM;
}

/**
 * The OVERCOMMIT_GUESS estimate of kernels before 5.2: what could be made
 * free for the request (NR_FREE_PAGES + NR_FILE_PAGES − NR_SHMEM + free swap
 * + reclaimable slab), minus totalreserve_pages and, without CAP_SYS_ADMIN,
 * admin_reserve_kbytes. −1 when the reserves alone eat it.
 */
export function guessFree(env: OvercommitEnv, capSysAdmin: boolean): number {
  const v = env.vmstat.node;
  let free = 0;
  for (const z of env.topology.zones) free += z.stats.nrFreePages;
  free += v.nr_file_pages ?? 0;
  free -= v.nr_shmem ?? 0;
  free += env.swap().free;
  free += env.slab?.().stats().reclaimablePages ?? 0;
  const reserve = totalreservePages(env.topology);
  if (free <= reserve) return -1;
  free -= reserve;
  if (!capSysAdmin) free -= Math.floor(env.sysctl.get('vm.admin_reserve_kbytes') / 4);
  return free;
}
