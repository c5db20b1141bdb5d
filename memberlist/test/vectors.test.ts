// Every vector in memberlist/test/vectors (see its README) decodes to the recorded fields and re-encodes
// (with the recorded nonce for encrypted ones) to the identical bytes Go wrote.
import assert from 'node:assert/strict';
import { Keyring, decryptPayload, metallbKey } from '../src/crypto.js';
import { lzwCompress, lzwDecompress } from '../src/lzw.js';
import {
  MsgType,
  encodeMsg,
  readCompress,
  readPushNodeState,
  readPushPullHeader,
  readUserMsgHeader,
  writePushNodeState,
  writePushPullHeader,
  writeUserMsgHeader,
} from '../src/messages.js';
import { Reader, Writer } from '../src/msgpack.js';
import { decodePacket, encodePacket } from '../src/packet.js';
import { WireOptions, defaultWireOptions, encodeStream, encodeStreamPlain, parseStream } from '../src/wire.js';
import { Vector, expectedFieldSets, headerFields, hex, hexFile, loadVectors, msgFields, nodeStateFields, streamFields } from './helpers.js';

const METALLB_KEY_HEX = '6d6574616c6c622d746573742d736563726574e3b0c44298fc1c149afbf4c899';

function optsFor(v: Vector, compression: boolean, encVsn: 0 | 1): WireOptions {
  const key = v.key ?? null;
  return defaultWireOptions({
    keyring: key === null ? null : new Keyring([new Uint8Array(Buffer.from(key, 'hex'))]),
    label: v.label ?? '',
    encryptionVersion: encVsn,
    compression,
  });
}

describe('memberlist wire vectors', () => {
  const vectors = loadVectors();

  it('has the manifest (86 vectors)', () => {
    assert.ok(vectors.length >= 80, `only ${vectors.length} vectors`);
  });

  it('derives the MetalLB key from a secret', () => {
    assert.equal(hex(metallbKey('metallb-test-secret')), METALLB_KEY_HEX);
    assert.equal(hex(metallbKey('A'.repeat(22))), '41'.repeat(22) + 'e3b0c44298fc1c149afb');
    assert.equal(hex(metallbKey('x'.repeat(40))), '78'.repeat(32));
  });

  for (const v of vectors) {
    it(`${v.name}: decodes and re-encodes byte for byte`, () => {
      const bytes = hexFile(v.file);
      const captured = v.source === 'captured';
      const kind = captured ? (v.transport === 'tcp' ? 'stream' : 'packet') : (v.kind ?? 'body');
      const encVsn: 0 | 1 = captured ? (v.encryptionVersion === 0 ? 0 : 1) : v.name.includes('-v0') ? 0 : 1;
      const expected = expectedFieldSets(v.decoded);

      if (kind === 'body') {
        const type = bytes[0] as number;
        if (v.name === 'pushpull-header' || v.name === 'push-node-state' || v.name === 'user-msg-header') {
          const r = new Reader(bytes, 1);
          const w = new Writer().u8(type);
          let fields;
          if (v.name === 'pushpull-header') {
            const h = readPushPullHeader(r);
            fields = headerFields(h);
            writePushPullHeader(w, h);
          } else if (v.name === 'push-node-state') {
            const n = readPushNodeState(r);
            fields = nodeStateFields(n);
            writePushNodeState(w, n);
          } else {
            const h = readUserMsgHeader(r);
            fields = { UserMsgLen: h.userMsgLen };
            writeUserMsgHeader(w, h);
          }
          assert.equal(r.pos, bytes.length);
          assert.deepEqual([fields], expected);
          assert.equal(hex(w.finish()), hex(bytes));
          return;
        }
        const d = decodePacket(bytes, defaultWireOptions());
        assert.deepEqual(d.drops, []);
        assert.equal(d.msgs.length, 1);
        assert.deepEqual(d.msgs.map(msgFields), expected);
        assert.equal(hex(encodeMsg(d.msgs[0]!)), hex(bytes));
        return;
      }

      if (kind === 'packet') {
        const compression = captured || v.name.startsWith('compress');
        const opts = optsFor(v, compression, encVsn);
        const d = decodePacket(bytes, opts);
        assert.deepEqual(d.drops, []);
        assert.ok(d.msgs.length >= 1);
        if (expected.length > 0) assert.deepEqual(d.msgs.map(msgFields), expected);
        const labelLen = opts.label === '' ? 0 : 2 + Buffer.byteLength(opts.label);
        const nonce = opts.keyring === null ? undefined : bytes.subarray(labelLen + 1, labelLen + 13);
        const crc = captured ? v.crc !== null && v.crc !== undefined : v.name.startsWith('crc');
        const again = encodePacket(d.msgs.map(encodeMsg), opts, { crc, nonce });
        assert.equal(hex(again), hex(bytes));
        if (v.plainFile !== undefined) {
          // Encrypted vectors: plainFile = the decrypted payload; plaintext ones: the decompressed message.
          const plain =
            opts.keyring === null
              ? encodePacket(d.msgs.map(encodeMsg), { ...opts, compression: false }, {})
              : encodePacket(d.msgs.map(encodeMsg), { ...opts, keyring: null, label: '' }, { crc });
          assert.equal(hex(plain), hex(hexFile(v.plainFile)));
        }
        return;
      }

      // streams
      const isRequest = captured ? v.name.endsWith('-request') : true;
      const compression = captured || v.name.includes('lzw');
      const opts = optsFor(v, compression, encVsn);
      const p = parseStream(bytes, opts, isRequest);
      assert.equal(p.kind, 'ok', p.kind === 'error' ? p.drop.message : 'incomplete');
      if (p.kind !== 'ok') return;
      assert.equal(p.consumed, bytes.length);
      assert.deepEqual(streamFields(p.msg), expected);
      const plain = encodeStreamPlain(p.msg);
      if (v.decompressedFile !== undefined) assert.equal(hex(plain), hex(hexFile(v.decompressedFile)));
      const labelLen = isRequest && opts.label !== '' ? 2 + Buffer.byteLength(opts.label) : 0;
      const nonce = opts.keyring === null ? undefined : bytes.subarray(labelLen + 6, labelLen + 18);
      assert.equal(hex(encodeStream(plain, opts, { dialer: isRequest, nonce })), hex(bytes));
    });
  }

  it('LZW: compress(decompress(x)) == x for every compressed payload', () => {
    let n = 0;
    for (const v of vectors) {
      const files = [v.file, v.plainFile].filter((f): f is string => f !== undefined);
      for (const f of files) {
        let b = hexFile(f);
        if (v.key && b[0] !== MsgType.compress && b[0] !== MsgType.compound && f === v.file) continue;
        if (b[0] === MsgType.hasLabel) continue;
        if (b[0] === MsgType.hasCrc) b = b.subarray(5);
        if (b[0] !== MsgType.compress) continue;
        const c = new Reader(b, 1);
        // {Algo, Buf}: skip map header and the Algo entry, read Buf.
        const m = readCompressBuf(c);
        const d = lzwDecompress(m, 1 << 20);
        assert.equal(hex(lzwCompress(d)), hex(m), `${f}`);
        n++;
      }
    }
    assert.ok(n >= 10, `only ${n} compressed payloads checked`);
  });

  it('decrypts the captured labeled TCP response with the label as AAD', () => {
    const v = vectors.find((x) => x.name === 'uplabel-tcp-pushpull-join-response');
    assert.ok(v);
    const b = hexFile(v.file);
    const aad = Buffer.concat([Buffer.from(b.subarray(0, 5)), Buffer.from('cluster-a')]);
    const plain = decryptPayload([new Uint8Array(Buffer.from(METALLB_KEY_HEX, 'hex'))], b.subarray(5), aad);
    assert.equal(hex(plain), hex(hexFile(v.plainFile!)));
    assert.throws(() => decryptPayload([new Uint8Array(Buffer.from(METALLB_KEY_HEX, 'hex'))], b.subarray(5), b.subarray(0, 5)));
  });
});

function readCompressBuf(r: Reader): Uint8Array {
  return readCompress(r).buf ?? new Uint8Array(0);
}
