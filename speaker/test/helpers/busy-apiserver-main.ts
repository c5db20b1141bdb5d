// The embedded API server with a busy cluster in it, for the busy-speaker measurement: SERVICES
// LoadBalancer Services (each with a status IP from POOL and one EndpointSlice), NODES Node objects
// (n1..n3 are the speakers, the rest only Kubernetes nodes), and, on SIGUSR1, load for SECONDS:
// CHURN Service updates/s (an annotation), a forced relist every RELIST_MS (history compacted and
// every watch cut, so each informer resumes into 410 Expired and lists again), and NODE_UPS Node
// updates/s (a heartbeat annotation; every 10th one flips a label, which makes a speaker pass over
// every Service). The load runs here, in-process, so it costs no HTTP round trip of its own.
// usage: node busy-apiserver-main.js HOST PORT KUBECONFIG_OUT SERVICES NODES CHURN RELIST_MS NODE_UPS SECONDS
// Prints "serving URL", then {"event":"seeded",...}, and {"event":"load",...} when the load ends.
import { writeFileSync } from 'node:fs';
import { busyServiceIp, busyServiceName, BUSY_NAMESPACES, busyPoolCidr } from './busy-plan.js';

type Json = unknown;
interface ResourceType {
  readonly resource: string;
}
interface LabApi {
  EmbeddedApiServer: new (opts: { host?: string; port?: number; historyLimit?: number }) => {
    start(): Promise<string>;
    close(): Promise<void>;
    compact(): void;
    killWatches(): void;
    readonly api: {
      type(group: string, version: string, resource: string): ResourceType | undefined;
      create(t: ResourceType, namespace: string | undefined, body: Json): Record<string, unknown>;
      update(t: ResourceType, namespace: string | undefined, name: string, body: Json, subresource: 'status' | undefined): Record<string, unknown>;
      get(t: ResourceType, namespace: string | undefined, name: string): Record<string, unknown>;
    };
  };
  renderKubeconfig(p: { server: string }): string;
}

const args = process.argv.slice(2);
const [host, port, out] = args;
const [services, nodes, churnPerSec, relistMs, nodeUpdatesPerSec, seconds] = args.slice(3).map(Number);
if (!host || !port || !out || [services, nodes, churnPerSec, relistMs, nodeUpdatesPerSec, seconds].some((n) => n === undefined || !Number.isFinite(n))) {
  process.stderr.write('usage: busy-apiserver-main.js HOST PORT KUBECONFIG_OUT SERVICES NODES CHURN RELIST_MS NODE_UPS SECONDS\n');
  process.exit(2);
}
const nServices = services as number;
const nNodes = nodes as number;

// The embedded API server (@l2lb/apiserver; it left the lab package, and this path was not updated then).
const specifier = '@l2lb/apiserver';
const lab = (await import(specifier)) as LabApi;
const server = new lab.EmbeddedApiServer({ host, port: Number(port) });
const url = await server.start();
writeFileSync(out, lab.renderKubeconfig({ server: url }), { mode: 0o600 });
process.stdout.write(`serving ${url}\n`);

const api = server.api;
const must = (g: string, v: string, r: string): ResourceType =>
  api.type(g, v, r) ??
  (() => {
    throw new Error(`no resource ${g}/${v}/${r}`);
  })();
const T = {
  ns: must('', 'v1', 'namespaces'),
  cm: must('', 'v1', 'configmaps'),
  node: must('', 'v1', 'nodes'),
  svc: must('', 'v1', 'services'),
  slice: must('discovery.k8s.io', 'v1', 'endpointslices'),
};

const nodeName = (i: number): string => (i < 3 ? `n${i + 1}` : `k${i}`);
const seedStart = performance.now();
for (const name of ['l2lb-system', ...BUSY_NAMESPACES]) {
  try {
    api.create(T.ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch {
    // default exists already
  }
}
api.create(T.cm, 'l2lb-system', {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'config', namespace: 'l2lb-system' },
  data: { config: `address-pools:\n- name: busy\n  protocol: layer2\n  addresses:\n  - ${busyPoolCidr()}\n` },
});
for (let i = 0; i < nNodes; i++) {
  const name = nodeName(i);
  api.create(T.node, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, zone: 'a' } } });
}
for (let i = 0; i < nServices; i++) {
  const { namespace, name } = busyServiceName(i);
  const created = api.create(T.svc, namespace, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { app: name } },
    spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  });
  api.update(T.svc, namespace, name, { ...created, status: { loadBalancer: { ingress: [{ ip: busyServiceIp(i) }] } } }, 'status');
  api.create(T.slice, namespace, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-1`, namespace, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: [{ addresses: [`10.244.${(i >> 8) & 255}.${i & 255}`], nodeName: nodeName(i % nNodes), conditions: { ready: true } }],
  });
}
process.stdout.write(`${JSON.stringify({ event: 'seeded', services: nServices, nodes: nNodes, ms: Math.round(performance.now() - seedStart) })}\n`);

/** Runs `perSec` calls of `fn` per second in 20 ms ticks, catching up on ticks the loop missed. */
function paced(perSec: number, fn: (n: number) => void): () => void {
  if (perSec <= 0) return () => undefined;
  const t0 = performance.now();
  let done = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * perSec);
    // At most one second's worth per tick: a stalled server does not answer with a burst.
    for (let k = 0; done < due && k < perSec; k++) fn(done++);
    done = Math.max(done, due - perSec);
  }, 20);
  return () => clearInterval(timer);
}

const counts = { serviceUpdates: 0, nodeUpdates: 0, labelFlips: 0, relists: 0, errors: 0 };
process.once('SIGUSR1', () => {
  const started = performance.now();
  const stops = [
    paced(churnPerSec as number, (n) => {
      const { namespace, name } = busyServiceName(n % nServices);
      try {
        const cur = api.get(T.svc, namespace, name) as { metadata: Record<string, unknown> };
        api.update(T.svc, namespace, name, { ...cur, metadata: { ...cur.metadata, annotations: { 'busy.l2lb.io/churn': String(n) } } }, undefined);
        counts.serviceUpdates += 1;
      } catch {
        counts.errors += 1;
      }
    }),
    paced(nodeUpdatesPerSec as number, (n) => {
      // Kubernetes-only nodes (k3...): their heartbeats and labels concern no memberlist member.
      const name = nodeName(3 + (n % Math.max(1, nNodes - 3)));
      try {
        const cur = api.get(T.node, undefined, name) as { metadata: Record<string, unknown> & { labels?: Record<string, string> } };
        const flip = n % 10 === 9;
        const labels = flip ? { ...cur.metadata.labels, zone: cur.metadata.labels?.['zone'] === 'a' ? 'b' : 'a' } : cur.metadata.labels;
        api.update(T.node, undefined, name, { ...cur, metadata: { ...cur.metadata, labels, annotations: { 'busy.l2lb.io/heartbeat': String(n) } } }, undefined);
        counts.nodeUpdates += 1;
        if (flip) counts.labelFlips += 1;
      } catch {
        counts.errors += 1;
      }
    }),
  ];
  const relist =
    (relistMs as number) > 0
      ? setInterval(() => {
          server.compact();
          server.killWatches();
          counts.relists += 1;
        }, relistMs)
      : undefined;
  setTimeout(
    () => {
      for (const stop of stops) stop();
      if (relist) clearInterval(relist);
      process.stdout.write(`${JSON.stringify({ event: 'load', seconds: (performance.now() - started) / 1000, ...counts })}\n`);
    },
    (seconds as number) * 1000,
  );
});

const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
