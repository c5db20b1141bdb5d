// Reads what the election needs from raw Kubernetes objects (plain JSON as the API server sends them).
// Total: garbage never throws; every field that cannot be used is named in `problems` so the caller can
// log it with the object, and the view falls back to what MetalLB would see (an empty list, no IP).
import { withoutBookkeeping } from '@l2lb/shared/kube/bookkeeping';
import type { KubeObject } from '@l2lb/shared/kube/types';
import type { EndpointView, NodeView, ServiceView } from '../election/election.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ObjectId {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
}

export interface Parsed<T> {
  readonly id: ObjectId;
  readonly value: T;
  /** "field: what is wrong" lines, empty for a clean object. */
  readonly problems: readonly string[];
}

export interface ServiceInfo {
  readonly view: ServiceView;
  /** spec.loadBalancerClass ('' when unset). */
  readonly lbClass: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringMap(v: unknown, field: string, problems: string[]): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) {
    problems.push(`${field}: not an object`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') out[k] = x;
    else problems.push(`${field}.${k}: not a string`);
  }
  return out;
}

function optString(v: unknown, field: string, problems: string[]): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  problems.push(`${field}: not a string`);
  return undefined;
}

function optBool(v: unknown, field: string, problems: string[]): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  problems.push(`${field}: not a boolean`);
  return undefined;
}

/** The object's namespace/name/uid; undefined when metadata has no usable name. */
export function objectId(obj: unknown): ObjectId | undefined {
  if (!isRecord(obj) || !isRecord(obj['metadata'])) return undefined;
  const m = obj['metadata'];
  const name = m['name'];
  if (typeof name !== 'string' || name === '') return undefined;
  const ns = m['namespace'];
  const uid = m['uid'];
  return { namespace: typeof ns === 'string' ? ns : '', name, uid: typeof uid === 'string' ? uid : undefined };
}

export const keyOf = (id: { namespace: string; name: string }): string => `${id.namespace}/${id.name}`;

export function parseService(obj: unknown): Parsed<ServiceInfo> | undefined {
  const id = objectId(obj);
  if (!id || !isRecord(obj)) return undefined;
  const problems: string[] = [];
  const meta = obj['metadata'] as Record<string, unknown>;
  const spec = isRecord(obj['spec']) ? obj['spec'] : {};
  const status = isRecord(obj['status']) ? obj['status'] : {};
  const lb = status['loadBalancer'];
  const ingressIPs: string[] = [];
  if (lb !== undefined && lb !== null) {
    if (!isRecord(lb)) problems.push('status.loadBalancer: not an object');
    else {
      const ingress = lb['ingress'];
      if (Array.isArray(ingress)) {
        ingress.forEach((e: unknown, i) => {
          const ip = isRecord(e) ? e['ip'] : undefined;
          if (typeof ip === 'string' && ip !== '') ingressIPs.push(ip);
          else if (isRecord(e) && typeof e['hostname'] === 'string' && ip === undefined)
            return; // hostname-only entries are not ours
          else {
            problems.push(`status.loadBalancer.ingress[${i}].ip: ${ip === undefined ? 'missing' : `not an IP string (${JSON.stringify(ip)})`}`);
            ingressIPs.push(typeof ip === 'string' ? ip : '');
          }
        });
      } else if (ingress !== undefined && ingress !== null) problems.push('status.loadBalancer.ingress: not a list');
    }
  }
  const type = optString(spec['type'], 'spec.type', problems) ?? 'ClusterIP';
  const view: ServiceView = {
    type,
    ingressIPs,
    externalTrafficPolicy: optString(spec['externalTrafficPolicy'], 'spec.externalTrafficPolicy', problems),
    labels: stringMap(meta['labels'], 'metadata.labels', problems),
    annotations: stringMap(meta['annotations'], 'metadata.annotations', problems),
  };
  return { id, value: { view, lbClass: optString(spec['loadBalancerClass'], 'spec.loadBalancerClass', problems) ?? '' }, problems };
}

export interface SliceInfo {
  /** namespace/name of the Service (label kubernetes.io/service-name); undefined without the label. */
  readonly service: string | undefined;
  readonly endpoints: readonly EndpointView[];
}

/** A discovery.k8s.io/v1 (or v1beta1) EndpointSlice. */
export function parseEndpointSlice(obj: unknown): Parsed<SliceInfo> | undefined {
  const id = objectId(obj);
  if (!id || !isRecord(obj)) return undefined;
  const problems: string[] = [];
  const labels = stringMap((obj['metadata'] as Record<string, unknown>)['labels'], 'metadata.labels', problems);
  const svc = labels[SERVICE_NAME_LABEL];
  if (svc === undefined || svc === '') problems.push(`metadata.labels: no ${SERVICE_NAME_LABEL} label, the slice belongs to no Service`);
  const endpoints: EndpointView[] = [];
  const raw = obj['endpoints'];
  if (Array.isArray(raw)) {
    raw.forEach((e: unknown, i) => {
      if (!isRecord(e)) {
        problems.push(`endpoints[${i}]: not an object`);
        return;
      }
      const c = isRecord(e['conditions']) ? e['conditions'] : {};
      // discovery.k8s.io/v1beta1 (Kubernetes 1.20) names the node in topology, v1 in nodeName.
      const topology = isRecord(e['topology']) ? e['topology'] : {};
      endpoints.push({
        nodeName: optString(e['nodeName'] ?? topology['kubernetes.io/hostname'], `endpoints[${i}].nodeName`, problems),
        ready: optBool(c['ready'], `endpoints[${i}].conditions.ready`, problems),
        serving: optBool(c['serving'], `endpoints[${i}].conditions.serving`, problems),
      });
    });
  } else if (raw !== undefined && raw !== null) problems.push('endpoints: not a list');
  return { id, value: { service: svc ? `${id.namespace}/${svc}` : undefined, endpoints }, problems };
}

export function parseNode(obj: unknown): Parsed<NodeView> | undefined {
  const id = objectId(obj);
  if (!id || !isRecord(obj)) return undefined;
  const problems: string[] = [];
  const labels = stringMap((obj['metadata'] as Record<string, unknown>)['labels'], 'metadata.labels', problems);
  const status = isRecord(obj['status']) ? obj['status'] : {};
  const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as unknown[]) : [];
  const networkUnavailable = conditions.some((c) => isRecord(c) && c['type'] === 'NetworkUnavailable' && c['status'] === 'True');
  return { id, value: { labels, networkUnavailable }, problems };
}

// ---- what the speaker's informers keep ---------------------------------------------------------
// An informer's cache holds every object of its kind; these keep only what the parsers above read (and
// the metadata the informer needs), so parse(xCacheForm(o)) equals parse(withoutBookkeeping(o)) for
// any o: a field read as it is, or the whole container when it is not an object (its problems are
// then reported as before). In a real cluster most of a Service, an EndpointSlice and a Node is
// never read here (ports, addresses, targetRefs, a Node's image list).

/** The keys of `v` that are in `keys`, when `v` is an object; `v` itself otherwise (so parsers see the same garbage). */
function only(v: unknown, keys: readonly string[]): unknown {
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in v) out[k] = v[k];
  return out;
}

const META = ['name', 'namespace', 'uid', 'resourceVersion', 'labels', 'annotations'] as const;

/** The object with only the given top-level keys, each cut down by its function; non-objects as they are. */
function cacheForm<O extends KubeObject>(obj: O, fields: Record<string, (v: unknown) => unknown>): O {
  if (!isRecord(obj)) return obj;
  const lean = withoutBookkeeping(obj) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['apiVersion', 'kind']) if (k in lean) out[k] = lean[k];
  if ('metadata' in lean) out['metadata'] = only(lean['metadata'], META);
  for (const [k, cut] of Object.entries(fields)) if (k in lean) out[k] = cut(lean[k]);
  return out as O;
}

/** A Service as the speaker's informer keeps it: what parseService reads. */
export function serviceCacheForm<O extends KubeObject>(obj: O): O {
  return cacheForm(obj, {
    spec: (v) => only(v, ['type', 'externalTrafficPolicy', 'loadBalancerClass']),
    status: (v) => only(v, ['loadBalancer']),
  });
}

/** An EndpointSlice (v1 or v1beta1) as the speaker's informer keeps it: per endpoint its node and readiness. */
export function endpointSliceCacheForm<O extends KubeObject>(obj: O): O {
  const endpoint = (e: unknown): unknown => {
    if (!isRecord(e)) return e;
    const out = only(e, ['nodeName']) as Record<string, unknown>;
    if ('conditions' in e) out['conditions'] = only(e['conditions'], ['ready', 'serving']);
    if ('topology' in e) out['topology'] = only(e['topology'], ['kubernetes.io/hostname']);
    return out;
  };
  return cacheForm(obj, { endpoints: (v) => (Array.isArray(v) ? v.map(endpoint) : v) });
}

/** A Node as the speaker's informer keeps it: its labels and whether its network is unavailable. */
export function nodeCacheForm<O extends KubeObject>(obj: O): O {
  const conditions = (v: unknown): unknown =>
    Array.isArray(v) ? v.filter((c) => isRecord(c) && c['type'] === 'NetworkUnavailable').map((c) => only(c, ['type', 'status'])) : v;
  return cacheForm(obj, {
    status: (v) => {
      if (!isRecord(v)) return v;
      return 'conditions' in v ? { conditions: conditions(v['conditions']) } : {};
    },
  });
}
