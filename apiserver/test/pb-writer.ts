// A minimal protobuf writer for tests: builds hand-made Kubernetes protobuf messages field by field.

export type Part = Uint8Array;

export function varint(n: bigint | number): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? b : b | 0x80);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

export function cat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

export const tag = (no: number, wt: number): Uint8Array => varint((BigInt(no) << 3n) | BigInt(wt));
/** Varint field (int32/int64/bool/enum). */
export const vi = (no: number, n: bigint | number | boolean): Uint8Array => cat(tag(no, 0), varint(typeof n === 'boolean' ? (n ? 1 : 0) : n));
/** Length-delimited field with raw bytes. */
export const bytes = (no: number, b: Uint8Array): Uint8Array => cat(tag(no, 2), varint(b.length), b);
/** String field. */
export const s = (no: number, text: string): Uint8Array => bytes(no, new TextEncoder().encode(text));
/** Embedded message field. */
export const m = (no: number, ...parts: Uint8Array[]): Uint8Array => bytes(no, cat(...parts));
/** One map<string,string|bytes> entry. */
export const entry = (no: number, key: string, value: string | Uint8Array): Uint8Array =>
  m(no, s(1, key), typeof value === 'string' ? s(2, value) : bytes(2, value));
export const fixed32 = (no: number, n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return cat(tag(no, 5), b);
};
export const fixed64 = (no: number, n: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return cat(tag(no, 1), b);
};

/** "k8s\0" + runtime.Unknown{typeMeta{apiVersion, kind}, raw, contentEncoding, contentType}. */
export function envelope(apiVersion: string, kind: string, raw: Uint8Array, contentEncoding = '', contentType = ''): Uint8Array {
  return cat(Uint8Array.of(0x6b, 0x38, 0x73, 0), m(1, s(1, apiVersion), s(2, kind)), bytes(2, raw), s(3, contentEncoding), s(4, contentType));
}

export const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
