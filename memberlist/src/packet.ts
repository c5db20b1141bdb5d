// UDP packet framing: compound messages, CRC, compression and encryption around [type][body]
// messages, and their decoding. Decoding never throws: it returns the messages it could read plus a
// list of drop reasons. The framing shared with streams (options, label, compression) is in wire.ts.
import { crc32 } from 'node:zlib';
import { Keyring, decryptPayload, encryptPayload } from './crypto.js';
import { lzwDecompress } from './lzw.js';
import { MsgType, PacketMsg, decodeSimple, readCompress } from './messages.js';
import { DecodeError, Reader } from './msgpack.js';
import { Drop, WireOptions, addLabel, compressMsg, encrypted, encryptOut, labelBytes, toDrop } from './wire.js';

/**
 * Cap on a UDP packet's decompressed size. Go never sends a packet body over its UDPBufferSize (1400
 * bytes) before compressing it, so 64 KiB is generous; the stream cap (maxDecompressed) would let one
 * 58 KB datagram expand to 8 x 8 MiB and block the event loop for over half a second.
 */
export const MAX_PACKET_DECOMPRESSED = 64 * 1024;
/** Go compresses a packet once, around the whole (compound) body: more compressed parts are hostile. */
export const MAX_PACKET_COMPRESSED_PARTS = 1;
export const MAX_COMPOUND_PARTS = 255;
const MAX_NESTING = 4;

export function makeCompound(msgs: Uint8Array[]): Uint8Array {
  if (msgs.length > MAX_COMPOUND_PARTS) throw new RangeError('too many compound parts');
  let total = 2 + 2 * msgs.length;
  for (const m of msgs) total += m.length;
  const out = new Uint8Array(total);
  out[0] = MsgType.compound;
  out[1] = msgs.length;
  let p = 2;
  for (const m of msgs) {
    out[p++] = (m.length >>> 8) & 0xff;
    out[p++] = m.length & 0xff;
  }
  for (const m of msgs) {
    out.set(m, p);
    p += m.length;
  }
  return out;
}

export function addCrc(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(msg.length + 5);
  out[0] = MsgType.hasCrc;
  const c = crc32(msg);
  out[1] = (c >>> 24) & 0xff;
  out[2] = (c >>> 16) & 0xff;
  out[3] = (c >>> 8) & 0xff;
  out[4] = c & 0xff;
  out.set(msg, 5);
  return out;
}

/** Bytes added around a packet body by label and encryption (the piggyback budget subtracts this). */
export function packetOverhead(opts: WireOptions): number {
  let n = opts.label === '' ? 0 : 2 + labelBytes(opts.label).length;
  if (encryptOut(opts)) n += opts.encryptionVersion === 0 ? 45 : 29;
  return n;
}

export interface PacketSendOptions {
  crc?: boolean;
  nonce?: Uint8Array;
}

/** Frame one or more [type][body] messages into a UDP datagram. */
export function encodePacket(msgs: Uint8Array[], opts: WireOptions, send: PacketSendOptions = {}): Uint8Array {
  let buf = msgs.length === 1 ? (msgs[0] as Uint8Array) : makeCompound(msgs);
  if (opts.compression) {
    const c = compressMsg(buf);
    if (c.length < buf.length) buf = c;
  }
  if (send.crc === true) buf = addCrc(buf);
  if (encryptOut(opts)) {
    const key = (opts.keyring as Keyring).primary as Uint8Array;
    buf = encryptPayload(opts.encryptionVersion, key, buf, labelBytes(opts.label), send.nonce);
  }
  return addLabel(opts.label, buf);
}

export interface DecodedPacket {
  msgs: PacketMsg[];
  drops: Drop[];
}

/** Strip a label header; returns [label, rest] or a Drop. */
function stripLabel(buf: Uint8Array): [string, Uint8Array] | Drop {
  if (buf.length === 0 || buf[0] !== MsgType.hasLabel) return ['', buf];
  if (buf.length < 2) return { reason: 'label_truncated', message: 'label header truncated' };
  const n = buf[1] as number;
  if (n < 1) return { reason: 'label_bad', message: 'label header has length 0' };
  if (buf.length < 2 + n) return { reason: 'label_truncated', message: 'label header truncated' };
  return [Buffer.from(buf.subarray(2, 2 + n)).toString('utf8'), buf.subarray(2 + n)];
}

export function decodePacket(input: Uint8Array, opts: WireOptions): DecodedPacket {
  const out: DecodedPacket = { msgs: [], drops: [] };
  try {
    const sl = stripLabel(input);
    if (!Array.isArray(sl)) {
      out.drops.push(sl);
      return out;
    }
    const [label, rest] = sl;
    if (label !== opts.label) {
      out.drops.push({ reason: 'label_mismatch', message: `packet label "${label}" does not match ours "${opts.label}"` });
      return out;
    }
    let buf = rest;
    if (encrypted(opts)) {
      try {
        buf = decryptPayload((opts.keyring as Keyring).all, buf, labelBytes(label));
      } catch (e) {
        // During a rollout (verifyIncoming off) undecryptable packets are taken as plaintext.
        if (opts.verifyIncoming) throw e;
      }
    }
    if (buf.length >= 5 && buf[0] === MsgType.hasCrc) {
      const want = (buf[1] as number) * 0x1000000 + (((buf[2] as number) << 16) | ((buf[3] as number) << 8) | (buf[4] as number));
      buf = buf.subarray(5);
      if (crc32(buf) !== want) {
        out.drops.push({ reason: 'bad_crc', message: 'packet CRC mismatch' });
        return out;
      }
    }
    handleCommand(buf, opts, out, 0, { compressedParts: 0 });
  } catch (e) {
    out.drops.push(toDrop(e));
  }
  return out;
}

/** Per-packet decoding budget, shared by all parts of one datagram. */
interface PacketBudget {
  compressedParts: number;
}

function handleCommand(buf: Uint8Array, opts: WireOptions, out: DecodedPacket, depth: number, budget: PacketBudget): void {
  if (buf.length < 1) {
    out.drops.push({ reason: 'empty', message: 'empty message' });
    return;
  }
  if (depth > MAX_NESTING) {
    out.drops.push({ reason: 'too_deep', message: 'compound/compress nesting too deep' });
    return;
  }
  const type = buf[0] as number;
  const body = buf.subarray(1);
  try {
    if (type === MsgType.compound) {
      if (body.length < 1) throw new DecodeError('compound_truncated', 'compound message missing part count');
      const n = body[0] as number;
      if (body.length < 1 + 2 * n) throw new DecodeError('compound_truncated', 'compound message truncated in length table');
      let p = 1 + 2 * n;
      for (let i = 0; i < n; i++) {
        const len = ((body[1 + 2 * i] as number) << 8) | (body[2 + 2 * i] as number);
        if (p + len > body.length) {
          out.drops.push({ reason: 'compound_truncated', message: `compound message: ${n - i} truncated part(s)` });
          return;
        }
        handleCommand(body.subarray(p, p + len), opts, out, depth + 1, budget);
        p += len;
      }
      return;
    }
    if (type === MsgType.compress) {
      if (++budget.compressedParts > MAX_PACKET_COMPRESSED_PARTS) {
        throw new DecodeError('compress_limit', `more than ${MAX_PACKET_COMPRESSED_PARTS} compressed part(s) in one packet`);
      }
      handleCommand(decompressBody(body, Math.min(opts.maxDecompressed, MAX_PACKET_DECOMPRESSED)), opts, out, depth + 1, budget);
      return;
    }
    out.msgs.push(decodeSimple(type, body));
  } catch (e) {
    out.drops.push(toDrop(e));
  }
}

function decompressBody(body: Uint8Array, maxOut: number): Uint8Array {
  const c = readCompress(new Reader(body));
  if (c.algo !== 0) throw new DecodeError('compress_algo', `unknown compression algorithm ${c.algo}`);
  const d = lzwDecompress(c.buf ?? new Uint8Array(0), maxOut);
  if (d.length === 0) throw new DecodeError('compress_empty', 'decompressed message is empty');
  return d;
}
