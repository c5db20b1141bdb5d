import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ipBytesToText } from '@l2lb/shared/ip';
import { Announcer, type ConflictEvent } from '../../src/l2/announcer.js';
import { selectInterfaces } from '../../src/l2/interfaces.js';
import {
  ARP_REPLY,
  ARP_REQUEST,
  buildArpFrame,
  buildArpReply,
  buildGratuitousArp,
  buildNeighborSolicit,
  buildUnsolicitedAdvert,
  BROADCAST_MAC,
  decodeFrame,
  macToString,
  parseIp,
  parseMac,
  ZERO_MAC,
  type Decoded,
} from '../../src/l2/index.js';
import { FakeNet, FakeTimers, iface } from './fakes.js';
import { Registry } from 'prom-client';
import { registerAnnouncerMetrics } from '../../src/l2/metrics.js';

const NODE_MAC = '02:00:00:00:00:a1';
const CLIENT = parseMac('02:00:00:00:00:c1');
const OTHER_NODE = parseMac('02:00:00:00:00:a2');

function setup(opts: { garpCount?: number; refreshIntervalMs?: number; interfaces?: string[]; arpReflex?: boolean } = {}) {
  const net = new FakeNet();
  net.ifaces = [iface('n0', 2, NODE_MAC, { addresses: [{ family: 4, address: '10.77.0.2' }] })];
  const timers = new FakeTimers();
  const conflicts: ConflictEvent[] = [];
  const a = new Announcer({
    socketFactory: net.factory,
    listInterfaces: net.list,
    timers,
    now: () => timers.now,
    garpCount: opts.garpCount ?? 5,
    refreshIntervalMs: opts.refreshIntervalMs ?? 0,
    interfaces: opts.interfaces,
    arpReflex: opts.arpReflex,
  });
  a.on('conflict', (c) => conflicts.push(c));
  a.start();
  return { net, timers, a, conflicts };
}

function arpRequest(tpa: string, spa = '10.77.0.1', sha = CLIENT): Buffer {
  return buildArpFrame(BROADCAST_MAC, sha, { op: ARP_REQUEST, sha, spa: parseIp(spa), tha: ZERO_MAC, tpa: parseIp(tpa) });
}

function dec(f: Buffer | undefined): Decoded {
  assert.ok(f, 'a frame was sent');
  const r = decodeFrame(f);
  if (!r.ok) assert.fail(`sent frame does not decode: ${r.message}`);
  return r.value;
}

describe('l2 announcer (fake sockets and clock)', () => {
  it('answers an ARP request for an announced IP, unicast, from the interface MAC', () => {
    const { net, a } = setup();
    a.announce('10.77.0.100');
    const arp = net.open('n0', 'arp');
    arp.takeSent();
    arp.deliver([arpRequest('10.77.0.100')]);
    const [reply, ...rest] = arp.takeSent();
    assert.equal(rest.length, 0);
    const d = dec(reply);
    assert.ok(d.kind === 'arp');
    assert.equal(d.arp.op, ARP_REPLY);
    assert.equal(macToString(d.eth.dst), '02:00:00:00:00:c1');
    assert.equal(macToString(d.eth.src), NODE_MAC);
    assert.equal(macToString(d.arp.sha), NODE_MAC);
    assert.equal(ipBytesToText(d.arp.spa), '10.77.0.100');
    assert.equal(ipBytesToText(d.arp.tpa), '10.77.0.1');
    assert.deepEqual(a.counters('10.77.0.100'), { requestsReceived: 1, repliesSent: 1, gratuitousSent: 2, conflicts: 0 });
  });

  it('does not answer for IPs it was not told to announce, nor for addresses the node owns', () => {
    const { net, a } = setup();
    a.announce('10.77.0.2'); // the node's own address: refuse to claim it
    const arp = net.open('n0', 'arp');
    assert.equal(arp.takeSent().length, 0, 'no GARP for an own address');
    arp.deliver([arpRequest('10.77.0.101'), arpRequest('10.77.0.2')]);
    assert.equal(arp.takeSent().length, 0);
    assert.equal(a.stats().drops['not-announced'], 1);
    assert.ok((a.stats().drops['own-address'] ?? 0) >= 1);
  });

  it('gives the addon the ARP reflex table: IPv4 VIPs the node does not own, the port MAC, all own MACs', async () => {
    const { net, a } = setup();
    const synced = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));
    await synced();
    const setsBefore = net.open('n0', 'arp').arpTableSets;
    const table = (ifname: string): { mac: string; ips: string[]; ignoreMacs: string[] } | null | undefined => {
      const t = net.open(ifname, 'arp').arpTable;
      return t && { mac: macToString(t.mac), ips: t.ips.map(ipBytesToText).sort(), ignoreMacs: t.ignoreMacs.map(macToString).sort() };
    };
    a.announce('10.77.0.100');
    a.announce('10.77.0.2'); // the node's own address: never answered, by JS or by the addon
    a.announce('fd77::100');
    await synced();
    assert.deepEqual(table('n0'), { mac: NODE_MAC, ips: ['10.77.0.100'], ignoreMacs: [NODE_MAC] });
    assert.equal(net.open('n0', 'arp').arpTableSets - setsBefore, 1, 'one table push for the burst of announcements');
    net.ifaces.push(iface('n1', 3, '02:00:00:00:00:b1'));
    a.rescan();
    await synced();
    assert.deepEqual(table('n1'), { mac: '02:00:00:00:00:b1', ips: ['10.77.0.100'], ignoreMacs: ['02:00:00:00:00:a1', '02:00:00:00:00:b1'] });
    assert.deepEqual(table('n0')?.ignoreMacs, ['02:00:00:00:00:a1', '02:00:00:00:00:b1']);
    a.withdraw('10.77.0.100');
    await synced();
    assert.deepEqual(table('n0')?.ips, []);
    assert.deepEqual(table('n1')?.ips, []);
  });

  it('counts what the reflex answered (or failed to send) without answering it again', () => {
    const { net, a } = setup();
    a.announce('10.77.0.100');
    const arp = net.open('n0', 'arp');
    arp.takeSent();
    arp.deliver([arpRequest('10.77.0.100'), arpRequest('10.77.0.100'), arpRequest('10.77.0.100')], [0, 0, 0], [1, 1, -105]);
    assert.equal(arp.takeSent().length, 0, 'nothing sent twice');
    assert.deepEqual(a.counters('10.77.0.100'), { requestsReceived: 3, repliesSent: 2, gratuitousSent: 2, conflicts: 0 });
    assert.equal(a.stats().drops['send-failed'], 1);
  });

  it('with arpReflex off, no table is handed over and JS answers', () => {
    const { net, a } = setup({ arpReflex: false });
    a.announce('10.77.0.100');
    const arp = net.open('n0', 'arp');
    assert.equal(arp.arpTable, undefined);
    arp.takeSent();
    arp.deliver([arpRequest('10.77.0.100')]);
    assert.equal(arp.takeSent().length, 1);
  });

  it('sends the gratuitous burst on gain only: now, then every 1.1 s, 5 bursts in all', () => {
    const { net, timers, a } = setup();
    assert.equal(a.announce('10.77.0.100'), true);
    const arp = net.open('n0', 'arp');
    const first = arp.takeSent().map(dec);
    assert.equal(first.length, 2);
    const [req, rep] = first;
    assert.ok(req?.kind === 'arp' && rep?.kind === 'arp');
    assert.equal(req.arp.op, ARP_REQUEST);
    assert.deepEqual(req.arp.spa, req.arp.tpa);
    assert.equal(rep.arp.op, ARP_REPLY);
    assert.deepEqual(rep.arp.tha, rep.arp.sha);
    timers.advance(1099);
    assert.equal(arp.takeSent().length, 0);
    timers.advance(1);
    assert.equal(arp.takeSent().length, 2);
    assert.equal(a.announce('10.77.0.100'), false, 'reconcile of an owned IP');
    timers.advance(10_000);
    assert.equal(arp.takeSent().length, 6, 'bursts 3..5 only, nothing extra for the reconcile');
  });

  it('refreshes periodically when configured', () => {
    const { net, timers, a } = setup({ garpCount: 1, refreshIntervalMs: 30_000 });
    a.announce('10.77.0.100');
    const arp = net.open('n0', 'arp');
    assert.equal(arp.takeSent().length, 2);
    timers.advance(90_000);
    assert.equal(arp.takeSent().length, 6);
  });

  it('the allocation-free ARP path answers exactly like the codecs would (property)', () => {
    const { net, a } = setup({ garpCount: 1 });
    a.announce('10.77.0.100');
    a.announce('10.77.0.101');
    const arp = net.open('n0', 'arp');
    arp.takeSent();
    const announced = new Set(['10.77.0.100', '10.77.0.101']);
    const ipArb = fc.constantFrom('10.77.0.100', '10.77.0.101', '10.77.0.102', '10.77.0.2', '10.77.0.1');
    const macArb = fc.constantFrom('02:00:00:00:00:c1', '02:00:00:00:00:c2', NODE_MAC, '02:00:00:00:00:a2');
    const dstArb = fc.constantFrom('ff:ff:ff:ff:ff:ff', NODE_MAC, '02:00:00:00:00:99');
    fc.assert(
      fc.property(ipArb, ipArb, macArb, dstArb, fc.constantFrom(1, 2), fc.nat(18), (tpa, spa, sha, dst, op, pad) => {
        const req = buildArpFrame(parseMac(dst), parseMac(sha), {
          op,
          sha: parseMac(sha),
          spa: parseIp(spa),
          tha: ZERO_MAC,
          tpa: parseIp(tpa),
        });
        arp.deliver([Buffer.concat([req, Buffer.alloc(pad)])]);
        const sent = arp.takeSent();
        const shouldAnswer =
          op === ARP_REQUEST && announced.has(tpa) && !announced.has(spa) && sha !== NODE_MAC && (dst === 'ff:ff:ff:ff:ff:ff' || dst === NODE_MAC);
        if (!shouldAnswer) return assert.equal(sent.length, 0);
        assert.equal(sent.length, 1);
        const d = decodeFrame(req);
        if (!d.ok || d.value.kind !== 'arp') return assert.fail('request does not decode');
        assert.equal(sent[0]?.toString('hex'), buildArpReply(d.value.arp, parseMac(NODE_MAC), parseIp(tpa)).toString('hex'));
      }),
      { numRuns: 3000 },
    );
  });

  it('withdraw stops answering at once and cancels the burst', () => {
    const { net, timers, a } = setup();
    a.announce('10.77.0.100');
    const arp = net.open('n0', 'arp');
    arp.takeSent();
    a.withdraw('10.77.0.100');
    arp.deliver([arpRequest('10.77.0.100')]);
    timers.advance(10_000);
    assert.equal(arp.takeSent().length, 0);
  });

  it('detects a conflicting announcer (GARP or reply from another MAC) and does not answer it', () => {
    const { net, a, conflicts, timers } = setup();
    a.announce('10.77.0.100');
    const arp = net.open('n0', 'arp');
    arp.takeSent();
    arp.deliver(buildGratuitousArp(OTHER_NODE, parseIp('10.77.0.100')));
    assert.equal(arp.takeSent().length, 0);
    assert.deepEqual(
      conflicts.map((c) => [c.ip, c.mac, c.kind]),
      [
        ['10.77.0.100', '02:00:00:00:00:a2', 'arp-announcement'],
        ['10.77.0.100', '02:00:00:00:00:a2', 'arp-reply'],
      ],
    );
    assert.equal(a.counters('10.77.0.100')?.conflicts, 2);
    arp.deliver(buildGratuitousArp(OTHER_NODE, parseIp('10.77.0.100')));
    assert.equal(conflicts.length, 2, 'a repeat within 1 s is counted, not re-reported');
    assert.equal(a.counters('10.77.0.100')?.conflicts, 4);
    timers.advance(1000);
    arp.deliver(buildGratuitousArp(OTHER_NODE, parseIp('10.77.0.100')));
    assert.equal(conflicts.length, 4);
  });

  it('answers NS (multicast and unicast) with NA S=1 O=1 from the VIP, and reports foreign NAs', () => {
    const { net, a, conflicts } = setup();
    a.announce('fd77::100');
    const ndp = net.open('n0', 'ndp');
    assert.equal(dec(ndp.takeSent()[0]).kind, 'ndp', 'unsolicited NA on gain');
    ndp.deliver([
      buildNeighborSolicit(CLIENT, parseIp('fd77::1'), parseIp('fd77::100')),
      buildNeighborSolicit(CLIENT, parseIp('fd77::1'), parseIp('fd77::100'), parseMac(NODE_MAC)),
      buildNeighborSolicit(CLIENT, parseIp('fd77::1'), parseIp('fd77::101')),
    ]);
    const sent = ndp.takeSent().map(dec);
    assert.equal(sent.length, 2);
    for (const d of sent) {
      assert.ok(d.kind === 'ndp' && d.ndp.type === 136);
      assert.ok(d.ndp.solicited && d.ndp.override);
      assert.equal(ipBytesToText(d.ip6.src), 'fd77::100');
      assert.equal(ipBytesToText(d.ip6.dst), 'fd77::1');
      assert.equal(d.ip6.hopLimit, 255);
      assert.equal(macToString(d.eth.dst), '02:00:00:00:00:c1');
      assert.equal(d.ndp.targetLla && macToString(d.ndp.targetLla), NODE_MAC);
    }
    ndp.deliver([buildUnsolicitedAdvert(OTHER_NODE, parseIp('fd77::100'))]);
    assert.deepEqual(
      conflicts.map((c) => c.kind),
      ['na'],
    );
  });

  it('joins solicited-node groups reference-counted (link and IP level)', () => {
    const { net, a } = setup();
    a.announce('fd77::1:100');
    a.announce('fd77::2:100'); // same low 24 bits? no: 01:00:00 vs 02:01:00 — different groups
    a.announce('fd78::1:100'); // same low 24 bits as fd77::1:100
    const ndp = net.open('n0', 'ndp');
    assert.deepEqual([...ndp.multicast].sort(), ['3333ff010100', '3333ff020100']);
    assert.equal(ndp.groups.size, 2);
    a.withdraw('fd77::1:100');
    assert.equal(ndp.groups.size, 2, 'fd78::1:100 still needs the group');
    a.withdraw('fd78::1:100');
    assert.deepEqual([...ndp.multicast], ['3333ff020100']);
    assert.equal(ndp.groups.size, 1);
  });

  it('drops bad frames by reason without throwing (fuzz through the receive path)', () => {
    const { net, a } = setup();
    a.announce('10.77.0.100');
    a.announce('fd77::100');
    const arp = net.open('n0', 'arp');
    const ndp = net.open('n0', 'ndp');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100, size: 'max' }), fc.boolean(), (b, which) => {
        (which ? arp : ndp).deliver([Buffer.from(b)]);
      }),
      { numRuns: 5000 },
    );
    const drops = a.stats().drops;
    assert.ok((drops['eth.truncated'] ?? 0) > 0, JSON.stringify(drops));
    assert.ok(Object.keys(drops).length >= 2, JSON.stringify(drops));
  });

  it('closes sockets when a link goes down and re-sends GARP when it comes back', () => {
    const { net, timers, a } = setup({ garpCount: 1 });
    a.announce('10.77.0.100');
    const first = net.open('n0', 'arp');
    first.takeSent();
    const n0 = net.ifaces[0];
    assert.ok(n0);
    n0.up = false;
    first.fail('ENETDOWN'); // the addon reports the error; a rescan follows quickly
    timers.advance(100);
    assert.equal(first.closed, true);
    assert.deepEqual(a.interfaces(), []);
    n0.up = true;
    timers.advance(2000);
    const second = net.open('n0', 'arp');
    assert.notEqual(second, first);
    assert.equal(second.takeSent().length, 2, 'GARP after link up');
    second.deliver([arpRequest('10.77.0.100')]);
    assert.equal(second.takeSent().length, 1);
  });
});

describe('l2 announcer: re-created interfaces and metrics', () => {
  it('an interface deleted and re-created (new ifindex) gets a new socket and a new GARP burst', () => {
    const { net, timers, a } = setup({ garpCount: 1 });
    a.announce('10.77.0.100');
    const first = net.open('n0', 'arp');
    const n0 = net.ifaces[0];
    assert.ok(n0);
    n0.index = 9;
    timers.advance(2000);
    assert.equal(first.closed, true);
    const second = net.open('n0', 'arp');
    assert.notEqual(second, first);
    assert.equal(second.takeSent().length, 2);
  });

  it('rescans within ~20 ms of a link notification and stops watching on stop()', () => {
    const net = new FakeNet();
    net.ifaces = [iface('n0', 2, NODE_MAC)];
    const timers = new FakeTimers();
    let notify: (() => void) | undefined;
    let closed = false;
    const a = new Announcer({
      socketFactory: net.factory,
      listInterfaces: net.list,
      timers,
      rescanIntervalMs: 60_000,
      watchLinks: (cb) => {
        notify = cb;
        return { close: () => (closed = true) };
      },
    });
    a.start();
    assert.deepEqual(a.interfaces(), ['n0']);
    net.ifaces.push(iface('eth1', 3, '02:00:00:00:00:b1'));
    notify?.();
    notify?.();
    timers.advance(19);
    assert.deepEqual(a.interfaces(), ['n0']);
    timers.advance(1);
    assert.deepEqual(a.interfaces(), ['n0', 'eth1']);
    a.stop();
    assert.equal(closed, true);
  });

  it('exposes per-IP counters and drop reasons as Prometheus metrics', async () => {
    const { net, a } = setup();
    a.announce('10.77.0.100');
    net.open('n0', 'arp').deliver([arpRequest('10.77.0.100'), arpRequest('10.77.0.200')]);
    const registry = new Registry();
    registerAnnouncerMetrics(a, registry);
    const text = await registry.metrics();
    assert.match(text, /l2lb_layer2_requests_received_total\{ip="10\.77\.0\.100"\} 1/);
    assert.match(text, /l2lb_layer2_responses_sent_total\{ip="10\.77\.0\.100"\} 1/);
    assert.match(text, /l2lb_layer2_gratuitous_sent_total\{ip="10\.77\.0\.100"\} 2/);
    assert.match(text, /l2lb_layer2_dropped_frames_total\{reason="not-announced"\} 1/);
    assert.match(text, /l2lb_layer2_announced_ips 1/);
    a.withdraw('10.77.0.100');
    assert.doesNotMatch(await registry.metrics(), /requests_received_total\{ip=/, 'series go with the IP');
  });
});

describe('l2 interface selection', () => {
  it('default: up, broadcast, not NOARP, not enslaved, not excluded by name', () => {
    const all = [
      iface('eth0', 2, '02:00:00:00:00:01'),
      iface('lo', 1, '00:00:00:00:00:00', { loopback: true, broadcast: false }),
      iface('veth12', 3, '02:00:00:00:00:02'),
      iface('eth1', 4, '02:00:00:00:00:03', { up: false }),
      iface('eth2', 5, '02:00:00:00:00:04', { hasMaster: true }),
      iface('wg0', 6, null, { broadcast: false, noarp: true }),
      iface('bond0', 7, '02:00:00:00:00:05'),
      iface('kube-ipvs0', 8, '02:00:00:00:00:06'),
    ];
    const s = selectInterfaces(all, {});
    assert.deepEqual(
      s.eligible.map((i) => i.name),
      ['eth0', 'bond0'],
    );
    assert.equal(s.skipped.find((x) => x.name === 'eth2')?.reason, 'enslaved (has a master); announce on the master');
    const e = selectInterfaces(all, { explicit: ['veth12', 'nope'] });
    assert.deepEqual(
      e.eligible.map((i) => i.name),
      ['veth12'],
    );
    assert.ok(e.skipped.some((x) => x.name === 'nope' && x.reason === 'no such interface'));
  });
});
