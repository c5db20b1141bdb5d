// The API server goes away (issue 14 item 4), in the process lab: with the API server stopped, the
// VIP's owner is killed and the VIP still moves (memberlist needs no API server), the new owner logs
// the Event and ServiceL2Status writes it cannot make, and they do not delay its gratuitous ARP.
// The API server then comes back with the same data, and later from an older backup (resourceVersions
// go back): controller and speakers resync with no IP change and no announcement flap.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiserverStateFile, backupApiserverState, restoreApiserverState, startApiserver, stopApiserver } from '../../src/lab/chaos.js';
import { NeighWatch, primeClient, waitSettled, waitSingleOwner } from '../../src/lab/failover.js';
import { apply, down, killNode, kubectl, logFile, phasesOnNode, speakerHasRun, up } from '../../src/lab/lab.js';
import { METRICS_PORT, type LabPlan, type NodePlan } from '../../src/lab/plan.js';
import { endpointSlice, ingressIp, lbService, poolConfigMap } from '../../src/lab/scenario.js';
import { soakLogEvents } from '../../src/lab/soak.js';
import { have, isRoot, nsHttpGet, staleLabPrefixes } from '../../src/lab/sys.js';
import { waitFor } from './wait.js';

/** The nodes named by the ServiceL2Status objects of default/web. */
function l2statusNodes(plan: LabPlan): string[] | undefined {
  const out = kubectl(plan, ['get', 'servicel2statuses', '-n', 'l2lb-system', '-o', 'json'], { allowFail: true });
  if (!out) return undefined;
  const items = (JSON.parse(out) as { items: { metadata: { labels?: Record<string, string> }; status?: { node?: string } }[] }).items;
  return items
    .filter((i) => i.metadata.labels?.['metallb.io/service-name'] === 'web')
    .map((i) => i.status?.node ?? '?')
    .sort();
}

/** `kubectl get svc web -w`: every IP the Service shows while the watch runs. */
class ServiceIpWatch {
  readonly ips: string[] = [];
  private readonly child: ChildProcess;
  constructor(plan: LabPlan) {
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        plan.cp.ns,
        'kubectl',
        '--kubeconfig',
        join(plan.stateDir, 'kubeconfig'),
        'get',
        'svc',
        'web',
        '-w',
        '-o',
        'jsonpath={.metadata.resourceVersion} {.status.loadBalancer.ingress[*].ip}{"\\n"}',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let buf = '';
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line !== '') this.ips.push(line.split(' ').slice(1).join(' '));
      }
    });
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

/** Informer staleness of every running speaker and the controller is 0 (all watches established). */
async function allWatching(plan: LabPlan, nodes: NodePlan[]): Promise<boolean> {
  const targets = [{ ns: plan.cp.ns, ip: plan.cp.ip }, ...nodes.map((n) => ({ ns: n.ns, ip: n.ip }))];
  for (const t of targets) {
    const m = await nsHttpGet(t.ns, t.ip, METRICS_PORT, '/metrics', 1500);
    if (m?.status !== 200) return false;
    const stale = [...m.body.matchAll(/^l2lb_kube_informer_staleness_seconds\{[^}]*\} (\S+)$/gm)].map((x) => Number(x[1]));
    if (stale.length === 0 || stale.some((s) => s !== 0)) return false;
  }
  return true;
}

describe('API server outage: failover without it, resync after it @integration', function () {
  this.timeout(300_000);
  const prefix = `l2lta${process.pid}`;

  before(async function () {
    const missing = ['ip', 'kubectl', 'arping', 'ping', 'bash'].filter((t) => !have(t));
    const why = !isRoot()
      ? 'needs root'
      : missing.length
        ? `missing tools: ${missing.join(', ')}`
        : !speakerHasRun()
          ? 'l2lb-speaker has no run command (build it)'
          : undefined;
    if (why) {
      if (process.env['CI'] === 'true') throw new Error(`API outage test ${why}`);
      this.skip();
    }
    for (const p of staleLabPrefixes('l2lta')) await down({ prefix: p });
  });

  after(async () => {
    await down({ prefix });
  });

  it('fails over with the API server down, then resyncs (same data, and an older backup) with 0 IP changes and no flaps', async () => {
    const plan = await up({ prefix, nodes: 3, mlProfile: 'fast', timeoutMs: 120_000 });
    apply(plan, [poolConfigMap(plan), lbService('web'), endpointSlice(plan, 'web')]);
    const vip = await waitFor(() => ingressIp(kubectl(plan, ['get', 'svc', 'web', '-o', 'json'], { allowFail: true })), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'an IP for default/web',
    });
    assert.ok(await waitSettled(plan, 'default/web', vip, 60_000), 'lab settled');
    const owner = (await waitSingleOwner(plan, vip, 10_000))?.node;
    assert.ok(owner, `one lab node answers ARP for ${vip}`);
    await waitFor(() => l2statusNodes(plan)?.join() === owner.name, { timeoutMs: 10_000, intervalMs: 200, what: `one ServiceL2Status naming ${owner.name}` });
    // The backup restored later: it names the old owner, at a lower resourceVersion than what follows.
    await waitFor(() => readFileSync(apiserverStateFile(plan), 'utf8').includes(`"node":"${owner.name}"`), {
      timeoutMs: 5000,
      what: 'the API server state on disk',
    });
    const backup = join(plan.stateDir, 'apiserver-backup.json');
    const backupRv = backupApiserverState(plan, backup);

    assert.equal(await primeClient(plan, vip), owner.mac);
    const neigh = await NeighWatch.start(plan.client.ns);
    try {
      // 1. API server down; kill the owner.
      await stopApiserver(plan);
      const { killedAtMs } = await killNode(plan, owner.name);
      const moved = await neigh.next((e) => e.ip === vip && !e.deleted && e.mac !== undefined && e.mac !== owner.mac, 10_000);
      assert.ok(moved?.mac, `the client's entry for ${vip} never left ${owner.mac} with the API server down`);
      const newOwner = plan.nodes.find((n) => n.mac === moved.mac);
      assert.ok(newOwner && newOwner !== owner, `new MAC ${moved.mac} is another lab node's`);
      const failoverMs = moved.atMs - killedAtMs;
      const phases = await phasesOnNode(plan, newOwner.name, owner.name, 'default/web', killedAtMs);
      console.log(
        `      API server down: ${owner.name} killed, client follows to ${newOwner.name} after ${failoverMs} ms` +
          ` (declared dead +${phases.detectedMs ?? '?'} ms, announcing +${phases.announcedMs ?? '?'} ms)`,
      );
      assert.ok(failoverMs < 1000, `failover with the API server down took ${failoverMs} ms (limit 1000, as with it up)`);
      // The writes it could not make are logged (after the announcement: they never held it up).
      const failed = await waitFor(
        () => {
          const log = readFileSync(logFile(plan, newOwner.name), 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { message?: string; timestamp?: string })
            .filter((l) => Date.parse(l.timestamp ?? '') >= killedAtMs);
          const l2 = log.find((l) => /writing the ServiceL2Status of default\/web failed/.test(l.message ?? ''));
          const ev = log.find((l) => /record event for service default\/web failed/i.test(l.message ?? ''));
          return l2 && ev ? { l2, ev } : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200, what: `${newOwner.name} to log its failed ServiceL2Status and Event writes` },
      );
      const l2At = Date.parse(failed.l2.timestamp ?? '') - killedAtMs;
      const evAt = Date.parse(failed.ev.timestamp ?? '') - killedAtMs;
      console.log(`      logged: "${failed.l2.message ?? ''}" (+${l2At} ms), "${failed.ev.message ?? ''}" (+${evAt} ms)`);
      assert.ok(phases.announcedMs !== undefined && l2At >= phases.announcedMs && evAt >= phases.announcedMs, 'the failed writes came after the announcement');

      // 2. The API server comes back with the same data.
      const quietFrom = Date.now();
      await startApiserver(plan);
      const survivors = plan.nodes.filter((n) => n !== owner);
      const svcWatch1 = new ServiceIpWatch(plan);
      const t2 = Date.now();
      await waitFor(() => l2statusNodes(plan)?.join() === newOwner.name, {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: `the ServiceL2Status naming ${newOwner.name} after the API server came back`,
      });
      await waitFor(() => allWatching(plan, survivors), { timeoutMs: 30_000, intervalMs: 300, what: 'every informer watching again' });
      console.log(`      API server back (same data): ServiceL2Status names ${newOwner.name} and every watch is back within ${Date.now() - t2} ms`);
      svcWatch1.stop();

      // 3. Restored from the older backup: resourceVersions go back, the ServiceL2Status names the dead node again.
      await stopApiserver(plan);
      const rvBefore = (JSON.parse(readFileSync(apiserverStateFile(plan), 'utf8')) as { resourceVersion: number }).resourceVersion;
      restoreApiserverState(plan, backup);
      await startApiserver(plan);
      const svcWatch2 = new ServiceIpWatch(plan);
      const t3 = Date.now();
      try {
        await waitFor(() => l2statusNodes(plan)?.join() === newOwner.name, {
          timeoutMs: 30_000,
          intervalMs: 200,
          what: `the ServiceL2Status naming ${newOwner.name} again after the restore (the restored one names ${owner.name})`,
        });
        await waitFor(() => allWatching(plan, survivors), { timeoutMs: 30_000, intervalMs: 300, what: 'every informer watching again' });
        console.log(
          `      API server restored from a backup (resourceVersion ${rvBefore} -> ${backupRv}): ServiceL2Status names ${newOwner.name} again within ${Date.now() - t3} ms`,
        );
        // The watch has printed the Service at least once (the controller acted on its relist by now: the
        // ServiceL2Status above came from the speakers' relist, which happened at the same reconnect).
        await waitFor(() => svcWatch2.ips.length > 0, { timeoutMs: 10_000, what: 'kubectl get svc -w output' });
      } finally {
        svcWatch2.stop();
      }
      const ips = [...svcWatch1.ips, ...svcWatch2.ips];
      console.log(`      kubectl get svc web -w saw: ${[...new Set(ips)].join(', ')} (${ips.length} versions)`);
      assert.deepEqual([...new Set(ips)], [vip], 'the Service kept its IP through both resyncs');
      assert.equal(ingressIp(kubectl(plan, ['get', 'svc', 'web', '-o', 'json'])), vip);
      const relisted = survivors.filter((n) => /resourceVersion went back/.test(readFileSync(logFile(plan, n.name), 'utf8')));
      const ctlRelisted = /resourceVersion went back/.test(readFileSync(logFile(plan, 'controller'), 'utf8'));
      console.log(`      relisted on the restore: ${relisted.map((n) => n.name).join(', ')}${ctlRelisted ? ', controller' : ''}`);

      // No flaps: nobody started or stopped announcing, and the client's entry never moved again.
      const now = Date.now();
      const flaps = survivors.flatMap((n) => soakLogEvents(n.name, readFileSync(logFile(plan, n.name), 'utf8'), 'default/web', quietFrom, now).announcements);
      assert.deepEqual(flaps, [], 'no announcement changes after the API server came back');
      const later = neigh.events.filter((e) => e.ip === vip && !e.deleted && e.mac !== undefined && e.mac !== newOwner.mac && e.atMs > moved.atMs);
      assert.deepEqual(later, [], 'the client kept the new owner');
      assert.equal((await waitSingleOwner(plan, vip, 5000))?.node?.name, newOwner.name, 'the new owner alone answers ARP');
    } finally {
      neigh.stop();
    }
  });
});
