import { createSimulator, GFP_KERNEL } from '@mmsim/core';
const sim = await createSimulator({ machine: { memory: '1G', cpus: 2 }, plugins: { slab: process.argv[2] ?? 'slab' } });
const c = sim.slab.createCache('dentry', 192, { flags: 0x20000 });
const ps = []; for (let i = 0; i < 100; i++) ps.push(sim.slab.cacheAlloc(c, GFP_KERNEL));
for (let i = 0; i < 300; i++) sim.slab.kmalloc(1 + (i * 37) % 4000, GFP_KERNEL);
process.stdout.write(sim.proc('slabinfo'));
const m = sim.proc('meminfo').split('\n').filter(l => /Slab|SRecl|SUnre/.test(l)); console.log(m.join('\n'));
sim.check();
