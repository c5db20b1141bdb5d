// Mixed l2lb/MetalLB clusters: who is not an l2lb speaker, and when to warn.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseMetalLBResources } from '@l2lb/shared';
import { L2LB_MEMBER_META, advertisementsWithPreferences, foreignMembers, mixedClusterWarning } from '../../src/run/mixed.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const POOL = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p' }, spec: { addresses: ['10.0.0.0/24'] } };
const ad = (name: string, spec: Record<string, unknown>): unknown => ({ apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name }, spec });

describe('speaker: mixed l2lb/MetalLB memberlist', () => {
  it('members without the l2lb marker (MetalLB sets no metadata) are foreign; self is never listed', () => {
    const members = [
      { name: 'me', meta: null },
      { name: 'l2lb-b', meta: enc(L2LB_MEMBER_META) },
      { name: 'l2lb-future', meta: enc('l2lb-speaker/7;x') },
      { name: 'metallb-c', meta: null },
      { name: 'metallb-a', meta: new Uint8Array(0) },
      { name: 'other', meta: enc('l2lb') },
    ];
    assert.deepEqual(foreignMembers(members, 'me'), ['metallb-a', 'metallb-c', 'other']);
  });

  it('warns only when a foreign member is present and an advertisement uses preferredNodeSelectors', () => {
    const plain = parseMetalLBResources([POOL, ad('plain', {})]);
    const prefs = parseMetalLBResources([POOL, ad('plain', {}), ad('edge', { preferredNodeSelectors: [{ weight: 10, preference: {} }] })]);
    assert.deepEqual(advertisementsWithPreferences(plain), []);
    assert.deepEqual(advertisementsWithPreferences(prefs), ['edge']);
    assert.deepEqual(advertisementsWithPreferences(undefined), []);
    assert.equal(mixedClusterWarning(['metallb-a'], []), undefined);
    assert.equal(mixedClusterWarning([], ['edge']), undefined);
    assert.match(
      mixedClusterWarning(['metallb-a'], ['edge']) ?? '',
      /members metallb-a do not run l2lb.*ignore preferredNodeSelectors \(L2Advertisement edge\)/,
    );
  });

  it('foreignMembers never throws on arbitrary metadata (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ name: fc.string(), meta: fc.option(fc.uint8Array({ maxLength: 40 })) })), (members) => {
        const out = foreignMembers(members, 'me');
        assert.ok(out.length <= members.length);
      }),
    );
  });
});
