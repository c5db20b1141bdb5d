// What each l2lb process does with the Kubernetes API, as (verb, resource) pairs: the single source for
// the exact-RBAC check of manifests/l2lb.yaml (plain test) and the `kubectl auth can-i` checks against a
// real API server (integration test). Derived from the code:
//  controller: controller/src/controller.ts (informers on services, namespaces, the ConfigMap "config"
//    by field selector, ipaddresspools and l2advertisements; merge patch of services/status and, when a
//    server's status strategy drops the pool annotation, of the service; get/create of the Secret
//    "memberlist"; merge patch of ipaddresspools/status, controller/src/pool-status.ts),
//    shared/src/kube/events.ts (create events.k8s.io/v1 Events, core/v1 as fallback).
//  speaker: the contract in the lead's brief (informers on services, endpointslices, nodes, the
//    ConfigMap "config", the CRs; a list of speaker Pods in its namespace every 60 s; Events;
//    speaker/src/run/l2status-process.ts: servicel2statuses list/watch/create/delete, status patch;
//    shared/src/kube/configuration-state.ts: configurationstates create, status patch, for both).
// RBAC is version-independent, so endpointslices covers discovery.k8s.io/v1 and v1beta1 (Kubernetes 1.20).

export const NAMESPACE = 'l2lb-system';

export interface Permission {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  /** undefined: in every namespace (or cluster-scoped); else only in this namespace. */
  readonly namespace?: string;
  /** Limited to these object names. */
  readonly name?: string;
}

function p(verbs: string, group: string, resource: string, namespace?: string, name?: string): Permission[] {
  return verbs.split(',').map((verb) => ({ verb, group, resource, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) }));
}

export const NEEDED: Readonly<Record<'controller' | 'speaker', readonly Permission[]>> = {
  controller: [
    ...p('list,watch,patch', '', 'services'),
    ...p('patch', '', 'services/status'),
    ...p('list,watch', '', 'namespaces'),
    ...p('create', '', 'events'),
    ...p('create', 'events.k8s.io', 'events'),
    ...p('list,watch', '', 'configmaps', NAMESPACE, 'config'),
    ...p('get', '', 'secrets', NAMESPACE, 'memberlist'),
    ...p('create', '', 'secrets', NAMESPACE),
    ...p('list,watch', 'metallb.io', 'ipaddresspools', NAMESPACE),
    ...p('list,watch', 'metallb.io', 'l2advertisements', NAMESPACE),
    ...p('patch', 'metallb.io', 'ipaddresspools/status', NAMESPACE),
    ...p('create', 'metallb.io', 'configurationstates', NAMESPACE),
    ...p('patch', 'metallb.io', 'configurationstates/status', NAMESPACE),
  ],
  speaker: [
    ...p('list,watch', '', 'services'),
    ...p('list,watch', '', 'nodes'),
    ...p('list,watch', 'discovery.k8s.io', 'endpointslices'),
    ...p('create', '', 'events'),
    ...p('create', 'events.k8s.io', 'events'),
    ...p('list', '', 'pods', NAMESPACE),
    ...p('list,watch', '', 'configmaps', NAMESPACE, 'config'),
    ...p('list,watch', '', 'configmaps', NAMESPACE, 'metallb-excludel2'),
    ...p('list,watch', 'metallb.io', 'ipaddresspools', NAMESPACE),
    ...p('list,watch', 'metallb.io', 'l2advertisements', NAMESPACE),
    ...p('list,watch,create,delete', 'metallb.io', 'servicel2statuses', NAMESPACE),
    ...p('patch', 'metallb.io', 'servicel2statuses/status', NAMESPACE),
    ...p('create', 'metallb.io', 'configurationstates', NAMESPACE),
    ...p('patch', 'metallb.io', 'configurationstates/status', NAMESPACE),
  ],
};

/** A sample of what each process must NOT be able to do (namespace '' = cluster-wide / all namespaces). */
export const FORBIDDEN: Readonly<Record<'controller' | 'speaker', readonly Permission[]>> = {
  controller: [
    ...p('get,list', '', 'secrets', ''),
    ...p('get,list,watch', '', 'secrets', 'default'),
    ...p('list,update,delete', '', 'secrets', NAMESPACE),
    ...p('get', '', 'secrets', NAMESPACE, 'other'),
    ...p('delete,create,update', '', 'services', 'default'),
    ...p('update', '', 'services/status', 'default'),
    ...p('list', '', 'configmaps', NAMESPACE),
    ...p('list', '', 'configmaps', ''),
    ...p('create,update', '', 'configmaps', NAMESPACE),
    ...p('create', '', 'pods/exec', NAMESPACE),
    ...p('list,update', '', 'nodes'),
    ...p('list', '', 'pods', NAMESPACE),
    ...p('list', 'metallb.io', 'ipaddresspools', 'default'),
    ...p('create,update,delete', 'metallb.io', 'ipaddresspools', NAMESPACE),
    ...p('create', 'rbac.authorization.k8s.io', 'clusterrolebindings'),
    ...p('update', 'apps', 'deployments', NAMESPACE),
    ...p('update,delete', '', 'events', 'default'),
    ...p('create,delete', 'metallb.io', 'servicel2statuses', NAMESPACE),
    ...p('create', 'metallb.io', 'configurationstates', 'default'),
    ...p('update,delete,list', 'metallb.io', 'configurationstates', NAMESPACE),
    ...p('patch', 'metallb.io', 'configurationstates', NAMESPACE),
  ],
  speaker: [
    ...p('get,list', '', 'secrets', ''),
    ...p('get,list,watch', '', 'secrets', NAMESPACE),
    ...p('patch,update,delete', '', 'services', 'default'),
    ...p('patch,update', '', 'services/status', 'default'),
    ...p('update,patch,delete', '', 'nodes'),
    ...p('list', '', 'pods', 'default'),
    ...p('list', '', 'pods', ''),
    ...p('create', '', 'pods/exec', NAMESPACE),
    ...p('get,delete', '', 'pods', NAMESPACE),
    ...p('list', '', 'configmaps', NAMESPACE),
    ...p('update', '', 'configmaps', NAMESPACE, 'config'),
    ...p('list', '', 'namespaces'),
    ...p('create,update,delete', 'metallb.io', 'l2advertisements', NAMESPACE),
    ...p('list', 'metallb.io', 'ipaddresspools', 'default'),
    ...p('create', 'discovery.k8s.io', 'endpointslices', 'default'),
    ...p('create', 'rbac.authorization.k8s.io', 'roles', NAMESPACE),
    ...p('list,create,delete', 'metallb.io', 'servicel2statuses', 'default'),
    ...p('patch', 'metallb.io', 'ipaddresspools/status', NAMESPACE),
    ...p('create', 'metallb.io', 'configurationstates', 'default'),
    ...p('update,delete,list', 'metallb.io', 'configurationstates', NAMESPACE),
  ],
};

/** `kubectl auth can-i` arguments for a permission (no namespace given = across all namespaces). */
export function canIArgs(sa: string, perm: Permission): string[] {
  const [resource = perm.resource, subresource] = perm.resource.split('/');
  const target = `${resource}${perm.group ? `.${perm.group}` : ''}${perm.name ? `/${perm.name}` : ''}`;
  return [
    'auth',
    'can-i',
    perm.verb,
    target,
    ...(subresource ? [`--subresource=${subresource}`] : []),
    `--as=system:serviceaccount:${NAMESPACE}:${sa}`,
    ...(perm.namespace ? ['-n', perm.namespace] : ['--all-namespaces']),
  ];
}

export function describePermission(perm: Permission): string {
  return `${perm.verb} ${perm.group ? `${perm.group}/` : ''}${perm.resource}${perm.name ? `/${perm.name}` : ''} ${perm.namespace === undefined ? '(any namespace)' : perm.namespace === '' ? '(all namespaces)' : `in ${perm.namespace}`}`;
}
