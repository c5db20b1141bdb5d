// The process edge with memberlist on, without root: the speaker on 127.0.0.1 finds its peer through the
// speaker Pods (--ml-labels → status.podIP 127.0.0.2, same port), gossips encrypted, leaves the peer's
// Service alone while the peer lives and takes it over when the peer leaves.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from '@l2lb/apiserver/testing/free-port';
import { Resources } from '@l2lb/shared/kube/types';
import { Keyring, MemberlistNode, defaultWireOptions, makeConfig, metallbKey } from '@l2lb/memberlist';
import { electionOrder } from '../../src/election/election.js';
import { Announcer } from '../../src/l2/announcer.js';
import { parseRunArgs, type RunOptions } from '../../src/run/options.js';
import { SpeakerProcess } from '../../src/run/process.js';
import { FakeNet, iface } from '../l2/fakes.js';
import { waitFor } from '../helpers/wait.js';
import { createService, memoryLogger, startEmbedded, type Embedded } from '../helpers/embedded.js';

const NS = 'l2lb-system';
const SECRET = 'abcdefghijklmnopqrstuv';
const POOL = Array.from({ length: 50 }, (_, i) => `10.252.0.${10 + i}`);
/** An IP each of the two nodes wins. */
const mine = POOL.find((ip) => electionOrder(['me', 'peer'], ip)[0] === 'me') as string;
const theirs = POOL.find((ip) => electionOrder(['me', 'peer'], ip)[0] === 'peer') as string;

/** The speaker under test on a fake network, and what a test starts around it; all closed after the suite. */
function harness(mac: string): {
  api: Embedded | undefined;
  peer: MemberlistNode | undefined;
  speaker: SpeakerProcess | undefined;
  logs: Record<string, unknown>[];
  announcer: Announcer;
} {
  const net = new FakeNet();
  net.ifaces = [iface('eth0', 2, mac)];
  const h = {
    api: undefined as Embedded | undefined,
    peer: undefined as MemberlistNode | undefined,
    speaker: undefined as SpeakerProcess | undefined,
    logs: [] as Record<string, unknown>[],
    announcer: new Announcer({ socketFactory: net.factory, listInterfaces: net.list, garpCount: 1 }),
  };
  after(async () => {
    await h.speaker?.stop();
    await h.peer?.close();
    await h.api?.close();
  });
  return h;
}

describe('speaker process edge with memberlist (loopback, speaker Pods, no root)', function () {
  this.timeout(30_000);
  const h = harness('02:00:00:00:0b:01');
  const { logs, announcer } = h;

  it("joins the peer found through the speaker Pods and leaves the peer's Service alone", async () => {
    h.api = await startEmbedded();
    const { client, dir } = h.api;
    const port = await freePort();
    mkdirSync(join(dir, 'ml'));
    writeFileSync(join(dir, 'ml', 'secretkey'), SECRET);
    h.peer = new MemberlistNode(makeConfig('peer', '127.0.0.2', port, { wire: defaultWireOptions({ keyring: new Keyring([metallbKey(SECRET)]) }) }, 'fast'), {
      bindIp: '127.0.0.2',
      bindPort: port,
    });
    await h.peer.start();
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const n of ['me', 'peer']) await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
    await client.create(Resources.configMaps, NS, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: NS },
      data: { config: 'address-pools:\n- name: p\n  protocol: layer2\n  addresses:\n  - 10.252.0.0/24\n' },
    });
    await client.create(Resources.pods, NS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'speaker-peer', namespace: NS, labels: { app: 'l2lb', component: 'speaker' } },
      spec: { nodeName: 'peer', containers: [{ name: 'speaker', image: 'l2lb' }] },
    });
    await client.patch(Resources.pods, NS, 'speaker-peer', { status: { podIP: '127.0.0.2' } }, 'merge', 'status');

    const opts = parseRunArgs(
      [
        '--node-name',
        'me',
        '--namespace',
        NS,
        '--ml-bind-addr',
        '127.0.0.1',
        '--ml-bind-port',
        String(port),
        '--ml-secret-key-path',
        join(dir, 'ml'),
        '--metrics-port',
        '0',
      ],
      {},
    ) as RunOptions;
    h.speaker = new SpeakerProcess(opts, client, memoryLogger(logs), { announcer });
    await h.speaker.start();
    const hold = await waitFor(() => logs.find((l) => l['message'] === 'start-up hold over, evaluating Services'), {
      timeoutMs: 5000,
      what: 'the start-up hold to end',
    });
    assert.ok(h.speaker.ready);
    assert.equal(hold['why'], 'a memberlist peer answered');
    assert.ok(logs.some((l) => l['message'] === 'memberlist' && l['event'] === 'join' && l['member'] === 'peer'));
    assert.equal(logs.find((l) => l['message'] === 'memberlist started')?.['encrypted'], true);

    await createService(client, 'theirs', theirs, 'peer');
    await createService(client, 'mine', mine, 'me');
    await waitFor(() => announcer.announced().includes(mine), { timeoutMs: 5000, what: 'our own Service' });
    assert.deepEqual(announcer.announced(), [mine], `${theirs} belongs to the peer`);
    // The peer is a bare memberlist node without l2lb's metadata, as a MetalLB speaker is; ours carries it.
    assert.match((await h.speaker?.registry.metrics()) ?? '', /l2lb_speaker_foreign_members 1/);
    assert.equal(new TextDecoder().decode(h.peer?.ml.members().find((m) => m.name === 'me')?.meta ?? new Uint8Array()), 'l2lb-speaker/1');
  });

  it("takes the peer's Service over when the peer leaves", async () => {
    await h.peer?.leave(500);
    await h.peer?.close();
    await waitFor(() => announcer.announced().includes(theirs), { timeoutMs: 5000, what: 'the takeover' });
    assert.ok(logs.some((l) => l['message'] === 'memberlist' && l['event'] === 'leave' && l['member'] === 'peer'));
    const metrics = await h.speaker?.registry.metrics();
    assert.match(metrics ?? '', /l2lb_memberlist_members\{state="alive"\} 1/);
  });
});

describe('speaker process edge: no valid configuration, no memberlist (loopback, no root)', function () {
  this.timeout(30_000);
  const h = harness('02:00:00:00:0b:02');
  const { logs, announcer } = h;

  // A member that can announce nothing would still be a candidate: when it won, peers would withdraw
  // and nobody would answer for the VIP. So it joins only once the configuration is valid.
  it('stays out while the pool ConfigMap is invalid and joins once it is fixed', async () => {
    h.api = await startEmbedded();
    const { client } = h.api;
    const port = await freePort();
    h.peer = new MemberlistNode(makeConfig('peer', '127.0.0.2', port, {}, 'fast'), { bindIp: '127.0.0.2', bindPort: port });
    await h.peer.start();
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const configMap = (config: string): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: NS },
      data: { config },
    });
    await client.create(Resources.configMaps, NS, configMap('address-pools:\n- name: p\n  protocol: bgp\n  addresses: [10.252.0.0/24]\n'));
    const opts = parseRunArgs(
      [
        '--node-name',
        'me',
        '--namespace',
        NS,
        '--ml-bind-addr',
        '127.0.0.1',
        '--ml-bind-port',
        String(port),
        '--ml-join',
        `127.0.0.2:${port}`,
        '--ml-labels',
        '',
        '--ml-secret-key-path',
        '/nonexistent',
        '--metrics-port',
        '0',
      ],
      {},
    ) as RunOptions;
    h.speaker = new SpeakerProcess(opts, client, memoryLogger(logs), { announcer });
    await h.speaker.start();
    assert.ok(h.speaker.ready, 'ready: staying out is the intended state');
    assert.ok(logs.some((l) => String(l['message']).startsWith('no valid configuration yet: staying out of memberlist')));
    assert.ok(!logs.some((l) => l['message'] === 'memberlist started'));
    assert.deepEqual(
      h.peer.ml.members().map((m) => m.name),
      ['peer'],
    );

    await client.patch(Resources.configMaps, NS, 'config', {
      data: { config: 'address-pools:\n- name: p\n  protocol: layer2\n  addresses: [10.252.0.0/24]\n' },
    });
    await waitFor(() => h.peer?.ml.members().some((m) => m.name === 'me') || undefined, {
      timeoutMs: 5000,
      what: 'the speaker to join once the configuration is valid',
    });
    // Ready again once its start-up hold is over (the peer may record the push/pull before the speaker does).
    await waitFor(() => h.speaker?.ready || undefined, { timeoutMs: 5000, what: 'the speaker to be Ready after joining' });
  });
});

describe('speaker process edge: a speaker Pod that does not answer (loopback, no root)', function () {
  this.timeout(30_000);
  const h = harness('02:00:00:00:0b:03');
  const { logs, announcer } = h;
  const held: Socket[] = [];
  // A powered-off node whose Pod still lists its IP: the TCP push/pull to it gets no answer until the
  // memberlist TCP timeout. Here a listener that accepts and never replies stands in for it.
  const silent = createServer((sock) => {
    held.push(sock);
  });
  after(() => {
    for (const sock of held) sock.destroy();
    silent.close();
  });

  // A restarted speaker is a member (and a candidate) for its peers from its first push/pull on; its own
  // announcements must not wait for the dead Pod's timeout, or a VIP it wins stays unanswered meanwhile.
  it('ends the start-up hold when the first peer answers, not when the dead Pod times out', async () => {
    h.api = await startEmbedded();
    const { client, dir } = h.api;
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.3', resolve));
    h.peer = new MemberlistNode(makeConfig('peer', '127.0.0.2', port, {}, 'fast'), { bindIp: '127.0.0.2', bindPort: port });
    await h.peer.start();
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const n of ['me', 'peer', 'dead']) await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
    await client.create(Resources.configMaps, NS, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: NS },
      data: { config: 'address-pools:\n- name: p\n  protocol: layer2\n  addresses:\n  - 10.252.0.0/24\n' },
    });
    for (const [node, podIP] of [
      ['peer', '127.0.0.2'],
      ['dead', '127.0.0.3'],
    ] as const) {
      await client.create(Resources.pods, NS, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `speaker-${node}`, namespace: NS, labels: { app: 'l2lb', component: 'speaker' } },
        spec: { nodeName: node, containers: [{ name: 'speaker', image: 'l2lb' }] },
      });
      await client.patch(Resources.pods, NS, `speaker-${node}`, { status: { podIP } }, 'merge', 'status');
    }
    await createService(client, 'mine', mine, 'me');
    mkdirSync(join(dir, 'ml'), { recursive: true });
    const opts = parseRunArgs(
      [
        '--node-name',
        'me',
        '--namespace',
        NS,
        '--ml-bind-addr',
        '127.0.0.1',
        '--ml-bind-port',
        String(port),
        '--ml-secret-key-path',
        join(dir, 'ml'),
        '--metrics-port',
        '0',
      ],
      {},
    ) as RunOptions;
    h.speaker = new SpeakerProcess(opts, client, memoryLogger(logs), { announcer });
    await h.speaker.start();
    // Ready means answering for what it wins: a rolling reboot that waits for Ready must not move on earlier.
    assert.equal(
      h.speaker.ready,
      logs.some((l) => l['message'] === 'start-up hold over, evaluating Services'),
      'not Ready while the start-up hold lasts',
    );

    const attempt = await waitFor(() => logs.find((l) => l['message'] === 'memberlist join attempt'), { timeoutMs: 10_000, what: 'the join attempt to end' });
    assert.equal(attempt['contacted'], 1, 'the peer answered, the dead Pod did not');
    const at = (pred: (l: Record<string, unknown>) => boolean): number => logs.findIndex(pred);
    const hold = at((l) => l['message'] === 'start-up hold over, evaluating Services');
    assert.ok(hold >= 0);
    assert.equal(logs[hold]?.['why'], 'a memberlist peer answered');
    assert.ok(hold < at((l) => l['message'] === 'memberlist join attempt'), 'the hold ended before the dead Pod timed out');
    assert.ok(
      at((l) => l['message'] === 'announcing IP' && l['ip'] === mine) < at((l) => l['message'] === 'memberlist join attempt'),
      'the Service it wins was announced before the dead Pod timed out',
    );
    assert.deepEqual(announcer.announced(), [mine]);
    assert.ok(h.speaker.ready);
  });
});

describe('speaker process edge: no speaker Pod answers (loopback, no root)', function () {
  this.timeout(30_000);
  const h = harness('02:00:00:00:0b:04');
  const { logs, announcer } = h;
  const held: Socket[] = [];
  const silent = createServer((sock) => {
    held.push(sock);
  });
  after(() => {
    for (const sock of held) sock.destroy();
    silent.close();
  });

  it('is not Ready until the start-up hold is over', async () => {
    h.api = await startEmbedded();
    const { client } = h.api;
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.3', resolve));
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(Resources.configMaps, NS, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: NS },
      data: { config: 'address-pools:\n- name: p\n  protocol: layer2\n  addresses:\n  - 10.252.0.0/24\n' },
    });
    const opts = parseRunArgs(
      [
        '--node-name',
        'me',
        '--namespace',
        NS,
        '--ml-bind-addr',
        '127.0.0.1',
        '--ml-bind-port',
        String(port),
        '--ml-join',
        `127.0.0.3:${port}`,
        '--ml-labels',
        '',
        '--ml-secret-key-path',
        '/nonexistent',
        '--metrics-port',
        '0',
      ],
      {},
    ) as RunOptions;
    h.speaker = new SpeakerProcess(opts, client, memoryLogger(logs), { announcer });
    await h.speaker.start();
    assert.ok(logs.some((l) => l['message'] === 'memberlist started'));
    assert.equal(h.speaker.ready, false, 'memberlist started, the only peer has not answered: still holding');
    await waitFor(() => logs.find((l) => l['message'] === 'start-up hold over, evaluating Services'), { timeoutMs: 10_000, what: 'the start-up hold to end' });
    assert.ok(h.speaker.ready);
  });
});
