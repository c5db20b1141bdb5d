// @l2lb/native: protocol-agnostic AF_PACKET sockets and interface listing for Node.js.
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { loadAddon, type RawPacketSocket, type RawStats } from './addon.js';

export { FILTER_ARP, FILTER_NDP, NDP_INSNS, ARP_INSNS, encodeFilter, runFilter, type BpfInsn } from './filters.js';
export { addonPath, loadAddon } from './addon.js';

export type Protocol = 'arp' | 'ipv6' | 'all';

export interface OpenOptions {
  /** Interface name; resolved with if_nametoindex. Unknown names throw ENODEV (never ifindex 0). */
  ifname: string;
  protocol: Protocol;
  /** Classic BPF program (n * 8 bytes), attached before bind. */
  filter?: Buffer;
  /** SO_RCVBUFFORCE (falls back to SO_RCVBUF). */
  rcvBuf?: number;
  /** recvmmsg slots per batch (default 64). */
  batch?: number;
  /** Bytes per slot (default 2048); longer frames are truncated and flagged. */
  slotSize?: number;
}

/** Frames received in one wake-up. Views into a reused buffer: valid only inside the callback. */
export interface FrameBatch {
  readonly count: number;
  frame(i: number): Buffer;
  pktType(i: number): number;
  truncated(i: number): boolean;
  /** ARP reflex outcome: 0 not answered by the addon, 1 reply sent, -errno the reply failed. */
  answered(i: number): number;
}

/** The ARP reflex table (see PacketSocket.setArpReplies). */
export interface ArpReflexTable {
  /** Sender MAC of the replies (the interface's). */
  mac: Buffer;
  /** IPv4 addresses (4 bytes each) to answer for. */
  ips: readonly Buffer[];
  /** Requests from these MACs (ours) are never answered by the reflex. */
  ignoreMacs: readonly Buffer[];
}

export type ErrnoError = Error & { code?: string; errno?: number; syscall?: string };

export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

const ETHERTYPES: Record<Protocol, number> = { arp: 0x0806, ipv6: 0x86dd, all: 0x0003 };

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `ERRNO${errno}`;
}

const META_INTS = 4; // length, pkttype, truncated, ARP reflex outcome

class BatchView implements FrameBatch {
  count = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly meta: Int32Array,
    private readonly slotSize: number,
  ) {}
  frame(i: number): Buffer {
    const len = Math.min(this.meta[i * META_INTS] ?? 0, this.slotSize);
    return this.buf.subarray(i * this.slotSize, i * this.slotSize + len);
  }
  pktType(i: number): number {
    return this.meta[i * META_INTS + 1] ?? 0;
  }
  truncated(i: number): boolean {
    return (this.meta[i * META_INTS + 2] ?? 0) !== 0;
  }
  answered(i: number): number {
    return this.meta[i * META_INTS + 3] ?? 0;
  }
}

export class PacketSocket {
  readonly ifname: string;
  readonly protocol: Protocol;
  private readonly raw: RawPacketSocket;
  private readonly slotSize: number;
  private readonly buf: Buffer;
  private readonly meta: Int32Array;
  private frameCb: ((b: FrameBatch) => void) | undefined;
  private errorCb: ((e: ErrnoError) => void) | undefined;
  private started = false;
  private readonly batchView: BatchView;

  private constructor(o: OpenOptions, raw: RawPacketSocket) {
    this.ifname = o.ifname;
    this.protocol = o.protocol;
    this.raw = raw;
    this.slotSize = o.slotSize ?? 2048;
    const slots = o.batch ?? 64;
    this.buf = Buffer.alloc(slots * this.slotSize);
    this.meta = new Int32Array(slots * META_INTS);
    this.batchView = new BatchView(this.buf, this.meta, this.slotSize);
  }

  /** Opens and binds the socket. Throws an Error with code EPERM (needs CAP_NET_RAW), ENODEV, ... */
  static open(o: OpenOptions): PacketSocket {
    const addon = loadAddon();
    if (!o.ifname) {
      const e: ErrnoError = new Error('PacketSocket.open: an interface name is required (ifindex 0 is never used)');
      e.code = 'ENODEV';
      throw e;
    }
    const raw = new addon.PacketSocket(o.ifname, ETHERTYPES[o.protocol], o.filter ?? null, o.rcvBuf ?? 0);
    return new PacketSocket(o, raw);
  }

  get ifindex(): number {
    return this.raw.ifindex;
  }

  get closed(): boolean {
    return this.raw.closed;
  }

  /** Starts receiving (uv_poll + recvmmsg); one callback per batch. */
  onFrames(cb: (b: FrameBatch) => void): void {
    this.frameCb = cb;
    this.ensureStarted();
  }

  /** Socket errors (ENETDOWN after link down, ...); the watcher is re-armed by the addon. */
  onError(cb: (e: ErrnoError) => void): void {
    this.errorCb = cb;
    this.ensureStarted();
  }

  private ensureStarted(): void {
    if (this.started) return;
    this.started = true;
    this.raw.start(this.buf, this.meta, this.slotSize, (n) => this.dispatch(n));
  }

  private dispatch(n: number): void {
    if (n < 0) {
      const e: ErrnoError = new Error(`${this.ifname}: socket error ${errnoName(-n)}`);
      e.code = errnoName(-n);
      e.errno = n;
      e.syscall = 'recvmmsg';
      this.errorCb?.(e);
      return;
    }
    this.batchView.count = n;
    this.frameCb?.(this.batchView);
  }

  /** Synchronous send (MSG_DONTWAIT); throws EAGAIN/ENETDOWN/ENXIO errors. */
  send(frame: Buffer): void {
    this.raw.send(frame);
  }

  addMulticast(mac: Buffer): void {
    this.raw.addMembership(mac);
  }

  dropMulticast(mac: Buffer): void {
    this.raw.dropMembership(mac);
  }

  /** IPv6 group membership at IP level (the kernel then sends MLD reports). */
  joinGroup6(group: Buffer): void {
    this.raw.joinGroup6(group);
  }

  leaveGroup6(group: Buffer): void {
    this.raw.leaveGroup6(group);
  }

  setFilter(f: Buffer | null): void {
    this.raw.setFilter(f);
  }

  /**
   * The ARP reflex: plain ARP requests for `table.ips` (to broadcast or to `table.mac`, not from
   * `ignoreMacs`, sender IP not itself in the table) are answered by the addon right after
   * receive, before the batch reaches JS; `FrameBatch.answered(i)` reports the outcome. `null`
   * (or no IPs) turns it off. Throws TypeError on malformed input (MAC not 6 bytes, IP not 4).
   */
  setArpReplies(table: ArpReflexTable | null): void {
    if (!table || table.ips.length === 0) {
      this.raw.setArpReplies(null);
      return;
    }
    if (table.mac.length !== 6) throw new TypeError(`setArpReplies: mac must be 6 bytes, got ${table.mac.length}`);
    for (const ip of table.ips) {
      if (ip.length !== 4) throw new TypeError(`setArpReplies: IPv4 addresses are 4 bytes, got ${ip.length}`);
    }
    for (const m of table.ignoreMacs) {
      if (m.length !== 6) throw new TypeError(`setArpReplies: ignoreMacs entries must be 6 bytes, got ${m.length}`);
    }
    this.raw.setArpReplies(table.mac, Buffer.concat([...table.ips]), Buffer.concat([...table.ignoreMacs]));
  }

  /** PACKET_STATISTICS; the kernel resets them on every read. */
  stats(): RawStats {
    return this.raw.stats();
  }

  ref(): void {
    this.raw.ref();
  }

  unref(): void {
    this.raw.unref();
  }

  close(): void {
    this.raw.close();
  }
}

export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_SLAVE = 0x800;
export const IFF_LOWER_UP = 0x10000;

export interface InterfaceAddress {
  family: 4 | 6;
  address: string;
  prefixLen: number;
  scopeId: number;
}

export interface NetInterface {
  name: string;
  index: number;
  /** Lower-case colon form, or null for interfaces without a 6-byte hardware address. */
  mac: string | null;
  flags: number;
  up: boolean;
  running: boolean;
  broadcast: boolean;
  noarp: boolean;
  loopback: boolean;
  /** Enslaved to a bond/bridge/OVS (has /sys/class/net/<if>/master, or IFF_SLAVE). */
  hasMaster: boolean;
  addresses: InterfaceAddress[];
}

function macText(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Lists the interfaces of the current network namespace (getifaddrs + sysfs for masters). */
export function listInterfaces(): NetInterface[] {
  return loadAddon()
    .listInterfaces()
    .map((r) => ({
      name: r.name,
      index: r.index,
      mac: r.mac ? macText(r.mac) : null,
      flags: r.flags,
      up: (r.flags & IFF_UP) !== 0,
      running: (r.flags & IFF_RUNNING) !== 0,
      broadcast: (r.flags & IFF_BROADCAST) !== 0,
      noarp: (r.flags & IFF_NOARP) !== 0,
      loopback: (r.flags & IFF_LOOPBACK) !== 0,
      hasMaster: (r.flags & IFF_SLAVE) !== 0 || existsSync(`/sys/class/net/${r.name}/master`),
      addresses: r.addresses.map((a) => ({ ...a })),
    }));
}

/**
 * Gives the C heap's free pages back to the kernel (glibc `malloc_trim(0)`): memory freed inside malloc's
 * arenas otherwise stays in the process's RSS at its high-water mark. True when some was released; false
 * when none was, or the C library has no malloc_trim. Takes about a millisecond for a few MB of heap.
 */
export function releaseFreeMemory(): boolean {
  return loadAddon().mallocTrim();
}

export interface LinkWatch {
  close(): void;
  unref(): void;
}

/**
 * Calls `onChange` after link or address changes in this network namespace (rtnetlink
 * RTMGRP_LINK / IPV4_IFADDR / IPV6_IFADDR). No details: re-read listInterfaces().
 */
export function watchLinks(onChange: () => void): LinkWatch {
  const w = new (loadAddon().LinkWatcher)(onChange);
  return { close: () => w.close(), unref: () => w.unref() };
}
