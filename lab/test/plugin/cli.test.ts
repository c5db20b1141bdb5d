// kubectl l2lb: errors exit non-zero with one line; against the embedded API server it reads status,
// explains, checks, and JSON output parses.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '@l2lb/shared/kube/client';
import { loadClientConfig } from '@l2lb/shared/kube/light-config';
import { Resources } from '@l2lb/shared/kube/types';
import { EmbeddedApiServer, renderKubeconfig } from '@l2lb/apiserver';
import { pluginMain } from '../../src/plugin/main.js';
import type { StatusReport } from '../../src/plugin/report.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await pluginMain(args, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    isTTY: false,
  });
  return { code, out, err };
}

describe('kubectl l2lb command line', function () {
  this.timeout(20_000);
  const dir = mkdtempSync(join(tmpdir(), 'l2lb-plugin-'));
  let server: EmbeddedApiServer | undefined;

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bad usage and an unreachable cluster: non-zero, one line', async () => {
    const a = await run(['frobnicate']);
    assert.equal(a.code, 2);
    assert.equal(a.err, 'kubectl l2lb: unknown command "frobnicate"\n');
    assert.equal((await run(['explain', 'web'])).err, 'kubectl l2lb: explain needs svc/NAME\n');
    writeFileSync(join(dir, 'dead'), renderKubeconfig({ server: 'http://127.0.0.1:9' }));
    const d = await run(['status', '--kubeconfig', join(dir, 'dead')]);
    assert.equal(d.code, 1);
    assert.match(d.err, /^kubectl l2lb: cannot read anything from the cluster: .*\n$/);
  });

  it('status, explain and check against the embedded API server', async () => {
    server = new EmbeddedApiServer({ host: '127.0.0.1', port: 0 });
    const url = await server.start();
    const kc = join(dir, 'kubeconfig');
    writeFileSync(kc, renderKubeconfig({ server: url }));
    const client = new KubeClient(await loadClientConfig(kc));
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'l2lb-system' } });
    await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    await client.create(Resources.configMaps, 'l2lb-system', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'l2lb-system' },
      data: { config: 'address-pools:\n- name: lan\n  protocol: layer2\n  addresses:\n  - 192.0.2.0/28\n' },
    });
    await client.create(Resources.services, 'default', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
    });
    await client.patch(Resources.services, 'default', 'web', { status: { loadBalancer: { ingress: [{ ip: '192.0.2.3' }] } } }, 'merge', 'status');
    await client.create(Resources.endpointSlicesV1, 'default', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'], nodeName: 'n1', conditions: { ready: true } }],
    });
    const st = await run(['status', '-o', 'json', '--kubeconfig', kc]);
    assert.equal(st.code, 0, st.err);
    const report = JSON.parse(st.out) as StatusReport;
    assert.deepEqual(report.services, [{ service: 'default/web', ips: ['192.0.2.3'], pool: 'lan', announcedBy: [] }]);
    assert.ok(report.warnings.some((w) => /no node announces it/.test(w)));
    const ex = await run(['explain', 'svc/web', '--kubeconfig', kc]);
    assert.equal(ex.code, 0, ex.err);
    assert.match(ex.out, /answers now: n1\nif n1 dies: nobody takes over/);
    const ck = await run(['check', '--kubeconfig', kc]);
    assert.equal(ck.code, 0, ck.err);
    assert.match(ck.out, /configuration valid: 1 pool\(s\): lan/);
    await client.patch(Resources.configMaps, 'l2lb-system', 'config', { data: { config: 'address-pools: [ {' } }, 'merge');
    const bad = await run(['check', '--kubeconfig', kc]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /kubectl l2lb: configuration invalid: /);
  });
});
