// The lab's operations: up, down, kill, revive, kubectl, status. Everything lives in network
// namespaces named <prefix>-*, processes run detached with logs and pids in the state directory.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import {
  allNamespaces,
  apiserverArgs,
  bootstrapObjects,
  controllerArgs,
  defaultStateDir,
  findNode,
  isLabNamespace,
  planLab,
  speakerArgs,
  API_PORT,
  METRICS_PORT,
  type HostPlan,
  type LabPlan,
  type MlProfile,
  type NodePlan,
} from './plan.js';
import {
  buildStatus,
  failoverPhases,
  parseAnnouncedGauge,
  parseNeigh,
  parseServiceList,
  parseSpeakerLog,
  START_MARKER,
  type FailoverPhases,
  type LabStatus,
  type NodeInput,
} from './status.js';
import { alive, have, ip, isRoot, listNetns, netnsPids, nsExec, nsHttpGet, run, signal, spawnDetached, stopPids, waitFor } from './sys.js';

/** A failure with a message meant for the operator (no stack trace). */
export class LabError extends Error {}

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const BIN = {
  l2lb: join(ROOT, 'lab/bin/l2lb.js'),
  controller: join(ROOT, 'controller/bin/l2lb-controller.js'),
  speaker: join(ROOT, 'speaker/bin/l2lb-speaker.js'),
  kubectlL2lb: join(ROOT, 'lab/bin/kubectl-l2lb.js'),
};

export type Say = (line: string) => void;

interface LabFile {
  prefix: string;
  nodes: number;
  mlProfile: MlProfile;
  createdAt: string;
}

export function requireRoot(what: string): void {
  if (!isRoot()) throw new LabError(`needs root: the lab works in network namespaces and answers ARP from raw sockets; run \`sudo l2lb lab ${what} ...\``);
  const missing = ['ip', 'kubectl', 'bash', 'timeout'].filter((t) => !have(t));
  if (missing.length > 0) throw new LabError(`missing tools: ${missing.join(', ')} (bash scripts/setup-system.sh installs them)`);
}

function stateDirOf(prefix: string, stateDir?: string): string {
  return stateDir ?? defaultStateDir(prefix);
}

/** The plan of an existing lab, from its state directory. */
export function loadLab(prefix: string, stateDir?: string): { plan: LabPlan; file: LabFile } {
  const dir = stateDirOf(prefix, stateDir);
  const path = join(dir, 'lab.json');
  if (!existsSync(path)) throw new LabError(`no lab "${prefix}" here (${path} is missing); start one with: l2lb lab up --prefix ${prefix}`);
  const file = JSON.parse(readFileSync(path, 'utf8')) as LabFile;
  return { plan: planLab({ prefix, nodes: file.nodes, stateDir: dir }), file };
}

function pidFile(plan: LabPlan, name: string): string {
  return join(plan.stateDir, 'pids', `${name}.pid`);
}

export function logFile(plan: LabPlan, name: string): string {
  return join(plan.stateDir, 'logs', `${name}.log`);
}

/**
 * Whether pid is a live process this lab started: every lab process has the state directory in its
 * arguments (its kubeconfig). Guards against a pid file whose process is gone and whose pid was reused.
 */
export function isLabProcess(pid: number, stateDir: string): boolean {
  if (!alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .some((a) => a.startsWith(`${stateDir}/`));
  } catch {
    return false;
  }
}

/** The pid of a process the lab started under this name, if it still runs. */
export function readPid(plan: LabPlan, name: string): number | undefined {
  try {
    const n = Number(readFileSync(pidFile(plan, name), 'utf8').trim());
    return Number.isInteger(n) && n > 0 && isLabProcess(n, plan.stateDir) ? n : undefined;
  } catch {
    return undefined;
  }
}

function tail(path: string, lines = 8): string {
  try {
    const all = readFileSync(path, 'utf8').trimEnd().split('\n');
    return all
      .slice(-lines)
      .map((l) => `    ${l}`)
      .join('\n');
  } catch {
    return '    (no log)';
  }
}

/** Whether the speaker process supports `run` (the contract's Kubernetes mode). */
export function speakerHasRun(): boolean {
  if (!existsSync(BIN.speaker)) return false;
  const r = spawnSync(process.execPath, [BIN.speaker, 'run', '--help'], { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 && `${r.stdout}${r.stderr}`.includes('--node-name');
}

function addHost(plan: LabPlan, h: HostPlan): void {
  ip(['netns', 'add', h.ns]);
  ip(['-n', plan.sw, 'link', 'add', h.swPort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
  ip(['-n', plan.sw, 'link', 'set', h.swPort, 'master', 'br0', 'up']);
  ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
  ip(['-n', h.ns, 'link', 'set', 'eth0', 'address', h.mac, 'up']);
  ip(['-n', h.ns, 'addr', 'add', `${h.ip}/${plan.prefixLength}`, 'dev', 'eth0']);
}

export function buildNetwork(plan: LabPlan): void {
  ip(['netns', 'add', plan.sw]);
  ip(['-n', plan.sw, 'link', 'set', 'lo', 'up']);
  ip(['-n', plan.sw, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
  ip(['-n', plan.sw, 'link', 'set', 'br0', 'up']);
  for (const h of [plan.cp, plan.client, ...plan.nodes]) addHost(plan, h);
}

export function startSpeaker(plan: LabPlan, node: NodePlan, mlProfile: MlProfile): number {
  const pid = spawnDetached(
    node.ns,
    process.execPath,
    [BIN.speaker, ...speakerArgs(plan, node, { mlProfile })],
    logFile(plan, node.name),
    JSON.stringify({ message: START_MARKER, node: node.name, time: new Date().toISOString() }),
  );
  writeFileSync(pidFile(plan, node.name), `${pid}\n`);
  return pid;
}

async function httpOk(ns: string, host: string, port: number, path: string): Promise<boolean> {
  const r = await nsHttpGet(ns, host, port, path, 1500);
  return r?.status === 200;
}

/** Waits for a detached process to answer 200 on a path; fails naming it (with its log tail) otherwise. */
async function waitHealthy(plan: LabPlan, name: string, ns: string, host: string, port: number, path: string, deadline: number): Promise<void> {
  const pid = readPid(plan, name);
  const ok = await waitFor(
    async () => {
      if (pid !== undefined && !alive(pid)) return 'died';
      return (await httpOk(ns, host, port, path)) ? 'ok' : undefined;
    },
    { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 200 },
  );
  if (ok === 'ok') return;
  const why = ok === 'died' ? 'exited' : `did not answer 200 on http://${host}:${port}${path} in time`;
  throw new LabError(`${name} ${why}; last lines of ${logFile(plan, name)}:\n${tail(logFile(plan, name))}`);
}

export function kubectl(plan: LabPlan, args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}): string {
  const r = nsExec(plan.cp.ns, 'kubectl', ['--kubeconfig', join(plan.stateDir, 'kubeconfig'), ...args], {
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    allowFail: opts.allowFail ?? false,
    timeoutMs: opts.timeoutMs ?? 20_000,
  });
  return r.status === 0 ? r.stdout : '';
}

/** Applies Kubernetes objects (as JSON documents in a List) through the lab's kubectl. */
export function apply(plan: LabPlan, objects: Record<string, unknown>[]): string {
  return kubectl(plan, ['apply', '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });
}

export interface UpOptions {
  prefix: string;
  stateDir?: string;
  nodes: number;
  mlProfile: MlProfile;
  timeoutMs: number;
  say?: Say;
}

export async function up(opts: UpOptions): Promise<LabPlan> {
  requireRoot('up');
  const say = opts.say ?? (() => undefined);
  const plan = planLab({ prefix: opts.prefix, nodes: opts.nodes, stateDir: stateDirOf(opts.prefix, opts.stateDir) });
  const existing = listNetns().filter((n) => isLabNamespace(plan.prefix, n));
  if (existing.length > 0 || existsSync(plan.stateDir)) {
    const what = existing.length > 0 ? `namespaces ${existing.join(', ')} exist` : `${plan.stateDir} exists`;
    throw new LabError(`prefix "${plan.prefix}" is in use (${what}); run \`l2lb lab down --prefix ${plan.prefix}\` first`);
  }
  const deadline = Date.now() + opts.timeoutMs;
  const withSpeakers = speakerHasRun();
  try {
    for (const d of ['logs', 'pids', 'ml']) mkdirSync(join(plan.stateDir, d), { recursive: true, mode: 0o700 });
    const file: LabFile = { prefix: plan.prefix, nodes: plan.nodes.length, mlProfile: opts.mlProfile, createdAt: new Date().toISOString() };
    writeFileSync(join(plan.stateDir, 'lab.json'), `${JSON.stringify(file, null, 2)}\n`);
    // MetalLB's speakers read the memberlist key from a mounted Secret; the lab writes it as a file.
    writeFileSync(join(plan.stateDir, 'ml', 'secretkey'), randomBytes(16).toString('base64').replace(/=+$/, ''), { mode: 0o600 });

    say(`network: switch ${plan.sw} (bridge br0), ${allNamespaces(plan).length - 1} hosts on ${plan.subnet}`);
    buildNetwork(plan);

    say(`API server: ${plan.apiUrl} in ${plan.cp.ns}`);
    const apiPid = spawnDetached(plan.cp.ns, process.execPath, [BIN.l2lb, ...apiserverArgs(plan)], logFile(plan, 'apiserver'));
    writeFileSync(pidFile(plan, 'apiserver'), `${apiPid}\n`);
    await waitHealthy(plan, 'apiserver', plan.cp.ns, plan.cp.ip, API_PORT, '/version', deadline);
    apply(plan, bootstrapObjects(plan));
    // Node status is a subresource: set the addresses explicitly in case create dropped them. A PUT on
    // /status (replace --raw) rather than `patch --subresource=status`, which kubectl < 1.24 (Debian
    // bookworm ships 1.20) does not have.
    for (const n of plan.nodes) {
      const o = bootstrapObjects(plan).find((x) => (x['metadata'] as { name?: string }).name === n.name && x['kind'] === 'Node');
      kubectl(plan, ['replace', '--raw', `/api/v1/nodes/${n.name}/status`, '-f', '-'], { input: JSON.stringify(o) });
    }

    say(`controller: l2lb-controller in ${plan.cp.ns}, metrics http://${plan.cp.ip}:${METRICS_PORT}/metrics`);
    const ctlPid = spawnDetached(plan.cp.ns, process.execPath, [BIN.controller, ...controllerArgs(plan)], logFile(plan, 'controller'));
    writeFileSync(pidFile(plan, 'controller'), `${ctlPid}\n`);
    await waitHealthy(plan, 'controller', plan.cp.ns, plan.cp.ip, METRICS_PORT, '/readyz', deadline);

    if (withSpeakers) {
      say(`speakers: ${plan.nodes.map((n) => `${n.name} ${n.ip}`).join(', ')} (memberlist profile ${opts.mlProfile})`);
      for (const n of plan.nodes) startSpeaker(plan, n, opts.mlProfile);
      await Promise.all(plan.nodes.map((n) => waitHealthy(plan, n.name, n.ns, n.ip, METRICS_PORT, '/readyz', deadline)));
    } else {
      say('speakers: NOT STARTED — this build of l2lb-speaker has no `run` command yet');
    }
    return plan;
  } catch (e) {
    say(`up failed; tearing down what was made`);
    await down({ prefix: plan.prefix, stateDir: plan.stateDir, keepStateOnRequest: true });
    throw e;
  }
}

export interface DownResult {
  namespaces: string[];
  processes: number;
  stateRemoved: boolean;
}

/** Stops every process of the lab and deletes its namespaces and state directory. Idempotent. */
/** `keepStateOnRequest`: keep the state directory when L2LB_LAB_KEEP_LOGS=1 (a failed up, for its logs). */
export async function down(opts: { prefix: string; stateDir?: string; keepStateOnRequest?: boolean }): Promise<DownResult> {
  requireRoot('down');
  const dir = stateDirOf(opts.prefix, opts.stateDir);
  const namespaces = listNetns().filter((n) => isLabNamespace(opts.prefix, n));
  const pids = new Set<number>();
  if (existsSync(join(dir, 'pids'))) {
    for (const f of readdirSync(join(dir, 'pids'))) {
      const n = Number(readFileSync(join(dir, 'pids', f), 'utf8').trim());
      if (Number.isInteger(n) && n > 0 && isLabProcess(n, dir)) pids.add(n);
    }
  }
  for (const ns of namespaces) for (const p of netnsPids(ns)) pids.add(p);
  pids.delete(process.pid);
  await stopPids([...pids], 3000);
  for (const ns of namespaces.reverse()) ip(['netns', 'del', ns], { allowFail: true });
  // Only a directory that is plainly a lab state directory is removed.
  let stateRemoved = false;
  if (existsSync(dir) && (existsSync(join(dir, 'lab.json')) || dir === defaultStateDir(opts.prefix))) {
    if (!opts.keepStateOnRequest || process.env['L2LB_LAB_KEEP_LOGS'] !== '1') {
      rmSync(dir, { recursive: true, force: true });
      stateRemoved = true;
    }
  }
  return { namespaces, processes: pids.size, stateRemoved };
}

/** Restarts every speaker with another memberlist profile (SIGTERM: they leave the cluster cleanly). */
export async function restartSpeakers(plan: LabPlan, mlProfile: MlProfile, timeoutMs = 30_000): Promise<void> {
  const pids = plan.nodes.map((n) => readPid(plan, n.name)).filter((p): p is number => p !== undefined);
  await stopPids(pids, 3000);
  const path = join(plan.stateDir, 'lab.json');
  const file = JSON.parse(readFileSync(path, 'utf8')) as LabFile;
  writeFileSync(path, `${JSON.stringify({ ...file, mlProfile }, null, 2)}\n`);
  const deadline = Date.now() + timeoutMs;
  for (const n of plan.nodes) {
    ip(['-n', plan.sw, 'link', 'set', n.swPort, 'up']);
    startSpeaker(plan, n, mlProfile);
  }
  await Promise.all(plan.nodes.map((n) => waitHealthy(plan, n.name, n.ns, n.ip, METRICS_PORT, '/readyz', deadline)));
}

export function linkUp(plan: LabPlan, node: NodePlan): boolean {
  const r = ip(['-n', plan.sw, '-o', 'link', 'show', node.swPort], { allowFail: true });
  return /[<,]UP[,>]/.test(r.stdout);
}

/** Simulates a dead node: SIGKILL its speaker (no memberlist goodbye) and take its link down. */
export async function killNode(plan: LabPlan, name: string): Promise<{ node: NodePlan; killedAtMs: number; pid?: number }> {
  const node = findNode(plan, name);
  if (!node) throw new LabError(`no node ${JSON.stringify(name)} in lab ${plan.prefix} (nodes: ${plan.nodes.map((n) => n.name).join(', ')})`);
  const pid = readPid(plan, node.name);
  const killedAtMs = Date.now();
  if (pid !== undefined && alive(pid)) signal(pid, 'SIGKILL');
  ip(['-n', plan.sw, 'link', 'set', node.swPort, 'down']);
  if (pid !== undefined) await waitFor(() => !alive(pid), { timeoutMs: 3000, intervalMs: 20 });
  return { node, killedAtMs, ...(pid !== undefined ? { pid } : {}) };
}

export async function reviveNode(plan: LabPlan, name: string, mlProfile: MlProfile, timeoutMs = 20_000): Promise<{ node: NodePlan; pid?: number }> {
  const node = findNode(plan, name);
  if (!node) throw new LabError(`no node ${JSON.stringify(name)} in lab ${plan.prefix} (nodes: ${plan.nodes.map((n) => n.name).join(', ')})`);
  ip(['-n', plan.sw, 'link', 'set', node.swPort, 'up']);
  const old = readPid(plan, node.name);
  if (old !== undefined && alive(old)) return { node, pid: old };
  if (!speakerHasRun()) return { node };
  const pid = startSpeaker(plan, node, mlProfile);
  await waitHealthy(plan, node.name, node.ns, node.ip, METRICS_PORT, '/readyz', Date.now() + timeoutMs);
  return { node, pid };
}

export async function labStatus(plan: LabPlan): Promise<LabStatus> {
  const nodes: NodeInput[] = await Promise.all(
    plan.nodes.map(async (n) => {
      const pid = readPid(plan, n.name);
      const running = pid !== undefined && alive(pid);
      let log = '';
      try {
        log = readFileSync(logFile(plan, n.name), 'utf8');
      } catch {
        // no speaker log yet
      }
      const healthy = running && (await httpOk(n.ns, n.ip, METRICS_PORT, '/healthz'));
      const metrics = healthy ? await nsHttpGet(n.ns, n.ip, METRICS_PORT, '/metrics', 1500) : undefined;
      const fromMetrics = metrics?.status === 200 ? parseAnnouncedGauge(metrics.body) : undefined;
      return {
        name: n.name,
        ip: n.ip,
        mac: n.mac,
        speakerRunning: running,
        healthy,
        linkUp: linkUp(plan, n),
        log: parseSpeakerLog(log),
        ...(fromMetrics ? { announcedFromMetrics: fromMetrics } : {}),
      };
    }),
  );
  const [apiserverUp, controllerReady, ctlMetrics] = await Promise.all([
    httpOk(plan.cp.ns, plan.cp.ip, API_PORT, '/version'),
    httpOk(plan.cp.ns, plan.cp.ip, METRICS_PORT, '/readyz'),
    nsHttpGet(plan.cp.ns, plan.cp.ip, METRICS_PORT, '/metrics', 1500),
  ]);
  const svc = kubectl(plan, ['get', 'svc', '-A', '-o', 'json'], { allowFail: true });
  const neigh = run('ip', ['-n', plan.client.ns, 'neigh', 'show', 'dev', 'eth0'], { allowFail: true }).stdout;
  return buildStatus(plan.prefix, nodes, parseServiceList(svc), parseNeigh(neigh), {
    apiserverUp,
    controllerReady,
    ...(ctlMetrics?.status === 200 ? { controllerMetrics: ctlMetrics.body } : {}),
  });
}

/** The failover phases seen in the new owner's speaker log (see failoverPhases); waits up to 2 s for both lines. */
export async function phasesOnNode(plan: LabPlan, newOwner: string, deadNode: string, service: string, killedAtMs: number): Promise<FailoverPhases> {
  const read = (): FailoverPhases => {
    try {
      return failoverPhases(readFileSync(logFile(plan, newOwner), 'utf8'), deadNode, service, killedAtMs);
    } catch {
      return {};
    }
  };
  return (
    (await waitFor(
      () => {
        const ph = read();
        return ph.detectedMs !== undefined && ph.announcedMs !== undefined ? ph : undefined;
      },
      { timeoutMs: 2000, intervalMs: 50 },
    )) ?? read()
  );
}
