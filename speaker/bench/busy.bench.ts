// A busy speaker must still answer gossip (issue 14 item 1): one `l2lb-speaker run` with 10 000
// LoadBalancer Services (and their EndpointSlices) on the embedded API server, 500 Service updates/s,
// a forced relist every 10 s and 10 Node updates/s (every 10th a label change, so a pass over every
// Service), for 10 minutes (`--seconds N`). Prints the speaker's event-loop delay, the false deaths
// and suspicions two `fast` peers saw, and n1's memberlist ack and ARP reply times against references
// measured at the same moments (an idle agent; the kernel). Needs root; prints SKIPPED otherwise.
//   npm run bench -- busy [--seconds 600] [--single-thread]
import { parseArgs } from 'node:util';
import { have, isRoot } from '../test/helpers/netns.js';
import { describeBusy, runBusy } from '../test/helpers/busy.js';

const TARGETS = { falseDeaths: 0, ackP99Ms: 10, arpP99Ms: 10, loopMaxMs: 150 };

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '600' }, 'single-thread': { type: 'string', default: 'false' } },
  strict: false,
});
// --single-thread: the speaker as before the network thread (--network-thread=false), for comparison.
const speakerArgs = values['single-thread'] === 'true' ? ['--network-thread=false'] : [];
const seconds = Number(values['seconds']);
if (!(seconds >= 5)) {
  console.error(`busy: --seconds must be a number >= 5 (got ${String(values['seconds'])})`);
  process.exit(2);
}
if (!isRoot() || !have('cc')) {
  console.log('SKIPPED: needs root (network namespaces) and cc (the ARP prober)');
  process.exit(0);
}
const r = await runBusy({
  seconds,
  services: 10_000,
  nodes: 50,
  churnPerSec: 500,
  relistMs: 10_000,
  nodeUpdatesPerSec: 10,
  speakerArgs,
  log: (l) => console.log(`  ${l}`),
});
console.log(
  `busy speaker (${speakerArgs.length > 0 ? 'one thread, --network-thread=false' : 'network thread'}), ${seconds} s, 10 000 Services (one run; references measured at the same moments):`,
);
for (const line of describeBusy(r)) console.log(`  ${line}`);
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(1)}x` : 'n/a');
console.log(
  `ratios: ack p99 speaker/idle agent ${ratio(r.acks.speaker.p99, r.acks.reference.p99)}; ARP p99 speaker/kernel ${ratio(r.arp.speaker.p99, r.arp.kernel.p99)}`,
);
const deaths = Object.values(r.falseDeaths).reduce((a, b) => a + b, 0);
const lostAcks = r.acks.speaker.lost;
const targets: [boolean, string][] = [
  [deaths <= TARGETS.falseDeaths, `false deaths of the busy speaker ${deaths} (target ${TARGETS.falseDeaths})`],
  [
    r.acks.speaker.p99 <= TARGETS.ackP99Ms && lostAcks === 0,
    `memberlist ack p99 ${r.acks.speaker.p99.toFixed(1)} ms, ${lostAcks} lost (target <= ${TARGETS.ackP99Ms} ms, none lost)`,
  ],
  [
    r.arp.speaker.p99 <= TARGETS.arpP99Ms && r.arp.speaker.lost === 0,
    `ARP reply p99 ${r.arp.speaker.p99.toFixed(1)} ms, ${r.arp.speaker.lost} lost (target <= ${TARGETS.arpP99Ms} ms, none lost)`,
  ],
];
// With the network thread (the default) gossip and ARP no longer wait for the main thread: its loop delay
// is Kubernetes work only, shown for information. With --network-thread=false it is the fast profile's margin.
const single = speakerArgs.includes('--network-thread=false');
if (single) {
  targets.push([
    r.loop.maxMs < TARGETS.loopMaxMs,
    `speaker event-loop delay max ${r.loop.maxMs.toFixed(1)} ms (target < ${TARGETS.loopMaxMs} ms, the fast profile's margin on one thread)`,
  ]);
} else {
  console.log(`  main-thread event-loop delay max ${r.loop.maxMs.toFixed(1)} ms: Kubernetes work only, memberlist and ARP run on the network thread`);
}
for (const [ok, text] of targets) console.log(ok ? `target met: ${text}` : `TARGET MISSED: ${text}`);
