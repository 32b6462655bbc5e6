import { allocPagesPolicy, createSimulator, GFP_KERNEL, isMmsimError, PageOwner, runDefaultWorkload, type Snapshot } from '@mmsim/defconfig';
import { describe, expect, it } from 'vitest';
import { spawnTask } from '@mmsim/testkit';

const VIEWS = ['buddyinfo', 'pagetypeinfo', 'zoneinfo', 'slabinfo', 'meminfo', 'vmstat', 'vmallocinfo', 'numastat'];
const config = { machine: { nodes: [{ memory: '96M', cpus: 1 }, { memory: '64M', cpus: 1 }] } };
const interleave = { mode: 'interleave', nodes: [0, 1] } as const;

describe('the services in a snapshot', () => {
  it('carry their state: counters, tasks and il_prev, vmalloc and percpu areas, kswapd state', async () => {
    const a = await createSimulator(config);
    runDefaultWorkload(a, { ops: 5000, fill: 1.1 });
    a.vmalloc.vmalloc(12345);
    a.percpu.allocPercpu(64);
    spawnTask(a, { comm: 'x', anonPages: 100 });
    allocPagesPolicy(a, GFP_KERNEL, 0, interleave);
    const b = await createSimulator({ ...config, restore: JSON.parse(JSON.stringify(a.snapshot())) as Snapshot });
    for (const v of VIEWS) expect(b.proc(v)).toBe(a.proc(v));
    expect(b.tasks.ilPrev).toBe(0);
    expect(b.tasks.all().map((t) => [t.pid, t.comm, t.anonRss])).toEqual(a.tasks.all().map((t) => [t.pid, t.comm, t.anonRss]));
    expect(allocPagesPolicy(b, GFP_KERNEL, 0, interleave)).toBe(allocPagesPolicy(a, GFP_KERNEL, 0, interleave));
    runDefaultWorkload(a, { ops: 3000, fill: 1.1 });
    runDefaultWorkload(b, { ops: 3000, fill: 1.1 });
    for (const v of VIEWS) expect(b.proc(v)).toBe(a.proc(v));
    b.check();
    a.dispose();
    b.dispose();
  });

  it('refuse a page owner registered at run time, naming where it is', async () => {
    const a = await createSimulator(config);
    const off = a.pageOwners.register({ name: 'test', kind: PageOwner.ANON, evict: () => false });
    const snap = JSON.parse(JSON.stringify(a.snapshot())) as Snapshot;
    const e = await createSimulator({ ...config, restore: snap }).then(() => null, (x: unknown) => x);
    expect(isMmsimError(e, 'ESNAPSHOT')).toBe(true);
    expect(String(e)).toMatch(/PageOwners\.registered\[0\]\.evict: held a function/);
    off();
    // unregistered, it restores
    (await createSimulator({ ...config, restore: JSON.parse(JSON.stringify(a.snapshot())) as Snapshot })).dispose();
    a.dispose();
  });
});
