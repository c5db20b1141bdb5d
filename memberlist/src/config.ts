// Timer profiles and node configuration.
import { WireOptions, defaultWireOptions } from './wire.js';

export interface Timings {
  /** Period between probes of one node each (Go ProbeInterval). */
  probeIntervalMs: number;
  /** Wait for a direct ack before indirect probes (Go ProbeTimeout). */
  probeTimeoutMs: number;
  /** Relays asked for an indirect probe (Go IndirectChecks). */
  indirectChecks: number;
  /**
   * Lower suspicion timeout = suspicionMult * probeInterval * (1 + suspicionGrowthPct / 100 * max(0,
   * log10(n) - 1)) (Go SuspicionMult; Go's timeout is suspicionMult * max(1, log10(n)) * probeInterval).
   */
  suspicionMult: number;
  /**
   * How much the lower suspicion timeout grows past 10 members, in percent of Go's log10(n) growth: 100
   * is Go's rule, 0 keeps the 10-member timeout at any size. Up to 10 members it changes nothing.
   */
  suspicionGrowthPct: number;
  /**
   * Upper suspicion timeout as a multiple of the lower one (Go SuspicionMaxTimeoutMult). Lifeguard
   * starts a suspicion at the upper timeout and shrinks it towards the lower one as k = suspicionMult - 2
   * other members confirm it; with suspicionMult <= 2 (or k + 2 or fewer members) k is 0, the lower
   * timeout applies at once and this setting has no effect.
   */
  suspicionMaxTimeoutMult: number;
  /** Broadcast retransmits = retransmitMult * ceil(log10(n + 1)) (Go RetransmitMult). */
  retransmitMult: number;
  gossipIntervalMs: number;
  gossipNodes: number;
  gossipToTheDeadMs: number;
  /** Periodic TCP state sync; 0 disables it. */
  pushPullIntervalMs: number;
  tcpTimeoutMs: number;
  awarenessMaxMultiplier: number;
  udpBufferSize: number;
  /** A dead node may come back with a new address after this long (0 = never, Go's default). */
  deadNodeReclaimMs: number;
  /** Skip the TCP fallback ping when UDP probes fail (Go DisableTcpPings). */
  disableTcpPings: boolean;
  /**
   * Push/pull with one random member declared dead less than gossipToTheDeadMs ago, this often (0 =
   * never, like Go). After a network split both sides hold the other dead and nothing else ever makes
   * contact again (probes and push/pull only go to live members), so without this a healed split
   * lasted until the speaker re-listed its peers. Not in Go's memberlist (Serf has a reconnect loop).
   */
  reconnectIntervalMs: number;
}

/** memberlist DefaultLANConfig values. */
export const LAN: Timings = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionGrowthPct: 100,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  pushPullIntervalMs: 30_000,
  tcpTimeoutMs: 10_000,
  awarenessMaxMultiplier: 8,
  udpBufferSize: 1400,
  deadNodeReclaimMs: 0,
  disableTcpPings: false,
  reconnectIntervalMs: 1_000,
});

/**
 * Our speaker default: detects a dead node in about half a second on a small LAN while riding out
 * 5 % loss on every link and CPU-starved speakers (indirect probes through 3 relays, Lifeguard
 * awareness). suspicionMult 4 gives Lifeguard k = 2 confirmations: a suspicion starts at 3 x 320 ms
 * and drops to 320 ms (x log10 n) once two other members suspect too. With suspicionMult 2 (k = 0,
 * one fixed 160 ms window) a speaker throttled by a cgroup quota, or paused for 200-300 ms, was
 * declared dead before its refutation got out (lab soak and its simulation: docs/decisions.md).
 * Below 4 members k is 0 and the 320 ms window applies at once. Past 10 members the window grows at
 * half Go's rate (suspicionGrowthPct 50: 432 ms at 50 members, 544 ms at 250, where Go's 767 ms put
 * detection over 1 s); slower growth (376-398 ms at 50) let stalled members be declared dead by most
 * of the cluster in the simulated soak (docs/decisions.md).
 */
export const FAST: Timings = Object.freeze({
  probeIntervalMs: 80,
  probeTimeoutMs: 30,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionGrowthPct: 50,
  suspicionMaxTimeoutMult: 3,
  retransmitMult: 4,
  gossipIntervalMs: 30,
  gossipNodes: 3,
  gossipToTheDeadMs: 15_000,
  pushPullIntervalMs: 15_000,
  tcpTimeoutMs: 2_000,
  awarenessMaxMultiplier: 8,
  udpBufferSize: 1400,
  deadNodeReclaimMs: 0,
  disableTcpPings: false,
  reconnectIntervalMs: 200,
});

export type ProfileName = 'lan' | 'fast';

export function profile(name: ProfileName): Timings {
  return name === 'lan' ? { ...LAN } : { ...FAST };
}

export interface MemberlistConfig extends Timings {
  /** Unique node name (k8s node name for a speaker). */
  name: string;
  /** Advertised IP (sent as 4 bytes for IPv4, 16 for IPv6). */
  advertiseIp: string;
  advertisePort: number;
  meta: Uint8Array | null;
  wire: WireOptions;
}

export function makeConfig(
  name: string,
  advertiseIp: string,
  advertisePort: number,
  over: Partial<MemberlistConfig> = {},
  prof: ProfileName = 'fast',
): MemberlistConfig {
  return { ...profile(prof), name, advertiseIp, advertisePort, meta: null, wire: defaultWireOptions(), ...over };
}
