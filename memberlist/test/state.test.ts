// State-machine rules from memberlist's state.go, checked by injecting packets into one node and
// decoding what it sends.
import assert from 'node:assert/strict';
import { makeConfig } from '../src/config.js';
import { Env, Memberlist, Timer } from '../src/memberlist.js';
import { OUR_VSN, PacketMsg, encodeMsg } from '../src/messages.js';
import { decodePacket, encodePacket } from '../src/packet.js';
import { defaultWireOptions } from '../src/wire.js';

interface Sent {
  ip: string;
  port: number;
  msgs: PacketMsg[];
}

function harness(): { ml: Memberlist; sent: Sent[]; advance: (ms: number) => void; inject: (...m: PacketMsg[]) => void } {
  let now = 0;
  const timers: Array<{ t: number; fn: () => void; dead: boolean }> = [];
  const sent: Sent[] = [];
  const wire = defaultWireOptions({ compression: false });
  const env: Env = {
    now: () => now,
    setTimer: (ms, fn): Timer => {
      const e = { t: now + ms, fn, dead: false };
      timers.push(e);
      return {
        cancel: () => {
          e.dead = true;
        },
      };
    },
    random: () => 0.5,
    sendPacket: (ip, port, data) => {
      sent.push({ ip, port, msgs: decodePacket(data, wire).msgs });
    },
    sendStream: (_ip, _port, _d, _t, _p, done) => done({ error: 'no streams here' }),
  };
  const ml = new Memberlist(makeConfig('me', '10.0.0.1', 7946, { wire }), env);
  ml.start();
  const advance = (ms: number): void => {
    const end = now + ms;
    for (;;) {
      timers.sort((a, b) => a.t - b.t);
      const i = timers.findIndex((x) => !x.dead && x.t <= end);
      if (i < 0) break;
      const e = timers.splice(i, 1)[0]!;
      now = e.t;
      e.fn();
    }
    now = end;
  };
  const inject = (...m: PacketMsg[]): void => ml.handlePacket(encodePacket(m.map(encodeMsg), wire), '10.0.0.2', 7946);
  return { ml, sent, advance, inject };
}

const peerAlive = (inc: number, vsn: Uint8Array = OUR_VSN): PacketMsg => ({
  type: 'alive',
  msg: { node: 'peer', incarnation: inc, addr: Uint8Array.from([10, 0, 0, 2]), port: 7946, meta: null, vsn },
});

function broadcastsAbout(sent: Sent[], name: string, type: PacketMsg['type']): PacketMsg[] {
  return sent.flatMap((s) => s.msgs).filter((m) => m.type === type && 'node' in m.msg && m.msg.node === name);
}

describe('memberlist state rules', () => {
  it('answers a ping addressed to it at SourceAddr:SourcePort, ignores one for another name', () => {
    const h = harness();
    h.inject({ type: 'ping', msg: { seqNo: 9, node: 'me', sourceAddr: Uint8Array.from([10, 0, 0, 9]), sourcePort: 1234, sourceNode: 'x' } });
    const ack = h.sent.find((s) => s.msgs.some((m) => m.type === 'ackResp' && m.msg.seqNo === 9));
    assert.ok(ack);
    assert.equal(ack.ip, '10.0.0.9');
    assert.equal(ack.port, 1234);
    h.inject({ type: 'ping', msg: { seqNo: 10, node: 'someone-else', sourceAddr: null, sourcePort: 0, sourceNode: '' } });
    assert.ok(!h.sent.some((s) => s.msgs.some((m) => m.type === 'ackResp' && m.msg.seqNo === 10)));
    assert.equal(h.ml.drops.get('ping_wrong_node'), 1);
  });

  it('drops an alive with a short Vsn (which would crash a Go peer) and never re-gossips it', () => {
    const h = harness();
    h.inject(peerAlive(1, Uint8Array.from([1, 5, 2])));
    assert.equal(h.ml.node('peer'), undefined);
    assert.equal(h.ml.drops.get('bad_vsn'), 1);
  });

  it('accepts a strictly newer incarnation only', () => {
    const h = harness();
    h.inject(peerAlive(3));
    assert.equal(h.ml.node('peer')?.incarnation, 3);
    h.inject({ type: 'suspect', msg: { node: 'peer', incarnation: 3, from: 'z' } });
    assert.equal(h.ml.node('peer')?.state, 'suspect');
    h.inject(peerAlive(3));
    assert.equal(h.ml.node('peer')?.state, 'suspect', 'equal incarnation must not clear a suspicion');
    h.inject(peerAlive(4));
    assert.equal(h.ml.node('peer')?.state, 'alive');
  });

  it('refutes a suspicion of itself with a higher incarnation', () => {
    const h = harness();
    h.inject({ type: 'suspect', msg: { node: 'me', incarnation: 7, from: 'peer' } });
    assert.equal(h.ml.node('me')?.incarnation, 8);
    assert.equal(h.ml.node('me')?.state, 'alive');
    assert.equal(h.ml.healthScore(), 1);
    h.inject(peerAlive(1));
    h.advance(200);
    const alives = broadcastsAbout(h.sent, 'me', 'alive');
    assert.ok(alives.length > 0 && alives.every((m) => m.type === 'alive' && m.msg.incarnation === 8 && m.msg.vsn?.length === 6));
  });

  it('answers a suspicion of itself at an older incarnation with its current alive (an accuser that missed the refutation)', () => {
    const h = harness();
    h.inject({ type: 'suspect', msg: { node: 'me', incarnation: 7, from: 'peer' } });
    assert.equal(h.ml.node('me')?.incarnation, 8);
    h.inject(peerAlive(1));
    h.advance(1000); // the refutation's retransmits are spent
    const before = h.sent.length;
    // An accuser whose copy of us is still at 7 (the refutation was lost on its way): its suspicion is
    // stale, and without our current alive it would declare us dead when its timer ran out.
    h.inject({ type: 'suspect', msg: { node: 'me', incarnation: 7, from: 'peer' } });
    h.advance(200);
    const alives = broadcastsAbout(h.sent.slice(before), 'me', 'alive');
    assert.ok(alives.length > 0, 'no alive re-sent');
    assert.ok(
      alives.every((m) => m.type === 'alive' && m.msg.incarnation === 8),
      'a stale accusation must not raise the incarnation',
    );
    assert.equal(h.ml.node('me')?.incarnation, 8);
  });

  it('refutes a death of itself; marks dead with From == Node as left', () => {
    const h = harness();
    h.inject({ type: 'dead', msg: { node: 'me', incarnation: 1, from: 'peer' } });
    assert.equal(h.ml.node('me')?.state, 'alive');
    assert.equal(h.ml.node('me')?.incarnation, 2);
    h.inject(peerAlive(1));
    h.inject({ type: 'dead', msg: { node: 'peer', incarnation: 1, from: 'peer' } });
    assert.equal(h.ml.node('peer')?.state, 'left');
  });

  it('ignores an alive that moves a live node to another address', () => {
    const h = harness();
    h.inject(peerAlive(1));
    h.inject({ type: 'alive', msg: { node: 'peer', incarnation: 5, addr: Uint8Array.from([10, 0, 0, 99]), port: 7946, meta: null, vsn: OUR_VSN } });
    assert.equal(h.ml.node('peer')?.addr, '10.0.0.2');
    assert.equal(h.ml.drops.get('address_conflict'), 1);
  });

  it('suspects an unresponsive node, then declares it dead after the suspicion timeout', () => {
    const h = harness();
    h.inject(peerAlive(1));
    h.advance(200); // first probe at 50 ms, deadline one probe interval later
    assert.equal(h.ml.node('peer')?.state, 'suspect');
    // Suspicion timeout for n = 2 with the fast profile: 4 * 80 ms (k = 0: no one else to confirm).
    h.advance(100);
    assert.equal(h.ml.node('peer')?.state, 'suspect', 'dead before the 320 ms suspicion window ran out');
    h.advance(300);
    assert.equal(h.ml.node('peer')?.state, 'dead');
    assert.ok(broadcastsAbout(h.sent, 'peer', 'dead').length > 0);
  });
});

describe('memberlist metrics', () => {
  it('exposes members, health and drops to prom-client', async () => {
    const { Registry } = await import('prom-client');
    const { registerMemberlistMetrics } = await import('../src/metrics.js');
    const h = harness();
    const reg = new Registry();
    registerMemberlistMetrics(reg, h.ml);
    h.inject(peerAlive(1, Uint8Array.from([1, 5, 2])));
    h.inject(peerAlive(2));
    const text = await reg.metrics();
    assert.match(text, /l2lb_memberlist_members\{state="alive"\} 2/);
    assert.match(text, /l2lb_memberlist_dropped_total\{reason="bad_vsn"\} 1/);
    assert.match(text, /l2lb_memberlist_health_score 0/);
  });
});
