// Rate limit for "dropped input" log lines. Every drop is counted exactly (Memberlist.drops, the
// dropped_total metric); the log only needs to say that a kind of bad input is arriving from somewhere,
// and a flood of hostile packets must not turn into a flood of synchronous log writes on the event loop.

export interface LimitVerdict {
  /** Write this one. */
  log: boolean;
  /** Drops with the same key not logged since the last line that was written (reported with it). */
  suppressed: number;
}

interface Slot {
  loggedAt: number;
  suppressed: number;
}

/** Key used when the table is full, so a spray of source addresses cannot grow it without bound. */
export const OVERFLOW_SOURCE = '*';

/**
 * At most one line per (reason, source) per window; the line after a quiet period carries the count of
 * suppressed ones. The table holds at most maxKeys entries; beyond that, sources share one key per
 * reason. Pure: the clock is injected.
 */
export class DropLogLimiter {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {}

  admit(reason: string, source: string): LimitVerdict {
    const t = this.now();
    let key = `${reason}\u0000${source}`;
    let slot = this.slots.get(key);
    if (slot === undefined && this.slots.size >= this.maxKeys) {
      this.expire(t);
      if (this.slots.size >= this.maxKeys) {
        key = `${reason}\u0000${OVERFLOW_SOURCE}`;
        slot = this.slots.get(key);
      }
    }
    if (slot === undefined) {
      this.slots.set(key, { loggedAt: t, suppressed: 0 });
      return { log: true, suppressed: 0 };
    }
    if (t - slot.loggedAt >= this.windowMs) {
      const suppressed = slot.suppressed;
      slot.loggedAt = t;
      slot.suppressed = 0;
      return { log: true, suppressed };
    }
    slot.suppressed++;
    return { log: false, suppressed: slot.suppressed };
  }

  /** Entries in the table (for tests). */
  size(): number {
    return this.slots.size;
  }

  /** Forget keys quiet for a whole window with nothing suppressed (nothing left to report). */
  private expire(t: number): void {
    for (const [k, s] of this.slots) {
      if (t - s.loggedAt >= this.windowMs && s.suppressed === 0) this.slots.delete(k);
    }
  }
}
