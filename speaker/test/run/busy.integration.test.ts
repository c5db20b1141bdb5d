// A busy speaker must still answer gossip: the shortened form of `npm run bench -- busy` (issue 14
// item 1). 10 000 LoadBalancer Services, 500 Service updates/s, a forced relist every 10 s and Node
// updates, for 30 s (L2LB_BUSY_SECONDS). The peers must never declare the speaker dead, and its
// memberlist acks and ARP replies must leave within 10 ms at p99 (plus the idle reference's own p99,
// which is this loaded machine's scheduling delay, not the speaker's).
// Root and cc; namespaces l2bz<pid>-..., removed at the end.
//
// NOT MET YET, so it runs only with L2LB_BUSY_TEST=1: on the loaded 2-core CI machine the speaker's
// single event loop still stalls for seconds under this load and the peers declare it dead (figures
// in docs/decisions.md, "A busy speaker"). It turns on for CI once memberlist and the ARP reflex run
// off the Kubernetes thread (the design recorded there).
import assert from 'node:assert/strict';
import { describeBusy, runBusy, type BusyResult } from '../helpers/busy.js';
import { have, isRoot } from '../helpers/netns.js';

const SECONDS = Number(process.env['L2LB_BUSY_SECONDS'] ?? 30);
const TARGET_P99_MS = 10;

describe('l2lb-speaker run: a busy speaker still answers gossip and ARP @integration', function () {
  this.timeout(600_000 + SECONDS * 1000);
  let r: BusyResult | undefined;

  before(async function () {
    if (process.env['L2LB_BUSY_TEST'] !== '1') {
      console.log('      skipped: the busy-speaker target is not met yet (docs/decisions.md); L2LB_BUSY_TEST=1 runs it');
      this.skip();
    }
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

  it('ARP replies leave within 10 ms at p99 (beyond the kernel reference), none lost', () => {
    const { speaker, kernel } = res().arp;
    assert.equal(speaker.lost, 0, 'requests without a reply within 1 s');
    assert.ok(speaker.p99 <= TARGET_P99_MS + kernel.p99, `ARP p99 ${speaker.p99} ms, kernel ${kernel.p99} ms`);
  });
});
