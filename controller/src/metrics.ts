// The controller's Prometheus metrics (prom-client), on its own registry.
// l2lb_* names, plus MetalLB's names for the pool and config gauges so existing dashboards work.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from './allocator/allocator.js';

export interface ControllerMetrics {
  readonly registry: Registry;
  readonly allocations: Counter<'pool'>;
  readonly failures: Counter<'reason'>;
  /**
   * Sets l2lb_controller_config_{loaded,stale} and their MetalLB-named twins. Called once per
   * configuration update that is applied or refused, so it also counts that update into
   * metallb_k8s_client_updates_total (and a refused one into metallb_k8s_client_update_errors_total).
   */
  setConfigState(loaded: boolean, stale: boolean): void;
  /** metallb_k8s_client_updates_total: one per Service reconciled (config updates: setConfigState). */
  readonly updates: Counter;
  /** metallb_k8s_client_update_errors_total: a Service status write that failed. */
  readonly updateErrors: Counter;
  readonly reconcileDuration: Histogram;
  readonly pending: Gauge;
  readonly writes: Counter<'result'>;
  /** Sets the per-pool gauges from allocator statistics (removing pools that are gone). */
  setPools(stats: readonly PoolStats[]): void;
}

export function controllerMetrics(registry = new Registry(), options: { defaultMetrics?: boolean } = {}): ControllerMetrics {
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const total = new Gauge({
    name: 'l2lb_allocator_addresses_total',
    help: 'Assignable addresses per pool and family',
    labelNames: ['pool', 'family'],
    registers,
  });
  const inUse = new Gauge({
    name: 'l2lb_allocator_addresses_in_use_total',
    help: 'Addresses in use per pool and family',
    labelNames: ['pool', 'family'],
    registers,
  });
  const mlTotal = new Gauge({
    name: 'metallb_allocator_addresses_total',
    help: 'MetalLB-compatible: assignable addresses per pool',
    labelNames: ['pool'],
    registers,
  });
  const mlInUse = new Gauge({
    name: 'metallb_allocator_addresses_in_use_total',
    help: 'MetalLB-compatible: addresses in use per pool',
    labelNames: ['pool'],
    registers,
  });
  const configStale = new Gauge({
    name: 'l2lb_controller_config_stale',
    help: '1 when the newest configuration is invalid and the last good one is still in force',
    registers,
  });
  const configLoaded = new Gauge({ name: 'l2lb_controller_config_loaded', help: '1 once a valid configuration has been loaded', registers });
  const mlStale = new Gauge({ name: 'metallb_k8s_client_config_stale_bool', help: 'MetalLB-compatible: 1 when the configuration is stale', registers });
  const mlLoaded = new Gauge({ name: 'metallb_k8s_client_config_loaded_bool', help: 'MetalLB-compatible: 1 once a configuration was loaded', registers });
  // MetalLB's internal/k8s/controllers/stats.go: plain counters without labels.
  const updates = new Counter({
    name: 'metallb_k8s_client_updates_total',
    help: 'MetalLB-compatible: Number of k8s object updates that have been processed.',
    registers,
  });
  const updateErrors = new Counter({
    name: 'metallb_k8s_client_update_errors_total',
    help: 'MetalLB-compatible: Number of k8s object updates that failed for some reason.',
    registers,
  });
  let known = new Set<string>();
  const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
  const num = (v: bigint): number => Number(v > MAX_SAFE ? MAX_SAFE : v);
  configStale.set(0);
  configLoaded.set(0);
  mlStale.set(0);
  mlLoaded.set(0);
  return {
    registry,
    allocations: new Counter({
      name: 'l2lb_controller_allocations_total',
      help: 'Addresses assigned to Services (new allocations, not re-registrations)',
      labelNames: ['pool'],
      registers,
    }),
    failures: new Counter({
      name: 'l2lb_controller_allocation_failures_total',
      help: "Failed allocations by reason (counted when a Service's failure changes)",
      labelNames: ['reason'],
      registers,
    }),
    updates,
    updateErrors,
    setConfigState(loaded, stale) {
      updates.inc();
      if (stale) updateErrors.inc();
      configLoaded.set(loaded ? 1 : 0);
      mlLoaded.set(loaded ? 1 : 0);
      configStale.set(stale ? 1 : 0);
      mlStale.set(stale ? 1 : 0);
    },
    reconcileDuration: new Histogram({
      name: 'l2lb_controller_reconcile_duration_seconds',
      help: 'Time to reconcile one Service (decision and writes)',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    pending: new Gauge({ name: 'l2lb_controller_services_pending', help: 'LoadBalancer Services without an IP', registers }),
    writes: new Counter({ name: 'l2lb_controller_service_writes_total', help: 'Service status writes by result', labelNames: ['result'], registers }),
    setPools(stats) {
      const now = new Set<string>();
      for (const s of stats) {
        now.add(s.pool);
        for (const family of [4, 6] as const) {
          total.set({ pool: s.pool, family: `ipv${family}` }, num(s.total[family]));
          inUse.set({ pool: s.pool, family: `ipv${family}` }, s.inUse[family]);
        }
        mlTotal.set({ pool: s.pool }, num(s.total[4] + s.total[6]));
        mlInUse.set({ pool: s.pool }, s.inUse[4] + s.inUse[6]);
      }
      for (const gone of known) {
        if (now.has(gone)) continue;
        for (const family of ['ipv4', 'ipv6']) {
          total.remove({ pool: gone, family });
          inUse.remove({ pool: gone, family });
        }
        mlTotal.remove({ pool: gone });
        mlInUse.remove({ pool: gone });
      }
      known = now;
    },
  };
}
