// The Node.js edge: one UDP socket and one TCP listener on the same IP:port, real timers, and the
// Memberlist state machine in between.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { errorText, silentLogger, type Logger } from '@l2lb/shared/log';
import { MemberlistConfig } from './config.js';
import { Env, Memberlist, MemberlistEvents, StreamResult, Timer } from './memberlist.js';
import { DropLogLimiter } from './loglimit.js';
import { LateAwareTimers } from './timers.js';
import { FrameStep, StreamFramer, StreamParse } from './wire.js';

/** What the node logs to: the shared Logger without error (the node never logs at error level; its failures are warnings). */
export type NodeLogger = Pick<Logger, 'info' | 'warn' | 'debug'>;

const MAX_INBOUND_STREAMS = 128;
/**
 * Bytes all inbound streams may hold at once. A stream that would go over is closed (drop reason
 * inbound_budget): 128 slow senders cannot push the 256 Mi pod out of memory, and a real push/pull
 * (kilobytes to a few MB) fits many times over.
 */
export const INBOUND_STREAM_BUDGET_BYTES = 16 * 1024 * 1024;
/** One "dropped input" line per reason and source per window; the counters stay exact. */
const DROP_LOG_WINDOW_MS = 10_000;
const DROP_LOG_MAX_KEYS = 1024;

export interface NodeOptions {
  /** IP to bind UDP and TCP to (loopback or a node address). */
  bindIp: string;
  bindPort: number;
  logger?: NodeLogger;
}

/** A memberlist node on real sockets. */
export class MemberlistNode {
  readonly ml: Memberlist;
  private udp: dgram.Socket | null = null;
  private tcp: net.Server | null = null;
  private readonly conns = new Set<net.Socket>();
  /** Late timers let the sockets be read first: a held-up process must not ignore answers already here. */
  private readonly timers: LateAwareTimers;
  private readonly log: NodeLogger;
  private closed = false;
  /** Bytes held by inbound stream framers right now (see INBOUND_STREAM_BUDGET_BYTES). */
  private inboundHeld = 0;

  constructor(
    cfg: MemberlistConfig,
    private readonly opts: NodeOptions,
    events: MemberlistEvents = {},
  ) {
    this.log = opts.logger ?? silentLogger;
    this.timers = new LateAwareTimers({ onError: (e) => this.log.warn('timer callback failed', { err: errorText(e, { stack: true }) }) });
    const env: Env = {
      now: () => performance.now(),
      setTimer: (ms, fn) => this.setTimer(ms, fn),
      random: () => randomInt(0, 0x7fffffff) / 0x80000000,
      sendPacket: (ip, port, data) => this.sendPacket(ip, port, data),
      sendStream: (ip, port, data, timeoutMs, parseReply, done) => this.sendStream(ip, port, data, timeoutMs, parseReply, done),
    };
    const log = this.log;
    const limiter = new DropLogLimiter(DROP_LOG_WINDOW_MS, DROP_LOG_MAX_KEYS, () => performance.now());
    this.ml = new Memberlist(cfg, env, {
      ...events,
      drop: (reason, message, source) => {
        const v = limiter.admit(reason, source);
        if (v.log) log.warn('dropped input', v.suppressed > 0 ? { reason, message, suppressed: v.suppressed } : { reason, message });
        events.drop?.(reason, message, source);
      },
    });
  }

  private setTimer(ms: number, fn: () => void): Timer {
    return this.timers.set(ms, () => {
      if (!this.closed) fn();
    });
  }

  /**
   * Bind the sockets and start the state machine. A failed bind closes what was opened (callers
   * retry with a new node), and a close() while starting wins: nothing runs afterwards.
   */
  async start(): Promise<void> {
    const family = net.isIPv6(this.opts.bindIp) ? 'udp6' : 'udp4';
    const udp = dgram.createSocket({ type: family, reuseAddr: false });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.opts.bindPort, this.opts.bindIp, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      throw e;
    }
    if (this.closed) {
      udp.close();
      return;
    }
    try {
      udp.setRecvBufferSize(2 * 1024 * 1024);
    } catch {
      // best effort
    }
    udp.on('message', (msg, rinfo) => {
      this.ml.handlePacket(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), rinfo.address, rinfo.port);
    });
    udp.on('error', (err) => this.log.warn('udp socket error', { err: err.message }));
    this.udp = udp;
    const tcp = net.createServer((sock) => this.accept(sock));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: this.opts.bindIp, port: this.opts.bindPort, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      await this.close();
      throw e;
    }
    if (this.closed) {
      tcp.close();
      return;
    }
    tcp.on('error', (err) => this.log.warn('tcp listener error', { err: err.message }));
    this.tcp = tcp;
    this.ml.start();
  }

  private sendPacket(ip: string, port: number, data: Uint8Array): void {
    const udp = this.udp;
    if (udp === null || this.closed) return;
    udp.send(data, port, ip, (err) => {
      if (err) this.log.debug('udp send failed', { to: `${ip}:${port}`, err: err.message });
    });
  }

  private sendStream(
    ip: string,
    port: number,
    data: Uint8Array,
    timeoutMs: number,
    parseReply: ((buf: Uint8Array) => StreamParse) | null,
    done: (r: StreamResult) => void,
  ): void {
    let finished = false;
    const framer = parseReply === null ? null : new StreamFramer(this.ml.cfg.wire, false);
    const sock = net.connect({ host: ip, port });
    this.conns.add(sock);
    const finish = (r: StreamResult): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      this.conns.delete(sock);
      done(r);
    };
    const timer = setTimeout(() => finish({ error: 'i/o timeout' }), timeoutMs);
    sock.on('connect', () => {
      sock.write(data);
      if (parseReply === null) sock.end(() => finish({}));
    });
    sock.on('data', (chunk: Buffer) => {
      if (parseReply === null || framer === null || finished) return;
      const step = framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      if (step.kind === 'incomplete') return;
      if (step.kind === 'error') {
        finish({ error: step.drop.message });
        return;
      }
      const p = parseReply(step.bytes);
      if (p.kind === 'ok') finish({ msg: p.msg });
      else if (p.kind === 'error') finish({ error: p.drop.message });
      else finish({ error: 'reply is truncated' });
    });
    sock.on('error', (err) => finish({ error: err.message }));
    sock.on('close', () => finish({ error: 'connection closed before a complete reply' }));
  }

  private accept(sock: net.Socket): void {
    if (this.closed || this.conns.size >= MAX_INBOUND_STREAMS) {
      sock.destroy();
      return;
    }
    this.conns.add(sock);
    const from = sock.remoteAddress ?? '';
    const framer = new StreamFramer(this.ml.cfg.wire, true);
    let charged = 0;
    let done = false;
    const close = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.inboundHeld -= charged;
      charged = 0;
      this.conns.delete(sock);
    };
    const reply = (bytes: Uint8Array | null): void => {
      close();
      if (bytes !== null) sock.end(bytes);
      else sock.end();
      // A sender that keeps writing after we are done must not keep the socket (and its buffers).
      sock.destroySoon();
    };
    // Per-stream deadline: the whole message must arrive within tcpTimeoutMs of the accept.
    const timer = setTimeout(() => {
      if (!done) this.log.debug('inbound stream timed out', { from, received: framer.received });
      close();
      sock.destroy();
    }, this.ml.cfg.tcpTimeoutMs);
    sock.on('data', (chunk: Buffer) => {
      if (done) return;
      const before = framer.held;
      const step: FrameStep = framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      const grow = framer.held - before;
      if (step.kind === 'incomplete' && grow > 0 && this.inboundHeld + grow > INBOUND_STREAM_BUDGET_BYTES) {
        close();
        this.ml.rejectStream(
          { reason: 'inbound_budget', message: `inbound streams hold ${this.inboundHeld} bytes, budget ${INBOUND_STREAM_BUDGET_BYTES}` },
          from,
        );
        sock.destroy();
        return;
      }
      charged += grow;
      this.inboundHeld += grow;
      if (step.kind === 'incomplete') return;
      if (step.kind === 'error') {
        reply(this.ml.rejectStream(step.drop, from));
        return;
      }
      const r = this.ml.handleStream(step.bytes, from);
      reply(r.kind === 'done' ? r.reply : this.ml.rejectStream({ reason: 'truncated', message: 'stream message is truncated' }, from));
    });
    sock.on('error', () => close());
    sock.on('close', () => close());
  }

  /** Graceful leave (broadcast and wait), then close. */
  async leave(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve) => this.ml.leave(timeoutMs, resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ml.shutdown();
    this.timers.clearAll();
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    if (udp !== null) await new Promise<void>((r) => udp.close(() => r()));
    if (tcp !== null) await new Promise<void>((r) => tcp.close(() => r()));
  }
}

/** Parse "host", "host:port", "[v6]:port" or "name/host:port" into parts (host may be a DNS name). */
export function parseHostPort(s: string, defaultPort: number): { host: string; port: number } {
  let t = s.trim();
  const slash = t.indexOf('/');
  if (slash >= 0) t = t.slice(slash + 1);
  if (t.startsWith('[')) {
    const end = t.indexOf(']');
    if (end < 0) throw new Error(`bad address "${s}"`);
    const host = t.slice(1, end);
    const rest = t.slice(end + 1);
    const port = rest.startsWith(':') ? Number(rest.slice(1)) : defaultPort;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port in "${s}"`);
    return { host, port };
  }
  if (net.isIPv6(t)) return { host: t, port: defaultPort };
  const colon = t.lastIndexOf(':');
  if (colon < 0) return { host: t, port: defaultPort };
  const port = Number(t.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port in "${s}"`);
  return { host: t.slice(0, colon), port };
}
