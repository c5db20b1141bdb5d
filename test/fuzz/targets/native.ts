// ARP frames through the native addon's reflex decision (the C++ that answers ARP before JS sees the frame),
// via its test-only entry point _testArpReflex, compared with the TypeScript statement of the rule that the
// addon's end-to-end differential test uses. Finding: an exception, or a decision or reply that differs.
import { loadAddon, type RawAddon } from '@l2lb/native/addon';
import { expectedReply, shouldAnswer } from '@l2lb/native/test/fixtures/arp-reflex-rule';
import { hex, mutateBytes, type FuzzTarget, type Rng } from '../harness.js';

const OUR_MAC = Buffer.from('02000000000a', 'hex');
const OTHER_MAC = Buffer.from('020000000055', 'hex');
const VIPS = [Buffer.from([10, 77, 0, 100]), Buffer.from([10, 77, 0, 200])];
const IGNORE = [OUR_MAC, OTHER_MAC];
const TABLE_IPS = Buffer.concat(VIPS);
const TABLE_IGNORE = Buffer.concat(IGNORE);
const PKTTYPES = [0, 1, 2, 3, 4, 4, 7, -1, 255];

interface ReflexInput {
  frame: Buffer;
  pkttype: number;
}

function request(rng: Rng): Buffer {
  const sha = rng.pick([Buffer.from('0200000000d1', 'hex'), OTHER_MAC, OUR_MAC, rng.bytes(6)]);
  return Buffer.concat([
    rng.pick([Buffer.alloc(6, 0xff), OUR_MAC, rng.bytes(6)]),
    sha,
    Buffer.from([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, rng.chance(6) ? 2 : 1]),
    sha,
    rng.pick([Buffer.from([10, 77, 0, 1]), ...VIPS, Buffer.alloc(4)]),
    Buffer.alloc(6),
    rng.pick([...VIPS, ...VIPS, Buffer.from([10, 77, 0, 7])]),
    rng.chance(3) ? rng.bytes(rng.len(40)) : Buffer.alloc(0),
  ]);
}

export function nativeReflexTarget(): FuzzTarget<ReflexInput> {
  let addon: RawAddon | undefined;
  return {
    name: 'native-arp-reflex',
    description: 'native addon ARP reflex decision (C++, test entry point _testArpReflex) vs the TypeScript rule',
    generate(rng) {
      const pkttype = rng.pick(PKTTYPES);
      if (rng.chance(10)) return { frame: rng.bytes(rng.len(100)), pkttype };
      let frame = request(rng);
      if (rng.chance(3)) {
        // the fields the rule reads, set to near-misses
        for (let k = 1 + rng.int(3); k > 0; k--)
          frame[rng.pick([0, 5, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 31, 38, 41])] = rng.pick([
            0,
            1,
            2,
            4,
            6,
            8,
            0x64,
            0xc8,
            0xff,
            rng.int(256),
          ]);
      }
      if (rng.chance(3)) frame = mutateBytes(rng, frame, 128);
      return { frame, pkttype };
    },
    execute({ frame, pkttype }) {
      addon ??= loadAddon();
      const got = addon._testArpReflex(OUR_MAC, TABLE_IPS, TABLE_IGNORE, frame, pkttype);
      const want = shouldAnswer(frame, VIPS, OUR_MAC, IGNORE, pkttype);
      if ((got !== null) !== want) throw new Error(`native ${got === null ? 'did not answer' : 'answered'}, the rule says ${want ? 'answer' : 'do not'}`);
      if (got !== null && !got.equals(expectedReply(frame, OUR_MAC)))
        throw new Error(`native reply ${hex(got)} differs from ${hex(expectedReply(frame, OUR_MAC))}`);
    },
    show: ({ frame, pkttype }) => `pkttype=${pkttype} ${hex(frame)}`,
  };
}
