/** Address formatting as the kernel prints pointers. */

/** x86_64 PAGE_OFFSET (the direct map base, without KASLR). */
export const PAGE_OFFSET = 0xffff888000000000n;

/**
 * Objects are identified by simulated physical addresses (plain numbers);
 * this prints the direct-map kernel virtual address the kernel would show
 * (`ffff888001234560`), as __va() gives it.
 */
export function formatPtr(phys: number): string {
  // negative numbers are kernel virtual addresses outside the direct map
  // (vmalloc, percpu), kept as signed 64-bit values
  if (phys < 0) return BigInt.asUintN(64, BigInt(phys)).toString(16);
  return (PAGE_OFFSET + BigInt(phys)).toString(16);
}

/** Inverse of formatPtr for direct-map addresses (`ffff888...` or `0xffff888...`). */
export function parsePtr(text: string): number {
  const v = BigInt(text.startsWith('0x') ? text : `0x${text}`);
  // above the direct map's 64 TiB: vmalloc / percpu space, as a signed value
  if (v >= PAGE_OFFSET + (1n << 46n)) return Number(BigInt.asIntN(64, v));
  const phys = v >= PAGE_OFFSET ? v - PAGE_OFFSET : v;
  return Number(phys);
}
