// Prometheus metrics for a memberlist node (prom-client), read from the state machine at scrape time.
import { Counter, Gauge, Registry } from 'prom-client';
import type { MemberInfo } from './types.js';

/**
 * What the metrics read: a Memberlist, or a copy of its figures taken elsewhere (the speaker's network
 * thread sends them over). `refresh`, when given, is awaited before each scrape reads the figures.
 */
export interface MemberlistMetricsSource {
  allNodes(): ReadonlyArray<Pick<MemberInfo, 'state'>>;
  healthScore(): number;
  readonly drops: ReadonlyMap<string, number>;
  readonly stats: Readonly<Record<string, number>>;
  refresh?(): Promise<void>;
}

/** Register l2lb_memberlist_* metrics for one node on a registry. */
export function registerMemberlistMetrics(registry: Registry, ml: MemberlistMetricsSource, prefix = 'l2lb_memberlist_'): void {
  // Every collect awaits the refresh: prom-client collects all metrics at once, and a refresh in flight is shared.
  const fresh = async (): Promise<void> => ml.refresh?.();
  new Gauge({
    name: `${prefix}members`,
    help: 'Known cluster nodes by state (alive, suspect, dead, left)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      await fresh();
      const counts: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
      for (const n of ml.allNodes()) counts[n.state] = (counts[n.state] ?? 0) + 1;
      for (const [state, v] of Object.entries(counts)) this.set({ state }, v);
    },
  });
  new Gauge({
    name: `${prefix}health_score`,
    help: 'Lifeguard awareness score (0 = healthy; higher = our probes are failing)',
    registers: [registry],
    async collect() {
      await fresh();
      this.set(ml.healthScore());
    },
  });
  // Counters advance by the delta since the previous scrape.
  const seen = new Map<string, number>();
  new Counter({
    name: `${prefix}dropped_total`,
    help: 'Inputs dropped (bad, hostile or unexpected packets and streams), by reason',
    labelNames: ['reason'],
    registers: [registry],
    async collect() {
      await fresh();
      for (const [reason, v] of ml.drops) {
        const d = v - (seen.get(reason) ?? 0);
        if (d > 0) this.inc({ reason }, d);
        seen.set(reason, v);
      }
    },
  });
  const seenStats = new Map<string, number>();
  new Counter({
    name: `${prefix}traffic_total`,
    help: 'Packets, streams and bytes, by kind and direction',
    labelNames: ['what'],
    registers: [registry],
    async collect() {
      await fresh();
      for (const [what, v] of Object.entries(ml.stats)) {
        const d = v - (seenStats.get(what) ?? 0);
        if (d > 0) this.inc({ what }, d);
        seenStats.set(what, v);
      }
    },
  });
}
