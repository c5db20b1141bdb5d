// A real kube-apiserver v1.20 (+ etcd) for the manifest tests, through scripts/kube-apiserver.sh, on free
// loopback ports, with kubectl pointed at it. Fails loudly when it cannot start (CI installs etcd and the
// binary); it never skips. With `netns`, everything (etcd, apiserver, kubectl, and processes started through
// exec()) runs inside that network namespace, on its own loopback.

import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { isObj, list, repoRoot } from './load.js';
import { startApiServerScript } from '@l2lb/apiserver/testing/kube-apiserver-script';

const run = promisify(execFile);

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class RealApiServer {
  private constructor(
    readonly dir: string,
    readonly kubeconfig: string,
    readonly netns?: string,
  ) {}

  /** `netns` must exist (with lo up); its ports are all free, so fixed ones are used there. */
  static async start(opts: { netns?: string } = {}): Promise<RealApiServer> {
    const script = join(repoRoot, 'scripts', 'kube-apiserver.sh');
    await removeStale(script);
    // A fresh namespace has every port free, so fixed ones are used there.
    const info = await startApiServerScript(script, {
      dirPrefix: `l2mf-kubeapi-${process.pid.toString(36)}-`,
      ...(opts.netns ? { ports: { port: 26443, etcdPort: 22379 } } : {}),
      wrap: (cmd, args) => inNetns(opts.netns, cmd, args),
    });
    const dir = info.dir;
    return new RealApiServer(dir, info.kubeconfig, opts.netns);
  }

  /** kubectl as the static admin (or with another kubeconfig); never throws on a non-zero exit. */
  kubectl(args: readonly string[], opts: { input?: string; kubeconfig?: string } = {}): Promise<KubectlResult> {
    return new Promise((resolve, reject) => {
      const [cmd, argv] = inNetns(this.netns, 'kubectl', [
        '--kubeconfig',
        opts.kubeconfig ?? this.kubeconfig,
        '--cache-dir',
        join(this.dir, 'kubectl-cache'),
        ...args,
      ]);
      const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(opts.input ?? '');
    });
  }

  async kubectlOk(args: readonly string[], opts: { input?: string; kubeconfig?: string } = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  async getJson(args: readonly string[]): Promise<Record<string, unknown>> {
    const out: unknown = JSON.parse(await this.kubectlOk(['get', ...args, '-o', 'json']));
    if (!isObj(out)) throw new Error(`kubectl get ${args.join(' ')}: not an object`);
    return out;
  }

  /**
   * A kubeconfig that authenticates as a ServiceAccount with a TokenRequest token (Kubernetes 1.20 has no
   * token controller here: the test tier runs no kube-controller-manager, so no token Secret would be filled).
   */
  async serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    const token = (await this.kubectlOk(['create', 'token', name, '-n', namespace, '--duration=1h'])).trim();
    const config: unknown = parse(readFileSync(this.kubeconfig, 'utf8'));
    const users = isObj(config) ? list(config['users'], 'kubeconfig users') : [];
    const user = users[0];
    if (!isObj(user) || !isObj(user['user'])) throw new Error('admin kubeconfig has no user');
    user['name'] = `${namespace}-${name}`;
    user['user'] = { token };
    const contexts = isObj(config) ? list(config['contexts'], 'contexts') : [];
    for (const c of contexts)
      if (isObj(c) && isObj(c['context'])) {
        c['context']['user'] = `${namespace}-${name}`;
        c['context']['namespace'] = namespace;
      }
    const path = join(this.dir, `${namespace}-${name}.kubeconfig`);
    writeFileSync(path, stringify(config), { mode: 0o600 });
    return path;
  }

  async stop(): Promise<void> {
    await run('bash', [join(repoRoot, 'scripts', 'kube-apiserver.sh'), 'stop', this.dir], { timeout: 60_000 }).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Servers of earlier runs whose test process died without its after() hook (l2mf-kubeapi-<pid36>-*):
 * `kube-apiserver.sh stop` ends exactly the etcd/apiserver recorded in that directory.
 */
async function removeStale(script: string): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    const m = /^l2mf-kubeapi-([0-9a-z]+)-/.exec(name);
    if (!m) continue;
    const pid = parseInt(m[1] ?? '', 36);
    if (pid === process.pid || existsSync(`/proc/${pid}`)) continue;
    const dir = join(tmpdir(), name);
    await run('bash', [script, 'stop', dir], { timeout: 60_000 }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The command line that runs `cmd args` in `netns` (or as is). */
export function inNetns(netns: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, [...args]];
}

export async function waitFor(cond: () => boolean | Promise<boolean>, opts: { timeoutMs?: number; intervalMs?: number; what: string }): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs ?? 10_000} ms waiting for ${opts.what}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
