// ARP for IPv4 over Ethernet (RFC 826), plus the gratuitous forms Linux honours within locktime.
import { drop, ok, type Parsed } from './result.js';
import { BROADCAST_MAC } from './addr.js';
import { buildEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from './ethernet.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
export const ARP_LEN = 28;

export interface ArpPacket {
  op: number;
  sha: Buffer;
  spa: Buffer;
  tha: Buffer;
  tpa: Buffer;
}

/** Parses an ARP payload (after the Ethernet header); trailing padding is ignored. */
export function parseArp(p: Buffer): Parsed<ArpPacket> {
  if (p.length < 8) return drop('arp.truncated', `arp: ${p.length} bytes, fixed header needs 8`);
  const htype = p.readUInt16BE(0);
  const ptype = p.readUInt16BE(2);
  const hlen = p[4];
  const plen = p[5];
  const op = p.readUInt16BE(6);
  if (htype !== 1) return drop('arp.unsupported-hardware', `arp: hardware type ${htype}, expected 1 (Ethernet)`);
  if (ptype !== ETHERTYPE_IPV4) {
    return drop('arp.unsupported-protocol', `arp: protocol type 0x${ptype.toString(16)}, expected 0x0800 (IPv4)`);
  }
  if (hlen !== 6 || plen !== 4) return drop('arp.bad-lengths', `arp: hlen ${hlen} / plen ${plen}, expected 6 / 4`);
  if (p.length < ARP_LEN) return drop('arp.truncated', `arp: ${p.length} bytes, expected ${ARP_LEN}`);
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return drop('arp.bad-operation', `arp: operation ${op}, expected 1 or 2`);
  return ok({ op, sha: p.subarray(8, 14), spa: p.subarray(14, 18), tha: p.subarray(18, 24), tpa: p.subarray(24, 28) });
}

export function buildArp(a: ArpPacket): Buffer {
  const b = Buffer.alloc(ARP_LEN);
  b.writeUInt16BE(1, 0);
  b.writeUInt16BE(ETHERTYPE_IPV4, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(a.op, 6);
  b.set(a.sha.subarray(0, 6), 8);
  b.set(a.spa.subarray(0, 4), 14);
  b.set(a.tha.subarray(0, 6), 18);
  b.set(a.tpa.subarray(0, 4), 24);
  return b;
}

export function buildArpFrame(ethDst: Uint8Array, ethSrc: Uint8Array, a: ArpPacket): Buffer {
  return buildEthernet(ethDst, ethSrc, ETHERTYPE_ARP, buildArp(a));
}

/** Reply to `req` for `ip`, unicast to the requester, sender MAC = the receiving interface's MAC. */
export function buildArpReply(req: ArpPacket, ifMac: Buffer, ip: Buffer): Buffer {
  return buildArpFrame(req.sha, ifMac, { op: ARP_REPLY, sha: ifMac, spa: ip, tha: req.sha, tpa: req.spa });
}

/**
 * Gratuitous ARP burst for `ip`: a request with sip = tip and a reply with tha = sha, both
 * broadcast. Linux treats exactly these as GARP (arp_is_garp) and updates within locktime.
 */
export function buildGratuitousArp(ifMac: Buffer, ip: Buffer): Buffer[] {
  return [
    buildArpFrame(BROADCAST_MAC, ifMac, { op: ARP_REQUEST, sha: ifMac, spa: ip, tha: BROADCAST_MAC, tpa: ip }),
    buildArpFrame(BROADCAST_MAC, ifMac, { op: ARP_REPLY, sha: ifMac, spa: ip, tha: ifMac, tpa: ip }),
  ];
}
