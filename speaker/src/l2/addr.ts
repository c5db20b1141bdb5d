// MAC and IP address helpers (bytes <-> text), without external dependencies.
import { isIPv4, isIPv6 } from 'node:net';

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

export function ipv4ToString(b: Uint8Array): string {
  return `${b[0] ?? 0}.${b[1] ?? 0}.${b[2] ?? 0}.${b[3] ?? 0}`;
}

export function ipv6ToString(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  // Longest run of >= 2 zero groups becomes '::' (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function ipToString(b: Uint8Array): string {
  return b.length === 4 ? ipv4ToString(b) : ipv6ToString(b);
}

/** Parses an IPv4 or IPv6 literal to 4 or 16 bytes; throws on malformed input (configuration only). */
export function parseIp(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map((p) => Number(p)));
  if (!isIPv6(text) || text.includes('%')) throw new Error(`invalid IP address '${text}'`);
  let head = text;
  let tail = '';
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const toWords = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    for (const part of s.split(':')) {
      if (part.includes('.')) {
        const v4 = part.split('.').map((p) => Number(p));
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const h = toWords(head);
  const t = toWords(tail);
  const words = dbl >= 0 ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
}

/** Canonical text of an IP literal (e.g. 'FD99:0::100' -> 'fd99::100'). */
export function canonicalIp(text: string): string {
  return ipToString(parseIp(text));
}

/** Solicited-node multicast address ff02::1:ffXX:XXXX for an IPv6 address (RFC 4291 2.7.1). */
export function solicitedNodeAddress(ip: Uint8Array): Buffer {
  const b = parseIp('ff02::1:ff00:0');
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
