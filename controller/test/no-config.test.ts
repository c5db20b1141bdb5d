// "No configuration" is not "an empty configuration": the real l2lb-controller process, with no ConfigMap and
// no IPAddressPool (deleted, never created, CRDs not served, after a restart, or a configuration without a
// pool), allocates nothing and changes nothing. A watch on the Services proves that no IP, status or pool
// annotation changed at any moment (MetalLB: "configuration is missing, will not function", state kept).
import assert from 'node:assert/strict';
import { isApiError } from '@l2lb/shared/kube/client';
import { Resources } from '@l2lb/shared/kube/types';
import { waitFor } from './helpers.js';
import {
  ControllerProcess,
  embeddedTarget,
  ensureNamespace,
  eventsFor,
  lbService,
  metallbCrds,
  pool,
  putConfigMap,
  realTarget,
  serviceState,
  ServiceWatch,
  type ApiTarget,
} from './env.js';

const NS = 'l2lb-system';

function suite(title: string, makeTarget: () => Promise<ApiTarget>): void {
  describe(title, function () {
    this.timeout(120_000);
    const ns = 'ctl-noconfig';
    const names = ['keep-a', 'keep-b', 'keep-c'];
    let target: ApiTarget;
    let controller: ControllerProcess | undefined;
    let watch: ServiceWatch | undefined;
    const held = new Map<string, string>();

    const live = (): ControllerProcess => {
      if (controller === undefined) throw new Error('controller not started');
      return controller;
    };
    const reconciled = async (): Promise<number> => (await live().metric('l2lb_controller_reconcile_duration_seconds_count')) ?? 0;
    /** Waits until the controller has decided about every Service again (its pass after the change). */
    const passOverAll = async (since: number): Promise<void> => {
      await waitFor(async () => (await reconciled()) >= since + names.length, {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: `a reconcile pass over the ${names.length} Services`,
      });
    };
    const noConfigurationSaid = async (): Promise<void> => {
      await waitFor(async () => (await live().metric('l2lb_controller_config_loaded')) === 0, { what: 'config_loaded = 0' });
      await waitFor(() => live().logs.some((l) => l['level'] === 'warn' && /no configuration/.test(String(l['message']))), {
        what: 'a warning log line about the missing configuration',
      });
      const ready = await live().get('/readyz');
      assert.equal(ready.status, 200, 'ready: a controller without configuration is doing its job (keeping state)');
      assert.match(ready.text, /no configuration/);
    };
    /** `explained`: a Service whose condition is expected to be False (its IP and annotation still kept). */
    const assertNothingChanged = async (explained?: string): Promise<void> => {
      assert.deepEqual(watch?.changed(), [], 'no Service changed at any moment');
      for (const name of names) {
        const s = await serviceState(target.client, ns, name);
        assert.deepEqual(s.ips, [held.get(name)], `${name} keeps its IP`);
        assert.equal(s.pool, 'first', `${name} keeps its pool annotation`);
        assert.equal(s.condition?.status, name === explained ? 'False' : 'True', `${name} keeps its condition`);
      }
    };
    const restart = async (): Promise<void> => {
      await live().kill('SIGKILL');
      controller = await ControllerProcess.start(target);
      await controller.waitReady(30_000);
      await passOverAll(0);
    };

    before(async function () {
      target = await makeTarget();
      await ensureNamespace(target.client, NS);
      await ensureNamespace(target.client, ns);
      await putConfigMap(target.client, pool('first', ['192.0.2.0/28']));
      controller = await ControllerProcess.start(target);
      await controller.waitReady(30_000);
      for (const name of names) await target.client.create(Resources.services, ns, lbService(name, ns));
      for (const name of names) {
        held.set(name, await waitFor(async () => (await serviceState(target.client, ns, name)).ips[0], { what: `${name} gets an IP` }));
      }
      watch = new ServiceWatch(target.client, ns);
      await watch.start();
    });

    after(async () => {
      await watch?.stop();
      await controller?.kill('SIGKILL').catch(() => undefined);
      await target?.close();
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed' && controller !== undefined) {
        console.log(
          controller.logs
            .slice(-30)
            .map((l) => JSON.stringify(l))
            .join('\n'),
        );
      }
    });

    it('keeps every IP, status and pool annotation when the ConfigMap is deleted, and says so', async () => {
      const since = await reconciled();
      await target.client.delete(Resources.configMaps, NS, 'config');
      await noConfigurationSaid();
      await waitFor(async () => (await eventsFor(target.client, NS, 'ConfigMap', 'config')).some((e) => /^Warning NoConfiguration: /.test(e)), {
        what: 'Warning NoConfiguration Event',
      });
      await passOverAll(since);
      await assertNothingChanged();
    });

    it('clears nothing when it starts with no configuration (no ConfigMap, CRDs not served)', async () => {
      await restart();
      await noConfigurationSaid();
      await assertNothingChanged();
    });

    it('clears nothing when it starts with the CRDs served but no IPAddressPool and no ConfigMap', async () => {
      for (const crd of await metallbCrds()) {
        try {
          await target.client.create(Resources.customResourceDefinitions, undefined, crd);
        } catch (e) {
          if (!isApiError(e, 409)) throw e;
        }
      }
      await waitFor(async () => (await target.client.serves(Resources.ipAddressPools)) && (await target.client.serves(Resources.l2Advertisements)), {
        timeoutMs: 20_000,
        what: 'metallb.io kinds served',
      });
      await waitFor(
        async () => {
          await target.client.list(Resources.ipAddressPools, { namespace: NS });
          return true;
        },
        { timeoutMs: 20_000, what: 'IPAddressPool list works' },
      );
      await restart();
      await noConfigurationSaid();
      assert.ok(live().logs.some((l) => /metallb\.io informers synced|informers synced/.test(String(l['message']))));
      await assertNothingChanged();
    });

    it('treats a configuration with zero pools as no configuration', async () => {
      await putConfigMap(target.client, 'address-pools: []\n');
      // The decision is taken when the configuration is read (this log line); no Service is revisited for it.
      await waitFor(() => live().logs.some((l) => /defines no address pool/.test(String(l['message']))), { what: 'log line about zero pools' });
      await waitFor(async () => (await live().get('/readyz')).text.includes('defines no address pool'), { what: '/readyz names the zero-pool configuration' });
      assert.equal(await live().metric('l2lb_controller_config_loaded'), 0);
      await assertNothingChanged();
    });

    it('re-registers every IP, unchanged, once a pool exists again (as CRs), and allocates new Services', async () => {
      await target.client.create(Resources.ipAddressPools, NS, {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'first', namespace: NS },
        spec: { addresses: ['192.0.2.0/28'] },
      });
      await target.client.create(Resources.l2Advertisements, NS, {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'L2Advertisement',
        metadata: { name: 'all', namespace: NS },
      });
      await waitFor(async () => (await live().metric('l2lb_controller_config_loaded')) === 1, { what: 'config_loaded = 1' });
      await target.client.create(Resources.services, 'default', lbService('newcomer', 'default'));
      const fresh = await waitFor(async () => (await serviceState(target.client, 'default', 'newcomer')).ips[0], { what: 'newcomer gets an IP' });
      assert.ok(![...held.values()].includes(fresh), `${fresh} is not one of the held IPs`);
      await assertNothingChanged();
    });

    it('accepts a CIDR with host bits as MetalLB does, with a Warning Event on the IPAddressPool, and changes nothing', async () => {
      await target.client.patch(Resources.ipAddressPools, NS, 'first', { spec: { addresses: ['192.0.2.5/28'] } }, 'merge');
      await waitFor(
        async () =>
          (await eventsFor(target.client, NS, 'IPAddressPool', 'first')).some((e) =>
            /^Warning ConfigurationWarning: .*"192\.0\.2\.5\/28" has host bits set: read as "192\.0\.2\.0\/28"/.test(e),
          ),
        { what: 'Warning ConfigurationWarning Event on IPAddressPool first' },
      );
      await waitFor(() => live().logs.some((l) => l['level'] === 'warn' && /host bits set/.test(String(l['message']))), { what: 'a warning log line' });
      assert.equal(await live().metric('l2lb_controller_config_loaded'), 1);
      assert.equal(await live().metric('l2lb_controller_config_stale'), 0);
      await assertNothingChanged();
    });

    it('keeps the IP of a Service whose annotation becomes invalid, explains it, and moves it once the annotation is valid', async () => {
      await target.client.patch(Resources.services, ns, 'keep-a', { metadata: { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.300' } } }, 'merge');
      const explained = await waitFor(
        async () => {
          const s = await serviceState(target.client, ns, 'keep-a');
          return s.condition?.status === 'False' ? s : undefined;
        },
        { what: 'keep-a condition False' },
      );
      assert.match(explained.condition?.message ?? '', /invalid IP "192\.0\.2\.300".*keeping/);
      await waitFor(async () => (await eventsFor(target.client, ns, 'Service', 'keep-a')).some((e) => /^Warning AllocationFailed: .*keeping/.test(e)), {
        what: 'AllocationFailed Event',
      });
      await assertNothingChanged('keep-a');
      await target.client.patch(Resources.services, ns, 'keep-a', { metadata: { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.9' } } }, 'merge');
      await waitFor(async () => (await serviceState(target.client, ns, 'keep-a')).ips[0] === '192.0.2.9', { what: 'keep-a moved to the valid requested IP' });
    });
  });
}

suite('controller process with no configuration (embedded API server, CRDs installed later)', () => embeddedTarget({ metallbBuiltin: false }));

describe('controller process with no configuration against the real kube-apiserver @integration', function () {
  suite('(real kube-apiserver v1.20)', realTarget);
});
