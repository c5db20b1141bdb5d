// The resource types the embedded API server serves, with the per-type rules the real server applies
// (field selector whitelist, status subresource, strategic-merge-patch support, discovery data).

import type { JsonObject } from './json.js';

export interface ResourceType {
  /** API group; '' for the core group. */
  group: string;
  version: string;
  /** Plural resource name used in URLs. */
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  /** Has a /status subresource (writes to the main resource ignore .status and vice versa). */
  status: boolean;
  /** Custom resource (no strategic merge patch: 415; generation bumps on spec changes). */
  custom: boolean;
  /** Objects of all versions sharing this key live in one store (e.g. EndpointSlice v1 + v1beta1). */
  storageKey: string;
  /** Field selectors the real server accepts beyond metadata.name / metadata.namespace. */
  fieldSelectors: string[];
  /** What a create does with .status: drop it (most), keep it (nodes), or set a default. */
  statusOnCreate: 'drop' | 'keep' | { [k: string]: string };
  /** Extra columns for the Table output (name and age are always there). */
  categories?: string[];
}

export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

interface Def {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  status?: boolean;
  custom?: boolean;
  storageKey?: string;
  fieldSelectors?: string[];
  statusOnCreate?: ResourceType['statusOnCreate'];
}

function def(d: Def): ResourceType {
  return {
    group: d.group,
    version: d.version,
    resource: d.resource,
    kind: d.kind,
    singular: d.kind.toLowerCase(),
    namespaced: d.namespaced,
    shortNames: d.shortNames ?? [],
    status: d.status ?? false,
    custom: d.custom ?? false,
    storageKey: d.storageKey ?? `${d.group}/${d.resource}`,
    fieldSelectors: d.fieldSelectors ?? [],
    statusOnCreate: d.statusOnCreate ?? 'drop',
  };
}

const METALLB = 'metallb.io';

/** The kinds served from the start; without `metallb`, the metallb.io kinds come only from their CRDs (see `metallbCrds`). */
export function builtinResources(opts: { metallb?: boolean } = {}): ResourceType[] {
  return [...coreResources(), ...((opts.metallb ?? true) ? metallbResources() : [])];
}

function coreResources(): ResourceType[] {
  return [
    def({
      group: '',
      version: 'v1',
      resource: 'namespaces',
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      status: true,
      fieldSelectors: ['status.phase'],
      statusOnCreate: { phase: 'Active' },
    }),
    def({ group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true, shortNames: ['svc'], status: true }),
    def({ group: '', version: 'v1', resource: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'] }),
    def({
      group: '',
      version: 'v1',
      resource: 'nodes',
      kind: 'Node',
      namespaced: false,
      shortNames: ['no'],
      status: true,
      fieldSelectors: ['spec.unschedulable'],
      statusOnCreate: 'keep',
    }),
    def({
      group: '',
      version: 'v1',
      resource: 'pods',
      kind: 'Pod',
      namespaced: true,
      shortNames: ['po'],
      status: true,
      fieldSelectors: [
        'spec.nodeName',
        'spec.restartPolicy',
        'spec.schedulerName',
        'spec.serviceAccountName',
        'status.phase',
        'status.podIP',
        'status.nominatedNodeName',
      ],
      statusOnCreate: { phase: 'Pending' },
    }),
    def({ group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
    def({ group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true, fieldSelectors: ['type'] }),
    def({ group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] }),
    def({
      group: '',
      version: 'v1',
      resource: 'events',
      kind: 'Event',
      namespaced: true,
      shortNames: ['ev'],
      fieldSelectors: [
        'involvedObject.kind',
        'involvedObject.namespace',
        'involvedObject.name',
        'involvedObject.uid',
        'involvedObject.apiVersion',
        'involvedObject.resourceVersion',
        'involvedObject.fieldPath',
        'reason',
        'reportingComponent',
        'source',
        'type',
      ],
    }),
    def({
      group: 'events.k8s.io',
      version: 'v1',
      resource: 'events',
      kind: 'Event',
      namespaced: true,
      shortNames: ['ev'],
      storageKey: '/events',
      fieldSelectors: ['regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid', 'reason', 'type', 'reportingController'],
    }),
    def({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', namespaced: true }),
    def({ group: 'discovery.k8s.io', version: 'v1beta1', resource: 'endpointslices', kind: 'EndpointSlice', namespaced: true }),
    def({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true }),
    def({
      group: 'apiextensions.k8s.io',
      version: 'v1',
      resource: 'customresourcedefinitions',
      kind: 'CustomResourceDefinition',
      namespaced: false,
      shortNames: ['crd', 'crds'],
      status: true,
    }),
  ];
}

function metallbResources(): ResourceType[] {
  return [
    def({ group: METALLB, version: 'v1beta1', resource: 'ipaddresspools', kind: 'IPAddressPool', namespaced: true, status: true, custom: true }),
    def({ group: METALLB, version: 'v1beta1', resource: 'l2advertisements', kind: 'L2Advertisement', namespaced: true, status: true, custom: true }),
    def({ group: METALLB, version: 'v1beta1', resource: 'servicel2statuses', kind: 'ServiceL2Status', namespaced: true, status: true, custom: true }),
    def({ group: METALLB, version: 'v1beta1', resource: 'configurationstates', kind: 'ConfigurationState', namespaced: true, status: true, custom: true }),
    def({ group: METALLB, version: 'v1beta1', resource: 'bfdprofiles', kind: 'BFDProfile', namespaced: true, status: true, custom: true }),
    def({ group: METALLB, version: 'v1beta1', resource: 'bgpadvertisements', kind: 'BGPAdvertisement', namespaced: true, status: true, custom: true }),
    def({ group: METALLB, version: 'v1beta1', resource: 'communities', kind: 'Community', namespaced: true, status: true, custom: true }),
    def({ group: METALLB, version: 'v1beta2', resource: 'bgppeers', kind: 'BGPPeer', namespaced: true, status: true, custom: true }),
  ];
}

/** CustomResourceDefinition (apiextensions.k8s.io/v1) bodies for the metallb.io kinds, as MetalLB's manifests install them. */
export function metallbCrds(): JsonObject[] {
  return metallbResources().map((t) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${t.resource}.${t.group}` },
    spec: {
      group: t.group,
      names: { kind: t.kind, listKind: `${t.kind}List`, plural: t.resource, singular: t.singular },
      scope: t.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: t.version,
          served: true,
          storage: true,
          ...(t.status ? { subresources: { status: {} } } : {}),
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  }));
}

/** Builds resource types from a CustomResourceDefinition (apiextensions.k8s.io/v1) body. */
export function resourcesFromCrd(crd: unknown): ResourceType[] {
  if (typeof crd !== 'object' || crd === null) return [];
  const spec = (crd as { spec?: unknown }).spec;
  if (typeof spec !== 'object' || spec === null) return [];
  const s = spec as { group?: unknown; names?: unknown; scope?: unknown; versions?: unknown };
  const names = (typeof s.names === 'object' && s.names !== null ? s.names : {}) as {
    plural?: unknown;
    kind?: unknown;
    singular?: unknown;
    shortNames?: unknown;
  };
  if (typeof s.group !== 'string' || typeof names.plural !== 'string' || typeof names.kind !== 'string' || !Array.isArray(s.versions)) return [];
  const out: ResourceType[] = [];
  for (const v of s.versions as unknown[]) {
    if (typeof v !== 'object' || v === null) continue;
    const ver = v as { name?: unknown; served?: unknown; subresources?: unknown };
    if (typeof ver.name !== 'string' || ver.served === false) continue;
    const subs = ver.subresources as { status?: unknown } | undefined;
    const t = def({
      group: s.group,
      version: ver.name,
      resource: names.plural,
      kind: names.kind,
      namespaced: s.scope !== 'Cluster',
      shortNames: Array.isArray(names.shortNames) ? names.shortNames.filter((x): x is string => typeof x === 'string') : [],
      status: typeof subs === 'object' && subs !== null && subs.status !== undefined,
      custom: true,
    });
    if (typeof names.singular === 'string') t.singular = names.singular;
    out.push(t);
  }
  return out;
}

/** Merge keys for strategic merge patch of built-in kinds: list path (field names only) -> merge key; '' = set of primitives. */
const MERGE_KEYS: Record<string, Record<string, string>> = {
  '*': { 'metadata.ownerReferences': 'uid', 'metadata.finalizers': '' },
  Service: { 'spec.ports': 'port', 'status.conditions': 'type', 'status.loadBalancer.ingress.ports': 'port' },
  Pod: {
    'spec.containers': 'name',
    'spec.initContainers': 'name',
    'spec.ephemeralContainers': 'name',
    'spec.volumes': 'name',
    'spec.imagePullSecrets': 'name',
    'spec.containers.ports': 'containerPort',
    'spec.containers.env': 'name',
    'spec.containers.volumeMounts': 'mountPath',
    'spec.initContainers.env': 'name',
    'spec.initContainers.ports': 'containerPort',
    'spec.initContainers.volumeMounts': 'mountPath',
    'status.conditions': 'type',
    'status.podIPs': 'ip',
    'spec.hostAliases': 'ip',
  },
  Node: { 'spec.taints': 'key', 'spec.podCIDRs': '', 'status.addresses': 'type', 'status.conditions': 'type' },
  Namespace: { 'status.conditions': 'type' },
  ServiceAccount: { secrets: 'name' },
};

export function mergeKeyFor(kind: string, path: string): string | undefined {
  return MERGE_KEYS[kind]?.[path] ?? MERGE_KEYS['*']?.[path];
}
