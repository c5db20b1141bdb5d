// IPAddressPool status: assigned / available IPv4 and IPv6 counts in MetalLB >= 0.15's shape
// (api/v1beta1/ipaddresspool_types.go IPAddressPoolStatus), written by the controller.
//
// Coalesced: the allocator changes on every Service, the status is written at most once per
// `minIntervalMs` (default 1 s) per pool, with the newest counts, and only when they differ from
// what was last written. Only pools that exist as IPAddressPool objects are written (ConfigMap pools
// have no object). The clock and the API are injected.
import type { PoolStats } from './allocator/allocator.js';

/** MetalLB's IPAddressPoolStatus. */
export interface PoolStatus {
  assignedIPv4: number;
  assignedIPv6: number;
  availableIPv4: number;
  availableIPv6: number;
}

/**
 * MetalLB caps a pool's size at MaxInt64 (an IPv6 /64 is 2^64); a JSON number is exact only up to
 * 2^53 - 1 in JavaScript clients (kubectl's Go client reads larger ones fine, but `-o json` readers
 * in JS would not), so the available counts are capped there.
 */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

export function poolStatusOf(s: PoolStats): PoolStatus {
  const avail = (total: bigint, used: number): number => {
    const free = total - BigInt(used);
    return free > BigInt(MAX_COUNT) ? MAX_COUNT : Number(free < 0n ? 0n : free);
  };
  return { assignedIPv4: s.inUse[4], assignedIPv6: s.inUse[6], availableIPv4: avail(s.total[4], s.inUse[4]), availableIPv6: avail(s.total[6], s.inUse[6]) };
}

export function sameStatus(a: unknown, b: PoolStatus): boolean {
  if (typeof a !== 'object' || a === null) return false;
  const o = a as Record<string, unknown>;
  return (
    o['assignedIPv4'] === b.assignedIPv4 &&
    o['assignedIPv6'] === b.assignedIPv6 &&
    o['availableIPv4'] === b.availableIPv4 &&
    o['availableIPv6'] === b.availableIPv6
  );
}

export interface PoolStatusWriterOptions {
  /** Merge-patches the pool's status subresource. */
  readonly patch: (pool: string, status: PoolStatus) => Promise<void>;
  /** The status the pool object has now (from the informer), undefined when there is no such object. */
  readonly current: (pool: string) => { status: unknown } | undefined;
  readonly now?: () => number;
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  readonly minIntervalMs?: number;
  readonly onError?: (pool: string, e: unknown) => void;
}

export class PoolStatusWriter {
  private readonly wanted = new Map<string, PoolStatus>();
  private readonly lastWrite = new Map<string, number>();
  private readonly timers = new Set<string>();
  private readonly inFlight = new Set<string>();
  private stopped = false;
  /** Writes done (tests, metrics). */
  writes = 0;

  constructor(private readonly options: PoolStatusWriterOptions) {}

  /** The allocator's current counts for every pool. */
  update(stats: readonly PoolStats[]): void {
    if (this.stopped) return;
    for (const s of stats) {
      this.wanted.set(s.pool, poolStatusOf(s));
      this.consider(s.pool);
    }
  }

  /** The pool object changed (created, or someone wrote its status): write it if it differs. */
  objectChanged(pool: string): void {
    if (this.wanted.has(pool)) this.consider(pool);
  }

  stop(): void {
    this.stopped = true;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private consider(pool: string): void {
    if (this.stopped || this.timers.has(pool) || this.inFlight.has(pool)) return;
    const want = this.wanted.get(pool);
    const cur = this.options.current(pool);
    if (want === undefined || cur === undefined || sameStatus(cur.status, want)) return;
    const wait = (this.lastWrite.get(pool) ?? -Infinity) + (this.options.minIntervalMs ?? 1000) - this.now();
    if (wait > 0) {
      this.timers.add(pool);
      (this.options.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref()))(() => {
        this.timers.delete(pool);
        this.consider(pool);
      }, wait);
      return;
    }
    this.inFlight.add(pool);
    this.lastWrite.set(pool, this.now());
    this.writes += 1;
    void this.options
      .patch(pool, want)
      .catch((e: unknown) => this.options.onError?.(pool, e))
      .finally(() => {
        this.inFlight.delete(pool);
        // Counts that changed meanwhile (or a failed write) are written after the interval.
        const again = this.wanted.get(pool);
        if (again !== undefined && !sameStatus(want, again)) this.consider(pool);
        else if (this.options.current(pool) !== undefined && !sameStatus(this.options.current(pool)?.status, want)) this.consider(pool);
      });
  }
}
