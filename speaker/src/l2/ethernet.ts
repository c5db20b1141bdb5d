// Ethernet II framing (with an optional single 802.1Q tag on receive).
import { drop, ok, type Parsed } from './result.js';

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_VLAN = 0x8100;
export const ETH_HEADER_LEN = 14;

export interface EthernetFrame {
  dst: Buffer;
  src: Buffer;
  ethertype: number;
  /** VLAN id when the frame carried an 802.1Q tag, else undefined. */
  vlan: number | undefined;
  payload: Buffer;
}

/** Views into `frame` (no copies): valid as long as the frame's bytes are. */
export function parseEthernet(frame: Buffer): Parsed<EthernetFrame> {
  if (frame.length < ETH_HEADER_LEN) {
    return drop('eth.truncated', `ethernet frame: ${frame.length} bytes, header needs ${ETH_HEADER_LEN}`);
  }
  let ethertype = frame.readUInt16BE(12);
  let off = ETH_HEADER_LEN;
  let vlan: number | undefined;
  if (ethertype === ETHERTYPE_VLAN) {
    if (frame.length < 18) return drop('eth.vlan-truncated', `ethernet frame: 802.1Q tag truncated (${frame.length} bytes)`);
    vlan = frame.readUInt16BE(14) & 0x0fff;
    ethertype = frame.readUInt16BE(16);
    off = 18;
  }
  return ok({ dst: frame.subarray(0, 6), src: frame.subarray(6, 12), ethertype, vlan, payload: frame.subarray(off) });
}

export function buildEthernet(dst: Uint8Array, src: Uint8Array, ethertype: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(ETH_HEADER_LEN + payload.length);
  b.set(dst.subarray(0, 6), 0);
  b.set(src.subarray(0, 6), 6);
  b.writeUInt16BE(ethertype, 12);
  b.set(payload, ETH_HEADER_LEN);
  return b;
}
