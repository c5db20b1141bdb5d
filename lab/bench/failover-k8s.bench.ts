// Failover in a real Kubernetes 1.20 cluster (`l2lb lab up --kubernetes`), as the client sees it: the VIP's
// announcing node is powered off (kubelet, containerd, kube-proxy and every container SIGKILLed, link
// down); measured are the time until the client's ARP entry for the VIP holds another node's MAC and the
// time until the first successful `curl http://VIP/`. L2LB_BENCH_KILLS kills (default 5) per memberlist
// profile: `fast` (l2lb's default) and `lan` (MetalLB's timings, set on the DaemonSet with
// L2LB_ML_PROFILE as a user of the lan overlay would), in the same run and cluster. L2LB_BENCH_PROFILES
// (comma-separated, default "fast,lan") runs fewer. Every kill also prints its steps (death detected,
// elected, gratuitous burst, from the speakers' logs) and, with L2LB_BENCH_TIMELINE=1 or when the ARP move
// took over 1 s, the whole timeline since the previous revive began (speaker logs and client neighbour events).
// Needs root and the real-cluster tools; prints SKIPPED otherwise.
import { errorText } from '@l2lb/shared/log';
import { percentile, waitSingleOwner } from '../src/lab/failover.js';
import { formatTimeline, gapsText } from '../src/lab/failover-timeline.js';
import { k8sFailover } from '../src/lab/k8s-failover.js';
import { k8sDiagnostics, k8sDown, k8sReviveNode, k8sUp, requireK8sTools, serviceIp, waitRollout } from '../src/lab/k8s.js';
import type { LabPlan } from '../src/lab/plan.js';
import { isRoot, runAsync } from '../src/lab/sys.js';

const KILLS = Number(process.env['L2LB_BENCH_KILLS'] ?? 5);
const PROFILES = (process.env['L2LB_BENCH_PROFILES'] ?? 'fast,lan')
  .split(',')
  .map((p) => p.trim())
  .filter((p): p is 'fast' | 'lan' => p === 'fast' || p === 'lan');
const FULL_TIMELINE = process.env['L2LB_BENCH_TIMELINE'] === '1';
const SLOW_MS = 1000;
const PREFIX = `k8b${process.pid}`;

interface Figures {
  arp: number[];
  curl: number[];
  missed: number;
}

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
  let revivedAtMs = Date.now();
  for (let i = 0; i < KILLS; i++) {
    const vip = serviceIp(plan, 'default', 'web');
    if (!vip) throw new Error('the web Service has no IP');
    if (!(await waitSingleOwner(plan, vip, 60_000))) throw new Error(`no single owner of ${vip} before kill ${i + 1}`);
    const sinceRevive = Date.now() - revivedAtMs;
    const r = await k8sFailover(plan, vip, 60_000, undefined, Math.min(sinceRevive, 120_000));
    console.log(
      `  ${profile} kill ${i + 1}/${KILLS}: ${r.from} -> ${r.to ?? '?'}  ARP move ${r.arpMoveMs ?? 'never'} ms, first good curl ${r.firstCurlMs ?? 'never'} ms` +
        ` (${gapsText(r.gaps)}; previous revive began ${Math.round(sinceRevive / 1000)} s before)`,
    );
    if (FULL_TIMELINE || r.arpMoveMs === undefined || r.arpMoveMs > SLOW_MS) console.log(formatTimeline(r.timeline, r.killedAtMs));
    if (r.arpMoveMs === undefined || r.firstCurlMs === undefined) f.missed++;
    if (r.arpMoveMs !== undefined) f.arp.push(r.arpMoveMs);
    if (r.firstCurlMs !== undefined) f.curl.push(r.firstCurlMs);
    revivedAtMs = Date.now();
    await k8sReviveNode(plan, r.from, 180_000);
    console.log(`    revived ${r.from} in ${((Date.now() - revivedAtMs) / 1000).toFixed(1)} s`);
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
  const { plan, timings } = await k8sUp({
    prefix: PREFIX,
    nodes: 3,
    mlProfile: 'fast',
    timeoutMs: 600_000,
    workloads: true,
    say: (l) => console.log(`  ${l}`),
  });
  console.log(`  cluster up in ${((Date.now() - started) / 1000).toFixed(0)} s ${JSON.stringify(timings)}`);
  try {
    const figures = new Map<'fast' | 'lan', Figures>();
    for (const p of PROFILES) figures.set(p, await runProfile(plan, p));
    console.log(`failover-k8s (${KILLS} kills per profile, real kubelets, client-side):`);
    for (const [p, f] of figures) console.log(`  ${`${p}:`.padEnd(5)} ARP move ${fmt(f.arp)}; first good curl ${fmt(f.curl)}; missed ${f.missed}`);
    const fast = figures.get('fast');
    const lan = figures.get('lan');
    const ratio = (a: number[], b: number[]): string => (a.length && b.length ? (percentile(b, 50) / percentile(a, 50)).toFixed(1) : 'n/a');
    if (fast && lan) console.log(`  lan/fast p50 ratio: ARP move ${ratio(fast.arp, lan.arp)}x, first good curl ${ratio(fast.curl, lan.curl)}x`);
    return [...figures.values()].every((f) => f.missed === 0) ? 0 : 1;
  } catch (e) {
    console.log(k8sDiagnostics(plan));
    throw e;
  } finally {
    await k8sDown(PREFIX);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
