// Starting scripts/kube-apiserver.sh (etcd + a real kube-apiserver v1.20) for the tests: ports below the
// ephemeral range, a fresh start on other ports when one is taken anyway, and a start that cleans up and
// says what to install when it fails. Used by the kube conformance tier, the manifest tests and the
// controller's process tests.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isPortClash, startOnFreshPorts, type ApiServerPorts } from './kube-apiserver-ports.js';

const run = promisify(execFile);

export interface StartedApiServer {
  kubeconfig: string;
  server: string;
  dir: string;
  /** The script's whole argument list (`script start DIR ...`), to start the apiserver again in DIR. */
  startArgs: string[];
}

/**
 * Starts the script in a new directory `<tmpdir>/<dirPrefix>XXXXXX` and returns its JSON line. Without
 * `ports` (a fresh network namespace, where fixed ports are free) it picks ports and, when one is taken
 * after all (the script exits 75), starts again on others. `wrap` turns `bash script ...` into the command
 * actually run (`ip netns exec ...`). On failure: stops what started, removes the directory, and throws a
 * message naming the script and what to install.
 */
export async function startApiServerScript(
  script: string,
  opts: {
    dirPrefix: string;
    extraArgs?: readonly string[];
    ports?: ApiServerPorts;
    wrap?: (cmd: string, args: readonly string[]) => [string, string[]];
    /** Let the script build a missing binary (~5 min) instead of failing at once (L2LB_KUBE_NO_BUILD=1). */
    build?: boolean;
  },
): Promise<StartedApiServer> {
  const once = async ({ port, etcdPort }: ApiServerPorts): Promise<StartedApiServer> => {
    const dir = mkdtempSync(join(tmpdir(), opts.dirPrefix));
    const extra = opts.extraArgs?.length ? ['--', ...opts.extraArgs] : [];
    const startArgs = [script, 'start', dir, '--port', String(port), '--etcd-port', String(etcdPort), ...extra];
    const [cmd, args] = opts.wrap ? opts.wrap('bash', startArgs) : ['bash', startArgs];
    try {
      const { stdout } = await run(cmd, args, {
        timeout: 120_000,
        maxBuffer: 1 << 20,
        env: opts.build ? process.env : { ...process.env, L2LB_KUBE_NO_BUILD: '1' },
      });
      const info = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { kubeconfig?: string; server?: string };
      if (!info.kubeconfig || !info.server) throw new Error(`no kubeconfig and server in ${stdout}`);
      return { kubeconfig: info.kubeconfig, server: info.server, dir, startArgs };
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      const [stopCmd, stopArgs] = opts.wrap ? opts.wrap('bash', [script, 'stop', dir]) : ['bash', [script, 'stop', dir]];
      await run(stopCmd, stopArgs).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw Object.assign(
        new Error(
          `cannot start the real kube-apiserver (${script} start): ${err.stderr?.trim() || err.message}\n` +
            'Install etcd-server and run scripts/kube-apiserver.sh install (CI does both).',
        ),
        { code: isPortClash(e) ? (e as { code: unknown }).code : undefined },
      );
    }
  };
  return opts.ports ? once(opts.ports) : startOnFreshPorts(once);
}
