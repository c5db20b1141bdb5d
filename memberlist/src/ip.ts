// IP address bytes <-> text as Go's net.IP reads and prints them, on the project's one codec
// (@l2lb/shared/ip) plus Go's two habits below.
import { ipBytesToText, ipTextToBytes } from '@l2lb/shared/ip';

/** Our own address for the wire. Throws on anything but an IP literal (configuration only). */
export function ipToBytes(ip: string): Uint8Array {
  // A link-local bind address may carry a zone (fe80::1%eth0); the wire format has no room for it.
  const bytes = ipTextToBytes(ip.includes(':') ? ip.replace(/%.*$/, '') : ip);
  if (bytes === undefined) throw new Error(`not an IP address: ${ip}`);
  return bytes;
}

/** A peer's address from the wire; null when it is neither 4 nor 16 bytes. */
export function bytesToIp(b: Uint8Array): string | null {
  if (b.length !== 4 && b.length !== 16) return null;
  // Go's net.IP prints (and dials) an IPv4-mapped IPv6 address as the IPv4 address.
  const mapped = b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return ipBytesToText(mapped ? b.subarray(12) : b);
}
