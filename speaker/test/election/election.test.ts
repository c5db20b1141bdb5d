import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseMetalLBResources, type Config } from '@l2lb/shared';
import {
  CandidateCache,
  decide,
  electionOrder,
  goIpString,
  EXCLUDE_LB_LABEL,
  type ElectionInput,
  type EndpointView,
  type NodeView,
  type ServiceView,
} from '../../src/election/election.js';

const pool = (name: string, addresses: string[], labels: Record<string, string> = {}): unknown => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name, namespace: 'l2lb-system', labels },
  spec: { addresses },
});
const ad = (name: string, spec: Record<string, unknown>): unknown => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'L2Advertisement',
  metadata: { name, namespace: 'l2lb-system' },
  spec,
});

const CONFIG: Config = parseMetalLBResources([
  pool('web', ['192.168.1.240/28', '2001:db8::/120']),
  pool('lonely', ['10.9.0.0/24']), // no advertisement
  ad('all', { ipAddressPools: ['web'] }),
]);

const node = (labels: Record<string, string> = {}, networkUnavailable = false): NodeView => ({ labels, networkUnavailable });
const NODES = new Map<string, NodeView>([
  ['node-a', node()],
  ['node-b', node()],
  ['node-c', node()],
]);
const ready = (nodeName: string): EndpointView => ({ nodeName, ready: true, serving: true });

function svc(over: Partial<ServiceView> = {}): ServiceView {
  return { type: 'LoadBalancer', ingressIPs: ['192.168.1.240'], externalTrafficPolicy: 'Cluster', labels: {}, annotations: {}, ...over };
}

function input(myNode: string, over: Partial<ElectionInput> = {}): ElectionInput {
  return {
    myNode,
    service: svc(),
    endpoints: [ready('node-c')],
    config: CONFIG,
    nodes: NODES,
    members: new Set(['node-a', 'node-b', 'node-c']),
    ...over,
  };
}

/** The node that announces, checked from every node's point of view: exactly one, or none. */
function winner(over: Partial<ElectionInput> = {}): string | undefined {
  const winners = ['node-a', 'node-b', 'node-c'].filter((n) => decide(input(n, over)).announce);
  assert.ok(winners.length <= 1, `more than one announcer: ${winners.join(', ')}`);
  return winners[0];
}

describe('speaker election (MetalLB layer-2 hash election)', () => {
  it('orders candidates exactly like MetalLB (vectors verified against the Go code)', () => {
    assert.deepEqual(electionOrder(['node-a', 'node-b', 'node-c'], '192.168.1.240'), ['node-a', 'node-c', 'node-b']);
    assert.deepEqual(electionOrder(['node-c', 'node-b', 'node-a'], '2001:db8::10'), ['node-b', 'node-a', 'node-c']);
  });

  it('hashes the IP as Go prints it (IPv4-mapped as IPv4, RFC 5952)', () => {
    assert.equal(goIpString('::ffff:192.168.1.240'), '192.168.1.240');
    assert.equal(goIpString('2001:DB8:0:0:0:0:0:10'), '2001:db8::10');
    assert.equal(goIpString('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(goIpString('::1.2.3.4'), '::102:304');
    assert.equal(goIpString('192.168.01.1'), undefined);
    assert.equal(goIpString(''), undefined);
  });

  it('the order depends on the set, not the input order, and a loser leaving never moves the IP (property)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 2, maxLength: 12 }), fc.ipV4(), (nodes, ip) => {
        const order = electionOrder(nodes, ip);
        assert.deepEqual(electionOrder([...nodes].reverse(), ip), order);
        assert.equal(new Set(order).size, nodes.length);
        const loser = order[order.length - 1] ?? '';
        assert.equal(
          electionOrder(
            nodes.filter((n) => n !== loser),
            ip,
          )[0],
          order[0],
        );
      }),
      { numRuns: 500 },
    );
  });

  it('exactly one node announces; it answers on every interface and reports the order', () => {
    assert.equal(winner(), 'node-a');
    const d = decide(input('node-a'));
    assert.deepEqual(d, { announce: true, ips: ['192.168.1.240'], pool: 'web', interfaces: [], order: ['node-a', 'node-c', 'node-b'] });
    const lost = decide(input('node-b'));
    assert.ok(!lost.announce);
    assert.equal(lost.reason, 'notOwner');
    assert.match(lost.detail, /node-a wins the election for 192\.168\.1\.240/);
  });

  it('a dual-stack Service is announced by the winner for the first ingress IP', () => {
    assert.equal(winner({ service: svc({ ingressIPs: ['2001:db8::10', '192.168.1.240'] }) }), 'node-b');
  });

  it('the next node takes over when the winner leaves the memberlist or its network is unavailable', () => {
    assert.equal(winner({ members: new Set(['node-b', 'node-c']) }), 'node-c');
    const nodes = new Map(NODES).set('node-a', node({}, true));
    assert.equal(winner({ nodes }), 'node-c');
    // Without memberlist every known Node is a candidate.
    assert.equal(winner({ members: undefined }), 'node-a');
  });

  it('nodes labelled exclude-from-external-load-balancers are skipped unless ignoreExcludeLb', () => {
    const nodes = new Map(NODES).set('node-a', node({ [EXCLUDE_LB_LABEL]: '' }));
    assert.equal(winner({ nodes }), 'node-c');
    assert.equal(winner({ nodes, ignoreExcludeLb: true }), 'node-a');
  });

  it('externalTrafficPolicy Local: only nodes with a ready or serving endpoint are candidates', () => {
    const local = svc({ externalTrafficPolicy: 'Local' });
    assert.equal(winner({ service: local, endpoints: [ready('node-b'), ready('node-c')] }), 'node-c');
    assert.equal(winner({ service: local, endpoints: [{ nodeName: 'node-b', ready: false, serving: true }] }), 'node-b');
    const d = decide(input('node-c', { service: local, endpoints: [ready('node-x')] }));
    assert.ok(!d.announce && d.reason === 'notOwner' && /externalTrafficPolicy Local/.test(d.detail));
  });

  it('no ready endpoint at all: nobody announces (both policies)', () => {
    const endpoints: EndpointView[] = [{ nodeName: 'node-a', ready: false, serving: false }];
    assert.equal(winner({ endpoints }), undefined);
    assert.equal(winner({ endpoints: [] }), undefined);
    // ready unset counts as ready, as in Kubernetes.
    assert.equal(winner({ endpoints: [{ nodeName: undefined, ready: undefined, serving: undefined }] }), 'node-a');
  });

  it('withdraw reasons for Services that cannot be announced name the field', () => {
    const reason = (over: Partial<ElectionInput>): string => {
      const d = decide(input('node-a', over));
      assert.ok(!d.announce);
      return `${d.reason}: ${d.detail}`;
    };
    assert.match(reason({ service: undefined }), /^serviceDeleted/);
    assert.match(reason({ service: svc({ type: 'ClusterIP' }) }), /^notLoadBalancer: spec.type is ClusterIP/);
    assert.match(reason({ service: svc({ ingressIPs: [] }) }), /^noIPAllocated: status.loadBalancer.ingress/);
    assert.match(reason({ service: svc({ ingressIPs: ['192.168.1.240', 'nope'] }) }), /^invalidIP: status.loadBalancer.ingress\[1\].ip 'nope'/);
    assert.match(reason({ service: svc({ ingressIPs: ['10.1.1.1'] }) }), /^ipNotAllowed: 10.1.1.1 is not all in one/);
    assert.match(reason({ service: svc({ ingressIPs: ['192.168.1.240', '10.9.0.1'] }) }), /^ipNotAllowed/);
    assert.match(reason({ service: svc({ ingressIPs: ['10.9.0.1'] }) }), /^noMatchingAdvertisement: no L2Advertisement announces pool lonely/);
  });

  it('L2Advertisement node selectors limit who may announce; interfaces come from the ads that select the winner', () => {
    const config = parseMetalLBResources([
      pool('web', ['192.168.1.240/28']),
      ad('rack1', { ipAddressPools: ['web'], nodeSelectors: [{ matchLabels: { rack: '1' } }], interfaces: ['eth1'] }),
      ad('rack2', { ipAddressPools: ['web'], nodeSelectors: [{ matchLabels: { rack: '2' } }], interfaces: ['eth2', 'bond0'] }),
    ]);
    const nodes = new Map<string, NodeView>([
      ['node-a', node({ rack: '1' })],
      ['node-b', node({ rack: '2' })],
      ['node-c', node({ rack: '2' })],
    ]);
    assert.equal(winner({ config, nodes }), 'node-a');
    const b = decide(input('node-b', { config, nodes, members: new Set(['node-b', 'node-c']) }));
    assert.ok(b.announce === false && b.reason === 'notOwner'); // node-c wins among rack 2 ...
    const c = decide(input('node-c', { config, nodes, members: new Set(['node-b', 'node-c']) }));
    assert.ok(c.announce);
    assert.deepEqual(c.interfaces, ['bond0', 'eth2']); // ... on rack 2's interfaces
    const x = decide(input('node-x', { config, nodes }));
    assert.ok(!x.announce && x.reason === 'noMatchingAdvertisement' && /selects node node-x/.test(x.detail));
  });

  it('service selectors pick the advertisement; a shared IP with a service selector is never announced', () => {
    const config = parseMetalLBResources([
      pool('web', ['192.168.1.240/28']),
      ad('frontends', { ipAddressPools: ['web'], serviceSelectors: [{ matchLabels: { tier: 'frontend' } }] }),
    ]);
    assert.equal(winner({ config }), undefined);
    assert.equal(winner({ config, service: svc({ labels: { tier: 'frontend' } }) }), 'node-a');
    const shared = svc({ labels: { tier: 'frontend' }, annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' } });
    const d = decide(input('node-a', { config, service: shared }));
    assert.ok(!d.announce && d.reason === 'sharedIPWithServiceSelector');
  });

  it('with a CandidateCache (inputs replaced, never changed in place) decides exactly as without one', () => {
    const names = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];
    const config = parseMetalLBResources([
      pool('web', ['192.168.1.240/28']),
      ad('rack1', { ipAddressPools: ['web'], nodeSelectors: [{ matchLabels: { rack: '1' } }] }),
      ad('labelled', { ipAddressPools: ['web'], serviceSelectors: [{ matchLabels: { tier: 'x' } }] }),
    ]);
    const nodeArb = fc.record({ rack: fc.constantFrom('1', '2'), down: fc.boolean(), excluded: fc.boolean() });
    const step = fc.record({
      members: fc.subarray(names),
      nodes: fc.array(nodeArb, { minLength: names.length, maxLength: names.length }),
      config: fc.constantFrom(CONFIG, config),
      services: fc.array(
        fc.record({ ip: fc.integer({ min: 240, max: 254 }), local: fc.boolean(), labelled: fc.boolean(), endpoint: fc.constantFrom(...names) }),
        { minLength: 1, maxLength: 6 },
      ),
      ignoreExcludeLb: fc.boolean(),
      // Keep one input object from the step before (as the core keeps what did not change).
      keep: fc.constantFrom('members', 'nodes', 'none'),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (steps) => {
        const caches = new Map(names.map((n) => [n, new CandidateCache()]));
        let members = new Set<string>();
        let nodes = new Map<string, NodeView>();
        for (const [i, st] of steps.entries()) {
          if (i === 0 || st.keep !== 'members') members = new Set(st.members);
          if (i === 0 || st.keep !== 'nodes') {
            nodes = new Map<string, NodeView>(
              names.map((n, k) => {
                const v = st.nodes[k] ?? { rack: '1', down: false, excluded: false };
                return [n, node({ rack: v.rack, ...(v.excluded ? { [EXCLUDE_LB_LABEL]: '' } : {}) }, v.down)];
              }),
            );
          }
          for (const sv of st.services) {
            const service = svc({
              ingressIPs: [`192.168.1.${sv.ip}`],
              externalTrafficPolicy: sv.local ? 'Local' : 'Cluster',
              labels: sv.labelled ? { tier: 'x' } : {},
            });
            for (const me of names) {
              const base: ElectionInput = {
                myNode: me,
                service,
                endpoints: [ready(sv.endpoint)],
                config: st.config,
                nodes,
                members,
                ignoreExcludeLb: st.ignoreExcludeLb,
              };
              const plain = decide(base);
              const cached = decide({ ...base, candidateCache: caches.get(me) });
              assert.deepEqual({ ...cached }, { ...plain });
              if (plain.order) assert.deepEqual(cached.order, plain.order);
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('the election order a decision carries is the full hash order over the candidates, winner first', () => {
    const d = decide(input('node-a'));
    const order = electionOrder(['node-a', 'node-b', 'node-c'], '192.168.1.240');
    assert.deepEqual(d.order, order);
    assert.equal(d.announce, order[0] === 'node-a');
    assert.deepEqual(Object.keys(d).includes('order'), true, 'order is an enumerable field (logs and JSON show it)');
    assert.deepEqual(JSON.parse(JSON.stringify(d)).order, order);
  });
});
