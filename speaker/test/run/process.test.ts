// The process edge without root: SpeakerProcess against the embedded API server (in-process, loopback)
// with the announcer on fake sockets and memberlist off. Informers feed the core, Events are written,
// an invalid ConfigMap keeps the last config, CRDs installed later are picked up.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { KubeClient } from '@l2lb/shared/kube/client';
import { loadClientConfig } from '@l2lb/shared/kube/light-config';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { Announcer } from '../../src/l2/announcer.js';
import { parseRunArgs, type RunOptions } from '../../src/run/options.js';
import { SpeakerProcess } from '../../src/run/process.js';
import { FakeNet, iface } from '../l2/fakes.js';
import { waitFor } from '../helpers/wait.js';

interface LabApi {
  EmbeddedApiServer: new (opts: { host?: string; port?: number; api?: unknown }) => { start(): Promise<string>; close(): Promise<void> };
  Api: new (store: unknown, opts: { metallbBuiltin?: boolean }) => unknown;
  Store: new () => unknown;
  renderKubeconfig(p: { server: string }): string;
  metallbCrds(): KubeObject[];
}

const NS = 'l2lb-system';
const pool = (cidr: string): string => `address-pools:\n- name: cm\n  protocol: layer2\n  addresses:\n  - ${cidr}\n`;

describe('speaker process edge (embedded API server, fake sockets, no root)', function () {
  this.timeout(30_000);
  let lab: LabApi;
  let server: { close(): Promise<void> } | undefined;
  let client: KubeClient;
  let dir = '';
  let speaker: SpeakerProcess | undefined;
  const logs: Record<string, unknown>[] = [];
  const net = new FakeNet();
  let announcer: Announcer;

  before(async () => {
    const specifier = '@l2lb/lab/apiserver/index';
    lab = (await import(specifier)) as LabApi;
    const s = new lab.EmbeddedApiServer({ host: '127.0.0.1', port: 0, api: new lab.Api(new lab.Store(), { metallbBuiltin: false }) });
    const url = await s.start();
    server = s;
    dir = mkdtempSync(join(tmpdir(), 'l2sr-proc-'));
    writeFileSync(join(dir, 'kubeconfig'), lab.renderKubeconfig({ server: url }));
    client = new KubeClient(await loadClientConfig(join(dir, 'kubeconfig')));
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'me' } });
    await client.create(Resources.configMaps, NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: NS }, data: { config: pool('10.250.0.0/24') } });
  });

  after(async () => {
    await speaker?.stop();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const logged = (message: string): Record<string, unknown> | undefined => logs.find((l) => l['message'] === message);

  async function service(name: string, ip: string): Promise<void> {
    await client.create(Resources.services, 'default', {
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
    });
    await client.create(Resources.endpointSlicesV1, 'default', {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], nodeName: 'me', conditions: { ready: true } }],
    });
    await client.patch(Resources.services, 'default', name, { status: { loadBalancer: { ingress: [{ ip }] } } }, 'merge', 'status');
  }

  type Ev = { reason?: string; note?: string; type?: string; regarding?: { name?: string } };
  async function events(reason: string): Promise<Ev[]> {
    const list = await client.list(Resources.events, { namespace: 'default' });
    return (list.items as Ev[]).filter((e) => e.reason === reason);
  }

  it('announces a Service it wins (memberlist off: every Node is a candidate) and records nodeAssigned once', async () => {
    net.ifaces = [iface('eth0', 2, '02:00:00:00:0a:01')];
    announcer = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, garpCount: 1 });
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
    const log = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
    const opts = parseRunArgs(['--node-name', 'me', '--ml-bind-addr', '', '--metrics-port', '0'], {}) as RunOptions;
    speaker = new SpeakerProcess(opts, client, log, { announcer, crdRecheckMs: 100 });
    await speaker.start();
    assert.ok(speaker.ready);
    await service('web', '10.250.0.5');
    await waitFor(() => announcer.announced().includes('10.250.0.5'), { timeoutMs: 5000, what: 'the announcement' });
    assert.deepEqual(logged('announcing')?.['interfaces'], ['eth0']);
    const assigned = await waitFor(async () => (await events('nodeAssigned')).length > 0 && events('nodeAssigned'), { timeoutMs: 5000, what: 'nodeAssigned' });
    assert.equal(assigned.length, 1);
    assert.equal(assigned[0]?.note, 'announcing from node "me" with protocol "layer2"');
    const metrics = await speaker.registry.metrics();
    assert.match(metrics, /l2lb_speaker_announced\{service="default\/web",protocol="layer2",node="me",ip="10\.250\.0\.5"\} 1/);
    assert.match(metrics, /l2lb_kube_informer_synced\{informer="services"\} 1/);
  });

  it('an invalid ConfigMap keeps the last valid configuration', async () => {
    await client.patch(Resources.configMaps, NS, 'config', { data: { config: 'address-pools: [ {' } }, 'merge');
    await waitFor(() => logs.some((l) => l['level'] === 'error' && /invalid configuration, keeping the last valid one/.test(String(l['message']))), { timeoutMs: 5000, what: 'the error' });
    assert.ok(speaker?.core.configStale);
    assert.deepEqual(announcer.announced(), ['10.250.0.5']);
    await client.patch(Resources.configMaps, NS, 'config', { data: { config: pool('10.250.0.0/24') } }, 'merge');
    await waitFor(() => speaker?.core.configStale === false, { timeoutMs: 5000, what: 'the valid config again' });
  });

  it('CRDs installed later are picked up; missing L2Advertisement interfaces give announceFailed', async () => {
    for (const crd of lab.metallbCrds()) await client.create(Resources.customResourceDefinitions, undefined, crd);
    await client.create(Resources.ipAddressPools, NS, { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'cr', namespace: NS }, spec: { addresses: ['10.251.0.0/24'] } });
    await client.create(Resources.l2Advertisements, NS, { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'ad', namespace: NS }, spec: { ipAddressPools: ['cr'], interfaces: ['bond7'] } });
    await waitFor(() => logs.some((l) => l['message'] === 'configuration loaded' && JSON.stringify(l['pools']).includes('10.251.0.0/24')), { timeoutMs: 5000, what: 'the CR pool in the config' });
    await service('db', '10.251.0.9');
    const failed = await waitFor(async () => (await events('announceFailed')).length > 0 && events('announceFailed'), { timeoutMs: 5000, what: 'announceFailed' });
    assert.equal(failed[0]?.type, 'Warning');
    assert.equal(failed[0]?.regarding?.name, 'db');
    assert.match(failed[0]?.note ?? '', /bond7/);
    assert.ok(!announcer.announced().includes('10.251.0.9'));
  });

  it('stop() withdraws everything', async () => {
    await speaker?.stop();
    assert.deepEqual(announcer.announced(), []);
    assert.ok(logs.some((l) => l['message'] === 'withdrawn' && l['reason'] === 'shutdown'));
  });
});
