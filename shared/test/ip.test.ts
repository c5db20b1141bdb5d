// The one IP bytes <-> text codec (used by shared, memberlist and the speaker), by properties.
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { IP, ipBytesToText, ipTextToBytes } from '../src/ip.js';

const v4Bytes = fc.uint8Array({ minLength: 4, maxLength: 4 });
/** 16 bytes made of 8 groups, half of them zero, so runs of zero groups ("::") are common. */
const v6Bytes = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }).map((groups) => {
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    b[2 * i] = g >> 8;
    b[2 * i + 1] = g & 0xff;
  });
  return b;
});

describe('shared ip: bytes <-> text', () => {
  it('round-trips IPv4: bytes -> dotted quad -> the same bytes', () => {
    fc.assert(
      fc.property(v4Bytes, (b) => {
        const text = ipBytesToText(b);
        assert.equal(text, [...b].join('.'));
        assert.deepEqual(ipTextToBytes(text), b);
        assert.equal(IP.parse(text)?.toString(), text);
      }),
      { numRuns: 3000 },
    );
  });

  it("round-trips IPv6 and prints RFC 5952 text (as ipaddr.js' formatter does)", () => {
    fc.assert(
      fc.property(v6Bytes, (b) => {
        const text = ipBytesToText(b);
        assert.equal(text, new ipaddr.IPv6([...b]).toRFC5952String());
        assert.equal(isIP(text), 6, text);
        assert.deepEqual(ipTextToBytes(text), b);
        assert.deepEqual(IP.parse(text)?.toBytes(), b);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads every spelling of an IPv6 address (upper case, leading zeros, no "::") as the same bytes', () => {
    fc.assert(
      fc.property(v6Bytes, (b) => {
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2) groups.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16).toUpperCase().padStart(4, '0'));
        assert.deepEqual(ipTextToBytes(groups.join(':')), b);
        // The last 32 bits as a dotted quad.
        const dotted = `${groups.slice(0, 6).join(':')}:${[...b.subarray(12)].join('.')}`;
        assert.deepEqual(ipTextToBytes(dotted), b);
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts exactly the zone-free literals Node's net.isIP accepts (what memberlist and the speaker used)", () => {
    const token = fc.constantFrom(
      '0',
      '1',
      '00',
      '01',
      '9',
      '10',
      '255',
      '256',
      'ff',
      'FFFF',
      'fffff',
      'g',
      '.',
      '.',
      ':',
      ':',
      '::',
      '1.2.3.4',
      '01.2.3.4',
      '::ffff:',
      '',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), (tokens) => {
        const text = tokens.join('');
        assert.equal(ipTextToBytes(text) !== undefined, isIP(text) !== 0, JSON.stringify(text));
      }),
      { numRuns: 20000 },
    );
  });

  it('refuses zones, short and octal forms, and prints only 4 or 16 bytes', () => {
    for (const text of ['fe80::1%eth0', '10.1', '010.0.0.1', '::ffff:01.2.3.4', '0x0a.0.0.1', ' 1.2.3.4', '1.2.3.4 ', '']) {
      assert.equal(ipTextToBytes(text), undefined, text);
    }
    assert.deepEqual(ipTextToBytes('::1.2.3.4'), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    assert.throws(() => ipBytesToText(new Uint8Array(5)), /4 or 16 bytes, got 5/);
  });
});
