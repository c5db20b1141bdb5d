// Service, EndpointSlice and Node objects as the API server could send them (valid ones mutated: wrong types,
// missing or deepened fields, prototype keys) through the speaker's views and the controller's Service reader.
// Contract: the speaker views are total (undefined or a view with problems); the controller reads any object
// the informer hands it (readServiceObject) and its readers never throw on what that returns.
import { parseEndpointSlice, parseNode, parseService as speakerParseService } from '@l2lb/speaker/run/views';
import { handledByClass, isLoadBalancer, parseService, readServiceObject, serviceFamilies, statusIPs } from '@l2lb/controller/service';
import { mutateJson, randomJson, showJson, type FuzzTarget, type Rng } from '../harness.js';

const SERVICE = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'u1',
    resourceVersion: '7',
    generation: 2,
    labels: { app: 'web' },
    annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.5,fd00::5', 'metallb.io/address-pool': 'production', 'metallb.universe.tf/allow-shared-ip': 'k' },
  },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.96.0.10',
    clusterIPs: ['10.96.0.10', 'fd00::a'],
    ipFamilies: ['IPv4', 'IPv6'],
    ipFamilyPolicy: 'PreferDualStack',
    loadBalancerIP: '10.0.0.5',
    externalTrafficPolicy: 'Local',
    selector: { app: 'web' },
    ports: [{ protocol: 'TCP', port: 80 }, { port: 443 }],
  },
  status: {
    loadBalancer: { ingress: [{ ip: '10.0.0.5' }, { hostname: 'x.example' }] },
    conditions: [{ type: 'metallb.io/Allocated', status: 'True', reason: 'IPAllocated', message: 'm', observedGeneration: 2 }],
  },
};
const SLICE = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'web-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  endpoints: [
    { addresses: ['10.1.0.1'], nodeName: 'n1', conditions: { ready: true, serving: true } },
    { addresses: ['10.1.0.2'], topology: { 'kubernetes.io/hostname': 'n2' }, conditions: { ready: false } },
  ],
};
const NODE = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
  status: {
    conditions: [
      { type: 'NetworkUnavailable', status: 'False' },
      { type: 'Ready', status: 'True' },
    ],
  },
};

interface KubeInput {
  kind: 'Service' | 'EndpointSlice' | 'Node';
  obj: unknown;
}

export const kubeObjectsTarget: FuzzTarget<KubeInput> = {
  name: 'kube-objects',
  description: 'Service/EndpointSlice/Node through speaker views; Service through the controller reader (readServiceObject, parseService, ...)',
  generate(rng: Rng): KubeInput {
    const kind = rng.pick(['Service', 'Service', 'EndpointSlice', 'Node'] as const);
    const base = kind === 'Service' ? SERVICE : kind === 'EndpointSlice' ? SLICE : NODE;
    if (rng.chance(10)) return { kind, obj: randomJson(rng) };
    let obj: unknown = structuredClone(base);
    for (let n = 1 + rng.int(3); n > 0; n--) obj = mutateJson(rng, obj);
    return { kind, obj };
  },
  execute({ kind, obj }) {
    if (kind === 'EndpointSlice') {
      parseEndpointSlice(obj);
      return;
    }
    if (kind === 'Node') {
      parseNode(obj);
      return;
    }
    speakerParseService(obj);
    const read = readServiceObject(obj);
    if (read === undefined) return;
    const svc = read.service;
    handledByClass(svc, '');
    handledByClass(svc, 'l2lb');
    isLoadBalancer(svc);
    statusIPs(svc);
    serviceFamilies(svc);
    parseService(svc, { team: 'a' });
  },
  show: (input) => showJson(input),
};
