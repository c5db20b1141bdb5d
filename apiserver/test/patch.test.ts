import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Json } from '../src/json.js';
import { jsonPatch, mergePatch, PatchError, strategicMerge } from '../src/patch.js';
import { mergeKeyFor } from '../src/resources.js';

const svcKeys = (p: string): string | undefined => mergeKeyFor('Service', p);

describe('apiserver patches', () => {
  it('merge patch follows RFC 7386 (null deletes, objects merge, arrays replace)', () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3] }), { a: 1, b: { d: 3, e: 4 }, l: [3] });
  });

  it('merge patch: patching with the diff-free target is idempotent (property)', () => {
    const json = fc.jsonValue() as fc.Arbitrary<Json>;
    fc.assert(
      fc.property(json, json, (a, b) => {
        const once = mergePatch(a, b);
        assert.deepEqual(mergePatch(once, b), once);
      }),
    );
  });

  it('a "__proto__" key is data in every patch format, never the prototype', () => {
    const patch = JSON.parse('{"__proto__":{"x":1},"a":1}') as Json;
    for (const out of [
      mergePatch({}, patch),
      strategicMerge({}, patch, '', svcKeys),
      jsonPatch({}, JSON.parse('[{"op":"add","path":"/__proto__","value":{"x":1}}]') as Json),
    ]) {
      assert.equal(Object.getPrototypeOf(out), Object.prototype);
      assert.ok(Object.hasOwn(out as object, '__proto__'));
      assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { x: 1 });
    }
    // fast-check's counterexample from CI: the key was lost, so the patch was not idempotent.
    const once = mergePatch({}, JSON.parse('{"__proto__":{}}') as Json);
    assert.deepEqual(mergePatch(once, JSON.parse('{"__proto__":{}}') as Json), once);
  });

  it('JSON patch supports add/remove/replace/move/copy/test and requires an array', () => {
    const doc = { a: [1, 2], b: { c: 'x' } };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/a/-', value: 3 },
      { op: 'remove', path: '/a/0' },
      { op: 'replace', path: '/b/c', value: 'y' },
      { op: 'copy', from: '/b', path: '/d' },
      { op: 'move', from: '/d/c', path: '/e' },
      { op: 'test', path: '/e', value: 'y' },
    ]);
    assert.deepEqual(out, { a: [2, 3], b: { c: 'y' }, d: {}, e: 'y' });
    assert.deepEqual(doc, { a: [1, 2], b: { c: 'x' } }, 'input untouched');
    assert.throws(() => jsonPatch(doc, { op: 'add' }), /cannot unmarshal object/);
    assert.throws(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }]), PatchError);
    assert.throws(() => jsonPatch(doc, [{ op: 'test', path: '/a/0', value: 9 }]), PatchError);
  });

  it('JSON patch never throws anything but PatchError (fuzz)', () => {
    const op = fc.record({
      op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bad'),
      path: fc.string({ maxLength: 8 }),
      from: fc.string({ maxLength: 8 }),
      value: fc.jsonValue(),
    });
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(op, { maxLength: 4 }), (doc, ops) => {
        try {
          jsonPatch(doc as Json, ops as Json);
        } catch (e) {
          assert.ok(e instanceof PatchError, String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('strategic merge: ports merge by key, $patch delete, $setElementOrder, no directive stored', () => {
    const cur = {
      spec: {
        ports: [
          { name: 'http', port: 80 },
          { name: 'https', port: 443 },
        ],
        selector: { app: 'a' },
      },
    };
    const out = strategicMerge(
      cur,
      {
        spec: {
          '$setElementOrder/ports': [{ port: 8443 }, { port: 80 }],
          ports: [
            { name: 'alt', port: 8443 },
            { $patch: 'delete', port: 443 },
          ],
        },
      },
      '',
      svcKeys,
    );
    assert.deepEqual(out, {
      spec: {
        ports: [
          { name: 'alt', port: 8443 },
          { name: 'http', port: 80 },
        ],
        selector: { app: 'a' },
      },
    });
  });

  it('strategic merge: $patch replace, $retainKeys, $deleteFromPrimitiveList, finalizers as a set', () => {
    assert.deepEqual(strategicMerge({ a: { x: 1, y: 2 } }, { a: { $patch: 'replace', z: 3 } }, '', svcKeys), { a: { z: 3 } });
    assert.deepEqual(strategicMerge({ a: { x: 1, y: 2 } }, { a: { $retainKeys: ['y', 'z'], z: 3 } }, '', svcKeys), { a: { y: 2, z: 3 } });
    assert.deepEqual(strategicMerge({ metadata: { finalizers: ['a', 'b'] } }, { metadata: { finalizers: ['c', 'a'] } }, '', svcKeys), {
      metadata: { finalizers: ['a', 'b', 'c'] },
    });
    assert.deepEqual(strategicMerge({ metadata: { finalizers: ['a', 'b'] } }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, '', svcKeys), {
      metadata: { finalizers: ['b'] },
    });
    assert.deepEqual(strategicMerge({ spec: { externalIPs: ['1.1.1.1'] } }, { spec: { externalIPs: ['2.2.2.2'] } }, '', svcKeys), {
      spec: { externalIPs: ['2.2.2.2'] },
    });
  });

  it('strategic merge without list fields equals merge patch (property)', () => {
    const scalar = fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.boolean());
    const obj = fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), fc.oneof(scalar, fc.constant(null), fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), scalar)));
    fc.assert(
      fc.property(obj, obj, (a, b) => {
        const clean = Object.fromEntries(Object.entries(a).filter(([, v]) => v !== null)) as Json;
        assert.deepEqual(
          strategicMerge(clean, b as Json, '', () => undefined),
          mergePatch(clean, b as Json),
        );
      }),
    );
  });
});
