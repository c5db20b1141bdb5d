// The fuzz harness: deterministic per-input generators, structure-aware mutators, and a loop that runs one
// target in-process with a per-input hang detector (wall time of each input) and RSS/heap sampling.
// Pure except runTarget(), which reads the clock and process memory.
import { performance } from 'node:perf_hooks';
import { errorText } from '@l2lb/shared/log';

/** xorshift128+ seeded by splitmix32; each input gets its own stream so input i replays from (seed, i). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next() | 1;
    this.b = next();
    this.c = next();
    this.d = next();
  }
  /** 32 random bits. */
  u32(): number {
    // xoshiro128**
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }
  /** 0 <= n < max. */
  int(max: number): number {
    return max <= 1 ? 0 : this.u32() % max;
  }
  chance(oneIn: number): boolean {
    return this.int(oneIn) === 0;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
  /** A length skewed towards small values, occasionally up to `max`. */
  len(max: number): number {
    const r = this.int(8);
    if (r < 5) return this.int(Math.min(max, 64) + 1);
    if (r < 7) return this.int(Math.min(max, 1024) + 1);
    return this.int(max + 1);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The seed of input `index` of a run seeded `seed`. */
export function inputSeed(seed: number, index: number): number {
  return (Math.imul(index + 1, 0x9e3779b1) ^ seed) >>> 0;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x3f, 0x40, 0x20, 0x10];
const INTERESTING_U16 = [0x0000, 0x0001, 0x00ff, 0x0100, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x01000000, 0x00ffffff, 0x00010000];

/**
 * Byte mutation: 1-4 of bit flips, interesting bytes, lying 16/32-bit lengths (both byte orders), inserted,
 * deleted, duplicated or random chunks, truncation and extension. Returns a new buffer.
 */
export function mutateBytes(rng: Rng, input: Uint8Array, maxLen = 4096): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const at = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(11)) {
      case 0:
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << rng.int(8));
        break;
      case 1:
        if (b.length > 0) b[at] = rng.pick(INTERESTING_BYTES);
        break;
      case 2:
        if (b.length > 0) b[at] = rng.u32() & 0xff;
        break;
      case 3:
        if (b.length >= 2) {
          const v = rng.pick(INTERESTING_U16);
          const p = Math.min(at, b.length - 2);
          if (rng.chance(2)) b.writeUInt16BE(v, p);
          else b.writeUInt16LE(v, p);
        }
        break;
      case 4:
        if (b.length >= 4) {
          const v = rng.pick(INTERESTING_U32);
          const p = Math.min(at, b.length - 4);
          if (rng.chance(2)) b.writeUInt32BE(v, p);
          else b.writeUInt32LE(v, p);
        }
        break;
      case 5:
        b = b.subarray(0, rng.int(b.length + 1));
        break; // truncate
      case 6:
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.len(64)), b.subarray(at)]);
        break; // insert random
      case 7: {
        const n = rng.int(Math.max(1, b.length - at) + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
        break;
      } // delete
      case 8: {
        const n = rng.int(Math.min(64, b.length - at) + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + n), b.subarray(at)]);
        break;
      } // duplicate
      case 9:
        b = Buffer.concat([b, rng.bytes(rng.len(128))]);
        break; // extend
      default: {
        const n = rng.int(Math.min(16, b.length - at) + 1);
        for (let i = 0; i < n; i++) b[at + i] = rng.u32() & 0xff;
      }
    }
    if (b.length > maxLen) b = b.subarray(0, maxLen);
  }
  return Buffer.from(b);
}

const TEXT_TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ':',
  ',',
  '"',
  "'",
  '-',
  ' ',
  '\n',
  '  ',
  '\t',
  '&a',
  '*a',
  '!!str',
  '!!binary',
  '---',
  '...',
  '#',
  '|',
  '>',
  'null',
  'true',
  'yes',
  'no',
  '~',
  '0x',
  '1e999',
  '-0',
  '1.5',
  '99999999999999999999',
  '\\u0000',
  '\u0000',
  '\ud800',
  '\u2028',
  '%',
  '@',
  '`',
  '<<',
  '?',
  '__proto__',
  'constructor',
  'prototype',
  '10.0.0.0/8',
  '::/0',
  '1.2.3.4-1.2.3.1',
  'fe80::1%eth0',
  '0.0.0.0/0',
];

/** Text mutation: replaced/inserted/deleted characters and grammar tokens, duplicated spans, truncation. */
export function mutateText(rng: Rng, input: string, maxLen = 16384): string {
  let s = input;
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(s.length + 1);
    switch (rng.int(7)) {
      case 0:
        s = s.slice(0, at) + rng.pick(TEXT_TOKENS) + s.slice(at);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + 1 + rng.int(8));
        break;
      case 2:
        s = s.slice(0, at) + String.fromCharCode(rng.int(rng.chance(4) ? 0x10000 : 128)) + s.slice(at + 1);
        break;
      case 3: {
        const n = rng.int(Math.min(64, s.length - at) + 1);
        s = s.slice(0, at) + s.slice(at, at + n).repeat(1 + rng.int(4)) + s.slice(at);
        break;
      }
      case 4:
        s = s.slice(0, at);
        break;
      case 5: {
        const n = rng.len(4000);
        s = s.slice(0, at) + rng.pick(['[', '{"a":', '- ', '  ', '{', '[[']).repeat(n) + s.slice(at);
        break;
      } // deep nesting
      default:
        s = s.slice(0, at) + rng.bytes(rng.len(16)).toString('latin1') + s.slice(at);
    }
    if (s.length > maxLen) s = s.slice(0, maxLen);
  }
  return s;
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** A random JSON value with the shapes that hurt parsers: deep nesting, odd numbers, prototype keys. */
export function randomJson(rng: Rng, depth = 0): JsonValue {
  const r = rng.int(depth > 4 ? 6 : 9);
  switch (r) {
    case 0:
      return null;
    case 1:
      return rng.chance(2);
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 65536, 4294967296, Number.MIN_VALUE, 80, 443]);
    case 3:
      return rng.pick(['', 'a', 'LoadBalancer', 'Local', 'Cluster', 'True', '10.0.0.1', '::1', 'default', 'x'.repeat(rng.len(3000)), '\u0000', '__proto__']);
    case 4:
      return rng.bytes(rng.len(24)).toString('latin1');
    case 5: {
      // deep
      let v: JsonValue = rng.chance(2) ? [] : {};
      const n = rng.len(300);
      for (let i = 0; i < n; i++) v = rng.chance(2) ? [v] : { a: v };
      return v;
    }
    case 6:
      return Array.from({ length: rng.len(8) }, () => randomJson(rng, depth + 1));
    default: {
      const o: { [k: string]: JsonValue } = {};
      const n = rng.len(6);
      for (let i = 0; i < n; i++)
        o[rng.pick(['name', 'metadata', 'spec', 'status', 'ip', 'port', 'labels', '__proto__', 'constructor', 'x', '$patch', 'op', 'path', 'value'])] =
          randomJson(rng, depth + 1);
      return o;
    }
  }
}

/** Structure-aware mutation of a JSON value: a subtree replaced, deleted, deepened, or its type changed. */
export function mutateJson(rng: Rng, value: unknown): unknown {
  const copy: unknown = structuredClone(value);
  const rounds = 1 + rng.int(3);
  let out = copy;
  for (let r = 0; r < rounds; r++) out = mutateAt(rng, out, 0);
  return out;
}

function mutateAt(rng: Rng, v: unknown, depth: number): unknown {
  const isObj = typeof v === 'object' && v !== null;
  if (!isObj || depth > 12 || rng.chance(4)) {
    switch (rng.int(5)) {
      case 0:
        return randomJson(rng, depth);
      case 1:
        return undefined; // deleted
      case 2: {
        let x: unknown = v;
        const n = 1 + rng.len(300);
        for (let i = 0; i < n; i++) x = rng.chance(2) ? [x] : { a: x };
        return x;
      }
      case 3:
        return Array.isArray(v) ? Object.fromEntries(v.map((x, i) => [String(i), x as unknown])) : typeof v === 'object' && v !== null ? Object.values(v) : [v];
      default:
        return typeof v === 'string'
          ? v + rng.pick(TEXT_TOKENS)
          : typeof v === 'number'
            ? rng.pick([-v, v * 1e6, NaN, Infinity, v + 0.5])
            : randomJson(rng, depth);
    }
  }
  if (Array.isArray(v)) {
    if (v.length === 0 || rng.chance(5)) {
      v.push(randomJson(rng, depth + 1));
      return v;
    }
    const i = rng.int(v.length);
    const m = mutateAt(rng, v[i], depth + 1);
    if (m === undefined) v.splice(i, 1);
    else v[i] = m;
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 0 || rng.chance(6)) {
    o[rng.pick(['name', 'spec', 'x', '__proto__', 'constructor', 'labels', 'ports'])] = randomJson(rng, depth + 1);
    return o;
  }
  const k = rng.pick(keys);
  const m = mutateAt(rng, o[k], depth + 1);
  if (m === undefined) delete o[k];
  else o[k] = m;
  return o;
}

// ---------------------------------------------------------------- targets and the loop

export interface FuzzTarget<I = unknown> {
  readonly name: string;
  readonly description: string;
  /** One input from its own generator (deterministic in rng). */
  generate(rng: Rng): I;
  /**
   * Feeds the input to the code under test. Throws (anything) only for a finding: an exception the code's
   * contract does not allow, or a broken invariant. Expected rejections are caught here.
   */
  execute(input: I): void;
  /** A printable form of an input, for findings (hex or JSON, truncated by the runner). */
  show(input: I): string;
}

export interface Finding {
  readonly index: number;
  readonly kind: 'crash' | 'hang';
  readonly ms: number;
  readonly message: string;
  readonly input: string;
}

export interface FuzzSummary {
  readonly target: string;
  readonly seed: number;
  readonly inputs: number;
  readonly seconds: number;
  /** Slowest input: its best CPU time of 4 re-runs when its first (wall) time was over the hang limit, else that time. */
  readonly maxInputMs: number;
  /** Slowest first run of any input (includes scheduler and GC stalls of a loaded machine). */
  readonly maxRawInputMs: number;
  readonly maxInputIndex: number;
  readonly p999InputMs: number;
  readonly rssPeakMiB: number;
  readonly heapPeakMiB: number;
  readonly crashes: number;
  readonly hangs: number;
  readonly findings: readonly Finding[];
  readonly stoppedByTime: boolean;
}

export interface RunOptions {
  readonly seed: number;
  readonly count: number;
  readonly start?: number;
  /** Stop early (and say so) after this many seconds. */
  readonly maxSeconds: number;
  readonly hangMs: number;
  /** Print each input's index before running it (to find the input that kills the process). */
  readonly trace?: boolean;
  readonly progress?: (done: number, elapsedS: number) => void;
}

/** Runs `count` inputs starting at `start`; never throws for a finding (they are collected). */
export function runTarget<I>(target: FuzzTarget<I>, opts: RunOptions): FuzzSummary {
  const findings: Finding[] = [];
  let crashes = 0;
  let hangs = 0;
  let maxMs = 0;
  let maxIndex = -1;
  let confirmedMax = 0;
  let rssPeak = 0;
  let heapPeak = 0;
  // Per-input times in 0.01 ms buckets up to 50 ms (one overflow bucket) for a p99.9 figure.
  const buckets = new Uint32Array(5002);
  const began = performance.now();
  const start = opts.start ?? 0;
  let done = 0;
  let stoppedByTime = false;
  const sampleMemory = (): void => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
  };
  for (let index = start; index < start + opts.count; index++) {
    const rng = new Rng(inputSeed(opts.seed, index));
    let input: I | undefined;
    let error: unknown;
    try {
      input = target.generate(rng);
    } catch (e) {
      throw new Error(`${target.name}: generator failed at input ${index}: ${errorText(e, { stack: true })}`);
    }
    if (opts.trace) process.stderr.write(`input ${index}\n`);
    const t1 = performance.now();
    try {
      target.execute(input);
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - t1;
    {
      const bucket = Math.min(5001, Math.floor(ms * 100));
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    if (ms > maxMs) {
      maxMs = ms;
      maxIndex = index;
    }
    if (error !== undefined) {
      crashes++;
      if (findings.length < 20)
        findings.push({ index, kind: 'crash', ms, message: errorText(error, { stack: true }), input: target.show(input).slice(0, 4000) });
    } else if (ms > opts.hangMs) {
      // On a loaded machine (2 cores, load average 20+) a descheduled input looks slow: run it again up to 4
      // times measuring this process's CPU time (user + system, GC included) instead of wall time, and call it
      // a hang only when every run is over the limit. The raw first wall time stays in maxRawInputMs.
      let best = Infinity;
      for (let k = 0; k < 4 && best > opts.hangMs; k++) {
        const c0 = process.cpuUsage();
        try {
          target.execute(input);
        } catch {
          /* reported above if it throws the first time */
        }
        const c = process.cpuUsage(c0);
        best = Math.min(best, (c.user + c.system) / 1000);
      }
      confirmedMax = Math.max(confirmedMax, best);
      if (best > opts.hangMs) {
        hangs++;
        if (findings.length < 20)
          findings.push({
            index,
            kind: 'hang',
            ms: best,
            message: `took ${best.toFixed(1)} ms of CPU (best of 4 runs)`,
            input: target.show(input).slice(0, 4000),
          });
      }
    } else {
      confirmedMax = Math.max(confirmedMax, ms);
    }
    done++;
    if ((done & 0x3fff) === 0) {
      sampleMemory();
      const elapsed = (performance.now() - began) / 1000;
      opts.progress?.(done, elapsed);
      if (elapsed > opts.maxSeconds) {
        stoppedByTime = true;
        break;
      }
    }
  }
  sampleMemory();
  let acc = 0;
  let p999 = 0;
  const want = Math.ceil(done * 0.999);
  for (let i = 0; i < buckets.length; i++) {
    acc += buckets[i] as number;
    if (acc >= want) {
      p999 = i / 100;
      break;
    }
  }
  return {
    target: target.name,
    seed: opts.seed,
    inputs: done,
    seconds: (performance.now() - began) / 1000,
    maxInputMs: confirmedMax,
    maxRawInputMs: maxMs,
    maxInputIndex: maxIndex,
    p999InputMs: p999,
    rssPeakMiB: rssPeak / 1048576,
    heapPeakMiB: heapPeak / 1048576,
    crashes,
    hangs,
    findings,
    stoppedByTime,
  };
}

/** Hex of a byte input. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A JSON form of any input (undefined, NaN, bigints shown), for findings. */
export function showJson(v: unknown): string {
  try {
    return (
      JSON.stringify(v, (_k, x: unknown) => (x === undefined ? '<undefined>' : typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)) ?? 'undefined'
    );
  } catch (e) {
    return `<unprintable: ${errorText(e)}>`;
  }
}
