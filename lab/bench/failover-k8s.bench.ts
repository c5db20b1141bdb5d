// Failover in a real Kubernetes 1.20 cluster (`l2lb lab up --kubernetes`), as the client sees it: the VIP's
// announcing node is powered off (kubelet, containerd, kube-proxy and every container SIGKILLed, link
// down); measured are the time until the client's ARP entry for the VIP holds another node's MAC and the
// time until the first successful `curl http://VIP/`. L2LB_BENCH_KILLS kills (default 5) per memberlist
// profile: `fast` (l2lb's default) and `lan` (MetalLB's timings, set on the DaemonSet with
// L2LB_ML_PROFILE as a user of the lan overlay would), in the same run and cluster.
// Needs root and the real-cluster tools; prints SKIPPED otherwise.
import { errorText } from '@l2lb/shared/log';
import { percentile, waitSingleOwner } from '../src/lab/failover.js';
import { k8sFailover } from '../src/lab/k8s-failover.js';
import { k8sDiagnostics, k8sDown, k8sReviveNode, k8sUp, requireK8sTools, serviceIp, waitRollout } from '../src/lab/k8s.js';
import type { LabPlan } from '../src/lab/plan.js';
import { isRoot, runAsync } from '../src/lab/sys.js';

const KILLS = Number(process.env['L2LB_BENCH_KILLS'] ?? 5);
const PREFIX = `k8b${process.pid}`;

interface Figures { arp: number[]; curl: number[]; missed: number }

function fmt(v: number[]): string {
  return v.length ? `p50 ${percentile(v, 50)} ms, max ${Math.max(...v)} ms` : 'no data';
}

async function setProfile(plan: LabPlan, profile: 'fast' | 'lan'): Promise<void> {
  const kc = ['netns', 'exec', plan.cp.ns, 'kubectl', '--kubeconfig', `${plan.stateDir}/kubeconfig`, '-n', 'l2lb-system'];
  const r = await runAsync('ip', [...kc, 'set', 'env', 'daemonset/speaker', `L2LB_ML_PROFILE=${profile}`], { allowFail: true, timeoutMs: 30_000 });
  if (r.status !== 0) throw new Error(`kubectl set env: ${r.stderr}`);
  await waitRollout(plan, 'l2lb-system', 'daemonset/speaker', Date.now() + 300_000);
}

async function runProfile(plan: LabPlan, profile: 'fast' | 'lan'): Promise<Figures> {
  await setProfile(plan, profile);
  const f: Figures = { arp: [], curl: [], missed: 0 };
  for (let i = 0; i < KILLS; i++) {
    const vip = serviceIp(plan, 'default', 'web');
    if (!vip) throw new Error('the web Service has no IP');
    if (!(await waitSingleOwner(plan, vip, 60_000))) throw new Error(`no single owner of ${vip} before kill ${i + 1}`);
    const r = await k8sFailover(plan, vip, 60_000);
    console.log(`  ${profile} kill ${i + 1}/${KILLS}: ${r.from} -> ${r.to ?? '?'}  ARP move ${r.arpMoveMs ?? 'never'} ms, first good curl ${r.firstCurlMs ?? 'never'} ms`);
    if (r.arpMoveMs === undefined || r.firstCurlMs === undefined) f.missed++;
    if (r.arpMoveMs !== undefined) f.arp.push(r.arpMoveMs);
    if (r.firstCurlMs !== undefined) f.curl.push(r.firstCurlMs);
    await k8sReviveNode(plan, r.from, 180_000);
  }
  return f;
}

async function main(): Promise<number> {
  try {
    if (!isRoot()) throw new Error('needs root');
    requireK8sTools();
  } catch (e) {
    console.log(`failover-k8s: SKIPPED (${errorText(e)})`);
    return 0;
  }
  const started = Date.now();
  const { plan, timings } = await k8sUp({ prefix: PREFIX, nodes: 3, mlProfile: 'fast', timeoutMs: 600_000, workloads: true, say: (l) => console.log(`  ${l}`) });
  console.log(`  cluster up in ${((Date.now() - started) / 1000).toFixed(0)} s ${JSON.stringify(timings)}`);
  try {
    const fast = await runProfile(plan, 'fast');
    const lan = await runProfile(plan, 'lan');
    console.log(`failover-k8s (${KILLS} kills per profile, real kubelets, client-side):`);
    console.log(`  fast: ARP move ${fmt(fast.arp)}; first good curl ${fmt(fast.curl)}; missed ${fast.missed}`);
    console.log(`  lan:  ARP move ${fmt(lan.arp)}; first good curl ${fmt(lan.curl)}; missed ${lan.missed}`);
    const ratio = (a: number[], b: number[]): string => (a.length && b.length ? (percentile(b, 50) / percentile(a, 50)).toFixed(1) : 'n/a');
    console.log(`  lan/fast p50 ratio: ARP move ${ratio(fast.arp, lan.arp)}x, first good curl ${ratio(fast.curl, lan.curl)}x`);
    return fast.missed + lan.missed === 0 ? 0 : 1;
  } catch (e) {
    console.log(k8sDiagnostics(plan));
    throw e;
  } finally {
    await k8sDown(PREFIX);
  }
}

main().then((code) => process.exit(code), (e: unknown) => { console.error(e); process.exit(1); });
