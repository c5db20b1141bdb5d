// A light kubeconfig / in-cluster loader for KubeClient (used by the controller and the speaker). KubeClient needs only
// getCurrentCluster() and applyToHTTPSOptions(); loading @kubernetes/client-node for them costs
// ~70 MB of RSS (its generated API models), more than the controller's whole working set.
// Supports server, CA (file or data), insecure-skip-tls-verify, tls-server-name, bearer token (inline
// or tokenFile, re-read every minute) and client certificates. Kubeconfigs with exec or
// auth-provider users are delegated to @kubernetes/client-node (loaded only then).
import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { errorText } from '../log.js';

export interface LightCluster {
  readonly name: string;
  readonly server: string;
  readonly skipTLSVerify: boolean;
}

interface Credentials {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly tlsServerName?: string;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
const TOKEN_REFRESH_MS = 60_000;

export class LightKubeConfig {
  private token: string | undefined;
  private tokenReadAt = 0;

  constructor(
    private readonly cluster: LightCluster,
    private readonly creds: Credentials,
    private readonly now: () => number = Date.now,
  ) {
    this.token = creds.token;
  }

  getCurrentCluster(): LightCluster {
    return this.cluster;
  }

  // Same shape as client-node's method (async there, too).
  applyToHTTPSOptions(options: https.RequestOptions): Promise<void> {
    if (this.creds.ca !== undefined) options.ca = this.creds.ca;
    if (this.creds.cert !== undefined) options.cert = this.creds.cert;
    if (this.creds.key !== undefined) options.key = this.creds.key;
    if (this.creds.tlsServerName !== undefined) options.servername = this.creds.tlsServerName;
    options.rejectUnauthorized = !this.cluster.skipTLSVerify;
    const token = this.currentToken();
    if (token !== undefined) options.headers = { ...(options.headers as Record<string, string> | undefined), Authorization: `Bearer ${token}` };
    return Promise.resolve();
  }

  private currentToken(): string | undefined {
    const file = this.creds.tokenFile;
    if (file !== undefined && (this.token === undefined || this.now() - this.tokenReadAt > TOKEN_REFRESH_MS)) {
      try {
        this.token = readFileSync(file, 'utf8').trim();
        this.tokenReadAt = this.now();
      } catch (e) {
        if (this.token === undefined) throw new Error(`cannot read the token file ${file}: ${errorText(e)}`);
      }
    }
    return this.token;
  }

  /** For KubeClient, which is typed against client-node's KubeConfig but uses only the methods above. */
  asKubeConfig(): KubeConfig {
    return this as unknown as KubeConfig;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function named(list: unknown, name: string | undefined, field: string, what: string): Record<string, unknown> {
  const items = Array.isArray(list) ? list : [];
  const entry: unknown = items.find((i: unknown) => isRecord(i) && i['name'] === name);
  if (!isRecord(entry) || !isRecord(entry[field])) throw new Error(`kubeconfig: ${what} ${JSON.stringify(name)} not found`);
  return entry[field];
}

/** Result of parsing a kubeconfig: a light config, or `delegate` when it needs client-node (exec/auth-provider). */
export function parseKubeconfig(text: string, path: string): LightKubeConfig | 'delegate' {
  const doc: unknown = parse(text);
  if (!isRecord(doc)) throw new Error(`kubeconfig ${path}: not a YAML mapping`);
  const contextName = str(doc['current-context']);
  if (contextName === undefined) throw new Error(`kubeconfig ${path}: no current-context`);
  const context = named(doc['contexts'], contextName, 'context', 'context');
  const clusterName = str(context['cluster']);
  const cluster = named(doc['clusters'], clusterName, 'cluster', 'cluster');
  const userName = str(context['user']);
  const user = userName === undefined ? {} : named(doc['users'], userName, 'user', 'user');
  if (user['exec'] !== undefined || user['auth-provider'] !== undefined) return 'delegate';
  const server = str(cluster['server']);
  if (server === undefined) throw new Error(`kubeconfig ${path}: cluster ${JSON.stringify(clusterName)} has no server`);
  const base = dirname(path);
  const file = (p: string): Buffer => readFileSync(isAbsolute(p) ? p : join(base, p));
  const data = (inline: unknown, filePath: unknown): Buffer | undefined => {
    const d = str(inline);
    if (d !== undefined) return Buffer.from(d, 'base64');
    const f = str(filePath);
    return f === undefined ? undefined : file(f);
  };
  const tokenFile = str(user['tokenFile']);
  const creds: Credentials = {
    ...optional('ca', data(cluster['certificate-authority-data'], cluster['certificate-authority'])),
    ...optional('cert', data(user['client-certificate-data'], user['client-certificate'])),
    ...optional('key', data(user['client-key-data'], user['client-key'])),
    ...optional('token', str(user['token'])),
    ...optional('tokenFile', tokenFile === undefined ? undefined : isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile)),
    ...optional('tlsServerName', str(cluster['tls-server-name'])),
  };
  const skip = cluster['insecure-skip-tls-verify'] === true || server.startsWith('http:');
  return new LightKubeConfig({ name: clusterName ?? 'cluster', server, skipTLSVerify: skip }, creds);
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The Pod's service account, as client-go's rest.InClusterConfig. */
export function inClusterConfig(env: Readonly<Record<string, string | undefined>> = process.env, root = SERVICE_ACCOUNT): LightKubeConfig {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (host === undefined || port === undefined) {
    throw new Error('not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset): pass --kubeconfig');
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return new LightKubeConfig(
    { name: 'in-cluster', server: `https://${hostPart}:${port}`, skipTLSVerify: false },
    {
      ca: readFileSync(join(root, 'ca.crt')),
      tokenFile: join(root, 'token'),
    },
  );
}

/** Loads the client configuration: a kubeconfig file, else the in-cluster service account. */
export async function loadClientConfig(kubeconfig: string | undefined): Promise<KubeConfig> {
  if (kubeconfig === undefined) return inClusterConfig().asKubeConfig();
  // KUBECONFIG may list several files (path-list syntax): the first one that exists is used.
  const candidates = kubeconfig.split(':').filter((p) => p !== '');
  const path = candidates.find((p) => existsSync(p)) ?? kubeconfig;
  const parsed = parseKubeconfig(readFileSync(path, 'utf8'), path);
  if (parsed !== 'delegate') return parsed.asKubeConfig();
  const { loadKubeConfig } = await import('./config.js');
  return loadKubeConfig({ kubeconfig: path });
}
