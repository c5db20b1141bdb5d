// What the speaker's main thread and its network thread say to each other (structured-clone data only).
import type { MemberInfo, NodeStateName } from '@l2lb/memberlist';
import type { AnnouncerStats, ConflictEvent } from '../l2/announcer.js';
import type { LinkEvent, MemberlistSpec, MembersEvent } from './network.js';

/** Announcement changes: sent in batches (one per main-thread task), applied by the worker in one task. */
export type AnnouncerOp =
  | { t: 'announce'; ip: string; interfaces: readonly string[] }
  | { t: 'withdraw'; ip: string }
  | { t: 'reassert'; ip: string }
  | { t: 'exclude'; exclude: readonly RegExp[] | undefined };

/** Main → network thread. Those with an `id` are answered by a `reply` with the same id. */
export type ToNetwork =
  | { t: 'start'; id: number }
  | { t: 'ops'; ops: AnnouncerOp[] }
  | { t: 'memberlist'; id: number; spec: MemberlistSpec }
  | { t: 'join'; id: number; target: { ip: string; port: number } }
  | { t: 'leave'; id: number; timeoutMs: number }
  | { t: 'snapshot'; id: number }
  | { t: 'stop'; id: number };

/** The figures /metrics shows, copied from the network thread. */
export interface NetworkSnapshot {
  announcer: AnnouncerStats;
  announced: string[];
  interfaces: string[];
  memberlist: { states: NodeStateName[]; healthScore: number; drops: Array<[string, number]>; stats: Record<string, number> };
  /** The network thread's own hold-ups: the longest since it started, and how many exceeded 100 ms. */
  heldUp: { maxMs: number; over100: number };
}

export type ReplyValue =
  | { kind: 'started'; interfaces: string[] }
  | { kind: 'joined'; contacted: number; errors: string[] }
  | { kind: 'snapshot'; snapshot: NetworkSnapshot }
  | { kind: 'done' };

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Network thread → main. */
export type FromNetwork =
  | { t: 'reply'; id: number; value?: ReplyValue; error?: string }
  | { t: 'link'; event: LinkEvent; interfaces: string[] }
  | { t: 'conflict'; event: ConflictEvent }
  | { t: 'members'; event: MembersEvent }
  | { t: 'log'; level: LogLevel; message: string; meta: Record<string, unknown> | undefined; timestamp: string };

/** What the worker is started with. */
export interface NetworkThreadData {
  /** The most verbose level worth sending over (the main logger's level). */
  logLevel: LogLevel;
}

export type { MemberInfo };
