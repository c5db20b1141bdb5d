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
