// Reads what the allocator needs from a Service object (plain JSON as the API server sends it).
// Pure: no I/O. Annotation keys and their meaning follow MetalLB (metallb.io/ and the deprecated
// metallb.universe.tf/ prefix; the current prefix wins).
import { IP, type IPFamily } from '@l2lb/shared';
import type { FamilyPolicy, ServicePort, ServiceRequest } from './allocator/allocator.js';

export const ANNOTATION_PREFIX = 'metallb.io/';
export const DEPRECATED_PREFIX = 'metallb.universe.tf/';
export const ANN_LOAD_BALANCER_IPS = 'loadBalancerIPs';
export const ANN_ADDRESS_POOL = 'address-pool';
export const ANN_ALLOW_SHARED_IP = 'allow-shared-ip';
/** Written by the controller: the pool of the current allocation. */
export const ANN_ALLOCATED_FROM_POOL = 'metallb.io/ip-allocated-from-pool';

/** The subset of a v1 Service that l2lb reads (structurally compatible with the kube layer's type). */
export interface ServiceObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    loadBalancerIP?: string;
    loadBalancerClass?: string;
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
    ports?: { protocol?: string; port: number }[];
  };
  status?: {
    loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] };
    conditions?: ServiceCondition[];
  };
}

export interface ServiceCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface ParsedService {
  readonly request: ServiceRequest;
  readonly requestedIPs: readonly IP[];
  readonly pool: string | undefined;
  /** Why the Service's annotations or spec cannot be honoured (reported as an allocation failure). */
  readonly error: string | undefined;
  /** Deprecated metallb.universe.tf/ annotations in use. */
  readonly deprecated: readonly string[];
}

type Raw = Record<string, unknown>;
const isRaw = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The Service as the controller reads it, from the JSON the informer holds: every field the controller uses
 * is kept only when it has its API type, so nothing downstream throws on a hostile or corrupt object; what
 * was ignored is named in `problems` ("field: what is wrong") for the log. Undefined when it is no object.
 */
export function readServiceObject(raw: unknown): { service: ServiceObject; problems: string[] } | undefined {
  if (!isRaw(raw)) return undefined;
  const problems: string[] = [];
  const obj = (v: unknown, field: string): Raw | undefined => {
    if (v === undefined || v === null) return undefined;
    if (isRaw(v)) return v;
    problems.push(`${field}: not an object`);
    return undefined;
  };
  const str = (v: unknown, field: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    problems.push(`${field}: not a string`);
    return undefined;
  };
  const num = (v: unknown, field: string): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    problems.push(`${field}: not a number`);
    return undefined;
  };
  const list = (v: unknown, field: string): unknown[] => {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    problems.push(`${field}: not a list`);
    return [];
  };
  const stringMap = (v: unknown, field: string): Record<string, string> | undefined => {
    const o = obj(v, field);
    if (o === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(o)) {
      if (typeof x === 'string') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
      else problems.push(`${field}.${k}: not a string`);
    }
    return out;
  };
  const strings = (v: unknown, field: string): string[] | undefined => {
    if (v === undefined || v === null) return undefined;
    return list(v, field).filter((x, i) => typeof x === 'string' || (problems.push(`${field}[${i}]: not a string`), false)) as string[];
  };
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;

  const m = obj(raw['metadata'], 'metadata') ?? {};
  const spec = obj(raw['spec'], 'spec');
  const status = obj(raw['status'], 'status');
  const service: ServiceObject = {
    metadata: defined({
      name: str(m['name'], 'metadata.name'),
      namespace: str(m['namespace'], 'metadata.namespace'),
      uid: str(m['uid'], 'metadata.uid'),
      resourceVersion: str(m['resourceVersion'], 'metadata.resourceVersion'),
      generation: num(m['generation'], 'metadata.generation'),
      labels: stringMap(m['labels'], 'metadata.labels'),
      annotations: stringMap(m['annotations'], 'metadata.annotations'),
    }),
  };
  if (spec !== undefined) {
    const ports: { protocol?: string; port: number }[] = [];
    list(spec['ports'], 'spec.ports').forEach((p, i) => {
      const po = obj(p, `spec.ports[${i}]`);
      const port = po === undefined ? undefined : num(po['port'], `spec.ports[${i}].port`);
      if (po === undefined || port === undefined) return;
      const protocol = str(po['protocol'], `spec.ports[${i}].protocol`);
      ports.push(protocol === undefined ? { port } : { protocol, port });
    });
    service.spec = defined({
      type: str(spec['type'], 'spec.type'),
      clusterIP: str(spec['clusterIP'], 'spec.clusterIP'),
      clusterIPs: strings(spec['clusterIPs'], 'spec.clusterIPs'),
      ipFamilies: strings(spec['ipFamilies'], 'spec.ipFamilies'),
      ipFamilyPolicy: str(spec['ipFamilyPolicy'], 'spec.ipFamilyPolicy'),
      loadBalancerIP: str(spec['loadBalancerIP'], 'spec.loadBalancerIP'),
      loadBalancerClass: str(spec['loadBalancerClass'], 'spec.loadBalancerClass'),
      externalTrafficPolicy: str(spec['externalTrafficPolicy'], 'spec.externalTrafficPolicy'),
      selector: stringMap(spec['selector'], 'spec.selector'),
      ports: spec['ports'] === undefined ? undefined : ports,
    });
  }
  if (status !== undefined) {
    const lb = obj(status['loadBalancer'], 'status.loadBalancer');
    const ingress =
      lb === undefined || lb['ingress'] === undefined
        ? undefined
        : list(lb['ingress'], 'status.loadBalancer.ingress').flatMap((e, i) => {
            const eo = obj(e, `status.loadBalancer.ingress[${i}]`);
            return eo === undefined
              ? []
              : [
                  defined({
                    ip: str(eo['ip'], `status.loadBalancer.ingress[${i}].ip`),
                    hostname: str(eo['hostname'], `status.loadBalancer.ingress[${i}].hostname`),
                  }),
                ];
          });
    const conditions =
      status['conditions'] === undefined
        ? undefined
        : list(status['conditions'], 'status.conditions').flatMap((c, i) => {
            const co = obj(c, `status.conditions[${i}]`);
            if (co === undefined) return [];
            const f = `status.conditions[${i}]`;
            const type = str(co['type'], `${f}.type`);
            const st = str(co['status'], `${f}.status`);
            if (type === undefined || st === undefined) return [];
            return [
              defined({
                type,
                status: st,
                reason: str(co['reason'], `${f}.reason`),
                message: str(co['message'], `${f}.message`),
                lastTransitionTime: str(co['lastTransitionTime'], `${f}.lastTransitionTime`),
                observedGeneration: num(co['observedGeneration'], `${f}.observedGeneration`),
              }),
            ];
          });
    service.status = defined({ loadBalancer: lb === undefined ? undefined : defined({ ingress }), conditions });
  }
  return { service, problems };
}

export function serviceKey(svc: ServiceObject): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

/** MetalLB's --lb-class filter: empty class → only Services without spec.loadBalancerClass. */
export function handledByClass(svc: ServiceObject, lbClass: string): boolean {
  const cls = svc.spec?.loadBalancerClass;
  if (lbClass === '') return cls === undefined || cls === null || cls === '';
  return cls === lbClass;
}

export function isLoadBalancer(svc: ServiceObject): boolean {
  return svc.spec?.type === 'LoadBalancer';
}

function annotation(annotations: Readonly<Record<string, string>>, name: string, deprecated: string[]): string | undefined {
  const current = annotations[ANNOTATION_PREFIX + name];
  const old = annotations[DEPRECATED_PREFIX + name];
  if (old !== undefined) deprecated.push(DEPRECATED_PREFIX + name);
  return current ?? old;
}

/** IPs currently in status.loadBalancer.ingress (unparseable entries are ignored). */
export function statusIPs(svc: ServiceObject): IP[] {
  const out: IP[] = [];
  for (const entry of svc.status?.loadBalancer?.ingress ?? []) {
    const parsed = typeof entry.ip === 'string' ? IP.parse(entry.ip) : undefined;
    if (parsed !== undefined) out.push(parsed);
  }
  return out;
}

function familyOf(text: string | undefined): IPFamily | undefined {
  if (typeof text !== 'string' || text === '' || text === 'None') return undefined;
  return IP.parse(text)?.family;
}

/** Service families from spec.clusterIPs (then clusterIP, then ipFamilies), primary first. */
export function serviceFamilies(svc: ServiceObject): IPFamily[] {
  const out: IPFamily[] = [];
  const add = (f: IPFamily | undefined): void => {
    if (f !== undefined && !out.includes(f)) out.push(f);
  };
  for (const text of svc.spec?.clusterIPs ?? []) add(familyOf(text));
  if (out.length === 0) add(familyOf(svc.spec?.clusterIP));
  if (out.length === 0) {
    for (const f of svc.spec?.ipFamilies ?? []) add(f === 'IPv4' ? 4 : f === 'IPv6' ? 6 : undefined);
  }
  return out;
}

/** `k=v,k2=v2` sorted by key, as labels.Set.String() renders a selector. */
export function selectorString(selector: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(selector ?? {})
    .sort()
    .map((k) => `${k}=${(selector ?? {})[k] ?? ''}`)
    .join(',');
}

export function parseService(svc: ServiceObject, namespaceLabels: Readonly<Record<string, string>>): ParsedService {
  const annotations = svc.metadata?.annotations ?? {};
  const deprecated: string[] = [];
  const policyText = svc.spec?.ipFamilyPolicy;
  const policy: FamilyPolicy = policyText === 'PreferDualStack' || policyText === 'RequireDualStack' ? policyText : 'SingleStack';
  const ports: ServicePort[] = (svc.spec?.ports ?? []).filter((p) => typeof p.port === 'number').map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port }));
  const sharingKey = annotation(annotations, ANN_ALLOW_SHARED_IP, deprecated) ?? '';
  const backendKey = svc.spec?.externalTrafficPolicy === 'Local' ? selectorString(svc.spec.selector) : '';
  const poolAnnotation = annotation(annotations, ANN_ADDRESS_POOL, deprecated);
  const pool = poolAnnotation === undefined || poolAnnotation.trim() === '' ? undefined : poolAnnotation.trim();
  const request: ServiceRequest = {
    key: serviceKey(svc),
    namespace: svc.metadata?.namespace ?? '',
    labels: svc.metadata?.labels ?? {},
    namespaceLabels,
    families: serviceFamilies(svc),
    policy,
    ports,
    sharingKey,
    backendKey,
  };

  let error: string | undefined;
  const requestedIPs: IP[] = [];
  const ipsAnnotation = annotation(annotations, ANN_LOAD_BALANCER_IPS, deprecated);
  const specIP = svc.spec?.loadBalancerIP;
  const hasSpecIP = typeof specIP === 'string' && specIP !== '';
  if (ipsAnnotation !== undefined && ipsAnnotation.trim() !== '' && hasSpecIP) {
    error = `service can not have both ${ANNOTATION_PREFIX}${ANN_LOAD_BALANCER_IPS} and svc.Spec.LoadBalancerIP`;
  } else if (ipsAnnotation !== undefined && ipsAnnotation.trim() !== '') {
    for (const part of ipsAnnotation.split(',')) {
      const parsed = IP.parse(part.trim());
      if (parsed === undefined) {
        error = `invalid IP "${part.trim()}" in annotation ${ANNOTATION_PREFIX}${ANN_LOAD_BALANCER_IPS}`;
        break;
      }
      requestedIPs.push(parsed);
    }
  } else if (hasSpecIP) {
    const parsed = IP.parse(specIP.trim());
    if (parsed === undefined) error = `invalid spec.loadBalancerIP "${specIP}"`;
    else requestedIPs.push(parsed);
  }
  if (error === undefined && request.families.length === 0) {
    error = 'the Service has no cluster IP, so its IP family is unknown';
  }
  if (error === undefined && policy === 'RequireDualStack' && request.families.length < 2) {
    error = 'not enough clusterips: ipFamilyPolicy RequireDualStack needs an IPv4 and an IPv6 cluster IP';
  }
  return { request, requestedIPs, pool, error, deprecated };
}
