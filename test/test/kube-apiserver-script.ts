// Starting scripts/kube-apiserver.sh (etcd + a real kube-apiserver v1.20) for the tests: free ports and a
// start that cleans up and says what to install when it fails. Used by the kube conformance tier and the
// manifest tests.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { freePort } from '@l2lb/apiserver/testing/free-port';

const run = promisify(execFile);

async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** An API port and an etcd client port (etcd also takes the next one, for peers), all free on loopback. */
export async function pickApiServerPorts(): Promise<{ port: number; etcdPort: number }> {
  let port = 0;
  let etcdPort = 0;
  for (let i = 0; i < 20; i++) {
    port = await freePort();
    etcdPort = await freePort();
    const peer = etcdPort + 1;
    if (port !== etcdPort && port !== peer && (await portFree(peer))) break;
  }
  return { port, etcdPort };
}

/**
 * Runs `cmd args` (the script's `start DIR ...`, maybe through `ip netns exec`) and returns its JSON line.
 * On failure: stops what started, removes `dir`, and throws a message naming the script and what to install.
 */
export async function startApiServerScript(script: string, dir: string, cmd: string, args: readonly string[]): Promise<{ kubeconfig: string; server: string }> {
  try {
    const { stdout } = await run(cmd, [...args], { timeout: 120_000, maxBuffer: 1 << 20, env: { ...process.env, L2LB_KUBE_NO_BUILD: '1' } });
    const info = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { kubeconfig?: string; server?: string };
    if (!info.kubeconfig || !info.server) throw new Error(`no kubeconfig and server in ${stdout}`);
    return { kubeconfig: info.kubeconfig, server: info.server };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    await run('bash', [script, 'stop', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `cannot start the real kube-apiserver (${script} start): ${err.stderr?.trim() || err.message}\n` +
        'Install etcd-server and run scripts/kube-apiserver.sh install (CI does both).',
    );
  }
}
