// MetalLB's CRD configuration: metallb.io/v1beta1 IPAddressPool and L2Advertisement objects,
// given as plain objects (from the API, or from YAML manifests).
import { buildConfig, type AdvertisementDraft, type PoolDraft } from './build.js';
import { configMapAdvertisement, configMapPoolDrafts, parseYamlValue } from './configmap.js';
import { ConfigError, describeType, ProblemList, show } from './errors.js';
import { isDnsLabel, isDnsSubdomain, parseLabelSelector, parseLabelSelectorList, parseStringMap } from './selectors.js';
import type { Config, PreferredNodeSelector, ServiceAllocation } from './types.js';

export const METALLB_API_VERSION = 'metallb.io/v1beta1';
export const POOL_KIND = 'IPAddressPool';
export const ADVERTISEMENT_KIND = 'L2Advertisement';
const BGP_KINDS = ['BGPPeer', 'BGPAdvertisement', 'BFDProfile', 'Community'];

const POOL_SPEC_FIELDS = ['addresses', 'autoAssign', 'avoidBuggyIPs', 'serviceAllocation'];
const ALLOCATION_FIELDS = ['priority', 'namespaces', 'namespaceSelectors', 'serviceSelectors'];
const AD_SPEC_FIELDS = ['ipAddressPools', 'ipAddressPoolSelectors', 'nodeSelectors', 'interfaces', 'serviceSelectors', 'preferredNodeSelectors'];
const PREFERRED_FIELDS = ['weight', 'preference'];
const INTERFACE_NAME = /^[^\s/:]{1,15}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Everything the configuration can come from; both sources may be present at once. */
export interface ConfigSources {
  /** The text under `data.config` of the pool ConfigMap, if it exists. */
  readonly configMapText?: string | undefined;
  /** How errors name the ConfigMap. */
  readonly configMapObject?: string;
  /** IPAddressPool and L2Advertisement objects. */
  readonly resources?: readonly unknown[];
}

/**
 * Builds one Config from the ConfigMap and the CRD objects together: pool names must be unique
 * and addresses must not overlap across both. Throws ConfigError only.
 */
export function buildConfigFromSources(sources: ConfigSources): Config {
  const problems = new ProblemList();
  const pools: PoolDraft[] = [];
  const ads: AdvertisementDraft[] = [];
  if (sources.configMapText !== undefined) {
    const object = sources.configMapObject ?? 'config';
    try {
      pools.push(...configMapPoolDrafts(parseYamlValue(sources.configMapText, object), object, problems));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.items.push(...error.problems);
    }
    if (pools.length > 0) ads.push(configMapAdvertisement());
  }
  const names = { pools: new Set<string>(), ads: new Set<string>() };
  (sources.resources ?? []).forEach((resource, index) => {
    collectResource(resource, index, problems, pools, ads, names);
  });
  return buildConfig(pools, ads, problems);
}

/** Validates MetalLB CRD objects alone. Throws ConfigError only. */
export function parseMetalLBResources(resources: readonly unknown[]): Config {
  return buildConfigFromSources({ resources });
}

function collectResource(
  resource: unknown,
  index: number,
  problems: ProblemList,
  pools: PoolDraft[],
  ads: AdvertisementDraft[],
  names: { pools: Set<string>; ads: Set<string> },
): void {
  const position = `resource #${index + 1}`;
  if (!isRecord(resource)) {
    problems.add(position, undefined, `must be a Kubernetes object, got ${describeType(resource)}`);
    return;
  }
  const kind = resource['kind'];
  const apiVersion = resource['apiVersion'];
  if (typeof kind === 'string' && BGP_KINDS.includes(kind)) {
    // MetalLB accepts them beside the layer-2 objects; l2lb has no BGP mode and never reads them.
    problems.warn(`${kind} ${show(objectName(resource) ?? position)}`, undefined, 'BGP mode is not supported by l2lb: this object is ignored');
    return;
  }
  if (kind !== POOL_KIND && kind !== ADVERTISEMENT_KIND) {
    problems.add(position, 'kind', `${show(kind)} is not an ${POOL_KIND} or ${ADVERTISEMENT_KIND}`);
    return;
  }
  const name = objectName(resource);
  const object = name !== undefined ? `${kind} ${show(name)}` : `${kind} (${position})`;
  if (apiVersion !== METALLB_API_VERSION) {
    problems.add(object, 'apiVersion', `must be ${show(METALLB_API_VERSION)}, got ${show(apiVersion)}`);
  }
  const metadata = isRecord(resource['metadata']) ? resource['metadata'] : undefined;
  if (name === undefined) {
    problems.add(object, 'metadata.name', 'the object has no name');
  } else if (!isDnsSubdomain(name)) {
    problems.add(object, 'metadata.name', `${show(name)} is not a valid name (lower-case letters, digits, '-' and '.', at most 253 characters)`);
  }
  const labels = parseStringMap(metadata?.['labels'], object, 'metadata.labels', problems, true);
  const spec = resource['spec'];
  if (spec !== undefined && spec !== null && !isRecord(spec)) {
    problems.add(object, 'spec', `must be a mapping, got ${describeType(spec)}`);
    return;
  }
  const specRecord = isRecord(spec) ? spec : {};

  if (kind === POOL_KIND) {
    checkKnownFields(specRecord, POOL_SPEC_FIELDS, object, 'spec', problems);
    if (name !== undefined && names.pools.has(name)) {
      problems.add(object, 'metadata.name', `duplicate ${POOL_KIND} name ${show(name)}`);
      return;
    }
    if (name !== undefined) names.pools.add(name);
    const autoAssign = optionalBoolean(specRecord, 'autoAssign', true, object, problems);
    const avoidBuggyIPs = optionalBoolean(specRecord, 'avoidBuggyIPs', false, object, problems);
    const serviceAllocation = parseServiceAllocation(specRecord['serviceAllocation'], object, problems);
    pools.push({
      name: name ?? `(${position})`,
      object,
      addressesField: 'spec.addresses',
      source: 'crd',
      addresses: specRecord['addresses'],
      autoAssign,
      avoidBuggyIPs,
      labels,
      serviceAllocation,
    });
    return;
  }

  checkKnownFields(specRecord, AD_SPEC_FIELDS, object, 'spec', problems);
  if (name !== undefined && names.ads.has(name)) {
    problems.add(object, 'metadata.name', `duplicate ${ADVERTISEMENT_KIND} name ${show(name)}`);
    return;
  }
  if (name !== undefined) names.ads.add(name);
  const poolNames = uniqueStrings(specRecord['ipAddressPools'], object, 'spec.ipAddressPools', problems, (v) =>
    isDnsSubdomain(v) ? undefined : `${show(v)} is not a valid pool name`,
  );
  const interfaces = uniqueStrings(specRecord['interfaces'], object, 'spec.interfaces', problems, (v) =>
    INTERFACE_NAME.test(v) ? undefined : `${show(v)} is not a valid interface name (1-15 characters, no spaces, '/' or ':')`,
  );
  const poolSelectors = parseLabelSelectorList(specRecord['ipAddressPoolSelectors'], object, 'spec.ipAddressPoolSelectors', problems);
  ads.push({
    name: name ?? `(${position})`,
    object,
    source: 'crd',
    poolNames: poolNames.length === 0 && poolSelectors.length === 0 ? undefined : poolNames,
    poolSelectors,
    nodeSelectors: parseLabelSelectorList(specRecord['nodeSelectors'], object, 'spec.nodeSelectors', problems),
    interfaces,
    serviceSelectors: parseLabelSelectorList(specRecord['serviceSelectors'], object, 'spec.serviceSelectors', problems),
    preferredNodeSelectors: parsePreferredNodeSelectors(specRecord['preferredNodeSelectors'], object, problems),
  });
}

/**
 * spec.preferredNodeSelectors: [{weight: 1-100, preference: <label selector>}], both required (the
 * bounds and required fields of MetalLB's CRD schema). Repeated entries are kept: MetalLB adds their
 * weights up, and so does the election.
 */
function parsePreferredNodeSelectors(value: unknown, object: string, problems: ProblemList): PreferredNodeSelector[] {
  const field = 'spec.preferredNodeSelectors';
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add(object, field, `must be a list of {weight, preference}, got ${describeType(value)}`);
    return [];
  }
  const out: PreferredNodeSelector[] = [];
  value.forEach((raw: unknown, index) => {
    const at = `${field}[${index}]`;
    if (!isRecord(raw)) {
      problems.add(object, at, `must be a mapping with weight and preference, got ${describeType(raw)}`);
      return;
    }
    checkKnownFields(raw, PREFERRED_FIELDS, object, at, problems);
    const weight = raw['weight'];
    const weightOk = typeof weight === 'number' && Number.isInteger(weight) && weight >= 1 && weight <= 100;
    if (!weightOk) problems.add(object, `${at}.weight`, `must be a whole number from 1 to 100, got ${weight === undefined ? 'nothing' : describeType(weight)}`);
    if (raw['preference'] === undefined || raw['preference'] === null) {
      problems.add(object, `${at}.preference`, 'is required (a label selector; {} matches every node)');
      return;
    }
    const preference = parseLabelSelector(raw['preference'], object, `${at}.preference`, problems);
    if (weightOk && preference !== undefined) out.push(Object.freeze({ weight, preference }));
  });
  return out;
}

function objectName(resource: Record<string, unknown>): string | undefined {
  const metadata = resource['metadata'];
  if (!isRecord(metadata)) return undefined;
  const name = metadata['name'];
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}

/** Unknown fields are ignored with a warning, as the API server's pruning would drop them from a stored CR. */
function checkKnownFields(record: Record<string, unknown>, known: readonly string[], object: string, field: string, problems: ProblemList): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key))
      problems.warn(object, field, `unknown field ${show(key)} is ignored, as the API server would prune it (known: ${known.join(', ')})`);
  }
}

function optionalBoolean(record: Record<string, unknown>, key: string, fallback: boolean, object: string, problems: ProblemList): boolean {
  const value = record[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  problems.add(object, `spec.${key}`, `must be true or false, got ${describeType(value)}`);
  return fallback;
}

function uniqueStrings(value: unknown, object: string, field: string, problems: ProblemList, check: (v: string) => string | undefined): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add(object, field, `must be a list of strings, got ${describeType(value)}`);
    return [];
  }
  const out: string[] = [];
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'string') {
      problems.add(object, `${field}[${index}]`, `must be a string, got ${describeType(item)}`);
      return;
    }
    const error = check(item);
    if (error !== undefined) {
      problems.add(object, `${field}[${index}]`, error);
      return;
    }
    if (out.includes(item)) {
      problems.add(object, `${field}[${index}]`, `duplicate entry ${show(item)}`);
      return;
    }
    out.push(item);
  });
  return out;
}

function parseServiceAllocation(value: unknown, object: string, problems: ProblemList): ServiceAllocation | undefined {
  if (value === undefined || value === null) return undefined;
  const field = 'spec.serviceAllocation';
  if (!isRecord(value)) {
    problems.add(object, field, `must be a mapping, got ${describeType(value)}`);
    return undefined;
  }
  checkKnownFields(value, ALLOCATION_FIELDS, object, field, problems);
  const rawPriority = value['priority'];
  let priority = 0;
  if (rawPriority !== undefined && rawPriority !== null) {
    if (typeof rawPriority === 'number' && Number.isSafeInteger(rawPriority) && rawPriority >= 0) {
      priority = rawPriority;
    } else {
      problems.add(object, `${field}.priority`, `must be a whole number, 0 or more (lower is preferred), got ${describeType(rawPriority)}`);
    }
  }
  const namespaces = uniqueStrings(value['namespaces'], object, `${field}.namespaces`, problems, (v) =>
    isDnsLabel(v) ? undefined : `${show(v)} is not a valid namespace name`,
  );
  return Object.freeze({
    priority,
    namespaces: Object.freeze(namespaces),
    namespaceSelectors: Object.freeze(parseLabelSelectorList(value['namespaceSelectors'], object, `${field}.namespaceSelectors`, problems)),
    serviceSelectors: Object.freeze(parseLabelSelectorList(value['serviceSelectors'], object, `${field}.serviceSelectors`, problems)),
  });
}
