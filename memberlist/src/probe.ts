// The SWIM probe cycle with Lifeguard awareness (hashicorp/memberlist state.go's probe, probeNode,
// resetNodes and net.go's ping / indirect ping handlers): who to probe next, the ack/nack handlers
// waiting on a sequence number, and the awareness score that stretches the probe interval. Pure like
// the rest: the clock, timers and random source come in through the Env, sending through ProbeDeps.
import type { MemberlistConfig } from './config.js';
import { IndirectPingReq, NodeStateType, Ping, Suspect, encodeMsg } from './messages.js';
import { encodeStream, encodeStreamPlain, parseStream } from './wire.js';
import { bytesToIp } from './ip.js';
import type { MemberStates, NodeRec } from './state.js';
import type { Env, Timer } from './types.js';

interface AckHandler {
  ack: () => void;
  nack: () => void;
  timer: Timer;
}

/** What the prober needs from the memberlist it belongs to. */
export interface ProbeDeps {
  /** False once shut down: a probe queued behind the current one is not started. */
  running(): boolean;
  /** Counts (and reports) a dropped input. */
  drop(reason: string, message: string): void;
  /** Sends one message with piggybacked broadcasts. */
  sendMsg(ip: string, port: number, msg: Uint8Array, targetName: string): void;
  /** Sends these messages as one packet, as they are. */
  sendRaw(ip: string, port: number, msgs: Uint8Array[], crc: boolean): void;
  /** A fresh encryption nonce. */
  nonce(): Uint8Array;
}

export class Prober {
  private probeIndex = 0;
  private seq = 0;
  private awareness = 0;
  private readonly acks = new Map<number, AckHandler>();
  private probing = false;
  private probePending = false;

  constructor(
    private readonly cfg: MemberlistConfig,
    private readonly env: Env,
    private readonly state: MemberStates,
    private readonly selfAddr: Uint8Array,
    private readonly deps: ProbeDeps,
  ) {}

  /** Cancels every ack timer. */
  shutdown(): void {
    for (const h of this.acks.values()) h.timer.cancel();
    this.acks.clear();
  }

  /** Lifeguard awareness: 0 is healthy, higher means our own probes are failing. */
  healthScore(): number {
    return this.awareness;
  }

  handleAck(seqNo: number): void {
    this.acks.get(seqNo)?.ack();
  }

  handleNack(seqNo: number): void {
    this.acks.get(seqNo)?.nack();
  }

  private replyAddr(addr: Uint8Array | null, port: number, fromIp: string, fromPort: number): [string, number] {
    if (addr !== null && addr.length > 0 && port !== 0) {
      const ip = bytesToIp(addr);
      if (ip !== null) return [ip, port];
    }
    return [fromIp, fromPort];
  }

  handlePing(p: Ping, fromIp: string, fromPort: number): void {
    if (p.node !== '' && p.node !== this.cfg.name) {
      this.deps.drop('ping_wrong_node', `ping for "${p.node}", we are "${this.cfg.name}"`);
      return;
    }
    const [ip, port] = this.replyAddr(p.sourceAddr, p.sourcePort, fromIp, fromPort);
    this.deps.sendMsg(ip, port, encodeMsg({ type: 'ackResp', msg: { seqNo: p.seqNo, payload: null } }), p.sourceNode);
  }

  handleIndirectPing(ind: IndirectPingReq, fromIp: string, fromPort: number): void {
    const targetIp = ind.target === null ? null : bytesToIp(ind.target);
    if (targetIp === null) {
      this.deps.drop('bad_field', 'indirectPingReq.Target is not an IP address');
      return;
    }
    const [rip, rport] = this.replyAddr(ind.sourceAddr, ind.sourcePort, fromIp, fromPort);
    const seq = this.nextSeq();
    let done = false;
    const timer = this.env.setTimer(this.cfg.probeTimeoutMs, () => {
      this.acks.delete(seq);
      if (!done && ind.nack) this.deps.sendMsg(rip, rport, encodeMsg({ type: 'nackResp', msg: { seqNo: ind.seqNo } }), ind.sourceNode);
    });
    this.acks.set(seq, {
      ack: () => {
        if (done) return;
        done = true;
        timer.cancel();
        this.acks.delete(seq);
        this.deps.sendMsg(rip, rport, encodeMsg({ type: 'ackResp', msg: { seqNo: ind.seqNo, payload: null } }), ind.sourceNode);
      },
      nack: () => undefined,
      timer,
    });
    const ping: Ping = { seqNo: seq, node: ind.node, sourceAddr: this.selfAddr, sourcePort: this.cfg.advertisePort, sourceNode: this.cfg.name };
    this.deps.sendMsg(targetIp, ind.port, encodeMsg({ type: 'ping', msg: ping }), ind.node);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private scaledProbeInterval(): number {
    return this.cfg.probeIntervalMs * (this.awareness + 1);
  }

  applyAwareness(delta: number): void {
    this.awareness = Math.min(this.cfg.awarenessMaxMultiplier - 1, Math.max(0, this.awareness + delta));
  }

  probe(): void {
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
      this.env.setTimer(0, () => {
        if (this.deps.running()) this.probe();
      });
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
        this.deps.drop('udp_probe_failed_tcp_ok', `"${node.name}" answered a TCP ping but not UDP probes`);
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
          seqNo: seq,
          target: node.addr,
          port: node.port,
          node: node.name,
          nack: true,
          sourceAddr: this.selfAddr,
          sourcePort: this.cfg.advertisePort,
          sourceNode: this.cfg.name,
        };
        this.deps.sendMsg(r.ip, r.port, encodeMsg({ type: 'indirectPing', msg: ind }), r.name);
      }
      // TCP fallback ping (peers with protocol >= 3), bounded by the probe deadline.
      const remaining = interval - this.cfg.probeTimeoutMs;
      if (!this.cfg.disableTcpPings && (node.vsn[1] ?? 0) >= 3 && remaining > 0) {
        const req = encodeStream(encodeStreamPlain({ type: 'ping', msg: ping }), this.cfg.wire, { dialer: true, nonce: this.deps.nonce() });
        this.env.sendStream(
          node.ip,
          node.port,
          req,
          remaining,
          (buf) => parseStream(buf, this.cfg.wire, false),
          (r) => {
            if (r.msg?.type === 'ackResp' && r.msg.msg.seqNo === seq) tcpOk = true;
          },
        );
      }
    });
    this.acks.set(seq, {
      ack: () => {
        acked = true;
        finish(true);
      },
      nack: () => {
        nacks++;
      },
      timer: deadline,
    });
    if (node.state === NodeStateType.alive) {
      this.deps.sendMsg(node.ip, node.port, encodeMsg({ type: 'ping', msg: ping }), node.name);
    } else {
      const s: Suspect = { incarnation: node.incarnation, node: node.name, from: this.cfg.name };
      this.deps.sendRaw(node.ip, node.port, [encodeMsg({ type: 'ping', msg: ping }), encodeMsg({ type: 'suspect', msg: s })], true);
    }
  }

  kRandom(k: number, ok: (n: NodeRec) => boolean): NodeRec[] {
    const cands = [...this.state.nodes.values()].filter(ok);
    for (let i = cands.length - 1; i > 0; i--) {
      const j = Math.floor(this.env.random() * (i + 1));
      [cands[i], cands[j]] = [cands[j] as NodeRec, cands[i] as NodeRec];
    }
    return cands.slice(0, k);
  }
}
