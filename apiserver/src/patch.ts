// The three PATCH formats of the Kubernetes API: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
// strategic merge patch (merge keys for lists plus the $patch / $setElementOrder / $retainKeys /
// $deleteFromPrimitiveList directives kubectl sends). Pure functions; PatchError becomes a 4xx.

import { clone, deepEqual, isObject, ownValue, setOwn, type Json, type JsonObject } from './json.js';

export class PatchError extends Error {
  constructor(
    message: string,
    readonly code = 400,
  ) {
    super(message);
  }
}

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(ownValue(out, k), v));
  }
  return out;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer "${path}"`);
  return path.slice(1).split('/').map(unescapePointer);
}

function arrayIndex(token: string, len: number, forAdd: boolean): number {
  if (forAdd && token === '-') return len;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > len || (!forAdd && i === len)) throw new PatchError(`array index ${i} out of bounds`);
  return i;
}

function parentOf(doc: Json, tokens: string[]): { parent: Json; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)] as Json;
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t] as Json;
    else throw new PatchError(`path not found: /${tokens.join('/')}`, 422);
  }
  const last = tokens[tokens.length - 1];
  if (last === undefined) throw new PatchError('operation on the document root is not supported', 422);
  return { parent: cur, last };
}

function getAt(doc: Json, path: string): Json {
  let cur = doc;
  for (const t of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)] as Json;
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t] as Json;
    else throw new PatchError(`path not found: ${path}`, 422);
  }
  return cur;
}

function addAt(doc: Json, path: string, value: Json): void {
  const { parent, last } = parentOf(doc, parsePointer(path));
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else if (isObject(parent)) setOwn(parent, last, value);
  else throw new PatchError(`cannot add at ${path}: parent is not a container`, 422);
}

function removeAt(doc: Json, path: string): Json {
  const { parent, last } = parentOf(doc, parsePointer(path));
  if (Array.isArray(parent)) return parent.splice(arrayIndex(last, parent.length, false), 1)[0] as Json;
  if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    const v = parent[last] as Json;
    delete parent[last];
    return v;
  }
  throw new PatchError(`unable to remove nonexistent key: ${path}`, 422);
}

/** RFC 6902. The body must be an array (the real server answers 400 otherwise). */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const doc = clone(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
      throw new PatchError('invalid JSON patch operation: needs "op" and "path"');
    }
    const path = op['path'];
    const from = typeof op['from'] === 'string' ? op['from'] : undefined;
    switch (op['op']) {
      case 'add':
        if (!('value' in op)) throw new PatchError('add operation needs "value"');
        addAt(doc, path, clone(op['value'] as Json));
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'replace':
        if (!('value' in op)) throw new PatchError('replace operation needs "value"');
        removeAt(doc, path);
        addAt(doc, path, clone(op['value'] as Json));
        break;
      case 'move': {
        if (from === undefined) throw new PatchError('move operation needs "from"');
        const v = removeAt(doc, from);
        addAt(doc, path, v);
        break;
      }
      case 'copy':
        if (from === undefined) throw new PatchError('copy operation needs "from"');
        addAt(doc, path, clone(getAt(doc, from)));
        break;
      case 'test':
        if (!deepEqual(getAt(doc, path), op['value'] as Json)) throw new PatchError(`testing value ${path} failed`, 422);
        break;
      default:
        throw new PatchError(`unexpected JSON patch operation "${String(op['op'])}"`);
    }
  }
  return doc;
}

export type MergeKeyLookup = (path: string) => string | undefined;

const DIRECTIVE = '$patch';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';
const RETAIN_KEYS = '$retainKeys';

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.filter((x) => !(isObject(x) && x[DIRECTIVE] !== undefined && Object.keys(x).length === 1)).map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    setOwn(out, k, stripDirectives(x));
  }
  return out;
}

function mergeList(orig: Json[], patch: Json[], key: string | undefined, path: string, keys: MergeKeyLookup): Json[] {
  if (patch.some((x) => isObject(x) && x[DIRECTIVE] === 'replace')) {
    return stripDirectives(patch.filter((x) => !(isObject(x) && x[DIRECTIVE] === 'replace'))) as Json[];
  }
  if (key === undefined) return stripDirectives(patch) as Json[];
  if (key === '') {
    // A set of primitives: union, keeping the original order.
    const out = [...orig];
    for (const v of patch) if (!out.some((o) => deepEqual(o, v))) out.push(clone(v));
    return out;
  }
  const out = orig.map((x) => clone(x));
  for (const item of patch) {
    if (!isObject(item)) throw new PatchError(`${path}: expected a map in a list merged by key "${key}"`);
    const k = item[key];
    if (k === undefined) throw new PatchError(`${path}: map in list has no merge key "${key}"`);
    const idx = out.findIndex((o) => isObject(o) && deepEqual(o[key], k));
    if (item[DIRECTIVE] === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], item, path, keys);
    else out.push(stripDirectives(item));
  }
  return out;
}

function orderList(list: Json[], order: Json[], key: string | undefined): Json[] {
  const keyOf = (x: Json): Json | undefined => (key ? (isObject(x) ? x[key] : undefined) : x);
  const ranked: { item: Json; rank: number; pos: number }[] = list.map((item, pos) => {
    const rank = order.findIndex((o) => deepEqual(key ? (isObject(o) ? o[key] : undefined) : o, keyOf(item)));
    return { item, rank: rank < 0 ? Number.MAX_SAFE_INTEGER : rank, pos };
  });
  ranked.sort((a, b) => a.rank - b.rank || a.pos - b.pos);
  return ranked.map((r) => r.item);
}

/**
 * Strategic merge patch. `path` is the dotted path of field names (list indices left out) from the object
 * root; `keys(path)` gives the list merge key ('' for a set of primitives, undefined = replace the list).
 */
export function strategicMerge(target: Json | undefined, patch: Json, path: string, keys: MergeKeyLookup): Json {
  if (!isObject(patch)) return clone(patch);
  const directive = patch[DIRECTIVE];
  if (directive === 'replace') return stripDirectives(patch);
  if (directive === 'delete') return null;
  if (directive !== undefined && directive !== 'merge') throw new PatchError(`${path || 'object'}: unknown $patch directive "${String(directive)}"`);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  const retain = patch[RETAIN_KEYS];
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) if (!retain.includes(k) && !(k in patch)) delete out[k];
  }
  const orders: [string, Json[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === DIRECTIVE || k === RETAIN_KEYS) continue;
    const sub = path === '' ? k : `${path}.${k}`;
    if (k.startsWith(SET_ORDER)) {
      if (Array.isArray(v)) orders.push([k.slice(SET_ORDER.length), v]);
      continue;
    }
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const field = k.slice(DELETE_PRIMITIVE.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const cur = ownValue(out, k);
      setOwn(out, k, mergeList(Array.isArray(cur) ? cur : [], v, keys(sub), sub, keys));
    } else if (isObject(v)) {
      const merged = strategicMerge(ownValue(out, k), v, sub, keys);
      if (merged === null) delete out[k];
      else setOwn(out, k, merged);
    } else {
      setOwn(out, k, v);
    }
  }
  for (const [field, order] of orders) {
    const cur = out[field];
    if (Array.isArray(cur)) out[field] = orderList(cur, order, keys(path === '' ? field : `${path}.${field}`));
  }
  return out;
}
