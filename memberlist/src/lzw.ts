// LZW as Go's compress/lzw writes and reads it with LSB bit order and 8-bit literals (what memberlist
// uses for compressMsg): clear code 256, EOF 257, codes 9..12 bits wide. The writer emits a leading
// clear code like Go >= 1.18 and ends with EOF, so output is byte-identical to Go's.

const CLEAR = 256;
const EOF = 257;
const MAX_CODE = 4095;

export class LzwError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'LzwError';
  }
}

class BitWriter {
  private out: number[] = [];
  private bits = 0;
  private nBits = 0;
  write(code: number, width: number): void {
    this.bits |= code << this.nBits;
    this.nBits += width;
    while (this.nBits >= 8) {
      this.out.push(this.bits & 0xff);
      this.bits >>>= 8;
      this.nBits -= 8;
    }
  }
  finish(): Uint8Array {
    if (this.nBits > 0) this.out.push(this.bits & 0xff);
    return Uint8Array.from(this.out);
  }
}

export function lzwCompress(input: Uint8Array): Uint8Array {
  const bw = new BitWriter();
  let width = 9;
  let hi = EOF;
  let overflow = 512;
  const dict = new Map<number, number>();
  if (input.length === 0) {
    bw.write(CLEAR, 9);
    bw.write(EOF, 9);
    return bw.finish();
  }
  // Returns true when the table ran out and was reset (no entry may be added then).
  const incHi = (): boolean => {
    hi++;
    if (hi === overflow) {
      width++;
      overflow *= 2;
    }
    if (hi === MAX_CODE) {
      bw.write(CLEAR, width);
      width = 9;
      hi = EOF;
      overflow = 512;
      dict.clear();
      return true;
    }
    return false;
  };
  bw.write(CLEAR, width);
  let cur = input[0] as number;
  for (let i = 1; i < input.length; i++) {
    const x = input[i] as number;
    const key = (cur << 8) | x;
    const found = dict.get(key);
    if (found !== undefined) {
      cur = found;
      continue;
    }
    bw.write(cur, width);
    cur = x;
    if (incHi()) continue;
    dict.set(key, hi);
  }
  bw.write(cur, width);
  incHi();
  bw.write(EOF, width);
  return bw.finish();
}

/**
 * Decompress Go-style LZW. Throws LzwError on a malformed stream, a missing EOF code, or output larger
 * than maxOut bytes (memory cap against decompression bombs).
 *
 * Every table entry is "the previous code's string plus one byte", and the output is kept whole, so an
 * entry is stored as (offset, length) into the output: the previous string starts at its offset and
 * the byte after it is the first byte of the string that defined the entry. Expanding a code is then
 * one copyWithin, not a per-byte walk of a prefix chain: cost per code, not per output byte, which
 * keeps a bomb that hits the cap cheap even before the JIT has warmed up.
 */
export function lzwDecompress(input: Uint8Array, maxOut: number): Uint8Array {
  const entryOff = new Int32Array(4096);
  const entryLen = new Int32Array(4096);
  let out = new Uint8Array(Math.min(Math.max(input.length * 4, 64), maxOut));
  let o = 0;
  const reserve = (n: number): void => {
    if (o + n <= out.length) return;
    if (o + n > maxOut) throw new LzwError('too_large', `decompressed data exceeds ${maxOut} bytes`);
    let size = out.length * 2;
    while (size < o + n) size *= 2;
    const nb = new Uint8Array(Math.min(size, maxOut));
    nb.set(out.subarray(0, o));
    out = nb;
  };
  let width = 9;
  let hi = EOF;
  let overflow = 512;
  let last = -1;
  // Where the previous code's string starts in the output, and its length.
  let lastOff = 0;
  let lastLen = 0;
  let bits = 0;
  let nBits = 0;
  let pos = 0;
  for (;;) {
    while (nBits < width) {
      if (pos >= input.length) throw new LzwError('lzw_eof', 'LZW stream ended without an EOF code');
      bits |= (input[pos++] as number) << nBits;
      nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nBits -= width;
    if (code === CLEAR) {
      width = 9;
      hi = EOF;
      overflow = 512;
      last = -1;
      continue;
    }
    if (code === EOF) break;
    const start = o;
    let len: number;
    if (code < CLEAR) {
      reserve(1);
      out[o++] = code;
      len = 1;
    } else if (code < hi) {
      len = entryLen[code] as number;
      reserve(len);
      const from = entryOff[code] as number;
      out.copyWithin(o, from, from + len);
      o += len;
    } else if (code === hi && last !== -1) {
      // The entry being defined right now: the previous string plus its own first byte.
      len = lastLen + 1;
      reserve(len);
      out.copyWithin(o, lastOff, lastOff + lastLen);
      out[o + lastLen] = out[lastOff] as number;
      o += len;
    } else {
      throw new LzwError('lzw_bad_code', `invalid LZW code ${code}`);
    }
    if (last !== -1) {
      // The previous string followed by this string's first byte, which sits right after it.
      entryOff[hi] = lastOff;
      entryLen[hi] = lastLen + 1;
    }
    last = code;
    lastOff = start;
    lastLen = len;
    hi++;
    if (hi >= overflow) {
      if (width === 12) {
        last = -1;
        hi--;
      } else {
        width++;
        overflow = 1 << width;
      }
    }
  }
  return out.slice(0, o);
}
