import {
  BUILTIN_PLUGINS, createSimulator, definePlugin, GFP_KERNEL, injectable, isMmsimError, Lifecycle,
  MEMORY_MODEL, OOM_SCORER, PAGE_ALLOCATOR, runDefaultWorkload, SLAB_ALLOCATOR, TOPOLOGY, type Topology,
} from '@mmsim/defconfig';
import { container as globalContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';

async function rejects(p: Promise<unknown>): Promise<Error & { code: string; plugin?: string; path?: string }> {
  try {
    await p;
  } catch (e) {
    expect(isMmsimError(e)).toBe(true);
    return e as Error & { code: string; plugin?: string; path?: string };
  }
  throw new Error('expected a rejection');
}

describe('composition', () => {
  it('boots the default composition and every built-in plugin in its own container', async () => {
    const sim = await createSimulator({ machine: { memory: '512M', cpus: 2 } });
    expect(sim.composition).toEqual({ memoryModel: 'flatmem', pageAllocator: 'buddy', slab: 'slub', reclaim: 'lru', oom: 'oom-linux' });
    runDefaultWorkload(sim, { ops: 5000 });
    sim.check();
    sim.dispose();
    expect(globalContainer.isRegistered(MEMORY_MODEL, true)).toBe(false);
    expect(globalContainer.isRegistered(PAGE_ALLOCATOR, true)).toBe(false);
    expect(Object.keys(BUILTIN_PLUGINS)).toEqual(expect.arrayContaining(['flatmem', 'buddy', 'slub', 'lru', 'oom-linux']));
  });

  it('a plugin class missing @inject fails at composition, naming the plugin', async () => {
    @injectable()
    class NoInject {
      readonly name = 'noinject';
      constructor(readonly topology: Topology) {}
    }
    const bad = definePlugin({
      name: 'noinject', provides: OOM_SCORER, apiVersion: '1',
      register(c) {
        c.register(OOM_SCORER, { useClass: NoInject as never }, { lifecycle: Lifecycle.ContainerScoped });
      },
    });
    const e = await rejects(createSimulator({ plugins: { oom: bad } }));
    expect(e.code).toBe('EPLUGIN_REGISTER');
    expect(e.plugin).toBe('noinject');
    expect(e.message).toMatch(/plugins\.oom/);
  });

  it('refuses an unknown plugin, a plugin for the wrong point and an invalid option, naming field and plugin', async () => {
    let e = await rejects(createSimulator({ plugins: { slab: 'slob-from-mars' } }));
    expect(e.code).toBe('EPLUGIN_UNKNOWN');
    expect(e.path).toBe('plugins.slab');
    expect(e.message).toMatch(/slob-from-mars/);

    e = await rejects(createSimulator({ plugins: { pageAllocator: 'slub' } }));
    expect(e.code).toBe('EPLUGIN_KIND');
    expect(e.plugin).toBe('slub');
    expect(e.message).toMatch(/plugins\.pageAllocator.*SlabAllocator.*PageAllocator/);

    e = await rejects(createSimulator({ plugins: { pageAllocator: { use: 'buddy', options: { mobilityGrouping: 'yes' } } } }));
    expect(e.code).toBe('EPLUGIN_OPTIONS');
    expect(e.plugin).toBe('buddy');
    expect(e.path).toBe('plugins.pageAllocator.options.mobilityGrouping');

    e = await rejects(createSimulator({ plugins: { pageAllocator: { use: 'buddy', options: { nope: 1 } } } }));
    expect(e.code).toBe('EPLUGIN_OPTIONS');

    e = await rejects(createSimulator({ machine: { memory: 'lots' } } as never));
    expect(e.code).toBe('ECONFIG');
    expect(e.path).toBe('machine.memory');

    e = await rejects(createSimulator({ sysctl: { 'vm.swappiness': 300 } }));
    expect(e.code).toBe('ESYSCTL');

    e = await rejects(createSimulator({ plugins: { oom: definePlugin({ name: 'future', provides: OOM_SCORER, apiVersion: '2', register() {} }) } }));
    expect(e.code).toBe('EPLUGIN_API');
  });

  it('builds nothing when a later plugin is refused', async () => {
    let registered = 0;
    const counting = definePlugin({
      name: 'counting-flatmem', provides: MEMORY_MODEL, apiVersion: '1',
      register() {
        registered++;
      },
    });
    await rejects(createSimulator({ plugins: { memoryModel: counting, oom: 'no-such-oom' } }));
    expect(registered).toBe(0);
    const broken = definePlugin({
      name: 'broken', provides: SLAB_ALLOCATOR, apiVersion: '1',
      register() {
        throw new Error('boom');
      },
    });
    const e = await rejects(createSimulator({ plugins: { slab: broken } }));
    expect(e.code).toBe('EPLUGIN_REGISTER');
    expect(e.plugin).toBe('broken');
  });

  it('is frozen once composed', async () => {
    const sim = await createSimulator({ machine: { memory: '128M' } });
    const e = (() => {
      try {
        sim.container.register(TOPOLOGY, { useValue: null });
      } catch (x) {
        return x as { code: string };
      }
      return null;
    })();
    expect(e?.code).toBe('EFROZEN');
    expect(Object.isFrozen(sim.config)).toBe(true);
    expect(Object.isFrozen(sim.composition)).toBe(true);
    // the points are resolved once and are the container's own instances
    const pages = sim.pages;
    expect(sim.pages).toBe(pages);
    expect(sim.container.resolve(PAGE_ALLOCATOR)).toBe(pages);
    sim.dispose();
    // a cached instance is no way around disposal
    expect(() => sim.pages).toThrowError(/EDISPOSED/);
    expect(() => sim.events).toThrowError(/EDISPOSED/);
  });

  it('two simulators with different compositions do not affect each other', async () => {
    const a = await createSimulator({ machine: { memory: '256M', cpus: 1 }, seed: 1 });
    const b = await createSimulator({ machine: { memory: '512M', cpus: 4 }, seed: 2, plugins: { pageAllocator: { use: 'buddy', options: { mobilityGrouping: false } } } });
    expect(a.pages).not.toBe(b.pages);
    expect(a.memory).not.toBe(b.memory);
    const bBefore = b.proc('buddyinfo') + b.proc('slabinfo') + b.proc('meminfo');
    let bEvents = 0;
    b.events.on('mm_page_alloc', () => bEvents++);
    runDefaultWorkload(a, { ops: 20000 });
    a.sysctl.set('vm.swappiness', 5);
    expect(b.proc('buddyinfo') + b.proc('slabinfo') + b.proc('meminfo')).toBe(bBefore);
    expect(bEvents).toBe(0);
    expect(b.sysctl.get('vm.swappiness')).toBe(60);
    b.pages.allocPages(GFP_KERNEL, 0);
    expect(bEvents).toBe(1);
    a.check();
    b.check();
    a.dispose();
    b.dispose();
  });

  it('is deterministic: same config, workload and seed → same output', async () => {
    const run = async () => {
      const sim = await createSimulator({ machine: { memory: '512M', cpus: 2 }, seed: 42 });
      const s = runDefaultWorkload(sim, { ops: 20000 });
      const out = JSON.stringify(s) + sim.proc('buddyinfo') + sim.proc('slabinfo') + sim.proc('meminfo');
      sim.dispose();
      return out;
    };
    expect(await run()).toBe(await run());
  });
});

describe('core alone (no distribution): every point named, services listed, a layout function given', () => {
  it('composes by package names and runs like the default composition', async () => {
    const { createSimulator: createCoreSimulator } = await import('@mmsim/core');
    const { layoutMachine } = await import('@mmsim/machine');
    const config = {
      machine: { memory: '256M', cpus: 2 }, seed: 4,
      plugins: { memoryModel: '@mmsim/plugin-flatmem', pageAllocator: '@mmsim/plugin-buddy', slab: '@mmsim/plugin-slub', reclaim: '@mmsim/plugin-lru', oom: '@mmsim/plugin-oom-linux' },
      services: ['@mmsim/mm', '@mmsim/process', '@mmsim/debug'],
    };
    const core = await createCoreSimulator(config, { layoutMachine });
    const def = await createSimulator({ machine: config.machine, seed: 4 });
    expect(core.composition).toEqual(def.composition);
    for (const sim of [core, def]) runDefaultWorkload(sim, { ops: 3000 });
    for (const view of ['buddyinfo', 'slabinfo', 'meminfo', 'vmstat', 'zoneinfo']) expect(core.proc(view)).toBe(def.proc(view));
    core.check();
    core.dispose();
    def.dispose();
  });
});
