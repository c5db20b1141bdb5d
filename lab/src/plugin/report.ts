// `kubectl l2lb status` and `explain`: pure functions from a Snapshot to a report and its text.
// explain runs the speaker's own decide() for every Node, so it can never disagree with what the
// speakers do; the per-node reasons name the rule that removed a node from the candidates.
import { ConfigState, selectorMatches, type Config } from '@l2lb/shared';
import { IP } from '@l2lb/shared/ip';
import type { KubeObject } from '@l2lb/shared/kube/types';
import { decide, electionOrder, EXCLUDE_LB_LABEL, goIpString, preferenceScores, type EndpointView, type NodeView } from '@l2lb/speaker/election/election';
import { keyOf, parseEndpointSlice, parseNode, parseService, type ServiceInfo } from '@l2lb/speaker/run/views';
import type { Snapshot } from './snapshot.js';

export const ANN_POOL = 'metallb.io/ip-allocated-from-pool';

export interface ConfigView {
  readonly config: Config | undefined;
  readonly valid: boolean;
  readonly error?: string;
}

/** The configuration as the controller and speakers build it from the same objects. */
export function configOf(s: Snapshot): ConfigView {
  const data = s.configMap?.['data'];
  const text = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['config'] : undefined;
  const u = new ConfigState().update({
    configMapText: typeof text === 'string' ? text : undefined,
    configMapObject: `ConfigMap ${s.namespace}/config`,
    resources: [...s.pools, ...s.ads],
  });
  if (u.kind === 'applied') return { config: u.config, valid: true };
  if (u.kind === 'invalid') return { config: undefined, valid: false, error: u.message };
  return { config: undefined, valid: false, error: 'no configuration' };
}

interface Model {
  readonly services: Map<string, { info: ServiceInfo; obj: KubeObject }>;
  readonly endpoints: Map<string, EndpointView[]>;
  readonly nodes: Map<string, NodeView>;
  /** Announcing node per Service from ServiceL2Status (status.node, else the label). */
  readonly announcedBy: Map<string, string[]>;
  /** Memberlist members per reporting speaker (metrics source → names). */
  readonly memberViews: { source: string; node: string | undefined; members: string[] }[];
}

const METRIC_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/;

/** Samples of one metric from Prometheus text: labels and value. */
export function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = METRIC_LINE.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

function model(s: Snapshot): Model {
  const services = new Map<string, { info: ServiceInfo; obj: KubeObject }>();
  for (const o of s.services) {
    const p = parseService(o);
    if (p) services.set(keyOf(p.id), { info: p.value, obj: o });
  }
  const endpoints = new Map<string, EndpointView[]>();
  for (const o of s.slices) {
    const p = parseEndpointSlice(o);
    if (!p || p.value.service === undefined) continue;
    endpoints.set(p.value.service, [...(endpoints.get(p.value.service) ?? []), ...p.value.endpoints]);
  }
  const nodes = new Map<string, NodeView>();
  for (const o of s.nodes) {
    const p = parseNode(o);
    if (p) nodes.set(p.id.name, p.value);
  }
  const announcedBy = new Map<string, string[]>();
  for (const o of s.l2statuses) {
    const labels = o.metadata?.labels ?? {};
    const st = (o as { status?: { node?: unknown; serviceName?: unknown; serviceNamespace?: unknown } }).status ?? {};
    const name = typeof st.serviceName === 'string' ? st.serviceName : labels['metallb.io/service-name'];
    const ns = typeof st.serviceNamespace === 'string' ? st.serviceNamespace : labels['metallb.io/service-namespace'];
    const node = typeof st.node === 'string' ? st.node : labels['metallb.io/node'];
    if (name === undefined || ns === undefined || node === undefined) continue;
    const k = `${ns}/${name}`;
    announcedBy.set(k, [...(announcedBy.get(k) ?? []), node].sort());
  }
  const memberViews = s.speakers
    .filter((m) => m.text !== undefined)
    .map((m) => {
      const members = samples(m.text ?? '', 'l2lb_speaker_memberlist_member')
        .filter((x) => x.value === 1)
        .map((x) => x.labels['member'] ?? '')
        .sort();
      const node = samples(m.text ?? '', 'l2lb_speaker_announced')[0]?.labels['node'];
      return { source: m.source, node, members };
    });
  return { services, endpoints, nodes, announcedBy, memberViews };
}

function poolOfService(config: Config | undefined, obj: KubeObject, ips: readonly string[]): string | undefined {
  const ann = obj.metadata?.annotations?.[ANN_POOL];
  if (ann) return ann;
  const ip = ips[0] === undefined ? undefined : IP.parse(ips[0]);
  return ip ? config?.pools.find((p) => p.cidrs.some((c) => c.contains(ip)))?.name : undefined;
}

// ---- status --------------------------------------------------------------------------------

export interface StatusReport {
  readonly services: { service: string; ips: string[]; pool: string | undefined; announcedBy: string[]; pending?: string }[];
  readonly pools: { pool: string; assigned: number; size: string; source: 'status' | 'counted' }[];
  readonly configuration: { source: 'ConfigurationState' | 'computed'; components: { component: string; result: string; error?: string }[] };
  readonly speakers: { source: string; reachable: boolean; node?: string; members?: string[]; configStale?: boolean; error?: string }[];
  readonly warnings: string[];
  readonly unreadable: string[];
}

export function buildStatus(s: Snapshot): StatusReport {
  const m = model(s);
  const cfg = configOf(s);
  const warnings: string[] = [];
  const services: StatusReport['services'] = [];
  for (const [key, { info, obj }] of [...m.services].sort(([a], [b]) => a.localeCompare(b))) {
    if (info.view.type !== 'LoadBalancer') continue;
    const ips = info.view.ingressIPs.filter((x) => x !== '');
    const announcedBy = m.announcedBy.get(key) ?? [];
    const row: StatusReport['services'][number] = { service: key, ips, pool: poolOfService(cfg.config, obj, ips), announcedBy };
    if (ips.length === 0) {
      const conds = (obj['status'] as { conditions?: { message?: string; reason?: string }[] } | undefined)?.conditions ?? [];
      const why = conds
        .map((c) => c.message ?? c.reason)
        .filter(Boolean)
        .join('; ');
      row.pending = why !== '' ? why : "no IP assigned (see the Service's Events: kubectl describe svc)";
      warnings.push(`${key} is pending: ${row.pending}`);
    } else if (announcedBy.length === 0 && !s.unreadable.some((u) => u.includes('servicel2statuses'))) {
      warnings.push(
        `${key} has ${ips.join(', ')} but no node announces it (no ServiceL2Status); run kubectl l2lb explain svc/${obj.metadata?.name ?? ''} -n ${obj.metadata?.namespace ?? ''}`,
      );
    } else if (announcedBy.length > 1) {
      warnings.push(`${key} is announced by several nodes: ${announcedBy.join(', ')}`);
    }
    services.push(row);
  }
  const pools: StatusReport['pools'] = [];
  for (const p of cfg.config?.pools ?? []) {
    const obj = s.pools.find((x) => x.metadata?.name === p.name);
    const st = (obj as { status?: { assignedIPv4?: number; assignedIPv6?: number } } | undefined)?.status;
    if (st && typeof st.assignedIPv4 === 'number') {
      pools.push({ pool: p.name, assigned: st.assignedIPv4 + (st.assignedIPv6 ?? 0), size: p.size.toString(), source: 'status' });
    } else {
      const assigned = services.filter((x) => x.pool === p.name).reduce((n, x) => n + x.ips.length, 0);
      pools.push({ pool: p.name, assigned, size: p.size.toString(), source: 'counted' });
    }
  }
  for (const w of cfg.config?.warnings ?? []) warnings.push(`configuration: ${w}`);
  const components: StatusReport['configuration']['components'] = s.configStates.map((c) => {
    const st = (c as { status?: { result?: string; errorSummary?: string } }).status ?? {};
    const labels = c.metadata?.labels ?? {};
    const who =
      labels['metallb.io/component-type'] === 'speaker'
        ? `speaker ${labels['metallb.io/node-name'] ?? c.metadata?.name ?? ''}`
        : (labels['metallb.io/component-type'] ?? c.metadata?.name ?? '?');
    return { component: who, result: st.result ?? 'Unknown', ...(st.errorSummary ? { error: st.errorSummary } : {}) };
  });
  const configuration: StatusReport['configuration'] =
    components.length > 0
      ? { source: 'ConfigurationState', components }
      : {
          source: 'computed',
          components: [{ component: 'objects in the cluster', result: cfg.valid ? 'Valid' : 'Invalid', ...(cfg.error ? { error: cfg.error } : {}) }],
        };
  const speakers: StatusReport['speakers'] = s.speakers.map((sp) => {
    if (sp.text === undefined) return { source: sp.source, reachable: false, error: sp.error ?? 'unreachable' };
    const view = m.memberViews.find((v) => v.source === sp.source);
    const stale = samples(sp.text, 'l2lb_speaker_config_stale')[0]?.value;
    return {
      source: sp.source,
      reachable: true,
      ...(view?.node ? { node: view.node } : {}),
      members: view?.members ?? [],
      ...(stale !== undefined ? { configStale: stale === 1 } : {}),
    };
  });
  if (s.speakers.length === 0) warnings.push('no speaker /metrics found (no speaker Pods readable; pass --speaker-metrics URL): memberlist views unknown');
  for (const sp of speakers) if (!sp.reachable) warnings.push(`speaker metrics ${sp.source} not reachable: ${sp.error ?? ''}`);
  return { services, pools, configuration, speakers, warnings, unreadable: s.unreadable };
}

// ---- explain -------------------------------------------------------------------------------

export interface NodeVerdict {
  readonly node: string;
  readonly candidate: boolean;
  /** Why not, when not a candidate. */
  readonly why?: string;
  /** Summed weights of the L2Advertisements' preferredNodeSelectors it matches (higher is elected first). */
  readonly preference: number;
}

export interface ExplainReport {
  readonly service: string;
  readonly ips: string[];
  readonly pool: string | undefined;
  /** Members the election used, and where they came from. */
  readonly members: { names: string[] | undefined; source: string };
  readonly nodes: NodeVerdict[];
  /** Per IP: the hash order over the candidates (the speakers elect with the first IP's order for all). */
  readonly orders: { ip: string; order: string[] }[];
  readonly winner: string | undefined;
  readonly successor: string | undefined;
  readonly announcedBy: string[];
  /** When no node wins: the reason decide() gives. */
  readonly noWinner?: string;
  readonly unreadable: string[];
}

export function buildExplain(s: Snapshot, service: string): ExplainReport | { error: string } {
  const m = model(s);
  const svc = m.services.get(service);
  if (!svc) return { error: `Service ${service} not found${s.unreadable.some((u) => u.includes('services')) ? ' (services could not be read)' : ''}` };
  const cfg = configOf(s);
  if (!cfg.config) return { error: `the configuration is not valid, nothing is elected: ${cfg.error ?? ''}` };
  const config = cfg.config;
  // The owner's view of memberlist if its metrics were read, else any speaker's, else every Node.
  const owner = m.announcedBy.get(service)?.[0];
  const view = m.memberViews.find((v) => v.node === owner && v.members.length > 0) ?? m.memberViews.find((v) => v.members.length > 0);
  const members = view ? new Set(view.members) : undefined;
  const endpoints = m.endpoints.get(service) ?? [];
  const ips = svc.info.view.ingressIPs.map((x) => goIpString(x) ?? x);
  const run = (me: string, mem: ReadonlySet<string> | undefined) =>
    decide({ myNode: me, service: svc.info.view, endpoints, config, nodes: m.nodes, members: mem, ignoreExcludeLb: false });
  const names = [...new Set([...m.nodes.keys(), ...(members ?? [])])].sort();
  const ip0 = ips[0] === undefined ? undefined : IP.parse(ips[0]);
  const pool = ip0 ? config.pools.find((p) => p.cidrs.some((c) => c.contains(ip0))) : undefined;
  const ads = config.l2Advertisements.filter(
    (a) =>
      pool !== undefined &&
      a.ipAddressPools.includes(pool.name) &&
      (a.serviceSelectors.length === 0 || a.serviceSelectors.some((sel) => selectorMatches(sel, svc.info.view.labels))),
  );
  const scores = preferenceScores(ads, m.nodes);
  const withEndpoint = new Set(endpoints.filter((e) => (e.ready ?? true) || e.serving === true).map((e) => e.nodeName));
  const nodes: NodeVerdict[] = names.map((n) => {
    const nv = m.nodes.get(n);
    const why: string[] = [];
    if (!nv) why.push('no Node object');
    if (members && !members.has(n)) why.push('not a memberlist member (no speaker running there, or it is down)');
    if (nv?.networkUnavailable) why.push('condition NetworkUnavailable is True');
    if (nv && EXCLUDE_LB_LABEL in nv.labels) why.push(`label ${EXCLUDE_LB_LABEL}`);
    if (
      ads.length > 0 &&
      !ads.some((a) => a.nodeSelectors.length === 0 || (nv !== undefined && a.nodeSelectors.some((sel) => selectorMatches(sel, nv.labels))))
    ) {
      why.push(`no L2Advertisement for pool ${pool?.name ?? '?'} selects it (nodeSelectors)`);
    }
    if (svc.info.view.externalTrafficPolicy === 'Local' && !withEndpoint.has(n)) why.push('no ready endpoint on it (externalTrafficPolicy Local)');
    const preference = scores.get(n) ?? 0;
    return why.length === 0 ? { node: n, candidate: true, preference } : { node: n, candidate: false, why: why.join('; '), preference };
  });
  let winner: string | undefined;
  let order: readonly string[] = [];
  let noWinner: string | undefined;
  for (const n of names) {
    const d = run(n, members);
    if (d.order) order = d.order;
    if (d.announce) {
      winner = n;
      order = d.order;
    } else if (noWinner === undefined && d.reason !== 'notOwner') noWinner = d.detail;
  }
  if (!winner && noWinner === undefined)
    noWinner = run(names[0] ?? '', members).announce ? undefined : (run(names[0] ?? '', members) as { detail: string }).detail;
  let successor: string | undefined;
  if (winner) {
    const without = new Set([...(members ?? m.nodes.keys())].filter((x) => x !== winner));
    for (const n of names) if (n !== winner && run(n, without).announce) successor = n;
  }
  const candidates = nodes.filter((n) => n.candidate).map((n) => n.node);
  const orders = ips.map((ip, i) => ({ ip, order: i === 0 && order.length > 0 ? [...order] : electionOrder(candidates, ip, scores) }));
  return {
    service,
    ips,
    pool: poolOfService(config, svc.obj, ips),
    members: {
      names: members ? [...members].sort() : undefined,
      source: view ? `memberlist as seen by ${view.node ?? view.source}` : 'no speaker metrics read: every Node counted as a member',
    },
    nodes,
    orders,
    winner,
    successor,
    announcedBy: m.announcedBy.get(service) ?? [],
    ...(winner ? {} : { noWinner: noWinner ?? 'no candidate' }),
    unreadable: s.unreadable,
  };
}

// ---- text ----------------------------------------------------------------------------------

export interface Style {
  bold(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

export const plain: Style = { bold: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s };
export const ansi: Style = {
  bold: (s) => `\x1b[1m${s}\x1b[0m`,
  red: (s) => `\x1b[31m${s}\x1b[0m`,
  green: (s) => `\x1b[32m${s}\x1b[0m`,
  yellow: (s) => `\x1b[33m${s}\x1b[0m`,
};

/** Rows as aligned columns (two spaces apart; the last column is not padded). Also the lab's `status`. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function usageBar(used: number, size: bigint, width = 20): string {
  const frac = size === 0n ? 0 : Math.min(1, used / Number(size));
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${used}/${size} (${(frac * 100).toFixed(frac > 0 && frac < 0.01 ? 2 : 0)}%)`;
}

export function formatStatus(r: StatusReport, st: Style = plain): string {
  const out: string[] = [st.bold('SERVICES')];
  out.push(
    table([
      ['SERVICE', 'IPS', 'POOL', 'ANNOUNCED BY'],
      ...r.services.map((x) => [x.service, x.ips.join(',') || '<pending>', x.pool ?? '-', x.announcedBy.join(',') || (x.pending ? '-' : st.red('nobody'))]),
    ]),
  );
  out.push('', st.bold('POOLS'));
  out.push(
    table([
      ['POOL', 'USAGE', 'FROM'],
      ...r.pools.map((p) => [p.pool, usageBar(p.assigned, BigInt(p.size)), p.source === 'status' ? 'IPAddressPool status' : 'counted from Services']),
    ]),
  );
  out.push('', st.bold(`CONFIGURATION (${r.configuration.source === 'ConfigurationState' ? 'ConfigurationState objects' : 'checked here from the objects'})`));
  out.push(
    table([
      ['COMPONENT', 'RESULT', 'ERROR'],
      ...r.configuration.components.map((c) => [c.component, c.result === 'Valid' ? st.green(c.result) : st.red(c.result), c.error ?? '']),
    ]),
  );
  out.push('', st.bold('SPEAKERS'));
  out.push(
    r.speakers.length === 0
      ? 'no speaker metrics read'
      : table([
          ['SPEAKER', 'NODE', 'MEMBERLIST VIEW', 'CONFIG'],
          ...r.speakers.map((s) =>
            s.reachable
              ? [s.source, s.node ?? '?', (s.members ?? []).join(',') || '-', s.configStale ? st.yellow('stale') : 'ok']
              : [s.source, '?', st.red(`unreachable: ${s.error ?? ''}`), '?'],
          ),
        ]),
  );
  if (r.warnings.length > 0) out.push('', st.bold('WARNINGS'), ...r.warnings.map((w) => st.yellow(`! ${w}`)));
  if (r.unreadable.length > 0) out.push('', st.bold('COULD NOT READ'), ...r.unreadable.map((u) => `- ${u}`));
  return `${out.join('\n')}\n`;
}

export function formatExplain(r: ExplainReport, st: Style = plain): string {
  const out: string[] = [
    `${st.bold(r.service)}  IPs ${r.ips.join(', ') || '<none>'}  pool ${r.pool ?? '-'}`,
    `members: ${r.members.names?.join(', ') ?? '(unknown)'} (${r.members.source})`,
    '',
  ];
  out.push(st.bold('NODES'));
  const preferred = r.nodes.some((n) => n.preference > 0);
  out.push(
    table([
      ['NODE', 'CANDIDATE', ...(preferred ? ['PREFERENCE'] : []), 'WHY NOT'],
      ...r.nodes.map((n) => [n.node, n.candidate ? st.green('yes') : st.red('no'), ...(preferred ? [String(n.preference)] : []), n.why ?? '']),
    ]),
  );
  out.push(
    '',
    st.bold(
      `ELECTION ORDER (${preferred ? 'highest preferredNodeSelectors score first, then ' : ''}sha256("<node>#<ip>"), lowest first; all IPs follow the first one's order)`,
    ),
  );
  for (const o of r.orders) out.push(`  ${o.ip}: ${o.order.join(' > ') || '(no candidates)'}`);
  out.push('');
  out.push(
    r.winner
      ? `answers now: ${st.green(r.winner)}${r.announcedBy.length > 0 && !r.announcedBy.includes(r.winner) ? st.red(` (but ServiceL2Status says ${r.announcedBy.join(', ')})`) : ''}`
      : st.red(`nobody answers: ${r.noWinner ?? ''}`),
  );
  if (r.winner) out.push(`if ${r.winner} dies: ${r.successor ?? st.red('nobody takes over')}`);
  if (r.unreadable.length > 0) out.push('', st.bold('COULD NOT READ'), ...r.unreadable.map((u) => `- ${u}`));
  return `${out.join('\n')}\n`;
}
