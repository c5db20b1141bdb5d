// The lab soak (lab/test/lab/soak.test.ts) in the simulated network: n members, loss on every node's
// link each way, some members CPU-stalled (sim-stall.ts). Counts false deaths (a live member declared
// dead by someone) and times failure detection (a member killed: until every survivor declares it
// dead). Virtual time and seeded: the figures do not depend on the machine running it.
import { makeConfig, type Timings } from './config.js';
import { SimNetwork, type ResumeOrder } from './sim.js';
import { stallPlan, type StallModel } from './sim-stall.js';
import { defaultWireOptions } from './wire.js';
import type { Memberlist } from './memberlist.js';

export interface SoakOptions {
  members: number;
  /** Members m0, m1, ... stalled by `stalls` (m0 plays the VIP owner). */
  stalled: number;
  stalls: StallModel;
  /** Loss on each node's link, each way (0.05 in the lab). */
  linkLoss: number;
  /** Timings over the `fast` profile's. */
  timings?: Partial<Timings>;
  resumeOrder?: ResumeOrder;
  seed: number;
}

export interface SoakResult {
  /** Times an observer declared a live member dead. */
  falseDeaths: number;
  /**
   * Times a live member went from dead in nobody's view to dead in someone's. In a big cluster one
   * false death may reach many observers before the refutation does; this counts it once.
   */
  episodes: number;
  /** Summed time live members spent dead in someone's view, ms. */
  deadMs: number;
  /** Suspicions raised (each observer's suspect events). */
  suspicions: number;
  /** Each false death: ms into the soak, who declared whom dead. */
  deaths: Array<{ t: number; observer: string; node: string }>;
}

const ip = (i: number): string => `10.0.${i >> 8}.${(i & 255) + 1}`;
const WARMUP_MS = 3000;

export interface Cluster {
  net: SimNetwork;
  nodes: Memberlist[];
}

/**
 * Starts and converges a cluster without loss or stalls, then turns the soak conditions on for the
 * next `durationMs` (stalls are planned that far; the link loss stays).
 */
export function soakCluster(o: SoakOptions, durationMs: number): Cluster {
  const net = new SimNetwork(o.seed);
  if (o.resumeOrder !== undefined) net.resumeOrder = o.resumeOrder;
  const nodes = Array.from({ length: o.members }, (_, i) =>
    net.addNode(makeConfig(`m${i}`, ip(i), 7946, { wire: defaultWireOptions({ compression: false }), ...o.timings }, 'fast')),
  );
  nodes.forEach((m, i) =>
    net.schedule(i * 5, () => {
      m.start();
      if (i > 0) m.join([{ ip: ip(0), port: 7946 }], () => undefined);
    }),
  );
  if (net.runUntilCond(() => nodes.every((m) => m.members().length === o.members), 60_000) === null) {
    throw new Error(`${o.members} members did not converge`);
  }
  net.runUntil(net.now + WARMUP_MS);
  net.linkLoss = o.linkLoss;
  for (let i = 0; i < o.stalled; i++) {
    const name = `m${i}`;
    for (const s of stallPlan(net.rand, o.stalls, net.now, net.now + durationMs)) net.schedule(s.start - net.now, () => net.stall(name, s.end));
  }
  return { net, nodes };
}

/** Runs the soak for `seconds` of virtual time and counts false deaths. */
export function simulateSoak(o: SoakOptions, seconds: number): SoakResult {
  const { net } = soakCluster(o, seconds * 1000);
  const first = net.events.length;
  const t0 = net.now;
  const end = net.now + seconds * 1000;
  const deaths: SoakResult['deaths'] = [];
  net.runUntil(end);
  let falseDeaths = 0;
  let deadMs = 0;
  let suspicions = 0;
  let episodes = 0;
  const deadSince = new Map<string, number>();
  /** Per member: how many observers hold it dead now. */
  const deadIn = new Map<string, number>();
  for (const e of net.events.slice(first)) {
    const k = `${e.observer}>${e.node}`;
    if (e.kind === 'suspect') suspicions++;
    if (e.kind === 'leave' && e.reason === 'dead') {
      falseDeaths++;
      deadSince.set(k, e.t);
      deaths.push({ t: e.t - t0, observer: e.observer, node: e.node });
      const holders = deadIn.get(e.node) ?? 0;
      if (holders === 0) episodes++;
      deadIn.set(e.node, holders + 1);
    }
    const since = deadSince.get(k);
    if (e.kind === 'join' && since !== undefined) {
      deadMs += e.t - since;
      deadSince.delete(k);
      deadIn.set(e.node, (deadIn.get(e.node) ?? 1) - 1);
    }
  }
  for (const since of deadSince.values()) deadMs += end - since;
  return { falseDeaths, episodes, deadMs, suspicions, deaths };
}

/**
 * One failure-detection trial: after `settleMs` of the soak conditions a random member is killed (a
 * crash: it stops and its traffic disappears); returns the ms until every survivor has declared it
 * dead (null if not within 60 s). With linkLoss 0 and stalled 0 this is detection on a quiet LAN.
 */
export function detectionTrial(o: SoakOptions, settleMs = 2000): number | null {
  const { net, nodes } = soakCluster(o, settleMs + 60_000);
  net.runUntil(net.now + settleMs);
  const victim = nodes[Math.floor(net.rand() * nodes.length)] as Memberlist;
  const name = victim.cfg.name;
  const survivors = nodes.filter((m) => m !== victim);
  const t0 = net.now;
  net.kill(name);
  const deadIn = (m: Memberlist): boolean => !m.members().some((x) => x.name === name && (x.state === 'alive' || x.state === 'suspect'));
  const at = net.runUntilCond(() => survivors.every(deadIn), 60_000);
  return at === null ? null : at - t0;
}
