// A small checker for the subset of Kubernetes structural OpenAPI v3 schemas the l2lb CRDs use: type,
// properties, additionalProperties, items, required, x-kubernetes-preserve-unknown-fields. It reports
// type errors and, separately, the fields the API server would prune (silently drop) from an object.

import { isObj, type Obj } from './load.js';

export interface SchemaResult {
  /** Validation errors ("spec.autoAssign: must be a boolean, got string"). */
  readonly errors: string[];
  /** Paths of fields the schema does not know: the server would drop them. */
  readonly pruned: string[];
}

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/** Problems that make a schema non-structural for the features used here (empty when fine). */
export function structuralProblems(schema: unknown, path = 'openAPIV3Schema'): string[] {
  if (!isObj(schema)) return [`${path}: not a mapping`];
  const out: string[] = [];
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const type = schema['type'];
  if (typeof type !== 'string' || !TYPES.has(type)) out.push(`${path}: needs a type (got ${JSON.stringify(type)})`);
  const props = schema['properties'];
  const additional = schema['additionalProperties'];
  if (props !== undefined && additional !== undefined) out.push(`${path}: properties and additionalProperties are mutually exclusive`);
  if (type === 'object' && props === undefined && additional === undefined && !preserve && path.split('.').pop() !== 'metadata') {
    out.push(`${path}: an object without properties drops every field (add properties or x-kubernetes-preserve-unknown-fields)`);
  }
  if (isObj(props)) for (const [k, v] of Object.entries(props)) out.push(...structuralProblems(v, `${path}.properties.${k}`));
  if (additional !== undefined) out.push(...structuralProblems(additional, `${path}.additionalProperties`));
  if (type === 'array') {
    if (schema['items'] === undefined) out.push(`${path}: an array needs items`);
    else out.push(...structuralProblems(schema['items'], `${path}.items`));
  }
  const required = schema['required'];
  if (required !== undefined) {
    if (!Array.isArray(required)) out.push(`${path}.required: not a list`);
    else
      for (const r of required)
        if (!isObj(props) || typeof r !== 'string' || !(r in props)) out.push(`${path}.required: ${JSON.stringify(r)} is not a property`);
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v;
}

/** Checks `value` against `schema` (metadata is the API server's business and is not looked into). */
export function validate(schema: Obj, value: unknown, path = ''): SchemaResult {
  const result: SchemaResult = { errors: [], pruned: [] };
  walk(schema, value, path, result);
  return result;
}

function walk(schema: Obj, value: unknown, path: string, r: SchemaResult): void {
  const where = path || '(root)';
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value)))
      r.errors.push(`${where}: must be an integer or a string, got ${describeValue(value)}`);
    return;
  }
  const type = schema['type'];
  switch (type) {
    case 'string':
      if (typeof value !== 'string') r.errors.push(`${where}: must be a string, got ${describeValue(value)}`);
      else {
        const min = schema['minLength'];
        if (typeof min === 'number' && value.length < min) r.errors.push(`${where}: shorter than ${min}`);
        const pattern = schema['pattern'];
        if (typeof pattern === 'string') {
          // Go's inline (?i) has no JavaScript spelling: it becomes the i flag.
          const re = pattern.includes('(?i)') ? new RegExp(pattern.replace('(?i)', ''), 'i') : new RegExp(pattern);
          if (!re.test(value)) r.errors.push(`${where}: ${JSON.stringify(value)} does not match ${pattern}`);
        }
      }
      return;
    case 'boolean':
      if (typeof value !== 'boolean') r.errors.push(`${where}: must be a boolean, got ${describeValue(value)}`);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) r.errors.push(`${where}: must be an integer, got ${describeValue(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') r.errors.push(`${where}: must be a number, got ${describeValue(value)}`);
      return;
    case 'array': {
      if (!Array.isArray(value)) {
        r.errors.push(`${where}: must be a list, got ${describeValue(value)}`);
        return;
      }
      const items = schema['items'];
      if (isObj(items)) value.forEach((v: unknown, i) => walk(items, v, `${path}[${i}]`, r));
      return;
    }
    case 'object': {
      if (!isObj(value)) {
        r.errors.push(`${where}: must be a mapping, got ${describeValue(value)}`);
        return;
      }
      if (path === 'metadata') return;
      const props = isObj(schema['properties']) ? schema['properties'] : undefined;
      const additional = isObj(schema['additionalProperties']) ? schema['additionalProperties'] : undefined;
      const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
      for (const req of Array.isArray(schema['required']) ? schema['required'] : []) {
        if (typeof req === 'string' && !(req in value)) r.errors.push(`${path ? `${path}.` : ''}${req}: required`);
      }
      for (const [k, v] of Object.entries(value)) {
        const sub = path ? `${path}.${k}` : k;
        const s = props?.[k];
        if (isObj(s)) walk(s, v, sub, r);
        else if (additional) walk(additional, v, sub, r);
        else if (!preserve) r.pruned.push(sub);
      }
      return;
    }
    default:
      r.errors.push(`${where}: the schema has no usable type (${JSON.stringify(type)})`);
  }
}
