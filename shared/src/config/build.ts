// Turns pool and advertisement drafts (from the ConfigMap or from CRD objects) into one
// validated Config: addresses, cross-pool rules, deterministic order, sizes, warnings.
import { Cidr, countBuggyIPv4 } from '../ip.js';
import { entriesOverlap, parseAddressEntry, type AddressEntry } from './addresses.js';
import { ConfigError, describeType, formatProblem, ProblemList, show } from './errors.js';
import { selectorMatches } from './selectors.js';
import type { AddressPool, Config, ConfigSource, L2Advertisement, LabelSelector, PreferredNodeSelector, ServiceAllocation } from './types.js';

export interface PoolDraft {
  readonly name: string;
  /** How errors name the object, e.g. `address pool #2 "web"`. */
  readonly object: string;
  /** Field path of the address list inside the object, e.g. `addresses` or `spec.addresses`. */
  readonly addressesField: string;
  readonly source: ConfigSource;
  readonly addresses: unknown;
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAllocation: ServiceAllocation | undefined;
}

export interface AdvertisementDraft {
  readonly name: string;
  readonly object: string;
  readonly source: ConfigSource;
  /** Undefined together with empty poolSelectors: every pool of the same source. */
  readonly poolNames: readonly string[] | undefined;
  readonly poolSelectors: readonly LabelSelector[];
  readonly nodeSelectors: readonly LabelSelector[];
  readonly interfaces: readonly string[];
  readonly serviceSelectors: readonly LabelSelector[];
  /** Absent: none (the ConfigMap's implicit advertisement). */
  readonly preferredNodeSelectors?: readonly PreferredNodeSelector[];
}

interface ParsedPool {
  readonly draft: PoolDraft;
  readonly entries: readonly AddressEntry[];
}

/**
 * Builds the Config. Pool order: ConfigMap pools in file order, then CRD pools by
 * serviceAllocation.priority (set priorities ascending, unset last) and then name.
 * Throws ConfigError listing every problem found, including those already in `problems`.
 */
export function buildConfig(pools: readonly PoolDraft[], advertisements: readonly AdvertisementDraft[], problems = new ProblemList()): Config {
  const ordered = orderPools(pools);
  const parsed: ParsedPool[] = [];
  const seenNames = new Map<string, string>();
  const accepted: { entry: AddressEntry; pool: PoolDraft; index: number }[] = [];

  for (const draft of ordered) {
    const entries = parseEntries(draft, problems);
    const firstOwner = seenNames.get(draft.name);
    if (firstOwner !== undefined) {
      problems.add(draft.object, undefined, `duplicate pool name ${show(draft.name)}: ${firstOwner} already uses it`);
      continue;
    }
    seenNames.set(draft.name, draft.object);
    if (entries === undefined) continue;
    entries.forEach((entry, index) => {
      const clash = accepted.find((other) => entriesOverlap(other.entry, entry));
      if (clash !== undefined) {
        const where = clash.pool === draft ? 'of the same pool' : `of ${clash.pool.object}`;
        problems.add(
          draft.object,
          `${draft.addressesField}[${index}]`,
          `${show(entry.text)} overlaps ${show(clash.entry.text)} (${clash.pool.addressesField}[${clash.index}] ${where}); pools must not share addresses`,
        );
        return;
      }
      accepted.push({ entry, pool: draft, index });
    });
    parsed.push({ draft, entries });
  }

  const finalPools = parsed.map(toPool);
  const finalAds = advertisements.map((ad) => resolveAdvertisement(ad, finalPools));
  if (!problems.empty) throw new ConfigError(problems.items);

  // A reference to a pool that does not exist (yet) is not an error: objects are applied in any order.
  const warnings = [...problems.warnings.map(formatProblem), ...collectWarnings(finalPools, finalAds)];
  for (const ad of advertisements) {
    for (const name of ad.poolNames ?? []) {
      if (!seenNames.has(name)) warnings.push(`${ad.object} names pool ${show(name)} in ipAddressPools, but no pool has that name`);
    }
  }
  return Object.freeze({
    pools: Object.freeze(finalPools),
    l2Advertisements: Object.freeze(finalAds),
    warnings: Object.freeze(warnings),
    objectWarnings: Object.freeze([...problems.warnings]),
  });
}

function orderPools(pools: readonly PoolDraft[]): PoolDraft[] {
  const fromConfigMap = pools.filter((p) => p.source === 'configmap');
  const fromCrds = pools.filter((p) => p.source === 'crd');
  const rank = (p: PoolDraft): number => {
    const priority = p.serviceAllocation?.priority ?? 0;
    return priority > 0 ? priority : Number.POSITIVE_INFINITY;
  };
  fromCrds.sort((a, b) => {
    const byPriority = rank(a) - rank(b);
    if (byPriority !== 0 && !Number.isNaN(byPriority)) return byPriority;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return [...fromConfigMap, ...fromCrds];
}

function parseEntries(draft: PoolDraft, problems: ProblemList): AddressEntry[] | undefined {
  return parsePoolAddresses(draft.addresses, draft.object, draft.addressesField, problems);
}

/** Parses a pool's address list; undefined (with problems added) when any entry is wrong. */
export function parsePoolAddresses(raw: unknown, object: string, field: string, problems: ProblemList): AddressEntry[] | undefined {
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    problems.add(object, field, 'the pool has no addresses; list at least one CIDR or range');
    return undefined;
  }
  if (!Array.isArray(raw)) {
    problems.add(object, field, `must be a list of CIDRs or ranges, got ${describeType(raw)}`);
    return undefined;
  }
  const entries: AddressEntry[] = [];
  let ok = true;
  raw.forEach((item: unknown, index) => {
    const result = parseAddressEntry(item);
    if ('error' in result) {
      problems.add(object, `${field}[${index}]`, result.error);
      ok = false;
    } else {
      if (result.warning !== undefined) problems.warn(object, `${field}[${index}]`, result.warning);
      entries.push(result.entry);
    }
  });
  return ok ? entries : undefined;
}

function toPool({ draft, entries }: ParsedPool): AddressPool {
  const cidrs = entries.flatMap((e) => e.cidrs).sort(Cidr.compare);
  let size = 0n;
  for (const cidr of cidrs) {
    size += cidr.size;
    if (draft.avoidBuggyIPs && cidr.family === 4) size -= countBuggyIPv4(cidr.base, cidr.base + cidr.size - 1n);
  }
  return Object.freeze({
    name: draft.name,
    source: draft.source,
    autoAssign: draft.autoAssign,
    avoidBuggyIPs: draft.avoidBuggyIPs,
    cidrs: Object.freeze(cidrs),
    size,
    labels: Object.freeze({ ...draft.labels }),
    serviceAllocation: draft.serviceAllocation,
  });
}

function resolveAdvertisement(ad: AdvertisementDraft, pools: readonly AddressPool[]): L2Advertisement {
  const selectsAll = ad.poolNames === undefined && ad.poolSelectors.length === 0;
  const named = new Set(ad.poolNames ?? []);
  const chosen = pools.filter((pool) => {
    if (pool.source !== ad.source) return false;
    if (selectsAll) return true;
    return named.has(pool.name) || ad.poolSelectors.some((selector) => selectorMatches(selector, pool.labels));
  });
  return Object.freeze({
    name: ad.name,
    source: ad.source,
    ipAddressPools: Object.freeze(chosen.map((p) => p.name)),
    nodeSelectors: Object.freeze([...ad.nodeSelectors]),
    interfaces: Object.freeze([...ad.interfaces]),
    serviceSelectors: Object.freeze([...ad.serviceSelectors]),
    preferredNodeSelectors: Object.freeze([...(ad.preferredNodeSelectors ?? [])]),
  });
}

function collectWarnings(pools: readonly AddressPool[], ads: readonly L2Advertisement[]): string[] {
  const warnings: string[] = [];
  if (pools.length === 0) warnings.push('no address pools are defined: no Service will get an IP');
  for (const pool of pools) {
    if (!ads.some((ad) => ad.ipAddressPools.includes(pool.name))) {
      warnings.push(`pool ${show(pool.name)} is not selected by any L2Advertisement: its IPs will be assigned but never announced (add an L2Advertisement)`);
    }
    if (pool.size === 0n) warnings.push(`pool ${show(pool.name)} has no assignable address (avoid-buggy-ips removes all of them)`);
  }
  for (const ad of ads) {
    if (ad.ipAddressPools.length === 0) warnings.push(`L2Advertisement ${show(ad.name)} selects no pool: it announces nothing`);
  }
  return warnings;
}
