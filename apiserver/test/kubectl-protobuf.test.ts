// kubectl's generator commands against `l2lb apiserver`: kubectl sends these bodies as Kubernetes protobuf
// (create namespace / configmap --from-file / secret generic --from-literal / service loadbalancer), which the
// server decodes into the same objects as JSON. Uses the machine's kubectl (/usr/bin/kubectl, or L2LB_TEST_KUBECTL).

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { KUBECTL, kubectlMinor } from './kubectl-bin.js';

const exec = promisify(execFile);
const bin = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'l2lb-apiserver.js');

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

describe('kubectl create generators (protobuf bodies) against l2lb apiserver @integration', function () {
  this.timeout(60_000);
  let dir: string;
  let server: { child: ChildProcess; out: string; exited: Promise<number | null> } | undefined;
  let env: NodeJS.ProcessEnv;

  const kubectl = async (...args: string[]): Promise<string> => {
    const { stdout } = await exec(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { env, timeout: 20_000 });
    return stdout;
  };

  before(async () => {
    await kubectlMinor(); // fails clearly when the chosen kubectl is missing
    dir = mkdtempSync(join(tmpdir(), 'l2lb-kubectl-pb-'));
    env = { ...process.env, KUBECONFIG: join(dir, 'none'), HOME: dir };
    const port = await freePort();
    const child = spawn(process.execPath, [bin, '--listen', `127.0.0.1:${port}`, '--data', join(dir, 'data'), '--kubeconfig-out', join(dir, 'kubeconfig')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const s = { child, out: '', exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
    server = s;
    child.stdout.on('data', (d: Buffer) => {
      s.out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      s.out += d.toString();
    });
    await waitFor(() => s.out.includes('kubeconfig written to'), 10_000, `l2lb apiserver to start (output: ${s.out})`);
  });

  after(async () => {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('create namespace', async () => {
    assert.match(await kubectl('create', 'namespace', 'metallb-system'), /namespace\/metallb-system created/);
    assert.match(await kubectl('get', 'ns', 'metallb-system', '--no-headers'), /^metallb-system\s+Active\s+/);
    await assert.rejects(kubectl('create', 'namespace', 'metallb-system'), /AlreadyExists.*namespaces "metallb-system" already exists/s);
  });

  it('create configmap --from-file: get -o yaml shows the exact file content', async () => {
    const config = 'address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 192.0.2.0/28   \n# ünïcode ✓ and "quotes"\n\ttab\n';
    writeFileSync(join(dir, 'config.yaml'), config);
    assert.match(
      await kubectl('create', 'configmap', 'config', `--from-file=config=${join(dir, 'config.yaml')}`, '-n', 'metallb-system'),
      /configmap\/config created/,
    );
    const cm = parse(await kubectl('get', 'configmap', 'config', '-n', 'metallb-system', '-o', 'yaml')) as {
      data?: Record<string, string>;
      metadata?: { namespace?: string };
    };
    assert.deepEqual(cm.data, { config });
    assert.equal(cm.metadata?.namespace, 'metallb-system');
    await assert.rejects(kubectl('create', 'configmap', 'x', '--from-literal=a=b', '-n', 'nowhere'), /namespaces "nowhere" not found/);
  });

  it('create secret generic --from-literal: data round-trips through base64', async () => {
    const secretkey = randomBytes(96).toString('base64');
    assert.match(
      await kubectl('create', 'secret', 'generic', 'memberlist', `--from-literal=secretkey=${secretkey}`, '-n', 'metallb-system'),
      /secret\/memberlist created/,
    );
    const data = await kubectl('get', 'secret', 'memberlist', '-n', 'metallb-system', '-o', 'jsonpath={.data.secretkey}');
    assert.equal(Buffer.from(data, 'base64').toString(), secretkey);
  });

  it('create serviceaccount', async () => {
    assert.match(await kubectl('create', 'serviceaccount', 'speaker', '-n', 'metallb-system'), /serviceaccount\/speaker created/);
    assert.equal(await kubectl('get', 'sa', 'speaker', '-n', 'metallb-system', '-o', 'jsonpath={.metadata.name}'), 'speaker');
  });

  it('create service loadbalancer: get svc shows TYPE LoadBalancer and the port', async () => {
    assert.match(await kubectl('create', 'service', 'loadbalancer', 'web', '--tcp=80:8080'), /service\/web created/);
    const lines = (await kubectl('get', 'svc', 'web'))
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
    assert.deepEqual(lines[0], ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    assert.equal(lines[1]?.[0], 'web');
    assert.equal(lines[1]?.[1], 'LoadBalancer');
    assert.match(lines[1]?.[2] ?? '', /^10\.96\.\d+\.\d+$/);
    assert.equal(lines[1]?.[3], '<pending>');
    assert.match(lines[1]?.[4] ?? '', /^80:3\d{4}\/TCP$/);
    assert.equal(await kubectl('get', 'svc', 'web', '-o', 'jsonpath={.spec.ports[0].targetPort} {.spec.selector.app}'), '8080 web');
  });
});
