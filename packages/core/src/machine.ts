/**
 * Machine descriptions (what a config's `machine` says) and machine layouts
 * (what the topology is built from: the RAM pfn ranges each node owns, CPUs,
 * distances). Turning the one into the other — the QEMU-like shorthand, an
 * e820 map, explicit nodes, the kernel command line, boot logs and
 * /proc/zoneinfo — is a tool's (@mmsim/machine's layoutMachine), handed to
 * createSimulator by the distribution.
 * @module
 */
import type { ZoneType } from './gfp.js';

/** An e820 type, as the kernel prints it (e820_print_type). */
export type E820Type = 'usable' | 'reserved' | 'ACPI data' | 'ACPI NVS' | 'unusable' | 'persistent' | 'soft reserved';

/** One e820 entry, bytes, `end` exclusive; type as the kernel prints it. */
export interface E820Entry {
  start: number;
  end: number;
  type: E820Type;
}

/** A half-open pfn range [start, end). */
export interface PfnRange {
  start: number;
  end: number;
}

/** A node as the user describes it. */
export interface NodeDescription {
  /** Bytes of RAM on this node (taken in address order from the RAM ranges). */
  memory?: string | number;
  /** Explicit byte ranges [start, end) of this node's RAM. */
  ranges?: { start: number | string; end: number | string }[];
  /** CPU count, or explicit CPU ids. */
  cpus?: number | number[];
}

/** A zone given outright (from a /proc/zoneinfo): pfns and page counts. */
export interface ZoneSpec {
  nid: number;
  type: ZoneType | `${ZoneType}`;
  /** zone_start_pfn */
  start: number;
  spanned: number;
  present: number;
  managed: number;
}

/** The simulated cost of memory on another node. */
export interface NumaCost {
  /** Simulated nanoseconds to allocate one page from the local node (default 100). */
  localNs?: number;
  /**
   * Extra cost of a remote page, percent, for a node at distance 20
   * (default 30, per the seed notes); scaled by (distance - 10) / 10.
   */
  remotePercent?: number;
}

/** The `machine` part of a config. */
export interface MachineDescription {
  /** Total RAM (shorthand). */
  memory?: string | number;
  /** Number of CPUs (default 1, or the sum over nodes). */
  cpus?: number;
  /** Firmware memory map; only `usable` ranges become RAM. */
  e820?: { start: number | string; end: number | string; type?: string }[];
  /** NUMA nodes; without it the machine is one node. */
  nodes?: NodeDescription[];
  /** node_distance() table; default 10 local, 20 remote. */
  distances?: number[][];
  /** 'x86_64' (DMA/DMA32/Normal) or 'x86_32' (DMA/Normal/HighMem at 896 MiB). */
  arch?: 'x86_64' | 'x86_32';
  /** Kernel command line; `mem=`, `kernelcore=` and `movablecore=` are honoured. */
  cmdline?: string;
  /** Pages memblock held below 16 MiB when zones were sized (dma_reserve; printed `DMA zone: N pages reserved`, kernels before 6.10). */
  dmaReserve?: number;
  /** A real boot log (file path): its e820 map, node ranges, command line, CPU count and DMA reserve. */
  dmesg?: string;
  /** A real /proc/zoneinfo (file path): nodes and zones with their start_pfn, spanned, present and managed pages. */
  zoneinfo?: string;
  /** Zones given outright (what `zoneinfo` expands to). */
  zones?: ZoneSpec[];
  /** Cost of remote NUMA allocations on the simulated clock. */
  numa?: NumaCost;
  /**
   * Last-level cache size, shared by the CPUs of each node (a socket). The
   * page allocator reads it as cacheinfo's per_cpu_data_slice_size (the LLC
   * over the CPUs sharing it): when a CPU's slice holds more than 3 × batch
   * pages, its pcp lists keep a batch through bursts of high-order frees
   * (PCPF_FREE_HIGH_BATCH, 6.7+). Unset: no cache information, as on a
   * machine whose firmware gives none.
   */
  llc?: string | number;
}

/** kernelcore= / movablecore=: a size in pages, a percentage, or 'mirror'. */
export interface CoreSpec {
  pages?: number;
  percent?: number;
  mirror?: boolean;
}

/** What the topology is built from: RAM pfn ranges per node, CPU ids, distances. */
export interface MachineLayout {
  arch: 'x86_64' | 'x86_32';
  nodes: { nid: number; ranges: PfnRange[]; cpus: number[] }[];
  distances: number[][];
  e820: E820Entry[];
  /** The command line the machine booted with. */
  cmdline?: string;
  /** kernelcore= */
  kernelcore?: CoreSpec;
  /** movablecore= */
  movablecore?: CoreSpec;
  /** dma_reserve, pages. */
  dmaReserve?: number;
  /** Last-level cache bytes per node, shared by its CPUs (machine.llc). */
  llcBytes?: number;
  /** Zones given outright (zoneinfo). */
  zones?: ZoneSpec[];
  /** Kernel version the description came with (a boot log's `Linux version`), or the config's. */
  kernel?: string;
  /** Cost of NUMA allocations. */
  numa: Required<NumaCost>;
  /** What the boot log printed, when the machine came from one (the importer's record; `@mmsim/machine`'s PrintedBoot). */
  bootLog?: unknown;
  /** Where the description came from ('dmesg:FILE', 'zoneinfo:FILE'). */
  source?: string;
}

/** Lays a machine description out (a distribution supplies one: @mmsim/machine's layoutMachine). */
export type MachineLayouter = (desc: MachineDescription) => MachineLayout;
