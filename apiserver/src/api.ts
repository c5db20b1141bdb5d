// API semantics of the embedded server, independent of HTTP: create / update / patch / delete with the
// rules real clients depend on (optimistic concurrency, status subresource, generateName, defaults,
// validation with 422s, namespace existence, finalizers, CRD registration).

import { randomBytes, randomUUID } from 'node:crypto';
import { alreadyExists, ApiError, badRequest, conflict, invalid, notFound, type StatusCause } from './errors.js';
import { clone, deepEqual, getPath, isObject, meta, str, stringMap, type Json, type JsonObject } from './json.js';
import { jsonPatch, mergePatch, PatchError, strategicMerge } from './patch.js';
import { apiVersionOf, builtinResources, mergeKeyFor, resourcesFromCrd, type ResourceType } from './resources.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError, type FieldRequirement, type LabelSelector } from './selectors.js';
import { Store } from './store.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export interface Filter {
  namespace?: string;
  label: LabelSelector;
  fields: FieldRequirement[];
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

// events.k8s.io/v1 and core/v1 Events are two views of one object (as on the real server).
const CORE_TO_EVENTS: Record<string, string> = {
  involvedObject: 'regarding',
  message: 'note',
  reportingComponent: 'reportingController',
  source: 'deprecatedSource',
  firstTimestamp: 'deprecatedFirstTimestamp',
  lastTimestamp: 'deprecatedLastTimestamp',
  count: 'deprecatedCount',
};
const EVENTS_TO_CORE: Record<string, string> = Object.fromEntries(Object.entries(CORE_TO_EVENTS).map(([a, b]) => [b, a]));

function renameFields(o: JsonObject, map: Record<string, string>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) out[map[k] ?? k] = v;
  return out;
}

function withoutMetaAndStatus(o: JsonObject): JsonObject {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

export interface ApiOptions {
  /**
   * Serve the metallb.io kinds from the start (default true). false: as on a real server, they are served only
   * once a CustomResourceDefinition for them is created (bodies: `metallbCrds()`).
   */
  metallbBuiltin?: boolean;
}

export class Api {
  readonly store: Store;
  private readonly types: ResourceType[] = [];
  private readonly usedClusterIps = new Set<string>();
  private readonly usedNodePorts = new Set<number>();
  private nextClusterIp = 10;

  constructor(store?: Store, opts: ApiOptions = {}) {
    this.store = store ?? new Store();
    for (const t of builtinResources({ metallb: opts.metallbBuiltin ?? true })) this.types.push(t);
    this.reindex();
  }

  /** Recomputes derived state (allocations, CRD types, default namespaces) after loading a snapshot. */
  reindex(): void {
    this.usedClusterIps.clear();
    this.usedNodePorts.clear();
    for (const svc of this.store.list('/services')) this.trackService(svc);
    for (const crd of this.store.list('apiextensions.k8s.io/customresourcedefinitions')) this.registerCrd(crd);
    const ns = this.type('', 'v1', 'namespaces');
    for (const name of DEFAULT_NAMESPACES) {
      if (ns && !this.store.get(ns.storageKey, undefined, name)) {
        this.store.put(
          ns.storageKey,
          this.stamp(ns, { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }),
        );
      }
    }
  }

  get resources(): readonly ResourceType[] {
    return this.types;
  }

  type(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.resource === resource);
  }

  private registerCrd(crd: JsonObject): void {
    for (const t of resourcesFromCrd(crd)) {
      if (!this.type(t.group, t.version, t.resource)) this.types.push(t);
    }
  }

  // ---- reads ----

  get(t: ResourceType, namespace: string | undefined, name: string): JsonObject {
    const o = this.store.get(t.storageKey, t.namespaced ? namespace : undefined, name);
    if (!o) throw notFound(t.resource, t.group, name);
    return o;
  }

  filter(t: ResourceType, namespace: string | undefined, labelSelector: string | undefined, fieldSelector: string | undefined): Filter {
    try {
      const label = parseLabelSelector(labelSelector ?? '');
      const allowed = ['metadata.name', ...(t.namespaced ? ['metadata.namespace'] : []), ...t.fieldSelectors];
      let fields = parseFieldSelector(fieldSelector ?? '', allowed);
      if (t.group === 'events.k8s.io') {
        fields = fields.map((f) => ({
          ...f,
          field: f.field.replace(/^regarding\./, 'involvedObject.').replace(/^reportingController$/, 'reportingComponent'),
        }));
      }
      return { ...(namespace !== undefined ? { namespace } : {}), label, fields };
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(`unable to parse requirement: ${e.message}`);
      throw e;
    }
  }

  matches(f: Filter, obj: JsonObject): boolean {
    const m = meta(obj);
    if (f.namespace !== undefined && str(m['namespace']) !== f.namespace) return false;
    if (f.label.length > 0 && !matchLabels(f.label, stringMap(m['labels']))) return false;
    if (f.fields.length > 0) {
      return matchFields(f.fields, (field) => {
        const v = getPath(obj, field);
        if (typeof v === 'string') return v;
        if (typeof v === 'boolean' || typeof v === 'number') return String(v);
        if (field === 'spec.unschedulable') return 'false';
        if (field === 'source' && isObject(obj['source'])) return str(obj['source']['component']) ?? '';
        return '';
      });
    }
    return true;
  }

  list(t: ResourceType, f: Filter): JsonObject[] {
    const all = this.store.list(t.storageKey, t.namespaced ? f.namespace : undefined);
    if (f.label.length === 0 && f.fields.length === 0) return all;
    return all.filter((o) => this.matches(f, o));
  }

  /** The object as served for `t`'s version (EndpointSlice v1beta1 and v1 share storage). */
  present(t: ResourceType, obj: JsonObject): JsonObject {
    const apiVersion = apiVersionOf(t);
    if (obj['apiVersion'] === apiVersion && obj['kind'] === t.kind) return obj;
    if (t.group === 'events.k8s.io') return renameFields({ ...obj, apiVersion, kind: t.kind }, CORE_TO_EVENTS);
    return { ...obj, apiVersion, kind: t.kind };
  }

  /** The stored form of an object written through `t` (events.k8s.io/v1 Events are stored as core/v1). */
  private toStorage(t: ResourceType, obj: JsonObject): JsonObject {
    if (t.group !== 'events.k8s.io') return obj;
    return renameFields({ ...obj, apiVersion: 'v1', kind: 'Event' }, EVENTS_TO_CORE);
  }

  // ---- writes ----

  private stamp(t: ResourceType, obj: JsonObject): JsonObject {
    const m = meta(obj);
    m['uid'] = randomUUID();
    m['creationTimestamp'] = nowIso();
    if (t.custom) m['generation'] = 1;
    obj['apiVersion'] = apiVersionOf(t);
    obj['kind'] = t.kind;
    return obj;
  }

  private checkNamespace(t: ResourceType, namespace: string | undefined): void {
    if (!t.namespaced) return;
    const nsType = this.type('', 'v1', 'namespaces');
    if (!nsType || !namespace) throw badRequest('a namespace is required for a namespaced resource');
    const ns = this.store.get(nsType.storageKey, undefined, namespace);
    if (!ns) throw notFound('namespaces', '', namespace);
    if (meta(ns)['deletionTimestamp'] !== undefined) {
      throw new ApiError(
        403,
        'Forbidden',
        `${t.resource} "${str(meta(ns)['name'])}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  create(t: ResourceType, namespace: string | undefined, body: Json, dryRun = false): JsonObject {
    if (!isObject(body)) throw badRequest(`the body of the request is not a JSON object`);
    const obj = clone(body);
    this.checkKind(t, obj);
    const m = meta(obj);
    const bodyNs = str(m['namespace']);
    if (t.namespaced) {
      if (bodyNs !== undefined && bodyNs !== '' && bodyNs !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      m['namespace'] = namespace ?? '';
    } else {
      delete m['namespace'];
    }
    let name = str(m['name']) ?? '';
    const generateName = str(m['generateName']) ?? '';
    const causes: StatusCause[] = [];
    if (name === '' && generateName !== '') {
      this.validateName(t, generateName.replace(/-$/, 'a'), 'metadata.generateName', causes);
      name = `${generateName}${randomSuffix()}`;
      m['name'] = name;
    } else if (name === '') {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
    } else {
      this.validateName(t, name, 'metadata.name', causes);
    }
    for (const k of [
      'uid',
      'resourceVersion',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'selfLink',
      'managedFields',
    ])
      delete m[k];
    if (t.status) {
      if (t.statusOnCreate === 'drop') delete obj['status'];
      else if (t.statusOnCreate !== 'keep') obj['status'] = { ...(isObject(obj['status']) ? obj['status'] : {}), ...t.statusOnCreate };
    }
    this.defaults(t, obj, undefined);
    this.validate(t, obj, causes);
    if (causes.length > 0) throw invalid(t.kind, t.group, name, causes);
    this.checkNamespace(t, namespace);
    if (this.store.get(t.storageKey, t.namespaced ? namespace : undefined, name)) throw alreadyExists(t.resource, t.group, name);
    this.stamp(t, obj);
    if (t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions') {
      obj['status'] = {
        conditions: [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: nowIso() },
          {
            type: 'Established',
            status: 'True',
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
            lastTransitionTime: nowIso(),
          },
        ],
        acceptedNames: isObject(getPath(obj, 'spec.names')) ? (getPath(obj, 'spec.names') as JsonObject) : {},
        storedVersions: [],
      };
    }
    if (dryRun) return this.toStorage(t, { ...obj, metadata: { ...meta(obj), resourceVersion: '' } });
    this.allocate(t, obj, undefined);
    const stored = this.store.put(t.storageKey, this.toStorage(t, obj));
    if (t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions') this.registerCrd(stored);
    return stored;
  }

  /** PUT: whole-object replace of the main resource or of /status. */
  update(t: ResourceType, namespace: string | undefined, name: string, body: Json, subresource: 'status' | undefined, dryRun = false): JsonObject {
    if (!isObject(body)) throw badRequest('the body of the request is not a JSON object');
    const cur = this.present(t, this.get(t, namespace, name));
    const next = clone(body);
    this.checkKind(t, next);
    const m = meta(next);
    const bodyName = str(m['name']);
    if (bodyName !== undefined && bodyName !== name) {
      throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
    }
    const rv = str(m['resourceVersion']);
    if (rv === undefined || rv === '') {
      if (t.custom) {
        throw invalid(t.kind, t.group, name, [
          { reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' },
        ]);
      }
    } else if (rv !== str(meta(cur)['resourceVersion'])) {
      throw conflict(t.resource, t.group, name);
    }
    return this.commitUpdate(t, cur, next, subresource, dryRun);
  }

  patch(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: Json,
    contentType: string,
    subresource: 'status' | undefined,
    dryRun = false,
  ): JsonObject {
    const ct = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    const accepted = t.custom
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply, PATCH_TYPES.strategic];
    if (!(accepted as string[]).includes(ct) || ct === PATCH_TYPES.apply) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
      );
    }
    const cur = this.present(t, this.get(t, namespace, name));
    let patched: Json;
    try {
      if (ct === PATCH_TYPES.json) patched = jsonPatch(cur, body);
      else if (ct === PATCH_TYPES.merge) patched = mergePatch(cur, body);
      else patched = strategicMerge(cur, body, '', (p) => mergeKeyFor(t.kind, p));
    } catch (e) {
      if (e instanceof PatchError) {
        if (e.code === 422) throw invalid(t.kind, t.group, name, [{ reason: 'FieldValueInvalid', message: e.message }]);
        throw badRequest(e.message);
      }
      throw e;
    }
    if (!isObject(patched)) throw badRequest('the patch did not produce an object');
    const m = meta(patched);
    if (str(m['name']) !== name) throw badRequest(`the name of the object (${String(m['name'])}) does not match the name on the URL (${name})`);
    if (str(m['resourceVersion']) !== str(meta(cur)['resourceVersion'])) throw conflict(t.resource, t.group, name);
    return this.commitUpdate(t, cur, patched, subresource, dryRun);
  }

  private commitUpdate(t: ResourceType, cur: JsonObject, body: JsonObject, subresource: 'status' | undefined, dryRun: boolean): JsonObject {
    let next: JsonObject;
    const curMeta = meta(cur);
    if (subresource === 'status') {
      if (!t.status) throw notFound(`${t.resource}/status`, t.group, str(curMeta['name']) ?? '');
      if (t.custom) {
        next = clone(cur);
        if (body['status'] === undefined) delete next['status'];
        else next['status'] = clone(body['status']);
      } else {
        next = body;
        if (cur['spec'] === undefined) delete next['spec'];
        else next['spec'] = clone(cur['spec']);
      }
    } else {
      next = body;
      if (t.status) {
        if (cur['status'] === undefined) delete next['status'];
        else next['status'] = clone(cur['status']);
      }
    }
    const m = meta(next);
    for (const k of ['uid', 'creationTimestamp', 'namespace', 'name', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
      if (curMeta[k] === undefined) delete m[k];
      else m[k] = curMeta[k] as Json;
    }
    delete m['managedFields'];
    delete m['selfLink'];
    next['apiVersion'] = apiVersionOf(t);
    next['kind'] = t.kind;
    this.defaults(t, next, cur);
    const causes: StatusCause[] = [];
    this.validate(t, next, causes);
    if (causes.length > 0) throw invalid(t.kind, t.group, str(curMeta['name']) ?? '', causes);
    if (t.custom && !deepEqual(withoutMetaAndStatus(next), withoutMetaAndStatus(cur))) {
      m['generation'] = (typeof curMeta['generation'] === 'number' ? curMeta['generation'] : 1) + 1;
    }
    m['resourceVersion'] = curMeta['resourceVersion'] ?? '';
    const stored = this.store.get(t.storageKey, str(curMeta['namespace']), str(curMeta['name']) ?? '') ?? cur;
    next = this.toStorage(t, next);
    if (deepEqual(next, stored)) return stored; // a no-op write changes nothing, not even the resourceVersion
    if (dryRun) return next;
    // Removing the last finalizer of an object being deleted completes the deletion.
    const finalizers = m['finalizers'];
    if (m['deletionTimestamp'] !== undefined && (!Array.isArray(finalizers) || finalizers.length === 0)) {
      this.untrack(t, cur);
      return this.store.remove(t.storageKey, str(m['namespace']), str(m['name']) ?? '') ?? next;
    }
    this.allocate(t, next, cur);
    return this.store.put(t.storageKey, next);
  }

  delete(t: ResourceType, namespace: string | undefined, name: string, dryRun = false): JsonObject {
    const cur = this.get(t, namespace, name);
    if (dryRun) return cur;
    const m = meta(cur);
    if (t.storageKey === '/namespaces') {
      for (const other of this.types) {
        if (!other.namespaced || other !== this.types.find((x) => x.storageKey === other.storageKey)) continue;
        for (const o of this.store.list(other.storageKey, name)) this.store.remove(other.storageKey, name, str(meta(o)['name']) ?? '');
      }
    }
    const finalizers = m['finalizers'];
    if (Array.isArray(finalizers) && finalizers.length > 0) {
      if (m['deletionTimestamp'] !== undefined) return cur;
      const next = clone(cur);
      meta(next)['deletionTimestamp'] = nowIso();
      meta(next)['deletionGracePeriodSeconds'] = 0;
      return this.store.put(t.storageKey, next);
    }
    this.untrack(t, cur);
    return this.store.remove(t.storageKey, t.namespaced ? namespace : undefined, name) ?? cur;
  }

  // ---- per-kind rules ----

  private checkKind(t: ResourceType, obj: JsonObject): void {
    const kind = obj['kind'];
    const apiVersion = obj['apiVersion'];
    if (kind !== undefined && kind !== '' && kind !== t.kind) {
      throw badRequest(
        `the API version in the data (${String(apiVersion)}) does not match the expected API version (${apiVersionOf(t)}) or kind ${String(kind)} != ${t.kind}`,
      );
    }
    if (apiVersion !== undefined && apiVersion !== '' && typeof apiVersion === 'string' && apiVersion.split('/').slice(0, -1).join('/') !== t.group) {
      throw badRequest(`the API version in the data (${apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
    }
  }

  private validateName(t: ResourceType, name: string, field: string, causes: StatusCause[]): void {
    if (t.group === '' && t.resource === 'events') return;
    const label = t.storageKey === '/services' || t.storageKey === '/namespaces';
    const re = t.storageKey === '/services' ? DNS1035_LABEL : label ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
    const max = label ? 63 : 253;
    if (name.length > max || !re.test(name)) {
      const what = t.storageKey === '/services' ? 'a DNS-1035 label' : label ? 'a lowercase RFC 1123 label' : 'a lowercase RFC 1123 subdomain';
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${name}": must be ${what}`, field });
    }
  }

  private validate(t: ResourceType, obj: JsonObject, causes: StatusCause[]): void {
    const labels = meta(obj)['labels'];
    if (labels !== undefined && labels !== null) {
      if (!isObject(labels) || Object.values(labels).some((v) => typeof v !== 'string')) {
        causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: labels must be a map of strings', field: 'metadata.labels' });
      } else {
        for (const [k, v] of Object.entries(labels)) {
          try {
            parseLabelSelector(`${k}=${String(v)}`);
          } catch {
            causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${k}=${String(v)}": not a valid label`, field: 'metadata.labels' });
          }
        }
      }
    }
    if (t.storageKey === '/services') this.validateService(obj, causes);
    if (t.group === 'events.k8s.io' && t.resource === 'events') {
      const need = (field: string, v: Json | undefined): void => {
        if (v === undefined || v === null || v === '') causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
      };
      need('eventTime', obj['eventTime']);
      need('reportingController', obj['reportingController']);
      need('reportingInstance', obj['reportingInstance']);
      need('action', obj['action']);
      need('reason', obj['reason']);
      if (obj['type'] !== 'Normal' && obj['type'] !== 'Warning') {
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${String(obj['type'] ?? '')}": has invalid value`, field: 'type' });
      }
    }
  }

  private validateService(obj: JsonObject, causes: StatusCause[]): void {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    const type = str(spec['type']) ?? 'ClusterIP';
    if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) {
      causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: "${type}"`, field: 'spec.type' });
    }
    const ports = Array.isArray(spec['ports']) ? spec['ports'] : [];
    if (ports.length === 0 && type !== 'ExternalName' && spec['clusterIP'] !== 'None') {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports' });
    }
    ports.forEach((p, i) => {
      const port = isObject(p) ? p['port'] : undefined;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(port ?? null)}: must be between 1 and 65535, inclusive`,
          field: `spec.ports[${i}].port`,
        });
      }
      const proto = isObject(p) ? p['protocol'] : undefined;
      if (proto !== undefined && proto !== 'TCP' && proto !== 'UDP' && proto !== 'SCTP') {
        causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: "${String(proto)}"`, field: `spec.ports[${i}].protocol` });
      }
    });
    if (ports.length > 1 && ports.some((p) => !isObject(p) || !p['name'])) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports[1].name' });
    }
  }

  private defaults(t: ResourceType, obj: JsonObject, cur: JsonObject | undefined): void {
    if (t.storageKey === '/secrets') {
      obj['type'] ??= 'Opaque';
      // As the real server: stringData is write-only, merged into data (base64) over existing keys.
      const stringData = obj['stringData'];
      if (isObject(stringData)) {
        const data: JsonObject = isObject(obj['data']) ? obj['data'] : {};
        for (const [key, value] of Object.entries(stringData)) {
          if (typeof value === 'string') data[key] = Buffer.from(value, 'utf8').toString('base64');
        }
        obj['data'] = data;
      }
      delete obj['stringData'];
    }
    if (t.storageKey === '/services') {
      const spec: JsonObject = isObject(obj['spec']) ? obj['spec'] : {};
      obj['spec'] = spec;
      spec['type'] ??= 'ClusterIP';
      spec['sessionAffinity'] ??= 'None';
      const curSpec = cur && isObject(cur['spec']) ? cur['spec'] : undefined;
      if ((spec['clusterIP'] === undefined || spec['clusterIP'] === '') && curSpec?.['clusterIP'] !== undefined) {
        spec['clusterIP'] = curSpec['clusterIP'] as Json;
        if (curSpec['clusterIPs'] !== undefined) spec['clusterIPs'] = curSpec['clusterIPs'] as Json;
      }
      if (Array.isArray(spec['ports'])) {
        spec['ports'].forEach((p, i) => {
          if (!isObject(p)) return;
          p['protocol'] ??= 'TCP';
          if (p['targetPort'] === undefined) p['targetPort'] = p['port'] ?? 0;
          const curPorts = curSpec && Array.isArray(curSpec['ports']) ? curSpec['ports'] : [];
          const old = curPorts.find((c) => isObject(c) && c['port'] === p['port'] && c['protocol'] === p['protocol']) ?? curPorts[i];
          if (p['nodePort'] === undefined && isObject(old) && typeof old['nodePort'] === 'number' && spec['type'] !== 'ClusterIP')
            p['nodePort'] = old['nodePort'];
        });
      }
      if (spec['type'] !== 'ExternalName') {
        spec['ipFamilies'] ??= ['IPv4'];
        spec['ipFamilyPolicy'] ??= 'SingleStack';
      }
      if (spec['type'] === 'LoadBalancer' || spec['type'] === 'NodePort') spec['externalTrafficPolicy'] ??= 'Cluster';
      if (obj['status'] === undefined) obj['status'] = { loadBalancer: {} };
    }
  }

  private trackService(svc: JsonObject): void {
    const ip = str(getPath(svc, 'spec.clusterIP'));
    if (ip) this.usedClusterIps.add(ip);
    const ports = getPath(svc, 'spec.ports');
    if (Array.isArray(ports)) for (const p of ports) if (isObject(p) && typeof p['nodePort'] === 'number') this.usedNodePorts.add(p['nodePort']);
  }

  private untrack(t: ResourceType, obj: JsonObject): void {
    if (t.storageKey !== '/services') return;
    const ip = str(getPath(obj, 'spec.clusterIP'));
    if (ip) this.usedClusterIps.delete(ip);
    const ports = getPath(obj, 'spec.ports');
    if (Array.isArray(ports)) for (const p of ports) if (isObject(p) && typeof p['nodePort'] === 'number') this.usedNodePorts.delete(p['nodePort']);
  }

  /** Cluster IP (10.96.0.0/16) and node port (30000-32767) allocation for Services. */
  private allocate(t: ResourceType, obj: JsonObject, cur: JsonObject | undefined): void {
    if (t.storageKey !== '/services') return;
    if (cur) this.untrack(t, cur);
    const spec = obj['spec'];
    if (!isObject(spec)) return;
    if (spec['type'] !== 'ExternalName' && (spec['clusterIP'] === undefined || spec['clusterIP'] === '')) {
      for (let i = 0; i < 65534; i++) {
        const n = ((this.nextClusterIp + i - 1) % 65533) + 1;
        const ip = `10.96.${n >> 8}.${n & 255}`;
        if (!this.usedClusterIps.has(ip)) {
          spec['clusterIP'] = ip;
          spec['clusterIPs'] = [ip];
          this.nextClusterIp = n + 1;
          break;
        }
      }
    }
    if ((spec['type'] === 'LoadBalancer' && spec['allocateLoadBalancerNodePorts'] !== false) || spec['type'] === 'NodePort') {
      const ports = Array.isArray(spec['ports']) ? spec['ports'] : [];
      for (const p of ports) {
        if (!isObject(p) || typeof p['nodePort'] === 'number') continue;
        for (let np = 30000; np <= 32767; np++) {
          if (!this.usedNodePorts.has(np)) {
            p['nodePort'] = np;
            this.usedNodePorts.add(np);
            break;
          }
        }
      }
    }
    this.trackService(obj);
  }
}
