// The speaker core's contract with its edges: what it is given (announcer, event sink, logger, timers,
// options) and the reasons it withdraws with. Kept apart from core.ts so the core stays readable.
import type { Registry } from 'prom-client';
import type { Logger } from '@l2lb/shared/log';
import type { ObjectId } from './views.js';

export interface CoreAnnouncer {
  /** Answer for `ip` on `interfaces` (empty: every eligible interface); repeated calls update the set. */
  announce(ip: string, interfaces: readonly string[]): unknown;
  withdraw(ip: string): unknown;
  /** Interfaces the announcer can answer on now. */
  interfaces(): string[];
  /**
   * Send the gratuitous burst again for an IP already announced (clients may have learnt another
   * node's MAC for it, e.g. from the other side of a healed network split).
   */
  reassert?(ip: string): unknown;
}

export type EventSink = (service: ObjectId, type: 'Normal' | 'Warning', reason: string, message: string) => void;

export interface CoreTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SpeakerCoreOptions {
  readonly node: string;
  readonly announcer: CoreAnnouncer;
  /** --lb-class: '' handles Services without spec.loadBalancerClass only. */
  readonly lbClass?: string;
  readonly ignoreExcludeLb?: boolean;
  readonly logger?: Logger;
  readonly event?: EventSink;
  /** Registry for l2lb_speaker_* metrics (default: a private one). */
  readonly registry?: Registry;
  /**
   * Hold every announcement until openGate() or this many ms after start() (default 3000).
   * undefined gate (memberlist off): no start-up hold.
   */
  readonly startupGraceMs?: number;
  readonly gated?: boolean;
  readonly timers?: CoreTimers;
  /** How logs name the pool ConfigMap, e.g. `ConfigMap l2lb-system/config`. */
  readonly configMapObject?: string;
  /**
   * How a pass over every Service (membership, Node, configuration changes) yields. undefined: the
   * pass runs at once, inside the call (unit tests). The process passes setImmediate: the pass runs
   * in slices of `passSlice` Services, so memberlist keeps answering probes (with 5 000 Services and
   * 50 nodes a pass costs ~0.5 s, longer than the fast profile's suspicion timeout), and a burst of
   * changes coalesces into one pass.
   */
  readonly defer?: (fn: () => void) => void;
  /**
   * Called after a Service's announcement by this node started, changed interfaces or stopped (the
   * announcer was already told: the gratuitous ARP left first). Must not block: the ServiceL2Status
   * writer only marks the Service dirty here.
   */
  readonly onAnnouncementChanged?: (serviceKey: string) => void;
  /** Services per slice of a deferred pass at most (default 100). */
  readonly passSlice?: number;
  /**
   * A slice of a deferred pass stops once it has run this long (default 5 ms), so no task blocks the
   * loop (memberlist acks, the ARP reflex) for long whatever a decision costs on a loaded machine.
   */
  readonly passBudgetMs?: number;
  /** Clock for the budget (default performance.now). */
  readonly now?: () => number;
}

/** Reasons beyond MetalLB's (decide()) that this core withdraws with. */
export type CoreWithdrawReason = 'loadBalancerIPChanged' | 'otherLoadBalancerClass' | 'interfacesMissing' | 'shutdown';
