import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NdjsonSplitter } from '../../src/kube/client.js';

describe('kube NDJSON watch stream splitter', () => {
  it('yields the same objects whatever the chunk boundaries, and reports every bad line (property)', () => {
    const good = fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
    const bad = fc.oneof(fc.constant('not json'), fc.constant('[1]'), fc.constant('42'), fc.constant('"s"'), fc.constant('{"a":'));
    const item = fc.oneof(
      { arbitrary: good.map((o) => ({ ok: true as const, o })), weight: 3 },
      bad.map((l) => ({ ok: false as const, l })),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), (items, cuts) => {
        const text = items.map((it) => (it.ok ? JSON.stringify(it.o) : it.l)).join('\n') + '\n';
        const got: unknown[] = [];
        const badLines: string[] = [];
        const sp = new NdjsonSplitter(
          (o) => got.push(o),
          (l) => badLines.push(l),
        );
        let pos = 0;
        let i = 0;
        while (pos < text.length) {
          const n = cuts[i++ % cuts.length] ?? 1;
          sp.push(text.slice(pos, pos + n));
          pos += n;
        }
        // JSON.parse(JSON.stringify(o)) is what travels: compare against that (e.g. -0 becomes 0).
        assert.deepEqual(
          got,
          items.filter((it) => it.ok).map((it) => JSON.parse(JSON.stringify(it.o)) as unknown),
        );
        assert.equal(badLines.length, items.filter((it) => !it.ok).length);
        assert.equal(sp.pending, 0);
      }),
    );
  });

  it('never throws on arbitrary input (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 20 }), { maxLength: 10 }), (chunks) => {
        const sp = new NdjsonSplitter(
          () => undefined,
          () => undefined,
        );
        for (const c of chunks) sp.push(c);
      }),
    );
  });
});
