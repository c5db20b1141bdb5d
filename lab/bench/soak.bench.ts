// The soak (issue 14 item 2): a 5-node lab, `fast` profile, 5 % loss each way on every node's link
// (nftables netdev hooks inside the node namespaces), CPU pressure on 2 nodes (the VIP's owner among
// them: speaker + one stress-ng worker sharing a cgroup quota of 0.4 core per 100 ms, so the machine
// loses at most 0.8 of its cores; --stress neighbour for the other model), for 10 minutes. Targets: 0 changes of the VIP's MAC at the client,
// 0 memberlist false deaths. Needs root, nft and stress-ng; prints SKIPPED otherwise.
// Options (after the name): --seconds N (default 600), --loss P (percent, 0 = none), --stressed N (nodes, 0 = none),
// --stress shared-quota|neighbour, --cpu-share F, --period-ms N, --profile fast|lan, --keep-logs DIR (copy the
// lab's logs there before teardown).
import { errorText } from '@l2lb/shared/log';
import { NodeStress } from '../src/lab/chaos.js';
import { down, speakerHasRun } from '../src/lab/lab.js';
import type { MlProfile } from '../src/lab/plan.js';
import { runSoak, soakReport } from '../src/lab/soak.js';
import { have, isRoot } from '../src/lab/sys.js';

const PREFIX = `l2ltk${process.pid}`;

function option(name: string, fallback: number, zeroOk = false): number {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const v = Number(arg.slice(name.length + 3));
  if (!Number.isFinite(v) || v < 0 || (v === 0 && !zeroOk)) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(arg)}`);
  return v;
}

async function main(): Promise<void> {
  const missing = ['ip', 'kubectl', 'arping', 'ping', 'bash', 'nft', 'stress-ng'].filter((t) => !have(t));
  if (!isRoot() || missing.length > 0 || !speakerHasRun()) {
    console.log(`SKIPPED: the soak ${!isRoot() ? 'needs root' : missing.length ? `needs ${missing.join(', ')}` : 'needs an l2lb-speaker with a run command'}`);
    return;
  }
  const mode =
    process.argv
      .slice(2)
      .find((a) => a.startsWith('--stress='))
      ?.slice('--stress='.length) ?? 'shared-quota';
  if (mode !== 'neighbour' && mode !== 'shared-quota') throw new Error(`--stress must be neighbour or shared-quota, got ${mode}`);
  const logsArg = process.argv
    .slice(2)
    .find((a) => a.startsWith('--keep-logs='))
    ?.slice('--keep-logs='.length);
  const profileArg =
    process.argv
      .slice(2)
      .find((a) => a.startsWith('--profile='))
      ?.slice('--profile='.length) ?? 'fast';
  if (profileArg !== 'fast' && profileArg !== 'lan') throw new Error(`--profile must be fast or lan, got ${profileArg}`);
  const r = await runSoak({
    prefix: PREFIX,
    nodes: 5,
    mlProfile: profileArg as MlProfile,
    seconds: option('seconds', 600),
    lossPercent: option('loss', 5, true),
    stressedNodes: option('stressed', 2, true),
    stressCpuShare: option('cpu-share', mode === 'neighbour' ? 0.5 : 0.4),
    stressPeriodMs: option('period-ms', 100),
    stressMode: mode,
    say: (l) => console.log(l),
    ...(logsArg ? { keepLogsIn: logsArg } : {}),
  });
  for (const line of soakReport(r)) console.log(line);
  const misses = [
    ...(r.macChanges.length > 0 ? [`${r.macChanges.length} changes of the VIP's MAC (target 0)`] : []),
    ...(r.falseDeaths.length > 0 ? [`${r.falseDeaths.length} memberlist false deaths (target 0)`] : []),
  ];
  console.log(misses.length > 0 ? `TARGET MISSED: ${misses.join(', ')}` : 'target met: 0 MAC changes, 0 false deaths');
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void down({ prefix: PREFIX }).finally(() => {
      NodeStress.cleanup(PREFIX);
      process.exit(130);
    });
  });
}

main().catch(async (e: unknown) => {
  console.error(`soak bench failed: ${errorText(e)}`);
  await down({ prefix: PREFIX }).catch(() => undefined);
  NodeStress.cleanup(PREFIX);
  process.exitCode = 1;
});
