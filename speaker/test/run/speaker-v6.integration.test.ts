// IPv6 and dual stack end to end: three `l2lb-speaker run` processes in network namespaces on an
// MLD-snooping bridge (with a querier, so solicited-node groups must really be joined), memberlist
// over IPv6 with a secret key, a pool with an IPv4 and an IPv6 range and a dual-stack Service whose
// first ingress IP is the IPv6 one. The winner for ingress[0] announces both IPs; ndisc6 and the
// client's kernel resolve the IPv6 VIP to it; after SIGKILL the unsolicited NA (O=1) moves the
// client's neighbour entry to the next node. Everything is named l2v6<pid>-... and removed even
// when a test fails.
import assert from 'node:assert/strict';
import { electionOrder } from '../../src/election/election.js';
import { SpeakerCluster, cleanupStalePrefix } from '../helpers/cluster.js';
import { have, isRoot, neighMac, nsExec, run } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const NODES = ['n1', 'n2', 'n3'] as const;
const idx = (n: string): number => NODES.indexOf(n as (typeof NODES)[number]) + 1;
const nodeV4 = (i: number): string => `10.213.0.${10 + i}`;
const nodeV6 = (i: number): string => `fd00:213::${10 + i}`;
const nodeMac = (i: number): string => `02:13:00:00:01:0${i}`;
const POOL = ['10.213.0.200-10.213.0.249', 'fd00:213::200-fd00:213::249'];
const VIP4 = '10.213.0.200';
// The first IPv6 address of the pool whose election winner differs from the IPv4 one's: then the
// test can tell that ingress[0] (the IPv6 VIP) decides the owner of both IPs, as in MetalLB.
const VIP6 = ((): string => {
  for (let k = 0; k < 0x50; k++) {
    const ip = `fd00:213::${(0x200 + k).toString(16)}`;
    if (electionOrder(NODES, ip)[0] !== electionOrder(NODES, VIP4)[0]) return ip;
  }
  throw new Error('no IPv6 VIP with another winner than the IPv4 one');
})();
/** The solicited-node multicast group of VIP6 (ff02::1:ffXX:XXXX, the low 24 bits). */
const SOLICITED = ((): string => {
  const last = Number.parseInt(VIP6.split(':').pop() ?? '0', 16);
  return `ff02::1:ff${((last >> 16) & 0xff).toString(16).padStart(2, '0')}:${(last & 0xffff).toString(16)}`;
})();

describe('l2lb-speaker run: IPv6 and dual stack, three speakers, memberlist over IPv6 @integration', function () {
  this.timeout(30_000);
  let c: SpeakerCluster | undefined;
  const cl = (): SpeakerCluster => c ?? assert.fail('cluster is up');
  const order = electionOrder(NODES, VIP6);
  const [first, second, third] = order as [string, string, string];

  before(async function () {
    if (!isRoot() || !['arping', 'ndisc6', 'ip', 'bridge', 'kubectl'].every(have)) {
      if (process.env['CI'] === 'true') throw new Error('CI must run the speaker IPv6 netns test: needs root, arping, ndisc6, ip, bridge and kubectl');
      this.skip();
    }
    cleanupStalePrefix('l2v6');
    const hosts: Record<string, { mac: string; v4: string; v6: string }> = {
      cp: { mac: '02:13:00:00:00:02', v4: '10.213.0.2/24', v6: 'fd00:213::2/64' },
      cl: { mac: '02:13:00:00:00:03', v4: '10.213.0.3/24', v6: 'fd00:213::3/64' },
    };
    for (const n of NODES) hosts[n] = { mac: nodeMac(idx(n)), v4: `${nodeV4(idx(n))}/24`, v6: `${nodeV6(idx(n))}/64` };
    c = new SpeakerCluster({ prefix: 'l2v6', kind: '', hosts, mldQuerier: true });
    await c.startApi();
    c.createBase(POOL, NODES);
  });

  after(async () => {
    await c?.destroy();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') c?.dump();
  });

  it('the three speakers form one encrypted memberlist cluster over IPv6', async () => {
    for (const n of NODES)
      cl().startSpeaker(
        n,
        nodeV6(idx(n)),
        NODES.map((m) => nodeV6(idx(m))),
        ['--log-level', 'debug'],
      );
    await waitFor(() => cl().joinedAll(NODES, NODES), { timeoutMs: 15_000, what: 'every speaker to see the two others join' });
    for (const n of NODES) {
      const started = cl().lines(n, 'memberlist started')[0];
      assert.equal(started?.['encrypted'], true, `${n} gossips encrypted`);
      // Either form: the speaker prints 'IP:PORT' today, ambiguous for IPv6 ('[IP]:PORT' would not be).
      assert.ok([`[${nodeV6(idx(n))}]:7946`, `${nodeV6(idx(n))}:7946`].includes(String(started?.['bind'])), `bound to ${String(started?.['bind'])}`);
    }
  });

  it(`the winner for ingress[0] (${VIP6}) announces both IPs; ndisc6 and arping get its MAC`, async () => {
    assert.notEqual(first, electionOrder(NODES, VIP4)[0], 'the IPv4 VIP alone would elect another node');
    cl().createService('dual', [VIP6, VIP4], 'n1');
    const ann = await waitFor(() => cl().lines(first, 'announcing')[0], { timeoutMs: 10_000, what: `${first} to announce` });
    assert.equal(ann['service'], 'default/dual');
    assert.deepEqual(ann['ips'], [VIP6, VIP4]);
    assert.deepEqual(ann['order'], order);
    assert.deepEqual(ann['interfaces'], ['eth0']);
    // The losers decided too (debug log), and for the same reason: the winner of ingress[0].
    for (const n of [second, third]) {
      const no = await waitFor(
        () =>
          cl()
            .lines(n, 'not announcing')
            .find((l) => l['service'] === 'default/dual' && l['reason'] === 'notOwner'),
        { timeoutMs: 5000, what: `${n}'s notOwner decision` },
      );
      assert.match(String(no['detail']), new RegExp(`node ${first} wins the election for ${VIP6}`));
      assert.equal(cl().lines(n, 'announcing').length, 0, `${n} must not announce`);
    }
    // The winner joined VIP6's solicited-node group at IP level: the snooping bridge learnt it.
    const sw = cl().lan.sw;
    const port = cl().bridgePort(first);
    await waitFor(() => new RegExp(`${port} .*${SOLICITED}\\b`).test(run('bridge', ['-n', sw, 'mdb', 'show'], { allowFail: true })), {
      timeoutMs: 5000,
      what: `bridge mdb entry ${SOLICITED} on ${port} (${first})`,
    });
    const out = nsExec(cl().ns('cl'), 'ndisc6', ['-n', '-r', '3', '-w', '1000', VIP6, 'eth0'], { allowFail: true });
    assert.equal(/Target link-layer address: ([0-9A-F:]{17})/i.exec(out)?.[1]?.toLowerCase(), nodeMac(idx(first)), out);
    assert.match(out, new RegExp(`from ${VIP6}\\b`), out);
    const arp = nsExec(cl().ns('cl'), 'arping', ['-c', '1', '-w', '2', '-I', 'eth0', VIP4], { allowFail: true, timeoutMs: 5000 });
    assert.equal(/from ([0-9a-f:]{17})/i.exec(arp)?.[1]?.toLowerCase(), nodeMac(idx(first)), arp);
    // The client's kernel resolves both VIPs: a ping (that nobody answers, the VIPs are on no
    // interface) leaves a REACHABLE entry to watch below.
    nsExec(cl().ns('cl'), 'ping', ['-6', '-c', '1', '-W', '0.2', VIP6], { allowFail: true });
    nsExec(cl().ns('cl'), 'ping', ['-c', '1', '-W', '0.2', VIP4], { allowFail: true });
    const v6 = await waitFor(() => neighMac(cl().ns('cl'), VIP6), { timeoutMs: 2000, what: `the client's neighbour entry for ${VIP6}` });
    assert.deepEqual(v6, { mac: nodeMac(idx(first)), state: 'REACHABLE' });
    const v4 = await waitFor(() => neighMac(cl().ns('cl'), VIP4), { timeoutMs: 2000, what: `the client's neighbour entry for ${VIP4}` });
    assert.equal(v4.mac, nodeMac(idx(first)));
  });

  it(`SIGKILL of the owner: the client's IPv6 entry moves to ${second} within 1 s (unsolicited NA, O=1), IPv4 too`, async () => {
    const victim = cl().procs.get(first) ?? assert.fail(`${first} runs`);
    const want = nodeMac(idx(second));
    // A REACHABLE entry is only replaced by an advertisement with the override flag: NUD would
    // keep the dead MAC for the whole reachable time (15-45 s).
    assert.equal(neighMac(cl().ns('cl'), VIP6)?.state, 'REACHABLE');
    const t0 = Date.now();
    victim.child.kill('SIGKILL'); // `ip netns exec` execs node: the child pid is the speaker
    await waitFor(() => neighMac(cl().ns('cl'), VIP6)?.mac === want, { timeoutMs: 5000, intervalMs: 5, what: `the client's IPv6 entry to move to ${second}` });
    const ms6 = Date.now() - t0;
    await waitFor(() => neighMac(cl().ns('cl'), VIP4)?.mac === want, { timeoutMs: 5000, intervalMs: 5, what: `the client's IPv4 entry to move to ${second}` });
    const ms4 = Date.now() - t0;
    process.stdout.write(`      failover after SIGKILL: client's IPv6 entry moved to ${second} in ${ms6} ms, IPv4 in ${ms4} ms\n`);
    assert.ok(ms6 <= 1000, `IPv6 took ${ms6} ms`);
    assert.ok(ms4 <= 1000, `IPv4 took ${ms4} ms`);
    const ann = await waitFor(() => cl().lines(second, 'announcing')[0], { timeoutMs: 2000, what: `${second}'s announcing line` });
    assert.deepEqual(ann['ips'], [VIP6, VIP4]);
    assert.equal(cl().lines(third, 'announcing').length, 0, `${third} must not announce while ${second} lives`);
    const out = nsExec(cl().ns('cl'), 'ndisc6', ['-n', '-r', '3', '-w', '1000', VIP6, 'eth0'], { allowFail: true });
    assert.equal(/Target link-layer address: ([0-9A-F:]{17})/i.exec(out)?.[1]?.toLowerCase(), want, out);
  });

  it(`SIGTERM of the new owner: ${third} takes both IPs within 1 s, the client follows, exit 0`, async () => {
    const p = cl().procs.get(second) ?? assert.fail(`${second} runs`);
    const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
    const want = nodeMac(idx(third));
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    await waitFor(() => neighMac(cl().ns('cl'), VIP6)?.mac === want && neighMac(cl().ns('cl'), VIP4)?.mac === want, {
      timeoutMs: 5000,
      intervalMs: 5,
      what: `the client's entries to move to ${third}`,
    });
    const ms = Date.now() - t0;
    process.stdout.write(`      failover after SIGTERM: client's IPv6 and IPv4 entries moved to ${third} in ${ms} ms\n`);
    assert.ok(ms <= 1000, `took ${ms} ms`);
    assert.equal(await exited, 0, 'SIGTERM exits 0');
    const w = cl()
      .lines(second, 'withdrawn')
      .find((l) => l['service'] === 'default/dual');
    assert.deepEqual([w?.['reason'], w?.['ips']], ['shutdown', [VIP6, VIP4]]);
    const ann = await waitFor(() => cl().lines(third, 'announcing')[0], { timeoutMs: 2000, what: `${third}'s announcing line` });
    assert.deepEqual(ann['ips'], [VIP6, VIP4]);
  });
});
