// Lifeguard's suspicion timer on its own, on a hand-driven clock.
import assert from 'node:assert/strict';
import { Suspicion, suspicionTimeoutMs, suspicionTimeouts, type SuspicionClock } from '../src/suspicion.js';

/** Timers that run only when the test moves the clock. */
class ManualClock implements SuspicionClock {
  private time = 0;
  private timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  now(): number {
    return this.time;
  }
  setTimer(ms: number, fn: () => void): { cancel(): void } {
    const t = { at: this.time + ms, fn, cancelled: false };
    this.timers.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }
  /** Moves to `to`, firing due timers in order. */
  advanceTo(to: number): void {
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= to).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.time = due.at;
      due.cancelled = true;
      due.fn();
    }
    this.time = to;
  }
}

/** Starts a suspicion at `start` and records when it fires. */
function suspect(clock: ManualClock, timeouts: { k: number; minMs: number; maxMs: number }): { s: Suspicion; firedAt: number[] } {
  const firedAt: number[] = [];
  const s = new Suspicion('accuser', timeouts, clock, () => firedAt.push(clock.now()));
  return { s, firedAt };
}

describe('memberlist suspicion', () => {
  it("computes Go's timeouts from the cluster size", () => {
    const lan = { suspicionMult: 4, suspicionGrowthPct: 100, suspicionMaxTimeoutMult: 6, probeIntervalMs: 1000 };
    assert.deepEqual(suspicionTimeouts(lan, 3), { k: 0, minMs: 4000, maxMs: 24000 }, 'fewer than k others to confirm: k = 0');
    assert.deepEqual(suspicionTimeouts(lan, 4), { k: 2, minMs: 4000, maxMs: 24000 });
    assert.deepEqual(suspicionTimeouts(lan, 100), { k: 2, minMs: 8000, maxMs: 48000 }, 'min grows with log10(n)');
    assert.deepEqual(suspicionTimeouts(lan, 0), { k: 0, minMs: 4000, maxMs: 24000 });
  });

  it('grows the minimum past 10 members by suspicionGrowthPct of log10(n) - 1: 100 is Go, 0 is none', () => {
    const t = { suspicionMult: 4, suspicionMaxTimeoutMult: 3, probeIntervalMs: 100 };
    for (const suspicionGrowthPct of [0, 25, 100])
      for (const n of [1, 4, 10]) assert.equal(suspicionTimeouts({ ...t, suspicionGrowthPct }, n).minMs, 400, `${suspicionGrowthPct} % at ${n}`);
    // log10(1000) - 1 = 2: the minimum is 400 * (1 + 2 * growth).
    assert.deepEqual(suspicionTimeouts({ ...t, suspicionGrowthPct: 0 }, 1000), { k: 2, minMs: 400, maxMs: 1200 });
    assert.deepEqual(suspicionTimeouts({ ...t, suspicionGrowthPct: 25 }, 1000), { k: 2, minMs: 600, maxMs: 1800 });
    assert.deepEqual(suspicionTimeouts({ ...t, suspicionGrowthPct: 100 }, 1000), { k: 2, minMs: 1200, maxMs: 3600 });
  });

  it('without confirmations to wait for (k = 0) fires after the minimum, and confirmations change nothing', () => {
    const clock = new ManualClock();
    const { s, firedAt } = suspect(clock, { k: 0, minMs: 160, maxMs: 160 });
    assert.equal(s.confirm('other'), false);
    clock.advanceTo(159);
    assert.deepEqual(firedAt, []);
    clock.advanceTo(1000);
    assert.deepEqual(firedAt, [160]);
  });

  it('starts at the maximum and each new accuser shortens it, down to the minimum after k', () => {
    const clock = new ManualClock();
    const timeouts = { k: 3, minMs: 1000, maxMs: 6000 };
    const { s, firedAt } = suspect(clock, timeouts);
    assert.equal(suspicionTimeoutMs(0, timeouts), 6000);
    assert.equal(suspicionTimeoutMs(3, timeouts), 1000);
    clock.advanceTo(100);
    assert.equal(s.confirm('accuser'), false, 'the first accuser is already counted');
    assert.equal(s.confirm('b'), true);
    assert.equal(s.confirm('b'), false, 'one member confirms once');
    // After 1 of 3: max - log(2)/log(4) * (max - min) = 6000 - 2500 = 3500, from the start.
    assert.equal(suspicionTimeoutMs(1, timeouts), 3500);
    clock.advanceTo(3499);
    assert.deepEqual(firedAt, []);
    assert.equal(s.confirm('c'), true);
    assert.equal(s.confirm('d'), true);
    assert.equal(s.confirm('e'), false, 'k reached');
    // The minimum (1000 ms) has passed already: it fires at once.
    clock.advanceTo(3499);
    assert.deepEqual(firedAt, [3499]);
    clock.advanceTo(10_000);
    assert.deepEqual(firedAt, [3499], 'fires once');
  });

  it('without confirmations fires at the maximum; cancel stops it', () => {
    const clock = new ManualClock();
    const { firedAt } = suspect(clock, { k: 2, minMs: 500, maxMs: 3000 });
    clock.advanceTo(2999);
    assert.deepEqual(firedAt, []);
    clock.advanceTo(3000);
    assert.deepEqual(firedAt, [3000]);
    const cancelled = suspect(clock, { k: 2, minMs: 500, maxMs: 3000 });
    cancelled.s.confirm('x');
    cancelled.s.cancel();
    clock.advanceTo(100_000);
    assert.deepEqual(cancelled.firedAt, []);
  });
});
