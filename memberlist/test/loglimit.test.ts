// The drop-log rate limit: bounded lines per reason and source, exact counts of what was held back.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DropLogLimiter, OVERFLOW_SOURCE } from '../src/loglimit.js';

describe('memberlist drop log limiter', () => {
  it('logs the first drop per (reason, source), holds back the rest for a window, then reports the count', () => {
    let now = 0;
    const l = new DropLogLimiter(10_000, 100, () => now);
    assert.deepEqual(l.admit('bad_crc', '10.0.0.1'), { log: true, suppressed: 0 });
    for (let i = 0; i < 500; i++) assert.equal(l.admit('bad_crc', '10.0.0.1').log, false);
    // Another reason or another source is its own line.
    assert.equal(l.admit('too_large', '10.0.0.1').log, true);
    assert.equal(l.admit('bad_crc', '10.0.0.2').log, true);
    now = 9_999;
    assert.equal(l.admit('bad_crc', '10.0.0.1').log, false);
    now = 10_000;
    assert.deepEqual(l.admit('bad_crc', '10.0.0.1'), { log: true, suppressed: 501 });
    assert.equal(l.admit('bad_crc', '10.0.0.1').log, false);
  });

  it('a spray of source addresses cannot grow the table past its cap (overflow shares one key per reason)', () => {
    let now = 0;
    const l = new DropLogLimiter(1000, 8, () => now);
    let lines = 0;
    for (let i = 0; i < 10_000; i++) if (l.admit('bad_crc', `10.0.${i >> 8}.${i & 255}`).log) lines++;
    assert.ok(l.size() <= 9, `table has ${l.size()} keys`);
    assert.equal(lines, 8 + 1, '8 sources, then one line for the overflow key');
    // After a quiet window, idle keys make room again.
    now = 5000;
    assert.equal(l.admit('bad_crc', '192.0.2.1').log, true);
    assert.ok(l.size() <= 9);
    void OVERFLOW_SOURCE;
  });

  it('property: lines + suppressed reported + still pending == drops, and at most one line per key per window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 400 })), { maxLength: 300 }),
        (events) => {
          let now = 0;
          const l = new DropLogLimiter(1000, 1000, () => now);
          let lines = 0;
          let reported = 0;
          const lastLine = new Map<string, number>();
          const pending = new Map<string, number>();
          for (const [r, s, dt] of events) {
            now += dt;
            const key = `${r}/${s}`;
            const v = l.admit(`r${r}`, `s${s}`);
            if (v.log) {
              const prev = lastLine.get(key);
              if (prev !== undefined && now - prev < 1000) return false;
              lastLine.set(key, now);
              lines++;
              reported += v.suppressed;
              pending.set(key, 0);
            } else {
              pending.set(key, v.suppressed);
            }
          }
          const stillPending = [...pending.values()].reduce((a, b) => a + b, 0);
          return lines + reported + stillPending === events.length;
        },
      ),
    );
  });
});
