// Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), decoded into the JSON objects the
// JSON path would have received. kubectl's generators (`create namespace|configmap|secret|service`) send these.
//
// Body = magic "k8s\0" + runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding,
// 4 contentType}; `raw` is the object's proto2 encoding (k8s.io/api core/v1 and apimachinery meta/v1
// generated.proto). Pure and total: bad input gives a 400/415 ApiError result, never an exception.

import { ApiError } from './errors.js';
import { setOwn, type Json, type JsonObject } from './json.js';
import { CORE_V1_SCHEMAS, type FieldSpec, type MessageSchema } from './protobuf-schemas.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
export const PROTOBUF_MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** Wire types of the protobuf encoding. */
export const WT = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

/** One field occurrence: varints and fixed values as bigint, length-delimited payloads as a view of the input. */
export type WireField = { no: number; wt: 0 | 1 | 5; value: bigint; at: number } | { no: number; wt: 2; bytes: Uint8Array; at: number };

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

function fail<T>(error: string): Result<T> {
  return { ok: false, error };
}

/** A varint as read: exact in `num` below 2^49; `big` is set (and `num` approximate) from 2^49 up. */
interface Varint {
  num: number;
  big: bigint | undefined;
}

/** Reads a varint at `pos` into `out`; returns the next position, or an error message. */
function varintAt(buf: Uint8Array, pos: number, out: Varint): number | string {
  let num = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const at = pos + i;
    if (at >= buf.length) return `truncated varint at byte ${pos}`;
    const b = buf[at] ?? 0;
    if (i === 9 && b > 1) return `varint overflows 64 bits at byte ${pos}`;
    if (i < 7) {
      num += (b & 0x7f) * mul;
      mul *= 128;
    }
    if ((b & 0x80) === 0) {
      if (i < 7) {
        out.num = num;
        out.big = undefined;
      } else {
        let big = 0n;
        for (let j = i; j >= 0; j--) big = (big << 7n) | BigInt((buf[pos + j] ?? 0) & 0x7f);
        out.big = big;
        out.num = Number(big);
      }
      return at + 1;
    }
  }
  return `varint longer than 10 bytes at byte ${pos}`;
}

/** Reads a base-128 varint (at most 10 bytes, value < 2^64) at `pos`. */
export function readVarint(buf: Uint8Array, pos: number): Result<{ value: bigint; next: number }> {
  const v: Varint = { num: 0, big: undefined };
  const next = varintAt(buf, pos, v);
  if (typeof next === 'string') return fail(next);
  return { ok: true, value: { value: v.big ?? BigInt(v.num), next } };
}

/** One field occurrence during a scan: the varint value, or the payload's [start, end) in `buf`. */
interface RawField extends Varint {
  no: number;
  wt: number;
  start: number;
  end: number;
  at: number;
  buf: Uint8Array;
}

/**
 * Walks the fields of one message, calling `visit` with a cursor that is reused between calls (copy what you
 * keep). Returns an error message for a malformed message. Groups (wire types 3/4) are rejected.
 */
function scan(buf: Uint8Array, visit: (f: RawField) => void): string | undefined {
  const c: RawField = { no: 0, wt: 0, num: 0, big: undefined, start: 0, end: 0, at: 0, buf };
  let pos = 0;
  while (pos < buf.length) {
    const at = pos;
    const afterTag = varintAt(buf, pos, c);
    if (typeof afterTag === 'string') return afterTag;
    const no = Math.floor(c.num / 8);
    const wt = c.num % 8;
    if (c.big !== undefined || no === 0 || no > 0x1fffffff) return `invalid field number ${c.big !== undefined ? c.big >> 3n : no} at byte ${at}`;
    pos = afterTag;
    c.no = no;
    c.wt = wt;
    c.at = at;
    switch (wt) {
      case WT.varint: {
        const next = varintAt(buf, pos, c);
        if (typeof next === 'string') return next;
        c.start = pos;
        c.end = next;
        break;
      }
      case WT.fixed64:
      case WT.fixed32: {
        const n = wt === WT.fixed64 ? 8 : 4;
        if (pos + n > buf.length) return `truncated fixed${n * 8} field ${no} at byte ${at}`;
        c.start = pos;
        c.end = pos + n;
        break;
      }
      case WT.bytes: {
        const next = varintAt(buf, pos, c);
        if (typeof next === 'string') return next;
        const left = buf.length - next;
        if (c.big !== undefined || c.num > left) return `field ${no} at byte ${at} claims ${c.big ?? c.num} bytes, only ${left} left`;
        c.start = next;
        c.end = next + c.num;
        break;
      }
      default:
        return `unsupported wire type ${wt} (field ${no}) at byte ${at}`;
    }
    pos = c.end;
    visit(c);
  }
  return undefined;
}

/** Splits one message into its field occurrences (in wire order). Groups (wire types 3/4) are rejected. */
export function readFields(buf: Uint8Array): Result<WireField[]> {
  const out: WireField[] = [];
  const err = scan(buf, (f) => {
    if (f.wt === WT.bytes) out.push({ no: f.no, wt: 2, bytes: buf.subarray(f.start, f.end), at: f.at });
    else if (f.wt === WT.varint) out.push({ no: f.no, wt: 0, value: f.big ?? BigInt(f.num), at: f.at });
    else {
      let value = 0n;
      for (let i = f.end - 1; i >= f.start; i--) value = (value << 8n) | BigInt(buf[i] ?? 0);
      out.push({ no: f.no, wt: f.wt === WT.fixed64 ? 1 : 5, value, at: f.at });
    }
  });
  return err === undefined ? { ok: true, value: out } : fail(err);
}

class DecodeError extends Error {}

const utf8 = new TextDecoder('utf-8');

function expectWire(f: RawField, want: 0 | 2, path: string): void {
  if (f.wt !== want) throw new DecodeError(`${path}: wire type ${f.wt}, expected ${want === 0 ? 'a varint' : 'length-delimited'} (byte ${f.at})`);
}

function int32Of(f: RawField, path: string): number {
  expectWire(f, 0, path);
  return f.big === undefined ? f.num | 0 : Number(BigInt.asIntN(32, f.big));
}

function int64Of(f: RawField, path: string): number {
  expectWire(f, 0, path);
  return f.big === undefined ? f.num : Number(BigInt.asIntN(64, f.big));
}

function boolOf(f: RawField, path: string): boolean {
  expectWire(f, 0, path);
  return f.num !== 0 || f.big !== undefined;
}

function bytesOf(f: RawField, path: string): Uint8Array {
  expectWire(f, 2, path);
  return f.buf.subarray(f.start, f.end);
}

function stringOf(f: RawField, path: string): string {
  return utf8.decode(bytesOf(f, path));
}

/** All fields of a small message (copies of the scan cursor). */
function fieldsOf(buf: Uint8Array, path: string): RawField[] {
  const out: RawField[] = [];
  const err = scan(buf, (f) => out.push({ ...f }));
  if (err !== undefined) throw new DecodeError(`${path}: ${err}`);
  return out;
}

/** metav1.Time: {1 seconds, 2 nanos}; an empty message is the zero time (JSON null), nanos are dropped as the real server does. */
function decodeTime(buf: Uint8Array, path: string): Json {
  if (buf.length === 0) return null;
  let seconds = 0;
  for (const f of fieldsOf(buf, path)) if (f.no === 1) seconds = int64Of(f, `${path}.seconds`);
  const ms = seconds * 1000;
  const d = new Date(ms);
  // RFC 3339 (and Go's Time JSON) covers years 0000-9999 only.
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999) throw new DecodeError(`${path}: time ${seconds}s is out of range`);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** intstr.IntOrString: {1 type (0 int, 1 string), 2 intVal, 3 strVal}. */
function decodeIntOrString(buf: Uint8Array, path: string): Json {
  let type = 0;
  let intVal = 0;
  let strVal = '';
  for (const f of fieldsOf(buf, path)) {
    if (f.no === 1) type = int64Of(f, `${path}.type`);
    else if (f.no === 2) intVal = int32Of(f, `${path}.intVal`);
    else if (f.no === 3) strVal = stringOf(f, `${path}.strVal`);
  }
  return type === 1 ? strVal : intVal;
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
function decodeValue(spec: FieldSpec, f: RawField, path: string): Json | undefined {
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
      const n = t.k === 'int32' ? int32Of(f, path) : int64Of(f, path);
      return n === 0 && !spec.keep && !spec.ptr ? undefined : n;
    }
    case 'bool': {
      const b = boolOf(f, path);
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
  const byNo = new Map<number, RawField[]>();
  const err = scan(buf, (f) => {
    if (!schema.fields.has(f.no)) return;
    const list = byNo.get(f.no);
    if (list) list.push({ ...f });
    else byNo.set(f.no, [{ ...f }]);
  });
  if (err !== undefined) throw new DecodeError(`${path}: ${err}`);
  const out: JsonObject = {};
  for (const [no, spec] of schema.fields) {
    const occ = byNo.get(no);
    if (!occ) continue;
    const fpath = `${path}.${spec.json}`;
    if (spec.type.k === 'map') {
      const m: JsonObject = {};
      for (const f of occ) {
        const [k, v] = decodeMapEntry(bytesOf(f, fpath), spec.type.value, fpath);
        setOwn(m, k, v);
      }
      out[spec.json] = m;
    } else if (spec.repeated) {
      const item: FieldSpec = { ...spec, keep: true };
      const items: Json[] = occ.map((f, i) => decodeValue(item, f, `${fpath}[${i}]`) ?? null);
      out[spec.json] = items;
    } else if (spec.type.k === 'message') {
      // A message field sent more than once is merged, as protobuf specifies: decode the concatenation.
      const parts = occ.map((f) => bytesOf(f, fpath));
      out[spec.json] = decodeObject(parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts), spec.type.m, fpath);
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
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(), contentEncoding: '', contentType: '' };
  try {
    for (const f of fieldsOf(body.subarray(4), 'runtime.Unknown')) {
      if (f.no === 1) {
        for (const g of fieldsOf(bytesOf(f, 'runtime.Unknown.typeMeta'), 'runtime.Unknown.typeMeta')) {
          if (g.no === 1) env.apiVersion = stringOf(g, 'runtime.Unknown.typeMeta.apiVersion');
          else if (g.no === 2) env.kind = stringOf(g, 'runtime.Unknown.typeMeta.kind');
        }
      } else if (f.no === 2) env.raw = bytesOf(f, 'runtime.Unknown.raw');
      else if (f.no === 3) env.contentEncoding = stringOf(f, 'runtime.Unknown.contentEncoding');
      else if (f.no === 4) env.contentType = stringOf(f, 'runtime.Unknown.contentType');
    }
  } catch (e) {
    if (e instanceof DecodeError) return fail(e.message);
    throw e;
  }
  return { ok: true, value: env };
}

export const PROTOBUF_KINDS = [...CORE_V1_SCHEMAS.keys()].map((k) => k.replace(/^v1\//, ''));

function unsupported(what: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the l2lb embedded API server decodes protobuf bodies only for v1 ${PROTOBUF_KINDS.join(', ')}, not ${what} (send JSON: kubectl create/apply -f, or --dry-run=client -o yaml | kubectl apply -f -)`,
  );
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
