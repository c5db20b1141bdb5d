// Typed loader for the compiled N-API addon (build/Release/l2lb_native.node).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface RawStats {
  packets: number;
  drops: number;
}

export interface RawPacketSocket {
  readonly ifindex: number;
  readonly closed: boolean;
  start(buffer: Buffer, meta: Int32Array, slotSize: number, cb: (count: number) => void): void;
  send(frame: Buffer): number;
  addMembership(mac: Buffer): void;
  dropMembership(mac: Buffer): void;
  joinGroup6(group: Buffer): void;
  leaveGroup6(group: Buffer): void;
  setFilter(filter: Buffer | null): void;
  setArpReplies(mac: Buffer | null, ips?: Buffer, ignoreMacs?: Buffer): void;
  stats(): RawStats;
  ref(): void;
  unref(): void;
  close(): void;
}

export interface RawAddress {
  family: 4 | 6;
  address: string;
  prefixLen: number;
  scopeId: number;
}

export interface RawInterface {
  name: string;
  index: number;
  flags: number;
  mac: Buffer | null;
  addresses: RawAddress[];
}

export interface RawConstants {
  ETH_P_ALL: number;
  ETH_P_ARP: number;
  ETH_P_IPV6: number;
  PACKET_HOST: number;
  PACKET_BROADCAST: number;
  PACKET_MULTICAST: number;
  PACKET_OTHERHOST: number;
  PACKET_OUTGOING: number;
}

export interface RawLinkWatcher {
  ref(): void;
  unref(): void;
  close(): void;
}

export interface RawAddon {
  LinkWatcher: new (cb: () => void) => RawLinkWatcher;
  PacketSocket: new (ifname: string, ethertype: number, filter: Buffer | null, rcvBuf: number) => RawPacketSocket;
  listInterfaces(): RawInterface[];
  /** glibc malloc_trim(0): true when memory was given back to the kernel. */
  mallocTrim(): boolean;
  constants: RawConstants;
  /**
   * TEST ONLY (fuzzing and differential tests; the speaker never calls it): the ARP reflex decision of
   * PacketSocket on a raw frame, without a socket. Returns the 42-byte reply the reflex would send, or null.
   */
  _testArpReflex(mac: Buffer, ips: Buffer, ignoreMacs: Buffer, frame: Buffer, pkttype: number): Buffer | null;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const addonPath = join(packageRoot, 'build', 'Release', 'l2lb_native.node');

let cached: RawAddon | undefined;

/** Loads the addon once; throws a clear error if it has not been built. */
export function loadAddon(): RawAddon {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    throw new Error(`@l2lb/native: addon not built (${addonPath} missing); run "npm run build" in native/`);
  }
  const require = createRequire(import.meta.url);
  cached = require(addonPath) as RawAddon;
  return cached;
}
