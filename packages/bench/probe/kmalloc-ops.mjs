// Instruction-count probe: 200k kmalloc/kfree (slub) and 20k default-workload ops per unit of M; see page-ops.mjs.
const root = process.argv[2]; const M = Number(process.argv[3] ?? 1);
const mod = await import(root + '/packages/defconfig/dist/index.js').catch(() => import(root + '/packages/core/dist/index.js'));
const sim = await mod.createSimulator({ machine: { memory: '512M', cpus: 2 }, seed: 1 });
const held = new Array(64).fill(0);
const sizes = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096];
for (let i = 0; i < 200000 * M; i++) {
  const k = i & 63;
  if (held[k]) { sim.slab.kfree(held[k]); held[k] = 0; } else held[k] = sim.slab.kmalloc(sizes[i % 12], mod.GFP_KERNEL) ?? 0;
}
mod.runDefaultWorkload(sim, { ops: 20000 * M });
console.log('done');
