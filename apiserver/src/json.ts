// JSON helpers for the embedded API server: objects are plain JSON values end to end.

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own property's value: a "__proto__" key is data, never the prototype. */
export function ownValue(o: JsonObject, k: string): Json | undefined {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

/** Sets an own property: plain assignment of a "__proto__" key would replace the prototype and lose the key. */
export function setOwn(o: JsonObject, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

export function clone<T extends Json>(v: T): T {
  return structuredClone(v);
}

/** The object's metadata map (created when missing). */
export function meta(obj: JsonObject): JsonObject {
  const m = obj['metadata'];
  if (isObject(m)) return m;
  const fresh: JsonObject = {};
  obj['metadata'] = fresh;
  return fresh;
}

export function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Reads a dotted path ("spec.nodeName") from an object; undefined when any step is missing. */
export function getPath(obj: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = obj;
  for (const part of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

export function stringMap(v: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) {
    for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  }
  return out;
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}
