import assert from 'node:assert/strict';
import { Store } from '../src/store.js';

const obj = (name: string, v = 0): { metadata: { name: string; namespace: string }; v: number } => ({ metadata: { name, namespace: 'ns' }, v });

describe('apiserver store', () => {
  it('keeps a bounded history: older resourceVersions expire (watch gets 410)', () => {
    const s = new Store(3);
    for (let i = 1; i <= 5; i++) s.put('/x', obj(`o${i}`));
    assert.equal(s.resourceVersion, 5);
    assert.equal(s.eventsSince(1), undefined);
    assert.deepEqual(
      s.eventsSince(2)?.map((e) => e.rv),
      [3, 4, 5],
    );
    assert.deepEqual(s.eventsSince(5), []);
  });

  it('stays correct after many evictions (history array compaction)', () => {
    const s = new Store(10);
    for (let i = 1; i <= 10_000; i++) s.put('/x', obj(`o${i % 7}`, i));
    assert.deepEqual(
      s.eventsSince(9990)?.map((e) => e.rv),
      [9991, 9992, 9993, 9994, 9995, 9996, 9997, 9998, 9999, 10000],
    );
    assert.equal(s.eventsSince(9989), undefined);
    assert.equal(s.list('/x').length, 7);
  });

  it('records MODIFIED with the previous object and DELETED with a new resourceVersion; compact() expires everything', () => {
    const s = new Store();
    s.put('/x', obj('a', 1));
    s.put('/x', obj('a', 2));
    const gone = s.remove('/x', 'ns', 'a');
    assert.equal(gone?.['metadata'] && (gone['metadata'] as { resourceVersion?: string }).resourceVersion, '3');
    const evs = s.eventsSince(0) ?? [];
    assert.deepEqual(
      evs.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    assert.equal((evs[1]?.previous as { v?: number } | undefined)?.v, 1);
    s.compact();
    assert.equal(s.eventsSince(2), undefined);
    assert.deepEqual(s.eventsSince(3), []);
  });

  it('snapshots and loads (persistence) without history', () => {
    const s = new Store();
    s.put('/x', obj('a'));
    s.put('/y', obj('b'));
    const t = new Store();
    t.load(JSON.parse(JSON.stringify(s.snapshot())) as ReturnType<Store['snapshot']>);
    assert.equal(t.resourceVersion, 2);
    assert.ok(t.get('/y', 'ns', 'b'));
    assert.equal(t.eventsSince(1), undefined);
    assert.deepEqual(t.eventsSince(2), []);
  });
});
