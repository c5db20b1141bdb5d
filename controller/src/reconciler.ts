// The Service reconciler as pure logic: from a Service, the configuration and the allocator's
// state it computes the desired status, annotation, condition and events. The process layer
// (controller.ts) feeds it informer events and performs the writes it asks for.
import { IP, type Config } from '@l2lb/shared';
import { Allocator, type Allocation, type FailureReason, type PoolChange } from './allocator/allocator.js';
import {
  ANN_ALLOCATED_FROM_POOL,
  handledByClass,
  isLoadBalancer,
  parseService,
  readServiceObject,
  serviceKey,
  statusIPs,
  type ServiceCondition,
  type ServiceObject,
} from './service.js';

export const CONDITION_TYPE = 'l2lb.io/Allocated';

export type EventType = 'Normal' | 'Warning';

export interface EventSpec {
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
}

/** Everything the controller writes to a Service, in full (not a diff). */
export interface ServiceWrite {
  /** status.loadBalancer.ingress; empty means "no IP". */
  readonly ingress: readonly string[];
  /** status.conditions: the Service's other conditions kept, ours replaced or removed. */
  readonly conditions: readonly ServiceCondition[];
  /** metallb.io/ip-allocated-from-pool: the pool name, or null to remove the annotation. */
  readonly pool: string | null;
}

export type FailureKind = FailureReason | 'InvalidService';

export interface ServiceOutcome {
  readonly key: string;
  /** Undefined when the Service already looks as it should (or is not ours). */
  readonly write: ServiceWrite | undefined;
  readonly events: readonly EventSpec[];
  /** Addresses were released: Services waiting for an IP should be retried. */
  readonly freed: boolean;
  /** A LoadBalancer Service of ours that has no IP. */
  readonly pending: boolean;
  readonly allocation: Allocation | undefined;
  readonly failure: { readonly reason: FailureKind; readonly message: string } | undefined;
}

export interface ReconcilerOptions {
  /** --lb-class; '' handles Services without spec.loadBalancerClass. */
  readonly lbClass?: string;
  readonly now?: () => Date;
}

const IGNORED = (key: string): ServiceOutcome => ({
  key,
  write: undefined,
  events: [],
  freed: false,
  pending: false,
  allocation: undefined,
  failure: undefined,
});

function sameIPs(a: readonly IP[], b: readonly IP[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort(IP.compare);
  const sb = [...b].sort(IP.compare);
  return sa.every((ip, i) => ip.equals(sb[i] as IP));
}

function quoted(ips: readonly IP[]): string {
  return `[${ips.map((ip) => `"${ip.toString()}"`).join(', ')}]`;
}

function conditionsEqual(a: ServiceCondition | undefined, b: ServiceCondition | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.type === b.type && a.status === b.status && (a.reason ?? '') === (b.reason ?? '') && (a.message ?? '') === (b.message ?? '');
}

export class Reconciler {
  readonly allocator = new Allocator();
  private config: Config | undefined;
  private readonly lbClass: string;
  private readonly now: () => Date;
  /** What we last decided to write per Service: suppresses repeats while the informer cache lags. */
  private readonly lastWrite = new Map<string, string>();
  /** Our last condition per Service: events are emitted only when it changes. */
  private readonly lastCondition = new Map<string, ServiceCondition>();

  constructor(options: ReconcilerOptions = {}) {
    this.lbClass = options.lbClass ?? '';
    this.now = options.now ?? (() => new Date());
  }

  get configLoaded(): boolean {
    return this.config !== undefined;
  }

  get currentConfig(): Config | undefined {
    return this.config;
  }

  /**
   * Applies a new valid configuration; allocations whose IPs left every pool are released.
   * A configuration without a pool is "no configuration" (deleted, not created yet, CRDs not served): the
   * controller then allocates nothing and changes nothing, and the allocator keeps the last pools and every
   * assignment, so a Service deleted meanwhile still frees its IP and nothing moves when the pools return.
   * MetalLB likewise stops ("configuration is missing, will not function") instead of clearing Services.
   */
  setConfig(config: Config): PoolChange {
    if (config.pools.length === 0) {
      this.config = undefined;
      return { released: [], renamed: [] };
    }
    this.config = config;
    return this.allocator.setPools(config.pools);
  }

  /** Whether this controller instance is responsible for the Service (--lb-class). */
  handles(svc: ServiceObject): boolean {
    return handledByClass(svc, this.lbClass);
  }

  /** The Service is gone: free its addresses. */
  deleted(key: string): { freed: boolean } {
    this.lastWrite.delete(key);
    this.lastCondition.delete(key);
    return { freed: this.allocator.release(key) };
  }

  /** Forget the memo of a write that failed, so the next pass writes again. */
  writeFailed(key: string): void {
    this.lastWrite.delete(key);
  }

  /** `input` is the informer's JSON: read through readServiceObject, so a field of the wrong type is ignored. */
  reconcile(input: ServiceObject, namespaceLabels: Readonly<Record<string, string>> = {}): ServiceOutcome {
    const svc = readServiceObject(input)?.service ?? {};
    const key = serviceKey(svc);
    if (!this.handles(svc)) return IGNORED(key);
    const events: EventSpec[] = [];

    if (!isLoadBalancer(svc)) {
      const held = this.allocator.get(key);
      const freed = this.allocator.release(key);
      this.lastCondition.delete(key);
      const shown = held?.ips ?? statusIPs(svc);
      const write = this.desiredWrite(svc, [], undefined, undefined);
      if (write !== undefined && shown.length > 0) {
        events.push({ type: 'Normal', reason: 'ClearAssignment', message: `Service is no longer of type LoadBalancer: released ${quoted(shown)}` });
      }
      return { key, write, events, freed, pending: false, allocation: undefined, failure: undefined };
    }
    if (this.config === undefined) return IGNORED(key);

    const parsed = parseService(svc, namespaceLabels);
    let freed = false;
    const failWith = (reason: FailureKind, message: string): ServiceOutcome => {
      freed = this.allocator.release(key) || freed;
      const condition = this.condition(svc, 'False', reason, message);
      const write = this.desiredWrite(svc, [], undefined, condition);
      if (this.conditionChanged(key, condition)) {
        events.push({ type: 'Warning', reason: 'AllocationFailed', message: `Failed to allocate IP for "${key}": ${message}` });
      }
      this.addDeprecationWarning(events, write, parsed.deprecated);
      return { key, write, events, freed, pending: true, allocation: undefined, failure: { reason, message } };
    };

    const request = parsed.request;

    // The allocator's record is authoritative once we have one; the status is read only when we
    // have none (after a restart, or after a config change released the Service).
    const held = this.allocator.get(key);
    let current: readonly IP[] = held?.ips ?? statusIPs(svc);

    /**
     * A Service whose own annotations became invalid, or ask for something that cannot be assigned, keeps
     * the IP it holds (with its status and pool annotation); the condition and an Event explain why. Its IP
     * changes only once the annotations ask for something that can be assigned. (MetalLB releases the IP.)
     * Undefined when there is nothing to keep: no IP, or the IP is not valid under the configuration.
     */
    const keepHeld = (reason: FailureKind, problem: string): ServiceOutcome | undefined => {
      let kept: Allocation | undefined = this.allocator.get(key);
      if (kept === undefined && current.length > 0) {
        const registered = this.allocator.assign(request, current);
        if (registered.ok) kept = registered;
      }
      if (kept === undefined) return undefined;
      const message = `${problem}; keeping ${quoted(kept.ips)} from pool "${kept.pool}" until the Service asks for something that can be assigned`;
      const condition = this.condition(svc, 'False', reason, message);
      const write = this.desiredWrite(
        svc,
        kept.ips.map((ip) => ip.toString()),
        kept.pool,
        condition,
      );
      if (this.conditionChanged(key, condition)) {
        events.push({ type: 'Warning', reason: 'AllocationFailed', message: `Failed to allocate IP for "${key}": ${message}` });
      }
      this.addDeprecationWarning(events, write, parsed.deprecated);
      return { key, write, events, freed, pending: false, allocation: kept, failure: { reason, message } };
    };

    if (parsed.error !== undefined) return keepHeld('InvalidService', parsed.error) ?? failWith('InvalidService', parsed.error);

    let allocation: Allocation | undefined;
    /** Set when the Service's own annotations ask to move: the held IP is released only once the move succeeds. */
    let moveMessage: string | undefined;
    const drop = (message: string | undefined): void => {
      freed = this.allocator.release(key) || freed;
      if (message !== undefined) events.push({ type: 'Normal', reason: 'ClearAssignment', message });
      current = [];
    };
    if (current.length > 0) {
      const families = new Set(current.map((ip) => ip.family));
      const wanted = new Set(request.families);
      const familyOK =
        [...families].every((f) => wanted.has(f)) && (families.size === wanted.size || (families.size === 1 && request.policy === 'PreferDualStack'));
      if (!familyOK) {
        drop(`current IP(s) ${quoted(current)} for "${key}" do not match the Service's IP families, will attempt for new IP assignment`);
      } else {
        const result = this.allocator.assign(request, current);
        if (!result.ok && result.reason === 'SharingConflict' && held !== undefined) {
          // The Service's sharing annotation no longer fits the IP it holds (still registered): move if possible.
          moveMessage = `current IP for "${key}" not allowed by its sharing annotation, will attempt for new IP assignment: ${result.message}`;
        } else if (!result.ok) {
          drop(`current IP for "${key}" not allowed by config, will attempt for new IP assignment: ${result.message}`);
        } else if (parsed.pool !== undefined && parsed.pool !== result.pool) {
          moveMessage = `current IP(s) ${quoted(result.ips)} for "${key}" are from pool "${result.pool}" but the Service asks for pool "${parsed.pool}", will attempt for new IP assignment`;
        } else if (parsed.requestedIPs.length > 0 && !sameIPs(parsed.requestedIPs, result.ips)) {
          moveMessage = `current IP(s) ${quoted(result.ips)} for "${key}" differ from the requested ${quoted(parsed.requestedIPs)}, will attempt for new IP assignment`;
        } else {
          allocation = result;
        }
      }
    }
    if (allocation === undefined) {
      // Make before break: on success allocate() replaces the held record, on failure it leaves it as it is.
      const result = this.allocator.allocate(request, {
        requestedIPs: parsed.requestedIPs,
        ...(parsed.pool !== undefined ? { pool: parsed.pool } : {}),
      });
      if (!result.ok) {
        if (moveMessage !== undefined) {
          const kept = keepHeld(result.reason, `the Service's annotations cannot be satisfied: ${result.message}`);
          if (kept !== undefined) return kept;
        }
        return failWith(result.reason, result.message);
      }
      if (moveMessage !== undefined) {
        events.push({ type: 'Normal', reason: 'ClearAssignment', message: moveMessage });
        freed = true;
      }
      allocation = result;
    }

    if (allocation.ips.length === 1 && request.policy === 'PreferDualStack' && new Set(request.families).size === 2) {
      const more = this.allocator.allocateAdditionalFamily(request);
      if (more?.ok === true) {
        allocation = more;
        events.push({
          type: 'Normal',
          reason: 'IPAllocated',
          message: `Assigned additional IP ${quoted(more.ips.filter((ip) => !statusIPs(svc).some((s) => s.equals(ip))))}`,
        });
      }
    }

    const message = `Assigned ${allocation.ips.map((ip) => ip.toString()).join(', ')} from pool "${allocation.pool}"`;
    const condition = this.condition(svc, 'True', 'IPAllocated', message);
    const ips = allocation.ips.map((ip) => ip.toString());
    const write = this.desiredWrite(svc, ips, allocation.pool, condition);
    const before = statusIPs(svc);
    if (write !== undefined && !sameIPs(before, allocation.ips) && !events.some((e) => e.reason === 'IPAllocated')) {
      events.push({ type: 'Normal', reason: 'IPAllocated', message: `Assigned IP ${quoted(allocation.ips)}` });
    }
    this.lastCondition.set(key, condition);
    this.addDeprecationWarning(events, write, parsed.deprecated);
    return { key, write, events, freed, pending: false, allocation, failure: undefined };
  }

  private addDeprecationWarning(events: EventSpec[], write: ServiceWrite | undefined, deprecated: readonly string[]): void {
    if (write === undefined || deprecated.length === 0) return;
    events.push({
      type: 'Warning',
      reason: 'deprecatedAnnotation',
      message: `annotation(s) ${deprecated.map((a) => `"${a}"`).join(', ')} use the deprecated metallb.universe.tf/ prefix; use metallb.io/ instead`,
    });
  }

  /** True when `condition` differs from what the Service shows and from what we decided last. */
  private conditionChanged(key: string, condition: ServiceCondition): boolean {
    const last = this.lastCondition.get(key);
    this.lastCondition.set(key, condition);
    return !conditionsEqual(last, condition);
  }

  private condition(svc: ServiceObject, status: 'True' | 'False', reason: string, message: string): ServiceCondition {
    const existing = (svc.status?.conditions ?? []).find((c) => c.type === CONDITION_TYPE);
    const lastTransitionTime =
      existing !== undefined && existing.status === status && existing.lastTransitionTime !== undefined
        ? existing.lastTransitionTime
        : this.now()
            .toISOString()
            .replace(/\.\d{3}Z$/, 'Z');
    const condition: ServiceCondition = { type: CONDITION_TYPE, status, reason, message, lastTransitionTime };
    const generation = svc.metadata?.generation;
    if (typeof generation === 'number') condition.observedGeneration = generation;
    // Seed the event memo from the object after a restart so an unchanged condition is not re-announced.
    const key = serviceKey(svc);
    if (!this.lastCondition.has(key) && existing !== undefined) this.lastCondition.set(key, existing);
    return condition;
  }

  /** The full write when the Service differs from the desired state; undefined when it already matches. */
  private desiredWrite(
    svc: ServiceObject,
    ips: readonly string[],
    pool: string | undefined,
    condition: ServiceCondition | undefined,
  ): ServiceWrite | undefined {
    const key = serviceKey(svc);
    const currentIngress = (svc.status?.loadBalancer?.ingress ?? []).map((e) => e.ip ?? e.hostname ?? '');
    const currentPool = svc.metadata?.annotations?.[ANN_ALLOCATED_FROM_POOL];
    const others = (svc.status?.conditions ?? []).filter((c) => c.type !== CONDITION_TYPE);
    const existing = (svc.status?.conditions ?? []).find((c) => c.type === CONDITION_TYPE);
    const ingressSame = currentIngress.length === ips.length && currentIngress.every((ip, i) => ip === ips[i]);
    const poolSame = (currentPool ?? null) === (pool ?? null);
    const conditionSame = conditionsEqual(existing, condition) && (condition === undefined || existing?.observedGeneration === condition.observedGeneration);
    if (ingressSame && poolSame && conditionSame) {
      this.lastWrite.delete(key);
      return undefined;
    }
    const write: ServiceWrite = {
      ingress: [...ips],
      conditions: condition === undefined ? others : [...others, condition],
      pool: pool ?? null,
    };
    const fingerprint = JSON.stringify({ ips, pool, c: condition === undefined ? null : [condition.status, condition.reason, condition.message] });
    if (this.lastWrite.get(key) === fingerprint) return undefined; // already written; the cache has not caught up
    this.lastWrite.set(key, fingerprint);
    return write;
  }
}
