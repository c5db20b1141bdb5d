// Result of a total parser: a value, or the reason the input was dropped (never an exception).

export type DropReason =
  | 'eth.truncated'
  | 'eth.vlan-truncated'
  | 'eth.unsupported-ethertype'
  | 'arp.truncated'
  | 'arp.unsupported-hardware'
  | 'arp.unsupported-protocol'
  | 'arp.bad-lengths'
  | 'arp.bad-operation'
  | 'ipv6.truncated'
  | 'ipv6.bad-version'
  | 'ipv6.bad-payload-length'
  | 'ipv6.not-icmpv6'
  | 'icmpv6.truncated'
  | 'icmpv6.bad-checksum'
  | 'icmpv6.not-ndp'
  | 'ndp.bad-hop-limit'
  | 'ndp.bad-code'
  | 'ndp.truncated'
  | 'ndp.bad-option'
  | 'ndp.multicast-target'
  | 'ndp.bad-source'
  | 'ndp.bad-destination';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: DropReason; message: string };

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function drop<T>(reason: DropReason, message: string): Parsed<T> {
  return { ok: false, reason, message };
}
