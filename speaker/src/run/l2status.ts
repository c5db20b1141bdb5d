// ServiceL2Status (metallb.io/v1beta1) writer: the announcing speaker keeps one object per Service it
// answers for, in MetalLB's shape (api/v1beta1/servicel2status_types.go) and with MetalLB's labels
// (internal/k8s/controllers/values.go), so `kubectl get servicel2statuses` answers "which node?"
// exactly as on MetalLB.
//
// The write is never on the announcement's critical path: SpeakerCore announces (the gratuitous ARP
// leaves synchronously inside announcer.announce()), then tells this writer, which only marks the
// Service dirty and writes later, off the event loop turn, with a few writes in flight at once.
//
// The plan (planL2Status) is pure; the writer executes it against an injected API and a cache (the
// informer on servicel2statuses), remembering the object it created per Service so that a second
// reconcile before the watch delivers the new object never creates a duplicate.
import type { KubeObject } from '@l2lb/shared/kube/types';
import { errorText, type Logger } from '@l2lb/shared/log';

export const LABEL_NODE = 'metallb.io/node';
export const LABEL_SERVICE_NAME = 'metallb.io/service-name';
export const LABEL_SERVICE_NAMESPACE = 'metallb.io/service-namespace';
/** MetalLB's generateName for ServiceL2Status objects. */
export const GENERATE_NAME = 'l2-';

/** MetalLB's MetalLBServiceL2Status. `interfaces` only when the L2Advertisement names interfaces. */
export interface L2StatusBody {
  node: string;
  serviceName: string;
  serviceNamespace: string;
  interfaces?: { name: string }[];
}

/** One ServiceL2Status object as the cache holds it. */
export interface L2StatusObject {
  readonly name: string;
  readonly node: string | undefined;
  /** `namespace/name` of the Service from the labels; undefined when the labels are incomplete. */
  readonly service: string | undefined;
  readonly status: unknown;
}

export function readL2Status(obj: KubeObject): L2StatusObject | undefined {
  const name = obj.metadata?.name;
  if (typeof name !== 'string') return undefined;
  const labels = obj.metadata?.labels ?? {};
  const svcName = labels[LABEL_SERVICE_NAME];
  const svcNs = labels[LABEL_SERVICE_NAMESPACE];
  return {
    name,
    node: labels[LABEL_NODE],
    service: svcName !== undefined && svcNs !== undefined ? `${svcNs}/${svcName}` : undefined,
    status: (obj as { status?: unknown }).status,
  };
}

export function desiredStatus(node: string, serviceKey: string, interfaces: readonly string[]): L2StatusBody {
  const [ns, name] = splitKey(serviceKey);
  return {
    node,
    serviceName: name,
    serviceNamespace: ns,
    ...(interfaces.length > 0 ? { interfaces: [...interfaces].sort().map((n) => ({ name: n })) } : {}),
  };
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

export type L2StatusAction =
  | { readonly op: 'create'; readonly service: string; readonly status: L2StatusBody }
  | { readonly op: 'patchStatus'; readonly service: string; readonly name: string; readonly status: L2StatusBody }
  | { readonly op: 'delete'; readonly service: string; readonly name: string; readonly why: string };

export interface L2StatusPlanInput {
  readonly node: string;
  readonly service: string;
  /** The interfaces this node announces the Service on ([] = all); undefined: not announced here. */
  readonly announced: readonly string[] | undefined;
  /** The Service still exists (in this speaker's view). */
  readonly serviceExists: boolean;
  /** The object this writer created or adopted for the Service, if any. */
  readonly own: { readonly name: string; readonly status: unknown } | undefined;
  /** Every cached object whose labels name the Service. */
  readonly cached: readonly L2StatusObject[];
}

/**
 * What to do for one Service. Announced here: exactly one object of ours with the current status,
 * every other object for the Service deleted (a dead node cannot delete its own: the new owner does,
 * as MetalLB's speaker does). Not announced here: delete ours; if the Service is gone, delete every
 * object for it (its last owner may be dead, and nothing else would ever delete it).
 */
export function planL2Status(i: L2StatusPlanInput): L2StatusAction[] {
  const out: L2StatusAction[] = [];
  const ownName = i.own?.name;
  if (i.announced !== undefined) {
    const want = desiredStatus(i.node, i.service, i.announced);
    if (ownName === undefined) out.push({ op: 'create', service: i.service, status: want });
    else if (!sameStatus(i.own?.status, want)) out.push({ op: 'patchStatus', service: i.service, name: ownName, status: want });
    for (const o of i.cached) {
      if (o.name === ownName) continue;
      out.push({
        op: 'delete',
        service: i.service,
        name: o.name,
        why: o.node === i.node ? "a duplicate of this node's own" : `node ${o.node ?? '(unlabelled)'} no longer announces it`,
      });
    }
    return out;
  }
  for (const o of i.cached) {
    if (o.name === ownName || o.node === i.node) out.push({ op: 'delete', service: i.service, name: o.name, why: 'this node no longer announces the Service' });
    else if (!i.serviceExists) out.push({ op: 'delete', service: i.service, name: o.name, why: 'the Service no longer exists' });
  }
  if (ownName !== undefined && !i.cached.some((o) => o.name === ownName))
    out.push({ op: 'delete', service: i.service, name: ownName, why: 'this node no longer announces the Service' });
  return out;
}

function sameStatus(a: unknown, b: L2StatusBody): boolean {
  if (typeof a !== 'object' || a === null) return false;
  const s = a as Record<string, unknown>;
  const ifs = Array.isArray(s['interfaces']) ? (s['interfaces'] as { name?: unknown }[]).map((x) => x.name) : [];
  const want = (b.interfaces ?? []).map((x) => x.name);
  return (
    s['node'] === b.node &&
    s['serviceName'] === b.serviceName &&
    s['serviceNamespace'] === b.serviceNamespace &&
    ifs.length === want.length &&
    ifs.every((x, k) => x === want[k])
  );
}

/** The API calls the writer makes (KubeClient in the process, fakes in tests). */
export interface L2StatusApi {
  /** Creates the object (status is dropped by the status subresource); returns its server-chosen name. */
  create(labels: Record<string, string>): Promise<string>;
  patchStatus(name: string, status: L2StatusBody): Promise<void>;
  /** Deletes; a 404 resolves. */
  delete(name: string): Promise<void>;
}

export interface L2StatusWriterOptions {
  readonly node: string;
  readonly api: L2StatusApi;
  /** Every cached ServiceL2Status object in the speaker's namespace. */
  readonly cache: () => readonly KubeObject[];
  /**
   * The cached objects of one Service (an index kept beside the cache). Without it each write scans the
   * whole cache: quadratic in announced Services (1.7 s of CPU in 38 s of the busy-speaker profile).
   */
  readonly cacheOf?: (serviceKey: string) => readonly KubeObject[];
  readonly serviceExists: (key: string) => boolean;
  /** Current announcement of a Service by this node (interfaces, [] = all), undefined when not announced. */
  readonly announced: (key: string) => readonly string[] | undefined;
  /**
   * The core has decided the Service (active, and not waiting in a deferred pass). Until then "not
   * announced" means "not yet": a restarted speaker would delete the object it is about to adopt.
   */
  readonly decided: (key: string) => boolean;
  /** The writer never logs at error level: a failed write is retried, so it is a warning. */
  readonly logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** How work is scheduled after the caller's turn (default setImmediate). */
  readonly defer?: (fn: () => void) => void;
  readonly retryMs?: number;
  readonly setTimer?: (fn: () => void, ms: number) => void;
  /** Services written concurrently (default 8). */
  readonly concurrency?: number;
  readonly onWrite?: (op: L2StatusAction['op'], ok: boolean) => void;
}

/** How often Services the core has not decided yet are looked at again. */
const UNDECIDED_RECHECK_MS = 100;

export class L2StatusWriter {
  private readonly own = new Map<string, { name: string; status: unknown }>();
  private readonly dirty = new Set<string>();
  private readonly busy = new Set<string>();
  private scheduled = false;
  private enabled = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private retryPending = false;

  constructor(private readonly options: L2StatusWriterOptions) {}

  /**
   * The cache is synced: adopts this node's objects from before a restart (one per Service, the
   * rest are duplicates the next pass deletes) and starts writing.
   */
  enable(): void {
    if (this.enabled || this.stopped) return;
    this.enabled = true;
    for (const obj of this.options.cache()) {
      const s = readL2Status(obj);
      if (s?.service === undefined || s.node !== this.options.node || this.own.has(s.service)) continue;
      this.own.set(s.service, { name: s.name, status: s.status });
    }
    this.schedule();
  }

  /** The Service's announcement by this node changed (or it may have): write soon, never now. */
  changed(key: string): void {
    if (this.stopped) return;
    this.dirty.add(key);
    this.schedule();
  }

  /** Something changed a cached object: re-check its Service. */
  cacheChanged(obj: KubeObject): void {
    const s = readL2Status(obj);
    if (s?.service !== undefined) this.changed(s.service);
  }

  /** A cached object was deleted: if it was ours (someone deleted it), the next write creates it again. */
  cacheDeleted(obj: KubeObject): void {
    const s = readL2Status(obj);
    if (s?.service === undefined) return;
    if (this.own.get(s.service)?.name === s.name) this.own.delete(s.service);
    this.changed(s.service);
  }

  /** Re-checks every Service this node announces, owns an object for, or that has an object in the cache. */
  resyncAll(announcedKeys: Iterable<string>): void {
    for (const k of announcedKeys) this.dirty.add(k);
    for (const k of this.own.keys()) this.dirty.add(k);
    for (const obj of this.options.cache()) {
      const s = readL2Status(obj);
      if (s?.service !== undefined) this.dirty.add(s.service);
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.dirty.clear();
  }

  /** Resolves once nothing is dirty or in flight (tests). */
  idle(): Promise<void> {
    if (this.dirty.size === 0 && this.busy.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** The object this node keeps for a Service (diagnostics, tests). */
  ownName(key: string): string | undefined {
    return this.own.get(key)?.name;
  }

  private schedule(): void {
    if (!this.enabled || this.scheduled || this.stopped) return;
    this.scheduled = true;
    (this.options.defer ?? setImmediate)(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 8;
    let undecided = false;
    for (const key of this.dirty) {
      if (this.busy.size >= limit) break;
      if (this.busy.has(key)) continue; // re-run after the write in flight
      if (!this.options.decided(key)) {
        undecided = true;
        continue;
      }
      this.dirty.delete(key);
      this.busy.add(key);
      void this.write(key).finally(() => {
        this.busy.delete(key);
        if (this.dirty.size > 0) this.schedule();
        else if (this.busy.size === 0) for (const r of this.idleWaiters.splice(0)) r();
      });
    }
    if (undecided && !this.retryPending) {
      this.retryPending = true;
      this.timer(() => {
        this.retryPending = false;
        this.schedule();
      }, UNDECIDED_RECHECK_MS);
    }
  }

  private timer(fn: () => void, ms: number): void {
    (this.options.setTimer ?? ((f, t) => setTimeout(f, t).unref()))(fn, ms);
  }

  private async write(key: string): Promise<void> {
    const cached = (this.options.cacheOf?.(key) ?? this.options.cache()).map(readL2Status).filter((s): s is L2StatusObject => s?.service === key);
    const actions = planL2Status({
      node: this.options.node,
      service: key,
      announced: this.options.announced(key),
      serviceExists: this.options.serviceExists(key),
      own: this.own.get(key),
      cached,
    });
    try {
      for (const a of actions) await this.apply(a);
    } catch (e) {
      if (this.stopped) return;
      this.options.logger?.warn(`writing the ServiceL2Status of ${key} failed, retrying: ${errorText(e)}`, { service: key });
      this.timer(() => this.changed(key), this.options.retryMs ?? 1000);
    }
  }

  private async apply(a: L2StatusAction): Promise<void> {
    if (this.stopped) return;
    const report = (ok: boolean): void => this.options.onWrite?.(a.op, ok);
    try {
      if (a.op === 'create') {
        const name = await this.options.api.create({
          [LABEL_NODE]: this.options.node,
          [LABEL_SERVICE_NAME]: a.status.serviceName,
          [LABEL_SERVICE_NAMESPACE]: a.status.serviceNamespace,
        });
        this.own.set(a.service, { name, status: undefined });
        await this.options.api.patchStatus(name, a.status);
        this.own.set(a.service, { name, status: a.status });
        // info: the lab and the failover test time the takeover → status delay from this line.
        this.options.logger?.info('ServiceL2Status written', { service: a.service, name, node: this.options.node });
      } else if (a.op === 'patchStatus') {
        await this.options.api.patchStatus(a.name, a.status);
        this.own.set(a.service, { name: a.name, status: a.status });
        this.options.logger?.info('ServiceL2Status written', { service: a.service, name: a.name, node: this.options.node });
      } else {
        await this.options.api.delete(a.name);
        if (this.own.get(a.service)?.name === a.name) this.own.delete(a.service);
        this.options.logger?.debug('ServiceL2Status deleted', { service: a.service, name: a.name, why: a.why });
      }
      report(true);
    } catch (e) {
      report(false);
      // Ours was deleted by someone else between the cache read and the patch: create it again.
      if (a.op === 'patchStatus' && isNotFound(e)) this.own.delete(a.service);
      throw e;
    }
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 404;
}
