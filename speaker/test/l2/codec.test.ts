import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { ipBytesToText } from '@l2lb/shared/ip';
import {
  ARP_REPLY,
  ARP_REQUEST,
  BROADCAST_MAC,
  buildArpReply,
  buildGratuitousArp,
  buildNeighborSolicit,
  buildSolicitedAdvert,
  buildUnsolicitedAdvert,
  decodeFrame,
  icmpv6Checksum,
  macToString,
  parseIp,
  parseMac,
  solicitedNodeAddress,
  solicitedNodeMac,
  canonicalIp,
  type Decoded,
} from '../../src/l2/index.js';
import { CAPTURED, hex } from './frames.js';

function decodeOk(frame: Buffer): Decoded {
  const r = decodeFrame(frame);
  if (!r.ok) assert.fail(`expected a decoded frame, got ${r.reason}: ${r.message}`);
  return r.value;
}

const nodeMac = parseMac('02:00:00:00:00:a1');
const clientMac = parseMac('02:00:00:00:00:c1');

describe('l2 codecs: addresses', () => {
  it('parses and formats IPv4/IPv6 like the canonical RFC 5952 text', () => {
    assert.equal(ipBytesToText(parseIp('10.77.0.2')), '10.77.0.2');
    assert.equal(canonicalIp('FD77:0:0::0002'), 'fd77::2');
    assert.equal(canonicalIp('fe80::ff:fe00:c1'), 'fe80::ff:fe00:c1');
    assert.equal(canonicalIp('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
    assert.equal(canonicalIp('::'), '::');
    assert.equal(canonicalIp('::ffff:10.0.0.1'), '::ffff:a00:1');
    assert.throws(() => parseIp('10.0.0.256'), /invalid IP address/);
    assert.throws(() => parseMac('02:00:00'), /invalid MAC/);
  });

  it('round-trips random IPv6 addresses through text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = ipBytesToText(bytes);
        assert.ok(isIPv6(text), text);
        assert.deepEqual([...parseIp(text)], [...bytes]);
      }),
      { numRuns: 2000 },
    );
  });

  it('derives the solicited-node group and its MAC from the low 24 bits', () => {
    const ip = parseIp('fd77::12:3456');
    assert.equal(ipBytesToText(solicitedNodeAddress(ip)), 'ff02::1:ff12:3456');
    assert.equal(macToString(solicitedNodeMac(ip)), '33:33:ff:12:34:56');
  });
});

describe('l2 codecs: frames captured from Linux', () => {
  it('decodes an arping request (with padding)', () => {
    const d = decodeOk(hex(CAPTURED.arpRequest));
    assert.equal(d.kind, 'arp');
    if (d.kind !== 'arp') return;
    assert.equal(d.arp.op, ARP_REQUEST);
    assert.equal(macToString(d.arp.sha), '02:00:00:00:00:c1');
    assert.equal(ipBytesToText(d.arp.spa), '10.77.0.1');
    assert.equal(ipBytesToText(d.arp.tpa), '10.77.0.2');
    assert.deepEqual(d.eth.dst, BROADCAST_MAC);
  });

  it('builds the same ARP reply bytes as the Linux kernel', () => {
    const d = decodeOk(hex(CAPTURED.arpRequest));
    if (d.kind !== 'arp') return assert.fail('not arp');
    const ours = buildArpReply(d.arp, nodeMac, parseIp('10.77.0.2'));
    assert.equal(ours.toString('hex'), CAPTURED.arpReply);
    const r = decodeOk(ours);
    assert.ok(r.kind === 'arp' && r.arp.op === ARP_REPLY);
  });

  it('decodes ndisc6 NS and verifies its checksum', () => {
    const d = decodeOk(hex(CAPTURED.neighborSolicit));
    assert.equal(d.kind, 'ndp');
    if (d.kind !== 'ndp') return;
    assert.equal(d.ndp.type, 135);
    assert.equal(ipBytesToText(d.ndp.target), 'fd77::2');
    assert.equal(ipBytesToText(d.ip6.src), 'fe80::ff:fe00:c1');
    assert.equal(d.ndp.sourceLla && macToString(d.ndp.sourceLla), '02:00:00:00:00:c1');
    assert.equal(icmpv6Checksum(d.ip6.src, d.ip6.dst, d.ip6.payload), 0);
  });

  it('builds the same solicited NA bytes as the Linux kernel (S=1, O=1, source = target)', () => {
    const ns = decodeOk(hex(CAPTURED.neighborSolicit));
    if (ns.kind !== 'ndp') return assert.fail('not ndp');
    const ours = buildSolicitedAdvert(nodeMac, parseIp('fd77::2'), ns.ip6.src, ns.eth.src, ns.ndp.sourceLla);
    assert.equal(ours.toString('hex'), CAPTURED.neighborAdvert);
    const na = decodeOk(hex(CAPTURED.neighborAdvert));
    assert.ok(na.kind === 'ndp' && na.ndp.type === 136 && na.ndp.solicited && na.ndp.override && !na.ndp.router);
  });

  it('recognises the gratuitous request form and the kernel 42-byte request', () => {
    const g = decodeOk(hex(CAPTURED.garpRequest));
    assert.ok(g.kind === 'arp' && ipBytesToText(g.arp.spa) === ipBytesToText(g.arp.tpa));
    const k = decodeOk(hex(CAPTURED.kernelArpRequest));
    assert.ok(k.kind === 'arp' && k.arp.op === ARP_REQUEST);
  });

  it('drops a router solicitation with a reason (not NS/NA)', () => {
    const r = decodeFrame(hex(CAPTURED.routerSolicit));
    assert.ok(!r.ok);
    assert.equal(r.reason, 'icmpv6.not-ndp');
  });
});

describe('l2 codecs: builders and validation', () => {
  it('gratuitous ARP is a request (sip = tip) and a reply with tha = sha, both broadcast', () => {
    const vip = parseIp('10.77.0.100');
    const [req, rep] = buildGratuitousArp(nodeMac, vip).map(decodeOk);
    assert.ok(req && rep && req.kind === 'arp' && rep.kind === 'arp');
    assert.equal(req.arp.op, ARP_REQUEST);
    assert.deepEqual(req.arp.spa, vip);
    assert.deepEqual(req.arp.tpa, vip);
    assert.deepEqual(req.eth.dst, BROADCAST_MAC);
    assert.equal(rep.arp.op, ARP_REPLY);
    assert.deepEqual(rep.arp.tha, nodeMac);
    assert.deepEqual(rep.arp.sha, nodeMac);
    assert.deepEqual(rep.eth.dst, BROADCAST_MAC);
  });

  it('unsolicited NA goes to ff02::1 with S=0, O=1, hop limit 255 and TLLA', () => {
    const d = decodeOk(buildUnsolicitedAdvert(nodeMac, parseIp('fd77::100')));
    assert.ok(d.kind === 'ndp' && d.ndp.type === 136);
    assert.equal(ipBytesToText(d.ip6.dst), 'ff02::1');
    assert.equal(macToString(d.eth.dst), '33:33:00:00:00:01');
    assert.equal(d.ip6.hopLimit, 255);
    assert.equal(d.ndp.solicited, false);
    assert.equal(d.ndp.override, true);
    assert.equal(d.ndp.targetLla && macToString(d.ndp.targetLla), '02:00:00:00:00:a1');
  });

  it('a DAD probe gets an NA to all-nodes with S=0', () => {
    const ns = decodeOk(buildNeighborSolicit(clientMac, Buffer.alloc(16), parseIp('fd77::100')));
    if (ns.kind !== 'ndp') return assert.fail('not ndp');
    const na = decodeOk(buildSolicitedAdvert(nodeMac, parseIp('fd77::100'), ns.ip6.src, ns.eth.src, undefined));
    assert.ok(na.kind === 'ndp' && na.ndp.type === 136 && !na.ndp.solicited);
    assert.equal(ipBytesToText(na.ip6.dst), 'ff02::1');
  });

  it('rejects a corrupted checksum, a wrong hop limit and a zero-length option with reasons', () => {
    const good = buildNeighborSolicit(clientMac, parseIp('fd77::1'), parseIp('fd77::100'));
    const badSum = Buffer.from(good);
    badSum.writeUInt8((badSum[14 + 40 + 2] ?? 0) ^ 0x01, 14 + 40 + 2);
    assert.equal((decodeFrame(badSum) as { reason: string }).reason, 'icmpv6.bad-checksum');
    const badHop = Buffer.from(good);
    badHop[14 + 7] = 64;
    assert.equal((decodeFrame(badHop) as { reason: string }).reason, 'ndp.bad-hop-limit');
    const msg = Buffer.from(good.subarray(14 + 40));
    msg[25] = 0; // option length 0
    msg.writeUInt16BE(0, 2);
    msg.writeUInt16BE(icmpv6Checksum(good.subarray(22, 38), good.subarray(38, 54), msg), 2);
    const badOpt = Buffer.concat([good.subarray(0, 54), msg]);
    const r = decodeFrame(badOpt);
    assert.ok(!r.ok && r.reason === 'ndp.bad-option' && /length 0/.test(r.message), JSON.stringify(r));
  });

  it('a stored checksum always verifies to 0 (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 4, maxLength: 200 }),
        (src, dst, body) => {
          const msg = Buffer.from(body);
          msg.writeUInt16BE(0, 2);
          msg.writeUInt16BE(icmpv6Checksum(src, dst, msg), 2);
          assert.equal(icmpv6Checksum(src, dst, msg), 0);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('l2 codecs: fuzz', () => {
  const seeds = Object.values(CAPTURED).map(hex);
  seeds.push(...buildGratuitousArp(nodeMac, parseIp('10.0.0.1')));
  seeds.push(buildUnsolicitedAdvert(nodeMac, parseIp('fd00::1')));
  seeds.push(buildNeighborSolicit(clientMac, parseIp('fd77::1'), parseIp('fd77::100')));

  it('never throws on 100 000 mutated frames; every drop has a reason and a message', () => {
    const reasons = new Map<string, number>();
    let decoded = 0;
    const mutation = fc.record({
      seed: fc.nat(seeds.length - 1),
      flips: fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat(200), { nil: undefined }),
      extra: fc.uint8Array({ maxLength: 8 }),
    });
    fc.assert(
      fc.property(mutation, ({ seed, flips, cut, extra }) => {
        const base = seeds[seed] ?? Buffer.alloc(0);
        let f = Buffer.concat([base, extra]);
        for (const [pos, byte] of flips) if (f.length > 0) f[pos % f.length] = byte;
        if (cut !== undefined) f = f.subarray(0, cut);
        const r = decodeFrame(f);
        if (r.ok) decoded++;
        else {
          assert.ok(r.reason.length > 0 && r.message.length > 0);
          reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
        }
      }),
      { numRuns: 100_000 },
    );
    // The mutations must exercise both outcomes and many distinct reasons.
    assert.ok(decoded > 1000, `decoded ${decoded}`);
    assert.ok(reasons.size >= 10, `reasons seen: ${[...reasons.keys()].join(', ')}`);
  });

  it('never throws on random byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120, size: 'max' }), (b) => {
        decodeFrame(Buffer.from(b));
      }),
      { numRuns: 20_000 },
    );
  });
});
