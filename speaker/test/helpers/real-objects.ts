// Kubernetes objects as a real API server sends them (managedFields, kubectl's last-applied annotation,
// every field a controller or kubelet fills in), for the informer cache-form tests and the scale bench's
// per-object cache figures. The embedded API server keeps none of the bookkeeping.
import { LAST_APPLIED_ANNOTATION } from '@l2lb/shared/kube/bookkeeping';

const time = '2024-01-01T00:00:00Z';
const entry = (manager: string, fieldsV1: Record<string, unknown>, subresource?: string): Record<string, unknown> => ({
  manager,
  operation: 'Update',
  apiVersion: 'v1',
  time,
  fieldsType: 'FieldsV1',
  fieldsV1,
  ...(subresource ? { subresource } : {}),
});
const set = (...names: string[]): Record<string, unknown> => Object.fromEntries([['.', {}], ...names.map((n) => [`f:${n}`, {}])]);

/** A Service as a real API server sends it after `kubectl apply` and the controller's status write. */
export const realService = {
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
        '{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{"metallb.universe.tf/allow-shared-ip":"shop"},"labels":{"app":"web"},"name":"web","namespace":"shop"},' +
        '"spec":{"externalTrafficPolicy":"Local","ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":8080}],"selector":{"app":"web"},"type":"LoadBalancer"}}\n',
      'metallb.universe.tf/allow-shared-ip': 'shop',
      'metallb.universe.tf/ip-allocated-from-pool': 'default',
    },
    managedFields: [
      entry('kubectl-client-side-apply', {
        'f:metadata': {
          'f:annotations': set('kubectl.kubernetes.io/last-applied-configuration', 'metallb.universe.tf/allow-shared-ip'),
          'f:labels': set('app'),
        },
        'f:spec': {
          'f:allocateLoadBalancerNodePorts': {},
          'f:externalTrafficPolicy': {},
          'f:internalTrafficPolicy': {},
          'f:ports': { '.': {}, 'k:{"port":80,"protocol":"TCP"}': set('name', 'port', 'protocol', 'targetPort') },
          'f:selector': {},
          'f:sessionAffinity': {},
          'f:type': {},
        },
      }),
      entry('l2lb-controller', { 'f:metadata': { 'f:annotations': { 'f:metallb.universe.tf/ip-allocated-from-pool': {} } } }),
      entry('l2lb-controller', { 'f:status': { 'f:loadBalancer': { 'f:ingress': {} } } }, 'status'),
    ],
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

export const realSlice = {
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
    managedFields: [
      entry('endpointslice-controller.k8s.io', {
        'f:addressType': {},
        'f:endpoints': {},
        'f:metadata': {
          'f:annotations': set('endpoints.kubernetes.io/last-change-trigger-time'),
          'f:generateName': {},
          'f:labels': set('app', 'endpointslice.kubernetes.io/managed-by', 'kubernetes.io/service-name'),
          'f:ownerReferences': { '.': {}, 'k:{"uid":"u"}': {} },
        },
        'f:ports': {},
      }),
    ],
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

export const betaSlice = {
  apiVersion: 'discovery.k8s.io/v1beta1',
  kind: 'EndpointSlice',
  metadata: { name: 'old-1', namespace: 'd', resourceVersion: '9', labels: { 'kubernetes.io/service-name': 'old' } },
  endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'n3', 'topology.kubernetes.io/zone': 'a' } }],
};

export const realNode = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: 'n1',
    uid: 'u-n1',
    resourceVersion: '77',
    labels: { 'kubernetes.io/hostname': 'n1', zone: 'a' },
    annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    managedFields: [
      entry('kubelet', { 'f:metadata': { 'f:annotations': set('node.alpha.kubernetes.io/ttl'), 'f:labels': set('kubernetes.io/hostname', 'zone') } }),
      entry('kube-controller-manager', { 'f:spec': { 'f:podCIDR': {}, 'f:podCIDRs': set('10.244.1.0/24') } }),
      entry(
        'kubelet',
        { 'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': set('lastHeartbeatTime', 'reason', 'status') }, 'f:images': {}, 'f:nodeInfo': {} } },
        'status',
      ),
    ],
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
