// `l2lb-speaker run` with its event loop watched from inside the same process: the measurement of
// how long Kubernetes work keeps the loop (and so memberlist and the ARP reflex) from running.
// Arguments are `l2lb-speaker run`'s. Every 2 s prints one JSON line on stdout:
//   {"event":"loopdelay","sinceMs":...,"p50Ms","p99Ms","maxMs","blocks":{"20":n,"50":n,"150":n},"worst":[{atMs,ms}...]}
// with figures since the last SIGUSR2 (SIGUSR2 resets: the measurement starts after start-up).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { runCommand } from '../../src/run/process.js';

const RESOLUTION_MS = 5;
const TICK_MS = 5;
const THRESHOLDS = [20, 50, 150] as const;

const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();
let since = Date.now();
let blocks: Record<string, number> = {};
let worst: { atMs: number; ms: number }[] = [];
const reset = (): void => {
  histogram.reset();
  since = Date.now();
  blocks = Object.fromEntries(THRESHOLDS.map((t) => [String(t), 0]));
  worst = [];
};
reset();

// A tick every TICK_MS: a gap longer than that is time the loop could not run anything.
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  const gap = now - last - TICK_MS;
  last = now;
  for (const t of THRESHOLDS) if (gap > t) blocks[String(t)] = (blocks[String(t)] ?? 0) + 1;
  if (gap > THRESHOLDS[0]) {
    worst.push({ atMs: Date.now() - since, ms: Math.round(gap) });
    worst.sort((a, b) => b.ms - a.ms);
    worst.length = Math.min(worst.length, 10);
  }
}, TICK_MS).unref();

const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
setInterval(() => {
  process.stdout.write(
    `${JSON.stringify({
      event: 'loopdelay',
      sinceMs: Date.now() - since,
      samples: histogram.count,
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
      blocks,
      worst,
    })}\n`,
  );
}, 2000).unref();
process.on('SIGUSR2', reset);

process.exit(await runCommand(process.argv.slice(2)));
