// Runs the embedded API server (@l2lb/apiserver) on HOST:PORT and writes a kubeconfig for it, so
// integration tests can start it inside a test network namespace (`ip netns exec NS node this.js`).
// usage: node apiserver-main.js HOST PORT KUBECONFIG_OUT. Prints "serving URL" when ready.
import { writeFileSync } from 'node:fs';
import { EmbeddedApiServer, renderKubeconfig } from '@l2lb/apiserver';

const [host, port, out] = process.argv.slice(2);
if (!host || !port || !out) {
  process.stderr.write('usage: apiserver-main.js HOST PORT KUBECONFIG_OUT\n');
  process.exit(2);
}
const server = new EmbeddedApiServer({ host, port: Number(port) });
const url = await server.start();
writeFileSync(out, renderKubeconfig({ server: url }), { mode: 0o600 });
process.stdout.write(`serving ${url}\n`);
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
