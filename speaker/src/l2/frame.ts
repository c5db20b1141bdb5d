// Total decoding of a received frame into the ARP or NDP message it carries, or a drop reason.
import { type Parsed, drop, ok } from './result.js';
import { parseEthernet, type EthernetFrame, ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.js';
import { parseArp, type ArpPacket } from './arp.js';
import { parseIpv6, type Ipv6Packet, NEXT_HEADER_ICMPV6 } from './ipv6.js';
import { parseNdp, type NdpMessage } from './ndp.js';

export type Decoded = { kind: 'arp'; eth: EthernetFrame; arp: ArpPacket } | { kind: 'ndp'; eth: EthernetFrame; ip6: Ipv6Packet; ndp: NdpMessage };

/** Never throws: every byte string yields a message or the reason it was dropped. */
export function decodeFrame(frame: Buffer): Parsed<Decoded> {
  const eth = parseEthernet(frame);
  if (!eth.ok) return eth;
  const e = eth.value;
  if (e.ethertype === ETHERTYPE_ARP) {
    const arp = parseArp(e.payload);
    return arp.ok ? ok({ kind: 'arp', eth: e, arp: arp.value }) : arp;
  }
  if (e.ethertype === ETHERTYPE_IPV6) {
    const ip = parseIpv6(e.payload);
    if (!ip.ok) return ip;
    if (ip.value.nextHeader !== NEXT_HEADER_ICMPV6) {
      return drop('ipv6.not-icmpv6', `ipv6: next header ${ip.value.nextHeader} is not ICMPv6 (58)`);
    }
    const ndp = parseNdp(ip.value);
    return ndp.ok ? ok({ kind: 'ndp', eth: e, ip6: ip.value, ndp: ndp.value }) : ndp;
  }
  return drop('eth.unsupported-ethertype', `ethernet: ethertype 0x${e.ethertype.toString(16)} is neither ARP nor IPv6`);
}
