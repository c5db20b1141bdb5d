// `l2lb lab up --kubernetes`: the lab network with a real Kubernetes v1.20 in it. The control plane (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler) runs in the control-plane namespace; every node
// namespace runs its own containerd, kubelet and kube-proxy, and l2lb is installed from manifests/l2lb.yaml
// with images built by scripts/build-images.sh. Node daemons run in the node's own cgroup tree, so killing
// a node is killing every process in that tree.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  cniConflist,
  containerdToml,
  etcdArgs,
  kcmArgs,
  k8sDataDir,
  kubeApiserverArgs,
  kubeconfig,
  kubeletArgs,
  kubeletConfig,
  kubeProxyConfig,
  memberlistMembers,
  nodePaths,
  nodeRoutes,
  poolConfigMap,
  schedulerArgs,
  speakerRestartedReady,
  webObjects,
  KUBE_BINARIES,
  type K8sNodePaths,
  type PodList,
} from './k8s-plan.js';
import { cgroupPids, makeCgroup, makePki, removeCgroup, restoreSysctls, saveSysctls, unmountUnder } from './k8s-host.js';
import { buildNetwork, down as processLabDown, LabError, linkUp, logFile, type Say } from './lab.js';
import { findNode, isLabNamespace, planLab, type LabPlan, type NodePlan } from './plan.js';
import {
  CommandError,
  alive,
  daemonEnd,
  have,
  ip,
  listNetns,
  nsExec,
  nsHttpGet,
  run,
  runAsync,
  signal,
  sleep,
  stopPids,
  trackDaemonEnd,
  waitFor,
} from './sys.js';

export const REPO_ROOT = new URL('../../../../', import.meta.url).pathname;
const CNI_BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const CP_DAEMONS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
const NODE_DAEMONS = ['containerd', 'kubelet', 'kube-proxy'] as const;

export interface K8sLabFile {
  prefix: string;
  nodes: number;
  mlProfile: 'fast' | 'lan';
  createdAt: string;
  kubernetes: true;
  binDir: string;
}

function cpDir(plan: LabPlan): string {
  return join(plan.stateDir, 'cp');
}

function pidPath(plan: LabPlan, name: string): string {
  return join(plan.stateDir, 'pids', `${name}.pid`);
}

/** The pid recorded under `name` if that process still runs and names this lab's directories. */
export function k8sPid(plan: LabPlan, name: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidPath(plan, name), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(plan.stateDir) || cmd.includes(k8sDataDir(plan)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tailOf(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .map((l) => `    ${l.slice(0, 400)}`)
      .join('\n');
  } catch {
    return '    (no log)';
  }
}

/** Starts a program detached in a namespace (optionally inside a cgroup), logging to logs/<name>.log. */
function startDaemon(plan: LabPlan, name: string, ns: string, cmd: string, args: string[], cgroup?: string): number {
  const fd = openSync(logFile(plan, name), 'a');
  try {
    writeSync(fd, `--- l2lb-lab: ${name} starting ${new Date().toISOString()}\n`);
    // nsenter --net, not `ip netns exec`: kubelet and containerd must share the host's mount namespace
    // (kubelet's secret tmpfs mounts must be visible to containerd). sh joins the cgroup, then execs.
    const script = `${cgroup ? `for h in /sys/fs/cgroup/*/; do [ -d "$h${cgroup.slice(1)}" ] && echo $$ > "$h${cgroup.slice(1)}/cgroup.procs"; done; ` : ''}exec nsenter --net=/run/netns/${ns} "$@"`;
    const child = spawn('sh', ['-c', script, 'sh', cmd, ...args], { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new CommandError(`could not start ${name}`);
    // While this process lives, how a daemon ended goes into its log: a signal (killed from outside)
    // and an exit code (it gave up by itself) call for different searches.
    const log = logFile(plan, name);
    trackDaemonEnd(child, (how) => {
      try {
        appendFileSync(log, `--- l2lb-lab: ${name} (pid ${String(child.pid)}) ended ${new Date().toISOString()}: ${how}\n`);
      } catch {
        // the lab is being removed
      }
    });
    child.unref();
    writeFileSync(pidPath(plan, name), `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function kubectlK8s(plan: LabPlan, args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}): ReturnType<typeof run> {
  return nsExec(plan.cp.ns, 'kubectl', ['--kubeconfig', join(plan.stateDir, 'kubeconfig'), ...args], {
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    allowFail: opts.allowFail ?? false,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
}

export function kubectlJson<T>(plan: LabPlan, args: string[]): T | undefined {
  const r = kubectlK8s(plan, [...args, '-o', 'json'], { allowFail: true, timeoutMs: 20_000 });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    return undefined;
  }
}

export function applyObjects(plan: LabPlan, objects: Record<string, unknown>[]): void {
  kubectlK8s(plan, ['apply', '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });
}

/** SIGKILLs every process of a node: its daemons, the containerd shims and every container. */
async function killNodeProcesses(plan: LabPlan, node: NodePlan): Promise<number> {
  const p = nodePaths(plan, node);
  let killed = 0;
  for (let round = 0; round < 20; round++) {
    const pids = [...cgroupPids(p.cgroup), ...NODE_DAEMONS.map((d) => k8sPid(plan, `${node.name}-${d}`)).filter((x): x is number => x !== undefined)];
    const live = [...new Set(pids)].filter((x) => x !== process.pid && alive(x));
    if (live.length === 0) break;
    for (const pid of live) if (signal(pid, 'SIGKILL')) killed++;
    await sleep(100);
  }
  return killed;
}

export function requireK8sTools(): void {
  const missing = ['ip', 'kubectl', 'nsenter', 'etcd', 'containerd', 'ctr', 'runc', 'openssl', 'podman', 'iptables', 'conntrack', 'curl', 'arping'].filter(
    (t) => !have(t),
  );
  if (!CNI_BIN_DIRS.some((d) => existsSync(`${d}/bridge`))) missing.push('containernetworking-plugins');
  if (missing.length > 0) throw new LabError(`missing for the Kubernetes lab: ${missing.join(', ')} (bash scripts/setup-system.sh installs them)`);
}

/** Runs one of the repository's scripts, streaming its progress (stderr) to `say`; returns its stdout. */
async function script(name: string, args: string[], say: Say, timeoutMs: number): Promise<string> {
  const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn('bash', [join(REPO_ROOT, 'scripts', name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      for (const l of d.split('\n')) if (l.startsWith('[l2lb ')) say(`  ${l}`);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
  if (r.code !== 0) throw new LabError(`scripts/${name} ${args.join(' ')} failed (${r.code}):\n${r.err.split('\n').slice(-15).join('\n')}`);
  return r.out;
}

export interface K8sUpOptions {
  prefix: string;
  stateDir?: string;
  nodes: number;
  mlProfile: 'fast' | 'lan';
  timeoutMs: number;
  /** Also install l2lb, the pool and the web workload (what `lab up --kubernetes` does). */
  workloads?: boolean;
  say?: Say;
}

export interface K8sTimings {
  [step: string]: number;
}

export async function k8sUp(opts: K8sUpOptions): Promise<{ plan: LabPlan; timings: K8sTimings }> {
  requireK8sTools();
  const say = opts.say ?? (() => undefined);
  const plan = planLab({ prefix: opts.prefix, nodes: opts.nodes, stateDir: opts.stateDir ?? `/run/l2lb-lab/${opts.prefix}` });
  const existing = listNetns().filter((n) => isLabNamespace(plan.prefix, n));
  if (existing.length > 0 || existsSync(plan.stateDir) || existsSync(k8sDataDir(plan))) {
    throw new LabError(`prefix "${plan.prefix}" is in use; run \`l2lb lab down --prefix ${plan.prefix}\` first`);
  }
  const timings: K8sTimings = {};
  let t = Date.now();
  const lap = (step: string): void => {
    timings[step] = Date.now() - t;
    t = Date.now();
  };
  try {
    for (const d of ['logs', 'pids']) mkdirSync(join(plan.stateDir, d), { recursive: true, mode: 0o700 });
    say('binaries: scripts/kube-binaries.sh (cached after the first build)');
    const binDir = (await script('kube-binaries.sh', ['install'], say, 40 * 60_000)).trim().split('\n').pop() ?? '';
    const file: K8sLabFile = {
      prefix: plan.prefix,
      nodes: plan.nodes.length,
      mlProfile: opts.mlProfile,
      createdAt: new Date().toISOString(),
      kubernetes: true,
      binDir,
    };
    writeFileSync(join(plan.stateDir, 'lab.json'), `${JSON.stringify(file, null, 2)}\n`);
    lap('binaries');
    // L2LB_LAB_USE_BUILT_IMAGES=1 (development) takes the images as they are instead of rebuilding from the
    // working tree, whose every edit would otherwise invalidate the build stage's `COPY . .`.
    if (process.env['L2LB_LAB_USE_BUILT_IMAGES'] === '1') {
      say('images: using the images already built (L2LB_LAB_USE_BUILT_IMAGES=1)');
    } else {
      say('images: scripts/build-images.sh (podman; layer cache makes rebuilds fast)');
      for (const l of (await script('build-images.sh', ['all'], say, 40 * 60_000)).trim().split('\n')) if (l) say(`  image ${l}`);
    }
    const archive = join(k8sDataDir(plan), 'images.tar');
    mkdirSync(k8sDataDir(plan), { recursive: true });
    await script('build-images.sh', ['save', archive], say, 5 * 60_000);
    lap('images');

    say(`network: switch ${plan.sw}, control plane ${plan.cp.ns} ${plan.cp.ip}, client ${plan.client.ns}, nodes ${plan.nodes.map((n) => n.ns).join(' ')}`);
    buildNetwork(plan);
    const deadline = Date.now() + opts.timeoutMs;
    await startControlPlane(plan, binDir, deadline);
    lap('controlPlane');
    say(`control plane: https://${plan.cp.ip}:6443 ready`);

    saveSysctls(plan);
    // In parallel: most of a node's start is importing the image archive into its containerd.
    await Promise.all(plan.nodes.map((n) => startNode(plan, n, binDir, archive, true)));
    await waitNodesReady(plan, plan.nodes, deadline);
    lap('nodesReady');
    say(`nodes: ${plan.nodes.map((n) => n.name).join(', ')} Ready`);

    if (opts.workloads ?? true) {
      await installL2lb(plan, deadline, say);
      lap('l2lbRollout');
      applyObjects(plan, [poolConfigMap(plan.poolRange)]);
      applyObjects(plan, webObjects(3));
      const vip = await waitServiceIp(plan, 'default', 'web', deadline);
      await waitRollout(plan, 'default', 'deployment/web', deadline);
      const ok = await waitFor(async () => (await curlVip(plan, vip, 2000)) !== undefined, {
        timeoutMs: Math.max(1000, deadline - Date.now()),
        intervalMs: 300,
      });
      if (!ok) throw new LabError(`http://${vip}/ did not answer from ${plan.client.ns}`);
      lap('webServing');
      say(`web: default/web has EXTERNAL-IP ${vip}; ip netns exec ${plan.client.ns} curl http://${vip}/ answers`);
    }
    return { plan, timings };
  } catch (e) {
    say('up failed; diagnostics follow, then teardown');
    say(k8sDiagnostics(plan));
    await k8sDown(plan.prefix, plan.stateDir);
    throw e;
  }
}

async function startControlPlane(plan: LabPlan, binDir: string, deadline: number): Promise<void> {
  const dir = cpDir(plan);
  const pki = join(dir, 'pki');
  mkdirSync(join(dir, 'etcd'), { recursive: true, mode: 0o700 });
  const tokens = makePki(plan, pki);
  const ca = readFileSync(`${pki}/ca.crt`, 'utf8');
  const server = `https://${plan.cp.ip}:6443`;
  writeFileSync(join(plan.stateDir, 'kubeconfig'), kubeconfig(server, ca, 'l2lb-admin', tokens['admin'] ?? ''), { mode: 0o600 });
  writeFileSync(join(dir, 'kcm.kubeconfig'), kubeconfig(server, ca, 'system:kube-controller-manager', tokens['kcm'] ?? ''), { mode: 0o600 });
  writeFileSync(join(dir, 'scheduler.kubeconfig'), kubeconfig(server, ca, 'system:kube-scheduler', tokens['scheduler'] ?? ''), { mode: 0o600 });
  for (const n of plan.nodes) {
    const p = nodePaths(plan, n);
    mkdirSync(p.data, { recursive: true });
    writeFileSync(join(p.data, 'kubeconfig'), kubeconfig(server, ca, `system:node:${n.name}`, tokens[`node-${n.name}`] ?? ''), { mode: 0o600 });
    writeFileSync(join(p.data, 'proxy.kubeconfig'), kubeconfig(server, ca, 'system:kube-proxy', tokens['proxy'] ?? ''), { mode: 0o600 });
  }
  startDaemon(plan, 'etcd', plan.cp.ns, 'etcd', etcdArgs(dir));
  const apiserver = startDaemon(plan, 'kube-apiserver', plan.cp.ns, join(binDir, 'kube-apiserver'), kubeApiserverArgs(plan, pki));
  const ready = await waitFor(
    () => {
      // Its own exit event, not k8sPid: that reads /proc/PID/cmdline, empty while sh and nsenter exec.
      if (daemonEnd(apiserver) !== undefined) return 'died';
      return kubectlK8s(plan, ['get', '--raw', '/readyz'], { allowFail: true, timeoutMs: 5000 }).stdout.trim() === 'ok' ? 'ok' : undefined;
    },
    { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 300 },
  );
  if (ready !== 'ok') {
    throw new LabError(
      `kube-apiserver ${ready === 'died' ? `exited (${daemonEnd(apiserver) ?? '?'})` : 'not ready in time'}:\n${tailOf(logFile(plan, 'kube-apiserver'), 10)}\netcd:\n${tailOf(logFile(plan, 'etcd'), 5)}`,
    );
  }
  startDaemon(plan, 'kube-controller-manager', plan.cp.ns, join(binDir, 'kube-controller-manager'), kcmArgs(dir, pki));
  startDaemon(plan, 'kube-scheduler', plan.cp.ns, join(binDir, 'kube-scheduler'), schedulerArgs(dir));
}

function cniBinDir(): string {
  return CNI_BIN_DIRS.find((d) => existsSync(`${d}/bridge`)) ?? CNI_BIN_DIRS[0] ?? '/usr/lib/cni';
}

/** Brings a node's runtime up: routes, cgroup, configs, containerd (+ image import on first start), kubelet, kube-proxy. */
async function startNode(plan: LabPlan, node: NodePlan, binDir: string, archive: string, first: boolean): Promise<void> {
  const p = nodePaths(plan, node);
  if (first) {
    for (const r of nodeRoutes(plan, node)) ip(['-n', node.ns, 'route', 'replace', ...r]);
    for (const d of ['cni/net.d', 'cni/ipam', 'kubelet/pki']) mkdirSync(join(p.data, d), { recursive: true });
    writeFileSync(join(p.data, 'cni/net.d/10-l2lb-lab.conflist'), cniConflist(plan, node, p));
    writeFileSync(join(p.data, 'containerd.toml'), containerdToml(p, cniBinDir()));
    writeFileSync(join(p.data, 'kubelet-config.yaml'), kubeletConfig(node, p));
    writeFileSync(join(p.data, 'kube-proxy.yaml'), kubeProxyConfig(node, p));
    // Pods get a resolver that answers nothing, never the host's.
    writeFileSync(join(p.data, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  }
  mkdirSync(p.run, { recursive: true });
  makeCgroup(`${p.cgroup}/daemons`);
  const daemonCg = `${p.cgroup}/daemons`;
  startDaemon(plan, `${node.name}-containerd`, node.ns, 'containerd', ['--config', join(p.data, 'containerd.toml')], daemonCg);
  const sock = join(p.run, 'containerd.sock');
  const up = await waitFor(() => run('ctr', ['-a', sock, 'version'], { allowFail: true, timeoutMs: 5000 }).status === 0, {
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  if (!up) throw new LabError(`containerd of ${node.name} did not start:\n${tailOf(logFile(plan, `${node.name}-containerd`), 10)}`);
  if (first) {
    const r = await runAsync('ctr', ['-a', sock, '-n', 'k8s.io', 'images', 'import', '--all-platforms', archive], { allowFail: true, timeoutMs: 300_000 });
    if (r.status !== 0) throw new LabError(`importing ${archive} into ${node.name}'s containerd failed: ${r.stderr.trim()}`);
  }
  startDaemon(plan, `${node.name}-kubelet`, node.ns, join(binDir, 'kubelet'), kubeletArgs(node, p), daemonCg);
  startDaemon(plan, `${node.name}-kube-proxy`, node.ns, join(binDir, 'kube-proxy'), [`--config=${join(p.data, 'kube-proxy.yaml')}`], daemonCg);
}

interface NodeList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }[];
}

function readyNodes(plan: LabPlan): Set<string> {
  const list = kubectlJson<NodeList>(plan, ['get', 'nodes']);
  return new Set((list?.items ?? []).filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name));
}

async function waitNodesReady(plan: LabPlan, nodes: NodePlan[], deadline: number): Promise<void> {
  const ok = await waitFor(
    () => {
      const ready = readyNodes(plan);
      return nodes.every((n) => ready.has(n.name));
    },
    { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 500 },
  );
  if (!ok)
    throw new LabError(
      `nodes not Ready in time: ${nodes
        .filter((n) => !readyNodes(plan).has(n.name))
        .map((n) => n.name)
        .join(', ')}`,
    );
}

export async function waitRollout(plan: LabPlan, ns: string, what: string, deadline: number): Promise<void> {
  const secs = Math.max(1, Math.round((deadline - Date.now()) / 1000));
  const r = await runAsync(
    'ip',
    ['netns', 'exec', plan.cp.ns, 'kubectl', '--kubeconfig', join(plan.stateDir, 'kubeconfig'), '-n', ns, 'rollout', 'status', what, `--timeout=${secs}s`],
    { allowFail: true, timeoutMs: (secs + 10) * 1000 },
  );
  if (r.status !== 0) throw new LabError(`kubectl rollout status ${what} -n ${ns}: ${(r.stderr || r.stdout).trim()}`);
}

/** Applies manifests/l2lb.yaml exactly as a user does, and waits for both rollouts. */
export async function installL2lb(plan: LabPlan, deadline: number, say: Say): Promise<void> {
  say('l2lb: kubectl apply -f manifests/l2lb.yaml');
  kubectlK8s(plan, ['apply', '-f', '-'], { input: readFileSync(join(REPO_ROOT, 'manifests', 'l2lb.yaml'), 'utf8') });
  await waitRollout(plan, 'l2lb-system', 'deployment/controller', deadline);
  await waitRollout(plan, 'l2lb-system', 'daemonset/speaker', deadline);
  say('l2lb: controller and speaker rolled out');
}

interface Svc {
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

export function serviceIp(plan: LabPlan, ns: string, name: string): string | undefined {
  return kubectlJson<Svc>(plan, ['-n', ns, 'get', 'svc', name])?.status?.loadBalancer?.ingress?.[0]?.ip;
}

export async function waitServiceIp(plan: LabPlan, ns: string, name: string, deadline: number, not?: string): Promise<string> {
  const got = await waitFor(
    () => {
      const v = serviceIp(plan, ns, name);
      return v !== undefined && v !== not ? v : undefined;
    },
    { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 300 },
  );
  if (!got) throw new LabError(`Service ${ns}/${name} got no${not ? ' new' : ''} EXTERNAL-IP in time`);
  return got;
}

/** One HTTP GET of http://VIP/ from the client namespace; the body, or undefined on any failure. */
export async function curlVip(plan: LabPlan, vip: string, timeoutMs = 1000): Promise<string | undefined> {
  const r = await runAsync('ip', ['netns', 'exec', plan.client.ns, 'curl', '-sf', '--max-time', String(timeoutMs / 1000), `http://${vip}/`], {
    allowFail: true,
    timeoutMs: timeoutMs + 2000,
  });
  return r.status === 0 && r.stdout.startsWith('pod=') ? r.stdout.trim() : undefined;
}

/** Powers a node off: every process in its cgroup tree (daemons, shims, containers) SIGKILLed, link down. */
export async function k8sKillNode(plan: LabPlan, name: string): Promise<{ node: NodePlan; killedAtMs: number; processes: number }> {
  const node = findNode(plan, name);
  if (!node) throw new LabError(`no node ${JSON.stringify(name)} in lab ${plan.prefix} (nodes: ${plan.nodes.map((n) => n.name).join(', ')})`);
  const killedAtMs = Date.now();
  ip(['-n', plan.sw, 'link', 'set', node.swPort, 'down']);
  const processes = await killNodeProcesses(plan, node);
  return { node, killedAtMs, processes };
}

/** Powers a node on again: link up, its runtime state cleared, containerd, kubelet and kube-proxy started. */
export async function k8sReviveNode(plan: LabPlan, name: string, timeoutMs = 120_000): Promise<{ node: NodePlan }> {
  const node = findNode(plan, name);
  if (!node) throw new LabError(`no node ${JSON.stringify(name)} in lab ${plan.prefix}`);
  const file = JSON.parse(readFileSync(join(plan.stateDir, 'lab.json'), 'utf8')) as K8sLabFile;
  await killNodeProcesses(plan, node);
  const p = nodePaths(plan, node);
  // A powered-off machine loses its runtime state (tmpfs in real life): sandboxes, netns, shim sockets.
  unmountUnder([p.run]);
  rmSync(p.run, { recursive: true, force: true });
  const startedAtMs = Date.now();
  ip(['-n', plan.sw, 'link', 'set', node.swPort, 'up']);
  await startNode(plan, node, file.binDir, join(k8sDataDir(plan), 'images.tar'), false);
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(0, deadline - Date.now());
  // The API still shows the Node Ready and the speaker Pod Ready from before the power-off (the node
  // controller needs --node-monitor-grace-period to notice): only a speaker container started by the
  // new kubelet counts, and only once every live speaker has it as a memberlist member again.
  await waitNodesReady(plan, [node], deadline);
  const restarted = await waitFor(() => speakerRestartedReady(kubectlJson<PodList>(plan, SPEAKER_PODS), node.name, startedAtMs), {
    timeoutMs: left(),
    intervalMs: 500,
  });
  if (!restarted) throw new LabError(`the speaker on ${node.name} was not restarted and Ready within ${timeoutMs} ms of the revive`);
  const members = await waitFor(async () => (await speakersMissing(plan, node.name)).length === 0, { timeoutMs: left(), intervalMs: 300 });
  if (!members)
    throw new LabError(`speakers ${(await speakersMissing(plan, node.name)).join(', ')} do not see ${node.name} as a memberlist member after its revive`);
  return { node };
}

const SPEAKER_PODS = ['-n', 'l2lb-system', 'get', 'pods', '-l', 'component=speaker'];

/** The nodes, link up, whose speaker /metrics do not list `member` among its memberlist members (unreadable counts as missing). */
async function speakersMissing(plan: LabPlan, member: string): Promise<string[]> {
  const up = plan.nodes.filter((n) => linkUp(plan, n));
  const seen = await Promise.all(
    up.map(async (n) => {
      const m = await nsHttpGet(n.ns, n.ip, 7472, '/metrics', 1500);
      return m?.status === 200 && memberlistMembers(m.body).includes(member);
    }),
  );
  return up.filter((_, i) => !seen[i]).map((n) => n.name);
}

/** What a person needs when something failed: node conditions, pod states, kubelet and containerd log tails. */
export function k8sDiagnostics(plan: LabPlan): string {
  const out: string[] = ['== diagnostics'];
  const k = (args: string[]): string => kubectlK8s(plan, args, { allowFail: true, timeoutMs: 15_000 }).stdout.trim() || '(no answer from the API server)';
  out.push('-- nodes', k(['get', 'nodes', '-o', 'wide']));
  out.push(
    '-- node conditions',
    k(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}{": "}{range .status.conditions[*]}{.type}={.status}({.reason}) {end}{"\\n"}{end}']),
  );
  out.push('-- pods', k(['get', 'pods', '-A', '-o', 'wide']));
  out.push('-- events', k(['get', 'events', '-A', '--sort-by=.lastTimestamp']).split('\n').slice(-25).join('\n'));
  for (const n of plan.nodes) {
    for (const d of ['kubelet', 'containerd']) out.push(`-- ${n.name} ${d} (last lines)`, tailOf(logFile(plan, `${n.name}-${d}`), 12));
  }
  for (const d of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) out.push(`-- ${d} (last lines)`, tailOf(logFile(plan, d), 5));
  return out.join('\n');
}

/** Tears a Kubernetes lab down: every node powered off and its mounts, cgroups and files removed, the control
 * plane stopped, the pods' log directories removed, the sysctls kubelet changed restored, then the network. */
export async function k8sDown(prefix: string, stateDir?: string, nodeCount = 40): Promise<{ processes: number; namespaces: string[] }> {
  const dir = stateDir ?? `/run/l2lb-lab/${prefix}`;
  let nodes = nodeCount;
  try {
    nodes = (JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as K8sLabFile).nodes;
  } catch {
    // a half-built lab: look at every possible node
  }
  const plan = planLab({ prefix, nodes, stateDir: dir });
  let processes = 0;
  const podUids = new Set<string>();
  for (const n of plan.nodes) {
    const p = nodePaths(plan, n);
    try {
      for (const uid of readdirSync(join(p.data, 'kubelet', 'pods'))) podUids.add(uid);
    } catch {
      // no kubelet ran here
    }
    processes += await killNodeProcesses(plan, n);
    unmountUnder([p.run, p.data]);
    removeCgroup(p.cgroup);
  }
  const cp = CP_DAEMONS.map((d) => k8sPid(plan, d)).filter((x): x is number => x !== undefined);
  await stopPids(cp, 10_000);
  processes += cp.length;
  // kubelet writes container logs to the fixed /var/log/pods (and links in /var/log/containers).
  for (const base of ['/var/log/pods']) {
    try {
      for (const e of readdirSync(base)) if ([...podUids].some((u) => e.endsWith(`_${u}`))) rmSync(join(base, e), { recursive: true, force: true });
    } catch {
      // none
    }
  }
  try {
    for (const e of readdirSync('/var/log/containers'))
      if (!existsSync(join('/var/log/containers', e))) rmSync(join('/var/log/containers', e), { force: true });
  } catch {
    // none
  }
  restoreSysctls(dir);
  unmountUnder([k8sDataDir(plan), dir]);
  rmSync(k8sDataDir(plan), { recursive: true, force: true });
  const r = await processLabDown({ prefix, stateDir: dir });
  return { processes: processes + r.processes, namespaces: r.namespaces };
}

export function isK8sLab(stateDir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(stateDir, 'lab.json'), 'utf8')) as Partial<K8sLabFile>).kubernetes === true;
  } catch {
    return false;
  }
}

export const NODE_DAEMON_NAMES = NODE_DAEMONS;
export const KUBE_BINARY_NAMES = KUBE_BINARIES;
export type { K8sNodePaths };
