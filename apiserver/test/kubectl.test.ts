// kubectl against `l2lb apiserver`: get svc -A (real columns), get svc -w, apply -f (twice: strategic merge
// patch), patch (status subresource, merge and strategic), and a restart with --data. Uses the kubectl on the
// machine (/usr/bin/kubectl, or L2LB_TEST_KUBECTL); fails clearly when it is missing.

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../src/testing/free-port.js';
import { KUBECTL, kubectlMinor } from './kubectl-bin.js';

const exec = promisify(execFile);
const bin = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'l2lb-apiserver.js');

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Proc {
  child: ChildProcess;
  out: string;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, out: '', exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  child.stdout?.on('data', (d: Buffer) => {
    p.out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    p.out += d.toString();
  });
  return p;
}

describe('kubectl against l2lb apiserver @integration', function () {
  this.timeout(60_000);
  let dir: string;
  let minor: number;
  let port: number;
  let server: Proc | undefined;
  const watchers: Proc[] = [];
  let env: NodeJS.ProcessEnv;

  const kubectl = async (...args: string[]): Promise<string> => {
    const { stdout } = await exec(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { env, timeout: 20_000 });
    return stdout;
  };

  const startServer = async (): Promise<void> => {
    server = start(process.execPath, [bin, '--listen', `127.0.0.1:${port}`, '--data', join(dir, 'data'), '--kubeconfig-out', join(dir, 'kubeconfig')]);
    await waitFor(() => server!.out.includes('kubeconfig written to'), 10_000, `l2lb apiserver to start (output: ${server.out})`);
  };

  const stopServer = async (): Promise<number | null> => {
    const s = server;
    server = undefined;
    if (!s) return null;
    s.child.kill('SIGTERM');
    return s.exited;
  };

  before(async () => {
    minor = await kubectlMinor();
    dir = mkdtempSync(join(tmpdir(), 'l2lb-kubectl-'));
    env = { ...process.env, KUBECONFIG: join(dir, 'none'), HOME: dir };
    port = await freePort();
    await startServer();
  });

  after(async () => {
    for (const w of watchers) w.child.kill('SIGKILL');
    await stopServer();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a kubeconfig that kubectl uses as is, and applies manifests (twice, with a change)', async () => {
    const kc = readFileSync(join(dir, 'kubeconfig'), 'utf8');
    assert.match(kc, new RegExp(`server: "http://127.0.0.1:${port}"`));
    const manifest = (p2: number): string => `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
  - {name: http, port: 80}
  - {name: alt, port: ${p2}}
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: kube-system}
spec:
  selector: {app: dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: config, namespace: default}
data:
  config: |
    address-pools: [{name: a, protocol: layer2, addresses: [192.0.2.0/28]}]
`;
    writeFileSync(join(dir, 'm.yaml'), manifest(8080));
    const first = await kubectl('apply', '-f', join(dir, 'm.yaml'));
    assert.match(first, /service\/web created/);
    writeFileSync(join(dir, 'm.yaml'), manifest(9090).replace('192.0.2.0/28', '192.0.2.0/27'));
    const second = await kubectl('apply', '-f', join(dir, 'm.yaml'));
    assert.match(second, /service\/web configured/);
    assert.match(second, /configmap\/config configured/);
    const ports = await kubectl('get', 'svc', 'web', '-o', 'jsonpath={.spec.ports[*].port}');
    assert.equal(ports, '80 9090');
    const data = await kubectl('get', 'cm', 'config', '-o', 'jsonpath={.data.config}');
    assert.match(data, /192\.0\.2\.0\/27/);
  });

  it('get svc -A prints TYPE, CLUSTER-IP, EXTERNAL-IP and PORT(S)', async () => {
    const out = await kubectl('--server', `http://127.0.0.1:${port}`, 'get', 'svc', '-A');
    const lines = out
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
    assert.deepEqual(lines[0], ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    const web = lines.find((l) => l[1] === 'web');
    const dns = lines.find((l) => l[1] === 'dns');
    assert.equal(web?.[2], 'LoadBalancer');
    assert.match(web?.[3] ?? '', /^10\.96\.\d+\.\d+$/);
    assert.equal(web?.[4], '<pending>');
    assert.match(web?.[5] ?? '', /^80:3\d{4}\/TCP,9090:3\d{4}\/TCP$/);
    assert.deepEqual(dns?.slice(0, 3), ['kube-system', 'dns', 'ClusterIP']);
    assert.equal(dns?.[4], '<none>');
    assert.equal(dns?.[5], '53/UDP');
  });

  it('get svc -w streams the EXTERNAL-IP change made by a patch on /status', async () => {
    const w = start(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), 'get', 'svc', '-w'], env);
    watchers.push(w);
    await waitFor(() => /web\s+LoadBalancer\s+\S+\s+<pending>/.test(w.out), 15_000, `the initial row (${w.out})`);
    const status = '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}';
    if (minor >= 24) {
      assert.match(await kubectl('patch', 'svc', 'web', '--subresource=status', '--type=merge', '-p', status), /service\/web patched/);
    } else {
      // kubectl < 1.24 has no --subresource flag: patch /status the way the controller does, over HTTP.
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/namespaces/default/services/web/status`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json' },
        body: status,
      });
      assert.equal(res.status, 200, await res.text());
    }
    await waitFor(() => /web\s+LoadBalancer\s+\S+\s+192\.0\.2\.10/.test(w.out), 15_000, `the updated row (${w.out})`);
    w.child.kill('SIGTERM');
    await w.exited;
    const row = await kubectl('get', 'svc', 'web', '--no-headers');
    assert.match(row, /^web\s+LoadBalancer\s+\S+\s+192\.0\.2\.10\s+/);
  });

  it('patch: strategic (default) and merge on the main resource', async () => {
    await kubectl('patch', 'svc', 'web', '-p', '{"spec":{"ports":[{"port":80,"name":"web"}]}}');
    assert.equal(await kubectl('get', 'svc', 'web', '-o', 'jsonpath={.spec.ports[*].name}'), 'web alt');
    await kubectl('patch', 'cm', 'config', '--type=merge', '-p', '{"data":{"extra":"1"}}');
    assert.equal(await kubectl('get', 'cm', 'config', '-o', 'jsonpath={.data.extra}'), '1');
  });

  it('kubectl edit of the pool ConfigMap (strategic merge patch from the editor)', async () => {
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s#192.0.2.0/27#198.51.100.0/28#" "$1"\n', { mode: 0o755 });
    const { stdout } = await exec(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), 'edit', 'cm', 'config'], {
      env: { ...env, KUBE_EDITOR: editor },
      timeout: 20_000,
    });
    assert.match(stdout, /configmap\/config edited/);
    assert.match(await kubectl('get', 'cm', 'config', '-o', 'jsonpath={.data.config}'), /198\.51\.100\.0\/28/);
  });

  it('applies and lists metallb.io custom resources, and deletes with NotFound afterwards', async () => {
    writeFileSync(
      join(dir, 'pool.yaml'),
      `apiVersion: v1
kind: Namespace
metadata: {name: metallb-system}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: first-pool, namespace: metallb-system}
spec:
  addresses: [192.0.2.240/28]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: metallb-system}
spec:
  ipAddressPools: [first-pool]
`,
    );
    const out = await kubectl('apply', '-f', join(dir, 'pool.yaml'));
    assert.match(out, /ipaddresspool\.metallb\.io\/first-pool created/);
    assert.match(await kubectl('get', 'ipaddresspools', '-n', 'metallb-system'), /^NAME\s+AGE\nfirst-pool\s+\d+s/);
    assert.equal(await kubectl('get', 'l2advertisements', '-n', 'metallb-system', 'l2', '-o', 'jsonpath={.spec.ipAddressPools[0]}'), 'first-pool');
    await kubectl('create', 'ns', 'tmp-ns', '--dry-run=client', '-o', 'yaml').then((y) => writeFileSync(join(dir, 'ns.yaml'), y));
    await kubectl('apply', '-f', join(dir, 'ns.yaml'));
    assert.match(await kubectl('delete', 'ns', 'tmp-ns'), /namespace "tmp-ns" deleted/);
    await assert.rejects(kubectl('get', 'ns', 'tmp-ns'), /NotFound.*namespaces "tmp-ns" not found/s);
  });

  it('keeps its objects across a restart with --data', async () => {
    assert.equal(await stopServer(), 0);
    await startServer();
    assert.equal(await kubectl('get', 'svc', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'), '192.0.2.10');
    assert.equal(await kubectl('get', 'cm', 'config', '-o', 'jsonpath={.data.extra}'), '1');
  });
});
