// A deterministic virtual-time network for the memberlist state machine: many nodes in one process,
// with packet loss, delay and partitions. Used by unit tests and usable for experiments.
import { MemberlistConfig } from './config.js';
import { Env, MemberInfo, Memberlist, MemberlistEvents, StreamResult, Timer } from './memberlist.js';
import { StreamParse } from './wire.js';

interface Ev { t: number; seq: number; fn: () => void; cancelled: boolean }

class Heap {
  private a: Ev[] = [];
  get size(): number { return this.a.length; }
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
  peek(): Ev | undefined { return this.a[0]; }
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

export interface SimEvent { t: number; observer: string; kind: 'join' | 'leave' | 'update' | 'suspect'; node: string; reason?: string }

export class SimNetwork {
  now = 0;
  private seq = 0;
  private readonly heap = new Heap();
  readonly rand: () => number;
  /** Packet loss probability for each UDP datagram and each TCP connection attempt. */
  loss = 0;
  minDelayMs = 0.2;
  maxDelayMs = 2;
  readonly nodes = new Map<string, Memberlist>();
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
    const e: Ev = { t: this.now + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.heap.push(e);
    return { cancel: () => { e.cancelled = true; } };
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
      setTimer: (ms, fn) => this.schedule(ms, fn),
      random: () => this.rand(),
      sendPacket: (ip: string, port: number, data: Uint8Array): void => {
        this.packets++;
        this.count(name, data.length);
        const dst = this.byAddr.get(`${ip}:${port}`);
        if (dst === undefined || this.blocked(name, dst.cfg.name) || this.rand() < this.loss) return;
        const copy = data.slice();
        this.schedule(this.delay(), () => {
          if (!this.blocked(name, dst.cfg.name)) dst.handlePacket(copy, cfg.advertiseIp, cfg.advertisePort);
        });
      },
      sendStream: (ip: string, port: number, data: Uint8Array, timeoutMs: number,
        parseReply: ((buf: Uint8Array) => StreamParse) | null, done: (r: StreamResult) => void): void => {
        const dst = this.byAddr.get(`${ip}:${port}`);
        let finished = false;
        const finish = (r: StreamResult): void => {
          if (finished) return;
          finished = true;
          done(r);
        };
        this.count(name, data.length);
        const t = this.schedule(timeoutMs, () => finish({ error: 'i/o timeout' }));
        if (dst === undefined || this.blocked(name, dst.cfg.name) || this.rand() < this.loss) {
          this.schedule(this.delay(), () => { t.cancel(); finish({ error: 'connection refused' }); });
          return;
        }
        const copy = data.slice();
        this.schedule(this.delay(), () => {
          if (this.blocked(name, dst.cfg.name)) return;
          const res = dst.handleStream(copy);
          if (res.kind !== 'done') {
            t.cancel();
            finish({ error: 'incomplete request' });
            return;
          }
          if (parseReply === null) {
            t.cancel();
            finish({});
            return;
          }
          const reply = res.reply;
          if (reply !== null) this.count(dst.cfg.name, reply.length);
          this.schedule(this.delay(), () => {
            t.cancel();
            if (reply === null) {
              finish({ error: 'EOF' });
              return;
            }
            const p = parseReply(reply);
            if (p.kind === 'ok') finish({ msg: p.msg });
            else finish({ error: p.kind === 'error' ? p.drop.message : 'truncated reply' });
          });
        });
      },
    };
    const rec = (kind: SimEvent['kind']) => (n: MemberInfo, reason?: string): void => {
      this.events.push({ t: this.now, observer: name, kind, node: n.name, reason });
    };
    const ml = new Memberlist(cfg, env, {
      ...extra,
      join: (n) => { rec('join')(n); extra.join?.(n); },
      leave: (n, r) => { rec('leave')(n, r); extra.leave?.(n, r); },
      update: (n) => { rec('update')(n); extra.update?.(n); },
      suspect: (n) => { rec('suspect')(n); extra.suspect?.(n); },
    });
    this.nodes.set(name, ml);
    this.byAddr.set(key, ml);
    return ml;
  }

  /** Crash a node: it stops and its traffic disappears. */
  kill(name: string): void {
    this.down.add(name);
    this.nodes.get(name)?.shutdown();
  }
}
