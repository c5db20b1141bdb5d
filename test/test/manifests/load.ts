// Reads manifests/l2lb.yaml (and the examples) as plain objects for the manifest tests.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root (test/dist/test/manifests → ../../../..). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const manifestPath = join(repoRoot, 'manifests', 'l2lb.yaml');
export const examplesDir = join(repoRoot, 'manifests', 'examples');

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** obj at a dotted path ("spec.template.spec"); undefined when any step is missing. */
export function at(v: unknown, path: string): unknown {
  let cur: unknown = v;
  for (const key of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(key)) cur = cur[Number(key)];
    else if (isObj(cur)) cur = cur[key];
    else return undefined;
  }
  return cur;
}

export function list(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list, got ${JSON.stringify(v)}`);
  return v;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Every YAML document of a file; throws naming the file and the document when one does not parse. */
export function loadDocuments(path: string): Obj[] {
  const text = readFileSync(path, 'utf8');
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${path}: not a YAML stream`);
  const out: Obj[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${path} document #${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isObj(value)) throw new Error(`${path} document #${i + 1}: not a mapping`);
    out.push(value);
  });
  return out;
}

export function describe1(o: Obj): string {
  const ns = at(o, 'metadata.namespace');
  return `${String(o['kind'])} ${typeof ns === 'string' ? `${ns}/` : ''}${String(at(o, 'metadata.name'))}`;
}

export function find(objects: readonly Obj[], kind: string, name: string): Obj {
  const o = objects.find((x) => x['kind'] === kind && at(x, 'metadata.name') === name);
  if (!o) throw new Error(`manifests/l2lb.yaml has no ${kind} ${name}`);
  return o;
}

/** A container's environment as the kubelet would set it, given the values of the fieldRefs it uses. */
export function podEnv(container: Obj, fields: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list(container['env'], 'env')) {
    if (!isObj(e)) continue;
    const name = str(e['name'], 'env name');
    if (typeof e['value'] === 'string') env[name] = e['value'];
    const ref = at(e, 'valueFrom.fieldRef.fieldPath');
    if (ref === undefined) continue;
    const value = fields[str(ref, `env ${name} fieldRef`)];
    if (value === undefined) throw new Error(`env ${name}: no value given for fieldRef ${String(ref)}`);
    env[name] = value;
  }
  return env;
}
