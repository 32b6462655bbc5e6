// Instruction-count probe (deterministic where wall time is not): run under
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded packages/bench/probe/page-ops.mjs <absolute path of a built checkout> <M>
// for M=0 (boot only) and M=1; the difference is the cost of 400k order-0 alloc/free pairs and 200k order-mix ops.
const root = process.argv[2]; const M = Number(process.argv[3] ?? 1);
const { createSimulator, GFP_KERNEL, GFP_HIGHUSER_MOVABLE } = await import(root + '/packages/defconfig/dist/index.js').catch(() => import(root + '/packages/core/dist/index.js'));
const sim = await createSimulator({ machine: { memory: '512M', cpus: 2 }, seed: 1 });
const pa = sim.pages;
const held = new Int32Array(256);
for (let i = 0; i < 400000 * M; i++) {
  const k = i & 255;
  if (held[k]) { pa.freePages(held[k], 0); held[k] = 0; }
  else held[k] = pa.allocPages(GFP_KERNEL, 0) ?? 0;
}
const orders = [];
let s = 12345;
for (let i = 0; i < 200000 * M; i++) {
  s = (s * 1103515245 + 12345) >>> 0;
  if ((s >>> 16) % 2 === 0 || orders.length === 0) { const o = (s >>> 8) % 4; const p = pa.allocPages(o === 0 ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL, o); if (p !== null) orders.push([p, o]); }
  else { const [p, o] = orders.splice((s >>> 4) % orders.length, 1)[0]; pa.freePages(p, o); }
}
console.log('done', orders.length);
