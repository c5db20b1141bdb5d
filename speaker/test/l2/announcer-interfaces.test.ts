// Per-IP interface restriction (L2Advertisement.spec.interfaces): an IP announced on some
// interfaces is answered, GARPed and reflexed only there; changing the set moves it.
import assert from 'node:assert/strict';
import { Announcer } from '../../src/l2/announcer.js';
import { ARP_REQUEST, BROADCAST_MAC, ZERO_MAC, buildArpFrame, buildNeighborSolicit, parseIp, parseMac } from '../../src/l2/index.js';
import { solicitedNodeAddress } from '../../src/l2/addr.js';
import { FakeNet, FakeTimers, iface } from './fakes.js';

const CLIENT = parseMac('02:00:00:00:00:c1');

function setup() {
  const net = new FakeNet();
  net.ifaces = [iface('eth0', 2, '02:00:00:00:00:a1'), iface('eth1', 3, '02:00:00:00:00:a2')];
  const timers = new FakeTimers();
  const a = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, timers, now: () => timers.now, garpCount: 1 });
  a.start();
  return { net, a };
}

const request = (tpa: string): Buffer =>
  buildArpFrame(BROADCAST_MAC, CLIENT, { op: ARP_REQUEST, sha: CLIENT, spa: parseIp('10.77.0.1'), tha: ZERO_MAC, tpa: parseIp(tpa) });

/** The announcer pushes the reflex table in a microtask (once per burst of changes). */
const tableSynced = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));

describe('l2 announcer: per-IP interfaces', () => {
  it('answers, sends GARP and sets the reflex table only on the selected interface', async () => {
    const { net, a } = setup();
    const [arp0, arp1] = [net.open('eth0', 'arp'), net.open('eth1', 'arp')];
    a.announce('10.77.0.100', ['eth1']);
    assert.equal(arp0.takeSent().length, 0, 'no GARP on eth0');
    assert.equal(arp1.takeSent().length, 2, 'GARP request + reply on eth1');
    await tableSynced();
    assert.deepEqual(
      arp0.arpTable?.ips.map((b) => b.toString('hex')),
      [],
    );
    assert.deepEqual(
      arp1.arpTable?.ips.map((b) => b.toString('hex')),
      ['0a4d0064'],
    );
    arp0.deliver([request('10.77.0.100')]);
    arp1.deliver([request('10.77.0.100')]);
    assert.equal(arp0.takeSent().length, 0);
    assert.equal(arp1.takeSent().length, 1);
    assert.equal(a.stats().drops['other-interface'], 1);
  });

  it('re-announcing with another set moves the IP (GARP on the new port) without a withdraw', () => {
    const { net, a } = setup();
    const [arp0, arp1] = [net.open('eth0', 'arp'), net.open('eth1', 'arp')];
    assert.equal(a.announce('10.77.0.100', ['eth1']), true);
    arp1.takeSent();
    assert.equal(a.announce('10.77.0.100', ['eth0']), false, 'already announced');
    assert.equal(arp0.takeSent().length, 2, 'the newly selected port gets the gratuitous burst');
    arp1.deliver([request('10.77.0.100')]);
    assert.equal(arp1.takeSent().length, 0, 'eth1 no longer answers');
    assert.equal(a.announce('10.77.0.100', []), false);
    arp1.deliver([request('10.77.0.100')]);
    assert.equal(arp1.takeSent().length, 3, 'all interfaces again: GARP (2) + the reply');
  });

  it('joins the IPv6 solicited-node group only where selected and leaves it cleanly', () => {
    const { net, a } = setup();
    const [ndp0, ndp1] = [net.open('eth0', 'ndp'), net.open('eth1', 'ndp')];
    const group = solicitedNodeAddress(parseIp('fd77::100')).toString('hex');
    a.announce('fd77::100', ['eth0']);
    assert.ok(ndp0.groups.has(group));
    assert.ok(!ndp1.groups.has(group));
    ndp1.deliver([buildNeighborSolicit(CLIENT, parseIp('fd77::1'), parseIp('fd77::100'))]);
    assert.equal(ndp1.takeSent().length, 0);
    a.withdraw('fd77::100');
    assert.ok(!ndp0.groups.has(group));
  });
});
