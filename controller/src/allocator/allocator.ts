// The IP allocator: pure bookkeeping of which Service holds which address of which pool.
// No Kubernetes types here; the reconciler turns Service objects into ServiceRequests.
//
// Rules (MetalLB's, see ../../README.md "Allocation rules"):
//  - requested IPs (annotation / spec.loadBalancerIP) may come from any pool, autoAssign or not;
//  - a pool annotation allocates from that pool only (autoAssign ignored);
//  - otherwise: pools restricted by serviceAllocation that accept the Service, by priority then
//    name, then the unrestricted pools in config order; autoAssign=false pools are skipped;
//  - in a pool, the lowest address in CIDR order that is free (or shareable), skipping IPv4 .0/.255
//    when avoidBuggyIPs.
// Cost per allocation: O(pools × ranges × log(intervals)), independent of the pool size.
import { IP, countBuggyIPv4, isBuggyIPv4, selectorMatches, type AddressPool, type IPFamily } from '@l2lb/shared';
import { IntervalSet } from './intervals.js';

export type FamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface ServicePort {
  /** TCP, UDP or SCTP. */
  readonly protocol: string;
  readonly port: number;
}

/** What the allocator needs to know about a Service. */
export interface ServiceRequest {
  /** `namespace/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of the Service's Namespace (for serviceAllocation.namespaceSelectors). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Families of spec.clusterIPs, primary first (1 or 2 entries). */
  readonly families: readonly IPFamily[];
  readonly policy: FamilyPolicy;
  readonly ports: readonly ServicePort[];
  /** The allow-shared-ip key; '' means the Service does not share its IP. */
  readonly sharingKey: string;
  /** '' for externalTrafficPolicy Cluster, else the sorted pod selector `k=v,k2=v2`. */
  readonly backendKey: string;
}

export type FailureReason =
  | 'NoPools'
  | 'PoolExhausted'
  | 'NoSuitablePool'
  | 'UnknownPool'
  | 'RequestedIPNotInPool'
  | 'PoolNotCompatible'
  | 'RequestedPoolMismatch'
  | 'FamilyMismatch'
  | 'InvalidRequest'
  | 'SharingConflict';

export interface Allocation {
  /** IPv4 first when dual-stack. */
  readonly ips: readonly IP[];
  readonly pool: string;
}

export type AllocateResult = ({ readonly ok: true } & Allocation) | { readonly ok: false; readonly reason: FailureReason; readonly message: string };

export interface AllocateOptions {
  /** From metallb.io/loadBalancerIPs or spec.loadBalancerIP. */
  readonly requestedIPs?: readonly IP[];
  /** From metallb.io/address-pool. */
  readonly pool?: string;
}

export interface PoolStats {
  readonly pool: string;
  readonly total: { readonly 4: bigint; readonly 6: bigint };
  readonly inUse: { readonly 4: number; readonly 6: number };
}

export interface PoolChange {
  /** Services whose addresses left every pool: released; they need a new IP. */
  readonly released: readonly string[];
  /** Services whose addresses now belong to a differently named pool (kept, annotation to update). */
  readonly renamed: readonly string[];
}

interface Range {
  readonly first: bigint;
  readonly last: bigint;
}

class PoolState {
  readonly ranges: Record<IPFamily, Range[]> = { 4: [], 6: [] };
  readonly used: Record<IPFamily, IntervalSet> = { 4: new IntervalSet(), 6: new IntervalSet() };
  /** sharing key → addresses of this pool currently used under that key. */
  readonly shared = new Map<string, Map<string, IP>>();
  readonly total: Record<IPFamily, bigint> = { 4: 0n, 6: 0n };

  constructor(
    readonly pool: AddressPool,
    readonly index: number,
  ) {
    for (const cidr of pool.cidrs) {
      const first = cidr.base;
      const last = cidr.base + cidr.size - 1n;
      const list = this.ranges[cidr.family];
      const prev = list[list.length - 1];
      if (prev !== undefined && prev.last + 1n === first) list[list.length - 1] = { first: prev.first, last };
      else list.push({ first, last });
      this.total[cidr.family] += cidr.size - (pool.avoidBuggyIPs && cidr.family === 4 ? countBuggyIPv4(first, last) : 0n);
    }
  }

  owns(ip: IP): boolean {
    if (this.pool.avoidBuggyIPs && isBuggyIPv4(ip)) return false;
    for (const r of this.ranges[ip.family]) {
      if (ip.value >= r.first && ip.value <= r.last) return true;
    }
    return false;
  }

  /** Lowest address of `family` in no use (and not buggy when avoidBuggyIPs). */
  firstFree(family: IPFamily): bigint | undefined {
    const used = this.used[family];
    const skipBuggy = this.pool.avoidBuggyIPs && family === 4;
    for (const r of this.ranges[family]) {
      let v = used.firstAbsentAtOrAfter(r.first);
      while (v <= r.last) {
        if (!skipBuggy) return v;
        const low = v & 0xffn;
        if (low !== 0n && low !== 255n) return v;
        v = used.firstAbsentAtOrAfter(v + 1n);
      }
    }
    return undefined;
  }
}

interface IPUsage {
  readonly ip: IP;
  pool: string;
  sharingKey: string;
  backendKey: string;
  /** service key → its ports on this IP. */
  readonly users: Map<string, readonly ServicePort[]>;
}

interface Holding {
  readonly request: ServiceRequest;
  readonly ips: readonly IP[];
  pool: string;
}

export function ipKey(ip: IP): string {
  return `${ip.family}:${ip.value.toString(16)}`;
}

function familyName(family: IPFamily): string {
  return family === 4 ? 'IPv4' : 'IPv6';
}

function fail(reason: FailureReason, message: string): AllocateResult {
  return { ok: false, reason, message };
}

function quoteIPs(ips: readonly IP[]): string {
  return ips.map((ip) => ip.toString()).join(',');
}

/** Whether the pool's serviceAllocation admits the Service (always true for unrestricted pools). */
export function poolAcceptsService(pool: AddressPool, request: ServiceRequest): boolean {
  return poolRejection(pool, request) === undefined;
}

function poolRejection(pool: AddressPool, request: ServiceRequest): string | undefined {
  const sa = pool.serviceAllocation;
  if (sa === undefined) return undefined;
  if (sa.namespaces.length > 0 || sa.namespaceSelectors.length > 0) {
    const byName = sa.namespaces.includes(request.namespace);
    const bySelector = sa.namespaceSelectors.some((s) => selectorMatches(s, request.namespaceLabels));
    if (!byName && !bySelector) return `pool "${pool.name}" does not serve namespace "${request.namespace}"`;
  }
  if (sa.serviceSelectors.length > 0 && !sa.serviceSelectors.some((s) => selectorMatches(s, request.labels))) {
    return `pool "${pool.name}" serviceSelectors do not match the Service's labels`;
  }
  return undefined;
}

function priorityRank(pool: AddressPool): number {
  const p = pool.serviceAllocation?.priority ?? 0;
  return p > 0 ? p : Number.POSITIVE_INFINITY;
}

export class Allocator {
  private pools: PoolState[] = [];
  private readonly poolsByName = new Map<string, PoolState>();
  /** Per family: address value → its users. */
  private readonly usage: Record<IPFamily, Map<bigint, IPUsage>> = { 4: new Map(), 6: new Map() };
  /** autoAssign pools with a serviceAllocation, by priority then name (filtered per Service). */
  private restricted: PoolState[] = [];
  /** autoAssign pools without serviceAllocation, in config order. */
  private unrestricted: PoolState[] = [];
  private readonly holdings = new Map<string, Holding>();

  constructor(pools: readonly AddressPool[] = []) {
    this.setPools(pools);
  }

  get poolNames(): readonly string[] {
    return this.pools.map((p) => p.pool.name);
  }

  /** The Service's current allocation, if any. */
  get(key: string): Allocation | undefined {
    const h = this.holdings.get(key);
    return h === undefined ? undefined : { ips: h.ips, pool: h.pool };
  }

  get allocatedCount(): number {
    return this.holdings.size;
  }

  /** Services using the address, sorted. */
  usersOf(ip: IP): string[] {
    return [...(this.usage[ip.family].get(ip.value)?.users.keys() ?? [])].sort();
  }

  /** The pool that owns the address (respecting avoidBuggyIPs), if any. */
  poolOf(ip: IP): string | undefined {
    return this.pools.find((p) => p.owns(ip))?.pool.name;
  }

  /**
   * Replaces the pools. Allocations whose addresses are still in one pool are kept (and follow a
   * pool rename); the others are released and reported so the reconciler can re-IP them.
   */
  setPools(pools: readonly AddressPool[]): PoolChange {
    this.pools = pools.map((pool, index) => new PoolState(pool, index));
    this.poolsByName.clear();
    for (const p of this.pools) this.poolsByName.set(p.pool.name, p);
    this.restricted = this.pools
      .filter((p) => p.pool.autoAssign && p.pool.serviceAllocation !== undefined)
      .sort((x, y) => {
        const byPriority = priorityRank(x.pool) - priorityRank(y.pool);
        if (byPriority !== 0 && !Number.isNaN(byPriority)) return byPriority;
        return x.pool.name < y.pool.name ? -1 : x.pool.name > y.pool.name ? 1 : 0;
      });
    this.unrestricted = this.pools.filter((p) => p.pool.autoAssign && p.pool.serviceAllocation === undefined);
    const released: string[] = [];
    const renamed: string[] = [];
    for (const [key, holding] of [...this.holdings]) {
      const owner = this.ownerOf(holding.ips);
      if (owner === undefined) {
        this.release(key);
        released.push(key);
      } else if (owner.pool.name !== holding.pool) {
        holding.pool = owner.pool.name;
        renamed.push(key);
      }
    }
    for (const u of [...this.usage[4].values(), ...this.usage[6].values()]) {
      const owner = this.ownerOf([u.ip]);
      if (owner === undefined) continue; // unreachable: every user was released above
      u.pool = owner.pool.name;
      owner.used[u.ip.family].add(u.ip.value);
      if (u.sharingKey !== '') this.sharedIndex(owner, u.sharingKey).set(ipKey(u.ip), u.ip);
    }
    return { released, renamed };
  }

  /** Per-pool capacity and addresses in use, in pool order. */
  stats(): PoolStats[] {
    return this.pools.map((p) => ({
      pool: p.pool.name,
      total: { 4: p.total[4], 6: p.total[6] },
      inUse: { 4: Number(p.used[4].size), 6: Number(p.used[6].size) },
    }));
  }

  /**
   * Records that the Service uses exactly these addresses (idempotent; how state is rebuilt from
   * Service status). On failure nothing changes.
   */
  assign(request: ServiceRequest, ips: readonly IP[]): AllocateResult {
    if (ips.length === 0) return fail('InvalidRequest', 'no address given');
    if (ips.length > 2) return fail('InvalidRequest', `more than two addresses "${quoteIPs(ips)}"`);
    const [a, b] = ips;
    if (a !== undefined && b !== undefined && a.family === b.family) {
      return fail('InvalidRequest', `"${a.toString()}" and "${b.toString()}" have the same family; two addresses must be one IPv4 and one IPv6`);
    }
    const owner = this.ownerOf(ips);
    if (owner === undefined) {
      const outside = ips.filter((ip) => this.poolOf(ip) === undefined);
      if (outside.length > 0) return fail('RequestedIPNotInPool', `"${quoteIPs(outside)}" is not in any address pool`);
      return fail('RequestedIPNotInPool', `"${quoteIPs(ips)}" belong to different address pools`);
    }
    const rejection = poolRejection(owner.pool, request);
    if (rejection !== undefined) return fail('PoolNotCompatible', `pool "${owner.pool.name}" not compatible for ip assignment: ${rejection}`);
    for (const ip of ips) {
      const problem = this.sharingProblem(request, ip);
      if (problem !== undefined) return fail('SharingConflict', problem);
    }
    this.release(request.key);
    const sorted = ips.length === 1 ? ips : [...ips].sort(IP.compare);
    for (const ip of sorted) this.addUser(owner, request, ip);
    this.holdings.set(request.key, { request, ips: sorted, pool: owner.pool.name });
    return { ok: true, ips: sorted, pool: owner.pool.name };
  }

  /** Allocates (or confirms) addresses for the Service following MetalLB's order of sources. */
  allocate(request: ServiceRequest, options: AllocateOptions = {}): AllocateResult {
    if (this.pools.length === 0) return fail('NoPools', 'no address pools are configured');
    const families = uniqueFamilies(request.families);
    if (families.length === 0) return fail('InvalidRequest', 'the Service has no cluster IP, so its IP family is unknown');
    const requested = options.requestedIPs ?? [];
    if (requested.length > 0) {
      const reqFamilies = uniqueFamilies(requested.map((ip) => ip.family));
      if (!sameFamilies(reqFamilies, families) || reqFamilies.length !== requested.length) {
        return fail(
          'FamilyMismatch',
          `requested loadBalancer IP(s) "${quoteIPs(requested)}" does not match the ipFamily of the service (${families.map(familyName).join('+')})`,
        );
      }
      if (options.pool !== undefined) {
        const owner = this.ownerOf(requested);
        if (owner !== undefined && owner.pool.name !== options.pool) {
          return fail(
            'RequestedPoolMismatch',
            `requested loadBalancer IP(s) "${quoteIPs(requested)}" is not compatible with requested address pool "${options.pool}" (they belong to pool "${owner.pool.name}")`,
          );
        }
      }
      return this.assign(request, requested);
    }

    const current = this.holdings.get(request.key);
    if (current !== undefined && (options.pool === undefined || options.pool === current.pool)) {
      const again = this.assign(request, current.ips);
      if (again.ok) return again;
    }

    if (options.pool !== undefined) {
      const state = this.poolsByName.get(options.pool);
      if (state === undefined) return fail('UnknownPool', `unknown pool "${options.pool}"`);
      const rejection = poolRejection(state.pool, request);
      if (rejection !== undefined) return fail('PoolNotCompatible', `pool "${state.pool.name}" not compatible for ip assignment: ${rejection}`);
      const picked = this.pick([state], request, families);
      if (picked === undefined) {
        if (!families.some((f) => state.ranges[f].length > 0)) {
          return fail('NoSuitablePool', `pool "${state.pool.name}" has no ${families.map(familyName).join(' or ')} addresses`);
        }
        return fail('PoolExhausted', `no available IPs in pool "${state.pool.name}"`);
      }
      return this.commit(picked.pool, request, picked.ips);
    }

    const pinned = this.restricted.length === 0 ? this.restricted : this.restricted.filter((p) => poolAcceptsService(p.pool, request));
    const unrestricted = this.unrestricted;
    for (const round of [pinned, unrestricted]) {
      const picked = this.pick(round, request, families);
      if (picked !== undefined) return this.commit(picked.pool, request, picked.ips);
    }
    const considered = [...pinned, ...unrestricted];
    if (considered.length === 0) {
      return fail(
        'NoSuitablePool',
        'no pool can be used automatically by this Service (every pool is autoAssign=false or restricted to other Services by serviceAllocation)',
      );
    }
    const needed = request.policy === 'RequireDualStack' || families.length === 1 ? families : [];
    const missing = needed.filter((f) => !considered.some((p) => p.ranges[f].length > 0));
    const anyFamily = families.some((f) => considered.some((p) => p.ranges[f].length > 0));
    if (missing.length > 0 || !anyFamily) {
      return fail('NoSuitablePool', `no suitable pool for ${(missing.length > 0 ? missing : families).map(familyName).join('+')} IPFamily`);
    }
    return fail('PoolExhausted', 'no available IPs');
  }

  /**
   * PreferDualStack with one address: add the other family from the same pool when it has one free
   * (MetalLB's AllocateFromPoolForAdditionalFamily). Undefined when there is nothing to add.
   */
  allocateAdditionalFamily(request: ServiceRequest): AllocateResult | undefined {
    const holding = this.holdings.get(request.key);
    if (holding === undefined || holding.ips.length !== 1 || request.policy !== 'PreferDualStack') return undefined;
    const have = (holding.ips[0] as IP).family;
    const missing = uniqueFamilies(request.families).find((f) => f !== have);
    const pool = this.poolsByName.get(holding.pool);
    if (missing === undefined || pool === undefined) return undefined;
    const extra = this.candidate(pool, request, missing);
    if (extra === undefined) return fail('PoolExhausted', `no available ${familyName(missing)} address in pool "${pool.pool.name}"`);
    const ips = [...holding.ips, extra].sort(IP.compare);
    return this.commit(pool, request, ips);
  }

  /** Frees the Service's addresses; returns whether it held any. */
  release(key: string): boolean {
    const holding = this.holdings.get(key);
    if (holding === undefined) return false;
    this.holdings.delete(key);
    for (const ip of holding.ips) {
      const u = this.usage[ip.family].get(ip.value);
      if (u === undefined) continue;
      u.users.delete(key);
      if (u.users.size > 0) continue;
      this.usage[ip.family].delete(ip.value);
      const owner = this.poolsByName.get(u.pool);
      if (owner === undefined) continue;
      owner.used[ip.family].delete(ip.value);
      if (u.sharingKey !== '') {
        const index = owner.shared.get(u.sharingKey);
        index?.delete(ipKey(ip));
        if (index !== undefined && index.size === 0) owner.shared.delete(u.sharingKey);
      }
    }
    return true;
  }

  /** Why the Service may not use `ip` because of other users, or undefined when it may. */
  sharingProblem(request: ServiceRequest, ip: IP): string | undefined {
    const u = this.usage[ip.family].get(ip.value);
    if (u === undefined) return undefined;
    if (u.users.size === 1 && u.users.has(request.key)) return undefined;
    const others = [...u.users.keys()].filter((k) => k !== request.key);
    if (others.length === 0) return undefined;
    const keyProblem = sharingKeyProblem(u, request);
    if (keyProblem !== undefined) {
      return `address "${ip.toString()}" is already used by ${others.sort().join(',')}: ${keyProblem}`;
    }
    for (const port of request.ports) {
      for (const other of others) {
        const theirs = u.users.get(other) ?? [];
        if (theirs.some((p) => p.port === port.port && p.protocol === port.protocol)) {
          return `port ${port.protocol}/${port.port} is already in use on "${ip.toString()}" by ${other}`;
        }
      }
    }
    return undefined;
  }

  private ownerOf(ips: readonly IP[]): PoolState | undefined {
    let owner: PoolState | undefined;
    for (const ip of ips) {
      const p = this.pools.find((s) => s.owns(ip));
      if (p === undefined || (owner !== undefined && owner !== p)) return undefined;
      owner = p;
    }
    return owner;
  }

  private sharedIndex(pool: PoolState, sharingKey: string): Map<string, IP> {
    let index = pool.shared.get(sharingKey);
    if (index === undefined) {
      index = new Map();
      pool.shared.set(sharingKey, index);
    }
    return index;
  }

  private addUser(pool: PoolState, request: ServiceRequest, ip: IP): void {
    let u = this.usage[ip.family].get(ip.value);
    if (u === undefined) {
      u = { ip, pool: pool.pool.name, sharingKey: request.sharingKey, backendKey: request.backendKey, users: new Map() };
      this.usage[ip.family].set(ip.value, u);
      pool.used[ip.family].add(ip.value);
    } else if (u.sharingKey !== request.sharingKey || u.backendKey !== request.backendKey) {
      // Only possible when the Service is the sole user: its key is updated in place.
      if (u.sharingKey !== '') pool.shared.get(u.sharingKey)?.delete(ipKey(ip));
      u.sharingKey = request.sharingKey;
      u.backendKey = request.backendKey;
    }
    if (u.sharingKey !== '') this.sharedIndex(pool, u.sharingKey).set(ipKey(ip), ip);
    u.users.set(request.key, request.ports);
  }

  /** Lowest usable address of `family` in the pool for this Service: free, or shareable with it. */
  private candidate(pool: PoolState, request: ServiceRequest, family: IPFamily): IP | undefined {
    const free = pool.firstFree(family);
    let best = free;
    if (request.sharingKey !== '') {
      for (const ip of pool.shared.get(request.sharingKey)?.values() ?? []) {
        if (ip.family !== family || (best !== undefined && ip.value >= best)) continue;
        if (this.sharingProblem(request, ip) === undefined) best = ip.value;
      }
    }
    return best === undefined ? undefined : IP.fromBigInt(family, best);
  }

  /** MetalLB's findBestPoolForService + selectIPsForFamilyAndPolicy over pools in order. */
  private pick(pools: readonly PoolState[], request: ServiceRequest, families: readonly IPFamily[]): { pool: PoolState; ips: IP[] } | undefined {
    if (families.length === 1) {
      const family = families[0] as IPFamily;
      for (const pool of pools) {
        const ip = this.candidate(pool, request, family);
        if (ip !== undefined) return { pool, ips: [ip] };
      }
      return undefined;
    }
    for (const pool of pools) {
      const v4 = this.candidate(pool, request, 4);
      const v6 = v4 === undefined ? undefined : this.candidate(pool, request, 6);
      if (v4 !== undefined && v6 !== undefined) return { pool, ips: [v4, v6] };
    }
    if (request.policy !== 'PreferDualStack') return undefined;
    for (const family of families) {
      for (const pool of pools) {
        const ip = this.candidate(pool, request, family);
        if (ip !== undefined) return { pool, ips: [ip] };
      }
    }
    return undefined;
  }

  /**
   * Records addresses chosen by pick(): they are free or shareable with this Service, and the pool
   * accepts it, so assign()'s checks are already done.
   */
  private commit(pool: PoolState, request: ServiceRequest, ips: IP[]): AllocateResult {
    this.release(request.key);
    for (const ip of ips) this.addUser(pool, request, ip);
    this.holdings.set(request.key, { request, ips, pool: pool.pool.name });
    return { ok: true, ips, pool: pool.pool.name };
  }
}

function sharingKeyProblem(existing: IPUsage, request: ServiceRequest): string | undefined {
  if (existing.sharingKey === '') return 'existing service does not allow sharing';
  if (request.sharingKey === '') return 'new service does not allow sharing';
  if (existing.sharingKey !== request.sharingKey) {
    return `sharing key "${request.sharingKey}" does not match existing sharing key "${existing.sharingKey}"`;
  }
  if (existing.backendKey !== request.backendKey) {
    return `backend key "${request.backendKey}" does not match existing backend key "${existing.backendKey}" (services sharing an IP need externalTrafficPolicy Cluster, or Local with identical selectors)`;
  }
  return undefined;
}

function uniqueFamilies(families: readonly IPFamily[]): IPFamily[] {
  const out: IPFamily[] = [];
  for (const f of families) if (!out.includes(f)) out.push(f);
  return out;
}

function sameFamilies(a: readonly IPFamily[], b: readonly IPFamily[]): boolean {
  return a.length === b.length && a.every((f) => b.includes(f));
}
