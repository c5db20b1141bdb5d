// The speaker's network side: the layer-2 announcer (ARP/NDP sockets, the ARP reflex, link watching)
// and the memberlist node (UDP/TCP), behind one interface. Two implementations: LocalNetwork runs both
// on the calling thread (tests with fake sockets, `--network-thread=false`); NetworkThread (thread.ts)
// runs a LocalNetwork in a worker_thread, so a main thread busy with Kubernetes cannot delay a
// memberlist ack or an ARP reply (issue 14: a 150 ms block got a node declared dead).
import { EventEmitter } from 'node:events';
import { errorText, type Logger } from '@l2lb/shared/log';
// Module by module, not the package's index: this file runs in the network thread, and the index would
// also load prom-client and the simulator there (about 4.5 MB of that thread's memory).
import { makeConfig, type ProfileName } from '@l2lb/memberlist/config';
import { Keyring, metallbKey } from '@l2lb/memberlist/crypto';
import type { MemberlistMetricsSource } from '@l2lb/memberlist/metrics';
import { MemberlistNode } from '@l2lb/memberlist/node';
import type { MemberInfo } from '@l2lb/memberlist/types';
import { defaultWireOptions } from '@l2lb/memberlist/wire';
import type { Announcer, AnnouncerStats, ConflictEvent } from '../l2/announcer.js';
import type { AnnouncerMetricsSource } from '../l2/metrics.js';
import type { CoreAnnouncer } from '../run/core-types.js';

/** What starts the memberlist node: plain data, so it crosses to a worker thread. */
export interface MemberlistSpec {
  name: string;
  bindIp: string;
  bindPort: number;
  profile: ProfileName;
  /** The Secret's key text (MetalLB's format); undefined: gossip is not encrypted. */
  secretKey: string | undefined;
  meta: Uint8Array;
}

export interface LinkEvent {
  interface: string;
  state: 'up' | 'down';
  reason?: string;
}

export type MemberEventKind = 'join' | 'leave' | 'update';

export interface MembersEvent {
  event: MemberEventKind;
  member: MemberInfo;
  /** Every member after the change (alive and suspect: the election's candidates). */
  members: MemberInfo[];
}

export interface NetworkEvents {
  link: [LinkEvent];
  conflict: [ConflictEvent];
  members: [MembersEvent];
  /** The network side cannot go on (its thread died): the speaker must exit and be restarted. */
  fatal: [Error];
}

export interface SpeakerNetwork extends CoreAnnouncer, AnnouncerMetricsSource {
  /** Opens the layer-2 sockets; resolves once the interfaces are known. */
  start(): Promise<void>;
  setExclude(exclude: readonly RegExp[] | undefined): void;
  /** Binds and starts memberlist (rejects when it cannot, e.g. the port is taken; then call again). */
  startMemberlist(spec: MemberlistSpec): Promise<void>;
  /** The newest member list (empty before memberlist started). */
  members(): MemberInfo[];
  /** One push/pull join to one peer; `done` gets how many were contacted and the errors. */
  join(target: { ip: string; port: number }, done: (contacted: number, errors: string[]) => void): void;
  /** Broadcasts a leave and waits up to `timeoutMs` for it to spread, then closes memberlist. */
  leave(timeoutMs: number): Promise<void>;
  readonly memberlistMetrics: MemberlistMetricsSource;
  /** Stops answering, closes every socket (memberlist too). */
  stop(): Promise<void>;
  on<K extends keyof NetworkEvents>(event: K, listener: (...args: NetworkEvents[K]) => void): this;
}

/** A memberlist metrics source before memberlist runs: no members, no figures. */
export const NO_MEMBERLIST: MemberlistMetricsSource = { allNodes: () => [], healthScore: () => 0, drops: new Map(), stats: {} };

/** Builds the memberlist configuration from a spec (keyring from the Secret's key, l2lb's timings profile). */
export function memberlistConfig(spec: MemberlistSpec): ReturnType<typeof makeConfig> {
  const keyring = spec.secretKey === undefined ? null : new Keyring([metallbKey(spec.secretKey)]);
  return makeConfig(spec.name, spec.bindIp, spec.bindPort, { wire: defaultWireOptions({ keyring }), meta: spec.meta }, spec.profile);
}

/** The announcer and memberlist on the calling thread. */
export class LocalNetwork extends EventEmitter<NetworkEvents> implements SpeakerNetwork {
  private ml: MemberlistNode | undefined;
  private metricsSource: MemberlistMetricsSource = NO_MEMBERLIST;

  constructor(
    readonly announcer: Announcer,
    private readonly log: Logger,
  ) {
    super();
    announcer.on('link', (e) => this.emit('link', e));
    announcer.on('conflict', (e) => this.emit('conflict', e));
  }

  async start(): Promise<void> {
    this.announcer.start();
  }

  announce(ip: string, interfaces: readonly string[]): boolean {
    return this.announcer.announce(ip, interfaces);
  }

  withdraw(ip: string): boolean {
    return this.announcer.withdraw(ip);
  }

  reassert(ip: string): boolean {
    return this.announcer.reassert(ip);
  }

  interfaces(): string[] {
    return this.announcer.interfaces();
  }

  announced(): string[] {
    return this.announcer.announced();
  }

  stats(): AnnouncerStats {
    return this.announcer.stats();
  }

  setExclude(exclude: readonly RegExp[] | undefined): void {
    this.announcer.setExclude(exclude);
  }

  get memberlistMetrics(): MemberlistMetricsSource {
    return this.metricsSource;
  }

  async startMemberlist(spec: MemberlistSpec): Promise<void> {
    if (this.ml) throw new Error('memberlist already started');
    const changed =
      (event: MemberEventKind) =>
      (member: MemberInfo): void => {
        this.emit('members', { event, member, members: this.members() });
      };
    const mlLog = this.log;
    const node = new MemberlistNode(
      memberlistConfig(spec),
      {
        bindIp: spec.bindIp,
        bindPort: spec.bindPort,
        logger: { info: (m, x) => mlLog.info(m, x), warn: (m, x) => mlLog.warn(m, x), debug: (m, x) => mlLog.debug(m, x) },
      },
      { join: changed('join'), leave: changed('leave'), update: changed('update') },
    );
    this.ml = node;
    try {
      await node.start();
    } catch (e) {
      this.ml = undefined;
      await node.close().catch(() => undefined);
      throw e;
    }
    this.metricsSource = node.ml;
  }

  members(): MemberInfo[] {
    return this.ml?.ml.members() ?? [];
  }

  join(target: { ip: string; port: number }, done: (contacted: number, errors: string[]) => void): void {
    const ml = this.ml;
    if (!ml) {
      done(0, ['memberlist not started']);
      return;
    }
    ml.ml.join([target], done);
  }

  async leave(timeoutMs: number): Promise<void> {
    const ml = this.ml;
    if (!ml) return;
    try {
      await ml.leave(timeoutMs);
    } catch (e) {
      this.log.warn(`memberlist leave failed: ${errorText(e)}`);
    }
  }

  async stop(): Promise<void> {
    this.announcer.stop();
    const ml = this.ml;
    this.ml = undefined;
    await ml?.close();
  }
}
