// L2Advertisement.spec.preferredNodeSelectors (MetalLB main): parsing and refusals.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError, parseMetalLBResources } from '../src/config/index.js';

const POOL = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'web' }, spec: { addresses: ['10.20.30.0/24'] } };
const ad = (spec: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'L2Advertisement',
  metadata: { name: 'prefer-edge' },
  spec: { ipAddressPools: ['web'], ...spec },
});

function problems(spec: Record<string, unknown>): string {
  try {
    parseMetalLBResources([POOL, ad(spec)]);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  assert.fail('the configuration was accepted');
}

describe('L2Advertisement.spec.preferredNodeSelectors', () => {
  it('keeps weight and preference in order; absent means none', () => {
    const config = parseMetalLBResources([
      POOL,
      ad({
        preferredNodeSelectors: [
          { weight: 40, preference: { matchLabels: { role: 'edge' } } },
          { weight: 30, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['primary'] }] } },
          { weight: 1, preference: {} },
        ],
      }),
    ]);
    const prefs = config.l2Advertisements[0]?.preferredNodeSelectors ?? [];
    assert.deepEqual(
      prefs.map((p) => p.weight),
      [40, 30, 1],
    );
    assert.deepEqual(prefs[0]?.preference.matchLabels, { role: 'edge' });
    assert.equal(prefs[1]?.preference.matchExpressions[0]?.operator, 'In');
    assert.deepEqual(prefs[2]?.preference, { matchLabels: {}, matchExpressions: [] });
    assert.ok(Object.isFrozen(prefs) && Object.isFrozen(prefs[0]));
    assert.deepEqual(parseMetalLBResources([POOL, ad({})]).l2Advertisements[0]?.preferredNodeSelectors, []);
  });

  it('keeps repeated entries: MetalLB adds their weights up', () => {
    const entry = { weight: 10, preference: { matchLabels: { role: 'edge' } } };
    const config = parseMetalLBResources([POOL, ad({ preferredNodeSelectors: [entry, entry] })]);
    assert.equal(config.l2Advertisements[0]?.preferredNodeSelectors.length, 2);
  });

  it("refuses what MetalLB's CRD schema refuses, naming the object and the field", () => {
    assert.match(problems({ preferredNodeSelectors: { weight: 1 } }), /L2Advertisement "prefer-edge": spec.preferredNodeSelectors: must be a list/);
    assert.match(problems({ preferredNodeSelectors: ['edge'] }), /spec.preferredNodeSelectors\[0\]: must be a mapping with weight and preference/);
    assert.match(
      problems({ preferredNodeSelectors: [{ weight: 101, preference: {} }] }),
      /spec.preferredNodeSelectors\[0\].weight: must be a whole number from 1 to 100, got the number 101/,
    );
    assert.match(problems({ preferredNodeSelectors: [{ weight: 2.5, preference: {} }] }), /\[0\].weight: must be a whole number from 1 to 100/);
    assert.match(problems({ preferredNodeSelectors: [{ preference: {} }] }), /\[0\].weight: must be a whole number from 1 to 100, got nothing/);
    assert.match(problems({ preferredNodeSelectors: [{ weight: '5', preference: {} }] }), /got the string "5"/);
    assert.match(problems({ preferredNodeSelectors: [{ weight: 5 }] }), /\[0\].preference: is required/);
    assert.match(problems({ preferredNodeSelectors: [{ weight: 5, preference: { matchLabels: { 'bad key!': 'x' } } }] }), /label key "bad key!" is invalid/);
  });

  it('ignores an unknown field inside an entry with a warning, as pruning would', () => {
    const config = parseMetalLBResources([POOL, ad({ preferredNodeSelectors: [{ weight: 5, preference: {}, weigth: 1 }] })]);
    assert.equal(config.l2Advertisements[0]?.preferredNodeSelectors[0]?.weight, 5);
    assert.ok(
      config.warnings.some((w) => /\[0\]: unknown field "weigth" is ignored/.test(w)),
      config.warnings.join('\n'),
    );
  });

  it('never throws anything but ConfigError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          parseMetalLBResources([POOL, ad({ preferredNodeSelectors: value })]);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});
