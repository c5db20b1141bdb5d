// Shared helpers of the kube tests: waiting for conditions, free ports, and the two API server targets
// (the embedded one in-process, and a real kube-apiserver v1.20 started through scripts/kube-apiserver.sh).

import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EmbeddedApiServer, type ApiServerOptions } from '@l2lb/apiserver';
import { KubeClient } from '@l2lb/shared/kube/client';
import { loadKubeConfig } from '@l2lb/shared/kube/config';
import { resourcePath, Resources } from '@l2lb/shared/kube/types';
import { startApiServerScript } from '@l2lb/apiserver/testing/kube-apiserver-script';

const run = promisify(execFile);

export async function waitFor(cond: () => boolean | Promise<boolean>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs ?? 5000} ms waiting for ${opts.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 10));
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** The repository root (test/dist/test/kube → ../../../..). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

export interface Target {
  kind: 'embedded' | 'real';
  client: KubeClient;
  /** A resourceVersion the server no longer has history for (a watch from it gets 410). */
  expiredResourceVersion(): Promise<string>;
  /** The embedded server (undefined for the real one). */
  embedded?: EmbeddedApiServer;
  /** Stops the API server (connections drop), then starts it again on the same port with the same data. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function embeddedTarget(opts: ApiServerOptions = {}): Promise<Target> {
  let server = new EmbeddedApiServer({ bookmarkIntervalMs: 200, ...opts });
  const url = await server.start();
  const client = new KubeClient(
    loadKubeConfig({
      server: url,
      ...(opts.tokens?.[0] ? { token: opts.tokens[0] } : {}),
      ...(opts.tls ? { caData: opts.tls.cert } : {}),
    }),
    { timeoutMs: 5000 },
  );
  const target: Target = {
    kind: 'embedded',
    client,
    embedded: server,
    restart: async () => {
      const port = server.port;
      await server.close();
      server = new EmbeddedApiServer({ bookmarkIntervalMs: 200, ...opts, api: server.api, port });
      await server.start();
      target.embedded = server;
    },
    expiredResourceVersion: async () => {
      server.compact();
      return String(server.api.store.resourceVersion - 1);
    },
    close: () => server.close(),
  };
  return target;
}

/**
 * Starts etcd + kube-apiserver v1.20 on free loopback ports through scripts/kube-apiserver.sh. Fails with a
 * clear message when the binary or etcd is missing (CI installs them; see the script's help).
 */
export async function realTarget(): Promise<Target> {
  const script = join(repoRoot, 'scripts', 'kube-apiserver.sh');
  // ConfigMaps bypass the watch cache and etcd is compacted every 2 s, so an old resourceVersion really
  // expires (the 1.20 watch cache alone keeps thousands of events).
  const info = await startApiServerScript(script, {
    dirPrefix: 'l2lb-kubeapi-',
    extraArgs: ['--watch-cache-sizes=configmaps#0', '--etcd-compaction-interval=2s'],
  });
  const { dir, startArgs } = info;
  const client = new KubeClient(loadKubeConfig({ kubeconfig: info.kubeconfig }), { timeoutMs: 10_000 });
  return {
    kind: 'real',
    client,
    restart: async () => {
      // Crash only the apiserver (etcd keeps the data); start brings it back with the same token and certs.
      const pid = Number(readFileSync(join(dir, 'apiserver.pid'), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      await waitFor(
        () => {
          try {
            return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z';
          } catch {
            return true;
          }
        },
        { timeoutMs: 10_000, what: `kube-apiserver pid ${pid} to exit` },
      );
      await run('bash', startArgs, { timeout: 120_000, maxBuffer: 1 << 20, env: { ...process.env, L2LB_KUBE_NO_BUILD: '1' } });
    },
    expiredResourceVersion: async () => {
      const cm = Resources.configMaps;
      const { resourceVersion } = await client.list(cm, { namespace: 'default', limit: 1 });
      await client.create(cm, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'expire-' } });
      let expired = false;
      await waitFor(
        async () => {
          await client.stream(resourcePath(cm, 'default'), { watch: 1, resourceVersion, timeoutSeconds: 1 }, (ev) => {
            if (ev['type'] === 'ERROR') expired = true;
          });
          return expired;
        },
        { timeoutMs: 20_000, intervalMs: 500, what: `etcd to compact resourceVersion ${resourceVersion}` },
      );
      return resourceVersion;
    },
    close: async () => {
      await run('bash', [script, 'stop', dir], { timeout: 60_000 }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
