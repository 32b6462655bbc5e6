/**
 * @mmsim/machine — machines from real systems, and what a kernel prints
 * about them at boot: the boot log importer (`parseDmesg`, one stage per
 * kind of boot line, and `machineFromDmesg`), the /proc/zoneinfo importer,
 * {@link importMachine} (what a distribution passes core's createSimulator
 * to read `machine.dmesg` / `machine.zoneinfo`), and the boot report
 * (mm/mm_init.c's memory-setup lines for a simulated machine) with its
 * comparison against a real log. Tooling: depends on @mmsim/core only; the
 * page allocator's formulas it prints come from the caller.
 * @module @mmsim/machine
 */
export * from './dmesg.js';
export * from './zoneinfo.js';
export * from './e820.js';
export * from './mm_init.js';
export { type ExpandedMachine, expandMachineSources, type ImportedMachine, importMachine, type MachineImporter, printedBoot } from './machine.js';
export { layoutMachine, parseCmdline } from './layout.js';
