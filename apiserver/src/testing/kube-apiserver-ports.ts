// Ports for scripts/kube-apiserver.sh in tests, and a start that survives losing one of them.
// etcd and kube-apiserver must be told their ports up front. A port the kernel handed out as "free" (port 0)
// lies in the ephemeral range, where any outgoing connection (the apiserver's own to etcd, a test's client)
// may take it between the check and the bind: a CI run lost etcd's peer port that way. So the ports are
// drawn below the ephemeral range, and a start that still loses the race (the script exits 75) is retried
// on other ports.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface ApiServerPorts {
  /** kube-apiserver's secure port. */
  port: number;
  /** etcd's client port; etcd's peer port is the next one. */
  etcdPort: number;
}

/** The script's exit code when a port was taken (EX_TEMPFAIL). */
export const PORT_CLASH_EXIT = 75;

const LOWEST = 10_000;

/** The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range), 32768 when unreadable. */
export function ephemeralLow(rangeText?: string): number {
  let text = rangeText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    } catch {
      text = '';
    }
  }
  const low = Number(text.trim().split(/\s+/)[0]);
  return Number.isInteger(low) && low > 0 && low <= 65_535 ? low : 32_768;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const s = createServer();
    s.once('error', () => resolveFree(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolveFree(true)));
  });
}

/**
 * Three consecutive loopback ports (apiserver, etcd client, etcd peer), free now and below the ephemeral
 * range when there is room for them there (else anywhere unprivileged).
 */
export async function pickApiServerPorts(opts: { low?: number; isFree?: (port: number) => Promise<boolean> } = {}): Promise<ApiServerPorts> {
  const isFree = opts.isFree ?? portFree;
  const low = opts.low ?? ephemeralLow();
  const [from, to] = low - 3 > LOWEST ? [LOWEST, low - 3] : [1024, 65_533];
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = randomInt(from, to);
    if ((await isFree(base)) && (await isFree(base + 1)) && (await isFree(base + 2))) return { port: base, etcdPort: base + 1 };
  }
  throw new Error(`no three consecutive free loopback ports in ${from}-${to + 2} after 50 tries`);
}

/** True for the script's "a port was taken" failure (exit 75), as execFile reports it. */
export function isPortClash(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === PORT_CLASH_EXIT;
}

/**
 * Runs `start` on freshly picked ports until it does not fail with a port clash (at most `attempts` times).
 * `start` must clean up after its own failure; any other error is thrown at once.
 */
export async function startOnFreshPorts<T>(
  start: (ports: ApiServerPorts) => Promise<T>,
  opts: { attempts?: number; pick?: () => Promise<ApiServerPorts> } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const pick = opts.pick ?? (() => pickApiServerPorts());
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await pick());
    } catch (e) {
      if (!isPortClash(e) || attempt >= attempts) throw e;
    }
  }
}
