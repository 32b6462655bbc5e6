/**
 * CONFIG_SLUB_DEBUG's object checks (mm/slub.c: init_object,
 * check_bytes_and_report, check_object, check_pad_bytes, slab_pad_check)
 * over a debug cache's simulated slab bytes. Only caches with SLAB_RED_ZONE
 * or SLAB_POISON keep bytes; everything here works on one slab's
 * Uint8Array with object offsets relative to the slab start.
 *
 * Object layout (offsets from the object address p):
 * ```
 * p - red_left_pad .. p        left red zone            (RED_ZONE)
 * p .. p + object_size         the object               (POISON: 0x6b .. 0xa5)
 * p + object_size .. p + inuse right red zone / align   (RED_ZONE: 0xbb/0xcc)
 * p + offset                   free pointer, when it may not overlay the object
 * info end .. + 2 × track      alloc and free tracks    (STORE_USER)
 *  .. + word                   original kmalloc size    (STORE_USER + kmalloc)
 *  .. size_from_object         padding                  (POISON: 0x5a)
 * ```
 * @module
 */
import {
  POISON_END, POISON_FREE, POISON_INUSE, SLAB_KMALLOC, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER, SLUB_RED_ACTIVE,
  type SlabCorruption,
} from '@mmsim/core';
import { TRACK_SIZE, WORD } from './slab_common.js';

/** The cache fields the checks read. */
export interface DebugLayout {
  readonly name: string;
  objectSize: number;
  inuse: number;
  readonly offset: number;
  readonly redLeftPad: number;
  readonly size: number;
  readonly flags: number;
  /** __OBJECT_POISON: SLAB_POISON without a ctor or SLAB_TYPESAFE_BY_RCU. */
  readonly objectPoison: boolean;
}

/** slub_debug_orig_size(): kmalloc caches with SLAB_STORE_USER remember the requested size. */
export function hasOrigSize(s: DebugLayout): boolean {
  return (s.flags & SLAB_STORE_USER) !== 0 && (s.flags & SLAB_KMALLOC) !== 0;
}
/** freeptr_outside_object() */
export function freeptrOutside(s: DebugLayout): boolean {
  return s.offset >= s.inuse;
}
/** get_info_end() */
export function infoEnd(s: DebugLayout): number {
  return freeptrOutside(s) ? s.inuse + WORD : s.inuse;
}
/** size_from_object() */
export function sizeFromObject(s: DebugLayout): number {
  return s.flags & SLAB_RED_ZONE ? s.size - s.redLeftPad : s.size;
}
/** Where check_pad_bytes() starts: after the tracks and the original size. */
export function padStart(s: DebugLayout): number {
  let off = infoEnd(s);
  if (s.flags & SLAB_STORE_USER) {
    off += 2 * TRACK_SIZE;
    if (s.flags & SLAB_KMALLOC) off += WORD;
  }
  return off;
}

/** setup_slab_debug(): a poisoned cache's new slab is filled with POISON_INUSE. */
export function setupSlabDebug(s: DebugLayout, mem: Uint8Array): void {
  if (s.flags & SLAB_POISON) mem.fill(POISON_INUSE);
}

/**
 * init_object(): red zones to `val`, a poisoned object to 0x6b..0xa5 (up to
 * the original kmalloc size when it is allocated, the rest red-zoned).
 * `p` is the object's offset in the slab.
 */
export function initObject(s: DebugLayout, mem: Uint8Array, p: number, val: number, origSize: number): void {
  let poisonSize = s.objectSize;
  if (s.flags & SLAB_RED_ZONE) {
    mem.fill(val, p - s.redLeftPad, p);
    if (hasOrigSize(s) && val === SLUB_RED_ACTIVE) poisonSize = origSize;
  }
  if (s.objectPoison) {
    mem.fill(POISON_FREE, p, p + poisonSize - 1);
    mem[p + poisonSize - 1] = POISON_END;
  }
  if (s.flags & SLAB_RED_ZONE) mem.fill(val, p + poisonSize, p + s.inuse);
}

/** Where a check runs: the slab's address and the object's (for reports). */
export interface CheckSite {
  slabAddr: number;
  out: SlabCorruption[];
}

/**
 * check_bytes_and_report(): `bytes` bytes from `start` should all be
 * `value`; the run from the first bad byte to the last is reported and
 * restored (restore_bytes). Returns false when something was wrong.
 */
export function checkBytes(s: DebugLayout, mem: Uint8Array, p: number, what: string, start: number, value: number, bytes: number, site: CheckSite): boolean {
  let fault = -1;
  for (let i = start; i < start + bytes; i++) {
    if (mem[i] !== value) {
      fault = i;
      break;
    }
  }
  if (fault < 0) return true;
  let end = start + bytes;
  while (end > fault && mem[end - 1] === value) end--;
  site.out.push({
    cache: s.name, object: site.slabAddr + p, offset: fault - p, slabOffset: fault, length: end - fault, what,
    found: mem[fault]!, expected: value,
  });
  mem.fill(value, fault, end);
  return false;
}

/** check_pad_bytes() */
function checkPadBytes(s: DebugLayout, mem: Uint8Array, p: number, site: CheckSite): boolean {
  const off = padStart(s);
  const end = sizeFromObject(s);
  if (end === off) return true;
  return checkBytes(s, mem, p, 'Object padding', p + off, POISON_INUSE, end - off, site);
}

/**
 * check_object(): the red zones (and the kmalloc red zone past the
 * original size), alignment padding, poison of a free object, the padding
 * after the metadata, and the free pointer word when it sits outside the
 * object (which the simulator keeps zeroed: any write there corrupts it).
 * Every bad run is reported and restored.
 */
export function checkObject(s: DebugLayout, mem: Uint8Array, p: number, val: number, origSize: number, site: CheckSite): boolean {
  let ok = true;
  const endObject = p + s.objectSize;
  if (s.flags & SLAB_RED_ZONE) {
    if (!checkBytes(s, mem, p, 'Left Redzone', p - s.redLeftPad, val, s.redLeftPad, site)) ok = false;
    if (!checkBytes(s, mem, p, 'Right Redzone', endObject, val, s.inuse - s.objectSize, site)) ok = false;
    if (hasOrigSize(s) && val === SLUB_RED_ACTIVE && s.objectSize > origSize) {
      if (!checkBytes(s, mem, p, 'kmalloc Redzone', p + origSize, val, s.objectSize - origSize, site)) ok = false;
    }
  } else if (s.flags & SLAB_POISON && s.objectSize < s.inuse) {
    if (!checkBytes(s, mem, p, 'Alignment padding', endObject, POISON_INUSE, s.inuse - s.objectSize, site)) ok = false;
  }
  if (s.flags & SLAB_POISON) {
    if (val !== SLUB_RED_ACTIVE && s.objectPoison) {
      if (!checkBytes(s, mem, p, 'Poison', p, POISON_FREE, s.objectSize - 1, site)) ok = false;
      if (!checkBytes(s, mem, p, 'End Poison', p + s.objectSize - 1, POISON_END, 1, site)) ok = false;
    }
    if (!checkPadBytes(s, mem, p, site)) ok = false;
  }
  if (freeptrOutside(s) && !checkBytes(s, mem, p, 'Freepointer', p + s.offset, 0, WORD, site)) ok = false;
  return ok;
}

/** slab_pad_check(): the bytes after the last object of a poisoned slab. */
export function slabPadCheck(s: DebugLayout, mem: Uint8Array, objects: number, site: CheckSite): boolean {
  if (!(s.flags & SLAB_POISON)) return true;
  const start = objects * s.size;
  const remainder = mem.length - start;
  if (remainder <= 0) return true;
  let fault = -1;
  for (let i = start; i < mem.length; i++) {
    if (mem[i] !== POISON_INUSE) {
      fault = i;
      break;
    }
  }
  if (fault < 0) return true;
  let end = mem.length;
  while (end > fault && mem[end - 1] === POISON_INUSE) end--;
  site.out.push({
    cache: s.name, object: site.slabAddr + start, offset: fault - start, slabOffset: fault, length: end - fault, what: 'Padding',
    found: mem[fault]!, expected: POISON_INUSE,
  });
  mem.fill(POISON_INUSE, fault, end);
  return false;
}

/** The kernel's report line for one corruption (check_bytes_and_report's pr_err), with the object named. */
export function describeCorruption(c: SlabCorruption, hex: (n: number) => string): string {
  return `[${c.what} overwritten] ${hex(c.object + c.offset)}-${hex(c.object + c.offset + c.length - 1)} @offset=${c.slabOffset}. ` +
    `First byte 0x${c.found.toString(16)} instead of 0x${c.expected.toString(16)} (object ${hex(c.object)} of cache '${c.cache}', offset ${c.offset})`;
}
