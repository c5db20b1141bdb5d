// A speaker restarting while another node is powered off, in the real-Kubernetes lab (issue 10): the node
// that does not own the web VIP and is not next in line is powered off, then the VIP winner's speaker Pod is
// deleted (the DaemonSet starts a new one). Printed per round: how long nobody announced the VIP, from the
// survivor's `withdrew (notOwner)` (the restarted speaker joined and wins) to the restarted speaker's
// gratuitous burst (negative: the burst came first), with the timeline. L2LB_BENCH_ROUNDS rounds (default 3),
// fast profile. Needs root and the real-cluster tools; prints SKIPPED otherwise.
import { electionOrder } from '@l2lb/speaker/election/election';
import { waitSingleOwner } from '../src/lab/failover.js';
import { formatTimeline } from '../src/lab/failover-timeline.js';
import { speakerTimeline } from '../src/lab/k8s-failover.js';
import { memberlistMembers, type PodList } from '../src/lab/k8s-plan.js';
import { k8sDown, k8sKillNode, k8sUp, kubectlJson, requireK8sTools, serviceIp } from '../src/lab/k8s.js';
import { findNode } from '../src/lab/plan.js';
import { isRoot, nsHttpGet, runAsync, sleep, waitFor } from '../src/lab/sys.js';

const ROUNDS = Number(process.env['L2LB_BENCH_ROUNDS'] ?? 3);
const PREFIX = `k8r${process.pid}`;

async function main(): Promise<number> {
  try {
    if (!isRoot()) throw new Error('needs root');
    requireK8sTools();
  } catch (e) {
    console.log(`restart-k8s: SKIPPED (${(e as Error).message})`);
    return 0;
  }
  const { plan } = await k8sUp({ prefix: PREFIX, nodes: 3, mlProfile: 'fast', timeoutMs: 600_000, workloads: true, say: (l) => console.log(`  ${l}`) });
  try {
    const vip = serviceIp(plan, 'default', 'web');
    if (!vip) throw new Error('the web Service has no IP');
    const [winner, off, survivor] = electionOrder(
      plan.nodes.map((n) => n.name),
      vip,
    );
    if (!winner || !off || !survivor) throw new Error('three nodes expected');
    if ((await waitSingleOwner(plan, vip, 30_000))?.node?.name !== winner) throw new Error(`${winner} does not answer for ${vip}`);
    await k8sKillNode(plan, off);
    const dropped = await waitFor(
      async () => {
        for (const name of [winner, survivor]) {
          const n = findNode(plan, name);
          const m = n ? await nsHttpGet(n.ns, n.ip, 7472, '/metrics', 1500) : undefined;
          if (m?.status !== 200 || memberlistMembers(m.body).includes(off)) return false;
        }
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    if (!dropped) throw new Error(`the speakers still list ${off} after its power-off`);
    console.log(`  ${vip}: election order ${winner}, ${off}, ${survivor}; ${off} powered off`);
    const kc = ['netns', 'exec', plan.cp.ns, 'kubectl', '--kubeconfig', `${plan.stateDir}/kubeconfig`, '-n', 'l2lb-system'];
    const gaps: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const pod = kubectlJson<PodList>(plan, ['-n', 'l2lb-system', 'get', 'pods', '-l', 'component=speaker'])?.items.find((p) => p.spec.nodeName === winner);
      if (!pod) throw new Error(`no speaker Pod on ${winner}`);
      const t0 = Date.now();
      await runAsync('ip', [...kc, 'delete', 'pod', pod.metadata.name, '--wait=false'], { timeoutMs: 30_000 });
      const back = await waitFor(async () => Date.now() - t0 > 3000 && (await waitSingleOwner(plan, vip, 1000))?.node?.name === winner, {
        timeoutMs: 120_000,
        intervalMs: 300,
      });
      if (!back) throw new Error(`${winner} did not announce ${vip} again`);
      await sleep(1000);
      const tl = await speakerTimeline(plan, t0);
      const withdrew = tl.filter((e) => e.who === survivor && e.what.startsWith('withdrew') && e.what.includes('notOwner')).pop();
      const burst = tl.filter((e) => e.who === winner && e.what.startsWith('gratuitous burst')).pop();
      const gap = withdrew && burst ? burst.atMs - withdrew.atMs : undefined;
      if (gap !== undefined) gaps.push(gap);
      console.log(
        `  round ${round}: ${survivor} withdrew at +${withdrew ? withdrew.atMs - t0 : '?'} ms, restarted ${winner} burst at +${burst ? burst.atMs - t0 : '?'} ms: no announcer for ${gap ?? '?'} ms`,
      );
      console.log(formatTimeline(tl, t0));
      await sleep(3000);
    }
    console.log(
      `restart-k8s (${ROUNDS} restarts of the winner's speaker with ${off} powered off, fast): no announcer for ${gaps.length ? gaps.join(', ') : '?'} ms`,
    );
    return 0;
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
