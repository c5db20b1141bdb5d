import assert from 'node:assert/strict';
import fc from 'fast-check';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../src/selectors.js';

describe('apiserver label/field selectors', () => {
  it('parses every operator and matches like the API server', () => {
    const labels = { tier: 'front', team: 'x' };
    const yes = [
      'tier=front',
      'tier==front',
      'tier!=back',
      'team',
      '!missing',
      'tier in (front,back)',
      'team notin (y)',
      'tier=front,team=x',
      'missing!=x',
      '',
    ];
    const no = ['tier=back', 'tier!=front', 'missing', '!team', 'tier in (back)', 'team notin (x)', 'tier=front,team=y', 'missing in (a)'];
    for (const s of yes) assert.equal(matchLabels(parseLabelSelector(s), labels), true, s);
    for (const s of no) assert.equal(matchLabels(parseLabelSelector(s), labels), false, s);
  });

  it('rejects malformed selectors with SelectorError', () => {
    for (const s of ['a=b,', '=x', 'a in (b', 'a==b==c', 'a b', 'k=v v', '-a=b']) {
      assert.throws(() => parseLabelSelector(s), SelectorError, s);
    }
  });

  it('checks field selectors against the per-resource whitelist', () => {
    const reqs = parseFieldSelector('metadata.name=a,spec.nodeName!=n1', ['metadata.name', 'spec.nodeName']);
    const obj: Record<string, string> = { 'metadata.name': 'a', 'spec.nodeName': 'n2' };
    assert.equal(
      matchFields(reqs, (f) => obj[f] ?? ''),
      true,
    );
    assert.throws(() => parseFieldSelector('spec.type=LoadBalancer', ['metadata.name']), /not a known field selector/);
  });

  it('never throws anything but SelectorError, whatever the input (fuzz)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          const sel = parseLabelSelector(s);
          matchLabels(sel, { a: 'b' });
        } catch (e) {
          assert.ok(e instanceof SelectorError, String(e));
        }
        try {
          parseFieldSelector(s, ['metadata.name']);
        } catch (e) {
          assert.ok(e instanceof SelectorError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips generated equality selectors (property)', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
    const val = fc.stringMatching(/^[a-z0-9]{0,8}$/);
    fc.assert(
      fc.property(fc.dictionary(key, val, { maxKeys: 4 }), (labels) => {
        const s = Object.entries(labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        assert.equal(matchLabels(parseLabelSelector(s), labels), true);
      }),
    );
  });
});
