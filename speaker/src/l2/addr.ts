// MAC address helpers (bytes <-> text) and the IPv6 multicast addresses NDP needs. IP bytes <-> text
// is @l2lb/shared/ip's (parseIp and canonicalIp are the speaker's throwing shorthands).
import { ipBytesToText, ipTextToBytes } from '@l2lb/shared/ip';

export const BROADCAST_MAC: Buffer = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC: Buffer = Buffer.alloc(6);
export const ALL_NODES_V6: Buffer = parseIp('ff02::1');
export const UNSPECIFIED_V6: Buffer = Buffer.alloc(16);

export function macToString(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (i ? ':' : '') + (b[i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

/** Parses "aa:bb:cc:dd:ee:ff" (or '-' separated); throws on malformed input (configuration only). */
export function parseMac(text: string): Buffer {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`invalid MAC address '${text}'`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/** Parses an IPv4 or IPv6 literal to 4 or 16 bytes; throws on malformed input (configuration only). */
export function parseIp(text: string): Buffer {
  const bytes = ipTextToBytes(text);
  if (bytes === undefined) throw new Error(`invalid IP address '${text}'`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Canonical text of an IP literal (e.g. 'FD99:0::100' -> 'fd99::100'). */
export function canonicalIp(text: string): string {
  return ipBytesToText(parseIp(text));
}

const SOLICITED_NODE_PREFIX: Buffer = parseIp('ff02::1:ff00:0');

/** Solicited-node multicast address ff02::1:ffXX:XXXX for an IPv6 address (RFC 4291 2.7.1). */
export function solicitedNodeAddress(ip: Uint8Array): Buffer {
  const b = Buffer.from(SOLICITED_NODE_PREFIX);
  b[13] = ip[13] ?? 0;
  b[14] = ip[14] ?? 0;
  b[15] = ip[15] ?? 0;
  return b;
}

/** Ethernet multicast MAC 33:33:xx:xx:xx:xx for an IPv6 multicast address (RFC 2464 7). */
export function ipv6MulticastMac(group: Uint8Array): Buffer {
  return Buffer.from([0x33, 0x33, group[12] ?? 0, group[13] ?? 0, group[14] ?? 0, group[15] ?? 0]);
}

export function solicitedNodeMac(ip: Uint8Array): Buffer {
  return ipv6MulticastMac(solicitedNodeAddress(ip));
}

export function isMulticastMac(b: Uint8Array): boolean {
  return ((b[0] ?? 0) & 1) === 1;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
