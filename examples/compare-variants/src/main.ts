import { compareMobilityGrouping } from './index.js';

const results = await compareMobilityGrouping({ memory: process.argv[2] ?? '512M' });
for (const r of results) {
  process.stdout.write(`${r.variant}: ${r.freeHighOrderBlocks} free order-9 blocks, ${r.hugeAllocs} order-9 allocations, ${r.freePages} free pages\n${r.buddyinfo}\n`);
}
