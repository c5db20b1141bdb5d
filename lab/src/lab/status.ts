// What `l2lb lab status` reports, derived (pure) from the speakers' log lines, the Services listed
// by the API and the client's neighbour table; and its text form.
import { table } from '../plugin/report.js';

/** The lab writes this line into a speaker's log before each start; state is read from the last one on. */
export const START_MARKER = 'l2lb-lab: speaker starting';

export interface SpeakerLogState {
  /** Services this speaker says it announces: "NS/NAME" -> IPs. */
  announcing: Map<string, string[]>;
  /** Memberlist members it has reported joining (and not leaving). */
  members: Set<string>;
  /** Lines that were not JSON objects (counted, not fatal). */
  unparsed: number;
}

/** A log line's JSON object, or undefined for anything else (text, arrays, broken JSON). */
export function parseJsonObject(line: string): Record<string, unknown> | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Reads a speaker log (winston JSON lines); only what follows the last start marker counts. */
export function parseSpeakerLog(text: string): SpeakerLogState {
  let state: SpeakerLogState = { announcing: new Map(), members: new Set(), unparsed: 0 };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const o = parseJsonObject(line);
    if (!o) {
      state.unparsed++;
      continue;
    }
    const msg = o['message'];
    if (msg === START_MARKER) {
      state = { announcing: new Map(), members: new Set(), unparsed: state.unparsed };
    } else if (msg === 'announcing' && typeof o['service'] === 'string') {
      state.announcing.set(o['service'], stringArray(o['ips']));
    } else if (msg === 'withdrawn' && typeof o['service'] === 'string') {
      state.announcing.delete(o['service']);
    } else if (msg === 'memberlist' && typeof o['member'] === 'string') {
      if (o['event'] === 'leave') state.members.delete(o['member']);
      else if (o['event'] === 'join' || o['event'] === 'update') state.members.add(o['member']);
    }
  }
  return state;
}

/**
 * The Services a speaker's /metrics says it announces: `l2lb_speaker_announced{service=..,ip=..} 1`
 * samples (value 0 or other metrics ignored). Undefined when the text has no such metric family at all.
 */
export function parseAnnouncedGauge(metrics: string): Map<string, string[]> | undefined {
  let family = false;
  const out = new Map<string, string[]>();
  for (const line of metrics.split('\n')) {
    if (line.startsWith('# TYPE l2lb_speaker_announced ')) family = true;
    const m = /^l2lb_speaker_announced\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    family = true;
    if (Number(m[2]) !== 1) continue;
    const labels = new Map<string, string>();
    for (const l of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.set(l[1] ?? '', l[2] ?? '');
    const svc = labels.get('service');
    if (!svc) continue;
    const ips = out.get(svc) ?? [];
    const ip = labels.get('ip');
    if (ip && !ips.includes(ip)) ips.push(ip);
    out.set(svc, ips);
  }
  return family ? out : undefined;
}

/** The value of an unlabelled gauge/counter sample in Prometheus text, if present. */
export function metricValue(metrics: string, name: string): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] === name) {
      const v = Number(m[2]);
      if (Number.isFinite(v)) return v;
    }
  }
  return undefined;
}

export interface ControlPlaneInput {
  apiserverUp: boolean;
  controllerReady: boolean;
  /** The controller's /metrics text, when it could be read. */
  controllerMetrics?: string;
  /**
   * The controller's ConfigurationState status (`result`, and its condition's message), when the metrics
   * cannot be read: in the real-Kubernetes lab the controller is a pod the lab's namespaces do not route to.
   */
  controllerConfigState?: { result: string; message?: string };
}

/** The configuration verdict: the controller's metrics first, else its ConfigurationState. */
function configVerdict(cp: ControlPlaneInput | undefined): LabStatus['controlPlane']['config'] {
  const m = cp?.controllerMetrics;
  if (m !== undefined) {
    const stale = metricValue(m, 'l2lb_controller_config_stale');
    const loaded = metricValue(m, 'l2lb_controller_config_loaded');
    if (stale === 1) return 'stale';
    if (loaded !== undefined) return loaded === 1 ? 'valid' : 'none';
  }
  const state = cp?.controllerConfigState;
  if (state?.result === 'Invalid') return 'stale';
  if (state?.result === 'Valid') return state.message?.startsWith('no configuration') ? 'none' : 'valid';
  return 'unknown';
}

export interface NeighEntry {
  ip: string;
  mac?: string;
  state: string;
}

/** Parses `ip neigh show` output lines ("IP dev IF lladdr MAC [router] STATE"). */
export function parseNeigh(text: string): NeighEntry[] {
  const out: NeighEntry[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const ip = words[0];
    if (!ip || words.length < 2) continue;
    const lladdr = words.indexOf('lladdr');
    const mac = lladdr >= 0 ? words[lladdr + 1] : undefined;
    const state = words[words.length - 1] ?? '';
    out.push({ ip, ...(mac ? { mac: mac.toLowerCase() } : {}), state });
  }
  return out;
}

export interface LbService {
  service: string;
  ips: string[];
}

/** LoadBalancer Services from a `kubectl get svc -A -o json` list; anything malformed is skipped. */
export function parseServiceList(json: string): LbService[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return [];
  }
  if (typeof v !== 'object' || v === null) return [];
  const items = (v as { items?: unknown }).items;
  if (!Array.isArray(items)) return [];
  const out: LbService[] = [];
  for (const item of items as unknown[]) {
    const o = item as { metadata?: { namespace?: unknown; name?: unknown }; spec?: { type?: unknown }; status?: { loadBalancer?: { ingress?: unknown } } };
    if (o?.spec?.type !== 'LoadBalancer') continue;
    const ns = o.metadata?.namespace;
    const name = o.metadata?.name;
    if (typeof ns !== 'string' || typeof name !== 'string') continue;
    const ingress = o.status?.loadBalancer?.ingress;
    const ips = Array.isArray(ingress) ? ingress.map((i: unknown) => (i as { ip?: unknown })?.ip).filter((x): x is string => typeof x === 'string') : [];
    out.push({ service: `${ns}/${name}`, ips });
  }
  return out.sort((a, b) => a.service.localeCompare(b.service));
}

export interface NodeInput {
  name: string;
  ip: string;
  mac: string;
  speakerRunning: boolean;
  healthy: boolean;
  linkUp: boolean;
  log: SpeakerLogState;
  /** What the speaker's /metrics gauge says it announces, when its metrics could be read. */
  announcedFromMetrics?: Map<string, string[]>;
}

export interface LabStatus {
  prefix: string;
  controlPlane: { apiserver: 'up' | 'down'; controller: 'ready' | 'not ready'; config: 'valid' | 'stale' | 'none' | 'unknown'; servicesPending?: number };
  nodes: {
    name: string;
    ip: string;
    mac: string;
    speaker: 'up' | 'down' | 'unhealthy';
    link: 'up' | 'down';
    members: string[];
    announcing: string[];
    announcingSource: 'metrics' | 'log';
  }[];
  services: { service: string; ips: string[]; announcedBy: string[]; clientSees: { ip: string; mac?: string; node?: string; state: string }[] }[];
  client: NeighEntry[];
}

/** Combines the inputs: a Service is announced by the running speakers whose log says so. */
export function buildStatus(prefix: string, nodes: NodeInput[], services: LbService[], neigh: NeighEntry[], cp?: ControlPlaneInput): LabStatus {
  const byMac = new Map(nodes.map((n) => [n.mac.toLowerCase(), n.name]));
  // The live gauge wins over the log when the speaker's metrics could be read.
  const announced = (n: NodeInput): Map<string, string[]> => (n.speakerRunning ? (n.announcedFromMetrics ?? n.log.announcing) : new Map());
  const m = cp?.controllerMetrics;
  const pending = m !== undefined ? metricValue(m, 'l2lb_controller_services_pending') : undefined;
  return {
    prefix,
    controlPlane: {
      apiserver: cp?.apiserverUp ? 'up' : 'down',
      controller: cp?.controllerReady ? 'ready' : 'not ready',
      config: configVerdict(cp),
      ...(pending !== undefined ? { servicesPending: pending } : {}),
    },
    nodes: nodes.map((n) => ({
      name: n.name,
      ip: n.ip,
      mac: n.mac,
      speaker: !n.speakerRunning ? 'down' : n.healthy ? 'up' : 'unhealthy',
      link: n.linkUp ? 'up' : 'down',
      members: n.speakerRunning ? [...n.log.members].sort() : [],
      announcing: [...announced(n).keys()].sort(),
      announcingSource: n.announcedFromMetrics && n.speakerRunning ? 'metrics' : 'log',
    })),
    services: services.map((s) => ({
      service: s.service,
      ips: s.ips,
      announcedBy: nodes.filter((n) => announced(n).has(s.service)).map((n) => n.name),
      clientSees: s.ips.map((ip) => {
        const e = neigh.find((x) => x.ip === ip);
        const node = e?.mac ? byMac.get(e.mac) : undefined;
        return { ip, state: e?.state ?? 'none', ...(e?.mac ? { mac: e.mac } : {}), ...(node ? { node } : {}) };
      }),
    })),
    client: neigh,
  };
}

export function formatStatus(s: LabStatus): string {
  const nodeRows = [['NODE', 'IP', 'MAC', 'SPEAKER', 'LINK', 'MEMBERS SEEN', 'ANNOUNCING']];
  for (const n of s.nodes) {
    nodeRows.push([n.name, n.ip, n.mac, n.speaker, n.link, n.members.join(',') || '-', n.announcing.join(',') || '-']);
  }
  const svcRows = [['SERVICE', 'IP', 'ANNOUNCED BY', 'CLIENT SEES']];
  for (const svc of s.services) {
    const sees = svc.clientSees.map((c) => (c.mac ? `${c.mac}${c.node ? ` (${c.node})` : ''} ${c.state}` : c.state)).join('; ') || '-';
    svcRows.push([svc.service, svc.ips.join(',') || '<pending>', svc.announcedBy.join(',') || '-', sees]);
  }
  const neighRows = [['CLIENT NEIGHBOUR', 'MAC', 'STATE']];
  for (const e of s.client) neighRows.push([e.ip, e.mac ?? '-', e.state]);
  const c = s.controlPlane;
  const config = c.config === 'stale' ? 'INVALID, refused (the last valid one stays in force)' : c.config === 'none' ? 'none loaded yet' : c.config;
  const cpLine =
    `control plane: API server ${c.apiserver}, controller ${c.controller}, configuration ${config}` +
    `${c.servicesPending !== undefined ? `, ${c.servicesPending} Service(s) waiting for an IP` : ''}`;
  const parts = [`lab ${s.prefix}`, cpLine, '', table(nodeRows), '', s.services.length ? table(svcRows) : 'no LoadBalancer Services', ''];
  parts.push(s.client.length ? table(neighRows) : 'client neighbour table is empty');
  const multi = s.services.filter((x) => x.announcedBy.length > 1);
  for (const m of multi) parts.push(`WARNING: ${m.service} is announced by ${m.announcedBy.length} nodes (${m.announcedBy.join(', ')})`);
  return `${parts.join('\n')}\n`;
}

export interface FailoverPhases {
  /** ms from the kill until this speaker logged the dead node leaving memberlist. */
  detectedMs?: number;
  /** ms from the kill until this speaker logged announcing the Service. */
  announcedMs?: number;
  /** ms from the kill until this speaker logged its ServiceL2Status for the Service written. */
  l2StatusMs?: number;
}

/** When, after a kill, the new owner's speaker saw the dead node leave and started announcing (from its log). */
export function failoverPhases(logText: string, deadNode: string, service: string, killedAtMs: number): FailoverPhases {
  const out: FailoverPhases = {};
  for (const line of logText.split('\n')) {
    const o = parseJsonObject(line);
    if (!o) continue;
    const at = typeof o['timestamp'] === 'string' ? Date.parse(o['timestamp']) : NaN;
    if (!Number.isFinite(at) || at < killedAtMs) continue;
    if (out.detectedMs === undefined && o['message'] === 'memberlist' && o['event'] === 'leave' && o['member'] === deadNode) out.detectedMs = at - killedAtMs;
    if (out.announcedMs === undefined && o['message'] === 'announcing' && o['service'] === service) out.announcedMs = at - killedAtMs;
    if (out.l2StatusMs === undefined && o['message'] === 'ServiceL2Status written' && o['service'] === service) out.l2StatusMs = at - killedAtMs;
  }
  return out;
}
