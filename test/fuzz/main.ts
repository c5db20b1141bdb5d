// One fuzz target in this process: `node test/dist/fuzz/main.js TARGET [--count N] [--seed S] [--start I]
// [--max-seconds T] [--hang-ms M] [--json]`; `--replay I` runs input I alone and prints it. Exit 1 on findings.
import { apiserverTarget } from './targets/apiserver.js';
import { configTarget } from './targets/config.js';
import { kubeObjectsTarget } from './targets/kube-objects.js';
import { l2Target } from './targets/l2.js';
import { packetTarget, streamTarget } from './targets/memberlist.js';
import { nativeReflexTarget } from './targets/native.js';
import { Rng, inputSeed, runTarget, type FuzzTarget } from './harness.js';

export const TARGETS: (() => FuzzTarget<never>)[] = [
  () => packetTarget(false) as FuzzTarget<never>,
  () => packetTarget(true) as FuzzTarget<never>,
  () => streamTarget(false) as FuzzTarget<never>,
  () => streamTarget(true) as FuzzTarget<never>,
  () => l2Target as FuzzTarget<never>,
  () => nativeReflexTarget() as FuzzTarget<never>,
  () => configTarget as FuzzTarget<never>,
  () => kubeObjectsTarget as FuzzTarget<never>,
  () => apiserverTarget() as FuzzTarget<never>,
];

/** Per-target default seeds: fixed so that a plain `npm run fuzz` is reproducible. */
const DEFAULT_SEED = 0x6c326c62; // "l2lb"

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function main(args: string[]): number {
  const targets = TARGETS.map((t) => t());
  if (args[0] === '--list') {
    for (const t of targets) console.log(`${t.name}\t${t.description}`);
    return 0;
  }
  const target = targets.find((t) => t.name === args[0]);
  if (!target) {
    console.error(`unknown fuzz target "${args[0] ?? ''}"; targets: ${targets.map((t) => t.name).join(', ')}`);
    return 2;
  }
  const seed = Number(arg(args, '--seed') ?? DEFAULT_SEED) >>> 0;
  const replay = arg(args, '--replay');
  if (replay !== undefined) {
    const index = Number(replay);
    const input = target.generate(new Rng(inputSeed(seed, index)));
    console.log(`input ${index} of ${target.name} seed ${seed}:\n${target.show(input)}`);
    target.execute(input); // throws with the stack when it is a crash
    console.log('ran without an exception');
    return 0;
  }
  const count = Number(arg(args, '--count') ?? 1_000_000);
  const summary = runTarget(target, {
    seed,
    count,
    start: Number(arg(args, '--start') ?? 0),
    maxSeconds: Number(arg(args, '--max-seconds') ?? 1800),
    hangMs: Number(arg(args, '--hang-ms') ?? 50),
    trace: args.includes('--trace'),
    progress: args.includes('--quiet')
      ? undefined
      : (done, s) => {
          if (done % 262144 === 0) process.stderr.write(`  ${target.name}: ${done} inputs, ${s.toFixed(0)} s\n`);
        },
  });
  for (const f of summary.findings) {
    console.log(
      `FINDING ${f.kind} at input ${f.index} (${f.ms.toFixed(2)} ms): replay with --seed ${seed} --replay ${f.index}\n  ${f.message.split('\n').slice(0, 6).join('\n  ')}\n  input: ${f.input.slice(0, 600)}`,
    );
  }
  const line = {
    target: summary.target,
    seed: `0x${summary.seed.toString(16)}`,
    inputs: summary.inputs,
    seconds: Number(summary.seconds.toFixed(1)),
    inputsPerSecond: Math.round(summary.inputs / summary.seconds),
    maxInputMs: Number(summary.maxInputMs.toFixed(2)),
    maxRawInputMs: Number(summary.maxRawInputMs.toFixed(2)),
    maxRawInputIndex: summary.maxInputIndex,
    p999InputMs: summary.p999InputMs,
    rssPeakMiB: Number(summary.rssPeakMiB.toFixed(0)),
    heapPeakMiB: Number(summary.heapPeakMiB.toFixed(0)),
    crashes: summary.crashes,
    hangs: summary.hangs,
    stoppedByTime: summary.stoppedByTime,
  };
  console.log(`RESULT ${JSON.stringify(line)}`);
  return summary.crashes + summary.hangs > 0 || summary.stoppedByTime ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
