// The embedded Kubernetes API server: HTTP(S) routing, list/watch streaming, Table output, bearer-token
// auth, optional file persistence, and test hooks (compact, endWatches, killWatches, request log).
// The discovery documents are in discovery.ts.

import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { errorText } from '@l2lb/shared/log';
import { Api, type Filter } from './api.js';
import { SERVER_VERSION, groupList, openapiV3, resourceList } from './discovery.js';
import { ApiError, badRequest, expired } from './errors.js';
import { isObject, meta, str, type Json, type JsonObject } from './json.js';
import { openapiV2Response } from './openapi.js';
import { PROTOBUF_MEDIA_TYPE, protobufBody } from './protobuf.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { Store, type Snapshot, type StoreEvent } from './store.js';
import { toTable, wantsTable } from './table.js';

export interface ApiServerOptions {
  /** Host to bind (default 127.0.0.1). */
  host?: string;
  /** Port (0 = pick a free one). */
  port?: number;
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert: string; key: string };
  /** Accepted bearer tokens; undefined = no authentication. */
  tokens?: string[];
  /** Directory for state.json; loaded at start, written shortly after every change and at close. */
  dataDir?: string;
  /** Events kept for watch resumption (older resourceVersions get 410). */
  historyLimit?: number;
  /** Interval of BOOKMARK events for watches that allow them (ms). */
  bookmarkIntervalMs?: number;
  /** Reuse an existing Api (same data, same history) — e.g. to "restart" a server in a test. */
  api?: Api;
  /** Keep a log of requests (tests). */
  logRequests?: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  authorization?: string;
  status?: number;
}

interface ActiveWatch {
  res: ServerResponse;
  close(graceful: boolean): void;
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const MAX_BODY = 3 * 1024 * 1024;
const MAX_WATCH_BUFFER = 64 * 1024 * 1024;

/** Serialized form of stored objects (objects are never mutated once stored), per apiVersion. */
const serialized = new WeakMap<JsonObject, Map<string, string>>();

function send(res: ServerResponse, code: number, body: Json): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

function encodeContinue(rv: number, after: string): string {
  return Buffer.from(JSON.stringify({ rv, after })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; after: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isObject(v as Json) && typeof (v as JsonObject)['after'] === 'string' && typeof (v as JsonObject)['rv'] === 'number') {
      return { rv: (v as JsonObject)['rv'] as number, after: (v as JsonObject)['after'] as string };
    }
  } catch {
    // fall through
  }
  throw badRequest('invalid continue token');
}

export class EmbeddedApiServer {
  readonly api: Api;
  readonly requests: RequestRecord[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<ActiveWatch>();
  private tokens: Set<string> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private url = '';

  constructor(private readonly opts: ApiServerOptions = {}) {
    this.tokens = opts.tokens ? new Set(opts.tokens) : undefined;
    if (opts.api) {
      this.api = opts.api;
    } else {
      const store = new Store(opts.historyLimit);
      if (opts.dataDir) {
        const file = join(opts.dataDir, 'state.json');
        if (existsSync(file)) {
          const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
          store.load(snap);
        }
      }
      this.api = new Api(store);
    }
  }

  /** Starts listening; resolves with the base URL (http[s]://host:port). */
  async start(): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((e: unknown) => {
        const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `internal error: ${errorText(e)}`);
        if (!res.headersSent) send(res, err.code, err.toStatus());
        else res.destroy();
      });
    };
    const server = this.opts.tls ? createHttpsServer({ cert: this.opts.tls.cert, key: this.opts.tls.key }, handler) : createHttpServer(handler);
    server.keepAliveTimeout = 30_000;
    server.on(this.opts.tls ? 'secureConnection' : 'connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    if (this.opts.dataDir) {
      this.unsubscribe = this.api.store.subscribe(() => this.scheduleFlush());
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${this.opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;
    return this.url;
  }

  get baseUrl(): string {
    return this.url;
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  /** Stops listening and drops every connection (watches end abruptly, like a crash). Persists first. */
  async close(): Promise<void> {
    this.flush();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const server = this.server;
    this.server = undefined;
    for (const w of [...this.watches]) w.close(false);
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- test hooks ----

  /** Forgets the watch history: resuming from any earlier resourceVersion gets 410 Expired. */
  compact(): void {
    this.api.store.compact();
  }

  /** Ends every watch cleanly (like a server-side timeout). */
  endWatches(): void {
    for (const w of [...this.watches]) w.close(true);
  }

  /** Destroys every watch connection (like a network reset). */
  killWatches(): void {
    for (const w of [...this.watches]) w.close(false);
  }

  get activeWatches(): number {
    return this.watches.size;
  }

  setTokens(tokens: string[] | undefined): void {
    this.tokens = tokens ? new Set(tokens) : undefined;
  }

  // ---- persistence ----

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flush(), 200);
    this.flushTimer.unref();
  }

  /** Writes state.json now (atomically) if a data dir is configured. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const dir = this.opts.dataDir;
    if (!dir) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'state.json');
    // The state holds Secrets: owner-only whatever the umask. `mode` applies only when the file is created,
    // so a .tmp left (with looser bits) by an older version is tightened before it becomes state.json.
    writeFileSync(`${file}.tmp`, JSON.stringify(this.api.store.snapshot()), { mode: 0o600 });
    chmodSync(`${file}.tmp`, 0o600);
    renameSync(`${file}.tmp`, file);
  }

  // ---- HTTP ----

  private async readBody(req: IncomingMessage): Promise<Json> {
    const ct = (req.headers['content-type'] ?? '').toLowerCase();
    if (ct.startsWith('application/cbor')) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the l2lb embedded API server accepts JSON bodies (and protobuf for core/v1 kinds) only, not ${ct.split(';')[0] ?? ct} (use kubectl create/apply -f, or --dry-run=client -o yaml | kubectl apply -f -)`,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      const b = c as Buffer;
      size += b.length;
      if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large');
      chunks.push(b);
    }
    if (ct.startsWith(PROTOBUF_MEDIA_TYPE)) return protobufBody(Buffer.concat(chunks));
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') throw badRequest('the request body is empty');
    try {
      return JSON.parse(text) as Json;
    } catch (e) {
      throw badRequest(`the body of the request is not valid JSON: ${errorText(e)}`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RequestRecord = { method, path: url.pathname, query };
    if (req.headers['content-type']) record.contentType = req.headers['content-type'];
    if (req.headers.authorization) record.authorization = req.headers.authorization;
    if (this.opts.logRequests) this.requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });

    if (this.tokens) {
      const auth = req.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
      if (!this.tokens.has(token)) {
        send(res, 401, new ApiError(401, 'Unauthorized', 'Unauthorized').toStatus());
        return;
      }
    }
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (method === 'GET' && (path === '/healthz' || path === '/readyz' || path === '/livez')) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (method === 'GET' && path === '/version') return send(res, 200, SERVER_VERSION);
    if (method === 'GET' && path === '/api') {
      return send(res, 200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.url.replace(/^https?:\/\//, '') }],
      });
    }
    if (method === 'GET' && path === '/apis') return send(res, 200, groupList(this.api.resources));
    if (method === 'GET' && path.startsWith('/openapi/v3')) return send(res, 200, openapiV3(this.api.resources, path));
    if (method === 'GET' && path === '/openapi/v2') {
      const doc = openapiV2Response(req.headers, SERVER_VERSION.gitVersion);
      res.writeHead(200, { 'Content-Type': doc.contentType, 'Content-Length': doc.body.length, 'Cache-Control': 'no-cache, private' });
      res.end(doc.body);
      return;
    }
    const parts = path
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts.length >= 2) {
      group = '';
      version = parts[1] ?? '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 2) {
      group = parts[1] ?? '';
      if (parts.length === 2) {
        const g = groupList(this.api.resources).groups.find((x) => x.name === group);
        if (!g || method !== 'GET') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...g });
      }
      version = parts[2] ?? '';
      rest = parts.slice(3);
    } else {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (rest.length === 0) {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      const list = resourceList(this.api.resources, group, version);
      if (!list) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(res, 200, list);
    }
    if (rest[0] === 'watch') {
      rest = rest.slice(1);
      query['watch'] = 'true';
    }
    const route = this.route(group, version, rest);
    await this.dispatch(method, route, query, req, res);
  }

  private route(group: string, version: string, rest: string[]): Route {
    const find = (resource: string): ResourceType => {
      const t = this.api.type(group, version, resource);
      if (!t) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return t;
    };
    const [a, b, c, d, e] = rest;
    if (a === 'namespaces' && b !== undefined && c !== undefined && c !== 'status' && c !== 'finalize') {
      const t = find(c);
      if (!t.namespaced) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return { type: t, namespace: b, ...(d !== undefined ? { name: d } : {}), ...(e !== undefined ? { subresource: e } : {}) };
    }
    if (a === undefined || rest.length > 3) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const t = find(a);
    if (t.namespaced && b !== undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return { type: t, ...(b !== undefined ? { name: b } : {}), ...(c !== undefined ? { subresource: c } : {}) };
  }

  private async dispatch(method: string, r: Route, query: Record<string, string>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t = r.type;
    const dryRun = query['dryRun'] === 'All';
    const table = wantsTable(req.headers.accept);
    if (r.subresource !== undefined && r.subresource !== 'status') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const sub = r.subresource === 'status' ? ('status' as const) : undefined;
    if (sub && !t.status) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (r.name === undefined) {
      const filter = this.api.filter(t, r.namespace, query['labelSelector'], query['fieldSelector']);
      if (method === 'GET') {
        if (query['watch'] === 'true' || query['watch'] === '1') return this.watch(t, filter, query, table, res);
        return this.list(t, filter, query, table, res);
      }
      if (method === 'POST') {
        const body = await this.readBody(req);
        return send(res, 201, this.api.present(t, this.api.create(t, r.namespace, body, dryRun)));
      }
      if (method === 'DELETE') {
        const items = this.api
          .list(t, filter)
          .map((o) => this.api.present(t, this.api.delete(t, str(meta(o)['namespace']), str(meta(o)['name']) ?? '', dryRun)));
        return send(res, 200, {
          kind: `${t.kind}List`,
          apiVersion: apiVersionOf(t),
          metadata: { resourceVersion: String(this.api.store.resourceVersion) },
          items,
        });
      }
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    const name = r.name;
    switch (method) {
      case 'GET': {
        const o = this.api.present(t, this.api.get(t, r.namespace, name));
        if (table) return send(res, 200, toTable(t.storageKey, [o], str(meta(o)['resourceVersion']) ?? ''));
        return send(res, 200, o);
      }
      case 'PUT': {
        const body = await this.readBody(req);
        return send(res, 200, this.api.present(t, this.api.update(t, r.namespace, name, body, sub, dryRun)));
      }
      case 'PATCH': {
        const body = await this.readBody(req);
        return send(res, 200, this.api.present(t, this.api.patch(t, r.namespace, name, body, req.headers['content-type'] ?? '', sub, dryRun)));
      }
      case 'DELETE': {
        if (sub) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const gone = this.api.delete(t, r.namespace, name, dryRun);
        if (meta(gone)['deletionTimestamp'] !== undefined && this.api.store.get(t.storageKey, r.namespace, name))
          return send(res, 200, this.api.present(t, gone));
        return send(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, group: t.group, kind: t.resource, uid: str(meta(gone)['uid']) ?? '' },
        });
      }
      case 'POST':
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  private list(t: ResourceType, filter: Filter, query: Record<string, string>, table: boolean, res: ServerResponse): void {
    const rvNow = this.api.store.resourceVersion;
    let items = this.api.list(t, filter);
    let listRv = rvNow;
    const limit = query['limit'] ? Number.parseInt(query['limit'], 10) : 0;
    const listMeta: JsonObject = {};
    if (query['continue']) {
      const c = decodeContinue(query['continue']);
      listRv = c.rv;
      const idx = items.findIndex((o) => `${str(meta(o)['namespace']) ?? ''}/${str(meta(o)['name']) ?? ''}` > c.after);
      items = idx < 0 ? [] : items.slice(idx);
    }
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      const lm = last ? meta(last) : {};
      listMeta['continue'] = encodeContinue(listRv, `${str(lm['namespace']) ?? ''}/${str(lm['name']) ?? ''}`);
      listMeta['remainingItemCount'] = items.length - limit;
      items = items.slice(0, limit);
    }
    listMeta['resourceVersion'] = String(listRv);
    const presented = items.map((o) => this.api.present(t, o));
    if (table) {
      const tbl = toTable(t.storageKey, presented, String(listRv));
      if (isObject(tbl['metadata'])) Object.assign(tbl['metadata'], listMeta);
      return send(res, 200, tbl);
    }
    // Like the real server: items of built-in lists carry no kind/apiVersion, custom resources do.
    const bare = t.custom ? presented : presented.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    send(res, 200, { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: listMeta, items: bare });
  }

  private watch(t: ResourceType, filter: Filter, query: Record<string, string>, table: boolean, res: ServerResponse): void {
    const store = this.api.store;
    const rvParam = query['resourceVersion'];
    let backlog: StoreEvent[] | undefined;
    const initial: JsonObject[] = [];
    if (rvParam !== undefined && rvParam !== '' && rvParam !== '0') {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resourceVersion "${rvParam}"`);
      backlog = store.eventsSince(rv);
      if (!backlog) {
        const err = expired(`too old resource version: ${rv} (${store.oldestResumableVersion})`);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: err.toStatus() })}\n`);
        return;
      }
    } else {
      initial.push(...this.api.list(t, filter));
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    let first = true;
    const apiVersion = apiVersionOf(t);
    const write = (type: string, obj: JsonObject): void => {
      let object: JsonObject = this.api.present(t, obj);
      if (table && type !== 'BOOKMARK') {
        object = toTable(t.storageKey, [object], str(meta(object)['resourceVersion']) ?? '', Date.now(), first);
        first = false;
        res.write(`${JSON.stringify({ type, object })}\n`);
        return;
      }
      // Many watchers see the same stored object: serialize it once per API version.
      let cache = serialized.get(obj);
      if (!cache) {
        cache = new Map();
        serialized.set(obj, cache);
      }
      let text = cache.get(apiVersion);
      if (text === undefined) {
        text = JSON.stringify(object);
        cache.set(apiVersion, text);
      }
      res.write(`{"type":"${type}","object":${text}}\n`);
      // A watcher that does not read is dropped (as the real server does) instead of buffering without bound;
      // it reconnects and resumes from its last resourceVersion.
      if (res.writableLength > MAX_WATCH_BUFFER) setImmediate(() => watch.close(false));
    };
    const deliver = (ev: StoreEvent): void => {
      if (ev.storageKey !== t.storageKey) return;
      const now = this.api.matches(filter, ev.object);
      if (ev.type === 'MODIFIED') {
        const before = ev.previous ? this.api.matches(filter, ev.previous) : false;
        if (now && before) write('MODIFIED', ev.object);
        else if (now) write('ADDED', ev.object);
        else if (before) write('DELETED', ev.object);
      } else if (now) {
        write(ev.type, ev.object);
      }
    };
    for (const o of initial) write('ADDED', o);
    for (const ev of backlog ?? []) deliver(ev);
    const unsubscribe = store.subscribe(deliver);
    const bookmarks = query['allowWatchBookmarks'] === 'true';
    const bookmark = (): void => {
      write('BOOKMARK', { kind: t.kind, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(store.resourceVersion) } });
    };
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks) {
      const iv = setInterval(bookmark, this.opts.bookmarkIntervalMs ?? 10_000);
      iv.unref();
      timers.push(iv);
    }
    const watch: ActiveWatch = {
      res,
      close: (graceful: boolean) => {
        if (!this.watches.delete(watch)) return;
        unsubscribe();
        for (const tm of timers) clearTimeout(tm);
        if (graceful) {
          if (bookmarks) bookmark();
          res.end();
        } else {
          res.destroy();
          res.socket?.destroy();
        }
      },
    };
    this.watches.add(watch);
    const timeout = Number(query['timeoutSeconds'] ?? '0');
    if (timeout > 0) {
      const tm = setTimeout(() => watch.close(true), timeout * 1000);
      tm.unref();
      timers.push(tm);
    }
    res.on('close', () => watch.close(false));
  }
}
