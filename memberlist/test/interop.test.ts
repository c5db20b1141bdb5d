// Interop with a real Go hashicorp/memberlist peer (mlpeer, Debian's memberlist 0.2.2), over loopback.
import assert from 'node:assert/strict';
import { Peer, ensureMlpeer, startGo, startTs } from './procs.js';

const SECRET = 'l2lb-interop-secret'; // MetalLB-derived key: (secret || sha256(""))[:32]
const PORT = 20000 + (process.pid % 20000);
let nextHost = 10;
function addr(): string {
  nextHost = nextHost >= 250 ? 10 : nextHost + 1;
  return `127.0.77.${nextHost}`;
}

describe('memberlist interop with Go mlpeer @integration', function () {
  this.timeout(40_000);
  let peers: Peer[] = [];

  before(function () {
    this.timeout(200_000);
    ensureMlpeer();
  });

  afterEach(async () => {
    for (const p of peers) p.signal('SIGKILL');
    await Promise.all(peers.map((p) => p.waitExit(5000).catch(() => undefined)));
    peers = [];
  });

  function go(o: Parameters<typeof startGo>[0]): Peer {
    const p = startGo(o);
    peers.push(p);
    return p;
  }
  function ts(o: Parameters<typeof startTs>[0]): Peer {
    const p = startTs(o);
    peers.push(p);
    return p;
  }

  for (const secret of [SECRET, undefined]) {
    const mode = secret === undefined ? 'unencrypted' : 'encrypted (MetalLB key)';
    it(`TS joins Go, ${mode}: both list each other`, async () => {
      const a = addr();
      const b = addr();
      const g = go({ name: 'go-a', bind: a, port: PORT, secret });
      await g.waitEvent((e) => e.ev === 'start', 5000, 'start');
      const t = ts({ name: 'ts-b', bind: b, port: PORT, secret, join: `${a}:${PORT}` });
      await t.waitEvent((e) => e.ev === 'joined' && e.contacted === 1, 8000, 'joined');
      await g.waitMembers(['go-a', 'ts-b'], 8000);
      await t.waitMembers(['go-a', 'ts-b'], 8000);
      const gs = g.find((e) => e.ev === 'start');
      assert.equal(gs?.encrypted, secret !== undefined);
    });

    it(`Go joins TS, ${mode}: both list each other`, async () => {
      const a = addr();
      const b = addr();
      const t = ts({ name: 'ts-a', bind: a, port: PORT, secret, meta: 'zone=a' });
      await t.waitEvent((e) => e.ev === 'start', 5000, 'start');
      const g = go({ name: 'go-b', bind: b, port: PORT, secret, join: `${a}:${PORT}` });
      await g.waitEvent((e) => e.ev === 'joined' && e.contacted === 1, 8000, 'joined');
      await g.waitMembers(['ts-a', 'go-b'], 8000);
      await t.waitMembers(['ts-a', 'go-b'], 8000);
      // Our metadata reached Go.
      const j = await g.waitEvent((e) => e.ev === 'join' && e.node?.name === 'ts-a', 1000, 'join of ts-a');
      assert.equal(j.node?.meta, 'zone=a');
    });
  }

  it('Go with ProtocolVersion 1 (encryption v0, PKCS7) joins TS and leaves', async () => {
    const a = addr();
    const b = addr();
    const t = ts({ name: 'ts-p1', bind: a, port: PORT, secret: SECRET });
    await t.waitEvent((e) => e.ev === 'start', 5000, 'start');
    const g = go({ name: 'go-p1', bind: b, port: PORT, secret: SECRET, join: `${a}:${PORT}`, extra: ['--protocol-version', '1'] });
    await g.waitMembers(['ts-p1', 'go-p1'], 8000);
    await t.waitMembers(['ts-p1', 'go-p1'], 8000);
    g.signal('SIGTERM');
    const ev = await t.waitEvent((e) => e.ev === 'leave' && e.node?.name === 'go-p1', 5000, 'leave of go-p1');
    assert.equal(ev.reason, 'left');
  });

  it('IPv6: TS joins Go on ::1, encrypted (16-byte addresses)', async () => {
    const g = go({ name: 'go-v6', bind: '::1', port: PORT + 1, secret: SECRET });
    const gs = await g.waitEvent((e) => e.ev === 'start', 5000, 'start');
    assert.equal(gs.addr_len, 16);
    const t = ts({ name: 'ts-v6', bind: '::1', port: PORT + 2, secret: SECRET, join: `[::1]:${PORT + 1}` });
    await t.waitEvent((e) => e.ev === 'joined' && e.contacted === 1, 8000, 'joined');
    await g.waitMembers(['go-v6', 'ts-v6'], 8000);
    await t.waitMembers(['go-v6', 'ts-v6'], 8000);
    const j = await g.waitEvent((e) => e.ev === 'join' && e.node?.name === 'ts-v6', 1000, 'join of ts-v6');
    assert.equal(j.node?.addr, '::1');
  });

  it('SIGKILL of the Go node is detected by the TS node (fast profile)', async () => {
    const a = addr();
    const b = addr();
    const g = go({ name: 'go-k', bind: a, port: PORT, secret: SECRET });
    await g.waitEvent((e) => e.ev === 'start', 5000, 'start');
    const t = ts({ name: 'ts-k', bind: b, port: PORT, secret: SECRET, join: `${a}:${PORT}` });
    await t.waitMembers(['go-k', 'ts-k'], 8000);
    const killedAt = performance.now();
    g.signal('SIGKILL');
    // Deadline well below Go's own detection time (~5 s); the benchmark measures the real figure.
    const ev = await t.waitEvent((e) => e.ev === 'leave' && e.node?.name === 'go-k', 4000, 'leave of go-k');
    assert.equal(ev.reason, 'dead');
    assert.ok(ev.at - killedAt < 4000);
  });

  it('SIGKILL of the TS node is detected by the Go node (Go LAN defaults)', async () => {
    const a = addr();
    const b = addr();
    const g = go({ name: 'go-k2', bind: a, port: PORT, secret: SECRET });
    await g.waitEvent((e) => e.ev === 'start', 5000, 'start');
    const t = ts({ name: 'ts-k2', bind: b, port: PORT, secret: SECRET, join: `${a}:${PORT}` });
    await g.waitMembers(['go-k2', 'ts-k2'], 8000);
    t.signal('SIGKILL');
    await g.waitEvent((e) => e.ev === 'leave' && e.node?.name === 'ts-k2', 25_000, 'leave (dead) of ts-k2');
  });

  it('SIGTERM leave is seen as a leave both ways', async () => {
    const a = addr();
    const b = addr();
    const c = addr();
    const g = go({ name: 'go-l', bind: a, port: PORT, secret: SECRET });
    await g.waitEvent((e) => e.ev === 'start', 5000, 'start');
    const t1 = ts({ name: 'ts-l1', bind: b, port: PORT, secret: SECRET, join: `${a}:${PORT}` });
    const t2 = ts({ name: 'ts-l2', bind: c, port: PORT, secret: SECRET, join: `${a}:${PORT}` });
    await g.waitMembers(['go-l', 'ts-l1', 'ts-l2'], 10_000);
    await t1.waitMembers(['go-l', 'ts-l1', 'ts-l2'], 10_000);
    // TS leaves: Go and the other TS see it leave, promptly (not after a failure-detection timeout).
    const t0 = performance.now();
    t2.signal('SIGTERM');
    // Within 4 s: a failure detection by Go would take >= 5 s, so this is the graceful leave.
    const ge = await g.waitEvent((e) => e.ev === 'leave' && e.node?.name === 'ts-l2', 4000, 'Go sees ts-l2 leave');
    assert.ok(ge.at - t0 < 4000);
    assert.equal(await t2.waitExit(5000), 0);
    assert.ok(t2.find((e) => e.ev === 'exit'));
    // Go leaves: the TS node records a graceful leave, not a death.
    g.signal('SIGTERM');
    const te = await t1.waitEvent((e) => e.ev === 'leave' && e.node?.name === 'go-l', 5000, 'TS sees go-l leave');
    assert.equal(te.reason, 'left');
  });

  it('a 3-node mixed cluster (Go, TS, TS) converges', async () => {
    const a = addr();
    const b = addr();
    const c = addr();
    const t1 = ts({ name: 'ts-m1', bind: a, port: PORT, secret: SECRET });
    await t1.waitEvent((e) => e.ev === 'start', 5000, 'start');
    const g = go({ name: 'go-m', bind: b, port: PORT, secret: SECRET, join: `${a}:${PORT}` });
    await g.waitEvent((e) => e.ev === 'joined' && e.contacted === 1, 8000, 'Go joined');
    // The second TS node only knows the Go node.
    const t2 = ts({ name: 'ts-m2', bind: c, port: PORT, secret: SECRET, join: `${b}:${PORT}` });
    const all = ['ts-m1', 'go-m', 'ts-m2'];
    await Promise.all([g.waitMembers(all, 10_000), t1.waitMembers(all, 10_000), t2.waitMembers(all, 10_000)]);
  });

  it('a wrong key is rejected on both sides', async () => {
    const a = addr();
    const b = addr();
    const c = addr();
    const d = addr();
    // TS (wrong key) -> Go.
    const g = go({ name: 'go-w', bind: a, port: PORT, secret: SECRET });
    await g.waitEvent((e) => e.ev === 'start', 5000, 'start');
    const t = ts({ name: 'ts-w', bind: b, port: PORT, secret: 'another-secret', join: `${a}:${PORT}` });
    const tj = await t.waitEvent((e) => e.ev === 'joined', 8000, 'TS join result');
    assert.equal(tj.contacted, 0);
    assert.match(String(tj.err), /decrypt|remote error/i);
    // Go (wrong key) -> TS.
    const t2 = ts({ name: 'ts-w2', bind: c, port: PORT, secret: SECRET });
    await t2.waitEvent((e) => e.ev === 'start', 5000, 'start');
    const g2 = go({ name: 'go-w2', bind: d, port: PORT, secret: 'another-secret', join: `${c}:${PORT}` });
    const gj = await g2.waitEvent((e) => e.ev === 'joined', 8000, 'Go join result');
    assert.equal(gj.contacted, 0);
    assert.match(String(gj.err), /decrypt|No installed keys/i);
    // Nobody ever listed a node from the other key.
    await t2.waitEvent((e) => e.ev === 'members', 3000, 'members');
    assert.ok(!t2.events.some((e) => e.ev === 'join' && e.node?.name === 'go-w2'));
    assert.ok(!g.events.some((e) => e.ev === 'join' && e.node?.name === 'ts-w'));
  });
});
