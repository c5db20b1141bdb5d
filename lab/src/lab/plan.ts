// The lab's layout as pure data: namespace names, addresses, MACs and switch ports derived from a
// prefix and a node count (the layout fixed in the shared contract). No I/O here.

export const DEFAULT_PREFIX = 'l2lab';
export const DEFAULT_NODES = 3;
export const MAX_NODES = 40;
export const API_PORT = 6443;
export const METRICS_PORT = 7472;
export const ML_PORT = 7946;
export const LAB_NAMESPACE = 'l2lb-system';
export const SUBNET = '10.213.0.0/24';
export const POOL_RANGE = '10.213.0.200-10.213.0.249';
const BASE = '10.213.0.';

export type MlProfile = 'fast' | 'lan';

/** One host on the lab LAN: a network namespace with one interface `eth0` plugged into the switch. */
export interface HostPlan {
  /** Short role name: `cp`, `cl`, or the node name `n1`..`nN`. */
  role: string;
  /** Network namespace name, `<prefix>-<role>`. */
  ns: string;
  ip: string;
  mac: string;
  /** The veth end inside the switch namespace that this host is plugged into. */
  swPort: string;
}

export interface NodePlan extends HostPlan {
  /** Kubernetes node name and memberlist member name. */
  name: string;
  index: number;
}

export interface LabPlan {
  prefix: string;
  stateDir: string;
  /** The switch namespace: holds the bridge `br0` and the switch-side veth ends. */
  sw: string;
  cp: HostPlan;
  client: HostPlan;
  nodes: NodePlan[];
  subnet: string;
  prefixLength: number;
  poolRange: string;
  apiUrl: string;
}

/** Why a prefix is unusable, or undefined when it is fine. */
export function prefixProblem(prefix: string): string | undefined {
  if (!/^[a-z][a-z0-9]{1,15}$/.test(prefix)) {
    return `prefix ${JSON.stringify(prefix)} must be 2-16 lowercase letters or digits, starting with a letter`;
  }
  return undefined;
}

export function defaultStateDir(prefix: string): string {
  return `/run/l2lb-lab/${prefix}`;
}

function mac(lastTwo: string): string {
  return `02:13:00:00:${lastTwo}`;
}

export function nodeName(index: number): string {
  return `n${index}`;
}

/** The full layout for a prefix and node count. Throws on a bad prefix or count (callers validate first). */
export function planLab(opts: { prefix?: string; nodes?: number; stateDir?: string } = {}): LabPlan {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const problem = prefixProblem(prefix);
  if (problem) throw new Error(problem);
  const count = opts.nodes ?? DEFAULT_NODES;
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) {
    throw new Error(`node count must be an integer from 1 to ${MAX_NODES}, got ${count}`);
  }
  const host = (role: string, ip: string, m: string): HostPlan => ({ role, ns: `${prefix}-${role}`, ip, mac: m, swPort: `sw-${role}` });
  const nodes: NodePlan[] = [];
  for (let i = 1; i <= count; i++) {
    const name = nodeName(i);
    nodes.push({ ...host(name, `${BASE}${10 + i}`, mac(`01:${i.toString(16).padStart(2, '0')}`)), name, index: i });
  }
  const cp = host('cp', `${BASE}2`, mac('00:02'));
  return {
    prefix,
    stateDir: opts.stateDir ?? defaultStateDir(prefix),
    sw: `${prefix}-sw`,
    cp,
    client: host('cl', `${BASE}3`, mac('00:03')),
    nodes,
    subnet: SUBNET,
    prefixLength: 24,
    poolRange: POOL_RANGE,
    apiUrl: `http://${cp.ip}:${API_PORT}`,
  };
}

/** Every namespace of the plan, switch first (creation order; delete in reverse). */
export function allNamespaces(plan: LabPlan): string[] {
  return [plan.sw, plan.cp.ns, plan.client.ns, ...plan.nodes.map((n) => n.ns)];
}

/** Whether a namespace name belongs to a lab with this prefix (`<prefix>-sw|cp|cl|n<digits>`). */
export function isLabNamespace(prefix: string, name: string): boolean {
  if (!name.startsWith(`${prefix}-`)) return false;
  return /^(sw|cp|cl|n\d+)$/.test(name.slice(prefix.length + 1));
}

/** The node with this name (or `<prefix>-nI` namespace name), or undefined. */
export function findNode(plan: LabPlan, nameOrNs: string): NodePlan | undefined {
  return plan.nodes.find((n) => n.name === nameOrNs || n.ns === nameOrNs);
}

/** Node whose MAC this is (case-insensitive), if any. */
export function nodeByMac(plan: LabPlan, m: string): NodePlan | undefined {
  const want = m.toLowerCase();
  return plan.nodes.find((n) => n.mac === want);
}

/** The `l2lb-speaker run` arguments for a node of the plan (the contract's flags). */
export function speakerArgs(plan: LabPlan, node: NodePlan, opts: { mlProfile: MlProfile; logLevel?: string }): string[] {
  const others = plan.nodes.filter((n) => n !== node).map((n) => `${n.ip}:${ML_PORT}`);
  return [
    'run',
    '--node-name',
    node.name,
    '--namespace',
    LAB_NAMESPACE,
    '--kubeconfig',
    `${plan.stateDir}/kubeconfig`,
    '--ml-bind-addr',
    node.ip,
    '--ml-bind-port',
    String(ML_PORT),
    ...(others.length > 0 ? ['--ml-join', others.join(',')] : []),
    '--ml-secret-key-path',
    `${plan.stateDir}/ml`,
    '--ml-profile',
    opts.mlProfile,
    '--metrics-host',
    node.ip,
    '--metrics-port',
    String(METRICS_PORT),
    '--log-level',
    opts.logLevel ?? 'info',
  ];
}

export function controllerArgs(plan: LabPlan, opts: { logLevel?: string } = {}): string[] {
  return [
    '--kubeconfig',
    `${plan.stateDir}/kubeconfig`,
    '--namespace',
    LAB_NAMESPACE,
    '--metrics-host',
    plan.cp.ip,
    '--metrics-port',
    String(METRICS_PORT),
    '--log-level',
    opts.logLevel ?? 'info',
  ];
}

export function apiserverArgs(plan: LabPlan): string[] {
  // The lab LAN is a bridge inside network namespaces that only the lab's own hosts are plugged into.
  // --data: the state survives a stop and start of the API server (the API-outage test restarts it).
  return [
    'apiserver',
    '--listen',
    `${plan.cp.ip}:${API_PORT}`,
    '--data',
    `${plan.stateDir}/apiserver`,
    '--kubeconfig-out',
    `${plan.stateDir}/kubeconfig`,
    '--allow-unauthenticated',
  ];
}

/** Kubernetes objects `up` creates: the lab namespace and one Node per lab node. */
export function bootstrapObjects(plan: LabPlan): Record<string, unknown>[] {
  return [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: LAB_NAMESPACE } }, ...plan.nodes.map((n) => nodeObject(n))];
}

export function nodeObject(n: NodePlan): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'l2lb.io/lab-node': 'true' } },
    status: nodeStatus(n),
  };
}

export function nodeStatus(n: NodePlan): Record<string, unknown> {
  return {
    addresses: [
      { type: 'InternalIP', address: n.ip },
      { type: 'Hostname', address: n.name },
    ],
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'l2lb lab node' }],
  };
}
