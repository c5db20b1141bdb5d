// memberlist message structs and their Go-exact msgpack form (keys sorted, omitempty honoured).
import { DecodeError, MpMap, Reader, Writer, decodeStruct, fBool, fBytes, fString, fUint } from './msgpack.js';

export const MsgType = {
  ping: 0,
  indirectPing: 1,
  ackResp: 2,
  suspect: 3,
  alive: 4,
  dead: 5,
  pushPull: 6,
  compound: 7,
  user: 8,
  compress: 9,
  encrypt: 10,
  nackResp: 11,
  hasCrc: 12,
  err: 13,
  hasLabel: 244,
} as const;

export const NodeStateType = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type NodeStateValue = 0 | 1 | 2 | 3;

/** Vsn we always send: [PMin, PMax, PCur, DMin, DMax, DCur]. A shorter one crashes released Go peers. */
export const OUR_VSN = Uint8Array.from([1, 5, 2, 0, 0, 0]);
export const META_MAX_SIZE = 512;

export interface Ping {
  seqNo: number;
  node: string;
  sourceAddr: Uint8Array | null;
  sourcePort: number;
  sourceNode: string;
}
export interface IndirectPingReq {
  seqNo: number;
  target: Uint8Array | null;
  port: number;
  node: string;
  nack: boolean;
  sourceAddr: Uint8Array | null;
  sourcePort: number;
  sourceNode: string;
}
export interface AckResp {
  seqNo: number;
  payload: Uint8Array | null;
}
export interface NackResp {
  seqNo: number;
}
export interface ErrResp {
  error: string;
}
export interface Suspect {
  incarnation: number;
  node: string;
  from: string;
}
export interface Dead {
  incarnation: number;
  node: string;
  from: string;
}
export interface Alive {
  incarnation: number;
  node: string;
  addr: Uint8Array | null;
  port: number;
  meta: Uint8Array | null;
  vsn: Uint8Array | null;
}
export interface PushPullHeader {
  nodes: number;
  userStateLen: number;
  join: boolean;
}
export interface PushNodeState {
  name: string;
  addr: Uint8Array | null;
  port: number;
  meta: Uint8Array | null;
  incarnation: number;
  state: number;
  vsn: Uint8Array | null;
}
export interface UserMsgHeader {
  userMsgLen: number;
}
export interface Compress {
  algo: number;
  buf: Uint8Array | null;
}

const U16 = 0xffff;
const I64 = Number.MAX_SAFE_INTEGER;

// ---- encoders: each writes the struct map only (no type byte) ----

export function writePing(w: Writer, p: Ping): Writer {
  const hasAddr = p.sourceAddr !== null && p.sourceAddr.length > 0;
  const hasNode = p.sourceNode !== '';
  const hasPort = p.sourcePort !== 0;
  w.mapHeader(2 + (hasAddr ? 1 : 0) + (hasNode ? 1 : 0) + (hasPort ? 1 : 0));
  w.key('Node').str(p.node);
  w.key('SeqNo').uint(p.seqNo);
  if (hasAddr) w.key('SourceAddr').bytesOrNil(p.sourceAddr);
  if (hasNode) w.key('SourceNode').str(p.sourceNode);
  if (hasPort) w.key('SourcePort').uint(p.sourcePort);
  return w;
}

export function writeIndirectPing(w: Writer, p: IndirectPingReq): Writer {
  const hasAddr = p.sourceAddr !== null && p.sourceAddr.length > 0;
  const hasNode = p.sourceNode !== '';
  const hasPort = p.sourcePort !== 0;
  w.mapHeader(5 + (hasAddr ? 1 : 0) + (hasNode ? 1 : 0) + (hasPort ? 1 : 0));
  w.key('Nack').bool(p.nack);
  w.key('Node').str(p.node);
  w.key('Port').uint(p.port);
  w.key('SeqNo').uint(p.seqNo);
  if (hasAddr) w.key('SourceAddr').bytesOrNil(p.sourceAddr);
  if (hasNode) w.key('SourceNode').str(p.sourceNode);
  if (hasPort) w.key('SourcePort').uint(p.sourcePort);
  w.key('Target').bytesOrNil(p.target);
  return w;
}

export function writeAck(w: Writer, a: AckResp): Writer {
  return w.mapHeader(2).key('Payload').bytesOrNil(a.payload).key('SeqNo').uint(a.seqNo);
}
export function writeNack(w: Writer, a: NackResp): Writer {
  return w.mapHeader(1).key('SeqNo').uint(a.seqNo);
}
export function writeErr(w: Writer, e: ErrResp): Writer {
  return w.mapHeader(1).key('Error').str(e.error);
}
export function writeSuspectOrDead(w: Writer, s: Suspect | Dead): Writer {
  return w.mapHeader(3).key('From').str(s.from).key('Incarnation').uint(s.incarnation).key('Node').str(s.node);
}
export function writeAlive(w: Writer, a: Alive): Writer {
  w.mapHeader(6);
  w.key('Addr').bytesOrNil(a.addr);
  w.key('Incarnation').uint(a.incarnation);
  w.key('Meta').bytesOrNil(a.meta);
  w.key('Node').str(a.node);
  w.key('Port').uint(a.port);
  w.key('Vsn').bytesOrNil(a.vsn);
  return w;
}
export function writePushPullHeader(w: Writer, h: PushPullHeader): Writer {
  return w.mapHeader(3).key('Join').bool(h.join).key('Nodes').uint(h.nodes).key('UserStateLen').uint(h.userStateLen);
}
export function writePushNodeState(w: Writer, s: PushNodeState): Writer {
  w.mapHeader(7);
  w.key('Addr').bytesOrNil(s.addr);
  w.key('Incarnation').uint(s.incarnation);
  w.key('Meta').bytesOrNil(s.meta);
  w.key('Name').str(s.name);
  w.key('Port').uint(s.port);
  w.key('State').uint(s.state);
  w.key('Vsn').bytesOrNil(s.vsn);
  return w;
}
export function writeUserMsgHeader(w: Writer, h: UserMsgHeader): Writer {
  return w.mapHeader(1).key('UserMsgLen').uint(h.userMsgLen);
}
export function writeCompress(w: Writer, c: Compress): Writer {
  return w.mapHeader(2).key('Algo').uint(c.algo).key('Buf').bytesOrNil(c.buf);
}

// ---- decoders: read one struct map from r ----

export function readPing(r: Reader): Ping {
  const m = decodeStruct(r, 'ping');
  return {
    node: fString(m, 'Node', 'ping'),
    seqNo: fUint(m, 'SeqNo', 'ping'),
    sourceAddr: fBytes(m, 'SourceAddr', 'ping'),
    sourceNode: fString(m, 'SourceNode', 'ping'),
    sourcePort: fUint(m, 'SourcePort', 'ping', U16),
  };
}
export function readIndirectPing(r: Reader): IndirectPingReq {
  const m = decodeStruct(r, 'indirectPingReq');
  const w = 'indirectPingReq';
  return {
    nack: fBool(m, 'Nack', w),
    node: fString(m, 'Node', w),
    port: fUint(m, 'Port', w, U16),
    seqNo: fUint(m, 'SeqNo', w),
    sourceAddr: fBytes(m, 'SourceAddr', w),
    sourceNode: fString(m, 'SourceNode', w),
    sourcePort: fUint(m, 'SourcePort', w, U16),
    target: fBytes(m, 'Target', w),
  };
}
export function readAck(r: Reader): AckResp {
  const m = decodeStruct(r, 'ackResp');
  return { payload: fBytes(m, 'Payload', 'ackResp'), seqNo: fUint(m, 'SeqNo', 'ackResp') };
}
export function readNack(r: Reader): NackResp {
  const m = decodeStruct(r, 'nackResp');
  return { seqNo: fUint(m, 'SeqNo', 'nackResp') };
}
export function readErr(r: Reader): ErrResp {
  const m = decodeStruct(r, 'errResp');
  return { error: fString(m, 'Error', 'errResp') };
}
export function readSuspectOrDead(r: Reader, what: 'suspect' | 'dead'): Suspect {
  const m = decodeStruct(r, what);
  return { from: fString(m, 'From', what), incarnation: fUint(m, 'Incarnation', what), node: fString(m, 'Node', what) };
}
export function readAlive(r: Reader): Alive {
  const m = decodeStruct(r, 'alive');
  return {
    addr: fBytes(m, 'Addr', 'alive'),
    incarnation: fUint(m, 'Incarnation', 'alive'),
    meta: fBytes(m, 'Meta', 'alive'),
    node: fString(m, 'Node', 'alive'),
    port: fUint(m, 'Port', 'alive', U16),
    vsn: fBytes(m, 'Vsn', 'alive'),
  };
}
export function readPushPullHeader(r: Reader): PushPullHeader {
  const m = decodeStruct(r, 'pushPullHeader');
  return {
    join: fBool(m, 'Join', 'pushPullHeader'),
    nodes: fUint(m, 'Nodes', 'pushPullHeader', I64),
    userStateLen: fUint(m, 'UserStateLen', 'pushPullHeader', I64),
  };
}
export function readPushNodeState(r: Reader): PushNodeState {
  const m: MpMap = decodeStruct(r, 'pushNodeState');
  const w = 'pushNodeState';
  return {
    addr: fBytes(m, 'Addr', w),
    incarnation: fUint(m, 'Incarnation', w),
    meta: fBytes(m, 'Meta', w),
    name: fString(m, 'Name', w),
    port: fUint(m, 'Port', w, U16),
    state: fUint(m, 'State', w, I64),
    vsn: fBytes(m, 'Vsn', w),
  };
}
export function readUserMsgHeader(r: Reader): UserMsgHeader {
  const m = decodeStruct(r, 'userMsgHeader');
  return { userMsgLen: fUint(m, 'UserMsgLen', 'userMsgHeader', I64) };
}
export function readCompress(r: Reader): Compress {
  const m = decodeStruct(r, 'compress');
  return { algo: fUint(m, 'Algo', 'compress', 255), buf: fBytes(m, 'Buf', 'compress') };
}

/** A decoded packet-level message (after label, decryption, CRC, compression and compound handling). */
export type PacketMsg =
  | { type: 'ping'; msg: Ping }
  | { type: 'indirectPing'; msg: IndirectPingReq }
  | { type: 'ackResp'; msg: AckResp }
  | { type: 'nackResp'; msg: NackResp }
  | { type: 'suspect'; msg: Suspect }
  | { type: 'alive'; msg: Alive }
  | { type: 'dead'; msg: Dead }
  | { type: 'user'; msg: Uint8Array }
  | { type: 'err'; msg: ErrResp };

/** Encode one packet-level message as [type][body]. */
export function encodeMsg(m: PacketMsg): Uint8Array {
  const w = new Writer(128);
  switch (m.type) {
    case 'ping':
      w.u8(MsgType.ping);
      writePing(w, m.msg);
      break;
    case 'indirectPing':
      w.u8(MsgType.indirectPing);
      writeIndirectPing(w, m.msg);
      break;
    case 'ackResp':
      w.u8(MsgType.ackResp);
      writeAck(w, m.msg);
      break;
    case 'nackResp':
      w.u8(MsgType.nackResp);
      writeNack(w, m.msg);
      break;
    case 'suspect':
      w.u8(MsgType.suspect);
      writeSuspectOrDead(w, m.msg);
      break;
    case 'alive':
      w.u8(MsgType.alive);
      writeAlive(w, m.msg);
      break;
    case 'dead':
      w.u8(MsgType.dead);
      writeSuspectOrDead(w, m.msg);
      break;
    case 'user':
      w.u8(MsgType.user);
      w.raw(m.msg);
      break;
    case 'err':
      w.u8(MsgType.err);
      writeErr(w, m.msg);
      break;
  }
  return w.finish();
}

/** Decode a single non-container message body given its type byte (body = bytes after the type byte). */
export function decodeSimple(type: number, body: Uint8Array): PacketMsg {
  const r = new Reader(body);
  let out: PacketMsg;
  switch (type) {
    case MsgType.ping:
      out = { type: 'ping', msg: readPing(r) };
      break;
    case MsgType.indirectPing:
      out = { type: 'indirectPing', msg: readIndirectPing(r) };
      break;
    case MsgType.ackResp:
      out = { type: 'ackResp', msg: readAck(r) };
      break;
    case MsgType.nackResp:
      out = { type: 'nackResp', msg: readNack(r) };
      break;
    case MsgType.suspect:
      out = { type: 'suspect', msg: readSuspectOrDead(r, 'suspect') };
      break;
    case MsgType.alive:
      out = { type: 'alive', msg: readAlive(r) };
      break;
    case MsgType.dead:
      out = { type: 'dead', msg: readSuspectOrDead(r, 'dead') };
      break;
    case MsgType.user:
      return { type: 'user', msg: body.slice() };
    case MsgType.err:
      out = { type: 'err', msg: readErr(r) };
      break;
    default:
      throw new DecodeError('unknown_type', `unknown message type ${type}`);
  }
  return out;
}
