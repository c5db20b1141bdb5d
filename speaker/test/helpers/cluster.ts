// A speaker test cluster in network namespaces: a bridge, the embedded API server in `cp`, hosts
// for speakers (and a client, a Go memberlist peer...), a memberlist secret, `l2lb-speaker run`
// processes and kubectl. Used by the IPv6 and the Go-interop integration tests; everything is
// named <prefix><kind><pid>-<random>... and removed by destroy(), also after a failed test.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NsProcess, cleanupStaleMatching, createLan, nsExec, speakerBin, type JsonLine, type Lan } from './netns.js';
import { waitFor } from './wait.js';

const API_MAIN = fileURLToPath(new URL('./apiserver-main.js', import.meta.url));

/** Deletes namespaces named <prefix><letters><pid>-... whose creating process is gone. */
export function cleanupStalePrefix(prefix: string): void {
  cleanupStaleMatching(new RegExp(`^${prefix}[a-z]*(\\d+)-`));
}

// The Go memberlist peer (hashicorp/memberlist from Debian), built on demand into the cache.
export { ensureMlpeer, mlpeerPath } from '@l2lb/memberlist/testing/procs';

export interface HostSpec {
  mac: string;
  v4?: string;
  v6?: string;
}

export interface ClusterOptions {
  prefix: string;
  kind: string;
  /** role -> addresses; must contain `cp` (its v4 address serves the API). */
  hosts: Record<string, HostSpec>;
  mldQuerier?: boolean;
  namespace?: string;
}

export class SpeakerCluster {
  readonly lan: Lan;
  readonly dir: string;
  readonly secret: string;
  readonly namespace: string;
  readonly procs = new Map<string, NsProcess>();
  private api: NsProcess | undefined;

  constructor(private readonly options: ClusterOptions) {
    this.namespace = options.namespace ?? 'l2lb-system';
    const hosts: Record<string, { ifname: string; mac: string; v4?: string; v6?: string }> = {};
    for (const [role, h] of Object.entries(options.hosts)) hosts[role] = { ifname: 'eth0', ...h };
    this.lan = createLan(options.kind, hosts, { prefix: options.prefix, mldQuerier: options.mldQuerier ?? false });
    this.dir = mkdtempSync(join(tmpdir(), `${options.prefix}-`));
    mkdirSync(join(this.dir, 'ml'));
    // As MetalLB's controller makes it: 16 random bytes, base64 without padding (22 characters).
    this.secret = randomBytes(16).toString('base64').replace(/=+$/, '');
    writeFileSync(join(this.dir, 'ml', 'secretkey'), this.secret);
  }

  ns(role: string): string {
    return this.lan.ns[role] ?? assert.fail(`no namespace ${role}`);
  }

  get kubeconfig(): string {
    return join(this.dir, 'kubeconfig');
  }

  /** Port of `role` on the bridge (createLan numbers them p0, p1... in host order). */
  bridgePort(role: string): string {
    return `p${Object.keys(this.options.hosts).indexOf(role)}`;
  }

  async startApi(): Promise<void> {
    const host = this.options.hosts['cp']?.v4?.split('/')[0] ?? assert.fail('cp needs an IPv4 address');
    const api = new NsProcess(this.ns('cp'), process.execPath, [API_MAIN, host, '6443', this.kubeconfig]);
    this.api = api;
    await waitFor(() => api.lines.some((l) => String(l['text']).startsWith('serving')) || api.exited !== undefined, {
      timeoutMs: 15_000,
      what: 'the API server',
    });
    assert.equal(api.exited, undefined, `API server exited: ${api.stderr.join('')}`);
  }

  kubectl(args: string[], opts: { allowFail?: boolean } = {}): string {
    return nsExec(this.ns('cp'), 'kubectl', ['--kubeconfig', this.kubeconfig, ...args], { timeoutMs: 20_000, ...opts });
  }

  create(name: string, obj: unknown): void {
    const file = join(this.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(obj));
    this.kubectl(['create', '--validate=false', '-f', file]);
  }

  /** Namespace, ConfigMap `config` with one layer-2 pool, and a Node object per name. */
  createBase(poolAddresses: string[], nodes: readonly string[]): void {
    const config = `address-pools:\n- name: pool\n  protocol: layer2\n  addresses:\n${poolAddresses.map((a) => `  - ${a}\n`).join('')}`;
    this.create('base', {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: this.namespace }, data: { config } },
        ...nodes.map((n) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: n, labels: { 'kubernetes.io/hostname': n } } })),
      ],
    });
  }

  /** A LoadBalancer Service with one ready endpoint on `endpointNode` and status ingress `ips` (in that order). */
  createService(name: string, ips: string[], endpointNode: string): void {
    this.create(`svc-${name}`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: {
        type: 'LoadBalancer',
        selector: { app: name },
        ports: [{ port: 80, protocol: 'TCP' }],
        ...(ips.length > 1 ? { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ips.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4')) } : {}),
      },
    });
    this.create(`slice-${name}`, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ port: 80, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.213.0.50'], nodeName: endpointNode, conditions: { ready: true } }],
    });
    this.setServiceStatus(name, { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } });
  }

  /**
   * Writes a Service's status with a PUT on /status (`replace --raw`): `patch --subresource=status` needs
   * kubectl >= 1.24, Debian bookworm ships 1.20. Unconditional (no resourceVersion), like the merge patch was.
   */
  setServiceStatus(name: string, status: unknown): void {
    const svc = JSON.parse(this.kubectl(['get', 'service', name, '-n', 'default', '-o', 'json'])) as { metadata: Record<string, unknown> };
    delete svc.metadata['resourceVersion'];
    const file = join(this.dir, `status-${name}.json`);
    writeFileSync(file, JSON.stringify({ ...svc, status }));
    this.kubectl(['replace', '--raw', `/api/v1/namespaces/default/services/${name}/status`, '-f', file]);
  }

  /** `l2lb-speaker run` as node `name` in namespace `name`, memberlist on `bind`, joining `join`. */
  startSpeaker(name: string, bind: string, join: string[], extra: string[] = []): NsProcess {
    const p = new NsProcess(this.ns(name), process.execPath, [
      speakerBin(),
      'run',
      '--node-name',
      name,
      '--namespace',
      this.namespace,
      '--kubeconfig',
      this.kubeconfig,
      '--ml-bind-addr',
      bind,
      '--ml-join',
      join.join(','),
      '--ml-labels',
      '',
      '--ml-secret-key-path',
      `${this.dir}/ml`,
      '--metrics-port',
      '0',
      ...extra,
    ]);
    this.procs.set(name, p);
    return p;
  }

  /** Any other process in a host's namespace (kept for the cleanup and the failure dump). */
  startProcess(label: string, role: string, cmd: string, args: string[]): NsProcess {
    const p = new NsProcess(this.ns(role), cmd, args);
    this.procs.set(label, p);
    return p;
  }

  lines(name: string, message: string): JsonLine[] {
    return (this.procs.get(name)?.lines ?? []).filter((l) => l['message'] === message);
  }

  /** Every speaker in `names` has logged a memberlist join of every other name in `members`. */
  joinedAll(names: readonly string[], members: readonly string[]): boolean {
    return names.every((n) => {
      const joined = new Set(
        this.lines(n, 'memberlist')
          .filter((l) => l['event'] === 'join')
          .map((l) => l['member']),
      );
      return members.every((m) => m === n || joined.has(m));
    });
  }

  dump(): void {
    for (const [n, p] of this.procs) {
      process.stderr.write(
        `--- ${n} (exit ${String(p.exited)})\n${p.lines
          .slice(-40)
          .map((l) => JSON.stringify(l))
          .join('\n')}\n${p.stderr.join('').slice(-2000)}\n`,
      );
    }
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.stop(1000)));
    await this.api?.stop(1000);
    this.lan.destroy();
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
