// Kubernetes label selectors: validation (as the API server would) and matching.
import type { LabelSelector, LabelSelectorOperator, LabelSelectorRequirement } from './types.js';
import { describeType, ProblemList, show } from './errors.js';

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const OPERATORS: readonly LabelSelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export function isDnsLabel(text: string): boolean {
  return text.length <= 63 && DNS_LABEL.test(text);
}

export function isDnsSubdomain(text: string): boolean {
  return text.length <= 253 && DNS_SUBDOMAIN.test(text);
}

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return `label key ${show(key)} has an invalid prefix (must be a DNS subdomain)`;
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return `label key ${show(key)} is invalid (1-63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)`;
  }
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > 63 || !NAME_PART.test(value)) {
    return `label value ${show(value)} is invalid (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)`;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a string→string map such as metadata.labels or matchLabels. */
export function parseStringMap(value: unknown, object: string, field: string, problems: ProblemList, validateAsLabels: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined || value === null) return out;
  if (!isRecord(value)) {
    problems.add(object, field, `must be a mapping of strings, got ${describeType(value)}`);
    return out;
  }
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw !== 'string') {
      problems.add(object, `${field}.${key}`, `must be a string, got ${describeType(raw)}`);
      continue;
    }
    if (validateAsLabels) {
      const keyError = labelKeyError(key);
      if (keyError !== undefined) problems.add(object, field, keyError);
      const valueError = labelValueError(raw);
      if (valueError !== undefined) problems.add(object, `${field}.${key}`, valueError);
    }
    out[key] = raw;
  }
  return out;
}

export function parseLabelSelector(value: unknown, object: string, field: string, problems: ProblemList): LabelSelector | undefined {
  if (!isRecord(value)) {
    problems.add(object, field, `must be a label selector (a mapping with matchLabels and/or matchExpressions), got ${describeType(value)}`);
    return undefined;
  }
  const before = problems.items.length;
  for (const key of Object.keys(value)) {
    if (key !== 'matchLabels' && key !== 'matchExpressions') {
      problems.warn(
        object,
        field,
        `unknown field ${show(key)} in label selector is ignored, as the API server would prune it (known: matchLabels, matchExpressions)`,
      );
    }
  }
  const matchLabels = parseStringMap(value['matchLabels'], object, `${field}.matchLabels`, problems, true);
  const matchExpressions: LabelSelectorRequirement[] = [];
  const rawExpressions = value['matchExpressions'];
  if (rawExpressions !== undefined && rawExpressions !== null) {
    if (!Array.isArray(rawExpressions)) {
      problems.add(object, `${field}.matchExpressions`, `must be a list, got ${describeType(rawExpressions)}`);
    } else {
      rawExpressions.forEach((raw: unknown, index) => {
        const requirement = parseRequirement(raw, object, `${field}.matchExpressions[${index}]`, problems);
        if (requirement !== undefined) matchExpressions.push(requirement);
      });
    }
  }
  if (problems.items.length !== before) return undefined;
  return Object.freeze({ matchLabels: Object.freeze(matchLabels), matchExpressions: Object.freeze(matchExpressions) });
}

function parseRequirement(raw: unknown, object: string, field: string, problems: ProblemList): LabelSelectorRequirement | undefined {
  if (!isRecord(raw)) {
    problems.add(object, field, `must be a mapping with key, operator and values, got ${describeType(raw)}`);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'key' && key !== 'operator' && key !== 'values')
      problems.warn(object, field, `unknown field ${show(key)} is ignored, as the API server would prune it (known: key, operator, values)`);
  }
  const key = raw['key'];
  const operator = raw['operator'];
  const rawValues = raw['values'];
  let ok = true;
  if (typeof key !== 'string') {
    problems.add(object, `${field}.key`, `must be a string, got ${describeType(key)}`);
    ok = false;
  } else {
    const keyError = labelKeyError(key);
    if (keyError !== undefined) {
      problems.add(object, `${field}.key`, keyError);
      ok = false;
    }
  }
  if (typeof operator !== 'string' || !(OPERATORS as readonly string[]).includes(operator)) {
    problems.add(object, `${field}.operator`, `${show(operator)} is not a valid operator (use In, NotIn, Exists or DoesNotExist)`);
    ok = false;
  }
  const values: string[] = [];
  if (rawValues !== undefined && rawValues !== null) {
    if (!Array.isArray(rawValues)) {
      problems.add(object, `${field}.values`, `must be a list of strings, got ${describeType(rawValues)}`);
      ok = false;
    } else {
      rawValues.forEach((v: unknown, i) => {
        if (typeof v !== 'string') {
          problems.add(object, `${field}.values[${i}]`, `must be a string, got ${describeType(v)}`);
          ok = false;
          return;
        }
        const valueError = labelValueError(v);
        if (valueError !== undefined) {
          problems.add(object, `${field}.values[${i}]`, valueError);
          ok = false;
          return;
        }
        if (values.includes(v)) {
          problems.add(object, `${field}.values[${i}]`, `duplicate value ${show(v)}`);
          ok = false;
          return;
        }
        values.push(v);
      });
    }
  }
  if (ok && (operator === 'In' || operator === 'NotIn') && values.length === 0) {
    problems.add(object, `${field}.values`, `operator ${operator} needs at least one value`);
    ok = false;
  }
  if (ok && (operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
    problems.add(object, `${field}.values`, `operator ${operator} takes no values`);
    ok = false;
  }
  if (!ok || typeof key !== 'string') return undefined;
  return Object.freeze({ key, operator: operator as LabelSelectorOperator, values: Object.freeze(values) });
}

/** Parses a list of selectors and rejects exact duplicates (as MetalLB does). */
export function parseLabelSelectorList(value: unknown, object: string, field: string, problems: ProblemList): LabelSelector[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add(object, field, `must be a list of label selectors, got ${describeType(value)}`);
    return [];
  }
  const out: LabelSelector[] = [];
  const seen = new Set<string>();
  value.forEach((raw: unknown, index) => {
    const selector = parseLabelSelector(raw, object, `${field}[${index}]`, problems);
    if (selector === undefined) return;
    const canonical = selectorKey(selector);
    if (seen.has(canonical)) {
      problems.add(object, `${field}[${index}]`, `duplicate label selector ${formatSelector(selector)}`);
      return;
    }
    seen.add(canonical);
    out.push(selector);
  });
  return out;
}

function selectorKey(selector: LabelSelector): string {
  const labels = Object.entries(selector.matchLabels).sort(([a], [b]) => a.localeCompare(b));
  const expressions = selector.matchExpressions.map((e) => `${e.key} ${e.operator} ${[...e.values].sort().join(',')}`).sort();
  return JSON.stringify([labels, expressions]);
}

export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions) {
    const has = Object.prototype.hasOwnProperty.call(labels, requirement.key);
    const value = labels[requirement.key];
    switch (requirement.operator) {
      case 'In':
        if (!has || value === undefined || !requirement.values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && requirement.values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** kubectl-style rendering: `app=web,tier in (a,b),!legacy`; the empty selector renders as `<all>`. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions) {
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${e.values.join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${e.values.join(',')})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
    }
  }
  return parts.length === 0 ? '<all>' : parts.join(',');
}
