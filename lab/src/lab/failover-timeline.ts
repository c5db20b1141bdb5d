// What happened during one failover, step by step, from the speakers' logs and the client's neighbour
// events: when each survivor's memberlist dropped the dead node, who was elected and sent the gratuitous
// burst, when the client's entry followed. A slow failover is then a question of which gap is long.
// Pure: the caller reads the logs and the events.
import type { NeighEvent } from './failover.js';
import { parseJsonObject } from './status.js';

export interface TimelineEntry {
  /** Epoch ms. */
  atMs: number;
  /** The node whose speaker logged it, or "client". */
  who: string;
  what: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? v.map(String).join(',') : v === undefined ? '' : JSON.stringify(v));

/** The step a speaker log object stands for, or undefined when it is not one a failover is made of. */
function step(o: Record<string, unknown>): string | undefined {
  switch (o['message']) {
    case 'starting':
      return 'speaker process starting';
    case 'informers synced':
      return 'informers synced';
    case 'memberlist started':
      return 'memberlist started';
    case 'memberlist join attempt':
      return `memberlist join attempt (contacted ${str(o['contacted'])})`;
    case 'start-up hold over, evaluating Services':
      return `start-up hold over (${str(o['why'])}; members ${str(o['members'])})`;
    case 'memberlist':
      return `memberlist ${str(o['event'])} ${str(o['member'])}`;
    case 'announcing':
      return `elected for ${str(o['service'])} (order ${str(o['order'])})`;
    case 'announcing IP':
      return `gratuitous burst for ${str(o['ip'])} on ${str(o['interfaces'])}`;
    case 're-announcing after a member joined':
      return `re-announcing ${str(o['ips'])} (a member joined)`;
    case 'withdrawn':
      return `withdrew ${str(o['ips'])} (${str(o['reason'])})`;
    default:
      return undefined;
  }
}

/** The failover steps in one speaker's log (JSON lines), attributed to `node`, at or after sinceMs. */
export function speakerSteps(logText: string, node: string, sinceMs: number): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const line of logText.split('\n')) {
    const o = parseJsonObject(line);
    if (!o) continue;
    const atMs = typeof o['timestamp'] === 'string' ? Date.parse(o['timestamp']) : NaN;
    const what = step(o);
    if (!Number.isFinite(atMs) || atMs < sinceMs || what === undefined) continue;
    out.push({ atMs, who: node, what });
  }
  return out;
}

/** The client's neighbour events for the VIP, with the MACs named by node where known. */
export function clientSteps(events: readonly NeighEvent[], vip: string, nodeOfMac: (mac: string) => string | undefined, sinceMs: number): TimelineEntry[] {
  return events
    .filter((e) => e.ip === vip && e.atMs >= sinceMs)
    .map((e) => {
      const owner = e.mac ? nodeOfMac(e.mac) : undefined;
      const mac = e.mac ? ` ${e.mac}${owner ? ` (${owner})` : ''}` : '';
      return { atMs: e.atMs, who: 'client', what: `${e.deleted ? 'neighbour entry deleted' : 'neighbour entry'}${mac} ${e.state}` };
    });
}

export interface FailoverGaps {
  /** ms from the kill until the first survivor's memberlist dropped the dead node. */
  detectedMs?: number;
  /** ms from the kill until a survivor logged being elected for the Service. */
  electedMs?: number;
  /** ms from the kill until the elected node started its gratuitous burst for the VIP. */
  burstMs?: number;
}

/** The kill-relative times of the three speaker-side steps (the client's move is measured separately). */
export function failoverGaps(entries: readonly TimelineEntry[], deadNode: string, service: string, vip: string, killedAtMs: number): FailoverGaps {
  const after = entries.filter((e) => e.atMs >= killedAtMs && e.who !== 'client').sort((a, b) => a.atMs - b.atMs);
  const first = (pred: (e: TimelineEntry) => boolean): number | undefined => {
    const e = after.find(pred);
    return e ? e.atMs - killedAtMs : undefined;
  };
  const detectedMs = first((e) => e.what === `memberlist leave ${deadNode}`);
  const electedMs = first((e) => e.what.startsWith(`elected for ${service} `));
  const burstMs = first((e) => e.what.startsWith(`gratuitous burst for ${vip} `));
  return {
    ...(detectedMs !== undefined ? { detectedMs } : {}),
    ...(electedMs !== undefined ? { electedMs } : {}),
    ...(burstMs !== undefined ? { burstMs } : {}),
  };
}

/** The entries in time order, as lines `+1234 ms  n2  memberlist leave n1` relative to the kill. */
export function formatTimeline(entries: readonly TimelineEntry[], killedAtMs: number, indent = '    '): string {
  const rows = [...entries].sort((a, b) => a.atMs - b.atMs);
  const width = Math.max(6, ...rows.map((r) => r.who.length));
  return rows
    .map((r) => {
      const d = r.atMs - killedAtMs;
      return `${indent}${`${d >= 0 ? '+' : ''}${d} ms`.padStart(10)}  ${r.who.padEnd(width)}  ${r.what}`;
    })
    .join('\n');
}

/** "dead +180 ms, elected +181 ms, burst +182 ms" ("?" where the log had no such line). */
export function gapsText(g: FailoverGaps): string {
  const t = (v: number | undefined): string => (v === undefined ? '?' : `+${v} ms`);
  return `dead ${t(g.detectedMs)}, elected ${t(g.electedMs)}, burst ${t(g.burstMs)}`;
}
