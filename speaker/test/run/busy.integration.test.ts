// A busy speaker must still answer gossip: the shortened form of `npm run bench -- busy` (issue 14
// item 1). 10 000 LoadBalancer Services, 500 Service updates/s, a forced relist every 10 s and Node
// updates, for 30 s (L2LB_BUSY_SECONDS). The peers must never declare the speaker dead, and its
// memberlist acks and ARP replies must leave within 10 ms at p99 (plus the idle agent's own p99, which
// is this loaded machine's scheduling delay for a user-space responder, not the speaker's).
// Root and cc; namespaces l2bz<pid>-..., removed at the end.
//
// It ran only with L2LB_BUSY_TEST=1 while the target was missed (16 false deaths per peer, acks p99
// 483 ms); memberlist and the ARP reflex now run on the speaker's network thread (docs/decisions.md,
// "A busy speaker"), so it runs in CI.
import assert from 'node:assert/strict';
import { describeBusy, runBusy, type BusyResult } from '../helpers/busy.js';
import { have, isRoot } from '../helpers/netns.js';

const SECONDS = Number(process.env['L2LB_BUSY_SECONDS'] ?? 30);
const TARGET_P99_MS = 10;

describe('l2lb-speaker run: a busy speaker still answers gossip and ARP @integration', function () {
  this.timeout(600_000 + SECONDS * 1000);
  let r: BusyResult | undefined;

  before(async function () {
    if (!isRoot() || !['ip', 'cc'].every(have)) {
      if (process.env['CI'] === 'true') throw new Error('CI must run the busy-speaker test: needs root, ip and cc');
      this.skip();
    }
    r = await runBusy({
      seconds: SECONDS,
      services: 10_000,
      nodes: 50,
      churnPerSec: 500,
      relistMs: 10_000,
      nodeUpdatesPerSec: 10,
      log: (l) => console.log(`      ${l}`),
    });
    for (const line of describeBusy(r)) console.log(`      ${line}`);
  });

  const res = (): BusyResult => r ?? assert.fail('no result');

  it('the load ran: forced relists and most of the Service churn', () => {
    assert.ok(res().load.relists >= Math.floor(SECONDS / 10) - 1, `relists ${res().load.relists}`);
    assert.ok(res().load.serviceUpdates >= SECONDS * 500 * 0.5, `Service updates ${res().load.serviceUpdates} in ${SECONDS} s`);
  });

  it('no peer declares the busy speaker dead', () => {
    assert.deepEqual(res().falseDeaths, { n2: 0, n3: 0 }, `suspicions ${JSON.stringify(res().suspicions)}`);
  });

  it('memberlist acks leave within 10 ms at p99 (beyond the idle reference), none lost', () => {
    const { speaker, reference } = res().acks;
    assert.equal(speaker.lost, 0, 'pings without an ack within 2 s');
    assert.ok(speaker.p99 <= TARGET_P99_MS + reference.p99, `ack p99 ${speaker.p99} ms, reference ${reference.p99} ms`);
  });

  it('ARP replies leave within 10 ms at p99 (beyond the user-space reference), none lost', () => {
    // The kernel answers in softirq, no process has to be scheduled; the idle agent's acks are what a
    // user-space responder gets from this machine at the same moments, so that is the reference here.
    const { speaker, kernel } = res().arp;
    const userSpace = Math.max(kernel.p99, res().acks.reference.p99);
    assert.equal(speaker.lost, 0, 'requests without a reply within 1 s');
    assert.ok(speaker.p99 <= TARGET_P99_MS + userSpace, `ARP p99 ${speaker.p99} ms, kernel ${kernel.p99} ms, idle agent's acks ${res().acks.reference.p99} ms`);
  });
});
