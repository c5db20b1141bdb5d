// Test environment for the controller process: an API server (the embedded one in-process, or the real
// kube-apiserver through scripts/kube-apiserver.sh), a client, and the real l2lb-controller process.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeClient, isApiError } from '@l2lb/shared/kube/client';
import { loadKubeConfig } from '@l2lb/shared/kube/config';
import { Informer } from '@l2lb/shared/kube/informer';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { Api, EmbeddedApiServer, metallbCrds as embeddedMetallbCrds, renderKubeconfig, Store } from '@l2lb/apiserver';
import { freePort } from '@l2lb/apiserver/testing/free-port';
import { startApiServerScript } from '@l2lb/apiserver/testing/kube-apiserver-script';
import { waitFor } from './helpers.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** controller/dist/test → repository root. */
export const repoRoot = resolve(here, '..', '..', '..');
const controllerBin = join(repoRoot, 'controller', 'bin', 'l2lb-controller.js');

export interface ApiTarget {
  readonly kind: 'embedded' | 'real';
  readonly client: KubeClient;
  readonly kubeconfig: string;
  /** Counts write requests (PATCH/PUT) to Service status so far (embedded only; undefined for real). */
  serviceWrites(): number | undefined;
  /** Counts requests whose path matches (embedded only; undefined for real). */
  requestsTo?(path: RegExp): number;
  close(): Promise<void>;
}

/** CustomResourceDefinition bodies of the metallb.io kinds (for a server started with `metallbBuiltin: false`). */
export async function metallbCrds(): Promise<KubeObject[]> {
  return embeddedMetallbCrds();
}

/** `metallbBuiltin: false`: the metallb.io kinds are served only once their CRDs are created (as on a real server). */
export async function embeddedTarget(opts: { metallbBuiltin?: boolean } = {}): Promise<ApiTarget> {
  const historyLimit = 50_000;
  const api = opts.metallbBuiltin === false ? { api: new Api(new Store(historyLimit), { metallbBuiltin: false }) } : {};
  const server = new EmbeddedApiServer({ port: 0, logRequests: true, historyLimit, ...api });
  const url = await server.start();
  const dir = mkdtempSync(join(tmpdir(), 'l2lb-ctl-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, renderKubeconfig({ server: url }));
  return {
    kind: 'embedded',
    client: new KubeClient(loadKubeConfig({ server: url }), { timeoutMs: 10_000 }),
    kubeconfig,
    serviceWrites: () => server.requests.filter((r) => (r.method === 'PATCH' || r.method === 'PUT') && /\/services\/[^/]+(\/status)?$/.test(r.path)).length,
    requestsTo: (path) => server.requests.filter((r) => path.test(r.path)).length,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const realServerScript = join(repoRoot, 'scripts', 'kube-apiserver.sh');

/** The real kube-apiserver tier, started by the kube engineer's script (etcd + kube-apiserver v1.20). */
export async function realTarget(): Promise<ApiTarget> {
  // build: as it always did, this tier lets the script build a missing binary (the other tiers fail at once).
  const { dir, kubeconfig } = await startApiServerScript(realServerScript, { dirPrefix: 'l2lb-ctl-kubeapi-', build: true });
  const info = { kubeconfig };
  return {
    kind: 'real',
    client: new KubeClient(loadKubeConfig({ kubeconfig: info.kubeconfig }), { timeoutMs: 10_000 }),
    kubeconfig: info.kubeconfig,
    serviceWrites: () => undefined,
    close: async () => {
      await run('bash', [realServerScript, 'stop', dir], { timeout: 60_000 }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export class ControllerProcess {
  readonly logs: Record<string, unknown>[] = [];
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly proc: ChildProcess,
    readonly metricsPort: number,
  ) {
    let buffer = '';
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ message: line });
        }
        nl = buffer.indexOf('\n');
      }
    });
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.logs.push({ stderr: chunk }));
    this.exited = new Promise((res) =>
      proc.once('exit', (code) => {
        this.exitCode = code;
        res(code);
      }),
    );
  }

  static async start(target: ApiTarget, extraArgs: string[] = []): Promise<ControllerProcess> {
    const port = await freePort();
    const proc = spawn(
      process.execPath,
      [
        controllerBin,
        '--kubeconfig',
        target.kubeconfig,
        '--namespace',
        'l2lb-system',
        '--metrics-port',
        String(port),
        '--metrics-host',
        '127.0.0.1',
        '--log-level',
        'debug',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const c = new ControllerProcess(proc, port);
    return c;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  async get(path: string): Promise<{ status: number; text: string }> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`);
    return { status: res.status, text: await res.text() };
  }

  /** A metric's value (sum over the series matching `labels`), or undefined. */
  async metric(name: string, labels = ''): Promise<number | undefined> {
    const { text } = await this.get('/metrics');
    let sum: number | undefined;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
      if (labels !== '' && !rest.includes(labels)) continue;
      sum = (sum ?? 0) + Number(line.split(' ').pop());
    }
    return sum;
  }

  async waitReady(timeoutMs = 10_000): Promise<void> {
    await waitFor(async () => this.running && (await this.get('/readyz')).status === 200, { timeoutMs, what: 'controller /readyz', intervalMs: 50 });
  }

  /** Sends a signal and resolves with the exit code. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`controller did not exit ${timeoutMs} ms after ${signal}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---- small API helpers ----

export function configMap(poolsYaml: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: 'l2lb-system' }, data: { config: poolsYaml } };
}

export function pool(name: string, addresses: string[]): string {
  return `address-pools:\n- name: ${name}\n  protocol: layer2\n  addresses: [${addresses.join(', ')}]\n`;
}

export function lbService(name: string, namespace: string, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], ...extra } };
}

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
}

export async function putConfigMap(client: KubeClient, text: string): Promise<void> {
  try {
    await client.create(Resources.configMaps, 'l2lb-system', configMap(text));
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
    await client.patch(Resources.configMaps, 'l2lb-system', 'config', { data: { config: text } }, 'merge');
  }
}

export interface SvcState {
  ips: string[];
  pool: string | undefined;
  condition: { status: string; reason?: string; message?: string } | undefined;
}

export async function serviceState(client: KubeClient, namespace: string, name: string): Promise<SvcState> {
  const svc = await client.get(Resources.services, namespace, name);
  const status = svc['status'] as
    { loadBalancer?: { ingress?: { ip?: string }[] }; conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined;
  return {
    ips: (status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ''),
    pool: svc.metadata?.annotations?.['metallb.io/ip-allocated-from-pool'],
    condition: (status?.conditions ?? []).find((c) => c.type === 'l2lb.io/Allocated'),
  };
}

/** Events (events.k8s.io/v1 or core/v1) about an object, as "type reason: message". */
export async function eventsFor(client: KubeClient, namespace: string, kind: string, name: string): Promise<string[]> {
  const out = new Map<string, string>();
  for (const r of [Resources.events, Resources.coreEvents]) {
    let items: KubeObject[] = [];
    try {
      items = (await client.list(r, { namespace })).items;
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
    }
    for (const e of items) {
      const ref = (e['regarding'] ?? e['involvedObject']) as { kind?: string; name?: string } | undefined;
      if (ref?.kind === kind && ref.name === name)
        out.set(e.metadata?.name ?? String(out.size), `${String(e['type'])} ${String(e['reason'])}: ${String(e['note'] ?? e['message'])}`);
    }
  }
  return [...out.values()];
}

export { existsSync };

/**
 * Watches Services and records every state the API server reports (each watch event, not samples), so a
 * test can assert that an IP never changed, not even for a moment between two polls.
 */
export class ServiceWatch {
  /** Per Service key, each distinct state seen, in order ("ips|pool"). */
  readonly history = new Map<string, string[]>();
  private readonly informer: Informer<KubeObject>;

  constructor(client: KubeClient, namespace?: string) {
    this.informer = new Informer(client, { resource: Resources.services, name: 'test-service-watch', ...(namespace !== undefined ? { namespace } : {}) });
    const record = (o: KubeObject, gone = false): void => {
      const key = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
      const status = o['status'] as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined;
      const ips = (status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').join(',');
      const state = gone ? '<deleted>' : `${ips}|${o.metadata?.annotations?.['metallb.io/ip-allocated-from-pool'] ?? ''}`;
      const seen = this.history.get(key) ?? [];
      if (seen[seen.length - 1] !== state) seen.push(state);
      this.history.set(key, seen);
    };
    this.informer
      .on('add', (o) => record(o))
      .on('update', (o) => record(o))
      .on('delete', (o) => record(o, true));
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** Services whose state changed after the watch started, with what was seen. */
  changed(): string[] {
    return [...this.history].filter(([, seen]) => seen.length > 1).map(([key, seen]) => `${key}: ${seen.map((s) => JSON.stringify(s)).join(' → ')}`);
  }
}
