// Three `l2lb-speaker run` processes, each in its own network namespace on one bridge, with the
// embedded API server in a control-plane namespace and a client namespace: memberlist over the
// bridge with a secret key, election, ARP answers, failover on SIGKILL and SIGTERM, withdraw.
// Everything is named l2sr<pid>-<random>... and removed even when a test fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { electionOrder } from '../../src/election/election.js';
import { NsProcess, cleanupStale, createLan, have, isRoot, neighMac, nsExec, speakerBin, type JsonLine, type Lan } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const VIP = '10.213.0.200';
const NAMESPACE = 'l2lb-system';
const NODES = ['n1', 'n2', 'n3'] as const;
const nodeIp = (i: number): string => `10.213.0.${10 + i}`;
const nodeMac = (i: number): string => `02:13:00:00:01:0${i}`;
const apiMain = fileURLToPath(new URL('../helpers/apiserver-main.js', import.meta.url));

describe('l2lb-speaker run: three speakers, memberlist, election and failover @integration', function () {
  this.timeout(60_000);
  let lan: Lan | undefined;
  let dir = '';
  let api: NsProcess | undefined;
  const speakers = new Map<string, NsProcess>();
  const ns = (role: string): string => lan?.ns[role] ?? assert.fail(`no namespace ${role}`);
  const kubeconfig = (): string => join(dir, 'kubeconfig');

  function kubectl(args: string[], opts: { allowFail?: boolean } = {}): string {
    return nsExec(ns('cp'), 'kubectl', ['--kubeconfig', kubeconfig(), ...args], { timeoutMs: 20_000, ...opts });
  }

  function applyJson(name: string, obj: unknown): void {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(obj));
    kubectl(['create', '--validate=false', '-f', file]);
  }

  const lines = (n: string, message: string): JsonLine[] => (speakers.get(n)?.lines ?? []).filter((l) => l['message'] === message);

  function startSpeaker(name: string): void {
    const i = NODES.indexOf(name as (typeof NODES)[number]) + 1;
    speakers.set(
      name,
      new NsProcess(ns(name), process.execPath, [
        speakerBin(),
        'run',
        '--node-name',
        name,
        '--namespace',
        NAMESPACE,
        '--kubeconfig',
        kubeconfig(),
        '--ml-bind-addr',
        nodeIp(i),
        '--ml-join',
        NODES.map((_, j) => nodeIp(j + 1)).join(','),
        '--ml-labels',
        '',
        '--ml-secret-key-path',
        join(dir, 'ml'),
        '--metrics-host',
        nodeIp(i),
        '--metrics-port',
        '7472',
      ]),
    );
  }

  /** The client's neighbour entry for the VIP (refreshed by a ping, which only resolves it). */
  function clientMac(): string | undefined {
    return neighMac(ns('cl'), VIP)?.mac;
  }

  function arpingMac(): string | undefined {
    const out = nsExec(ns('cl'), 'arping', ['-c', '1', '-w', '2', '-I', 'eth0', VIP], { allowFail: true, timeoutMs: 5000 });
    return /from ([0-9a-f:]{17})/i.exec(out)?.[1]?.toLowerCase();
  }

  before(async function () {
    if (!isRoot() || !['arping', 'ip', 'kubectl'].every(have)) {
      if (process.env['CI'] === 'true') throw new Error('CI must run the speaker netns test: needs root, arping, ip and kubectl');
      this.skip();
    }
    cleanupStale();
    const hosts: Record<string, { ifname: string; mac: string; v4: string }> = {
      cp: { ifname: 'eth0', mac: '02:13:00:00:00:02', v4: '10.213.0.2/24' },
      cl: { ifname: 'eth0', mac: '02:13:00:00:00:03', v4: '10.213.0.3/24' },
    };
    NODES.forEach((n, j) => {
      hosts[n] = { ifname: 'eth0', mac: nodeMac(j + 1), v4: `${nodeIp(j + 1)}/24` };
    });
    lan = createLan('', hosts, { prefix: 'l2sr' });
    dir = mkdtempSync(join(tmpdir(), 'l2sr-'));
    mkdirSync(join(dir, 'ml'));
    writeFileSync(join(dir, 'ml', 'secretkey'), randomBytes(16).toString('base64').replace(/=+$/, ''));
    api = new NsProcess(ns('cp'), process.execPath, [apiMain, '10.213.0.2', '6443', kubeconfig()]);
    await waitFor(() => api?.lines.some((l) => String(l['text']).startsWith('serving')) || api?.exited !== undefined, {
      timeoutMs: 15_000,
      what: 'the API server',
    });
    assert.equal(api.exited, undefined, `API server exited: ${api.stderr.join('')}`);
    applyJson('base', {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'config', namespace: NAMESPACE },
          data: { config: 'address-pools:\n- name: lab\n  protocol: layer2\n  addresses:\n  - 10.213.0.200-10.213.0.249\n' },
        },
        ...NODES.map((n) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: n, labels: { 'kubernetes.io/hostname': n } } })),
      ],
    });
  });

  after(async function () {
    await Promise.all([...speakers.values()].map((p) => p.stop(1000)));
    await api?.stop(1000);
    lan?.destroy();
    if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const [n, p] of speakers) {
      process.stderr.write(
        `--- ${n} (exit ${String(p.exited)})\n${p.lines
          .slice(-40)
          .map((l) => JSON.stringify(l))
          .join('\n')}\n${p.stderr.join('').slice(-2000)}\n`,
      );
    }
  });

  const order = electionOrder(NODES, VIP);
  const [first, second, third] = order as [string, string, string];

  it('the three speakers form one encrypted memberlist cluster', async () => {
    for (const n of NODES) startSpeaker(n);
    await waitFor(
      () =>
        NODES.every((n) => {
          const joined = new Set(
            lines(n, 'memberlist')
              .filter((l) => l['event'] === 'join')
              .map((l) => l['member']),
          );
          return NODES.every((m) => m === n || joined.has(m));
        }),
      { timeoutMs: 15_000, what: 'every speaker to see the two others join' },
    );
    for (const n of NODES) {
      const started = lines(n, 'memberlist started')[0];
      assert.equal(started?.['encrypted'], true, `${n} gossips encrypted`);
    }
  });

  it('exactly the node electionOrder() predicts announces, the client gets its MAC, nodeAssigned is recorded', async () => {
    applyJson('svc', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP' }] },
    });
    applyJson('slice', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ port: 80, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.213.0.50'], nodeName: 'n1', conditions: { ready: true } }],
    });
    // A PUT on /status: `patch --subresource=status` needs kubectl >= 1.24 (Debian bookworm ships 1.20).
    const svc = JSON.parse(kubectl(['get', 'service', 'web', '-n', 'default', '-o', 'json'])) as { metadata: Record<string, unknown> };
    delete svc.metadata['resourceVersion'];
    writeFileSync(join(dir, 'web-status.json'), JSON.stringify({ ...svc, status: { loadBalancer: { ingress: [{ ip: VIP }] } } }));
    kubectl(['replace', '--raw', '/api/v1/namespaces/default/services/web/status', '-f', join(dir, 'web-status.json')]);
    await waitFor(() => lines(first, 'announcing').length > 0, { timeoutMs: 10_000, what: `${first} to announce` });
    const ann = lines(first, 'announcing')[0];
    assert.equal(ann?.['service'], 'default/web');
    assert.deepEqual(ann?.['ips'], [VIP]);
    assert.equal(ann?.['node'], first);
    assert.deepEqual(ann?.['interfaces'], ['eth0']);
    const mac = await waitFor(() => arpingMac(), { timeoutMs: 10_000, what: 'an ARP reply' });
    assert.equal(mac, nodeMac(NODES.indexOf(first as (typeof NODES)[number]) + 1));
    for (const n of [second, third]) assert.equal(lines(n, 'announcing').length, 0, `${n} must not announce`);
    const events = await waitFor(
      () => {
        const list = JSON.parse(kubectl(['get', 'events', '-n', 'default', '-o', 'json'])) as { items: { reason?: string; message?: string; type?: string }[] };
        return list.items.filter((e) => e.reason === 'nodeAssigned');
      },
      { timeoutMs: 10_000, intervalMs: 300, what: 'a nodeAssigned event' },
    );
    assert.equal(events.length, 1);
    assert.equal(events[0]?.message, `announcing from node "${first}" with protocol "layer2"`);
    const idx = NODES.indexOf(first as (typeof NODES)[number]) + 1;
    const scrape = (path: string): string =>
      nsExec(ns('cl'), process.execPath, ['-e', `fetch('http://${nodeIp(idx)}:7472${path}').then(async (r) => console.log(r.status, await r.text()))`]);
    assert.match(scrape('/readyz'), /^200 ok/);
    const metrics = scrape('/metrics');
    assert.match(
      metrics,
      new RegExp(`l2lb_speaker_announced\\{service="default/web",protocol="layer2",node="${first}",ip="${VIP.replace(/\./g, '\\.')}"\\} 1`),
    );
    for (const m of ['l2lb_layer2_responses_sent_total', 'l2lb_memberlist_members', 'l2lb_kube_informer_synced']) assert.ok(metrics.includes(m), m);
    const pid = speakers.get(first)?.child.pid;
    const rss = pid ? /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] : undefined;
    process.stdout.write(`      speaker RSS with memberlist, 6 informers and one announced Service: ${Math.round(Number(rss) / 1024)} MiB\n`);
    // The client resolves the VIP once, so its neighbour entry can be watched during the failovers.
    nsExec(ns('cl'), 'ping', ['-c', '1', '-W', '1', VIP], { allowFail: true });
    assert.equal(clientMac(), mac);
  });

  async function failover(victim: string, next: string, signal: 'SIGKILL' | 'SIGTERM'): Promise<number> {
    const p = speakers.get(victim) as NsProcess;
    const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
    const t0 = Date.now();
    // `ip netns exec` execs node, so the child pid is the speaker itself.
    p.child.kill(signal);
    const want = nodeMac(NODES.indexOf(next as (typeof NODES)[number]) + 1);
    await waitFor(() => clientMac() === want, { timeoutMs: 5000, intervalMs: 5, what: `the client's entry to move to ${next}` });
    const ms = Date.now() - t0;
    if (signal === 'SIGTERM' && p.exited === undefined) {
      // A second SIGTERM during the graceful stop (kubelet, impatient operators) must not kill it.
      await waitFor(() => (p.find((l) => /SIGTERM received/.test(String(l['message']))) ? true : undefined), { timeoutMs: 2000, what: 'the SIGTERM log line' });
      if (p.exited === undefined) p.child.kill('SIGTERM');
    }
    const code = await exited;
    if (signal === 'SIGTERM') {
      assert.equal(code, 0, 'SIGTERM exits 0');
      assert.ok(Date.now() - t0 < 3000, 'exits within 3 s');
      await waitFor(() => lines(victim, 'withdrawn').some((l) => l['reason'] === 'shutdown'), { timeoutMs: 1000, what: 'the shutdown withdraw line' });
    }
    await waitFor(() => lines(next, 'announcing').length === 1, { timeoutMs: 2000, what: `${next}'s announcing line` });
    return ms;
  }

  it(`SIGKILL of the owner: the next node takes over within 1 s`, async () => {
    const ms = await failover(first, second, 'SIGKILL');
    process.stdout.write(`      failover after SIGKILL: client moved to ${second} in ${ms} ms (fast profile)\n`);
    assert.ok(ms <= 1000, `took ${ms} ms`);
    assert.equal(lines(third, 'announcing').length, 0, `${third} must not announce while ${second} lives`);
  });

  it(`SIGTERM of the new owner: the third takes over within 1 s, exit 0`, async () => {
    const ms = await failover(second, third, 'SIGTERM');
    process.stdout.write(`      failover after SIGTERM: client moved to ${third} in ${ms} ms\n`);
    assert.ok(ms <= 1000, `took ${ms} ms`);
  });

  it(`the restarted winner ${first} rejoins and takes the IP back; ${third} withdraws as notOwner`, async () => {
    startSpeaker(first);
    await waitFor(() => lines(first, 'announcing').length === 1, { timeoutMs: 10_000, what: `${first} to announce again` });
    await waitFor(() => lines(third, 'withdrawn').find((l) => l['reason'] === 'notOwner'), { timeoutMs: 5000, what: `${third} to withdraw` });
    const hold = lines(first, 'start-up hold over, evaluating Services')[0];
    assert.equal(hold?.['why'], 'a memberlist peer answered');
    assert.deepEqual(hold?.['members'], [first, third].sort(), 'it knew the live peer before deciding anything');
  });

  it('a Service changed to ClusterIP is withdrawn everywhere', async () => {
    kubectl(['patch', 'service', 'web', '-n', 'default', '--type=merge', '-p', JSON.stringify({ spec: { type: 'ClusterIP' } })]);
    await waitFor(() => lines(first, 'withdrawn').find((l) => l['reason'] === 'notLoadBalancer'), { timeoutMs: 10_000, what: `${first} to withdraw` });
    assert.equal(arpingMac(), undefined, 'nobody answers for the VIP any more');
    for (const n of [first, third]) {
      assert.equal(lines(n, 'announcing').length, lines(n, 'withdrawn').length, `${n}: every announcing has its withdrawn`);
    }
  });
});
