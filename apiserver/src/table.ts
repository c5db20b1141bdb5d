// meta.k8s.io/v1 Table rendering, which kubectl asks for (Accept: ...;as=Table) to print columns.

import { getPath, isObject, meta, str, type Json, type JsonObject } from './json.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  description: string;
  cell: (obj: JsonObject, now: number) => Json;
}

export function humanAge(fromIso: string | undefined, now: number): string {
  if (!fromIso) return '<unknown>';
  const t = Date.parse(fromIso);
  if (Number.isNaN(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 && h < 8 ? `${m % 60}m` : ''}`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const nameCol: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name of the object', cell: (o) => str(meta(o)['name']) ?? '' };
const ageCol: Column = { name: 'Age', type: 'string', description: 'Time since creation', cell: (o, now) => humanAge(str(meta(o)['creationTimestamp']), now) };

function list(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

function servicePorts(o: JsonObject): string {
  const ports = list(getPath(o, 'spec.ports'));
  if (ports.length === 0) return '<none>';
  return ports
    .map((p) => {
      if (!isObject(p)) return '';
      const np = typeof p['nodePort'] === 'number' && p['nodePort'] !== 0 ? `:${p['nodePort']}` : '';
      return `${String(p['port'] ?? '')}${np}/${str(p['protocol']) ?? 'TCP'}`;
    })
    .join(',');
}

function externalIp(o: JsonObject): string {
  const type = str(getPath(o, 'spec.type')) ?? 'ClusterIP';
  const external = list(getPath(o, 'spec.externalIPs')).filter((x): x is string => typeof x === 'string');
  if (type === 'ExternalName') return str(getPath(o, 'spec.externalName')) ?? '<none>';
  if (type === 'LoadBalancer') {
    const ingress = list(getPath(o, 'status.loadBalancer.ingress'))
      .map((i) => (isObject(i) ? (str(i['ip']) ?? str(i['hostname'])) : undefined))
      .filter((x): x is string => x !== undefined && x !== '');
    const all = [...ingress, ...external];
    return all.length > 0 ? all.join(',') : '<pending>';
  }
  return external.length > 0 ? external.join(',') : '<none>';
}

function selector(o: JsonObject): string {
  const sel = getPath(o, 'spec.selector');
  if (!isObject(sel) || Object.keys(sel).length === 0) return '<none>';
  return Object.entries(sel)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

function nodeStatus(o: JsonObject): string {
  const ready = list(getPath(o, 'status.conditions')).find((c) => isObject(c) && c['type'] === 'Ready');
  let s = isObject(ready) && ready['status'] === 'True' ? 'Ready' : 'NotReady';
  if (getPath(o, 'spec.unschedulable') === true) s += ',SchedulingDisabled';
  return s;
}

function nodeRoles(o: JsonObject): string {
  const labels = meta(o)['labels'];
  const roles = isObject(labels)
    ? Object.keys(labels)
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice(24))
    : [];
  return roles.length > 0 ? roles.join(',') : '<none>';
}

const COLUMNS: Record<string, Column[]> = {
  '/services': [
    nameCol,
    { name: 'Type', type: 'string', description: 'Service type', cell: (o) => str(getPath(o, 'spec.type')) ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', description: 'Cluster IP', cell: (o) => str(getPath(o, 'spec.clusterIP')) || '<none>' },
    { name: 'External-IP', type: 'string', description: 'External IPs', cell: externalIp },
    { name: 'Port(s)', type: 'string', description: 'Ports', cell: servicePorts },
    ageCol,
    { name: 'Selector', type: 'string', priority: 1, description: 'Selector', cell: selector },
  ],
  '/nodes': [
    nameCol,
    { name: 'Status', type: 'string', description: 'Node status', cell: nodeStatus },
    { name: 'Roles', type: 'string', description: 'Node roles', cell: nodeRoles },
    ageCol,
    { name: 'Version', type: 'string', description: 'Kubelet version', cell: (o) => str(getPath(o, 'status.nodeInfo.kubeletVersion')) ?? '' },
  ],
  '/namespaces': [nameCol, { name: 'Status', type: 'string', description: 'Phase', cell: (o) => str(getPath(o, 'status.phase')) ?? '' }, ageCol],
  '/pods': [
    nameCol,
    { name: 'Status', type: 'string', description: 'Phase', cell: (o) => str(getPath(o, 'status.phase')) ?? '' },
    ageCol,
    { name: 'Node', type: 'string', priority: 1, description: 'Node name', cell: (o) => str(getPath(o, 'spec.nodeName')) ?? '<none>' },
  ],
  '/configmaps': [
    nameCol,
    {
      name: 'Data',
      type: 'integer',
      description: 'Number of keys',
      cell: (o) => {
        const d = o['data'];
        const b = o['binaryData'];
        return (isObject(d) ? Object.keys(d).length : 0) + (isObject(b) ? Object.keys(b).length : 0);
      },
    },
    ageCol,
  ],
  '/secrets': [
    nameCol,
    { name: 'Type', type: 'string', description: 'Secret type', cell: (o) => str(o['type']) ?? 'Opaque' },
    { name: 'Data', type: 'integer', description: 'Number of keys', cell: (o) => (isObject(o['data']) ? Object.keys(o['data']).length : 0) },
    ageCol,
  ],
};

function columnsFor(storageKey: string): Column[] {
  return COLUMNS[storageKey] ?? [nameCol, ageCol];
}

/** A Table for `objects`; each row carries PartialObjectMetadata (kubectl's default includeObject=Metadata). */
export function toTable(storageKey: string, objects: JsonObject[], resourceVersion: string, now = Date.now(), withColumns = true): JsonObject {
  const cols = columnsFor(storageKey);
  const columnDefinitions: Json[] = withColumns
    ? cols.map((c) => {
        const d: JsonObject = { name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 };
        return d;
      })
    : [];
  const rows: Json[] = objects.map((o) => ({
    cells: cols.map((c) => c.cell(o, now)),
    object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta(o) },
  }));
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion }, columnDefinitions, rows };
}

/** True when an Accept header asks for the Table form (kubectl get). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}
