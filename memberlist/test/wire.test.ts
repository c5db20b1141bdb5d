// Wire-layer options beyond the vectors: rolling encryption upgrade (GossipVerifyIncoming/Outgoing),
// labels, keyring rotation.
import assert from 'node:assert/strict';
import { Keyring } from '../src/crypto.js';
import { encodeMsg } from '../src/messages.js';
import { MAX_PACKET_DECOMPRESSED, decodePacket, encodePacket, makeCompound } from '../src/packet.js';
import { compressMsg, defaultWireOptions, encodeStream, encodeStreamPlain, parseStream } from '../src/wire.js';

const k1 = new Uint8Array(32).fill(1);
const k2 = new Uint8Array(16).fill(2);
const ping = encodeMsg({ type: 'ping', msg: { seqNo: 5, node: 'n', sourceAddr: null, sourcePort: 0, sourceNode: '' } });
const err = encodeStreamPlain({ type: 'err', msg: { error: 'x' } });

describe('memberlist wire options', () => {
  it('with verifyIncoming on, plaintext is rejected when keys are set; off, it is accepted', () => {
    const plain = defaultWireOptions();
    const strict = defaultWireOptions({ keyring: new Keyring([k1]) });
    const lax = { ...strict, verifyIncoming: false };
    assert.equal(decodePacket(encodePacket([ping], plain), strict).msgs.length, 0);
    assert.equal(decodePacket(encodePacket([ping], plain), lax).msgs.length, 1);
    assert.equal(decodePacket(encodePacket([ping], strict), lax).msgs.length, 1);
    assert.equal(parseStream(encodeStream(err, plain, { dialer: true }), strict, true).kind, 'error');
    assert.equal(parseStream(encodeStream(err, plain, { dialer: true }), lax, true).kind, 'ok');
    assert.equal(parseStream(encodeStream(err, strict, { dialer: true }), lax, true).kind, 'ok');
  });

  it('with verifyOutgoing off, a keyed node sends plaintext', () => {
    const quietOut = defaultWireOptions({ keyring: new Keyring([k1]), verifyOutgoing: false });
    assert.equal(decodePacket(encodePacket([ping], quietOut), defaultWireOptions()).msgs.length, 1);
    assert.equal(parseStream(encodeStream(err, quietOut, { dialer: true }), defaultWireOptions(), true).kind, 'ok');
  });

  it('rotation: the primary key encrypts, every key decrypts', () => {
    const oldOnly = defaultWireOptions({ keyring: new Keyring([k2]) });
    const rotating = defaultWireOptions({ keyring: new Keyring([k1, k2]) });
    assert.equal(decodePacket(encodePacket([ping], oldOnly), rotating).msgs.length, 1);
    const d = decodePacket(encodePacket([ping], rotating), oldOnly);
    assert.equal(d.msgs.length, 0);
    assert.equal(d.drops[0]?.reason, 'decrypt_failed');
  });

  it('a labeled packet is refused by an unlabeled node and vice versa', () => {
    const a = defaultWireOptions({ label: 'a' });
    const none = defaultWireOptions();
    assert.equal(decodePacket(encodePacket([ping], a), none).drops[0]?.reason, 'label_mismatch');
    assert.equal(decodePacket(encodePacket([ping], none), a).drops[0]?.reason, 'label_mismatch');
    assert.equal(decodePacket(encodePacket([ping], a), a).msgs.length, 1);
  });
});

describe('memberlist packet decompression limits', () => {
  const opts = defaultWireOptions();

  it('a packet carries at most one compressed part; more are dropped and counted as compress_limit', () => {
    const c = compressMsg(ping);
    const d = decodePacket(makeCompound([c, c, c]), opts);
    assert.equal(d.msgs.length, 1, 'the first compressed part is decoded');
    assert.deepEqual(
      d.drops.map((x) => x.reason),
      ['compress_limit', 'compress_limit'],
    );
    // Nesting does not get around it: a compressed compound of compressed parts.
    const nested = decodePacket(compressMsg(makeCompound([c, c])), opts);
    assert.equal(nested.msgs.length, 0);
    assert.deepEqual(
      nested.drops.map((x) => x.reason),
      ['compress_limit', 'compress_limit'],
    );
  });

  it(`a compressed part that expands beyond ${MAX_PACKET_DECOMPRESSED} bytes is dropped; streams keep the larger cap`, () => {
    const big = new Uint8Array(MAX_PACKET_DECOMPRESSED + 1);
    const d = decodePacket(compressMsg(big), opts);
    assert.deepEqual(
      d.drops.map((x) => x.reason),
      ['too_large'],
    );
    // Exactly at the cap still decodes (to whatever the bytes say: here a zero-filled ping fails later).
    const atCap = decodePacket(compressMsg(new Uint8Array(MAX_PACKET_DECOMPRESSED)), opts);
    assert.ok(!atCap.drops.some((x) => x.reason === 'too_large'));
    // What Go really sends (a compound of pings compressed once) still works.
    assert.equal(decodePacket(encodePacket([ping, ping, ping], opts), opts).msgs.length, 3);
  });
});

describe('memberlist join address parsing', () => {
  it('accepts host, host:port, [v6]:port, v6 and name/host:port', async () => {
    const { parseHostPort } = await import('../src/node.js');
    assert.deepEqual(parseHostPort('10.0.0.1', 7946), { host: '10.0.0.1', port: 7946 });
    assert.deepEqual(parseHostPort('10.0.0.1:17946', 7946), { host: '10.0.0.1', port: 17946 });
    assert.deepEqual(parseHostPort('[fd00::1]:8000', 7946), { host: 'fd00::1', port: 8000 });
    assert.deepEqual(parseHostPort('fd00::1', 7946), { host: 'fd00::1', port: 7946 });
    assert.deepEqual(parseHostPort('node-a/10.0.0.2:7000', 7946), { host: '10.0.0.2', port: 7000 });
    assert.deepEqual(parseHostPort('speaker.example:7946', 1), { host: 'speaker.example', port: 7946 });
    assert.throws(() => parseHostPort('10.0.0.1:99999', 7946), /bad port/);
    assert.throws(() => parseHostPort('[fd00::1', 7946), /bad address/);
  });
});
