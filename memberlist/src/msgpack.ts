// A small msgpack codec for the subset HashiCorp memberlist uses, written to produce exactly the bytes
// Go's go-msgpack (zero-value MsgpackHandle) writes: maps with sorted PascalCase keys, the legacy raw
// "str" family for both strings and []byte (fixstr/str16/str32, never str8 or bin), nil for nil []byte,
// smallest unsigned int form. The decoder is lenient (str8, bin, signed ints, floats) and total: every
// malformed input becomes a DecodeError; truncated input becomes a TruncatedError (streams wait for more).

export class DecodeError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** Input ended inside a value: not (yet) an error for a stream reader, an error for a packet. */
export class TruncatedError extends DecodeError {
  /**
   * @param needed a lower bound on the buffer length at which the same read can get further (stream
   * readers wait for that many bytes before looking again, instead of re-parsing on every chunk)
   */
  constructor(
    what: string,
    readonly needed = 0,
  ) {
    super('truncated', `truncated input while reading ${what}`);
    this.name = 'TruncatedError';
  }
}

export type MpValue = null | boolean | number | Uint8Array | MpValue[] | MpMap;
export type MpMap = Map<string, MpValue>;

const MAX_DEPTH = 16;
const textDecoder = new TextDecoder('utf-8');
const textEncoder = new TextEncoder();

export class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  remaining(): number {
    return this.end - this.pos;
  }
  need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new TruncatedError(what, this.pos + n);
  }
  u8(what = 'byte'): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = ((this.buf[this.pos] as number) << 8) | (this.buf[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    const v = (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
    this.pos += 4;
    return v;
  }
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Decode one msgpack value at r.pos. Strings and binaries come back as raw bytes (Uint8Array views). */
export function decodeValue(r: Reader, depth = 0): MpValue {
  if (depth > MAX_DEPTH) throw new DecodeError('too_deep', 'msgpack nesting deeper than 16');
  const t = r.u8('msgpack type byte');
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 0x100;
  if ((t & 0xf0) === 0x80) return decodeMap(r, t & 0x0f, depth);
  if ((t & 0xf0) === 0x90) return decodeArray(r, t & 0x0f, depth);
  if ((t & 0xe0) === 0xa0) return r.bytes(t & 0x1f, 'fixstr');
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
    case 0xd9:
      return r.bytes(r.u8('str8/bin8 length'), 'str8/bin8');
    case 0xc5:
    case 0xda:
      return r.bytes(r.u16('str16/bin16 length'), 'str16/bin16');
    case 0xc6:
    case 0xdb:
      return r.bytes(r.u32('str32/bin32 length'), 'str32/bin32');
    case 0xc7: {
      const n = r.u8();
      r.u8();
      return r.bytes(n, 'ext8');
    }
    case 0xc8: {
      const n = r.u16();
      r.u8();
      return r.bytes(n, 'ext16');
    }
    case 0xc9: {
      const n = r.u32();
      r.u8();
      return r.bytes(n, 'ext32');
    }
    case 0xca: {
      const b = r.bytes(4, 'float32');
      return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0);
    }
    case 0xcb: {
      const b = r.bytes(8, 'float64');
      return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);
    }
    case 0xcc:
      return r.u8('uint8');
    case 0xcd:
      return r.u16('uint16');
    case 0xce:
      return r.u32('uint32');
    case 0xcf: {
      const hi = r.u32('uint64');
      const lo = r.u32('uint64');
      return hi * 0x100000000 + lo;
    }
    case 0xd0: {
      const v = r.u8('int8');
      return v >= 0x80 ? v - 0x100 : v;
    }
    case 0xd1: {
      const v = r.u16('int16');
      return v >= 0x8000 ? v - 0x10000 : v;
    }
    case 0xd2: {
      const v = r.u32('int32');
      return v >= 0x80000000 ? v - 0x100000000 : v;
    }
    case 0xd3: {
      const hi = r.u32('int64');
      const lo = r.u32('int64');
      return (hi >= 0x80000000 ? hi - 0x100000000 : hi) * 0x100000000 + lo;
    }
    case 0xd4:
      r.bytes(2, 'fixext1');
      return null;
    case 0xd5:
      r.bytes(3, 'fixext2');
      return null;
    case 0xd6:
      r.bytes(5, 'fixext4');
      return null;
    case 0xd7:
      r.bytes(9, 'fixext8');
      return null;
    case 0xd8:
      r.bytes(17, 'fixext16');
      return null;
    case 0xdc:
      return decodeArray(r, r.u16('array16 length'), depth);
    case 0xdd:
      return decodeArray(r, r.u32('array32 length'), depth);
    case 0xde:
      return decodeMap(r, r.u16('map16 length'), depth);
    case 0xdf:
      return decodeMap(r, r.u32('map32 length'), depth);
    default:
      throw new DecodeError('bad_msgpack', `unsupported msgpack type byte 0x${t.toString(16)}`);
  }
}

/**
 * Step over one msgpack value without building it (the stream framer finds where a message ends).
 * Same grammar and errors as decodeValue; lengths are checked against the input, nothing is allocated.
 */
export function skipValue(r: Reader, depth = 0): void {
  if (depth > MAX_DEPTH) throw new DecodeError('too_deep', 'msgpack nesting deeper than 16');
  const t = r.u8('msgpack type byte');
  if (t <= 0x7f || t >= 0xe0) return;
  let items = 0;
  if ((t & 0xf0) === 0x80) items = 2 * (t & 0x0f);
  else if ((t & 0xf0) === 0x90) items = t & 0x0f;
  else if ((t & 0xe0) === 0xa0) {
    r.bytes(t & 0x1f, 'fixstr');
    return;
  } else {
    switch (t) {
      case 0xc0:
      case 0xc2:
      case 0xc3:
        return;
      case 0xc4:
      case 0xd9:
        r.bytes(r.u8('str8/bin8 length'), 'str8/bin8');
        return;
      case 0xc5:
      case 0xda:
        r.bytes(r.u16('str16/bin16 length'), 'str16/bin16');
        return;
      case 0xc6:
      case 0xdb:
        r.bytes(r.u32('str32/bin32 length'), 'str32/bin32');
        return;
      case 0xc7: {
        const n = r.u8();
        r.bytes(n + 1, 'ext8');
        return;
      }
      case 0xc8: {
        const n = r.u16();
        r.bytes(n + 1, 'ext16');
        return;
      }
      case 0xc9: {
        const n = r.u32();
        r.bytes(n + 1, 'ext32');
        return;
      }
      case 0xca:
        r.bytes(4, 'float32');
        return;
      case 0xcb:
        r.bytes(8, 'float64');
        return;
      case 0xcc:
      case 0xd0:
        r.bytes(1, 'int8');
        return;
      case 0xcd:
      case 0xd1:
        r.bytes(2, 'int16');
        return;
      case 0xce:
      case 0xd2:
        r.bytes(4, 'int32');
        return;
      case 0xcf:
      case 0xd3:
        r.bytes(8, 'int64');
        return;
      case 0xd4:
        r.bytes(2, 'fixext1');
        return;
      case 0xd5:
        r.bytes(3, 'fixext2');
        return;
      case 0xd6:
        r.bytes(5, 'fixext4');
        return;
      case 0xd7:
        r.bytes(9, 'fixext8');
        return;
      case 0xd8:
        r.bytes(17, 'fixext16');
        return;
      case 0xdc:
        items = r.u16('array16 length');
        break;
      case 0xdd:
        items = r.u32('array32 length');
        break;
      case 0xde:
        items = 2 * r.u16('map16 length');
        break;
      case 0xdf:
        items = 2 * r.u32('map32 length');
        break;
      default:
        throw new DecodeError('bad_msgpack', `unsupported msgpack type byte 0x${t.toString(16)}`);
    }
  }
  // Every element takes at least one byte: a huge count is caught by the length check, not a loop.
  r.need(items, 'array/map elements');
  for (let i = 0; i < items; i++) skipValue(r, depth + 1);
}

function decodeArray(r: Reader, n: number, depth: number): MpValue[] {
  // Every element takes at least one byte, so n is bounded by the input: no unbounded allocation.
  r.need(n, 'array elements');
  const out: MpValue[] = [];
  for (let i = 0; i < n; i++) out.push(decodeValue(r, depth + 1));
  return out;
}

function decodeMap(r: Reader, n: number, depth: number): MpMap {
  r.need(n * 2, 'map entries');
  const out: MpMap = new Map();
  for (let i = 0; i < n; i++) {
    const k = decodeValue(r, depth + 1);
    if (!(k instanceof Uint8Array)) throw new DecodeError('bad_map_key', 'msgpack map key is not a string');
    out.set(textDecoder.decode(k), decodeValue(r, depth + 1));
  }
  return out;
}

/** Decode one msgpack map (a memberlist struct). */
export function decodeStruct(r: Reader, what: string): MpMap {
  const v = decodeValue(r);
  if (!(v instanceof Map)) throw new DecodeError('bad_struct', `${what}: expected a msgpack map`);
  return v;
}

// ---- field accessors (Go zero values when a field is absent or nil) ----

export function fUint(m: MpMap, key: string, what: string, max = 0xffffffff): number {
  const v = m.get(key);
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new DecodeError('bad_field', `${what}.${key}: expected an integer`);
  if (v < 0 || v > max) throw new DecodeError('bad_field', `${what}.${key}: ${v} out of range 0..${max}`);
  return v;
}

export function fBool(m: MpMap, key: string, what: string): boolean {
  const v = m.get(key);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new DecodeError('bad_field', `${what}.${key}: expected a bool`);
  return v;
}

/** A []byte field: null when absent or nil (Go nil slice), else the bytes (copied, so they outlive the packet). */
export function fBytes(m: MpMap, key: string, what: string): Uint8Array | null {
  const v = m.get(key);
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) {
    // go-msgpack v2 accepts an array of uint8 for []byte.
    const out = new Uint8Array(v.length);
    v.forEach((x, i) => {
      if (typeof x !== 'number' || x < 0 || x > 255) throw new DecodeError('bad_field', `${what}.${key}: array element is not a byte`);
      out[i] = x;
    });
    return out;
  }
  if (!(v instanceof Uint8Array)) throw new DecodeError('bad_field', `${what}.${key}: expected bytes`);
  return v.slice();
}

export function fString(m: MpMap, key: string, what: string): string {
  const v = m.get(key);
  if (v === undefined || v === null) return '';
  if (!(v instanceof Uint8Array)) throw new DecodeError('bad_field', `${what}.${key}: expected a string`);
  return textDecoder.decode(v);
}

// ---- encoder ----

export class Writer {
  private buf: Uint8Array;
  len = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }
  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  u8(v: number): this {
    this.grow(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.grow(2);
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u32(v: number): this {
    this.grow(4);
    this.buf[this.len++] = (v >>> 24) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  raw(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  mapHeader(n: number): this {
    if (n < 16) return this.u8(0x80 | n);
    return this.u8(0xde).u16(n);
  }
  /** Go raw-str family: fixstr, str16, str32 (never str8). */
  str(b: Uint8Array | string): this {
    const bytes = typeof b === 'string' ? textEncoder.encode(b) : b;
    const n = bytes.length;
    if (n < 32) this.u8(0xa0 | n);
    else if (n <= 0xffff) this.u8(0xda).u16(n);
    else this.u8(0xdb).u32(n);
    return this.raw(bytes);
  }
  /** []byte: nil → 0xc0, else raw str. */
  bytesOrNil(b: Uint8Array | null): this {
    if (b === null) return this.u8(0xc0);
    return this.str(b);
  }
  uint(v: number): this {
    if (v < 0 || !Number.isInteger(v)) throw new RangeError(`msgpack uint: ${v}`);
    if (v <= 0x7f) return this.u8(v);
    if (v <= 0xff) return this.u8(0xcc).u8(v);
    if (v <= 0xffff) return this.u8(0xcd).u16(v);
    if (v <= 0xffffffff) return this.u8(0xce).u32(v);
    const hi = Math.floor(v / 0x100000000);
    return this.u8(0xcf)
      .u32(hi)
      .u32(v - hi * 0x100000000);
  }
  bool(v: boolean): this {
    return this.u8(v ? 0xc3 : 0xc2);
  }
  key(k: string): this {
    return this.str(k);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}
export function fromUtf8(b: Uint8Array): string {
  return textDecoder.decode(b);
}
