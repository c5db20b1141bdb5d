// Informers that never give up: list, then watch from the list's resourceVersion; on any failure
// (reset, refused, 401/403/5xx, inactivity) retry with capped exponential backoff and jitter, resuming
// from the last resourceVersion; on 410 Expired relist (emitting the differences, so no update is lost).
// A resourceVersion that went backwards (the API server's storage restored from an older backup) also
// relists: resuming from the newer one would silently miss every change between the two.
// The cache keeps each object as `transform` returns it (default: without the API server's and kubectl's
// bookkeeping), so a process watching thousands of objects holds only what it reads.

import type { Registry } from 'prom-client';
import { errorLine, isApiError, KubeApiError, type KubeClient } from './client.js';
import { errorText, type Logger } from '../log.js';
import { defaultLogger } from './log.js';
import { kubeMetrics, type KubeMetrics } from './metrics.js';
import { withoutBookkeeping } from './bookkeeping.js';
import { describeObject, objectKey, resourcePath, type KubeObject, type KubeStatus, type ResourceRef } from './types.js';

export { LAST_APPLIED_ANNOTATION, withoutBookkeeping } from './bookkeeping.js';

export interface BackoffOptions {
  /** First retry delay (default 500 ms). */
  initialMs?: number;
  /** Cap (default 30 s). */
  maxMs?: number;
  /** Relative jitter: the delay is multiplied by 1 ± jitter (default 0.2). */
  jitter?: number;
}

export interface InformerOptions {
  resource: ResourceRef;
  /** Only this namespace (default: all namespaces). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Name in logs and metrics (default: derived from the resource and filters). */
  name?: string;
  backoff?: BackoffOptions;
  /** Server-side watch timeout; the watch is then renewed from the last resourceVersion (default 300 s, jittered -20%). */
  watchTimeoutSeconds?: number;
  /** Restart the watch when nothing (not even a BOOKMARK) arrived for this long (default watch timeout + 30 s). */
  inactivityTimeoutMs?: number;
  /** List page size (default 500). */
  pageSize?: number;
  logger?: Logger;
  registry?: Registry;
  /**
   * What the cache keeps of each object, and what the handlers get: every object a list or watch
   * delivers goes through it first (default `withoutBookkeeping`; `(o) => o` keeps objects whole). It
   * must keep metadata.name, namespace and resourceVersion, and must not change its argument. A cached
   * object is then not the server's: write with patches, never by sending a cached object back.
   */
  transform?: <O extends KubeObject>(obj: O) => O;
  /** Injected for tests. */
  random?: () => number;
  now?: () => number;
}

export type AddHandler<T> = (obj: T) => void;
export type UpdateHandler<T> = (obj: T, old: T) => void;
export type DeleteHandler<T> = (obj: T) => void;

interface Handlers<T> {
  add: AddHandler<T>[];
  update: UpdateHandler<T>[];
  delete: DeleteHandler<T>[];
  synced: (() => void)[];
  error: ((err: Error) => void)[];
}

/** Exponential backoff with jitter: attempt 1 → initial, doubling up to max. Pure. */
export function backoffDelay(attempt: number, o: Required<BackoffOptions>, random: () => number): number {
  const base = Math.min(o.maxMs, o.initialMs * 2 ** Math.max(0, attempt - 1));
  const factor = 1 - o.jitter + 2 * o.jitter * random();
  return Math.max(0, Math.round(Math.min(o.maxMs, base * factor)));
}

class Stopped extends Error {}

/** The server is at an older resourceVersion than we resumed from (its storage was restored). */
class WentBack extends Error {}

/**
 * Whether resourceVersion `now` is older than `from`. resourceVersions are opaque in the API, but
 * both etcd's and the embedded server's are integers; anything else never compares as older.
 */
export function resourceVersionWentBack(from: string | undefined, now: string | undefined): boolean {
  if (from === undefined || now === undefined || !/^\d+$/.test(from) || !/^\d+$/.test(now)) return false;
  return BigInt(now) < BigInt(from);
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly name: string;
  private readonly cache = new Map<string, T>();
  private readonly handlers: Handlers<T> = { add: [], update: [], delete: [], synced: [], error: [] };
  private readonly log: Logger;
  private readonly metrics: KubeMetrics;
  private readonly backoff: Required<BackoffOptions>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly transform: <O extends KubeObject>(obj: O) => O;
  private rv: string | undefined;
  private isSynced = false;
  private connected = false;
  private staleSince: number;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private stopped = true;
  private failures = 0;
  /** After a failed watch the server may have restarted from a backup: check before resuming. */
  private checkBeforeResume = false;
  private untrack: (() => void) | undefined;
  private syncWaiters: (() => void)[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly opts: InformerOptions,
  ) {
    const r = opts.resource;
    this.name =
      opts.name ??
      [describeObject(r, opts.namespace, undefined).replace(' (collection)', ''), opts.labelSelector, opts.fieldSelector].filter(Boolean).join(' ');
    this.log = opts.logger ?? defaultLogger();
    this.metrics = kubeMetrics(opts.registry);
    this.backoff = { initialMs: opts.backoff?.initialMs ?? 500, maxMs: opts.backoff?.maxMs ?? 30_000, jitter: opts.backoff?.jitter ?? 0.2 };
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.transform = opts.transform ?? withoutBookkeeping;
    this.staleSince = this.now();
  }

  on(event: 'add', h: AddHandler<T>): this;
  on(event: 'update', h: UpdateHandler<T>): this;
  on(event: 'delete', h: DeleteHandler<T>): this;
  on(event: 'synced', h: () => void): this;
  on(event: 'error', h: (err: Error) => void): this;
  on(event: keyof Handlers<T>, h: never): this {
    (this.handlers[event] as unknown[]).push(h);
    return this;
  }

  /** True once the first list completed (stays true across reconnects: the cache is kept). */
  get synced(): boolean {
    return this.isSynced;
  }

  /** True while a watch is established. */
  get watching(): boolean {
    return this.connected;
  }

  get resourceVersion(): string | undefined {
    return this.rv;
  }

  /** 0 while the watch is established; otherwise seconds since the cache was last known current. */
  stalenessSeconds(): number {
    if (this.connected && this.isSynced) return 0;
    return Math.max(0, (this.now() - this.staleSince) / 1000);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(`${this.opts.resource.namespaced ? (namespace ?? '') : ''}/${name}`);
  }

  /** Cached objects (optionally of one namespace). */
  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  get size(): number {
    return this.cache.size;
  }

  /** Starts the list/watch loop in the background (idempotent). */
  start(): this {
    if (this.running) return this;
    this.stopped = false;
    this.untrack = this.metrics.track(this);
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
    return this;
  }

  /** Resolves once synced; rejects after timeoutMs (default: never). */
  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.isSynced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.syncWaiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
          reject(new Error(`informer ${this.name} not synced after ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  /** Stops for good: aborts the request in flight and any pending retry; resolves when the loop ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.running;
    this.connected = false;
    this.untrack?.();
    this.untrack = undefined;
  }

  private emit<K extends 'add' | 'delete'>(kind: K, obj: T): void;
  private emit(kind: 'update', obj: T, old: T): void;
  private emit(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const h of this.handlers[kind]) {
      try {
        if (kind === 'update') (h as UpdateHandler<T>)(obj, old as T);
        else (h as AddHandler<T>)(obj);
      } catch (e) {
        this.log.error(`informer ${this.name}: ${kind} handler failed for ${objectKey(obj)}: ${errorText(e)}`, { informer: this.name });
      }
    }
  }

  /** The object as the cache keeps it; whole if the transform fails (a bug there must not stop the watch). */
  private kept(obj: T): T {
    try {
      return this.transform(obj);
    } catch (e) {
      this.log.error(`informer ${this.name}: transform failed for ${objectKey(obj)}, keeping the whole object: ${errorText(e)}`, { informer: this.name });
      return obj;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.abort = new AbortController();
      try {
        if (this.rv !== undefined && this.checkBeforeResume) await this.checkResourceVersion(this.abort.signal);
        if (this.rv === undefined) await this.relist(this.abort.signal);
        const started = this.now();
        const delivered = await this.watchOnce(this.abort.signal);
        this.markStale();
        if (delivered || this.now() - started >= 1000) {
          // A normal end (timeoutSeconds), even of a quiet watch: renew at once.
          this.failures = 0;
        } else if (!this.stopped) {
          // The server ended a watch at once without sending anything: do not spin.
          this.failures += 1;
          await this.sleep(backoffDelay(this.failures, this.backoff, this.random));
        }
      } catch (e) {
        this.markStale();
        if (this.stopped || e instanceof Stopped) break;
        if (isApiError(e, 410)) {
          this.log.info(`informer ${this.name}: resourceVersion ${this.rv ?? ''} expired (410); relisting`, { informer: this.name });
          this.rv = undefined;
          continue;
        }
        if (e instanceof WentBack) {
          this.log.warn(`informer ${this.name}: ${e.message}; relisting`, { informer: this.name });
          this.rv = undefined;
          continue;
        }
        this.checkBeforeResume = true;
        this.failures += 1;
        const delay = backoffDelay(this.failures, this.backoff, this.random);
        const reason = e instanceof KubeApiError ? (e.code === 0 ? e.reason : String(e.code)) : 'error';
        this.metrics.restarts.inc({ informer: this.name, reason });
        this.log.warn(`${errorLine('watch', this.name, e)}; retry ${this.failures} in ${delay} ms`, {
          informer: this.name,
          attempt: this.failures,
          delayMs: delay,
        });
        for (const h of this.handlers.error) {
          try {
            h(e instanceof Error ? e : new Error(errorText(e)));
          } catch {
            // handlers must not break the loop
          }
        }
        await this.sleep(delay);
      }
    }
  }

  private markStale(): void {
    if (this.connected) this.staleSince = this.now();
    this.connected = false;
  }

  /**
   * One single-item list (a consistent read of the current resourceVersion) before resuming after a
   * failure: an older one than ours means the server came back from an older state, so relist.
   */
  private async checkResourceVersion(signal: AbortSignal): Promise<void> {
    const o = this.opts;
    const page = await this.client.request<{ metadata?: { resourceVersion?: string } }>('GET', resourcePath(o.resource, o.namespace), {
      query: { labelSelector: o.labelSelector || undefined, fieldSelector: o.fieldSelector || undefined, limit: 1 },
      signal,
    });
    this.checkBeforeResume = false;
    const now = page.metadata?.resourceVersion;
    if (resourceVersionWentBack(this.rv, now)) {
      this.log.warn(
        `informer ${this.name}: resourceVersion went back from ${this.rv ?? ''} to ${now ?? ''} (the API server's storage was restored from an older state?); relisting`,
        { informer: this.name },
      );
      this.rv = undefined;
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const o = this.opts;
    const { items, resourceVersion } = await this.client.list<T>(o.resource, {
      ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
      ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
      ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}),
      limit: o.pageSize ?? 500,
      signal,
    });
    if (this.stopped) throw new Stopped();
    this.metrics.relists.inc({ informer: this.name });
    const fresh = new Map<string, T>();
    for (const it of items) {
      if (typeof it !== 'object' || it === null || typeof it.metadata?.name !== 'string') {
        this.metrics.dropped.inc({ informer: this.name, reason: 'no_name' });
        continue;
      }
      fresh.set(objectKey(it), this.kept(it));
    }
    const old = new Map(this.cache);
    this.cache.clear();
    for (const [k, v] of fresh) this.cache.set(k, v);
    for (const [k, v] of fresh) {
      const prev = old.get(k);
      if (!prev) this.emit('add', v);
      else if (prev.metadata?.resourceVersion !== v.metadata?.resourceVersion) this.emit('update', v, prev);
    }
    for (const [k, v] of old) if (!fresh.has(k)) this.emit('delete', v);
    this.rv = resourceVersion;
    this.failures = 0;
    this.checkBeforeResume = false;
    if (!this.isSynced) {
      this.isSynced = true;
      this.log.debug(`informer ${this.name}: synced (${fresh.size} objects, resourceVersion ${resourceVersion})`, { informer: this.name });
      for (const w of this.syncWaiters.splice(0)) w();
      for (const h of this.handlers.synced) {
        try {
          h();
        } catch {
          // ignore
        }
      }
    }
  }

  /** One watch request. Returns whether anything arrived; throws on failures (410 as KubeApiError 410, WentBack). */
  private async watchOnce(signal: AbortSignal): Promise<boolean> {
    const o = this.opts;
    const timeout = o.watchTimeoutSeconds ?? 300;
    const jittered = Math.max(1, Math.round(timeout * (0.8 + 0.2 * this.random())));
    const path = resourcePath(o.resource, o.namespace);
    // `ended`: our own abort, to end the watch at once when the server says it cannot go on (an ERROR
    // event) or the resourceVersion is seen going back; `failure` is then what the loop acts on.
    const round: { from: string | undefined; delivered: boolean; failure?: Error; ended: AbortController } = {
      from: this.rv,
      delivered: false,
      ended: new AbortController(),
    };
    const onAbort = (): void => round.ended.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.client.stream(
        path,
        {
          watch: 1,
          resourceVersion: this.rv,
          allowWatchBookmarks: true,
          timeoutSeconds: jittered,
          labelSelector: o.labelSelector || undefined,
          fieldSelector: o.fieldSelector || undefined,
        },
        (ev) => this.onWatchEvent(ev, path, round),
        {
          signal: round.ended.signal,
          inactivityTimeoutMs: o.inactivityTimeoutMs ?? (timeout + 30) * 1000,
          onConnected: () => {
            this.connected = true;
            if (this.failures > 0) this.log.info(`informer ${this.name}: watch re-established at resourceVersion ${this.rv ?? ''}`, { informer: this.name });
          },
          onBadLine: (_line, reason) => {
            this.metrics.dropped.inc({ informer: this.name, reason: 'bad_json' });
            this.log.warn(`informer ${this.name}: dropped a watch line: ${reason}`, { informer: this.name });
          },
        },
      );
    } catch (e) {
      throw round.failure ?? e;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (round.failure) throw round.failure;
    if (this.stopped) throw new Stopped();
    return round.delivered;
  }

  private onWatchEvent(
    ev: Record<string, unknown>,
    path: string,
    round: { from: string | undefined; delivered: boolean; failure?: Error; ended: AbortController },
  ): void {
    if (round.failure) return;
    const type = ev['type'];
    const obj = ev['object'];
    if (typeof obj !== 'object' || obj === null) {
      this.metrics.dropped.inc({ informer: this.name, reason: 'no_object' });
      this.log.warn(`informer ${this.name}: dropped a watch event without an object (type ${String(type)})`, { informer: this.name });
      return;
    }
    if (type === 'ERROR') {
      const st = obj as KubeStatus;
      round.failure = new KubeApiError(st.code ?? 500, st.reason ?? 'Error', st.message ?? 'watch error', 'GET', path, st);
      return;
    }
    const k = obj as T;
    const rv = k.metadata?.resourceVersion;
    if (resourceVersionWentBack(round.from, rv)) {
      // Resumed from a newer resourceVersion than the server's: what changed in between is unknown.
      round.failure = new WentBack(
        `resourceVersion went back from ${round.from ?? ''} to ${rv ?? ''} (the API server's storage was restored from an older state?)`,
      );
      round.ended.abort();
      return;
    }
    if (type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      round.delivered = true;
      return;
    }
    if (typeof k.metadata?.name !== 'string' || (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED')) {
      this.metrics.dropped.inc({ informer: this.name, reason: typeof k.metadata?.name !== 'string' ? 'no_name' : 'bad_type' });
      this.log.warn(`informer ${this.name}: dropped a malformed watch event (type ${String(type)})`, { informer: this.name });
      return;
    }
    round.delivered = true;
    if (rv) this.rv = rv;
    this.metrics.events.inc({ informer: this.name, type });
    const key = objectKey(k);
    const kept = this.kept(k);
    const prev = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.emit('delete', kept);
    } else {
      this.cache.set(key, kept);
      if (!prev) this.emit('add', kept);
      else if (prev.metadata?.resourceVersion !== rv) this.emit('update', kept, prev);
    }
  }
}

/** Convenience: a started informer. */
export function startInformer<T extends KubeObject = KubeObject>(client: KubeClient, opts: InformerOptions): Informer<T> {
  return new Informer<T>(client, opts).start();
}
