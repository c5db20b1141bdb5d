// A reference allocator that works the way MetalLB's getFreeIPsFromPool does: for every
// allocation, scan each CIDR of the pool from its first address and take the first one that is
// not in use (and not .0/.255 when avoidBuggyIPs). Cost per allocation grows with the pool.
// Used by the allocator benchmark and as a model in property tests. Single family, no sharing.
import { IP, type AddressPool, type IPFamily } from '@l2lb/shared';

export class FirstFreeScanAllocator {
  // Keyed by the numeric address (MetalLB keys by ip.String(); a bigint key makes the reference
  // faster than the original, so the measured ratio is conservative).
  private readonly inUse = new Map<bigint, string>();
  private readonly byService = new Map<string, bigint>();

  constructor(private readonly pools: readonly AddressPool[]) {}

  allocate(key: string, family: IPFamily): IP | undefined {
    for (const pool of this.pools) {
      if (!pool.autoAssign) continue;
      for (const cidr of pool.cidrs) {
        if (cidr.family !== family) continue;
        const last = cidr.base + cidr.size - 1n;
        for (let v = cidr.base; v <= last; v += 1n) {
          if (pool.avoidBuggyIPs && family === 4 && ((v & 0xffn) === 0n || (v & 0xffn) === 255n)) continue;
          if (this.inUse.has(v)) continue;
          this.inUse.set(v, key);
          this.byService.set(key, v);
          return IP.fromBigInt(family, v);
        }
      }
    }
    return undefined;
  }

  release(key: string): void {
    const ip = this.byService.get(key);
    if (ip === undefined) return;
    this.byService.delete(key);
    this.inUse.delete(ip);
  }
}
