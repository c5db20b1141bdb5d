// The user story in a real Kubernetes v1.20 (`l2lb lab up --kubernetes`): kubelets in node namespaces run
// the controller Deployment and the speaker DaemonSet from manifests/l2lb.yaml with images built by
// scripts/build-images.sh; a web Deployment behind a LoadBalancer Service answers curl through kube-proxy;
// the announcing node is powered off and the client's ARP entry and curl recover; the node comes back; the
// pool changes; the speaker DaemonSet is rolled. On any failure it prints node conditions, pod states and
// kubelet/containerd log tails, and everything is torn down in after().
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitSingleOwner } from '../../src/lab/failover.js';
import { k8sFailover } from '../../src/lab/k8s-failover.js';
import { k8sDataDir, nodePaths, poolConfigMap } from '../../src/lab/k8s-plan.js';
import {
  applyObjects,
  curlVip,
  REPO_ROOT,
  installL2lb,
  k8sDiagnostics,
  k8sDown,
  k8sReviveNode,
  k8sUp,
  requireK8sTools,
  serviceIp,
  waitRollout,
  waitServiceIp,
} from '../../src/lab/k8s.js';
import { k8sStatus } from '../../src/lab/k8s-status.js';
import { LabError } from '../../src/lab/lab.js';
import { isLabNamespace, type LabPlan } from '../../src/lab/plan.js';
import { isRoot, listNetns, runAsync, staleLabPrefixes } from '../../src/lab/sys.js';
import { waitFor } from './wait.js';

const log = (line: string): void => {
  process.stdout.write(`      ${line}\n`);
};

/** Tears down Kubernetes labs left by dead test processes (prefix k8t<pid>). */
async function cleanupStale(): Promise<void> {
  for (const p of staleLabPrefixes('k8t', '/var/lib/l2lb-lab')) await k8sDown(p);
}

describe('l2lb in a real Kubernetes 1.20 cluster @integration', function () {
  // The first run on a fresh machine builds the base image, l2lb's images and (without the optional
  // prebuilt cache) the Kubernetes binaries; later runs take about two minutes.
  this.timeout(45 * 60_000);
  const prefix = `k8t${process.pid}`;
  let plan: LabPlan | undefined;
  let vip = '';

  before(async function () {
    try {
      if (!isRoot()) throw new LabError('needs root');
      requireK8sTools();
    } catch (e) {
      if (process.env['CI'] === 'true') throw e;
      this.skip();
    }
    await cleanupStale();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && plan) log(k8sDiagnostics(plan));
  });

  after(async function () {
    this.timeout(5 * 60_000);
    const r = await k8sDown(prefix);
    log(`teardown: ${r.processes} processes, ${r.namespaces.length} namespaces`);
    assert.deepEqual(
      listNetns().filter((n) => isLabNamespace(prefix, n)),
      [],
      'namespaces left behind',
    );
    assert.equal(existsSync(`/var/lib/l2lb-lab/${prefix}`), false, 'node data left behind');
    const cgroups = readdirSync('/sys/fs/cgroup/pids').filter((d) => d.startsWith(`l2lb-${prefix}-`));
    assert.deepEqual(cgroups, [], 'cgroups left behind');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(`/${prefix}/`));
    assert.deepEqual(mounts, [], 'mounts left behind');
  });

  it('comes up: 3 Ready nodes, the controller and 3 speakers rolled out from manifests/l2lb.yaml', async function () {
    const r = await k8sUp({ prefix, nodes: 3, mlProfile: 'fast', timeoutMs: 600_000, workloads: false, say: log });
    plan = r.plan;
    const deadline = Date.now() + 300_000;
    await installL2lb(plan, deadline, log);
    log(`timings: ${JSON.stringify(r.timings)}`);
    const s = await k8sStatus(plan);
    assert.deepEqual(
      s.kubernetes.nodes.map((n) => n.ready),
      [true, true, true],
    );
    const l2lbPods = s.kubernetes.pods.filter((p) => p.namespace === 'l2lb-system');
    assert.equal(l2lbPods.filter((p) => p.name.startsWith('speaker-') && p.phase === 'Running' && p.ready).length, 3, JSON.stringify(l2lbPods));
    assert.equal(l2lbPods.filter((p) => p.name.startsWith('controller-') && p.phase === 'Running' && p.ready).length, 1, JSON.stringify(l2lbPods));
  });

  it('the kustomize overlays build and pass a server-side dry run', async function () {
    assert.ok(plan, 'cluster is up');
    for (const overlay of readdirSync(join(REPO_ROOT, 'manifests', 'overlays'))) {
      const built = await runAsync('kubectl', ['kustomize', '--load-restrictor=LoadRestrictionsNone', join(REPO_ROOT, 'manifests', 'overlays', overlay)], {
        allowFail: true,
        timeoutMs: 60_000,
      });
      assert.equal(built.status, 0, `kubectl kustomize ${overlay}: ${built.stderr}`);
      const r = await runAsync(
        'ip',
        ['netns', 'exec', plan.cp.ns, 'kubectl', '--kubeconfig', `${plan.stateDir}/kubeconfig`, 'apply', '--dry-run=server', '-f', '-'],
        { input: built.stdout, allowFail: true, timeoutMs: 60_000 },
      );
      assert.equal(r.status, 0, `server dry run of overlay ${overlay}: ${r.stderr}`);
      log(`overlay ${overlay}: ${r.stdout.trim().split('\n').length} objects pass --dry-run=server`);
    }
  });

  it('a pool ConfigMap and a 3-replica web Service: curl http://VIP/ answers through kube-proxy', async function () {
    assert.ok(plan, 'cluster is up');
    const { webObjects } = await import('../../src/lab/k8s-plan.js');
    applyObjects(plan, [poolConfigMap(plan.poolRange)]);
    applyObjects(plan, webObjects(3));
    const deadline = Date.now() + 180_000;
    vip = await waitServiceIp(plan, 'default', 'web', deadline);
    await waitRollout(plan, 'default', 'deployment/web', deadline);
    const body = await waitFor(() => curlVip(plan as LabPlan, vip, 2000), { timeoutMs: 60_000, intervalMs: 300, what: `curl http://${vip}/` });
    log(`curl http://${vip}/ -> ${body}`);
    assert.match(body, /^pod=web-\S+ node=n\d$/);
    const owner = await waitSingleOwner(plan, vip, 30_000);
    assert.ok(owner?.node, `one lab node answers ARP for ${vip}`);
    log(`announced by ${owner.node.name}`);
  });

  let killed = '';
  it('the announcing node powered off: the ARP entry moves and curl answers again', async function () {
    assert.ok(plan && vip);
    const f = await k8sFailover(plan, vip, 60_000);
    killed = f.from;
    log(`killed ${f.from}: ARP moved to ${f.to} after ${f.arpMoveMs} ms; first good curl after ${f.firstCurlMs} ms (${f.failedCurls} failed)`);
    assert.ok(f.arpMoveMs !== undefined, 'the ARP entry moved');
    assert.notEqual(f.to, f.from);
    assert.ok(f.firstCurlMs !== undefined, 'curl answered again');
  });

  it('the node revived: Ready again and still exactly one owner', async function () {
    assert.ok(plan && killed);
    await k8sReviveNode(plan, killed, 180_000);
    const owner = await waitSingleOwner(plan, vip, 30_000);
    assert.ok(owner?.node, 'exactly one MAC answers ARP');
    // The node controller notices the power-off only after its grace period, which can end after the
    // revived kubelet reported Ready: the Node then goes NotReady for a moment. Ready again is the condition.
    const p = plan;
    const s = await waitFor(
      async () => {
        const st = await k8sStatus(p);
        return st.kubernetes.nodes.every((n) => n.ready) ? st : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 1000, what: 'every Node Ready after the revive' },
    );
    assert.deepEqual(
      s.kubernetes.nodes.map((n) => n.ready),
      [true, true, true],
    );
    assert.equal((await waitSingleOwner(plan, vip, 30_000))?.node?.name !== undefined, true, 'still exactly one owner');
  });

  it('a new pool range: the Service gets a new IP and stays reachable', async function () {
    assert.ok(plan && vip);
    const range = '10.213.0.220-10.213.0.229';
    applyObjects(plan, [poolConfigMap(range)]);
    const next = await waitServiceIp(plan, 'default', 'web', Date.now() + 60_000, vip);
    assert.match(next, /^10\.213\.0\.22\d$/);
    vip = next;
    const body = await waitFor(() => curlVip(plan as LabPlan, vip, 2000), { timeoutMs: 30_000, intervalMs: 200, what: `curl http://${vip}/` });
    log(`new VIP ${vip}: ${body}`);
  });

  it('rolling the speaker DaemonSet: curl keeps answering (graceful leave)', async function () {
    assert.ok(plan && vip);
    const p = plan;
    let ok = 0;
    let failed = 0;
    let done = false;
    const poll = (async () => {
      while (!done) {
        if ((await curlVip(p, vip, 1000)) !== undefined) ok++;
        else failed++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const kc = ['netns', 'exec', p.cp.ns, 'kubectl', '--kubeconfig', `${p.stateDir}/kubeconfig`, '-n', 'l2lb-system'];
    await runAsync('ip', [...kc, 'rollout', 'restart', 'daemonset/speaker'], { timeoutMs: 30_000 });
    await waitRollout(p, 'l2lb-system', 'daemonset/speaker', Date.now() + 240_000);
    done = true;
    await poll;
    log(`speaker rollout: ${ok} good curls, ${failed} failed (target 0)`);
    assert.ok(ok > 0);
    // Reported, and bounded: a graceful leave hands the VIP over before the old speaker exits.
    assert.ok(failed <= 3, `${failed} curls failed during the rollout`);
    assert.ok(serviceIp(p, 'default', 'web') === vip);
    assert.ok(existsSync(nodePaths(p, p.nodes[0]!).data) && existsSync(k8sDataDir(p)));
  });
});
