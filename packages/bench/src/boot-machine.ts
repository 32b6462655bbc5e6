/**
 * Child process of the memory-model benchmarks: boots the config given as
 * argv[2] (JSON) and prints the boot time, RSS, present pages and page
 * table bytes as JSON.
 * @module
 */
import { createSimulator, type SimulatorConfig } from '@mmsim/defconfig';

const cfg = JSON.parse(process.argv[2] ?? '{}') as SimulatorConfig;
const baseRss = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
const sim = await createSimulator(cfg);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const rssBytes = process.memoryUsage().rss;
const slotLayout = (sim.memory as { slotLayout?: string }).slotLayout;
process.stdout.write(`${JSON.stringify({ ms, rssBytes, baseRss, pages: sim.topology.totalPresentPages, tableBytes: sim.memory.pages.bytes, slotLayout })}\n`);
sim.dispose();
