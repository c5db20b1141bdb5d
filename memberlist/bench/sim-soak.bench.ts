// The lab soak in the simulated network (sim-soak.ts), for tuning the `fast` profile: 5 members, 5 %
// loss each way on every node's link, 2 members CPU-stalled (a 0.4-core cgroup quota shared with a
// spinning stress-ng, plus occasional 200-300 ms stalls; the harsh variant: more of them, up to 400 ms).
// Prints false deaths per minute and failure-detection times (a member killed: until every survivor
// declared it dead, p50/max) for the `fast` before this tuning, every candidate, and today's FAST.
// Then the same soak at larger sizes (--sizes, default 50; 250 takes ~3 min of wall per seed-minute):
// a few members stalled by the same model, false deaths and episodes per minute and detection under
// the soak, for Go's suspicion growth with size (the `fast` before the size rule) and today's FAST.
// Virtual time: the figures do not depend on this machine's load.
//   npm run bench -- sim-soak [--seeds 10] [--seconds 60] [--trials 20] [--candidates false]
//                             [--sizes 50,250] [--size-seeds 5] [--size-stalled 5] [--size-trials 5]
import { parseArgs } from 'node:util';
import { FAST, type Timings } from '../src/config.js';
import { detectionTrial, simulateSoak, type SoakOptions } from '../src/sim-soak.js';
import { HARSH_STALLS, SOAK_STALLS, type StallModel } from '../src/sim-stall.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '60' },
    trials: { type: 'string', default: '20' },
    candidates: { type: 'string', default: 'true' },
    sizes: { type: 'string', default: '50' },
    'size-seeds': { type: 'string', default: '5' },
    'size-stalled': { type: 'string', default: '5' },
    'size-trials': { type: 'string', default: '5' },
  },
});
const SEEDS = Number(values.seeds);
const SECONDS = Number(values.seconds);
const TRIALS = Number(values.trials);
const SIZES = values.sizes
  .split(',')
  .filter((x) => x !== '' && x !== 'none')
  .map(Number);
const SIZE_SEEDS = Number(values['size-seeds']);
const SIZE_STALLED = Number(values['size-stalled']);
const SIZE_TRIALS = Number(values['size-trials']);
const TARGETS = { falseDeaths: 0, detectP50Ms: 500, detectMaxMs: 1000 };

type Candidate = [label: string, timings: Partial<Timings>];
/** The `fast` profile before this tuning: k = 0, one fixed 160 ms suspicion window. */
const BEFORE: Partial<Timings> = { probeIntervalMs: 80, probeTimeoutMs: 30, suspicionMult: 2, suspicionMaxTimeoutMult: 1 };
const CURRENT: Partial<Timings> = {
  probeIntervalMs: FAST.probeIntervalMs,
  probeTimeoutMs: FAST.probeTimeoutMs,
  suspicionMult: FAST.suspicionMult,
  suspicionMaxTimeoutMult: FAST.suspicionMaxTimeoutMult,
};
const CANDIDATES: Candidate[] = [
  ['mult 3, max x3', { ...BEFORE, suspicionMult: 3, suspicionMaxTimeoutMult: 3 }],
  ['mult 4, max x3', { ...BEFORE, suspicionMult: 4, suspicionMaxTimeoutMult: 3 }],
  ['mult 4, max x6', { ...BEFORE, suspicionMult: 4, suspicionMaxTimeoutMult: 6 }],
  ['mult 5, max x3', { ...BEFORE, suspicionMult: 5, suspicionMaxTimeoutMult: 3 }],
  ['mult 5, max x4', { ...BEFORE, suspicionMult: 5, suspicionMaxTimeoutMult: 4 }],
  ['mult 4, max x3, probe timeout 50', { ...BEFORE, suspicionMult: 4, suspicionMaxTimeoutMult: 3, probeTimeoutMs: 50 }],
  ['mult 4, max x3, probe 100 ms', { ...BEFORE, suspicionMult: 4, suspicionMaxTimeoutMult: 3, probeIntervalMs: 100 }],
];

const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
};
const base = (timings: Partial<Timings>, stalls: StallModel, seed: number): SoakOptions => ({ members: 5, stalled: 2, stalls, linkLoss: 0.05, timings, seed });

interface Row {
  falseDeathsPerMin: number;
  harshPerMin: number;
  deadS: number;
  quiet5: number[];
  soak5: number[];
}

function soakRate(timings: Partial<Timings>, stalls: StallModel): { perMin: number; deadS: number } {
  let deaths = 0;
  let deadMs = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = simulateSoak(base(timings, stalls, seed), SECONDS);
    deaths += r.falseDeaths;
    deadMs += r.deadMs;
  }
  return { perMin: deaths / ((SEEDS * SECONDS) / 60), deadS: deadMs / 1000 };
}

function detection(timings: Partial<Timings>, members: number, soak: boolean): number[] {
  const out: number[] = [];
  for (let t = 1; t <= TRIALS; t++) {
    const o: SoakOptions = { ...base(timings, SOAK_STALLS, 10_000 + t), members, stalled: soak ? 2 : 0, linkLoss: soak ? 0.05 : 0 };
    out.push(detectionTrial(o) ?? 60_000);
  }
  return out;
}

function row(timings: Partial<Timings>): Row {
  const soak = soakRate(timings, SOAK_STALLS);
  const harsh = soakRate(timings, HARSH_STALLS);
  return {
    falseDeathsPerMin: soak.perMin,
    harshPerMin: harsh.perMin,
    deadS: soak.deadS,
    quiet5: detection(timings, 5, false),
    soak5: detection(timings, 5, true),
  };
}

const pm = (xs: number[]): string => `${pct(xs, 0.5).toFixed(0)}/${Math.max(...xs).toFixed(0)}`;
console.log(
  `simulated soak: 5 members, 5 % loss each way on every link, 2 stalled (quota: ${SOAK_STALLS.throttleMinMs}-${SOAK_STALLS.throttleMaxMs} ms of every ${SOAK_STALLS.periodMs} ms; ` +
    `${SOAK_STALLS.longPerMinute}/min of ${SOAK_STALLS.longMinMs}-${SOAK_STALLS.longMaxMs} ms; harsh: ${HARSH_STALLS.longPerMinute}/min of ${HARSH_STALLS.longMinMs}-${HARSH_STALLS.longMaxMs} ms), ${SEEDS} seeds x ${SECONDS} s;` +
    ` detection over ${TRIALS} kills`,
);
console.log("timings                               false deaths/min (soak / harsh)  dead in someone's view (soak, s)  detect ms p50/max quiet  under soak");
const print = (label: string, r: Row): void =>
  console.log(
    `${label.padEnd(37)} ${`${r.falseDeathsPerMin.toFixed(2)} / ${r.harshPerMin.toFixed(2)}`.padStart(31)}  ${r.deadS.toFixed(1).padStart(32)}  ${pm(r.quiet5).padStart(23)}  ${pm(r.soak5).padStart(10)}`,
  );
const t0 = performance.now();
print('before (mult 2, max x1: k = 0)', row(BEFORE));
if (values.candidates !== 'false') for (const [label, timings] of CANDIDATES) print(label, row(timings));
const now = row(CURRENT);
print(`FAST now (mult ${FAST.suspicionMult}, max x${FAST.suspicionMaxTimeoutMult})`, now);

console.log('\nFAST now, detection on a quiet network (p50/max ms, every survivor):');
const bySize: Array<[number, number[]]> = [2, 3, 5, 10].map((n) => [n, n === 5 ? now.quiet5 : detection(CURRENT, n, false)]);
for (const [n, xs] of bySize) console.log(`  ${String(n).padStart(2)} members: ${pm(xs)}`);
console.log(`(wall ${((performance.now() - t0) / 1000).toFixed(0)} s)`);

const check = (ok: boolean, text: string): void => console.log(ok ? `target met: ${text}` : `TARGET MISSED: ${text}`);
check(now.falseDeathsPerMin <= TARGETS.falseDeaths, `FAST false deaths in the simulated soak ${now.falseDeathsPerMin.toFixed(2)}/min (target 0)`);
check(now.harshPerMin <= TARGETS.falseDeaths, `FAST false deaths in the harsh soak ${now.harshPerMin.toFixed(2)}/min (target 0)`);
check(
  pct(now.quiet5, 0.5) <= TARGETS.detectP50Ms,
  `FAST detection p50 at 5 members ${pct(now.quiet5, 0.5).toFixed(0)} ms (target <= ${TARGETS.detectP50Ms} ms)`,
);
for (const [n, xs] of bySize)
  check(Math.max(...xs) <= TARGETS.detectMaxMs, `FAST detection max at ${n} members ${Math.max(...xs).toFixed(0)} ms (target <= ${TARGETS.detectMaxMs} ms)`);
check(
  Math.max(...now.soak5) <= TARGETS.detectMaxMs,
  `FAST detection max at 5 members under the soak ${Math.max(...now.soak5).toFixed(0)} ms (target <= ${TARGETS.detectMaxMs} ms)`,
);

// ---- larger clusters -----------------------------------------------------------------------------
/** FAST as it was before the size rule: Go's log10(n) growth of the suspicion window. */
const GO_GROWTH: Partial<Timings> = { ...CURRENT, suspicionGrowthPct: 100 };
const NOW_SIZED: Partial<Timings> = { ...CURRENT, suspicionGrowthPct: FAST.suspicionGrowthPct };

interface SizeRow {
  perMin: number;
  episodesPerMin: number;
  ofStalledPerMin: number;
  harshPerMin: number;
  harshEpisodesPerMin: number;
  harshOfStalledPerMin: number;
  detect: number[];
}

function sizeRow(members: number, timings: Partial<Timings>): SizeRow {
  const stalledNames = new Set(Array.from({ length: SIZE_STALLED }, (_, i) => `m${i}`));
  const rate = (stalls: StallModel): { perMin: number; episodesPerMin: number; ofStalledPerMin: number } => {
    let deaths = 0;
    let episodes = 0;
    let ofStalled = 0;
    for (let seed = 1; seed <= SIZE_SEEDS; seed++) {
      const r = simulateSoak({ members, stalled: SIZE_STALLED, stalls, linkLoss: 0.05, timings, seed }, SECONDS);
      deaths += r.falseDeaths;
      episodes += r.episodes;
      ofStalled += r.deaths.filter((d) => stalledNames.has(d.node)).length;
    }
    const minutes = (SIZE_SEEDS * SECONDS) / 60;
    return { perMin: deaths / minutes, episodesPerMin: episodes / minutes, ofStalledPerMin: ofStalled / minutes };
  };
  const soak = rate(SOAK_STALLS);
  const harsh = rate(HARSH_STALLS);
  const detect: number[] = [];
  for (let t = 1; t <= SIZE_TRIALS; t++) {
    const o: SoakOptions = { members, stalled: SIZE_STALLED, stalls: SOAK_STALLS, linkLoss: 0.05, timings, seed: 10_000 + t };
    detect.push(detectionTrial(o) ?? 60_000);
  }
  return {
    perMin: soak.perMin,
    episodesPerMin: soak.episodesPerMin,
    ofStalledPerMin: soak.ofStalledPerMin,
    harshPerMin: harsh.perMin,
    harshEpisodesPerMin: harsh.episodesPerMin,
    harshOfStalledPerMin: harsh.ofStalledPerMin,
    detect,
  };
}

if (SIZES.length > 0) {
  console.log(
    `\nlarger clusters: the same soak with ${SIZE_STALLED} members stalled, ${SIZE_SEEDS} seeds x ${SECONDS} s; detection under the soak over ${SIZE_TRIALS} kills.` +
      ' false deaths = observer declarations; episodes = a live member going from dead in nobody\'s view to dead in someone\'s; "of stalled" = false deaths of the stalled members',
  );
  console.log('members  suspicion growth            false deaths/min soak (episodes, of stalled)  harsh (episodes, of stalled)  detect ms p50/max under soak');
  const f2 = (x: number): string => x.toFixed(2);
  for (const members of SIZES) {
    for (const [label, timings] of [
      [`Go's log10 n (100 %)`, GO_GROWTH],
      [`FAST now (${FAST.suspicionGrowthPct} %)`, NOW_SIZED],
    ] as Array<[string, Partial<Timings>]>) {
      const r = sizeRow(members, timings);
      console.log(
        `${String(members).padStart(7)}  ${label.padEnd(26)}  ${`${f2(r.perMin)} (${f2(r.episodesPerMin)}, ${f2(r.ofStalledPerMin)})`.padStart(44)}  ` +
          `${`${f2(r.harshPerMin)} (${f2(r.harshEpisodesPerMin)}, ${f2(r.harshOfStalledPerMin)})`.padStart(28)}  ${pm(r.detect).padStart(29)}`,
      );
    }
  }
  console.log(`(wall ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
