// Failover in the real-Kubernetes lab as the client sees it: the ARP entry for the VIP moving to another
// node's MAC, and the first successful `curl http://VIP/` after the announcing node is powered off.
import { measureFailover, primeClient, waitSingleOwner } from './failover.js';
import { curlVip, k8sKillNode, kubectlJson, serviceIp } from './k8s.js';
import { LabError } from './lab.js';
import type { LabPlan, NodePlan } from './plan.js';
import { sleep } from './sys.js';

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

/** Powers off the node that answers ARP for the web VIP and measures both client-side times. */
export async function k8sFailover(plan: LabPlan, vip: string, timeoutMs = 60_000, only?: NodePlan): Promise<K8sFailover> {
  let curl: Promise<{ atMs?: number; failed: number }> | undefined;
  const r = await measureFailover(plan, vip, async (node) => {
    if (only && node !== only) throw new LabError(`${vip} is announced by ${node.name}, not ${only.name}`);
    const k = await k8sKillNode(plan, node.name);
    curl = firstGoodCurl(plan, vip, timeoutMs);
    return k.killedAtMs;
  }, timeoutMs);
  const c = curl ? await curl : { failed: 0 };
  return {
    vip, from: r.from.name, killedAtMs: r.killedAtMs, failedCurls: c.failed,
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

interface Svcs { items: { metadata: { namespace: string; name: string }; spec: { type?: string }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }[] }

/** Every LoadBalancer Service VIP in the cluster, as "ns/name" -> IP. */
export function loadBalancerIps(plan: LabPlan): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of kubectlJson<Svcs>(plan, ['get', 'svc', '-A'])?.items ?? []) {
    const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
    if (s.spec.type === 'LoadBalancer' && ip) out.set(`${s.metadata.namespace}/${s.metadata.name}`, ip);
  }
  return out;
}
