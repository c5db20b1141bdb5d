// The lab end to end, driven through the real `l2lb lab` CLI: up, pool + Service + EndpointSlice,
// one announcer, kill the owner, the client follows within 1 s, revive, down leaves nothing behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, phasesOnNode, speakerHasRun } from '../../src/lab/lab.js';
import { NeighWatch, primeClient, waitSingleOwner } from '../../src/lab/failover.js';
import { isLabNamespace, METRICS_PORT, planLab } from '../../src/lab/plan.js';
import type { ExplainReport, StatusReport } from '../../src/plugin/report.js';
import { endpointSlice, lbService, poolConfigMap } from '../../src/lab/scenario.js';
import type { LabStatus } from '../../src/lab/status.js';
import { alive, have, ip, isRoot, listNetns, netnsPids, nsExec, staleLabPrefixes } from '../../src/lab/sys.js';
import { waitFor } from './wait.js';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function l2lb(args: string[], input?: string, timeoutMs = 45_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN.l2lb, ...args], { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/** Removes labs left by dead test processes (prefixes l2lt<pid> and l2lt<pid>e). */
async function cleanupStale(): Promise<void> {
  for (const p of staleLabPrefixes('l2lt', '/run/l2lb-lab', 'e?')) await l2lb(['lab', 'down', '--prefix', p]);
}

describe('l2lb lab end to end @integration', function () {
  this.timeout(240_000); // 50 s idle, over 200 s on a loaded 2-core machine
  const prefix = `l2lt${process.pid}`;
  const plan = planLab({ prefix, nodes: 3 });
  let started = false;

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
      if (process.env['CI'] === 'true') throw new Error(`lab e2e ${why}`);
      this.skip();
    }
    await cleanupStale();
  });

  after(async () => {
    if (started) await l2lb(['lab', 'down', '--prefix', prefix]);
  });

  it('fails over to another node within 1 s as the client sees it, and leaves nothing behind', async () => {
    const t0 = Date.now();
    started = true;
    const up = await l2lb(['lab', 'up', '--nodes', '3', '--prefix', prefix]);
    assert.equal(up.code, 0, `lab up failed: ${up.stderr}${up.stdout}`);
    assert.match(up.stdout, new RegExp(`lab ${prefix} is up`));

    const objects = [poolConfigMap(plan), lbService('web'), endpointSlice(plan, 'web')];
    const applied = await l2lb(['lab', 'kubectl', '--prefix', prefix, 'apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
    assert.equal(applied.code, 0, applied.stderr);

    const vip = await waitFor(
      async () => {
        const r = await l2lb(['lab', 'kubectl', '--prefix', prefix, 'get', 'svc', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
        return r.code === 0 && /^10\.213\.0\.2\d\d$/.test(r.stdout.trim()) ? r.stdout.trim() : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'the controller to assign an IP to default/web' },
    );

    const status = async (): Promise<LabStatus> => {
      const r = await l2lb(['lab', 'status', '--json', '--prefix', prefix]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as LabStatus;
    };
    const announcers = async (): Promise<string[]> => (await status()).services.find((s) => s.service === 'default/web')?.announcedBy ?? [];
    const ownerName = await waitFor(
      async () => {
        const a = await announcers();
        return a.length === 1 ? a[0] : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'exactly one node announcing default/web' },
    );
    const owner = plan.nodes.find((n) => n.name === ownerName);
    assert.ok(owner);
    const answer = await waitSingleOwner(plan, vip, 5000);
    assert.equal(answer?.mac, owner.mac, `the announcing node ${owner.name} answers ARP for ${vip}`);

    // ServiceL2Status (MetalLB's shape): exactly one, naming the announcing node.
    const l2statuses = async (): Promise<{ node?: string; labelNode?: string }[]> => {
      const r = await l2lb(['lab', 'kubectl', '--prefix', prefix, 'get', 'servicel2statuses', '-n', 'l2lb-system', '-o', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const items = (JSON.parse(r.stdout) as { items: { metadata: { labels?: Record<string, string> }; status?: { node?: string; serviceName?: string } }[] })
        .items;
      return items
        .filter((i) => i.metadata.labels?.['metallb.io/service-name'] === 'web')
        .map((i) => ({
          ...(i.status?.node ? { node: i.status.node } : {}),
          ...(i.metadata.labels?.['metallb.io/node'] ? { labelNode: i.metadata.labels['metallb.io/node'] } : {}),
        }));
    };
    await waitFor(
      async () => {
        const l = await l2statuses();
        return l.length === 1 && l[0]?.node === owner.name && l[0].labelNode === owner.name;
      },
      { timeoutMs: 5000, intervalMs: 200, what: `one ServiceL2Status naming ${owner.name}` },
    );

    // kubectl l2lb, run where kubectl runs in the lab (the control-plane namespace), against the lab's real state.
    const plugin = <T>(args: string[]): T => {
      const metrics = plan.nodes.flatMap((n) => ['--speaker-metrics', `http://${n.ip}:${METRICS_PORT}/metrics`]);
      const r = nsExec(plan.cp.ns, process.execPath, [BIN.kubectlL2lb, ...args, '-o', 'json', '--kubeconfig', join(plan.stateDir, 'kubeconfig'), ...metrics], {
        allowFail: true,
        timeoutMs: 20_000,
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as T;
    };
    const st = plugin<StatusReport>(['status']);
    const row = st.services.find((x) => x.service === 'default/web');
    assert.deepEqual(row && { ips: row.ips, announcedBy: row.announcedBy }, { ips: [vip], announcedBy: [owner.name] });
    assert.equal(st.speakers.filter((x) => x.reachable && x.members?.length === 3).length, 3, JSON.stringify(st.speakers));
    assert.ok(
      st.pools.some((p) => p.assigned === 1),
      JSON.stringify(st.pools),
    );
    const ex = plugin<ExplainReport>(['explain', 'svc/web', '-n', 'default']);
    assert.equal(ex.winner, owner.name);
    assert.deepEqual(ex.announcedBy, [owner.name]);
    assert.equal(ex.nodes.filter((n) => n.candidate).length, 3);
    const predictedSuccessor = ex.successor;

    assert.equal(await primeClient(plan, vip), owner.mac);
    const watch = await NeighWatch.start(plan.client.ns);
    let failoverMs: number;
    let newMac: string;
    let killedAtMs = 0;
    try {
      const kill = await l2lb(['lab', 'kill', '--prefix', prefix, owner.name]);
      assert.equal(kill.code, 0, kill.stderr);
      killedAtMs = Number(/killedAtMs=(\d+)/.exec(kill.stdout)?.[1]);
      assert.ok(killedAtMs > t0, kill.stdout);
      const ev = await watch.next((e) => e.ip === vip && !e.deleted && e.mac !== undefined && e.mac !== owner.mac, 5000);
      assert.ok(ev?.mac, `the client's entry for ${vip} never left ${owner.mac}`);
      failoverMs = ev.atMs - killedAtMs;
      newMac = ev.mac;
    } finally {
      watch.stop();
    }
    const newOwner = plan.nodes.find((n) => n.mac === newMac);
    console.log(`      failover ${owner.name} -> ${newOwner?.name ?? newMac}: ${failoverMs} ms as the client sees it`);
    assert.ok(newOwner && newOwner !== owner, `new MAC ${newMac} belongs to another lab node`);
    assert.ok(failoverMs < 1000, `failover took ${failoverMs} ms (limit 1000)`);
    const after = await status();
    assert.equal(after.nodes.find((n) => n.name === owner.name)?.speaker, 'down');
    assert.deepEqual(after.services.find((s) => s.service === 'default/web')?.announcedBy, [newOwner.name]);
    assert.equal(newOwner.name, predictedSuccessor, 'kubectl l2lb explain named the node that took over');
    // The ServiceL2Status follows within 1 s of the takeover, and after it: the gratuitous ARP went first.
    const phases = await waitFor(
      async () => {
        const ph = await phasesOnNode(plan, newOwner.name, owner.name, 'default/web', killedAtMs);
        return ph.l2StatusMs !== undefined && ph.announcedMs !== undefined ? ph : undefined;
      },
      { timeoutMs: 5000, intervalMs: 100, what: `${newOwner.name} to log its ServiceL2Status written` },
    );
    const statusLagMs = (phases.l2StatusMs ?? 0) - (phases.announcedMs ?? 0);
    console.log(`      ServiceL2Status names ${newOwner.name} ${statusLagMs} ms after it started announcing`);
    assert.ok(statusLagMs >= 0 && statusLagMs < 1000, `ServiceL2Status written ${statusLagMs} ms after the takeover (limit 1000)`);
    await waitFor(
      async () => {
        const l = await l2statuses();
        return l.length === 1 && l[0]?.node === newOwner.name;
      },
      { timeoutMs: 2000, intervalMs: 100, what: `exactly one ServiceL2Status, naming ${newOwner.name}` },
    );

    const revive = await l2lb(['lab', 'revive', '--prefix', prefix, owner.name]);
    assert.equal(revive.code, 0, revive.stderr);
    await waitFor(
      async () => {
        const s = await status();
        const n = s.nodes.find((x) => x.name === owner.name);
        return n?.speaker === 'up' && n.link === 'up' && n.members.length === 3;
      },
      { timeoutMs: 10_000, intervalMs: 250, what: `${owner.name} back with 3 memberlist members` },
    );

    // Everything the lab started, to check after down.
    const pids = new Set<number>();
    for (const f of readdirSync(join(plan.stateDir, 'pids'))) pids.add(Number(readFileSync(join(plan.stateDir, 'pids', f), 'utf8')));
    for (const ns of listNetns().filter((n) => isLabNamespace(prefix, n))) for (const p of netnsPids(ns)) pids.add(p);
    assert.ok(pids.size >= 5, `apiserver, controller and 3 speakers run (pids: ${[...pids].join(',')})`);
    const down = await l2lb(['lab', 'down', '--prefix', prefix]);
    assert.equal(down.code, 0, down.stderr);
    started = false;
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(`${prefix}-`)),
      [],
    );
    assert.deepEqual([...pids].filter(alive), []);
    assert.ok(!existsSync(plan.stateDir), `${plan.stateDir} removed`);
    const again = await l2lb(['lab', 'down', '--prefix', prefix]);
    assert.equal(again.code, 0, 'down is idempotent');
    console.log(`      whole run ${Date.now() - t0} ms`);
  });
});

describe('l2lb lab up/down edge cases and the demo @integration', function () {
  this.timeout(60_000);
  const prefix = `l2lt${process.pid}e`;

  before(function () {
    const missing = ['ip', 'kubectl', 'arping', 'ping', 'bash'].filter((t) => !have(t));
    const why = !isRoot()
      ? 'needs root'
      : missing.length
        ? `missing tools: ${missing.join(', ')}`
        : !speakerHasRun()
          ? 'l2lb-speaker has no run command (build it)'
          : undefined;
    if (why) {
      if (process.env['CI'] === 'true') throw new Error(`lab e2e ${why}`);
      this.skip();
    }
  });

  afterEach(async () => {
    await l2lb(['lab', 'down', '--prefix', prefix]);
  });

  it('tears down what it made when something does not come up in time, naming it', async () => {
    const r = await l2lb(['lab', 'up', '--prefix', prefix, '--timeout', '0.2']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /l2lb lab up: apiserver did not answer 200 on http:\/\/10\.213\.0\.2:6443\/version in time/);
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(`${prefix}-`)),
      [],
    );
    assert.ok(!existsSync(`/run/l2lb-lab/${prefix}`));
  });

  it('refuses a prefix in use, and down removes a half-built lab', async () => {
    const r0 = await l2lb(['lab', 'down', '--prefix', prefix]);
    assert.equal(r0.code, 0);
    ip(['netns', 'add', `${prefix}-sw`]);
    const r = await l2lb(['lab', 'up', '--prefix', prefix]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`prefix "${prefix}" is in use \\(namespaces ${prefix}-sw exist\\); run \`l2lb lab down --prefix ${prefix}\` first`));
    const d = await l2lb(['lab', 'down', '--prefix', prefix]);
    assert.equal(d.code, 0);
    assert.match(d.stdout, /deleted 1 namespaces/);
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(`${prefix}-`)),
      [],
    );
  });

  it('the demo (npm start without the MetalLB comparison) runs to the end and cleans up', async () => {
    const r = await l2lb(['lab', 'demo', '--no-compare', '--prefix', prefix], undefined, 55_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /moved from n\d \(02:13:00:00:01:0\d\) to n\d \(02:13:00:00:01:0\d\) \d+ ms after the kill/);
    assert.match(r.stdout, /Warning InvalidConfiguration on ConfigMap\/config/);
    assert.match(r.stdout, /demo finished in/);
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(`${prefix}-`)),
      [],
    );
  });
});
