import assert from 'node:assert/strict';
import { humanAge, toTable, wantsTable } from '../src/table.js';

describe('apiserver Table output', () => {
  it('renders Service columns like kubectl get svc', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    const t = toTable(
      '/services',
      [
        {
          metadata: { name: 'web', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
          spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] },
          status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } },
        },
        {
          metadata: { name: 'api', namespace: 'default', creationTimestamp: '2026-01-01T00:09:30Z' },
          spec: { type: 'LoadBalancer', clusterIP: '10.96.0.11', ports: [{ port: 443, protocol: 'TCP' }] },
          status: { loadBalancer: {} },
        },
        {
          metadata: { name: 'dns', namespace: 'kube-system', creationTimestamp: '2026-01-01T00:00:00Z' },
          spec: { type: 'ClusterIP', clusterIP: '10.96.0.2', ports: [{ port: 53, protocol: 'UDP' }] },
        },
      ],
      '42',
      now,
    );
    const cols = (t['columnDefinitions'] as { name: string }[]).map((c) => c.name);
    assert.deepEqual(cols, ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
    const rows = (t['rows'] as { cells: unknown[] }[]).map((r) => r.cells.slice(0, 6));
    assert.deepEqual(rows, [
      ['web', 'LoadBalancer', '10.96.0.10', '192.0.2.10', '80:30080/TCP', '10m'],
      ['api', 'LoadBalancer', '10.96.0.11', '<pending>', '443/TCP', '30s'],
      ['dns', 'ClusterIP', '10.96.0.2', '<none>', '53/UDP', '10m'],
    ]);
  });

  it('detects kubectl Accept headers and formats ages', () => {
    assert.equal(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'), true);
    assert.equal(wantsTable('application/json'), false);
    assert.equal(humanAge('2026-01-01T00:00:00Z', Date.parse('2026-01-03T05:00:00Z')), '2d5h');
  });
});
