// Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), decoded into the JSON objects the
// JSON path would have received. kubectl's generators (`create namespace|configmap|secret|service`) send these.
//
// Body = magic "k8s\0" + runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding,
// 4 contentType}; `raw` is the object's proto2 encoding (k8s.io/api core/v1 and apimachinery meta/v1
// generated.proto). Pure and total: bad input gives a 400/415 ApiError result, never an exception.

import { ApiError } from './errors.js';
import type { Json, JsonObject } from './json.js';
import { CORE_V1_SCHEMAS, type FieldSpec, type MessageSchema } from './protobuf-schemas.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
export const PROTOBUF_MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** Wire types of the protobuf encoding. */
export const WT = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

/** One field occurrence: varints and fixed values as bigint, length-delimited payloads as a view of the input. */
export type WireField =
  | { no: number; wt: 0 | 1 | 5; value: bigint; at: number }
  | { no: number; wt: 2; bytes: Uint8Array; at: number };

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

function fail<T>(error: string): Result<T> {
  return { ok: false, error };
}

/** Reads a base-128 varint (at most 10 bytes, value < 2^64) at `pos`. */
export function readVarint(buf: Uint8Array, pos: number): Result<{ value: bigint; next: number }> {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    const at = pos + i;
    if (at >= buf.length) return fail(`truncated varint at byte ${pos}`);
    const b = buf[at] ?? 0;
    if (i === 9 && b > 1) return fail(`varint overflows 64 bits at byte ${pos}`);
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return { ok: true, value: { value, next: at + 1 } };
  }
  return fail(`varint longer than 10 bytes at byte ${pos}`);
}

/** Splits one message into its field occurrences (in wire order). Groups (wire types 3/4) are rejected. */
export function readFields(buf: Uint8Array): Result<WireField[]> {
  const out: WireField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    if (!tag.ok) return tag;
    const at = pos;
    pos = tag.value.next;
    const key = tag.value.value;
    const wt = Number(key & 7n);
    const noBig = key >> 3n;
    if (noBig === 0n || noBig > 0x1fffffffn) return fail(`invalid field number ${noBig} at byte ${at}`);
    const no = Number(noBig);
    switch (wt) {
      case WT.varint: {
        const v = readVarint(buf, pos);
        if (!v.ok) return v;
        out.push({ no, wt: 0, value: v.value.value, at });
        pos = v.value.next;
        break;
      }
      case WT.fixed64:
      case WT.fixed32: {
        const n = wt === WT.fixed64 ? 8 : 4;
        if (pos + n > buf.length) return fail(`truncated fixed${n * 8} field ${no} at byte ${at}`);
        let value = 0n;
        for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(buf[pos + i] ?? 0);
        out.push({ no, wt, value, at });
        pos += n;
        break;
      }
      case WT.bytes: {
        const len = readVarint(buf, pos);
        if (!len.ok) return len;
        pos = len.value.next;
        if (len.value.value > BigInt(buf.length - pos)) return fail(`field ${no} at byte ${at} claims ${len.value.value} bytes, only ${buf.length - pos} left`);
        const n = Number(len.value.value);
        out.push({ no, wt: 2, bytes: buf.subarray(pos, pos + n), at });
        pos += n;
        break;
      }
      default:
        return fail(`unsupported wire type ${wt} (field ${no}) at byte ${at}`);
    }
  }
  return { ok: true, value: out };
}

class DecodeError extends Error {}

const utf8 = new TextDecoder('utf-8');

function expectWire(f: WireField, want: 0 | 2, path: string): void {
  if (f.wt !== want) throw new DecodeError(`${path}: wire type ${f.wt}, expected ${want === 0 ? 'a varint' : 'length-delimited'} (byte ${f.at})`);
}

function varintOf(f: WireField, path: string): bigint {
  expectWire(f, 0, path);
  return f.wt === 0 ? f.value : 0n;
}

function bytesOf(f: WireField, path: string): Uint8Array {
  expectWire(f, 2, path);
  return f.wt === 2 ? f.bytes : new Uint8Array();
}

function fieldsOf(buf: Uint8Array, path: string): WireField[] {
  const r = readFields(buf);
  if (!r.ok) throw new DecodeError(`${path}: ${r.error}`);
  return r.value;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] ?? new Uint8Array();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** metav1.Time: {1 seconds, 2 nanos}; an empty message is the zero time (JSON null), nanos are dropped as the real server does. */
function decodeTime(buf: Uint8Array, path: string): Json {
  if (buf.length === 0) return null;
  let seconds = 0n;
  for (const f of fieldsOf(buf, path)) if (f.no === 1) seconds = BigInt.asIntN(64, varintOf(f, `${path}.seconds`));
  const ms = Number(seconds) * 1000;
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) throw new DecodeError(`${path}: time ${seconds}s is out of range`);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** intstr.IntOrString: {1 type (0 int, 1 string), 2 intVal, 3 strVal}. */
function decodeIntOrString(buf: Uint8Array, path: string): Json {
  let type = 0n;
  let intVal = 0;
  let strVal = '';
  for (const f of fieldsOf(buf, path)) {
    if (f.no === 1) type = varintOf(f, `${path}.type`);
    else if (f.no === 2) intVal = Number(BigInt.asIntN(32, varintOf(f, `${path}.intVal`)));
    else if (f.no === 3) strVal = utf8.decode(bytesOf(f, `${path}.strVal`));
  }
  return type === 1n ? strVal : intVal;
}

function decodeMapEntry(buf: Uint8Array, valueKind: 'string' | 'bytes', path: string): [string, string] {
  let key = '';
  let value = '';
  for (const f of fieldsOf(buf, path)) {
    if (f.no === 1) key = utf8.decode(bytesOf(f, `${path}.key`));
    else if (f.no === 2) {
      const b = bytesOf(f, `${path}[${JSON.stringify(key)}]`);
      value = valueKind === 'bytes' ? Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64') : utf8.decode(b);
    }
  }
  return [key, value];
}

/** One occurrence of a scalar or message field → its JSON value (undefined = "zero value, omitted"). */
function decodeValue(spec: FieldSpec, f: WireField, path: string): Json | undefined {
  const t = spec.type;
  switch (t.k) {
    case 'string': {
      const s = utf8.decode(bytesOf(f, path));
      return s === '' && !spec.keep && !spec.ptr ? undefined : s;
    }
    case 'bytes': {
      const b = bytesOf(f, path);
      return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');
    }
    case 'int32':
    case 'int64': {
      const raw = varintOf(f, path);
      const n = Number(t.k === 'int32' ? BigInt.asIntN(32, raw) : BigInt.asIntN(64, raw));
      return n === 0 && !spec.keep && !spec.ptr ? undefined : n;
    }
    case 'bool': {
      const b = varintOf(f, path) !== 0n;
      return !b && !spec.keep && !spec.ptr ? undefined : b;
    }
    case 'time':
      return decodeTime(bytesOf(f, path), path);
    case 'intOrString': {
      const v = decodeIntOrString(bytesOf(f, path), path);
      return v === 0 || v === '' ? undefined : v;
    }
    case 'rawJson': {
      let raw: Uint8Array = new Uint8Array();
      for (const g of fieldsOf(bytesOf(f, path), path)) if (g.no === 1) raw = bytesOf(g, `${path}.Raw`);
      if (raw.length === 0) return {};
      try {
        return JSON.parse(utf8.decode(raw)) as Json;
      } catch {
        throw new DecodeError(`${path}: not valid JSON`);
      }
    }
    case 'message':
      return decodeObject(bytesOf(f, path), t.m, path);
    case 'map':
      return undefined; // handled by decodeObject
  }
}

/** Decodes one message with its schema; unknown fields are skipped; JSON keys follow the schema's order. */
function decodeObject(buf: Uint8Array, schema: MessageSchema, path: string): JsonObject {
  const byNo = new Map<number, WireField[]>();
  for (const f of fieldsOf(buf, path)) {
    if (!schema.fields.has(f.no)) continue;
    const list = byNo.get(f.no);
    if (list) list.push(f);
    else byNo.set(f.no, [f]);
  }
  const out: JsonObject = {};
  for (const [no, spec] of schema.fields) {
    const occ = byNo.get(no);
    if (!occ) continue;
    const fpath = `${path}.${spec.json}`;
    if (spec.type.k === 'map') {
      const m: JsonObject = {};
      for (const f of occ) {
        const [k, v] = decodeMapEntry(bytesOf(f, fpath), spec.type.value, fpath);
        // defineProperty: a "__proto__" key is data like any other (plain assignment would set the prototype).
        Object.defineProperty(m, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      out[spec.json] = m;
    } else if (spec.repeated) {
      const items: Json[] = occ.map((f, i) => decodeValue({ ...spec, keep: true }, f, `${fpath}[${i}]`) ?? null);
      out[spec.json] = items;
    } else if (spec.type.k === 'message') {
      // A message field sent more than once is merged, as protobuf specifies: decode the concatenation.
      const parts = occ.map((f) => bytesOf(f, fpath));
      out[spec.json] = decodeObject(concat(parts), spec.type.m, fpath);
    } else {
      const last = occ[occ.length - 1];
      if (last === undefined) continue;
      const v = decodeValue(spec, last, fpath);
      if (v !== undefined) out[spec.json] = v;
    }
  }
  return out;
}

/** Decodes one object's `raw` bytes with a schema (exported for tests). */
export function decodeWithSchema(raw: Uint8Array, schema: MessageSchema): Result<JsonObject> {
  try {
    return { ok: true, value: decodeObject(raw, schema, schema.name) };
  } catch (e) {
    if (e instanceof DecodeError) return fail(e.message);
    throw e;
  }
}

export interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

/** Reads the "k8s\0" + runtime.Unknown envelope. */
export function readEnvelope(body: Uint8Array): Result<Envelope> {
  if (body.length < 4 || PROTOBUF_MAGIC.some((b, i) => body[i] !== b)) return fail('the body does not start with the Kubernetes protobuf magic "k8s\\0"');
  const fields = readFields(body.subarray(4));
  if (!fields.ok) return fail(`runtime.Unknown: ${fields.error}`);
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(), contentEncoding: '', contentType: '' };
  try {
    for (const f of fields.value) {
      if (f.no === 1) {
        for (const g of fieldsOf(bytesOf(f, 'runtime.Unknown.typeMeta'), 'runtime.Unknown.typeMeta')) {
          if (g.no === 1) env.apiVersion = utf8.decode(bytesOf(g, 'runtime.Unknown.typeMeta.apiVersion'));
          else if (g.no === 2) env.kind = utf8.decode(bytesOf(g, 'runtime.Unknown.typeMeta.kind'));
        }
      } else if (f.no === 2) env.raw = bytesOf(f, 'runtime.Unknown.raw');
      else if (f.no === 3) env.contentEncoding = utf8.decode(bytesOf(f, 'runtime.Unknown.contentEncoding'));
      else if (f.no === 4) env.contentType = utf8.decode(bytesOf(f, 'runtime.Unknown.contentType'));
    }
  } catch (e) {
    if (e instanceof DecodeError) return fail(e.message);
    throw e;
  }
  return { ok: true, value: env };
}

export const PROTOBUF_KINDS = [...CORE_V1_SCHEMAS.keys()].map((k) => k.replace(/^v1\//, ''));

function unsupported(what: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType',
    `the l2lb embedded API server decodes protobuf bodies only for v1 ${PROTOBUF_KINDS.join(', ')}, not ${what} (send JSON: kubectl create/apply -f, or --dry-run=client -o yaml | kubectl apply -f -)`);
}

function malformed(msg: string): ApiError {
  return new ApiError(400, 'BadRequest', `the protobuf body of the request is malformed: ${msg}`);
}

/**
 * A Kubernetes protobuf request body → the JSON object (kind and apiVersion from the envelope first), or the
 * ApiError to answer with: 400 for malformed bodies, 415 for kinds/encodings without a decoder. Never throws.
 */
export function decodeKubeProtobuf(body: Uint8Array): { ok: true; object: JsonObject } | { ok: false; error: ApiError } {
  if (body.length === 0) return { ok: false, error: new ApiError(400, 'BadRequest', 'the request body is empty') };
  const env = readEnvelope(body);
  if (!env.ok) return { ok: false, error: malformed(env.error) };
  const { apiVersion, kind } = env.value;
  const schema = CORE_V1_SCHEMAS.get(`${apiVersion}/${kind}`);
  if (!schema) return { ok: false, error: unsupported(`${apiVersion === '' && kind === '' ? 'an object without apiVersion/kind' : `${apiVersion} ${kind}`}`) };
  if (env.value.contentEncoding !== '') return { ok: false, error: unsupported(`contentEncoding ${JSON.stringify(env.value.contentEncoding)}`) };
  if (env.value.contentType !== '' && env.value.contentType !== PROTOBUF_MEDIA_TYPE) {
    return { ok: false, error: unsupported(`an embedded ${JSON.stringify(env.value.contentType)} body`) };
  }
  const decoded = decodeWithSchema(env.value.raw, schema);
  if (!decoded.ok) return { ok: false, error: malformed(decoded.error) };
  return { ok: true, object: { kind, apiVersion, ...decoded.value } };
}

/** The request-path hook: decoded object, or throws the ApiError (400/415) for the server to answer with. */
export function protobufBody(body: Uint8Array): JsonObject {
  const r = decodeKubeProtobuf(body);
  if (!r.ok) throw r.error;
  return r.object;
}
