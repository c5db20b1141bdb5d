// The main thread's handle on the network thread (worker.ts): the same SpeakerNetwork as LocalNetwork,
// over messages. Announce/withdraw are fire-and-forget (the worker applies them in order); interfaces
// and members are kept from the worker's notices, so the core reads them synchronously; /metrics asks
// the worker for a fresh copy of its figures at each scrape.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorText, type Logger } from '@l2lb/shared/log';
import type { MemberInfo, MemberlistMetricsSource } from '@l2lb/memberlist';
import type { AnnouncerStats } from '../l2/announcer.js';
import type { AnnouncerOp, FromNetwork, LogLevel, NetworkSnapshot, ReplyValue, ToNetwork } from './messages.js';
import type { MemberlistSpec, NetworkEvents, SpeakerNetwork } from './network.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);
/** A scrape waits this long for the worker's figures, then shows the last copy. */
const SNAPSHOT_TIMEOUT_MS = 1000;
/** Scrapes within this window share one copy. */
const SNAPSHOT_REUSE_MS = 100;

const EMPTY_SNAPSHOT: NetworkSnapshot = {
  announcer: { ips: {}, drops: {}, interfaces: {} },
  announced: [],
  interfaces: [],
  memberlist: { states: [], healthScore: 0, drops: [], stats: {} },
  heldUp: { maxMs: 0, over100: 0 },
};

type Pending = { resolve: (v: ReplyValue | undefined) => void; reject: (e: Error) => void };
type Request = ToNetwork extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export class NetworkThread extends EventEmitter<NetworkEvents> implements SpeakerNetwork {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private knownInterfaces: string[] = [];
  /** What the worker was last told per announced IP: its interfaces, joined. */
  private readonly sent = new Map<string, string>();
  private outbox: AnnouncerOp[] = [];
  private knownMembers: MemberInfo[] = [];
  private copy: NetworkSnapshot = EMPTY_SNAPSHOT;
  private copyAt = -Infinity;
  private copying: Promise<void> | undefined;
  private stopping = false;
  private exited = false;
  readonly memberlistMetrics: MemberlistMetricsSource;

  constructor(
    private readonly log: Logger,
    logLevel: LogLevel = 'info',
  ) {
    super();
    this.worker = new Worker(WORKER_URL, { workerData: { logLevel }, stdout: false, stderr: false });
    this.worker.on('message', (m: FromNetwork) => this.onMessage(m));
    this.worker.on('error', (e) => this.failed(`the network thread failed: ${errorText(e, { stack: true })}`));
    this.worker.on('exit', (code) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`the network thread exited (code ${code})`));
      this.pending.clear();
      if (!this.stopping) this.failed(`the network thread exited (code ${code})`);
    });
    const self = (): NetworkSnapshot['memberlist'] => this.copy.memberlist;
    this.memberlistMetrics = {
      allNodes: () => self().states.map((state) => ({ state })),
      healthScore: () => self().healthScore,
      get drops() {
        return new Map(self().drops);
      },
      get stats() {
        return self().stats;
      },
      refresh: () => this.refresh(),
    };
  }

  private failed(message: string): void {
    this.log.error(message);
    this.emit('fatal', new Error(message));
  }

  private onMessage(m: FromNetwork): void {
    switch (m.t) {
      case 'reply': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(m.error));
        else p?.resolve(m.value);
        return;
      }
      case 'link':
        this.knownInterfaces = m.interfaces;
        this.emit('link', m.event);
        return;
      case 'conflict':
        this.emit('conflict', m.event);
        return;
      case 'members':
        this.knownMembers = m.event.members;
        this.emit('members', m.event);
        return;
      case 'log':
        this.log[m.level](m.message, { ...m.meta, timestamp: m.timestamp });
        return;
    }
  }

  /**
   * Queues an announcement change; the queue goes over in one message at the end of this task. A relist
   * pass slice changes hundreds of IPs: one message each cost the worker one ARP reflex table rebuild
   * each (the table is rebuilt once per task there), which held its turns while ARP requests waited.
   */
  private notify(op: AnnouncerOp): void {
    if (this.exited) return;
    this.outbox.push(op);
    if (this.outbox.length === 1) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    if (this.outbox.length === 0 || this.exited) return;
    const ops = this.outbox;
    this.outbox = [];
    this.worker.postMessage({ t: 'ops', ops } satisfies ToNetwork);
  }

  private request(m: Request): Promise<ReplyValue | undefined> {
    if (this.exited) return Promise.reject(new Error('the network thread is not running'));
    this.flush(); // queued changes first: a leave must follow the withdrawals before it
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id });
    });
  }

  async start(): Promise<void> {
    const v = await this.request({ t: 'start' });
    if (v?.kind === 'started') this.knownInterfaces = v.interfaces;
  }

  announce(ip: string, interfaces: readonly string[]): void {
    // The core re-announces every Service it still wins on each reconcile (thousands per relist); only a
    // change crosses over, or the worker would spend its turns on no-ops while ARP requests wait.
    const key = interfaces.join(',');
    if (this.sent.get(ip) === key) return;
    this.sent.set(ip, key);
    this.notify({ t: 'announce', ip, interfaces: [...interfaces] });
  }

  withdraw(ip: string): void {
    if (!this.sent.delete(ip)) return;
    this.notify({ t: 'withdraw', ip });
  }

  reassert(ip: string): void {
    this.notify({ t: 'reassert', ip });
  }

  setExclude(exclude: readonly RegExp[] | undefined): void {
    this.notify({ t: 'exclude', exclude: exclude ? [...exclude] : undefined });
  }

  interfaces(): string[] {
    return [...this.knownInterfaces];
  }

  announced(): string[] {
    return this.copy.announced;
  }

  stats(): AnnouncerStats {
    return this.copy.announcer;
  }

  /** The network thread's hold-ups (from the last copy; refresh() first for a fresh one). */
  heldUp(): NetworkSnapshot['heldUp'] {
    return this.copy.heldUp;
  }

  /** A fresh copy of the worker's figures (shared by the scrapes of one moment; the last one on timeout). */
  refresh(): Promise<void> {
    if (performance.now() - this.copyAt < SNAPSHOT_REUSE_MS) return Promise.resolve();
    this.copying ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SNAPSHOT_TIMEOUT_MS);
      this.request({ t: 'snapshot' })
        .then((v) => {
          if (v?.kind === 'snapshot') {
            this.copy = v.snapshot;
            this.copyAt = performance.now();
          }
        })
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(timer);
          resolve();
        });
    }).finally(() => {
      this.copying = undefined;
    });
    return this.copying;
  }

  async startMemberlist(spec: MemberlistSpec): Promise<void> {
    await this.request({ t: 'memberlist', spec });
  }

  members(): MemberInfo[] {
    return this.knownMembers;
  }

  join(target: { ip: string; port: number }, done: (contacted: number, errors: string[]) => void): void {
    this.request({ t: 'join', target }).then(
      (v) => (v?.kind === 'joined' ? done(v.contacted, v.errors) : done(0, ['no answer from the network thread'])),
      (e: unknown) => done(0, [errorText(e)]),
    );
  }

  async leave(timeoutMs: number): Promise<void> {
    await this.request({ t: 'leave', timeoutMs }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.request({ t: 'stop' }).catch((e: unknown) => this.log.warn(`network thread stop: ${errorText(e)}`));
    await this.worker.terminate();
  }
}

/** How long the network thread itself could not run (its own work, or a CPU-starved node). */
export function registerNetworkThreadMetrics(thread: NetworkThread, registry: Registry): void {
  new Gauge({
    name: 'l2lb_speaker_network_thread_held_up_max_seconds',
    help: 'Longest time the network thread (memberlist, ARP/NDP) could not run since the speaker started',
    registers: [registry],
    async collect() {
      await thread.refresh();
      this.set(thread.heldUp().maxMs / 1000);
    },
  });
  let seen = 0;
  new Counter({
    name: 'l2lb_speaker_network_thread_held_up_total',
    help: 'Times the network thread could not run for more than 100 ms (peers may suspect this node meanwhile)',
    registers: [registry],
    async collect() {
      await thread.refresh();
      const n = thread.heldUp().over100;
      if (n > seen) this.inc(n - seen);
      seen = n;
    },
  });
}
