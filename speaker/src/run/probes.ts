// The speaker's HTTP endpoint: /metrics (prom-client), /healthz (200 while the process runs) and
// /readyz (200 once the informers synced and memberlist started).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Probes {
  readonly port: number;
  close(): Promise<void>;
}

export function serveProbes(host: string, port: number, registry: Registry, ready: () => boolean): Promise<Probes> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (code: number, body: string): void => {
      res.writeHead(code, { 'Content-Type': 'text/plain' }).end(body);
    };
    if (path === '/healthz') return text(200, 'ok\n');
    if (path === '/readyz') return ready() ? text(200, 'ok\n') : text(503, 'not ready: informers not synced or memberlist not started\n');
    if (path !== '/metrics') return text(404, 'try /metrics, /healthz or /readyz\n');
    registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(body),
      (e: unknown) => text(500, `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}
