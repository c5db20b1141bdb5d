// `l2lb config check FILE...`: validates configuration files the way the controller will.
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import {
  ADVERTISEMENT_KIND,
  buildConfigFromSources,
  ConfigError,
  formatProblem,
  formatSelector,
  POOL_KIND,
  type Config,
  type LabelSelector,
} from '@l2lb/shared';
import { errorText } from '@l2lb/shared/log';

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_UNREADABLE = 2;

interface Io {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

const CONFIG_USAGE = `usage: l2lb config check [--json] [--strict] FILE...

FILE is a ConfigMap manifest (data.config), the raw config YAML (address-pools: ...), or YAML
with IPAddressPool / L2Advertisement objects (several documents per file; any mix of files).
What MetalLB accepts is accepted, with a warning where l2lb reads it differently from what is
written (a CIDR with host bits, an unknown CR field, BGP objects, no pool at all).
  --strict   every warning is an error (exit 1), for CI pipelines
Exit status: 0 valid, 1 invalid configuration (or a warning with --strict), 2 unreadable file,
not YAML, or bad usage.
`;

export async function runConfigCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'check') {
    io.err.write(sub === undefined ? CONFIG_USAGE : `l2lb config: unknown subcommand ${JSON.stringify(sub)}\n\n${CONFIG_USAGE}`);
    return EXIT_UNREADABLE;
  }
  const json = rest.includes('--json');
  const strict = rest.includes('--strict');
  const files = rest.filter((a) => a !== '--json' && a !== '--strict');
  const unknownFlag = files.find((f) => f.startsWith('-') && f !== '-');
  if (unknownFlag !== undefined || files.length === 0) {
    io.err.write(unknownFlag !== undefined ? `l2lb config check: unknown option ${unknownFlag}\n\n${CONFIG_USAGE}` : CONFIG_USAGE);
    return EXIT_UNREADABLE;
  }
  return checkFiles(files, { json, strict }, io);
}

/** Where a piece of configuration came from, for messages. */
interface Located {
  readonly where: string;
}

interface Collected {
  configMaps: (Located & { text: string; object: string })[];
  resources: (Located & { value: unknown })[];
  problems: string[];
  warnings: string[];
}

async function checkFiles(files: string[], options: { json: boolean; strict: boolean }, io: Io): Promise<number> {
  const inputs: ConfigText[] = [];
  for (const file of files) {
    try {
      inputs.push({ name: file, text: file === '-' ? await readStdin() : await readFile(file, 'utf8') });
    } catch (error) {
      io.err.write(`error: cannot read ${file}: ${errorText(error)}\n`);
      return EXIT_UNREADABLE;
    }
  }
  const verdict = checkConfigTexts(inputs, options);
  for (const line of verdict.errors) io.err.write(`error: ${line}\n`);
  for (const line of verdict.warnings) io.err.write(`${options.strict ? 'error' : 'warning'}: ${line}\n`);
  if (verdict.summary !== undefined) io.err.write(`${verdict.summary}\n`);
  if (verdict.code === EXIT_VALID && verdict.config !== undefined) {
    io.out.write(options.json ? `${JSON.stringify(configToJson(verdict.config))}\n` : summarize(verdict.config));
  }
  return verdict.code;
}

/** One file's text, named for messages. */
export interface ConfigText {
  readonly name: string;
  readonly text: string;
}

export interface ConfigVerdict {
  /** EXIT_VALID, EXIT_INVALID or EXIT_UNREADABLE. */
  readonly code: number;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  /** A closing line such as "2 errors: the configuration is invalid". */
  readonly summary: string | undefined;
  readonly config: Config | undefined;
}

/**
 * What `l2lb config check` decides about these texts, without I/O: the same validation as the controller
 * and the speaker (buildConfigFromSources), after sorting the documents into ConfigMap and CR input.
 */
export function checkConfigTexts(inputs: readonly ConfigText[], { strict = false }: { strict?: boolean } = {}): ConfigVerdict {
  const collected: Collected = { configMaps: [], resources: [], problems: [], warnings: [] };
  const verdict = (code: number, errors: string[], warnings: string[], summary?: string, config?: Config): ConfigVerdict => ({
    code,
    errors,
    warnings,
    summary,
    config,
  });
  for (const { name: file, text } of inputs) {
    const documents = parseAllDocuments(text, { version: '1.1', uniqueKeys: true, prettyErrors: false });
    const docs = Array.isArray(documents) ? documents : [documents];
    for (const [index, doc] of docs.entries()) {
      const yamlError = doc.errors[0];
      if (yamlError !== undefined) return verdict(EXIT_UNREADABLE, [`${file}: document ${index + 1} is not valid YAML: ${yamlError.message}`], []);
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (error) {
        return verdict(EXIT_UNREADABLE, [`${file}: document ${index + 1} is not valid YAML: ${errorText(error)}`], []);
      }
      classify(value, docs.length > 1 ? `${file} (document ${index + 1})` : file, collected);
    }
  }

  if (collected.configMaps.length > 1) {
    collected.problems.push(`more than one ConfigMap-format configuration given (${collected.configMaps.map((c) => c.where).join(', ')}); a cluster has one`);
  }
  if (collected.configMaps.length === 0 && collected.resources.length === 0 && collected.problems.length === 0) {
    // Valid, as in MetalLB: the controller then keeps every assignment and allocates nothing.
    collected.warnings.push(`no configuration found in ${inputs.map((i) => i.name).join(', ')}`);
  }
  if (collected.problems.length > 0) return verdict(EXIT_INVALID, collected.problems, []);

  const configMap = collected.configMaps[0];
  let config: Config;
  try {
    config = buildConfigFromSources({
      configMapText: configMap?.text,
      configMapObject: configMap?.object,
      resources: collected.resources.map((r) => r.value),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const n = error.problems.length;
    return verdict(EXIT_INVALID, error.problems.map(formatProblem), [], `${n} error${n === 1 ? '' : 's'}: the configuration is invalid`);
  }
  const warnings = [...collected.warnings, ...config.warnings];
  if (strict && warnings.length > 0) {
    return verdict(EXIT_INVALID, [], warnings, `${warnings.length} warning${warnings.length === 1 ? '' : 's'}, refused by --strict`, config);
  }
  return verdict(EXIT_VALID, [], warnings, undefined, config);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const LEGACY_KEYS = ['address-pools', 'peers', 'bgp-communities', 'bfd-profiles'];

function classify(value: unknown, where: string, collected: Collected): void {
  if (value === null || value === undefined) return; // an empty document, e.g. after a trailing ---
  if (!isRecord(value)) {
    collected.problems.push(`${where}: expected a Kubernetes object or an l2lb config mapping, got ${Array.isArray(value) ? 'a list' : typeof value}`);
    return;
  }
  const kind = value['kind'];
  if (kind === 'List' && Array.isArray(value['items'])) {
    value['items'].forEach((item: unknown, i) => classify(item, `${where} item ${i + 1}`, collected));
    return;
  }
  if (kind === 'ConfigMap') {
    const metadata = isRecord(value['metadata']) ? value['metadata'] : {};
    const name = typeof metadata['name'] === 'string' ? metadata['name'] : '(unnamed)';
    const namespace = typeof metadata['namespace'] === 'string' ? `${metadata['namespace']}/` : '';
    const object = `ConfigMap ${namespace}${name}`;
    const data = isRecord(value['data']) ? value['data'] : undefined;
    const text = data?.['config'];
    if (text === undefined) {
      // MetalLB reads a missing key as an empty configuration.
      collected.warnings.push(`${where}: ${object}: data.config is missing (an empty configuration); the pool configuration goes under the data key "config"`);
      collected.configMaps.push({ where, text: '', object: `${object} (${where})` });
      return;
    }
    if (typeof text !== 'string') {
      collected.problems.push(`${where}: ${object}: data.config must be a string (the configuration as YAML text)`);
      return;
    }
    collected.configMaps.push({ where, text, object: `${object} (${where})` });
    return;
  }
  // A mapping that is not a Kubernetes object is taken as the raw config, so a misspelt
  // key gets the validator's "unknown field" message rather than a vague one.
  if (kind === undefined && (value['apiVersion'] === undefined || Object.keys(value).some((k) => LEGACY_KEYS.includes(k)))) {
    collected.configMaps.push({ where, text: JSON.stringify(value), object: where });
    return;
  }
  if (typeof kind === 'string' && typeof value['apiVersion'] === 'string' && String(value['apiVersion']).startsWith('metallb.io/')) {
    collected.resources.push({ where, value });
    return;
  }
  if (kind === POOL_KIND || kind === ADVERTISEMENT_KIND) {
    collected.resources.push({ where, value }); // wrong apiVersion: reported by the validator
    return;
  }
  collected.problems.push(
    `${where}: ${kind === undefined ? 'a mapping without address-pools' : `kind ${JSON.stringify(kind)}`} is not l2lb configuration ` +
      '(expected a ConfigMap, the raw config with address-pools, IPAddressPool or L2Advertisement)',
  );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface ConfigJson {
  pools: { name: string; autoAssign: boolean; avoidBuggyIPs: boolean; cidrs: string[]; size: string }[];
  l2Advertisements: { name: string; ipAddressPools: string[]; nodeSelectors: LabelSelector[]; interfaces: string[] }[];
}

export function configToJson(config: Config): ConfigJson {
  return {
    pools: config.pools.map((p) => ({
      name: p.name,
      autoAssign: p.autoAssign,
      avoidBuggyIPs: p.avoidBuggyIPs,
      cidrs: p.cidrs.map((c) => c.toString()),
      size: p.size.toString(),
    })),
    l2Advertisements: config.l2Advertisements.map((ad) => ({
      name: ad.name,
      ipAddressPools: [...ad.ipAddressPools],
      nodeSelectors: ad.nodeSelectors.map((s) => ({
        matchLabels: { ...s.matchLabels },
        matchExpressions: s.matchExpressions.map((e) => ({ ...e, values: [...e.values] })),
      })),
      interfaces: [...ad.interfaces],
    })),
  };
}

function plural(n: number | bigint, word: string, many = `${word}s`): string {
  return `${n.toString()} ${n === 1 || n === 1n ? word : many}`;
}

export function summarize(config: Config): string {
  const lines: string[] = [];
  lines.push(`valid: ${plural(config.pools.length, 'address pool')}, ${plural(config.l2Advertisements.length, 'L2 advertisement')}`);
  if (config.pools.length > 0) {
    lines.push('', 'Address pools, in the order the controller tries them:');
    const width = Math.max(...config.pools.map((p) => p.name.length));
    config.pools.forEach((pool, i) => {
      const flags = [
        pool.source === 'configmap' ? 'ConfigMap' : 'IPAddressPool',
        pool.autoAssign ? 'auto-assign' : 'on request only',
        ...(pool.avoidBuggyIPs ? ['avoids .0/.255'] : []),
        ...(pool.serviceAllocation !== undefined ? [`priority ${pool.serviceAllocation.priority || 'unset'}`] : []),
      ];
      lines.push(
        `  ${String(i + 1).padStart(2)}. ${pool.name.padEnd(width)}  ${plural(pool.size, 'address', 'addresses').padStart(14)}  (${flags.join(', ')})`,
      );
      lines.push(`      ${pool.cidrs.map((c) => c.toString()).join(', ')}`);
      const allocation = pool.serviceAllocation;
      if (allocation !== undefined) {
        const limits = [
          ...(allocation.namespaces.length > 0 ? [`namespaces ${allocation.namespaces.join(', ')}`] : []),
          ...allocation.namespaceSelectors.map((s) => `namespaces matching ${formatSelector(s)}`),
          ...allocation.serviceSelectors.map((s) => `services matching ${formatSelector(s)}`),
        ];
        lines.push(`      only for: ${limits.length > 0 ? limits.join('; ') : 'every service (pinned by priority)'}`);
      }
    });
  }
  if (config.l2Advertisements.length > 0) {
    lines.push('', 'L2 advertisements:');
    for (const ad of config.l2Advertisements) {
      const nodes = ad.nodeSelectors.length === 0 ? 'all nodes' : ad.nodeSelectors.map(formatSelector).join(' or ');
      const interfaces = ad.interfaces.length === 0 ? 'all eligible interfaces' : ad.interfaces.join(', ');
      const pools = ad.ipAddressPools.length === 0 ? '(none)' : ad.ipAddressPools.join(', ');
      lines.push(`  ${ad.name}: announces ${pools}; from ${nodes}; on ${interfaces}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
