// End-to-end: the `l2lb-speaker announce` CLI in network namespaces, against real Linux clients
// (kernel neighbour tables), arping, ndisc6 and tshark. Two "nodes" (a, b) and a client (c) on a
// bridge with an MLD querier (so the solicited-node group must be joined at IP level).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupStale, createLan, have, isRoot, neighMac, nsExec, NsProcess, run, speakerBin, type Lan } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const MAC = { c: '02:00:00:00:00:c1', a: '02:00:00:00:00:a1', b: '02:00:00:00:00:a2' };
const VIP4 = '10.77.0.100';
const VIP6 = 'fd77::100';

describe('l2 announcer in network namespaces @integration', function () {
  this.timeout(30_000);
  let lan: Lan | undefined;
  let dir = '';
  const procs: NsProcess[] = [];
  let capture: ChildProcess | undefined;
  let monitor: NsProcess | undefined;
  const neighEvents: { at: number; line: string }[] = [];

  const ns = (role: 'a' | 'b' | 'c'): string => {
    const n = lan?.ns[role];
    assert.ok(n, 'lan is up');
    return n;
  };

  function speaker(role: 'a' | 'b', ...extra: string[]): NsProcess {
    const p = new NsProcess(ns(role), process.execPath, [
      speakerBin(),
      'announce',
      '--interface',
      'n0',
      '--ip',
      VIP4,
      '--ip',
      VIP6,
      '--rescan-interval',
      '30000', // link changes must be picked up from netlink, not the periodic scan
      '--log-level',
      'warn',
      ...extra,
    ]);
    procs.push(p);
    return p;
  }

  async function announced(p: NsProcess, ip: string): Promise<number> {
    const l = await waitFor(() => p.find((x) => x.event === 'announced' && x.ip === ip), {
      timeoutMs: 8000,
      what: `'announced' ${ip} (stderr: ${p.stderr.join('')})`,
    });
    return Date.parse(String(l.time));
  }

  before(function () {
    if (!isRoot() || !['arping', 'ndisc6', 'tshark', 'tcpdump', 'ip'].every(have)) {
      // CI installs the tools and runs as root: there, a silent skip would hide a broken setup.
      if (process.env['CI'] === 'true') throw new Error('CI must run the netns tests: needs root and arping, ndisc6, tshark, tcpdump, ip');
      this.skip();
    }
    cleanupStale();
    lan = createLan(
      'sp',
      {
        c: { ifname: 'c0', mac: MAC.c, v4: '10.77.0.1/24', v6: 'fd77::1/64' },
        a: { ifname: 'n0', mac: MAC.a, v4: '10.77.0.2/24', v6: 'fd77::2/64' },
        b: { ifname: 'n0', mac: MAC.b, v4: '10.77.0.3/24', v6: 'fd77::3/64' },
      },
      { mldQuerier: true },
    );
    // Locktime 5 s on the client: every failover below happens inside it, so only the GARP forms
    // Linux treats as gratuitous (request sip = tip, reply tha = sha) can move the entry.
    nsExec(ns('c'), 'sysctl', ['-qw', 'net.ipv4.neigh.c0.locktime=500']);
    dir = mkdtempSync(join(tmpdir(), 'l2n-cap-'));
    capture = spawn(
      'ip',
      ['netns', 'exec', ns('c'), 'tcpdump', '-i', 'c0', '-U', '-w', join(dir, 'c0.pcap'), `(arp or icmp6) and (ether src ${MAC.a} or ether src ${MAC.b})`],
      { stdio: 'ignore' },
    );
    monitor = new NsProcess(ns('c'), 'ip', ['-ts', 'monitor', 'neigh']);
  });

  after(async function () {
    await Promise.all(procs.map((p) => p.stop()));
    await monitor?.stop();
    if (capture && capture.exitCode === null) {
      const done = new Promise((r) => capture?.once('exit', r));
      capture.kill('SIGTERM');
      await done;
    }
    lan?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function neighUpdates(): { at: number; line: string }[] {
    neighEvents.length = 0;
    for (const l of monitor?.lines ?? []) {
      const text = String(l.text ?? '');
      const m = /^\[(\d{4}-\d\d-\d\dT[\d:.]+)\]\s+(.*)$/.exec(text);
      if (m && m[1] && m[2]) neighEvents.push({ at: new Date(m[1]).getTime(), line: m[2] });
    }
    return neighEvents;
  }

  // Node A answers ARP from JavaScript (--no-arp-reflex); node B, in the tests after the
  // failover, through the addon's ARP reflex (the default). Both paths meet real clients.
  it("arping from the client gets node A's MAC (JS path)", async () => {
    const a = speaker('a', '--garp-count', '1', '--no-arp-reflex');
    await announced(a, VIP4);
    const out = nsExec(ns('c'), 'arping', ['-c', '1', '-w', '3', '-I', 'c0', VIP4], { allowFail: true });
    assert.match(out, new RegExp(`from ${MAC.a} \\(${VIP4.replace(/\./g, '\\.')}\\)`), out);
  });

  it('the client kernel resolves the VIP (ping leaves a REACHABLE entry), IPv4 and IPv6', async () => {
    nsExec(ns('c'), 'ping', ['-c', '1', '-W', '1', VIP4], { allowFail: true });
    nsExec(ns('c'), 'ping', ['-6', '-c', '1', '-W', '1', VIP6], { allowFail: true });
    const v4 = await waitFor(() => neighMac(ns('c'), VIP4), { timeoutMs: 2000, what: 'v4 neighbour entry' });
    assert.deepEqual(v4, { mac: MAC.a, state: 'REACHABLE' });
    const v6 = await waitFor(() => neighMac(ns('c'), VIP6), { timeoutMs: 2000, what: 'v6 neighbour entry' });
    assert.equal(v6.mac, MAC.a);
  });

  it('moving the IP from A to B updates the client within 100 ms, inside locktime (GARP + unsolicited NA)', async () => {
    // Re-resolve right now so the entry was updated well within the 5 s locktime.
    nsExec(ns('c'), 'ping', ['-c', '1', '-W', '1', VIP4], { allowFail: true });
    assert.equal(neighMac(ns('c'), VIP4)?.mac, MAC.a);
    const a = procs[0];
    assert.ok(a);
    await a.stop();
    const b = speaker('b');
    const t4 = await announced(b, VIP4);
    const t6 = await announced(b, VIP6);
    const moved4 = await waitFor(() => neighUpdates().find((e) => e.line.startsWith(`${VIP4} `) && e.line.includes(MAC.b)), {
      timeoutMs: 1000,
      what: `client neighbour entry ${VIP4} -> ${MAC.b}`,
    });
    const moved6 = await waitFor(() => neighUpdates().find((e) => e.line.startsWith(`${VIP6} `) && e.line.includes(MAC.b)), {
      timeoutMs: 1000,
      what: `client neighbour entry ${VIP6} -> ${MAC.b}`,
    });
    console.log(`      failover: client IPv4 entry moved ${moved4.at - t4} ms, IPv6 ${moved6.at - t6} ms after B's burst`);
    // The 'announced' time is taken after the first burst was sent, so the delay may be negative.
    assert.ok(moved4.at - t4 <= 100, `IPv4 entry moved ${moved4.at - t4} ms after the GARP`);
    assert.ok(moved6.at - t6 <= 100, `IPv6 entry moved ${moved6.at - t6} ms after the NA`);
    assert.equal(neighMac(ns('c'), VIP4)?.mac, MAC.b);
    assert.equal(neighMac(ns('c'), VIP6)?.mac, MAC.b);
  });

  it('ndisc6 gets an answer from B (solicited NA from the VIP, through an MLD-snooping bridge)', async () => {
    // B joined the solicited-node group at IP level: the bridge learnt it from B's MLD report.
    await waitFor(() => /p2 .*ff02::1:ff00:100/.test(run('bridge', ['-n', lan?.sw ?? '', 'mdb', 'show'], { allowFail: true })), {
      timeoutMs: 3000,
      what: 'bridge mdb entry ff02::1:ff00:100 on port p2 (node B)',
    });
    const out = nsExec(ns('c'), 'ndisc6', ['-n', '-r', '3', '-w', '1000', VIP6, 'c0'], { allowFail: true });
    assert.match(out, /Target link-layer address: 02:00:00:00:00:A2/i, out);
    assert.match(out, /from fd77::100/, out);
  });

  it('does not answer for IPs it was not told to announce', () => {
    const out = nsExec(ns('c'), 'arping', ['-c', '2', '-w', '1', '-I', 'c0', '10.77.0.101'], { allowFail: true });
    assert.match(out, /2 packets transmitted, 0 packets received/, out);
    const six = nsExec(ns('c'), 'ndisc6', ['-n', '-r', '1', '-w', '300', 'fd77::101', 'c0'], { allowFail: true });
    assert.match(six, /No response/, six);
  });

  it('a conflicting announcer is detected and reported', async () => {
    const b = procs[1];
    assert.ok(b);
    const rogue = speaker('a', '--garp-count', '2', '--garp-interval', '100');
    await announced(rogue, VIP4);
    const seen = await waitFor(() => b.find((l) => l.event === 'conflict' && l.ip === VIP4 && l.mac === MAC.a), {
      timeoutMs: 3000,
      what: 'conflict event on B',
    });
    assert.equal(seen.interface, 'n0');
    await waitFor(() => b.find((l) => l.event === 'conflict' && l.ip === VIP6 && l.mac === MAC.a), {
      timeoutMs: 3000,
      what: 'IPv6 conflict event on B',
    });
    await rogue.stop();
    // Put the client back on B for the next steps.
    run('kill', ['-USR1', String(b.child.pid)]);
  });

  it('keeps answering after the link goes down and up (and re-announces)', async () => {
    const b = procs[1];
    assert.ok(b);
    run('ip', ['-n', ns('b'), 'link', 'set', 'n0', 'down']);
    await waitFor(() => b.find((l) => l.event === 'link' && l.state === 'down'), { timeoutMs: 3000, what: 'link down' });
    run('ip', ['-n', ns('b'), 'link', 'set', 'n0', 'up']);
    await waitFor(() => b.lines.filter((l) => l.event === 'link' && l.state === 'up').length >= 2, {
      timeoutMs: 3000,
      what: 'link up again',
    });
    const out = await waitFor(
      () => {
        const o = nsExec(ns('c'), 'arping', ['-c', '1', '-w', '1', '-I', 'c0', VIP4], { allowFail: true });
        return o.includes(`from ${MAC.b}`) ? o : undefined;
      },
      { timeoutMs: 5000, what: 'arping answered by B after link up' },
    );
    assert.match(out, /1 packets received/);
    await waitFor(() => neighMac(ns('c'), VIP4)?.mac === MAC.b, { timeoutMs: 2000, what: 'client back on B' });
  });

  it('an interface that is deleted and re-created gets a new socket and answers again', async () => {
    const b = procs[1];
    assert.ok(b);
    const lanNow = lan;
    assert.ok(lanNow);
    const ups = (): number => b.lines.filter((l) => l.event === 'link' && l.state === 'up').length;
    const upsBefore = ups();
    run('ip', ['-n', ns('b'), 'link', 'del', 'n0']); // removes the bridge port p2 with it
    await waitFor(() => b.lines.filter((l) => l.event === 'link' && l.state === 'down').length >= 2, {
      timeoutMs: 3000,
      what: 'link down after delete',
    });
    run('ip', ['-n', lanNow.sw, 'link', 'add', 'p2', 'type', 'veth', 'peer', 'name', 'n0', 'netns', ns('b')]);
    run('ip', ['-n', lanNow.sw, 'link', 'set', 'p2', 'master', 'br0', 'up']);
    run('ip', ['-n', ns('b'), 'link', 'set', 'n0', 'address', MAC.b, 'up']);
    await waitFor(() => ups() > upsBefore, { timeoutMs: 3000, what: 'interface back' });
    await waitFor(() => nsExec(ns('c'), 'arping', ['-c', '1', '-w', '1', '-I', 'c0', VIP4], { allowFail: true }).includes(`from ${MAC.b}`), {
      timeoutMs: 5000,
      what: 'arping answered on the re-created interface',
    });
  });

  it('reports per-IP counters and drop reasons', async () => {
    const b = procs[1];
    assert.ok(b);
    const before = b.lines.filter((l) => l.event === 'stats').length;
    run('kill', ['-USR1', String(b.child.pid)]);
    const stats = await waitFor(() => b.lines.filter((l) => l.event === 'stats')[before], {
      timeoutMs: 2000,
      what: 'stats line',
    });
    const ips = stats.ips as Record<string, { requestsReceived: number; repliesSent: number; gratuitousSent: number; conflicts: number }>;
    const drops = stats.drops as Record<string, number>;
    assert.ok((ips[VIP4]?.repliesSent ?? 0) >= 1, JSON.stringify(stats));
    assert.ok((ips[VIP4]?.gratuitousSent ?? 0) >= 2);
    assert.ok((ips[VIP4]?.conflicts ?? 0) >= 1);
    assert.ok((drops['not-announced'] ?? 0) >= 2, JSON.stringify(drops));
  });

  it('tshark decodes every frame the announcers sent without a malformed or bad-checksum warning', async function () {
    if (capture && capture.exitCode === null) {
      const done = new Promise((r) => capture?.once('exit', r));
      capture.kill('SIGTERM');
      await done;
    }
    const file = join(dir, 'c0.pcap');
    const summary = run('tshark', ['-r', file], { allowFail: true });
    const verbose = run('tshark', ['-r', file, '-V'], { allowFail: true });
    const frames = summary.split('\n').filter((l) => /ARP|ICMPv6/.test(l));
    assert.ok(frames.filter((l) => /ARP/.test(l)).length >= 10, summary);
    assert.ok(
      frames.some((l) => /Neighbor Advertisement/.test(l)),
      summary,
    );
    assert.doesNotMatch(verbose, /Malformed/i);
    assert.doesNotMatch(verbose, /Checksum Status: Bad/i);
    assert.match(verbose, /Checksum Status: Good/);
  });
});
