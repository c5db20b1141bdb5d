// MetalLB's legacy configuration format: the `config` key of the ConfigMap `config`.
import { parseDocument } from 'yaml';
import { buildConfig, parsePoolAddresses, type AdvertisementDraft, type PoolDraft } from './build.js';
import { ConfigError, describeType, ProblemList, show } from './errors.js';
import { CONFIGMAP_ADVERTISEMENT_NAME, type Config } from './types.js';
import { errorText } from '../log.js';

const BGP_SECTIONS = ['peers', 'bgp-communities', 'bfd-profiles'] as const;
const POOL_FIELDS = ['name', 'protocol', 'addresses', 'auto-assign', 'avoid-buggy-ips', 'bgp-advertisements'] as const;
const BGP_UNSUPPORTED = 'BGP mode is not supported by l2lb';

/** Limits that keep a hostile ConfigMap from costing unbounded memory or time. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/**
 * The yaml parser recurses once per nesting level and overflows the stack near 1000 levels (after a second of
 * CPU; parsing such a text again aborted the process in V8's RegExp compiler). No pool configuration nests
 * more than a handful of levels, so texts nested deeper than this are refused before parsing.
 */
export const MAX_YAML_NESTING = 64;
/** Block nesting is bounded through indentation: leading whitespace plus `- `/`? ` indicators, in columns. */
const MAX_YAML_INDENT_COLUMNS = 4 * MAX_YAML_NESTING;

/**
 * A linear over-estimate of the nesting of a YAML text: the deepest flow nesting ([ and { outside quoted
 * scalars and comments) and the widest indentation (block nesting). Returns a message when over the limits.
 */
function yamlNestingProblem(text: string): string | undefined {
  const blanks = leadingBlanksProblem(text);
  if (blanks !== undefined) return blanks;
  let flow = 0;
  let maxFlow = 0;
  let lineStart = true;
  let indent = 0;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") i++;
        else quote = undefined;
      }
      continue;
    }
    if (c === '\n') {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart) {
      if (c === ' ' || c === '\t') {
        indent++;
        continue;
      }
      if ((c === '-' || c === '?') && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
        indent += 2;
        i++;
        continue;
      }
      lineStart = false;
      if (indent > MAX_YAML_INDENT_COLUMNS) return `is nested deeper than ${MAX_YAML_NESTING} levels (${indent} columns of indentation)`;
    }
    if (c === '#' && (i === 0 || text[i - 1] === ' ' || text[i - 1] === '\t' || text[i - 1] === '\n')) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if ((c === '"' || c === "'") && (i === 0 || ' \t\n[{,:-?'.includes(text[i - 1] ?? ''))) {
      quote = c; // a quoted scalar starts after a separator; a quote inside a plain scalar (it's) is a character
    } else if (c === '[' || c === '{') {
      flow++;
      if (flow > maxFlow) maxFlow = flow;
      if (maxFlow > MAX_YAML_NESTING) return `is nested deeper than ${MAX_YAML_NESTING} levels ([ and { brackets)`;
    } else if ((c === ']' || c === '}') && flow > 0) {
      flow--;
    }
  }
  if (lineStart && indent > MAX_YAML_INDENT_COLUMNS) return `is nested deeper than ${MAX_YAML_NESTING} levels (${indent} columns of indentation)`;
  return undefined;
}

/**
 * Leading blanks of every physical line, inside quoted scalars too: the yaml parser takes time quadratic in
 * the blanks that start a line inside an unterminated quoted scalar (20 000 blanks: about 1 s, 100 000: 22 s,
 * a whole speaker stalled), and no pool configuration indents a line that far.
 */
function leadingBlanksProblem(text: string): string | undefined {
  let line = 1;
  let run = 0;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
      run = 0;
      atStart = true;
    } else if (atStart && (c === ' ' || c === '\t')) {
      if (++run > MAX_YAML_INDENT_COLUMNS)
        return `line ${line} starts with more than ${MAX_YAML_INDENT_COLUMNS} blanks (deeper than ${MAX_YAML_NESTING} levels of nesting)`;
    } else {
      atStart = false;
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses YAML the way MetalLB's Go parser reads it (YAML 1.1, so `yes`/`no` are booleans),
 * with duplicate keys and alias bombs rejected. Returns the plain value or throws ConfigError.
 */
export function parseYamlValue(text: string, object: string): unknown {
  if (typeof text !== 'string') throw new ConfigError([{ object, message: `expected YAML text, got ${describeType(text)}` }]);
  if (text.length > MAX_CONFIG_BYTES) {
    throw new ConfigError([{ object, message: `is ${text.length} bytes; the limit is ${MAX_CONFIG_BYTES}` }]);
  }
  const nesting = yamlNestingProblem(text);
  if (nesting !== undefined) throw new ConfigError([{ object, message: nesting }]);
  try {
    const doc = parseDocument(text, { version: '1.1', uniqueKeys: true, prettyErrors: false, strict: true });
    const firstError = doc.errors[0];
    if (firstError !== undefined) throw new ConfigError([{ object, message: `not valid YAML: ${firstError.message}` }]);
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError([{ object, message: `not valid YAML: ${errorText(error)}` }]);
  }
}

export interface ConfigMapOptions {
  /** How errors name the ConfigMap, e.g. `ConfigMap l2lb-system/config`. */
  readonly object?: string;
}

/** Parses and validates the legacy config text. Throws ConfigError only. */
export function parseConfigMapConfig(text: string, options: ConfigMapOptions = {}): Config {
  const problems = new ProblemList();
  const pools = configMapPoolDrafts(parseYamlValue(text, options.object ?? 'config'), options.object ?? 'config', problems);
  return buildConfig(pools, pools.length > 0 ? [configMapAdvertisement()] : [], problems);
}

export function configMapAdvertisement(): AdvertisementDraft {
  return {
    name: CONFIGMAP_ADVERTISEMENT_NAME,
    object: 'the ConfigMap',
    source: 'configmap',
    poolNames: undefined,
    poolSelectors: [],
    nodeSelectors: [],
    interfaces: [],
    serviceSelectors: [],
  };
}

/** Pool drafts from an already-parsed legacy config value; problems are collected, not thrown. */
export function configMapPoolDrafts(value: unknown, object: string, problems: ProblemList): PoolDraft[] {
  if (value === null || value === undefined) return [];
  if (!isRecord(value)) {
    problems.add(object, undefined, `must be a mapping with an address-pools list, got ${describeType(value)}`);
    return [];
  }
  for (const key of Object.keys(value)) {
    if ((BGP_SECTIONS as readonly string[]).includes(key)) {
      problems.add(object, key, `${BGP_UNSUPPORTED}; remove the ${show(key)} section (only layer2 address pools are used)`);
    } else if (key !== 'address-pools') {
      problems.add(object, undefined, `unknown field ${show(key)} (known: address-pools)`);
    }
  }
  const rawPools = value['address-pools'];
  if (rawPools === undefined || rawPools === null) return [];
  if (!Array.isArray(rawPools)) {
    problems.add(object, 'address-pools', `must be a list of pools, got ${describeType(rawPools)}`);
    return [];
  }
  const drafts: PoolDraft[] = [];
  rawPools.forEach((raw: unknown, index) => {
    const draft = poolDraft(raw, index, problems);
    if (draft !== undefined) drafts.push(draft);
  });
  return drafts;
}

function poolDraft(raw: unknown, index: number, problems: ProblemList): PoolDraft | undefined {
  const position = `address pool #${index + 1}`;
  if (!isRecord(raw)) {
    problems.add(position, undefined, `must be a mapping with name, protocol and addresses, got ${describeType(raw)}`);
    return undefined;
  }
  const name = raw['name'];
  const object = typeof name === 'string' && name.length > 0 ? `${position} ${show(name)}` : position;

  for (const key of Object.keys(raw)) {
    if (!(POOL_FIELDS as readonly string[]).includes(key)) {
      problems.add(object, undefined, `unknown field ${show(key)} (known: ${POOL_FIELDS.filter((f) => f !== 'bgp-advertisements').join(', ')})`);
    }
  }
  if (name === undefined || name === null || name === '') {
    problems.add(object, 'name', 'the pool has no name');
  } else if (typeof name !== 'string') {
    problems.add(object, 'name', `must be a string, got ${describeType(name)}`);
  }

  const protocol = raw['protocol'];
  if (protocol === undefined || protocol === null || protocol === '') {
    problems.add(object, 'protocol', 'the protocol field is missing (use protocol: layer2)');
  } else if (protocol === 'bgp') {
    problems.add(object, 'protocol', `protocol "bgp": ${BGP_UNSUPPORTED} (use protocol: layer2)`);
  } else if (protocol !== 'layer2') {
    problems.add(object, 'protocol', `unknown protocol ${show(protocol)} (l2lb supports layer2)`);
  }
  if (raw['bgp-advertisements'] !== undefined) {
    problems.add(object, 'bgp-advertisements', `${BGP_UNSUPPORTED}; remove bgp-advertisements from the pool`);
  }
  const autoAssign = booleanField(raw, 'auto-assign', true, object, problems);
  const avoidBuggyIPs = booleanField(raw, 'avoid-buggy-ips', false, object, problems);

  if (typeof name !== 'string' || name.length === 0) {
    // Still check the addresses so one run reports everything; the pool itself cannot be used.
    parsePoolAddresses(raw['addresses'], object, 'addresses', problems);
    return undefined;
  }
  const draft: PoolDraft = {
    name,
    object,
    addressesField: 'addresses',
    source: 'configmap',
    addresses: raw['addresses'],
    autoAssign,
    avoidBuggyIPs,
    labels: {},
    serviceAllocation: undefined,
  };
  return draft;
}

export function booleanField(raw: Record<string, unknown>, key: string, fallback: boolean, object: string, problems: ProblemList, fieldPath = key): boolean {
  const value = raw[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  problems.add(object, fieldPath, `must be true or false, got ${describeType(value)}`);
  return fallback;
}
