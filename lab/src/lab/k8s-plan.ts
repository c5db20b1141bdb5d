// The real-Kubernetes lab (`l2lb lab up --kubernetes`) as pure data: where each node keeps its files and
// the configuration files of etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd,
// kubelet, kube-proxy and CNI. The network layout is the process lab's (plan.ts): same switch, same
// addresses; a node namespace runs containerd + kubelet + kube-proxy instead of a bare speaker. No I/O.
import type { LabPlan, NodePlan } from './plan.js';

export const K8S_VERSION = 'v1.20.2';
export const SERVICE_CIDR = '10.96.0.0/16';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
/** Pod CIDRs: 10.214.<node index>.0/24, inside this cluster-wide range. */
export const CLUSTER_CIDR = '10.214.0.0/16';
export const ETCD_CLIENT_PORT = 2379;
export const PAUSE_IMAGE = 'localhost/l2lb/pause:3.4';
export const WEB_IMAGE = 'localhost/l2lb/web:0.1.0';
export const KUBE_BINARIES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'] as const;

/** Users of the static token file: name, groups. Each gets its own random token and kubeconfig. */
export const K8S_USERS: readonly { file: string; user: string; groups: string[] }[] = [
  { file: 'admin', user: 'l2lb-admin', groups: ['system:masters'] },
  { file: 'kcm', user: 'system:kube-controller-manager', groups: [] },
  { file: 'scheduler', user: 'system:kube-scheduler', groups: [] },
  { file: 'proxy', user: 'system:kube-proxy', groups: [] },
];

export interface K8sNodePaths {
  /** Persistent node data: containerd root, kubelet root, CNI config and IPAM (on disk). */
  data: string;
  /** Runtime state: sockets, containerd state (sandboxes, netns mounts). */
  run: string;
  /** The node's cgroup root in every v1 hierarchy (kubelet's cgroupRoot); also holds its daemons. */
  cgroup: string;
  podCidr: string;
}

export function k8sDataDir(plan: LabPlan): string {
  return `/var/lib/l2lb-lab/${plan.prefix}`;
}

export function nodePaths(plan: LabPlan, node: NodePlan): K8sNodePaths {
  return {
    data: `${k8sDataDir(plan)}/nodes/${node.name}`,
    run: `${plan.stateDir}/rt/${node.name}`,
    cgroup: `/l2lb-${plan.prefix}-${node.name}`,
    podCidr: podCidr(node),
  };
}

export function podCidr(node: NodePlan): string {
  return `10.214.${node.index}.0/24`;
}

/** Static routes of a node: the Service range on-link (a hostNetwork pod's route lookup happens before the
 * OUTPUT DNAT of kube-proxy), and every other node's pod CIDR via that node (externalTrafficPolicy: Cluster). */
export function nodeRoutes(plan: LabPlan, node: NodePlan): string[][] {
  return [[SERVICE_CIDR, 'dev', 'eth0'], ...plan.nodes.filter((n) => n !== node).map((n) => [podCidr(n), 'via', n.ip])];
}

export function tokensCsv(tokens: Record<string, string>, plan: LabPlan): string {
  const rows = K8S_USERS.map((u) => `${tokens[u.file]},${u.user},${u.user}${u.groups.length ? `,"${u.groups.join(',')}"` : ''}`);
  for (const n of plan.nodes) rows.push(`${tokens[`node-${n.name}`]},system:node:${n.name},system:node:${n.name},"system:nodes"`);
  return `${rows.join('\n')}\n`;
}

export function kubeconfig(server: string, caPem: string, user: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: l2lb-lab',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: l2lb-lab',
    '  context: {cluster: l2lb-lab, user: ' + user + '}',
    'current-context: l2lb-lab',
    '',
  ].join('\n');
}

/** Subject alternative names of the apiserver certificate. */
export function apiserverSans(plan: LabPlan): string {
  return [
    `IP:${plan.cp.ip}`,
    `IP:${KUBERNETES_SERVICE_IP}`,
    'IP:127.0.0.1',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
    'DNS:localhost',
  ].join(',');
}

export function etcdArgs(dir: string): string[] {
  const client = `http://127.0.0.1:${ETCD_CLIENT_PORT}`;
  const peer = `http://127.0.0.1:${ETCD_CLIENT_PORT + 1}`;
  return [
    '--name',
    'l2lb-lab',
    '--data-dir',
    `${dir}/etcd`,
    '--listen-client-urls',
    client,
    '--advertise-client-urls',
    client,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `l2lb-lab=${peer}`,
    '--listen-metrics-urls',
    '',
  ];
}

export function kubeApiserverArgs(plan: LabPlan, pki: string): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ETCD_CLIENT_PORT}`,
    `--bind-address=${plan.cp.ip}`,
    `--advertise-address=${plan.cp.ip}`,
    '--secure-port=6443',
    `--tls-cert-file=${pki}/apiserver.crt`,
    `--tls-private-key-file=${pki}/apiserver.key`,
    `--client-ca-file=${pki}/ca.crt`,
    `--token-auth-file=${pki}/tokens.csv`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki}/sa.pub`,
    `--service-account-signing-key-file=${pki}/sa.key`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--allow-privileged=true',
    // Else `kubectl logs/exec` dial the node name, which nothing resolves.
    '--kubelet-preferred-address-types=InternalIP',
  ];
}

export function kcmArgs(dir: string, pki: string): string[] {
  const kc = `${dir}/kcm.kubeconfig`;
  return [
    `--kubeconfig=${kc}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    '--bind-address=127.0.0.1',
    '--secure-port=10257',
    '--port=0',
    `--cert-dir=${dir}/kcm-certs`,
    '--leader-elect=false',
    `--service-account-private-key-file=${pki}/sa.key`,
    `--root-ca-file=${pki}/ca.crt`,
    '--use-service-account-credentials=true',
    // Fast enough that a killed node's pods are evicted in a lab run, not the default 5 minutes.
    '--node-monitor-grace-period=20s',
    '--pod-eviction-timeout=30s',
  ];
}

export function schedulerArgs(dir: string): string[] {
  const kc = `${dir}/scheduler.kubeconfig`;
  return [
    `--kubeconfig=${kc}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    '--bind-address=127.0.0.1',
    '--secure-port=10259',
    '--port=0',
    `--cert-dir=${dir}/scheduler-certs`,
    '--leader-elect=false',
  ];
}

export function cniConflist(plan: LabPlan, node: NodePlan, p: K8sNodePaths): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: `l2lb-${plan.prefix}-${node.name}`,
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: p.podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: `${p.data}/cni/ipam` },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

export function containerdToml(p: K8sNodePaths, cniBinDir: string): string {
  return `version = 2
root = "${p.data}/containerd"
state = "${p.run}/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${p.run}/containerd.sock"
[ttrpc]
  address = "${p.run}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${p.data}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # The pods' network namespaces are mounted under this node's state directory, so down finds them.
  netns_mounts_under_state_dir = true
  # No CAP_SYS_RESOURCE on the machines this runs on: oom_score_adj can only be raised.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${cniBinDir}"
    conf_dir = "${p.data}/cni/net.d"
    max_conf_num = 1
`;
}

export function kubeletConfig(node: NodePlan, p: K8sNodePaths): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: ${p.cgroup}
cgroupsPerQOS: true
failSwapOn: false
address: ${node.ip}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
resolvConf: ${p.data}/resolv.conf
clusterDomain: cluster.local
protectKernelDefaults: false
serializeImagePulls: false
maxPods: 30
podCIDR: ${p.podCidr}
nodeStatusUpdateFrequency: 4s
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%}
`;
}

export function kubeletArgs(node: NodePlan, p: K8sNodePaths): string[] {
  return [
    `--config=${p.data}/kubelet-config.yaml`,
    `--kubeconfig=${p.data}/kubeconfig`,
    '--container-runtime=remote',
    `--container-runtime-endpoint=unix://${p.run}/containerd.sock`,
    `--root-dir=${p.data}/kubelet`,
    `--cert-dir=${p.data}/kubelet/pki`,
    `--hostname-override=${node.name}`,
    `--node-ip=${node.ip}`,
    '--node-labels=l2lb.io/lab-node=true',
    '--v=1',
  ];
}

export function kubeProxyConfig(node: NodePlan, p: K8sNodePaths): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${p.data}/proxy.kubeconfig}
hostnameOverride: ${node.name}
bindAddress: ${node.ip}
mode: iptables
clusterCIDR: ${CLUSTER_CIDR}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`;
}

/** The lab's web workload: `replicas` pods of the tiny HTTP image and a LoadBalancer Service for them. */
export function webObjects(replicas: number, policy: 'Cluster' | 'Local' = 'Cluster'): Record<string, unknown>[] {
  const labels = { app: 'web' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 2,
            containers: [
              {
                name: 'web',
                image: WEB_IMAGE,
                imagePullPolicy: 'Never',
                ports: [{ containerPort: 8080 }],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                ],
                readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 2 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'LoadBalancer', externalTrafficPolicy: policy, selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ];
}

/** MetalLB's legacy ("seed-style") pool ConfigMap with one layer-2 range. */
export function poolConfigMap(range: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config', namespace: 'l2lb-system' },
    data: { config: `address-pools:\n- name: lab\n  protocol: layer2\n  addresses:\n  - ${range}\n` },
  };
}

export interface PodList {
  items: {
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    spec: { nodeName?: string };
    status: {
      phase?: string;
      conditions?: { type: string; status: string }[];
      containerStatuses?: { restartCount: number; ready: boolean; state?: Record<string, { reason?: string; startedAt?: string } | undefined> }[];
    };
  }[];
}

/**
 * The speaker Pod on nodeName is Ready and its container was started at or after sinceMs: a restart by
 * the revived kubelet, not the status the API kept from before the power-off (startedAt has whole seconds).
 */
export function speakerRestartedReady(pods: PodList | undefined, nodeName: string, sinceMs: number): boolean {
  const since = Math.floor(sinceMs / 1000) * 1000;
  return (pods?.items ?? []).some((p) => {
    if (p.spec.nodeName !== nodeName || !p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return false;
    const c = p.status.containerStatuses?.[0];
    const started = Date.parse(c?.state?.running?.startedAt ?? '');
    return c?.ready === true && Number.isFinite(started) && started >= since;
  });
}

/** The members in a speaker's `l2lb_speaker_memberlist_member{member="…"} 1` lines. */
export function memberlistMembers(metrics: string): string[] {
  return [...metrics.matchAll(/^l2lb_speaker_memberlist_member\{member="([^"]+)"\} 1$/gm)].map((m) => m[1] ?? '');
}
