// A mixed cluster, end to end: two `l2lb-speaker run` processes and one real Go hashicorp/memberlist
// peer (mlpeer, standing in for a MetalLB speaker) in network namespaces on one bridge, all
// gossiping with the MetalLB-derived key from the same secret. The Go member is node `go-node`
// (with a Node object): an IP that electionOrder() gives to it is announced by no l2lb speaker
// (they defer to it, which is what lets l2lb and MetalLB speakers coexist), an IP won by an l2lb
// node is announced by that node, and when the Go peer dies the next l2lb node in the order takes
// its IP. Everything is named l2v6i<pid>-... and removed even when a test fails.
import assert from 'node:assert/strict';
import { errorText } from '@l2lb/shared/log';
import { electionOrder } from '../../src/election/election.js';
import { SpeakerCluster, cleanupStalePrefix, ensureMlpeer } from '../helpers/cluster.js';
import { have, isRoot, nsExec, type NsProcess } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const L2LB = ['n1', 'n2'] as const;
const GO = 'go-node';
const NODES = [...L2LB, GO];
const ADDR: Record<string, string> = { n1: '10.213.0.11', n2: '10.213.0.12', [GO]: '10.213.0.20' };
const MAC: Record<string, string> = { n1: '02:13:00:00:01:01', n2: '02:13:00:00:01:02', [GO]: '02:13:00:00:01:14' };
const pool = Array.from({ length: 50 }, (_, k) => `10.213.0.${200 + k}`);
const winner = (ip: string): string | undefined => electionOrder(NODES, ip)[0];
const VIP_GO = pool.find((ip) => winner(ip) === GO) ?? '';
// Won by the l2lb node that is not next after go-node for VIP_GO: both l2lb speakers have a part.
const VIP_L2 = pool.find((ip) => winner(ip) !== GO && winner(ip) !== electionOrder(NODES, VIP_GO)[1]) ?? '';

describe('l2lb-speaker run: a mixed memberlist cluster with a Go (hashicorp/memberlist) peer @integration', function () {
  this.timeout(30_000);
  let c: SpeakerCluster | undefined;
  let mlpeer = '';
  const cl = (): SpeakerCluster => c ?? assert.fail('cluster is up');
  const go = (): NsProcess => cl().procs.get(GO) ?? assert.fail('the Go peer runs');
  const goOrder = electionOrder(NODES, VIP_GO);
  const next = goOrder[1] ?? '';
  const other = goOrder[2] ?? '';
  const ownWinner = winner(VIP_L2) ?? '';

  function arpingMac(ip: string): string | undefined {
    const out = nsExec(cl().ns('cl'), 'arping', ['-c', '1', '-w', '1', '-I', 'eth0', ip], { allowFail: true, timeoutMs: 5000 });
    return /from ([0-9a-f:]{17})/i.exec(out)?.[1]?.toLowerCase();
  }

  before(async function () {
    if (!isRoot() || !['arping', 'ip', 'kubectl'].every(have)) {
      if (process.env['CI'] === 'true') throw new Error('CI must run the speaker/Go interop netns test: needs root, arping, ip and kubectl');
      this.skip();
    }
    this.timeout(200_000); // a first mlpeer build takes ~20 s
    try {
      mlpeer = ensureMlpeer();
    } catch (e) {
      if (process.env['CI'] === 'true') throw e;
      process.stdout.write(`      skipped: ${errorText(e)}\n`);
      this.skip();
    }
    assert.ok(VIP_GO && VIP_L2, 'the pool has an IP for each kind of winner');
    cleanupStalePrefix('l2v6');
    c = new SpeakerCluster({
      prefix: 'l2v6',
      kind: 'i',
      hosts: {
        cp: { mac: '02:13:00:00:00:02', v4: '10.213.0.2/24' },
        cl: { mac: '02:13:00:00:00:03', v4: '10.213.0.3/24' },
        ...Object.fromEntries(NODES.map((n) => [n, { mac: MAC[n] ?? '', v4: `${ADDR[n] ?? ''}/24` }])),
      },
    });
    await c.startApi();
    c.createBase(['10.213.0.200-10.213.0.249'], NODES);
  });

  after(async () => {
    await c?.destroy();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') c?.dump();
  });

  it('two l2lb speakers and the Go peer form one cluster, encrypted with the MetalLB-derived key', async () => {
    const g = cl().startProcess(GO, GO, mlpeer, [
      '--name',
      GO,
      '--bind',
      ADDR[GO] ?? '',
      '--port',
      '7946',
      '--secret',
      cl().secret,
      '--members-interval',
      '300ms',
      '--leave-timeout',
      '1s',
      '--quiet',
    ]);
    const start = await waitFor(
      () => g.find((e) => e['ev'] === 'start') ?? (g.exited !== undefined ? assert.fail(`mlpeer exited: ${g.stderr.join('')}`) : undefined),
      { timeoutMs: 5000, what: 'the Go peer to start' },
    );
    assert.equal(start['encrypted'], true);
    for (const n of L2LB)
      cl().startSpeaker(
        n,
        ADDR[n] ?? '',
        NODES.map((m) => ADDR[m] ?? ''),
        ['--log-level', 'debug'],
      );
    await waitFor(() => cl().joinedAll(L2LB, NODES), { timeoutMs: 15_000, what: 'both speakers to see the two other members join' });
    await waitFor(() => g.find((e) => e['ev'] === 'members' && Array.isArray(e['members']) && e['members'].length === 3), {
      timeoutMs: 5000,
      what: 'the Go peer to list three members',
    });
    const members = g.lines.filter((e) => e['ev'] === 'members').at(-1)?.['members'] as { name: string }[];
    assert.deepEqual(members.map((m) => m.name).sort(), [...NODES].sort());
  });

  it(`${VIP_GO}, won by ${GO}, is announced by no l2lb speaker; ${VIP_L2} is announced by its winner ${ownWinner}`, async () => {
    cl().createService('own', [VIP_L2], 'n1');
    cl().createService('go', [VIP_GO], 'n1');
    const ann = await waitFor(
      () =>
        cl()
          .lines(ownWinner, 'announcing')
          .find((l) => l['service'] === 'default/own'),
      { timeoutMs: 10_000, what: `${ownWinner} to announce ${VIP_L2}` },
    );
    assert.deepEqual(ann['order'], electionOrder(NODES, VIP_L2));
    for (const n of L2LB) {
      const no = await waitFor(
        () =>
          cl()
            .lines(n, 'not announcing')
            .find((l) => l['service'] === 'default/go' && l['reason'] === 'notOwner'),
        { timeoutMs: 5000, what: `${n}'s notOwner decision for default/go` },
      );
      assert.equal(no['detail'], `node ${GO} wins the election for ${VIP_GO}`);
      assert.equal(
        cl()
          .lines(n, 'announcing')
          .filter((l) => l['service'] === 'default/go').length,
        0,
        `${n} must not announce ${VIP_GO}`,
      );
    }
    assert.equal(await waitFor(() => arpingMac(VIP_L2), { timeoutMs: 5000, what: `an ARP reply for ${VIP_L2}` }), MAC[ownWinner]);
    assert.equal(arpingMac(VIP_GO), undefined, `nobody answers for ${VIP_GO} (the Go peer only gossips)`);
    // Nobody flapped: the Go peer and the l2lb speakers kept each other alive all along.
    for (const n of L2LB)
      assert.equal(
        cl()
          .lines(n, 'memberlist')
          .filter((l) => l['event'] === 'leave').length,
        0,
        `${n} saw no member leave`,
      );
    assert.ok(!go().lines.some((e) => e['ev'] === 'leave'), 'the Go peer saw no member leave');
  });

  it(`SIGKILL of the Go peer: ${next}, next in the order, takes ${VIP_GO} within a few seconds`, async () => {
    const t0 = Date.now();
    go().child.kill('SIGKILL'); // `ip netns exec` execs mlpeer: the child pid is the peer
    const ann = await waitFor(
      () =>
        cl()
          .lines(next, 'announcing')
          .find((l) => l['service'] === 'default/go'),
      { timeoutMs: 8000, intervalMs: 5, what: `${next} to announce ${VIP_GO}` },
    );
    const ms = Number(ann['receivedAt']) - t0;
    const dead = cl()
      .lines(next, 'memberlist')
      .find((l) => l['event'] === 'leave' && l['member'] === GO);
    const detect = dead ? Number(dead['receivedAt']) - t0 : NaN;
    process.stdout.write(`      Go peer SIGKILLed: ${next} saw it leave after ${detect} ms and announced ${VIP_GO} after ${ms} ms\n`);
    assert.ok(ms <= 3000, `took ${ms} ms`);
    assert.equal(await waitFor(() => arpingMac(VIP_GO), { timeoutMs: 3000, what: `an ARP reply for ${VIP_GO}` }), MAC[next]);
    assert.equal(
      cl()
        .lines(other, 'announcing')
        .filter((l) => l['service'] === 'default/go').length,
      0,
      `${other} must not announce ${VIP_GO}`,
    );
    // The l2lb-won IP did not move.
    for (const n of L2LB) assert.equal(cl().lines(n, 'withdrawn').length, 0, `${n} withdrew nothing`);
    assert.equal(arpingMac(VIP_L2), MAC[ownWinner]);
  });

  it(`the Go peer comes back (a MetalLB speaker restarting): ${next} yields ${VIP_GO} to it as notOwner`, async () => {
    const t0 = Date.now();
    const g = cl().startProcess(`${GO} (restarted)`, GO, mlpeer, [
      '--name',
      GO,
      '--bind',
      ADDR[GO] ?? '',
      '--port',
      '7946',
      '--secret',
      cl().secret,
      '--join',
      L2LB.map((n) => `${ADDR[n] ?? ''}:7946`).join(','),
      '--members-interval',
      '300ms',
      '--leave-timeout',
      '1s',
      '--quiet',
    ]);
    // It was declared dead: rejoining under the same name means refuting that with a higher incarnation.
    const w = await waitFor(
      () =>
        cl()
          .lines(next, 'withdrawn')
          .find((l) => l['service'] === 'default/go'),
      { timeoutMs: 8000, what: `${next} to withdraw ${VIP_GO}` },
    );
    process.stdout.write(`      Go peer restarted: ${next} withdrew ${VIP_GO} ${Number(w['receivedAt']) - t0} ms after the start\n`);
    assert.equal(w['reason'], 'notOwner');
    assert.equal(w['detail'], `node ${GO} wins the election for ${VIP_GO}`);
    await waitFor(() => g.find((e) => e['ev'] === 'members' && Array.isArray(e['members']) && e['members'].length === 3), {
      timeoutMs: 5000,
      what: 'the Go peer to list three members again',
    });
    assert.equal(arpingMac(VIP_GO), undefined, `nobody answers for ${VIP_GO} again`);
  });

  it(`SIGTERM of the Go peer: its graceful leave hands ${VIP_GO} back to ${next} at once`, async () => {
    const g = cl().procs.get(`${GO} (restarted)`) ?? assert.fail('the restarted Go peer runs');
    const exited = new Promise<number | null>((r) => (g.exited !== undefined ? r(g.exited) : g.child.once('exit', (code) => r(code))));
    const t0 = Date.now();
    g.child.kill('SIGTERM');
    const ann = await waitFor(
      () =>
        cl()
          .lines(next, 'announcing')
          .filter((l) => l['service'] === 'default/go')[1],
      { timeoutMs: 5000, intervalMs: 5, what: `${next} to announce ${VIP_GO} again` },
    );
    const ms = Number(ann['receivedAt']) - t0;
    const leave = cl()
      .lines(next, 'memberlist')
      .filter((l) => l['event'] === 'leave' && l['member'] === GO)[1];
    process.stdout.write(
      `      Go peer SIGTERMed: ${next} saw it leave after ${leave ? Number(leave['receivedAt']) - t0 : NaN} ms and announced ${VIP_GO} after ${ms} ms\n`,
    );
    assert.ok(ms <= 1500, `took ${ms} ms`);
    assert.equal(await exited, 0, 'mlpeer left and exited 0');
    assert.ok(
      g.lines.some((e) => e['ev'] === 'left'),
      'mlpeer left the cluster gracefully',
    );
    assert.equal(await waitFor(() => arpingMac(VIP_GO), { timeoutMs: 3000, what: `an ARP reply for ${VIP_GO}` }), MAC[next]);
  });
});
