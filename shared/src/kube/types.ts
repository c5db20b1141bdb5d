// Wire-level types for the Kubernetes objects l2lb reads and writes, and the resources it uses.
// Objects are plain JSON as the API server sends them (timestamps are strings, not Dates).

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

/** Any Kubernetes object: typed metadata, everything else as unknown JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** The fields of meta/v1 Status that clients look at. */
export interface KubeStatus {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | KubeStatus;
}

// ---- Services (only the fields l2lb uses are typed; the rest passes through) ----

export interface ServicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: string;
  ports?: { port: number; protocol: string; error?: string }[];
}

export interface ServiceSpec {
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: ServicePort[];
  selector?: Record<string, string>;
  loadBalancerIP?: string;
  /** Absent on Kubernetes < 1.21 (the server drops it). */
  loadBalancerClass?: string;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  ipFamilies?: ('IPv4' | 'IPv6')[];
  ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  externalIPs?: string[];
  [key: string]: unknown;
}

export interface ServiceStatus {
  loadBalancer?: { ingress?: LoadBalancerIngress[] };
  conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[];
}

export interface Service extends KubeObject {
  spec?: ServiceSpec;
  status?: ServiceStatus;
}

/** A resource the client can list, watch and write. */
export interface ResourceRef {
  /** '' for the core group. */
  group: string;
  version: string;
  /** Plural name used in URLs (e.g. "services"). */
  plural: string;
  kind: string;
  namespaced: boolean;
}

export function apiVersionOf(r: ResourceRef): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

function res(group: string, version: string, plural: string, kind: string, namespaced = true): ResourceRef {
  return Object.freeze({ group, version, plural, kind, namespaced });
}

/** The resources l2lb uses. */
export const Resources = {
  namespaces: res('', 'v1', 'namespaces', 'Namespace', false),
  services: res('', 'v1', 'services', 'Service'),
  endpoints: res('', 'v1', 'endpoints', 'Endpoints'),
  nodes: res('', 'v1', 'nodes', 'Node', false),
  pods: res('', 'v1', 'pods', 'Pod'),
  configMaps: res('', 'v1', 'configmaps', 'ConfigMap'),
  secrets: res('', 'v1', 'secrets', 'Secret'),
  coreEvents: res('', 'v1', 'events', 'Event'),
  events: res('events.k8s.io', 'v1', 'events', 'Event'),
  endpointSlicesV1: res('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  endpointSlicesV1beta1: res('discovery.k8s.io', 'v1beta1', 'endpointslices', 'EndpointSlice'),
  leases: res('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  customResourceDefinitions: res('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false),
  ipAddressPools: res('metallb.io', 'v1beta1', 'ipaddresspools', 'IPAddressPool'),
  l2Advertisements: res('metallb.io', 'v1beta1', 'l2advertisements', 'L2Advertisement'),
  serviceL2Statuses: res('metallb.io', 'v1beta1', 'servicel2statuses', 'ServiceL2Status'),
  configurationStates: res('metallb.io', 'v1beta1', 'configurationstates', 'ConfigurationState'),
} as const;

/** URL path of a collection, an object or a subresource. Cluster-scoped resources ignore `namespace`. */
export function resourcePath(r: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  let p = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  if (r.namespaced && namespace !== undefined && namespace !== '') p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
}

/** "services default/web" — how log lines name an object. */
export function describeObject(r: Pick<ResourceRef, 'plural' | 'group'>, namespace: string | undefined, name: string | undefined): string {
  const what = r.group === '' ? r.plural : `${r.plural}.${r.group}`;
  return `${what} ${namespace ? `${namespace}/` : ''}${name ?? '(collection)'}`;
}

export function objectKey(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}
