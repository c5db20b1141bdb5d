// The simulator's CPU-stall model and per-link loss: a stalled node runs nothing until the stall ends
// (timers, packets and streams are held, then replayed), and the stall plan models a CFS quota.
import assert from 'node:assert/strict';
import { makeConfig } from '../src/config.js';
import { SimNetwork, seededRandom } from '../src/sim.js';
import { SOAK_STALLS, stallPlan, type StallModel } from '../src/sim-stall.js';
import { defaultWireOptions } from '../src/wire.js';
import type { Env } from '../src/types.js';

/** Two nodes, converged, with a timer and packet log of node b. */
function pair(seed = 1): { net: SimNetwork; a: ReturnType<SimNetwork['addNode']>; b: ReturnType<SimNetwork['addNode']> } {
  const net = new SimNetwork(seed);
  const wire = defaultWireOptions({ compression: false });
  const a = net.addNode(makeConfig('a', '10.0.0.1', 7946, { wire }));
  const b = net.addNode(makeConfig('b', '10.0.0.2', 7946, { wire }));
  a.start();
  b.start();
  b.join([{ ip: '10.0.0.1', port: 7946 }], () => undefined);
  assert.notEqual(
    net.runUntilCond(() => a.members().length === 2 && b.members().length === 2, 5000),
    null,
  );
  return { net, a, b };
}

/** The Env the simulator gave a node (for timers of our own). */
function envOf(net: SimNetwork, name: string): Env {
  const env = net.envs.get(name);
  assert.ok(env);
  return env;
}

describe('simulated CPU stalls and link loss', () => {
  it("holds a stalled node's timers until the stall ends, then runs them (cancelled ones not)", () => {
    const { net } = pair();
    const env = envOf(net, 'b');
    const fired: Array<[string, number]> = [];
    const t0 = net.now;
    env.setTimer(10, () => fired.push(['x', net.now - t0]));
    const cancelled = env.setTimer(20, () => fired.push(['cancelled', net.now - t0]));
    env.setTimer(500, () => fired.push(['late', net.now - t0]));
    net.stall('b', t0 + 300);
    assert.ok(net.isStalled('b'));
    net.runUntil(t0 + 250);
    assert.deepEqual(fired, [], 'nothing of a stalled node runs');
    cancelled.cancel();
    net.runUntil(t0 + 600);
    assert.deepEqual(fired, [
      ['x', 300],
      ['late', 500],
    ]);
    assert.equal(net.stalledMs.get('b'), 300);
  });

  it('holds packets to a stalled node (none lost): a probe of it is answered only after the stall', () => {
    const { net, b } = pair(2);
    const seen: number[] = [];
    const orig = b.handlePacket.bind(b);
    b.handlePacket = (...args: Parameters<typeof orig>): void => {
      seen.push(net.now);
      orig(...args);
    };
    const t0 = net.now;
    net.stall('b', t0 + 400);
    net.runUntil(t0 + 399);
    assert.deepEqual(seen, [], 'handled during the stall');
    net.runUntil(t0 + 401);
    // a probes b every 80 ms and gossips every 30 ms: all of it arrived and was held.
    assert.ok(seen.length >= 5, `only ${seen.length} packets replayed`);
    assert.ok(seen.every((t) => t === t0 + 400));
  });

  it('a stall longer than the suspicion window gets a node declared dead; the same without the stall does not', () => {
    for (const stallMs of [0, 2000]) {
      const { net } = pair(3);
      const t0 = net.now;
      if (stallMs > 0) net.stall('b', t0 + stallMs);
      net.runUntil(t0 + 3000);
      const deaths = net.events.filter((e) => e.t >= t0 && e.kind === 'leave' && e.node === 'b');
      assert.equal(deaths.length, stallMs > 0 ? 1 : 0, `stall ${stallMs} ms: ${JSON.stringify(deaths)}`);
    }
  });

  it('extends a stall that a longer one overlaps', () => {
    const { net } = pair();
    const fired: number[] = [];
    const t0 = net.now;
    envOf(net, 'b').setTimer(10, () => fired.push(net.now - t0));
    net.stall('b', t0 + 100);
    net.schedule(50, () => net.stall('b', t0 + 200));
    net.runUntil(t0 + 300);
    assert.deepEqual(fired, [200]);
  });

  it('per-link loss drops about 1 - (1 - p)^2 of the datagrams (two links crossed)', () => {
    const net = new SimNetwork(4);
    net.linkLoss = 0.05;
    const wire = defaultWireOptions({ compression: false });
    net.addNode(makeConfig('a', '10.0.0.1', 7946, { wire }));
    const b = net.addNode(makeConfig('b', '10.0.0.2', 7946, { wire }));
    let got = 0;
    b.handlePacket = (): void => {
      got++;
    };
    const env = envOf(net, 'a');
    const sent = 20_000;
    for (let i = 0; i < sent; i++) env.sendPacket('10.0.0.2', 7946, Uint8Array.of(0));
    net.runUntil(100);
    const lost = 1 - got / sent;
    assert.ok(Math.abs(lost - (1 - 0.95 ** 2)) < 0.01, `lost ${lost}`);
  });

  describe('stallPlan (cgroup quota + long stalls)', () => {
    const minute = 60_000;
    const covered = (iv: Array<{ start: number; end: number }>): number => {
      let total = 0;
      let reach = -Infinity;
      for (const s of iv) {
        const from = Math.max(s.start, reach);
        if (s.end > from) total += s.end - from;
        reach = Math.max(reach, s.end);
      }
      return total;
    };

    it('throttles the tail of every quota period', () => {
      const quotaOnly: StallModel = { ...SOAK_STALLS, longPerMinute: 0 };
      const plan = stallPlan(seededRandom(5), quotaOnly, 0, minute);
      assert.ok(plan.length >= 599 && plan.length <= 601, `${plan.length} periods`);
      for (const s of plan) {
        const len = s.end - s.start;
        assert.ok(len <= quotaOnly.throttleMaxMs + 1e-9, `throttled ${len} ms`);
      }
      const share = covered(plan) / minute;
      assert.ok(share > 0.45 && share < 0.6, `stalled ${share} of the time`);
      // Throttled tails end on the period boundaries: gaps between them are at least the run time.
      for (let i = 1; i < plan.length; i++) assert.ok((plan[i] as { start: number }).start - (plan[i - 1] as { end: number }).end >= 100 - 60 - 1e-9);
    });

    it('adds long stalls at the given rate and lengths', () => {
      const longOnly: StallModel = { ...SOAK_STALLS, periodMs: 0, longPerMinute: 3, longMinMs: 200, longMaxMs: 400 };
      const plan = stallPlan(seededRandom(6), longOnly, 0, 100 * minute);
      assert.ok(plan.length > 240 && plan.length < 360, `${plan.length} long stalls in 100 min`);
      assert.ok(plan.every((s) => s.end - s.start >= 200 && s.end - s.start <= 400));
    });

    it('is deterministic for a seed', () => {
      assert.deepEqual(stallPlan(seededRandom(7), SOAK_STALLS, 0, minute), stallPlan(seededRandom(7), SOAK_STALLS, 0, minute));
    });
  });
});
