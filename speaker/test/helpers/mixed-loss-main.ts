// Measurement (not a test): a mixed cluster, two `l2lb-speaker run` + one peer named go-node (the Go
// mlpeer, or our own memberlist agent for comparison), with N % random packet loss on the peer's
// link (nftables in its namespace, both directions) for S seconds, then none. Counts how often the
// l2lb speakers declare the live peer dead (each time the next l2lb node announces the peer's IP,
// which a MetalLB speaker on that node would still answer too) and how long the last false death
// lasts after the loss stops. Root; namespaces l2v6m<pid>-..., removed at the end.
//   node speaker/dist/test/helpers/mixed-loss-main.js [--profile fast|lan] [--loss 25] [--seconds 30] [--peer go|fast|lan]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { electionOrder } from '../../src/election/election.js';
import { SpeakerCluster, cleanupStalePrefix, ensureMlpeer } from './cluster.js';
import { run } from './netns.js';
import { waitFor } from './wait.js';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'fast' },
    loss: { type: 'string', default: '25' },
    seconds: { type: 'string', default: '30' },
    peer: { type: 'string', default: 'go' },
  },
});
const profile = values.profile ?? 'fast';
const loss = Number(values.loss);
const seconds = Number(values.seconds);
const peer = values.peer ?? 'go';
if (!['fast', 'lan'].includes(profile) || !['go', 'fast', 'lan'].includes(peer) || !(loss >= 0 && loss <= 100) || !(seconds > 0)) {
  process.stderr.write('usage: mixed-loss-main.js [--profile fast|lan] [--loss PERCENT] [--seconds S] [--peer go|fast|lan]\n');
  process.exit(2);
}

const L2LB = ['n1', 'n2'];
const GO = 'go-node';
const NODES = [...L2LB, GO];
const ADDR: Record<string, string> = { n1: '10.213.0.11', n2: '10.213.0.12', [GO]: '10.213.0.20' };
const MAC: Record<string, string> = { n1: '02:13:00:00:01:01', n2: '02:13:00:00:01:02', [GO]: '02:13:00:00:01:14' };
const VIP = Array.from({ length: 50 }, (_, k) => `10.213.0.${200 + k}`).find((ip) => electionOrder(NODES, ip)[0] === GO) ?? '';
const AGENT = fileURLToPath(new URL('../../../../memberlist/bin/l2lb-memberlist.js', import.meta.url));

cleanupStalePrefix('l2v6');
const c = new SpeakerCluster({
  prefix: 'l2v6',
  kind: 'm',
  hosts: {
    cp: { mac: '02:13:00:00:00:02', v4: '10.213.0.2/24' },
    ...Object.fromEntries(NODES.map((n) => [n, { mac: MAC[n] ?? '', v4: `${ADDR[n] ?? ''}/24` }])),
  },
});
try {
  await c.startApi();
  c.createBase(['10.213.0.200-10.213.0.249'], NODES);
  const common = ['--name', GO, '--bind', ADDR[GO] ?? '', '--port', '7946', '--secret', c.secret];
  const g =
    peer === 'go'
      ? c.startProcess(GO, GO, ensureMlpeer(), [...common, '--members-interval', '0', '--quiet'])
      : c.startProcess(GO, GO, process.execPath, [AGENT, 'agent', ...common, '--profile', peer, '--members-interval', '0']);
  await waitFor(() => g.lines.find((e) => e['ev'] === 'start'), { timeoutMs: 5000, what: 'the peer to start' });
  for (const n of L2LB)
    c.startSpeaker(
      n,
      ADDR[n] ?? '',
      NODES.map((m) => ADDR[m] ?? ''),
      ['--ml-profile', profile],
    );
  await waitFor(() => c.joinedAll(L2LB, NODES), { timeoutMs: 15_000, what: 'the cluster to form' });
  c.createService('go', [VIP], 'n1');
  const ns = c.ns(GO);
  run('ip', ['netns', 'exec', ns, 'nft', 'add', 'table', 'inet', 'l2v6loss']);
  for (const [chain, hook] of [
    ['i', 'input'],
    ['o', 'output'],
  ]) {
    run('ip', ['netns', 'exec', ns, 'nft', `add chain inet l2v6loss ${chain} { type filter hook ${hook} priority 0 ; }`]);
    run('ip', ['netns', 'exec', ns, 'nft', `add rule inet l2v6loss ${chain} numgen random mod 100 < ${loss} counter drop`]);
  }
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000)); // the measurement window itself, not a wait for a condition
  const dropped = [...run('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', 'l2v6loss']).matchAll(/packets (\d+)/g)].reduce(
    (s, m) => s + Number(m[1]),
    0,
  );
  run('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'l2v6loss']);
  const t1 = Date.now();
  const events = (n: string): string[] =>
    c
      .lines(n, 'memberlist')
      .filter((l) => l['member'] === GO && Number(l['receivedAt']) >= t0)
      .map((l) => `${String(l['event'])}@${Number(l['receivedAt']) - t0}`);
  const dead = (n: string): boolean =>
    c
      .lines(n, 'memberlist')
      .filter((l) => l['member'] === GO)
      .at(-1)?.['event'] === 'leave';
  let recovered = 'not dead when the loss stopped';
  if (L2LB.some(dead)) {
    try {
      await waitFor(() => !L2LB.some(dead), { timeoutMs: 60_000, intervalMs: 50, what: 'go-node alive again' });
      recovered = `alive again ${Date.now() - t1} ms after the loss stopped`;
    } catch {
      recovered = 'still dead 60 s after the loss stopped';
    }
  }
  process.stdout.write(`profile ${profile}, peer ${peer}, ${loss} % loss for ${seconds} s (${dropped} packets dropped), VIP ${VIP} won by ${GO}\n`);
  for (const n of L2LB) {
    const falseDeaths = events(n).filter((e) => e.startsWith('leave')).length;
    const took = c.lines(n, 'announcing').filter((l) => l['service'] === 'default/go').length;
    process.stdout.write(`  ${n}: ${falseDeaths} false deaths of ${GO}, announced its VIP ${took} times; ${JSON.stringify(events(n))}\n`);
  }
  process.stdout.write(`  ${GO}: ${recovered}\n`);
} finally {
  await c.destroy();
}
