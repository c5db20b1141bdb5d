// The validated configuration that the controller and the speaker share.
// Everything here is immutable (frozen) once built by buildConfig().
import type { Cidr } from '../ip.js';
import type { ConfigProblem } from './errors.js';

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: LabelSelectorOperator;
  readonly values: readonly string[];
}

/** A Kubernetes label selector; the empty selector matches everything. */
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

export type ConfigSource = 'configmap' | 'crd';

/** IPAddressPool.spec.serviceAllocation: which Services may use a pool, and its priority. */
export interface ServiceAllocation {
  /** Lower is preferred; 0 means unset (least preferred), as in MetalLB. */
  readonly priority: number;
  readonly namespaces: readonly string[];
  readonly namespaceSelectors: readonly LabelSelector[];
  readonly serviceSelectors: readonly LabelSelector[];
}

export interface AddressPool {
  readonly name: string;
  readonly source: ConfigSource;
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  /** The pool's addresses as minimal CIDRs, ascending (IPv4 first). */
  readonly cidrs: readonly Cidr[];
  /** Assignable addresses (without .0/.255 IPv4 addresses when avoidBuggyIPs). */
  readonly size: bigint;
  /** Pool labels (CRD metadata.labels), matched by L2Advertisement.ipAddressPoolSelectors. */
  readonly labels: Readonly<Record<string, string>>;
  /** Absent: any Service may use the pool. */
  readonly serviceAllocation: ServiceAllocation | undefined;
}

export interface L2Advertisement {
  readonly name: string;
  readonly source: ConfigSource;
  /** Names of the pools this advertisement announces, resolved, in pool order. */
  readonly ipAddressPools: readonly string[];
  /** OR-ed; empty means every node. */
  readonly nodeSelectors: readonly LabelSelector[];
  /** Empty means every eligible interface. */
  readonly interfaces: readonly string[];
  /** OR-ed; empty means every Service. */
  readonly serviceSelectors: readonly LabelSelector[];
  /** Soft preferences for the announcing node (MetalLB main); empty: the plain hash election. */
  readonly preferredNodeSelectors: readonly PreferredNodeSelector[];
}

/**
 * L2Advertisement.spec.preferredNodeSelectors[], after Kubernetes' PreferredSchedulingTerm: a node
 * the advertisement selects scores the sum of the weights of every preference it matches, over every
 * advertisement of the Service; the highest score wins the election, the hash breaks ties.
 */
export interface PreferredNodeSelector {
  /** 1-100. */
  readonly weight: number;
  /** The empty selector matches every node. */
  readonly preference: LabelSelector;
}

export interface Config {
  /** In allocation-preference order (see buildConfig). */
  readonly pools: readonly AddressPool[];
  readonly l2Advertisements: readonly L2Advertisement[];
  /** Valid but probably unintended: a pool nobody announces, an advertisement naming a missing pool… */
  readonly warnings: readonly string[];
  /** The warnings that belong to one object (also in `warnings`), so they can be reported on it as Events. */
  readonly objectWarnings?: readonly ConfigProblem[];
}

/** The name of the implicit advertisement that announces every pool of the legacy ConfigMap. */
export const CONFIGMAP_ADVERTISEMENT_NAME = 'configmap';
