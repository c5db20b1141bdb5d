// The controller process with metallb.io CRs (served by the embedded API server).
import assert from 'node:assert/strict';
import { Resources } from '@l2lb/shared/kube/types';
import { waitFor } from './helpers.js';
import { ControllerProcess, embeddedTarget, ensureNamespace, eventsFor, lbService, pool, putConfigMap, serviceState, type ApiTarget } from './env.js';

describe('controller process with IPAddressPool CRs (embedded API server)', function () {
  this.timeout(60_000);
  let target: ApiTarget;
  let controller: ControllerProcess | undefined;

  before(async () => {
    target = await embeddedTarget();
    await ensureNamespace(target.client, 'l2lb-system');
    await putConfigMap(target.client, pool('general', ['192.0.2.0/28']));
    controller = await ControllerProcess.start(target);
    await controller.waitReady(20_000);
  });

  after(async () => {
    await controller?.kill('SIGKILL').catch(() => undefined);
    await target?.close();
  });

  const ipaddresspool = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name, namespace: 'l2lb-system' },
    spec,
  });

  it('prefers a pool pinned to the namespace, follows namespace labels, and reports a bad CR on the CR', async () => {
    await target.client.create(Resources.namespaces, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-a', labels: { tier: 'gold' } },
    });
    await ensureNamespace(target.client, 'team-b');
    await target.client.create(
      Resources.ipAddressPools,
      'l2lb-system',
      ipaddresspool('gold', {
        addresses: ['198.18.0.0/30'],
        serviceAllocation: { priority: 1, namespaceSelectors: [{ matchLabels: { tier: 'gold' } }] },
      }),
    );
    await waitFor(async () => (await controller?.metric('l2lb_allocator_addresses_total', 'pool="gold",family="ipv4"')) === 4, { what: 'pool gold loaded' });
    await target.client.create(Resources.services, 'team-a', lbService('web', 'team-a'));
    await target.client.create(Resources.services, 'team-b', lbService('web', 'team-b'));
    await waitFor(async () => (await serviceState(target.client, 'team-a', 'web')).pool === 'gold', { what: 'team-a/web from pool gold' });
    await waitFor(async () => (await serviceState(target.client, 'team-b', 'web')).pool === 'general', { what: 'team-b/web from pool general' });
    // The namespace loses its label: the Service no longer qualifies for the pinned pool and moves.
    await target.client.patch(Resources.namespaces, undefined, 'team-a', { metadata: { labels: { tier: null } } }, 'merge');
    await waitFor(async () => (await serviceState(target.client, 'team-a', 'web')).pool === 'general', { what: 'team-a/web moved to pool general' });
    // A broken CR: the last good configuration stays, the Event goes to the CR.
    await target.client.create(Resources.ipAddressPools, 'l2lb-system', ipaddresspool('broken', { addresses: ['10.0.0.0/33'] }));
    await waitFor(async () => (await controller?.metric('l2lb_controller_config_stale')) === 1, { what: 'stale' });
    await waitFor(
      async () =>
        (await eventsFor(target.client, 'l2lb-system', 'IPAddressPool', 'broken')).some((e) => /^Warning InvalidConfiguration: .*10\.0\.0\.0\/33/.test(e)),
      { what: 'event on the CR' },
    );
    assert.equal(await controller?.metric('l2lb_allocator_addresses_total', 'pool="gold",family="ipv4"'), 4);
    await target.client.delete(Resources.ipAddressPools, 'l2lb-system', 'broken');
    await waitFor(async () => (await controller?.metric('l2lb_controller_config_stale')) === 0, { what: 'stale cleared' });
  });
});
