import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { KubeApiError, KubeClient } from '@l2lb/shared/kube/client';
import { loadKubeConfig } from '@l2lb/shared/kube/config';
import { EventRecorder } from '@l2lb/shared/kube/events';
import type { Logger } from '@l2lb/shared/log';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { patchAnnotations, patchServiceStatus, updateWithRetry } from '../../src/testing/writers.js';

class Capture implements Logger {
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
    /* dropped */
  }
}

describe('kube writers and events (unit, stub server)', () => {
  let server: Server;
  let client: KubeClient;
  const seen: string[] = [];
  let conflictsLeft = 0;

  before(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      seen.push(`${req.method} ${path}`);
      const reply = (code: number, body: unknown): void => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      req.resume();
      req.on('end', () => {
        if (path.startsWith('/apis/events.k8s.io/'))
          return reply(404, { kind: 'Status', reason: 'NotFound', message: 'the server could not find the requested resource', code: 404 });
        if (path.endsWith('/events')) return reply(201, { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1' } });
        if (path.includes('/gone')) return reply(404, { kind: 'Status', reason: 'NotFound', message: 'services "gone" not found', code: 404 });
        if (req.method === 'PUT' && conflictsLeft > 0) {
          conflictsLeft -= 1;
          return reply(409, {
            kind: 'Status',
            reason: 'Conflict',
            message: 'Operation cannot be fulfilled on services "web": the object has been modified',
            code: 409,
          });
        }
        return reply(200, { kind: 'Service', metadata: { name: 'web', namespace: 'ns', resourceVersion: '7' } });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = new KubeClient(loadKubeConfig({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('logs exactly one error line naming the object, counts it, and rethrows', async () => {
    const log = new Capture();
    const registry = new Registry();
    await assert.rejects(patchServiceStatus(client, 'ns', 'gone', { loadBalancer: { ingress: [] } }, { logger: log, registry }), KubeApiError);
    assert.deepEqual(log.lines, ['error patch status services ns/gone failed: 404 NotFound: services "gone" not found']);
    await assert.rejects(patchAnnotations(client, Resources.ipAddressPools, 'metallb-system', 'gone', { a: null }, { logger: log, registry }));
    assert.equal(log.lines.length, 2);
    const m = await registry.getSingleMetric('l2lb_kube_api_errors_total')!.get();
    assert.equal(
      m.values.reduce((a, v) => a + v.value, 0),
      2,
    );
  });

  it('retries a 409 with a fresh read, and gives up after the attempts', async () => {
    const log = new Capture();
    conflictsLeft = 2;
    seen.length = 0;
    let calls = 0;
    await updateWithRetry(
      client,
      Resources.services,
      'ns',
      'web',
      (cur) => {
        calls += 1;
        return cur;
      },
      { logger: log },
    );
    assert.equal(calls, 3);
    assert.deepEqual(seen.filter((s) => s.startsWith('GET')).length, 3);
    conflictsLeft = 10;
    await assert.rejects(
      updateWithRetry(client, Resources.services, 'ns', 'web', (cur) => cur, { logger: log, attempts: 2 }),
      (e: unknown) => e instanceof KubeApiError && e.code === 409,
    );
    assert.match(log.lines.at(-1) ?? '', /^error update services ns\/web failed: 409 Conflict/);
    conflictsLeft = 0;
  });

  it('EventRecorder writes at most maxInFlight events at once, queues the rest, and drops beyond maxQueued', async () => {
    let inFlight = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const stub = {
      create: async (): Promise<KubeObject> => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise<void>((r) => release.push(r));
        inFlight--;
        return { apiVersion: 'v1', kind: 'Event' };
      },
    } as unknown as KubeClient;
    const log = new Capture();
    const rec = new EventRecorder(stub, { controller: 'c', instance: 'i', logger: log, api: 'v1', maxInFlight: 3, maxQueued: 5 });
    const target = { kind: 'Service', apiVersion: 'v1', namespace: 'default', name: 'web' };
    const all = Array.from({ length: 10 }, (_, i) => rec.record(target, 'Normal', 'nodeAssigned', `event ${i}`));
    assert.equal(rec.dropped, 2, '3 in flight + 5 queued; the 9th and 10th are dropped');
    assert.ok(log.lines.some((l) => /too many events waiting to be written: dropping nodeAssigned for Service default\/web/.test(l)));
    while (release.length > 0 || inFlight > 0) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(all);
    assert.equal(peak, 3);
    assert.equal(results.filter((r) => r !== undefined).length, 8);
  });

  it('EventRecorder falls back to core/v1 when events.k8s.io/v1 is not served, and remembers it', async () => {
    const log = new Capture();
    seen.length = 0;
    const rec = new EventRecorder(client, { controller: 'l2lb.io/controller', instance: 'c-1', logger: log });
    const ev = await rec.record({ kind: 'Service', apiVersion: 'v1', namespace: 'ns', name: 'web' }, 'Normal', 'IPAllocated', 'ok');
    assert.equal(ev?.apiVersion, 'v1');
    assert.equal(rec.apiInUse, 'v1');
    await rec.record({ kind: 'Service', apiVersion: 'v1', namespace: 'ns', name: 'web' }, 'Normal', 'IPAllocated', 'again');
    assert.deepEqual(seen, ['POST /apis/events.k8s.io/v1/namespaces/ns/events', 'POST /api/v1/namespaces/ns/events', 'POST /api/v1/namespaces/ns/events']);
    assert.ok(log.lines.some((l) => l.includes('not served')));
  });
});
