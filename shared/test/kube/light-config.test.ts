import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inClusterConfig, parseKubeconfig, LightKubeConfig } from '../../src/kube/light-config.js';

describe('light kubeconfig loader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'l2lb-kc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const kubeconfig = (user: string, cluster = '    server: https://10.0.0.1:6443\n    certificate-authority-data: Q0E=\n') =>
    `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n${cluster}users:\n- name: u\n  user:\n${user}contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`;

  it('reads server, CA data, token and client certificate files relative to the kubeconfig', async () => {
    writeFileSync(join(dir, 'tls.crt'), 'CERT');
    writeFileSync(join(dir, 'tls.key'), 'KEY');
    const kc = parseKubeconfig(kubeconfig('    token: abc\n    client-certificate: tls.crt\n    client-key: tls.key\n'), join(dir, 'config'));
    assert.ok(kc instanceof LightKubeConfig);
    assert.deepEqual(kc.getCurrentCluster(), { name: 'c', server: 'https://10.0.0.1:6443', skipTLSVerify: false });
    const opts: https.RequestOptions = { headers: { 'User-Agent': 'x' } };
    await kc.applyToHTTPSOptions(opts);
    assert.equal(String(opts.ca), 'CA');
    assert.equal(String(opts.cert), 'CERT');
    assert.equal(String(opts.key), 'KEY');
    assert.deepEqual(opts.headers, { 'User-Agent': 'x', Authorization: 'Bearer abc' });
    assert.equal(opts.rejectUnauthorized, true);
  });

  it('treats http:// servers and insecure-skip-tls-verify as unverified, and delegates exec users', () => {
    const http = parseKubeconfig(kubeconfig('    {}\n', '    server: http://127.0.0.1:8080\n'), join(dir, 'config'));
    assert.ok(http instanceof LightKubeConfig && http.getCurrentCluster().skipTLSVerify);
    assert.equal(parseKubeconfig(kubeconfig('    exec: {command: aws}\n'), join(dir, 'config')), 'delegate');
    assert.throws(() => parseKubeconfig('current-context: nope\ncontexts: []\n', 'k'), /context "nope" not found/);
  });

  it('builds the in-cluster config from the service account and re-reads the token', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA');
    writeFileSync(join(dir, 'token'), 'one\n');
    assert.throws(() => inClusterConfig({}, dir), /not running in a cluster/);
    const kc = inClusterConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    assert.equal(kc.getCurrentCluster().server, 'https://[fd00::1]:443');
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    assert.deepEqual(opts.headers, { Authorization: 'Bearer one' });
  });
});
