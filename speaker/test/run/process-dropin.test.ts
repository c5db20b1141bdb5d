// MetalLB drop-in behaviour of the speaker process, against the embedded API server (loopback, no
// root) with the announcer on fake sockets and memberlist off: MetalLB's metric names on /metrics,
// the metallb-excludel2 ConfigMap watched live, and the last valid configuration kept when the
// configuration disappears (ConfigMap deleted, metallb.io CRDs not served) or has no pool.
import assert from 'node:assert/strict';
import type { KubeClient } from '@l2lb/shared/kube/client';
import { Resources } from '@l2lb/shared/kube/types';
import { startProbeServer, type ProbeServer } from '@l2lb/shared/probes';
import { electionOrder } from '../../src/election/election.js';
import { Announcer } from '../../src/l2/announcer.js';
import { ARP_REQUEST, BROADCAST_MAC, ZERO_MAC, buildArpFrame, parseIp, parseMac } from '../../src/l2/index.js';
import { parseRunArgs, type RunOptions } from '../../src/run/options.js';
import { SpeakerProcess } from '../../src/run/process.js';
import { FakeNet, iface } from '../l2/fakes.js';
import { waitFor } from '../helpers/wait.js';
import { createService, memoryLogger, startEmbedded, type Embedded } from '../helpers/embedded.js';

const NS = 'l2lb-system';
const IP = '10.252.0.5';
const POOL = 'address-pools:\n- name: cm\n  protocol: layer2\n  addresses:\n  - 10.252.0.0/24\n';
const CLIENT = parseMac('02:00:00:00:00:c1');

describe('speaker process: MetalLB drop-in (embedded API server, fake sockets, no root)', function () {
  this.timeout(30_000);
  let server: Embedded | undefined;
  let client: KubeClient;
  let speaker: SpeakerProcess | undefined;
  let probes: ProbeServer | undefined;
  const logs: Record<string, unknown>[] = [];
  const net = new FakeNet();
  let announcer: Announcer;

  before(async () => {
    server = await startEmbedded({ metallbBuiltin: false }); // the metallb.io CRDs are not served
    client = server.client;
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'me' } });
    await client.create(Resources.configMaps, NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: NS }, data: { config: POOL } });
    net.ifaces = [iface('eth0', 2, '02:00:00:00:0b:01'), iface('veth9', 3, '02:00:00:00:0b:02')];
    announcer = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, garpCount: 1 });
    const opts = parseRunArgs(['--node-name', 'me', '--ml-bind-addr', '', '--metrics-port', '0'], {}) as RunOptions;
    speaker = new SpeakerProcess(opts, client, memoryLogger(logs), { announcer, crdRecheckMs: 60_000 });
    await speaker.start();
    probes = await startProbeServer({ host: '127.0.0.1', port: 0, registry: speaker.registry, ready: () => speaker?.ready ?? false });
    await createService(client, 'web', IP, 'me');
    await waitFor(() => announcer.announced().includes(IP), { timeoutMs: 10_000, what: 'the announcement' });
  });

  after(async () => {
    await probes?.close();
    await speaker?.stop();
    await server?.close();
  });

  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${probes?.port ?? 0}/metrics`)).text();
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const excludeL2 = (list: string): Record<string, unknown> => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'metallb-excludel2', namespace: NS },
    data: { 'excludel2.yaml': `announcedInterfacesToExclude: ${list}\n` },
  });

  it("/metrics carries every metallb_ series of the speaker with MetalLB's labels", async () => {
    net
      .open('eth0', 'arp')
      .deliver([buildArpFrame(BROADCAST_MAC, CLIENT, { op: ARP_REQUEST, sha: CLIENT, spa: parseIp('10.252.0.1'), tha: ZERO_MAC, tpa: parseIp(IP) })]);
    const text = await waitFor(
      async () => {
        const t = await scrape();
        return sample(t, `metallb_layer2_requests_received{ip="${IP}"}`) === 1 ? t : undefined;
      },
      { timeoutMs: 5000, what: 'the ARP request counted' },
    );
    assert.equal(sample(text, `metallb_layer2_responses_sent{ip="${IP}"}`), 1);
    assert.ok((sample(text, `metallb_layer2_gratuitous_sent{ip="${IP}"}`) ?? 0) >= 1);
    assert.equal(sample(text, 'metallb_k8s_client_config_loaded_bool'), 1);
    assert.equal(sample(text, 'metallb_k8s_client_config_stale_bool'), 0);
    assert.ok((sample(text, 'metallb_k8s_client_updates_total') ?? 0) >= 3, 'Node, Service, EndpointSlice, config');
    assert.equal(sample(text, 'metallb_k8s_client_update_errors_total'), 0);
    assert.equal(sample(text, `metallb_speaker_announced{service="default/web",protocol="layer2",node="me",ip="${IP}"}`), 1);
    for (const [name, type] of [
      ['metallb_layer2_requests_received', 'counter'],
      ['metallb_layer2_responses_sent', 'counter'],
      ['metallb_layer2_gratuitous_sent', 'counter'],
      ['metallb_k8s_client_config_loaded_bool', 'gauge'],
      ['metallb_k8s_client_config_stale_bool', 'gauge'],
      ['metallb_k8s_client_updates_total', 'counter'],
      ['metallb_k8s_client_update_errors_total', 'counter'],
    ])
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
  });

  it('metallb-excludel2 is watched live; a bad regex is refused and the last good list stays; deleting it restores the default', async () => {
    assert.deepEqual(announcer.interfaces(), ['eth0'], 'veth excluded by the default list');
    await client.create(Resources.configMaps, NS, excludeL2('["^eth"]'));
    await waitFor(() => announcer.interfaces().join() === 'veth9', { timeoutMs: 5000, what: 'veth9 in, eth0 out' });
    await client.patch(
      Resources.configMaps,
      NS,
      'metallb-excludel2',
      { data: { 'excludel2.yaml': 'announcedInterfacesToExclude: ["^veth(", "^lo$"]\n' } },
      'merge',
    );
    const line = await waitFor(() => logs.find((l) => l['level'] === 'error' && /invalid interface exclusions/.test(String(l['message']))), {
      timeoutMs: 5000,
      what: 'the refusal',
    });
    assert.match(
      String(line['message']),
      /ConfigMap l2lb-system\/metallb-excludel2 data.excludel2.yaml: announcedInterfacesToExclude\[0\] "\^veth\(" is not a valid regular expression/,
    );
    assert.deepEqual(announcer.interfaces(), ['veth9'], 'the last good list stays');
    assert.equal(sample(await scrape(), 'l2lb_speaker_excludel2_refused'), 1);
    const events = await waitFor(
      async () => {
        const list = await client.list(Resources.events, { namespace: NS });
        const found = (list.items as { reason?: string; regarding?: { name?: string } }[]).filter(
          (e) => e.reason === 'InvalidConfiguration' && e.regarding?.name === 'metallb-excludel2',
        );
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 5000, what: 'the Warning event on the ConfigMap' },
    );
    assert.equal(events.length, 1);
    await client.delete(Resources.configMaps, NS, 'metallb-excludel2');
    await waitFor(() => announcer.interfaces().join() === 'eth0', { timeoutMs: 5000, what: 'the default list again' });
    assert.equal(sample(await scrape(), 'l2lb_speaker_excludel2_refused'), 0);
    await waitFor(() => announcer.announced().includes(IP), { timeoutMs: 5000, what: 'still announced' });
  });

  it('the ConfigMap deleted with no CRs and CRDs not served: the speaker keeps announcing with its last valid configuration', async () => {
    await client.delete(Resources.configMaps, NS, 'config');
    await waitFor(() => logs.some((l) => l['level'] === 'warn' && /no address pool any more/.test(String(l['message']))), {
      timeoutMs: 5000,
      what: 'the warning',
    });
    assert.ok(announcer.announced().includes(IP));
    assert.ok(speaker?.core.configStale);
    assert.equal(sample(await scrape(), 'metallb_k8s_client_config_stale_bool'), 1);
    assert.ok(!logs.some((l) => l['message'] === 'withdrawn'), 'nothing withdrawn');
    // A Service change meanwhile is still decided with the held configuration.
    await client.patch(Resources.services, 'default', 'web', { metadata: { labels: { touched: 'yes' } } }, 'merge');
    await client.create(Resources.configMaps, NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: NS }, data: { config: POOL } });
    await waitFor(() => speaker?.core.configStale === false, { timeoutMs: 5000, what: 'the configuration back' });
    assert.ok(announcer.announced().includes(IP));
  });

  it('a configuration with zero pools is treated like none: the announcements stay until it holds a pool', async () => {
    const warnings = (): number => logs.filter((l) => l['level'] === 'warn' && /no address pool any more/.test(String(l['message']))).length;
    const before = warnings();
    await client.patch(Resources.configMaps, NS, 'config', { data: { config: 'address-pools: []\n' } }, 'merge');
    await waitFor(() => warnings() > before, { timeoutMs: 5000, what: 'the warning' });
    assert.ok(announcer.announced().includes(IP));
    assert.ok(!logs.some((l) => l['message'] === 'withdrawn'));
    await client.patch(Resources.configMaps, NS, 'config', { data: { config: POOL } }, 'merge');
    await waitFor(() => speaker?.core.configStale === false, { timeoutMs: 5000, what: 'a pool again' });
    assert.ok(announcer.announced().includes(IP));
  });
});

describe('speaker process: L2Advertisement.preferredNodeSelectors end to end (embedded API server, CRDs served)', function () {
  this.timeout(30_000);
  let server: Embedded | undefined;
  let speaker: SpeakerProcess | undefined;
  const logs: Record<string, unknown>[] = [];

  after(async () => {
    await speaker?.stop();
    await server?.close();
  });

  it('a preferred node wins over the hash winner, and loses again when its label goes', async () => {
    server = await startEmbedded({ metallbBuiltin: true });
    const client = server.client;
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'me', labels: { edge: 'true' } } });
    await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'other' } });
    // An IP the plain hash election gives to "other".
    const ip = Array.from({ length: 50 }, (_, i) => `10.253.0.${10 + i}`).find((a) => electionOrder(['me', 'other'], a)[0] === 'other');
    assert.ok(ip);
    await client.create(Resources.ipAddressPools, NS, {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'edge', namespace: NS },
      spec: { addresses: ['10.253.0.0/24'] },
    });
    await client.create(Resources.l2Advertisements, NS, {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: 'prefer-edge', namespace: NS },
      spec: { ipAddressPools: ['edge'], preferredNodeSelectors: [{ weight: 50, preference: { matchLabels: { edge: 'true' } } }] },
    });
    const net = new FakeNet();
    net.ifaces = [iface('eth0', 2, '02:00:00:00:0c:01')];
    const announcer = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, garpCount: 1 });
    const opts = parseRunArgs(['--node-name', 'me', '--ml-bind-addr', '', '--metrics-port', '0'], {}) as RunOptions;
    speaker = new SpeakerProcess(opts, client, memoryLogger(logs), { announcer });
    await speaker.start();
    await createService(client, 'edge-web', ip, 'other');
    await waitFor(() => announcer.announced().includes(ip), { timeoutMs: 10_000, what: 'the preferred node announcing' });
    await client.patch(Resources.nodes, undefined, 'me', { metadata: { labels: { edge: null } } }, 'merge');
    await waitFor(() => !announcer.announced().includes(ip), { timeoutMs: 10_000, what: 'the withdraw once the preference is gone' });
    const withdrawn = logs.find((l) => l['message'] === 'withdrawn' && l['service'] === 'default/edge-web');
    assert.match(String(withdrawn?.['detail']), /node other wins the election/);
  });
});
