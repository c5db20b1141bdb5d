// Network-namespace fixtures for integration tests: everything is created under the 'l2n' prefix
// with this process's pid, and removed even when a test fails. Stale objects from dead test
// processes are removed before a run starts. Never touches the host's own interfaces.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

export const PREFIX = 'l2n';

export function run(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 10_000 });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  }
  return (r.stdout ?? '') + (opts.allowFail ? (r.stderr ?? '') : '');
}

export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes the namespaces whose name matches `re` (group 1: the creating pid) when that process is gone. */
export function cleanupStaleMatching(re: RegExp): void {
  const list = run('ip', ['netns', 'list'], { allowFail: true });
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = re.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !alive(pid)) run('ip', ['netns', 'del', name], { allowFail: true });
  }
}

/** Deletes namespaces named l2n<letters><pid>... or l2sr<pid>... whose creating process is gone. */
export function cleanupStale(): void {
  cleanupStaleMatching(/^(?:l2n[a-z]*|l2sr)(\d+)-/);
}

export interface Lan {
  tag: string;
  sw: string;
  ns: Record<string, string>;
  destroy(): void;
}

/**
 * A bridge ("switch") namespace plus one namespace per host, each host with one veth 'eth'
 * name inside (default n0) plugged into the bridge. hosts: role -> { mac, v4, v6 }.
 */
export function createLan(
  kind: string,
  hosts: Record<string, { ifname: string; mac: string; v4?: string; v6?: string }>,
  opts: { mldQuerier?: boolean; prefix?: string } = {},
): Lan {
  const tag = `${opts.prefix ?? PREFIX}${kind}${process.pid}-${randomBytes(2).toString('hex')}`;
  const sw = `${tag}s`;
  const ns: Record<string, string> = {};
  const created: string[] = [];
  const destroy = (): void => {
    for (const n of created.reverse()) run('ip', ['netns', 'del', n], { allowFail: true });
    created.length = 0;
  };
  try {
    run('ip', ['netns', 'add', sw]);
    created.push(sw);
    const snoop = opts.mldQuerier ? ['mcast_snooping', '1', 'mcast_querier', '1'] : ['mcast_snooping', '0'];
    run('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge', ...snoop]);
    run('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    let port = 0;
    for (const [role, h] of Object.entries(hosts)) {
      const name = `${tag}${role}`;
      run('ip', ['netns', 'add', name]);
      created.push(name);
      ns[role] = name;
      const p = `p${port++}`;
      run('ip', ['-n', sw, 'link', 'add', p, 'type', 'veth', 'peer', 'name', h.ifname, 'netns', name]);
      run('ip', ['-n', sw, 'link', 'set', p, 'master', 'br0', 'up']);
      run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', name, 'link', 'set', h.ifname, 'address', h.mac, 'up']);
      if (h.v4) run('ip', ['-n', name, 'addr', 'add', h.v4, 'dev', h.ifname]);
      if (h.v6) run('ip', ['-n', name, 'addr', 'add', h.v6, 'dev', h.ifname, 'nodad']);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return { tag, sw, ns, destroy };
}

export interface JsonLine {
  event: string;
  time?: string;
  [k: string]: unknown;
}

/** A process started inside a namespace, whose JSON stdout lines are collected. */
export class NsProcess {
  readonly lines: JsonLine[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcess;
  exited: number | null | undefined;
  constructor(ns: string, cmd: string, args: string[]) {
    this.child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const v = JSON.parse(line) as JsonLine;
          this.lines.push({ ...v, receivedAt: Date.now() });
        } catch {
          this.lines.push({ event: 'text', text: line, receivedAt: Date.now() });
        }
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => this.stderr.push(d));
    this.child.on('exit', (code) => {
      this.exited = code;
    });
  }
  find(pred: (l: JsonLine) => boolean): JsonLine | undefined {
    return this.lines.find(pred);
  }
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited !== undefined) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(t);
  }
}

export function speakerBin(): string {
  const p = new URL('../../../bin/l2lb-speaker.js', import.meta.url).pathname;
  if (!existsSync(p)) throw new Error(`speaker launcher not found at ${p}`);
  return p;
}

export function nsExec(ns: string, cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

export function neighMac(ns: string, ip: string): { mac: string; state: string } | undefined {
  const out = execFileSync('ip', ['-n', ns, 'neigh', 'show', ip], { encoding: 'utf8' });
  const m = /lladdr ([0-9a-f:]{17})\s+(?:router\s+)?(\w+)/.exec(out);
  return m && m[1] && m[2] ? { mac: m[1], state: m[2] } : undefined;
}
