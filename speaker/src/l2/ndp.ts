// ICMPv6 Neighbor Discovery: Neighbor Solicitation / Advertisement (RFC 4861 4.3, 4.4, 7.1).
import { drop, ok, type Parsed } from './result.js';
import { ALL_NODES_V6, ipv6MulticastMac, isZero, solicitedNodeAddress, solicitedNodeMac, bytesEqual } from './addr.js';
import { buildIcmpv6Frame, icmpv6Checksum, type Ipv6Packet } from './ipv6.js';

export const ICMPV6_NS = 135;
export const ICMPV6_NA = 136;
export const OPT_SOURCE_LLA = 1;
export const OPT_TARGET_LLA = 2;
export const NDP_HOP_LIMIT = 255;

export interface NdpOptions {
  sourceLla: Buffer | undefined;
  targetLla: Buffer | undefined;
}

export interface NeighborSolicit extends NdpOptions {
  type: typeof ICMPV6_NS;
  target: Buffer;
}

export interface NeighborAdvert extends NdpOptions {
  type: typeof ICMPV6_NA;
  router: boolean;
  solicited: boolean;
  override: boolean;
  target: Buffer;
}

export type NdpMessage = NeighborSolicit | NeighborAdvert;

function parseOptions(b: Buffer, what: string): Parsed<NdpOptions> {
  const out: NdpOptions = { sourceLla: undefined, targetLla: undefined };
  let off = 0;
  while (off < b.length) {
    if (b.length - off < 2) return drop('ndp.bad-option', `${what}: option header truncated at offset ${off}`);
    const type = b[off] ?? 0;
    const len = (b[off + 1] ?? 0) * 8;
    if (len === 0) return drop('ndp.bad-option', `${what}: option type ${type} has length 0`);
    if (off + len > b.length) return drop('ndp.bad-option', `${what}: option type ${type} overruns the message`);
    if (type === OPT_SOURCE_LLA || type === OPT_TARGET_LLA) {
      if (len < 8) return drop('ndp.bad-option', `${what}: link-layer address option too short`);
      const mac = b.subarray(off + 2, off + 8);
      if (type === OPT_SOURCE_LLA) out.sourceLla = mac;
      else out.targetLla = mac;
    }
    off += len;
  }
  return ok(out);
}

/** Validates and parses an NS or NA carried in `ip` (RFC 4861 7.1.1 / 7.1.2). */
export function parseNdp(ip: Ipv6Packet): Parsed<NdpMessage> {
  const m = ip.payload;
  if (m.length < 4) return drop('icmpv6.truncated', `icmpv6: ${m.length} bytes, header needs 4`);
  const type = m[0] ?? 0;
  if (type !== ICMPV6_NS && type !== ICMPV6_NA) return drop('icmpv6.not-ndp', `icmpv6: type ${type} is not NS/NA`);
  const what = type === ICMPV6_NS ? 'neighbor solicitation' : 'neighbor advertisement';
  if (ip.hopLimit !== NDP_HOP_LIMIT) {
    return drop('ndp.bad-hop-limit', `${what}: hop limit ${ip.hopLimit}, must be 255 (off-link sender)`);
  }
  if (icmpv6Checksum(ip.src, ip.dst, m) !== 0) {
    return drop('icmpv6.bad-checksum', `${what}: checksum 0x${m.readUInt16BE(2).toString(16)} does not verify`);
  }
  if (m[1] !== 0) return drop('ndp.bad-code', `${what}: code ${m[1]}, must be 0`);
  if (m.length < 24) return drop('ndp.truncated', `${what}: ${m.length} bytes, needs 24`);
  const target = m.subarray(8, 24);
  if (target[0] === 0xff) return drop('ndp.multicast-target', `${what}: target is a multicast address`);
  const opts = parseOptions(m.subarray(24), what);
  if (!opts.ok) return opts;
  if (type === ICMPV6_NS) {
    if (isZero(ip.src)) {
      if (!bytesEqual(ip.dst, solicitedNodeAddress(target))) {
        return drop('ndp.bad-destination', `${what}: DAD probe not sent to the target's solicited-node address`);
      }
      if (opts.value.sourceLla) {
        return drop('ndp.bad-option', `${what}: DAD probe (source ::) carries a source link-layer option`);
      }
    }
    return ok({ type: ICMPV6_NS, target, ...opts.value });
  }
  const flags = m[4] ?? 0;
  const solicited = (flags & 0x40) !== 0;
  if (solicited && ip.dst[0] === 0xff) {
    return drop('ndp.bad-destination', `${what}: solicited flag set on a multicast destination`);
  }
  return ok({
    type: ICMPV6_NA,
    router: (flags & 0x80) !== 0,
    solicited,
    override: (flags & 0x20) !== 0,
    target,
    ...opts.value,
  });
}

function llaOption(type: number, mac: Uint8Array): Buffer {
  const o = Buffer.alloc(8);
  o[0] = type;
  o[1] = 1;
  o.set(mac.subarray(0, 6), 2);
  return o;
}

export interface AdvertParams {
  ethDst: Uint8Array;
  ethSrc: Uint8Array;
  /** IPv6 source: the announced address itself (ndisc6 ignores NAs whose source is not the target). */
  src: Uint8Array;
  dst: Uint8Array;
  target: Uint8Array;
  router?: boolean;
  solicited: boolean;
  override: boolean;
  /** Target link-layer address option (the interface MAC); omitted when undefined. */
  tlla: Uint8Array | undefined;
}

export function buildNeighborAdvert(p: AdvertParams): Buffer {
  const msg = Buffer.alloc(24 + (p.tlla ? 8 : 0));
  msg[0] = ICMPV6_NA;
  msg[4] = (p.router ? 0x80 : 0) | (p.solicited ? 0x40 : 0) | (p.override ? 0x20 : 0);
  msg.set(p.target.subarray(0, 16), 8);
  if (p.tlla) msg.set(llaOption(OPT_TARGET_LLA, p.tlla), 24);
  return buildIcmpv6Frame(p.ethDst, p.ethSrc, p.src, p.dst, NDP_HOP_LIMIT, msg);
}

/** Solicited NA answering an NS for `vip`: S=1, O=1, source = the VIP, TLLA = interface MAC. */
export function buildSolicitedAdvert(ifMac: Buffer, vip: Buffer, nsSrc: Buffer, nsEthSrc: Buffer, nsSourceLla: Buffer | undefined): Buffer {
  // DAD probe: answer to all-nodes with S=0 (RFC 4861 7.2.4), which is exactly the unsolicited form.
  if (isZero(nsSrc)) return buildUnsolicitedAdvert(ifMac, vip);
  return buildNeighborAdvert({
    ethDst: nsSourceLla ?? nsEthSrc,
    ethSrc: ifMac,
    src: vip,
    dst: nsSrc,
    target: vip,
    solicited: true,
    override: true,
    tlla: ifMac,
  });
}

/** Unsolicited NA to ff02::1: S=0, O=1 (O=0 would not move existing neighbor entries). */
export function buildUnsolicitedAdvert(ifMac: Buffer, vip: Buffer): Buffer {
  return buildNeighborAdvert({
    ethDst: ipv6MulticastMac(ALL_NODES_V6),
    ethSrc: ifMac,
    src: vip,
    dst: ALL_NODES_V6,
    target: vip,
    solicited: false,
    override: true,
    tlla: ifMac,
  });
}

/** NS for `target` from `src` (multicast to the solicited-node group unless `unicastMac` is given). */
export function buildNeighborSolicit(ethSrc: Uint8Array, src: Uint8Array, target: Uint8Array, unicastMac?: Uint8Array): Buffer {
  const dad = isZero(src);
  const msg = Buffer.alloc(24 + (dad ? 0 : 8));
  msg[0] = ICMPV6_NS;
  msg.set(target.subarray(0, 16), 8);
  if (!dad) msg.set(llaOption(OPT_SOURCE_LLA, ethSrc), 24);
  const dst = unicastMac ? target : solicitedNodeAddress(target);
  const ethDst = unicastMac ?? solicitedNodeMac(target);
  return buildIcmpv6Frame(ethDst, ethSrc, src, dst, NDP_HOP_LIMIT, msg);
}
