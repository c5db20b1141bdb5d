// Which speaker announces a Service's IPs: MetalLB's layer-2 election, as pure functions.
//
// Every speaker runs the same computation on the same inputs (alive memberlist members, Node
// objects, EndpointSlices, the configuration) and so agrees on one owner without talking:
// the candidates are sorted by SHA-256("<node>#<ip>") and the first one announces. The steps
// and withdraw reasons follow MetalLB's speaker (SetBalancer, ShouldAnnounce) so a mixed
// l2lb/MetalLB cluster elects the same node. L2Advertisement.preferredNodeSelectors (MetalLB main,
// not in a release yet) put the highest-scoring candidates first; released MetalLB speakers ignore
// them (docs/decisions.md). No I/O: the caller gathers the inputs.
import { IP, selectorMatches, type Config, type L2Advertisement, type AddressPool } from '@l2lb/shared';
import { HashOrderCache } from './hash-order.js';

/** Shared by every decision of the process: the orders depend only on the names and the IP. */
const hashOrders = new HashOrderCache();

/** MetalLB's reasons for not announcing (the strings appear in its logs and ours). */
export type WithdrawReason =
  | 'serviceDeleted'
  | 'notLoadBalancer'
  | 'noIPAllocated'
  | 'invalidIP'
  | 'ipNotAllowed'
  | 'notOwner'
  | 'sharedIPWithServiceSelector'
  | 'noMatchingAdvertisement';

export interface ServiceView {
  readonly type: string;
  /** status.loadBalancer.ingress[].ip in order ('' for an entry without an IP). */
  readonly ingressIPs: readonly string[];
  /** spec.externalTrafficPolicy; anything but 'Local' behaves as 'Cluster'. */
  readonly externalTrafficPolicy: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** One endpoint of the Service's EndpointSlices. */
export interface EndpointView {
  readonly nodeName: string | undefined;
  readonly ready: boolean | undefined;
  readonly serving: boolean | undefined;
}

export interface NodeView {
  readonly labels: Readonly<Record<string, string>>;
  /** The NetworkUnavailable condition is True. */
  readonly networkUnavailable: boolean;
}

export interface ElectionInput {
  readonly myNode: string;
  /** undefined: the Service was deleted. */
  readonly service: ServiceView | undefined;
  readonly endpoints: readonly EndpointView[];
  readonly config: Config;
  /** Node objects by name, as this speaker has seen them. */
  readonly nodes: ReadonlyMap<string, NodeView>;
  /** Alive and suspect memberlist members; undefined when memberlist is off (every known Node is a candidate). */
  readonly members: ReadonlySet<string> | undefined;
  /** MetalLB's --ignore-exclude-lb: keep nodes labelled node.kubernetes.io/exclude-from-external-load-balancers. */
  readonly ignoreExcludeLb?: boolean;
  /**
   * Remembers the candidate list between decisions. Only for a caller that replaces `members`, `nodes`
   * and `config` instead of changing them in place (the speaker core): the cache keys on their identity.
   */
  readonly candidateCache?: CandidateCache;
}

/**
 * The candidates before the per-Service Local filter depend only on the members, the Node objects, the
 * configuration and which advertisements apply, so a pass over 10 000 Services after a membership change
 * computes them once per set of advertisements instead of once per Service (docs/decisions.md).
 */
export class CandidateCache {
  private members: ReadonlySet<string> | undefined;
  private nodes: ReadonlyMap<string, NodeView> | undefined;
  private config: Config | undefined;
  private readonly lists = new Map<string, readonly string[]>();

  /** The cached list for these inputs, or `compute()`'s result frozen and remembered. */
  candidates(input: ElectionInput, ads: readonly L2Advertisement[], compute: () => string[]): readonly string[] {
    if (input.members !== this.members || input.nodes !== this.nodes || input.config !== this.config) {
      this.members = input.members;
      this.nodes = input.nodes;
      this.config = input.config;
      this.lists.clear();
    }
    const key = `${input.ignoreExcludeLb ? 1 : 0}:${ads.map((ad) => input.config.l2Advertisements.indexOf(ad)).join(',')}`;
    let list = this.lists.get(key);
    if (list === undefined) {
      // Frozen: HashOrderCache may keep it by identity.
      list = Object.freeze(compute());
      this.lists.set(key, list);
    }
    return list;
  }
}

export type Decision =
  | {
      readonly announce: true;
      readonly ips: readonly string[];
      readonly pool: string;
      /** Interface names to answer on; empty = every eligible interface. */
      readonly interfaces: readonly string[];
      /** The election order (winner first): for logs, events and `l2lb` diagnostics. */
      readonly order: readonly string[];
    }
  | {
      readonly announce: false;
      readonly reason: WithdrawReason;
      /** One sentence an operator can act on. */
      readonly detail: string;
      /** The election order when it got that far (the winner is order[0]). */
      readonly order?: readonly string[];
    };

export const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
const SHARED_IP_ANNOTATIONS = ['metallb.universe.tf/allow-shared-ip', 'metallb.io/allow-shared-ip'];

/**
 * An IP as Go's net.IP.String() prints it (MetalLB hashes that string): dotted quad for IPv4
 * and IPv4-mapped IPv6, RFC 5952 for IPv6. undefined when the text is not an IP.
 */
export function goIpString(text: string): string | undefined {
  const ip = IP.parse(text.trim());
  if (!ip) return undefined;
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) {
    return IP.fromBigInt(4, ip.value & 0xffffffffn).toString();
  }
  return ip.toString();
}

/** Parsed ingress IPs: a pass decides every Service again, and parsing was a fifth of its time. Bounded. */
const parsedIps = new Map<string, { go: string; ip: IP } | null>();

function parseIngressIp(text: string): { go: string; ip: IP } | undefined {
  let parsed = parsedIps.get(text);
  if (parsed === undefined) {
    const go = goIpString(text);
    const ip = go === undefined ? undefined : IP.parse(go);
    parsed = ip && go !== undefined ? { go, ip } : null;
    if (parsedIps.size >= 65_536) parsedIps.clear();
    parsedIps.set(text, parsed);
  }
  return parsed ?? undefined;
}

/**
 * The election order for `ip` (already in Go's string form), as MetalLB main's sortL2Candidates:
 * the highest preference score first (missing: 0), then SHA-256("<node>#<ip>") ascending, bytewise.
 * Without scores (or all zero) this is the plain hash order every MetalLB release uses.
 */
export function electionOrder(nodes: Iterable<string>, ip: string, scores?: ReadonlyMap<string, number>): string[] {
  const order = hashOrders.order(nodes, ip);
  if (scores === undefined || scores.size === 0) return order;
  // A stable sort keeps the hash order among equal scores.
  const ranked = order.map((node, index) => ({ node, index, score: scores.get(node) ?? 0 }));
  ranked.sort((a, b) => b.score - a.score || a.index - b.index);
  return ranked.map((r) => r.node);
}

/**
 * Each node's preference score for a Service, as MetalLB main computes it: for every advertisement
 * of the Service (all of them, not only those selecting this node, so every speaker computes the
 * same scores), a Node object the advertisement's nodeSelectors select gets the weight of each
 * preference its labels match; the sums add up across advertisements. Nodes scoring 0 are left out.
 */
export function preferenceScores(ads: readonly L2Advertisement[], nodes: ReadonlyMap<string, NodeView>): Map<string, number> {
  const scores = new Map<string, number>();
  for (const ad of ads) {
    if (ad.preferredNodeSelectors.length === 0) continue;
    for (const [name, node] of nodes) {
      if (!adSelectsNode(ad, name, nodes)) continue;
      let total = 0;
      for (const p of ad.preferredNodeSelectors) if (selectorMatches(p.preference, node.labels)) total += p.weight;
      if (total > 0) scores.set(name, (scores.get(name) ?? 0) + total);
    }
  }
  return scores;
}

function poolOf(config: Config, ip: IP): AddressPool | undefined {
  return config.pools.find((p) => p.cidrs.some((c) => c.contains(ip)));
}

function adSelectsNode(ad: L2Advertisement, name: string, nodes: ReadonlyMap<string, NodeView>): boolean {
  if (ad.nodeSelectors.length === 0) return true;
  const node = nodes.get(name);
  return node !== undefined && ad.nodeSelectors.some((s) => selectorMatches(s, node.labels));
}

const canServe = (e: EndpointView): boolean => e.ready === undefined || e.ready || e.serving === true;

/** Should `input.myNode` announce the Service's IPs now? */
export function decide(input: ElectionInput): Decision {
  const { service: svc, config, nodes, myNode } = input;
  const no = (reason: WithdrawReason, detail: string, order?: readonly string[]): Decision =>
    order ? { announce: false, reason, detail, order } : { announce: false, reason, detail };
  if (!svc) return no('serviceDeleted', 'the Service was deleted');
  if (svc.type !== 'LoadBalancer') return no('notLoadBalancer', `spec.type is ${svc.type}, not LoadBalancer`);
  if (svc.ingressIPs.length === 0) return no('noIPAllocated', 'status.loadBalancer.ingress is empty (no IP allocated yet)');
  const ips: IP[] = [];
  const texts: string[] = [];
  for (const [i, text] of svc.ingressIPs.entries()) {
    const parsed = parseIngressIp(text);
    if (!parsed) return no('invalidIP', `status.loadBalancer.ingress[${i}].ip '${text}' is not an IP address`);
    ips.push(parsed.ip);
    texts.push(parsed.go);
  }
  const pools = ips.map((ip) => poolOf(config, ip));
  const pool = pools[0];
  if (!pool || pools.some((p) => p !== pool)) {
    return no('ipNotAllowed', `${texts.join(', ')} ${texts.length > 1 ? 'are' : 'is'} not all in one configured address pool`);
  }
  if (!input.endpoints.some(canServe)) return no('notOwner', 'no endpoint of the Service is ready or serving');
  const ads = config.l2Advertisements.filter(
    (ad) => ad.ipAddressPools.includes(pool.name) && (ad.serviceSelectors.length === 0 || ad.serviceSelectors.some((s) => selectorMatches(s, svc.labels))),
  );
  if (SHARED_IP_ANNOTATIONS.some((a) => a in svc.annotations) && ads.some((ad) => ad.serviceSelectors.length > 0)) {
    return no(
      'sharedIPWithServiceSelector',
      'the Service shares its IP (allow-shared-ip) and an L2Advertisement selects Services by label: never announced, as in MetalLB',
    );
  }
  const mine = ads.filter((ad) => adSelectsNode(ad, myNode, nodes));
  if (mine.length === 0) {
    return no(
      'noMatchingAdvertisement',
      ads.length === 0 ? `no L2Advertisement announces pool ${pool.name} for this Service` : `no L2Advertisement for pool ${pool.name} selects node ${myNode}`,
    );
  }
  const eligible = (): string[] =>
    [...(input.members ?? nodes.keys())].filter((name) => {
      const node = nodes.get(name);
      if (node?.networkUnavailable) return false;
      if (!input.ignoreExcludeLb && node && EXCLUDE_LB_LABEL in node.labels) return false;
      return ads.some((ad) => adSelectsNode(ad, name, nodes));
    });
  let candidates: readonly string[] = input.candidateCache ? input.candidateCache.candidates(input, ads, eligible) : eligible();
  if (svc.externalTrafficPolicy === 'Local') {
    const withEndpoint = new Set(input.endpoints.filter((e) => canServe(e) && e.nodeName).map((e) => e.nodeName));
    candidates = candidates.filter((n) => withEndpoint.has(n));
  }
  if (candidates.length === 0) {
    return no(
      'notOwner',
      svc.externalTrafficPolicy === 'Local'
        ? 'no usable speaker runs on a node with a ready endpoint (externalTrafficPolicy Local)'
        : 'no usable speaker is eligible for this Service',
    );
  }
  // Candidates are filtered (members, NetworkUnavailable, Local endpoints) before scoring: a preferred
  // node that cannot announce never wins, as in MetalLB.
  const scores = preferenceScores(ads, nodes);
  const ip0 = texts[0] ?? '';
  // Without preference scores the winner is the first candidate in hash order: found without sorting or
  // filtering the whole list, which is built only when someone reads `order` (the announcing log line,
  // `kubectl l2lb explain`), not for the thousands of Services a pass decides not to announce.
  const fullOrder = scores.size === 0 ? undefined : electionOrder(candidates, ip0, scores);
  const winner = fullOrder ? fullOrder[0] : hashOrders.first(candidates, ip0);
  const order = (): readonly string[] => fullOrder ?? electionOrder(candidates, ip0);
  if (winner !== myNode) {
    const score = scores.get(winner ?? '');
    return withOrder(no('notOwner', `node ${winner ?? '?'} wins the election for ${ip0 || '?'}${score ? ` (preference score ${score})` : ''}`), order);
  }
  const interfaces = mine.some((ad) => ad.interfaces.length === 0) ? [] : [...new Set(mine.flatMap((ad) => ad.interfaces))].sort();
  return withOrder({ announce: true, ips: texts, pool: pool.name, interfaces }, order);
}

/** Adds `order` as an enumerable property computed on first read (then kept). */
function withOrder<T extends object>(d: T, compute: () => readonly string[]): T & { readonly order: readonly string[] } {
  let order: readonly string[] | undefined;
  return Object.defineProperty(d, 'order', { enumerable: true, get: () => (order ??= compute()) }) as T & { readonly order: readonly string[] };
}
