// The `l2lb` operator tool: one binary, subcommands dispatched by name.
import { runConfigCommand } from './config-check.js';
import { runLab } from '../lab/index.js';

const USAGE = `usage: l2lb <command> [arguments]

commands:
  config check [--json] FILE...   validate pool configuration (ConfigMap, raw config, or
                                  IPAddressPool / L2Advertisement manifests) and summarise it
  apiserver --listen ADDR:PORT    run the embedded Kubernetes API server used by the lab
  lab up|demo|status|kill|revive|kubectl|down
                                  the whole system on this machine in network namespaces
                                  (l2lb lab help for details; needs root)
  help                            show this text
`;

export async function main(
  argv: string[],
  io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'config':
      return runConfigCommand(rest, io);
    case 'apiserver':
      // Loaded on use: the other commands do not need the server's modules.
      return (await import('@l2lb/apiserver/cli')).run(rest);
    case 'lab':
      return runLab(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      (command === undefined ? io.err : io.out).write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.err.write(`l2lb: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}
