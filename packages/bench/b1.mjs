import { createSimulator, GFP_KERNEL, Random } from '@mmsim/core';
const sim = await createSimulator({ machine: { memory: '4G', cpus: 2 }, seed: 1 });
const slab = sim.slab;
const r = new Random(1);
const sizes = Int32Array.from({ length: 4096 }, () => 8 + r.below(4089));
const held = new Float64Array(64);
const pairs = 2_000_000;
const mode = process.argv[2] ?? 'batch';
function run() {
  if (mode === 'batch') {
    for (let i = 0; i < pairs; i += 64) {
      for (let j = 0; j < 64; j++) held[j] = slab.kmalloc(sizes[(i + j) & 4095], GFP_KERNEL);
      for (let j = 0; j < 64; j++) slab.kfree(held[j]);
    }
  } else {
    for (let i = 0; i < pairs; i++) { const p = slab.kmalloc(sizes[i & 4095], GFP_KERNEL); slab.kfree(p); }
  }
}
run();
const t0 = process.hrtime.bigint(); run(); const ns = Number(process.hrtime.bigint() - t0);
console.log(mode, (pairs * 1e9 / ns / 1e6).toFixed(2), 'M pairs/s');
let pa = 0; sim.events; 
