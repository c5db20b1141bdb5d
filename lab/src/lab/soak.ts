// The soak: a lab left running under packet loss on every node's link and CPU pressure on some nodes,
// counting what must not happen: the client's entry for the VIP changing MAC (a false failover) and a
// speaker declaring a live peer dead (a memberlist false death). Used by the soak test (60 s) and
// `npm run bench -- soak` (10 min).
import { spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeStress, lossDropped, removeLoss, startLoss, type StressMode } from './chaos.js';
import { NeighWatch, waitSettled, waitSingleOwner } from './failover.js';
import { apply, down, kubectl, logFile, readPid, up } from './lab.js';
import { METRICS_PORT, nodeByMac, type LabPlan, type MlProfile, type NodePlan } from './plan.js';
import { endpointSlice, ingressIp, lbService, poolConfigMap } from './scenario.js';
import { alive, nsHttpGet, sleep, waitFor } from './sys.js';

export interface SoakOptions {
  prefix: string;
  nodes: number;
  mlProfile: MlProfile;
  seconds: number;
  lossPercent: number;
  /** How many nodes get CPU pressure (the VIP's owner first, then the next ones). */
  stressedNodes: number;
  /** CPU share of one core each stressed node gets in all (speaker + stress-ng), and the quota period. */
  stressCpuShare: number;
  stressPeriodMs: number;
  stressMode: StressMode;
  say?: (line: string) => void;
  /** Copy the lab's logs here before tearing it down (to study what happened). */
  keepLogsIn?: string;
}

export interface MemberlistChange {
  node: string;
  event: string;
  member: string;
  atMs: number;
}

export interface SoakResult {
  vip: string;
  owner: string;
  stressed: string[];
  seconds: number;
  /** Each time the client's entry for the VIP got a MAC other than the one before. */
  macChanges: { atMs: number; from: string; to: string; toNode?: string }[];
  /** memberlist `leave` events of live peers, as each speaker logged them (every one is false: nothing was killed). */
  falseDeaths: MemberlistChange[];
  /** `announcing` / `withdrawn` log lines for the Service during the soak, per node. */
  announcementChanges: { node: string; message: string; atMs: number }[];
  droppedFrames: number;
  throttling: { node: string; periods: number; throttled: number; throttledMs: number }[];
  /** Each speaker's event-loop delay over the soak (prom-client's histogram, reset at the start): max and p99, ms. */
  loopDelay: { node: string; maxMs: number; p99Ms: number }[];
  /** Whether exactly one node answered ARP for the VIP at the end, and which. */
  finalOwner?: string;
}

interface LogLine {
  message?: unknown;
  event?: unknown;
  member?: unknown;
  service?: unknown;
  timestamp?: unknown;
}

/** memberlist leave events and the Service's announcement changes in a speaker log between two times. Pure. */
export function soakLogEvents(
  node: string,
  logText: string,
  service: string,
  fromMs: number,
  toMs: number,
): { leaves: MemberlistChange[]; announcements: { node: string; message: string; atMs: number }[] } {
  const leaves: MemberlistChange[] = [];
  const announcements: { node: string; message: string; atMs: number }[] = [];
  for (const line of logText.split('\n')) {
    if (!line.startsWith('{')) continue;
    let o: LogLine;
    try {
      o = JSON.parse(line) as LogLine;
    } catch {
      continue;
    }
    const at = typeof o.timestamp === 'string' ? Date.parse(o.timestamp) : NaN;
    if (!Number.isFinite(at) || at < fromMs || at > toMs) continue;
    if (o.message === 'memberlist' && o.event === 'leave' && typeof o.member === 'string') leaves.push({ node, event: 'leave', member: o.member, atMs: at });
    if ((o.message === 'announcing' || o.message === 'withdrawn') && o.service === service) announcements.push({ node, message: o.message, atMs: at });
  }
  return { leaves, announcements };
}

/** Scrapes a speaker's event-loop delay gauges (which prom-client resets at every scrape). */
async function loopDelay(node: NodePlan): Promise<{ node: string; maxMs: number; p99Ms: number }> {
  const m = await nsHttpGet(node.ns, node.ip, METRICS_PORT, '/metrics', 3000);
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(m?.body ?? '')?.[1] ?? NaN) * 1000;
  return { node: node.name, maxMs: read('nodejs_eventloop_lag_max_seconds'), p99Ms: read('nodejs_eventloop_lag_p99_seconds') };
}

/** Keeps the client's neighbour entry for the VIP in use (so a gratuitous ARP from a new owner would show). */
function startClientTraffic(plan: LabPlan, vip: string): () => void {
  const child = spawn('ip', ['netns', 'exec', plan.client.ns, 'ping', '-q', '-i', '0.2', vip], { stdio: 'ignore' });
  return () => child.kill('SIGTERM');
}

/** Builds the lab, runs the soak, tears the lab down (also on failure). */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const say = o.say ?? (() => undefined);
  NodeStress.cleanup(o.prefix);
  const plan = await up({ prefix: o.prefix, nodes: o.nodes, mlProfile: o.mlProfile, timeoutMs: 180_000 });
  const stresses: NodeStress[] = [];
  let stopTraffic: (() => void) | undefined;
  let watch: NeighWatch | undefined;
  try {
    apply(plan, [poolConfigMap(plan), lbService('web'), endpointSlice(plan, 'web')]);
    const vip = await waitFor(() => ingressIp(kubectl(plan, ['get', 'svc', 'web', '-o', 'json'], { allowFail: true })), { timeoutMs: 30_000, intervalMs: 200 });
    if (!vip) throw new Error('no IP assigned to default/web');
    if (!(await waitSettled(plan, 'default/web', vip, 60_000))) throw new Error('the lab did not settle (all members seen, one announcer, one ARP answer)');
    const ownerReply = await waitSingleOwner(plan, vip, 10_000);
    const owner = ownerReply?.node;
    if (!owner) throw new Error(`no single lab node answers ARP for ${vip}`);
    const stressedNodes: NodePlan[] = [owner, ...plan.nodes.filter((n) => n !== owner)].slice(0, o.stressedNodes);

    stopTraffic = startClientTraffic(plan, vip);
    watch = await NeighWatch.start(plan.client.ns);
    for (const n of plan.nodes) startLoss(n, o.lossPercent);
    for (const n of stressedNodes) {
      stresses.push(NodeStress.start(plan, n, { mode: o.stressMode, cpu: 0, cpuShare: o.stressCpuShare, periodMs: o.stressPeriodMs, seconds: o.seconds + 30 }));
    }
    await Promise.all(plan.nodes.map(loopDelay)); // resets the histograms: what follows covers the soak only
    const t0 = Date.now();
    say(
      `soak: ${o.nodes} nodes (${o.mlProfile}), ${o.lossPercent} % loss each way on every node's link, CPU pressure on ${stressedNodes.map((n) => n.name).join(', ')}` +
        ` (${o.stressMode === 'neighbour' ? `stress-ng on the speaker's CPU, capped at ${o.stressCpuShare} core` : `speaker + stress-ng sharing a quota of ${o.stressCpuShare} core`},` +
        ` ${o.stressPeriodMs} ms period); VIP ${vip} on ${owner.name}; ${o.seconds} s`,
    );
    // The measurement window itself (not a wait for a condition): check now and then that the trouble still runs.
    const endAt = t0 + o.seconds * 1000;
    while (Date.now() < endAt) {
      await sleep(Math.min(10_000, endAt - Date.now()));
      const dead = plan.nodes.filter((n) => {
        const p = readPid(plan, n.name);
        return p === undefined || !alive(p);
      });
      if (dead.length > 0) throw new Error(`speaker(s) ${dead.map((n) => n.name).join(', ')} exited during the soak`);
      if (stresses.some((s) => !s.running)) throw new Error('stress-ng ended early');
      say(`  ${Math.round((Date.now() - t0) / 1000)} s: ${watch.events.filter((e) => e.ip === vip).length} neighbour events for the VIP so far`);
    }
    const t1 = Date.now();
    const delays = await Promise.all(plan.nodes.map(loopDelay));
    const throttling = stresses.map((s) => ({ node: s.node.name, ...s.throttling() }));
    const droppedFrames = plan.nodes.reduce((sum, n) => sum + lossDropped(n), 0);
    for (const s of stresses.splice(0)) await s.stop();
    for (const n of plan.nodes) removeLoss(n);
    stopTraffic();
    stopTraffic = undefined;

    const macChanges: SoakResult['macChanges'] = [];
    let last = owner.mac;
    for (const e of watch.events) {
      if (e.ip !== vip || e.deleted || e.mac === undefined || e.atMs < t0) continue;
      if (e.mac !== last) {
        const toNode = nodeByMac(plan, e.mac)?.name;
        macChanges.push({ atMs: e.atMs - t0, from: last, to: e.mac, ...(toNode ? { toNode } : {}) });
        last = e.mac;
      }
    }
    const falseDeaths: MemberlistChange[] = [];
    const announcementChanges: SoakResult['announcementChanges'] = [];
    for (const n of plan.nodes) {
      const ev = soakLogEvents(n.name, readFileSync(logFile(plan, n.name), 'utf8'), 'default/web', t0, t1);
      falseDeaths.push(...ev.leaves.map((x) => ({ ...x, atMs: x.atMs - t0 })));
      announcementChanges.push(...ev.announcements.map((x) => ({ ...x, atMs: x.atMs - t0 })));
    }
    const final = await waitSingleOwner(plan, vip, 10_000);
    return {
      vip,
      owner: owner.name,
      stressed: stressedNodes.map((n) => n.name),
      seconds: (t1 - t0) / 1000,
      macChanges,
      falseDeaths,
      announcementChanges,
      droppedFrames,
      throttling,
      loopDelay: delays,
      ...(final?.node ? { finalOwner: final.node.name } : {}),
    };
  } finally {
    watch?.stop();
    stopTraffic?.();
    for (const s of stresses) await s.stop().catch(() => undefined);
    if (o.keepLogsIn !== undefined) cpSync(join(plan.stateDir, 'logs'), o.keepLogsIn, { recursive: true });
    await down({ prefix: plan.prefix });
    NodeStress.cleanup(plan.prefix);
  }
}

/** The figures, one line each. */
export function soakReport(r: SoakResult): string[] {
  const thr = r.throttling
    .map((t) => `${t.node}'s cgroup throttled in ${t.throttled}/${t.periods} periods (${Math.round(t.throttledMs)} ms held back)`)
    .join('; ');
  return [
    `VIP ${r.vip} owned by ${r.owner}; CPU pressure on ${r.stressed.join(', ')}; ${r.seconds.toFixed(0)} s; ${r.droppedFrames} frames dropped by the loss rules`,
    `client: ${r.macChanges.length} changes of the VIP's MAC${r.macChanges.length ? ` (${r.macChanges.map((c) => `+${(c.atMs / 1000).toFixed(1)} s -> ${c.toNode ?? c.to}`).join(', ')})` : ''} (target 0)`,
    `memberlist false deaths: ${r.falseDeaths.length}${r.falseDeaths.length ? ` (${r.falseDeaths.map((d) => `${d.node} saw ${d.member} dead at +${(d.atMs / 1000).toFixed(1)} s`).join(', ')})` : ''} (target 0)` +
      `${r.falseDeaths.length ? `; of a stressed node ${r.falseDeaths.filter((d) => r.stressed.includes(d.member)).length}, seen by a stressed node ${r.falseDeaths.filter((d) => r.stressed.includes(d.node)).length}` : ''}`,
    `announcement changes for default/web: ${r.announcementChanges.length}${r.announcementChanges.length ? ` (${r.announcementChanges.map((a) => `${a.node} ${a.message} +${(a.atMs / 1000).toFixed(1)} s`).join(', ')})` : ''}`,
    `CPU pressure: ${thr}`,
    `speakers' event-loop delay over the soak: ${r.loopDelay.map((d) => `${d.node} max ${Math.round(d.maxMs)} ms / p99 ${Math.round(d.p99Ms)} ms`).join('; ')}`,
    `at the end: ${r.finalOwner ? `${r.finalOwner} alone answers ARP` : 'no single node answered ARP'}`,
  ];
}
