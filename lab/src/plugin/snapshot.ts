// What `kubectl l2lb` reads from a cluster: every read may be refused by RBAC (a read-only user) or
// fail; each failure is kept as "could not read X: why" and the report says so instead of failing.
import { errorLine, type KubeClient } from '@l2lb/shared/kube/client';
import { chooseEndpointsSource } from '@l2lb/shared/kube/discovery';
import { Resources, type KubeObject, type ResourceRef } from '@l2lb/shared/kube/types';
import { errorText } from '@l2lb/shared/log';

export interface SpeakerMetrics {
  /** Where they were read from (URL). */
  readonly source: string;
  readonly text?: string;
  readonly error?: string;
}

export interface Snapshot {
  readonly namespace: string;
  readonly services: KubeObject[];
  readonly nodes: KubeObject[];
  readonly slices: KubeObject[];
  readonly pools: KubeObject[];
  readonly ads: KubeObject[];
  readonly configMap: KubeObject | undefined;
  readonly l2statuses: KubeObject[];
  readonly configStates: KubeObject[];
  readonly speakers: SpeakerMetrics[];
  /** "services: 403 Forbidden ..." lines: what could not be read. */
  readonly unreadable: string[];
}

export interface SnapshotOptions {
  readonly namespace: string;
  /** Extra /metrics URLs of speakers (the lab, or when Pod IPs are not reachable). */
  readonly speakerMetrics?: readonly string[];
  /** Port of the speakers' /metrics on their Pod IP (default 7472). */
  readonly metricsPort?: number;
  readonly fetchTimeoutMs?: number;
}

async function fetchText(url: string, timeoutMs: number): Promise<SpeakerMetrics> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) return { source: url, error: `HTTP ${r.status}` };
    return { source: url, text: await r.text() };
  } catch (e) {
    return { source: url, error: errorText(e instanceof Error && e.cause instanceof Error ? e.cause : e) };
  }
}

export async function takeSnapshot(client: KubeClient, o: SnapshotOptions): Promise<Snapshot> {
  const unreadable: string[] = [];
  const list = async (what: string, r: ResourceRef, namespace?: string): Promise<KubeObject[]> => {
    try {
      return (await client.list(r, namespace !== undefined ? { namespace } : {})).items;
    } catch (e) {
      unreadable.push(errorLine('list', what, e));
      return [];
    }
  };
  const ns = o.namespace;
  let sliceRef: ResourceRef = Resources.endpointSlicesV1;
  try {
    const src = await chooseEndpointsSource(client);
    if (src.kind === 'EndpointSlice') sliceRef = src.resource;
  } catch {
    // discovery refused: try v1 and report that read
  }
  const [services, nodes, slices, pools, ads, configMaps, l2statuses, configStates, pods] = await Promise.all([
    list('services (all namespaces)', Resources.services),
    list('nodes', Resources.nodes),
    list('endpointslices (all namespaces)', sliceRef),
    list(`ipaddresspools.metallb.io in ${ns}`, Resources.ipAddressPools, ns),
    list(`l2advertisements.metallb.io in ${ns}`, Resources.l2Advertisements, ns),
    list(`configmaps in ${ns}`, Resources.configMaps, ns),
    list(`servicel2statuses.metallb.io in ${ns}`, Resources.serviceL2Statuses, ns),
    list(`configurationstates.metallb.io in ${ns}`, Resources.configurationStates, ns),
    list(`pods in ${ns}`, Resources.pods, ns),
  ]);
  const urls = new Set(o.speakerMetrics ?? []);
  for (const p of pods) {
    const labels = p.metadata?.labels ?? {};
    const ip = (p['status'] as { podIP?: unknown } | undefined)?.podIP;
    if (labels['component'] === 'speaker' && typeof ip === 'string' && ip !== '') {
      urls.add(`http://${ip.includes(':') ? `[${ip}]` : ip}:${o.metricsPort ?? 7472}/metrics`);
    }
  }
  const speakers = await Promise.all([...urls].map((u) => fetchText(u, o.fetchTimeoutMs ?? 2000)));
  return {
    namespace: ns,
    services,
    nodes,
    slices,
    pools,
    ads,
    configMap: configMaps.find((c) => c.metadata?.name === 'config'),
    l2statuses,
    configStates,
    speakers,
    unreadable,
  };
}
