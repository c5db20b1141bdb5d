// The real `l2lb-speaker run`, started with the DaemonSet's args and env and a token of the speaker
// ServiceAccount, against a real kube-apiserver v1.20 on which manifests/l2lb.yaml was applied: every API
// call it makes is allowed (no 403 in its log, its informers list), and its probe paths answer.
// The speaker opens raw sockets on every eligible interface, so the API server, kubectl and the speaker all
// run inside a network namespace of this test (prefix l2mf-), whose only interfaces are lo and a veth pair
// (eth0, peer0) inside it: nothing touches the host's interfaces. Needs root; under CI=true it fails rather than skips.

import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealApiServer, inNetns, waitFor } from './apiserver.js';
import { containerArgv, imageLayout, type ImageLayout } from './image.js';
import { at, find, isObj, list, loadDocuments, manifestPath, podEnv, repoRoot, str } from './load.js';
import { NAMESPACE } from './permissions.js';

const PREFIX = 'l2mf';
const objects = loadDocuments(manifestPath);

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Network namespaces of earlier runs of this test whose process is gone (name: l2mf-<pid36>-<random>). */
function removeStaleNamespaces(): void {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^l2mf-([0-9a-z]+)-[0-9a-z]+$/.exec(name);
    if (!m) continue;
    const pid = parseInt(m[1] ?? '', 36);
    if (existsSync(`/proc/${pid}`) && pid !== process.pid) continue;
    try {
      ip(['netns', 'del', name]);
    } catch {
      // already gone
    }
  }
}

/** The JSON log lines (other lines are ignored). */
function logLines(log: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of log.split('\n')) {
    try {
      const v: unknown = JSON.parse(line);
      if (isObj(v)) out.push(v);
    } catch {
      // not JSON
    }
  }
  return out;
}

describe("manifests/l2lb.yaml: the speaker image's files run with the DaemonSet's args/env and the speaker ServiceAccount on a real kube-apiserver v1.20 @integration", function () {
  this.timeout(60_000);
  const netns = `${PREFIX}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  let api: RealApiServer | undefined;
  let child: ChildProcess | undefined;
  let nsCreated = false;
  let image: ImageLayout | undefined;

  before(async function () {
    this.timeout(180_000);
    if (process.getuid?.() !== 0) {
      if (process.env['CI'] === 'true') throw new Error('this test needs root (network namespaces); CI runs it as root');
      this.skip();
    }
    assert.ok(existsSync(join(repoRoot, 'speaker', 'dist', 'src', 'cli.js')), 'build the speaker first (npm run build)');
    removeStaleNamespaces();
    ip(['netns', 'add', netns]);
    nsCreated = true;
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    ip(['-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
    for (const dev of ['eth0', 'peer0']) ip(['-n', netns, 'link', 'set', dev, 'up']);
    api = await RealApiServer.start({ netns });
    await api.kubectlOk(['apply', '-f', manifestPath]);
    await api.kubectlOk([
      'wait',
      '--for=condition=established',
      '--timeout=30s',
      'crd/ipaddresspools.metallb.io',
      'crd/l2advertisements.metallb.io',
      'crd/servicel2statuses.metallb.io',
      'crd/configurationstates.metallb.io',
    ]);
  });

  after(async function () {
    this.timeout(60_000);
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await api?.stop();
    if (nsCreated) ip(['netns', 'del', netns]);
    image?.remove();
  });

  it('lists and watches everything it needs without a 403, answers its probes, exits 0 on SIGTERM', async () => {
    const server = api;
    assert.ok(server);
    await server.kubectlOk(['apply', '-f', '-'], {
      input: [
        'apiVersion: metallb.io/v1beta1',
        'kind: IPAddressPool',
        `metadata: {name: l2mf-pool, namespace: ${NAMESPACE}}`,
        'spec: {addresses: [192.0.2.16/28]}',
        '---',
        'apiVersion: metallb.io/v1beta1',
        'kind: L2Advertisement',
        `metadata: {name: l2mf-ad, namespace: ${NAMESPACE}}`,
        '',
      ].join('\n'),
    });
    const kubeconfig = await server.serviceAccountKubeconfig(NAMESPACE, 'speaker');
    // The Secret volume the kubelet would mount (the controller creates the Secret in a cluster).
    const keyDir = join(server.dir, 'ml_secret_key');
    mkdirSync(keyDir, { recursive: true });
    writeFileSync(join(keyDir, 'secretkey'), 'l2mfl2mfl2mfl2mfl2mf12', { mode: 0o600 });

    const daemonSet = find(objects, 'DaemonSet', 'speaker');
    const container = list(at(daemonSet, 'spec.template.spec.containers'), 'containers')[0];
    assert.ok(isObj(container));
    const metricsPort = 7472;
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      ...podEnv(container, { 'spec.nodeName': 'l2mf-node1', 'status.podIP': '127.0.0.1', 'metadata.namespace': NAMESPACE }),
      L2LB_KUBECONFIG: kubeconfig,
      METALLB_ML_SECRET_KEY_PATH: keyDir,
      L2LB_METRICS_HOST: '127.0.0.1',
    };
    assert.equal(at(container, 'ports.0.containerPort'), metricsPort);
    // The files of Dockerfile.speaker's runtime stage; the DaemonSet's args replace its CMD.
    image = imageLayout('Dockerfile.speaker');
    const [cmd, argv] = inNetns(netns, process.execPath, containerArgv(image, container));
    const proc = spawn(cmd, argv, { env: { ...image.env, ...env }, cwd: image.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let log = '';
    proc.stdout.on('data', (d: Buffer) => {
      log += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));

    const curl = (path: string): { code: string; body: string } => {
      const [c, a] = inNetns(netns, 'curl', ['-s', '-m', '2', '-w', '\n%{http_code}', `http://127.0.0.1:${metricsPort}${path}`]);
      try {
        const out = execFileSync(c, a, { encoding: 'utf8' });
        const i = out.lastIndexOf('\n');
        return { body: out.slice(0, i), code: out.slice(i + 1) };
      } catch {
        return { code: '000', body: '' };
      }
    };
    const synced = (metrics: string, informer: string): boolean => new RegExp(`^l2lb_kube_informer_synced\\{informer="${informer}"\\} 1$`, 'm').test(metrics);
    // What a speaker lists with its ServiceAccount: EndpointSlices come from discovery.k8s.io/v1beta1 on
    // Kubernetes 1.20 (v1 elsewhere); every informer must sync and the speaker must become ready.
    const informers = ['services', 'nodes', 'configmap', 'ipaddresspools', 'l2advertisements', 'endpointslices', 'servicel2statuses'];
    await waitFor(
      () => {
        const m = curl('/metrics');
        return m.code === '200' && informers.every((i) => synced(m.body, i));
      },
      { timeoutMs: 20_000, intervalMs: 250, what: `the speaker's informers (${informers.join(', ')}) to sync\n${log}` },
    );
    assert.equal(curl(str(at(container, 'livenessProbe.httpGet.path'), 'liveness path')).code, '200');
    const readiness = curl(str(at(container, 'readinessProbe.httpGet.path'), 'readiness path')).code;
    assert.equal(readiness, '200', 'readiness probe');
    // The memberlist peer list (pods, list) happens before the start-up hold ends.
    await waitFor(() => log.includes('start-up hold over'), { timeoutMs: 10_000, what: `the first memberlist join round\n${log}` });
    assert.ok(
      logLines(log).some((l) => l['message'] === 'memberlist started' && l['encrypted'] === true),
      `encrypted gossip with the mounted key\n${log}`,
    );

    // A Service it wins (it is the only member): its ServiceL2Status, written with the speaker's own
    // ServiceAccount through the CRD and RBAC of manifests/l2lb.yaml, names the node.
    await server.kubectlOk(['apply', '-f', '-'], {
      input: [
        'apiVersion: v1',
        'kind: Node',
        'metadata: {name: l2mf-node1}',
        '---',
        'apiVersion: v1',
        'kind: Service',
        'metadata: {name: l2mf-web, namespace: default}',
        'spec: {type: LoadBalancer, ports: [{port: 80}]}',
        '---',
        'apiVersion: discovery.k8s.io/v1beta1',
        'kind: EndpointSlice',
        'metadata: {name: l2mf-web-1, namespace: default, labels: {kubernetes.io/service-name: l2mf-web}}',
        'addressType: IPv4',
        'endpoints: [{addresses: [10.0.0.1], conditions: {ready: true}, topology: {kubernetes.io/hostname: l2mf-node1}}]',
        '',
      ].join('\n'),
    });
    await server.kubectlOk([
      'patch',
      'service',
      'l2mf-web',
      '-n',
      'default',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.17"}]}}}',
    ]);
    type L2 = { metadata: { name: string; labels?: Record<string, string> }; status?: Record<string, unknown> };
    let l2status: L2 | undefined;
    await waitFor(
      async () => {
        const out = await server.kubectlOk(['get', 'servicel2statuses', '-n', NAMESPACE, '-o', 'json']);
        const items = (JSON.parse(out) as { items: L2[] }).items;
        l2status = items.length === 1 && items[0]?.status?.['node'] !== undefined ? items[0] : undefined;
        return l2status !== undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: `a ServiceL2Status for default/l2mf-web\n${log}` },
    );
    assert.deepEqual(l2status?.status, { node: 'l2mf-node1', serviceName: 'l2mf-web', serviceNamespace: 'default' });
    assert.equal(l2status?.metadata.labels?.['metallb.io/node'], 'l2mf-node1');

    // ConfigurationState `speaker-<node>`: Valid; a refused IPAddressPool makes it Invalid with the summary
    // (the last valid configuration stays); fixed, Valid again. Written with the speaker's ServiceAccount.
    type State = { metadata: { labels?: Record<string, string> }; status?: { result?: string; errorSummary?: string } };
    const stateIs = async (result: string): Promise<State> => {
      let got: State | undefined;
      await waitFor(
        async () => {
          const out = await server.kubectl(['get', 'configurationstates', 'speaker-l2mf-node1', '-n', NAMESPACE, '-o', 'json']);
          got = out.stdout.trim() === '' ? undefined : (JSON.parse(out.stdout) as State);
          return got?.status?.result === result;
        },
        { timeoutMs: 15_000, intervalMs: 250, what: `ConfigurationState speaker-l2mf-node1 ${result}\n${log}` },
      );
      return got as State;
    };
    const valid = await stateIs('Valid');
    assert.deepEqual(valid.metadata.labels, { 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': 'l2mf-node1' });
    await server.kubectlOk([
      'patch',
      'ipaddresspools',
      'l2mf-pool',
      '-n',
      NAMESPACE,
      '--type=merge',
      '-p',
      '{"spec":{"addresses":["192.0.2.16/28","not-a-cidr"]}}',
    ]);
    const invalid = await stateIs('Invalid');
    assert.match(invalid.status?.errorSummary ?? '', /l2mf-pool.*not-a-cidr/);
    await server.kubectlOk(['patch', 'ipaddresspools', 'l2mf-pool', '-n', NAMESPACE, '--type=merge', '-p', '{"spec":{"addresses":["192.0.2.16/28"]}}']);
    await stateIs('Valid');

    proc.kill('SIGTERM');
    assert.equal(await exited, 0, log);
    assert.doesNotMatch(log, /forbidden|\b403\b/i, `the speaker ServiceAccount lacked a permission:\n${log}`);
    assert.doesNotMatch(log, /cannot list speaker Pods/, log);
  });
});
