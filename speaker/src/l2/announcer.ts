// The layer-2 announcer: answers ARP requests and IPv6 neighbor solicitations for announced IPs,
// sends gratuitous ARP / unsolicited NA when an IP is gained, and detects conflicting owners.
//
// I/O is injected (socket factory, interface lister, timers), so the whole state machine runs
// in unit tests without root. Frames are parsed by the pure codecs; bad input is dropped and
// counted per reason, never thrown out of the receive path.
import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';
import { bytesEqual, canonicalIp, macToString, parseIp, parseMac, solicitedNodeAddress, ipv6MulticastMac } from './addr.js';
import { ARP_REQUEST, ARP_REPLY, buildArpReply, buildGratuitousArp } from './arp.js';
import { BROADCAST_MAC } from './addr.js';
import { decodeFrame } from './frame.js';
import { buildSolicitedAdvert, buildUnsolicitedAdvert, ICMPV6_NA } from './ndp.js';
import { selectInterfaces, type InterfaceInfo } from './interfaces.js';
import type { DropReason } from './result.js';

/** A received batch (views valid only during the callback). Matches @l2lb/native's FrameBatch. */
export interface L2FrameBatch {
  readonly count: number;
  frame(i: number): Buffer;
  pktType(i: number): number;
  /** ARP reflex outcome (sockets with setArpReplies): 0 not answered, 1 reply sent, -errno failed. */
  answered?(i: number): number;
}

/** IPv4 VIPs a socket answers ARP requests for by itself, before the batch reaches JS. */
export interface ArpReflexTable {
  mac: Buffer;
  ips: readonly Buffer[];
  ignoreMacs: readonly Buffer[];
}

/** What the announcer needs from a packet socket (implemented by @l2lb/native's PacketSocket). */
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

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Logger {
  debug(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface AnnouncerOptions {
  socketFactory: SocketFactory;
  listInterfaces: () => InterfaceInfo[];
  /** Explicit interface names; default: all eligible interfaces (see selectInterfaces). */
  interfaces?: readonly string[] | undefined;
  exclude?: readonly RegExp[] | undefined;
  /** Gratuitous bursts sent when an IP is gained (first one immediately). Default 5. */
  garpCount?: number;
  /** Interval between bursts. Default 1100 ms (steps over Linux's 1 s ARP locktime). */
  garpIntervalMs?: number;
  /** Periodic refresh burst after the initial ones; 0 = off (default). */
  refreshIntervalMs?: number;
  /** Interface rescan period (link changes). Default 2000 ms; socket errors trigger one at once. */
  rescanIntervalMs?: number;
  /**
   * Let sockets that can (the native addon) answer plain ARP requests for announced IPv4 VIPs
   * themselves, right after receive, instead of after the JS callback. The announcer still sees
   * and counts every frame and handles everything else (conflicts, odd requests). Default true.
   */
  arpReflex?: boolean;
  /** Link/address change notifications (netlink); each triggers a rescan within ~20 ms. */
  watchLinks?: ((onChange: () => void) => { close(): void }) | undefined;
  timers?: Timers;
  now?: () => number;
  logger?: Logger;
}

export interface IpCounters {
  requestsReceived: number;
  repliesSent: number;
  gratuitousSent: number;
  conflicts: number;
}

export interface ConflictEvent {
  ip: string;
  mac: string;
  interface: string;
  kind: 'arp-announcement' | 'arp-reply' | 'arp-request-from-vip' | 'na';
}

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

export interface AnnouncerStats {
  ips: Record<string, IpCounters>;
  drops: Record<string, number>;
  interfaces: Record<string, { arp: { packets: number; drops: number }; ndp: { packets: number; drops: number } }>;
}

export interface AnnouncerEvents {
  announced: [{ ip: string; interfaces: string[] }];
  withdrawn: [{ ip: string }];
  conflict: [ConflictEvent];
  link: [{ interface: string; state: 'up' | 'down'; reason?: string }];
}

interface IpState {
  text: string;
  bytes: Buffer;
  v6: boolean;
  counters: IpCounters;
  refreshTimer: unknown;
  /** Answer only on these interfaces (L2Advertisement.spec.interfaces); undefined = every port. */
  only: ReadonlySet<string> | undefined;
}

interface Burst {
  ip: IpState;
  port: Port | undefined; // undefined: every port
  remaining: number;
  timer: unknown;
}

interface Port {
  name: string;
  index: number;
  mac: Buffer;
  macText: string;
  arp: L2Socket | undefined;
  ndp: L2Socket | undefined;
  groups: Map<string, number>; // solicited-node group (hex) -> refcount
  closed: boolean;
  macNum: number;
  arpStats: { packets: number; drops: number };
  ndpStats: { packets: number; drops: number };
  /** Reused ARP reply frame (send is synchronous), pre-filled with the constant fields. */
  reply: Buffer;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

const PACKET_OUTGOING = 4;

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));
const errnoName = (errno: number): string => ERRNO_NAMES.get(errno) ?? `errno ${errno}`;

export class Announcer extends EventEmitter<AnnouncerEvents> {
  private readonly o: Required<Omit<AnnouncerOptions, 'interfaces' | 'exclude' | 'watchLinks'>> &
    Pick<AnnouncerOptions, 'interfaces' | 'exclude' | 'watchLinks'>;
  private linkWatch: { close(): void } | undefined;
  private readonly ports = new Map<string, Port>();
  private readonly ips = new Map<string, IpState>();
  /** IPv4 VIPs by their 32-bit value (fast path). */
  private readonly v4 = new Map<number, IpState>();
  private readonly ownMacNums = new Set<number>();
  private nodeOwnV4 = new Set<number>();
  private readonly bursts = new Set<Burst>();
  private readonly drops = new Map<string, number>();
  private readonly lastConflictLog = new Map<string, number>();
  private readonly lastConflictEvent = new Map<string, number>();
  private readonly ownMacs = new Set<string>();
  private rescanTimer: unknown;
  private nodeOwn = new Set<string>();
  private running = false;
  private quickRescan = false;
  private arpReflexSyncQueued = false;

  constructor(opts: AnnouncerOptions) {
    super();
    this.o = {
      garpCount: 5,
      garpIntervalMs: 1100,
      refreshIntervalMs: 0,
      rescanIntervalMs: 2000,
      timers: realTimers,
      now: Date.now,
      logger: silentLogger,
      ...opts,
      arpReflex: opts.arpReflex !== false, // an explicit undefined must not turn it off
    };
  }

  /** Opens sockets on the selected interfaces and starts the periodic rescan. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.rescan();
    try {
      this.linkWatch = this.o.watchLinks?.(() => this.rescanSoon(20));
    } catch (e) {
      this.o.logger.warn('link notifications unavailable; relying on the periodic rescan', {
        error: (e as Error).message,
      });
    }
  }

  /** Stops answering, closes every socket and cancels every timer. */
  stop(): void {
    this.running = false;
    this.linkWatch?.close();
    this.linkWatch = undefined;
    if (this.rescanTimer !== undefined) this.o.timers.clearTimeout(this.rescanTimer);
    this.rescanTimer = undefined;
    for (const b of this.bursts) this.o.timers.clearTimeout(b.timer);
    this.bursts.clear();
    for (const ip of this.ips.values()) this.stopRefresh(ip);
    for (const p of [...this.ports.values()]) this.closePort(p, 'stopped');
  }

  /** Names of the interfaces currently answering. */
  interfaces(): string[] {
    return [...this.ports.keys()];
  }

  announced(): string[] {
    return [...this.ips.values()].map((i) => i.text);
  }

  /**
   * Starts answering for `ip` and sends the gratuitous burst. Returns false (and sends nothing)
   * when the IP is already announced: bursts happen on gain only, not on every reconcile.
   */
  announce(ipText: string, interfaces?: readonly string[]): boolean {
    const bytes = parseIp(ipText);
    const key = bytes.toString('hex');
    const only = interfaces && interfaces.length > 0 ? new Set(interfaces) : undefined;
    const existing = this.ips.get(key);
    if (existing) {
      this.restrict(existing, only);
      return false;
    }
    const ip: IpState = {
      text: canonicalIp(ipText),
      bytes,
      v6: bytes.length === 16,
      counters: { requestsReceived: 0, repliesSent: 0, gratuitousSent: 0, conflicts: 0 },
      refreshTimer: undefined,
      only,
    };
    this.ips.set(key, ip);
    if (!ip.v6) {
      this.v4.set(bytes.readUInt32BE(0), ip);
      this.scheduleArpReflexSync();
    }
    if (ip.v6) for (const p of this.ports.values()) this.joinGroup(p, ip);
    this.startBurst(ip, undefined);
    const on = this.interfaces().filter((n) => !only || only.has(n));
    this.o.logger.info('announcing IP', { ip: ip.text, interfaces: on });
    this.emit('announced', { ip: ip.text, interfaces: on });
    return true;
  }

  /**
   * Sends the gratuitous burst again for an IP already announced (after a healed split, clients may
   * hold the other side's MAC). Returns false when the IP is not announced here.
   */
  reassert(ipText: string): boolean {
    const ip = this.ips.get(parseIp(ipText).toString('hex'));
    if (!ip) return false;
    for (const b of [...this.bursts]) {
      if (b.ip !== ip || b.port) continue;
      if (b.timer !== undefined) this.o.timers.clearTimeout(b.timer);
      this.bursts.delete(b);
    }
    this.startBurst(ip, undefined);
    return true;
  }

  /** Changes the interfaces an announced IP is answered on; newly selected ports get the gratuitous burst. */
  private restrict(ip: IpState, only: ReadonlySet<string> | undefined): void {
    const same = only === undefined ? ip.only === undefined : ip.only !== undefined && ip.only.size === only.size && [...only].every((n) => ip.only?.has(n));
    if (same) return;
    const before = new Map([...this.ports.values()].map((p) => [p.name, this.selects(ip, p)]));
    if (ip.v6) for (const p of this.ports.values()) this.leaveGroup(p, ip);
    ip.only = only;
    if (ip.v6) for (const p of this.ports.values()) this.joinGroup(p, ip);
    if (!ip.v6) this.scheduleArpReflexSync();
    for (const p of this.ports.values()) if (!before.get(p.name) && this.selects(ip, p)) this.startBurst(ip, p);
    this.o.logger.info('announced IP now answered on other interfaces', { ip: ip.text, interfaces: only ? [...only] : 'all' });
  }

  /** Does `ip` get answered on port `p`? */
  private selects(ip: IpState, p: Port): boolean {
    return ip.only === undefined || ip.only.has(p.name);
  }

  /** Stops answering for `ip` at once. Nothing is sent; the new owner's GARP moves clients. */
  withdraw(ipText: string): boolean {
    const key = parseIp(ipText).toString('hex');
    const ip = this.ips.get(key);
    if (!ip) return false;
    this.ips.delete(key);
    if (!ip.v6) {
      this.v4.delete(ip.bytes.readUInt32BE(0));
      this.scheduleArpReflexSync();
    }
    for (const b of [...this.bursts]) {
      if (b.ip === ip) {
        this.o.timers.clearTimeout(b.timer);
        this.bursts.delete(b);
      }
    }
    this.stopRefresh(ip);
    if (ip.v6) for (const p of this.ports.values()) this.leaveGroup(p, ip);
    this.o.logger.info('withdrew IP', { ip: ip.text });
    this.emit('withdrawn', { ip: ip.text });
    return true;
  }

  counters(ipText: string): IpCounters | undefined {
    const s = this.ips.get(parseIp(ipText).toString('hex'));
    return s ? { ...s.counters } : undefined;
  }

  stats(): AnnouncerStats {
    const ips: Record<string, IpCounters> = {};
    for (const s of this.ips.values()) ips[s.text] = { ...s.counters };
    const interfaces: AnnouncerStats['interfaces'] = {};
    // PACKET_STATISTICS reset on every read: accumulate per port.
    const read = (acc: { packets: number; drops: number }, s: L2Socket | undefined): { packets: number; drops: number } => {
      try {
        const d = s ? s.stats() : { packets: 0, drops: 0 };
        acc.packets += d.packets;
        acc.drops += d.drops;
      } catch {
        // a closed socket has no statistics left
      }
      return { ...acc };
    };
    for (const p of this.ports.values()) {
      interfaces[p.name] = { arp: read(p.arpStats, p.arp), ndp: read(p.ndpStats, p.ndp) };
    }
    return { ips, drops: Object.fromEntries(this.drops), interfaces };
  }

  /**
   * Replaces the interface exclude list (the metallb-excludel2 ConfigMap changed; undefined: the
   * default list) and re-reads the interfaces at once: newly excluded ones close, others open.
   */
  setExclude(exclude: readonly RegExp[] | undefined): void {
    this.o.exclude = exclude;
    this.rescan();
  }

  /** Re-reads the interface list now (also runs periodically and after socket errors). */
  rescan(): void {
    if (!this.running) return;
    this.quickRescan = false;
    if (this.rescanTimer !== undefined) this.o.timers.clearTimeout(this.rescanTimer);
    this.rescanTimer = undefined;
    try {
      this.applyInterfaces(this.o.listInterfaces());
    } catch (e) {
      this.o.logger.error('interface scan failed', { error: (e as Error).message });
    }
    this.rescanTimer = this.o.timers.setTimeout(() => this.rescan(), this.o.rescanIntervalMs);
  }

  private applyInterfaces(all: InterfaceInfo[]): void {
    const own = new Set<string>();
    for (const i of all) for (const k of ownSet(i)) own.add(k);
    this.nodeOwn = own;
    this.nodeOwnV4 = new Set([...own].filter((k) => k.length === 8).map((k) => parseInt(k, 16)));
    const sel = selectInterfaces(all, { explicit: this.o.interfaces, exclude: this.o.exclude });
    const wanted = new Map(sel.eligible.map((i) => [i.name, i]));
    for (const p of [...this.ports.values()]) {
      const now = wanted.get(p.name);
      if (!now) {
        const why = sel.skipped.find((s) => s.name === p.name)?.reason ?? 'gone';
        this.closePort(p, why);
      } else if (now.index !== p.index || now.mac !== p.macText) {
        this.closePort(p, 'interface was re-created');
      }
    }
    for (const i of sel.eligible) {
      if (!this.ports.has(i.name)) this.openPort(i);
    }
    this.scheduleArpReflexSync(); // node-own addresses and our MACs may have changed
  }

  /**
   * Gives every ARP socket that supports it the reflex table: the announced IPv4 VIPs that this
   * node does not own itself, the port's MAC, and all our MACs (never answer ourselves).
   */
  /**
   * Announcing or withdrawing many IPs in one go (a speaker pass) pushes the table once, in a
   * microtask: before the event loop can deliver another received frame, so no frame sees a stale table.
   */
  private scheduleArpReflexSync(): void {
    if (this.arpReflexSyncQueued) return;
    this.arpReflexSyncQueued = true;
    queueMicrotask(() => {
      this.arpReflexSyncQueued = false;
      this.syncArpReflex();
    });
  }

  private syncArpReflex(): void {
    if (!this.o.arpReflex) return;
    const ignoreMacs = [...this.ports.values()].map((p) => p.mac);
    for (const p of this.ports.values()) {
      if (!p.arp?.setArpReplies) continue;
      const ips: Buffer[] = [];
      for (const ip of this.v4.values()) if (!this.nodeOwnV4.has(ip.bytes.readUInt32BE(0)) && this.selects(ip, p)) ips.push(ip.bytes);
      try {
        p.arp.setArpReplies({ mac: p.mac, ips, ignoreMacs });
      } catch (e) {
        // The JS path still answers; only the latency advantage is lost.
        this.o.logger.warn('cannot set the ARP reflex table; answering from JS', {
          interface: p.name,
          error: (e as Error).message,
        });
      }
    }
  }

  private openPort(i: InterfaceInfo): void {
    if (!i.mac) return;
    const mac = parseMac(i.mac);
    const port: Port = {
      name: i.name,
      index: i.index,
      mac,
      macText: macToString(mac),
      arp: undefined,
      ndp: undefined,
      groups: new Map(),
      closed: false,
      macNum: mac.readUIntBE(0, 6),
      arpStats: { packets: 0, drops: 0 },
      ndpStats: { packets: 0, drops: 0 },
      reply: arpReplyTemplate(mac),
    };
    try {
      port.arp = this.o.socketFactory(i.name, 'arp');
      port.arp.onFrames((b) => this.onArpBatch(port, b));
      port.arp.onError((e) => this.onSocketError(port, 'arp', e));
    } catch (e) {
      this.o.logger.error('cannot open ARP socket', { interface: i.name, error: (e as Error).message });
      this.closeSockets(port);
      return;
    }
    try {
      port.ndp = this.o.socketFactory(i.name, 'ndp');
      port.ndp.onFrames((b) => this.onNdpBatch(port, b));
      port.ndp.onError((e) => this.onSocketError(port, 'ndp', e));
    } catch (e) {
      this.o.logger.warn('cannot open NDP socket; IPv6 not answered on this interface', {
        interface: i.name,
        error: (e as Error).message,
      });
      port.ndp = undefined;
    }
    this.ports.set(i.name, port);
    this.ownMacs.add(port.macText);
    this.ownMacNums.add(port.macNum);
    this.o.logger.info('answering on interface', { interface: i.name, mac: port.macText, ifindex: i.index });
    this.emit('link', { interface: i.name, state: 'up' });
    for (const ip of this.ips.values()) {
      if (ip.v6) this.joinGroup(port, ip);
      this.startBurst(ip, port); // GARP again after a link comes (back) up
    }
  }

  private closeSockets(p: Port): void {
    for (const s of [p.arp, p.ndp]) {
      try {
        s?.close();
      } catch {
        // closing is best effort
      }
    }
    p.arp = undefined;
    p.ndp = undefined;
  }

  private closePort(p: Port, reason: string): void {
    p.closed = true;
    for (const b of [...this.bursts]) {
      if (b.port === p) {
        this.o.timers.clearTimeout(b.timer);
        this.bursts.delete(b);
      }
    }
    this.closeSockets(p); // memberships go with the sockets
    this.ports.delete(p.name);
    this.ownMacs.delete(p.macText);
    this.ownMacNums.delete(p.macNum);
    this.o.logger.info('stopped answering on interface', { interface: p.name, reason });
    this.emit('link', { interface: p.name, state: 'down', reason });
  }

  private onSocketError(p: Port, kind: SocketKind, e: Error & { code?: string }): void {
    this.count('socket-error');
    this.o.logger.warn('socket error', { interface: p.name, socket: kind, code: e.code, error: e.message });
    // ENETDOWN etc.: look at the links again soon (the watcher itself is re-armed by the addon).
    this.rescanSoon(50);
  }

  private rescanSoon(ms: number): void {
    if (!this.running || this.quickRescan) return;
    this.quickRescan = true;
    if (this.rescanTimer !== undefined) this.o.timers.clearTimeout(this.rescanTimer);
    this.rescanTimer = this.o.timers.setTimeout(() => this.rescan(), ms);
  }

  private joinGroup(p: Port, ip: IpState): void {
    if (!p.ndp || !this.selects(ip, p)) return;
    const group = solicitedNodeAddress(ip.bytes);
    const key = group.toString('hex');
    const n = p.groups.get(key) ?? 0;
    p.groups.set(key, n + 1);
    if (n > 0) return;
    try {
      p.ndp.addMulticast(ipv6MulticastMac(group));
    } catch (e) {
      this.o.logger.warn('cannot add multicast MAC', { interface: p.name, ip: ip.text, error: (e as Error).message });
    }
    try {
      p.ndp.joinGroup6(group); // MLD report, so snooping switches forward the NS to us
    } catch (e) {
      this.o.logger.warn('cannot join solicited-node group', {
        interface: p.name,
        ip: ip.text,
        error: (e as Error).message,
      });
    }
  }

  private leaveGroup(p: Port, ip: IpState): void {
    if (!p.ndp || !this.selects(ip, p)) return;
    const group = solicitedNodeAddress(ip.bytes);
    const key = group.toString('hex');
    const n = p.groups.get(key) ?? 0;
    if (n <= 0) return;
    if (n > 1) {
      p.groups.set(key, n - 1);
      return;
    }
    p.groups.delete(key);
    try {
      p.ndp.dropMulticast(ipv6MulticastMac(group));
      p.ndp.leaveGroup6(group);
    } catch (e) {
      this.o.logger.debug('leaving group failed', { interface: p.name, ip: ip.text, error: (e as Error).message });
    }
  }

  // ---- gratuitous bursts --------------------------------------------------------------------

  private startBurst(ip: IpState, port: Port | undefined): void {
    const b: Burst = { ip, port, remaining: this.o.garpCount, timer: undefined };
    this.bursts.add(b);
    this.burstTick(b);
  }

  private burstTick(b: Burst): void {
    if (!this.ips.has(b.ip.bytes.toString('hex')) || (b.port && b.port.closed)) {
      this.bursts.delete(b);
      return;
    }
    if (b.remaining > 0) {
      b.remaining--;
      const targets = b.port ? [b.port] : [...this.ports.values()];
      for (const p of targets) this.sendGratuitous(p, b.ip);
    }
    if (b.remaining > 0) {
      b.timer = this.o.timers.setTimeout(() => this.burstTick(b), this.o.garpIntervalMs);
    } else {
      this.bursts.delete(b);
      if (!b.port && this.o.refreshIntervalMs > 0) this.scheduleRefresh(b.ip);
    }
  }

  private scheduleRefresh(ip: IpState): void {
    this.stopRefresh(ip);
    ip.refreshTimer = this.o.timers.setTimeout(() => {
      ip.refreshTimer = undefined;
      if (!this.ips.has(ip.bytes.toString('hex'))) return;
      for (const p of this.ports.values()) this.sendGratuitous(p, ip);
      this.scheduleRefresh(ip);
    }, this.o.refreshIntervalMs);
  }

  private stopRefresh(ip: IpState): void {
    if (ip.refreshTimer !== undefined) this.o.timers.clearTimeout(ip.refreshTimer);
    ip.refreshTimer = undefined;
  }

  private sendGratuitous(p: Port, ip: IpState): void {
    if (!this.selects(ip, p)) return;
    if (this.nodeOwn.has(ip.bytes.toString('hex'))) {
      this.count('own-address');
      return; // the kernel owns it here; never claim it from userspace too
    }
    if (ip.v6) {
      if (p.ndp && this.send(p, p.ndp, buildUnsolicitedAdvert(p.mac, ip.bytes))) ip.counters.gratuitousSent++;
    } else if (p.arp) {
      for (const f of buildGratuitousArp(p.mac, ip.bytes)) {
        if (this.send(p, p.arp, f)) ip.counters.gratuitousSent++;
      }
    }
  }

  // ---- receive path -----------------------------------------------------------------------

  private count(reason: AnnouncerDrop): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  private send(p: Port, s: L2Socket, frame: Buffer): boolean {
    try {
      s.send(frame);
      return true;
    } catch (e) {
      this.count('send-failed');
      this.o.logger.warn('send failed', { interface: p.name, error: (e as Error).message });
      return false;
    }
  }

  private onArpBatch(p: Port, b: L2FrameBatch): void {
    this.eachIncoming(p, b, 'ARP', (frame, i) => {
      const reflex = b.answered?.(i) ?? 0;
      if (reflex === 0) this.onArpFrame(p, frame);
      else this.countReflexReply(p, frame, reflex);
    });
  }

  /** A request the addon already answered (1) or failed to answer (-errno): count it like ours. */
  private countReflexReply(p: Port, f: Buffer, outcome: number): void {
    const ip = this.v4.get(f.readUInt32BE(38));
    if (ip) ip.counters.requestsReceived++;
    if (outcome === 1) {
      if (ip) ip.counters.repliesSent++;
      return;
    }
    this.count('send-failed');
    this.o.logger.warn('send failed', { interface: p.name, error: `ARP reply (addon): ${errnoName(-outcome)}` });
  }

  /** Hands every received (not outgoing) frame of a batch to `handle`, one failure at a time. */
  private eachIncoming(p: Port, b: L2FrameBatch, protocol: string, handle: (frame: Buffer, i: number) => void): void {
    for (let i = 0; i < b.count; i++) {
      if (b.pktType(i) === PACKET_OUTGOING) {
        this.count('outgoing');
        continue;
      }
      try {
        handle(b.frame(i), i);
      } catch (e) {
        // Defensive: the codecs are total, but a bug here must not kill the receive path.
        this.o.logger.error(`${protocol} frame handling failed`, { interface: p.name, error: (e as Error).message });
      }
    }
  }

  private onArpFrame(p: Port, frame: Buffer): void {
    if (this.fastArpReply(p, frame)) return;
    const d = decodeFrame(frame);
    if (!d.ok) return this.count(d.reason);
    if (d.value.kind !== 'arp') return this.count('eth.unsupported-ethertype');
    const { eth, arp } = d.value;
    const shaText = macToString(arp.sha);
    if (this.ownMacs.has(shaText)) return this.count('own-frame');
    const claimed = this.ips.get(arp.spa.toString('hex'));
    if (claimed) {
      const kind: ConflictEvent['kind'] =
        arp.op === ARP_REPLY ? 'arp-reply' : bytesEqual(arp.spa, arp.tpa) ? 'arp-announcement' : 'arp-request-from-vip';
      return this.conflict(p, claimed, shaText, kind);
    }
    if (arp.op !== ARP_REQUEST) return this.count('arp.not-request');
    if (!bytesEqual(eth.dst, BROADCAST_MAC) && !bytesEqual(eth.dst, p.mac)) return this.count('arp.not-for-us');
    const key = arp.tpa.toString('hex');
    const ip = this.ips.get(key);
    if (!ip) return this.count('not-announced');
    if (!this.selects(ip, p)) return this.count('other-interface');
    if (this.nodeOwn.has(key)) return this.count('own-address');
    ip.counters.requestsReceived++;
    if (p.arp && this.send(p, p.arp, buildArpReply(arp, p.mac, ip.bytes))) ip.counters.repliesSent++;
  }

  /**
   * The common case without allocations: a well-formed Ethernet/IPv4 ARP request, to broadcast
   * or to us, for an announced IP, from a foreign MAC whose sender IP is not one of ours.
   * Anything else returns false and takes the general (decoding, counting) path.
   */
  private fastArpReply(p: Port, f: Buffer): boolean {
    if (f.length < 42 || f.readUInt16BE(12) !== 0x0806) return false;
    if (f.readUInt32BE(14) !== 0x00010800 || f.readUInt32BE(18) !== 0x06040001) return false;
    const ip = this.v4.get(f.readUInt32BE(38));
    if (!ip || this.v4.has(f.readUInt32BE(28)) || (ip.only !== undefined && !ip.only.has(p.name))) return false;
    const dst = f.readUIntBE(0, 6);
    if (dst !== 0xffffffffffff && dst !== p.macNum) return false;
    if (this.ownMacNums.has(f.readUIntBE(22, 6)) || this.nodeOwnV4.has(f.readUInt32BE(38)) || !p.arp) return false;
    ip.counters.requestsReceived++;
    const r = p.reply;
    f.copy(r, 0, 22, 28); // eth dst = requester's sha
    r.writeUInt32BE(f.readUInt32BE(38), 28); // spa = VIP
    f.copy(r, 32, 22, 32); // tha, tpa = requester's sha, spa
    if (this.send(p, p.arp, r)) ip.counters.repliesSent++;
    return true;
  }

  private onNdpBatch(p: Port, b: L2FrameBatch): void {
    this.eachIncoming(p, b, 'NDP', (frame) => this.onNdpFrame(p, frame));
  }

  private onNdpFrame(p: Port, frame: Buffer): void {
    const d = decodeFrame(frame);
    if (!d.ok) return this.count(d.reason);
    if (d.value.kind !== 'ndp') return this.count('eth.unsupported-ethertype');
    const { eth, ip6, ndp } = d.value;
    if (this.ownMacs.has(macToString(eth.src))) return this.count('own-frame');
    const key = ndp.target.toString('hex');
    const ip = this.ips.get(key);
    if (ndp.type === ICMPV6_NA) {
      if (!ip) return this.count('ndp.advert');
      const mac = ndp.targetLla ?? eth.src;
      if (this.ownMacs.has(macToString(mac))) return this.count('own-frame');
      return this.conflict(p, ip, macToString(mac), 'na');
    }
    const solicited = solicitedNodeAddress(ndp.target);
    const toGroup = bytesEqual(ip6.dst, solicited) && bytesEqual(eth.dst, ipv6MulticastMac(solicited));
    const toUs = bytesEqual(ip6.dst, ndp.target) && bytesEqual(eth.dst, p.mac);
    if (!toGroup && !toUs) return this.count('ndp.not-for-us');
    if (!ip) return this.count('not-announced');
    if (!this.selects(ip, p)) return this.count('other-interface');
    if (this.nodeOwn.has(key)) return this.count('own-address');
    ip.counters.requestsReceived++;
    const na = buildSolicitedAdvert(p.mac, ip.bytes, ip6.src, eth.src, ndp.sourceLla);
    if (p.ndp && this.send(p, p.ndp, na)) ip.counters.repliesSent++;
  }

  private conflict(p: Port, ip: IpState, mac: string, kind: ConflictEvent['kind']): void {
    ip.counters.conflicts++;
    const ev: ConflictEvent = { ip: ip.text, mac, interface: p.name, kind };
    // Every frame is counted; a flood of them is reported at most once per second per
    // (ip, mac, kind) and logged at most once per 10 s per (ip, mac).
    const now = this.o.now();
    if (this.lastConflictEvent.size > 4096) pruneOlderThan(this.lastConflictEvent, now - 1000);
    if (this.lastConflictLog.size > 4096) pruneOlderThan(this.lastConflictLog, now - 10_000);
    const evKey = `${ip.text}/${mac}/${kind}`;
    if ((this.lastConflictEvent.get(evKey) ?? -Infinity) + 1000 <= now) {
      this.lastConflictEvent.set(evKey, now);
      this.emit('conflict', ev);
    }
    const logKey = `${ip.text}/${mac}`;
    if ((this.lastConflictLog.get(logKey) ?? -Infinity) + 10_000 <= now) {
      this.lastConflictLog.set(logKey, now);
      this.o.logger.warn('conflict: another host claims an announced IP', { ...ev });
    }
  }
}

/** Bounds the rate-limit maps when many spoofed MACs show up. */
function pruneOlderThan(m: Map<string, number>, cutoff: number): void {
  for (const [k, t] of m) if (t < cutoff) m.delete(k);
  if (m.size > 4096) m.clear();
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

function ownSet(i: InterfaceInfo): Set<string> {
  const s = new Set<string>();
  for (const a of i.addresses) {
    try {
      s.add(parseIp(a.address).toString('hex'));
    } catch {
      // scoped or odd literal: not comparable with a VIP anyway
    }
  }
  return s;
}
