// The embedded API server (@l2lb/apiserver) in-process on loopback, with a kubeconfig and a client,
// for process-edge tests that need no root.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { KubeClient } from '@l2lb/shared/kube/client';
import { loadClientConfig } from '@l2lb/shared/kube/light-config';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { Api, EmbeddedApiServer, metallbCrds, renderKubeconfig, Store } from '@l2lb/apiserver';

export interface Embedded {
  client: KubeClient;
  /** A temporary directory (kubeconfig inside), removed by close(). */
  dir: string;
  metallbCrds(): KubeObject[];
  close(): Promise<void>;
}

/** metallbBuiltin false: the metallb.io kinds are served only once their CRDs are created. */
export async function startEmbedded(opts: { metallbBuiltin?: boolean } = {}): Promise<Embedded> {
  const server = new EmbeddedApiServer({ host: '127.0.0.1', port: 0, api: new Api(new Store(), { metallbBuiltin: opts.metallbBuiltin ?? true }) });
  const url = await server.start();
  const dir = mkdtempSync(join(tmpdir(), 'l2sr-api-'));
  writeFileSync(join(dir, 'kubeconfig'), renderKubeconfig({ server: url }));
  const client = new KubeClient(await loadClientConfig(join(dir, 'kubeconfig')));
  return {
    client,
    dir,
    metallbCrds: () => metallbCrds(),
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A winston logger whose JSON lines land in `lines`. */
export function memoryLogger(lines: Record<string, unknown>[]): winston.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
}

/** A LoadBalancer Service with status ingress `ip` and an EndpointSlice with one ready endpoint on `node`. */
export async function createService(client: KubeClient, name: string, ip: string, node: string): Promise<void> {
  await client.create(Resources.services, 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
  });
  await client.create(Resources.endpointSlicesV1, 'default', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'], nodeName: node, conditions: { ready: true } }],
  });
  await client.patch(Resources.services, 'default', name, { status: { loadBalancer: { ingress: [{ ip }] } } }, 'merge', 'status');
}
