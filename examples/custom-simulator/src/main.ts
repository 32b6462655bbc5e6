import { demo, largestRss } from './index.js';

for (const oom of ['oom-linux', largestRss] as const) {
  const r = await demo(oom);
  process.stdout.write(`${r.composition.oom}: allocation from cpu 3 landed on node ${r.node}; trace: ${r.allocs.join('; ')}; OOM victim: ${r.victim}\n`);
}
