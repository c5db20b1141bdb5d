// IP address and CIDR arithmetic on bigints, so IPv4 and IPv6 share one code path
// and IPv6 sizes (up to 2^128) stay exact.
import ipaddr from 'ipaddr.js';

export type IPFamily = 4 | 6;

const BITS: Record<IPFamily, number> = { 4: 32, 6: 128 };

export function familyBits(family: IPFamily): number {
  return BITS[family];
}

// The one IP bytes <-> text codec of the project (memberlist and the speaker use it too).

/** A dotted quad with an octet spelled with a leading zero (Go and Node.js reject those: octal?). */
const LEADING_ZERO_OCTET = /(^|[.:])0\d/;
/** "::a.b.c.d", which ipaddr.js would read as the IPv4-mapped "::ffff:a.b.c.d". */
const IPV4_COMPATIBLE = /^::\d+\.\d+\.\d+\.\d+$/;

/**
 * Parses an IPv4 dotted quad (no octal, hex or short forms) or an IPv6 literal without a zone
 * (an embedded dotted quad is held to the same rules) to 4 or 16 bytes; undefined for anything else.
 */
export function ipTextToBytes(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    if (LEADING_ZERO_OCTET.test(text)) return undefined;
    return Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray());
  }
  if (!text.includes(':') || text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  const dottedTail = /[.\d]+$/.exec(text)?.[0] ?? '';
  if (dottedTail.includes('.') && LEADING_ZERO_OCTET.test(dottedTail)) return undefined;
  const spelled = IPV4_COMPATIBLE.test(text) ? `0:0:0:0:0:0:${text.slice(2)}` : text;
  return Uint8Array.from(ipaddr.IPv6.parse(spelled).toByteArray());
}

/**
 * 4 bytes as a dotted quad, 16 as RFC 5952 text (lower-case hex, the longest run of two or more
 * zero groups as "::", the first of equal runs; no dotted tail). Throws RangeError for other lengths.
 */
export function ipBytesToText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new RangeError(`an IP address is 4 or 16 bytes, got ${b.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
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

/** An IPv4 or IPv6 address. Immutable. */
export class IP {
  private constructor(
    readonly family: IPFamily,
    readonly value: bigint,
  ) {}

  static fromBigInt(family: IPFamily, value: bigint): IP {
    const max = (1n << BigInt(BITS[family])) - 1n;
    if (value < 0n || value > max) throw new RangeError(`value out of range for IPv${family}`);
    return new IP(family, value);
  }

  /** Strict parse: dotted-quad IPv4 (no octal, hex or short forms) or IPv6 without a zone. */
  static parse(text: string): IP | undefined {
    const bytes = ipTextToBytes(text);
    if (bytes === undefined) return undefined;
    return new IP(bytes.length === 4 ? 4 : 6, bytesToBigInt(bytes));
  }

  toBytes(): Uint8Array {
    const length = this.family === 4 ? 4 : 16;
    const bytes = new Uint8Array(length);
    let v = this.value;
    for (let i = length - 1; i >= 0; i -= 1) {
      bytes[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return bytes;
  }

  toString(): string {
    return ipBytesToText(this.toBytes());
  }

  equals(other: IP): boolean {
    return this.family === other.family && this.value === other.value;
  }

  /** Orders IPv4 before IPv6, then numerically. */
  static compare(a: IP, b: IP): number {
    if (a.family !== b.family) return a.family - b.family;
    return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  }
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** A network prefix. `base` has no host bits set. Immutable. */
export class Cidr {
  private constructor(
    readonly family: IPFamily,
    readonly base: bigint,
    readonly prefix: number,
  ) {}

  static of(ip: IP, prefix: number): Cidr {
    const bits = BITS[ip.family];
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
      throw new RangeError(`prefix length ${prefix} out of range for IPv${ip.family}`);
    }
    return new Cidr(ip.family, ip.value & ~hostMask(ip.family, prefix), prefix);
  }

  get hostBits(): number {
    return BITS[this.family] - this.prefix;
  }

  get size(): bigint {
    return 1n << BigInt(this.hostBits);
  }

  get first(): IP {
    return IP.fromBigInt(this.family, this.base);
  }

  get last(): IP {
    return IP.fromBigInt(this.family, this.base + this.size - 1n);
  }

  contains(ip: IP): boolean {
    return ip.family === this.family && ip.value >= this.base && ip.value <= this.base + this.size - 1n;
  }

  overlaps(other: Cidr): boolean {
    return rangesOverlap(this.family, this.base, this.base + this.size - 1n, other.family, other.base, other.base + other.size - 1n);
  }

  toString(): string {
    return `${this.first.toString()}/${this.prefix}`;
  }

  static compare(a: Cidr, b: Cidr): number {
    if (a.family !== b.family) return a.family - b.family;
    if (a.base !== b.base) return a.base < b.base ? -1 : 1;
    return a.prefix - b.prefix;
  }
}

function hostMask(family: IPFamily, prefix: number): bigint {
  return (1n << BigInt(BITS[family] - prefix)) - 1n;
}

export function rangesOverlap(fa: IPFamily, a0: bigint, a1: bigint, fb: IPFamily, b0: bigint, b1: bigint): boolean {
  return fa === fb && a0 <= b1 && b0 <= a1;
}

/** The minimal list of CIDRs covering exactly [first, last], ascending. */
export function summarizeRange(first: IP, last: IP): Cidr[] {
  if (first.family !== last.family) throw new RangeError('range mixes IPv4 and IPv6');
  if (first.value > last.value) throw new RangeError('range start is after its end');
  const family = first.family;
  const bits = BITS[family];
  const out: Cidr[] = [];
  let cursor = first.value;
  while (cursor <= last.value) {
    // Largest aligned block starting at cursor that does not run past the end.
    let hostBits = 0;
    while (hostBits < bits) {
      const next = hostBits + 1;
      const blockSize = 1n << BigInt(next);
      if ((cursor & (blockSize - 1n)) !== 0n || cursor + blockSize - 1n > last.value) break;
      hostBits = next;
    }
    out.push(Cidr.of(IP.fromBigInt(family, cursor), bits - hostBits));
    cursor += 1n << BigInt(hostBits);
  }
  return out;
}

/**
 * Number of IPv4 addresses in [first, last] whose last octet is 0 or 255: the ones that
 * `avoid-buggy-ips` leaves out, because some clients treat them as network/broadcast addresses.
 */
export function countBuggyIPv4(first: bigint, last: bigint): bigint {
  const upTo = (n: bigint): bigint => (n < 0n ? 0n : n / 256n + 1n + (n + 1n) / 256n);
  return upTo(last) - upTo(first - 1n);
}

export function isBuggyIPv4(ip: IP): boolean {
  if (ip.family !== 4) return false;
  const low = ip.value & 0xffn;
  return low === 0n || low === 255n;
}
