import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  Cidr,
  ConfigError,
  IP,
  buildConfigFromSources,
  countBuggyIPv4,
  parseConfigMapConfig,
  parseMetalLBResources,
  summarizeRange,
  type Config,
} from '../src/index.js';

const RUNS = 10_000;

/** Parsing either succeeds with a consistent Config or throws a ConfigError; nothing else. */
function parseTotal(run: () => Config): Config | undefined {
  try {
    const config = run();
    checkInvariants(config);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      assert.ok(error.problems.length > 0);
      for (const p of error.problems) assert.ok(p.object.length > 0 && p.message.length > 0);
      return undefined;
    }
    throw error;
  }
}

function checkInvariants(config: Config): void {
  const all: Cidr[] = [];
  for (const pool of config.pools) {
    let size = 0n;
    for (let i = 0; i < pool.cidrs.length; i += 1) {
      const cidr = pool.cidrs[i];
      assert.ok(cidr !== undefined);
      if (i > 0) assert.ok(Cidr.compare(pool.cidrs[i - 1] as Cidr, cidr) < 0, 'cidrs ascending');
      size += cidr.size - (pool.avoidBuggyIPs && cidr.family === 4 ? countBuggyIPv4(cidr.base, cidr.base + cidr.size - 1n) : 0n);
      for (const other of all) assert.ok(!other.overlaps(cidr), `${other.toString()} overlaps ${cidr.toString()}`);
      all.push(cidr);
    }
    assert.equal(pool.size, size);
  }
}

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const ipv6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const prefix = fc.integer({ min: -1, max: 130 });
/** Always-valid CIDRs, so the success path (overlap, sizes, order) is exercised too. */
const validCidr = fc.oneof(
  fc.tuple(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), fc.integer({ min: 20, max: 32 })).map(([v, p]) => Cidr.of(IP.fromBigInt(4, v), p).toString()),
  fc.tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 100, max: 128 })).map(([v, p]) => Cidr.of(IP.fromBigInt(6, v), p).toString()),
);
/** Address entries that are mostly plausible, sometimes subtly wrong. */
const addressEntry = fc.oneof(
  validCidr,
  validCidr,
  fc.tuple(ipv4, prefix).map(([a, p]) => `${a}/${p}`),
  fc.tuple(ipv6, prefix).map(([a, p]) => `${a}/${p}`),
  fc.tuple(ipv4, ipv4).map(([a, b]) => `${a}-${b}`),
  fc.tuple(ipv6, ipv6).map(([a, b]) => `${a}-${b}`),
  fc.tuple(ipv4, ipv6).map(([a, b]) => `${a}-${b}`),
  ipv4,
  fc.string(),
  fc.integer(),
);
const poolRecord = fc.record(
  {
    name: fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.string(), fc.integer()),
    protocol: fc.constantFrom('layer2', 'layer2', 'layer2', 'bgp', '', 'arp'),
    addresses: fc.array(addressEntry, { maxLength: 4 }),
    'auto-assign': fc.oneof(fc.boolean(), fc.string()),
    'avoid-buggy-ips': fc.boolean(),
  },
  { requiredKeys: ['addresses'] },
);

describe('config: property tests (fast-check)', function () {
  this.timeout(120_000);

  it(`never throws anything but ConfigError on random strings (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        parseTotal(() => parseConfigMapConfig(text));
      }),
      { numRuns: RUNS },
    );
  });

  it(`never throws anything but ConfigError on random YAML documents (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        parseTotal(() => parseConfigMapConfig(stringify(value)));
        parseTotal(() => parseConfigMapConfig(stringify({ 'address-pools': value })));
      }),
      { numRuns: RUNS },
    );
  });

  it(`accepts only consistent configs from random near-valid pools (${RUNS} cases)`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(poolRecord, { maxLength: 4 }), (pools) => {
        if (parseTotal(() => parseConfigMapConfig(stringify({ 'address-pools': pools }))) !== undefined) accepted += 1;
      }),
      { numRuns: RUNS },
    );
    assert.ok(accepted > RUNS / 50, `only ${accepted} of ${RUNS} generated configs were valid: the generator no longer reaches the success path`);
  });

  it(`never throws anything but ConfigError on random CRD objects (${RUNS} cases)`, () => {
    const crd = fc.record({
      apiVersion: fc.constantFrom('metallb.io/v1beta1', 'v1', 'metallb.io/v1beta2'),
      kind: fc.constantFrom('IPAddressPool', 'L2Advertisement', 'BGPPeer', 'Service'),
      metadata: fc.oneof(
        fc.record({ name: fc.oneof(fc.constantFrom('p', 'q'), fc.string()), labels: fc.dictionary(fc.string(), fc.string()) }),
        fc.jsonValue(),
      ),
      spec: fc.oneof(
        fc.record({ addresses: fc.array(addressEntry, { maxLength: 3 }), autoAssign: fc.boolean(), serviceAllocation: fc.jsonValue({ maxDepth: 3 }) }),
        fc.record({ ipAddressPools: fc.array(fc.string()), nodeSelectors: fc.jsonValue({ maxDepth: 4 }), interfaces: fc.jsonValue({ maxDepth: 2 }) }),
        fc.jsonValue({ maxDepth: 3 }),
      ),
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(crd, fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }), (objects) => {
        parseTotal(() => parseMetalLBResources(objects));
        parseTotal(() =>
          buildConfigFromSources({ configMapText: 'address-pools: [{name: z, protocol: layer2, addresses: [10.9.0.0/30]}]', resources: objects }),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('summarises any range into minimal, aligned, contiguous CIDRs covering exactly the range', () => {
    const range = (bits: 32 | 128) =>
      fc
        .tuple(fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }), fc.bigInt({ min: 0n, max: 1n << 20n }))
        .filter(([start, length]) => start + length < 1n << BigInt(bits));
    for (const [family, bits] of [
      [4, 32],
      [6, 128],
    ] as const) {
      fc.assert(
        fc.property(range(bits), ([start, length]) => {
          const cidrs = summarizeRange(IP.fromBigInt(family, start), IP.fromBigInt(family, start + length));
          let cursor = start;
          for (let i = 0; i < cidrs.length; i += 1) {
            const cidr = cidrs[i] as Cidr;
            assert.equal(cidr.base, cursor, 'contiguous');
            assert.equal(cidr.base % cidr.size, 0n, 'aligned');
            cursor += cidr.size;
            const next = cidrs[i + 1];
            // Minimal: two equal-size buddies that would merge into one aligned block never both appear.
            if (next !== undefined && next.prefix === cidr.prefix && cidr.base % (cidr.size * 2n) === 0n)
              assert.fail(`${cidr.toString()} and ${next.toString()} should be one CIDR`);
          }
          assert.equal(cursor, start + length + 1n, 'covers the whole range');
        }),
        { numRuns: 2_000 },
      );
    }
  });

  it('counts .0/.255 IPv4 addresses like a brute-force count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 2000 }), fc.integer({ min: 0, max: 1500 }), (start, length) => {
        let expected = 0n;
        for (let v = start; v <= start + length; v += 1) if (v % 256 === 0 || v % 256 === 255) expected += 1n;
        assert.equal(countBuggyIPv4(BigInt(start), BigInt(start + length)), expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('round-trips every IPv4 and IPv6 address through parse and print', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const ip = IP.parse(text);
        assert.ok(ip !== undefined, `failed to parse ${text}`);
        const again = IP.parse(ip.toString());
        assert.ok(again !== undefined && again.equals(ip));
      }),
      { numRuns: 5_000 },
    );
  });

  it('reads IPv6 like the WHATWG URL parser does (an independent parser), embedded IPv4 included', () => {
    assert.equal(IP.parse('::1.2.3.4')?.toString(), '::102:304');
    assert.equal(IP.parse('::ffff:1.2.3.4')?.toString(), '::ffff:102:304');
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        assert.equal(IP.parse(text)?.toString(), new URL(`http://[${text}]/`).hostname.slice(1, -1), text);
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('config properties: CIDRs read as MetalLB reads them', () => {
  it('any IPv4 or IPv6 address with any prefix is read as its network, with a warning exactly when host bits are set', () => {
    const v4 = fc
      .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
      .map(([n, len]) => ({ text: `${[24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')}/${len}`, value: BigInt(n), len, bits: 32 }));
    const v6 = fc
      .tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }))
      .map(([n, len]) => ({ text: `${IP.fromBigInt(6, n).toString()}/${len}`, value: n, len, bits: 128 }));
    fc.assert(
      fc.property(fc.oneof(v4, v6), ({ text, value, len, bits }) => {
        const config = parseConfigMapConfig(stringify({ 'address-pools': [{ name: 'p', protocol: 'layer2', addresses: [text] }] }));
        const hostMask = (1n << BigInt(bits - len)) - 1n;
        const network = value & ~hostMask;
        const cidrs = config.pools[0]?.cidrs ?? [];
        assert.equal(cidrs.length, 1);
        assert.equal(cidrs[0]?.base, network);
        assert.equal(cidrs[0]?.prefix, len);
        const warned = config.warnings.some((w) => w.includes('has host bits set'));
        assert.equal(warned, (value & hostMask) !== 0n, `${text}: ${config.warnings.join('; ')}`);
      }),
      { numRuns: 2000 },
    );
  });
});
