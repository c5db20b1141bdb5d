// Profile settings must mean what they say: no setting that the state machine can never apply.
import assert from 'node:assert/strict';
import { FAST, LAN, Timings } from '../src/config.js';

describe('memberlist profiles', () => {
  for (const [name, t] of [
    ['fast', FAST],
    ['lan', LAN],
  ] as Array<[string, Timings]>) {
    it(`${name}: suspicionMaxTimeoutMult only differs from 1 when Lifeguard confirmations exist (k = suspicionMult - 2 >= 1)`, () => {
      const k = t.suspicionMult - 2;
      if (k < 1) assert.equal(t.suspicionMaxTimeoutMult, 1, `${name} has k = ${k}: the upper suspicion timeout never applies`);
      else assert.ok(t.suspicionMaxTimeoutMult >= 1);
    });
  }
});
