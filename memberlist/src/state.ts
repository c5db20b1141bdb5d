// Member states and their transitions (hashicorp/memberlist state.go's aliveNode, suspectNode,
// deadNode, refute and push/pull merge): the node table, our incarnation, the suspicion timers and
// the probe order new members are inserted into. Pure: the clock, timers and random source come in
// through the Env; what to gossip goes to the broadcast queue.
import type { MemberlistConfig } from './config.js';
import { Alive, Dead, NodeStateType, OUR_VSN, PushNodeState, Suspect, encodeMsg } from './messages.js';
import type { TransmitLimitedQueue } from './queue.js';
import { Suspicion, suspicionTimeouts } from './suspicion.js';
import type { Env, MemberInfo, MemberlistEvents, NodeStateName } from './types.js';
import type { StreamMsg } from './wire.js';
import { bytesToIp } from './ip.js';

export interface NodeRec {
  name: string;
  addr: Uint8Array;
  ip: string;
  port: number;
  meta: Uint8Array | null;
  incarnation: number;
  state: number;
  stateChange: number;
  vsn: Uint8Array;
}

const STATE_NAMES: NodeStateName[] = ['alive', 'suspect', 'dead', 'left'];

/** What the state table reports back to the memberlist it belongs to. */
export interface StateDeps {
  /** Counts (and reports) a dropped input. */
  drop(reason: string, message: string): void;
  /** Lifeguard awareness: a refutation means our own view of ourselves was stale. */
  applyAwareness(delta: number): void;
}

export class MemberStates {
  readonly nodes = new Map<string, NodeRec>();
  /** Probe order; a new member goes in at a random place (Go: no member waits a whole round). */
  probeList: NodeRec[] = [];
  /** Set once we leave: our own alive messages are no longer refuted or re-sent. */
  leaving = false;
  private incarnation = 0;
  private readonly suspicions = new Map<string, Suspicion>();

  constructor(
    private readonly cfg: MemberlistConfig,
    private readonly env: Env,
    private readonly events: MemberlistEvents,
    private readonly broadcasts: TransmitLimitedQueue,
    private readonly deps: StateDeps,
  ) {}

  /** Cancels every suspicion timer. */
  shutdown(): void {
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
  }

  localState(join: boolean): StreamMsg {
    const nodes: PushNodeState[] = [...this.nodes.values()].map((n) => ({
      name: n.name,
      addr: n.addr,
      port: n.port,
      meta: n.meta,
      incarnation: n.incarnation,
      state: n.state,
      vsn: n.vsn,
    }));
    return { type: 'pushPull', header: { join, nodes: nodes.length, userStateLen: 0 }, nodes, userState: new Uint8Array(0) };
  }

  private verifyProtocol(remote: PushNodeState[]): boolean {
    for (const n of remote) {
      if (n.state !== NodeStateType.alive || n.vsn === null || n.vsn.length === 0) continue;
      if (n.vsn.length < 6) return false;
      const [pmin, pmax, , dmin, dmax] = Array.from(n.vsn) as [number, number, number, number, number, number];
      if (pmin > 2 || pmax < 2 || dmin > 0 || dmax < 0) return false;
    }
    return true;
  }

  mergeRemoteState(remote: PushNodeState[]): void {
    if (!this.verifyProtocol(remote)) {
      this.deps.drop('protocol_incompatible', 'push/pull from a node with an incompatible protocol version');
      return;
    }
    for (const r of remote) {
      const port = r.port === 0 ? this.cfg.advertisePort : r.port;
      switch (r.state) {
        case NodeStateType.alive:
          this.aliveNode({ incarnation: r.incarnation, node: r.name, addr: r.addr, port, meta: r.meta, vsn: r.vsn }, false);
          break;
        case NodeStateType.left:
          this.deadNode({ incarnation: r.incarnation, node: r.name, from: r.name });
          break;
        default:
          // Dead or suspect elsewhere: we only suspect it (it gets a chance to refute).
          this.suspectNode({ incarnation: r.incarnation, node: r.name, from: this.cfg.name });
      }
    }
  }

  nextIncarnation(): number {
    this.incarnation = (this.incarnation + 1) >>> 0;
    return this.incarnation;
  }

  info(n: NodeRec): MemberInfo {
    return { name: n.name, addr: n.ip, port: n.port, meta: n.meta, state: STATE_NAMES[n.state] ?? 'dead', incarnation: n.incarnation };
  }

  private refute(me: NodeRec, accusedInc: number): void {
    let inc = this.nextIncarnation();
    if (accusedInc >= inc) {
      inc = (accusedInc + 1) >>> 0;
      this.incarnation = inc;
    }
    me.incarnation = inc;
    this.deps.applyAwareness(1);
    this.gossipSelf(me);
  }

  /**
   * An accusation of us at an incarnation we have already refuted: its sender missed our refutation
   * (lost on a lossy link; broadcasts are retransmitted only a few times) and will declare us dead when
   * its suspicion runs out, since a stale suspicion cannot be refuted with a higher incarnation. Gossip
   * our current alive again so that it catches up. Not in Go's memberlist, which ignores the accusation;
   * on the wire it is an ordinary alive message.
   */
  private reassert(me: NodeRec): void {
    if (this.leaving) return;
    this.gossipSelf(me);
  }

  /** Queues our alive at our current incarnation (a refutation, or the same one again). */
  private gossipSelf(me: NodeRec): void {
    const a: Alive = { incarnation: me.incarnation, node: me.name, addr: me.addr, port: me.port, meta: me.meta, vsn: me.vsn };
    this.broadcasts.queueBroadcast(me.name, encodeMsg({ type: 'alive', msg: a }));
  }

  aliveNode(a: Alive, bootstrap: boolean): void {
    const isSelf = a.node === this.cfg.name;
    if (this.leaving && isSelf) return;
    if (a.node === '') {
      this.deps.drop('bad_field', 'alive.Node is empty');
      return;
    }
    const vsn = a.vsn;
    if (vsn !== null && vsn.length > 0 && vsn.length < 6) {
      this.deps.drop('bad_vsn', `alive for "${a.node}" has a ${vsn.length}-byte Vsn`);
      return;
    }
    if (vsn !== null && vsn.length >= 3 && ((vsn[0] as number) === 0 || (vsn[1] as number) === 0 || (vsn[0] as number) > (vsn[1] as number))) {
      this.deps.drop('bad_vsn', `alive for "${a.node}" has an invalid protocol range`);
      return;
    }
    const ip = a.addr === null ? null : bytesToIp(a.addr);
    if (ip === null || a.addr === null) {
      this.deps.drop('bad_field', `alive for "${a.node}" has no usable address`);
      return;
    }
    const now = this.env.now();
    let n = this.nodes.get(a.node);
    let updatesAddr = false;
    if (n === undefined) {
      n = {
        name: a.node,
        addr: a.addr,
        ip,
        port: a.port,
        meta: a.meta,
        incarnation: 0,
        state: NodeStateType.dead,
        stateChange: now,
        vsn: vsn !== null && vsn.length >= 6 ? vsn : OUR_VSN,
      };
      this.nodes.set(a.node, n);
      const at = Math.floor(this.env.random() * (this.probeList.length + 1));
      this.probeList.splice(at, 0, n);
    } else if (!bytesEqual(n.addr, a.addr) || n.port !== a.port) {
      const canReclaim = this.cfg.deadNodeReclaimMs > 0 && now - n.stateChange > this.cfg.deadNodeReclaimMs;
      if (n.state === NodeStateType.left || (n.state === NodeStateType.dead && canReclaim)) {
        updatesAddr = true;
      } else {
        this.deps.drop('address_conflict', `conflicting address for "${a.node}": ${n.ip}:${n.port} vs ${ip}:${a.port}`);
        return;
      }
    }
    if (!isSelf) {
      if (a.incarnation <= n.incarnation && !updatesAddr) return;
    } else {
      if (a.incarnation < n.incarnation) return;
      if (!bootstrap) {
        if (a.incarnation === n.incarnation && bytesEqual(a.meta, n.meta) && bytesEqual(vsn, n.vsn)) return;
        this.refute(n, a.incarnation);
        return;
      }
    }
    this.suspicions.get(a.node)?.cancel();
    this.suspicions.delete(a.node);
    this.broadcasts.queueBroadcast(a.node, encodeMsg({ type: 'alive', msg: a }));
    const oldState = n.state;
    const oldMeta = n.meta;
    n.incarnation = a.incarnation;
    n.meta = a.meta;
    n.addr = a.addr;
    n.ip = ip;
    n.port = a.port;
    if (vsn !== null && vsn.length >= 6) n.vsn = vsn;
    if (n.state !== NodeStateType.alive) {
      n.state = NodeStateType.alive;
      n.stateChange = now;
    }
    if (oldState === NodeStateType.dead || oldState === NodeStateType.left) this.events.join?.(this.info(n));
    else if (!bytesEqual(oldMeta, a.meta)) this.events.update?.(this.info(n));
  }

  suspectNode(s: Suspect): void {
    const n = this.nodes.get(s.node);
    if (n === undefined) return;
    if (s.incarnation < n.incarnation) {
      if (n.name === this.cfg.name) this.reassert(n);
      return;
    }
    const existing = this.suspicions.get(s.node);
    if (existing !== undefined) {
      if (existing.confirm(s.from)) this.broadcasts.queueBroadcast(s.node, encodeMsg({ type: 'suspect', msg: s }));
      return;
    }
    if (n.state !== NodeStateType.alive) return;
    if (n.name === this.cfg.name) {
      this.refute(n, s.incarnation);
      return;
    }
    this.broadcasts.queueBroadcast(s.node, encodeMsg({ type: 'suspect', msg: s }));
    n.incarnation = s.incarnation;
    n.state = NodeStateType.suspect;
    const changeTime = this.env.now();
    n.stateChange = changeTime;
    const fire = (): void => {
      this.suspicions.delete(s.node);
      const cur = this.nodes.get(s.node);
      if (cur !== undefined && cur.state === NodeStateType.suspect && cur.stateChange === changeTime) {
        this.deadNode({ incarnation: cur.incarnation, node: cur.name, from: this.cfg.name });
      }
    };
    const sus = new Suspicion(s.from, suspicionTimeouts(this.cfg, this.nodes.size), this.env, fire);
    this.suspicions.set(s.node, sus);
    this.events.suspect?.(this.info(n));
  }

  deadNode(d: Dead, notify?: () => void): void {
    const n = this.nodes.get(d.node);
    if (n === undefined) return;
    if (d.incarnation < n.incarnation) {
      if (n.name === this.cfg.name && d.from !== n.name) this.reassert(n);
      return;
    }
    this.suspicions.get(d.node)?.cancel();
    this.suspicions.delete(d.node);
    if (n.state >= NodeStateType.dead) return;
    if (n.name === this.cfg.name && !this.leaving) {
      this.refute(n, d.incarnation);
      return;
    }
    this.broadcasts.queueBroadcast(d.node, encodeMsg({ type: 'dead', msg: d }), notify);
    n.incarnation = d.incarnation;
    n.state = d.node === d.from ? NodeStateType.left : NodeStateType.dead;
    n.stateChange = this.env.now();
    this.events.leave?.(this.info(n), n.state === NodeStateType.left ? 'left' : 'dead');
  }
}

function bytesEqual(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return (a === null || a.length === 0) && (b === null || b.length === 0);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
