// The conformance suite against a real kube-apiserver v1.20.2 + etcd, started once for this file on free
// loopback ports by scripts/kube-apiserver.sh and stopped in after() even when tests fail. Missing etcd or
// binary fails loudly (CI installs them); it never skips silently.

import { conformance } from './conformance.js';
import { realTarget, type Target } from './helpers.js';

describe('kube conformance: real kube-apiserver v1.20 @integration', function () {
  let target: Target | undefined;
  before(async function () {
    this.timeout(180_000); // the first run may unpack (2 s) or build (minutes) the binary
    target = await realTarget();
  });
  after(async function () {
    this.timeout(60_000);
    await target?.close();
  });
  conformance(() => {
    if (!target) throw new Error('real kube-apiserver not started');
    return target;
  });
});
