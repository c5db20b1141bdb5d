// Trouble for the process lab, all of it confined to the lab's own namespaces and processes: random
// packet loss on node links (nftables inside each node namespace), bounded CPU pressure on a node
// (stress-ng in a CPU-capped cgroup together with the node's speaker), and an API server outage
// (stop, start again from its persisted state, or from an older copy of it).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { API_PORT, apiserverArgs, type LabPlan, type NodePlan } from './plan.js';
import { alive, nsExec, nsHttpGet, run, signal, spawnDetached, stopPids, waitFor } from './sys.js';
import { logFile, readPid, BIN } from './lab.js';

/** The nftables table the loss rules live in (inside a node namespace; `down` deletes the namespace). */
export const LOSS_TABLE = 'l2lbchaos';

/**
 * The nft script that drops `percent` % of the frames leaving and entering eth0 at the link layer
 * (netdev ingress and egress hooks): ARP and IP alike, and the sender gets no error, as on a lossy
 * wire. A packet between two nodes crosses two lossy links (sender's egress, receiver's ingress).
 */
export function lossScript(percent: number): string {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new Error(`loss percent must be an integer from 0 to 100, got ${percent}`);
  return [
    `table netdev ${LOSS_TABLE} {`,
    `  chain in { type filter hook ingress device "eth0" priority 0; numgen random mod 100 < ${percent} counter drop; }`,
    `  chain out { type filter hook egress device "eth0" priority 0; numgen random mod 100 < ${percent} counter drop; }`,
    '}',
    '',
  ].join('\n');
}

/** Adds the loss rules in a node's namespace (replacing earlier ones). */
export function startLoss(node: NodePlan, percent: number): void {
  removeLoss(node);
  nsExec(node.ns, 'nft', ['-f', '-'], { input: lossScript(percent) });
}

/** Frames dropped so far by the loss rules in a node's namespace (0 without them). */
export function lossDropped(node: NodePlan): number {
  const r = nsExec(node.ns, 'nft', ['list', 'table', 'netdev', LOSS_TABLE], { allowFail: true });
  return [...r.stdout.matchAll(/counter packets (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
}

export function removeLoss(node: NodePlan): void {
  nsExec(node.ns, 'nft', ['delete', 'table', 'netdev', LOSS_TABLE], { allowFail: true });
}

// ---- CPU pressure ------------------------------------------------------------------------------

/**
 * How the pressure reaches the speaker.
 * - `neighbour`: a busy node. stress-ng spins on the CPU the speaker is pinned to, at the same priority,
 *   so every wake-up of the speaker competes with it; stress-ng alone is capped (cgroup quota), which
 *   bounds what the machine loses. The speaker itself has no CPU limit, as in manifests/l2lb.yaml.
 * - `shared-quota`: a CPU-limited node. The speaker and stress-ng share one cgroup quota; once stress-ng
 *   used it up the kernel holds the speaker too until the next period (CFS throttling, as with a
 *   Kubernetes CPU limit on a pod that also runs something busy).
 */
export type StressMode = 'neighbour' | 'shared-quota';

export interface StressOptions {
  mode: StressMode;
  /** CPU stress-ng may use (neighbour) or the node may use in all (shared-quota), as a share of one core. */
  cpuShare: number;
  /** neighbour: the CPU the speaker and stress-ng are pinned to. */
  cpu?: number;
  /** CFS period of the quota (ms). */
  periodMs: number;
  /** stress-ng --timeout: it ends by itself even if we die. */
  seconds: number;
}

/** cgroup v1 `cpu` hierarchy or the v2 unified one; undefined when neither has the cpu controller. */
function cpuCgroupRoot(): { root: string; v2: boolean } | undefined {
  if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) return { root: '/sys/fs/cgroup/cpu', v2: false };
  try {
    if (readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes('cpu')) return { root: '/sys/fs/cgroup', v2: true };
  } catch {
    // no cgroup v2
  }
  return undefined;
}

/**
 * A node under CPU pressure: one stress-ng worker spinning in the same CPU-capped cgroup as the
 * node's speaker, so the speaker competes for a saturated CPU share like on a busy node, while the
 * machine as a whole loses at most `cpuShare` of one core per stressed node.
 */
export class NodeStress {
  private constructor(
    readonly node: NodePlan,
    private readonly dir: string,
    private readonly v2: boolean,
    private readonly stressPid: number,
    private readonly speakerPid: number,
    private readonly mode: StressMode,
  ) {}

  static start(plan: LabPlan, node: NodePlan, o: StressOptions): NodeStress {
    const cg = cpuCgroupRoot();
    if (!cg) throw new Error('no cgroup cpu controller: cannot bound the CPU stress');
    const speakerPid = readPid(plan, node.name);
    if (speakerPid === undefined) throw new Error(`${node.name} has no running speaker to stress`);
    const dir = join(cg.root, `l2lb-chaos-${plan.prefix}-${node.name}`);
    mkdirSync(dir, { recursive: true });
    const periodUs = Math.round(o.periodMs * 1000);
    const quotaUs = Math.max(1000, Math.round(periodUs * o.cpuShare));
    // The group's weight is that of the tasks in it (speaker + worker), as if they ran outside it: with
    // the default weight of one task the whole node competed as a single task against the rest of the
    // host, and on a loaded machine the speaker waited up to 0.8 s while its quota was mostly unused.
    if (cg.v2) {
      writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${periodUs}`);
      writeFileSync(join(dir, 'cpu.weight'), String(o.mode === 'shared-quota' ? 200 : 100));
    } else {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(periodUs));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs));
      writeFileSync(join(dir, 'cpu.shares'), String(o.mode === 'shared-quota' ? 2048 : 1024));
    }
    let pin = '';
    if (o.mode === 'shared-quota') {
      writeFileSync(join(dir, 'cgroup.procs'), String(speakerPid));
    } else {
      // The speaker's every thread and stress-ng on one CPU.
      const cpu = (o.cpu ?? 0) % availableParallelism();
      run('taskset', ['-a', '-p', '-c', String(cpu), String(speakerPid)]);
      pin = `taskset -c ${cpu} `;
    }
    // The shell joins the cgroup before exec, so stress-ng and its worker are born inside it.
    const script = `echo $$ > '${join(dir, 'cgroup.procs')}' && exec ${pin}ip netns exec '${node.ns}' stress-ng --cpu 1 --cpu-method int64 --timeout ${Math.ceil(o.seconds)}s --quiet`;
    const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    if (child.pid === undefined) throw new Error(`could not start stress-ng for ${node.name}`);
    child.unref();
    return new NodeStress(node, dir, cg.v2, child.pid, speakerPid, o.mode);
  }

  /** Throttling so far: periods the cgroup hit its quota, and the time it was held back (ms). */
  throttling(): { periods: number; throttled: number; throttledMs: number } {
    const stat = readFileSync(join(this.dir, 'cpu.stat'), 'utf8');
    const num = (k: string): number => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(stat)?.[1] ?? 0);
    return {
      periods: num('nr_periods'),
      throttled: num('nr_throttled'),
      throttledMs: this.v2 ? num('throttled_usec') / 1000 : num('throttled_time') / 1e6,
    };
  }

  /** Whether stress-ng still runs. */
  get running(): boolean {
    return alive(this.stressPid);
  }

  /** Ends stress-ng (its whole process group), moves the speaker back to the root cgroup, removes the cgroup. */
  async stop(): Promise<void> {
    try {
      process.kill(-this.stressPid, 'SIGTERM');
    } catch {
      // already gone
    }
    const procs = (): number[] => {
      try {
        return readFileSync(join(this.dir, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter((l) => /^\d+$/.test(l))
          .map(Number);
      } catch {
        return [];
      }
    };
    const root = join(this.dir, '..', 'cgroup.procs');
    if (alive(this.speakerPid)) {
      if (this.mode === 'shared-quota') writeFileSync(root, String(this.speakerPid));
      else run('taskset', ['-a', '-p', '-c', `0-${availableParallelism() - 1}`, String(this.speakerPid)], { allowFail: true });
    }
    await stopPids(
      procs().filter((p) => p !== this.speakerPid),
      2000,
    );
    for (const p of procs()) {
      try {
        writeFileSync(root, String(p));
      } catch {
        // exited meanwhile
      }
    }
    try {
      rmdirSync(this.dir);
    } catch {
      // still busy: `NodeStress.cleanup` retries
    }
  }

  /** Removes cgroups a dead run of this lab left (their processes moved back to the root first). */
  static cleanup(prefix: string): void {
    const cg = cpuCgroupRoot();
    if (!cg) return;
    const r = run('sh', ['-c', `ls -d ${cg.root}/l2lb-chaos-${prefix}-* 2>/dev/null`], { allowFail: true });
    for (const dir of r.stdout.split('\n').filter((d) => d !== '')) {
      try {
        for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter((l) => /^\d+$/.test(l))) {
          if (alive(Number(p))) signal(Number(p), 'SIGKILL');
        }
        rmdirSync(dir);
      } catch {
        // busy or gone
      }
    }
  }
}

// ---- the API server ----------------------------------------------------------------------------

/** The API server's persisted state (the lab starts it with `--data <state>/apiserver`). */
export function apiserverStateFile(plan: LabPlan): string {
  return join(plan.stateDir, 'apiserver', 'state.json');
}

/** Stops the API server (SIGTERM: it writes its state first); resolves once it is gone. */
export async function stopApiserver(plan: LabPlan): Promise<void> {
  const pid = readPid(plan, 'apiserver');
  if (pid === undefined) return;
  signal(pid, 'SIGTERM');
  const gone = await waitFor(() => !alive(pid), { timeoutMs: 10_000, intervalMs: 20 });
  if (!gone) throw new Error(`the API server (pid ${pid}) did not stop within 10 s`);
}

/** Starts the API server again from its persisted state; resolves once it answers /version. */
export async function startApiserver(plan: LabPlan, timeoutMs = 30_000): Promise<number> {
  const pid = spawnDetached(plan.cp.ns, process.execPath, [BIN.l2lb, ...apiserverArgs(plan)], logFile(plan, 'apiserver'));
  writeFileSync(join(plan.stateDir, 'pids', 'apiserver.pid'), `${pid}\n`);
  const ok = await waitFor(
    async () => {
      if (!alive(pid)) return 'died';
      return (await nsHttpGet(plan.cp.ns, plan.cp.ip, API_PORT, '/version', 1500))?.status === 200 ? 'ok' : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
  if (ok !== 'ok') throw new Error(`the API server ${ok === 'died' ? 'exited' : 'did not answer /version in time'} after a restart`);
  return pid;
}

/** Copies the API server's persisted state (a backup, for restoreApiserverState). */
export function backupApiserverState(plan: LabPlan, to: string): number {
  const file = apiserverStateFile(plan);
  copyFileSync(file, to);
  return (JSON.parse(readFileSync(to, 'utf8')) as { resourceVersion: number }).resourceVersion;
}

/** Puts an older backup in place of the persisted state (the API server must be stopped). */
export function restoreApiserverState(plan: LabPlan, from: string): void {
  if (readPid(plan, 'apiserver') !== undefined) throw new Error('stop the API server before restoring its state');
  copyFileSync(from, apiserverStateFile(plan));
}
