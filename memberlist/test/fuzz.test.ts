// Fuzz: >= 100 000 mutated real packets and streams through the decoders. Nothing may throw, hang or
// allocate without bound; every rejection carries a reason.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Keyring } from '../src/crypto.js';
import { lzwCompress, lzwDecompress } from '../src/lzw.js';
import { makeConfig } from '../src/config.js';
import { decodeValue, Reader } from '../src/msgpack.js';
import { SimNetwork } from '../src/sim.js';
import { decodePacket, encodePacket } from '../src/packet.js';
import { WireOptions, defaultWireOptions, encodeStream, parseStream } from '../src/wire.js';
import { hexFile, loadVectors } from './helpers.js';

/** Deterministic xorshift PRNG so a failure is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const b = Array.from(src);
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const op = Math.floor(r() * 7);
    const i = Math.floor(r() * Math.max(1, b.length));
    switch (op) {
      case 0:
        if (b.length) b[i] = (b[i]! ^ (1 << Math.floor(r() * 8))) & 0xff;
        break; // bit flip
      case 1:
        if (b.length) b[i] = Math.floor(r() * 256);
        break; // random byte
      case 2:
        b.length = Math.floor(r() * b.length);
        break; // truncate
      case 3:
        b.splice(i, 0, Math.floor(r() * 256));
        break; // insert
      case 4:
        b.splice(i, Math.floor(r() * 8));
        break; // delete a run
      case 5:
        if (b.length) b[i] = [0xff, 0xdb, 0xdf, 0xdd, 0xc6, 0xce, 0xcf, 0x00][Math.floor(r() * 8)]!;
        break; // hostile lengths
      case 6: {
        const j = Math.floor(r() * Math.max(1, b.length));
        b.splice(i, 0, ...b.slice(j, j + 16));
        break;
      } // duplicate
    }
  }
  return Uint8Array.from(b);
}

interface Seed {
  bytes: Uint8Array;
  opts: WireOptions;
  stream: boolean;
  acceptor: boolean;
}

function seeds(): Seed[] {
  const out: Seed[] = [];
  for (const v of loadVectors()) {
    const key = v.key ?? null;
    const stream = v.transport === 'tcp' || v.kind === 'stream';
    const encVsn: 0 | 1 = v.encryptionVersion === 0 || v.name.includes('-v0') ? 0 : 1;
    const plainOpts = defaultWireOptions({ label: v.label ?? '', compression: true, encryptionVersion: encVsn });
    if (key === null) {
      out.push({ bytes: hexFile(v.file), opts: plainOpts, stream, acceptor: !v.name.endsWith('-response') });
    } else {
      // Mutate the plaintext and feed it unencrypted, so the inner decoders see the damage...
      const inner = v.plainFile ?? v.file;
      out.push({ bytes: hexFile(inner), opts: { ...plainOpts, label: '' }, stream, acceptor: true });
      // ...and the ciphertext with the key, so the crypto layer sees it.
      out.push({
        bytes: hexFile(v.file),
        opts: { ...plainOpts, keyring: new Keyring([new Uint8Array(Buffer.from(key, 'hex'))]) },
        stream,
        acceptor: !v.name.endsWith('-response'),
      });
    }
  }
  return out;
}

describe('memberlist decoder fuzz', function () {
  this.timeout(120_000);

  it('survives 100 000+ mutated packets and streams', () => {
    const all = seeds();
    const r = rng(0x5eed);
    const reasons = new Map<string, number>();
    let packets = 0;
    let streams = 0;
    let accepted = 0;
    let slowest = 0;
    const TOTAL = 110_000;
    for (let i = 0; i < TOTAL; i++) {
      const s = all[i % all.length]!;
      const m = mutate(s.bytes, r);
      const t0 = performance.now();
      if (s.stream) {
        streams++;
        const p = parseStream(m, s.opts, s.acceptor);
        if (p.kind === 'error') reasons.set(p.drop.reason, (reasons.get(p.drop.reason) ?? 0) + 1);
        else if (p.kind === 'ok') accepted++;
        // A stream reader sees prefixes too.
        const cut = Math.floor(r() * m.length);
        const q = parseStream(m.subarray(0, cut), s.opts, s.acceptor);
        assert.ok(q.kind === 'incomplete' || q.kind === 'error' || q.kind === 'ok');
      } else {
        packets++;
        const d = decodePacket(m, s.opts);
        for (const x of d.drops) {
          assert.ok(x.reason.length > 0 && x.message.length > 0);
          reasons.set(x.reason, (reasons.get(x.reason) ?? 0) + 1);
        }
        accepted += d.msgs.length > 0 ? 1 : 0;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    assert.ok(packets + streams >= 100_000);
    assert.ok(streams >= 20_000, `only ${streams} streams`);
    assert.ok(slowest < 2000, `one input took ${slowest.toFixed(1)} ms (hang guard)`);
    assert.ok(reasons.size >= 8, `few distinct drop reasons: ${[...reasons.keys()].join(',')}`);
    assert.ok(accepted > 0);
    assert.equal(reasons.get('internal') ?? 0, 0, 'internal errors leaked out of a decoder');
  });

  it('a live node swallows 30 000 mutated packets and streams and still answers pings', () => {
    const net = new SimNetwork(5);
    const wire = defaultWireOptions();
    const a = net.addNode(makeConfig('fz-a', '10.9.0.1', 7946, { wire }));
    const b = net.addNode(makeConfig('fz-b', '10.9.0.2', 7946, { wire }));
    a.start();
    b.start();
    b.join([{ ip: '10.9.0.1', port: 7946 }], () => undefined);
    net.runUntil(1000);
    const plain = seeds().filter((s) => s.opts.keyring === null && s.opts.label === '');
    const r = rng(77);
    for (let i = 0; i < 30_000; i++) {
      const s = plain[i % plain.length]!;
      const m = mutate(s.bytes, r);
      if (s.stream) a.handleStream(m);
      else a.handlePacket(m, '10.9.0.66', 7946);
      if (i % 1000 === 0) net.runUntil(net.now + 50);
    }
    assert.equal(a.drops.get('handler') ?? 0, 0, 'a message handler threw');
    net.runUntil(net.now + 5000);
    // Still healthy: b is alive in a's view and vice versa (garbage may have added bogus members).
    assert.equal(a.node('fz-b')?.state, 'alive');
    assert.equal(b.node('fz-a')?.state, 'alive');
  });

  it('refuses decompression bombs at the cap', () => {
    const big = new Uint8Array(3 * 1024 * 1024);
    const c = lzwCompress(big);
    assert.ok(c.length < big.length / 50);
    assert.throws(() => lzwDecompress(c, 1024 * 1024), /exceeds/);
    assert.equal(lzwDecompress(c, 4 * 1024 * 1024).length, big.length);
  });

  it('refuses a huge declared node count or length without allocating', () => {
    // pushPull header claiming 2^32-1 nodes, and a str32 claiming 4 GiB.
    const hdr = Uint8Array.from([
      6,
      0x83,
      0xa4,
      ...Buffer.from('Join'),
      0xc3,
      0xa5,
      ...Buffer.from('Nodes'),
      0xce,
      0xff,
      0xff,
      0xff,
      0xff,
      0xac,
      ...Buffer.from('UserStateLen'),
      0,
    ]);
    const p = parseStream(hdr, defaultWireOptions(), true);
    assert.equal(p.kind, 'error');
    const str = Uint8Array.from([0xdb, 0xff, 0xff, 0xff, 0xff, 1, 2]);
    assert.throws(() => decodeValue(new Reader(str)), /truncated/);
  });

  it('LZW round-trips arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6000 }), (data) => {
        const back = lzwDecompress(lzwCompress(data), 1 << 20);
        assert.deepEqual(Buffer.from(back), Buffer.from(data));
      }),
      { numRuns: 300 },
    );
  });

  it('packet framing round-trips arbitrary user payloads with every option (property)', () => {
    const key = new Keyring([new Uint8Array(32).fill(7)]);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1200 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom<0 | 1>(0, 1),
        fc.constantFrom('', 'lbl'),
        (payload, enc, compression, vsn, label) => {
          const opts = defaultWireOptions({ keyring: enc ? key : null, compression, encryptionVersion: vsn, label });
          const msg = Uint8Array.from([8, ...payload]);
          const d = decodePacket(encodePacket([msg, msg], opts, { crc: true }), opts);
          assert.deepEqual(d.drops, []);
          assert.equal(d.msgs.length, 2);
          const s = encodeStream(
            Uint8Array.from([8, 0x81, 0xaa, ...Buffer.from('UserMsgLen'), 0xcd, payload.length >> 8, payload.length & 255, ...payload]),
            opts,
            { dialer: true },
          );
          const p = parseStream(s, opts, true);
          assert.equal(p.kind, 'ok');
        },
      ),
      { numRuns: 300 },
    );
  });
});
