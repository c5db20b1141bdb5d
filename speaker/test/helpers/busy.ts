// The busy-speaker measurement (issue 14 item 1), shared by `npm run bench -- busy` and its shortened
// integration test. In network namespaces (prefix l2bz<pid>-, removed at the end): the embedded API
// server with N LoadBalancer Services and its own load (busy-apiserver-main), one `l2lb-speaker run`
// (n1, its event loop watched from inside: busy-speaker-main), two memberlist agents n2 and n3 with
// the same `fast` profile (they report every suspicion and death of n1), and a client that measures
// memberlist ack and ARP reply times of n1 against references answered at the same moments: an idle
// agent (n2) for acks, the kernel (n2's own address) for ARP. Root only.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpeakerCluster, cleanupStalePrefix } from './cluster.js';
import { busyServiceIp, busyWonBy } from './busy-plan.js';
import { imageEnv, imageNodeFlags } from './image-flags.js';
import { run, type JsonLine, type NsProcess } from './netns.js';
import { waitFor } from './wait.js';

const API_MAIN = fileURLToPath(new URL('./busy-apiserver-main.js', import.meta.url));
const SPEAKER_MAIN = fileURLToPath(new URL('./busy-speaker-main.js', import.meta.url));
const IDLE_SPEAKER_MAIN = fileURLToPath(new URL('./idle-speaker-main.js', import.meta.url));
const PINGER_MAIN = fileURLToPath(new URL('./ml-pinger-main.js', import.meta.url));
const AGENT = fileURLToPath(new URL('../../../../memberlist/bin/l2lb-memberlist.js', import.meta.url));
const PROBER_SRC = fileURLToPath(new URL('../../../../native/bench/arp-prober.c', import.meta.url));

const ADDR = { cp: '10.213.0.2', n1: '10.213.0.11', n2: '10.213.0.12', n3: '10.213.0.13', cl: '10.213.0.30' } as const;
const MAC = { cp: '02:13:00:00:00:02', n1: '02:13:00:00:01:01', n2: '02:13:00:00:01:02', n3: '02:13:00:00:01:03', cl: '02:13:00:00:00:30' } as const;
const PEERS = ['n2', 'n3'] as const;
const MEMBERS = ['n1', ...PEERS];

export interface BusyOptions {
  seconds: number;
  services: number;
  /** Node objects: n1..n3 plus Kubernetes-only nodes. */
  nodes: number;
  churnPerSec: number;
  relistMs: number;
  nodeUpdatesPerSec: number;
  /** Extra `l2lb-speaker run` arguments. */
  speakerArgs?: string[];
  /** During the measurement, spin the speaker's main thread for `ms` of every `everyMs` (busy-speaker-main --block). */
  block?: { ms: number; everyMs: number };
  /** Node options for the speaker process (before L2LB_BUSY_NODE_ARGS); default: the image's (Dockerfile.speaker). */
  nodeArgs?: string[];
  /** Environment added to the speaker process; default: the image's final-stage ENV (Dockerfile.speaker). */
  env?: Record<string, string>;
  /**
   * The speaker gets only `env` and PATH, as in its container, not this process's environment: a host's
   * NODE_OPTIONS or NODE_EXTRA_CA_CERTS (about 1.5 MB of RSS for a CA bundle) would change its memory.
   */
  envOnly?: boolean;
  /** The speaker's main module (default busy-speaker-main, which watches its event loop). */
  speakerMain?: string;
  log?: (line: string) => void;
}

export interface Distribution {
  n: number;
  lost: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  blocks: Record<string, number>;
  worst: { atMs: number; ms: number }[];
}

export interface BusyResult {
  loop: LoopDelay;
  /** Per peer: deaths (leave, reason dead) and suspicions of n1 during the load. */
  falseDeaths: Record<string, number>;
  suspicions: Record<string, number>;
  acks: { speaker: Distribution; reference: Distribution };
  /** kernel: n2's kernel (an idle node); n1Kernel: the busy speaker's own node kernel, the same path as the VIP's replies. */
  arp: { speaker: Distribution; kernel: Distribution; n1Kernel: Distribution };
  load: { seconds: number; serviceUpdates: number; nodeUpdates: number; labelFlips: number; relists: number; errors: number };
  announced: number;
  startupMs: number;
}

/** Compiles a C bench tool from native/bench into the cache when its source is newer. */
function compileProber(): string {
  const dir = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'l2lb', 'bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'arp-prober');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(PROBER_SRC).mtimeMs) run('cc', ['-O2', '-Wall', '-o', out, PROBER_SRC]);
  return out;
}

export function distribution(samples: readonly number[], lost: number): Distribution {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => (s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor((s.length - 1) * q))] as number));
  return { n: s.length, lost, p50: at(0.5), p99: at(0.99), max: s.length === 0 ? NaN : (s[s.length - 1] as number) };
}

function lastLine(p: NsProcess, event: string): JsonLine | undefined {
  for (let i = p.lines.length - 1; i >= 0; i--) if (p.lines[i]?.event === event || p.lines[i]?.['ev'] === event) return p.lines[i];
  return undefined;
}

async function exited(p: NsProcess, timeoutMs: number, what: string): Promise<void> {
  await waitFor(() => p.exited !== undefined, { timeoutMs, intervalMs: 100, what });
}

interface Started {
  c: SpeakerCluster;
  api: NsProcess;
  speaker: NsProcess;
  agents: Map<string, NsProcess>;
  won: number[];
  announcing: () => number;
  startupMs: number;
}

/** The cluster of the measurement, up: API server seeded, agents n2 and n3, speaker n1 announcing every VIP it wins. */
async function withBusyCluster<T>(o: BusyOptions, measure: (s: Started) => Promise<T>): Promise<T> {
  const log = o.log ?? ((): void => undefined);
  cleanupStalePrefix('l2bz');
  const c = new SpeakerCluster({
    prefix: 'l2bz',
    kind: 'b',
    hosts: Object.fromEntries(Object.entries(ADDR).map(([role, ip]) => [role, { mac: MAC[role as keyof typeof MAC], v4: `${ip}/24` }])),
  });
  try {
    const api = c.startProcess('api', 'cp', process.execPath, [
      API_MAIN,
      ADDR.cp,
      '6443',
      c.kubeconfig,
      String(o.services),
      String(o.nodes),
      String(o.churnPerSec),
      String(o.relistMs),
      String(o.nodeUpdatesPerSec),
      String(o.seconds),
    ]);
    const seeded = await waitFor(
      () =>
        api.exited === undefined
          ? lastLine(api, 'seeded')
          : (() => {
              throw new Error(`API server exited: ${api.stderr.join('')}`);
            })(),
      { timeoutMs: 300_000, intervalMs: 100, what: `the API server to hold ${o.services} Services` },
    );
    log(`API server seeded with ${o.services} Services, ${o.services} EndpointSlices, ${o.nodes} Nodes in ${String(seeded['ms'])} ms`);

    const agents = new Map<string, NsProcess>();
    for (const [k, peer] of PEERS.entries()) {
      const join = k === 0 ? [] : ['--join', `${ADDR.n2}:7946`];
      agents.set(
        peer,
        c.startProcess(peer, peer, process.execPath, [
          AGENT,
          'agent',
          '--name',
          peer,
          '--bind',
          ADDR[peer],
          '--port',
          '7946',
          '--secret',
          c.secret,
          '--profile',
          'fast',
          '--members-interval',
          '0',
          ...join,
        ]),
      );
    }
    for (const [peer, a] of agents) await waitFor(() => lastLine(a, 'start'), { timeoutMs: 15_000, what: `agent ${peer} to start` });

    const startedAt = Date.now();
    // L2LB_BUSY_NODE_ARGS: node options for the speaker (e.g. --cpu-prof --cpu-prof-dir=DIR to see what blocks).
    // The speaker runs as its image runs it (node flags and environment), so the figures are the shipped process's.
    const nodeArgs = [...(o.nodeArgs ?? imageNodeFlags()), ...(process.env['L2LB_BUSY_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '')];
    const env = Object.entries(o.env ?? imageEnv()).map(([k, v]) => `${k}=${v}`);
    log(`speaker n1: env ${o.envOnly ? 'only ' : ''}${env.join(' ') || '(none added)'}, node ${nodeArgs.join(' ')}`);
    const speaker = c.startProcess('n1', 'n1', 'env', [
      ...(o.envOnly ? ['-i', `PATH=${process.env['PATH'] ?? '/usr/bin:/bin'}`] : []),
      ...env,
      process.execPath,
      ...nodeArgs,
      o.speakerMain ?? SPEAKER_MAIN,
      ...(o.block ? ['--block', `${o.block.ms}/${o.block.everyMs}`] : []),
      '--node-name',
      'n1',
      '--namespace',
      'l2lb-system',
      '--kubeconfig',
      c.kubeconfig,
      '--ml-bind-addr',
      ADDR.n1,
      '--ml-join',
      `${ADDR.n2},${ADDR.n3}`,
      '--ml-labels',
      '',
      '--ml-secret-key-path',
      `${c.dir}/ml`,
      '--metrics-port',
      '0',
      '--ml-profile',
      'fast',
      ...(o.speakerArgs ?? []),
    ]);
    const won = busyWonBy('n1', MEMBERS, o.services);
    const announcing = (): number => speaker.lines.filter((l) => l['message'] === 'announcing').length;
    await waitFor(
      () => {
        if (speaker.exited !== undefined) throw new Error(`speaker exited ${String(speaker.exited)}: ${speaker.stderr.join('').slice(-2000)}`);
        return (
          announcing() >= won.length &&
          [...agents.values()].every((a) => a.lines.some((l) => l['ev'] === 'join' && (l['node'] as { name?: string } | undefined)?.name === 'n1'))
        );
      },
      { timeoutMs: 300_000, intervalMs: 200, what: `speaker n1 to join and announce its ${won.length} VIPs` },
    );
    const startupMs = Date.now() - startedAt;
    log(`speaker n1 joined n2, n3 and announces ${announcing()} VIPs (${startupMs} ms after start)`);

    const result = await measure({ c, api, speaker, agents, won, announcing, startupMs });
    await speaker.stop(15_000); // time to leave memberlist and to write a --cpu-prof profile
    return result;
  } catch (e) {
    c.dump();
    throw e;
  } finally {
    await c.destroy();
  }
}

export async function runBusy(o: BusyOptions): Promise<BusyResult> {
  const log = o.log ?? ((): void => undefined);
  const prober = compileProber();
  return withBusyCluster(o, async ({ c, api, speaker, agents, won, announcing, startupMs }) => {
    // The measurement window: load on, probes on, loop statistics from zero.
    const vip = busyServiceIp(won[0] as number);
    const t0 = Date.now();
    speaker.child.kill('SIGUSR2');
    api.child.kill('SIGUSR1');
    const arpIntervalMs = 20;
    const arpCount = String(Math.max(10, Math.floor((o.seconds * 1000) / (arpIntervalMs + 1))));
    const pinger = c.startProcess('pinger', 'cl', process.execPath, [
      PINGER_MAIN,
      ADDR.cl,
      c.secret,
      String(o.seconds),
      '40',
      `${ADDR.n1}:7946`,
      `${ADDR.n2}:7946`,
    ]);
    // Source addresses no host has: only the answers to these requests are addressed to them.
    const arpArgs = [arpCount, String(arpIntervalMs * 1000), '1000', String(o.seconds)];
    const arpVip = c.startProcess('arp-vip', 'cl', prober, ['latency', 'eth0', '10.213.0.31', vip, ...arpArgs]);
    const arpKernel = c.startProcess('arp-kernel', 'cl', prober, ['latency', 'eth0', '10.213.0.32', ADDR.n2, ...arpArgs]);
    const arpN1Kernel = c.startProcess('arp-n1-kernel', 'cl', prober, ['latency', 'eth0', '10.213.0.33', ADDR.n1, ...arpArgs]);
    log(
      `load on for ${o.seconds} s: ${o.churnPerSec} Service updates/s, a forced relist every ${o.relistMs} ms, ${o.nodeUpdatesPerSec} Node updates/s; probing ${vip} (ARP) and n1's memberlist port`,
    );
    const window = o.seconds * 1000 + 60_000; // the probers stop after o.seconds, plus one deadline
    await Promise.all([
      exited(pinger, window, 'the memberlist pinger'),
      exited(arpVip, window, 'the ARP prober (VIP)'),
      exited(arpKernel, window, 'the ARP prober (kernel)'),
      exited(arpN1Kernel, window, "the ARP prober (n1's kernel)"),
    ]);
    const load = await waitFor(() => lastLine(api, 'load'), { timeoutMs: 30_000, what: 'the API server load summary' });
    // The speaker prints its loop figures (since t0) every 2 s; take one that covers the whole window.
    const loop = await waitFor(
      () => {
        const l = lastLine(speaker, 'loopdelay');
        return l && Number(l['receivedAt']) >= t0 + o.seconds * 1000 ? l : undefined;
      },
      { timeoutMs: 10_000, what: 'the speaker loop-delay figures' },
    );
    const t1 = Date.now();
    // The network thread logs when it could not run for > 100 ms (at most one line per 10 s, with a count).
    const heldLines = speaker.lines.filter((x) => x['component'] === 'network-thread' && Number(x['receivedAt']) >= t0 && Number(x['receivedAt']) <= t1);
    for (const l of heldLines) log(`speaker n1: ${String(l['message'])} (${Number(l['sinceLastLine'])} such hold-ups since its previous line)`);

    const about = (l: JsonLine): boolean =>
      (l['node'] as { name?: string } | undefined)?.name === 'n1' && Number(l['receivedAt']) >= t0 && Number(l['receivedAt']) <= t1;
    const falseDeaths: Record<string, number> = {};
    const suspicions: Record<string, number> = {};
    for (const [peer, a] of agents) {
      for (const l of a.lines.filter((x) => x['ev'] === 'leave' && about(x))) log(`${peer} saw n1 leave (${String(l['reason'])}) at ${String(l['ts'])}`);
      falseDeaths[peer] = a.lines.filter((l) => l['ev'] === 'leave' && about(l)).length;
      suspicions[peer] = a.lines.filter((l) => l['ev'] === 'suspect' && about(l)).length;
    }
    const pings = lastLine(pinger, 'pings')?.['targets'] as
      { target: string; rtts: number[]; lost: number; slow?: { sentAt: string; ms: number }[] }[] | undefined;
    for (const t of pings ?? [])
      if (t.slow?.length) log(`acks over 100 ms from ${t.target}: ${t.slow.map((x) => `${x.sentAt.slice(11, 23)} ${x.ms} ms`).join(', ')}`);
    const ackOf = (ip: string): Distribution => {
      const t = pings?.find((p) => p.target.startsWith(`${ip}:`));
      return t ? distribution(t.rtts, t.lost) : distribution([], NaN);
    };
    const arpOf = (p: NsProcess): Distribution => {
      const r = (p.lines.find((l) => typeof l['sent'] === 'number') ?? {}) as { sent?: number; received?: number; samples_us?: number[] };
      return distribution(
        (r.samples_us ?? []).map((us) => us / 1000),
        (r.sent ?? NaN) - (r.received ?? NaN),
      );
    };
    return {
      loop: {
        p50Ms: Number(loop['p50Ms']),
        p99Ms: Number(loop['p99Ms']),
        maxMs: Number(loop['maxMs']),
        blocks: loop['blocks'] as Record<string, number>,
        worst: loop['worst'] as { atMs: number; ms: number }[],
      },
      falseDeaths,
      suspicions,
      acks: { speaker: ackOf(ADDR.n1), reference: ackOf(ADDR.n2) },
      arp: { speaker: arpOf(arpVip), kernel: arpOf(arpKernel), n1Kernel: arpOf(arpN1Kernel) },
      load: load as unknown as BusyResult['load'],
      announced: announcing(),
      startupMs,
    };
  });
}

export interface IdleResult {
  services: number;
  announced: number;
  /** VmRSS sampled every second over the idle window: median and max (MB). */
  rssMb: number;
  rssMaxMb: number;
  /** VmHWM: the most the process ever had resident, start-up included (MB). */
  peakMb: number;
  /** At the end: anonymous memory (heaps) and file pages (mostly the node binary, shared with every node process). */
  anonMb: number;
  fileMb: number;
  /** The speaker's own process.memoryUsage() and V8 heap spaces at the end: where the RSS goes. */
  memory: MemoryBreakdown | undefined;
  cpuPct: number;
  startupMs: number;
  /** CPU seconds the speaker used from its start until it announced every VIP it wins. */
  startupCpuS: number;
  /** From announcing everything until idle (the measurement window's start). */
  settledAfterMs: number;
}

export interface MemoryBreakdown {
  heapTotalMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  /** V8 heap space name → [size, used] MB. */
  spaces: Record<string, [number, number]>;
}

const mb = (bytes: unknown): number => Number(bytes) / 1048576;

/**
 * RSS and CPU of speaker n1 (`l2lb-speaker run` as shipped, with a memory line: idle-speaker-main) with
 * `services` Services (a third of them announced by n1) and no load, over `seconds`.
 */
export async function runIdleSpeaker(o: { services: number; seconds: number; nodeArgs?: string[]; log?: (line: string) => void }): Promise<IdleResult> {
  const opts: BusyOptions = {
    seconds: o.seconds,
    services: o.services,
    nodes: 50,
    churnPerSec: 0,
    relistMs: 0,
    nodeUpdatesPerSec: 0,
    speakerMain: IDLE_SPEAKER_MAIN,
    envOnly: true,
    ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}),
    ...(o.log ? { log: o.log } : {}),
  };
  return withBusyCluster(opts, async ({ speaker, announcing, startupMs }) => {
    const pid = speaker.child.pid ?? NaN;
    const startupCpuS = cpuTicks(pid) / 100;
    // Settled: the first gratuitous bursts (5 x 1.1 s) are over, the work that follows announcing
    // (ServiceL2Status objects for every announced VIP: minutes at 10 000) has ended, i.e. the speaker
    // used under 30 % of a core in each of 3 seconds in a row, and the memory that start-up work took has
    // been given back: V8's memory reducer does that with up to 3 GCs about 8 s apart once allocation
    // slows, so RSS must not have fallen by more than 1 MB over the last 20 s (two of those GCs; 10 s let
    // the window start on a plateau between them: 85 then 77 MB at 1 000 VIPs).
    const settleStart = performance.now();
    const perSecond: number[] = [];
    const rssPerSecond: number[] = [];
    for (let last = cpuTicks(pid); ;) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = cpuTicks(pid);
      perSecond.push(now - last); // 1/100 s per second: % of a core
      rssPerSecond.push(statusKb(pid, 'VmRSS') / 1024);
      last = now;
      const quiet = perSecond.length >= 3 && perSecond.slice(-3).every((t) => t < 30);
      const lastTwenty = rssPerSecond.slice(-21);
      const memorySettled = lastTwenty.length === 21 && Math.max(...lastTwenty) - (lastTwenty[20] ?? NaN) <= 1;
      if (quiet && memorySettled) break;
      if (performance.now() - settleStart > 600_000)
        throw new Error(
          `speaker n1 not idle 10 minutes after announcing (% of a core per second: ${perSecond.slice(-10).join(' ')}; ` +
            `RSS MB: ${lastTwenty.map((x) => x.toFixed(1)).join(' ')})`,
        );
    }
    const settledAfterMs = performance.now() - settleStart;
    const c0 = cpuTicks(pid);
    const t0 = performance.now();
    const samples: number[] = [];
    while (performance.now() - t0 < o.seconds * 1000) {
      samples.push(statusKb(pid, 'VmRSS') / 1024);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const cpuPct = ((cpuTicks(pid) - c0) / 100 / ((performance.now() - t0) / 1000)) * 100;
    samples.sort((a, b) => a - b);
    const m = lastLine(speaker, 'memory');
    const memory: MemoryBreakdown | undefined = m && {
      heapTotalMb: mb(m['heapTotal']),
      heapUsedMb: mb(m['heapUsed']),
      externalMb: mb(m['external']),
      arrayBuffersMb: mb(m['arrayBuffers']),
      spaces: Object.fromEntries(Object.entries((m['spaces'] ?? {}) as Record<string, [number, number]>).map(([k, [size, used]]) => [k, [mb(size), mb(used)]])),
    };
    return {
      services: o.services,
      announced: announcing(),
      rssMb: samples[Math.floor((samples.length - 1) / 2)] ?? NaN,
      rssMaxMb: samples[samples.length - 1] ?? NaN,
      peakMb: statusKb(pid, 'VmHWM') / 1024,
      anonMb: statusKb(pid, 'RssAnon') / 1024,
      fileMb: statusKb(pid, 'RssFile') / 1024,
      memory,
      cpuPct,
      startupMs,
      startupCpuS,
      settledAfterMs,
    };
  });
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in 1/100 s
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

/** The figures as printed by the bench and the test. */
export function describeBusy(r: BusyResult): string[] {
  const d = (x: Distribution): string => `p50 ${f1(x.p50)} ms, p99 ${f1(x.p99)} ms, max ${f1(x.max)} ms (${x.n} answered, ${x.lost} lost or > deadline)`;
  return [
    `load: ${r.load.serviceUpdates} Service updates (${f1(r.load.serviceUpdates / r.load.seconds)}/s), ${r.load.relists} forced relists, ${r.load.nodeUpdates} Node updates (${r.load.labelFlips} label changes) in ${f1(r.load.seconds)} s`,
    `speaker event-loop delay: p50 ${f1(r.loop.p50Ms)} ms, p99 ${f1(r.loop.p99Ms)} ms, max ${f1(r.loop.maxMs)} ms; blocks > 20 ms: ${r.loop.blocks['20'] ?? 0}, > 50 ms: ${r.loop.blocks['50'] ?? 0}, > 150 ms: ${r.loop.blocks['150'] ?? 0}; worst ${JSON.stringify(r.loop.worst.slice(0, 5))}`,
    `false deaths of n1: ${Object.entries(r.falseDeaths)
      .map(([p, n]) => `${p} ${n}`)
      .join(', ')}; suspicions: ${Object.entries(r.suspicions)
      .map(([p, n]) => `${p} ${n}`)
      .join(', ')}`,
    `memberlist ack RTT, speaker n1: ${d(r.acks.speaker)}`,
    `memberlist ack RTT, idle agent n2 (reference, same moments): ${d(r.acks.reference)}`,
    `ARP reply, speaker n1 VIP: ${d(r.arp.speaker)}`,
    `ARP reply, kernel of n2 (reference, same moments): ${d(r.arp.kernel)}`,
    `ARP reply, kernel of n1 (the busy node's own kernel: same wire and CPU as the VIP's replies): ${d(r.arp.n1Kernel)}`,
  ];
}
