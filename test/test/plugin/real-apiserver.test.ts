// `kubectl l2lb status` and `explain svc/NAME` against the real kube-apiserver v1.20 tier, as a read-only
// ServiceAccount (a TokenRequest token) that may read Services, Nodes, EndpointSlices, the pool ConfigMap
// and the metallb.io kinds except ConfigurationState, and no Pods. The output must name the announcing node
// from ServiceL2Status and say what it could not read. The admin then sees the ConfigurationState objects
// (MetalLB's shape) in the CONFIGURATION table.
import assert from 'node:assert/strict';
import { pluginMain } from '@l2lb/lab/plugin/main';
import type { ExplainReport, StatusReport } from '@l2lb/lab/plugin/report';
import { RealApiServer, waitFor } from '../manifests/apiserver.js';
import { manifestPath } from '../manifests/load.js';

const NS = 'l2lb-system';

async function plugin(args: string[]): Promise<{ code: number; out: string; err: string }> {
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

const VIEWER_RBAC = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: l2lb-viewer, namespace: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: l2lb-viewer}
rules:
- apiGroups: [""]
  resources: [services, nodes, configmaps]
  verbs: [get, list]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list]
- apiGroups: [metallb.io]
  resources: [ipaddresspools, l2advertisements, servicel2statuses]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: l2lb-viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: l2lb-viewer}
subjects:
- {kind: ServiceAccount, name: l2lb-viewer, namespace: ${NS}}
`;

const CLUSTER = `
apiVersion: v1
kind: Node
metadata: {name: pr-n1}
---
apiVersion: v1
kind: Node
metadata: {name: pr-n2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: config, namespace: ${NS}}
data:
  config: |
    address-pools:
    - name: lan
      protocol: layer2
      addresses: [192.0.2.0/28]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- {addresses: [10.0.0.1], conditions: {ready: true}, topology: {kubernetes.io/hostname: pr-n1}}
- {addresses: [10.0.0.2], conditions: {ready: true}, topology: {kubernetes.io/hostname: pr-n2}}
---
apiVersion: metallb.io/v1beta1
kind: ServiceL2Status
metadata:
  name: l2-web
  namespace: ${NS}
  labels: {metallb.io/node: pr-n2, metallb.io/service-name: web, metallb.io/service-namespace: default}
---
apiVersion: metallb.io/v1beta1
kind: ConfigurationState
metadata: {name: controller, namespace: ${NS}, labels: {metallb.io/component-type: controller}}
---
apiVersion: metallb.io/v1beta1
kind: ConfigurationState
metadata: {name: speaker-pr-n2, namespace: ${NS}, labels: {metallb.io/component-type: speaker, metallb.io/node-name: pr-n2}}
`;

describe('kubectl l2lb against the real kube-apiserver v1.20, read-only user @integration', function () {
  this.timeout(120_000);
  let api: RealApiServer | undefined;
  let viewer = '';

  before(async function () {
    this.timeout(180_000);
    api = await RealApiServer.start();
    await api.kubectlOk(['apply', '-f', manifestPath]);
    await api.kubectlOk(['wait', '--for=condition=established', '--timeout=30s', 'crd/servicel2statuses.metallb.io', 'crd/configurationstates.metallb.io']);
    await api.kubectlOk(['apply', '-f', '-'], { input: VIEWER_RBAC });
    await api.kubectlOk(['apply', '-f', '-'], { input: CLUSTER });
    const patch = (kind: string, name: string, ns: string, status: unknown): Promise<string> =>
      (api as RealApiServer).kubectlOk(['patch', kind, name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    await patch('service', 'web', 'default', { loadBalancer: { ingress: [{ ip: '192.0.2.3' }] } });
    await patch('servicel2statuses', 'l2-web', NS, { node: 'pr-n2', serviceName: 'web', serviceNamespace: 'default' });
    await patch('configurationstates', 'controller', NS, { result: 'Valid' });
    await patch('configurationstates', 'speaker-pr-n2', NS, { result: 'Invalid', errorSummary: 'address pool #1 "lan": addresses[0]: bad' });
    viewer = await api.serviceAccountKubeconfig(NS, 'l2lb-viewer');
    // RBAC of a fresh binding can take a moment to reach the authorizer's cache.
    await waitFor(async () => (await api?.kubectl(['get', 'servicel2statuses', '-n', NS], { kubeconfig: viewer }))?.code === 0, {
      timeoutMs: 15_000,
      what: 'the viewer can read ServiceL2Status',
    });
  });

  after(async function () {
    this.timeout(60_000);
    await api?.stop();
  });

  it('status as the read-only user: the announcing node from ServiceL2Status, and what it could not read', async () => {
    const text = await plugin(['status', '--kubeconfig', viewer]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^default\/web\s+192\.0\.2\.3\s+lan\s+pr-n2\s*$/m, text.out);
    assert.match(text.out, /COULD NOT READ\n(- .*\n)*- list configurationstates\.metallb\.io in l2lb-system failed: 403/, text.out);
    assert.match(text.out, /- list pods in l2lb-system failed: 403/, text.out);
    const json = await plugin(['status', '-o', 'json', '--kubeconfig', viewer]);
    assert.equal(json.code, 0, json.err);
    const report = JSON.parse(json.out) as StatusReport;
    assert.deepEqual(
      report.services.map((s) => [s.service, s.announcedBy]),
      [['default/web', ['pr-n2']]],
    );
    assert.equal(report.configuration.source, 'computed', 'without ConfigurationState it checks the objects itself');
    assert.deepEqual(report.unreadable.map((u) => u.replace(/ failed:.*/, '')).sort(), [
      'list configurationstates.metallb.io in l2lb-system',
      'list pods in l2lb-system',
    ]);
  });

  it('explain svc/web as the read-only user: both nodes are candidates, who answers, and what it could not read', async () => {
    const text = await plugin(['explain', 'svc/web', '-n', 'default', '--kubeconfig', viewer]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /pr-n1/);
    assert.match(text.out, /pr-n2/);
    const json = await plugin(['explain', 'svc/web', '-n', 'default', '-o', 'json', '--kubeconfig', viewer]);
    assert.equal(json.code, 0, json.err);
    const report = JSON.parse(json.out) as ExplainReport;
    assert.deepEqual(report.announcedBy, ['pr-n2']);
    assert.ok(
      report.unreadable.some((u) => /pods in l2lb-system failed: 403/.test(u)),
      JSON.stringify(report.unreadable),
    );
  });

  it("status as the admin shows each component's ConfigurationState (MetalLB's shape)", async () => {
    const json = await plugin(['status', '-o', 'json', '--kubeconfig', (api as RealApiServer).kubeconfig]);
    assert.equal(json.code, 0, json.err);
    const report = JSON.parse(json.out) as StatusReport;
    assert.equal(report.configuration.source, 'ConfigurationState');
    assert.deepEqual(report.configuration.components, [
      { component: 'controller', result: 'Valid' },
      { component: 'speaker pr-n2', result: 'Invalid', error: 'address pool #1 "lan": addresses[0]: bad' },
    ]);
    const text = await plugin(['status', '--kubeconfig', (api as RealApiServer).kubeconfig]);
    assert.match(text.out, /CONFIGURATION \(ConfigurationState objects\)/);
    assert.match(text.out, /speaker pr-n2\s+Invalid\s+address pool #1 "lan"/);
  });
});
