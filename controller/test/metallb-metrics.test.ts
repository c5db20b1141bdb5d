// MetalLB's metric names on the controller's /metrics, with MetalLB's labels
// (internal/allocator/stats.go, internal/k8s/controllers/stats.go), so MetalLB's PrometheusRules
// and dashboards work unchanged. The real controller against the embedded API server, scraped over HTTP.
import assert from 'node:assert/strict';
import winston from 'winston';
import { Resources } from '@l2lb/shared/kube/types';
import { startProbeServer, type ProbeServer } from '@l2lb/shared/probes';
import { Controller } from '../src/controller.js';
import { controllerMetrics } from '../src/metrics.js';
import { waitFor } from './helpers.js';
import { embeddedTarget, ensureNamespace, lbService, pool, putConfigMap, serviceState, type ApiTarget } from './env.js';

describe('controller: MetalLB metric names on /metrics (embedded API server)', function () {
  this.timeout(30_000);
  let target: ApiTarget;
  let controller: Controller | undefined;
  let probes: ProbeServer | undefined;
  const metrics = controllerMetrics(undefined, { defaultMetrics: false });

  before(async () => {
    target = await embeddedTarget({ metallbBuiltin: false });
    await ensureNamespace(target.client, 'l2lb-system');
    await putConfigMap(target.client, pool('general', ['192.0.2.0/28']));
    const logger = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
    controller = new Controller({
      client: target.client,
      namespace: 'l2lb-system',
      logger,
      metrics,
      createMemberlistSecret: false,
      crdRecheckIntervalMs: 60_000,
    });
    await controller.start();
    probes = await startProbeServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, ready: () => controller?.ready ?? false });
  });

  after(async () => {
    await probes?.close();
    await controller?.stop();
    await target?.close();
  });

  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${probes?.port ?? 0}/metrics`)).text();
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it("exposes every metallb_ series of the allocator and the k8s client, with MetalLB's labels", async () => {
    await target.client.create(Resources.services, 'default', lbService('web', 'default'));
    await waitFor(async () => (await serviceState(target.client, 'default', 'web')).pool === 'general', { what: 'default/web allocated' });
    const text = await waitFor(
      async () => {
        const t = await scrape();
        return sample(t, 'metallb_allocator_addresses_in_use_total{pool="general"}') === 1 ? t : undefined;
      },
      { what: 'the in-use gauge at 1' },
    );
    assert.equal(sample(text, 'metallb_allocator_addresses_total{pool="general"}'), 16);
    assert.equal(sample(text, 'metallb_k8s_client_config_loaded_bool'), 1);
    assert.equal(sample(text, 'metallb_k8s_client_config_stale_bool'), 0);
    assert.ok((sample(text, 'metallb_k8s_client_updates_total') ?? 0) >= 2, 'the config and the Service');
    assert.equal(sample(text, 'metallb_k8s_client_update_errors_total'), 0);
    for (const [name, type] of [
      ['metallb_allocator_addresses_total', 'gauge'],
      ['metallb_allocator_addresses_in_use_total', 'gauge'],
      ['metallb_k8s_client_config_loaded_bool', 'gauge'],
      ['metallb_k8s_client_config_stale_bool', 'gauge'],
      ['metallb_k8s_client_updates_total', 'counter'],
      ['metallb_k8s_client_update_errors_total', 'counter'],
    ])
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
  });

  it('an invalid configuration sets the stale gauge and counts an update error', async () => {
    await target.client.patch(Resources.configMaps, 'l2lb-system', 'config', { data: { config: 'address-pools: [ {' } }, 'merge');
    const text = await waitFor(
      async () => {
        const t = await scrape();
        return sample(t, 'metallb_k8s_client_config_stale_bool') === 1 ? t : undefined;
      },
      { what: 'the stale gauge at 1' },
    );
    assert.ok((sample(text, 'metallb_k8s_client_update_errors_total') ?? 0) >= 1);
    assert.equal(sample(text, 'metallb_k8s_client_config_loaded_bool'), 1);
  });
});
