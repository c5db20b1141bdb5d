// LZW as Go's compress/lzw writes and reads it with LSB bit order and 8-bit literals (what memberlist
// uses for compressMsg): clear code 256, EOF 257, codes 9..12 bits wide. The writer emits a leading
// clear code like Go >= 1.18 and ends with EOF, so output is byte-identical to Go's.

const CLEAR = 256;
const EOF = 257;
const MAX_CODE = 4095;

export class LzwError extends Error {
  constructor(readonly reason: string, message: string) {
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
 */
export function lzwDecompress(input: Uint8Array, maxOut: number): Uint8Array {
  const prefix = new Uint16Array(4096);
  const suffix = new Uint8Array(4096);
  const stack = new Uint8Array(4096);
  let out = new Uint8Array(Math.min(Math.max(input.length * 4, 64), maxOut));
  let o = 0;
  const push = (b: number): void => {
    if (o >= out.length) {
      if (out.length >= maxOut) throw new LzwError('too_large', `decompressed data exceeds ${maxOut} bytes`);
      const nb = new Uint8Array(Math.min(out.length * 2, maxOut));
      nb.set(out);
      out = nb;
    }
    out[o++] = b;
  };
  let width = 9;
  let hi = EOF;
  let overflow = 512;
  let last = -1;
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
    if (code < CLEAR) {
      push(code);
      if (last !== -1) {
        suffix[hi] = code;
        prefix[hi] = last;
      }
    } else if (code < hi || (code === hi && last !== -1)) {
      // Expand code (or, for code == hi, the previous string plus its own first byte).
      let sp = 0;
      let c = code;
      if (code === hi) {
        let h = last;
        while (h >= CLEAR) h = prefix[h] as number;
        stack[sp++] = h;
        c = last;
      }
      while (c >= CLEAR) {
        if (sp >= stack.length) throw new LzwError('lzw_bad_code', 'LZW code chain too long');
        stack[sp++] = suffix[c] as number;
        c = prefix[c] as number;
      }
      stack[sp++] = c;
      while (sp > 0) push(stack[--sp] as number);
      if (last !== -1) {
        suffix[hi] = c;
        prefix[hi] = last;
      }
    } else {
      throw new LzwError('lzw_bad_code', `invalid LZW code ${code}`);
    }
    last = code;
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
