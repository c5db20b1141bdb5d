// `l2lb-speaker run` flags. Flags win over environment variables; the MetalLB names are accepted so
// MetalLB's speaker manifests work unchanged. Pure: argv and env in, options or an error message out.
import { isIP } from 'node:net';
import { PROCESS_FLAGS, portValue, processOptions, readFlags, type FlagSpec, type ProcessOptions } from '@l2lb/shared/cli-flags';

export const RUN_USAGE = `usage: l2lb-speaker run --node-name NAME [flags]
Per-node speaker: watches Services, EndpointSlices, Nodes and the configuration, joins the memberlist
cluster, elects an owner per Service IP (MetalLB layer-2 compatible) and answers ARP/NDP for the IPs
this node owns. Needs CAP_NET_RAW (and hostNetwork in a cluster).

  --node-name NAME          Kubernetes node name, also the memberlist member name (required;
                            env L2LB_NODE_NAME, METALLB_NODE_NAME)
  --namespace NS            namespace of ConfigMap "config", the metallb.io CRs and the speaker Pods
                            (env L2LB_NAMESPACE, METALLB_NAMESPACE; default l2lb-system)
  --kubeconfig FILE         kubeconfig (env L2LB_KUBECONFIG, KUBECONFIG; default: in-cluster service account)
  --ml-bind-addr IP         memberlist UDP+TCP address; empty turns memberlist off (env METALLB_ML_BIND_ADDR)
  --ml-bind-port PORT       memberlist port (env METALLB_ML_BIND_PORT; default 7946)
  --ml-labels SELECTOR      speaker Pods to join (env METALLB_ML_LABELS; default app=l2lb,component=speaker)
  --ml-join ADDR[,ADDR...]  static peers, IP or IP:PORT (env L2LB_ML_JOIN)
  --ml-secret-key-path DIR  reads DIR/secretkey (env METALLB_ML_SECRET_KEY_PATH; default /etc/ml_secret_key)
  --ml-profile fast|lan     memberlist timings (env L2LB_ML_PROFILE; default fast)
  --lb-class CLASS          only Services with this spec.loadBalancerClass; empty: only those without one
                            (env L2LB_LB_CLASS)
  --network-thread=BOOL     run memberlist and the ARP/NDP announcer on their own thread, so Kubernetes
                            work cannot delay a memberlist ack or an ARP reply (env L2LB_NETWORK_THREAD;
                            default true; false: everything on the main thread, as before 0.2)
  --ignore-exclude-lb       keep nodes labelled node.kubernetes.io/exclude-from-external-load-balancers
                            (env L2LB_IGNORE_EXCLUDE_LB=true)
  --metrics-host HOST       (env L2LB_METRICS_HOST; default 0.0.0.0)
  --metrics-port PORT       /metrics, /healthz, /readyz; 0 disables (env L2LB_METRICS_PORT; default 7472)
  --log-level LEVEL         error, warn, info or debug (env L2LB_LOG_LEVEL; default info)
  --log-format FORMAT       json or text (env L2LB_LOG_FORMAT; default json)
  -h, --help                this help`;

export interface RunOptions extends ProcessOptions {
  nodeName: string;
  /** undefined: memberlist off. */
  mlBindAddr: string | undefined;
  mlBindPort: number;
  mlLabels: string;
  mlJoin: { host: string; port: number | undefined }[];
  mlSecretKeyPath: string;
  mlProfile: 'fast' | 'lan';
  ignoreExcludeLb: boolean;
  /** Memberlist and the announcer in a worker_thread (default) or on the main thread. */
  networkThread: boolean;
}

type Key = keyof RunOptions;
const FLAGS: Record<string, FlagSpec<Key>> = {
  ...PROCESS_FLAGS,
  '--node-name': { env: ['L2LB_NODE_NAME', 'METALLB_NODE_NAME'], key: 'nodeName' },
  '--ml-bind-addr': { env: ['METALLB_ML_BIND_ADDR'], key: 'mlBindAddr' },
  '--ml-bind-port': { env: ['METALLB_ML_BIND_PORT'], key: 'mlBindPort' },
  '--ml-labels': { env: ['METALLB_ML_LABELS'], key: 'mlLabels' },
  '--ml-join': { env: ['L2LB_ML_JOIN'], key: 'mlJoin' },
  '--ml-secret-key-path': { env: ['METALLB_ML_SECRET_KEY_PATH'], key: 'mlSecretKeyPath' },
  '--ml-profile': { env: ['L2LB_ML_PROFILE'], key: 'mlProfile' },
  '--ignore-exclude-lb': { env: ['L2LB_IGNORE_EXCLUDE_LB'], key: 'ignoreExcludeLb', boolean: true },
  '--network-thread': { env: ['L2LB_NETWORK_THREAD'], key: 'networkThread', boolean: true },
};

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SELECTOR_TERM = /^!?[A-Za-z0-9][-A-Za-z0-9_./]*(\s*(=|==|!=)\s*[-A-Za-z0-9_.]*)?$/;

/** IP or IP:PORT ([v6]:PORT for IPv6 with a port). */
export function parseJoinAddress(text: string): { host: string; port: number | undefined } | string {
  const t = text.trim();
  if (isIP(t)) return { host: t, port: undefined };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(t) ?? /^([^:]+):(\d+)$/.exec(t);
  const p = m ? portValue(m[2] ?? '', '--ml-join port', 1) : 'x';
  if (!m || !isIP(m[1] ?? '') || typeof p === 'string') return `--ml-join: ${JSON.stringify(t)} is not IP or IP:PORT`;
  return { host: m[1] ?? '', port: p };
}

/** Flags win over environment variables; returns an error message for bad input (the CLI exits 2). */
export function parseRunArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): RunOptions | { help: true } | { error: string } {
  const raw = readFlags(argv, env, FLAGS);
  if (!(raw instanceof Map)) return raw;
  const nodeName = raw.get('nodeName') ?? '';
  if (nodeName === '') return { error: '--node-name is required (or set L2LB_NODE_NAME / METALLB_NODE_NAME)' };
  if (!DNS_SUBDOMAIN.test(nodeName) || nodeName.length > 253) return { error: `--node-name ${JSON.stringify(nodeName)} is not a valid node name` };
  const common = processOptions(raw);
  if ('error' in common) return common;
  const bind = raw.get('mlBindAddr') ?? '';
  if (bind !== '' && !isIP(bind)) return { error: `--ml-bind-addr must be an IP address, got ${JSON.stringify(bind)}` };
  const mlBindPort = portValue(raw.get('mlBindPort') ?? '7946', '--ml-bind-port', 1);
  if (typeof mlBindPort === 'string') return { error: mlBindPort };
  const mlLabels = raw.get('mlLabels') ?? 'app=l2lb,component=speaker';
  if (mlLabels !== '' && !mlLabels.split(',').every((t) => SELECTOR_TERM.test(t.trim()))) {
    return { error: `--ml-labels must be a label selector like app=l2lb,component=speaker, got ${JSON.stringify(mlLabels)}` };
  }
  const mlJoin: RunOptions['mlJoin'] = [];
  for (const part of (raw.get('mlJoin') ?? '').split(',').filter((s) => s.trim() !== '')) {
    const j = parseJoinAddress(part);
    if (typeof j === 'string') return { error: j };
    mlJoin.push(j);
  }
  const mlProfile = raw.get('mlProfile') ?? 'fast';
  if (mlProfile !== 'fast' && mlProfile !== 'lan') return { error: `--ml-profile must be fast or lan, got ${JSON.stringify(mlProfile)}` };
  const ignore = (raw.get('ignoreExcludeLb') ?? 'false').toLowerCase();
  if (!['true', 'false', '1', '0'].includes(ignore)) return { error: `--ignore-exclude-lb takes true or false, got ${JSON.stringify(ignore)}` };
  const networkThread = (raw.get('networkThread') ?? 'true').toLowerCase();
  if (!['true', 'false', '1', '0'].includes(networkThread)) return { error: `--network-thread takes true or false, got ${JSON.stringify(networkThread)}` };
  const secretPath = raw.get('mlSecretKeyPath') ?? '/etc/ml_secret_key';
  return {
    ...common,
    nodeName,
    mlBindAddr: bind === '' ? undefined : bind,
    mlBindPort,
    mlLabels,
    mlJoin,
    mlSecretKeyPath: secretPath === '' ? '/etc/ml_secret_key' : secretPath,
    mlProfile,
    ignoreExcludeLb: ignore === 'true' || ignore === '1',
    networkThread: networkThread === 'true' || networkThread === '1',
  };
}
