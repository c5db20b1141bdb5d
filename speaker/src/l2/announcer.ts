// The layer-2 announcer: the set of announced IPs, the gratuitous ARP / unsolicited NA bursts sent
// when an IP is gained, the ARP reflex tables and conflict reporting. Each interface's sockets and
// receive paths are a Port (port.ts), as MetalLB splits announce from its arp/ndp responders.
//
// I/O is injected (socket factory, interface lister, timers), so the whole state machine runs
// in unit tests without root. Frames are parsed by the pure codecs; bad input is dropped and
// counted per reason, never thrown out of the receive path.
import { EventEmitter } from 'node:events';
import { errorText, silentLogger, type Logger } from '@l2lb/shared/log';
import { canonicalIp, parseIp } from './addr.js';
import { buildGratuitousArp } from './arp.js';
import { buildUnsolicitedAdvert } from './ndp.js';
import { selectInterfaces, type InterfaceInfo } from './interfaces.js';
import {
  Port,
  type AnnouncedIp,
  type AnnouncerDrop,
  type ConflictKind,
  type IpCounters,
  type PortEvents,
  type SocketFactory,
  type SocketKind,
} from './port.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

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

/** AnnouncerOptions with every default filled in. */
type AnnouncerSettings = Required<Omit<AnnouncerOptions, 'interfaces' | 'exclude' | 'watchLinks'>> &
  Pick<AnnouncerOptions, 'interfaces' | 'exclude' | 'watchLinks'>;

export interface ConflictEvent {
  ip: string;
  mac: string;
  interface: string;
  kind: ConflictKind;
}

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

interface IpState extends AnnouncedIp {
  refreshTimer: unknown;
  only: ReadonlySet<string> | undefined;
}

interface Burst {
  ip: IpState;
  port: Port | undefined; // undefined: every port
  remaining: number;
  timer: unknown;
}

/** The announcer's side of the AnswerTable the ports read: the same maps, writable. */
interface AnswerState {
  ips: Map<string, IpState>;
  v4: Map<number, IpState>;
  nodeOwn: Set<string>;
  nodeOwnV4: Set<number>;
  ownMacs: Set<string>;
  ownMacNums: Set<number>;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class Announcer extends EventEmitter<AnnouncerEvents> {
  private readonly settings: AnnouncerSettings;
  private linkWatch: { close(): void } | undefined;
  private readonly ports = new Map<string, Port>();
  /** What the ports answer for; shared with every port by reference. */
  private readonly answers: AnswerState = {
    ips: new Map(),
    v4: new Map(),
    nodeOwn: new Set(),
    nodeOwnV4: new Set(),
    ownMacs: new Set(),
    ownMacNums: new Set(),
  };
  private readonly portEvents: PortEvents = {
    drop: (reason) => this.count(reason),
    conflict: (port, ip, mac, kind) => this.conflict(port, ip, mac, kind),
    socketError: (port, kind, e) => this.onSocketError(port, kind, e),
  };
  private readonly bursts = new Set<Burst>();
  private readonly drops = new Map<string, number>();
  private readonly lastConflictLog = new Map<string, number>();
  private readonly lastConflictEvent = new Map<string, number>();
  private rescanTimer: unknown;
  private running = false;
  private quickRescan = false;
  private arpReflexSyncQueued = false;

  constructor(opts: AnnouncerOptions) {
    super();
    this.settings = {
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
      this.linkWatch = this.settings.watchLinks?.(() => this.rescanSoon(20));
    } catch (e) {
      this.settings.logger.warn('link notifications unavailable; relying on the periodic rescan', {
        error: errorText(e),
      });
    }
  }

  /** Stops answering, closes every socket and cancels every timer. */
  stop(): void {
    this.running = false;
    this.linkWatch?.close();
    this.linkWatch = undefined;
    if (this.rescanTimer !== undefined) this.settings.timers.clearTimeout(this.rescanTimer);
    this.rescanTimer = undefined;
    for (const b of this.bursts) this.settings.timers.clearTimeout(b.timer);
    this.bursts.clear();
    for (const ip of this.answers.ips.values()) this.stopRefresh(ip);
    for (const p of [...this.ports.values()]) this.closePort(p, 'stopped');
  }

  /** Names of the interfaces currently answering. */
  interfaces(): string[] {
    return [...this.ports.keys()];
  }

  announced(): string[] {
    return [...this.answers.ips.values()].map((i) => i.text);
  }

  /**
   * Starts answering for `ip` and sends the gratuitous burst. Returns false (and sends nothing)
   * when the IP is already announced: bursts happen on gain only, not on every reconcile.
   */
  announce(ipText: string, interfaces?: readonly string[]): boolean {
    const bytes = parseIp(ipText);
    const key = bytes.toString('hex');
    const only = interfaces && interfaces.length > 0 ? new Set(interfaces) : undefined;
    const existing = this.answers.ips.get(key);
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
    this.answers.ips.set(key, ip);
    if (!ip.v6) {
      this.answers.v4.set(bytes.readUInt32BE(0), ip);
      this.scheduleArpReflexSync();
    }
    if (ip.v6) for (const p of this.ports.values()) p.joinGroup(ip);
    this.startBurst(ip, undefined);
    const on = this.interfaces().filter((n) => !only || only.has(n));
    this.settings.logger.info('announcing IP', { ip: ip.text, interfaces: on });
    this.emit('announced', { ip: ip.text, interfaces: on });
    return true;
  }

  /**
   * Sends the gratuitous burst again for an IP already announced (after a healed split, clients may
   * hold the other side's MAC). Returns false when the IP is not announced here.
   */
  reassert(ipText: string): boolean {
    const ip = this.answers.ips.get(parseIp(ipText).toString('hex'));
    if (!ip) return false;
    for (const b of [...this.bursts]) {
      if (b.ip !== ip || b.port) continue;
      if (b.timer !== undefined) this.settings.timers.clearTimeout(b.timer);
      this.bursts.delete(b);
    }
    this.startBurst(ip, undefined);
    return true;
  }

  /** Changes the interfaces an announced IP is answered on; newly selected ports get the gratuitous burst. */
  private restrict(ip: IpState, only: ReadonlySet<string> | undefined): void {
    const same = only === undefined ? ip.only === undefined : ip.only !== undefined && ip.only.size === only.size && [...only].every((n) => ip.only?.has(n));
    if (same) return;
    const before = new Map([...this.ports.values()].map((p) => [p.name, p.answers(ip)]));
    if (ip.v6) for (const p of this.ports.values()) p.leaveGroup(ip);
    ip.only = only;
    if (ip.v6) for (const p of this.ports.values()) p.joinGroup(ip);
    if (!ip.v6) this.scheduleArpReflexSync();
    for (const p of this.ports.values()) if (!before.get(p.name) && p.answers(ip)) this.startBurst(ip, p);
    this.settings.logger.info('announced IP now answered on other interfaces', { ip: ip.text, interfaces: only ? [...only] : 'all' });
  }

  /** Stops answering for `ip` at once. Nothing is sent; the new owner's GARP moves clients. */
  withdraw(ipText: string): boolean {
    const key = parseIp(ipText).toString('hex');
    const ip = this.answers.ips.get(key);
    if (!ip) return false;
    this.answers.ips.delete(key);
    if (!ip.v6) {
      this.answers.v4.delete(ip.bytes.readUInt32BE(0));
      this.scheduleArpReflexSync();
    }
    for (const b of [...this.bursts]) {
      if (b.ip === ip) {
        this.settings.timers.clearTimeout(b.timer);
        this.bursts.delete(b);
      }
    }
    this.stopRefresh(ip);
    if (ip.v6) for (const p of this.ports.values()) p.leaveGroup(ip);
    this.settings.logger.info('withdrew IP', { ip: ip.text });
    this.emit('withdrawn', { ip: ip.text });
    return true;
  }

  counters(ipText: string): IpCounters | undefined {
    const s = this.answers.ips.get(parseIp(ipText).toString('hex'));
    return s ? { ...s.counters } : undefined;
  }

  stats(): AnnouncerStats {
    const ips: Record<string, IpCounters> = {};
    for (const s of this.answers.ips.values()) ips[s.text] = { ...s.counters };
    const interfaces: AnnouncerStats['interfaces'] = {};
    for (const p of this.ports.values()) interfaces[p.name] = p.stats();
    return { ips, drops: Object.fromEntries(this.drops), interfaces };
  }

  /**
   * Replaces the interface exclude list (the metallb-excludel2 ConfigMap changed; undefined: the
   * default list) and re-reads the interfaces at once: newly excluded ones close, others open.
   */
  setExclude(exclude: readonly RegExp[] | undefined): void {
    this.settings.exclude = exclude;
    this.rescan();
  }

  /** Re-reads the interface list now (also runs periodically and after socket errors). */
  rescan(): void {
    if (!this.running) return;
    this.quickRescan = false;
    if (this.rescanTimer !== undefined) this.settings.timers.clearTimeout(this.rescanTimer);
    this.rescanTimer = undefined;
    try {
      this.applyInterfaces(this.settings.listInterfaces());
    } catch (e) {
      this.settings.logger.error('interface scan failed', { error: errorText(e) });
    }
    this.rescanTimer = this.settings.timers.setTimeout(() => this.rescan(), this.settings.rescanIntervalMs);
  }

  private applyInterfaces(all: InterfaceInfo[]): void {
    const own = new Set<string>();
    for (const i of all) for (const k of ownSet(i)) own.add(k);
    this.answers.nodeOwn = own;
    this.answers.nodeOwnV4 = new Set([...own].filter((k) => k.length === 8).map((k) => parseInt(k, 16)));
    const sel = selectInterfaces(all, { explicit: this.settings.interfaces, exclude: this.settings.exclude });
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
    if (!this.settings.arpReflex) return;
    const ignoreMacs = [...this.ports.values()].map((p) => p.mac);
    for (const p of this.ports.values()) {
      if (!p.arp?.setArpReplies) continue;
      const ips: Buffer[] = [];
      for (const ip of this.answers.v4.values()) if (!this.answers.nodeOwnV4.has(ip.bytes.readUInt32BE(0)) && p.answers(ip)) ips.push(ip.bytes);
      p.setArpReflex({ mac: p.mac, ips, ignoreMacs });
    }
  }

  private openPort(i: InterfaceInfo): void {
    const port = Port.open(i, this.settings.socketFactory, this.answers, this.portEvents, this.settings.logger);
    if (!port) return;
    this.ports.set(i.name, port);
    this.answers.ownMacs.add(port.macText);
    this.answers.ownMacNums.add(port.macNum);
    this.settings.logger.info('answering on interface', { interface: i.name, mac: port.macText, ifindex: i.index });
    this.emit('link', { interface: i.name, state: 'up' });
    for (const ip of this.answers.ips.values()) {
      if (ip.v6) port.joinGroup(ip);
      this.startBurst(ip, port); // GARP again after a link comes (back) up
    }
  }

  private closePort(p: Port, reason: string): void {
    for (const b of [...this.bursts]) {
      if (b.port === p) {
        this.settings.timers.clearTimeout(b.timer);
        this.bursts.delete(b);
      }
    }
    p.close();
    this.ports.delete(p.name);
    this.answers.ownMacs.delete(p.macText);
    this.answers.ownMacNums.delete(p.macNum);
    this.settings.logger.info('stopped answering on interface', { interface: p.name, reason });
    this.emit('link', { interface: p.name, state: 'down', reason });
  }

  private onSocketError(p: Port, kind: SocketKind, e: Error & { code?: string }): void {
    this.count('socket-error');
    this.settings.logger.warn('socket error', { interface: p.name, socket: kind, code: e.code, error: e.message });
    // ENETDOWN etc.: look at the links again soon (the watcher itself is re-armed by the addon).
    this.rescanSoon(50);
  }

  private rescanSoon(ms: number): void {
    if (!this.running || this.quickRescan) return;
    this.quickRescan = true;
    if (this.rescanTimer !== undefined) this.settings.timers.clearTimeout(this.rescanTimer);
    this.rescanTimer = this.settings.timers.setTimeout(() => this.rescan(), ms);
  }

  // ---- gratuitous bursts --------------------------------------------------------------------

  private startBurst(ip: IpState, port: Port | undefined): void {
    const b: Burst = { ip, port, remaining: this.settings.garpCount, timer: undefined };
    this.bursts.add(b);
    this.burstTick(b);
  }

  private burstTick(b: Burst): void {
    if (!this.answers.ips.has(b.ip.bytes.toString('hex')) || (b.port && b.port.closed)) {
      this.bursts.delete(b);
      return;
    }
    if (b.remaining > 0) {
      b.remaining--;
      const targets = b.port ? [b.port] : [...this.ports.values()];
      for (const p of targets) this.sendGratuitous(p, b.ip);
    }
    if (b.remaining > 0) {
      b.timer = this.settings.timers.setTimeout(() => this.burstTick(b), this.settings.garpIntervalMs);
    } else {
      this.bursts.delete(b);
      if (!b.port && this.settings.refreshIntervalMs > 0) this.scheduleRefresh(b.ip);
    }
  }

  private scheduleRefresh(ip: IpState): void {
    this.stopRefresh(ip);
    ip.refreshTimer = this.settings.timers.setTimeout(() => {
      ip.refreshTimer = undefined;
      if (!this.answers.ips.has(ip.bytes.toString('hex'))) return;
      for (const p of this.ports.values()) this.sendGratuitous(p, ip);
      this.scheduleRefresh(ip);
    }, this.settings.refreshIntervalMs);
  }

  private stopRefresh(ip: IpState): void {
    if (ip.refreshTimer !== undefined) this.settings.timers.clearTimeout(ip.refreshTimer);
    ip.refreshTimer = undefined;
  }

  private sendGratuitous(p: Port, ip: IpState): void {
    if (!p.answers(ip)) return;
    if (this.answers.nodeOwn.has(ip.bytes.toString('hex'))) {
      this.count('own-address');
      return; // the kernel owns it here; never claim it from userspace too
    }
    if (ip.v6) {
      if (p.ndp && p.send(p.ndp, buildUnsolicitedAdvert(p.mac, ip.bytes))) ip.counters.gratuitousSent++;
    } else if (p.arp) {
      for (const f of buildGratuitousArp(p.mac, ip.bytes)) {
        if (p.send(p.arp, f)) ip.counters.gratuitousSent++;
      }
    }
  }

  // ---- drops and conflicts reported by the ports ---------------------------------------------

  private count(reason: AnnouncerDrop): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  private conflict(p: Port, ip: AnnouncedIp, mac: string, kind: ConflictKind): void {
    ip.counters.conflicts++;
    const ev: ConflictEvent = { ip: ip.text, mac, interface: p.name, kind };
    // Every frame is counted; a flood of them is reported at most once per second per
    // (ip, mac, kind) and logged at most once per 10 s per (ip, mac).
    const now = this.settings.now();
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
      this.settings.logger.warn('conflict: another host claims an announced IP', { ...ev });
    }
  }
}

/** Bounds the rate-limit maps when many spoofed MACs show up. */
function pruneOlderThan(m: Map<string, number>, cutoff: number): void {
  for (const [k, t] of m) if (t < cutoff) m.delete(k);
  if (m.size > 4096) m.clear();
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
