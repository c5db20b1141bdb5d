// Informer resilience against the embedded API server: a server crash and restart (same data, in memory
// and from disk), 410 Expired → relist without losing an update, a restore of an older state (resourceVersion
// going backwards) → relist, and 401 → backoff → recovery.

import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedApiServer } from '@l2lb/apiserver';
import type { Json } from '@l2lb/apiserver/json';
import { KubeClient } from '@l2lb/shared/kube/client';
import { loadKubeConfig } from '@l2lb/shared/kube/config';
import { Informer } from '@l2lb/shared/kube/informer';
import type { Logger } from '@l2lb/shared/log';
import { Resources, type ResourceRef } from '@l2lb/shared/kube/types';
import { Registry } from 'prom-client';
import { waitFor } from './helpers.js';

class MemoryLogger implements Logger {
  lines: string[] = [];
  error(m: string): void {
    this.lines.push(`error ${m}`);
  }
  warn(m: string): void {
    this.lines.push(`warn ${m}`);
  }
  info(m: string): void {
    this.lines.push(`info ${m}`);
  }
  debug(): void {
    /* not kept */
  }
}

function svcBody(name: string, labels: Record<string, string> = {}): Json {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels }, spec: { ports: [{ port: 80 }] } };
}

async function counter(reg: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = reg.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  return data.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

interface Watched {
  inf: Informer;
  log: string[];
}

function watch(client: KubeClient, resource: ResourceRef, reg: Registry, logger: Logger, namespace?: string): Watched {
  const log: string[] = [];
  const inf = new Informer(client, {
    resource,
    ...(namespace ? { namespace } : {}),
    logger,
    registry: reg,
    backoff: { initialMs: 20, maxMs: 200, jitter: 0.2 },
  });
  inf.on('add', (o) => log.push(`add ${o.metadata?.name}`));
  inf.on('update', (o) => log.push(`update ${o.metadata?.name}`));
  inf.on('delete', (o) => log.push(`delete ${o.metadata?.name}`));
  inf.start();
  return { inf, log };
}

describe('kube informer resilience (embedded API server)', () => {
  let server: EmbeddedApiServer | undefined;
  const informers: Informer[] = [];
  let dir: string | undefined;

  afterEach(async () => {
    for (const i of informers.splice(0)) await i.stop();
    await server?.close();
    server = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  for (const mode of ['in memory (watch resumes)', 'from disk (state.json, no watch history)'] as const) {
    it(`reconnects every informer after the server is killed and restarted ${mode}, delivering the changes made meanwhile`, async function () {
      this.timeout(15_000);
      if (mode.startsWith('from disk')) dir = mkdtempSync(join(tmpdir(), 'l2lb-apisrv-'));
      server = new EmbeddedApiServer(dir ? { dataDir: dir } : {});
      const url = await server.start();
      const port = server.port;
      const api = server.api;
      const svcType = api.type('', 'v1', 'services')!;
      const cmType = api.type('', 'v1', 'configmaps')!;
      const nodeType = api.type('', 'v1', 'nodes')!;
      api.create(svcType, 'default', svcBody('keep'));
      api.create(svcType, 'default', svcBody('drop'));
      api.create(cmType, 'default', { metadata: { name: 'config' }, data: { v: '1' } });
      api.create(nodeType, undefined, { metadata: { name: 'node-1' } });
      const client = new KubeClient(loadKubeConfig({ server: url }), { timeoutMs: 2000 });
      const reg = new Registry();
      const logger = new MemoryLogger();
      const svcs = watch(client, Resources.services, reg, logger);
      const cms = watch(client, Resources.configMaps, reg, logger, 'default');
      const nodes = watch(client, Resources.nodes, reg, logger);
      informers.push(svcs.inf, cms.inf, nodes.inf);
      await Promise.all(informers.map((i) => i.waitForSync(5000)));
      await waitFor(() => informers.every((i) => i.watching), { what: 'watches established' });

      await server.close(); // crash: every connection is destroyed
      await waitFor(() => informers.every((i) => !i.watching), { what: 'informers noticing the crash' });
      // Changes made while the server is down (as if written just before it came back).
      let store = api;
      if (dir) {
        // Restart from disk: a fresh process would load state.json, with no watch history.
        const reloaded = new EmbeddedApiServer({ dataDir: dir });
        store = reloaded.api;
      }
      store.create(svcType, 'default', svcBody('new'));
      store.delete(svcType, 'default', 'drop');
      store.patch(cmType, 'default', 'config', { data: { v: '2' } }, 'application/merge-patch+json', undefined);
      store.create(nodeType, undefined, { metadata: { name: 'node-2' } });
      assert.ok(informers.every((i) => i.stalenessSeconds() >= 0));

      server = new EmbeddedApiServer({ api: store, port, ...(dir ? { dataDir: dir } : {}) });
      await server.start();
      await waitFor(
        () =>
          svcs.inf.get('new', 'default') !== undefined &&
          svcs.inf.get('drop', 'default') === undefined &&
          cms.inf.get('config', 'default')?.['data'] !== undefined &&
          (cms.inf.get('config', 'default')?.['data'] as { v?: string }).v === '2' &&
          nodes.inf.get('node-2') !== undefined,
        { timeoutMs: 8000, what: 'changes made during the outage' },
      );
      assert.ok(svcs.log.includes('add new') && svcs.log.includes('delete drop'), svcs.log.join('; '));
      assert.ok(cms.log.includes('update config'));
      assert.ok(nodes.log.includes('add node-2'));
      await waitFor(() => informers.every((i) => i.watching && i.stalenessSeconds() === 0), { what: 'watches re-established' });
      assert.ok((await counter(reg, 'l2lb_kube_informer_restarts_total', {})) >= 3, 'restarts counted');
      assert.ok(
        logger.lines.some((l) => l.startsWith('warn watch services') && /retry \d+ in \d+ ms/.test(l)),
        logger.lines.join('\n'),
      );
    });
  }

  it('relists on 410 Expired without losing an update or a delete', async () => {
    server = new EmbeddedApiServer();
    const url = await server.start();
    const api = server.api;
    const t = api.type('', 'v1', 'services')!;
    api.create(t, 'default', svcBody('a'));
    api.create(t, 'default', svcBody('b'));
    const client = new KubeClient(loadKubeConfig({ server: url }), { timeoutMs: 2000 });
    const reg = new Registry();
    const w = watch(client, Resources.services, reg, new MemoryLogger(), 'default');
    informers.push(w.inf);
    await w.inf.waitForSync(5000);
    await waitFor(() => w.inf.watching, { what: 'watch established' });
    // In one tick: drop the watch, change things, and forget the history, so the resume gets 410.
    server.killWatches();
    api.patch(t, 'default', 'a', { metadata: { labels: { changed: 'yes' } } }, 'application/merge-patch+json', undefined);
    api.delete(t, 'default', 'b');
    api.create(t, 'default', svcBody('c'));
    server.compact();
    await waitFor(() => w.log.includes('update a') && w.log.includes('delete b') && w.log.includes('add c'), { what: `relist diff (${w.log.join('; ')})` });
    assert.equal(w.inf.get('a', 'default')?.metadata?.labels?.['changed'], 'yes');
    assert.equal(await counter(reg, 'l2lb_kube_informer_relists_total', {}), 2);
  });

  it('relists when the resourceVersion goes backwards (the server restarted from an older snapshot), emitting only the differences', async function () {
    this.timeout(15_000);
    dir = mkdtempSync(join(tmpdir(), 'l2lb-apisrv-'));
    server = new EmbeddedApiServer({ dataDir: dir });
    const url = await server.start();
    const port = server.port;
    const t = server.api.type('', 'v1', 'services')!;
    server.api.create(t, 'default', svcBody('same'));
    server.api.create(t, 'default', svcBody('reverted', { v: 'old' }));
    server.flush();
    copyFileSync(join(dir, 'state.json'), join(dir, 'older.json')); // the backup restored below
    const client = new KubeClient(loadKubeConfig({ server: url }), { timeoutMs: 2000 });
    const reg = new Registry();
    const logger = new MemoryLogger();
    const w = watch(client, Resources.services, reg, logger);
    informers.push(w.inf);
    await w.inf.waitForSync(5000);
    await waitFor(() => w.inf.watching, { what: 'watch established' });
    // Changes after the backup: moves the resourceVersion on, then they are lost by the restore.
    server.api.patch(t, 'default', 'reverted', { metadata: { labels: { v: 'new' } } }, 'application/merge-patch+json', undefined);
    server.api.create(t, 'default', svcBody('lost'));
    for (let i = 0; i < 5; i++) server.api.patch(t, 'default', 'lost', { metadata: { labels: { n: String(i) } } }, 'application/merge-patch+json', undefined);
    await waitFor(() => w.inf.get('reverted', 'default')?.metadata?.labels?.['v'] === 'new' && w.log.filter((l) => l === 'update lost').length === 5, {
      what: 'changes after the backup seen',
    });
    const before = Number(w.inf.resourceVersion);
    await server.close();
    copyFileSync(join(dir, 'older.json'), join(dir, 'state.json'));
    server = new EmbeddedApiServer({ dataDir: dir, port });
    await server.start();
    assert.ok(server.api.store.resourceVersion < before, `restored resourceVersion ${server.api.store.resourceVersion} < ${before}`);
    w.log.length = 0;
    await waitFor(() => w.inf.get('lost', 'default') === undefined && w.inf.get('reverted', 'default')?.metadata?.labels?.['v'] === 'old', {
      timeoutMs: 8000,
      what: `the informer to show the restored state (events: ${w.log.join('; ')})`,
    });
    // A change made after the restore (its resourceVersion is below the informer's old one) arrives too.
    server.api.create(t, 'default', svcBody('after-restore'));
    await waitFor(() => w.inf.get('after-restore', 'default') !== undefined, { timeoutMs: 5000, what: 'a change after the restore' });
    assert.deepEqual(
      w.log.filter((l) => !l.endsWith('after-restore')).sort(),
      ['delete lost', 'update reverted'],
      'only the differences; "same" kept, never deleted and re-added',
    );
    assert.ok(w.inf.get('same', 'default'));
    assert.ok(
      logger.lines.some((l) => /resourceVersion went back/.test(l)),
      logger.lines.join('\n'),
    );
  });

  it('resumes without relisting after a clean watch end or a reset', async () => {
    server = new EmbeddedApiServer({ logRequests: true });
    const url = await server.start();
    const t = server.api.type('', 'v1', 'services')!;
    const client = new KubeClient(loadKubeConfig({ server: url }), { timeoutMs: 2000 });
    const reg = new Registry();
    const w = watch(client, Resources.services, reg, new MemoryLogger());
    informers.push(w.inf);
    await w.inf.waitForSync(5000);
    await waitFor(() => w.inf.watching, { what: 'watch established' });
    server.endWatches();
    server.api.create(t, 'default', svcBody('after-end'));
    await waitFor(() => w.log.includes('add after-end'), { what: 'event after a clean end' });
    server.killWatches();
    server.api.create(t, 'default', svcBody('after-reset'));
    await waitFor(() => w.log.includes('add after-reset'), { what: 'event after a reset' });
    assert.equal(await counter(reg, 'l2lb_kube_informer_relists_total', {}), 1, 'no relist');
    const watches = server.requests.filter((r) => r.query['watch'] === '1');
    assert.ok(watches.length >= 3);
    assert.ok(
      watches.slice(1).every((r) => Number(r.query['resourceVersion']) > 0),
      'watches resume from a resourceVersion',
    );
  });

  it('backs off on 401 and recovers once the token is accepted again', async function () {
    this.timeout(10_000);
    server = new EmbeddedApiServer({ tokens: ['good'], logRequests: true });
    const url = await server.start();
    const t = server.api.type('', 'v1', 'services')!;
    const client = new KubeClient(loadKubeConfig({ server: url, token: 'good' }), { timeoutMs: 2000 });
    const reg = new Registry();
    const logger = new MemoryLogger();
    const w = watch(client, Resources.services, reg, logger);
    informers.push(w.inf);
    await w.inf.waitForSync(5000);
    await waitFor(() => w.inf.watching, { what: 'watch established' });
    server.setTokens(['rotated']);
    server.killWatches();
    server.api.create(t, 'default', svcBody('during-401'));
    await waitFor(async () => (await counter(reg, 'l2lb_kube_informer_restarts_total', { reason: '401' })) >= 3, { what: 'three 401 retries' });
    assert.ok(!w.log.includes('add during-401'));
    assert.ok(w.inf.stalenessSeconds() > 0);
    const denied = server.requests.filter((r) => r.status === 401);
    assert.ok(denied.length >= 3);
    assert.ok(
      logger.lines.some((l) => /401 Unauthorized/.test(l)),
      logger.lines.join('\n'),
    );
    server.setTokens(['rotated', 'good']);
    await waitFor(() => w.log.includes('add during-401'), { timeoutMs: 5000, what: 'recovery after 401' });
    await waitFor(() => w.inf.stalenessSeconds() === 0, { what: 'staleness back to 0' });
  });

  it('stops for good: no request after stop()', async () => {
    server = new EmbeddedApiServer({ logRequests: true });
    const url = await server.start();
    const client = new KubeClient(loadKubeConfig({ server: url }), { timeoutMs: 2000 });
    const w = watch(client, Resources.services, new Registry(), new MemoryLogger());
    await w.inf.waitForSync(5000);
    await waitFor(() => w.inf.watching, { what: 'watch established' });
    await w.inf.stop();
    const n = server.requests.length;
    server.killWatches();
    await new Promise((r) => setTimeout(r, 100)); // give a (wrong) restart timer the chance to fire
    assert.equal(server.requests.length, n);
    assert.equal(server.activeWatches, 0);
  });
});
