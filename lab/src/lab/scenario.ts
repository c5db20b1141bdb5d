// The objects the demo, the e2e test and the benchmark create: a pool ConfigMap (MetalLB legacy
// format), a LoadBalancer Service, and an EndpointSlice whose endpoints sit on the lab's nodes.
import { LAB_NAMESPACE, type LabPlan } from './plan.js';

export function poolConfigMap(plan: LabPlan, configText?: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config', namespace: LAB_NAMESPACE },
    data: {
      config: configText ?? `address-pools:\n- name: lab\n  protocol: layer2\n  addresses:\n  - ${plan.poolRange}\n`,
    },
  };
}

/** A configuration the controller must refuse: the range runs backwards and one address is not an IP. */
export const INVALID_CONFIG = 'address-pools:\n- name: lab\n  protocol: layer2\n  addresses:\n  - 10.213.0.249-10.213.0.200\n  - 10.213.0.300/32\n';

export function lbService(name: string, namespace = 'default'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: {
      type: 'LoadBalancer',
      selector: { app: name },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      externalTrafficPolicy: 'Cluster',
    },
  };
}

/** One ready endpoint on each node (no real pods: the addresses are placeholders). */
export function endpointSlice(plan: LabPlan, service: string, namespace = 'default'): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-lab`, namespace, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'l2lb-lab' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: plan.nodes.map((n) => ({
      addresses: [`10.244.${n.index}.10`],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: n.name,
    })),
  };
}

/** The Service's first ingress IP from `kubectl get svc -o json` output, if any. */
export function ingressIp(serviceJson: string): string | undefined {
  try {
    const o = JSON.parse(serviceJson) as { status?: { loadBalancer?: { ingress?: { ip?: unknown }[] } } } | null;
    const ip = o?.status?.loadBalancer?.ingress?.[0]?.ip;
    return typeof ip === 'string' ? ip : undefined;
  } catch {
    return undefined;
  }
}
