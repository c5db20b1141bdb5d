// memberlist's receive path: a UDP packet (decodePacket: label, decryption, CRC, compound, LZW, msgpack) and a
// TCP stream message (parseStream: label, encrypted frame, compression, push/pull), plaintext and encrypted.
// Contract: both are total. decodePacket returns drops, parseStream returns error/incomplete; neither throws,
// and a drop for an exception the decoder did not expect (reason "internal") is a finding too.
import { Keyring, defaultWireOptions, encodePacket, encodeStream, parseStream, decodePacket, type WireOptions } from '@l2lb/memberlist';
import { encodeMsg, type PacketMsg } from '@l2lb/memberlist/messages';
import { makeCompound } from '@l2lb/memberlist/packet';
import { compressMsg, encodeStreamPlain, type StreamMsg } from '@l2lb/memberlist/wire';
import { Rng, hex, mutateBytes, type FuzzTarget } from '../harness.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const OLD_KEY = Buffer.alloc(32, 7);

function options(encrypted: boolean, label: string, rng?: Rng): WireOptions {
  return defaultWireOptions({
    keyring: encrypted ? new Keyring([KEY, OLD_KEY]) : null,
    label,
    encryptionVersion: rng ? (rng.chance(2) ? 0 : 1) : 1,
    // Small caps so the hostile inputs test them without allocating the production maximum per input.
    maxDecompressed: 64 * 1024,
    maxPushNodes: 64,
  });
}

const ip = (rng: Rng): Uint8Array | null =>
  rng.pick([null, Uint8Array.from([10, 0, 0, rng.int(256)]), Buffer.alloc(16, 1), Buffer.alloc(0), rng.bytes(rng.len(20))]);
const name = (rng: Rng): string => rng.pick(['n1', 'node-2', '', 'x'.repeat(rng.len(600)), rng.bytes(rng.len(12)).toString('latin1')]);
const int = (rng: Rng): number => rng.pick([0, 1, 255, 65535, 65536, 2 ** 31, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, rng.u32()]);

function packetMsg(rng: Rng): PacketMsg {
  switch (rng.int(9)) {
    case 0:
      return { type: 'ping', msg: { seqNo: int(rng), node: name(rng), sourceAddr: ip(rng), sourcePort: rng.int(65536), sourceNode: name(rng) } };
    case 1:
      return {
        type: 'indirectPing',
        msg: {
          seqNo: int(rng),
          target: ip(rng),
          port: rng.int(65536),
          node: name(rng),
          nack: rng.chance(2),
          sourceAddr: ip(rng),
          sourcePort: rng.int(65536),
          sourceNode: name(rng),
        },
      };
    case 2:
      return { type: 'ackResp', msg: { seqNo: int(rng), payload: rng.chance(2) ? null : rng.bytes(rng.len(64)) } };
    case 3:
      return { type: 'nackResp', msg: { seqNo: int(rng) } };
    case 4:
      return { type: 'suspect', msg: { incarnation: int(rng), node: name(rng), from: name(rng) } };
    case 5:
      return { type: 'dead', msg: { incarnation: int(rng), node: name(rng), from: name(rng) } };
    case 6:
      return { type: 'user', msg: rng.bytes(rng.len(200)) };
    case 7:
      return { type: 'err', msg: { error: name(rng) } };
    default:
      return {
        type: 'alive',
        msg: {
          incarnation: int(rng),
          node: name(rng),
          addr: ip(rng),
          port: rng.int(65536),
          meta: rng.chance(2) ? null : rng.bytes(rng.len(600)),
          vsn: rng.chance(3) ? null : Uint8Array.from([1, 5, 2, 0, 0, 0]),
        },
      };
  }
}

/**
 * A valid (or deliberately odd) packet body: one message, a compound, nested compounds and compression, nested
 * one level past the decoder's limit; `budget` caps the messages so a body stays about datagram-sized.
 */
function packetBody(rng: Rng, budget = { left: 48 }, depth = 0): Uint8Array {
  const r = rng.int(depth > 5 || budget.left <= 0 ? 1 : 5);
  budget.left--;
  if (r === 0 || r === 1) return encodeMsg(packetMsg(rng));
  if (r === 2) return makeCompound(Array.from({ length: 1 + rng.len(12) }, () => packetBody(rng, budget, depth + 1)));
  if (r === 3) return compressMsg(packetBody(rng, budget, depth + 1));
  return rng.bytes(rng.len(300));
}

interface PacketInput {
  bytes: Uint8Array;
  opts: WireOptions;
}

/**
 * Valid bodies built once from a fixed seed (LZW compression is too slow to run per input); each input then
 * picks one and mutates it, so inputs stay deterministic in (seed, index).
 */
function corpus<T>(size: number, make: (rng: Rng) => T): T[] {
  const rng = new Rng(0x5eed);
  return Array.from({ length: size }, () => make(rng));
}
let packetCorpus: Uint8Array[] | undefined;
let streamCorpus: Uint8Array[] | undefined;

export function packetTarget(encrypted: boolean): FuzzTarget<PacketInput> {
  return {
    name: encrypted ? 'memberlist-packet-encrypted' : 'memberlist-packet',
    description: `memberlist decodePacket, ${encrypted ? 'AES-GCM keyring (2 keys), v0/v1 encryption' : 'plaintext'}; label, CRC, compound, LZW, msgpack`,
    generate(rng) {
      const label = rng.chance(3) ? 'lab' : '';
      const opts = options(encrypted, label, rng);
      if (rng.chance(8)) return { bytes: rng.bytes(rng.len(1500)), opts };
      const sendOpts = options(encrypted && !rng.chance(10), rng.chance(20) ? 'other' : label, rng);
      sendOpts.compression = false; // compressed bodies come from the corpus
      packetCorpus ??= corpus(512, (r) => packetBody(r));
      let body: Uint8Array = rng.pick(packetCorpus);
      // Mutate the plaintext before encryption so hostile bytes get past authentication, or after (framing).
      if (rng.chance(2)) body = mutateBytes(rng, body, 4096);
      let bytes = encodePacket([body], sendOpts, { crc: rng.chance(3) });
      if (rng.chance(2)) bytes = mutateBytes(rng, bytes, 4096);
      return { bytes, opts };
    },
    execute({ bytes, opts }) {
      const out = decodePacket(bytes, opts);
      const internal = out.drops.find((d) => d.reason === 'internal');
      if (internal) throw new Error(`unexpected exception inside decodePacket: ${internal.message}`);
    },
    show: ({ bytes, opts }) => `label=${JSON.stringify(opts.label)} encrypted=${opts.keyring !== null} ${hex(bytes)}`,
  };
}

function streamMsg(rng: Rng): StreamMsg {
  switch (rng.int(5)) {
    case 0: {
      const n = rng.len(8);
      const nodes = Array.from({ length: n }, () => ({
        name: name(rng),
        addr: ip(rng),
        port: rng.int(65536),
        meta: rng.chance(2) ? null : rng.bytes(rng.len(64)),
        incarnation: int(rng),
        state: rng.int(5),
        vsn: rng.chance(2) ? null : rng.bytes(6),
      }));
      return { type: 'pushPull', header: { nodes: n, userStateLen: 0, join: rng.chance(2) }, nodes, userState: rng.bytes(rng.len(64)) };
    }
    case 1:
      return { type: 'ping', msg: { seqNo: int(rng), node: name(rng), sourceAddr: ip(rng), sourcePort: rng.int(65536), sourceNode: name(rng) } };
    case 2:
      return { type: 'ackResp', msg: { seqNo: int(rng), payload: null } };
    case 3:
      return { type: 'user', data: rng.bytes(rng.len(256)) };
    default:
      return { type: 'err', msg: { error: name(rng) } };
  }
}

interface StreamInput {
  bytes: Uint8Array;
  opts: WireOptions;
  acceptor: boolean;
}

export function streamTarget(encrypted: boolean): FuzzTarget<StreamInput> {
  return {
    name: encrypted ? 'memberlist-stream-encrypted' : 'memberlist-stream',
    description: `memberlist parseStream (acceptor and dialer side), ${encrypted ? 'encrypted frames' : 'plaintext'}; push/pull, compression`,
    generate(rng) {
      const label = rng.chance(3) ? 'lab' : '';
      const opts = options(encrypted, label, rng);
      const acceptor = rng.chance(2);
      if (rng.chance(8)) return { bytes: rng.bytes(rng.len(3000)), opts, acceptor };
      streamCorpus ??= corpus(512, (r) => (r.chance(2) ? compressMsg(encodeStreamPlain(streamMsg(r))) : encodeStreamPlain(streamMsg(r))));
      let plain: Uint8Array = rng.pick(streamCorpus);
      if (rng.chance(2)) plain = mutateBytes(rng, plain, 8192);
      const sendOpts = options(encrypted && !rng.chance(10), label, rng);
      sendOpts.compression = false; // compressed messages come from the corpus
      let bytes = encodeStream(plain, sendOpts, { dialer: acceptor });
      if (rng.chance(2)) bytes = mutateBytes(rng, bytes, 8192);
      return { bytes, opts, acceptor };
    },
    execute({ bytes, opts, acceptor }) {
      const r = parseStream(bytes, opts, acceptor);
      if (r.kind === 'error' && r.drop.reason === 'internal') throw new Error(`unexpected exception inside parseStream: ${r.drop.message}`);
      if (r.kind === 'ok' && (r.consumed <= 0 || r.consumed > bytes.length)) throw new Error(`parseStream consumed ${r.consumed} of ${bytes.length} bytes`);
    },
    show: ({ bytes, opts, acceptor }) => `label=${JSON.stringify(opts.label)} encrypted=${opts.keyring !== null} acceptor=${acceptor} ${hex(bytes)}`,
  };
}
