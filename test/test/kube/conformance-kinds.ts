// Conformance cases for the other kinds l2lb writes or reads: metallb.io custom resources, events,
// leases and secrets, and discovery. conformance.ts runs them in order.

import assert from 'node:assert/strict';
import { isApiError, type KubeClient } from '@l2lb/shared/kube/client';
import { chooseEndpointsSource } from '@l2lb/shared/kube/discovery';
import { EventRecorder } from '@l2lb/shared/kube/events';
import { silentLogger } from '@l2lb/shared/log';
import { resourcePath, Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { applySecret, readSecret } from '@l2lb/apiserver/testing/writers';
import { waitFor, type Target } from './helpers.js';
import { expectApiError, IPPOOL_CRD, type Suite } from './conformance-support.js';

export function customResourceCases(suite: Suite): void {
  describe('custom resources (metallb.io)', () => {
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ c, ns } = suite);
    });

    before(async function () {
      this.timeout(30_000);
      try {
        await c.create(Resources.customResourceDefinitions, undefined, IPPOOL_CRD as KubeObject);
      } catch (e) {
        if (!isApiError(e, 409)) throw e;
      }
      // The real server needs a moment to serve a new CRD.
      await waitFor(
        async () => {
          try {
            await c.list(Resources.ipAddressPools, { namespace: ns });
            return true;
          } catch {
            return false;
          }
        },
        { timeoutMs: 20_000, intervalMs: 200, what: 'the IPAddressPool CRD to be served' },
      );
    });

    it('drops status on create, bumps generation on spec changes only', async () => {
      const r = Resources.ipAddressPools;
      const created = await c.create(r, ns, {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'pool-a' },
        spec: { addresses: ['192.0.2.0/28'] },
        status: { assignedIPv4: 3 },
      });
      assert.equal(created['status'], undefined);
      const listed = await c.request<{ items: KubeObject[] }>('GET', resourcePath(r, ns));
      assert.equal(listed.items[0]?.kind, 'IPAddressPool', 'custom resource list items carry their kind');
      assert.equal(created.metadata?.generation, 1);
      const s1 = await c.patch(r, ns, 'pool-a', { status: { assignedIPv4: 1 } }, 'merge', 'status');
      assert.deepEqual(s1['status'], { assignedIPv4: 1 });
      assert.equal(s1.metadata?.generation, 1);
      const s2 = await c.patch(r, ns, 'pool-a', { spec: { addresses: ['192.0.2.0/27'] }, status: { assignedIPv4: 9 } }, 'merge');
      assert.equal(s2.metadata?.generation, 2);
      assert.deepEqual(s2['status'], { assignedIPv4: 1 });
    });

    it('refuses strategic merge patch with 415 and a PUT without resourceVersion with 422', async () => {
      const r = Resources.ipAddressPools;
      const e = await expectApiError(c.patch(r, ns, 'pool-a', { spec: { autoAssign: false } }, 'strategic'), 415);
      assert.match(e.statusMessage, /application\/merge-patch\+json/);
      const cur = await c.get(r, ns, 'pool-a');
      await expectApiError(c.replace(r, ns, 'pool-a', { ...cur, metadata: { name: 'pool-a', namespace: ns } }), 422, 'Invalid');
    });
  });
}

export function eventCases(suite: Suite): void {
  describe('events', () => {
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ c, ns } = suite);
    });

    it('core/v1 accepts generateName "name."; events.k8s.io/v1 refuses it and requires eventTime (422)', async () => {
      const core = await c.create(Resources.coreEvents, ns, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: 'web.' },
        involvedObject: { kind: 'Service', name: 'web', namespace: ns },
        reason: 'Test',
        message: 'hello',
        type: 'Normal',
        firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      });
      assert.match(core.metadata?.name ?? '', /^web\./);
      const base = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        regarding: { kind: 'Service', name: 'web', namespace: ns },
        reason: 'Test',
        note: 'n',
        type: 'Normal',
        action: 'Test',
        reportingController: 'l2lb.io/test',
        reportingInstance: 'i1',
      };
      await expectApiError(
        c.create(Resources.events, ns, { ...base, metadata: { generateName: 'web.' }, eventTime: '2026-01-01T00:00:00.000000Z' }),
        422,
        'Invalid',
      );
      await expectApiError(c.create(Resources.events, ns, { ...base, metadata: { name: 'web-no-time' } }), 422, 'Invalid');
      const ok = await c.create(Resources.events, ns, { ...base, metadata: { name: 'web-ok' }, eventTime: '2026-01-01T00:00:00.000000Z' });
      assert.equal(ok.metadata?.name, 'web-ok');
      // Both APIs are views of one store (kubectl describe reads core/v1, kubectl events reads events.k8s.io/v1).
      const asCore = await c.get(Resources.coreEvents, ns, 'web-ok');
      assert.deepEqual(
        [
          asCore['message'],
          (asCore['involvedObject'] as { name?: string }).name,
          asCore['reason'],
          asCore['type'],
          asCore['reportingComponent'],
          asCore['reportingInstance'],
          asCore['action'],
        ],
        ['n', 'web', 'Test', 'Normal', 'l2lb.io/test', 'i1', 'Test'],
      );
      const asNew = await c.get(Resources.events, ns, core.metadata?.name ?? '');
      assert.deepEqual(
        [asNew['note'], (asNew['regarding'] as { name?: string }).name, asNew['reason'], asNew['apiVersion']],
        ['hello', 'web', 'Test', 'events.k8s.io/v1'],
      );
      const listed = await c.list(Resources.events, { namespace: ns });
      assert.ok(
        listed.items.some((e) => e.metadata?.name === core.metadata?.name),
        'core events are listed by events.k8s.io/v1',
      );
    });

    it('EventRecorder records through events.k8s.io/v1, and falls back to core/v1 when forced', async () => {
      const rec = new EventRecorder(c, { controller: 'l2lb.io/controller', instance: 'test-1', logger: silentLogger });
      const ev = await rec.record({ kind: 'Service', apiVersion: 'v1', namespace: ns, name: 'st-a' }, 'Normal', 'IPAllocated', 'Assigned IP 192.0.2.12');
      assert.ok(ev, 'event created');
      assert.equal(rec.apiInUse, 'events.k8s.io/v1');
      const legacy = new EventRecorder(c, { controller: 'l2lb.io/controller', instance: 'test-1', logger: silentLogger, api: 'v1' });
      const ev2 = await legacy.record({ kind: 'Service', apiVersion: 'v1', namespace: ns, name: 'st-a' }, 'Warning', 'AllocationFailed', 'no pool');
      assert.equal(ev2?.apiVersion, 'v1');
    });
  });
}

export function leaseSecretDiscoveryCases(suite: Suite): void {
  describe('leases, secrets, discovery', () => {
    let t: Target;
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ t, c, ns } = suite);
    });

    it('a stale Lease replace gets 409', async () => {
      const r = Resources.leases;
      const l = await c.create(r, ns, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'lock' },
        spec: { holderIdentity: 'a', leaseDurationSeconds: 15 },
      });
      await c.replace(r, ns, 'lock', { ...l, spec: { holderIdentity: 'b', leaseDurationSeconds: 15 } });
      await expectApiError(c.replace(r, ns, 'lock', { ...l, spec: { holderIdentity: 'c', leaseDurationSeconds: 15 } }), 409, 'Conflict');
    });

    it('applySecret creates, then updates in place', async () => {
      await applySecret(c, { namespace: ns, name: 'ml-key', stringData: { secretkey: 'one' } }, { logger: silentLogger });
      await applySecret(c, { namespace: ns, name: 'ml-key', stringData: { secretkey: 'two' }, labels: { app: 'l2lb' } }, { logger: silentLogger });
      assert.deepEqual(await readSecret(c, ns, 'ml-key'), { secretkey: 'two' });
      assert.equal(await readSecret(c, ns, 'nope'), undefined);
    });

    it("defaults a Secret's type to Opaque and turns stringData into base64 data", async () => {
      const created = await c.create(Resources.secrets, ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'typeless' }, stringData: { k: 'v' } });
      assert.equal(created['type'], 'Opaque');
      assert.deepEqual(created['data'], { k: Buffer.from('v').toString('base64') });
      assert.equal(created['stringData'], undefined);
    });

    it('serves discovery for /version, /api and /apis, and picks the EndpointSlice version the server has', async () => {
      const v = await c.request<{ major?: string; gitVersion?: string }>('GET', '/version');
      assert.equal(v.major, '1');
      const api = await c.request<{ versions?: string[] }>('GET', '/api');
      assert.deepEqual(api.versions, ['v1']);
      const apis = await c.request<{ groups?: { name: string }[] }>('GET', '/apis');
      const groups = (apis.groups ?? []).map((g) => g.name);
      for (const g of ['events.k8s.io', 'discovery.k8s.io', 'coordination.k8s.io', 'apiextensions.k8s.io']) assert.ok(groups.includes(g), g);
      const src = await chooseEndpointsSource(c);
      assert.equal(src.kind, 'EndpointSlice');
      assert.equal(src.resource.version, t.kind === 'real' ? 'v1beta1' : 'v1');
    });
  });
}
