// Label and field selector parsing and matching, with the syntax the Kubernetes API server accepts.
// Pure functions: parse errors are returned as SelectorError (the server turns them into 400s).

export class SelectorError extends Error {}

export type LabelRequirement =
  { key: string; op: 'eq' | 'neq'; value: string } | { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | 'notexists' };

export type LabelSelector = LabelRequirement[];

const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): string {
  const k = key.trim();
  if (k.length === 0 || k.length > 316 || !KEY_RE.test(k)) throw new SelectorError(`invalid label key "${k}"`);
  return k;
}

function checkValue(value: string): string {
  const v = value.trim();
  if (v.length > 63 || !VALUE_RE.test(v)) throw new SelectorError(`invalid label value: "${v}"`);
  return v;
}

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw new SelectorError(`unbalanced parentheses in "${s}"`);
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (depth !== 0) throw new SelectorError(`unbalanced parentheses in "${s}"`);
  out.push(cur);
  return out;
}

export function parseLabelSelector(input: string): LabelSelector {
  const s = input.trim();
  if (s === '') return [];
  const reqs: LabelSelector = [];
  for (const raw of splitTop(s)) {
    const part = raw.trim();
    if (part === '') throw new SelectorError(`empty requirement in label selector "${input}"`);
    const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (setMatch) {
      const values = (setMatch[3] ?? '').split(',').map((v) => checkValue(v));
      reqs.push({ key: checkKey(setMatch[1] ?? ''), op: setMatch[2] === 'in' ? 'in' : 'notin', values });
      continue;
    }
    const opMatch = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (opMatch) {
      reqs.push({ key: checkKey(opMatch[1] ?? ''), op: opMatch[2] === '!=' ? 'neq' : 'eq', value: checkValue(opMatch[3] ?? '') });
      continue;
    }
    if (part.startsWith('!')) {
      reqs.push({ key: checkKey(part.slice(1)), op: 'notexists' });
      continue;
    }
    reqs.push({ key: checkKey(part), op: 'exists' });
  }
  return reqs;
}

export function matchLabels(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const r of sel) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case 'eq':
        if (v !== r.value) return false;
        break;
      case 'neq':
        if (has && v === r.value) return false;
        break;
      case 'in':
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

/** Parses a field selector; `allowed` lists the fields the resource supports (others: SelectorError). */
export function parseFieldSelector(input: string, allowed: readonly string[]): FieldRequirement[] {
  const s = input.trim();
  if (s === '') return [];
  const out: FieldRequirement[] = [];
  for (const raw of s.split(',')) {
    const m = /^([^=!]+?)\s*(==|!=|=)(.*)$/.exec(raw.trim());
    if (!m) throw new SelectorError(`invalid selector: '${input}'; can't understand '${raw}'`);
    const field = (m[1] ?? '').trim();
    if (!allowed.includes(field)) {
      throw new SelectorError(`"${field}" is not a known field selector: only ${allowed.map((f) => `"${f}"`).join(', ')}`);
    }
    out.push({ field, op: m[2] === '!=' ? 'neq' : 'eq', value: (m[3] ?? '').trim() });
  }
  return out;
}

export function matchFields(reqs: readonly FieldRequirement[], get: (field: string) => string): boolean {
  for (const r of reqs) {
    const v = get(r.field);
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
