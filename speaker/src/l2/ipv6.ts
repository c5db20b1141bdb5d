// IPv6 header and the ICMPv6 checksum over the pseudo-header (RFC 8200 8.1, RFC 4443 2.3).
import { drop, ok, type Parsed } from './result.js';
import { buildEthernet, ETHERTYPE_IPV6 } from './ethernet.js';

export const IPV6_HEADER_LEN = 40;
export const NEXT_HEADER_ICMPV6 = 58;

export interface Ipv6Packet {
  trafficClass: number;
  flowLabel: number;
  nextHeader: number;
  hopLimit: number;
  src: Buffer;
  dst: Buffer;
  /** Exactly payloadLength bytes (Ethernet padding removed). */
  payload: Buffer;
}

export function parseIpv6(p: Buffer): Parsed<Ipv6Packet> {
  if (p.length < IPV6_HEADER_LEN) return drop('ipv6.truncated', `ipv6: ${p.length} bytes, header needs 40`);
  const w0 = p.readUInt32BE(0);
  const version = w0 >>> 28;
  if (version !== 6) return drop('ipv6.bad-version', `ipv6: version ${version}, expected 6`);
  const payloadLength = p.readUInt16BE(4);
  if (payloadLength > p.length - IPV6_HEADER_LEN) {
    return drop('ipv6.bad-payload-length', `ipv6: payload length ${payloadLength} exceeds the ${p.length - IPV6_HEADER_LEN} bytes present`);
  }
  return ok({
    trafficClass: (w0 >>> 20) & 0xff,
    flowLabel: w0 & 0xfffff,
    nextHeader: p[6] ?? 0,
    hopLimit: p[7] ?? 0,
    src: p.subarray(8, 24),
    dst: p.subarray(24, 40),
    payload: p.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + payloadLength),
  });
}

function sum16(b: Uint8Array, acc: number): number {
  let s = acc;
  const n = b.length & ~1;
  for (let i = 0; i < n; i += 2) s += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  if (b.length & 1) s += (b[b.length - 1] ?? 0) << 8;
  return s;
}

/**
 * ICMPv6 checksum: ones' complement of the ones' complement sum over the pseudo-header
 * (src, dst, upper-layer length, next header 58) and the message with its checksum field as is.
 * Computing over a message whose checksum field is 0 gives the value to store; computing over a
 * received message gives 0 when it is correct.
 */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, msg: Uint8Array): number {
  let s = sum16(src, 0);
  s = sum16(dst, s);
  s += (msg.length >>> 16) + (msg.length & 0xffff);
  s += NEXT_HEADER_ICMPV6;
  s = sum16(msg, s);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function buildIpv6(src: Uint8Array, dst: Uint8Array, nextHeader: number, hopLimit: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(IPV6_HEADER_LEN + payload.length);
  b.writeUInt32BE(0x60000000, 0);
  b.writeUInt16BE(payload.length, 4);
  b[6] = nextHeader;
  b[7] = hopLimit;
  b.set(src.subarray(0, 16), 8);
  b.set(dst.subarray(0, 16), 24);
  b.set(payload, IPV6_HEADER_LEN);
  return b;
}

/** A complete Ethernet + IPv6 + ICMPv6 frame; fills in the ICMPv6 checksum (bytes 2-3 of msg). */
export function buildIcmpv6Frame(ethDst: Uint8Array, ethSrc: Uint8Array, src: Uint8Array, dst: Uint8Array, hopLimit: number, msg: Buffer): Buffer {
  msg.writeUInt16BE(0, 2);
  msg.writeUInt16BE(icmpv6Checksum(src, dst, msg), 2);
  return buildEthernet(ethDst, ethSrc, ETHERTYPE_IPV6, buildIpv6(src, dst, NEXT_HEADER_ICMPV6, hopLimit, msg));
}
