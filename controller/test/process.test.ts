// The real l2lb-controller process against an API server: the embedded one always, the real
// kube-apiserver v1.20 when scripts/kube-apiserver.sh is available (tagged @integration).
import assert from 'node:assert/strict';
import { Resources } from '@l2lb/shared/kube/types';
import { waitFor } from './helpers.js';
import {
  ControllerProcess,
  embeddedTarget,
  ensureNamespace,
  eventsFor,
  lbService,
  pool,
  putConfigMap,
  realTarget,
  serviceState,
  type ApiTarget,
} from './env.js';

function suite(title: string, makeTarget: () => Promise<ApiTarget>, restartCount: number): void {
  describe(title, function () {
    this.timeout(120_000);
    let target: ApiTarget;
    let controller: ControllerProcess | undefined;
    const ns = 'ctl-test';

    before(async function () {
      target = await makeTarget();
      await ensureNamespace(target.client, 'l2lb-system');
      await ensureNamespace(target.client, ns);
      await putConfigMap(target.client, pool('first', ['192.0.2.0/28']));
      controller = await ControllerProcess.start(target);
      await controller.waitReady(20_000);
    });

    after(async () => {
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

    const live = (): ControllerProcess => {
      if (controller === undefined) throw new Error('controller not started');
      return controller;
    };

    it('serves /healthz, /readyz and /metrics, and creates the memberlist Secret', async () => {
      assert.equal((await live().get('/healthz')).status, 200);
      assert.equal((await live().get('/readyz')).status, 200);
      assert.equal(await live().metric('l2lb_controller_config_loaded'), 1);
      assert.equal(await live().metric('l2lb_allocator_addresses_total', 'pool="first",family="ipv4"'), 16);
      const secret = await waitFor(
        async () => {
          try {
            return await target.client.get(Resources.secrets, 'l2lb-system', 'memberlist');
          } catch {
            return undefined;
          }
        },
        { what: 'Secret memberlist' },
      );
      const key = Buffer.from(String((secret['data'] as Record<string, string>)['secretkey']), 'base64').toString('utf8');
      assert.match(key, /^[A-Za-z0-9+/]{22}$/);
    });

    it("puts an IP into a new Service's status within 1 s, with annotation, condition and event", async () => {
      const started = Date.now();
      await target.client.create(Resources.services, ns, lbService('fast', ns));
      const state = await waitFor(
        async () => {
          const s = await serviceState(target.client, ns, 'fast');
          return s.ips.length > 0 ? s : undefined;
        },
        { timeoutMs: 5000, intervalMs: 10, what: 'IP in status' },
      );
      const elapsed = Date.now() - started;
      console.log(`      (${target.kind}) Service → IP in status: ${elapsed} ms`);
      assert.ok(elapsed <= 1000, `took ${elapsed} ms`);
      assert.match(state.ips[0] ?? '', /^192\.0\.2\./);
      assert.equal(state.pool, 'first');
      assert.equal(state.condition?.status, 'True');
      await waitFor(async () => (await eventsFor(target.client, ns, 'Service', 'fast')).some((e) => e.startsWith('Normal IPAllocated')), {
        what: 'IPAllocated event',
      });
    });

    it('clears status, annotation and condition when a Service stops being a LoadBalancer', async () => {
      await target.client.create(Resources.services, ns, lbService('demoted', ns));
      await waitFor(async () => (await serviceState(target.client, ns, 'demoted')).ips.length === 1, { what: 'IP assigned' });
      await target.client.patch(
        Resources.services,
        ns,
        'demoted',
        { spec: { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP' }], externalTrafficPolicy: null } },
        'merge',
      );
      const cleared = await waitFor(
        async () => {
          const s = await serviceState(target.client, ns, 'demoted');
          return s.ips.length === 0 && s.pool === undefined && s.condition === undefined ? s : undefined;
        },
        { what: 'status, annotation and condition cleared' },
      );
      assert.deepEqual(cleared.ips, []);
      await waitFor(
        async () => (await eventsFor(target.client, ns, 'Service', 'demoted')).some((e) => /^Normal ClearAssignment: .*no longer of type LoadBalancer/.test(e)),
        { what: 'ClearAssignment event' },
      );
      await target.client.delete(Resources.services, ns, 'demoted');
    });

    it('explains an exhausted pool by condition and event, then assigns once another Service is deleted', async () => {
      await putConfigMap(
        target.client,
        `${pool('first', ['192.0.2.0/28'])}- name: tiny\n  protocol: layer2\n  auto-assign: false\n  addresses: [198.51.100.7/32]\n`,
      );
      const pinned = (name: string) => lbService(name, ns, {});
      const withPool = (name: string) => ({ ...pinned(name), metadata: { name, namespace: ns, annotations: { 'metallb.io/address-pool': 'tiny' } } });
      await waitFor(async () => (await live().metric('l2lb_allocator_addresses_total', 'pool="tiny"')) === 1, { what: 'pool tiny loaded' });
      await target.client.create(Resources.services, ns, withPool('holder'));
      await waitFor(async () => (await serviceState(target.client, ns, 'holder')).ips[0] === '198.51.100.7', { what: 'holder gets the only IP' });
      await target.client.create(Resources.services, ns, withPool('waiter'));
      const failed = await waitFor(
        async () => {
          const s = await serviceState(target.client, ns, 'waiter');
          return s.condition?.status === 'False' ? s : undefined;
        },
        { what: 'waiter condition False' },
      );
      assert.equal(failed.condition?.reason, 'PoolExhausted');
      assert.match(failed.condition?.message ?? '', /no available IPs in pool "tiny"/);
      assert.deepEqual(failed.ips, []);
      await waitFor(
        async () =>
          (await eventsFor(target.client, ns, 'Service', 'waiter')).some((e) => /^Warning AllocationFailed: .*no available IPs in pool "tiny"/.test(e)),
        { what: 'AllocationFailed event' },
      );
      await target.client.delete(Resources.services, ns, 'holder');
      await waitFor(async () => (await serviceState(target.client, ns, 'waiter')).ips[0] === '198.51.100.7', { what: 'waiter assigned after the delete' });
      assert.equal((await serviceState(target.client, ns, 'waiter')).condition?.status, 'True');
      await target.client.delete(Resources.services, ns, 'waiter');
    });

    it('keeps the last good configuration on an invalid ConfigMap (event, stale gauge, log), and recovers', async () => {
      await putConfigMap(target.client, 'address-pools:\n- name: first\n  protocol: layer2\n  addresses: [not-a-cidr]\n');
      await waitFor(async () => (await live().metric('l2lb_controller_config_stale')) === 1, { what: 'config_stale = 1' });
      await waitFor(
        async () => (await eventsFor(target.client, 'l2lb-system', 'ConfigMap', 'config')).some((e) => /^Warning InvalidConfiguration: .*not-a-cidr/.test(e)),
        { what: 'Warning event on the ConfigMap' },
      );
      assert.ok(
        live().logs.some((l) => l['level'] === 'error' && /invalid configuration.*not-a-cidr/.test(String(l['message']))),
        'error log line',
      );
      // The last good pool still allocates.
      await target.client.create(Resources.services, ns, lbService('during-stale', ns));
      await waitFor(async () => /^192\.0\.2\./.test((await serviceState(target.client, ns, 'during-stale')).ips[0] ?? ''), {
        what: 'allocation from the last good config',
      });
      await putConfigMap(target.client, pool('first', ['192.0.2.0/28']));
      await waitFor(async () => (await live().metric('l2lb_controller_config_stale')) === 0, { what: 'config_stale = 0' });
      await waitFor(
        async () => (await eventsFor(target.client, 'l2lb-system', 'ConfigMap', 'config')).some((e) => e.startsWith('Normal ConfigurationLoaded')),
        { what: 'Normal event after the fix' },
      );
      assert.ok(
        live().logs.some((l) => /configuration valid again/.test(String(l['message']))),
        'recovery log line',
      );
      await target.client.delete(Resources.services, ns, 'during-stale');
    });

    it('re-IPs Services when the pool is replaced', async () => {
      for (const name of ['move-a', 'move-b']) await target.client.create(Resources.services, ns, lbService(name, ns));
      await waitFor(
        async () => (await Promise.all(['move-a', 'move-b'].map((n) => serviceState(target.client, ns, n)))).every((s) => /^192\.0\.2\./.test(s.ips[0] ?? '')),
        { what: 'initial IPs' },
      );
      await putConfigMap(target.client, pool('second', ['203.0.113.0/28']));
      for (const name of ['fast', 'move-a', 'move-b']) {
        await waitFor(
          async () => {
            const s = await serviceState(target.client, ns, name);
            return /^203\.0\.113\./.test(s.ips[0] ?? '') && s.pool === 'second';
          },
          { what: `${name} re-IPed into pool second` },
        );
      }
      await waitFor(async () => (await eventsFor(target.client, ns, 'Service', 'move-a')).some((e) => e.startsWith('Normal ClearAssignment')), {
        what: 'ClearAssignment event',
      });
      for (const name of ['fast', 'move-a', 'move-b']) await target.client.delete(Resources.services, ns, name);
    });

    it(`changes no IP when killed and restarted with ${restartCount} Services`, async () => {
      await putConfigMap(target.client, pool('big', ['10.200.0.0/16']));
      await waitFor(async () => (await live().metric('l2lb_allocator_addresses_total', 'pool="big"')) !== undefined, { what: 'pool big loaded' });
      const bulk = 'ctl-bulk';
      await ensureNamespace(target.client, bulk);
      const names = Array.from({ length: restartCount }, (_, i) => `svc-${i}`);
      for (let i = 0; i < names.length; i += 50) {
        await Promise.all(names.slice(i, i + 50).map((n) => target.client.create(Resources.services, bulk, lbService(n, bulk))));
      }
      const versions = new Map<string, string>();
      const assigned = async (): Promise<Map<string, string>> => {
        const { items } = await target.client.list(Resources.services, { namespace: bulk });
        const m = new Map<string, string>();
        for (const s of items) {
          const ip = ((s['status'] as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer?.ingress ?? [])[0]?.ip;
          if (ip !== undefined) m.set(s.metadata?.name ?? '', ip);
          versions.set(s.metadata?.name ?? '', s.metadata?.resourceVersion ?? '');
        }
        return m;
      };
      const before = await waitFor(
        async () => {
          const m = await assigned();
          return m.size === restartCount ? m : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200, what: `${restartCount} Services assigned` },
      );
      assert.equal(new Set(before.values()).size, restartCount, 'all IPs distinct');
      const versionsBefore = new Map(versions);
      await live().kill('SIGKILL');
      const writesBefore = target.serviceWrites();
      controller = await ControllerProcess.start(target);
      await controller.waitReady(30_000);
      // Every Service reconciled once by the new process (the histogram counts decisions with and without writes).
      const everyService = (await target.client.list(Resources.services)).items.length;
      await waitFor(async () => ((await live().metric('l2lb_controller_reconcile_duration_seconds_count')) ?? 0) >= everyService, {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: 'restart pass over all Services',
      });
      const after = await assigned();
      let changed = 0;
      for (const [name, ip] of before) if (after.get(name) !== ip) changed += 1;
      let rewritten = 0;
      for (const [name, rv] of versionsBefore) if (versions.get(name) !== rv) rewritten += 1;
      console.log(`      (${target.kind}) restart with ${restartCount} Services: ${changed} IP changes, ${rewritten} Services modified (resourceVersion)`);
      assert.equal(changed, 0);
      assert.equal(rewritten, 0, 'no Service object was modified');
      if (writesBefore !== undefined) assert.equal((target.serviceWrites() ?? 0) - writesBefore, 0, 'no Service writes at all');
      // New Services still get fresh addresses.
      await target.client.create(Resources.services, bulk, lbService('after-restart', bulk));
      const fresh = await waitFor(async () => (await serviceState(target.client, bulk, 'after-restart')).ips[0], { what: 'IP after restart' });
      assert.ok(![...before.values()].includes(fresh), `${fresh} is not reused`);
    });

    it('exits 0 promptly on SIGTERM', async () => {
      const code = await live().kill('SIGTERM', 10_000);
      assert.equal(code, 0);
      assert.ok(live().logs.some((l) => /SIGTERM received/.test(String(l['message']))));
    });
  });
}

suite('controller process against the embedded API server', embeddedTarget, 1000);

describe('controller process against the real kube-apiserver @integration', function () {
  suite('(real kube-apiserver v1.20)', realTarget, 1000);
});
