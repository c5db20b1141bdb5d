// The stream framer: finds a message's end as bytes trickle in, reads exactly the declared length,
// refuses oversized or non-memberlist streams early, and never throws.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Keyring } from '../src/crypto.js';
import { MsgType } from '../src/messages.js';
import { FrameStep, StreamFramer, StreamMsg, WireOptions, defaultWireOptions, encodeStream, encodeStreamPlain, parseStream } from '../src/wire.js';

const key = new Keyring([new Uint8Array(32).fill(7)]);

function feed(f: StreamFramer, bytes: Uint8Array, cuts: number[]): { step: FrameStep; pushes: number } {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  let pushes = 0;
  for (const p of [...points, bytes.length]) {
    if (p <= prev) continue;
    const step = f.push(bytes.subarray(prev, p));
    pushes++;
    prev = p;
    if (step.kind !== 'incomplete') return { step, pushes };
  }
  return { step: { kind: 'incomplete' }, pushes };
}

const node = (i: number, meta: Uint8Array | null) => ({
  name: `node-${i}`,
  addr: Uint8Array.from([10, 0, 0, i & 255]),
  port: 7946,
  meta,
  incarnation: i,
  state: i % 4,
  vsn: Uint8Array.from([1, 5, 2, 0, 0, 0]),
});

const msgArb: fc.Arbitrary<StreamMsg> = fc.oneof(
  fc
    .record({
      n: fc.integer({ min: 0, max: 40 }),
      meta: fc.option(fc.uint8Array({ maxLength: 512 }), { nil: null }),
      user: fc.uint8Array({ maxLength: 300 }),
      join: fc.boolean(),
    })
    .map(({ n, meta, user, join }): StreamMsg => ({
      type: 'pushPull',
      header: { join, nodes: n, userStateLen: user.length },
      nodes: Array.from({ length: n }, (_, i) => node(i, meta)),
      userState: user,
    })),
  fc.uint8Array({ maxLength: 3000 }).map((data): StreamMsg => ({ type: 'user', data })),
  fc.string({ maxLength: 40 }).map((error): StreamMsg => ({ type: 'err', msg: { error } })),
  fc.nat().map((seqNo): StreamMsg => ({ type: 'ping', msg: { seqNo, node: 'x', sourceAddr: null, sourcePort: 0, sourceNode: '' } })),
);

const optsArb: fc.Arbitrary<WireOptions> = fc
  .record({ enc: fc.boolean(), compression: fc.boolean(), vsn: fc.constantFrom<0 | 1>(0, 1), label: fc.constantFrom('', 'lbl') })
  .map(({ enc, compression, vsn, label }) => defaultWireOptions({ keyring: enc ? key : null, compression, encryptionVersion: vsn, label }));

describe('memberlist stream framer', function () {
  this.timeout(30_000);
  it('property: any message split anywhere frames to exactly its bytes, and trailing bytes are ignored', () => {
    fc.assert(
      fc.property(msgArb, optsArb, fc.array(fc.nat(), { maxLength: 30 }), fc.uint8Array({ maxLength: 20 }), (m, opts, cuts, trailer) => {
        const bytes = encodeStream(encodeStreamPlain(m), opts, { dialer: true });
        const withTrailer = Uint8Array.from([...bytes, ...trailer]);
        const { step } = feed(new StreamFramer(opts, true), withTrailer, cuts);
        assert.equal(step.kind, 'frame', JSON.stringify(step));
        if (step.kind !== 'frame') return;
        assert.deepEqual(Buffer.from(step.bytes), Buffer.from(bytes));
        assert.equal(parseStream(step.bytes, opts, true).kind, 'ok');
      }),
      { numRuns: 400 },
    );
  });

  it('byte by byte, a plaintext push/pull is scanned in linear time (each node state stepped over once)', () => {
    const opts = defaultWireOptions({ compression: false });
    const m: StreamMsg = {
      type: 'pushPull',
      header: { join: false, nodes: 1000, userStateLen: 0 },
      nodes: Array.from({ length: 1000 }, (_, i) => node(i, null)),
      userState: new Uint8Array(0),
    };
    const bytes = encodeStream(encodeStreamPlain(m), opts, { dialer: true });
    const f = new StreamFramer(opts, true);
    const t0 = performance.now();
    let step: FrameStep = { kind: 'incomplete' };
    for (let i = 0; i < bytes.length && step.kind === 'incomplete'; i++) step = f.push(bytes.subarray(i, i + 1));
    const ms = performance.now() - t0;
    assert.equal(step.kind, 'frame');
    // Re-parsing from the start on every byte would be ~bytes^2/2 = 3 x 10^9 byte steps.
    assert.ok(ms < 5000, `${bytes.length} bytes one at a time took ${ms.toFixed(0)} ms`);
  });

  it('refuses huge declared lengths from the header alone, before any body arrives', () => {
    const enc = defaultWireOptions({ keyring: key });
    const hdr = Uint8Array.from([MsgType.encrypt, 0x01, 0x3f, 0xff, 0xff]); // 20 MiB
    const s1 = new StreamFramer(enc, true).push(hdr);
    assert.equal(s1.kind, 'error');
    assert.equal(s1.kind === 'error' && s1.drop.reason, 'too_large');
    // Encrypted with a bad version byte: refused at byte 6, not after the declared length.
    const s2 = new StreamFramer(enc, true).push(Uint8Array.from([MsgType.encrypt, 0, 0, 1, 0, 7]));
    assert.equal(s2.kind === 'error' && s2.drop.reason, 'bad_version');
    // Plaintext compress message whose Buf claims 4 GiB.
    const plain = defaultWireOptions();
    const bomb = Uint8Array.from([MsgType.compress, 0x82, 0xa4, ...Buffer.from('Algo'), 0, 0xa3, ...Buffer.from('Buf'), 0xdb, 0xff, 0xff, 0xff, 0xff]);
    const s3 = new StreamFramer(plain, true).push(bomb);
    assert.equal(s3.kind === 'error' && s3.drop.reason, 'too_large');
    // A user message that declares 100 MiB.
    const user = Uint8Array.from([MsgType.user, 0x81, 0xaa, ...Buffer.from('UserMsgLen'), 0xce, 0x06, 0x40, 0, 0]);
    const s4 = new StreamFramer(plain, true).push(user);
    assert.equal(s4.kind === 'error' && s4.drop.reason, 'too_large');
    // Not memberlist at all (an HTTP request): refused at the first byte.
    const s5 = new StreamFramer(plain, true).push(Buffer.from('GET / HTTP/1.1\r\n'));
    assert.equal(s5.kind === 'error' && s5.drop.reason, 'unknown_type');
  });

  it('an encrypted stream buffers only what has arrived, in one growing buffer', () => {
    const enc = defaultWireOptions({ keyring: key });
    const f = new StreamFramer(enc, true);
    const hdr = Uint8Array.from([MsgType.encrypt, 0x00, 0x70, 0, 0, 1]); // 7 MiB declared, version 1
    assert.equal(f.push(hdr).kind, 'incomplete');
    assert.ok(f.held < 4096, `held ${f.held} bytes after a 6-byte header`);
    for (let i = 0; i < 16; i++) f.push(new Uint8Array(64 * 1024));
    assert.ok(f.held <= 2 * (6 + 16 * 64 * 1024), `held ${f.held} after 1 MiB`);
  });

  it('property: arbitrary bytes in arbitrary chunks never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), optsArb, fc.array(fc.nat(), { maxLength: 10 }), (bytes, opts, cuts) => {
        feed(new StreamFramer(opts, true), bytes, cuts);
      }),
      { numRuns: 2000 },
    );
  });
});
