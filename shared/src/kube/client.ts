// A small raw-JSON Kubernetes API client on node:http/https. It uses @kubernetes/client-node only for the
// KubeConfig (TLS material, tokens, in-cluster files), so bodies go over the wire exactly as written
// (client-node's typed serializers drop unknown keys) and watches are plain newline-delimited JSON streams.

import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { describeObject, resourcePath, type KubeList, type KubeObject, type KubeStatus, type ResourceRef } from './types.js';
import { errorText } from '../log.js';

export const ContentType = {
  json: 'application/json',
  jsonPatch: 'application/json-patch+json',
  mergePatch: 'application/merge-patch+json',
  strategicMergePatch: 'application/strategic-merge-patch+json',
} as const;

export type PatchType = 'json' | 'merge' | 'strategic';

const PATCH_CONTENT: Record<PatchType, string> = {
  json: ContentType.jsonPatch,
  merge: ContentType.mergePatch,
  strategic: ContentType.strategicMergePatch,
};

/** An HTTP error answer of the API server (or a transport failure, code 0), with the Status fields. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly statusMessage: string,
    readonly method: string,
    readonly path: string,
    readonly status?: KubeStatus,
  ) {
    super(`${method} ${path}: ${code === 0 ? '' : `${code} `}${reason}: ${statusMessage}`);
    this.name = 'KubeApiError';
  }

  /** One log line naming the object: "update services default/web failed: 409 Conflict: ...". */
  describe(verb: string, object: string): string {
    return `${verb} ${object} failed: ${this.code === 0 ? 'transport error' : this.code} ${this.reason}: ${this.statusMessage}`;
  }
}

export function isApiError(e: unknown, code?: number): e is KubeApiError {
  return e instanceof KubeApiError && (code === undefined || e.code === code);
}

/** Turns any error into a one-line description for logs. */
export function errorLine(verb: string, object: string, e: unknown): string {
  if (e instanceof KubeApiError) return e.describe(verb, object);
  return `${verb} ${object} failed: ${errorText(e)}`;
}

/**
 * Splits a newline-delimited JSON stream (arbitrary chunk boundaries) into objects. Lines that are not JSON
 * objects go to `onBad` with a reason; nothing throws. Pure: no I/O.
 */
export class NdjsonSplitter {
  private buf = '';

  constructor(
    private readonly onObject: (obj: Record<string, unknown>) => void,
    private readonly onBad: (line: string, reason: string) => void,
  ) {}

  push(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch (e) {
        this.onBad(line, `invalid JSON: ${errorText(e)}`);
        continue;
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        this.onBad(line, 'not a JSON object');
        continue;
      }
      this.onObject(v as Record<string, unknown>);
    }
  }

  /** Bytes of an unfinished last line. */
  get pending(): number {
    return this.buf.length;
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  /** Overall request timeout (default: the client's). */
  timeoutMs?: number;
}

export interface WatchStreamOptions {
  signal?: AbortSignal;
  /** Abort the stream when no byte arrives for this long (detects half-open connections). */
  inactivityTimeoutMs?: number;
  /** Called once the server answered 200 (the watch is established). */
  onConnected?: () => void;
  /** Called for lines that are not JSON objects (dropped). */
  onBadLine?: (line: string, reason: string) => void;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; every page is fetched (default 500). */
  limit?: number;
  signal?: AbortSignal;
}

function parseStatus(text: string): KubeStatus | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && (v as KubeStatus).kind === 'Status') return v as KubeStatus;
  } catch {
    // not JSON
  }
  return undefined;
}

function abortError(): Error {
  const e = new Error('the operation was aborted');
  e.name = 'AbortError';
  return e;
}

export class KubeClient {
  readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(
    readonly kubeConfig: KubeConfig,
    opts: { timeoutMs?: number; userAgent?: string } = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.userAgent = opts.userAgent ?? 'l2lb';
  }

  get server(): string {
    const c = this.kubeConfig.getCurrentCluster();
    if (!c) throw new Error('kubeconfig has no current cluster');
    return c.server.replace(/\/+$/, '');
  }

  private async open(
    method: string,
    path: string,
    query: RequestOptions['query'],
    headers: Record<string, string>,
  ): Promise<{ url: URL; options: https.RequestOptions; mod: typeof http | typeof https }> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const options: https.RequestOptions = { method, headers: { 'User-Agent': this.userAgent, ...headers } };
    await this.kubeConfig.applyToHTTPSOptions(options);
    // Token files often end with a newline, which is not allowed in a header.
    const h = options.headers as Record<string, unknown> | undefined;
    if (h && typeof h['Authorization'] === 'string') h['Authorization'] = h['Authorization'].trim();
    return { url, options, mod: url.protocol === 'https:' ? https : http };
  }

  /** One request; resolves with the parsed JSON answer, rejects with KubeApiError (code 0 = transport). */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['Content-Type'] = opts.contentType ?? ContentType.json;
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const { url, options, mod } = await this.open(method, path, opts.query, headers);
    const shown = url.pathname + (url.search || '');
    return new Promise<T>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(abortError());
        return;
      }
      const req = mod.request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new KubeApiError(0, 'ConnectionError', e.message, method, shown)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) {
            try {
              resolve((text === '' ? {} : JSON.parse(text)) as T);
            } catch (e) {
              reject(new KubeApiError(code, 'BadResponse', `invalid JSON in the answer: ${errorText(e)}`, method, shown));
            }
            return;
          }
          const status = parseStatus(text);
          reject(new KubeApiError(code, status?.reason || http.STATUS_CODES[code] || 'Error', status?.message ?? text.slice(0, 200), method, shown, status));
        });
      });
      const timeout = opts.timeoutMs ?? this.timeoutMs;
      req.setTimeout(timeout, () => req.destroy(new Error(`no answer within ${timeout} ms`)));
      const onAbort = (): void => {
        req.destroy(abortError());
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
      req.on('error', (e) => {
        if (e.name === 'AbortError') reject(e);
        else reject(new KubeApiError(0, 'ConnectionError', e.message, method, shown));
      });
      req.end(payload);
    });
  }

  /**
   * A watch (or any newline-delimited JSON stream). Resolves when the server ends the stream cleanly;
   * rejects on HTTP errors (KubeApiError), transport errors, inactivity or abort.
   */
  async stream(path: string, query: RequestOptions['query'], onObject: (obj: Record<string, unknown>) => void, opts: WatchStreamOptions = {}): Promise<void> {
    const { url, options, mod } = await this.open('GET', path, query, { Accept: 'application/json' });
    const shown = url.pathname + (url.search || '');
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve();
      };
      const arm = (ms = opts.inactivityTimeoutMs): void => {
        if (timer) clearTimeout(timer);
        if (!ms) return;
        timer = setTimeout(() => finish(new KubeApiError(0, 'Timeout', `no data for ${ms} ms`, 'GET', shown)), ms);
        timer.unref();
      };
      const onAbort = (): void => finish(abortError());
      if (opts.signal?.aborted) {
        reject(abortError());
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const req = mod.request(url, options, (res) => {
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = parseStatus(text);
            finish(new KubeApiError(code, status?.reason || http.STATUS_CODES[code] || 'Error', status?.message ?? text.slice(0, 200), 'GET', shown, status));
          });
          res.on('error', (e) => finish(new KubeApiError(0, 'ConnectionError', e.message, 'GET', shown)));
          return;
        }
        opts.onConnected?.();
        arm();
        res.setEncoding('utf8');
        const splitter = new NdjsonSplitter(
          (obj) => {
            if (!settled) onObject(obj);
          },
          (line, reason) => opts.onBadLine?.(line, reason),
        );
        res.on('data', (chunk: string) => {
          arm();
          splitter.push(chunk);
        });
        res.on('end', () => finish());
        res.on('aborted', () => finish(new KubeApiError(0, 'ConnectionError', 'connection reset during the watch', 'GET', shown)));
        res.on('error', (e) => finish(new KubeApiError(0, 'ConnectionError', e.message, 'GET', shown)));
        res.on('close', () => {
          if (!res.complete) finish(new KubeApiError(0, 'ConnectionError', 'connection closed during the watch', 'GET', shown));
        });
      });
      arm(this.timeoutMs); // until the answer's headers arrive
      req.on('error', (e) => finish(e.name === 'AbortError' ? e : new KubeApiError(0, 'ConnectionError', e.message, 'GET', shown)));
      req.end();
    });
  }

  // ---- typed helpers over resources ----

  async get<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', resourcePath(r, namespace, name), signal ? { signal } : {});
  }

  /** Lists every page; returns all items and the list's resourceVersion. */
  async list<T extends KubeObject = KubeObject>(r: ResourceRef, opts: ListOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.request<KubeList<T>>('GET', resourcePath(r, opts.namespace), {
        query: { labelSelector: opts.labelSelector || undefined, fieldSelector: opts.fieldSelector || undefined, limit: opts.limit ?? 500, continue: cont },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      for (const it of page.items ?? []) items.push(it);
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion: rv };
  }

  async create<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, body: KubeObject): Promise<T> {
    return this.request<T>('POST', resourcePath(r, namespace), { body });
  }

  async replace<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    subresource?: 'status',
  ): Promise<T> {
    return this.request<T>('PUT', resourcePath(r, namespace, name, subresource), { body });
  }

  async patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType = 'merge',
    subresource?: 'status',
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(r, namespace, name, subresource), { body: patch, contentType: PATCH_CONTENT[type] });
  }

  async delete(r: ResourceRef, namespace: string | undefined, name: string, opts: { gracePeriodSeconds?: number } = {}): Promise<unknown> {
    return this.request(
      'DELETE',
      resourcePath(r, namespace, name),
      opts.gracePeriodSeconds !== undefined ? { query: { gracePeriodSeconds: opts.gracePeriodSeconds } } : {},
    );
  }

  /** True when the server serves `r` (discovery of its group/version). */
  async serves(r: ResourceRef): Promise<boolean> {
    const path = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
    try {
      const list = await this.request<{ resources?: { name?: string }[] }>('GET', path);
      return (list.resources ?? []).some((x) => x.name === r.plural);
    } catch (e) {
      if (isApiError(e, 404)) return false;
      throw e;
    }
  }

  describe(r: ResourceRef, namespace: string | undefined, name: string | undefined): string {
    return describeObject(r, namespace, name);
  }
}
