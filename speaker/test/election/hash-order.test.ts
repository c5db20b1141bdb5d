// The remembered SHA-256 order must be exactly the order MetalLB computes, for any subset of names and
// any history of calls, and must not hash again what it has hashed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { electionOrder } from '../../src/election/election.js';
import { HashOrderCache } from '../../src/election/hash-order.js';

/** MetalLB's order, computed from scratch. */
function reference(names: Iterable<string>, ip: string): string[] {
  return [...new Set(names)]
    .map((node) => ({ node, digest: createHash('sha256').update(`${node}#${ip}`).digest() }))
    .sort((a, b) => Buffer.compare(a.digest, b.digest))
    .map((k) => k.node);
}

/** mulberry32 */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('HashOrderCache', () => {
  it('equals the from-scratch order for random subsets, IPs and a growing universe', () => {
    const random = rng(7);
    const cache = new HashOrderCache({ maxIps: 16, maxNames: 40 });
    for (let i = 0; i < 2000; i++) {
      const pool = 10 + Math.floor(random() * 50); // names appear over time, beyond maxNames
      const names = Array.from({ length: 1 + Math.floor(random() * 12) }, () => `node-${Math.floor(random() * pool)}`);
      const ip = `10.0.0.${Math.floor(random() * 40)}`;
      assert.deepEqual(cache.order(names, ip), reference(names, ip), `call ${i}: ${names.join(',')} for ${ip}`);
    }
  });

  it('hashes each name once per IP: a later subset (a member died) costs no hash', () => {
    let hashes = 0;
    const cache = new HashOrderCache({
      digest: (t) => {
        hashes += 1;
        return createHash('sha256').update(t).digest();
      },
    });
    const names = Array.from({ length: 250 }, (_, i) => `node-${i}`);
    const ips = Array.from({ length: 100 }, (_, i) => `10.1.0.${i}`);
    for (const ip of ips) cache.order(names, ip);
    assert.equal(hashes, 250 * 100);
    const survivors = names.slice(0, 249);
    for (const ip of ips) assert.deepEqual(cache.order(survivors, ip), reference(survivors, ip));
    assert.equal(hashes, 250 * 100, 'no hash after the membership change');
  });

  it('first() is order()[0], and a frozen list passed again stays right while the universe grows and starts over', () => {
    const random = rng(13);
    const cache = new HashOrderCache({ maxIps: 8, maxNames: 30 });
    let frozen: readonly string[] = Object.freeze(['node-0', 'node-1', 'node-2']);
    for (let i = 0; i < 3000; i++) {
      // Now and then a new frozen list (the speaker's candidates after a change); other calls bring new names.
      if (random() < 0.05) frozen = Object.freeze(Array.from({ length: 1 + Math.floor(random() * 10) }, () => `node-${Math.floor(random() * 60)}`));
      const other = Array.from({ length: 1 + Math.floor(random() * 10) }, () => `node-${Math.floor(random() * 60)}`);
      const names = random() < 0.5 ? frozen : other;
      const ip = `10.0.1.${Math.floor(random() * 20)}`;
      const want = reference(names, ip);
      assert.deepEqual(cache.order(names, ip), want, `call ${i}: order of ${names.join(',')} for ${ip}`);
      assert.equal(cache.first(names, ip), want[0], `call ${i}: first of ${names.join(',')} for ${ip}`);
    }
    assert.equal(cache.first([], '10.0.0.1'), undefined);
  });

  it('node names that churn (autoscaling) do not pile up: an order costs at most about twice the cluster in hashes', () => {
    let hashes = 0;
    const cache = new HashOrderCache({
      digest: (t) => {
        hashes += 1;
        return createHash('sha256').update(t).digest();
      },
    });
    // A 10-node cluster whose nodes are replaced one by one, 3 000 times: names never come back.
    const live = Array.from({ length: 10 }, (_, i) => `node-${i}`);
    for (let step = 0; step < 3000; step++) {
      live[step % 10] = `node-${10 + step}`;
      const ip = `10.2.${step >> 8}.${step & 255}`;
      hashes = 0;
      assert.deepEqual(cache.order(live, ip), reference(live, ip));
      assert.ok(hashes <= 2 * 10 + 16 + 1, `step ${step}: ${hashes} hashes for one order of 10 names`);
    }
  });

  it('a name never seen before is placed correctly (the cached orders start over)', () => {
    const cache = new HashOrderCache();
    const names = ['a', 'b', 'c'];
    cache.order(names, '10.0.0.1');
    assert.deepEqual(cache.order([...names, 'newcomer'], '10.0.0.1'), reference([...names, 'newcomer'], '10.0.0.1'));
  });
});

describe('electionOrder uses the remembered order', () => {
  it('gives the same answer as from scratch, with and without preference scores', () => {
    const random = rng(11);
    for (let i = 0; i < 500; i++) {
      const names = Array.from({ length: 1 + Math.floor(random() * 8) }, () => `n${Math.floor(random() * 20)}`);
      const ip = `192.0.2.${Math.floor(random() * 30)}`;
      assert.deepEqual(electionOrder(names, ip), reference(names, ip));
      const scores = new Map(names.filter(() => random() < 0.5).map((n) => [n, Math.floor(random() * 3)]));
      const want = reference(names, ip)
        .map((n, k) => ({ n, k, s: scores.get(n) ?? 0 }))
        .sort((a, b) => b.s - a.s || a.k - b.k)
        .map((x) => x.n);
      assert.deepEqual(electionOrder(names, ip, scores), want);
    }
  });
});
