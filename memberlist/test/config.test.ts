// Profile settings must mean what they say: no setting that the state machine can never apply; and
// the suspicion windows each profile is meant to give at a size.
import assert from 'node:assert/strict';
import { FAST, LAN, Timings } from '../src/config.js';
import { suspicionTimeouts } from '../src/suspicion.js';

describe('memberlist profiles', () => {
  for (const [name, t] of [
    ['fast', FAST],
    ['lan', LAN],
  ] as Array<[string, Timings]>) {
    it(`${name}: suspicionMaxTimeoutMult only differs from 1 when Lifeguard confirmations exist (k = suspicionMult - 2 >= 1)`, () => {
      const k = t.suspicionMult - 2;
      if (k < 1) assert.equal(t.suspicionMaxTimeoutMult, 1, `${name} has k = ${k}: the upper suspicion timeout never applies`);
      else assert.ok(t.suspicionMaxTimeoutMult >= 1);
    });
  }

  it('fast keeps its suspicion timeouts up to 10 members (the lab and simulated soaks were tuned there)', () => {
    for (let n = 0; n <= 10; n++) assert.deepEqual(suspicionTimeouts(FAST, n), { k: n >= 4 ? 2 : 0, minMs: 320, maxMs: 960 }, `${n} members`);
  });

  it('fast at 250 members: the lower suspicion timeout leaves room to detect a death everywhere within 1 s', () => {
    // Past the lower timeout, the first failed probe and spreading the death took up to ~430 ms at 250
    // members in the scale simulation (20 kills); Go's log10 growth (767 ms) put the slowest kill at 1.2 s.
    const t = suspicionTimeouts(FAST, 250);
    assert.ok(t.minMs <= 550, `lower suspicion timeout at 250 members ${t.minMs.toFixed(0)} ms`);
  });

  it('fast at 50 members keeps the window a stalled member needs to refute before the cluster hears of it', () => {
    // 376-398 ms at 50 members let a stalled member be declared dead by up to 49 others in the simulated
    // soak (5 of 50 stalled, 5 % loss); 432 ms and more did not (docs/decisions.md).
    const t = suspicionTimeouts(FAST, 50);
    assert.ok(t.minMs >= 430, `lower suspicion timeout at 50 members ${t.minMs.toFixed(0)} ms`);
    assert.ok(suspicionTimeouts(FAST, 250).minMs >= t.minMs, 'and does not shrink with size');
  });

  it("lan keeps Go's suspicion timeouts at every size", () => {
    for (const n of [3, 10, 50, 250, 1000]) {
      const t = suspicionTimeouts(LAN, n);
      const goMin = LAN.suspicionMult * Math.max(1, Math.log10(n)) * LAN.probeIntervalMs;
      assert.ok(Math.abs(t.minMs - goMin) < 1e-6, `${n} members: ${t.minMs} vs ${goMin}`);
      assert.ok(Math.abs(t.maxMs - LAN.suspicionMaxTimeoutMult * goMin) < 1e-6);
    }
  });
});
