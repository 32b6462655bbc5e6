/**
 * kmalloc-trace workloads: a list of small-object allocations and frees,
 * read from text and replayed against any SlabAllocator.
 *
 * Two line formats are accepted, mixed freely:
 * - a plain number: one kmalloc of that many bytes (bytes_req), GFP_KERNEL;
 * - an ftrace text line (/sys/kernel/tracing/trace, trace-cmd report) of
 *   the kmem events `kmalloc`, `kmalloc_node`, `kfree`, `kmem_cache_alloc`,
 *   `kmem_cache_alloc_node` and `kmem_cache_free`, e.g.
 *   `bash-1234 [001] ..... 12.345678: kmalloc: call_site=__alloc_skb+0x8e/0x1d0 ptr=ffff888003c1a400 bytes_req=640 bytes_alloc=1024 gfp_flags=GFP_KERNEL|__GFP_NOWARN node=-1 accounted=false`.
 *   Frees are matched to allocations by `ptr`; the CPU in brackets is kept.
 *
 * Blank lines and `#` comments are skipped, as are other events (counted
 * in `ignored`). A kmalloc line without bytes_req is EWORKLOAD naming the
 * line; gfp flag names the simulator does not know are dropped with a
 * warning, so real traces replay.
 * @module
 */
import { type EventBus, GFP_KERNEL, type KmemCache, MmsimError, parseGfp, type SlabAllocator } from '@mmsim/core';

/** One operation of a kmalloc-trace workload. */
export type KmallocTraceOp =
  | { op: 'kmalloc'; size: number; gfp: number; node: number; cpu: number; ptr: string | null; line: number }
  | { op: 'kfree'; cpu: number; ptr: string; line: number }
  | { op: 'cache_alloc'; cache: string; size: number; gfp: number; node: number; cpu: number; ptr: string | null; line: number }
  | { op: 'cache_free'; cache: string | null; cpu: number; ptr: string; line: number };

/** A parsed workload. */
export interface KmallocTrace {
  ops: KmallocTraceOp[];
  /** Lines of other events. */
  ignored: number;
  /** Things the reader dropped (unknown gfp flags), at most one per distinct message. */
  warnings: string[];
}

const EVENT = /(?:^|\s)(kmalloc|kmalloc_node|kfree|kmem_cache_alloc|kmem_cache_alloc_node|kmem_cache_free):\s+(.*)$/;
const CPU = /\[(\d+)\]/;

function fields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of text.trim().split(/\s+/)) {
    const eq = part.indexOf('=');
    if (eq > 0) m.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return m;
}

/** A pointer field: null for a failed allocation. */
function ptrOf(v: string | undefined): string | null {
  if (v === undefined || v === '(null)' || /^0+$/.test(v) || v === '0x0') return null;
  return v.replace(/^0x/, '').toLowerCase();
}

/** Parses a kmalloc-trace workload (see the module comment for the formats). */
export function parseKmallocTrace(text: string): KmallocTrace {
  const ops: KmallocTraceOp[] = [];
  const warnings = new Set<string>();
  let ignored = 0;
  const lines = text.split(/\r?\n/);
  const gfpOf = (v: string | undefined, line: number): number => {
    if (v === undefined) return GFP_KERNEL;
    let gfp = 0;
    for (const name of v.split('|')) {
      try {
        gfp |= parseGfp(name);
      } catch {
        warnings.add(`unknown gfp flag '${name}' dropped (first on line ${line})`);
      }
    }
    return gfp;
  };
  const num = (v: string | undefined, what: string, line: number, raw: string): number => {
    const n = v === undefined ? NaN : Number(v);
    if (!Number.isInteger(n) || n < 0) throw new MmsimError('EWORKLOAD', `line ${line}: ${what} missing or not a byte count in '${raw.trim()}'`, { details: { line } });
    return n;
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = i + 1;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    if (/^\d+$/.test(t)) {
      ops.push({ op: 'kmalloc', size: Number(t), gfp: GFP_KERNEL, node: -1, cpu: 0, ptr: null, line });
      continue;
    }
    const m = EVENT.exec(raw);
    if (!m) {
      if (/:\s+\w+:\s/.test(raw) || /^\s*\S+-\d+\s+\[\d+\]/.test(raw)) {
        ignored++;
        continue;
      }
      throw new MmsimError('EWORKLOAD', `line ${line}: neither a byte count nor a kmem trace event: '${t.slice(0, 80)}'`, { details: { line } });
    }
    const event = m[1]!;
    const f = fields(m[2]!);
    const cpuMatch = CPU.exec(raw.slice(0, m.index + 1));
    const cpu = cpuMatch ? Number(cpuMatch[1]) : 0;
    const node = f.has('node') ? Number(f.get('node')) : -1;
    switch (event) {
      case 'kmalloc':
      case 'kmalloc_node':
        ops.push({ op: 'kmalloc', size: num(f.get('bytes_req'), 'bytes_req', line, raw), gfp: gfpOf(f.get('gfp_flags'), line), node: Number.isInteger(node) ? node : -1, cpu, ptr: ptrOf(f.get('ptr')), line });
        break;
      case 'kmem_cache_alloc':
      case 'kmem_cache_alloc_node':
        ops.push({
          op: 'cache_alloc', cache: f.get('name') ?? `cache-${num(f.get('bytes_req'), 'bytes_req', line, raw)}`, size: num(f.get('bytes_req'), 'bytes_req', line, raw),
          gfp: gfpOf(f.get('gfp_flags'), line), node: Number.isInteger(node) ? node : -1, cpu, ptr: ptrOf(f.get('ptr')), line,
        });
        break;
      case 'kfree':
      case 'kmem_cache_free': {
        const p = ptrOf(f.get('ptr'));
        if (p === null) continue; // kfree(NULL)
        if (event === 'kfree') ops.push({ op: 'kfree', cpu, ptr: p, line });
        else ops.push({ op: 'cache_free', cache: f.get('name') ?? null, cpu, ptr: p, line });
        break;
      }
    }
  }
  return { ops, ignored, warnings: [...warnings] };
}

/**
 * A workload compiled for replay: operations in typed arrays, every
 * pointer of the trace turned into a slot number, so a replay does no
 * string or map work per operation.
 */
export interface CompiledKmallocTrace {
  readonly length: number;
  /** 0 kmalloc, 1 kfree, 2 cache_alloc, 3 cache_free */
  readonly kind: Uint8Array;
  readonly size: Int32Array;
  readonly gfp: Int32Array;
  readonly node: Int32Array;
  readonly cpu: Int32Array;
  /** The object's slot (an allocation's own, the freed allocation's for a free; -1: a free of an untraced pointer). */
  readonly slot: Int32Array;
  /** Cache index per cache_alloc (into `caches`). */
  readonly cache: Int32Array;
  readonly caches: readonly { name: string; size: number; reclaimable: boolean }[];
  readonly slots: number;
}

/** Compiles a parsed workload for replay (pointers matched once, here). */
export function compileKmallocTrace(trace: KmallocTrace): CompiledKmallocTrace {
  const n = trace.ops.length;
  const c = {
    length: n, kind: new Uint8Array(n), size: new Int32Array(n), gfp: new Int32Array(n), node: new Int32Array(n), cpu: new Int32Array(n),
    slot: new Int32Array(n), cache: new Int32Array(n).fill(-1), caches: [] as { name: string; size: number; reclaimable: boolean }[], slots: 0,
  };
  const bySlot = new Map<string, number>();
  const cacheIdx = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const o = trace.ops[i]!;
    c.cpu[i] = o.cpu;
    if (o.op === 'kmalloc' || o.op === 'cache_alloc') {
      c.kind[i] = o.op === 'kmalloc' ? 0 : 2;
      c.size[i] = o.size;
      c.gfp[i] = o.gfp;
      c.node[i] = o.node;
      const slot = c.slots++;
      c.slot[i] = slot;
      // a pointer reused before its free was traced: the new allocation takes the name
      if (o.ptr !== null) bySlot.set(o.ptr, slot);
      if (o.op === 'cache_alloc') {
        let k = cacheIdx.get(o.cache);
        if (k === undefined) {
          k = c.caches.length;
          cacheIdx.set(o.cache, k);
          c.caches.push({ name: o.cache, size: Math.max(1, o.size), reclaimable: (o.gfp & 0x10) !== 0 });
        }
        c.cache[i] = k;
      }
    } else {
      c.kind[i] = o.op === 'kfree' ? 1 : 3;
      const slot = bySlot.get(o.ptr);
      c.slot[i] = slot ?? -1;
      if (slot !== undefined) bySlot.delete(o.ptr);
    }
  }
  return c;
}

/** What a replay did and what it left. */
export interface KmallocTraceResult {
  kmallocs: number;
  kfrees: number;
  cacheAllocs: number;
  cacheFrees: number;
  /** Allocations that returned null. */
  failures: number;
  /** Frees of pointers the trace never allocated (allocated before tracing began), or whose allocation failed here. */
  unmatchedFrees: number;
  /** Objects live at the end and the bytes they asked for / were given (the tracepoints' bytes_alloc when events were watched, else ksize()). */
  liveObjects: number;
  liveRequested: number;
  liveAllocated: number;
  /** Pages the allocator held at the end and at most during the replay (stats(): slab + large kmalloc pages; the peak only when tracked). */
  pagesHeld: number;
  peakPagesHeld: number;
  /** Pointers still live, to free them afterwards. */
  live: { ptr: number; cache: KmemCache | null }[];
}

/**
 * Replays a workload on a slab allocator. CPUs beyond the machine's wrap
 * around; nodes the machine lacks are ignored; caches named by
 * kmem_cache_alloc lines are created on first use with that object size
 * (SLAB_RECLAIM_ACCOUNT when the gfp was __GFP_RECLAIMABLE; an existing
 * cache of that name is used as it is). With `events`, the alloc
 * tracepoints are watched for bytes_alloc; `trackPeak` samples the pages
 * held after every operation.
 */
export function runKmallocTrace(slab: SlabAllocator, trace: KmallocTrace | CompiledKmallocTrace, machine: { nrCpus: number; nrNodes: number },
  opts: { events?: EventBus; trackPeak?: boolean } = {}): KmallocTraceResult {
  const c = 'ops' in trace ? compileKmallocTrace(trace) : trace;
  const ptrs = new Float64Array(c.slots).fill(-1);
  const req = new Float64Array(c.slots);
  const alloc = new Float64Array(c.slots);
  const caches: KmemCache[] = c.caches.map((d) => slab.caches().find((x) => x.name === d.name) ?? slab.createCache(d.name, d.size, { flags: d.reclaimable ? 0x20000 : 0 }));
  const slotCache = new Int32Array(c.slots).fill(-1);
  let lastAlloc = -1;
  const onAlloc = (e: { bytes_alloc: number }) => {
    lastAlloc = e.bytes_alloc;
  };
  if (opts.events) {
    opts.events.on('kmalloc', onAlloc);
    opts.events.on('kmem_cache_alloc', onAlloc);
  }
  const r: KmallocTraceResult = {
    kmallocs: 0, kfrees: 0, cacheAllocs: 0, cacheFrees: 0, failures: 0, unmatchedFrees: 0, liveObjects: 0, liveRequested: 0,
    liveAllocated: 0, pagesHeld: 0, peakPagesHeld: 0, live: [],
  };
  const held = () => {
    const s = slab.stats();
    return s.reclaimablePages + s.unreclaimablePages;
  };
  const cpus = Math.max(1, machine.nrCpus);
  const nodes = machine.nrNodes;
  const perCpu = Array.from({ length: cpus }, (_, cpu) => ({ cpu }));
  const perCpuNode = Array.from({ length: cpus }, (_, cpu) => Array.from({ length: nodes }, (_, nid) => ({ cpu, nid })));
  for (let i = 0; i < c.length; i++) {
    const kind = c.kind[i]!;
    const cpu = c.cpu[i]! % cpus;
    const slot = c.slot[i]!;
    if (kind === 0 || kind === 2) {
      const node = c.node[i]!;
      const o = node >= 0 && node < nodes ? perCpuNode[cpu]![node]! : perCpu[cpu]!;
      let p: number | null;
      if (kind === 0) {
        p = slab.kmalloc(c.size[i]!, c.gfp[i]!, o);
        r.kmallocs++;
      } else {
        const k = c.cache[i]!;
        p = slab.cacheAlloc(caches[k]!, c.gfp[i]!, o);
        slotCache[slot] = k;
        r.cacheAllocs++;
      }
      if (p === null) {
        r.failures++;
      } else if (p !== 16 /* ZERO_SIZE_PTR */) {
        ptrs[slot] = p;
        req[slot] = kind === 0 ? c.size[i]! : caches[c.cache[i]!]!.objectSize;
        alloc[slot] = lastAlloc;
      }
      lastAlloc = -1;
    } else {
      const p = slot < 0 ? -1 : ptrs[slot]!;
      if (p < 0) {
        r.unmatchedFrees++;
        continue;
      }
      ptrs[slot] = -1;
      const k = slotCache[slot]!;
      if (k >= 0) {
        slab.cacheFree(caches[k]!, p, perCpu[cpu]);
        r.cacheFrees++;
      } else {
        slab.kfree(p, perCpu[cpu]);
        r.kfrees++;
      }
    }
    if (opts.trackPeak) {
      const h = held();
      if (h > r.peakPagesHeld) r.peakPagesHeld = h;
    }
  }
  if (opts.events) {
    opts.events.off('kmalloc', onAlloc);
    opts.events.off('kmem_cache_alloc', onAlloc);
  }
  for (let slot = 0; slot < c.slots; slot++) {
    const p = ptrs[slot]!;
    if (p < 0) continue;
    const k = slotCache[slot]!;
    const cache = k >= 0 ? caches[k]! : null;
    r.liveObjects++;
    r.liveRequested += req[slot]!;
    r.liveAllocated += alloc[slot]! >= 0 ? alloc[slot]! : cache ? cache.size : slab.ksize(p);
    r.live.push({ ptr: p, cache });
  }
  r.pagesHeld = held();
  if (r.pagesHeld > r.peakPagesHeld) r.peakPagesHeld = r.pagesHeld;
  return r;
}
