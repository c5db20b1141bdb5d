// The speaker's informers keep cut-down objects (views.ts *CacheForm): what the parsers read must not change.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LAST_APPLIED_ANNOTATION, withoutBookkeeping } from '@l2lb/shared/kube/bookkeeping';
import type { KubeObject } from '@l2lb/shared/kube/types';
import { endpointSliceCacheForm, nodeCacheForm, objectId, parseEndpointSlice, parseNode, parseService, serviceCacheForm } from '../../src/run/views.js';

const managedFields = [
  {
    manager: 'kubectl-client-side-apply',
    operation: 'Update',
    apiVersion: 'v1',
    time: '2024-01-01T00:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': {} },
  },
];

/** A Service as a real API server sends it after `kubectl apply` and the controller's status write. */
const realService = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: '6b1d2d7e-0000-4000-8000-000000000001',
    resourceVersion: '4711',
    creationTimestamp: '2024-01-01T00:00:00Z',
    labels: { app: 'web' },
    annotations: {
      [LAST_APPLIED_ANNOTATION]:
        '{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"name":"web","namespace":"shop"},"spec":{"type":"LoadBalancer"}}',
      'metallb.universe.tf/allow-shared-ip': 'shop',
      'metallb.universe.tf/ip-allocated-from-pool': 'default',
    },
    managedFields,
  },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.96.0.10',
    clusterIPs: ['10.96.0.10'],
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 31000,
    internalTrafficPolicy: 'Cluster',
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }],
    selector: { app: 'web' },
    sessionAffinity: 'None',
    allocateLoadBalancerNodePorts: true,
  },
  status: { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }] } },
};

const realSlice = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: 'web-abcde',
    generateName: 'web-',
    namespace: 'shop',
    uid: 'u-slice',
    resourceVersion: '4712',
    labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', app: 'web' },
    annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-01T00:00:00Z' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'u', controller: true, blockOwnerDeletion: true }],
    managedFields,
  },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [
    {
      addresses: ['10.244.1.5'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'n1',
      zone: 'a',
      targetRef: { kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'p1' },
    },
    {
      addresses: ['10.244.2.5'],
      conditions: { ready: false, serving: true, terminating: true },
      nodeName: 'n2',
      zone: 'b',
      hints: { forZones: [{ name: 'b' }] },
    },
  ],
};

const betaSlice = {
  apiVersion: 'discovery.k8s.io/v1beta1',
  kind: 'EndpointSlice',
  metadata: { name: 'old-1', namespace: 'd', resourceVersion: '9', labels: { 'kubernetes.io/service-name': 'old' } },
  endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'n3', 'topology.kubernetes.io/zone': 'a' } }],
};

const realNode = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: 'n1',
    uid: 'u-n1',
    resourceVersion: '77',
    labels: { 'kubernetes.io/hostname': 'n1', zone: 'a' },
    annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    managedFields,
  },
  spec: { podCIDR: '10.244.1.0/24', taints: [{ key: 'k', effect: 'NoSchedule' }] },
  status: {
    addresses: [{ type: 'InternalIP', address: '192.0.2.1' }],
    capacity: { cpu: '2', memory: '4Gi' },
    conditions: [
      { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: '2024-01-01T00:00:00Z' },
      { type: 'NetworkUnavailable', status: 'True', reason: 'NoRouteCreated', message: 'no route' },
    ],
    images: Array.from({ length: 50 }, (_, i) => ({ names: [`registry.example/image-${i}@sha256:${'0'.repeat(64)}`], sizeBytes: 1e8 })),
    nodeInfo: { kubeletVersion: 'v1.30.0', osImage: 'Debian' },
  },
};

const forms = [
  { name: 'Service', form: serviceCacheForm, parse: parseService },
  { name: 'EndpointSlice', form: endpointSliceCacheForm, parse: parseEndpointSlice },
  { name: 'Node', form: nodeCacheForm, parse: parseNode },
] as const;

describe('speaker informer cache forms', () => {
  it('keep what the parsers read of real objects, and nothing else', () => {
    assert.deepEqual(serviceCacheForm(realService), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: 'shop',
        uid: realService.metadata.uid,
        resourceVersion: '4711',
        labels: { app: 'web' },
        annotations: { 'metallb.universe.tf/allow-shared-ip': 'shop', 'metallb.universe.tf/ip-allocated-from-pool': 'default' },
      },
      spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }] } },
    });
    assert.deepEqual(endpointSliceCacheForm(realSlice), {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'web-abcde',
        namespace: 'shop',
        uid: 'u-slice',
        resourceVersion: '4712',
        labels: realSlice.metadata.labels,
        annotations: realSlice.metadata.annotations,
      },
      endpoints: [
        { nodeName: 'n1', conditions: { ready: true, serving: true } },
        { nodeName: 'n2', conditions: { ready: false, serving: true } },
      ],
    });
    assert.deepEqual(endpointSliceCacheForm(betaSlice).endpoints, [{ conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'n3' } }]);
    assert.deepEqual(nodeCacheForm(realNode), {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', uid: 'u-n1', resourceVersion: '77', labels: realNode.metadata.labels, annotations: realNode.metadata.annotations },
      status: { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] },
    });
    for (const [whole, form] of [
      [realService, serviceCacheForm],
      [realSlice, endpointSliceCacheForm],
      [realNode, nodeCacheForm],
    ] as const) {
      const before = JSON.stringify(whole);
      const kept = JSON.stringify(form(whole as KubeObject));
      assert.equal(JSON.stringify(whole), before, 'the argument is not changed');
      assert.ok(kept.length < before.length / 2, `${kept.length} of ${before.length} bytes kept`);
    }
  });

  it('parse to what the whole object (without bookkeeping) parses to, for real objects and any garbage (property)', () => {
    for (const { name, form, parse } of forms) {
      for (const o of [realService, realSlice, betaSlice, realNode]) {
        assert.deepEqual(parse(form(o as KubeObject)), parse(withoutBookkeeping(o as KubeObject)), `${name} of ${o.kind}`);
      }
    }
    // Objects shaped like the real ones, every field possibly replaced by any JSON value.
    const anyOr = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
      fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
    const strings = fc.dictionary(
      fc.constantFrom('app', 'zone', 'metallb.universe.tf/allow-shared-ip', LAST_APPLIED_ANNOTATION, 'kubernetes.io/service-name'),
      anyOr(fc.string()),
    );
    const metadata = anyOr(
      fc.record(
        {
          name: anyOr(fc.constantFrom('a', 'b', '')),
          namespace: anyOr(fc.constant('d')),
          uid: anyOr(fc.string()),
          resourceVersion: fc.string(),
          labels: anyOr(strings),
          annotations: anyOr(strings),
          managedFields: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    const condition = anyOr(fc.record({ ready: anyOr(fc.boolean()), serving: anyOr(fc.boolean()), terminating: fc.boolean() }, { requiredKeys: [] }));
    const endpoint = anyOr(
      fc.record(
        {
          nodeName: anyOr(fc.constantFrom('n1', 'n2')),
          conditions: condition,
          topology: anyOr(fc.dictionary(fc.constantFrom('kubernetes.io/hostname', 'zone'), anyOr(fc.string()))),
          addresses: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    const nodeCondition = anyOr(
      fc.record(
        { type: anyOr(fc.constantFrom('Ready', 'NetworkUnavailable')), status: anyOr(fc.constantFrom('True', 'False')), reason: fc.string() },
        { requiredKeys: [] },
      ),
    );
    const object = fc.record(
      {
        kind: fc.string(),
        metadata,
        spec: anyOr(
          fc.record(
            {
              type: anyOr(fc.constantFrom('LoadBalancer', 'ClusterIP')),
              externalTrafficPolicy: anyOr(fc.constant('Local')),
              loadBalancerClass: anyOr(fc.string()),
              ports: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        ),
        status: anyOr(
          fc.record(
            {
              loadBalancer: anyOr(
                fc.record({ ingress: anyOr(fc.array(anyOr(fc.record({ ip: anyOr(fc.string()), hostname: fc.string() }, { requiredKeys: [] })))) }),
              ),
              conditions: anyOr(fc.array(nodeCondition)),
              images: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        ),
        endpoints: anyOr(fc.array(endpoint, { maxLength: 3 })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(object, (o) => {
        const before = JSON.stringify(o);
        for (const { name, form, parse } of forms) {
          const kept = form(o as KubeObject);
          assert.deepEqual(parse(kept), parse(withoutBookkeeping(o as KubeObject)), name);
          assert.deepEqual(objectId(kept), objectId(o), `${name}: the informer's key and the Event's uid`);
          assert.equal(
            (kept.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion,
            (o.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion,
          );
        }
        assert.equal(JSON.stringify(o), before, 'the argument is not changed');
      }),
      { numRuns: 500 },
    );
  });
});
