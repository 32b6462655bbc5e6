import { describe, expect, it } from 'vitest';
import { GFP_KERNEL, GFP_KERNEL_ACCOUNT, isMmsimError, __GFP_NOWARN, __GFP_ZERO } from '@mmsim/core';
import { compileKmallocTrace, parseKmallocTrace } from './kmalloc_trace.js';

const line = (ev: string, rest: string, cpu = 1) => `            bash-1201    [00${cpu}] .....   105.200311: ${ev}: ${rest}`;

describe('kmalloc-trace parsing', () => {
  it('reads one bytes_req per line, skipping blanks and comments', () => {
    const t = parseKmallocTrace('# sizes\n64\n\n  100  \n0\n');
    expect(t.ops.map((o) => (o.op === 'kmalloc' ? o.size : -1))).toEqual([64, 100, 0]);
    expect(t.ops[0]).toMatchObject({ op: 'kmalloc', gfp: GFP_KERNEL, node: -1, cpu: 0, ptr: null, line: 2 });
  });

  it('reads ftrace text of the kmem events, keeping the CPU, gfp, node and pointers', () => {
    const t = parseKmallocTrace([
      '# tracer: nop',
      line('kmalloc', 'call_site=alloc_pipe_info+0x9a/0x1b0 ptr=ffff888003a1d800 bytes_req=640 bytes_alloc=1024 gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO node=-1 accounted=true'),
      line('kmem_cache_alloc', 'call_site=d_alloc+0x1e/0xa0 ptr=ffff888004000000 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=0 accounted=false', 0),
      line('mm_page_alloc', 'page=0000000012345678 pfn=0x1234 order=0 migratetype=1 gfp_flags=GFP_KERNEL'),
      line('kfree', 'call_site=pipe_release+0x1/0x2 ptr=ffff888003a1d800'),
      line('kfree', 'call_site=x+0x1/0x2 ptr=0000000000000000'),
      line('kmem_cache_free', 'call_site=__fput+0x10b/0x260 ptr=ffff888004000000 name=dentry'),
      // an older kernel: kmalloc_node, hex call site, no accounted field
      '  kworker/0:1-42    [000] d..1    7.100000: kmalloc_node: call_site=ffffffff8143d2a5 ptr=ffff88003e0a5600 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL|__GFP_NOWARN node=1',
    ].join('\n'));
    expect(t.ignored).toBe(1);
    expect(t.ops).toEqual([
      { op: 'kmalloc', size: 640, gfp: GFP_KERNEL_ACCOUNT | __GFP_ZERO, node: -1, cpu: 1, ptr: 'ffff888003a1d800', line: 2 },
      { op: 'cache_alloc', cache: 'dentry', size: 192, gfp: GFP_KERNEL, node: 0, cpu: 0, ptr: 'ffff888004000000', line: 3 },
      { op: 'kfree', cpu: 1, ptr: 'ffff888003a1d800', line: 5 },
      { op: 'cache_free', cache: 'dentry', cpu: 1, ptr: 'ffff888004000000', line: 7 },
      { op: 'kmalloc', size: 100, gfp: GFP_KERNEL | __GFP_NOWARN, node: 1, cpu: 0, ptr: 'ffff88003e0a5600', line: 8 },
    ]);
  });

  it('drops gfp flags it does not know with a warning, and names the line of a malformed event', () => {
    const t = parseKmallocTrace(line('kmalloc', 'call_site=x ptr=ffff888000001000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL|__GFP_SKIP_KASAN node=-1'));
    expect(t.ops[0]).toMatchObject({ gfp: GFP_KERNEL });
    expect(t.warnings[0]).toMatch(/__GFP_SKIP_KASAN/);
    for (const bad of [`64\n${line('kmalloc', 'call_site=x ptr=ffff888000001000 bytes_alloc=8')}`, '64\nhello world']) {
      let e: unknown;
      try {
        parseKmallocTrace(bad);
      } catch (x) {
        e = x;
      }
      expect(isMmsimError(e, 'EWORKLOAD')).toBe(true);
      expect((e as Error).message).toMatch(/line 2/);
    }
  });

  it('compiles pointers to slots: frees find their allocation, untraced frees get none', () => {
    const t = parseKmallocTrace([
      line('kfree', 'call_site=x ptr=ffff888000009000'),
      line('kmalloc', 'call_site=x ptr=ffff888000001000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1'),
      line('kmalloc', 'call_site=x ptr=ffff888000002000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1'),
      line('kfree', 'call_site=x ptr=ffff888000001000'),
      line('kmalloc', 'call_site=x ptr=ffff888000001000 bytes_req=16 bytes_alloc=16 gfp_flags=GFP_KERNEL node=-1'),
      line('kfree', 'call_site=x ptr=ffff888000001000'),
    ].join('\n'));
    const c = compileKmallocTrace(t);
    expect(Array.from(c.kind)).toEqual([1, 0, 0, 1, 0, 1]);
    expect(Array.from(c.slot)).toEqual([-1, 0, 1, 0, 2, 2]);
    expect(c.slots).toBe(3);
  });
});
