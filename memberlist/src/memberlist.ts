// The SWIM/Lifeguard state machine, wire-compatible with HashiCorp memberlist. Pure: the clock, timers,
// random source and transport come in through Env, so a simulated network runs it deterministically.
import { errorText } from '@l2lb/shared/log';
import { MemberlistConfig } from './config.js';
import { IndirectPingReq, META_MAX_SIZE, NodeStateType, OUR_VSN, PacketMsg, Ping, Suspect, encodeMsg } from './messages.js';
import { StreamMsg, decodePacket, encodePacket, encodeStream, encodeStreamPlain, packetOverhead, parseStream } from './wire.js';
import { bytesToIp, ipToBytes } from './ip.js';
import { TransmitLimitedQueue } from './queue.js';
import { MemberStates, type NodeRec } from './state.js';
import type { Env, MemberInfo, MemberlistEvents, Timer } from './types.js';

export type { Env, MemberInfo, MemberlistEvents, NodeStateName, StreamResult, Timer } from './types.js';
export { bytesToIp, ipToBytes } from './ip.js';

interface AckHandler {
  ack: () => void;
  nack: () => void;
  timer: Timer;
}

/** Reconnect push/pulls outstanding at once (each is bounded by its own deadline). */
const MAX_RECONNECTS_IN_FLIGHT = 2;

export class Memberlist {
  readonly cfg: MemberlistConfig;
  private readonly env: Env;
  private readonly events: MemberlistEvents;
  private readonly state: MemberStates;
  private probeIndex = 0;
  private seq = 0;
  private awareness = 0;
  private readonly acks = new Map<number, AckHandler>();
  private readonly broadcasts: TransmitLimitedQueue;
  private probing = false;
  private reconnectsInFlight = 0;
  private probePending = false;
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
      applyAwareness: (delta) => this.applyAwareness(delta),
    });
  }

  // ------------------------------------------------------------------ public API

  /** Mark ourselves alive (incarnation 1) and start the probe, gossip and push/pull loops. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.state.aliveNode({
      incarnation: this.state.nextIncarnation(), node: this.cfg.name, addr: this.selfAddr, port: this.cfg.advertisePort,
      meta: this.cfg.meta, vsn: OUR_VSN,
    }, true);
    this.ticker(this.cfg.probeIntervalMs, () => this.probe());
    this.ticker(this.cfg.gossipIntervalMs, () => this.gossip());
    if (this.cfg.pushPullIntervalMs > 0) this.pushPullTicker();
    if (this.cfg.reconnectIntervalMs > 0) this.ticker(this.cfg.reconnectIntervalMs, () => this.reconnect());
  }

  /** Stop all timers; no further messages are sent. */
  shutdown(): void {
    this.running = false;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    for (const h of this.acks.values()) h.timer.cancel();
    this.acks.clear();
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
    return this.awareness;
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
      case 'ping': this.handlePing(m.msg, fromIp, fromPort); break;
      case 'indirectPing': this.handleIndirectPing(m.msg, fromIp, fromPort); break;
      case 'ackResp': this.acks.get(m.msg.seqNo)?.ack(); break;
      case 'nackResp': this.acks.get(m.msg.seqNo)?.nack(); break;
      case 'alive': this.state.aliveNode(m.msg, false); break;
      case 'suspect': this.state.suspectNode(m.msg); break;
      case 'dead': this.state.deadNode(m.msg); break;
      case 'user': this.events.message?.(m.msg); break;
      case 'err': this.drop('unexpected_err', 'errResp in a packet'); break;
    }
  }

  private replyAddr(addr: Uint8Array | null, port: number, fromIp: string, fromPort: number): [string, number] {
    if (addr !== null && addr.length > 0 && port !== 0) {
      const ip = bytesToIp(addr);
      if (ip !== null) return [ip, port];
    }
    return [fromIp, fromPort];
  }

  private handlePing(p: Ping, fromIp: string, fromPort: number): void {
    if (p.node !== '' && p.node !== this.cfg.name) {
      this.drop('ping_wrong_node', `ping for "${p.node}", we are "${this.cfg.name}"`);
      return;
    }
    const [ip, port] = this.replyAddr(p.sourceAddr, p.sourcePort, fromIp, fromPort);
    this.sendMsg(ip, port, encodeMsg({ type: 'ackResp', msg: { seqNo: p.seqNo, payload: null } }), p.sourceNode);
  }

  private handleIndirectPing(ind: IndirectPingReq, fromIp: string, fromPort: number): void {
    const targetIp = ind.target === null ? null : bytesToIp(ind.target);
    if (targetIp === null) {
      this.drop('bad_field', 'indirectPingReq.Target is not an IP address');
      return;
    }
    const [rip, rport] = this.replyAddr(ind.sourceAddr, ind.sourcePort, fromIp, fromPort);
    const seq = this.nextSeq();
    let done = false;
    const timer = this.env.setTimer(this.cfg.probeTimeoutMs, () => {
      this.acks.delete(seq);
      if (!done && ind.nack) this.sendMsg(rip, rport, encodeMsg({ type: 'nackResp', msg: { seqNo: ind.seqNo } }), ind.sourceNode);
    });
    this.acks.set(seq, {
      ack: () => {
        if (done) return;
        done = true;
        timer.cancel();
        this.acks.delete(seq);
        this.sendMsg(rip, rport, encodeMsg({ type: 'ackResp', msg: { seqNo: ind.seqNo, payload: null } }), ind.sourceNode);
      },
      nack: () => undefined,
      timer,
    });
    const ping: Ping = { seqNo: seq, node: ind.node, sourceAddr: this.selfAddr, sourcePort: this.cfg.advertisePort, sourceNode: this.cfg.name };
    this.sendMsg(targetIp, ind.port, encodeMsg({ type: 'ping', msg: ping }), ind.node);
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
    const dead = this.kRandom(1, (n) => n.name !== this.cfg.name && n.state === NodeStateType.dead && now - n.stateChange <= this.cfg.gossipToTheDeadMs);
    const target = dead[0];
    if (target === undefined) return;
    this.reconnectsInFlight++;
    // A short deadline: during the split a connect hangs, and the next attempt should not wait for it.
    const timeoutMs = Math.min(this.cfg.tcpTimeoutMs, 2 * this.cfg.reconnectIntervalMs);
    this.pushPullNode(target.ip, target.port, false, () => { this.reconnectsInFlight--; }, timeoutMs);
  }

  private aliveOthers(): NodeRec[] {
    const out: NodeRec[] = [];
    for (const n of this.state.nodes.values()) if (n.name !== this.cfg.name && n.state === NodeStateType.alive) out.push(n);
    return out;
  }

  // ------------------------------------------------------------------ probing

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private scaledProbeInterval(): number {
    return this.cfg.probeIntervalMs * (this.awareness + 1);
  }

  private applyAwareness(delta: number): void {
    this.awareness = Math.min(this.cfg.awarenessMaxMultiplier - 1, Math.max(0, this.awareness + delta));
  }

  private probe(): void {
    if (this.probing) {
      // Like Go's ticker (one buffered tick): probe again as soon as the current probe ends.
      this.probePending = true;
      return;
    }
    let checked = 0;
    for (;;) {
      if (checked >= this.state.probeList.length) return;
      if (this.probeIndex >= this.state.probeList.length) {
        this.resetNodes();
        this.probeIndex = 0;
        checked++;
        continue;
      }
      const n = this.state.probeList[this.probeIndex++] as NodeRec;
      checked++;
      if (n.name === this.cfg.name || n.state >= NodeStateType.dead) continue;
      this.probeNode(n);
      return;
    }
  }

  private probeDone(): void {
    this.probing = false;
    if (this.probePending) {
      this.probePending = false;
      this.env.setTimer(0, () => { if (this.running) this.probe(); });
    }
  }

  /** Drop long-dead nodes and shuffle the probe order (Go resetNodes). */
  private resetNodes(): void {
    const now = this.env.now();
    for (const n of [...this.state.nodes.values()]) {
      if (n.state >= NodeStateType.dead && now - n.stateChange > this.cfg.gossipToTheDeadMs && n.name !== this.cfg.name) {
        this.state.nodes.delete(n.name);
      }
    }
    this.state.probeList = this.state.probeList.filter((n) => this.state.nodes.get(n.name) === n);
    for (let i = this.state.probeList.length - 1; i > 0; i--) {
      const j = Math.floor(this.env.random() * (i + 1));
      [this.state.probeList[i], this.state.probeList[j]] = [this.state.probeList[j] as NodeRec, this.state.probeList[i] as NodeRec];
    }
  }

  private probeNode(node: NodeRec): void {
    this.probing = true;
    const seq = this.nextSeq();
    const interval = this.scaledProbeInterval();
    let acked = false;
    let nacks = 0;
    let expectedNacks = 0;
    let finished = false;
    const finish = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      this.probeDone();
      this.acks.delete(seq);
      timeoutTimer.cancel();
      deadline.cancel();
      if (ok) {
        this.applyAwareness(-1);
        return;
      }
      this.applyAwareness(expectedNacks > 0 ? expectedNacks - nacks : 1);
      const cur = this.state.nodes.get(node.name);
      if (cur !== undefined) this.state.suspectNode({ incarnation: cur.incarnation, node: cur.name, from: this.cfg.name });
    };
    const ping: Ping = { seqNo: seq, node: node.name, sourceAddr: this.selfAddr, sourcePort: this.cfg.advertisePort, sourceNode: this.cfg.name };
    let tcpOk = false;
    const deadline = this.env.setTimer(interval, () => {
      if (!acked && tcpOk) {
        // UDP failed but TCP worked (Go: "network may be misconfigured"): alive, no awareness change.
        this.drop('udp_probe_failed_tcp_ok', `"${node.name}" answered a TCP ping but not UDP probes`);
        finished = true;
        this.probeDone();
        this.acks.delete(seq);
        timeoutTimer.cancel();
        return;
      }
      finish(acked);
    });
    const timeoutTimer = this.env.setTimer(this.cfg.probeTimeoutMs, () => {
      if (acked || finished) return;
      // Indirect probes through up to k other alive nodes.
      const relays = this.kRandom(this.cfg.indirectChecks, (n) => n.name !== this.cfg.name && n.name !== node.name && n.state === NodeStateType.alive);
      for (const r of relays) {
        expectedNacks++;
        const ind: IndirectPingReq = {
          seqNo: seq, target: node.addr, port: node.port, node: node.name, nack: true,
          sourceAddr: this.selfAddr, sourcePort: this.cfg.advertisePort, sourceNode: this.cfg.name,
        };
        this.sendMsg(r.ip, r.port, encodeMsg({ type: 'indirectPing', msg: ind }), r.name);
      }
      // TCP fallback ping (peers with protocol >= 3), bounded by the probe deadline.
      const remaining = interval - this.cfg.probeTimeoutMs;
      if (!this.cfg.disableTcpPings && (node.vsn[1] ?? 0) >= 3 && remaining > 0) {
        const req = encodeStream(encodeStreamPlain({ type: 'ping', msg: ping }), this.cfg.wire, { dialer: true, nonce: this.nonce() });
        this.env.sendStream(node.ip, node.port, req, remaining, (buf) => parseStream(buf, this.cfg.wire, false), (r) => {
          if (r.msg?.type === 'ackResp' && r.msg.msg.seqNo === seq) tcpOk = true;
        });
      }
    });
    this.acks.set(seq, {
      ack: () => {
        acked = true;
        finish(true);
      },
      nack: () => { nacks++; },
      timer: deadline,
    });
    if (node.state === NodeStateType.alive) {
      this.sendMsg(node.ip, node.port, encodeMsg({ type: 'ping', msg: ping }), node.name);
    } else {
      const s: Suspect = { incarnation: node.incarnation, node: node.name, from: this.cfg.name };
      this.sendRaw(node.ip, node.port, [encodeMsg({ type: 'ping', msg: ping }), encodeMsg({ type: 'suspect', msg: s })], true);
    }
  }

  private kRandom(k: number, ok: (n: NodeRec) => boolean): NodeRec[] {
    const cands = [...this.state.nodes.values()].filter(ok);
    for (let i = cands.length - 1; i > 0; i--) {
      const j = Math.floor(this.env.random() * (i + 1));
      [cands[i], cands[j]] = [cands[j] as NodeRec, cands[i] as NodeRec];
    }
    return cands.slice(0, k);
  }

  // ------------------------------------------------------------------ gossip and push/pull

  private gossip(): void {
    const now = this.env.now();
    const targets = this.kRandom(this.cfg.gossipNodes, (n) => {
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
    this.env.sendStream(ip, port, req, timeoutMs, (buf) => parseStream(buf, this.cfg.wire, false), (r) => {
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
    });
  }
}
