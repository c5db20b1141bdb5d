// Conformance cases for one object's life: create / get / delete, list and selectors, updates with
// conflicts and patches, and the status subresource. conformance.ts runs them in order.

import assert from 'node:assert/strict';
import type { KubeClient } from '@l2lb/shared/kube/client';
import { serverVersion, supportsLoadBalancerClass } from '@l2lb/shared/kube/discovery';
import { silentLogger } from '@l2lb/shared/log';
import { resourcePath, Resources, type KubeObject, type Service } from '@l2lb/shared/kube/types';
import { patchServiceStatus, updateWithRetry } from '@l2lb/apiserver/testing/writers';
import type { Target } from './helpers.js';
import { expectApiError, svc, type Suite } from './conformance-support.js';

export function createGetDeleteCases(suite: Suite): void {
  describe('create / get / delete', () => {
    const S = Resources.services;
    let t: Target;
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ t, c, ns } = suite);
    });

    it('creates a Service with uid, creationTimestamp, resourceVersion and a cluster IP; status starts empty', async () => {
      const body = svc('create-a');
      body.status = { loadBalancer: { ingress: [{ ip: '192.0.2.99' }] } };
      const out = await c.create<Service>(S, ns, body);
      assert.equal(out.metadata?.name, 'create-a');
      assert.equal(out.metadata?.namespace, ns);
      assert.match(out.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.match(out.metadata?.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(out.metadata?.resourceVersion ?? '', /^\d+$/);
      assert.match(out.spec?.clusterIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal(out.spec?.ports?.[0]?.targetPort, 80);
      assert.ok(typeof out.spec?.ports?.[0]?.nodePort === 'number', 'a LoadBalancer service gets node ports');
      assert.deepEqual(out.status?.loadBalancer?.ingress ?? [], [], 'status sent on create is ignored');
      const got = await c.get<Service>(S, ns, 'create-a');
      assert.equal(got.metadata?.uid, out.metadata?.uid);
    });

    it('answers 409 AlreadyExists for a duplicate name and 404 NotFound with a Status body', async () => {
      const e = await expectApiError(c.create(S, ns, svc('create-a')), 409, 'AlreadyExists');
      assert.equal(e.status?.kind, 'Status');
      assert.equal(e.status?.details?.name, 'create-a');
      const nf = await expectApiError(c.get(S, ns, 'does-not-exist'), 404, 'NotFound');
      assert.equal(nf.status?.code, 404);
      assert.equal(nf.status?.details?.name, 'does-not-exist');
      assert.match(nf.status?.message ?? '', /services "does-not-exist" not found/);
      await expectApiError(c.create(S, 'no-such-namespace-l2lb', svc('x')), 404, 'NotFound');
    });

    it('keeps spec.loadBalancerClass exactly when the server version supports it (1.21+; 1.20 drops it)', async () => {
      const body = svc('lbclass');
      body.spec = { ...body.spec, loadBalancerClass: 'l2lb.io/layer2' };
      const out = await c.create<Service>(S, ns, body);
      const supported = supportsLoadBalancerClass(await serverVersion(c));
      assert.equal(supported, t.kind === 'embedded');
      assert.equal(out.spec?.loadBalancerClass, supported ? 'l2lb.io/layer2' : undefined);
    });

    it('generates names from generateName', async () => {
      const out = await c.create(Resources.configMaps, ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' }, data: { a: 'b' } });
      assert.match(out.metadata?.name ?? '', /^gen-[a-z0-9]{5}$/);
    });

    it('rejects an invalid Service with 422 Invalid and field causes', async () => {
      const bad: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'no-ports' }, spec: { type: 'ClusterIP', ports: [] } };
      const e = await expectApiError(c.create(S, ns, bad), 422, 'Invalid');
      assert.ok(
        (e.status?.details?.causes ?? []).some((x) => x.field === 'spec.ports'),
        JSON.stringify(e.status),
      );
      await expectApiError(c.create(S, ns, svc('Bad_Name')), 422, 'Invalid');
    });

    it('deletes, then the object is gone', async () => {
      await c.create(S, ns, svc('delete-me'));
      await c.delete(S, ns, 'delete-me');
      await expectApiError(c.get(S, ns, 'delete-me'), 404, 'NotFound');
    });
  });
}

export function listCases(suite: Suite): void {
  describe('list and selectors', () => {
    const S = Resources.services;
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ c, ns } = suite);
    });

    before(async () => {
      await c.create(S, ns, svc('sel-a', { tier: 'front', team: 'x' }));
      await c.create(S, ns, svc('sel-b', { tier: 'back', team: 'y' }));
      await c.create(S, ns, svc('sel-c', { tier: 'front' }));
    });

    const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> => {
      const { items } = await c.list(S, { namespace: ns, ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) });
      return items
        .map((i) => i.metadata?.name ?? '')
        .filter((n) => n.startsWith('sel-'))
        .sort();
    };

    it('returns items and a list resourceVersion', async () => {
      const page = await c.request<{ metadata?: { resourceVersion?: string }; items: unknown[]; kind?: string }>('GET', resourcePath(S, ns));
      assert.equal(page.kind, 'ServiceList');
      assert.equal((page.items[0] as KubeObject).kind, undefined, 'items of built-in lists carry no kind (clients must not rely on it)');
      assert.match(page.metadata?.resourceVersion ?? '', /^\d+$/);
      assert.ok(page.items.length >= 3);
    });

    it('serves the Table kubectl prints for services (columns and cells)', async () => {
      const table = await c.request<{
        kind?: string;
        columnDefinitions: { name: string }[];
        rows: { cells: unknown[]; object?: { kind?: string; metadata?: { name?: string } } }[];
      }>('GET', resourcePath(S, ns), {
        query: { labelSelector: 'tier=front,team=x' },
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      });
      assert.equal(table.kind, 'Table');
      assert.deepEqual(
        table.columnDefinitions.map((d) => d.name),
        ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector'],
      );
      const row = table.rows[0];
      assert.equal(table.rows.length, 1);
      assert.equal(row?.object?.kind, 'PartialObjectMetadata');
      assert.equal(row?.object?.metadata?.name, 'sel-a');
      const [name, type, clusterIp, external, ports, age, selector] = row?.cells ?? [];
      assert.deepEqual([name, type, external, selector], ['sel-a', 'LoadBalancer', '<pending>', 'app=sel-a']);
      assert.match(String(clusterIp), /^\d+\.\d+\.\d+\.\d+$/);
      assert.match(String(ports), /^80:\d+\/TCP,443:\d+\/TCP$/);
      assert.match(String(age), /^\d+s$/);
    });

    it('pages with limit/continue', async () => {
      const first = await c.request<{ metadata?: { continue?: string }; items: KubeObject[] }>('GET', resourcePath(S, ns), { query: { limit: 1 } });
      assert.equal(first.items.length, 1);
      assert.ok(first.metadata?.continue, 'a continue token');
      const { items } = await c.list(S, { namespace: ns, limit: 1 });
      assert.ok(items.length >= 4);
    });

    it('filters by label selectors (=, ==, !=, exists, !exists, in, notin, AND)', async () => {
      assert.deepEqual(await names('tier=front'), ['sel-a', 'sel-c']);
      assert.deepEqual(await names('tier==back'), ['sel-b']);
      assert.deepEqual(await names('tier!=front,tier'), ['sel-b']);
      assert.deepEqual(await names('team'), ['sel-a', 'sel-b']);
      assert.deepEqual(await names('tier,!team'), ['sel-c']);
      assert.deepEqual(await names('team in (x,z)'), ['sel-a']);
      assert.deepEqual(await names('tier,team notin (x)'), ['sel-b', 'sel-c']);
      assert.deepEqual(await names('tier=front,team=x'), ['sel-a']);
    });

    it('filters by metadata.name and rejects field selectors the resource does not support (400)', async () => {
      assert.deepEqual(await names(undefined, 'metadata.name=sel-b'), ['sel-b']);
      assert.deepEqual(await names(undefined, 'metadata.name!=sel-b'), ['sel-a', 'sel-c']);
      const e = await expectApiError(c.list(S, { namespace: ns, fieldSelector: 'spec.type=LoadBalancer' }), 400, 'BadRequest');
      assert.match(e.statusMessage, /not a known field selector/);
    });

    it('accepts spec.nodeName for pods', async () => {
      const { items } = await c.list(Resources.pods, { namespace: ns, fieldSelector: 'spec.nodeName=node-1' });
      assert.deepEqual(items, []);
    });

    it('lists across namespaces', async () => {
      const { items } = await c.list(S, { labelSelector: 'tier=front' });
      assert.ok(items.filter((i) => i.metadata?.namespace === ns).length === 2);
    });
  });
}

export function updateCases(suite: Suite): void {
  describe('updates, conflicts and patches', () => {
    const S = Resources.services;
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ c, ns } = suite);
    });

    it('PUT with a stale resourceVersion gets 409 Conflict; with the current one it succeeds', async () => {
      const a = await c.create<Service>(S, ns, svc('upd-a'));
      const b = await c.replace<Service>(S, ns, 'upd-a', { ...a, metadata: { ...a.metadata, labels: { v: '2' } } });
      assert.notEqual(b.metadata?.resourceVersion, a.metadata?.resourceVersion);
      const e = await expectApiError(c.replace(S, ns, 'upd-a', { ...a, metadata: { ...a.metadata, labels: { v: '3' } } }), 409, 'Conflict');
      assert.match(e.statusMessage, /the object has been modified/);
    });

    it('a merge patch carrying a stale resourceVersion gets 409', async () => {
      const a = await c.get<Service>(S, ns, 'upd-a');
      await c.patch(S, ns, 'upd-a', { metadata: { labels: { v: '4' } } }, 'merge');
      await expectApiError(
        c.patch(S, ns, 'upd-a', { metadata: { resourceVersion: a.metadata?.resourceVersion, labels: { v: '5' } } }, 'merge'),
        409,
        'Conflict',
      );
    });

    it('JSON patch works on arrays and refuses an object body with 400', async () => {
      const out = await c.patch<Service>(
        S,
        ns,
        'upd-a',
        [
          { op: 'add', path: '/metadata/labels/jp', value: 'yes' },
          { op: 'replace', path: '/spec/ports/0/port', value: 8080 },
        ],
        'json',
      );
      assert.equal(out.metadata?.labels?.['jp'], 'yes');
      assert.equal(out.spec?.ports?.[0]?.port, 8080);
      await expectApiError(c.patch(S, ns, 'upd-a', { op: 'add' }, 'json'), 400);
    });

    it('strategic merge patch merges ports by key and honours kubectl directives', async () => {
      await c.create(S, ns, svc('smp-a'));
      const out = await c.patch<Service>(
        S,
        ns,
        'smp-a',
        {
          metadata: { labels: { smp: '1' } },
          spec: {
            ports: [
              { name: 'https', port: 8443 },
              { $patch: 'delete', port: 443 },
            ],
            '$setElementOrder/ports': [{ port: 80 }, { port: 8443 }],
          },
        },
        'strategic',
      );
      assert.deepEqual(
        out.spec?.ports?.map((p) => `${p.name}:${p.port}`),
        ['http:80', 'https:8443'],
      );
      assert.equal(out.metadata?.labels?.['smp'], '1');
      const str = JSON.stringify(out);
      assert.ok(!str.includes('$patch') && !str.includes('$setElementOrder'), 'no directive is stored');
      // A by-key merge of one existing port keeps the others.
      const out2 = await c.patch<Service>(S, ns, 'smp-a', { spec: { ports: [{ port: 80, name: 'web' }] } }, 'strategic');
      assert.deepEqual(
        out2.spec?.ports?.map((p) => `${p.name}:${p.port}`),
        ['web:80', 'https:8443'],
      );
    });
  });
}

export function statusCases(suite: Suite): void {
  describe('status subresource', () => {
    const S = Resources.services;
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ c, ns } = suite);
    });

    it('a /status merge patch changes status only, with the merge-patch content type', async () => {
      await c.create<Service>(S, ns, svc('st-a'));
      const out = await c.patch<Service>(
        S,
        ns,
        'st-a',
        { spec: { type: 'ClusterIP' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } },
        'merge',
        'status',
      );
      assert.deepEqual(out.status?.loadBalancer?.ingress, [{ ip: '192.0.2.10' }]);
      assert.equal(out.spec?.type, 'LoadBalancer', 'spec change through /status is ignored');
      const written = await patchServiceStatus(c, ns, 'st-a', { loadBalancer: { ingress: [{ ip: '192.0.2.11' }] } }, { logger: silentLogger });
      assert.deepEqual(written.status?.loadBalancer?.ingress, [{ ip: '192.0.2.11' }]);
    });

    it('a write to the main resource ignores status', async () => {
      const cur = await c.get<Service>(S, ns, 'st-a');
      const out = await c.replace<Service>(S, ns, 'st-a', {
        ...cur,
        metadata: { ...cur.metadata, labels: { x: 'y' } },
        status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } },
      });
      assert.deepEqual(out.status?.loadBalancer?.ingress, [{ ip: '192.0.2.11' }]);
      assert.equal(out.metadata?.labels?.['x'], 'y');
      const patched = await c.patch<Service>(S, ns, 'st-a', { status: { loadBalancer: { ingress: [] } } }, 'merge');
      assert.deepEqual(patched.status?.loadBalancer?.ingress, [{ ip: '192.0.2.11' }]);
    });

    it('a Service status update also stores metadata changes (MetalLB writes status + annotation together)', async () => {
      const cur = await c.get<Service>(S, ns, 'st-a');
      const out = await c.replace<Service>(
        S,
        ns,
        'st-a',
        {
          ...cur,
          metadata: { ...cur.metadata, annotations: { 'metallb.io/ip-allocated-from-pool': 'p1' } },
          status: { loadBalancer: { ingress: [{ ip: '192.0.2.12' }] } },
        },
        'status',
      );
      assert.deepEqual(out.status?.loadBalancer?.ingress, [{ ip: '192.0.2.12' }]);
      assert.equal(out.metadata?.annotations?.['metallb.io/ip-allocated-from-pool'], 'p1');
    });

    it('updateWithRetry survives a conflicting writer (409 → fresh read → retry)', async () => {
      let calls = 0;
      const out = await updateWithRetry<Service>(
        c,
        S,
        ns,
        'st-a',
        (cur) => {
          calls += 1;
          if (calls === 1) {
            // Someone else writes between our read and our write.
            void c.patch(S, ns, 'st-a', { metadata: { labels: { racer: 'won' } } }, 'merge').catch(() => undefined);
          }
          return { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata?.labels, mine: String(calls) } } };
        },
        { logger: silentLogger },
      );
      assert.ok(calls >= 1);
      assert.equal(out.metadata?.labels?.['mine'], String(calls));
      const final = await c.get<Service>(S, ns, 'st-a');
      assert.equal(final.metadata?.labels?.['mine'], String(calls));
    });
  });
}
