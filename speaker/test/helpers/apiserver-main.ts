// Runs the embedded API server (from @l2lb/lab) on HOST:PORT and writes a kubeconfig for it, so
// integration tests can start it inside a test network namespace (`ip netns exec NS node this.js`).
// usage: node apiserver-main.js HOST PORT KUBECONFIG_OUT. Prints "serving URL" when ready.
import { writeFileSync } from 'node:fs';

interface LabApi {
  EmbeddedApiServer: new (opts: { host?: string; port?: number }) => { start(): Promise<string>; close(): Promise<void> };
  renderKubeconfig(p: { server: string }): string;
}

const [host, port, out] = process.argv.slice(2);
if (!host || !port || !out) {
  process.stderr.write('usage: apiserver-main.js HOST PORT KUBECONFIG_OUT\n');
  process.exit(2);
}
// Resolved at run time: the lab package is built before the tests run (no compile-time dependency).
const specifier = '@l2lb/lab/apiserver/index';
const lab = (await import(specifier)) as LabApi;
const server = new lab.EmbeddedApiServer({ host, port: Number(port) });
const url = await server.start();
writeFileSync(out, lab.renderKubeconfig({ server: url }), { mode: 0o600 });
process.stdout.write(`serving ${url}\n`);
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
