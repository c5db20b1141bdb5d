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

/** A module whose `run(args)` implements a subcommand and resolves to its exit code. */
interface SubcommandModule {
  run(args: string[]): Promise<number>;
}

function isSubcommandModule(value: unknown): value is SubcommandModule {
  return typeof value === 'object' && value !== null && typeof (value as { run?: unknown }).run === 'function';
}

/** Loads a subcommand that lives in another part of the package, by path relative to this file. */
async function loadSubcommand(relativePath: string): Promise<SubcommandModule | undefined> {
  try {
    const loaded: unknown = await import(new URL(relativePath, import.meta.url).href);
    return isSubcommandModule(loaded) ? loaded : undefined;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

export async function main(argv: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'config':
      return runConfigCommand(rest, io);
    case 'apiserver': {
      const sub = await loadSubcommand('../apiserver/cli.js');
      if (sub === undefined) {
        io.err.write('l2lb apiserver is not built yet\n');
        return 2;
      }
      return sub.run(rest);
    }
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
