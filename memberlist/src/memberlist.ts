// The SWIM/Lifeguard state machine, wire-compatible with HashiCorp memberlist. Pure: the clock, timers,
// random source and transport come in through Env, so a simulated network runs it deterministically.
// The probe cycle (ping, indirect ping, awareness) is in probe.ts, member states in state.ts.
import { errorText } from '@l2lb/shared/log';
import { MemberlistConfig } from './config.js';
import { META_MAX_SIZE, NodeStateType, OUR_VSN, PacketMsg, encodeMsg } from './messages.js';
import { decodePacket, encodePacket, packetOverhead } from './packet.js';
import { StreamMsg, encodeStream, encodeStreamPlain, parseStream } from './wire.js';
import { ipToBytes } from './ip.js';
import { Prober } from './probe.js';
import { TransmitLimitedQueue } from './queue.js';
import { MemberStates, type NodeRec } from './state.js';
import type { Env, MemberInfo, MemberlistEvents, Timer } from './types.js';

export type { Env, MemberInfo, MemberlistEvents, NodeStateName, StreamResult, Timer } from './types.js';
export { bytesToIp, ipToBytes } from './ip.js';

/** Reconnect push/pulls outstanding at once (each is bounded by its own deadline). */
const MAX_RECONNECTS_IN_FLIGHT = 2;

export class Memberlist {
  readonly cfg: MemberlistConfig;
  private readonly env: Env;
  private readonly events: MemberlistEvents;
  private readonly state: MemberStates;
  private readonly prober: Prober;
  private readonly broadcasts: TransmitLimitedQueue;
  private reconnectsInFlight = 0;
  private running = false;
  private timers: Timer[] = [];
  private readonly selfAddr: Uint8Array;
  /** Drops per reason (bad input never throws out of a receive path). */
  readonly drops = new Map<string, number>();
  readonly stats = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, streamsIn: 0, streamsOut: 0 };

  constructor(cfg: MemberlistConfig, env: Env, events: MemberlistEvents = {}) {
    if (cfg.meta !== null && cfg.meta.length > META_MAX_SIZE) throw new Error(`meta is ${cfg.meta.length} bytes, max ${META_MAX_SIZE}`);
    this.cfg = cfg;
    this.env = env;
    this.events = events;
    this.selfAddr = ipToBytes(cfg.advertiseIp);
    this.broadcasts = new TransmitLimitedQueue(cfg.retransmitMult, () => this.state.nodes.size);
    this.state = new MemberStates(cfg, env, events, this.broadcasts, {
      drop: (reason, message) => this.drop(reason, message),
      applyAwareness: (delta) => this.prober.applyAwareness(delta),
    });
    this.prober = new Prober(cfg, env, this.state, this.selfAddr, {
      running: () => this.running,
      drop: (reason, message) => this.drop(reason, message),
      sendMsg: (ip, port, msg, targetName) => this.sendMsg(ip, port, msg, targetName),
      sendRaw: (ip, port, msgs, crc) => this.sendRaw(ip, port, msgs, crc),
      nonce: () => this.nonce(),
    });
  }

  // ------------------------------------------------------------------ public API

  /** Mark ourselves alive (incarnation 1) and start the probe, gossip and push/pull loops. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.state.aliveNode(
      {
        incarnation: this.state.nextIncarnation(),
        node: this.cfg.name,
        addr: this.selfAddr,
        port: this.cfg.advertisePort,
        meta: this.cfg.meta,
        vsn: OUR_VSN,
      },
      true,
    );
    this.ticker(this.cfg.probeIntervalMs, () => this.prober.probe());
    this.ticker(this.cfg.gossipIntervalMs, () => this.gossip());
    if (this.cfg.pushPullIntervalMs > 0) this.pushPullTicker();
    if (this.cfg.reconnectIntervalMs > 0) this.ticker(this.cfg.reconnectIntervalMs, () => this.reconnect());
  }

  /** Stop all timers; no further messages are sent. */
  shutdown(): void {
    this.running = false;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.prober.shutdown();
    this.state.shutdown();
  }

  /** Push/pull with each address (host:port); done(n) with the number of nodes that answered. */
  join(addrs: Array<{ ip: string; port: number }>, done: (contacted: number, errors: string[]) => void): void {
    let pending = addrs.length;
    let ok = 0;
    const errors: string[] = [];
    if (pending === 0) {
      done(0, []);
      return;
    }
    for (const a of addrs) {
      this.pushPullNode(a.ip, a.port, true, (err) => {
        if (err === null) ok++;
        else errors.push(`${a.ip}:${a.port}: ${err}`);
        if (--pending === 0) done(ok, errors);
      });
    }
  }

  /** Broadcast our leave and call done once it has been sent enough times (or after timeoutMs). */
  leave(timeoutMs: number, done: () => void): void {
    if (this.state.leaving) {
      done();
      return;
    }
    this.state.leaving = true;
    const me = this.state.nodes.get(this.cfg.name);
    if (me === undefined) {
      done();
      return;
    }
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      t.cancel();
      done();
    };
    const t = this.env.setTimer(timeoutMs, finish);
    // With nobody else alive there is no one to tell.
    if (this.aliveOthers().length === 0) {
      this.state.deadNode({ incarnation: me.incarnation, node: me.name, from: me.name });
      finish();
      return;
    }
    this.state.deadNode({ incarnation: me.incarnation, node: me.name, from: me.name }, finish);
  }

  /** Change our metadata and announce it with a new incarnation. */
  updateMeta(meta: Uint8Array | null): void {
    if (meta !== null && meta.length > META_MAX_SIZE) throw new Error(`meta is ${meta.length} bytes, max ${META_MAX_SIZE}`);
    this.cfg.meta = meta;
    const me = this.state.nodes.get(this.cfg.name);
    if (me === undefined) return;
    this.state.aliveNode({ incarnation: this.state.nextIncarnation(), node: me.name, addr: me.addr, port: me.port, meta, vsn: OUR_VSN }, true);
  }

  /** Alive and suspect nodes, ourselves included. */
  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const n of this.state.nodes.values()) if (n.state <= NodeStateType.suspect) out.push(this.state.info(n));
    return out;
  }

  allNodes(): MemberInfo[] {
    return [...this.state.nodes.values()].map((n) => this.state.info(n));
  }

  node(name: string): MemberInfo | undefined {
    const n = this.state.nodes.get(name);
    return n === undefined ? undefined : this.state.info(n);
  }

  /** Lifeguard awareness: 0 is healthy, higher means our own probes are failing. */
  healthScore(): number {
    return this.prober.healthScore();
  }

  /** Send a user message over UDP to a member (best effort). */
  sendBestEffort(name: string, data: Uint8Array): boolean {
    const n = this.state.nodes.get(name);
    if (n === undefined) return false;
    this.sendRaw(n.ip, n.port, [encodeMsg({ type: 'user', msg: data })], true);
    return true;
  }

  /** Send a user message over TCP to a member (Go SendReliable); done(error or null). */
  sendReliable(name: string, data: Uint8Array, done: (err: string | null) => void = () => undefined): void {
    const n = this.state.nodes.get(name);
    if (n === undefined) {
      done(`unknown node "${name}"`);
      return;
    }
    this.stats.streamsOut++;
    const req = encodeStream(encodeStreamPlain({ type: 'user', data }), this.cfg.wire, { dialer: true, nonce: this.nonce() });
    this.env.sendStream(n.ip, n.port, req, this.cfg.tcpTimeoutMs, null, (r) => done(r.error ?? null));
  }

  // ------------------------------------------------------------------ inbound

  /** One UDP datagram from ip:port. Never throws. */
  handlePacket(data: Uint8Array, fromIp: string, fromPort: number): void {
    this.stats.packetsIn++;
    this.stats.bytesIn += data.length;
    if (!this.running) return;
    const d = decodePacket(data, this.cfg.wire);
    for (const x of d.drops) this.drop(x.reason, `packet from ${fromIp}:${fromPort}: ${x.message}`, fromIp);
    for (const m of d.msgs) {
      try {
        this.handleMsg(m, fromIp, fromPort);
      } catch (e) {
        this.drop('handler', `${m.type} from ${fromIp}:${fromPort}: ${errorText(e)}`, fromIp);
      }
    }
  }

  /**
   * Bytes received so far on an accepted TCP connection. 'incomplete' = wait for more; 'done' = write
   * reply (if any) and close.
   */
  handleStream(buf: Uint8Array, source = ''): { kind: 'incomplete' } | { kind: 'done'; reply: Uint8Array | null } {
    const p = parseStream(buf, this.cfg.wire, true);
    if (p.kind === 'incomplete') {
      if (buf.length > 21 * 1024 * 1024) {
        this.drop('too_large', 'inbound stream exceeds 21 MiB');
        return { kind: 'done', reply: null };
      }
      return { kind: 'incomplete' };
    }
    if (p.kind === 'error') return { kind: 'done', reply: this.rejectStream(p.drop, source) };
    this.stats.streamsIn++;
    if (!this.running) return { kind: 'done', reply: null };
    const m = p.msg;
    switch (m.type) {
      case 'pushPull': {
        const reply = this.frameReply(this.state.localState(m.header.join));
        this.state.mergeRemoteState(m.nodes);
        return { kind: 'done', reply };
      }
      case 'ping':
        if (m.msg.node !== '' && m.msg.node !== this.cfg.name) {
          this.drop('ping_wrong_node', `TCP ping for "${m.msg.node}", we are "${this.cfg.name}"`);
          return { kind: 'done', reply: null };
        }
        return { kind: 'done', reply: this.frameReply({ type: 'ackResp', msg: { seqNo: m.msg.seqNo, payload: null } }) };
      case 'user':
        this.events.message?.(m.data);
        return { kind: 'done', reply: null };
      default:
        this.drop('unexpected_stream', `unexpected inbound stream message ${m.type}`);
        return { kind: 'done', reply: null };
    }
  }

  private frameReply(m: StreamMsg): Uint8Array {
    return encodeStream(encodeStreamPlain(m), this.cfg.wire, { dialer: false, nonce: this.nonce() });
  }

  private nonce(): Uint8Array {
    const n = new Uint8Array(12);
    for (let i = 0; i < 12; i++) n[i] = Math.floor(this.env.random() * 256);
    return n;
  }

  /**
   * Count an inbound stream refused before or while parsing it, and return the reply to write (an
   * errResp, like Go; nothing for a label mismatch or an exhausted byte budget).
   */
  rejectStream(drop: { reason: string; message: string }, source = ''): Uint8Array | null {
    this.stats.streamsIn++;
    this.drop(drop.reason, `inbound stream${source === '' ? '' : ` from ${source}`}: ${drop.message}`, source);
    if (drop.reason === 'label_mismatch' || drop.reason === 'inbound_budget') return null;
    return this.frameReply({ type: 'err', msg: { error: drop.message } });
  }

  private drop(reason: string, message: string, source = ''): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.events.drop?.(reason, message, source);
  }

  private handleMsg(m: PacketMsg, fromIp: string, fromPort: number): void {
    switch (m.type) {
      case 'ping':
        this.prober.handlePing(m.msg, fromIp, fromPort);
        break;
      case 'indirectPing':
        this.prober.handleIndirectPing(m.msg, fromIp, fromPort);
        break;
      case 'ackResp':
        this.prober.handleAck(m.msg.seqNo);
        break;
      case 'nackResp':
        this.prober.handleNack(m.msg.seqNo);
        break;
      case 'alive':
        this.state.aliveNode(m.msg, false);
        break;
      case 'suspect':
        this.state.suspectNode(m.msg);
        break;
      case 'dead':
        this.state.deadNode(m.msg);
        break;
      case 'user':
        this.events.message?.(m.msg);
        break;
      case 'err':
        this.drop('unexpected_err', 'errResp in a packet');
        break;
    }
  }

  // ------------------------------------------------------------------ sending

  private sendRaw(ip: string, port: number, msgs: Uint8Array[], crc: boolean): void {
    if (!this.running) return;
    const pkt = encodePacket(msgs, this.cfg.wire, { crc, nonce: this.nonce() });
    this.stats.packetsOut++;
    this.stats.bytesOut += pkt.length;
    this.env.sendPacket(ip, port, pkt);
  }

  /** Send one message with piggybacked broadcasts (Go sendMsg). */
  private sendMsg(ip: string, port: number, msg: Uint8Array, targetName: string): void {
    const budget = this.cfg.udpBufferSize - msg.length - 2 - packetOverhead(this.cfg.wire);
    const extra = this.broadcasts.getBroadcasts(2, budget);
    const crc = this.state.nodes.has(targetName);
    this.sendRaw(ip, port, extra.length === 0 ? [msg] : [msg, ...extra], crc);
  }

  // ------------------------------------------------------------------ timers

  private ticker(intervalMs: number, fn: () => void): void {
    const slot = this.timers.length;
    const tick = (): void => {
      if (!this.running) return;
      this.timers[slot] = this.env.setTimer(intervalMs, tick);
      fn();
    };
    this.timers.push(this.env.setTimer(Math.floor(this.env.random() * intervalMs), tick));
  }

  private pushPullTicker(): void {
    const slot = this.timers.length;
    const scaled = (): number => {
      const n = this.state.nodes.size;
      const mult = n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
      return this.cfg.pushPullIntervalMs * mult;
    };
    const tick = (): void => {
      if (!this.running) return;
      this.timers[slot] = this.env.setTimer(scaled(), tick);
      const peers = this.aliveOthers();
      if (peers.length === 0) return;
      const p = peers[Math.floor(this.env.random() * peers.length)] as NodeRec;
      this.pushPullNode(p.ip, p.port, false, () => undefined);
    };
    this.timers.push(this.env.setTimer(Math.floor(this.env.random() * scaled()), tick));
  }

  /**
   * Push/pull with a recently-dead member. If it is alive again (a healed split), each side reads its
   * own death in the other's state, refutes it with a higher incarnation, and gossip to the dead
   * carries the refutation across: both sides merge within a few gossip rounds.
   */
  private reconnect(): void {
    if (this.reconnectsInFlight >= MAX_RECONNECTS_IN_FLIGHT) return;
    const now = this.env.now();
    const dead = this.prober.kRandom(1, (n) => n.name !== this.cfg.name && n.state === NodeStateType.dead && now - n.stateChange <= this.cfg.gossipToTheDeadMs);
    const target = dead[0];
    if (target === undefined) return;
    this.reconnectsInFlight++;
    // A short deadline: during the split a connect hangs, and the next attempt should not wait for it.
    const timeoutMs = Math.min(this.cfg.tcpTimeoutMs, 2 * this.cfg.reconnectIntervalMs);
    this.pushPullNode(
      target.ip,
      target.port,
      false,
      () => {
        this.reconnectsInFlight--;
      },
      timeoutMs,
    );
  }

  private aliveOthers(): NodeRec[] {
    const out: NodeRec[] = [];
    for (const n of this.state.nodes.values()) if (n.name !== this.cfg.name && n.state === NodeStateType.alive) out.push(n);
    return out;
  }

  // ------------------------------------------------------------------ gossip and push/pull

  private gossip(): void {
    const now = this.env.now();
    const targets = this.prober.kRandom(this.cfg.gossipNodes, (n) => {
      if (n.name === this.cfg.name) return false;
      if (n.state <= NodeStateType.suspect) return true;
      return n.state === NodeStateType.dead && now - n.stateChange <= this.cfg.gossipToTheDeadMs;
    });
    const budget = this.cfg.udpBufferSize - 2 - packetOverhead(this.cfg.wire);
    for (const t of targets) {
      const msgs = this.broadcasts.getBroadcasts(2, budget);
      if (msgs.length === 0) return;
      this.sendRaw(t.ip, t.port, msgs, true);
    }
  }

  private pushPullNode(ip: string, port: number, join: boolean, done: (err: string | null) => void, timeoutMs = this.cfg.tcpTimeoutMs): void {
    if (!this.running) {
      done('not running');
      return;
    }
    this.stats.streamsOut++;
    const req = encodeStream(encodeStreamPlain(this.state.localState(join)), this.cfg.wire, { dialer: true, nonce: this.nonce() });
    this.env.sendStream(
      ip,
      port,
      req,
      timeoutMs,
      (buf) => parseStream(buf, this.cfg.wire, false),
      (r) => {
        if (r.error !== undefined || r.msg === undefined) {
          done(r.error ?? 'no reply');
          return;
        }
        if (r.msg.type === 'err') {
          done(`remote error: ${r.msg.msg.error}`);
          return;
        }
        if (r.msg.type !== 'pushPull') {
          done(`unexpected reply ${r.msg.type}`);
          return;
        }
        if (!this.running) {
          done('not running');
          return;
        }
        this.state.mergeRemoteState(r.msg.nodes);
        done(null);
      },
    );
  }
}
