import { conformance } from './conformance.js';
import { embeddedTarget, type Target } from './helpers.js';

describe('kube conformance: embedded API server', () => {
  let target: Target | undefined;
  before(async () => {
    target = await embeddedTarget();
  });
  after(async () => {
    await target?.close();
  });
  conformance(() => {
    if (!target) throw new Error('embedded server not started');
    return target;
  });
});
