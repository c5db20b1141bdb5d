// Failover as the client sees it: who answers ARP for a VIP, and how long after a node dies the
// client's neighbour entry for the VIP points at another node's MAC.
import { spawn, type ChildProcess } from 'node:child_process';
import { labStatus } from './lab.js';
import { findNode, nodeByMac, type LabPlan, type NodePlan } from './plan.js';
import { run, runAsync, waitFor } from './sys.js';

export interface NeighEvent {
  /** When the kernel reported it (ip -ts timestamp, epoch ms), else when we read it. */
  atMs: number;
  ip: string;
  mac?: string;
  state: string;
  deleted: boolean;
}

/** Parses one `ip -ts monitor neigh` line, or undefined when it is not a neighbour event. */
export function parseNeighEvent(line: string, receivedAtMs: number): NeighEvent | undefined {
  let rest = line.trim();
  let atMs = receivedAtMs;
  const ts = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?\]\s*/.exec(rest);
  if (ts) {
    // ip prints local time without an offset; Date parses such a string as local time too.
    const ms = Date.parse(`${ts[1]}.${(ts[2] ?? '0').padEnd(3, '0').slice(0, 3)}`);
    if (Number.isFinite(ms)) atMs = ms;
    rest = rest.slice(ts[0].length);
  }
  let deleted = false;
  if (rest.startsWith('Deleted ')) {
    deleted = true;
    rest = rest.slice('Deleted '.length);
  }
  const words = rest.split(/\s+/).filter((w) => w !== '');
  const ip = words[0];
  if (!ip || !/^[0-9a-f:.]+$/i.test(ip) || !words.includes('dev')) return undefined;
  const ll = words.indexOf('lladdr');
  const mac = ll >= 0 ? words[ll + 1]?.toLowerCase() : undefined;
  return { atMs, ip, state: words[words.length - 1] ?? '', deleted, ...(mac ? { mac } : {}) };
}

const SYNC_IP = '10.213.0.254';
const SYNC_MAC = '02:13:00:00:ff:fe';

/** A running `ip -ts monitor neigh` in a namespace, collecting events. */
export class NeighWatch {
  readonly events: NeighEvent[] = [];
  private waiters: (() => void)[] = [];
  private constructor(private readonly child: ChildProcess) {
    let buf = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const ev = parseNeighEvent(buf.slice(0, nl), Date.now());
        buf = buf.slice(nl + 1);
        if (ev) this.events.push(ev);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Starts the monitor and returns once it provably receives events (a marker entry is seen). */
  static async start(ns: string, timeoutMs = 5000): Promise<NeighWatch> {
    const child = spawn('ip', ['-n', ns, '-ts', 'monitor', 'neigh'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env } });
    const w = new NeighWatch(child);
    let attempt = 0;
    const seen = await waitFor(
      async () => {
        // A replace that changes nothing reports nothing: alternate the MAC so every attempt is an event.
        const m = `${SYNC_MAC.slice(0, -1)}${attempt++ % 2 === 0 ? 'e' : 'd'}`;
        await runAsync('ip', ['-n', ns, 'neigh', 'replace', SYNC_IP, 'lladdr', m, 'dev', 'eth0', 'nud', 'permanent'], { allowFail: true });
        return w.events.some((e) => e.ip === SYNC_IP);
      },
      { timeoutMs, intervalMs: 50 },
    );
    await runAsync('ip', ['-n', ns, 'neigh', 'del', SYNC_IP, 'dev', 'eth0'], { allowFail: true });
    if (!seen) {
      w.stop();
      throw new Error(`ip monitor neigh in ${ns} reported nothing within ${timeoutMs} ms`);
    }
    return w;
  }

  /** The first event (already seen or future) matching pred, or undefined at the deadline. */
  async next(pred: (e: NeighEvent) => boolean, timeoutMs: number): Promise<NeighEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

export interface ArpReply {
  mac: string;
  node?: NodePlan;
}

/** Every distinct MAC that answers ARP for the VIP from the client (arping, up to `count` requests). */
let iputilsArping: boolean | undefined;

/** Debian's `arping` is Thomas Habets' (-i IFACE); iputils' arping (-I IFACE) works too. */
function arpingArgs(count: number, deadlineS: number, vip: string): string[] {
  if (iputilsArping === undefined) {
    const help = run('arping', ['-h'], { allowFail: true });
    iputilsArping = !/Habets/.test(`${help.stdout}${help.stderr}`) && /-I <?device|-I\s/.test(`${help.stdout}${help.stderr}`);
  }
  return iputilsArping
    ? ['arping', '-I', 'eth0', '-c', String(count), '-i', '0.2', '-w', String(deadlineS), vip]
    : ['arping', '-i', 'eth0', '-c', String(count), '-W', '0.2', '-w', String(deadlineS), vip];
}

/** MACs in arping output: Habets' "bytes from MAC (IP)" or iputils' "reply from IP [MAC]". */
export function arpingMacs(output: string): string[] {
  const macs = new Set<string>();
  for (const m of output.matchAll(/from ([0-9a-f]{2}(?::[0-9a-f]{2}){5})|\[([0-9a-f]{2}(?::[0-9a-f]{2}){5})\]/gi)) {
    const mac = m[1] ?? m[2];
    if (mac) macs.add(mac.toLowerCase());
  }
  return [...macs];
}

export async function arpingFromClient(plan: LabPlan, vip: string, opts: { count?: number; deadlineS?: number } = {}): Promise<ArpReply[]> {
  const deadlineS = opts.deadlineS ?? 2;
  const r = await runAsync('ip', ['netns', 'exec', plan.client.ns, ...arpingArgs(opts.count ?? 1, deadlineS, vip)], {
    allowFail: true,
    timeoutMs: (deadlineS + 3) * 1000,
  });
  const macs = arpingMacs(r.stdout);
  return macs.map((mac) => {
    const node = nodeByMac(plan, mac);
    return { mac, ...(node ? { node } : {}) };
  });
}

/** Waits until exactly one MAC answers ARP for the VIP; returns it. */
export async function waitSingleOwner(plan: LabPlan, vip: string, timeoutMs: number): Promise<ArpReply | undefined> {
  const r = await waitFor(
    async () => {
      const replies = await arpingFromClient(plan, vip, { count: 2, deadlineS: 1 });
      return replies.length === 1 ? replies[0] : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return r;
}

/**
 * Waits until every speaker is up and sees all members, exactly one node announces `service`, and
 * exactly one MAC answers ARP for the VIP (the state to measure a failover from).
 */
export async function waitSettled(plan: LabPlan, service: string, vip: string, timeoutMs: number): Promise<boolean> {
  const ok = await waitFor(
    async () => {
      const s = await labStatus(plan);
      const allMembers = s.nodes.every((n) => n.speaker === 'up' && n.members.length === plan.nodes.length);
      const one = s.services.find((x) => x.service === service)?.announcedBy.length === 1;
      return allMembers && one && (await waitSingleOwner(plan, vip, 2000)) !== undefined;
    },
    { timeoutMs, intervalMs: 300 },
  );
  return ok === true;
}

/** The client's neighbour entry for an IP (lladdr and state), if any. */
export function clientNeigh(plan: LabPlan, ipAddr: string): { mac?: string; state: string } | undefined {
  const out = run('ip', ['-n', plan.client.ns, 'neigh', 'show', ipAddr, 'dev', 'eth0'], { allowFail: true }).stdout.trim();
  if (!out) return undefined;
  const words = out.split(/\s+/);
  const ll = words.indexOf('lladdr');
  const mac = ll >= 0 ? words[ll + 1]?.toLowerCase() : undefined;
  return { state: words[words.length - 1] ?? '', ...(mac ? { mac } : {}) };
}

/**
 * Makes the client's kernel resolve the VIP (one ping; nothing answers it since no node holds the
 * address, but ARP does), so its neighbour table holds the current owner's MAC. Returns that MAC.
 */
export async function primeClient(plan: LabPlan, vip: string, timeoutMs = 3000): Promise<string | undefined> {
  return waitFor(
    async () => {
      await runAsync('ip', ['netns', 'exec', plan.client.ns, 'ping', '-c', '1', '-W', '0.3', vip], { allowFail: true, timeoutMs: 3000 });
      return clientNeigh(plan, vip)?.mac;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

export interface FailoverResult {
  vip: string;
  from: NodePlan;
  to?: NodePlan;
  toMac?: string;
  killedAtMs: number;
  /** ms from the kill until the client's entry for the VIP held another MAC; undefined if it never did. */
  ms?: number;
  /** The client's neighbour events seen until then (for a timeline of the failover). */
  neigh: NeighEvent[];
}

/**
 * Kills the VIP's current owner (via `kill`, which returns when it was killed) and measures until
 * the client's neighbour entry for the VIP changes to another MAC.
 */
export async function measureFailover(plan: LabPlan, vip: string, kill: (node: NodePlan) => Promise<number>, timeoutMs: number): Promise<FailoverResult> {
  const owner = await waitSingleOwner(plan, vip, 10_000);
  if (!owner?.node) throw new Error(`no single lab node answers ARP for ${vip}${owner ? ` (answer from ${owner.mac})` : ''}`);
  const from = owner.node;
  const primed = await primeClient(plan, vip);
  if (primed !== from.mac) throw new Error(`client's neighbour entry for ${vip} is ${primed ?? 'missing'}, expected ${from.mac} (${from.name})`);
  const watch = await NeighWatch.start(plan.client.ns);
  try {
    const killedAtMs = await kill(from);
    const ev = await watch.next((e) => e.ip === vip && !e.deleted && e.mac !== undefined && e.mac !== from.mac && e.atMs >= killedAtMs - 5, timeoutMs);
    const neigh = [...watch.events];
    if (!ev?.mac) return { vip, from, killedAtMs, neigh };
    const to = nodeByMac(plan, ev.mac) ?? findNode(plan, '');
    return { vip, from, killedAtMs, ms: Math.max(0, ev.atMs - killedAtMs), toMac: ev.mac, neigh, ...(to ? { to } : {}) };
  } finally {
    watch.stop();
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx] ?? NaN;
}
