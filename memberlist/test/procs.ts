// Child-process helpers for interop tests and the benchmark: the Go peer (mlpeer) and our CLI agent,
// both printing one JSON object per line.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/l2lb-memberlist.js', import.meta.url));
/** The Go peer's source: test tooling in this repository (test/tools/mlpeer/README.md). */
export const MLPEER_SRC = fileURLToPath(new URL('../../../test/tools/mlpeer/', import.meta.url));
/** Where Debian's golang-* packages put Go sources; the peer builds in GOPATH mode against them, offline. */
const DEBIAN_GOPATH = '/usr/share/gocode';

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'l2lb');
}

let sourceHash: string | undefined;
/** Hash of the peer's Go sources, so the cached binary is rebuilt exactly when they change. */
function mlpeerSourceHash(): string {
  if (sourceHash !== undefined) return sourceHash;
  if (!existsSync(MLPEER_SRC)) throw new Error(`cannot build mlpeer: its source ${MLPEER_SRC} is missing`);
  const h = createHash('sha256');
  for (const f of readdirSync(MLPEER_SRC)
    .filter((n) => n.endsWith('.go'))
    .sort()) {
    h.update(f)
      .update('\0')
      .update(readFileSync(join(MLPEER_SRC, f)))
      .update('\0');
  }
  sourceHash = h.digest('hex').slice(0, 16);
  return sourceHash;
}

/** Path of the Go peer binary for the current sources (it may not be built yet: see ensureMlpeer). */
export function mlpeerPath(): string {
  return join(cacheDir(), `mlpeer-${mlpeerSourceHash()}`);
}

/**
 * The Go peer binary, built on first use from test/tools/mlpeer with Debian's golang-go and
 * golang-github-hashicorp-memberlist-dev (memberlist 0.2.2), and cached under
 * ${XDG_CACHE_HOME:-~/.cache}/l2lb/mlpeer-<source hash>.
 */
export function ensureMlpeer(): string {
  const out = mlpeerPath();
  if (existsSync(out)) return out;
  if (!existsSync(join(DEBIAN_GOPATH, 'src/github.com/hashicorp/memberlist'))) {
    throw new Error(
      `cannot build mlpeer: ${DEBIAN_GOPATH}/src/github.com/hashicorp/memberlist not found; install golang-go and golang-github-hashicorp-memberlist-dev (bash scripts/setup-system.sh)`,
    );
  }
  mkdirSync(cacheDir(), { recursive: true });
  // Build under a private name, then rename: concurrent test processes never run a half-written binary.
  const tmp = `${out}.${process.pid}.tmp`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: DEBIAN_GOPATH,
    GOFLAGS: '',
    CGO_ENABLED: '0',
    GOCACHE: process.env.GOCACHE ?? join(cacheDir(), 'go-build'),
  };
  const r = spawnSync('go', ['build', '-o', tmp, '.'], { cwd: MLPEER_SRC, env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0 || !existsSync(tmp)) {
    rmSync(tmp, { force: true });
    const why = r.error !== undefined ? r.error.message : r.stderr.slice(-2000);
    throw new Error(`cannot build mlpeer from ${MLPEER_SRC} (needs golang-go and golang-github-hashicorp-memberlist-dev): ${why}`);
  }
  renameSync(tmp, out);
  return out;
}

export interface JsonEvent {
  ev: string;
  ts?: string;
  node?: { name: string; addr: string; port: number; meta?: string };
  members?: Array<{ name: string }>;
  reason?: string;
  contacted?: number;
  err?: string;
  [k: string]: unknown;
}

export class Peer {
  readonly events: Array<JsonEvent & { at: number }> = [];
  readonly proc: ChildProcess;
  private buf = '';
  stderr = '';
  exited: number | null = null;
  private waiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
  ) {
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        try {
          this.events.push({ ...(JSON.parse(line) as JsonEvent), at: performance.now() });
        } catch {
          // not JSON: ignore
        }
      }
      this.wake();
    });
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.proc.on('exit', (code) => {
      this.exited = code ?? -1;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  find(pred: (e: JsonEvent) => boolean): (JsonEvent & { at: number }) | undefined {
    return this.events.find(pred);
  }

  /** Wait for an event matching pred (already seen or future) with a deadline. */
  async waitEvent(pred: (e: JsonEvent) => boolean, timeoutMs: number, what: string): Promise<JsonEvent & { at: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const e = this.find(pred);
      if (e !== undefined) return e;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; last events: ${JSON.stringify(this.events.slice(-4))}; stderr: ${this.stderr.slice(-800)}`,
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitMembers(names: string[], timeoutMs: number): Promise<void> {
    await this.waitEvent(
      (e) => e.ev === 'members' && names.every((n) => (e.members ?? []).some((m) => m.name === n)) && (e.members ?? []).length === names.length,
      timeoutMs,
      `members = ${names.join(',')}`,
    );
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exited === null) this.proc.kill(sig);
  }

  async waitExit(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (this.exited === null) {
      if (performance.now() > deadline) throw new Error(`${this.name} did not exit within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.exited;
  }
}

export interface PeerOpts {
  name: string;
  bind: string;
  port: number;
  join?: string;
  secret?: string;
  profile?: 'lan' | 'fast';
  membersIntervalMs?: number;
  meta?: string;
  extra?: string[];
}

export function startGo(o: PeerOpts): Peer {
  const args = [
    '--name',
    o.name,
    '--bind',
    o.bind,
    '--port',
    String(o.port),
    '--quiet',
    '--members-interval',
    `${o.membersIntervalMs ?? 500}ms`,
    '--leave-timeout',
    '2s',
  ];
  if (o.join !== undefined) args.push('--join', o.join);
  if (o.secret !== undefined) args.push('--secret', o.secret);
  if (o.meta !== undefined) args.push('--meta', o.meta);
  args.push(...(o.extra ?? []));
  return new Peer(`go:${o.name}`, mlpeerPath(), args);
}

export function startTs(o: PeerOpts): Peer {
  const args = [
    CLI,
    'agent',
    '--name',
    o.name,
    '--bind',
    o.bind,
    '--port',
    String(o.port),
    '--profile',
    o.profile ?? 'fast',
    '--members-interval',
    String(o.membersIntervalMs ?? 500),
    '--leave-timeout',
    '2000',
  ];
  if (o.join !== undefined) args.push('--join', o.join);
  if (o.secret !== undefined) args.push('--secret', o.secret);
  if (o.meta !== undefined) args.push('--meta', o.meta);
  args.push(...(o.extra ?? []));
  return new Peer(`ts:${o.name}`, process.execPath, args);
}
