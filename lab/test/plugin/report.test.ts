// kubectl l2lb status / explain from a fixed snapshot (pure: no cluster).
import assert from 'node:assert/strict';
import type { KubeObject } from '@l2lb/shared/kube/types';
import { electionOrder } from '@l2lb/speaker/election/election';
import { buildExplain, buildStatus, formatExplain, formatStatus, samples, usageBar } from '../../src/plugin/report.js';
import type { Snapshot } from '../../src/plugin/snapshot.js';

const NS = 'l2lb-system';
const node = (name: string, labels: Record<string, string> = {}, networkUnavailable = false): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    ...(networkUnavailable ? { status: { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] } } : {}),
  }) as KubeObject;
const svc = (name: string, ip: string | undefined, extra: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'LoadBalancer', ...extra },
    status: { loadBalancer: ip ? { ingress: [{ ip }] } : {} },
  }) as KubeObject;
const slice = (svcName: string, nodes: string[]): KubeObject =>
  ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svcName}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svcName } },
    addressType: 'IPv4',
    endpoints: nodes.map((n) => ({ addresses: ['10.0.0.1'], nodeName: n, conditions: { ready: true } })),
  }) as KubeObject;
const l2status = (svcName: string, nodeName: string): KubeObject =>
  ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'ServiceL2Status',
    metadata: {
      name: `l2-${nodeName}`,
      namespace: NS,
      labels: { 'metallb.io/node': nodeName, 'metallb.io/service-name': svcName, 'metallb.io/service-namespace': 'default' },
    },
    status: { node: nodeName, serviceName: svcName, serviceNamespace: 'default' },
  }) as KubeObject;
const metrics = (me: string, members: string[]): string =>
  [
    '# HELP l2lb_speaker_memberlist_member x',
    ...members.map((m) => `l2lb_speaker_memberlist_member{member="${m}"} 1`),
    `l2lb_speaker_announced{service="default/web",protocol="layer2",node="${me}",ip="192.0.2.5"} 1`,
    'l2lb_speaker_config_stale 0',
  ].join('\n');

function snapshot(over: Partial<Snapshot> = {}): Snapshot {
  return {
    namespace: NS,
    services: [svc('web', '192.0.2.5'), svc('waiting', undefined)],
    nodes: [node('n1'), node('n2'), node('n3', { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }), node('n4', {}, true), node('n5')],
    slices: [slice('web', ['n1'])],
    pools: [],
    ads: [],
    configMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: NS },
      data: { config: 'address-pools:\n- name: lan\n  protocol: layer2\n  addresses:\n  - 192.0.2.0/28\n' },
    } as KubeObject,
    l2statuses: [l2status('web', 'n1')],
    configStates: [],
    speakers: [
      { source: 'http://n1:7472/metrics', text: metrics('n1', ['n1', 'n2', 'n3', 'n4']) },
      { source: 'http://n5:7472/metrics', error: 'connect ECONNREFUSED' },
    ],
    unreadable: [],
    ...over,
  };
}

describe('kubectl l2lb report', () => {
  it("explain: per-node reasons, the speakers' own election order, who answers and who takes over", () => {
    const r = buildExplain(snapshot(), 'default/web');
    assert.ok(!('error' in r));
    const why = Object.fromEntries(r.nodes.map((n) => [n.node, n.candidate ? 'yes' : n.why]));
    assert.equal(why['n3'], 'label node.kubernetes.io/exclude-from-external-load-balancers');
    assert.equal(why['n4'], 'condition NetworkUnavailable is True');
    assert.match(String(why['n5']), /not a memberlist member/);
    assert.deepEqual(r.orders[0]?.order, electionOrder(['n1', 'n2'], '192.0.2.5'));
    assert.equal(r.winner, r.orders[0]?.order[0]);
    assert.equal(r.successor, r.orders[0]?.order[1]);
    assert.match(formatExplain(r), /answers now: n\d.*\nif n\d dies: n\d/);
  });

  it("explain: preferredNodeSelectors put the preferred node first and show each node's score", () => {
    const hashOrder = electionOrder(['n1', 'n2'], '192.0.2.5');
    const loser = hashOrder[1] as string;
    const pool: KubeObject = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'lan', namespace: NS },
      spec: { addresses: ['192.0.2.0/28'] },
    } as KubeObject;
    const ad: KubeObject = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: 'prefer', namespace: NS },
      spec: { ipAddressPools: ['lan'], preferredNodeSelectors: [{ weight: 50, preference: { matchLabels: { edge: 'yes' } } }] },
    } as KubeObject;
    const nodes = [node('n1', loser === 'n1' ? { edge: 'yes' } : {}), node('n2', loser === 'n2' ? { edge: 'yes' } : {})];
    const r = buildExplain(
      snapshot({ configMap: undefined, pools: [pool], ads: [ad], nodes, speakers: [{ source: 'm', text: metrics('n1', ['n1', 'n2']) }] }),
      'default/web',
    );
    assert.ok(!('error' in r));
    assert.equal(r.winner, loser, 'the preferred node wins over the hash order');
    assert.deepEqual(r.orders[0]?.order, [loser, hashOrder[0]]);
    assert.equal(r.nodes.find((n) => n.node === loser)?.preference, 50);
    assert.match(formatExplain(r), /PREFERENCE/);
    assert.doesNotMatch(formatExplain(buildExplain(snapshot(), 'default/web') as Parameters<typeof formatExplain>[0]), /PREFERENCE/);
  });

  it('explain: externalTrafficPolicy Local leaves only nodes with a ready endpoint', () => {
    const r = buildExplain(snapshot({ services: [svc('web', '192.0.2.5', { externalTrafficPolicy: 'Local' })] }), 'default/web');
    assert.ok(!('error' in r));
    assert.equal(r.winner, 'n1');
    assert.equal(r.successor, undefined);
    assert.match(String(r.nodes.find((n) => n.node === 'n2')?.why), /no ready endpoint on it \(externalTrafficPolicy Local\)/);
    assert.match(formatExplain(r), /if n1 dies: nobody takes over/);
  });

  it('status: Services with pool and announcing node, pool usage, pending and unreachable speakers as warnings', () => {
    const r = buildStatus(snapshot());
    assert.deepEqual(
      r.services.find((s) => s.service === 'default/web'),
      { service: 'default/web', ips: ['192.0.2.5'], pool: 'lan', announcedBy: ['n1'] },
    );
    assert.ok(r.services.find((s) => s.service === 'default/waiting')?.pending);
    assert.deepEqual(r.pools, [{ pool: 'lan', assigned: 1, size: '16', source: 'counted' }]);
    assert.deepEqual(r.speakers[0], { source: 'http://n1:7472/metrics', reachable: true, node: 'n1', members: ['n1', 'n2', 'n3', 'n4'], configStale: false });
    assert.ok(r.warnings.some((w) => /default\/waiting is pending/.test(w)));
    assert.ok(r.warnings.some((w) => /n5:7472.*not reachable: connect ECONNREFUSED/.test(w)));
    const text = formatStatus(r);
    assert.match(text, /default\/web\s+192\.0\.2\.5\s+lan\s+n1/);
    assert.ok(!text.includes('\x1b['), 'no colour unless asked');
  });

  it('status: a Service with an IP and no ServiceL2Status is flagged; unreadable kinds are listed', () => {
    const r = buildStatus(snapshot({ l2statuses: [], unreadable: ['list configurationstates.metallb.io in l2lb-system failed: 403 Forbidden: no'] }));
    assert.ok(r.warnings.some((w) => /default\/web has 192\.0\.2\.5 but no node announces it/.test(w)));
    assert.match(formatStatus(r), /COULD NOT READ\n- list configurationstates/);
  });

  it('metrics samples parse labels with escapes; usage bars', () => {
    assert.deepEqual(samples('m{a="x\\"y",b="2"} 3\nmm 1\n', 'm'), [{ labels: { a: 'x"y', b: '2' }, value: 3 }]);
    assert.equal(usageBar(5, 10n, 10), '[#####.....] 5/10 (50%)');
  });
});
