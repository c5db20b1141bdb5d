// The process edge without root: SpeakerProcess against the embedded API server (in-process, loopback)
// with the announcer on fake sockets and memberlist off. Informers feed the core, Events are written,
// an invalid ConfigMap keeps the last config, CRDs installed later are picked up.
import assert from 'node:assert/strict';
import type { KubeClient } from '@l2lb/shared/kube/client';
import { Resources } from '@l2lb/shared/kube/types';
import { Announcer } from '../../src/l2/announcer.js';
import { parseIp, parseMac } from '../../src/l2/addr.js';
import { buildGratuitousArp } from '../../src/l2/arp.js';
import { parseRunArgs, type RunOptions } from '../../src/run/options.js';
import { SpeakerProcess } from '../../src/run/process.js';
import { FakeNet, iface } from '../l2/fakes.js';
import { waitFor } from '../helpers/wait.js';
import { createService, memoryLogger, startEmbedded, type Embedded } from '../helpers/embedded.js';

const NS = 'l2lb-system';
const pool = (cidr: string): string => `address-pools:\n- name: cm\n  protocol: layer2\n  addresses:\n  - ${cidr}\n`;

describe('speaker process edge (embedded API server, fake sockets, no root)', function () {
  this.timeout(30_000);
  let server: Embedded | undefined;
  let client: KubeClient;
  let speaker: SpeakerProcess | undefined;
  const logs: Record<string, unknown>[] = [];
  const net = new FakeNet();
  let announcer: Announcer;

  before(async () => {
    server = await startEmbedded({ metallbBuiltin: false });
    client = server.client;
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'me' } });
    await client.create(Resources.configMaps, NS, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: NS },
      data: { config: pool('10.250.0.0/24') },
    });
  });

  after(async () => {
    await speaker?.stop();
    await server?.close();
  });

  const logged = (message: string): Record<string, unknown> | undefined => logs.find((l) => l['message'] === message);

  const service = (name: string, ip: string): Promise<void> => createService(client, name, ip, 'me');

  type Ev = { reason?: string; note?: string; type?: string; regarding?: { name?: string } };
  async function events(reason: string): Promise<Ev[]> {
    const list = await client.list(Resources.events, { namespace: 'default' });
    return (list.items as Ev[]).filter((e) => e.reason === reason);
  }

  it('announces a Service it wins (memberlist off: every Node is a candidate) and records nodeAssigned once', async () => {
    net.ifaces = [iface('eth0', 2, '02:00:00:00:0a:01')];
    announcer = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, garpCount: 1 });
    const log = memoryLogger(logs);
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

  it('another host answering for an announced IP: an IPConflict Warning Event on its Service, once a minute per MAC', async () => {
    const arp = net.open('eth0', 'arp');
    const claim = (mac: string): void => arp.deliver(buildGratuitousArp(parseMac(mac), parseIp('10.250.0.5')));
    claim('02:00:00:00:0b:02');
    const ev = await waitFor(async () => (await events('IPConflict'))[0], { timeoutMs: 5000, what: 'the IPConflict Event' });
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.regarding?.name, 'web');
    assert.match(ev.note ?? '', /another host \(MAC 02:00:00:00:0b:02\) also answers for 10\.250\.0\.5 on eth0 .* while node "me" announces it/);
    claim('02:00:00:00:0b:02'); // the same host again: counted, no new Event within the minute
    claim('02:00:00:00:0b:03'); // another host: its own Event
    await waitFor(async () => (await events('IPConflict')).some((e) => /0b:03/.test(e.note ?? '')), { timeoutMs: 5000, what: 'the second host' });
    assert.equal((await events('IPConflict')).filter((e) => /0b:02/.test(e.note ?? '')).length, 1);
    assert.deepEqual(announcer.announced(), ['10.250.0.5'], 'a conflict does not make this node give the IP up');
  });

  it('an invalid ConfigMap keeps the last valid configuration', async () => {
    await client.patch(Resources.configMaps, NS, 'config', { data: { config: 'address-pools: [ {' } }, 'merge');
    await waitFor(() => logs.some((l) => l['level'] === 'error' && /invalid configuration, keeping the last valid one/.test(String(l['message']))), {
      timeoutMs: 5000,
      what: 'the error',
    });
    assert.ok(speaker?.core.configStale);
    assert.deepEqual(announcer.announced(), ['10.250.0.5']);
    await client.patch(Resources.configMaps, NS, 'config', { data: { config: pool('10.250.0.0/24') } }, 'merge');
    await waitFor(() => speaker?.core.configStale === false, { timeoutMs: 5000, what: 'the valid config again' });
  });

  it('CRDs installed later are picked up; missing L2Advertisement interfaces give announceFailed', async () => {
    for (const crd of server?.metallbCrds() ?? []) await client.create(Resources.customResourceDefinitions, undefined, crd);
    await client.create(Resources.ipAddressPools, NS, {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'cr', namespace: NS },
      spec: { addresses: ['10.251.0.0/24'] },
    });
    await client.create(Resources.l2Advertisements, NS, {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: 'ad', namespace: NS },
      spec: { ipAddressPools: ['cr'], interfaces: ['bond7'] },
    });
    await waitFor(() => logs.some((l) => l['message'] === 'configuration loaded' && JSON.stringify(l['pools']).includes('10.251.0.0/24')), {
      timeoutMs: 5000,
      what: 'the CR pool in the config',
    });
    await service('db', '10.251.0.9');
    const failed = await waitFor(async () => (await events('announceFailed')).length > 0 && events('announceFailed'), {
      timeoutMs: 5000,
      what: 'announceFailed',
    });
    assert.equal(failed[0]?.type, 'Warning');
    assert.equal(failed[0]?.regarding?.name, 'db');
    assert.match(failed[0]?.note ?? '', /bond7/);
    assert.ok(!announcer.announced().includes('10.251.0.9'));
  });

  it('an L2Advertisement interface that appears later gets the waiting Service announced on it', async () => {
    // Before the fix the core only re-read the announcer's interfaces on Service/config events: the
    // Service stayed unannounced until some unrelated change touched it.
    net.ifaces = [...net.ifaces, iface('bond7', 3, '02:00:00:00:0a:07')];
    announcer.rescan(); // what a netlink notification does
    await waitFor(() => announcer.announced().includes('10.251.0.9'), { timeoutMs: 5000, what: 'the announcement on bond7' });
    const line = logs.find((l) => l['message'] === 'announcing' && l['service'] === 'default/db');
    assert.deepEqual(line?.['interfaces'], ['bond7']);
    net.ifaces = net.ifaces.filter((i) => i.name !== 'bond7');
    announcer.rescan();
    await waitFor(() => !announcer.announced().includes('10.251.0.9'), { timeoutMs: 5000, what: 'the withdraw when bond7 goes' });
    assert.ok(logs.some((l) => l['message'] === 'withdrawn' && l['service'] === 'default/db' && l['reason'] === 'interfacesMissing'));
  });

  it('stop() withdraws everything', async () => {
    await speaker?.stop();
    assert.deepEqual(announcer.announced(), []);
    assert.ok(logs.some((l) => l['message'] === 'withdrawn' && l['reason'] === 'shutdown'));
  });
});
