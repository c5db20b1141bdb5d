// Virtual-time simulations of the state machine: convergence, failure detection, loss tolerance,
// graceful leave, refutation and partitions. Deterministic (seeded), seconds of real time.
import assert from 'node:assert/strict';
import { MemberlistConfig, ProfileName, makeConfig } from '../src/config.js';
import { Memberlist } from '../src/memberlist.js';
import { SimNetwork } from '../src/sim.js';
import { defaultWireOptions } from '../src/wire.js';

function ipOf(i: number): string {
  return `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

function build(n: number, prof: ProfileName, seed: number, over: Partial<MemberlistConfig> = {}): { net: SimNetwork; ml: Memberlist[] } {
  const net = new SimNetwork(seed);
  const ml: Memberlist[] = [];
  for (let i = 0; i < n; i++) {
    ml.push(net.addNode(makeConfig(`node-${i}`, ipOf(i), 7946, { wire: defaultWireOptions({ compression: false }), ...over }, prof)));
  }
  return { net, ml };
}

function startAndJoin(net: SimNetwork, ml: Memberlist[], staggerMs = 10): void {
  ml.forEach((m, i) => {
    net.schedule(i * staggerMs, () => {
      m.start();
      if (i > 0) m.join([{ ip: ipOf(Math.floor(net.rand() * i)), port: 7946 }], () => undefined);
    });
  });
}

function aliveCount(m: Memberlist): number {
  return m.members().filter((x) => x.state === 'alive').length;
}

describe('memberlist simulation (virtual time)', function () {
  this.timeout(60_000);

  it('50 nodes converge after joins (fast profile)', () => {
    const { net, ml } = build(50, 'fast', 11);
    startAndJoin(net, ml);
    const t = net.runUntilCond(() => ml.every((m) => aliveCount(m) === 50), 60_000);
    assert.notEqual(t, null, `not converged: ${ml.map(aliveCount).join(',')}`);
    // No one was ever declared dead along the way.
    assert.deepEqual(
      net.events.filter((e) => e.kind === 'leave'),
      [],
    );
  });

  it('50 nodes converge after joins (lan profile)', () => {
    const { net, ml } = build(50, 'lan', 12);
    startAndJoin(net, ml);
    const t = net.runUntilCond(() => ml.every((m) => aliveCount(m) === 50), 120_000);
    assert.notEqual(t, null, `not converged: ${ml.map(aliveCount).join(',')}`);
  });

  for (const prof of ['fast', 'lan'] as const) {
    it(`a killed node is declared dead by all (${prof}, 20 nodes)`, () => {
      const { net, ml } = build(20, prof, 21);
      startAndJoin(net, ml);
      assert.notEqual(
        net.runUntilCond(() => ml.every((m) => aliveCount(m) === 20), 60_000),
        null,
      );
      net.runUntil(net.now + 2000);
      const victim = 'node-7';
      const killedAt = net.now;
      net.kill(victim);
      const survivors = ml.filter((m) => m.cfg.name !== victim);
      const t = net.runUntilCond(() => survivors.every((m) => m.node(victim)?.state === 'dead'), 120_000);
      assert.notEqual(t, null, 'not every survivor declared the killed node dead');
      const took = (t as number) - killedAt;
      if (prof === 'fast') assert.ok(took < 1500, `fast detection took ${took} ms`);
      else assert.ok(took > 3000, `lan detection took only ${took} ms`);
      console.log(`      ${prof}: all 19 survivors declared the killed node dead after ${took.toFixed(0)} ms (virtual)`);
      // Nobody else was declared dead.
      const wrong = net.events.filter((e) => e.kind === 'leave' && e.node !== victim);
      assert.deepEqual(wrong, []);
    });
  }

  for (const disableTcpPings of [false, true])
    it(`5 % random loss for 10 simulated minutes: fast declares no live node dead (10 nodes${disableTcpPings ? ', UDP only' : ''})`, () => {
      const { net, ml } = build(10, 'fast', 31, { disableTcpPings });
      startAndJoin(net, ml);
      assert.notEqual(
        net.runUntilCond(() => ml.every((m) => aliveCount(m) === 10), 30_000),
        null,
      );
      net.loss = 0.05;
      net.runUntil(net.now + 10 * 60_000);
      const deaths = net.events.filter((e) => e.kind === 'leave');
      const suspicions = net.events.filter((e) => e.kind === 'suspect').length;
      assert.deepEqual(deaths, [], `false positives: ${JSON.stringify(deaths.slice(0, 5))}`);
      assert.ok(ml.every((m) => aliveCount(m) === 10));
      // The loss is real: some probes failed and were refuted.
      // The loss is real: some UDP probes failed and were rescued by TCP fallback, or suspected and refuted.
      const rescued = ml.reduce((acc, m) => acc + (m.drops.get('udp_probe_failed_tcp_ok') ?? 0), 0);
      assert.ok(suspicions + rescued > 0, 'expected failed probes under loss');
      console.log(`      ${rescued} probes rescued by TCP ping, ${suspicions} suspicions raised and refuted, ${net.packets} packets sent`);
    });

  it('graceful leave is seen as left (not dead) by everyone', () => {
    const { net, ml } = build(8, 'fast', 41);
    startAndJoin(net, ml);
    assert.notEqual(
      net.runUntilCond(() => ml.every((m) => aliveCount(m) === 8), 30_000),
      null,
    );
    let done = false;
    ml[3]!.leave(2000, () => {
      done = true;
    });
    const t = net.runUntilCond(() => done && ml.every((m, i) => i === 3 || m.node('node-3')?.state === 'left'), 10_000);
    assert.notEqual(t, null);
    const reasons = net.events.filter((e) => e.kind === 'leave' && e.node === 'node-3' && e.observer !== 'node-3').map((e) => e.reason);
    assert.equal(reasons.length, 7);
    assert.ok(reasons.every((r) => r === 'left'));
  });

  it('a partitioned node is declared dead, then rejoins by refuting with a higher incarnation', () => {
    const { net, ml } = build(6, 'fast', 51);
    startAndJoin(net, ml);
    assert.notEqual(
      net.runUntilCond(() => ml.every((m) => aliveCount(m) === 6), 30_000),
      null,
    );
    net.partition = (a, b) => (a === 'node-2') !== (b === 'node-2');
    assert.notEqual(
      net.runUntilCond(() => ml.every((m, i) => i === 2 || m.node('node-2')?.state === 'dead'), 10_000),
      null,
    );
    net.partition = null;
    // Periodic push/pull (15 s) heals: node-2 learns it was declared dead and refutes.
    const t = net.runUntilCond(() => ml.every((m) => aliveCount(m) === 6), 60_000);
    assert.notEqual(t, null, `not healed: ${ml.map(aliveCount).join(',')}`);
    assert.ok((ml[2]!.node('node-2')?.incarnation ?? 0) > 1);
  });

  for (const [label, side] of [
    ['{n0} | {n1, n2}', ['node-0']],
    ['{n0, n1} | {n2}', ['node-2']],
  ] as Array<[string, string[]]>) {
    it(`a 4 s split ${label} of 3 nodes heals within 1 s (push/pull with recently-dead members), fast`, () => {
      const { net, ml } = build(3, 'fast', 71);
      startAndJoin(net, ml);
      assert.notEqual(
        net.runUntilCond(() => ml.every((m) => aliveCount(m) === 3), 30_000),
        null,
      );
      net.partition = (a, b) => side.includes(a) !== side.includes(b);
      // Both sides declare the other dead (the split brain the speakers see).
      assert.notEqual(
        net.runUntilCond(() => ml.every((m) => m.members().length < 3), 4_000),
        null,
        'both sides see the other dead',
      );
      net.runUntil(net.now + 4_000 - (net.now % 4_000));
      net.partition = null;
      const healedAt = net.now;
      const t = net.runUntilCond(() => ml.every((m) => aliveCount(m) === 3), 60_000);
      assert.notEqual(t, null, `not healed in 60 s: ${ml.map(aliveCount).join(',')}`);
      const ms = (t as number) - healedAt;
      console.log(`      merged ${ms.toFixed(0)} ms (virtual) after the heal`);
      assert.ok(ms <= 1000, `membership merged ${ms.toFixed(0)} ms after the heal (want <= 1000)`);
    });
  }

  it('metadata updates reach every node as update events', () => {
    const { net, ml } = build(5, 'fast', 61);
    startAndJoin(net, ml);
    assert.notEqual(
      net.runUntilCond(() => ml.every((m) => aliveCount(m) === 5), 30_000),
      null,
    );
    ml[1]!.updateMeta(new TextEncoder().encode('zone=b'));
    const t = net.runUntilCond(() => ml.every((m) => Buffer.from(m.node('node-1')?.meta ?? []).toString() === 'zone=b'), 5_000);
    assert.notEqual(t, null);
    // Every node, node-1 itself included (as Go does), reports the update once.
    assert.equal(net.events.filter((e) => e.kind === 'update' && e.node === 'node-1').length, 5);
  });
});

describe('memberlist address helpers', () => {
  it('formats and parses IPs as Go sends them', async () => {
    const { bytesToIp, ipToBytes } = await import('../src/memberlist.js');
    assert.equal(bytesToIp(ipToBytes('::1')), '::1');
    assert.equal(bytesToIp(ipToBytes('fd00::1')), 'fd00::1');
    assert.equal(bytesToIp(ipToBytes('2001:db8:0:1:0:0:0:5')), '2001:db8:0:1::5');
    assert.equal(bytesToIp(ipToBytes('10.1.2.3')), '10.1.2.3');
    assert.equal(ipToBytes('10.1.2.3').length, 4);
    assert.equal(bytesToIp(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 3])), '10.0.0.3');
    assert.equal(bytesToIp(Uint8Array.from([1, 2, 3])), null);
  });
});
