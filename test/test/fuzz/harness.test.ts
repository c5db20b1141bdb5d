// The fuzz harness itself: it reports crashes and confirmed hangs with replayable indices, and its inputs are a
// function of (seed, index) only.
import assert from 'node:assert/strict';
import { Rng, inputSeed, mutateBytes, mutateText, runTarget, type FuzzTarget } from '../../fuzz/harness.js';

function busy(ms: number): void {
  const c0 = process.cpuUsage();
  for (;;) {
    const c = process.cpuUsage(c0);
    if ((c.user + c.system) / 1000 >= ms) return;
  }
}

describe('fuzz harness', () => {
  it('counts a throwing input as a crash and a CPU-bound slow input as a hang, with their indices', () => {
    const target: FuzzTarget<number> = {
      name: 'fake',
      description: 'fake',
      generate: (rng) => rng.int(1000),
      execute: (n) => {
        if (n === 7) throw new Error('seven');
        if (n === 8) busy(60);
      },
      show: (n) => String(n),
    };
    const s = runTarget(target, { seed: 1, count: 3000, maxSeconds: 60, hangMs: 50 });
    const sevens = [...Array(3000).keys()].filter((i) => new Rng(inputSeed(1, i)).int(1000) === 7);
    assert.equal(s.inputs, 3000);
    assert.equal(s.crashes, sevens.length);
    assert.ok(s.crashes > 0);
    assert.equal(s.findings.find((f) => f.kind === 'crash')?.index, sevens[0]);
    assert.ok(s.hangs > 0, 'the 60 ms input is a hang');
    assert.ok(s.maxInputMs >= 50);
  });

  it('generates the same input for the same (seed, index) and mutators stay within their caps', () => {
    const a = new Rng(inputSeed(42, 9)).bytes(32);
    const b = new Rng(inputSeed(42, 9)).bytes(32);
    assert.deepEqual(a, b);
    const rng = new Rng(3);
    for (let i = 0; i < 2000; i++) {
      assert.ok(mutateBytes(rng, rng.bytes(rng.len(200)), 300).length <= 300);
      assert.ok(mutateText(rng, 'a: [1, 2]', 500).length <= 500);
    }
  });
});
