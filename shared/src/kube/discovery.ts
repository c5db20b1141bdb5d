// Which endpoint API the server offers: discovery.k8s.io/v1 EndpointSlices (1.21+), v1beta1 (1.20), or only
// core/v1 Endpoints. Also whether Service.spec.loadBalancerClass can exist (1.21+).

import type { KubeClient } from './client.js';
import { Resources, type ResourceRef } from './types.js';

export type EndpointsSource = { kind: 'EndpointSlice'; resource: ResourceRef } | { kind: 'Endpoints'; resource: ResourceRef };

export async function chooseEndpointsSource(client: KubeClient): Promise<EndpointsSource> {
  if (await client.serves(Resources.endpointSlicesV1)) return { kind: 'EndpointSlice', resource: Resources.endpointSlicesV1 };
  if (await client.serves(Resources.endpointSlicesV1beta1)) return { kind: 'EndpointSlice', resource: Resources.endpointSlicesV1beta1 };
  return { kind: 'Endpoints', resource: Resources.endpoints };
}

export interface ServerVersion {
  major: number;
  minor: number;
  gitVersion: string;
}

export async function serverVersion(client: KubeClient): Promise<ServerVersion> {
  const v = await client.request<{ major?: string; minor?: string; gitVersion?: string }>('GET', '/version');
  return { major: Number.parseInt(v.major ?? '0', 10) || 0, minor: Number.parseInt(v.minor ?? '0', 10) || 0, gitVersion: v.gitVersion ?? '' };
}

/** Service.spec.loadBalancerClass exists from Kubernetes 1.21 (older servers silently drop it). */
export function supportsLoadBalancerClass(v: ServerVersion): boolean {
  return v.major > 1 || (v.major === 1 && v.minor >= 21);
}
