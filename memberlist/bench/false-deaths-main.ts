// Measurement (not a test): false deaths of live members under random packet loss, in the
// deterministic simulated network (every link, both directions, UDP and TCP). 3 members, `fast`,
// 20 s of loss per run, 10 seeded runs per row; with and without the dead-member reconnect loop.
// Prints, per loss rate: how many times an observer declared a live member dead, and for how long
// in total members stayed dead in someone's view (what takes VIPs away).
//   node memberlist/dist/bench/false-deaths-main.js [--nodes 3] [--seconds 20] [--runs 10]
import { parseArgs } from 'node:util';
import { ProfileName, makeConfig } from '../src/config.js';
import { SimNetwork } from '../src/sim.js';
import { defaultWireOptions } from '../src/wire.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '20' },
    runs: { type: 'string', default: '10' },
    profile: { type: 'string', default: 'fast' },
  },
});
const nodes = Number(values.nodes);
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const prof = (values.profile === 'lan' ? 'lan' : 'fast') as ProfileName;
const ip = (i: number): string => `10.0.0.${i + 1}`;
const WARMUP_MS = 5000;
const AFTER_MS = 5000;

for (const loss of [0.05, 0.2, 0.35]) {
  for (const reconnectIntervalMs of [0, prof === 'fast' ? 200 : 1000]) {
    let deaths = 0;
    let deadMs = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const net = new SimNetwork(seed);
      const ml = Array.from({ length: nodes }, (_, i) =>
        net.addNode(makeConfig(`n${i}`, ip(i), 7946, { wire: defaultWireOptions({ compression: false }), reconnectIntervalMs }, prof)),
      );
      ml.forEach((m, i) =>
        net.schedule(i * 10, () => {
          m.start();
          if (i > 0) m.join([{ ip: ip(0), port: 7946 }], () => undefined);
        }),
      );
      net.runUntil(WARMUP_MS);
      const first = net.events.length;
      net.loss = loss;
      net.runUntil(WARMUP_MS + seconds * 1000);
      net.loss = 0;
      const end = WARMUP_MS + seconds * 1000 + AFTER_MS;
      net.runUntil(end);
      const deadSince = new Map<string, number>();
      for (const e of net.events.slice(first)) {
        const k = `${e.observer}>${e.node}`;
        if (e.kind === 'leave' && e.reason === 'dead') {
          deaths++;
          deadSince.set(k, e.t);
        }
        const t0 = deadSince.get(k);
        if (e.kind === 'join' && t0 !== undefined) {
          deadMs += e.t - t0;
          deadSince.delete(k);
        }
      }
      for (const t0 of deadSince.values()) deadMs += end - t0;
    }
    process.stdout.write(
      `${prof}, ${nodes} members, ${(loss * 100).toFixed(0)} % loss for ${seconds} s x ${runs} runs, reconnect ${reconnectIntervalMs === 0 ? 'off' : `${reconnectIntervalMs} ms`}: ` +
        `${deaths} false deaths, members dead in someone's view for ${(deadMs / 1000).toFixed(1)} s in all\n`,
    );
  }
}
