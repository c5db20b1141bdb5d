// One interface the announcer answers on (MetalLB's arp/ndp responder per interface): its ARP and
// NDP sockets, the solicited-node multicast memberships (reference-counted), and the receive paths
// that answer requests for the announced IPs and report frames from other owners.
//
// The port owns no IP state: it reads the announcer's AnswerTable on every frame and reports drops
// and conflicts back through PortEvents, so the announcer stays the one place that decides what is
// announced where.
import { constants as osConstants } from 'node:os';
import type { ArpReflexTable } from '@l2lb/native';
import { errorText, type Logger } from '@l2lb/shared/log';
import { BROADCAST_MAC, bytesEqual, ipv6MulticastMac, macToString, parseMac, solicitedNodeAddress } from './addr.js';
import { ARP_REPLY, ARP_REQUEST, buildArpReply } from './arp.js';
import { decodeFrame } from './frame.js';
import type { InterfaceInfo } from './interfaces.js';
import { buildSolicitedAdvert, ICMPV6_NA } from './ndp.js';
import type { DropReason } from './result.js';

export type { ArpReflexTable };

/** A received batch (views valid only during the callback). Matches @l2lb/native's FrameBatch. */
export interface L2FrameBatch {
  readonly count: number;
  frame(i: number): Buffer;
  pktType(i: number): number;
  /** ARP reflex outcome (sockets with setArpReplies): 0 not answered, 1 reply sent, -errno failed. */
  answered?(i: number): number;
}

/** What a port needs from a packet socket (implemented by @l2lb/native's PacketSocket). */
export interface L2Socket {
  onFrames(cb: (b: L2FrameBatch) => void): void;
  onError(cb: (e: Error & { code?: string }) => void): void;
  send(frame: Buffer): void;
  addMulticast(mac: Buffer): void;
  dropMulticast(mac: Buffer): void;
  joinGroup6(group: Buffer): void;
  leaveGroup6(group: Buffer): void;
  stats(): { packets: number; drops: number };
  close(): void;
  /** Optional ARP reflex (@l2lb/native has it): plain requests for the table's IPs are answered in the addon. */
  setArpReplies?(table: ArpReflexTable | null): void;
}

export type SocketKind = 'arp' | 'ndp';
export type SocketFactory = (ifname: string, kind: SocketKind) => L2Socket;

export interface IpCounters {
  requestsReceived: number;
  repliesSent: number;
  gratuitousSent: number;
  conflicts: number;
}

export type ConflictKind = 'arp-announcement' | 'arp-reply' | 'arp-request-from-vip' | 'na';

export type AnnouncerDrop =
  | DropReason
  | 'outgoing'
  | 'own-frame'
  | 'arp.not-request'
  | 'arp.not-for-us'
  | 'ndp.not-for-us'
  | 'ndp.advert'
  | 'not-announced'
  | 'own-address'
  | 'other-interface'
  | 'send-failed'
  | 'socket-error';

/** An IP the announcer answers for, as the receive paths see it. */
export interface AnnouncedIp {
  readonly text: string;
  readonly bytes: Buffer;
  readonly v6: boolean;
  readonly counters: IpCounters;
  /** Answer only on these interfaces (L2Advertisement.spec.interfaces); undefined = every port. */
  readonly only: ReadonlySet<string> | undefined;
}

/** The announcer's current view, read by every port on every frame (the announcer mutates it). */
export interface AnswerTable {
  /** Announced IPs by the hex of their bytes. */
  readonly ips: ReadonlyMap<string, AnnouncedIp>;
  /** Announced IPv4 VIPs by their 32-bit value (the allocation-free ARP path). */
  readonly v4: ReadonlyMap<number, AnnouncedIp>;
  /** Addresses configured on this node's interfaces (hex, and IPv4 as 32-bit values): the kernel answers those. */
  readonly nodeOwn: ReadonlySet<string>;
  readonly nodeOwnV4: ReadonlySet<number>;
  /** MACs of every open port (text, and as 48-bit numbers): our own frames are never answered. */
  readonly ownMacs: ReadonlySet<string>;
  readonly ownMacNums: ReadonlySet<number>;
}

/** What a port reports back to the announcer. */
export interface PortEvents {
  drop(reason: AnnouncerDrop): void;
  conflict(port: Port, ip: AnnouncedIp, mac: string, kind: ConflictKind): void;
  socketError(port: Port, kind: SocketKind, e: Error & { code?: string }): void;
}

export interface SocketStats {
  packets: number;
  drops: number;
}

const PACKET_OUTGOING = 4;

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));
const errnoName = (errno: number): string => ERRNO_NAMES.get(errno) ?? `errno ${errno}`;

export class Port {
  readonly name: string;
  readonly index: number;
  readonly mac: Buffer;
  readonly macText: string;
  /** The MAC as a 48-bit number, compared without allocating on the ARP fast path. */
  readonly macNum: number;
  arp: L2Socket | undefined;
  ndp: L2Socket | undefined;
  closed = false;
  /** Solicited-node group (hex) -> how many announced IPs need it. */
  private readonly groups = new Map<string, number>();
  /** PACKET_STATISTICS reset on every read: accumulated here. */
  private readonly arpStats: SocketStats = { packets: 0, drops: 0 };
  private readonly ndpStats: SocketStats = { packets: 0, drops: 0 };
  /** Reused ARP reply frame (send is synchronous), pre-filled with the constant fields. */
  private readonly reply: Buffer;

  private constructor(
    info: InterfaceInfo & { mac: string },
    private readonly table: AnswerTable,
    private readonly events: PortEvents,
    private readonly logger: Logger,
  ) {
    this.name = info.name;
    this.index = info.index;
    this.mac = parseMac(info.mac);
    this.macText = macToString(this.mac);
    this.macNum = this.mac.readUIntBE(0, 6);
    this.reply = arpReplyTemplate(this.mac);
  }

  /**
   * Opens the ARP and NDP sockets on an interface. Undefined when the interface has no MAC or the
   * ARP socket cannot be opened; without an NDP socket the port answers IPv4 only.
   */
  static open(info: InterfaceInfo, socketFactory: SocketFactory, table: AnswerTable, events: PortEvents, logger: Logger): Port | undefined {
    if (!info.mac) return undefined;
    const port = new Port({ ...info, mac: info.mac }, table, events, logger);
    try {
      port.arp = socketFactory(info.name, 'arp');
      port.arp.onFrames((b) => port.onArpBatch(b));
      port.arp.onError((e) => events.socketError(port, 'arp', e));
    } catch (e) {
      logger.error('cannot open ARP socket', { interface: info.name, error: errorText(e) });
      port.closeSockets();
      return undefined;
    }
    try {
      port.ndp = socketFactory(info.name, 'ndp');
      port.ndp.onFrames((b) => port.onNdpBatch(b));
      port.ndp.onError((e) => events.socketError(port, 'ndp', e));
    } catch (e) {
      logger.warn('cannot open NDP socket; IPv6 not answered on this interface', {
        interface: info.name,
        error: errorText(e),
      });
      port.ndp = undefined;
    }
    return port;
  }

  /** Closes both sockets (memberships go with them). */
  close(): void {
    this.closed = true;
    this.closeSockets();
  }

  private closeSockets(): void {
    for (const s of [this.arp, this.ndp]) {
      try {
        s?.close();
      } catch {
        // closing is best effort
      }
    }
    this.arp = undefined;
    this.ndp = undefined;
  }

  /** Is `ip` answered on this port? */
  answers(ip: AnnouncedIp): boolean {
    return ip.only === undefined || ip.only.has(this.name);
  }

  /** Socket counters since the port opened. */
  stats(): { arp: SocketStats; ndp: SocketStats } {
    return { arp: readStats(this.arpStats, this.arp), ndp: readStats(this.ndpStats, this.ndp) };
  }

  /** Sends one frame; a failure is counted and logged, never thrown. */
  send(s: L2Socket, frame: Buffer): boolean {
    try {
      s.send(frame);
      return true;
    } catch (e) {
      this.events.drop('send-failed');
      this.logger.warn('send failed', { interface: this.name, error: errorText(e) });
      return false;
    }
  }

  /** Hands the ARP socket its reflex table, when it has one. */
  setArpReflex(table: ArpReflexTable): void {
    if (!this.arp?.setArpReplies) return;
    try {
      this.arp.setArpReplies(table);
    } catch (e) {
      // The JS path still answers; only the latency advantage is lost.
      this.logger.warn('cannot set the ARP reflex table; answering from JS', {
        interface: this.name,
        error: errorText(e),
      });
    }
  }

  // ---- solicited-node multicast memberships ---------------------------------------------------

  /** The solicited-node group `ip` needs here and how many IPs hold it; undefined: not answered over NDP here. */
  private membership(ip: AnnouncedIp): { ndp: L2Socket; group: Buffer; key: string; holders: number } | undefined {
    if (!this.ndp || !this.answers(ip)) return undefined;
    const group = solicitedNodeAddress(ip.bytes);
    const key = group.toString('hex');
    return { ndp: this.ndp, group, key, holders: this.groups.get(key) ?? 0 };
  }

  joinGroup(ip: AnnouncedIp): void {
    const m = this.membership(ip);
    if (!m) return;
    const { ndp, group, key, holders } = m;
    this.groups.set(key, holders + 1);
    if (holders > 0) return;
    try {
      ndp.addMulticast(ipv6MulticastMac(group));
    } catch (e) {
      this.logger.warn('cannot add multicast MAC', { interface: this.name, ip: ip.text, error: errorText(e) });
    }
    try {
      ndp.joinGroup6(group); // MLD report, so snooping switches forward the NS to us
    } catch (e) {
      this.logger.warn('cannot join solicited-node group', {
        interface: this.name,
        ip: ip.text,
        error: errorText(e),
      });
    }
  }

  leaveGroup(ip: AnnouncedIp): void {
    const m = this.membership(ip);
    if (!m || m.holders <= 0) return;
    const { ndp, group, key, holders } = m;
    if (holders > 1) {
      this.groups.set(key, holders - 1);
      return;
    }
    this.groups.delete(key);
    try {
      ndp.dropMulticast(ipv6MulticastMac(group));
      ndp.leaveGroup6(group);
    } catch (e) {
      this.logger.debug('leaving group failed', { interface: this.name, ip: ip.text, error: errorText(e) });
    }
  }

  // ---- receive paths ------------------------------------------------------------------------

  private onArpBatch(b: L2FrameBatch): void {
    this.eachIncoming(b, 'ARP', (frame, i) => {
      const reflex = b.answered?.(i) ?? 0;
      if (reflex === 0) this.onArpFrame(frame);
      else this.countReflexReply(frame, reflex);
    });
  }

  /** A request the addon already answered (1) or failed to answer (-errno): count it like ours. */
  private countReflexReply(f: Buffer, outcome: number): void {
    const ip = this.table.v4.get(f.readUInt32BE(38));
    if (ip) ip.counters.requestsReceived++;
    if (outcome === 1) {
      if (ip) ip.counters.repliesSent++;
      return;
    }
    this.events.drop('send-failed');
    this.logger.warn('send failed', { interface: this.name, error: `ARP reply (addon): ${errnoName(-outcome)}` });
  }

  /** Hands every received (not outgoing) frame of a batch to `handle`, one failure at a time. */
  private eachIncoming(b: L2FrameBatch, protocol: string, handle: (frame: Buffer, i: number) => void): void {
    for (let i = 0; i < b.count; i++) {
      if (b.pktType(i) === PACKET_OUTGOING) {
        this.events.drop('outgoing');
        continue;
      }
      try {
        handle(b.frame(i), i);
      } catch (e) {
        // Defensive: the codecs are total, but a bug here must not kill the receive path.
        this.logger.error(`${protocol} frame handling failed`, { interface: this.name, error: errorText(e) });
      }
    }
  }

  private onArpFrame(frame: Buffer): void {
    if (this.fastArpReply(frame)) return;
    const { table, events } = this;
    const d = decodeFrame(frame);
    if (!d.ok) return events.drop(d.reason);
    if (d.value.kind !== 'arp') return events.drop('eth.unsupported-ethertype');
    const { eth, arp } = d.value;
    const shaText = macToString(arp.sha);
    if (table.ownMacs.has(shaText)) return events.drop('own-frame');
    const claimed = table.ips.get(arp.spa.toString('hex'));
    if (claimed) {
      const kind: ConflictKind = arp.op === ARP_REPLY ? 'arp-reply' : bytesEqual(arp.spa, arp.tpa) ? 'arp-announcement' : 'arp-request-from-vip';
      return events.conflict(this, claimed, shaText, kind);
    }
    if (arp.op !== ARP_REQUEST) return events.drop('arp.not-request');
    if (!bytesEqual(eth.dst, BROADCAST_MAC) && !bytesEqual(eth.dst, this.mac)) return events.drop('arp.not-for-us');
    const key = arp.tpa.toString('hex');
    const ip = table.ips.get(key);
    if (!ip) return events.drop('not-announced');
    if (!this.answers(ip)) return events.drop('other-interface');
    if (table.nodeOwn.has(key)) return events.drop('own-address');
    ip.counters.requestsReceived++;
    if (this.arp && this.send(this.arp, buildArpReply(arp, this.mac, ip.bytes))) ip.counters.repliesSent++;
  }

  /**
   * The common case without allocations: a well-formed Ethernet/IPv4 ARP request, to broadcast
   * or to us, for an announced IP, from a foreign MAC whose sender IP is not one of ours.
   * Anything else returns false and takes the general (decoding, counting) path.
   */
  private fastArpReply(f: Buffer): boolean {
    const { table } = this;
    if (f.length < 42 || f.readUInt16BE(12) !== 0x0806) return false;
    if (f.readUInt32BE(14) !== 0x00010800 || f.readUInt32BE(18) !== 0x06040001) return false;
    const ip = table.v4.get(f.readUInt32BE(38));
    if (!ip || table.v4.has(f.readUInt32BE(28)) || (ip.only !== undefined && !ip.only.has(this.name))) return false;
    const dst = f.readUIntBE(0, 6);
    if (dst !== 0xffffffffffff && dst !== this.macNum) return false;
    if (table.ownMacNums.has(f.readUIntBE(22, 6)) || table.nodeOwnV4.has(f.readUInt32BE(38)) || !this.arp) return false;
    ip.counters.requestsReceived++;
    const r = this.reply;
    f.copy(r, 0, 22, 28); // eth dst = requester's sha
    r.writeUInt32BE(f.readUInt32BE(38), 28); // spa = VIP
    f.copy(r, 32, 22, 32); // tha, tpa = requester's sha, spa
    if (this.send(this.arp, r)) ip.counters.repliesSent++;
    return true;
  }

  private onNdpBatch(b: L2FrameBatch): void {
    this.eachIncoming(b, 'NDP', (frame) => this.onNdpFrame(frame));
  }

  private onNdpFrame(frame: Buffer): void {
    const { table, events } = this;
    const d = decodeFrame(frame);
    if (!d.ok) return events.drop(d.reason);
    if (d.value.kind !== 'ndp') return events.drop('eth.unsupported-ethertype');
    const { eth, ip6, ndp } = d.value;
    if (table.ownMacs.has(macToString(eth.src))) return events.drop('own-frame');
    const key = ndp.target.toString('hex');
    const ip = table.ips.get(key);
    if (ndp.type === ICMPV6_NA) {
      if (!ip) return events.drop('ndp.advert');
      const mac = ndp.targetLla ?? eth.src;
      if (table.ownMacs.has(macToString(mac))) return events.drop('own-frame');
      return events.conflict(this, ip, macToString(mac), 'na');
    }
    const solicited = solicitedNodeAddress(ndp.target);
    const toGroup = bytesEqual(ip6.dst, solicited) && bytesEqual(eth.dst, ipv6MulticastMac(solicited));
    const toUs = bytesEqual(ip6.dst, ndp.target) && bytesEqual(eth.dst, this.mac);
    if (!toGroup && !toUs) return events.drop('ndp.not-for-us');
    if (!ip) return events.drop('not-announced');
    if (!this.answers(ip)) return events.drop('other-interface');
    if (table.nodeOwn.has(key)) return events.drop('own-address');
    ip.counters.requestsReceived++;
    const na = buildSolicitedAdvert(this.mac, ip.bytes, ip6.src, eth.src, ndp.sourceLla);
    if (this.ndp && this.send(this.ndp, na)) ip.counters.repliesSent++;
  }
}

/** Adds what the socket counted since the last read; a closed socket has nothing left to add. */
function readStats(acc: SocketStats, s: L2Socket | undefined): SocketStats {
  try {
    const d = s ? s.stats() : { packets: 0, drops: 0 };
    acc.packets += d.packets;
    acc.drops += d.drops;
  } catch {
    // a closed socket has no statistics left
  }
  return { ...acc };
}

function arpReplyTemplate(mac: Buffer): Buffer {
  const r = Buffer.alloc(42);
  mac.copy(r, 6);
  r.writeUInt16BE(0x0806, 12);
  r.writeUInt32BE(0x00010800, 14);
  r.writeUInt32BE(0x06040002, 18);
  mac.copy(r, 22);
  return r;
}
