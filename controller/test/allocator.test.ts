import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Allocator, type AllocateResult } from '../src/allocator/allocator.js';
import { IntervalSet } from '../src/allocator/intervals.js';
import { FirstFreeScanAllocator } from '../bench/reference-allocator.js';
import { cmPools, crdPool, crdPools, ip, req } from './helpers.js';

function ok(result: AllocateResult): { ips: string[]; pool: string } {
  if (!result.ok) assert.fail(`expected success, got ${result.reason}: ${result.message}`);
  return { ips: result.ips.map((x) => x.toString()), pool: result.pool };
}

function failed(result: AllocateResult, reason: string, pattern?: RegExp): string {
  if (result.ok) assert.fail(`expected ${reason}, got ${result.ips.join(',')} from ${result.pool}`);
  assert.equal(result.reason, reason, result.message);
  if (pattern !== undefined) assert.match(result.message, pattern);
  return result.message;
}

describe('IntervalSet', () => {
  it('merges and splits intervals', () => {
    const s = new IntervalSet();
    for (const v of [1n, 3n, 2n]) s.add(v);
    assert.equal(s.intervalCount, 1);
    assert.equal(s.firstAbsentAtOrAfter(1n), 4n);
    assert.equal(s.firstAbsentAtOrAfter(0n), 0n);
    s.delete(2n);
    assert.equal(s.intervalCount, 2);
    assert.equal(s.firstAbsentAtOrAfter(1n), 2n);
    assert.equal(s.size, 2n);
    assert.equal(s.add(1n), false);
    assert.equal(s.delete(7n), false);
    assert.equal(s.countWithin(0n, 2n), 1n);
  });

  it('behaves like a plain set (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 200 }), (ops) => {
        const s = new IntervalSet();
        const model = new Set<number>();
        for (const [add, n] of ops) {
          const v = BigInt(n);
          assert.equal(add ? s.add(v) : s.delete(v), add ? !model.has(n) : model.has(n));
          if (add) model.add(n);
          else model.delete(n);
        }
        assert.equal(s.size, BigInt(model.size));
        for (let n = 0; n <= 42; n += 1) {
          assert.equal(s.has(BigInt(n)), model.has(n));
          let expected = n;
          while (model.has(expected)) expected += 1;
          assert.equal(s.firstAbsentAtOrAfter(BigInt(n)), BigInt(expected));
        }
        assert.deepEqual(
          [...s.values()].map(Number),
          [...model].sort((a, b) => a - b),
        );
      }),
    );
  });
});

describe('Allocator: addresses within a pool', () => {
  it('hands out the lowest free address in CIDR order, network address first', () => {
    const a = new Allocator(cmPools({ name: 'p', addresses: ['192.168.1.0/30', '10.0.0.8-10.0.0.9'] }));
    const got = ['s1', 's2', 's3'].map((n) => ok(a.allocate(req(n))).ips[0]);
    assert.deepEqual(got, ['10.0.0.8', '10.0.0.9', '192.168.1.0']);
  });

  it('skips IPv4 .0 and .255 with avoid-buggy-ips, and refuses them when requested', () => {
    const a = new Allocator(cmPools({ name: 'p', addresses: ['10.0.0.254-10.0.1.1'], 'avoid-buggy-ips': true }));
    assert.deepEqual(ok(a.allocate(req('a'))).ips, ['10.0.0.254']);
    assert.deepEqual(ok(a.allocate(req('b'))).ips, ['10.0.1.1']);
    failed(a.allocate(req('c')), 'PoolExhausted', /no available IPs/);
    failed(a.allocate(req('d'), { requestedIPs: [ip('10.0.1.0')] }), 'RequestedIPNotInPool', /"10\.0\.1\.0" is not in any address pool/);
    assert.deepEqual(a.stats()[0]?.total, { 4: 2n, 6: 0n });
  });

  it("does not treat a pool's first and last address specially without avoid-buggy-ips", () => {
    const a = new Allocator(cmPools({ name: 'p', addresses: ['10.0.0.255/32', '10.0.1.0/32'] }));
    assert.deepEqual([ok(a.allocate(req('a'))).ips[0], ok(a.allocate(req('b'))).ips[0]], ['10.0.0.255', '10.0.1.0']);
  });

  it('reuses a released address first, and reports exhaustion until then', () => {
    const a = new Allocator(cmPools({ name: 'p', addresses: ['10.0.0.0/30'] }));
    for (const n of ['a', 'b', 'c', 'd']) ok(a.allocate(req(n)));
    failed(a.allocate(req('e')), 'PoolExhausted', /^no available IPs$/);
    assert.equal(a.release('default/b'), true);
    assert.deepEqual(ok(a.allocate(req('e'))).ips, ['10.0.0.1']);
    assert.deepEqual(a.stats()[0]?.inUse, { 4: 4, 6: 0 });
  });

  it('matches the first-free-scan reference on random allocate/release sequences (property)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 30 })), { maxLength: 120 }), (buggy, ops) => {
        const pools = cmPools({ name: 'p', addresses: ['10.0.0.250-10.0.1.4', '10.0.3.0/31'], 'avoid-buggy-ips': buggy });
        const fast = new Allocator(pools);
        const reference = new FirstFreeScanAllocator(pools);
        for (const [allocate, n] of ops) {
          const key = `default/s${n}`;
          if (allocate && fast.get(key) === undefined) {
            const expected = reference.allocate(key, 4);
            const got = fast.allocate(req(`s${n}`));
            assert.equal(got.ok ? got.ips[0]?.toString() : undefined, expected?.toString());
          } else if (!allocate) {
            fast.release(key);
            reference.release(key);
          }
        }
      }),
    );
  });
});

describe('Allocator: pool order and selection', () => {
  it('uses unrestricted pools in config order', () => {
    const a = new Allocator(cmPools({ name: 'first', addresses: ['10.0.0.0/32'] }, { name: 'second', addresses: ['10.0.1.0/32'] }));
    assert.deepEqual(ok(a.allocate(req('a'))), { ips: ['10.0.0.0'], pool: 'first' });
    assert.deepEqual(ok(a.allocate(req('b'))), { ips: ['10.0.1.0'], pool: 'second' });
    failed(a.allocate(req('c')), 'PoolExhausted');
  });

  it('prefers pools pinned by serviceAllocation, by priority (unset last) then name, before unrestricted ones', () => {
    const pools = crdPools(
      crdPool('a-open', { addresses: ['10.0.0.0/32'] }),
      crdPool('z-prio-1', { addresses: ['10.0.1.0/32'], serviceAllocation: { priority: 1, namespaces: ['default'] } }),
      crdPool('b-prio-2', { addresses: ['10.0.2.0/32'], serviceAllocation: { priority: 2, namespaces: ['default'] } }),
      crdPool('a-prio-2', { addresses: ['10.0.3.0/32'], serviceAllocation: { priority: 2, namespaces: ['default'] } }),
      crdPool('c-noprio', { addresses: ['10.0.4.0/32'], serviceAllocation: { namespaces: ['default'] } }),
    );
    const a = new Allocator(pools);
    const order = ['s1', 's2', 's3', 's4', 's5'].map((n) => ok(a.allocate(req(n))).pool);
    assert.deepEqual(order, ['z-prio-1', 'a-prio-2', 'b-prio-2', 'c-noprio', 'a-open']);
    // A Service of another namespace only gets the unrestricted pool.
    const b = new Allocator(pools);
    assert.equal(ok(b.allocate(req('x', { namespace: 'other' }))).pool, 'a-open');
    failed(b.allocate(req('y', { namespace: 'other' })), 'PoolExhausted');
  });

  it('honours namespaces, namespaceSelectors and serviceSelectors', () => {
    const pools = crdPools(
      crdPool('by-ns', { addresses: ['10.0.1.0/32'], serviceAllocation: { namespaces: ['team-a'] } }),
      crdPool('by-ns-label', { addresses: ['10.0.2.0/32'], serviceAllocation: { namespaceSelectors: [{ matchLabels: { tier: 'gold' } }] } }),
      crdPool('by-svc-label', {
        addresses: ['10.0.3.0/32'],
        serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }] },
      }),
      crdPool('both', { addresses: ['10.0.4.0/32'], serviceAllocation: { namespaces: ['team-b'], serviceSelectors: [{ matchLabels: { app: 'db' } }] } }),
    );
    const a = new Allocator(pools);
    assert.equal(ok(a.allocate(req('s', { namespace: 'team-a' }))).pool, 'by-ns');
    assert.equal(ok(a.allocate(req('s', { namespace: 'x', namespaceLabels: { tier: 'gold' } }))).pool, 'by-ns-label');
    assert.equal(ok(a.allocate(req('s', { namespace: 'y', labels: { app: 'web' } }))).pool, 'by-svc-label');
    failed(a.allocate(req('s', { namespace: 'team-b', labels: { app: 'cache' } })), 'NoSuitablePool', /restricted to other Services/);
    assert.equal(ok(a.allocate(req('t', { namespace: 'team-b', labels: { app: 'db' } }))).pool, 'both');
    // Requesting an IP of a restricted pool the Service is not allowed to use.
    const b = new Allocator(pools);
    failed(
      b.allocate(req('s', { namespace: 'other' }), { requestedIPs: [ip('10.0.1.0')] }),
      'PoolNotCompatible',
      /not compatible for ip assignment.*namespace "other"/,
    );
    failed(b.allocate(req('s', { namespace: 'other' }), { pool: 'by-svc-label' }), 'PoolNotCompatible', /serviceSelectors/);
  });

  it('uses autoAssign=false pools only by requested IP or pool annotation', () => {
    const a = new Allocator(cmPools({ name: 'manual', addresses: ['10.0.0.0/30'], 'auto-assign': false }));
    failed(a.allocate(req('a')), 'NoSuitablePool', /autoAssign=false/);
    assert.deepEqual(ok(a.allocate(req('b'), { pool: 'manual' })), { ips: ['10.0.0.0'], pool: 'manual' });
    assert.deepEqual(ok(a.allocate(req('c'), { requestedIPs: [ip('10.0.0.3')] })), { ips: ['10.0.0.3'], pool: 'manual' });
  });

  it('allocates from the annotated pool only, with precise errors', () => {
    const a = new Allocator(cmPools({ name: 'one', addresses: ['10.0.0.0/32'] }, { name: 'two', addresses: ['10.0.1.0/31'] }));
    assert.equal(ok(a.allocate(req('a'), { pool: 'two' })).pool, 'two');
    failed(a.allocate(req('b'), { pool: 'nope' }), 'UnknownPool', /unknown pool "nope"/);
    ok(a.allocate(req('c'), { pool: 'two' }));
    failed(a.allocate(req('d'), { pool: 'two' }), 'PoolExhausted', /no available IPs in pool "two"/);
    failed(a.allocate(req('e', { families: [6] }), { pool: 'one' }), 'NoSuitablePool', /no IPv6/);
  });

  it('assigns requested IPs from any pool and explains refusals', () => {
    const a = new Allocator(cmPools({ name: 'one', addresses: ['10.0.0.0/30'] }, { name: 'v6', addresses: ['fd00::/126'] }));
    assert.deepEqual(ok(a.allocate(req('a'), { requestedIPs: [ip('10.0.0.2')] })), { ips: ['10.0.0.2'], pool: 'one' });
    failed(a.allocate(req('b'), { requestedIPs: [ip('192.0.2.1')] }), 'RequestedIPNotInPool', /"192\.0\.2\.1" is not in any address pool/);
    failed(a.allocate(req('c'), { requestedIPs: [ip('10.0.0.2')] }), 'SharingConflict', /existing service does not allow sharing/);
    failed(a.allocate(req('d'), { requestedIPs: [ip('fd00::1')] }), 'FamilyMismatch', /does not match the ipFamily/);
    failed(a.allocate(req('e'), { requestedIPs: [ip('10.0.0.1')], pool: 'v6' }), 'RequestedPoolMismatch', /not compatible with requested address pool "v6"/);
    assert.equal(ok(a.allocate(req('f'), { requestedIPs: [ip('10.0.0.1')], pool: 'one' })).pool, 'one');
    // The next automatic allocation skips the requested addresses.
    assert.deepEqual(ok(a.allocate(req('g'))).ips, ['10.0.0.0']);
    assert.deepEqual(ok(a.allocate(req('h'))).ips, ['10.0.0.3']);
  });

  it("keeps a Service's allocation when allocate is called again (idempotent)", () => {
    const a = new Allocator(cmPools({ name: 'p', addresses: ['10.0.0.0/29'] }));
    const first = ok(a.allocate(req('a')));
    ok(a.allocate(req('b')));
    assert.deepEqual(ok(a.allocate(req('a'))), first);
    assert.deepEqual(ok(a.assign(req('a'), [ip('10.0.0.0')])), first);
    assert.equal(a.allocatedCount, 2);
  });

  it('reports a missing pool configuration', () => {
    failed(new Allocator([]).allocate(req('a')), 'NoPools');
  });
});

describe('Allocator: IP sharing (allow-shared-ip)', () => {
  const pools = cmPools({ name: 'p', addresses: ['10.0.0.0/30'] });
  const tcp = (port: number) => [{ protocol: 'TCP', port }];

  it('packs Services with the same key and disjoint ports onto the first compatible IP', () => {
    const a = new Allocator(pools);
    assert.deepEqual(ok(a.allocate(req('a', { sharingKey: 'k', ports: tcp(80) }))).ips, ['10.0.0.0']);
    assert.deepEqual(ok(a.allocate(req('b', { sharingKey: 'k', ports: tcp(443) }))).ips, ['10.0.0.0']);
    assert.deepEqual(ok(a.allocate(req('c', { sharingKey: 'k', ports: [{ protocol: 'UDP', port: 80 }] }))).ips, ['10.0.0.0']);
    // Port clash: the next address.
    assert.deepEqual(ok(a.allocate(req('d', { sharingKey: 'k', ports: tcp(80) }))).ips, ['10.0.0.1']);
    // Different key or no key: never on a shared address.
    assert.deepEqual(ok(a.allocate(req('e', { sharingKey: 'other', ports: tcp(22) }))).ips, ['10.0.0.2']);
    assert.deepEqual(ok(a.allocate(req('f', { ports: tcp(23) }))).ips, ['10.0.0.3']);
    assert.deepEqual(a.usersOf(ip('10.0.0.0')), ['default/a', 'default/b', 'default/c']);
    assert.deepEqual(a.stats()[0]?.inUse, { 4: 4, 6: 0 });
    // Releasing one user keeps the address in use for the others.
    a.release('default/a');
    assert.deepEqual(a.stats()[0]?.inUse, { 4: 4, 6: 0 });
    assert.deepEqual(ok(a.allocate(req('g', { sharingKey: 'k', ports: tcp(80) }))).ips, ['10.0.0.0']);
  });

  it("refuses a requested shared IP with MetalLB's reasons", () => {
    const a = new Allocator(pools);
    const at = { requestedIPs: [ip('10.0.0.1')] };
    ok(a.allocate(req('a', { sharingKey: 'k', ports: tcp(80) }), at));
    failed(a.allocate(req('b', { ports: tcp(81) }), at), 'SharingConflict', /new service does not allow sharing/);
    failed(a.allocate(req('c', { sharingKey: 'x', ports: tcp(81) }), at), 'SharingConflict', /sharing key "x" does not match existing sharing key "k"/);
    failed(a.allocate(req('d', { sharingKey: 'k', ports: tcp(80) }), at), 'SharingConflict', /port TCP\/80 is already in use on "10\.0\.0\.1" by default\/a/);
    ok(a.allocate(req('e', { sharingKey: 'k', ports: tcp(81) }), at));
  });

  it('allows Cluster+Cluster with any selectors, Local+Local only with identical selectors, never Cluster+Local', () => {
    const a = new Allocator(pools);
    const at = { requestedIPs: [ip('10.0.0.2')] };
    ok(a.allocate(req('c1', { sharingKey: 'k', ports: tcp(1), backendKey: '' }), at));
    ok(a.allocate(req('c2', { sharingKey: 'k', ports: tcp(2), backendKey: '' }), at));
    failed(a.allocate(req('l1', { sharingKey: 'k', ports: tcp(3), backendKey: 'app=x' }), at), 'SharingConflict', /backend key/);
    const b = new Allocator(pools);
    ok(b.allocate(req('l1', { sharingKey: 'k', ports: tcp(1), backendKey: 'app=x' }), at));
    ok(b.allocate(req('l2', { sharingKey: 'k', ports: tcp(2), backendKey: 'app=x' }), at));
    failed(b.allocate(req('l3', { sharingKey: 'k', ports: tcp(3), backendKey: 'app=y' }), at), 'SharingConflict', /backend key "app=y" does not match/);
    failed(b.allocate(req('c1', { sharingKey: 'k', ports: tcp(4), backendKey: '' }), at), 'SharingConflict', /backend key/);
  });

  it("updates a sole user's sharing key in place, but not one shared with others", () => {
    const a = new Allocator(pools);
    ok(a.allocate(req('a', { sharingKey: 'k', ports: tcp(80) })));
    assert.deepEqual(ok(a.assign(req('a', { sharingKey: 'new', ports: tcp(80) }), [ip('10.0.0.0')])).ips, ['10.0.0.0']);
    ok(a.allocate(req('b', { sharingKey: 'new', ports: tcp(81) })));
    assert.deepEqual(a.usersOf(ip('10.0.0.0')), ['default/a', 'default/b']);
    failed(a.assign(req('a', { sharingKey: 'changed', ports: tcp(80) }), [ip('10.0.0.0')]), 'SharingConflict', /already used by default\/b/);
    // The failed change left the allocation alone.
    assert.deepEqual(a.get('default/a')?.ips.map(String), ['10.0.0.0']);
  });
});

describe('Allocator: dual-stack', () => {
  const pools = cmPools(
    { name: 'v4only', addresses: ['10.0.0.0/31'] },
    { name: 'v6only', addresses: ['fd00::/127'] },
    { name: 'dual', addresses: ['10.0.9.0/31', 'fd09::/127'] },
  );

  it("SingleStack takes the first pool with the Service's family", () => {
    const a = new Allocator(pools);
    assert.deepEqual(ok(a.allocate(req('a', { families: [6] }))), { ips: ['fd00::'], pool: 'v6only' });
    assert.deepEqual(ok(a.allocate(req('b', { families: [4] }))), { ips: ['10.0.0.0'], pool: 'v4only' });
  });

  it('RequireDualStack takes the first pool with both families, IPv4 first, or fails', () => {
    const a = new Allocator(pools);
    assert.deepEqual(ok(a.allocate(req('a', { families: [6, 4], policy: 'RequireDualStack' }))), { ips: ['10.0.9.0', 'fd09::'], pool: 'dual' });
    ok(a.allocate(req('b', { families: [4, 6], policy: 'RequireDualStack' })));
    failed(a.allocate(req('c', { families: [4, 6], policy: 'RequireDualStack' })), 'PoolExhausted');
    failed(
      new Allocator(cmPools({ name: 'v4', addresses: ['10.0.0.0/30'] })).allocate(req('d', { families: [4, 6], policy: 'RequireDualStack' })),
      'NoSuitablePool',
      /no suitable pool for IPv6 IPFamily/,
    );
  });

  it('PreferDualStack prefers a dual pool, then the primary family, then the secondary', () => {
    const a = new Allocator(pools);
    const prefer = (n: string, families: (4 | 6)[]) => ok(a.allocate(req(n, { families, policy: 'PreferDualStack' })));
    assert.deepEqual(prefer('a', [6, 4]), { ips: ['10.0.9.0', 'fd09::'], pool: 'dual' });
    assert.deepEqual(prefer('b', [6, 4]), { ips: ['10.0.9.1', 'fd09::1'], pool: 'dual' });
    // dual pool full: primary family IPv6 first.
    assert.deepEqual(prefer('c', [6, 4]), { ips: ['fd00::'], pool: 'v6only' });
    assert.deepEqual(prefer('d', [4, 6]), { ips: ['10.0.0.0'], pool: 'v4only' });
    assert.deepEqual(prefer('e', [6, 4]), { ips: ['fd00::1'], pool: 'v6only' });
    assert.deepEqual(prefer('f', [6, 4]), { ips: ['10.0.0.1'], pool: 'v4only' });
  });

  it('validates requested dual-stack addresses', () => {
    const a = new Allocator(pools);
    const dual = req('a', { families: [4, 6], policy: 'RequireDualStack' });
    assert.deepEqual(ok(a.allocate(dual, { requestedIPs: [ip('fd09::1'), ip('10.0.9.1')] })).ips, ['10.0.9.1', 'fd09::1']);
    failed(a.allocate(req('b', { families: [4, 6], policy: 'RequireDualStack' }), { requestedIPs: [ip('10.0.9.0')] }), 'FamilyMismatch');
    failed(a.allocate(req('c', { families: [4, 6] }), { requestedIPs: [ip('10.0.9.0'), ip('10.0.0.0')] }), 'FamilyMismatch');
    failed(a.assign(req('d'), [ip('10.0.0.0'), ip('10.0.0.1')]), 'InvalidRequest', /same family/);
    failed(a.allocate(req('e', { families: [4, 6] }), { requestedIPs: [ip('10.0.0.0'), ip('fd09::')] }), 'RequestedIPNotInPool', /different address pools/);
  });
});

describe('Allocator: configuration changes', () => {
  it('keeps allocations still inside a pool, follows renames, releases the rest', () => {
    const a = new Allocator(cmPools({ name: 'old', addresses: ['10.0.0.0/30'] }, { name: 'gone', addresses: ['10.0.5.0/30'] }));
    ok(a.allocate(req('keep')));
    ok(a.allocate(req('move'), { pool: 'gone' }));
    const change = a.setPools(cmPools({ name: 'renamed', addresses: ['10.0.0.0/29'] }));
    assert.deepEqual(change, { released: ['default/move'], renamed: ['default/keep'] });
    assert.deepEqual(a.get('default/keep'), { ips: [ip('10.0.0.0')], pool: 'renamed' });
    assert.equal(a.get('default/move'), undefined);
    assert.deepEqual(ok(a.allocate(req('move'))).ips, ['10.0.0.1']);
    assert.deepEqual(a.stats(), [{ pool: 'renamed', total: { 4: 8n, 6: 0n }, inUse: { 4: 2, 6: 0 } }]);
  });

  it('releases an address that avoid-buggy-ips now excludes', () => {
    const a = new Allocator(cmPools({ name: 'p', addresses: ['10.0.0.0/30'] }));
    ok(a.allocate(req('zero')));
    const change = a.setPools(cmPools({ name: 'p', addresses: ['10.0.0.0/30'], 'avoid-buggy-ips': true }));
    assert.deepEqual(change.released, ['default/zero']);
    assert.deepEqual(ok(a.allocate(req('zero'))).ips, ['10.0.0.1']);
  });

  it('rebuilds state from assignments in any order without moving anyone', () => {
    const pools = cmPools({ name: 'p', addresses: ['10.0.0.0/24'] });
    const first = new Allocator(pools);
    const held = new Map<string, string>();
    for (let i = 0; i < 50; i += 1) held.set(`default/s${i}`, ok(first.allocate(req(`s${i}`))).ips[0] ?? '');
    const second = new Allocator(pools);
    for (const [key, addr] of [...held].reverse()) ok(second.assign(req(key.slice('default/'.length)), [ip(addr)]));
    assert.deepEqual(ok(second.allocate(req('new'))).ips, ['10.0.0.50']);
  });
});
