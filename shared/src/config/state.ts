// Keeps the configuration in force: a new valid config applies at once; an invalid one is refused
// (the last good config stays, the state is "stale") and its error is reported once per change.
// Pure: the process layer gathers the ConfigMap text and CRD objects and acts on the result.
import { buildConfigFromSources } from './crd.js';
import { ConfigError, formatProblem, type ConfigProblem } from './errors.js';
import type { Config } from './types.js';

export interface ConfigInputs {
  /** data.config of the pool ConfigMap; undefined when the ConfigMap (or the key) is absent. */
  readonly configMapText: string | undefined;
  /** How messages name the ConfigMap, e.g. `ConfigMap l2lb-system/config`. */
  readonly configMapObject: string;
  /** IPAddressPool and L2Advertisement objects (plain JSON). */
  readonly resources: readonly unknown[];
}

/** An object an invalid-config event goes to. */
export interface ConfigEventTarget {
  readonly kind: 'ConfigMap' | 'IPAddressPool' | 'L2Advertisement';
  /** For the ConfigMap: undefined (the process knows its name). */
  readonly name: string | undefined;
  readonly message: string;
}

export type ConfigUpdate =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'applied'; readonly config: Config; readonly recovered: boolean }
  | { readonly kind: 'invalid'; readonly message: string; readonly targets: readonly ConfigEventTarget[]; readonly repeated: boolean };

/** A stable text form of a Config, to tell real changes from resyncs. */
export function configFingerprint(config: Config): string {
  return JSON.stringify({
    pools: config.pools.map((p) => [p.name, p.source, p.autoAssign, p.avoidBuggyIPs, p.cidrs.map((c) => c.toString()), p.labels, p.serviceAllocation ?? null]),
    ads: config.l2Advertisements,
    // A new warning (an unknown field added to a CR, say) is a new configuration to report, even with the same pools.
    warnings: config.warnings,
  });
}

const CR_OBJECT = /^(IPAddressPool|L2Advertisement) "([^"]+)"/;

export function eventTargets(error: ConfigError): ConfigEventTarget[] {
  return groupByObject(error.problems, 'invalid configuration, keeping the last valid one: ');
}

/** The objects the warnings of a valid configuration belong to (Events: the ConfigMap, or the CR). */
export function warningTargets(config: Config): ConfigEventTarget[] {
  return groupByObject(config.objectWarnings ?? [], 'configuration accepted with warnings: ');
}

function groupByObject(problems: readonly ConfigProblem[], prefix: string): ConfigEventTarget[] {
  const grouped = new Map<string, { kind: ConfigEventTarget['kind']; name: string | undefined; lines: string[] }>();
  for (const problem of problems) {
    const match = CR_OBJECT.exec(problem.object);
    const kind = (match?.[1] ?? 'ConfigMap') as ConfigEventTarget['kind'];
    const name = match?.[2];
    const id = `${kind}/${name ?? ''}`;
    let entry = grouped.get(id);
    if (entry === undefined) {
      entry = { kind, name, lines: [] };
      grouped.set(id, entry);
    }
    entry.lines.push(formatProblem(problem));
  }
  return [...grouped.values()].map((g) => ({
    kind: g.kind,
    name: g.name,
    message: `${prefix}${g.lines.join('; ')}`,
  }));
}

export class ConfigState {
  private good: Config | undefined;
  private goodFingerprint: string | undefined;
  private lastError: string | undefined;

  get config(): Config | undefined {
    return this.good;
  }

  /** True while the newest inputs are invalid (the last good config, if any, stays in force). */
  get stale(): boolean {
    return this.lastError !== undefined;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  update(inputs: ConfigInputs): ConfigUpdate {
    let config: Config;
    try {
      config = buildConfigFromSources({
        configMapText: inputs.configMapText,
        configMapObject: inputs.configMapObject,
        resources: inputs.resources,
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const repeated = this.lastError === error.message;
      this.lastError = error.message;
      return { kind: 'invalid', message: error.message, targets: eventTargets(error), repeated };
    }
    const recovered = this.lastError !== undefined;
    this.lastError = undefined;
    const fingerprint = configFingerprint(config);
    if (fingerprint === this.goodFingerprint && !recovered) return { kind: 'unchanged' };
    this.good = config;
    this.goodFingerprint = fingerprint;
    return { kind: 'applied', config, recovered };
  }
}
