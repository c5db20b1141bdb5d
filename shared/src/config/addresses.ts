// One entry of a pool's `addresses` list: a CIDR or an inclusive "start-end" range.
import { Cidr, IP, familyBits, summarizeRange, type IPFamily } from '../ip.js';
import { describeType, show } from './errors.js';

export interface AddressEntry {
  /** The entry as written (trimmed). */
  readonly text: string;
  readonly family: IPFamily;
  readonly first: IP;
  readonly last: IP;
  /** Minimal CIDRs covering the entry, ascending. */
  readonly cidrs: readonly Cidr[];
}

export type AddressEntryResult = { readonly entry: AddressEntry; readonly warning?: string } | { readonly error: string };

const DECIMAL = /^[0-9]{1,3}$/;

export function parseAddressEntry(raw: unknown): AddressEntryResult {
  if (typeof raw !== 'string') return { error: `must be a CIDR or an address range written as a string, got ${describeType(raw)}` };
  const text = raw.trim();
  if (text.length === 0) return { error: 'is empty (expected a CIDR such as 192.168.10.0/24 or a range such as 192.168.10.10-192.168.10.20)' };
  if (text.includes('-')) return parseRange(text);
  if (text.includes('/')) return parseCidr(text);
  const single = IP.parse(text);
  if (single !== undefined) {
    const bits = familyBits(single.family);
    return { error: `${show(text)} is a single address without a prefix length: write ${show(`${text}/${bits}`)} (or a range ${show(`${text}-${text}`)})` };
  }
  return { error: `${show(text)} is not a CIDR (such as 192.168.10.0/24) or an address range (such as 192.168.10.10-192.168.10.20)` };
}

function parseCidr(text: string): AddressEntryResult {
  const slash = text.indexOf('/');
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const address = IP.parse(addressText);
  if (address === undefined) return { error: `invalid CIDR ${show(text)}: ${show(addressText)} is not a valid IPv4 or IPv6 address` };
  const bits = familyBits(address.family);
  if (!DECIMAL.test(prefixText) || Number(prefixText) > bits) {
    return { error: `invalid CIDR ${show(text)}: prefix length ${show(prefixText)} must be a number from 0 to ${bits} for IPv${address.family}` };
  }
  const cidr = Cidr.of(address, Number(prefixText));
  const entry = { text, family: address.family, first: cidr.first, last: cidr.last, cidrs: [cidr] };
  if (cidr.base !== address.value) {
    // MetalLB (Go's net.ParseCIDR) reads the network and drops the host bits: so do we, and say so.
    return {
      entry,
      warning: `CIDR ${show(text)} has host bits set: read as ${show(cidr.toString())}, as MetalLB reads it (write that; or ${show(`${address.toString()}/${bits}`)} for the single address)`,
    };
  }
  return { entry };
}

function parseRange(text: string): AddressEntryResult {
  const parts = text.split('-');
  if (parts.length !== 2) return { error: `invalid address range ${show(text)}: write it as start-end, such as 192.168.10.10-192.168.10.20` };
  const startText = (parts[0] ?? '').trim();
  const endText = (parts[1] ?? '').trim();
  const start = IP.parse(startText);
  const end = IP.parse(endText);
  if (start === undefined) return { error: `invalid address range ${show(text)}: start ${show(startText)} is not a valid IPv4 or IPv6 address` };
  if (end === undefined) return { error: `invalid address range ${show(text)}: end ${show(endText)} is not a valid IPv4 or IPv6 address` };
  if (start.family !== end.family) {
    return { error: `invalid address range ${show(text)}: it mixes IPv4 and IPv6 (start is IPv${start.family}, end is IPv${end.family})` };
  }
  if (start.value > end.value) {
    return { error: `invalid address range ${show(text)}: start ${start.toString()} is after end ${end.toString()}` };
  }
  return { entry: { text, family: start.family, first: start, last: end, cidrs: summarizeRange(start, end) } };
}

export function entriesOverlap(a: AddressEntry, b: AddressEntry): boolean {
  return a.family === b.family && a.first.value <= b.last.value && b.first.value <= a.last.value;
}
