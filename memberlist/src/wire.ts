// Wire options and the framing packets and streams share (label header, AES-GCM, LZW compression),
// and the TCP stream messages (push/pull, ping, user, err) with their framer. UDP packet framing is in
// packet.ts. Decoding never throws: it returns what it could read, or a drop reason.
import { errorText } from '@l2lb/shared/log';
import { CryptoError, Keyring, NONCE_SIZE, TAG_SIZE, decryptPayload, encryptPayload, encryptedLength } from './crypto.js';
import { LzwError, lzwCompress, lzwDecompress } from './lzw.js';
import {
  AckResp,
  ErrResp,
  MsgType,
  Ping,
  PushNodeState,
  PushPullHeader,
  readAck,
  readCompress,
  readErr,
  readPing,
  readPushNodeState,
  readPushPullHeader,
  readUserMsgHeader,
  writeCompress,
  writePushNodeState,
  writePushPullHeader,
  writePing,
  writeAck,
  writeErr,
  writeUserMsgHeader,
} from './messages.js';
import { DecodeError, Reader, TruncatedError, Writer, skipValue } from './msgpack.js';

export const LABEL_MAX = 255;
export const MAX_PUSH_STATE_BYTES = 20 * 1024 * 1024;
export const DEFAULT_MAX_DECOMPRESSED = 8 * 1024 * 1024;

export interface WireOptions {
  /** Keys to encrypt (first) and decrypt (all). null/empty = plaintext. */
  keyring: Keyring | null;
  /** Cluster label ('' = none; needs memberlist >= 0.3.0 peers). */
  label: string;
  /** Encryption version to send (0 = PKCS7 padded, 1 = none; Go sends 1 with ProtocolVersion >= 2). */
  encryptionVersion: 0 | 1;
  /** Compress outgoing packets when that makes them shorter, and always compress streams (Go default: true). */
  compression: boolean;
  /** Cap on decompressed size, in bytes. */
  maxDecompressed: number;
  /** Cap on nodes in one push/pull. */
  maxPushNodes: number;
  /** Reject unencrypted input when keys are set (Go GossipVerifyIncoming; false only during a rollout). */
  verifyIncoming: boolean;
  /** Encrypt output when keys are set (Go GossipVerifyOutgoing; false only during a rollout). */
  verifyOutgoing: boolean;
}

export function defaultWireOptions(over: Partial<WireOptions> = {}): WireOptions {
  return {
    keyring: null,
    label: '',
    encryptionVersion: 1,
    compression: true,
    maxDecompressed: DEFAULT_MAX_DECOMPRESSED,
    maxPushNodes: 4096,
    verifyIncoming: true,
    verifyOutgoing: true,
    ...over,
  };
}

export interface Drop {
  reason: string;
  message: string;
}

export function toDrop(e: unknown): Drop {
  if (e instanceof DecodeError || e instanceof CryptoError || e instanceof LzwError) return { reason: e.reason, message: e.message };
  if (e instanceof RangeError) return { reason: 'range', message: e.message };
  return { reason: 'internal', message: errorText(e) };
}

const utf8enc = new TextEncoder();
export function labelBytes(label: string): Uint8Array {
  return utf8enc.encode(label);
}

export function encrypted(opts: WireOptions): boolean {
  return opts.keyring !== null && opts.keyring.enabled;
}
export function encryptOut(opts: WireOptions): boolean {
  return encrypted(opts) && opts.verifyOutgoing;
}

// ---------------------------------------------------------------- shared by packets and streams

export function compressMsg(msg: Uint8Array): Uint8Array {
  const w = new Writer(msg.length + 16);
  w.u8(MsgType.compress);
  writeCompress(w, { algo: 0, buf: lzwCompress(msg) });
  return w.finish();
}

export function addLabel(label: string, data: Uint8Array): Uint8Array {
  if (label === '') return data;
  const lb = labelBytes(label);
  const out = new Uint8Array(2 + lb.length + data.length);
  out[0] = MsgType.hasLabel;
  out[1] = lb.length;
  out.set(lb, 2);
  out.set(data, 2 + lb.length);
  return out;
}

// ---------------------------------------------------------------- streams

export type StreamMsg =
  | { type: 'pushPull'; header: PushPullHeader; nodes: PushNodeState[]; userState: Uint8Array }
  | { type: 'ping'; msg: Ping }
  | { type: 'ackResp'; msg: AckResp }
  | { type: 'user'; data: Uint8Array }
  | { type: 'err'; msg: ErrResp };

export type StreamParse = { kind: 'incomplete' } | { kind: 'error'; drop: Drop } | { kind: 'ok'; msg: StreamMsg; consumed: number; label: string };

export interface StreamSendOptions {
  /** The dialer writes the label header; the acceptor does not. */
  dialer: boolean;
  nonce?: Uint8Array;
}

/** Frame one stream message ([type][msgpack...][raw...]): compress, encrypt, label. */
export function encodeStream(plain: Uint8Array, opts: WireOptions, send: StreamSendOptions): Uint8Array {
  let buf = plain;
  if (opts.compression) buf = compressMsg(buf);
  if (encryptOut(opts)) {
    const key = (opts.keyring as Keyring).primary as Uint8Array;
    const encLen = encryptedLength(opts.encryptionVersion, buf.length);
    const hdr = new Uint8Array(5);
    hdr[0] = MsgType.encrypt;
    new DataView(hdr.buffer).setUint32(1, encLen);
    const lb = labelBytes(opts.label);
    const aad = new Uint8Array(5 + lb.length);
    aad.set(hdr);
    aad.set(lb, 5);
    const blob = encryptPayload(opts.encryptionVersion, key, buf, aad, send.nonce);
    const framed = new Uint8Array(5 + blob.length);
    framed.set(hdr);
    framed.set(blob, 5);
    buf = framed;
  }
  return send.dialer ? addLabel(opts.label, buf) : buf;
}

export function encodePushPull(header: PushPullHeader, nodes: PushNodeState[], userState: Uint8Array): Uint8Array {
  const w = new Writer(64 + nodes.length * 96 + userState.length);
  w.u8(MsgType.pushPull);
  writePushPullHeader(w, { ...header, nodes: nodes.length, userStateLen: userState.length });
  for (const n of nodes) writePushNodeState(w, n);
  w.raw(userState);
  return w.finish();
}

/**
 * Parse one stream message from the start of buf. `acceptor` streams may begin with a label header.
 * Returns 'incomplete' when more bytes are needed (callers cap the buffer and apply a deadline).
 */
export function parseStream(buf: Uint8Array, opts: WireOptions, acceptor: boolean): StreamParse {
  try {
    let off = 0;
    let label = '';
    if (acceptor && buf.length > 0 && buf[0] === MsgType.hasLabel) {
      if (buf.length < 2) return { kind: 'incomplete' };
      const n = buf[1] as number;
      if (n < 1) return { kind: 'error', drop: { reason: 'label_bad', message: 'label header has length 0' } };
      if (buf.length < 2 + n) return { kind: 'incomplete' };
      label = Buffer.from(buf.subarray(2, 2 + n)).toString('utf8');
      off = 2 + n;
    } else if (!acceptor) {
      label = opts.label;
    }
    if (acceptor && label !== opts.label) {
      return { kind: 'error', drop: { reason: 'label_mismatch', message: `stream label "${label}" does not match ours "${opts.label}"` } };
    }
    if (buf.length <= off) return { kind: 'incomplete' };
    const type = buf[off] as number;
    if (encrypted(opts) && (type === MsgType.encrypt || opts.verifyIncoming)) {
      if (type !== MsgType.encrypt) {
        return { kind: 'error', drop: { reason: 'not_encrypted', message: 'encryption is configured but remote state is not encrypted' } };
      }
      if (buf.length < off + 5) return { kind: 'incomplete' };
      const encLen = new DataView(buf.buffer, buf.byteOffset + off + 1, 4).getUint32(0);
      if (encLen > MAX_PUSH_STATE_BYTES) {
        return { kind: 'error', drop: { reason: 'too_large', message: `encrypted stream length ${encLen} exceeds ${MAX_PUSH_STATE_BYTES}` } };
      }
      if (buf.length < off + 5 + encLen) return { kind: 'incomplete' };
      const lb = labelBytes(label);
      const aad = new Uint8Array(5 + lb.length);
      aad.set(buf.subarray(off, off + 5));
      aad.set(lb, 5);
      const plain = decryptPayload((opts.keyring as Keyring).all, buf.subarray(off + 5, off + 5 + encLen), aad);
      const inner = parsePlainStream(plain, opts, 0);
      if (inner.kind === 'incomplete') {
        return { kind: 'error', drop: { reason: 'truncated', message: 'encrypted stream message is truncated' } };
      }
      if (inner.kind === 'error') return inner;
      return { kind: 'ok', msg: inner.msg, consumed: off + 5 + encLen, label };
    }
    if (type === MsgType.encrypt) {
      return { kind: 'error', drop: { reason: 'unexpected_encryption', message: 'remote state is encrypted and encryption is not configured' } };
    }
    const r = parsePlainStream(buf.subarray(off), opts, 0);
    if (r.kind === 'ok') return { kind: 'ok', msg: r.msg, consumed: off + r.consumed, label };
    return r;
  } catch (e) {
    return { kind: 'error', drop: toDrop(e) };
  }
}

function parsePlainStream(buf: Uint8Array, opts: WireOptions, depth: number): StreamParse {
  if (buf.length < 1) return { kind: 'incomplete' };
  const type = buf[0] as number;
  const r = new Reader(buf, 1);
  try {
    switch (type) {
      case MsgType.compress: {
        if (depth > 0) throw new DecodeError('too_deep', 'nested compression in stream');
        const c = readCompress(r);
        if (c.algo !== 0) throw new DecodeError('compress_algo', `unknown compression algorithm ${c.algo}`);
        const d = lzwDecompress(c.buf ?? new Uint8Array(0), opts.maxDecompressed);
        if (d.length === 0) throw new DecodeError('compress_empty', 'decompressed message is empty');
        const inner = parsePlainStream(d, opts, depth + 1);
        if (inner.kind === 'incomplete') throw new DecodeError('truncated', 'compressed stream message is truncated');
        if (inner.kind === 'error') return inner;
        return { kind: 'ok', msg: inner.msg, consumed: r.pos, label: '' };
      }
      case MsgType.pushPull: {
        const header = readPushPullHeader(r);
        if (header.nodes > opts.maxPushNodes) throw new DecodeError('too_many_nodes', `push/pull has ${header.nodes} nodes, cap ${opts.maxPushNodes}`);
        if (header.userStateLen > MAX_PUSH_STATE_BYTES) throw new DecodeError('too_large', `push/pull user state of ${header.userStateLen} bytes`);
        const nodes: PushNodeState[] = [];
        for (let i = 0; i < header.nodes; i++) nodes.push(readPushNodeState(r));
        const userState = r.bytes(header.userStateLen, 'push/pull user state').slice();
        return { kind: 'ok', msg: { type: 'pushPull', header, nodes, userState }, consumed: r.pos, label: '' };
      }
      case MsgType.ping:
        return { kind: 'ok', msg: { type: 'ping', msg: readPing(r) }, consumed: r.pos, label: '' };
      case MsgType.ackResp:
        return { kind: 'ok', msg: { type: 'ackResp', msg: readAck(r) }, consumed: r.pos, label: '' };
      case MsgType.err:
        return { kind: 'ok', msg: { type: 'err', msg: readErr(r) }, consumed: r.pos, label: '' };
      case MsgType.user: {
        const h = readUserMsgHeader(r);
        if (h.userMsgLen > MAX_PUSH_STATE_BYTES) throw new DecodeError('too_large', `user message of ${h.userMsgLen} bytes`);
        const data = r.bytes(h.userMsgLen, 'user message').slice();
        return { kind: 'ok', msg: { type: 'user', data }, consumed: r.pos, label: '' };
      }
      default:
        throw new DecodeError('unknown_type', `unexpected stream message type ${type}`);
    }
  } catch (e) {
    if (e instanceof TruncatedError) return { kind: 'incomplete' };
    return { kind: 'error', drop: toDrop(e) };
  }
}

/** The unframed bytes of a stream message ([type][msgpack...][raw...]). */
export function encodeStreamPlain(m: StreamMsg): Uint8Array {
  if (m.type === 'pushPull') return encodePushPull(m.header, m.nodes, m.userState);
  const w = new Writer(64);
  switch (m.type) {
    case 'ping':
      w.u8(MsgType.ping);
      writePing(w, m.msg);
      break;
    case 'ackResp':
      w.u8(MsgType.ackResp);
      writeAck(w, m.msg);
      break;
    case 'err':
      w.u8(MsgType.err);
      writeErr(w, m.msg);
      break;
    case 'user':
      w.u8(MsgType.user);
      writeUserMsgHeader(w, { userMsgLen: m.data.length });
      w.raw(m.data);
      break;
  }
  return w.finish();
}

// ---------------------------------------------------------------- stream framing

/**
 * Cap on one stream message. Go accepts up to 20 MB, but a push/pull of maxPushNodes (4096) nodes
 * with full 512-byte metadata is about 2.5 MB; 8 MiB leaves room and bounds what one slow stream holds.
 */
export const MAX_STREAM_MESSAGE_BYTES = 8 * 1024 * 1024;

export type FrameStep = { kind: 'incomplete' } | { kind: 'frame'; bytes: Uint8Array } | { kind: 'error'; drop: Drop };

/**
 * Finds where one stream message ends as its bytes arrive, without decoding it, so a slow sender
 * costs one copy of its bytes instead of a re-concatenation and re-parse per chunk. An encrypted
 * message declares its length up front: the framer reads exactly that much, after checking the
 * label, the declared length and the encryption version byte (the AES-GCM tag itself can only be
 * checked on the whole message). A plaintext message is stepped over value by value (msgpack
 * headers carry every length); the framer resumes after the last complete value and waits for the
 * byte count the next read needs. Declared lengths over the cap are refused as soon as they are seen.
 * Pure: the caller owns the socket, the deadline and the global byte budget.
 */
export class StreamFramer {
  private buf = new Uint8Array(256);
  private len = 0;
  /** Don't look again until this many bytes are buffered. */
  private need = 1;
  /** Where plaintext scanning resumes (after the last complete value), and what is left to step over. */
  private cursor = -1;
  private pushPullNodesLeft = -1;
  private tailRaw = 0;
  /** The message's total length, once known. */
  private total = -1;
  private failed: Drop | null = null;

  constructor(
    private readonly opts: WireOptions,
    private readonly acceptor: boolean,
    private readonly maxBytes = MAX_STREAM_MESSAGE_BYTES,
  ) {}

  /** Bytes held (the buffer's capacity: what the budget should charge). */
  get held(): number {
    return this.buf.length;
  }

  /** Bytes received so far. */
  get received(): number {
    return this.len;
  }

  push(chunk: Uint8Array): FrameStep {
    if (this.failed !== null) return { kind: 'error', drop: this.failed };
    // A dialer writes one message and waits: bytes past its end are ignored.
    const room = this.total >= 0 ? this.total - this.len : this.maxBytes - this.len;
    const take = Math.min(chunk.length, room);
    if (take < chunk.length && this.total < 0) {
      return this.fail('too_large', `stream message exceeds ${this.maxBytes} bytes`);
    }
    this.append(chunk.subarray(0, take));
    if (this.len < this.need) return { kind: 'incomplete' };
    if (this.total < 0) {
      try {
        this.scan();
      } catch (e) {
        if (e instanceof TruncatedError) {
          if (e.needed > this.maxBytes) return this.fail('too_large', `stream message declares more than ${this.maxBytes} bytes`);
          this.need = Math.max(this.len + 1, e.needed);
          return { kind: 'incomplete' };
        }
        const d = toDrop(e);
        return this.fail(d.reason, d.message);
      }
      if (this.failed !== null) return { kind: 'error', drop: this.failed };
      if (this.total > this.maxBytes) return this.fail('too_large', `stream message of ${this.total} bytes exceeds ${this.maxBytes}`);
      this.need = this.total;
    }
    if (this.len < this.total) return { kind: 'incomplete' };
    return { kind: 'frame', bytes: this.buf.subarray(0, this.total) };
  }

  private fail(reason: string, message: string): FrameStep {
    this.failed = { reason, message };
    this.buf = new Uint8Array(0);
    this.len = 0;
    return { kind: 'error', drop: this.failed };
  }

  private append(b: Uint8Array): void {
    if (this.len + b.length > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.len + b.length) cap *= 2;
      const limit = this.total >= 0 ? this.total : this.maxBytes;
      const nb = new Uint8Array(Math.max(this.len + b.length, Math.min(cap, limit)));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Learn the total length, or throw TruncatedError (with the bytes needed) / DecodeError. */
  private scan(): void {
    const b = this.buf;
    const r = new Reader(b, 0, this.len);
    if (this.cursor < 0) {
      let label = this.acceptor ? '' : this.opts.label;
      if (this.acceptor && r.remaining() > 0 && b[0] === MsgType.hasLabel) {
        r.u8('label header');
        const n = r.u8('label length');
        if (n < 1) throw new DecodeError('label_bad', 'label header has length 0');
        label = Buffer.from(r.bytes(n, 'label')).toString('utf8');
      }
      if (this.acceptor && label !== this.opts.label) {
        throw new DecodeError('label_mismatch', `stream label "${label}" does not match ours "${this.opts.label}"`);
      }
      const off = r.pos;
      const type = r.u8('stream message type');
      if (encrypted(this.opts) && (type === MsgType.encrypt || this.opts.verifyIncoming)) {
        if (type !== MsgType.encrypt) throw new DecodeError('not_encrypted', 'encryption is configured but remote state is not encrypted');
        const encLen = r.u32('encrypted length');
        if (encLen > this.maxBytes) throw new DecodeError('too_large', `encrypted stream length ${encLen} exceeds ${this.maxBytes}`);
        if (encLen < 1 + NONCE_SIZE + TAG_SIZE) throw new DecodeError('truncated', `encrypted stream length ${encLen} is shorter than nonce and tag`);
        const vsn = r.u8('encryption version');
        if (vsn > 1) throw new DecodeError('bad_version', `unsupported encryption version ${vsn}`);
        this.total = off + 5 + encLen;
        return;
      }
      if (type === MsgType.encrypt) throw new DecodeError('unexpected_encryption', 'remote state is encrypted and encryption is not configured');
      this.planPlain(type, r);
      this.cursor = r.pos;
    }
    r.pos = this.cursor;
    while (this.pushPullNodesLeft > 0) {
      skipValue(r);
      this.pushPullNodesLeft--;
      this.cursor = r.pos;
    }
    this.total = this.cursor + this.tailRaw;
  }

  /** Read the plaintext message's fixed head and note what follows it (node states, raw bytes). */
  private planPlain(type: number, r: Reader): void {
    switch (type) {
      case MsgType.compress:
      case MsgType.ping:
      case MsgType.ackResp:
      case MsgType.err:
        skipValue(r);
        this.pushPullNodesLeft = 0;
        return;
      case MsgType.pushPull: {
        const h = readPushPullHeader(r);
        if (h.nodes > this.opts.maxPushNodes) throw new DecodeError('too_many_nodes', `push/pull has ${h.nodes} nodes, cap ${this.opts.maxPushNodes}`);
        if (h.userStateLen > this.maxBytes) throw new DecodeError('too_large', `push/pull user state of ${h.userStateLen} bytes`);
        this.pushPullNodesLeft = h.nodes;
        this.tailRaw = h.userStateLen;
        return;
      }
      case MsgType.user: {
        const h = readUserMsgHeader(r);
        if (h.userMsgLen > this.maxBytes) throw new DecodeError('too_large', `user message of ${h.userMsgLen} bytes`);
        this.pushPullNodesLeft = 0;
        this.tailRaw = h.userMsgLen;
        return;
      }
      default:
        throw new DecodeError('unknown_type', `unexpected stream message type ${type}`);
    }
  }
}
