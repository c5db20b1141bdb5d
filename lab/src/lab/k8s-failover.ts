// Failover in the real-Kubernetes lab as the client sees it: the ARP entry for the VIP moving to another
// node's MAC, and the first successful `curl http://VIP/` after the announcing node is powered off.
import { measureFailover, primeClient, waitSingleOwner } from './failover.js';
import { clientSteps, failoverGaps, speakerSteps, type FailoverGaps, type TimelineEntry } from './failover-timeline.js';
import { curlVip, k8sKillNode, kubectlJson, serviceIp } from './k8s.js';
import { LabError, linkUp } from './lab.js';
import { findNode, nodeByMac, type LabPlan, type NodePlan } from './plan.js';
import { runAsync, sleep } from './sys.js';

export interface K8sFailover {
  vip: string;
  from: string;
  to?: string;
  killedAtMs: number;
  /** ms from the kill until the client's neighbour entry held another node's MAC. */
  arpMoveMs?: number;
  /** ms from the kill until the first curl that got an answer. */
  firstCurlMs?: number;
  failedCurls: number;
  /** The speakers' and the client's steps from lookbackMs before the kill until the first good curl. */
  timeline: TimelineEntry[];
  /** Kill-relative times of death detected, election and gratuitous burst (from the timeline). */
  gaps: FailoverGaps;
}

interface PodNames {
  items: { metadata: { name: string }; spec: { nodeName?: string } }[];
}

/**
 * The failover steps in the logs of every speaker Pod that can still be read (`kubectl logs`, as an
 * operator would; the dead node's kubelet answers nothing), from sinceMs on.
 */
export async function speakerTimeline(plan: LabPlan, sinceMs: number): Promise<TimelineEntry[]> {
  const pods = kubectlJson<PodNames>(plan, ['-n', 'l2lb-system', 'get', 'pods', '-l', 'component=speaker'])?.items ?? [];
  const kc = ['netns', 'exec', plan.cp.ns, 'kubectl', '--kubeconfig', `${plan.stateDir}/kubeconfig`, '-n', 'l2lb-system'];
  const since = new Date(sinceMs - 1000).toISOString();
  const logs = await Promise.all(
    pods.map(async (p) => {
      const node = p.spec.nodeName ?? p.metadata.name;
      const n = findNode(plan, node);
      // A powered-off node's kubelet answers nothing: kubectl would wait for its timeouts.
      if (n && !linkUp(plan, n)) return [{ atMs: sinceMs, who: node, what: `powered off: log of ${p.metadata.name} not read` }];
      let r = await runAsync('ip', [...kc, 'logs', p.metadata.name, `--since-time=${since}`], { allowFail: true, timeoutMs: 10_000 });
      if (r.status !== 0) r = await runAsync('ip', [...kc, 'logs', p.metadata.name, `--since-time=${since}`], { allowFail: true, timeoutMs: 10_000 });
      if (r.status === 0) return speakerSteps(r.stdout, node, sinceMs);
      // Said in the timeline, so a missing step is not taken for one that did not happen.
      return [
        {
          atMs: sinceMs,
          who: node,
          what: `log of ${p.metadata.name} not read: ${(r.stderr.trim().split('\n')[0] ?? '').slice(0, 120) || `exit ${String(r.status)}`}`,
        },
      ];
    }),
  );
  return logs.flat();
}

/** Polls `curl http://VIP/` every intervalMs until one answers; resolves the time of that answer. */
async function firstGoodCurl(plan: LabPlan, vip: string, timeoutMs: number, intervalMs = 100): Promise<{ atMs?: number; failed: number }> {
  const deadline = Date.now() + timeoutMs;
  let failed = 0;
  while (Date.now() < deadline) {
    if ((await curlVip(plan, vip, 1000)) !== undefined) return { atMs: Date.now(), failed };
    failed++;
    await sleep(intervalMs);
  }
  return { failed };
}

/**
 * Powers off the node that answers ARP for the web VIP and measures both client-side times; the timeline
 * covers lookbackMs before the kill too (a node revived shortly before shows its start-up there).
 */
export async function k8sFailover(plan: LabPlan, vip: string, timeoutMs = 60_000, only?: NodePlan, lookbackMs = 0): Promise<K8sFailover> {
  let curl: Promise<{ atMs?: number; failed: number }> | undefined;
  const r = await measureFailover(
    plan,
    vip,
    async (node) => {
      if (only && node !== only) throw new LabError(`${vip} is announced by ${node.name}, not ${only.name}`);
      const k = await k8sKillNode(plan, node.name);
      curl = firstGoodCurl(plan, vip, timeoutMs);
      return k.killedAtMs;
    },
    timeoutMs,
  );
  const c = curl ? await curl : { failed: 0 };
  const sinceMs = r.killedAtMs - lookbackMs;
  const timeline = [...(await speakerTimeline(plan, sinceMs)), ...clientSteps(r.neigh, vip, (mac) => nodeByMac(plan, mac)?.name, sinceMs)].sort(
    (a, b) => a.atMs - b.atMs,
  );
  return {
    vip,
    from: r.from.name,
    killedAtMs: r.killedAtMs,
    failedCurls: c.failed,
    timeline,
    gaps: failoverGaps(timeline, r.from.name, 'default/web', vip, r.killedAtMs),
    ...(r.to ? { to: r.to.name } : {}),
    ...(r.ms !== undefined ? { arpMoveMs: r.ms } : {}),
    ...(c.atMs !== undefined ? { firstCurlMs: c.atMs - r.killedAtMs } : {}),
  };
}

/** The node currently answering ARP for the VIP (after priming the client), or undefined. */
export async function announcingNode(plan: LabPlan, vip: string, timeoutMs = 20_000): Promise<NodePlan | undefined> {
  const owner = await waitSingleOwner(plan, vip, timeoutMs);
  await primeClient(plan, vip);
  return owner?.node;
}

/** The web Service's VIP, for commands that act on "the" Service of the lab. */
export function webVip(plan: LabPlan): string | undefined {
  return serviceIp(plan, 'default', 'web');
}

interface Svcs {
  items: { metadata: { namespace: string; name: string }; spec: { type?: string }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }[];
}

/** Every LoadBalancer Service VIP in the cluster, as "ns/name" -> IP. */
export function loadBalancerIps(plan: LabPlan): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of kubectlJson<Svcs>(plan, ['get', 'svc', '-A'])?.items ?? []) {
    const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
    if (s.spec.type === 'LoadBalancer' && ip) out.set(`${s.metadata.namespace}/${s.metadata.name}`, ip);
  }
  return out;
}
