// `l2lb lab status` for a real-Kubernetes lab: Node readiness, the l2lb and web pods, then the same
// per-node / per-Service view as the process lab (speaker state from its pod, announcements from its
// /metrics, memberlist members from its log, what the client's neighbour table holds).
import { linkUp } from './lab.js';
import { kubectlJson } from './k8s.js';
import type { LabPlan } from './plan.js';
import { buildStatus, formatStatus, parseAnnouncedGauge, parseNeigh, parseServiceList, parseSpeakerLog, type LabStatus, type NodeInput } from './status.js';
import { nsExec, nsHttpGet, run } from './sys.js';

interface NodeList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}
interface ConfigurationState {
  status?: { result?: string; conditions?: { message?: string }[] };
}
interface PodList {
  items: {
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    spec: { nodeName?: string };
    status: { phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}

export interface K8sStatus extends LabStatus {
  kubernetes: { nodes: { name: string; ready: boolean }[]; pods: { namespace: string; name: string; node?: string; phase: string; ready: boolean }[] };
}

export async function k8sStatus(plan: LabPlan): Promise<K8sStatus> {
  const nodeList = kubectlJson<NodeList>(plan, ['get', 'nodes']);
  const pods = kubectlJson<PodList>(plan, ['get', 'pods', '-A']);
  const podRows = (pods?.items ?? []).map((p) => ({
    namespace: p.metadata.namespace,
    name: p.metadata.name,
    ...(p.spec.nodeName ? { node: p.spec.nodeName } : {}),
    phase: p.status.phase ?? 'Unknown',
    ready: p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  }));
  const speakers = (pods?.items ?? []).filter((p) => p.metadata.namespace === 'l2lb-system' && p.metadata.labels?.['component'] === 'speaker');
  const nodes: NodeInput[] = await Promise.all(
    plan.nodes.map(async (n) => {
      const pod = speakers.find((p) => p.spec.nodeName === n.name && p.status.phase === 'Running');
      const health = pod ? await nsHttpGet(n.ns, n.ip, 7472, '/healthz', 1500) : undefined;
      const metrics = health?.status === 200 ? await nsHttpGet(n.ns, n.ip, 7472, '/metrics', 1500) : undefined;
      const announced = metrics?.status === 200 ? parseAnnouncedGauge(metrics.body) : undefined;
      const log = pod
        ? nsExec(plan.cp.ns, 'kubectl', ['--kubeconfig', `${plan.stateDir}/kubeconfig`, '-n', 'l2lb-system', 'logs', pod.metadata.name], {
            allowFail: true,
            timeoutMs: 10_000,
          }).stdout
        : '';
      return {
        name: n.name,
        ip: n.ip,
        mac: n.mac,
        speakerRunning: pod !== undefined,
        healthy: health?.status === 200,
        linkUp: linkUp(plan, n),
        log: parseSpeakerLog(log),
        ...(announced ? { announcedFromMetrics: announced } : {}),
      };
    }),
  );
  const controller = podRows.find((p) => p.namespace === 'l2lb-system' && p.name.startsWith('controller-'));
  const svc = nsExec(plan.cp.ns, 'kubectl', ['--kubeconfig', `${plan.stateDir}/kubeconfig`, 'get', 'svc', '-A', '-o', 'json'], {
    allowFail: true,
    timeoutMs: 15_000,
  }).stdout;
  const neigh = run('ip', ['-n', plan.client.ns, 'neigh', 'show', 'dev', 'eth0'], { allowFail: true }).stdout;
  // The controller pod's /metrics are not routed to the lab's namespaces: its verdict comes from its ConfigurationState.
  const state = kubectlJson<ConfigurationState>(plan, ['-n', 'l2lb-system', 'get', 'configurationstates.metallb.io', 'controller'])?.status;
  const configState =
    state?.result !== undefined
      ? { result: state.result, ...(state.conditions?.[0]?.message !== undefined ? { message: state.conditions[0].message } : {}) }
      : undefined;
  const base = buildStatus(plan.prefix, nodes, parseServiceList(svc), parseNeigh(neigh), {
    apiserverUp: nodeList !== undefined,
    controllerReady: controller?.ready ?? false,
    ...(configState ? { controllerConfigState: configState } : {}),
  });
  return {
    ...base,
    kubernetes: {
      nodes: plan.nodes.map((n) => ({
        name: n.name,
        ready: nodeList?.items.some((x) => x.metadata.name === n.name && x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ?? false,
      })),
      pods: podRows,
    },
  };
}

export function formatK8sStatus(s: K8sStatus): string {
  const lines = ['KUBERNETES NODE  READY', ...s.kubernetes.nodes.map((n) => `${n.name.padEnd(16)} ${n.ready ? 'Ready' : 'NotReady'}`), ''];
  lines.push('POD                                        NODE  PHASE      READY');
  for (const p of s.kubernetes.pods)
    lines.push(`${`${p.namespace}/${p.name}`.padEnd(42)} ${(p.node ?? '-').padEnd(5)} ${p.phase.padEnd(10)} ${p.ready ? 'yes' : 'no'}`);
  return `${lines.join('\n')}\n\n${formatStatus(s)}`;
}
