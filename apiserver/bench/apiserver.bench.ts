// Embedded API server throughput with 10 000 Services: create (HTTP POST), list (JSON and Table), and
// watch-event delivery (in-process writes fanned out to 1 and 10 watchers; HTTP status patches end to end).
// Reference measured in the same run: JSON.stringify of the same objects (the floor for any JSON list).

import { request, type IncomingMessage } from 'node:http';
import { EmbeddedApiServer } from '../src/server.js';
import type { Json } from '../src/json.js';

const N = 10_000;
const TARGETS = { listMs: 400, watchEventsPerSec: 10_000, httpPatchPerSec: 1_500, httpCreatePerSec: 1_000 };

function svc(i: number): Json {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: `ns-${i % 20}`, labels: { app: `a${i % 100}`, tier: i % 2 ? 'front' : 'back' } },
    spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, selector: { app: `a${i % 100}` }, ports: [{ name: 'http', port: 80 }] },
  } as Json;
}

function call(
  port: number,
  method: string,
  path: string,
  body?: Json,
  headers: Record<string, string> = {},
): Promise<{ status: number; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: keepAlive,
        headers: { ...(payload ? { 'Content-Type': headers['Content-Type'] ?? 'application/json' } : {}), ...headers },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, bytes: buf.length, text: buf.length < 4096 ? buf.toString() : '' });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

import { Agent } from 'node:http';
const keepAlive = new Agent({ keepAlive: true, maxSockets: 16 });

async function parallel(total: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < total) await fn(next++);
    }),
  );
}

interface Watcher {
  count: number;
  close(): void;
}

function watch(port: number, path: string, until: (n: number) => void): Promise<Watcher> {
  return new Promise((resolve, reject) => {
    const w: Watcher = { count: 0, close: () => req.destroy() };
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (c: string) => {
        buf += c;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const ev = JSON.parse(line) as { type: string };
          if (ev.type !== 'BOOKMARK') {
            w.count += 1;
            until(w.count);
          }
        }
      });
      res.on('error', () => undefined);
      resolve(w);
    });
    req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)));
    req.end();
  });
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main(): Promise<void> {
  const server = new EmbeddedApiServer({ historyLimit: 50_000 });
  const url = await server.start();
  const port = Number(new URL(url).port);
  const api = server.api;
  const nsType = api.type('', 'v1', 'namespaces')!;
  for (let i = 0; i < 20; i++) api.create(nsType, undefined, { metadata: { name: `ns-${i}` } });
  const svcType = api.type('', 'v1', 'services')!;

  // 1. Create over HTTP (first 2 000), the rest in-process.
  const httpCreates = 2000;
  let t0 = process.hrtime.bigint();
  await parallel(httpCreates, 8, async (i) => {
    const r = await call(port, 'POST', `/api/v1/namespaces/ns-${i % 20}/services`, svc(i));
    if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${r.text}`);
  });
  const createMs = ms(t0);
  const createRate = httpCreates / (createMs / 1000);
  for (let i = httpCreates; i < N; i++) api.create(svcType, `ns-${i % 20}`, svc(i));
  console.log(`create over HTTP (8 in flight): ${httpCreates} in ${createMs.toFixed(0)} ms = ${createRate.toFixed(0)}/s`);

  // Reference: the cost of serializing the same 10 000 objects.
  const all = api.list(svcType, { label: [], fields: [] });
  t0 = process.hrtime.bigint();
  const refRuns = 5;
  let refBytes = 0;
  for (let i = 0; i < refRuns; i++) refBytes = JSON.stringify({ kind: 'ServiceList', items: all }).length;
  const refMs = ms(t0) / refRuns;
  console.log(`reference JSON.stringify of ${all.length} Services: ${refMs.toFixed(1)} ms (${(refBytes / 1e6).toFixed(1)} MB)`);

  // 2. List.
  const runs = 5;
  const timeList = async (path: string, headers: Record<string, string> = {}): Promise<{ ms: number; bytes: number }> => {
    await call(port, 'GET', path, undefined, headers); // warm
    const t = process.hrtime.bigint();
    let bytes = 0;
    for (let i = 0; i < runs; i++) bytes = (await call(port, 'GET', path, undefined, headers)).bytes;
    return { ms: ms(t) / runs, bytes };
  };
  const full = await timeList('/api/v1/services');
  const sel = await timeList('/api/v1/services?labelSelector=tier%3Dfront');
  const page = await timeList('/api/v1/services?limit=500');
  const table = await timeList('/api/v1/services', { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
  console.log(
    `list all ${N} Services: ${full.ms.toFixed(1)} ms (${(full.bytes / 1e6).toFixed(1)} MB, ${(N / (full.ms / 1000)).toFixed(0)} objects/s), ratio to reference ${(full.ms / refMs).toFixed(2)}x`,
  );
  console.log(
    `list with labelSelector (5 000 match): ${sel.ms.toFixed(1)} ms; first page of 500: ${page.ms.toFixed(1)} ms; Table (kubectl get svc -A): ${table.ms.toFixed(1)} ms`,
  );

  // 3. Watch fan-out: in-process status writes, measured until every watcher has seen every event.
  const events = N;
  for (const watchers of [1, 10]) {
    let done = 0;
    let finish: () => void = () => undefined;
    const allSeen = new Promise<void>((r) => {
      finish = r;
    });
    const rv = String(api.store.resourceVersion);
    const ws: Watcher[] = [];
    for (let i = 0; i < watchers; i++) {
      ws.push(
        await watch(port, `/api/v1/services?watch=1&resourceVersion=${rv}`, (n) => {
          if (n === events && ++done === watchers) finish();
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 50));
    t0 = process.hrtime.bigint();
    for (let i = 0; i < events; i++) {
      api.patch(
        svcType,
        `ns-${i % 20}`,
        `svc-${i}`,
        { status: { loadBalancer: { ingress: [{ ip: `198.51.${(i >> 8) & 255}.${i & 255}`, ipMode: watchers === 1 ? 'VIP' : 'Proxy' }] } } },
        'application/merge-patch+json',
        'status',
      );
    }
    const writeMs = ms(t0);
    await allSeen;
    const totalMs = ms(t0);
    const rate = (events * watchers) / (totalMs / 1000);
    console.log(
      `watch, ${watchers} watcher(s): ${events} writes in ${writeMs.toFixed(0)} ms, all ${events * watchers} events delivered in ${totalMs.toFixed(0)} ms = ${rate.toFixed(0)} events/s`,
    );
    for (const w of ws) w.close();
    if (watchers === 1 && rate < TARGETS.watchEventsPerSec)
      console.log(`TARGET MISSED: watch delivery ${rate.toFixed(0)} events/s < ${TARGETS.watchEventsPerSec}`);
  }

  // 4. End to end: HTTP merge patches on /status, one watcher.
  {
    const patches = 2000;
    let finish: () => void = () => undefined;
    const seen = new Promise<void>((r) => {
      finish = r;
    });
    const w = await watch(port, `/api/v1/services?watch=1&resourceVersion=${api.store.resourceVersion}`, (n) => {
      if (n === patches) finish();
    });
    await new Promise((r) => setTimeout(r, 50));
    t0 = process.hrtime.bigint();
    await parallel(patches, 8, async (i) => {
      const r = await call(
        port,
        'PATCH',
        `/api/v1/namespaces/ns-${i % 20}/services/svc-${i}/status`,
        { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      if (r.status !== 200) throw new Error(`patch ${i}: ${r.status} ${r.text}`);
    });
    await seen;
    const total = ms(t0);
    const rate = patches / (total / 1000);
    console.log(`HTTP status patch → watch event (8 in flight): ${patches} in ${total.toFixed(0)} ms = ${rate.toFixed(0)}/s`);
    w.close();
    if (rate < TARGETS.httpPatchPerSec) console.log(`TARGET MISSED: HTTP patch→event ${rate.toFixed(0)}/s < ${TARGETS.httpPatchPerSec}`);
  }

  if (full.ms > TARGETS.listMs) console.log(`TARGET MISSED: list of ${N} Services took ${full.ms.toFixed(0)} ms > ${TARGETS.listMs} ms`);
  if (createRate < TARGETS.httpCreatePerSec) console.log(`TARGET MISSED: HTTP create ${createRate.toFixed(0)}/s < ${TARGETS.httpCreatePerSec}`);
  console.log(
    `targets: list < ${TARGETS.listMs} ms, watch ≥ ${TARGETS.watchEventsPerSec} events/s, HTTP patch→event ≥ ${TARGETS.httpPatchPerSec}/s, HTTP create ≥ ${TARGETS.httpCreatePerSec}/s`,
  );
  keepAlive.destroy();
  await server.close();
}

await main();
