// Failover as the client sees it, in a 3-node lab: time from killing the VIP's owner (SIGKILL of its
// speaker + link down) until the client's neighbour entry for the VIP holds another node's MAC.
// Measured for l2lb's default memberlist timings (--ml-profile fast) and, as the reference in the
// same run, for MetalLB's (hashicorp/memberlist DefaultLANConfig, --ml-profile lan).
// Needs root; prints SKIPPED otherwise. Target: l2lb p50 < 1 s.
import { writeFileSync } from 'node:fs';
import { errorText } from '@l2lb/shared/log';
import { failoverSvg, type FailoverKill } from '../src/lab/failover-svg.js';
import { apply, down, killNode, kubectl, phasesOnNode, reviveNode, speakerHasRun, up } from '../src/lab/lab.js';
import { measureFailover, percentile, waitSettled } from '../src/lab/failover.js';
import type { MlProfile } from '../src/lab/plan.js';
import { endpointSlice, ingressIp, lbService, poolConfigMap } from '../src/lab/scenario.js';
import { have, isRoot, waitFor, staleLabPrefixes } from '../src/lab/sys.js';

const KILLS = Number(process.env['L2LB_BENCH_KILLS'] ?? 5);
const TARGET_P50_MS = 1000;
const PREFIX = `l2ltb${process.pid}`;

async function cleanupStale(): Promise<void> {
  for (const p of staleLabPrefixes('l2ltb')) await down({ prefix: p });
}

interface ProfileResult {
  ms: number[];
  detected: number[];
  announced: number[];
  missed: number;
  kills: FailoverKill[];
}
/** Where the picture goes (L2LB_BENCH_SVG, default failover.svg in the working directory). */
const SVG_PATH = process.env['L2LB_BENCH_SVG'] ?? 'failover.svg';

async function runProfile(profile: MlProfile): Promise<ProfileResult> {
  const plan = await up({ prefix: PREFIX, nodes: 3, mlProfile: profile, timeoutMs: 60_000 });
  const ms: number[] = [];
  const detected: number[] = [];
  const announced: number[] = [];
  const kills: FailoverKill[] = [];
  let missed = 0;
  try {
    apply(plan, [poolConfigMap(plan), lbService('web'), endpointSlice(plan, 'web')]);
    const vip = await waitFor(() => ingressIp(kubectl(plan, ['get', 'svc', 'web', '-o', 'json'], { allowFail: true })), { timeoutMs: 15_000, intervalMs: 200 });
    if (!vip) throw new Error('no IP assigned to default/web');
    for (let i = 0; i < KILLS; i++) {
      if (!(await waitSettled(plan, 'default/web', vip, 30_000))) throw new Error(`lab did not settle before kill ${i + 1}`);
      const r = await measureFailover(plan, vip, async (n) => (await killNode(plan, n.name)).killedAtMs, 30_000);
      if (r.ms === undefined) missed++;
      else ms.push(r.ms);
      const ph = r.to ? await phasesOnNode(plan, r.to.name, r.from.name, 'default/web', r.killedAtMs) : {};
      if (ph.detectedMs !== undefined) detected.push(ph.detectedMs);
      if (ph.announcedMs !== undefined) announced.push(ph.announcedMs);
      kills.push({ from: r.from.name, ...(r.to ? { to: r.to.name } : {}), ...(r.ms !== undefined ? { clientMs: r.ms } : {}), ...ph });
      console.log(
        `  ${profile} kill ${i + 1}: ${r.from.name} -> ${r.to?.name ?? 'nobody'}: ${r.ms === undefined ? 'no failover within 30 s' : `${r.ms} ms`}` +
          ` (declared dead +${ph.detectedMs ?? '?'} ms, announcing +${ph.announcedMs ?? '?'} ms)`,
      );
      await reviveNode(plan, r.from.name, profile);
    }
  } finally {
    await down({ prefix: PREFIX });
  }
  return { ms, detected, announced, missed, kills };
}

async function main(): Promise<void> {
  const missing = ['ip', 'kubectl', 'arping', 'ping', 'bash'].filter((t) => !have(t));
  if (!isRoot() || missing.length > 0 || !speakerHasRun()) {
    console.log(
      `SKIPPED: the failover benchmark ${!isRoot() ? 'needs root' : missing.length ? `needs ${missing.join(', ')}` : 'needs an l2lb-speaker with a run command'}`,
    );
    return;
  }
  await cleanupStale();
  console.log(`failover as the client sees it: 3-node lab, ${KILLS} kills of the VIP owner per profile (SIGKILL + link down)`);
  const empty = (): ProfileResult => ({ ms: [], detected: [], announced: [], missed: 0, kills: [] });
  const results: Record<MlProfile, ProfileResult> = { fast: empty(), lan: empty() };
  for (const profile of ['fast', 'lan'] as const) results[profile] = await runProfile(profile);
  const row = (label: string, r: ProfileResult): string =>
    `${label.padEnd(46)} p50 ${String(percentile(r.ms, 50)).padStart(6)} ms   max ${String(Math.max(...r.ms)).padStart(6)} ms   n=${r.ms.length}${r.missed ? `  (${r.missed} never failed over)` : ''}` +
    `   [declared dead p50 ${percentile(r.detected, 50)} ms, announcing p50 ${percentile(r.announced, 50)} ms]`;
  console.log('');
  console.log(row('l2lb (--ml-profile fast, the default)', results.fast));
  console.log(row('reference: MetalLB timings (--ml-profile lan)', results.lan));
  writeFileSync(
    SVG_PATH,
    failoverSvg(`l2lb failover, 3-node lab, ${KILLS} kills per profile`, [
      { label: 'l2lb (--ml-profile fast)', kills: results.fast.kills },
      { label: 'MetalLB timings (--ml-profile lan)', kills: results.lan.kills },
    ]),
  );
  console.log(`picture: ${SVG_PATH}`);
  const fastP50 = percentile(results.fast.ms, 50);
  const lanP50 = percentile(results.lan.ms, 50);
  console.log(`ratio (reference p50 / l2lb p50): ${(lanP50 / fastP50).toFixed(1)}x`);
  if (!(fastP50 < TARGET_P50_MS) || results.fast.missed > 0) {
    console.log(
      `TARGET MISSED: l2lb p50 ${fastP50} ms (target < ${TARGET_P50_MS} ms)${results.fast.missed ? `, ${results.fast.missed} kills without failover` : ''}`,
    );
  } else {
    console.log(`target met: l2lb p50 ${fastP50} ms < ${TARGET_P50_MS} ms`);
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void down({ prefix: PREFIX }).finally(() => process.exit(130));
  });
}

main().catch(async (e: unknown) => {
  console.error(`failover bench failed: ${errorText(e)}`);
  await down({ prefix: PREFIX }).catch(() => undefined);
  process.exitCode = 1;
});
