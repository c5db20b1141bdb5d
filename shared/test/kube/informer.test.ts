import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { backoffDelay, Informer, LAST_APPLIED_ANNOTATION, resourceVersionWentBack, withoutBookkeeping } from '../../src/kube/informer.js';
import type { Logger } from '../../src/log.js';
import { Resources } from '../../src/kube/types.js';

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('kube informer (unit)', () => {
  it('backoffDelay doubles from the initial delay, caps at max, and stays within the jitter band (property)', () => {
    const o = { initialMs: 100, maxMs: 5000, jitter: 0.2 };
    assert.equal(
      backoffDelay(1, o, () => 0.5),
      100,
    );
    assert.equal(
      backoffDelay(2, o, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelay(20, o, () => 0.5),
      5000,
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const base = Math.min(5000, 100 * 2 ** (attempt - 1));
        const d = backoffDelay(attempt, o, () => r);
        assert.ok(d >= Math.floor(base * 0.8) && d <= Math.min(5000, Math.ceil(base * 1.2)), `${attempt} ${r} ${d}`);
      }),
    );
  });

  describe('against a misbehaving stub server', () => {
    let server: Server;
    let url: string;
    const watchLines: string[] = [];

    before(async () => {
      server = createServer((req, res) => {
        const u = new URL(req.url ?? '/', 'http://x');
        if (u.searchParams.get('watch')) {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.flushHeaders();
          for (const l of watchLines) res.write(`${l}\n`);
          return; // keep open
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'ServiceList',
            metadata: { resourceVersion: '5' },
            items: [{ metadata: { name: 'a', namespace: 'd', resourceVersion: '3' } }, { nonsense: true }],
          }),
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('drops malformed watch lines and objects, counts them per reason, and keeps going', async () => {
      watchLines.push(
        'not json',
        '[1,2]',
        '{"type":"ADDED"}',
        '{"type":"ADDED","object":{"metadata":{}}}',
        '{"type":"WHAT","object":{"metadata":{"name":"x"}}}',
        '{"type":"ADDED","object":{"metadata":{"name":"b","namespace":"d","resourceVersion":"6"}}}',
      );
      const reg = new Registry();
      const warnings: string[] = [];
      const logger: Logger = { error: () => undefined, info: () => undefined, debug: () => undefined, warn: (m: string) => warnings.push(m) };
      const inf = new Informer(new KubeClient(loadKubeConfig({ server: url })), { resource: Resources.services, registry: reg, logger });
      inf.start();
      try {
        await waitFor(() => inf.get('b', 'd') !== undefined);
        assert.ok(inf.get('a', 'd'));
        assert.equal(inf.size, 2);
        const dropped = await reg.getSingleMetric('l2lb_kube_informer_dropped_events_total')!.get();
        const by = Object.fromEntries(dropped.values.map((v) => [String(v.labels['reason']), v.value]));
        assert.deepEqual(by, { no_name: 2, bad_json: 2, no_object: 1, bad_type: 1 });
        assert.ok(warnings.some((w) => w.includes('dropped')));
        const synced = await reg.getSingleMetric('l2lb_kube_informer_synced')!.get();
        assert.equal(synced.values[0]?.value, 1);
        assert.equal(inf.resourceVersion, '6');
      } finally {
        await inf.stop();
      }
    });
  });

  it('resourceVersionWentBack compares integer resourceVersions only', () => {
    assert.equal(resourceVersionWentBack('100', '99'), true);
    assert.equal(resourceVersionWentBack('99', '100'), false);
    assert.equal(resourceVersionWentBack('100', '100'), false);
    assert.equal(resourceVersionWentBack('123456789012345678901', '99999999999999999999'), true);
    assert.equal(resourceVersionWentBack(undefined, '1'), false);
    assert.equal(resourceVersionWentBack('abc', '1'), false, 'opaque values never compare');
    assert.equal(resourceVersionWentBack('100', ''), false);
  });

  it('relists when a watch delivers a resourceVersion older than the one it resumed from, instead of applying it', async () => {
    let lists = 0;
    const svc = (name: string, rv: string): Record<string, unknown> => ({ metadata: { name, namespace: 'default', resourceVersion: rv } });
    const srv = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (!u.searchParams.get('watch')) {
        lists += 1;
        // First the state at 50; after the "restore", the older state at 9 (object b only).
        res.end(
          JSON.stringify(
            lists === 1
              ? { kind: 'ServiceList', metadata: { resourceVersion: '50' }, items: [svc('a', '50')] }
              : { kind: 'ServiceList', metadata: { resourceVersion: '9' }, items: [svc('b', '8')] },
          ),
        );
        return;
      }
      res.flushHeaders();
      if (u.searchParams.get('resourceVersion') === '50') res.write(`${JSON.stringify({ type: 'ADDED', object: svc('c', '7') })}\n`);
      // otherwise a quiet watch, ended by the test
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const client = new KubeClient(loadKubeConfig({ server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` }));
    const warnings: string[] = [];
    const log: Logger = {
      error: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      warn: (m) => {
        warnings.push(m);
      },
    };
    const inf = new Informer(client, { resource: Resources.services, registry: new Registry(), logger: log, backoff: { initialMs: 20, maxMs: 50, jitter: 0 } });
    const events: string[] = [];
    inf.on('add', (o) => events.push(`add ${o.metadata?.name}`)).on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
    inf.start();
    try {
      await waitFor(() => lists >= 2 && inf.get('b', 'default') !== undefined, 3000);
      assert.deepEqual(events, ['add a', 'add b', 'delete a'], 'c (from the older history) never applied; the relist gives the differences');
      assert.equal(inf.resourceVersion, '9');
      assert.ok(
        warnings.some((w) => /resourceVersion went back from 50 to 7/.test(w)),
        warnings.join('\n'),
      );
    } finally {
      await inf.stop();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  it('renews a quiet watch that the server ends normally at once, but backs off from watches that end immediately', async () => {
    let watches = 0;
    let quickEnd = false;
    const srv = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (!u.searchParams.get('watch')) {
        res.end(JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion: '5' }, items: [] }));
        return;
      }
      watches += 1;
      res.flushHeaders();
      if (quickEnd) res.end();
      else setTimeout(() => res.end(), 1100); // a quiet watch that times out server-side
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const client = new KubeClient(loadKubeConfig({ server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` }));
    const quiet: Logger = { error: () => undefined, info: () => undefined, debug: () => undefined, warn: () => undefined };
    const inf = new Informer(client, {
      resource: Resources.services,
      registry: new Registry(),
      logger: quiet,
      backoff: { initialMs: 2000, maxMs: 4000, jitter: 0 },
    });
    inf.start();
    try {
      await waitFor(() => watches >= 3, 3000); // 0 s, 1.1 s, 2.2 s: no 2 s backoff in between
      quickEnd = true;
      const before = watches;
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(watches - before <= 2, `immediately ending watches are backed off (${watches - before} in 1.5 s)`);
    } finally {
      await inf.stop();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  describe('what the cache keeps (transform)', () => {
    const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
    const managedFields = [{ manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1: { 'f:spec': { 'f:ports': {} } } }];
    const svc = (name: string, rv: string, extra: Record<string, string> = {}): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name,
        namespace: 'd',
        uid: `u-${name}`,
        resourceVersion: rv,
        labels: { app: name },
        annotations: { [LAST_APPLIED]: `{"kind":"Service","metadata":{"name":"${name}"}}`, 'metallb.universe.tf/allow-shared-ip': 'k', ...extra },
        managedFields,
      },
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
      status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } },
    });
    /** The stub's list holds `a`; its first watch sends `b` added, `a` modified, `b` deleted. */
    async function withStub(run: (client: KubeClient) => Promise<void>): Promise<void> {
      let watches = 0;
      const srv = createServer((req, res) => {
        const u = new URL(req.url ?? '/', 'http://x');
        res.writeHead(200, { 'Content-Type': 'application/json' });
        if (!u.searchParams.get('watch')) {
          res.end(JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion: '5' }, items: [svc('a', '4')] }));
          return;
        }
        res.flushHeaders();
        if (++watches === 1) {
          for (const ev of [
            { type: 'ADDED', object: svc('b', '6') },
            { type: 'MODIFIED', object: svc('a', '7', { note: 'x' }) },
            { type: 'DELETED', object: svc('b', '8') },
          ])
            res.write(`${JSON.stringify(ev)}\n`);
        }
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      try {
        await run(new KubeClient(loadKubeConfig({ server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` })));
      } finally {
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
      }
    }
    const quiet: Logger = { error: () => undefined, info: () => undefined, debug: () => undefined, warn: () => undefined };
    /** Every object the handlers got, in order, and the cache at the end. */
    async function observe(client: KubeClient, transform?: <O extends Record<string, unknown>>(o: O) => O, logger = quiet) {
      const inf = new Informer(client, { resource: Resources.services, registry: new Registry(), logger, ...(transform ? { transform } : {}) });
      const seen: { event: string; obj: Record<string, unknown> }[] = [];
      inf
        .on('add', (o) => seen.push({ event: 'add', obj: o }))
        .on('update', (o, old) => seen.push({ event: 'update', obj: o }, { event: 'old', obj: old }))
        .on('delete', (o) => seen.push({ event: 'delete', obj: o }));
      inf.start();
      try {
        await waitFor(() => seen.some((s) => s.event === 'delete'));
        return { seen, cached: inf.list() as Record<string, unknown>[] };
      } finally {
        await inf.stop();
      }
    }
    const meta = (o: Record<string, unknown>): Record<string, unknown> => o['metadata'] as Record<string, unknown>;

    it('drops managedFields and the last-applied annotation by default, from listed and watched objects, keeping everything else', async () => {
      await withStub(async (client) => {
        const { seen, cached } = await observe(client);
        assert.deepEqual(
          seen.map((s) => `${s.event} ${String(meta(s.obj)['name'])}@${String(meta(s.obj)['resourceVersion'])}`),
          ['add a@4', 'add b@6', 'update a@7', 'old a@4', 'delete b@8'],
        );
        const lean = (name: string, rv: string, extra: Record<string, string> = {}): Record<string, unknown> => {
          const o = svc(name, rv, extra);
          delete meta(o)['managedFields'];
          delete (meta(o)['annotations'] as Record<string, string>)[LAST_APPLIED];
          return o;
        };
        const a7 = lean('a', '7', { note: 'x' });
        assert.deepEqual(
          seen.map((s) => s.obj),
          [lean('a', '4'), lean('b', '6'), a7, lean('a', '4'), lean('b', '8')],
          'only the bookkeeping is gone',
        );
        assert.deepEqual(cached, [a7]);
      });
    });

    it('applies a given transform instead; (o) => o keeps objects whole', async () => {
      await withStub(async (client) => {
        const whole = await observe(client, (o) => o);
        assert.ok(whole.seen.every((s) => Array.isArray(meta(s.obj)['managedFields'])));
        assert.deepEqual(whole.cached[0], svc('a', '7', { note: 'x' }));
      });
      await withStub(async (client) => {
        const named = <O extends Record<string, unknown>>(o: O): O =>
          ({ metadata: { name: meta(o)['name'], namespace: 'd', resourceVersion: meta(o)['resourceVersion'] } }) as unknown as O;
        const { seen, cached } = await observe(client, named);
        assert.deepEqual(
          seen.map((s) => s.obj),
          [
            { metadata: { name: 'a', namespace: 'd', resourceVersion: '4' } },
            { metadata: { name: 'b', namespace: 'd', resourceVersion: '6' } },
            { metadata: { name: 'a', namespace: 'd', resourceVersion: '7' } },
            { metadata: { name: 'a', namespace: 'd', resourceVersion: '4' } },
            { metadata: { name: 'b', namespace: 'd', resourceVersion: '8' } },
          ],
        );
        assert.deepEqual(cached, [{ metadata: { name: 'a', namespace: 'd', resourceVersion: '7' } }]);
      });
    });

    it('keeps an object whole, and says so, when the transform throws', async () => {
      await withStub(async (client) => {
        const errors: string[] = [];
        const logger: Logger = { ...quiet, error: (m) => errors.push(m) };
        const { seen } = await observe(
          client,
          (o) => {
            if (meta(o)['name'] === 'b') throw new Error('boom');
            return o;
          },
          logger,
        );
        assert.equal(seen.length, 5, 'the watch went on');
        assert.ok(seen.every((s) => Array.isArray(meta(s.obj)['managedFields'])));
        assert.ok(
          errors.some((e) => /transform failed for d\/b.*boom/.test(e)),
          errors.join('\n'),
        );
      });
    });

    it('withoutBookkeeping copies only what it changes and never changes its argument', () => {
      const o = svc('a', '1');
      const before = structuredClone(o);
      const out = withoutBookkeeping(o);
      assert.deepEqual(o, before);
      assert.equal(out['spec'], o['spec'], 'untouched parts are shared, not copied');
      assert.deepEqual(meta(out)['annotations'], { 'metallb.universe.tf/allow-shared-ip': 'k' });
      const plain = { metadata: { name: 'p', annotations: { x: 'y' } }, spec: {} };
      assert.equal(withoutBookkeeping(plain), plain, 'nothing to drop: the same object');
      const onlyLastApplied = withoutBookkeeping({ metadata: { name: 'q', annotations: { [LAST_APPLIED_ANNOTATION]: '{}' } } });
      assert.deepEqual(onlyLastApplied, { metadata: { name: 'q' } });
      assert.equal(withoutBookkeeping({ kind: 'X' } as Record<string, unknown>)['kind'], 'X');
    });
  });
});
