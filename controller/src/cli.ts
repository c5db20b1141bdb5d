// `l2lb-controller`: flags (each also an environment variable), logging, signals.
import { hostname } from 'node:os';
import { KubeClient } from '@l2lb/shared/kube/client';
import { loadClientConfig } from '@l2lb/shared/kube/light-config';
import { errorText } from '@l2lb/shared/log';
import { Controller } from './controller.js';
import { startProbeServer, type ProbeServer } from '@l2lb/shared/probes';
import { processLogger, runUntilSignal } from '@l2lb/shared/lifecycle';
import { PROCESS_FLAGS, processOptions, readFlags, type ProcessOptions } from '@l2lb/shared/cli-flags';
import { controllerMetrics } from './metrics.js';

export const USAGE = `usage: l2lb-controller [flags]
Allocates virtual IPs to Services of type LoadBalancer (MetalLB layer-2 compatible).

  --kubeconfig FILE     kubeconfig to use (env L2LB_KUBECONFIG or KUBECONFIG); default: in-cluster service account
  --namespace NS        namespace of the ConfigMap "config", the metallb.io CRs and the Secret "memberlist"
                        (env L2LB_NAMESPACE; default l2lb-system)
  --lb-class CLASS      only handle Services with this spec.loadBalancerClass; empty: only Services without one
                        (env L2LB_LB_CLASS; default empty)
  --metrics-port PORT   /metrics, /healthz and /readyz port, 0 disables (env L2LB_METRICS_PORT; default 7472)
  --metrics-host HOST   address to bind the metrics port (env L2LB_METRICS_HOST; default 0.0.0.0)
  --log-level LEVEL     error, warn, info or debug (env L2LB_LOG_LEVEL; default info)
  --log-format FORMAT   json or text (env L2LB_LOG_FORMAT; default json)
  -h, --help            this help`;

export type CliOptions = ProcessOptions;

/** Flags win over environment variables; returns an error message for bad input. Pure. */
export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliOptions | { help: true } | { error: string } {
  const raw = readFlags(argv, env, PROCESS_FLAGS);
  if (!(raw instanceof Map)) return raw;
  return processOptions(raw);
}

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const parsed = parseArgs(argv, env);
  if ('help' in parsed) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ('error' in parsed) {
    process.stderr.write(`l2lb-controller: ${parsed.error}\n${USAGE}\n`);
    return 2;
  }
  const log = processLogger({ component: 'controller', level: parsed.logLevel, format: parsed.logFormat });
  let client: KubeClient;
  try {
    client = new KubeClient(await loadClientConfig(parsed.kubeconfig), { userAgent: 'l2lb-controller' });
  } catch (e) {
    log.error(`cannot load the Kubernetes client configuration: ${errorText(e)}`);
    return 1;
  }
  const metrics = controllerMetrics();
  const controller = new Controller({
    client,
    namespace: parsed.namespace,
    lbClass: parsed.lbClass,
    logger: log,
    metrics,
    instance: env['POD_NAME'] ?? env['L2LB_POD_NAME'] ?? hostname(),
  });
  let probes: ProbeServer | undefined;
  if (parsed.metricsPort !== 0) {
    try {
      probes = await startProbeServer({
        host: parsed.metricsHost,
        port: parsed.metricsPort,
        registry: metrics.registry,
        ready: () => controller.ready,
        notReadyText: 'informers not synced yet',
        readyText: () => controller.status,
      });
    } catch (e) {
      log.error(`cannot listen on ${parsed.metricsHost}:${parsed.metricsPort} for metrics: ${errorText(e)}`);
      return 1;
    }
  }
  log.info('starting', { namespace: parsed.namespace, lbClass: parsed.lbClass, metricsPort: probes?.port ?? 0, server: client.server });

  return runUntilSignal(controller, {
    log,
    stopping: 'shutting down',
    ready: 'ready: initial synchronisation done',
    failed: 'controller failed',
    deadline: { ms: 10_000, code: 1, message: 'shutdown took longer than 10 s, exiting' },
    afterStop: async () => probes?.close(),
  });
}
