/**
 * gfp flags with the bit values of Linux 6.12 (include/linux/gfp_types.h,
 * without CONFIG_KASAN_HW_TAGS / CONFIG_LOCKDEP / CONFIG_SLAB_OBJ_EXT), the
 * GFP_ZONE_TABLE lookup and gfp → migratetype.
 * @module
 */
import { MmsimError } from './errors.js';

export const ___GFP_DMA = 0x01;
export const ___GFP_HIGHMEM = 0x02;
export const ___GFP_DMA32 = 0x04;
export const ___GFP_MOVABLE = 0x08;
export const ___GFP_RECLAIMABLE = 0x10;

export const __GFP_DMA = 0x01;
export const __GFP_HIGHMEM = 0x02;
export const __GFP_DMA32 = 0x04;
export const __GFP_MOVABLE = 0x08;
export const __GFP_RECLAIMABLE = 0x10;
export const __GFP_HIGH = 0x20;
export const __GFP_IO = 0x40;
export const __GFP_FS = 0x80;
export const __GFP_ZERO = 0x100;
// 0x200 is unused in 6.12
export const __GFP_DIRECT_RECLAIM = 0x400;
export const __GFP_KSWAPD_RECLAIM = 0x800;
export const __GFP_WRITE = 0x1000;
export const __GFP_NOWARN = 0x2000;
export const __GFP_RETRY_MAYFAIL = 0x4000;
export const __GFP_NOFAIL = 0x8000;
export const __GFP_NORETRY = 0x10000;
export const __GFP_MEMALLOC = 0x20000;
export const __GFP_COMP = 0x40000;
export const __GFP_NOMEMALLOC = 0x80000;
export const __GFP_HARDWALL = 0x100000;
export const __GFP_THISNODE = 0x200000;
export const __GFP_ACCOUNT = 0x400000;
export const __GFP_ZEROTAGS = 0x800000;
/** Number of gfp bits in use (___GFP_LAST_BIT). */
export const __GFP_BITS_SHIFT = 24;
export const __GFP_BITS_MASK = (1 << __GFP_BITS_SHIFT) - 1;

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
export const GFP_ZONEMASK = __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE;
export const GFP_MOVABLE_MASK = __GFP_RECLAIMABLE | __GFP_MOVABLE;
export const GFP_MOVABLE_SHIFT = 3;

export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM; // 0x820
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS; // 0xcc0
export const GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
export const GFP_NOIO = __GFP_RECLAIM;
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
export const GFP_DMA = __GFP_DMA;
export const GFP_DMA32 = __GFP_DMA32;
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE; // 0x100cca
export const GFP_TRANSHUGE_LIGHT = (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/** Logical zone types, as `enum zone_type` names them. A machine configures a subset (see Topology.zoneTypes). */
export enum ZoneType {
  DMA = 'DMA',
  DMA32 = 'DMA32',
  NORMAL = 'Normal',
  HIGHMEM = 'HighMem',
  MOVABLE = 'Movable',
  DEVICE = 'Device',
}

/** Migrate types in the kernel's order (enum migratetype, CONFIG_CMA and CONFIG_MEMORY_ISOLATION on). */
export enum MigrateType {
  UNMOVABLE = 0,
  MOVABLE = 1,
  RECLAIMABLE = 2,
  HIGHATOMIC = 3,
  CMA = 4,
  ISOLATE = 5,
}
/** Number of migrate types with their own free lists (MIGRATE_TYPES). */
export const MIGRATE_TYPES = 6;
/** Names as /proc/pagetypeinfo prints them (migratetype_names). */
export const MIGRATETYPE_NAMES = ['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'CMA', 'Isolate'] as const;

// mirrors GFP_ZONE_BAD: the zone-modifier combinations the kernel BUGs on.
const GFP_ZONE_BAD =
  (1 << (___GFP_DMA | ___GFP_HIGHMEM)) |
  (1 << (___GFP_DMA | ___GFP_DMA32)) |
  (1 << (___GFP_DMA32 | ___GFP_HIGHMEM)) |
  (1 << (___GFP_DMA | ___GFP_DMA32 | ___GFP_HIGHMEM)) |
  (1 << (___GFP_MOVABLE | ___GFP_HIGHMEM | ___GFP_DMA)) |
  (1 << (___GFP_MOVABLE | ___GFP_DMA32 | ___GFP_DMA)) |
  (1 << (___GFP_MOVABLE | ___GFP_DMA32 | ___GFP_HIGHMEM)) |
  (1 << (___GFP_MOVABLE | ___GFP_DMA32 | ___GFP_DMA | ___GFP_HIGHMEM));

/**
 * The logical zone each of the 16 zone-modifier combinations asks for, as
 * GFP_ZONE_TABLE encodes it before OPT_ZONE_* folding (null: GFP_ZONE_BAD).
 */
const GFP_ZONE_TABLE: readonly (ZoneType | null)[] = (() => {
  const t: (ZoneType | null)[] = new Array(16).fill(null);
  t[0] = ZoneType.NORMAL;
  t[___GFP_DMA] = ZoneType.DMA;
  t[___GFP_HIGHMEM] = ZoneType.HIGHMEM;
  t[___GFP_DMA32] = ZoneType.DMA32;
  t[___GFP_MOVABLE] = ZoneType.NORMAL;
  t[___GFP_MOVABLE | ___GFP_DMA] = ZoneType.DMA;
  t[___GFP_MOVABLE | ___GFP_HIGHMEM] = ZoneType.MOVABLE;
  t[___GFP_MOVABLE | ___GFP_DMA32] = ZoneType.DMA32;
  for (let bit = 0; bit < 16; bit++) if ((GFP_ZONE_BAD >> bit) & 1) t[bit] = null;
  return t;
})();

/** Which optional zones a kernel was built with; decides the OPT_ZONE_* folding. */
export interface ZoneConfig {
  dma: boolean;
  dma32: boolean;
  highmem: boolean;
  movable: boolean;
}

/** x86_64 defaults: CONFIG_ZONE_DMA, CONFIG_ZONE_DMA32, no HIGHMEM. */
export const X86_64_ZONES: ZoneConfig = { dma: true, dma32: true, highmem: false, movable: true };

/**
 * gfp_zone(): the highest zone type an allocation may use. Throws
 * EGFP_INVALID for the combinations GFP_ZONE_BAD lists.
 * Optional zones the machine lacks fold to ZONE_NORMAL as OPT_ZONE_* does.
 */
export function gfpZone(gfp: number, zones: ZoneConfig = X86_64_ZONES): ZoneType {
  const bit = gfp & GFP_ZONEMASK;
  const z = GFP_ZONE_TABLE[bit];
  if (z === null || z === undefined) {
    throw new MmsimError('EGFP_INVALID', `gfp ${formatGfp(gfp)} combines zone modifiers the kernel rejects (GFP_ZONE_BAD bit 0x${bit.toString(16)})`, { details: { gfp } });
  }
  if (z === ZoneType.DMA && !zones.dma) return ZoneType.NORMAL;
  if (z === ZoneType.DMA32 && !zones.dma32) return ZoneType.NORMAL;
  if (z === ZoneType.HIGHMEM && !zones.highmem) return ZoneType.NORMAL;
  return z;
}

/** gfp_migratetype(): Unmovable, Movable or Reclaimable. Both mobility bits set is rejected. */
export function gfpMigratetype(gfp: number, mobilityGrouping = true): MigrateType {
  const m = gfp & GFP_MOVABLE_MASK;
  if (m === GFP_MOVABLE_MASK) {
    throw new MmsimError('EGFP_INVALID', `gfp ${formatGfp(gfp)} sets both __GFP_MOVABLE and __GFP_RECLAIMABLE`, { details: { gfp } });
  }
  if (!mobilityGrouping) return MigrateType.UNMOVABLE;
  return (m >> GFP_MOVABLE_SHIFT) as MigrateType;
}

/** gfpflags_allow_blocking() */
export function gfpAllowsBlocking(gfp: number): boolean {
  return (gfp & __GFP_DIRECT_RECLAIM) !== 0;
}

const FLAG_NAMES: readonly [number, string][] = [
  [GFP_TRANSHUGE, 'GFP_TRANSHUGE'],
  [GFP_TRANSHUGE_LIGHT, 'GFP_TRANSHUGE_LIGHT'],
  [GFP_HIGHUSER_MOVABLE, 'GFP_HIGHUSER_MOVABLE'],
  [GFP_HIGHUSER, 'GFP_HIGHUSER'],
  [GFP_USER, 'GFP_USER'],
  [GFP_KERNEL_ACCOUNT, 'GFP_KERNEL_ACCOUNT'],
  [GFP_KERNEL, 'GFP_KERNEL'],
  [GFP_NOFS, 'GFP_NOFS'],
  [GFP_ATOMIC, 'GFP_ATOMIC'],
  [GFP_NOIO, 'GFP_NOIO'],
  [GFP_NOWAIT, 'GFP_NOWAIT'],
  [GFP_DMA, 'GFP_DMA'],
  [__GFP_HIGHMEM, '__GFP_HIGHMEM'],
  [GFP_DMA32, 'GFP_DMA32'],
  [__GFP_HIGH, '__GFP_HIGH'],
  [__GFP_IO, '__GFP_IO'],
  [__GFP_FS, '__GFP_FS'],
  [__GFP_NOWARN, '__GFP_NOWARN'],
  [__GFP_RETRY_MAYFAIL, '__GFP_RETRY_MAYFAIL'],
  [__GFP_NOFAIL, '__GFP_NOFAIL'],
  [__GFP_NORETRY, '__GFP_NORETRY'],
  [__GFP_COMP, '__GFP_COMP'],
  [__GFP_ZERO, '__GFP_ZERO'],
  [__GFP_NOMEMALLOC, '__GFP_NOMEMALLOC'],
  [__GFP_MEMALLOC, '__GFP_MEMALLOC'],
  [__GFP_HARDWALL, '__GFP_HARDWALL'],
  [__GFP_THISNODE, '__GFP_THISNODE'],
  [__GFP_RECLAIMABLE, '__GFP_RECLAIMABLE'],
  [__GFP_MOVABLE, '__GFP_MOVABLE'],
  [__GFP_ACCOUNT, '__GFP_ACCOUNT'],
  [__GFP_WRITE, '__GFP_WRITE'],
  [__GFP_RECLAIM, '__GFP_RECLAIM'],
  [__GFP_DIRECT_RECLAIM, '__GFP_DIRECT_RECLAIM'],
  [__GFP_KSWAPD_RECLAIM, '__GFP_KSWAPD_RECLAIM'],
  [__GFP_ZEROTAGS, '__GFP_ZEROTAGS'],
];

/** show_gfp_flags(): the `gfp_flags=` text of kmem tracepoints, e.g. `GFP_KERNEL|__GFP_ZERO`. */
export function formatGfp(gfp: number): string {
  if (gfp === 0) return 'none';
  const parts: string[] = [];
  let rest = gfp;
  for (const [mask, name] of FLAG_NAMES) {
    if (mask !== 0 && (rest & mask) === mask) {
      parts.push(name);
      rest &= ~mask;
    }
  }
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.join('|');
}

const BY_NAME = new Map<string, number>(FLAG_NAMES.map(([m, n]) => [n, m]));
BY_NAME.set('GFP_NOWAIT', GFP_NOWAIT);

/** Parses `GFP_KERNEL|__GFP_ZERO` or `0xcc0` back to a number (as the trace reader needs). */
export function parseGfp(text: string): number {
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t, 16);
  if (/^\d+$/.test(t)) return Number(t);
  let gfp = 0;
  for (const part of t.split('|')) {
    const p = part.trim();
    const v = BY_NAME.get(p) ?? (/^0x[0-9a-f]+$/i.test(p) ? parseInt(p, 16) : undefined);
    if (v === undefined) throw new MmsimError('EGFP_INVALID', `unknown gfp flag '${p}' in '${text}'`);
    gfp |= v;
  }
  return gfp;
}
