// Lifeguard's suspicion timer (hashicorp/memberlist suspicion.go): a suspected member is declared dead
// when the timer fires. It starts at the maximum timeout and shrinks towards the minimum as other
// members independently confirm the suspicion (k confirmations reach the minimum). Pure: the clock
// and timers are injected.

/** The part of the memberlist Env a suspicion needs. */
export interface SuspicionClock {
  now(): number;
  setTimer(ms: number, fn: () => void): { cancel(): void };
}

export interface SuspicionTimeouts {
  /** Confirmations wanted before the timeout reaches minMs (0: the timeout is minMs from the start). */
  k: number;
  minMs: number;
  maxMs: number;
}

/**
 * The timeouts for a cluster of `clusterSize` members: min = suspicionMult * probeInterval * (1 +
 * suspicionGrowthPct / 100 * max(0, log10(n) - 1)), max = suspicionMaxTimeoutMult * min, k =
 * suspicionMult - 2 (0 when fewer than k other members could confirm). With suspicionGrowthPct 100 these
 * are Go's (min = suspicionMult * max(1, log10(n)) * probeInterval).
 */
export function suspicionTimeouts(
  cfg: { suspicionMult: number; suspicionGrowthPct: number; suspicionMaxTimeoutMult: number; probeIntervalMs: number },
  clusterSize: number,
): SuspicionTimeouts {
  let k = cfg.suspicionMult - 2;
  if (clusterSize - 2 < k) k = 0;
  const growth = (cfg.suspicionGrowthPct / 100) * Math.max(0, Math.log10(Math.max(1, clusterSize)) - 1);
  const minMs = cfg.suspicionMult * (1 + growth) * cfg.probeIntervalMs;
  return { k, minMs, maxMs: cfg.suspicionMaxTimeoutMult * minMs };
}

/** The timeout after n of k confirmations: from maxMs down to minMs, logarithmically (Go remainingSuspicionTime). */
export function suspicionTimeoutMs(n: number, t: SuspicionTimeouts): number {
  const frac = Math.log(n + 1) / Math.log(t.k + 1);
  return Math.max(t.minMs, Math.floor(t.maxMs - frac * (t.maxMs - t.minMs)));
}

export class Suspicion {
  /** Members that have suspected it so far (the first accuser included). */
  private readonly from: Set<string>;
  private confirmations = 0;
  private readonly start: number;
  private timer: { cancel(): void };

  /** Starts the timer; `fire` runs once when it expires (unless cancelled). */
  constructor(
    from: string,
    private readonly timeouts: SuspicionTimeouts,
    private readonly clock: SuspicionClock,
    private readonly fire: () => void,
  ) {
    this.from = new Set([from]);
    this.start = clock.now();
    this.timer = clock.setTimer(timeouts.k < 1 ? timeouts.minMs : timeouts.maxMs, fire);
  }

  /**
   * An independent suspicion from `from`: shortens the timer. False when it adds nothing (a member
   * already counted, or k reached); only a true result is worth re-gossiping.
   */
  confirm(from: string): boolean {
    if (this.confirmations >= this.timeouts.k || this.from.has(from)) return false;
    this.from.add(from);
    this.confirmations++;
    const remaining = this.start + suspicionTimeoutMs(this.confirmations, this.timeouts) - this.clock.now();
    this.timer.cancel();
    this.timer = this.clock.setTimer(Math.max(0, remaining), this.fire);
    return true;
  }

  cancel(): void {
    this.timer.cancel();
  }
}
