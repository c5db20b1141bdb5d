// The controller process core: informers in, reconciler decisions, writes out.
// Services are reconciled one decision at a time (the allocator is synchronous); the resulting
// writes run concurrently, at most one per Service.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'winston';
import { isApiError, type KubeClient } from '@l2lb/shared/kube/client';
import { EventRecorder, type EventTarget } from '@l2lb/shared/kube/events';
import { Informer } from '@l2lb/shared/kube/informer';
import { CONFIGMAP_NAME, ConfigSource, DEFAULT_CRD_RECHECK_MS, kubeConfigSourceDeps } from '@l2lb/shared/kube/config-source';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { processConfigurationStateWriter, type ConfigurationStateWriter } from '@l2lb/shared/kube/configuration-state';
import { warningTargets, type ConfigEventTarget } from '@l2lb/shared';
import { errorText } from '@l2lb/shared/log';
import { controllerMetrics, type ControllerMetrics } from './metrics.js';
import { Reconciler, type ServiceWrite } from './reconciler.js';
import { PoolStatusWriter, type PoolStatus } from './pool-status.js';
import { ANN_ALLOCATED_FROM_POOL, readServiceObject, serviceKey, statusIPs, type ServiceObject } from './service.js';

export const CONTROLLER_NAME = 'l2lb.io/controller';
export { CONFIGMAP_NAME, DEFAULT_CRD_RECHECK_MS };
export const MEMBERLIST_SECRET = 'memberlist';

export interface ControllerOptions {
  readonly client: KubeClient;
  /** Where the ConfigMap `config`, the metallb.io CRs and the Secret `memberlist` live. */
  readonly namespace: string;
  readonly lbClass?: string;
  readonly logger: Logger;
  readonly metrics?: ControllerMetrics;
  /** reportingInstance of events (pod name). */
  readonly instance?: string;
  /** Concurrent Service writes (default 8). */
  readonly writeConcurrency?: number;
  /** Create the memberlist Secret when absent (default true). */
  readonly createMemberlistSecret?: boolean;
  /**
   * While the metallb.io CRDs are not served, how often discovery is asked again (default 30 s): CRDs installed
   * after the controller started are picked up without a restart.
   */
  readonly crdRecheckIntervalMs?: number;
}

/** A watched cache of one kind of Kubernetes object (Services, Namespaces). */
type KubeObjectInformer = Informer<KubeObject>;

export class Controller {
  readonly metrics: ControllerMetrics;
  private readonly reconciler: Reconciler;
  /** The pool ConfigMap, the metallb.io CRs and their discovery; validated snapshots out. */
  readonly configSource: ConfigSource;
  /** ConfigurationState `controller`: Valid/Invalid and the error summary, written off the reconcile path. */
  readonly configurationState: ConfigurationStateWriter;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private readonly services: KubeObjectInformer;
  private readonly namespaces: KubeObjectInformer;
  private readonly queue = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly pending = new Set<string>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly retryAttempts = new Map<string, number>();
  private readonly background = new Set<Promise<unknown>>();
  private configDirty = false;
  private invalidTargets: readonly ConfigEventTarget[] = [];
  private noConfigurationReason: string | undefined;
  private loaded = false;
  private stopping = false;
  private pumping = false;
  private idleWaiters: (() => void)[] = [];
  readonly poolStatus: PoolStatusWriter;

  constructor(private readonly opts: ControllerOptions) {
    this.log = opts.logger;
    this.metrics = opts.metrics ?? controllerMetrics();
    this.reconciler = new Reconciler({ lbClass: opts.lbClass ?? '' });
    const kubeLog = opts.logger.child({ component: 'kube' });
    const common = { logger: kubeLog, registry: this.metrics.registry };
    this.events = new EventRecorder(opts.client, { controller: CONTROLLER_NAME, instance: opts.instance ?? 'l2lb-controller', logger: kubeLog });
    this.services = new Informer(opts.client, { resource: Resources.services, name: 'services', ...common });
    this.namespaces = new Informer(opts.client, { resource: Resources.namespaces, name: 'namespaces', ...common });
    this.configSource = new ConfigSource({
      namespace: opts.namespace,
      logger: this.log,
      crdRecheckMs: opts.crdRecheckIntervalMs ?? DEFAULT_CRD_RECHECK_MS,
      ...kubeConfigSourceDeps(opts.client, kubeLog, this.metrics.registry),
    });
    this.configurationState = processConfigurationStateWriter({
      client: opts.client,
      namespace: opts.namespace,
      component: 'controller',
      logger: kubeLog,
      registry: this.metrics.registry,
    });
    this.configSource
      .onChange(() => this.configChanged())
      .onPoolObject((pool) => this.poolStatus.objectChanged(pool))
      .onVerdict((verdict) => this.configurationState.report(verdict));
    this.poolStatus = new PoolStatusWriter({
      patch: (pool, status) => this.patchPoolStatus(pool, status),
      current: (pool) => {
        const object = this.configSource.object('IPAddressPool', pool);
        return object ? { status: (object as { status?: unknown }).status } : undefined;
      },
      onError: (pool, e) => this.log.warn(`writing the status of IPAddressPool ${opts.namespace}/${pool} failed: ${errorText(e)}`),
    });
  }

  /** Merge patch of the status subresource; a CRD without one (older manifests) takes it on the object. */
  private async patchPoolStatus(pool: string, status: PoolStatus): Promise<void> {
    const { client, namespace } = this.opts;
    try {
      await client.patch(Resources.ipAddressPools, namespace, pool, { status }, 'merge', 'status');
    } catch (e) {
      if (!isApiError(e, 404) || this.configSource.object('IPAddressPool', pool) === undefined) throw e;
      await client.patch(Resources.ipAddressPools, namespace, pool, { status }, 'merge');
    }
  }

  /** The allocator's counts changed: metrics now, pool status coalesced. */
  private poolsChanged(): void {
    const stats = this.reconciler.allocator.stats();
    this.metrics.setPools(stats);
    this.poolStatus.update(stats);
  }

  /** Ready once every informer has synced and the first full pass has been scheduled. */
  get ready(): boolean {
    return this.loaded;
  }

  async start(): Promise<void> {
    const { namespace } = this.opts;
    await this.configSource.start();
    if (this.stopping) return;
    this.services.on('add', (o) => this.enqueue(serviceKey(o as ServiceObject)));
    this.services.on('update', (o) => this.enqueue(serviceKey(o as ServiceObject)));
    this.services.on('delete', (o) => this.enqueue(serviceKey(o as ServiceObject)));
    this.namespaces.on('update', (o, old) => {
      if (JSON.stringify(o.metadata?.labels ?? {}) === JSON.stringify(old.metadata?.labels ?? {})) return;
      for (const s of this.services.list(o.metadata?.name ?? '')) this.enqueue(serviceKey(s as ServiceObject));
    });
    const informers = [this.services, this.namespaces];
    for (const inf of informers) inf.start();
    if (this.opts.createMemberlistSecret ?? true) this.track(this.ensureMemberlistSecret());
    await Promise.all([...informers.map((i) => i.waitForSync()), this.configSource.waitForSync()]);
    if (this.stopping) return;
    this.log.info('informers synced', { services: this.services.size, namespace });
    // Initial pass: configuration first, then every Service, those that already have IPs first.
    this.queue.clear();
    this.applyConfig();
    this.loaded = true;
    this.configurationState.start();
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.poolStatus.stop();
    const configurationState = this.configurationState.stop();
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    await Promise.all([this.services.stop(), this.namespaces.stop(), this.configSource.stop()]);
    await Promise.allSettled([...this.background, this.configSource.settled(), configurationState]);
  }

  /** Resolves when no work is queued or in flight (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.queue.size === 0 && this.inFlight.size === 0 && !this.configDirty;
  }

  /** True once the CR informers exist (they are created when discovery shows the metallb.io kinds). */
  get watchingCrds(): boolean {
    return this.configSource.watchingCrds;
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  private configChanged(): void {
    this.configDirty = true;
    if (this.loaded) this.pump();
  }

  private enqueue(key: string): void {
    if (this.stopping) return;
    this.queue.add(key);
    if (this.loaded) this.pump();
  }

  /** Every Service, those with IPs in status first (so restarts never move anyone). */
  private enqueueAll(): void {
    const all = this.services.list() as ServiceObject[];
    all.sort((a, b) => statusIPs(b).length - statusIPs(a).length);
    for (const s of all) this.queue.add(serviceKey(s));
  }

  private retryPending(except: string): void {
    for (const key of this.pending) if (key !== except) this.queue.add(key);
  }

  private applyConfig(): void {
    this.configDirty = false;
    const update = this.configSource.evaluate();
    if (update.kind === 'unchanged') {
      // Same (empty) configuration from other inputs, e.g. the ConfigMap came back with no pool: say why anew.
      if (this.noConfigurationReason !== undefined) this.noConfiguration(this.configSource.config?.warnings ?? [], false);
      return;
    }
    if (update.kind === 'invalid') {
      this.metrics.setConfigState(this.reconciler.configLoaded, true);
      if (update.repeated) return;
      this.log.error(`invalid configuration, keeping the last valid one: ${update.message}`, { stale: true });
      this.invalidTargets = update.targets;
      for (const target of update.targets) this.configEvent(target, 'Warning', 'InvalidConfiguration', target.message);
      return;
    }
    const change = this.reconciler.setConfig(update.config);
    // Accepted as MetalLB accepts it, but said where an operator looks: once per configuration, on the object.
    for (const target of warningTargets(update.config)) this.configEvent(target, 'Warning', 'ConfigurationWarning', target.message);
    if (!this.reconciler.configLoaded) {
      this.noConfiguration(update.config.warnings, update.recovered);
      this.enqueueAll();
      return;
    }
    this.noConfigurationReason = undefined;
    this.metrics.setConfigState(true, false);
    this.poolsChanged();
    this.log.info(update.recovered ? 'configuration valid again, applied' : 'configuration loaded', {
      pools: update.config.pools.map((p) => `${p.name}(${p.cidrs.map((c) => c.toString()).join(',')})`),
      released: change.released.length,
      warnings: update.config.warnings,
    });
    for (const w of update.config.warnings) this.log.warn(`configuration: ${w}`);
    if (update.recovered) {
      // Tell the objects that were blamed (a CR deleted meanwhile gets an Event nobody sees: harmless).
      for (const target of this.invalidTargets) this.configEvent(target, 'Normal', 'ConfigurationLoaded', 'the configuration is valid again and in force');
      this.invalidTargets = [];
    }
    this.enqueueAll();
  }

  /**
   * No ConfigMap and no IPAddressPool (deleted, not created yet, CRDs not served), or a configuration without a
   * pool: the reconciler allocates nothing and changes nothing, every assignment stays. Said once per change
   * in a log line, a Warning Event on the ConfigMap (where `kubectl -n NS get events` shows it), the
   * config_loaded gauge (0) and the /readyz text.
   */
  private noConfiguration(warnings: readonly string[], recovered: boolean): void {
    const ns = this.opts.namespace;
    const reason = `no configuration: ${this.configSource.missingReason()}; allocating nothing and keeping every Service's IP, status and pool annotation as they are`;
    this.metrics.setConfigState(false, false);
    if (recovered) {
      for (const target of this.invalidTargets)
        this.configEvent(target, 'Normal', 'ConfigurationLoaded', 'the configuration is valid again (it defines no address pool)');
      this.invalidTargets = [];
    }
    if (reason === this.noConfigurationReason) return;
    this.noConfigurationReason = reason;
    this.log.warn(reason, { namespace: ns, warnings });
    this.configEvent({ kind: 'ConfigMap', name: undefined, message: reason }, 'Warning', 'NoConfiguration', reason);
  }

  /** Set while there is no configuration (see noConfiguration); /readyz shows it. */
  get status(): string {
    if (!this.loaded) return 'informers not synced yet';
    return this.noConfigurationReason ?? (this.configSource.stale ? 'ok: the newest configuration is invalid, the last valid one is in force' : 'ok');
  }

  private configEvent(target: ConfigEventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const ns = this.opts.namespace;
    const obj = this.configSource.object(target.kind, target.name);
    let ref: EventTarget =
      target.kind === 'ConfigMap'
        ? { kind: 'ConfigMap', apiVersion: 'v1', namespace: ns, name: CONFIGMAP_NAME }
        : { kind: target.kind, apiVersion: 'metallb.io/v1beta1', namespace: ns, name: target.name ?? '' };
    if (obj?.metadata?.uid !== undefined) ref = { ...ref, uid: obj.metadata.uid };
    this.track(this.events.record(ref, type, reason, message));
  }

  private pump(): void {
    if (this.pumping || this.stopping || !this.loaded) return;
    this.pumping = true;
    try {
      const limit = this.opts.writeConcurrency ?? 8;
      for (;;) {
        if (this.configDirty) this.applyConfig();
        if (this.inFlight.size >= limit) break;
        let next: string | undefined;
        for (const key of this.queue) {
          if (!this.inFlight.has(key)) {
            next = key;
            break;
          }
        }
        if (next === undefined) break;
        this.queue.delete(next);
        this.process(next);
      }
    } finally {
      this.pumping = false;
    }
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Decides synchronously; writes asynchronously (the key stays in flight until written). */
  private process(key: string): void {
    const started = process.hrtime.bigint();
    this.metrics.updates.inc();
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const svc = this.services.get(name, namespace) as ServiceObject | undefined;
    if (svc === undefined) {
      this.pending.delete(key);
      if (this.reconciler.deleted(key).freed) {
        this.log.info('service deleted, addresses released', { service: key });
        this.retryPending(key);
        this.poolsChanged();
      }
      this.metrics.pending.set(this.pending.size);
      return;
    }
    const nsLabels = this.namespaces.get(namespace)?.metadata?.labels ?? {};
    const problems = readServiceObject(svc)?.problems ?? [];
    if (problems.length > 0) this.log.warn('service fields of the wrong type are ignored', { service: key, problems });
    const outcome = this.reconciler.reconcile(svc, nsLabels);
    if (outcome.pending) this.pending.add(key);
    else this.pending.delete(key);
    this.metrics.pending.set(this.pending.size);
    if (outcome.freed) this.retryPending(key);
    if (outcome.failure !== undefined && outcome.events.some((e) => e.reason === 'AllocationFailed')) {
      this.metrics.failures.inc({ reason: outcome.failure.reason });
      this.log.warn(`cannot allocate an IP for ${key}: ${outcome.failure.message}`, { service: key, reason: outcome.failure.reason });
    }
    if (outcome.events.some((e) => e.reason === 'IPAllocated') && outcome.allocation !== undefined) {
      this.metrics.allocations.inc({ pool: outcome.allocation.pool });
      this.log.info(`assigned ${outcome.allocation.ips.join(', ')} to ${key}`, { service: key, pool: outcome.allocation.pool });
    }
    if (outcome.write !== undefined || outcome.freed || outcome.allocation !== undefined) this.poolsChanged();
    const target: EventTarget = { kind: 'Service', apiVersion: 'v1', namespace, name, ...(svc.metadata?.uid ? { uid: svc.metadata.uid } : {}) };
    for (const e of outcome.events) this.track(this.events.record(target, e.type, e.reason, e.message));
    if (outcome.write === undefined) {
      this.metrics.reconcileDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      return;
    }
    this.inFlight.add(key);
    const write = this.write(namespace, name, outcome.write)
      .then(() => {
        this.metrics.writes.inc({ result: 'ok' });
        this.retryAttempts.delete(key);
      })
      .catch((e: unknown) => {
        this.metrics.writes.inc({ result: 'error' });
        this.metrics.updateErrors.inc();
        this.reconciler.writeFailed(key);
        if (isApiError(e, 404)) return; // deleted meanwhile: the delete event follows
        this.scheduleRetry(key, e);
      })
      .finally(() => {
        this.inFlight.delete(key);
        this.metrics.reconcileDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
        this.pump();
      });
    this.track(write);
  }

  private scheduleRetry(key: string, error: unknown): void {
    if (this.stopping) return;
    const attempt = (this.retryAttempts.get(key) ?? 0) + 1;
    this.retryAttempts.set(key, attempt);
    const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt - 1, 7));
    this.log.warn(`writing the status of ${key} failed, retrying in ${delay} ms: ${errorText(error)}`, { service: key });
    clearTimeout(this.retryTimers.get(key));
    this.retryTimers.set(
      key,
      setTimeout(() => {
        this.retryTimers.delete(key);
        this.enqueue(key);
      }, delay),
    );
  }

  /** One merge patch on /status carrying the ingress, the conditions and the pool annotation. */
  private async write(namespace: string, name: string, w: ServiceWrite): Promise<void> {
    const body = {
      metadata: { annotations: { [ANN_ALLOCATED_FROM_POOL]: w.pool } },
      status: {
        loadBalancer: w.ingress.length > 0 ? { ingress: w.ingress.map((ip) => ({ ip })) } : { ingress: null },
        conditions: w.conditions.length > 0 ? w.conditions : null,
      },
    };
    const stored = await this.opts.client.patch<KubeObject>(Resources.services, namespace, name, body, 'merge', 'status');
    const annotation = stored.metadata?.annotations?.[ANN_ALLOCATED_FROM_POOL] ?? null;
    if (annotation !== w.pool) {
      // A server whose status strategy drops metadata changes: set the annotation on the main resource.
      await this.opts.client.patch(Resources.services, namespace, name, { metadata: { annotations: { [ANN_ALLOCATED_FROM_POOL]: w.pool } } }, 'merge');
    }
  }

  /** MetalLB-compatible gossip key: Secret `memberlist`, key `secretkey`, 16 random bytes as unpadded base64. */
  private async ensureMemberlistSecret(): Promise<void> {
    const { client, namespace } = this.opts;
    for (let attempt = 1; !this.stopping; attempt += 1) {
      try {
        await client.get(Resources.secrets, namespace, MEMBERLIST_SECRET);
        return;
      } catch (e) {
        if (!isApiError(e, 404)) {
          this.log.warn(`cannot read Secret ${namespace}/${MEMBERLIST_SECRET}, retrying: ${errorText(e)}`);
          await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * attempt)));
          continue;
        }
      }
      const key = randomBytes(16).toString('base64').replace(/=+$/, '');
      try {
        await client.create(Resources.secrets, namespace, {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { name: MEMBERLIST_SECRET, namespace, labels: { 'app.kubernetes.io/managed-by': 'l2lb-controller' } },
          data: { secretkey: Buffer.from(key, 'utf8').toString('base64') },
        });
        this.log.info(`created Secret ${namespace}/${MEMBERLIST_SECRET} (memberlist gossip key)`);
        return;
      } catch (e) {
        if (isApiError(e, 409)) return;
        this.log.warn(`cannot create Secret ${namespace}/${MEMBERLIST_SECRET}, retrying: ${errorText(e)}`);
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * attempt)));
      }
    }
  }
}
