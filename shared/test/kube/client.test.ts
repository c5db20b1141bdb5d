import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttps } from 'node:https';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorLine, KubeApiError, KubeClient } from '../../src/kube/client.js';
import { currentNamespace, loadKubeConfig } from '../../src/kube/config.js';
import { chooseEndpointsSource } from '../../src/kube/discovery.js';
import { Resources, resourcePath } from '../../src/kube/types.js';

describe('kube client (unit)', () => {
  let server: Server;
  let url: string;
  let last: { method?: string; url?: string; auth?: string; ct?: string; body?: string } = {};

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        last = { method: req.method, url: req.url, auth: req.headers.authorization, ct: req.headers['content-type'], body };
        if (req.url?.includes('/missing') || req.url?.startsWith('/apis/discovery.k8s.io')) {
          res.writeHead(404, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'services "missing" not found', code: 404 }));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Service', metadata: { name: 'web' } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends the bearer token, the patch content type and the raw body', async () => {
    const c = new KubeClient(loadKubeConfig({ server: url, token: 'tok' }));
    await c.patch(Resources.services, 'ns1', 'web', { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } }, 'merge', 'status');
    assert.equal(last.method, 'PATCH');
    assert.equal(last.url, '/api/v1/namespaces/ns1/services/web/status');
    assert.equal(last.auth, 'Bearer tok');
    assert.equal(last.ct, 'application/merge-patch+json');
    assert.deepEqual(JSON.parse(last.body ?? ''), { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } });
    await c.create(Resources.ipAddressPools, 'metallb-system', { spec: { 'x-kubernetes-preserve-unknown-fields': true } });
    assert.equal(last.url, '/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools');
    assert.ok(last.body?.includes('x-kubernetes-preserve-unknown-fields'), 'unknown keys pass through');
  });

  it('turns error answers into KubeApiError with the Status fields and one clear line', async () => {
    const c = new KubeClient(loadKubeConfig({ server: url }));
    await assert.rejects(c.get(Resources.services, 'ns1', 'missing'), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.code, 404);
      assert.equal(e.reason, 'NotFound');
      assert.equal(errorLine('get', 'services ns1/missing', e), 'get services ns1/missing failed: 404 NotFound: services "missing" not found');
      return true;
    });
  });

  it('reports a refused connection as a transport error (code 0)', async () => {
    const c = new KubeClient(loadKubeConfig({ server: 'http://127.0.0.1:1' }), { timeoutMs: 2000 });
    await assert.rejects(c.get(Resources.services, 'a', 'b'), (e: unknown) => e instanceof KubeApiError && e.code === 0 && e.reason === 'ConnectionError');
  });

  it('falls back to core/v1 Endpoints when the server has no EndpointSlice API', async () => {
    const src = await chooseEndpointsSource(new KubeClient(loadKubeConfig({ server: url })));
    assert.deepEqual(src, { kind: 'Endpoints', resource: Resources.endpoints });
  });

  it('builds paths for core, grouped, namespaced and cluster-scoped resources', () => {
    assert.equal(resourcePath(Resources.services), '/api/v1/services');
    assert.equal(resourcePath(Resources.nodes, 'ignored', 'n1', 'status'), '/api/v1/nodes/n1/status');
    assert.equal(resourcePath(Resources.endpointSlicesV1beta1, 'ns'), '/apis/discovery.k8s.io/v1beta1/namespaces/ns/endpointslices');
  });

  it('loads a kubeconfig file (http server without insecure flag is accepted) and its namespace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'l2lb-kc-'));
    try {
      const file = join(dir, 'kubeconfig');
      writeFileSync(
        file,
        `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${url}\nusers:\n- name: u\n  user:\n    token: filetok\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: lab\ncurrent-context: x\n`,
      );
      const kc = loadKubeConfig({ kubeconfig: file });
      assert.equal(currentNamespace(kc), 'lab');
      await new KubeClient(kc).get(Resources.services, 'lab', 'web');
      assert.equal(last.auth, 'Bearer filetok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads the in-cluster service account (token, CA, namespace) and talks TLS', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'l2lb-sa-'));
    const env = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
    let tls: ReturnType<typeof createHttps> | undefined;
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
      mkdirSync(sa, { recursive: true });
      writeFileSync(join(sa, 'token'), 'satoken\n');
      writeFileSync(join(sa, 'namespace'), 'metallb-system');
      execFileSync('cp', [join(dir, 'cert.pem'), join(sa, 'ca.crt')]);
      let auth: string | undefined;
      const { readFileSync } = await import('node:fs');
      tls = createHttps({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
        auth = req.headers.authorization;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"kind":"Service","metadata":{"name":"web"}}');
      });
      await new Promise<void>((r) => tls!.listen(0, '127.0.0.1', r));
      process.env['KUBERNETES_SERVICE_HOST'] = '127.0.0.1';
      process.env['KUBERNETES_SERVICE_PORT'] = String((tls.address() as AddressInfo).port);
      const kc = loadKubeConfig({ inCluster: { rootPath: dir } });
      assert.equal(currentNamespace(kc), 'metallb-system');
      const got = await new KubeClient(kc).get(Resources.services, 'metallb-system', 'web');
      assert.equal(got.metadata?.name, 'web');
      assert.equal(auth, 'Bearer satoken');
    } finally {
      if (env.host === undefined) delete process.env['KUBERNETES_SERVICE_HOST'];
      else process.env['KUBERNETES_SERVICE_HOST'] = env.host;
      if (env.port === undefined) delete process.env['KUBERNETES_SERVICE_PORT'];
      else process.env['KUBERNETES_SERVICE_PORT'] = env.port;
      tls?.closeAllConnections();
      await new Promise((r) => (tls ? tls.close(r) : r(undefined)));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
