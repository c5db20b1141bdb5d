// The metallb.io CRDs installed after the controller started: the controller keeps working from the ConfigMap,
// asks discovery again on its (injected, short) interval, and watches the CRs once they are served.
import assert from 'node:assert/strict';
import winston from 'winston';
import { Resources } from '@l2lb/shared/kube/types';
import { Controller } from '../src/controller.js';
import { controllerMetrics } from '../src/metrics.js';
import { waitFor } from './helpers.js';
import { embeddedTarget, ensureNamespace, lbService, metallbCrds, pool, putConfigMap, serviceState, type ApiTarget } from './env.js';

describe('controller: metallb.io CRDs installed after startup (embedded API server)', function () {
  this.timeout(30_000);
  const NS = 'l2lb-system';
  const RECHECK_MS = 50;
  let target: ApiTarget;
  let controller: Controller | undefined;
  const logs: string[] = [];

  before(async () => {
    target = await embeddedTarget({ metallbBuiltin: false });
    await ensureNamespace(target.client, NS);
    await putConfigMap(target.client, pool('general', ['192.0.2.0/28']));
    const logger = winston.createLogger({
      level: 'debug',
      transports: [new winston.transports.Console({ silent: true })],
    });
    logger.on('data', (info: { message?: unknown }) => logs.push(String(info.message)));
    controller = new Controller({
      client: target.client,
      namespace: NS,
      logger,
      metrics: controllerMetrics(undefined, { defaultMetrics: false }),
      crdRecheckIntervalMs: RECHECK_MS,
      createMemberlistSecret: false,
    });
    await controller.start();
  });

  after(async () => {
    await controller?.stop();
    await target?.close();
  });

  const discoveries = (): number => target.requestsTo?.(/^\/apis\/metallb\.io\/v1beta1$/) ?? 0;

  it('works from the ConfigMap while the CRDs are absent, asking discovery again every interval', async () => {
    assert.equal(controller?.ready, true);
    assert.equal(controller?.watchingCrds, false);
    assert.ok(
      logs.some((l) => /metallb\.io CRDs are not served/.test(l)),
      logs.join('\n'),
    );
    const before = discoveries();
    await waitFor(() => discoveries() >= before + 6, { what: 'three more discovery rounds (2 requests each)', timeoutMs: 5000 });
    await target.client.create(Resources.services, 'default', lbService('early', 'default'));
    await waitFor(async () => (await serviceState(target.client, 'default', 'early')).pool === 'general', { what: 'default/early from pool general' });
    assert.equal(controller?.watchingCrds, false);
  });

  it('watches IPAddressPool and L2Advertisement once their CRDs are created, without a restart', async () => {
    // The pool CRD alone is not enough: both kinds are watched together.
    const crds = await metallbCrds();
    const crd = (plural: string) => {
      const c = crds.find((x) => x.metadata?.name === `${plural}.metallb.io`);
      assert.ok(c, plural);
      return c;
    };
    await target.client.create(Resources.customResourceDefinitions, undefined, crd('ipaddresspools'));
    await target.client.create(Resources.ipAddressPools, NS, {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'late', namespace: NS },
      spec: { addresses: ['198.18.0.0/30'] },
    });
    const seen = discoveries();
    await waitFor(() => discoveries() >= seen + 4, { what: 'two more discovery rounds', timeoutMs: 5000 });
    assert.equal(controller?.watchingCrds, false);

    await target.client.create(Resources.customResourceDefinitions, undefined, crd('l2advertisements'));
    await waitFor(() => controller?.watchingCrds === true, { what: 'CR informers started', timeoutMs: 5000 });
    const watchedAt = discoveries();
    assert.ok(
      logs.some((l) => /metallb\.io CRDs are now served/.test(l)),
      logs.join('\n'),
    );
    // The pool created before the informers started is picked up (initial list) ...
    const pinned = lbService('pinned', 'default');
    pinned.metadata = { ...pinned.metadata, annotations: { 'metallb.io/address-pool': 'late' } };
    await target.client.create(Resources.services, 'default', pinned);
    await waitFor(async () => (await serviceState(target.client, 'default', 'pinned')).pool === 'late', { what: 'default/pinned from pool late' });
    // ... and later changes are followed.
    await target.client.delete(Resources.ipAddressPools, NS, 'late');
    await waitFor(async () => (await serviceState(target.client, 'default', 'pinned')).ips.length === 0, {
      what: 'default/pinned released after its pool was deleted',
    });
    // The ConfigMap pool is untouched throughout, and discovery stopped once the CRs were watched.
    assert.equal((await serviceState(target.client, 'default', 'early')).pool, 'general');
    assert.equal(discoveries(), watchedAt);
  });
});
