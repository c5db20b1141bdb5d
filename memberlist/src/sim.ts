// A deterministic virtual-time network for the memberlist state machine: many nodes in one process,
// with packet loss (whole path or per node link), delay, partitions and CPU stalls. Used by unit tests
// and usable for experiments.
import { MemberlistConfig } from './config.js';
import { Env, MemberInfo, Memberlist, MemberlistEvents, StreamResult, Timer } from './memberlist.js';
import { StreamParse } from './wire.js';

interface Ev {
  t: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}
/** Work a stall held: a node's timer (skipped if cancelled meanwhile) or a packet or stream it received. */
interface Held {
  fn: () => void;
  timer?: Ev;
}

class Heap {
  private a: Ev[] = [];
  get size(): number {
    return this.a.length;
  }
  push(e: Ev): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p] as Ev, e)) break;
      a[i] = a[p] as Ev;
      i = p;
    }
    a[i] = e;
  }
  pop(): Ev | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && less(a[r] as Ev, a[l] as Ev) ? r : l;
      if (less(last, a[c] as Ev)) break;
      a[i] = a[c] as Ev;
      i = c;
    }
    a[i] = last;
    return top;
  }
  peek(): Ev | undefined {
    return this.a[0];
  }
}
function less(x: Ev, y: Ev): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq);
}

/** Seeded PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What a stalled node does first when it runs again. A process throttled while idle in epoll_wait
 * wakes with its sockets ready, and libuv runs the poll phase (packets, streams) before the expired
 * timers; one throttled in the middle of JavaScript reaches the timers phase first.
 */
export type ResumeOrder = 'io-first' | 'timers-first';

export interface SimEvent {
  t: number;
  observer: string;
  kind: 'join' | 'leave' | 'update' | 'suspect';
  node: string;
  reason?: string;
}

export class SimNetwork {
  now = 0;
  private seq = 0;
  private readonly heap = new Heap();
  readonly rand: () => number;
  /** Packet loss probability for each UDP datagram and each TCP connection attempt. */
  loss = 0;
  /**
   * Loss on every node's own link, each way (the lab's nftables rule on each node): a datagram crosses
   * the sender's link and the receiver's, so it arrives with probability (1 - linkLoss)^2; a stream
   * needs its request and its reply through both links.
   */
  linkLoss = 0;
  /** See ResumeOrder. */
  resumeOrder: ResumeOrder = 'io-first';
  /** Per node: stalled (its timers, packets and streams held) until this virtual time. */
  private readonly stalledUntil = new Map<string, number>();
  /** Per node: the work held during its current stall, replayed when it ends. */
  private readonly held = new Map<string, { io: Array<() => void>; timers: Ev[] }>();
  /** Total ms each node spent stalled (overlapping stalls counted once). */
  readonly stalledMs = new Map<string, number>();
  minDelayMs = 0.2;
  maxDelayMs = 2;
  readonly nodes = new Map<string, Memberlist>();
  /** The environment each node was given (its clock, timers and transport), for experiments and tests. */
  readonly envs = new Map<string, Env>();
  private readonly byAddr = new Map<string, Memberlist>();
  private readonly down = new Set<string>();
  /** Return true to drop traffic between two node names. */
  partition: ((a: string, b: string) => boolean) | null = null;
  readonly events: SimEvent[] = [];
  packets = 0;
  /** Bytes each node sent: datagrams, stream requests and the stream replies it answered with. */
  readonly bytesSent = new Map<string, number>();

  constructor(seed = 1) {
    this.rand = seededRandom(seed);
  }

  schedule(ms: number, fn: () => void): Timer {
    const e = this.push(ms, fn);
    return {
      cancel: () => {
        e.cancelled = true;
      },
    };
  }

  private push(ms: number, fn: () => void): Ev {
    const e: Ev = { t: this.now + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.heap.push(e);
    return e;
  }

  /**
   * Stall a node until virtual time `until` (a CPU-throttled or GC-paused process): nothing of it runs
   * meanwhile. Its timers that come due and the packets and streams that reach it are held and run when
   * the stall ends, in `resumeOrder`; the kernel still queues what arrives, so nothing is lost. A stall
   * that overlaps the current one extends it.
   */
  stall(name: string, until: number): void {
    const cur = this.stalledUntil.get(name) ?? this.now;
    if (until <= cur) return;
    this.stalledMs.set(name, (this.stalledMs.get(name) ?? 0) + until - Math.max(cur, this.now));
    this.stalledUntil.set(name, until);
    if (cur <= this.now) this.push(until - this.now, () => this.resume(name));
  }

  /** Whether `name` is stalled at the current virtual time. */
  isStalled(name: string): boolean {
    return (this.stalledUntil.get(name) ?? 0) > this.now;
  }

  private resume(name: string): void {
    const until = this.stalledUntil.get(name) ?? 0;
    if (until > this.now) {
      // Extended since this resume was scheduled.
      this.push(until - this.now, () => this.resume(name));
      return;
    }
    this.stalledUntil.delete(name);
    const h = this.held.get(name);
    if (h === undefined) return;
    this.held.delete(name);
    const io = h.io.map((fn): Held => ({ fn }));
    const timers = h.timers.map((e): Held => ({ fn: e.fn, timer: e }));
    // Each held item runs as its own event at this instant, so work they start (zero-delay timers,
    // sends) comes after them, as in a process catching up on its event loop.
    for (const item of this.resumeOrder === 'io-first' ? [...io, ...timers] : [...timers, ...io]) {
      this.push(0, () => {
        if (item.timer?.cancelled === true) return;
        if (this.isStalled(name)) {
          const again = this.holdFor(name);
          if (item.timer !== undefined) again.timers.push(item.timer);
          else again.io.push(item.fn);
        } else item.fn();
      });
    }
  }

  private holdFor(name: string): { io: Array<() => void>; timers: Ev[] } {
    let h = this.held.get(name);
    if (h === undefined) this.held.set(name, (h = { io: [], timers: [] }));
    return h;
  }

  /** Runs `fn` as `name`'s packet or stream handling: now, or when its stall ends. */
  private deliver(name: string, fn: () => void): void {
    if (this.isStalled(name)) this.holdFor(name).io.push(fn);
    else fn();
  }

  /** A timer of node `name`: fires when due, or (if it comes due during a stall) when the stall ends. */
  private nodeTimer(name: string, ms: number, fn: () => void): Timer {
    const e = this.push(ms, fn);
    e.fn = () => {
      if (!this.isStalled(name)) {
        fn();
        return;
      }
      e.fn = fn; // what the replay runs
      this.holdFor(name).timers.push(e);
    };
    return {
      cancel: () => {
        e.cancelled = true;
      },
    };
  }

  /** Whether a datagram is lost on either node's link (linkLoss; the path-wide `loss` is drawn apart). */
  private linkDrop(): boolean {
    return this.linkLoss > 0 && (this.rand() < this.linkLoss || this.rand() < this.linkLoss);
  }

  /**
   * Extra delay a TCP segment takes through two lossy links: each loss costs a retransmission after
   * `rtoMs`, doubling (Linux: 1 s for a SYN, at least 200 ms once connected).
   */
  private retransmitDelay(rtoMs: number): number {
    let extra = 0;
    for (let rto = rtoMs; extra < 60_000 && this.linkDrop(); rto *= 2) extra += rto;
    return extra;
  }

  /** Run until virtual time `until` (ms). */
  runUntil(until: number): void {
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined || e.t > until) break;
      this.heap.pop();
      if (e.cancelled) continue;
      this.now = e.t;
      e.fn();
    }
    this.now = until;
  }

  /** Run until cond() holds (checked after every event) or `limit` ms of virtual time pass; returns the time. */
  runUntilCond(cond: () => boolean, limitMs: number): number | null {
    const end = this.now + limitMs;
    if (cond()) return this.now;
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined || e.t > end) {
        this.now = end;
        return null;
      }
      this.heap.pop();
      if (e.cancelled) continue;
      this.now = e.t;
      e.fn();
      if (cond()) return this.now;
    }
  }

  private count(node: string, bytes: number): void {
    this.bytesSent.set(node, (this.bytesSent.get(node) ?? 0) + bytes);
  }

  private delay(): number {
    return this.minDelayMs + this.rand() * (this.maxDelayMs - this.minDelayMs);
  }

  private blocked(from: string, to: string): boolean {
    if (this.down.has(from) || this.down.has(to)) return true;
    return this.partition !== null && this.partition(from, to);
  }

  addNode(cfg: MemberlistConfig, extra: MemberlistEvents = {}): Memberlist {
    const name = cfg.name;
    const key = `${cfg.advertiseIp}:${cfg.advertisePort}`;
    const env: Env = {
      now: () => this.now,
      setTimer: (ms, fn) => this.nodeTimer(name, ms, fn),
      random: () => this.rand(),
      sendPacket: (ip: string, port: number, data: Uint8Array): void => {
        this.packets++;
        this.count(name, data.length);
        const dst = this.byAddr.get(`${ip}:${port}`);
        if (dst === undefined || this.blocked(name, dst.cfg.name) || this.rand() < this.loss || this.linkDrop()) return;
        const copy = data.slice();
        this.schedule(this.delay(), () => {
          if (!this.blocked(name, dst.cfg.name)) {
            this.deliver(dst.cfg.name, () => {
              if (!this.blocked(name, dst.cfg.name)) dst.handlePacket(copy, cfg.advertiseIp, cfg.advertisePort);
            });
          }
        });
      },
      sendStream: (
        ip: string,
        port: number,
        data: Uint8Array,
        timeoutMs: number,
        parseReply: ((buf: Uint8Array) => StreamParse) | null,
        done: (r: StreamResult) => void,
      ): void => {
        const dst = this.byAddr.get(`${ip}:${port}`);
        let finished = false;
        const finish = (r: StreamResult): void => {
          if (finished) return;
          finished = true;
          done(r);
        };
        this.count(name, data.length);
        const t = this.nodeTimer(name, timeoutMs, () => finish({ error: 'i/o timeout' }));
        // What reaches the dialer is handled when it runs (it may be stalled).
        const toDialer = (r: StreamResult): void =>
          this.deliver(name, () => {
            t.cancel();
            finish(r);
          });
        if (dst === undefined || this.blocked(name, dst.cfg.name) || this.rand() < this.loss) {
          this.schedule(this.delay(), () => toDialer({ error: 'connection refused' }));
          return;
        }
        const copy = data.slice();
        const dstName = dst.cfg.name;
        // The kernel completes the handshake and queues the request even while the listener is stalled.
        this.schedule(this.delay() + this.retransmitDelay(1000), () =>
          this.deliver(dstName, () => {
            if (this.blocked(name, dstName)) return;
            const res = dst.handleStream(copy);
            if (res.kind !== 'done') {
              toDialer({ error: 'incomplete request' });
              return;
            }
            if (parseReply === null) {
              toDialer({});
              return;
            }
            const reply = res.reply;
            if (reply !== null) this.count(dstName, reply.length);
            this.schedule(this.delay() + this.retransmitDelay(200), () => {
              if (reply === null) {
                toDialer({ error: 'EOF' });
                return;
              }
              const p = parseReply(reply);
              if (p.kind === 'ok') toDialer({ msg: p.msg });
              else toDialer({ error: p.kind === 'error' ? p.drop.message : 'truncated reply' });
            });
          }),
        );
      },
    };
    const rec =
      (kind: SimEvent['kind']) =>
      (n: MemberInfo, reason?: string): void => {
        this.events.push({ t: this.now, observer: name, kind, node: n.name, reason });
      };
    const ml = new Memberlist(cfg, env, {
      ...extra,
      join: (n) => {
        rec('join')(n);
        extra.join?.(n);
      },
      leave: (n, r) => {
        rec('leave')(n, r);
        extra.leave?.(n, r);
      },
      update: (n) => {
        rec('update')(n);
        extra.update?.(n);
      },
      suspect: (n) => {
        rec('suspect')(n);
        extra.suspect?.(n);
      },
    });
    this.nodes.set(name, ml);
    this.envs.set(name, env);
    this.byAddr.set(key, ml);
    return ml;
  }

  /** Crash a node: it stops and its traffic disappears. */
  kill(name: string): void {
    this.down.add(name);
    this.nodes.get(name)?.shutdown();
  }
}
