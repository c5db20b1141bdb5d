// Conformance cases for change streams: watch, the informer built on it, and informers across an API
// server restart (the last case of the suite). conformance.ts runs them in order.

import assert from 'node:assert/strict';
import type { KubeClient } from '@l2lb/shared/kube/client';
import { Informer } from '@l2lb/shared/kube/informer';
import { configMapInformer, endpointsInformer, podInformer, serviceInformer } from '@l2lb/apiserver/testing/informers';
import { silentLogger } from '@l2lb/shared/log';
import { resourcePath, Resources, type KubeObject, type Service } from '@l2lb/shared/kube/types';
import { patchAnnotations } from '@l2lb/apiserver/testing/writers';
import { Registry } from 'prom-client';
import { waitFor, type Target } from './helpers.js';
import { collectWatch, svc, type Suite } from './conformance-support.js';

export function watchCases(suite: Suite): void {
  describe('watch', () => {
    const S = Resources.services;
    let t: Target;
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ t, c, ns } = suite);
    });

    it('streams ADDED, MODIFIED, DELETED from a list resourceVersion, in order', async () => {
      const { resourceVersion } = await c.list(S, { namespace: ns });
      const w = collectWatch(c, resourcePath(S, ns), { resourceVersion, labelSelector: 'w=1' });
      await c.create(S, ns, svc('watch-a', { w: '1' }));
      await c.create(S, ns, svc('watch-other', { w: '2' }));
      await patchAnnotations(c, S, ns, 'watch-a', { note: 'x' }, { logger: silentLogger });
      await c.delete(S, ns, 'watch-a');
      await waitFor(() => w.events.filter((e) => e.type !== 'BOOKMARK').length >= 3, { what: 'three watch events' });
      const evs = w.events.filter((e) => e.type !== 'BOOKMARK');
      assert.deepEqual(
        evs.map((e) => `${e.type} ${e.object.metadata?.name}`),
        ['ADDED watch-a', 'MODIFIED watch-a', 'DELETED watch-a'],
      );
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
      assert.deepEqual(
        w.events
          .filter((e) => e.type === 'ADDED')
          .map((e) => e.object.metadata?.name)
          .sort(),
        ['sel-a', 'sel-c'],
      );
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
}

export function informerCases(suite: Suite): void {
  describe('informer', () => {
    const S = Resources.services;
    let t: Target;
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ t, c, ns } = suite);
    });

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
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: 'speaker' } },
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
        assert.deepEqual(
          cm.list().map((o) => o.metadata?.name),
          ['config'],
        );
        assert.deepEqual(
          pods.list().map((o) => o.metadata?.name),
          ['speaker-1'],
        );
        assert.equal(eps.kind, 'EndpointSlice');
        const r = t.kind === 'real' ? Resources.endpointSlicesV1beta1 : Resources.endpointSlicesV1;
        await c.create(r, ns, {
          apiVersion: `${r.group}/${r.version}`,
          kind: 'EndpointSlice',
          metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true } }],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        });
        await c.patch(Resources.configMaps, ns, 'config', { data: { v: '2' } }, 'merge');
        await waitFor(() => eps.informer.get('web-abc', ns) !== undefined && (cm.get('config', ns)?.['data'] as { v?: string } | undefined)?.v === '2', {
          timeoutMs: 10_000,
          what: 'EndpointSlice and ConfigMap update',
        });
      } finally {
        await Promise.all([cm.stop(), pods.stop(), eps.informer.stop()]);
        await c.delete(Resources.pods, ns, 'speaker-1', { gracePeriodSeconds: 0 });
        await c.delete(Resources.pods, ns, 'speaker-2', { gracePeriodSeconds: 0 });
      }
    });
  });
}

export function restartCases(suite: Suite): void {
  describe('API server restart (runs last)', () => {
    const S = Resources.services;
    let t: Target;
    let c: KubeClient;
    let ns: string;
    before(() => {
      ({ t, c, ns } = suite);
    });

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
      all
        .on('update', (x) => seen.push(`update ${x.metadata?.name}`))
        .on('delete', (x) => seen.push(`delete ${x.metadata?.name}`))
        .on('add', (x) => seen.push(`add ${x.metadata?.name}`));
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
        await waitFor(
          () =>
            svcs.get('after-restart', ns) !== undefined &&
            (cms.get('restart-cm', ns)?.['data'] as { v?: string } | undefined)?.v === '2' &&
            svcs.watching &&
            cms.watching,
          { timeoutMs: 30_000, what: 'changes after the restart' },
        );
        const restarts = await reg.getSingleMetric('l2lb_kube_informer_restarts_total')?.get();
        assert.ok((restarts?.values ?? []).reduce((a, v) => a + v.value, 0) >= 2, 'both informers saw the outage');
        assert.equal(svcs.stalenessSeconds(), 0);

        await t.expiredResourceVersion(); // everything the paused informer knew is now too old
        const relistsBefore =
          (await reg.getSingleMetric('l2lb_kube_informer_relists_total')?.get())?.values.find((v) => v.labels['informer'] === 'all-cms')?.value ?? 0;
        all.start();
        await waitFor(() => seen.includes('update restart-cm') && seen.includes('delete doomed-cm') && all.watching, {
          timeoutMs: 20_000,
          what: `relist after 410 (${seen.join('; ')})`,
        });
        const relistsAfter =
          (await reg.getSingleMetric('l2lb_kube_informer_relists_total')?.get())?.values.find((v) => v.labels['informer'] === 'all-cms')?.value ?? 0;
        assert.equal(relistsAfter, relistsBefore + 1, 'exactly one relist (after 410 Expired)');
      } finally {
        await Promise.all([svcs.stop(), cms.stop(), all.stop()]);
      }
    });
  });
}
