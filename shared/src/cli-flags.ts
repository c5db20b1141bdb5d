// Command-line flags over environment variables, as the controller and the speaker take them.
// Pure: the caller validates the raw values and names the flag in its messages.

export interface FlagSpec<K extends string> {
  /** Environment variables read when the flag is absent; the first non-empty one wins. */
  readonly env: readonly string[];
  readonly key: K;
  /** A switch: `--flag` alone means "true" (`--flag=false` also works). */
  readonly boolean?: true;
}

/**
 * Collects raw values (trimmed): environment first, then `--flag value` / `--flag=value`, so flags win.
 * `-h`/`--help` anywhere gives `{ help: true }`; an unknown flag or a missing value gives `{ error }`.
 */
export function readFlags<K extends string>(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  flags: Readonly<Record<string, FlagSpec<K>>>,
): Map<K, string> | { help: true } | { error: string } {
  const raw = new Map<K, string>();
  for (const spec of Object.values(flags)) {
    const value = spec.env.map((e) => env[e]).find((v) => v !== undefined && v !== '');
    if (value !== undefined) raw.set(spec.key, value.trim());
  }
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') return { help: true };
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = flags[flag];
    if (spec === undefined) return { error: `unknown flag ${JSON.stringify(arg)}` };
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (spec.boolean) value = 'true';
    else {
      value = argv[i + 1];
      i += 1;
    }
    if (value === undefined) return { error: `${flag} needs a value` };
    raw.set(spec.key, value.trim());
  }
  return raw;
}

/** A TCP/UDP port number in [min, 65535], or the message naming `flag`. */
export function portValue(text: string, flag: string, min = 0): number | string {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > 65535) return `${flag} must be a port number ${min}-65535, got ${JSON.stringify(text)}`;
  return n;
}

export type ProcessFlagKey = 'kubeconfig' | 'namespace' | 'lbClass' | 'metricsHost' | 'metricsPort' | 'logLevel' | 'logFormat';

/** The flags the controller and the speaker share, with the same environment fallbacks. */
export const PROCESS_FLAGS: Readonly<Record<string, FlagSpec<ProcessFlagKey>>> = {
  '--kubeconfig': { env: ['L2LB_KUBECONFIG', 'KUBECONFIG'], key: 'kubeconfig' },
  '--namespace': { env: ['L2LB_NAMESPACE', 'METALLB_NAMESPACE'], key: 'namespace' },
  '--lb-class': { env: ['L2LB_LB_CLASS'], key: 'lbClass' },
  '--metrics-host': { env: ['L2LB_METRICS_HOST'], key: 'metricsHost' },
  '--metrics-port': { env: ['L2LB_METRICS_PORT'], key: 'metricsPort' },
  '--log-level': { env: ['L2LB_LOG_LEVEL'], key: 'logLevel' },
  '--log-format': { env: ['L2LB_LOG_FORMAT'], key: 'logFormat' },
};

export interface ProcessOptions {
  kubeconfig: string | undefined;
  namespace: string;
  lbClass: string;
  metricsHost: string;
  metricsPort: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'json' | 'text';
}

const LOG_LEVELS: readonly ProcessOptions['logLevel'][] = ['error', 'warn', 'info', 'debug'];

/** Validates the PROCESS_FLAGS values read by readFlags(), with their defaults. */
export function processOptions(raw: ReadonlyMap<string, string>): ProcessOptions | { error: string } {
  const metricsPort = portValue(raw.get('metricsPort') ?? '7472', '--metrics-port');
  if (typeof metricsPort === 'string') return { error: metricsPort };
  const logLevel = LOG_LEVELS.find((l) => l === (raw.get('logLevel') ?? 'info'));
  if (!logLevel) return { error: `--log-level must be error, warn, info or debug, got ${JSON.stringify(raw.get('logLevel'))}` };
  const logFormat = raw.get('logFormat') ?? 'json';
  if (logFormat !== 'json' && logFormat !== 'text') return { error: `--log-format must be json or text, got ${JSON.stringify(logFormat)}` };
  const namespace = raw.get('namespace') ?? 'l2lb-system';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63)
    return { error: `--namespace ${JSON.stringify(namespace)} is not a valid namespace name` };
  return {
    kubeconfig: raw.get('kubeconfig') || undefined,
    namespace,
    lbClass: raw.get('lbClass') ?? '',
    metricsHost: raw.get('metricsHost') || '0.0.0.0',
    metricsPort,
    logLevel,
    logFormat,
  };
}
