// The configuration source of the controller and the speaker, written once: the pool ConfigMap informer,
// discovery of the metallb.io CRDs (re-checked while they are not served, so CRDs installed later are
// picked up without a restart), the IPAddressPool / L2Advertisement informers, and any further
// ConfigMaps a component reads (the speaker's metallb-excludel2). It turns them into validated
// snapshots: a new valid configuration, "invalid, the last valid one stays", or "no configuration"
// (no ConfigMap and no CR, CRDs not served, or no pool), and one state per component for
// ConfigurationState. Informers, discovery and timers are injected, so every rule runs with fakes.
import type { Registry } from 'prom-client';
import { ConfigState, type ConfigEventTarget, type ConfigUpdate } from '../config/state.js';
import type { Config } from '../config/types.js';
import { errorText, type Logger } from '../log.js';
import { Resources, type KubeObject, type ResourceRef } from './types.js';
import { Informer } from './informer.js';
import type { KubeClient } from './client.js';

/** The pool ConfigMap's name (MetalLB's `config`), in the component's namespace, data key `config`. */
export const CONFIGMAP_NAME = 'config';
/** While the metallb.io CRDs are not served, discovery is asked again this often. */
export const DEFAULT_CRD_RECHECK_MS = 30_000;
const DISCOVERY_RETRY_MS = 1000;

/** What the source needs of an informer (Informer fits; tests pass fakes). */
export interface ObjectCache {
  on(event: 'add' | 'update' | 'delete', handler: (obj: KubeObject) => void): unknown;
  get(name: string, namespace?: string): KubeObject | undefined;
  list(): KubeObject[];
  readonly size: number;
  readonly synced: boolean;
  start(): unknown;
  waitForSync(): Promise<void>;
  stop(): Promise<void>;
}

export interface ObjectCacheSpec {
  readonly resource: ResourceRef;
  readonly namespace: string;
  /** Name in logs and metrics. */
  readonly name: string;
  readonly fieldSelector?: string;
}

export interface SourceTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ConfigSourceOptions {
  /** Where the ConfigMaps and the metallb.io CRs live. */
  readonly namespace: string;
  /** Both metallb.io kinds served? Throws when the API server cannot be asked. */
  readonly servesCrds: () => Promise<boolean>;
  readonly createCache: (spec: ObjectCacheSpec) => ObjectCache;
  readonly logger: Logger;
  /** Default DEFAULT_CRD_RECHECK_MS. */
  readonly crdRecheckMs?: number;
  readonly timers?: SourceTimers;
}

/** A ConfigMap read alongside the pool configuration; parse says whether its content is usable. */
export type ParsedConfigMap<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export type ConfigMapReading<T> =
  | { readonly kind: 'valid'; readonly value: T }
  /** Refused: the last valid value (if any) stays in force; repeated: the same error as last time. */
  | { readonly kind: 'invalid'; readonly error: string; readonly repeated: boolean; readonly object: KubeObject | undefined };

/** How the configuration stands, for ConfigurationState: MetalLB's Valid/Invalid and the error summary. */
export interface ConfigurationVerdict {
  readonly result: 'Valid' | 'Invalid';
  /** Every refused source's error, one per line; '' when valid. */
  readonly errorSummary: string;
  /** Set while there is no configuration (valid, but nothing to allocate or announce). */
  readonly noConfiguration?: string;
}

/** One evaluation of the inputs: the state update, and what the configuration in force is now. */
export type ConfigSnapshot = ConfigUpdate & {
  /** Set when the newest valid configuration has no pool: why (no ConfigMap and no CR, or none defines a pool). */
  readonly noPool?: string;
};

interface ExtraConfigMap {
  readonly name: string;
  readonly cache: ObjectCache;
  readonly read: () => void;
  error: string | undefined;
}

/** Node's timers, unref'd so a pending retry never keeps the process alive. */
export const realTimers: SourceTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Informers on a real API server; discovery through client.serves(). */
export function kubeConfigSourceDeps(client: KubeClient, informerLog: Logger, registry?: Registry): Pick<ConfigSourceOptions, 'servesCrds' | 'createCache'> {
  return {
    servesCrds: async () => {
      const [pools, ads] = await Promise.all([client.serves(Resources.ipAddressPools), client.serves(Resources.l2Advertisements)]);
      return pools && ads; // one group/version: a half-installed set is not watched
    },
    createCache: (spec) =>
      new Informer(client, {
        resource: spec.resource,
        namespace: spec.namespace,
        name: spec.name,
        logger: informerLog,
        ...(spec.fieldSelector !== undefined ? { fieldSelector: spec.fieldSelector } : {}),
        ...(registry !== undefined ? { registry } : {}),
      }),
  };
}

export class ConfigSource {
  private readonly state = new ConfigState();
  private readonly timers: SourceTimers;
  private readonly configMap: ObjectCache;
  private readonly extras: ExtraConfigMap[] = [];
  private pools: ObjectCache | undefined;
  private ads: ObjectCache | undefined;
  /** Both CR informers synced: their objects are part of the configuration (never a half-listed set). */
  private crsSynced = false;
  private started = false;
  private stopping = false;
  private recheckTimer: unknown;
  private readonly changeListeners: (() => void)[] = [];
  private readonly poolListeners: ((pool: string) => void)[] = [];
  private readonly verdictListeners: ((verdict: ConfigurationVerdict) => void)[] = [];
  private lastVerdict: string | undefined;
  private noPool: string | undefined;
  private readonly pendingDiscovery = new Set<Promise<unknown>>();

  constructor(private readonly options: ConfigSourceOptions) {
    this.timers = options.timers ?? realTimers;
    this.configMap = options.createCache({
      resource: Resources.configMaps,
      namespace: options.namespace,
      name: 'configmap',
      fieldSelector: `metadata.name=${CONFIGMAP_NAME}`,
    });
    this.onEvents(this.configMap, () => this.changed());
  }

  /** How messages name the pool ConfigMap, e.g. `ConfigMap l2lb-system/config`. */
  get configMapObject(): string {
    return `ConfigMap ${this.options.namespace}/${CONFIGMAP_NAME}`;
  }

  get crdRecheckMs(): number {
    return this.options.crdRecheckMs ?? DEFAULT_CRD_RECHECK_MS;
  }

  /** The CR informers exist (discovery showed the metallb.io kinds). */
  get watchingCrds(): boolean {
    return this.pools !== undefined;
  }

  get crdsSynced(): boolean {
    return this.crsSynced;
  }

  /** Every informer of the source has synced. */
  get synced(): boolean {
    return this.caches().every((c) => c.synced);
  }

  /** The last valid configuration (perhaps without a pool). */
  get config(): Config | undefined {
    return this.state.config;
  }

  /** The newest inputs are invalid; the last valid configuration stays in force. */
  get stale(): boolean {
    return this.state.stale;
  }

  /** Inputs changed (the pool ConfigMap; a CR once the CR informers synced; the CRDs appeared and synced). */
  onChange(listener: () => void): this {
    this.changeListeners.push(listener);
    return this;
  }

  /** An IPAddressPool object was added or updated (its status may need writing). */
  onPoolObject(listener: (pool: string) => void): this {
    this.poolListeners.push(listener);
    return this;
  }

  /** The verdict (valid/invalid, error summary) changed; called after evaluate() or a further ConfigMap's change. */
  onVerdict(listener: (verdict: ConfigurationVerdict) => void): this {
    this.verdictListeners.push(listener);
    return this;
  }

  /**
   * A further ConfigMap in the namespace, read through parse. An invalid one is refused (the caller keeps its
   * last valid value) and counts in the verdict until a valid one comes. Register before start().
   */
  watchConfigMap<T>(name: string, parse: (object: KubeObject | undefined) => ParsedConfigMap<T>, apply: (reading: ConfigMapReading<T>) => void): void {
    const cache = this.options.createCache({ resource: Resources.configMaps, namespace: this.options.namespace, name, fieldSelector: `metadata.name=${name}` });
    const extra: ExtraConfigMap = {
      name,
      cache,
      error: undefined,
      read: () => {
        const object = cache.get(name, this.options.namespace);
        const parsed = parse(object);
        if (parsed.ok) {
          extra.error = undefined;
          apply({ kind: 'valid', value: parsed.value });
        } else {
          const repeated = parsed.error === extra.error;
          extra.error = parsed.error;
          apply({ kind: 'invalid', error: parsed.error, repeated, object });
        }
        this.publishVerdict();
      },
    };
    this.onEvents(cache, () => extra.read());
    this.extras.push(extra);
  }

  /** Reads a further ConfigMap now (the caller's first full pass after sync). */
  readConfigMap(name: string): void {
    this.extras.find((e) => e.name === name)?.read();
  }

  /** The live object of the pool ConfigMap or a CR (Events carry its uid). */
  object(kind: 'ConfigMap' | 'IPAddressPool' | 'L2Advertisement', name: string | undefined): KubeObject | undefined {
    const ns = this.options.namespace;
    if (kind === 'ConfigMap') return this.configMap.get(CONFIGMAP_NAME, ns);
    if (name === undefined || !this.crsSynced) return undefined;
    return (kind === 'IPAddressPool' ? this.pools : this.ads)?.get(name, ns);
  }

  /**
   * Asks discovery (retrying until the API server answers) and creates the informers; starts them. Without
   * the CRDs, discovery is asked again every crdRecheckMs and the CR informers join when they are served.
   */
  async start(): Promise<void> {
    const served = await this.servesRetrying();
    if (this.stopping) return;
    if (served) this.watchCrds();
    else {
      this.options.logger.info(
        `the metallb.io CRDs are not served by this API server: configuration comes from the ConfigMap only; checking again every ${this.crdRecheckMs / 1000} s`,
        { namespace: this.options.namespace },
      );
      this.scheduleRecheck();
    }
    this.started = true;
    for (const c of this.caches()) c.start();
  }

  /** Resolves once the informers created by start() have synced; the CRs then count. */
  async waitForSync(): Promise<void> {
    const watching = this.pools !== undefined;
    await Promise.all(this.caches().map((c) => c.waitForSync()));
    if (watching && !this.stopping) this.crsSynced = true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.recheckTimer !== undefined) this.timers.clearTimeout(this.recheckTimer);
    await Promise.all(this.caches().map((c) => c.stop()));
  }

  /** Settles when the discovery re-checks in flight are done (tests). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pendingDiscovery]);
  }

  /**
   * Validates the inputs now. Invalid keeps the last valid configuration (stale); the same configuration
   * again is `unchanged`. The verdict listeners hear of a changed verdict.
   */
  evaluate(): ConfigSnapshot {
    const ns = this.options.namespace;
    const data = this.configMap.get(CONFIGMAP_NAME, ns)?.['data'];
    const text = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['config'] : undefined;
    const resources = (this.crsSynced ? [...(this.pools?.list() ?? []), ...(this.ads?.list() ?? [])] : []).sort((a, b) =>
      `${a.kind}/${a.metadata?.name}`.localeCompare(`${b.kind}/${b.metadata?.name}`),
    );
    const update = this.state.update({ configMapText: typeof text === 'string' ? text : undefined, configMapObject: this.configMapObject, resources });
    if (update.kind !== 'invalid') {
      const config = this.state.config;
      this.noPool = config !== undefined && config.pools.length === 0 ? this.missingReason() : undefined;
    }
    this.publishVerdict();
    return this.noPool !== undefined && update.kind !== 'invalid' ? { ...update, noPool: this.noPool } : update;
  }

  /** Why there is no pool: no ConfigMap and no CR (and whether the CRDs are served), or none defines one. */
  missingReason(): string {
    const ns = this.options.namespace;
    const crs = this.crsSynced ? (this.pools?.size ?? 0) + (this.ads?.size ?? 0) : 0;
    if (this.configMap.get(CONFIGMAP_NAME, ns) !== undefined || crs > 0) return 'the configuration defines no address pool';
    return `there is no ConfigMap ${ns}/${CONFIGMAP_NAME}${this.crsSynced ? ' and no IPAddressPool' : ' and the metallb.io CRDs are not served'}`;
  }

  /** The current verdict over the pool configuration and every further ConfigMap. */
  verdict(): ConfigurationVerdict {
    const errors = [this.state.error, ...this.extras.map((e) => e.error)].filter((e): e is string => e !== undefined);
    return {
      result: errors.length > 0 ? 'Invalid' : 'Valid',
      errorSummary: errors.join('\n'),
      ...(errors.length === 0 && this.noPool !== undefined ? { noConfiguration: this.noPool } : {}),
    };
  }

  private publishVerdict(): void {
    const verdict = this.verdict();
    const text = JSON.stringify(verdict);
    if (text === this.lastVerdict) return;
    this.lastVerdict = text;
    for (const l of this.verdictListeners) l(verdict);
  }

  private caches(): ObjectCache[] {
    return [this.configMap, ...this.extras.map((e) => e.cache), ...(this.pools ? [this.pools] : []), ...(this.ads ? [this.ads] : [])];
  }

  private onEvents(cache: ObjectCache, fn: (obj: KubeObject) => void): void {
    for (const event of ['add', 'update', 'delete'] as const) cache.on(event, fn);
  }

  private changed(): void {
    if (this.stopping) return;
    for (const l of this.changeListeners) l();
  }

  private async servesRetrying(): Promise<boolean> {
    for (;;) {
      try {
        return await this.options.servesCrds();
      } catch (e) {
        if (this.stopping) return false;
        this.options.logger.warn(`cannot reach the API server for discovery, retrying: ${errorText(e)}`);
        await new Promise<void>((resolve) => this.timers.setTimeout(resolve, DISCOVERY_RETRY_MS));
      }
    }
  }

  private watchCrds(): { pools: ObjectCache; ads: ObjectCache } {
    const namespace = this.options.namespace;
    const pools = this.options.createCache({ resource: Resources.ipAddressPools, namespace, name: 'ipaddresspools' });
    const ads = this.options.createCache({ resource: Resources.l2Advertisements, namespace, name: 'l2advertisements' });
    for (const cache of [pools, ads])
      this.onEvents(cache, () => {
        if (this.crsSynced) this.changed();
      });
    const poolChanged = (o: KubeObject): void => {
      for (const l of this.poolListeners) l(o.metadata?.name ?? '');
    };
    pools.on('add', poolChanged);
    pools.on('update', poolChanged);
    this.pools = pools;
    this.ads = ads;
    return { pools, ads };
  }

  private scheduleRecheck(): void {
    if (this.stopping) return;
    this.recheckTimer = this.timers.setTimeout(() => {
      this.recheckTimer = undefined;
      const check = this.recheck();
      this.pendingDiscovery.add(check);
      void check.finally(() => this.pendingDiscovery.delete(check));
    }, this.crdRecheckMs);
  }

  private async recheck(): Promise<void> {
    let served = false;
    try {
      served = await this.options.servesCrds();
    } catch (e) {
      this.options.logger.debug(`discovery of metallb.io failed, asking again in ${this.crdRecheckMs / 1000} s: ${errorText(e)}`);
    }
    if (this.stopping) return;
    if (!served) {
      this.scheduleRecheck();
      return;
    }
    this.options.logger.info('the metallb.io CRDs are now served: watching IPAddressPool and L2Advertisement', { namespace: this.options.namespace });
    const { pools, ads } = this.watchCrds();
    if (this.started) {
      pools.start();
      ads.start();
    }
    // Not awaited by stop(): a sync that never comes must not hold stop() up.
    void Promise.all([pools.waitForSync(), ads.waitForSync()]).then(() => {
      if (this.stopping) return;
      this.crsSynced = true;
      this.options.logger.info('metallb.io informers synced', { ipaddresspools: pools.size, l2advertisements: ads.size });
      this.changed();
    });
  }
}

export type { ConfigEventTarget };
