// Argument parsing for `l2lb lab ...` (pure): a parsed command or a message naming what is wrong.
import { DEFAULT_NODES, DEFAULT_PREFIX, MAX_NODES, prefixProblem, type MlProfile } from './plan.js';

export const LAB_USAGE = `usage: l2lb lab <command> [options]

commands:
  up [--nodes N] [--ml-profile fast|lan]   build the lab and start the API server, controller and speakers
     [--kubernetes]                        ... or a real Kubernetes v1.20 (kubelets, containerd) running l2lb's images
  demo [--keep] [--no-compare] [--nodes N] the whole story: up, pool, Service, failover (and the same with
                                           MetalLB's timings unless --no-compare), bad config, down
  status [--json]                          nodes, memberlist, Services and their announcing node, client ARP table
  kill NODE [--svg FILE]                   simulate a dead node: SIGKILL its speaker, set its link down;
                                           --svg: time the failover of its VIP and draw it
  revive NODE                              link up, start its speaker again
  kubectl ARGS...                          kubectl against the lab's API server (through the cp namespace)
  down                                     stop everything, delete the namespaces and the state directory

options for every command (before or after it; for kubectl only before its arguments):
  --prefix P      name prefix of every lab object (default ${DEFAULT_PREFIX}, env L2LB_LAB_PREFIX)
  --state DIR     state directory (default /run/l2lb-lab/<prefix>, env L2LB_LAB_STATE)

The lab needs root (network namespaces), iproute2, arping and kubectl.`;

interface Common {
  prefix: string;
  stateDir?: string;
}

export type LabCommand =
  | (Common & { cmd: 'up'; nodes: number; mlProfile: MlProfile; timeoutMs: number; kubernetes?: true })
  | (Common & { cmd: 'demo'; nodes: number; keep: boolean; compare: boolean; mlProfile: MlProfile; timeoutMs: number })
  | (Common & { cmd: 'status'; json: boolean })
  | (Common & { cmd: 'kill'; node: string; svg?: string })
  | (Common & { cmd: 'revive'; node: string })
  | (Common & { cmd: 'kubectl'; args: string[] })
  | (Common & { cmd: 'down' })
  | { cmd: 'help' };

export type ParseResult = { ok: true; command: LabCommand } | { ok: false; error: string };

const SUBCOMMANDS = new Set(['up', 'demo', 'status', 'kill', 'revive', 'kubectl', 'down', 'help']);

function fail(error: string): ParseResult {
  return { ok: false, error };
}

/** Parses `l2lb lab` arguments. `env` supplies L2LB_LAB_PREFIX / L2LB_LAB_STATE defaults. */
export function parseLabArgs(argv: string[], env: Record<string, string | undefined> = {}): ParseResult {
  let prefix = env['L2LB_LAB_PREFIX'] || DEFAULT_PREFIX;
  let stateDir = env['L2LB_LAB_STATE'] || undefined;
  let sub: string | undefined;
  let nodes = DEFAULT_NODES;
  let mlProfile: MlProfile = 'fast';
  let json = false;
  let svg: string | undefined;
  let keep = false;
  let compare = true;
  let kubernetes = false;
  let timeoutMs = 60_000;
  const positional: string[] = [];
  let kubectlArgs: string[] | undefined;

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (sub === 'kubectl') {
      // kubectl takes everything after its own leading --prefix/--state (and an optional --).
      if (a === '--') {
        kubectlArgs = argv.slice(i + 1);
        break;
      }
      if (a !== '--prefix' && a !== '--state' && !a.startsWith('--prefix=') && !a.startsWith('--state=')) {
        kubectlArgs = argv.slice(i);
        break;
      }
    }
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag.startsWith('-')) {
      const needs = (v: string | undefined): v is string => v !== undefined && v !== '';
      switch (flag) {
        case '--prefix': {
          const v = value();
          if (!needs(v)) return fail('--prefix needs a value');
          prefix = v;
          break;
        }
        case '--state': {
          const v = value();
          if (!needs(v)) return fail('--state needs a value');
          stateDir = v;
          break;
        }
        case '--nodes': {
          const v = value();
          const n = Number(v);
          if (!needs(v) || !/^\d+$/.test(v) || n < 1 || n > MAX_NODES)
            return fail(`--nodes wants a whole number from 1 to ${MAX_NODES}, got ${JSON.stringify(v ?? '')}`);
          nodes = n;
          break;
        }
        case '--ml-profile': {
          const v = value();
          if (v !== 'fast' && v !== 'lan') return fail(`--ml-profile wants fast or lan, got ${JSON.stringify(v ?? '')}`);
          mlProfile = v;
          break;
        }
        case '--timeout': {
          const v = value();
          const n = Number(v);
          if (!needs(v) || !Number.isFinite(n) || n <= 0) return fail(`--timeout wants seconds > 0, got ${JSON.stringify(v ?? '')}`);
          timeoutMs = Math.round(n * 1000);
          break;
        }
        case '--json':
          json = true;
          break;
        case '--svg': {
          const v = value();
          if (!needs(v)) return fail('--svg needs a file name');
          svg = v;
          break;
        }
        case '--keep':
          keep = true;
          break;
        case '--no-compare':
          compare = false;
          break;
        case '--kubernetes':
          kubernetes = true;
          break;
        case '-h':
        case '--help':
          return { ok: true, command: { cmd: 'help' } };
        default:
          return fail(`unknown option ${JSON.stringify(a)}${sub ? ` for "lab ${sub}"` : ''}`);
      }
      continue;
    }
    if (sub === undefined) {
      if (!SUBCOMMANDS.has(a)) return fail(`unknown lab command ${JSON.stringify(a)}`);
      sub = a;
    } else {
      positional.push(a);
    }
  }

  if (sub === undefined) return fail('a lab command is required');
  if (sub === 'help') return { ok: true, command: { cmd: 'help' } };
  const problem = prefixProblem(prefix);
  if (problem) return fail(problem);
  const common: Common = { prefix, ...(stateDir ? { stateDir } : {}) };
  const only = (allowed: string[], given: Record<string, boolean>): ParseResult | undefined => {
    for (const [name, used] of Object.entries(given)) {
      if (used && !allowed.includes(name)) return fail(`${name} does not apply to "lab ${sub}"`);
    }
    return undefined;
  };
  const given = {
    '--nodes': nodes !== DEFAULT_NODES,
    '--ml-profile': mlProfile !== 'fast',
    '--json': json,
    '--keep': keep,
    '--no-compare': !compare,
    '--timeout': timeoutMs !== 60_000,
    '--svg': svg !== undefined,
    '--kubernetes': kubernetes,
  };
  const noPositional = (): ParseResult | undefined =>
    positional.length > 0 ? fail(`unexpected argument ${JSON.stringify(positional[0])} for "lab ${sub}"`) : undefined;
  switch (sub) {
    case 'up':
      return (
        only(['--nodes', '--ml-profile', '--timeout', '--kubernetes'], given) ??
        noPositional() ?? { ok: true, command: { ...common, cmd: 'up', nodes, mlProfile, timeoutMs, ...(kubernetes ? { kubernetes: true as const } : {}) } }
      );
    case 'demo':
      return (
        only(['--nodes', '--ml-profile', '--timeout', '--keep', '--no-compare'], given) ??
        noPositional() ?? { ok: true, command: { ...common, cmd: 'demo', nodes, keep, compare, mlProfile, timeoutMs } }
      );
    case 'status':
      return only(['--json'], given) ?? noPositional() ?? { ok: true, command: { ...common, cmd: 'status', json } };
    case 'down':
      return only([], given) ?? noPositional() ?? { ok: true, command: { ...common, cmd: 'down' } };
    case 'kill':
    case 'revive': {
      const bad = only(sub === 'kill' ? ['--svg'] : [], given);
      if (bad) return bad;
      if (positional.length !== 1) return fail(`"lab ${sub}" wants exactly one node name (n1, n2, ...)`);
      const node = positional[0] ?? '';
      if (!/^n\d+$/.test(node)) return fail(`node name must look like n1, n2, ..., got ${JSON.stringify(node)}`);
      if (sub === 'kill' && svg !== undefined) return { ok: true, command: { ...common, cmd: 'kill', node, svg } };
      return { ok: true, command: { ...common, cmd: sub, node } };
    }
    case 'kubectl': {
      const bad = only([], given);
      if (bad) return bad;
      const args = kubectlArgs ?? [];
      if (args.length === 0) return fail('"lab kubectl" wants kubectl arguments, e.g. l2lb lab kubectl get svc -A');
      return { ok: true, command: { ...common, cmd: 'kubectl', args } };
    }
    default:
      return fail(`unknown lab command ${JSON.stringify(sub)}`);
  }
}
