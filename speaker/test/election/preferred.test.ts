// L2Advertisement.preferredNodeSelectors in the election. The cases are MetalLB main's own
// (speaker/layer2_controller_test.go: TestSortL2Candidates, TestPreferredScoresFor,
// TestShouldAnnouncePreferredNode, TestShouldAnnounceSplitBrainWithMixedAds,
// TestShouldAnnouncePreferredNodeFailover; internal/config/config_test.go:
// TestL2AdvertisementFromCRPreferred), expressed with l2lb's inputs.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseMetalLBResources, type Config } from '@l2lb/shared';
import { decide, electionOrder, preferenceScores, type ElectionInput, type NodeView, type ServiceView } from '../../src/election/election.js';

const POOL = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'default' }, spec: { addresses: ['10.20.30.0/24'] } };
const ad = (name: string, spec: Record<string, unknown>): unknown => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'L2Advertisement',
  metadata: { name },
  spec: { ipAddressPools: ['default'], ...spec },
});
const configOf = (...ads: unknown[]): Config => parseMetalLBResources([POOL, ...ads]);
const prefer = (weight: number, matchLabels: Record<string, string>): unknown => ({ weight, preference: { matchLabels } });
const nodeMap = (entries: Record<string, Record<string, string>>): Map<string, NodeView> =>
  new Map(Object.entries(entries).map(([name, labels]) => [name, { labels, networkUnavailable: false }]));
const svc = (over: Partial<ServiceView> = {}): ServiceView => ({
  type: 'LoadBalancer',
  ingressIPs: ['10.20.30.1'],
  externalTrafficPolicy: 'Cluster',
  labels: {},
  annotations: {},
  ...over,
});

/** Runs decide() on every member, as every speaker does: exactly one must announce. */
function winners(base: Omit<ElectionInput, 'myNode'>): string[] {
  return [...(base.members ?? [])].filter((myNode) => decide({ ...base, myNode }).announce);
}

describe('election: preferredNodeSelectors (MetalLB main)', () => {
  describe('electionOrder with scores (TestSortL2Candidates)', () => {
    const cases: { desc: string; candidates: string[]; ip: string; scores?: Record<string, number>; want: string[] }[] = [
      { desc: 'empty input', candidates: [], ip: '10.0.0.1', want: [] },
      { desc: 'single candidate', candidates: ['node-a'], ip: '10.0.0.1', want: ['node-a'] },
      {
        desc: 'no scores: stable hash order independent of input order',
        candidates: ['node-a', 'node-b', 'node-c'],
        ip: '10.0.0.1',
        want: ['node-b', 'node-a', 'node-c'],
      },
      { desc: 'no scores: hash order depends on the IP', candidates: ['node-a', 'node-b', 'node-c'], ip: '10.0.0.2', want: ['node-b', 'node-c', 'node-a'] },
      {
        desc: 'highest score wins regardless of hash',
        candidates: ['edge-a', 'edge-b', 'worker-a', 'worker-b'],
        ip: '10.20.30.1',
        scores: { 'edge-a': 100 },
        want: ['edge-a', 'edge-b', 'worker-a', 'worker-b'],
      },
      {
        desc: 'equal non-zero scores fall through to hash',
        candidates: ['node-a', 'node-b'],
        ip: '10.20.30.1',
        scores: { 'node-a': 100, 'node-b': 100 },
        want: ['node-b', 'node-a'],
      },
      {
        desc: 'preferred group sorted by hash, unpreferred trail',
        candidates: ['edge-a', 'edge-b', 'worker-a'],
        ip: '10.20.30.1',
        scores: { 'edge-a': 100, 'edge-b': 100 },
        want: ['edge-b', 'edge-a', 'worker-a'],
      },
    ];
    for (const c of cases) {
      it(c.desc, () => {
        const scores = c.scores ? new Map(Object.entries(c.scores)) : undefined;
        // MetalLB sorts a rotated permutation too: the order comes from score and hash only.
        const rotated = [...c.candidates.slice(1), ...c.candidates.slice(0, 1)];
        assert.deepEqual(electionOrder(rotated, c.ip, scores), c.want);
        assert.deepEqual(electionOrder(c.candidates, c.ip, scores), c.want);
      });
    }
  });

  describe('preferenceScores (TestL2AdvertisementFromCRPreferred, TestPreferredScoresFor)', () => {
    const edgeNodes = nodeMap({ 'edge-a': { role: 'edge', zone: 'primary' }, 'edge-b': { role: 'edge' }, 'worker-a': { role: 'worker' } });
    const scoresOf = (...ads: unknown[]): Record<string, number> => Object.fromEntries(preferenceScores(configOf(...ads).l2Advertisements, edgeNodes));

    it('preferred selector scores matching nodes', () => {
      assert.deepEqual(scoresOf(ad('prefer-edge', { preferredNodeSelectors: [prefer(100, { role: 'edge' })] })), { 'edge-a': 100, 'edge-b': 100 });
    });
    it('service selectors do not restrict preferred scoring', () => {
      assert.deepEqual(scoresOf(ad('p', { serviceSelectors: [{ matchLabels: { app: 'web' } }], preferredNodeSelectors: [prefer(100, { role: 'edge' })] })), {
        'edge-a': 100,
        'edge-b': 100,
      });
    });
    it('no preferred selectors: no scores', () => {
      assert.deepEqual(scoresOf(ad('basic', {})), {});
    });
    it('preferred selectors disjoint from node selectors yield no scores', () => {
      assert.deepEqual(
        scoresOf(ad('disjoint', { nodeSelectors: [{ matchLabels: { role: 'worker' } }], preferredNodeSelectors: [prefer(50, { role: 'edge' })] })),
        {},
      );
    });
    it('multiple preferred selectors sum on matching nodes', () => {
      assert.deepEqual(scoresOf(ad('sum', { preferredNodeSelectors: [prefer(40, { role: 'edge' }), prefer(30, { zone: 'primary' })] })), {
        'edge-a': 70,
        'edge-b': 40,
      });
    });
    it('preferences across advertisements sum', () => {
      assert.deepEqual(
        scoresOf(
          ad('one', { preferredNodeSelectors: [prefer(70, { zone: 'primary' })] }),
          ad('two', { preferredNodeSelectors: [prefer(30, { zone: 'primary' }), prefer(50, { role: 'edge' })] }),
        ),
        { 'edge-a': 150, 'edge-b': 50 },
      );
    });
    it('an advertisement reaching the pool by name and by selector counts once', () => {
      const pool = { ...POOL, metadata: { name: 'default', labels: { shared: 'true' } } };
      const config = parseMetalLBResources([
        pool,
        ad('both', {
          ipAddressPoolSelectors: [{ matchLabels: { shared: 'true' } }],
          preferredNodeSelectors: [prefer(50, { role: 'edge' })],
        }),
      ]);
      assert.deepEqual(Object.fromEntries(preferenceScores(config.l2Advertisements, edgeNodes)), { 'edge-a': 50, 'edge-b': 50 });
    });
  });

  describe('decide() on every speaker (TestShouldAnnounce*Preferred*)', () => {
    const all = (...names: string[]): Map<string, NodeView> => nodeMap(Object.fromEntries(names.map((n) => [n, {}])));

    it('preferred node with highest score wins', () => {
      const nodes = nodeMap({ 'edge-a': { preferred: 'yes' }, 'edge-b': {}, 'worker-a': {}, 'worker-b': {} });
      const config = configOf(ad('p', { preferredNodeSelectors: [prefer(100, { preferred: 'yes' })] }));
      assert.deepEqual(
        winners({ service: svc(), endpoints: [{ nodeName: 'worker-a', ready: true, serving: true }], config, nodes, members: new Set(nodes.keys()) }),
        ['edge-a'],
      );
    });

    it('ETP Local drops a preferred node without local endpoints', () => {
      const nodes = nodeMap({ 'preferred-a': { preferred: 'yes' }, 'worker-a': {} });
      const config = configOf(ad('p', { preferredNodeSelectors: [prefer(100, { preferred: 'yes' })] }));
      assert.deepEqual(
        winners({
          service: svc({ externalTrafficPolicy: 'Local' }),
          endpoints: [{ nodeName: 'worker-a', ready: true, serving: true }],
          config,
          nodes,
          members: new Set(nodes.keys()),
        }),
        ['worker-a'],
      );
    });

    it('no split brain with mixed advertisements: scores come from every advertisement of the Service', () => {
      // Edge ad carries the preference; an all-nodes ad carries none; a poison ad whose service
      // selector does not match the Service must not count (its 1000 would make worker-a win).
      const nodes = nodeMap({ 'edge-a': { role: 'edge' }, 'worker-a': { role: 'worker' } });
      const config = configOf(
        ad('edge', { nodeSelectors: [{ matchLabels: { role: 'edge' } }], preferredNodeSelectors: [prefer(100, { role: 'edge' })] }),
        ad('everyone', {}),
        ad('poison', {
          serviceSelectors: [{ matchLabels: { app: 'does-not-match' } }],
          preferredNodeSelectors: [prefer(100, { role: 'worker' }), prefer(100, { role: 'worker' })],
        }),
      );
      assert.deepEqual(
        winners({ service: svc(), endpoints: [{ nodeName: 'worker-a', ready: true, serving: true }], config, nodes, members: new Set(nodes.keys()) }),
        ['edge-a'],
      );
    });

    describe('failover (TestShouldAnnouncePreferredNodeFailover)', () => {
      const nodes = nodeMap({ 'edge-a': { role: 'edge' }, 'edge-b': { role: 'edge' }, 'worker-a': {}, 'worker-b': {} });
      const config = configOf(ad('p', { preferredNodeSelectors: [prefer(100, { role: 'edge' })] }));
      const base = { service: svc(), endpoints: [{ nodeName: 'worker-a', ready: true, serving: true }], config, nodes };
      it('preferred node pruned leaves the remaining preferred one as winner', () => {
        assert.deepEqual(winners({ ...base, members: new Set(['edge-b', 'worker-a']) }), ['edge-b']);
      });
      it('preferred node returns: the sha256 tie-break among preferred nodes picks edge-b', () => {
        assert.deepEqual(winners({ ...base, members: new Set(['edge-a', 'edge-b', 'worker-a']) }), ['edge-b']);
      });
      it('all preferred unavailable falls through to the hash across zero-score survivors', () => {
        assert.deepEqual(winners({ ...base, members: new Set(['worker-a', 'worker-b']) }), ['worker-a']);
      });
      it('a preferred node with NetworkUnavailable is not a candidate', () => {
        const down = new Map(nodes);
        down.set('edge-b', { labels: { role: 'edge' }, networkUnavailable: true });
        assert.deepEqual(winners({ ...base, nodes: down, members: new Set(['edge-a', 'edge-b', 'worker-a']) }), ['edge-a']);
      });
    });

    it('the losing speaker names the winner and its score', () => {
      const nodes = all('edge-a', 'worker-a');
      nodes.set('edge-a', { labels: { role: 'edge' }, networkUnavailable: false });
      const config = configOf(ad('p', { preferredNodeSelectors: [prefer(42, { role: 'edge' })] }));
      const d = decide({
        myNode: 'worker-a',
        service: svc(),
        endpoints: [{ nodeName: 'worker-a', ready: true, serving: true }],
        config,
        nodes,
        members: new Set(nodes.keys()),
      });
      assert.ok(!d.announce);
      assert.match(d.detail, /node edge-a wins the election for 10\.20\.30\.1 \(preference score 42\)/);
    });
  });

  describe('properties', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
    const ip = fc.ipV4().map((a) => `10.20.30.${Number(a.split('.')[3])}`);

    it('without preferences the winner is the one of the plain hash election', () => {
      fc.assert(
        fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 8 }), ip, (names, address) => {
          const nodes = nodeMap(Object.fromEntries(names.map((n) => [n, { role: 'x' }])));
          const config = configOf(ad('plain', {}));
          const got = winners({
            service: svc({ ingressIPs: [address] }),
            endpoints: [{ nodeName: names[0], ready: true, serving: true }],
            config,
            nodes,
            members: new Set(names),
          });
          assert.deepEqual(got, [electionOrder(names, address)[0]]);
        }),
        { numRuns: 200 },
      );
    });

    it('a preference every node matches equally changes nothing', () => {
      fc.assert(
        fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 8 }), ip, fc.integer({ min: 1, max: 100 }), (names, address, weight) => {
          const nodes = nodeMap(Object.fromEntries(names.map((n) => [n, { role: 'x' }])));
          const config = configOf(ad('all-equal', { preferredNodeSelectors: [{ weight, preference: {} }] }));
          const got = winners({
            service: svc({ ingressIPs: [address] }),
            endpoints: [{ nodeName: names[0], ready: true, serving: true }],
            config,
            nodes,
            members: new Set(names),
          });
          assert.deepEqual(got, [electionOrder(names, address)[0]]);
        }),
        { numRuns: 200 },
      );
    });

    it('exactly one speaker wins, and it has the highest score among the candidates', () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(name, { minLength: 1, maxLength: 8 }),
          ip,
          fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
          fc.integer({ min: 1, max: 100 }),
          (names, address, edge, weight) => {
            const nodes = nodeMap(Object.fromEntries(names.map((n, i) => [n, edge[i] ? { role: 'edge' } : ({} as Record<string, string>)])));
            const config = configOf(ad('p', { preferredNodeSelectors: [{ weight, preference: { matchLabels: { role: 'edge' } } }] }));
            const got = winners({
              service: svc({ ingressIPs: [address] }),
              endpoints: [{ nodeName: names[0], ready: true, serving: true }],
              config,
              nodes,
              members: new Set(names),
            });
            assert.equal(got.length, 1);
            const anyEdge = names.some((_, i) => edge[i]);
            assert.equal(nodes.get(got[0] ?? '')?.labels['role'] === 'edge', anyEdge);
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
