// The conformance suite: client-visible API behaviour l2lb depends on. It runs against the embedded API
// server (embedded.test.ts) and a real kube-apiserver v1.20 (real-apiserver.test.ts), so the embedded
// test double cannot drift from the real thing.

import assert from 'node:assert/strict';
import { isApiError, KubeApiError, type KubeClient } from '@l2lb/shared/kube/client';
import { chooseEndpointsSource, serverVersion, supportsLoadBalancerClass } from '@l2lb/shared/kube/discovery';
import { EventRecorder } from '@l2lb/shared/kube/events';
import { Informer } from '@l2lb/shared/kube/informer';
import { configMapInformer, endpointsInformer, podInformer, serviceInformer } from '@l2lb/apiserver/testing/informers';
import { silentLogger } from '@l2lb/shared/log';
import { resourcePath, Resources, type KubeObject, type Service } from '@l2lb/shared/kube/types';
import { applySecret, patchAnnotations, patchServiceStatus, readSecret, updateWithRetry } from '@l2lb/apiserver/testing/writers';
import { Registry } from 'prom-client';
import { uniqueName, waitFor, type Target } from './helpers.js';

async function expectApiError(p: Promise<unknown>, code: number, reason?: string): Promise<KubeApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KubeApiError, `expected a KubeApiError, got ${String(e)}`);
    assert.equal(e.code, code, `expected HTTP ${code}, got ${e.code}: ${e.message}`);
    if (reason !== undefined) assert.equal(e.reason, reason, e.message);
    return e;
  }
  assert.fail(`expected HTTP ${code}${reason ? ` ${reason}` : ''}, but the request succeeded`);
}

function svc(name: string, labels: Record<string, string> = {}, type: 'ClusterIP' | 'LoadBalancer' = 'LoadBalancer'): Service {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, labels },
    spec: { type, selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'https', port: 443, protocol: 'TCP' }] },
  };
}

interface Collected {
  events: { type: string; object: KubeObject }[];
  done: Promise<void>;
  abort: AbortController;
}

function collectWatch(client: KubeClient, path: string, query: Record<string, string | number | boolean | undefined>): Collected {
  const abort = new AbortController();
  const events: Collected['events'] = [];
  const done = client.stream(path, { watch: 1, ...query }, (ev) => {
    events.push({ type: String(ev['type']), object: ev['object'] as KubeObject });
  }, { signal: abort.signal }).catch((e: unknown) => {
    if (!(e instanceof Error && e.name === 'AbortError')) throw e;
  });
  return { events, done, abort };
}

const IPPOOL_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
  metadata: { name: 'ipaddresspools.metallb.io' },
  spec: {
    group: 'metallb.io', scope: 'Namespaced',
    names: { plural: 'ipaddresspools', singular: 'ipaddresspool', kind: 'IPAddressPool', listKind: 'IPAddressPoolList' },
    versions: [{
      name: 'v1beta1', served: true, storage: true, subresources: { status: {} },
      schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    }],
  },
};

export function conformance(getTarget: () => Target): void {
  let t: Target;
  let c: KubeClient;
  let ns: string;
  const S = Resources.services;

  before(async function () {
    t = getTarget();
    c = t.client;
    ns = uniqueName('l2lb-conf');
    await c.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  describe('create / get / delete', () => {
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
      assert.ok((e.status?.details?.causes ?? []).some((x) => x.field === 'spec.ports'), JSON.stringify(e.status));
      await expectApiError(c.create(S, ns, svc('Bad_Name')), 422, 'Invalid');
    });

    it('deletes, then the object is gone', async () => {
      await c.create(S, ns, svc('delete-me'));
      await c.delete(S, ns, 'delete-me');
      await expectApiError(c.get(S, ns, 'delete-me'), 404, 'NotFound');
    });
  });

  describe('list and selectors', () => {
    before(async () => {
      await c.create(S, ns, svc('sel-a', { tier: 'front', team: 'x' }));
      await c.create(S, ns, svc('sel-b', { tier: 'back', team: 'y' }));
      await c.create(S, ns, svc('sel-c', { tier: 'front' }));
    });

    const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> => {
      const { items } = await c.list(S, { namespace: ns, ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) });
      return items.map((i) => i.metadata?.name ?? '').filter((n) => n.startsWith('sel-')).sort();
    };

    it('returns items and a list resourceVersion', async () => {
      const page = await c.request<{ metadata?: { resourceVersion?: string }; items: unknown[]; kind?: string }>('GET', resourcePath(S, ns));
      assert.equal(page.kind, 'ServiceList');
      assert.equal((page.items[0] as KubeObject).kind, undefined, 'items of built-in lists carry no kind (clients must not rely on it)');
      assert.match(page.metadata?.resourceVersion ?? '', /^\d+$/);
      assert.ok(page.items.length >= 3);
    });

    it('serves the Table kubectl prints for services (columns and cells)', async () => {
      const table = await c.request<{ kind?: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[]; object?: { kind?: string; metadata?: { name?: string } } }[] }>(
        'GET', resourcePath(S, ns), { query: { labelSelector: 'tier=front,team=x' }, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json' });
      assert.equal(table.kind, 'Table');
      assert.deepEqual(table.columnDefinitions.map((d) => d.name), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
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

  describe('watch', () => {
    it('streams ADDED, MODIFIED, DELETED from a list resourceVersion, in order', async () => {
      const { resourceVersion } = await c.list(S, { namespace: ns });
      const w = collectWatch(c, resourcePath(S, ns), { resourceVersion, labelSelector: 'w=1' });
      await c.create(S, ns, svc('watch-a', { w: '1' }));
      await c.create(S, ns, svc('watch-other', { w: '2' }));
      await patchAnnotations(c, S, ns, 'watch-a', { note: 'x' }, { logger: silentLogger });
      await c.delete(S, ns, 'watch-a');
      await waitFor(() => w.events.filter((e) => e.type !== 'BOOKMARK').length >= 3, { what: 'three watch events' });
      const evs = w.events.filter((e) => e.type !== 'BOOKMARK');
      assert.deepEqual(evs.map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED watch-a', 'MODIFIED watch-a', 'DELETED watch-a']);
      assert.equal(evs[1]?.object.metadata?.annotations?.['note'], 'x');
      const rvs = evs.map((e) => Number(e.object.metadata?.resourceVersion));
      assert.ok(rvs[0]! < rvs[1]! && rvs[1]! < rvs[2]!, `increasing resourceVersions ${rvs.join(',')}`);
      w.abort.abort();
      await w.done;
    });

    it('turns a label change that leaves the selector into DELETED', async () => {
      await c.create(S, ns, svc('watch-b', { w: 'b' }));
      const { resourceVersion } = await c.list(S, { namespace: ns, labelSelector: 'w=b' });
      const w = collectWatch(c, resourcePath(S, ns), { resourceVersion, labelSelector: 'w=b' });
      await c.patch(S, ns, 'watch-b', { metadata: { labels: { w: 'gone' } } }, 'merge');
      await waitFor(() => w.events.some((e) => e.type === 'DELETED'), { what: 'DELETED after relabel' });
      w.abort.abort();
      await w.done;
    });

    it('without a resourceVersion, starts with ADDED for every existing object', async () => {
      const w = collectWatch(c, resourcePath(S, ns), { labelSelector: 'tier=front' });
      await waitFor(() => w.events.filter((e) => e.type === 'ADDED').length >= 2, { what: 'initial ADDED events' });
      assert.deepEqual(w.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata?.name).sort(), ['sel-a', 'sel-c']);
      w.abort.abort();
      await w.done;
    });

    it('ends the stream cleanly after timeoutSeconds', async () => {
      const { resourceVersion } = await c.list(S, { namespace: ns });
      const started = Date.now();
      await c.stream(resourcePath(S, ns), { watch: 1, resourceVersion, timeoutSeconds: 1 }, () => undefined);
      assert.ok(Date.now() - started < 5000);
    });

    it('answers a too old resourceVersion with HTTP 200 and one ERROR event: 410 Expired', async function () {
      this.timeout(30_000);
      const old = await t.expiredResourceVersion();
      const events: Record<string, unknown>[] = [];
      await c.stream(resourcePath(Resources.configMaps, 'default'), { watch: 1, resourceVersion: old }, (ev) => events.push(ev));
      assert.equal(events.length, 1);
      assert.equal(events[0]?.['type'], 'ERROR');
      const st = events[0]?.['object'] as { code?: number; reason?: string; message?: string; kind?: string };
      assert.equal(st.kind, 'Status');
      assert.equal(st.code, 410);
      assert.equal(st.reason, 'Expired');
      assert.match(st.message ?? '', /too old/i);
    });

    it('sends BOOKMARKs when asked (embedded: every 200 ms in tests)', async function () {
      if (t.kind === 'real') this.skip(); // the real server sends them about once a minute
      const { resourceVersion } = await c.list(S, { namespace: ns });
      const w = collectWatch(c, resourcePath(S, ns), { resourceVersion, allowWatchBookmarks: true });
      await waitFor(() => w.events.some((e) => e.type === 'BOOKMARK'), { what: 'a BOOKMARK' });
      const bm = w.events.find((e) => e.type === 'BOOKMARK');
      assert.ok(Number(bm?.object.metadata?.resourceVersion) >= Number(resourceVersion));
      w.abort.abort();
      await w.done;
    });
  });

  describe('updates, conflicts and patches', () => {
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
      await expectApiError(c.patch(S, ns, 'upd-a', { metadata: { resourceVersion: a.metadata?.resourceVersion, labels: { v: '5' } } }, 'merge'), 409, 'Conflict');
    });

    it('JSON patch works on arrays and refuses an object body with 400', async () => {
      const out = await c.patch<Service>(S, ns, 'upd-a', [{ op: 'add', path: '/metadata/labels/jp', value: 'yes' }, { op: 'replace', path: '/spec/ports/0/port', value: 8080 }], 'json');
      assert.equal(out.metadata?.labels?.['jp'], 'yes');
      assert.equal(out.spec?.ports?.[0]?.port, 8080);
      await expectApiError(c.patch(S, ns, 'upd-a', { op: 'add' }, 'json'), 400);
    });

    it('strategic merge patch merges ports by key and honours kubectl directives', async () => {
      await c.create(S, ns, svc('smp-a'));
      const out = await c.patch<Service>(S, ns, 'smp-a', {
        metadata: { labels: { smp: '1' } },
        spec: { ports: [{ name: 'https', port: 8443 }, { $patch: 'delete', port: 443 }], '$setElementOrder/ports': [{ port: 80 }, { port: 8443 }] },
      }, 'strategic');
      assert.deepEqual(out.spec?.ports?.map((p) => `${p.name}:${p.port}`), ['http:80', 'https:8443']);
      assert.equal(out.metadata?.labels?.['smp'], '1');
      const str = JSON.stringify(out);
      assert.ok(!str.includes('$patch') && !str.includes('$setElementOrder'), 'no directive is stored');
      // A by-key merge of one existing port keeps the others.
      const out2 = await c.patch<Service>(S, ns, 'smp-a', { spec: { ports: [{ port: 80, name: 'web' }] } }, 'strategic');
      assert.deepEqual(out2.spec?.ports?.map((p) => `${p.name}:${p.port}`), ['web:80', 'https:8443']);
    });
  });

  describe('status subresource', () => {
    it('a /status merge patch changes status only, with the merge-patch content type', async () => {
      await c.create<Service>(S, ns, svc('st-a'));
      const out = await c.patch<Service>(S, ns, 'st-a', { spec: { type: 'ClusterIP' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } }, 'merge', 'status');
      assert.deepEqual(out.status?.loadBalancer?.ingress, [{ ip: '192.0.2.10' }]);
      assert.equal(out.spec?.type, 'LoadBalancer', 'spec change through /status is ignored');
      const written = await patchServiceStatus(c, ns, 'st-a', { loadBalancer: { ingress: [{ ip: '192.0.2.11' }] } }, { logger: silentLogger });
      assert.deepEqual(written.status?.loadBalancer?.ingress, [{ ip: '192.0.2.11' }]);
    });

    it('a write to the main resource ignores status', async () => {
      const cur = await c.get<Service>(S, ns, 'st-a');
      const out = await c.replace<Service>(S, ns, 'st-a', { ...cur, metadata: { ...cur.metadata, labels: { x: 'y' } }, status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } } });
      assert.deepEqual(out.status?.loadBalancer?.ingress, [{ ip: '192.0.2.11' }]);
      assert.equal(out.metadata?.labels?.['x'], 'y');
      const patched = await c.patch<Service>(S, ns, 'st-a', { status: { loadBalancer: { ingress: [] } } }, 'merge');
      assert.deepEqual(patched.status?.loadBalancer?.ingress, [{ ip: '192.0.2.11' }]);
    });

    it('a Service status update also stores metadata changes (MetalLB writes status + annotation together)', async () => {
      const cur = await c.get<Service>(S, ns, 'st-a');
      const out = await c.replace<Service>(S, ns, 'st-a', {
        ...cur, metadata: { ...cur.metadata, annotations: { 'metallb.io/ip-allocated-from-pool': 'p1' } },
        status: { loadBalancer: { ingress: [{ ip: '192.0.2.12' }] } },
      }, 'status');
      assert.deepEqual(out.status?.loadBalancer?.ingress, [{ ip: '192.0.2.12' }]);
      assert.equal(out.metadata?.annotations?.['metallb.io/ip-allocated-from-pool'], 'p1');
    });

    it('updateWithRetry survives a conflicting writer (409 → fresh read → retry)', async () => {
      let calls = 0;
      const out = await updateWithRetry<Service>(c, S, ns, 'st-a', (cur) => {
        calls += 1;
        if (calls === 1) {
          // Someone else writes between our read and our write.
          void c.patch(S, ns, 'st-a', { metadata: { labels: { racer: 'won' } } }, 'merge').catch(() => undefined);
        }
        return { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata?.labels, mine: String(calls) } } };
      }, { logger: silentLogger });
      assert.ok(calls >= 1);
      assert.equal(out.metadata?.labels?.['mine'], String(calls));
      const final = await c.get<Service>(S, ns, 'st-a');
      assert.equal(final.metadata?.labels?.['mine'], String(calls));
    });
  });

  describe('custom resources (metallb.io)', () => {
    before(async function () {
      this.timeout(30_000);
      try {
        await c.create(Resources.customResourceDefinitions, undefined, IPPOOL_CRD as KubeObject);
      } catch (e) {
        if (!isApiError(e, 409)) throw e;
      }
      // The real server needs a moment to serve a new CRD.
      await waitFor(async () => {
        try {
          await c.list(Resources.ipAddressPools, { namespace: ns });
          return true;
        } catch {
          return false;
        }
      }, { timeoutMs: 20_000, intervalMs: 200, what: 'the IPAddressPool CRD to be served' });
    });

    it('drops status on create, bumps generation on spec changes only', async () => {
      const r = Resources.ipAddressPools;
      const created = await c.create(r, ns, { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'pool-a' }, spec: { addresses: ['192.0.2.0/28'] }, status: { assignedIPv4: 3 } });
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

  describe('events', () => {
    it('core/v1 accepts generateName "name."; events.k8s.io/v1 refuses it and requires eventTime (422)', async () => {
      const core = await c.create(Resources.coreEvents, ns, {
        apiVersion: 'v1', kind: 'Event', metadata: { generateName: 'web.' }, involvedObject: { kind: 'Service', name: 'web', namespace: ns },
        reason: 'Test', message: 'hello', type: 'Normal', firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      });
      assert.match(core.metadata?.name ?? '', /^web\./);
      const base = { apiVersion: 'events.k8s.io/v1', kind: 'Event', regarding: { kind: 'Service', name: 'web', namespace: ns }, reason: 'Test', note: 'n', type: 'Normal', action: 'Test', reportingController: 'l2lb.io/test', reportingInstance: 'i1' };
      await expectApiError(c.create(Resources.events, ns, { ...base, metadata: { generateName: 'web.' }, eventTime: '2026-01-01T00:00:00.000000Z' }), 422, 'Invalid');
      await expectApiError(c.create(Resources.events, ns, { ...base, metadata: { name: 'web-no-time' } }), 422, 'Invalid');
      const ok = await c.create(Resources.events, ns, { ...base, metadata: { name: 'web-ok' }, eventTime: '2026-01-01T00:00:00.000000Z' });
      assert.equal(ok.metadata?.name, 'web-ok');
      // Both APIs are views of one store (kubectl describe reads core/v1, kubectl events reads events.k8s.io/v1).
      const asCore = await c.get(Resources.coreEvents, ns, 'web-ok');
      assert.deepEqual([asCore['message'], (asCore['involvedObject'] as { name?: string }).name, asCore['reason'], asCore['type'], asCore['reportingComponent'], asCore['reportingInstance'], asCore['action']],
        ['n', 'web', 'Test', 'Normal', 'l2lb.io/test', 'i1', 'Test']);
      const asNew = await c.get(Resources.events, ns, core.metadata?.name ?? '');
      assert.deepEqual([asNew['note'], (asNew['regarding'] as { name?: string }).name, asNew['reason'], asNew['apiVersion']], ['hello', 'web', 'Test', 'events.k8s.io/v1']);
      const listed = await c.list(Resources.events, { namespace: ns });
      assert.ok(listed.items.some((e) => e.metadata?.name === core.metadata?.name), 'core events are listed by events.k8s.io/v1');
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

  describe('leases, secrets, discovery', () => {
    it('a stale Lease replace gets 409', async () => {
      const r = Resources.leases;
      const l = await c.create(r, ns, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'lock' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } });
      await c.replace(r, ns, 'lock', { ...l, spec: { holderIdentity: 'b', leaseDurationSeconds: 15 } });
      await expectApiError(c.replace(r, ns, 'lock', { ...l, spec: { holderIdentity: 'c', leaseDurationSeconds: 15 } }), 409, 'Conflict');
    });

    it('applySecret creates, then updates in place', async () => {
      await applySecret(c, { namespace: ns, name: 'ml-key', stringData: { secretkey: 'one' } }, { logger: silentLogger });
      await applySecret(c, { namespace: ns, name: 'ml-key', stringData: { secretkey: 'two' }, labels: { app: 'l2lb' } }, { logger: silentLogger });
      assert.deepEqual(await readSecret(c, ns, 'ml-key'), { secretkey: 'two' });
      assert.equal(await readSecret(c, ns, 'nope'), undefined);
    });

    it('defaults a Secret\'s type to Opaque and turns stringData into base64 data', async () => {
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

  describe('informer', () => {
    it('syncs, then delivers add / update / delete with the previous object', async () => {
      const inf = new Informer<Service>(c, { resource: S, namespace: ns, labelSelector: 'inf=1', logger: silentLogger, registry: new Registry() });
      const seen: string[] = [];
      inf.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
      inf.on('update', (o, old) => seen.push(`update ${o.metadata?.name} ${old.metadata?.labels?.['v'] ?? '-'}->${o.metadata?.labels?.['v'] ?? '-'}`));
      inf.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
      await c.create(S, ns, svc('inf-a', { inf: '1' }));
      inf.start();
      try {
        await inf.waitForSync(10_000);
        assert.equal(inf.synced, true);
        assert.ok(inf.get('inf-a', ns));
        await c.patch(S, ns, 'inf-a', { metadata: { labels: { v: '2' } } }, 'merge');
        await c.create(S, ns, svc('inf-b', { inf: '1' }));
        await c.delete(S, ns, 'inf-a');
        await waitFor(() => seen.length >= 4, { timeoutMs: 10_000, what: `informer events (${seen.join('; ')})` });
        assert.deepEqual(seen, ['add inf-a', 'update inf-a -->2', 'add inf-b', 'delete inf-a']);
        assert.equal(inf.stalenessSeconds(), 0);
      } finally {
        await inf.stop();
      }
    });

    it('ConfigMap by name, pods on one node, and endpoints from the EndpointSlice version the server has', async () => {
      const quiet = { logger: silentLogger, registry: new Registry() };
      await c.create(Resources.configMaps, ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config' }, data: { v: '1' } });
      await c.create(Resources.configMaps, ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other' }, data: { v: '1' } });
      const pod = (name: string, node: string): KubeObject => ({
        apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'speaker' } },
        spec: { nodeName: node, containers: [{ name: 'c', image: 'example.invalid/speaker:1' }] },
      });
      await c.create(Resources.pods, ns, pod('speaker-1', 'node-1'));
      await c.create(Resources.pods, ns, pod('speaker-2', 'node-2'));
      const cm = configMapInformer(c, ns, 'config', quiet).start();
      const pods = podInformer(c, { ...quiet, namespace: ns, labelSelector: 'app=speaker', nodeName: 'node-1' }).start();
      const eps = await endpointsInformer(c, { ...quiet, namespace: ns });
      eps.informer.start();
      try {
        await Promise.all([cm.waitForSync(10_000), pods.waitForSync(10_000), eps.informer.waitForSync(10_000)]);
        assert.deepEqual(cm.list().map((o) => o.metadata?.name), ['config']);
        assert.deepEqual(pods.list().map((o) => o.metadata?.name), ['speaker-1']);
        assert.equal(eps.kind, 'EndpointSlice');
        const r = t.kind === 'real' ? Resources.endpointSlicesV1beta1 : Resources.endpointSlicesV1;
        await c.create(r, ns, {
          apiVersion: `${r.group}/${r.version}`, kind: 'EndpointSlice', metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
          addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        });
        await c.patch(Resources.configMaps, ns, 'config', { data: { v: '2' } }, 'merge');
        await waitFor(() => eps.informer.get('web-abc', ns) !== undefined && (cm.get('config', ns)?.['data'] as { v?: string } | undefined)?.v === '2',
          { timeoutMs: 10_000, what: 'EndpointSlice and ConfigMap update' });
      } finally {
        await Promise.all([cm.stop(), pods.stop(), eps.informer.stop()]);
        await c.delete(Resources.pods, ns, 'speaker-1', { gracePeriodSeconds: 0 });
        await c.delete(Resources.pods, ns, 'speaker-2', { gracePeriodSeconds: 0 });
      }
    });
  });

  describe('API server restart (runs last)', () => {
    it('every informer reconnects after the server restarts with the same data and delivers the changes', async function () {
      this.timeout(90_000);
      const reg = new Registry();
      const o = { logger: silentLogger, registry: reg, backoff: { initialMs: 100, maxMs: 1000, jitter: 0.2 } };
      await c.create(Resources.configMaps, ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'restart-cm' }, data: { v: '1' } });
      await c.create(Resources.configMaps, ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'doomed-cm' }, data: { v: '1' } });
      const svcs = serviceInformer(c, { ...o, namespace: ns }).start();
      const cms = configMapInformer(c, ns, 'restart-cm', o).start();
      // A third informer is paused over the outage, and its resourceVersion expires meanwhile: 410 → relist.
      const all = new Informer(c, { resource: Resources.configMaps, namespace: ns, name: 'all-cms', ...o });
      const seen: string[] = [];
      all.on('update', (x) => seen.push(`update ${x.metadata?.name}`)).on('delete', (x) => seen.push(`delete ${x.metadata?.name}`)).on('add', (x) => seen.push(`add ${x.metadata?.name}`));
      all.start();
      try {
        await Promise.all([svcs.waitForSync(10_000), cms.waitForSync(10_000), all.waitForSync(10_000)]);
        await waitFor(() => svcs.watching && cms.watching && all.watching, { what: 'watches established' });
        await all.stop();
        seen.length = 0;
        await t.restart();
        // Written as soon as the server is back: the informers are still reconnecting (backoff).
        await c.create(S, ns, svc('after-restart'));
        await c.patch(Resources.configMaps, ns, 'restart-cm', { data: { v: '2' } }, 'merge');
        await c.delete(Resources.configMaps, ns, 'doomed-cm');
        await waitFor(() => svcs.get('after-restart', ns) !== undefined && (cms.get('restart-cm', ns)?.['data'] as { v?: string } | undefined)?.v === '2'
          && svcs.watching && cms.watching, { timeoutMs: 30_000, what: 'changes after the restart' });
        const restarts = await reg.getSingleMetric('l2lb_kube_informer_restarts_total')?.get();
        assert.ok((restarts?.values ?? []).reduce((a, v) => a + v.value, 0) >= 2, 'both informers saw the outage');
        assert.equal(svcs.stalenessSeconds(), 0);

        await t.expiredResourceVersion(); // everything the paused informer knew is now too old
        const relistsBefore = (await reg.getSingleMetric('l2lb_kube_informer_relists_total')?.get())?.values.find((v) => v.labels['informer'] === 'all-cms')?.value ?? 0;
        all.start();
        await waitFor(() => seen.includes('update restart-cm') && seen.includes('delete doomed-cm') && all.watching, { timeoutMs: 20_000, what: `relist after 410 (${seen.join('; ')})` });
        const relistsAfter = (await reg.getSingleMetric('l2lb_kube_informer_relists_total')?.get())?.values.find((v) => v.labels['informer'] === 'all-cms')?.value ?? 0;
        assert.equal(relistsAfter, relistsBefore + 1, 'exactly one relist (after 410 Expired)');
      } finally {
        await Promise.all([svcs.stop(), cms.stop(), all.stop()]);
      }
    });
  });
}
