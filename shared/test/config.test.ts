import assert from 'node:assert/strict';
import { buildConfigFromSources, ConfigError, parseConfigMapConfig, parseMetalLBResources, type Config } from '../src/index.js';

/** Builds a legacy config text from pool objects, so tests read as data. */
function legacy(...pools: Record<string, unknown>[]): string {
  return JSON.stringify({ 'address-pools': pools });
}

function pool(name: string, addresses: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, protocol: 'layer2', addresses, ...extra };
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems.map((p) => (p.field === undefined ? `${p.object}: ${p.message}` : `${p.object}: ${p.field}: ${p.message}`));
  }
  assert.fail('expected the configuration to be rejected');
}

function assertRejected(run: () => unknown, ...expected: RegExp[]): void {
  const problems = problemsOf(run);
  for (const pattern of expected) {
    assert.ok(
      problems.some((p) => pattern.test(p)),
      `no problem matches ${pattern}; got:\n  ${problems.join('\n  ')}`,
    );
  }
}

function ipAddressPool(name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Record<string, unknown> {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'l2lb-system', ...(labels ? { labels } : {}) }, spec };
}

function l2Advertisement(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name, namespace: 'l2lb-system' }, spec };
}

const cidrsOf = (config: Config, index = 0): string[] => (config.pools[index]?.cidrs ?? []).map(String);

describe('config: legacy ConfigMap format', () => {
  it('parses a valid config with defaults', () => {
    const config = parseConfigMapConfig(legacy(pool('web', ['192.168.1.240/28'])));
    assert.equal(config.pools.length, 1);
    const [web] = config.pools;
    assert.equal(web?.name, 'web');
    assert.equal(web?.autoAssign, true);
    assert.equal(web?.avoidBuggyIPs, false);
    assert.equal(web?.size, 16n);
    assert.deepEqual(cidrsOf(config), ['192.168.1.240/28']);
    assert.equal(web?.serviceAllocation, undefined);
  });

  it('announces every layer2 pool through one implicit advertisement', () => {
    const config = parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/30']), pool('b', ['10.0.1.0/30'])));
    assert.equal(config.l2Advertisements.length, 1);
    assert.deepEqual(config.l2Advertisements[0]?.ipAddressPools, ['a', 'b']);
    assert.deepEqual(config.l2Advertisements[0]?.nodeSelectors, []);
    assert.deepEqual(config.l2Advertisements[0]?.interfaces, []);
    assert.deepEqual(config.warnings, []);
  });

  it('reads YAML 1.1 booleans as MetalLB (Go yaml.v2) does', () => {
    const text = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.0/30]\n  auto-assign: no\n  avoid-buggy-ips: yes\n';
    const [a] = parseConfigMapConfig(text).pools;
    assert.equal(a?.autoAssign, false);
    assert.equal(a?.avoidBuggyIPs, true);
  });

  it('keeps ConfigMap order, which is the allocation order', () => {
    const config = parseConfigMapConfig(legacy(pool('zeta', ['10.0.2.0/30']), pool('alpha', ['10.0.1.0/30']), pool('mid', ['10.0.0.0/30'])));
    assert.deepEqual(
      config.pools.map((p) => p.name),
      ['zeta', 'alpha', 'mid'],
    );
  });

  it('accepts an empty config (no pools) with a warning', () => {
    for (const text of ['', '{}', 'address-pools: []']) {
      const config = parseConfigMapConfig(text);
      assert.equal(config.pools.length, 0);
      assert.match(config.warnings.join('\n'), /no address pools/);
    }
  });

  it('rejects a pool without a name', () => {
    assertRejected(() => parseConfigMapConfig(legacy({ protocol: 'layer2', addresses: ['10.0.0.0/30'] })), /address pool #1: name: the pool has no name/);
  });

  it('rejects a pool without addresses', () => {
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', []))), /address pool #1 "a": addresses: the pool has no addresses/);
    assertRejected(() => parseConfigMapConfig(legacy({ name: 'a', protocol: 'layer2' })), /"a": addresses: the pool has no addresses/);
  });

  it('rejects a bad CIDR, naming pool and value', () => {
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/33']))),
      /"a": addresses\[0\]: invalid CIDR "10.0.0.0\/33": prefix length "33" must be a number from 0 to 32/,
    );
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.300/24']))),
      /invalid CIDR "10.0.0.300\/24": "10.0.0.300" is not a valid IPv4 or IPv6 address/,
    );
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['fc00::/129']))), /prefix length "129" must be a number from 0 to 128 for IPv6/);
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['hello']))), /"hello" is not a CIDR/);
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', [42]))),
      /addresses\[0\]: must be a CIDR or an address range written as a string, got the number 42/,
    );
  });

  it('rejects a bare address without a prefix length (as MetalLB), suggesting /32 or /128', () => {
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['10.0.0.5']))), /"10.0.0.5" is a single address without a prefix length: write "10.0.0.5\/32"/);
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['fc00::5']))), /write "fc00::5\/128"/);
  });

  it('reads a CIDR with host bits set as its network, as MetalLB does, with a warning naming the pool', () => {
    const v4 = parseConfigMapConfig(legacy(pool('a', ['192.168.1.5/24'])));
    assert.deepEqual(v4.pools[0]?.cidrs.map(String), ['192.168.1.0/24']);
    assert.ok(
      v4.warnings.some((w) => /"a": addresses\[0\]: CIDR "192.168.1.5\/24" has host bits set: read as "192.168.1.0\/24"/.test(w)),
      v4.warnings.join('\n'),
    );
    assert.deepEqual(
      v4.objectWarnings?.map((w) => w.object),
      ['address pool #1 "a"'],
    );
    const v6 = parseConfigMapConfig(legacy(pool('a', ['fc00::1/64'])));
    assert.deepEqual(v6.pools[0]?.cidrs.map(String), ['fc00::/64']);
    assert.ok(v6.warnings.some((w) => /has host bits set: read as "fc00::\/64"/.test(w)));
  });

  it('rejects a bad range', () => {
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['10.0.0.1-10.0.0']))), /invalid address range "10.0.0.1-10.0.0": end "10.0.0" is not a valid/);
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['x-10.0.0.1']))), /start "x" is not a valid/);
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['10.0.0.1-10.0.0.2-10.0.0.3']))), /write it as start-end/);
  });

  it('rejects a range whose start is after its end', () => {
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['10.0.0.9-10.0.0.1']))), /"10.0.0.9-10.0.0.1": start 10.0.0.9 is after end 10.0.0.1/);
  });

  it('rejects a mixed-family range instead of silently dropping it (MetalLB drops it)', () => {
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['10.0.0.1-fc00::1']))), /"10.0.0.1-fc00::1": it mixes IPv4 and IPv6/);
  });

  it('rejects duplicate pool names', () => {
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/30']), pool('a', ['10.0.1.0/30']))),
      /address pool #2 "a": duplicate pool name "a": address pool #1 "a" already uses it/,
    );
  });

  it('rejects overlap across pools', () => {
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/16']), pool('b', ['10.0.5.0/24']))),
      /address pool #2 "b": addresses\[0\]: "10.0.5.0\/24" overlaps "10.0.0.0\/16" \(addresses\[0\] of address pool #1 "a"\)/,
    );
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['10.0.0.10-10.0.0.20']), pool('b', ['10.0.0.20/32']))), /"b".*overlaps "10.0.0.10-10.0.0.20"/);
  });

  it('rejects overlap within one pool', () => {
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/24', '10.0.0.128-10.0.0.130']))),
      /"a": addresses\[1\]: "10.0.0.128-10.0.0.130" overlaps "10.0.0.0\/24" \(addresses\[0\] of the same pool\)/,
    );
  });

  it('does not call adjacent ranges or different families an overlap', () => {
    const config = parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/25', '10.0.0.128/25']), pool('b', ['fc00::/120'])));
    assert.equal(config.pools.length, 2);
  });

  it('rejects a missing or unknown protocol', () => {
    assertRejected(() => parseConfigMapConfig(legacy({ name: 'a', addresses: ['10.0.0.0/30'] })), /"a": protocol: the protocol field is missing/);
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/30'], { protocol: 'arp' }))),
      /"a": protocol: unknown protocol "arp" \(l2lb supports layer2\)/,
    );
  });

  it('rejects BGP pools and every BGP section with one clear message', () => {
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/30'], { protocol: 'bgp' }))),
      /"a": protocol: protocol "bgp": BGP mode is not supported by l2lb/,
    );
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/30'], { 'bgp-advertisements': [] }))),
      /"a": bgp-advertisements: BGP mode is not supported by l2lb/,
    );
    for (const section of ['peers', 'bgp-communities', 'bfd-profiles']) {
      const text = JSON.stringify({ [section]: [], 'address-pools': [pool('a', ['10.0.0.0/30'])] });
      assertRejected(() => parseConfigMapConfig(text), new RegExp(`config: ${section}: BGP mode is not supported by l2lb; remove the "${section}" section`));
    }
  });

  it('rejects unknown keys, at the top and in pools (as MetalLB)', () => {
    assertRejected(() => parseConfigMapConfig(JSON.stringify({ 'adress-pools': [] })), /config: unknown field "adress-pools"/);
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/30'], { auto_assign: false }))),
      /"a": unknown field "auto_assign" \(known: name, protocol, addresses, auto-assign, avoid-buggy-ips\)/,
    );
  });

  it('rejects wrongly typed fields', () => {
    assertRejected(
      () => parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/30'], { 'auto-assign': 'maybe' }))),
      /"a": auto-assign: must be true or false, got the string "maybe"/,
    );
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', '10.0.0.0/30'))), /"a": addresses: must be a list of CIDRs or ranges, got the string/);
    assertRejected(
      () => parseConfigMapConfig(legacy({ name: 7, protocol: 'layer2', addresses: ['10.0.0.0/30'] })),
      /address pool #1: name: must be a string, got the number 7/,
    );
    assertRejected(() => parseConfigMapConfig('- a\n- b\n'), /config: must be a mapping with an address-pools list, got a list/);
    assertRejected(() => parseConfigMapConfig(JSON.stringify({ 'address-pools': { a: 1 } })), /address-pools: must be a list of pools, got a mapping/);
  });

  it('rejects YAML errors and duplicate keys with a ConfigError', () => {
    assertRejected(() => parseConfigMapConfig('address-pools: [\n'), /config: not valid YAML/);
    assertRejected(() => parseConfigMapConfig('address-pools: []\naddress-pools: []\n'), /not valid YAML: .*unique/i);
  });

  it('names the ConfigMap it was told about', () => {
    assertRejected(() => parseConfigMapConfig('nope: 1', { object: 'ConfigMap l2lb-system/config' }), /^ConfigMap l2lb-system\/config: unknown field "nope"/);
  });

  it('reports every problem in one run', () => {
    const problems = problemsOf(() =>
      parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/33']), { protocol: 'layer2', addresses: [] }, pool('c', ['1.2.3.4/32'], { protocol: 'bgp' }))),
    );
    assert.equal(problems.length, 4, problems.join('\n'));
  });
});

describe('config: address summarisation and sizes', () => {
  it('summarises an IPv4 range into minimal CIDRs, ascending', () => {
    const config = parseConfigMapConfig(legacy(pool('a', ['192.168.1.10-192.168.1.20'])));
    assert.deepEqual(cidrsOf(config), ['192.168.1.10/31', '192.168.1.12/30', '192.168.1.16/30', '192.168.1.20/32']);
    assert.equal(config.pools[0]?.size, 11n);
  });

  it('summarises an aligned range into one CIDR and a single-address range into a /32', () => {
    assert.deepEqual(cidrsOf(parseConfigMapConfig(legacy(pool('a', ['10.0.0.0-10.0.255.255'])))), ['10.0.0.0/16']);
    assert.deepEqual(cidrsOf(parseConfigMapConfig(legacy(pool('a', ['10.0.0.7 - 10.0.0.7'])))), ['10.0.0.7/32']);
    assert.deepEqual(cidrsOf(parseConfigMapConfig(legacy(pool('a', ['0.0.0.0-255.255.255.255'])))), ['0.0.0.0/0']);
  });

  it('summarises an IPv6 range', () => {
    const config = parseConfigMapConfig(legacy(pool('a', ['fc00::1-fc00::10'])));
    assert.deepEqual(cidrsOf(config), ['fc00::1/128', 'fc00::2/127', 'fc00::4/126', 'fc00::8/125', 'fc00::10/128']);
    assert.equal(config.pools[0]?.size, 16n);
  });

  it('sizes IPv6 pools exactly as bigints', () => {
    const config = parseConfigMapConfig(legacy(pool('a', ['fd00::/64', '::/1'])));
    assert.equal(config.pools[0]?.size, (1n << 64n) + (1n << 127n));
    assert.deepEqual(cidrsOf(config), ['::/1', 'fd00::/64']);
  });

  it("sorts a pool's CIDRs ascending, IPv4 first, whatever the order written", () => {
    const config = parseConfigMapConfig(legacy(pool('a', ['fc00::/126', '10.0.1.0/30', '10.0.0.0/30'])));
    assert.deepEqual(cidrsOf(config), ['10.0.0.0/30', '10.0.1.0/30', 'fc00::/126']);
  });

  it('leaves out .0 and .255 addresses from the size with avoid-buggy-ips', () => {
    const sizeOf = (addresses: string[]): bigint | undefined => parseConfigMapConfig(legacy(pool('a', addresses, { 'avoid-buggy-ips': true }))).pools[0]?.size;
    assert.equal(sizeOf(['10.0.0.0/24']), 254n);
    assert.equal(sizeOf(['10.0.0.0/16']), 65536n - 512n);
    assert.equal(sizeOf(['10.0.0.0/30']), 3n);
    assert.equal(sizeOf(['10.0.0.252/30']), 3n);
    assert.equal(sizeOf(['10.0.0.4/30']), 4n);
    assert.equal(sizeOf(['10.0.0.250-10.0.1.5']), 10n);
    assert.equal(sizeOf(['10.0.0.0/32']), 0n);
    // IPv6 has no such addresses.
    assert.equal(sizeOf(['fc00::/120']), 256n);
  });

  it('warns when avoid-buggy-ips leaves a pool empty', () => {
    const config = parseConfigMapConfig(legacy(pool('a', ['10.0.0.255/32'], { 'avoid-buggy-ips': true })));
    assert.match(config.warnings.join('\n'), /pool "a" has no assignable address/);
  });

  it('accepts non-canonical IPv6 spellings and prints them canonically', () => {
    const config = parseConfigMapConfig(legacy(pool('a', ['FC00:0000::0/120'])));
    assert.deepEqual(cidrsOf(config), ['fc00::/120']);
  });

  it('rejects IPv4 shorthand and octal forms', () => {
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['10.1/16']))), /"10.1" is not a valid/);
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['010.0.0.0/8']))), /"010.0.0.0" is not a valid/);
    assertRejected(() => parseConfigMapConfig(legacy(pool('a', ['fe80::1%eth0/128']))), /is not a valid/);
  });
});

describe('config: MetalLB CRDs', () => {
  it('parses pools and advertisements', () => {
    const config = parseMetalLBResources([
      ipAddressPool('first', { addresses: ['192.168.1.240/28', 'fc00:f853:ccd:e799::/124', '10.0.0.5-10.0.0.9'], autoAssign: false, avoidBuggyIPs: true }),
      l2Advertisement('ad', { ipAddressPools: ['first'], nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'nodeA' } }], interfaces: ['eth0'] }),
    ]);
    const [first] = config.pools;
    assert.equal(first?.autoAssign, false);
    assert.equal(first?.avoidBuggyIPs, true);
    assert.deepEqual(cidrsOf(config), ['10.0.0.5/32', '10.0.0.6/31', '10.0.0.8/31', '192.168.1.240/28', 'fc00:f853:ccd:e799::/124']);
    assert.equal(first?.size, 5n + 15n + 16n); // avoidBuggyIPs drops 192.168.1.255
    const [ad] = config.l2Advertisements;
    assert.deepEqual(ad?.ipAddressPools, ['first']);
    assert.deepEqual(ad?.interfaces, ['eth0']);
    assert.deepEqual(ad?.nodeSelectors[0]?.matchLabels, { 'kubernetes.io/hostname': 'nodeA' });
    assert.deepEqual(config.warnings, []);
  });

  it('orders pools by serviceAllocation.priority (unset last), then by name', () => {
    const config = parseMetalLBResources([
      ipAddressPool('zz-unset', { addresses: ['10.0.0.0/30'] }),
      ipAddressPool('b-prio-5', { addresses: ['10.0.1.0/30'], serviceAllocation: { priority: 5 } }),
      ipAddressPool('aa-unset', { addresses: ['10.0.2.0/30'] }),
      ipAddressPool('a-prio-5', { addresses: ['10.0.3.0/30'], serviceAllocation: { priority: 5 } }),
      ipAddressPool('c-prio-1', { addresses: ['10.0.4.0/30'], serviceAllocation: { priority: 1, namespaces: ['x'] } }),
      ipAddressPool('d-prio-0', { addresses: ['10.0.5.0/30'], serviceAllocation: { priority: 0 } }),
      l2Advertisement('all'),
    ]);
    assert.deepEqual(
      config.pools.map((p) => p.name),
      ['c-prio-1', 'a-prio-5', 'b-prio-5', 'aa-unset', 'd-prio-0', 'zz-unset'],
    );
  });

  it('gives the same order whatever order the objects arrive in', () => {
    const objects = [
      ipAddressPool('c', { addresses: ['10.0.0.0/30'] }),
      ipAddressPool('a', { addresses: ['10.0.1.0/30'], serviceAllocation: { priority: 3 } }),
      ipAddressPool('b', { addresses: ['10.0.2.0/30'] }),
    ];
    const forward = parseMetalLBResources(objects).pools.map((p) => p.name);
    const backward = parseMetalLBResources([...objects].reverse()).pools.map((p) => p.name);
    assert.deepEqual(forward, ['a', 'b', 'c']);
    assert.deepEqual(backward, forward);
  });

  it('keeps serviceAllocation as given (absent vs present-but-empty differ, as in MetalLB)', () => {
    const config = parseMetalLBResources([
      ipAddressPool('open', { addresses: ['10.0.0.0/30'] }),
      ipAddressPool('pinned', {
        addresses: ['10.0.1.0/30'],
        serviceAllocation: {
          priority: 2,
          namespaces: ['a', 'b'],
          namespaceSelectors: [{ matchLabels: { team: 'x' } }],
          serviceSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] }],
        },
      }),
      l2Advertisement('all'),
    ]);
    const pinned = config.pools.find((p) => p.name === 'pinned');
    assert.equal(config.pools.find((p) => p.name === 'open')?.serviceAllocation, undefined);
    assert.equal(pinned?.serviceAllocation?.priority, 2);
    assert.deepEqual(pinned?.serviceAllocation?.namespaces, ['a', 'b']);
    assert.deepEqual(pinned?.serviceAllocation?.namespaceSelectors[0]?.matchLabels, { team: 'x' });
    assert.deepEqual(pinned?.serviceAllocation?.serviceSelectors[0]?.matchExpressions[0], { key: 'tier', operator: 'In', values: ['web'] });
  });

  it('resolves advertisements: none named means every pool; names and selectors are a union', () => {
    const config = parseMetalLBResources([
      ipAddressPool('p1', { addresses: ['10.0.0.0/30'] }, { tier: 'prod' }),
      ipAddressPool('p2', { addresses: ['10.0.1.0/30'] }),
      ipAddressPool('p3', { addresses: ['10.0.2.0/30'] }, { tier: 'dev' }),
      l2Advertisement('all'),
      l2Advertisement('some', { ipAddressPools: ['p2'], ipAddressPoolSelectors: [{ matchLabels: { tier: 'prod' } }] }),
    ]);
    assert.deepEqual(config.l2Advertisements.find((a) => a.name === 'all')?.ipAddressPools, ['p1', 'p2', 'p3']);
    assert.deepEqual(config.l2Advertisements.find((a) => a.name === 'some')?.ipAddressPools, ['p1', 'p2']);
  });

  it('warns about a pool nobody announces and a reference to a missing pool', () => {
    const config = parseMetalLBResources([
      ipAddressPool('p1', { addresses: ['10.0.0.0/30'] }),
      ipAddressPool('p2', { addresses: ['10.0.1.0/30'] }),
      l2Advertisement('ad', { ipAddressPools: ['p1', 'ghost'] }),
    ]);
    const warnings = config.warnings.join('\n');
    assert.match(warnings, /pool "p2" is not selected by any L2Advertisement: its IPs will be assigned but never announced/);
    assert.match(warnings, /L2Advertisement "ad" names pool "ghost" in ipAddressPools, but no pool has that name/);
  });

  it('applies every address rule to CRD pools, naming the object and the field', () => {
    assertRejected(() => parseMetalLBResources([ipAddressPool('p', { addresses: [] })]), /IPAddressPool "p": spec.addresses: the pool has no addresses/);
    assertRejected(() => parseMetalLBResources([ipAddressPool('p', {})]), /IPAddressPool "p": spec.addresses: the pool has no addresses/);
    assert.ok(
      parseMetalLBResources([ipAddressPool('p', { addresses: ['10.0.0.1/24'] })]).warnings.some((w) =>
        /IPAddressPool "p": spec.addresses\[0\]: CIDR "10.0.0.1\/24" has host bits set: read as "10.0.0.0\/24"/.test(w),
      ),
    );
    assertRejected(() => parseMetalLBResources([ipAddressPool('p', { addresses: ['10.0.0.5-10.0.0.1'] })]), /start 10.0.0.5 is after end 10.0.0.1/);
    assertRejected(
      () => parseMetalLBResources([ipAddressPool('b', { addresses: ['10.0.0.0/24'] }), ipAddressPool('a', { addresses: ['10.0.0.128/25'] })]),
      /IPAddressPool "b": spec.addresses\[0\]: "10.0.0.0\/24" overlaps "10.0.0.128\/25" \(spec.addresses\[0\] of IPAddressPool "a"\)/,
    );
  });

  it('rejects missing names, duplicates, bad fields and unknown fields', () => {
    assertRejected(
      () => parseMetalLBResources([{ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', spec: { addresses: ['10.0.0.0/30'] } }]),
      /IPAddressPool \(resource #1\): metadata.name: the object has no name/,
    );
    assertRejected(
      () => parseMetalLBResources([ipAddressPool('p', { addresses: ['10.0.0.0/30'] }), ipAddressPool('p', { addresses: ['10.0.1.0/30'] })]),
      /IPAddressPool "p": metadata.name: duplicate IPAddressPool name "p"/,
    );
    assertRejected(() => parseMetalLBResources([ipAddressPool('Bad_Name', { addresses: ['10.0.0.0/30'] })]), /"Bad_Name" is not a valid name/);
    // Unknown fields are pruned by the API server: ignored here too, with a warning.
    const pruned = parseMetalLBResources([ipAddressPool('p', { addresses: ['10.0.0.0/30'], autoassign: false })]);
    assert.equal(pruned.pools[0]?.autoAssign, true);
    assert.ok(pruned.warnings.some((w) => /IPAddressPool "p": spec: unknown field "autoassign" is ignored/.test(w)));
    assertRejected(
      () => parseMetalLBResources([ipAddressPool('p', { addresses: ['10.0.0.0/30'], autoAssign: 'true' })]),
      /spec.autoAssign: must be true or false, got the string "true"/,
    );
    assertRejected(
      () => parseMetalLBResources([ipAddressPool('p', { addresses: ['10.0.0.0/30'], serviceAllocation: { priority: -1 } })]),
      /spec.serviceAllocation.priority: must be a whole number/,
    );
    assertRejected(
      () => parseMetalLBResources([ipAddressPool('p', { addresses: ['10.0.0.0/30'], serviceAllocation: { namespaces: ['a', 'a'] } })]),
      /spec.serviceAllocation.namespaces\[1\]: duplicate entry "a"/,
    );
    assertRejected(
      () => parseMetalLBResources([{ ...ipAddressPool('p', { addresses: ['10.0.0.0/30'] }), apiVersion: 'metallb.io/v1alpha1' }]),
      /apiVersion: must be "metallb.io\/v1beta1"/,
    );
    assertRejected(
      () => parseMetalLBResources([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }]),
      /resource #1: kind: "Service" is not an IPAddressPool or L2Advertisement/,
    );
    assertRejected(() => parseMetalLBResources(['text']), /resource #1: must be a Kubernetes object/);
  });

  it('validates advertisement fields and label selectors', () => {
    const withPool = (ad: Record<string, unknown>): unknown[] => [ipAddressPool('p', { addresses: ['10.0.0.0/30'] }), ad];
    assertRejected(
      () => parseMetalLBResources(withPool(l2Advertisement('a', { ipAddressPools: ['p', 'p'] }))),
      /L2Advertisement "a": spec.ipAddressPools\[1\]: duplicate entry "p"/,
    );
    assertRejected(
      () => parseMetalLBResources(withPool(l2Advertisement('a', { interfaces: ['this-name-is-too-long0'] }))),
      /spec.interfaces\[0\]: "this-name-is-too-long0" is not a valid interface name/,
    );
    assertRejected(
      () => parseMetalLBResources(withPool(l2Advertisement('a', { nodeSelectors: [{ matchExpressions: [{ key: 'k', operator: 'In' }] }] }))),
      /spec.nodeSelectors\[0\].matchExpressions\[0\].values: operator In needs at least one value/,
    );
    assertRejected(
      () => parseMetalLBResources(withPool(l2Advertisement('a', { nodeSelectors: [{ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['x'] }] }] }))),
      /operator Exists takes no values/,
    );
    assertRejected(
      () => parseMetalLBResources(withPool(l2Advertisement('a', { nodeSelectors: [{ matchExpressions: [{ key: 'k', operator: 'Equals', values: ['x'] }] }] }))),
      /"Equals" is not a valid operator/,
    );
    assertRejected(
      () => parseMetalLBResources(withPool(l2Advertisement('a', { nodeSelectors: [{ matchLabels: { 'bad key!': 'v' } }] }))),
      /label key "bad key!" is invalid/,
    );
    assertRejected(
      () => parseMetalLBResources(withPool(l2Advertisement('a', { nodeSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { a: 'b' } }] }))),
      /spec.nodeSelectors\[1\]: duplicate label selector a=b/,
    );
    assertRejected(
      () => parseMetalLBResources(withPool(l2Advertisement('a', { preferredNodeSelectors: [{ weight: 0, preference: {} }] }))),
      /spec.preferredNodeSelectors\[0\].weight: must be a whole number from 1 to 100/,
    );
    assert.ok(
      parseMetalLBResources(withPool(l2Advertisement('a', { nodeSelector: [] }))).warnings.some((w) =>
        /L2Advertisement "a": spec: unknown field "nodeSelector" is ignored/.test(w),
      ),
    );
  });

  it('ignores BGP kinds with a warning (MetalLB accepts them beside the layer-2 objects)', () => {
    const config = parseMetalLBResources([
      { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name: 'peer' }, spec: { anything: true } },
      ipAddressPool('p', { addresses: ['10.0.0.0/30'] }),
    ]);
    assert.deepEqual(
      config.pools.map((p) => p.name),
      ['p'],
    );
    assert.ok(
      config.warnings.some((w) => /BGPPeer "peer": BGP mode is not supported by l2lb: this object is ignored/.test(w)),
      config.warnings.join('\n'),
    );
  });
});

describe('config: both sources together', () => {
  it('puts ConfigMap pools first and checks names and overlap across sources', () => {
    const config = buildConfigFromSources({
      configMapText: legacy(pool('cm', ['10.0.0.0/30'])),
      resources: [ipAddressPool('crd', { addresses: ['10.0.1.0/30'] }), l2Advertisement('ad')],
    });
    assert.deepEqual(
      config.pools.map((p) => p.name),
      ['cm', 'crd'],
    );
    assert.deepEqual(
      config.l2Advertisements.map((a) => [a.name, a.ipAddressPools]),
      [
        ['configmap', ['cm']],
        ['ad', ['crd']],
      ],
    );
    assertRejected(
      () =>
        buildConfigFromSources({
          configMapText: legacy(pool('x', ['10.0.0.0/24'])),
          resources: [ipAddressPool('x', { addresses: ['10.0.0.0/28'] })],
        }),
      /IPAddressPool "x": duplicate pool name "x": address pool #1 "x" already uses it/,
    );
  });

  it('returns frozen objects', () => {
    const config = parseConfigMapConfig(legacy(pool('a', ['10.0.0.0/30'])));
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.pools));
    assert.ok(Object.isFrozen(config.pools[0]));
    assert.ok(Object.isFrozen(config.pools[0]?.cidrs));
  });
});

describe('config: hostile YAML nesting (found by npm run fuzz -- config)', () => {
  // The yaml parser recurses per nesting level: ~1000 levels overflowed the stack after a second of CPU, and
  // parsing the same text again aborted the whole process (V8 "RegExpCompiler Allocation failed").
  const flow = `address-pools: ${'['.repeat(5000)}`;
  const afterApostrophe = `address-pools:\n- name: it's\n  addresses': ${'{'.repeat(5000)}`; // ' inside a plain scalar quotes nothing
  const block = `${'- '.repeat(2000)}x`;
  for (const [name, text] of [
    ['flow', flow],
    ['block', block],
    ['flow (after a plain apostrophe)', afterApostrophe],
  ] as const) {
    it(`rejects ${name} nesting deeper than the limit with a ConfigError, every time`, () => {
      for (let i = 0; i < 3; i++) {
        const problems = problemsOf(() => parseConfigMapConfig(text, { object: 'ConfigMap l2lb-system/config' }));
        assert.equal(problems.length, 1);
        assert.match(problems[0] ?? '', /^ConfigMap l2lb-system\/config: .*nest(ed|ing) deeper than \d+ levels/);
      }
    });
  }
  it('refuses a line starting with thousands of blanks inside an unterminated quote, before parsing (the parser took ~1 s for 20 000)', () => {
    // Minimised from npm run fuzz -- config (seed 1815243874, input 750920).
    const text = `address-pools:\n- 'ame: bgp\n${' '.repeat(20_000)}`;
    // Refused before the parser sees it (the parser would report a missing quote, after about a second).
    const problems = problemsOf(() => parseConfigMapConfig(text, { object: 'ConfigMap l2lb-system/config' }));
    assert.match(problems.join('\n'), /^ConfigMap l2lb-system\/config: line 3 starts with more than \d+ blanks/);
  });
  it('still accepts ordinary nesting and brackets inside quoted strings', () => {
    const text = `address-pools:\n- name: "a[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\n  protocol: layer2\n  addresses: [[10.0.0.0/24]]\n`;
    assert.match(problemsOf(() => parseConfigMapConfig(text)).join('\n'), /addresses/); // a type error, not a nesting one
    assert.doesNotMatch(problemsOf(() => parseConfigMapConfig(text)).join('\n'), /nest/);
  });
});
