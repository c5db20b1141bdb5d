// Prometheus metrics of the kube layer (prom-client). One set per registry, shared by all informers.

import { Counter, Gauge, register as defaultRegistry, type Registry } from 'prom-client';

export interface InformerMetricsSource {
  readonly name: string;
  readonly synced: boolean;
  stalenessSeconds(): number;
}

export interface KubeMetrics {
  restarts: Counter<'informer' | 'reason'>;
  relists: Counter<'informer'>;
  events: Counter<'informer' | 'type'>;
  dropped: Counter<'informer' | 'reason'>;
  apiErrors: Counter<'verb' | 'resource' | 'code'>;
  track(source: InformerMetricsSource): () => void;
}

const perRegistry = new WeakMap<Registry, KubeMetrics>();

export function kubeMetrics(registry: Registry = defaultRegistry): KubeMetrics {
  const existing = perRegistry.get(registry);
  if (existing) return existing;
  const sources = new Set<InformerMetricsSource>();
  const registers = [registry];
  const m: KubeMetrics = {
    restarts: new Counter({
      name: 'l2lb_kube_informer_restarts_total',
      help: 'Watch/list failures after which an informer restarted (with backoff), by reason',
      labelNames: ['informer', 'reason'],
      registers,
    }),
    relists: new Counter({
      name: 'l2lb_kube_informer_relists_total',
      help: 'Full relists (start, 410 Expired, or after a failure)',
      labelNames: ['informer'],
      registers,
    }),
    events: new Counter({
      name: 'l2lb_kube_informer_events_total',
      help: 'Watch events applied to informer caches',
      labelNames: ['informer', 'type'],
      registers,
    }),
    dropped: new Counter({
      name: 'l2lb_kube_informer_dropped_events_total',
      help: 'Watch lines/objects dropped as malformed, by reason',
      labelNames: ['informer', 'reason'],
      registers,
    }),
    apiErrors: new Counter({
      name: 'l2lb_kube_api_errors_total',
      help: 'Failed API writes by verb, resource and HTTP code (0 = transport)',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    }),
    track(source) {
      sources.add(source);
      return () => sources.delete(source);
    },
  };
  new Gauge({
    name: 'l2lb_kube_informer_synced',
    help: '1 once the informer has listed its resource, 0 before',
    labelNames: ['informer'],
    registers,
    collect() {
      this.reset();
      for (const s of sources) this.set({ informer: s.name }, s.synced ? 1 : 0);
    },
  });
  new Gauge({
    name: 'l2lb_kube_informer_staleness_seconds',
    help: 'Seconds the informer cache may have been out of date (0 while its watch is established)',
    labelNames: ['informer'],
    registers,
    collect() {
      this.reset();
      for (const s of sources) this.set({ informer: s.name }, s.stalenessSeconds());
    },
  });
  perRegistry.set(registry, m);
  return m;
}
