/**
 * The machine importer a distribution hands core's createSimulator
 * (`Distribution.importMachine`): expands `machine.dmesg` (a real boot
 * log) and `machine.zoneinfo` (a real /proc/zoneinfo) into the plain
 * description they stand for, which core's layoutMachine then lays out.
 * @module
 */
import { readFileSync } from 'node:fs';
import { type MachineDescription, type MachineLayout, MmsimError } from '@mmsim/core';
import { machineFromDmesg, parseDmesg, type PrintedBoot } from './dmesg.js';
import { machineFromZoneinfo, parseZoneinfo } from './zoneinfo.js';

/** What a machine importer (a boot log, a /proc/zoneinfo) made of a description. */
export interface ImportedMachine {
  desc: MachineDescription;
  kernel?: string;
  bootLog?: unknown;
  source?: string;
}

/** Expands `machine.dmesg` / `machine.zoneinfo` into a plain description (used by layoutMachine). */
export type MachineImporter = (desc: MachineDescription) => ImportedMachine;

/** What {@link expandMachineSources} made of a description: core's ImportedMachine, with the boot log's record typed. */
export interface ExpandedMachine extends ImportedMachine {
  bootLog?: PrintedBoot;
}

/** Reads a file a machine description names; ECONFIG naming the field when it cannot. */
function readText(file: string, path: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new MmsimError('ECONFIG', `${path}: cannot read '${file}': ${(e as Error).message}`, { path });
  }
}

/**
 * Expands `dmesg` / `zoneinfo` into the plain description they stand for;
 * fields the user gave beside them win (e.g. `cpus`).
 */
export function expandMachineSources(desc: MachineDescription): ExpandedMachine {
  if (desc.dmesg !== undefined && desc.zoneinfo !== undefined) {
    throw new MmsimError('EMACHINE', 'machine: give `dmesg` or `zoneinfo`, not both', { path: 'machine' });
  }
  if (desc.dmesg !== undefined) {
    const info = parseDmesg(readText(desc.dmesg, 'machine.dmesg'), desc.dmesg);
    const { kernel, ...base } = machineFromDmesg(info);
    const { dmesg: _d, ...rest } = desc;
    void _d;
    if (rest.cpus !== undefined) for (const n of base.nodes ?? []) delete n.cpus;
    const r: ExpandedMachine = { desc: { ...base, ...rest }, bootLog: info.printed, source: `dmesg:${desc.dmesg}` };
    if (kernel) r.kernel = kernel;
    return r;
  }
  if (desc.zoneinfo !== undefined) {
    const base = machineFromZoneinfo(parseZoneinfo(readText(desc.zoneinfo, 'machine.zoneinfo'), desc.zoneinfo), desc.zoneinfo);
    const { zoneinfo: _z, ...rest } = desc;
    void _z;
    if (rest.cpus !== undefined) for (const n of base.nodes ?? []) delete n.cpus;
    return { desc: { ...base, ...rest }, source: `zoneinfo:${desc.zoneinfo}` };
  }
  return { desc };
}

/** The importer for core's createSimulator (`Distribution.importMachine`) and layoutMachine. */
export const importMachine: MachineImporter = expandMachineSources;

/** What the boot log printed, for a machine {@link importMachine} read from one (core keeps it untyped in the layout). */
export function printedBoot(layout: MachineLayout): PrintedBoot | undefined {
  return layout.bootLog as PrintedBoot | undefined;
}
