// The lab's edge: running iproute2 and friends, detached processes, HTTP probes inside namespaces.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';

export class CommandError extends Error {}

export interface RunOptions {
  allowFail?: boolean;
  timeoutMs?: number;
  input?: string;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; throws a CommandError naming it (and its stderr) unless allowFail. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 15_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  const res: RunResult = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (r.error && !opts.allowFail) throw new CommandError(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) {
    throw new CommandError(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(res.stderr || res.stdout).trim()}`);
  }
  return res;
}

/** Async variant (does not block the event loop, e.g. while a neighbour monitor is being read). */
export function runAsync(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ status: null, stdout, stderr: stderr + e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, stdout, stderr });
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the program may exit without reading its input
      child.stdin.end(opts.input);
    }
  });
}

export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function ip(args: string[], opts: RunOptions = {}): RunResult {
  return run('ip', args, opts);
}

export function nsExec(ns: string, cmd: string, args: string[], opts: RunOptions = {}): RunResult {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

export function listNetns(): string[] {
  const r = run('ip', ['netns', 'list'], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/**
 * Prefixes `<stem><pid><suffix>` of labs whose creating process is dead (never this process): their
 * namespaces or state directories under `stateRoot` were left behind, for example by a killed test run.
 * `suffix` is a regular-expression fragment (e.g. `e?`).
 */
export function staleLabPrefixes(stem: string, stateRoot = '/run/l2lb-lab', suffix = ''): string[] {
  const name = new RegExp(`^(${stem}(\\d+)${suffix})(?:-|$)`);
  const prefixes = new Set<string>();
  const dirs = existsSync(stateRoot) ? readdirSync(stateRoot) : [];
  for (const candidate of [...listNetns(), ...dirs]) {
    const m = name.exec(candidate);
    if (m?.[1] && Number(m[2]) !== process.pid && !alive(Number(m[2]))) prefixes.add(m[1]);
  }
  return [...prefixes];
}

export function netnsPids(ns: string): number[] {
  const r = run('ip', ['netns', 'pids', ns], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); treat it as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until cond() is truthy; resolves its value, or undefined at the deadline. */
export async function waitFor<T>(
  cond: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs: number; intervalMs?: number },
): Promise<T | undefined> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(opts.intervalMs ?? 100);
  }
}

/** SIGTERM the pids, SIGKILL whatever is left after graceMs. */
export async function stopPids(pids: number[], graceMs = 3000): Promise<void> {
  const live = pids.filter(alive);
  for (const p of live) signal(p, 'SIGTERM');
  await waitFor(() => live.every((p) => !alive(p)), { timeoutMs: graceMs, intervalMs: 50 });
  for (const p of live) if (alive(p)) signal(p, 'SIGKILL');
  await waitFor(() => live.every((p) => !alive(p)), { timeoutMs: 2000, intervalMs: 50 });
}

/**
 * Starts a process inside a network namespace in its own session (setsid), detached from us, with
 * stdout+stderr appended to logFile. `ip netns exec` execs the command, so the pid is the program's.
 */
export function spawnDetached(ns: string, cmd: string, args: string[], logFile: string, marker?: string): number {
  const fd = openSync(logFile, 'a');
  try {
    if (marker !== undefined) writeSync(fd, `${marker}\n`);
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new CommandError(`could not start ${cmd} in ${ns}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * An HTTP/1.0 GET from inside a namespace, using bash's /dev/tcp (no curl needed). Resolves the
 * status code and body, or undefined when nothing answered within timeoutMs.
 */
export async function nsHttpGet(ns: string, host: string, port: number, path: string, timeoutMs = 2000): Promise<{ status: number; body: string } | undefined> {
  const script = `exec 3<>/dev/tcp/${host}/${port} || exit 7; printf 'GET ${path} HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' >&3; cat <&3`;
  const r = await runAsync('ip', ['netns', 'exec', ns, 'timeout', String(Math.max(1, Math.ceil(timeoutMs / 1000))), 'bash', '-c', script], {
    allowFail: true,
    timeoutMs: timeoutMs + 1000,
  });
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(r.stdout);
  if (!m) return undefined;
  const split = r.stdout.indexOf('\r\n\r\n');
  return { status: Number(m[1]), body: split >= 0 ? r.stdout.slice(split + 4) : '' };
}

/** How children this process started ended, by pid ("exit code 1", "signal SIGKILL"). */
const daemonEnds = new Map<number, string>();

/**
 * Records how a child ends, from its own exit event. Reading /proc cannot tell: while a process execs
 * (sh → nsenter → the daemon) its /proc/PID/cmdline reads empty for a moment.
 */
export function trackDaemonEnd(child: ChildProcess, onEnd?: (how: string) => void): void {
  const pid = child.pid;
  if (pid === undefined) return;
  daemonEnds.delete(pid); // a pid used again: an earlier daemon's end is not this one's
  child.on('exit', (code, sig) => {
    const how = sig ? `signal ${sig}` : `exit code ${String(code)}`;
    daemonEnds.set(pid, how);
    onEnd?.(how);
  });
}

/** How a tracked child ended, or undefined while it runs (or was never tracked). */
export function daemonEnd(pid: number): string | undefined {
  return daemonEnds.get(pid);
}
