// /proc/buddyinfo, /proc/pagetypeinfo, /proc/zoneinfo, /proc/vmstat and the
// debugfs extfrag files: our output and the real files of a Linux guest
// (../shared/fixtures/proc-vm1, Linux 5.8) go through the same strict parsers.
import { readFileSync } from 'node:fs';
import {
  contigPageInfo, createSimulator, extfragForOrder, fragmentationIndex, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, runDefaultWorkload, type Simulator,
  unusableFreeIndex,
} from '@mmsim/defconfig';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FIX = '/work/shared/fixtures/proc-vm1';
const real = (name: string) => readFileSync(`${FIX}/${name}`, 'utf8');

class ParseError extends Error {}
function fail(what: string, line: string): never {
  throw new ParseError(`${what}: ${JSON.stringify(line)}`);
}

/** buddyinfo: `Node %d, zone %8s ` then `%6lu ` per order. */
function parseBuddyinfo(text: string): { nid: number; zone: string; free: number[] }[] {
  const lines = text.split('\n');
  if (lines.pop() !== '') fail('no final newline', text.slice(-20));
  return lines.map((l) => {
    const m = /^Node (\d+), zone ([ A-Za-z0-9]{8}) ((?:[ \d]{5}\d ){11})$/.exec(l) ?? fail('buddyinfo line', l);
    return { nid: Number(m[1]), zone: m[2]!.trim(), free: m[3]!.trim().split(/ +/).map(Number) };
  });
}

/** pagetypeinfo: the header, the free table (%4d, %8s, %12s, then %6lu per order), the block-count table. */
function parsePagetypeinfo(text: string) {
  const lines = text.split('\n');
  let i = 0;
  const next = () => lines[i++] ?? fail('unexpected end', '');
  const order = /^Page block order: (\d+)$/.exec(next()) ?? fail('header', lines[0]!);
  const per = /^Pages per block: {2}(\d+)$/.exec(next()) ?? fail('header', lines[1]!);
  if (next() !== '') fail('blank', lines[2]!);
  const h = next();
  if (!/^Free pages count per migrate type at order  ((?: {5}\d| {4}\d\d) ){11}$/.test(h)) fail('free header', h);
  const free: { nid: number; zone: string; type: string; counts: number[] }[] = [];
  for (let l = next(); l !== ''; l = next()) {
    const m = /^Node {1,4}(\d+), zone ([ A-Za-z0-9]{8}), type ([ A-Za-z]{12}) ((?:>?[ \d]{5}\d ){11})$/.exec(l) ?? fail('free line', l);
    free.push({ nid: Number(m[1]), zone: m[2]!.trim(), type: m[3]!.trim(), counts: m[4]!.trim().split(/ +/).map((x) => Number(x.replace('>', ''))) });
  }
  const bh = next();
  const types = (/^Number of blocks type {2}((?:[ A-Za-z]{12} )+)$/.exec(bh) ?? fail('blocks header', bh))[1]!.match(/.{12} /g)!.map((x) => x.trim());
  const blocks: { nid: number; zone: string; counts: number[] }[] = [];
  for (let l = next(); l !== ''; l = next()) {
    const m = new RegExp(`^Node (\\d+), zone ([ A-Za-z0-9]{8}) ((?:[ \\d]{11}\\d ){${types.length}})$`).exec(l) ?? fail('blocks line', l);
    blocks.push({ nid: Number(m[1]), zone: m[2]!.trim(), counts: m[3]!.trim().split(/ +/).map(Number) });
  }
  return { pageblockOrder: Number(order[1]), pagesPerBlock: Number(per[1]), free, types, blocks };
}

/** zoneinfo: zone blocks of `name value` lines, protection, pagesets. */
function parseZoneinfo(text: string) {
  const zones: { nid: number; zone: string; values: Map<string, number>; protection: number[]; pagesets: { cpu: number; count: number; high: number; batch: number; threshold: number }[] }[] = [];
  let cur: (typeof zones)[number] | undefined;
  let inNode = false;
  const lines = text.split('\n');
  if (lines.pop() !== '') fail('no final newline', text.slice(-20));
  for (const l of lines) {
    const head = /^Node (\d+), zone ([ A-Za-z0-9]{8})$/.exec(l);
    if (head) {
      cur = { nid: Number(head[1]), zone: head[2]!.trim(), values: new Map(), protection: [], pagesets: [] };
      zones.push(cur);
      inNode = false;
      continue;
    }
    if (!cur) fail('text before the first zone', l);
    if (l === '  per-node stats') {
      inNode = true;
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^ {6}([a-z_]+) +(\d+)$/.exec(l))) {
      cur.values.set(inNode ? `node:${m[1]}` : m[1]!, Number(m[2]));
    } else if ((m = /^ {2}pages free {5}(\d+)$/.exec(l))) {
      inNode = false;
      cur.values.set('pages free', Number(m[1]));
    } else if ((m = /^ {8}(boost|min|low|high|promo|spanned|present|managed|cma) +(\d+)$/.exec(l))) {
      cur.values.set(m[1]!, Number(m[2]));
    } else if ((m = /^ {8}protection: \((\d+(?:, \d+)*)\)$/.exec(l))) {
      cur.protection = m[1]!.split(', ').map(Number);
    } else if (l === '  pagesets') {
      // cpu blocks follow
    } else if ((m = /^ {4}cpu: (\d+)$/.exec(l))) {
      cur.pagesets.push({ cpu: Number(m[1]), count: -1, high: -1, batch: -1, threshold: -1 });
    } else if ((m = /^ {14}(count|high|batch): +(\d+)$/.exec(l))) {
      const p = cur.pagesets.at(-1) ?? fail('pageset field outside a cpu', l);
      p[m[1] as 'count' | 'high' | 'batch'] = Number(m[2]);
    } else if ((m = /^ {2}vm stats threshold: (\d+)$/.exec(l))) {
      (cur.pagesets.at(-1) ?? fail('threshold outside a cpu', l)).threshold = Number(m[1]);
    } else if ((m = /^ {2}(node_unreclaimable|start_pfn): +(\d+)$/.exec(l))) {
      cur.values.set(m[1]!, Number(m[2]));
    } else {
      fail('zoneinfo line', l);
    }
  }
  return zones;
}

/** vmstat: `name value` per line. */
function parseVmstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  if (lines.pop() !== '') fail('no final newline', text.slice(-20));
  for (const l of lines) {
    const m = /^([a-z0-9_]+) (\d+)$/.exec(l) ?? fail('vmstat line', l);
    if (out.has(m[1]!)) fail('duplicate', l);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

let sim: Simulator;
beforeAll(async () => {
  // the proc-vm1 guest's e820 (from its /proc/iomem), 2 CPUs, its min_free_kbytes
  sim = await createSimulator({
    machine: {
      cpus: 2,
      e820: [
        { start: 0x1000, end: 0x9e800 }, { start: 0x100000, end: 0xbfed0000 }, { start: 0xbff00000, end: 0xc0000000 },
        { start: 0x100000000, end: 0x140000000 },
      ],
    },
    sysctl: { 'vm.min_free_kbytes': 67584 },
  });
  runDefaultWorkload(sim, { ops: 20000 });
});
afterAll(() => sim.dispose());

describe('/proc formats against the real files', () => {
  it('buddyinfo', () => {
    const r = parseBuddyinfo(real('buddyinfo'));
    const o = parseBuddyinfo(sim.proc('buddyinfo'));
    expect(r.map((z) => z.zone)).toEqual(['DMA', 'DMA32', 'Normal']);
    expect(o.map((z) => z.zone)).toEqual(['DMA', 'DMA32', 'Normal']);
  });

  it('pagetypeinfo: both tables', () => {
    const r = parsePagetypeinfo(real('pagetypeinfo'));
    const o = parsePagetypeinfo(sim.proc('pagetypeinfo'));
    expect([o.pageblockOrder, o.pagesPerBlock]).toEqual([r.pageblockOrder, r.pagesPerBlock]);
    // the real kernel was built without CONFIG_CMA; ours has the CMA type
    expect(o.types).toEqual(['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'CMA', 'Isolate']);
    expect(r.types).toEqual(['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'Isolate']);
    expect(o.free).toHaveLength(3 * 6);
    // the same memory layout gives the same pageblock count per zone as the real guest
    const total = (b: { counts: number[] }) => b.counts.reduce((a, c) => a + c, 0);
    expect(o.blocks.map(total)).toEqual(r.blocks.map(total));
    // free counts per type add up to buddyinfo
    const buddy = parseBuddyinfo(sim.proc('buddyinfo'));
    for (const z of buddy) {
      for (let order = 0; order < 11; order++) {
        const byType = o.free.filter((f) => f.zone === z.zone).reduce((a, f) => a + f.counts[order]!, 0);
        expect(byType).toBe(z.free[order]);
      }
    }
  });

  it('zoneinfo: every zone, watermarks, protection, pagesets, node stats in the first zone', () => {
    const r = parseZoneinfo(real('zoneinfo'));
    const o = parseZoneinfo(sim.proc('zoneinfo'));
    expect(r.map((z) => z.zone)).toEqual(['DMA', 'DMA32', 'Normal', 'Movable', 'Device']);
    expect(o.map((z) => z.zone)).toEqual(['DMA', 'DMA32', 'Normal', 'Movable']); // no ZONE_DEVICE here
    for (const [a, b] of [[r, o]] as const) {
      for (const k of ['pages free', 'min', 'low', 'high', 'spanned', 'present', 'managed', 'nr_free_pages', 'numa_hit', 'start_pfn', 'node:nr_inactive_anon']) {
        expect(a[0]!.values.has(k), `real ${k}`).toBe(true);
        expect(b[0]!.values.has(k), `ours ${k}`).toBe(true);
      }
    }
    // same e820: the same spanned and present pages per zone, the same start_pfn
    for (let i = 0; i < 3; i++) {
      for (const k of ['spanned', 'present', 'start_pfn']) expect(o[i]!.values.get(k)).toBe(r[i]!.values.get(k));
      expect(o[i]!.pagesets.map((p) => p.cpu)).toEqual([0, 1]);
      expect(o[i]!.protection).toHaveLength(4);
    }
    // our own numbers are consistent: pages free = nr_free_pages, the watermarks as set
    for (const z of o.filter((x) => x.values.get('managed')! > 0)) {
      expect(z.values.get('pages free')).toBe(z.values.get('nr_free_pages'));
      const zone = sim.topology.zones.find((x) => x.name === z.zone)!;
      expect([z.values.get('min'), z.values.get('low'), z.values.get('high'), z.values.get('promo')]).toEqual([...zone.watermark]);
      expect(z.protection).toEqual(zone.lowmemReserve);
    }
    // the vm stats thresholds of the real guest (same CPUs, similar sizes)
    expect(o.slice(0, 3).map((z) => z.pagesets[0]!.threshold)).toEqual(r.slice(0, 3).map((z) => z.pagesets[0]!.threshold));
  });

  it('vmstat: name value lines; our names cover the real ones the simulator models', () => {
    const r = parseVmstat(real('vmstat'));
    const o = parseVmstat(sim.proc('vmstat'));
    for (const k of ['nr_free_pages', 'nr_zone_inactive_anon', 'numa_hit', 'nr_inactive_file', 'nr_anon_pages', 'nr_file_pages',
      'nr_dirty_threshold', 'pgalloc_dma', 'pgalloc_dma32', 'pgalloc_normal', 'pgalloc_movable', 'allocstall_normal', 'pgfree',
      'pgsteal_direct', 'pgscan_direct', 'compact_stall', 'compact_migrate_scanned', 'pgmigrate_success', 'oom_kill', 'nr_unstable']) {
      expect(r.has(k), `real ${k}`).toBe(true);
      expect(o.has(k), `ours ${k}`).toBe(true);
    }
    const free = sim.topology.populatedZones.reduce((s, z) => s + z.stats.nrFreePages, 0);
    expect(o.get('nr_free_pages')).toBe(free);
    expect(o.get('pgalloc_normal')! + o.get('pgalloc_dma32')! + o.get('pgalloc_dma')!).toBeGreaterThan(0);
    expect(o.get('nr_memmap_boot_pages')).toBeGreaterThan(0);
  });
});

describe('fragmentation indices', () => {
  it('fill_contig_page_info, __fragmentation_index and unusable_free_index, by hand', () => {
    // free: 10 order-0, 5 order-1, 2 order-3 blocks = 10 + 10 + 16 = 36 pages in 17 blocks
    const nr = [10, 5, 0, 2, 0, 0, 0, 0, 0, 0, 0];
    expect(contigPageInfo(nr, 3)).toEqual({ freePages: 36, freeBlocksTotal: 17, freeBlocksSuitable: 2 });
    expect(fragmentationIndex(3, contigPageInfo(nr, 3))).toBe(-1000); // an order-3 request would succeed
    // order 4: 1000 - (1000 + 36000/16) / 17 = 1000 - 191 = 809
    expect(fragmentationIndex(4, contigPageInfo(nr, 4))).toBe(809);
    expect(fragmentationIndex(4, contigPageInfo(new Array(11).fill(0), 4))).toBe(0);
    // unusable for order 1: (36 - (5 + 2·4)·2) / 36 = 10/36 → 277
    expect(unusableFreeIndex(1, contigPageInfo(nr, 1))).toBe(277);
    expect(unusableFreeIndex(0, contigPageInfo(nr, 0))).toBe(0);
    expect(unusableFreeIndex(2, contigPageInfo(new Array(11).fill(0), 2))).toBe(1000);
    // extfrag_for_order (proactive compaction's score), percent: order 1 → 27; nothing free → 0, not 100
    expect(extfragForOrder(1, contigPageInfo(nr, 1))).toBe(27);
    expect(extfragForOrder(4, contigPageInfo(nr, 4))).toBe(100);
    expect(extfragForOrder(2, contigPageInfo(new Array(11).fill(0), 2))).toBe(0);
  });

  it('extfrag_index and unusable_index print as debugfs does', async () => {
    const s = await createSimulator({ machine: { memory: '256M', cpus: 1 } });
    const held: number[] = [];
    for (let i = 0; i < 20000; i++) held.push(s.pages.allocPages(i % 2 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE, 0)!);
    for (let i = 0; i < held.length; i += 2) s.pages.freePages(held[i]!, 0);
    s.pages.drainAllPages();
    const ext = s.proc('extfrag/extfrag_index').split('\n');
    const un = s.proc('extfrag/unusable_index').split('\n');
    expect(ext.pop()).toBe('');
    expect(un.pop()).toBe('');
    for (const l of ext) expect(l).toMatch(/^Node 0, zone [ A-Za-z0-9]{8} ((?:-1|[ \d]\d)\.\d{3} ){11}$/);
    for (const l of un) expect(l).toMatch(/^Node 0, zone [ A-Za-z0-9]{8} (\d\.\d{3} ){11}$/);
    expect(ext[1]).toMatch(/^Node 0, zone    DMA32 -1\.000 /); // order 0 never fails
    expect(un[1]).toMatch(/^Node 0, zone    DMA32 0\.000 /);
    s.dispose();
  });
});
