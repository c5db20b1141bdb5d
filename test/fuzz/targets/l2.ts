// ARP and NDP frames through the speaker's TypeScript codecs (decodeFrame: Ethernet, VLAN, ARP, IPv6, ICMPv6
// checksum, NS/NA and their options). Contract: decodeFrame is total — a message or a drop reason, never a throw.
import { buildArpFrame, ARP_REPLY, ARP_REQUEST } from '@l2lb/speaker/l2/arp';
import { decodeFrame } from '@l2lb/speaker/l2/frame';
import { buildEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV6, ETHERTYPE_VLAN } from '@l2lb/speaker/l2/ethernet';
import { buildIcmpv6Frame } from '@l2lb/speaker/l2/ipv6';
import { ICMPV6_NA, ICMPV6_NS, OPT_SOURCE_LLA, OPT_TARGET_LLA } from '@l2lb/speaker/l2/ndp';
import { hex, mutateBytes, type FuzzTarget, type Rng } from '../harness.js';

const mac = (rng: Rng): Buffer =>
  rng.pick([Buffer.alloc(6, 0xff), Buffer.alloc(6), Buffer.from('0200000000d1', 'hex'), Buffer.from('333300000001', 'hex'), rng.bytes(6)]);
const v4 = (rng: Rng): Buffer => rng.pick([Buffer.from([10, 0, 0, 1]), Buffer.alloc(4), Buffer.alloc(4, 0xff), rng.bytes(4)]);
const v6 = (rng: Rng): Buffer =>
  rng.pick([Buffer.from('fe800000000000000000000000000001', 'hex'), Buffer.alloc(16), Buffer.from('ff0200000000000000000001ff000001', 'hex'), rng.bytes(16)]);

function arpFrame(rng: Rng): Buffer {
  const f = buildArpFrame(mac(rng), mac(rng), {
    op: rng.pick([ARP_REQUEST, ARP_REPLY, 0, 3, 0xffff]),
    sha: mac(rng),
    spa: v4(rng),
    tha: mac(rng),
    tpa: v4(rng),
  });
  return rng.chance(4) ? Buffer.concat([f, rng.bytes(rng.len(40))]) : f; // Ethernet padding
}

/** An NS or NA whose options lie about their lengths or repeat; the checksum is made valid afterwards. */
function ndpFrame(rng: Rng): Buffer {
  const opts: Buffer[] = [];
  for (let n = rng.len(6); n > 0; n--) {
    const len8 = rng.pick([0, 1, 1, 1, 2, 255]);
    const o = Buffer.alloc(Math.min(len8, 4) * 8 || 8);
    o[0] = rng.pick([OPT_SOURCE_LLA, OPT_TARGET_LLA, 3, 5, 14, 0, 255]);
    o[1] = len8;
    mac(rng).copy(o, 2);
    opts.push(o);
  }
  let msg: Buffer = Buffer.concat([Buffer.alloc(24), ...opts]);
  msg[0] = rng.pick([ICMPV6_NS, ICMPV6_NA, ICMPV6_NA, 128, 134]);
  msg[1] = rng.chance(8) ? rng.int(256) : 0;
  msg[4] = rng.int(256);
  v6(rng).copy(msg, 8);
  if (rng.chance(3)) msg = mutateBytes(rng, msg, 1400);
  if (msg.length < 4) msg = Buffer.concat([msg, Buffer.alloc(4 - msg.length)]);
  const frame = buildIcmpv6Frame(mac(rng), mac(rng), v6(rng), v6(rng), rng.pick([255, 255, 1, 0]), msg);
  return frame;
}

export const l2Target: FuzzTarget<Buffer> = {
  name: 'l2-codecs',
  description: 'speaker decodeFrame: Ethernet/VLAN, ARP, IPv6, ICMPv6 checksum, NS/NA options',
  generate(rng) {
    const r = rng.int(10);
    if (r === 0) return rng.bytes(rng.len(1600));
    let f = r < 5 ? arpFrame(rng) : ndpFrame(rng);
    if (rng.chance(6)) {
      // VLAN-tag it (a tag in front of ARP/IPv6, possibly stacked)
      const inner = f.subarray(12);
      const tag = Buffer.from([0x81, 0x00, rng.int(256), rng.int(256)]);
      f = Buffer.concat([f.subarray(0, 12), tag, rng.chance(4) ? tag : Buffer.alloc(0), inner]);
    }
    if (rng.chance(2)) f = mutateBytes(rng, f, 1600);
    if (rng.chance(20)) f = buildEthernet(mac(rng), mac(rng), rng.pick([ETHERTYPE_ARP, ETHERTYPE_IPV6, ETHERTYPE_VLAN]), rng.bytes(rng.len(100)));
    return f;
  },
  execute(frame) {
    const r = decodeFrame(frame);
    if (typeof r !== 'object' || (r.ok !== true && r.ok !== false)) throw new Error('decodeFrame returned no result');
    if (!r.ok && (typeof r.reason !== 'string' || typeof r.message !== 'string')) throw new Error('a drop without reason/message');
  },
  show: (f) => hex(f),
};
