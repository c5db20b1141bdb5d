// Discovery documents of the embedded API server: /version, /apis, each group/version's resource list
// and the minimal OpenAPI v3 kubectl reads. Pure: computed from the served resource types.
import { ApiError } from './errors.js';
import type { Json, JsonObject } from './json.js';
import type { ResourceType } from './resources.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '24',
  gitVersion: 'v1.24.0-l2lb',
  gitCommit: 'l2lb-embedded',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'n/a',
  compiler: 'node',
  platform: 'linux/amd64',
};

/**
 * A minimal OpenAPI v3: per group/version, one PATCH operation per kind that advertises the
 * fieldValidation query parameter. That is what kubectl checks to leave validation to the server, so
 * `kubectl apply` and `kubectl edit` work without --validate=false (there are no schemas: kubectl then
 * computes strategic merge patches from its built-in types).
 */
export function openapiV3(served: readonly ResourceType[], path: string): JsonObject {
  const gvs = new Map<string, ResourceType[]>();
  for (const t of served) {
    const key = t.group === '' ? `api/${t.version}` : `apis/${t.group}/${t.version}`;
    gvs.set(key, [...(gvs.get(key) ?? []), t]);
  }
  const rest = path.replace(/^\/openapi\/v3\/?/, '');
  if (rest === '') {
    const paths: JsonObject = {};
    for (const k of gvs.keys()) paths[k] = { serverRelativeURL: `/openapi/v3/${k}?hash=l2lb` };
    return { paths };
  }
  const types = gvs.get(rest);
  if (!types) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const paths: JsonObject = {};
  for (const t of types) {
    const base = `/${rest}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}/{name}`;
    paths[base] = {
      patch: {
        operationId: `patch${t.kind}`,
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: t.group, version: t.version, kind: t.kind },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'l2lb embedded API', version: SERVER_VERSION.gitVersion }, paths };
}

export function groupList(served: readonly ResourceType[]): {
  kind: string;
  apiVersion: string;
  groups: { name: string; versions: { groupVersion: string; version: string }[]; preferredVersion: { groupVersion: string; version: string } }[];
} {
  const groups = new Map<string, string[]>();
  for (const t of served) {
    if (t.group === '') continue;
    const vs = groups.get(t.group) ?? [];
    if (!vs.includes(t.version)) vs.push(t.version);
    groups.set(t.group, vs);
  }
  const rank = (v: string): number => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return 0;
    return Number(m[1]) * 1000 + (m[2] === undefined ? 900 : m[2] === 'beta' ? 500 : 100) + Number(m[3] ?? 0);
  };
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups.entries()].map(([name, vs]) => {
      const sorted = [...vs].sort((a, b) => rank(b) - rank(a));
      const versions = sorted.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
      const pref = versions[0] ?? { groupVersion: `${name}/v1`, version: 'v1' };
      return { name, versions, preferredVersion: pref };
    }),
  };
}

export function resourceList(served: readonly ResourceType[], group: string, version: string): JsonObject | undefined {
  const types = served.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: Json[] = [];
  for (const t of types) {
    resources.push({
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
      ...(t.custom ? { categories: ['all'] } : {}),
    });
    if (t.status) resources.push({ name: `${t.resource}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}
