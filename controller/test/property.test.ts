// Hostile or odd Service objects never make the parser or the reconciler throw, and the
// allocator's invariants hold after any sequence of reconciles and deletes.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseConfigMapConfig } from '@l2lb/shared';
import { Reconciler } from '../src/reconciler.js';
import { parseService, type ServiceObject } from '../src/service.js';

const ipText = fc.oneof(
  fc.constantFrom('10.0.0.1', '10.0.0.3', '10.0.1.0', 'fd00::1', 'fd00::2', '192.0.2.1', '', ' ', 'None', 'nonsense', '10.0.0.1,fd00::1', '10.0.0.1, 10.0.0.2'),
  fc.string({ maxLength: 20 }),
);
const annotations = fc.dictionary(
  fc.constantFrom(
    'metallb.io/loadBalancerIPs',
    'metallb.universe.tf/loadBalancerIPs',
    'metallb.io/address-pool',
    'metallb.universe.tf/address-pool',
    'metallb.io/allow-shared-ip',
    'metallb.universe.tf/allow-shared-ip',
    'metallb.io/ip-allocated-from-pool',
    'other',
  ),
  fc.oneof(ipText, fc.constantFrom('v4', 'v6', 'dual', 'missing', 'k', '')),
);
const service = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
  annotations,
  type: fc.constantFrom('LoadBalancer', 'LoadBalancer', 'ClusterIP', 'NodePort', undefined),
  clusterIPs: fc.array(fc.constantFrom('10.96.0.1', 'fd96::1', 'None', '', 'x'), { maxLength: 3 }),
  policy: fc.constantFrom('SingleStack', 'PreferDualStack', 'RequireDualStack', 'Bogus', undefined),
  lbIP: fc.option(ipText, { nil: undefined }),
  etp: fc.constantFrom('Cluster', 'Local', undefined),
  ports: fc.array(fc.record({ port: fc.integer({ min: 1, max: 3 }), protocol: fc.constantFrom('TCP', 'UDP', undefined) }), { maxLength: 3 }),
  ingress: fc.array(fc.record({ ip: ipText }), { maxLength: 3 }),
  lbClass: fc.constantFrom(undefined, 'other'),
});

type Gen = typeof service extends fc.Arbitrary<infer T> ? T : never;

function toObject(s: Gen): ServiceObject {
  return {
    metadata: { name: s.name, namespace: 'default', annotations: s.annotations },
    spec: {
      ...(s.type !== undefined ? { type: s.type } : {}),
      clusterIPs: s.clusterIPs,
      ...(s.policy !== undefined ? { ipFamilyPolicy: s.policy } : {}),
      ...(s.lbIP !== undefined ? { loadBalancerIP: s.lbIP } : {}),
      ...(s.etp !== undefined ? { externalTrafficPolicy: s.etp } : {}),
      ...(s.lbClass !== undefined ? { loadBalancerClass: s.lbClass } : {}),
      selector: { app: s.name },
      ports: s.ports.map((p) => (p.protocol === undefined ? { port: p.port } : { port: p.port, protocol: p.protocol })),
    },
    status: { loadBalancer: { ingress: s.ingress } },
  };
}

describe('Service parsing and reconciling (property)', () => {
  const config = parseConfigMapConfig(
    JSON.stringify({
      'address-pools': [
        { name: 'v4', protocol: 'layer2', addresses: ['10.0.0.0/30'] },
        { name: 'v6', protocol: 'layer2', addresses: ['fd00::/126'] },
        { name: 'dual', protocol: 'layer2', addresses: ['10.0.1.0/31', 'fd01::/127'], 'avoid-buggy-ips': true },
      ],
    }),
  );

  it('parseService never throws', () => {
    fc.assert(
      fc.property(service, (s) => {
        const parsed = parseService(toObject(s), {});
        assert.ok(parsed.error === undefined || parsed.error.length > 0);
      }),
      { numRuns: 300 },
    );
  });

  it('reconcile never throws, never hands one address to two non-sharing Services, and frees on delete', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), service), { minLength: 1, maxLength: 25 }), (steps) => {
        const r = new Reconciler();
        r.setConfig(config);
        const current = new Map<string, ServiceObject>();
        for (const [remove, s] of steps) {
          const key = `default/${s.name}`;
          if (remove) {
            r.deleted(key);
            current.delete(key);
            continue;
          }
          const obj = toObject(s);
          const out = r.reconcile(obj);
          // A Service of another class is ignored: its earlier allocation (if any) stays as decided then.
          if (r.handles(obj) || !current.has(key)) current.set(key, obj);
          if (out.allocation !== undefined) assert.ok(out.allocation.ips.length >= 1 && out.allocation.ips.length <= 2);
        }
        // Every address is held by Services that all share the same non-empty key, or by one Service.
        const byIP = new Map<string, string[]>();
        for (const key of current.keys()) {
          for (const ip of r.allocator.get(key)?.ips ?? []) byIP.set(ip.toString(), [...(byIP.get(ip.toString()) ?? []), key]);
        }
        for (const [ip, users] of byIP) {
          if (users.length < 2) continue;
          const keys = users.map(
            (u) =>
              current.get(u)?.metadata?.annotations?.['metallb.io/allow-shared-ip'] ??
              current.get(u)?.metadata?.annotations?.['metallb.universe.tf/allow-shared-ip'] ??
              '',
          );
          assert.ok(
            keys.every((k) => k !== '' && k === keys[0]),
            `${ip} shared by ${users.join(',')} with keys ${keys.join(',')}`,
          );
        }
        for (const key of [...current.keys()]) r.deleted(key);
        assert.deepEqual(
          r.allocator.stats().map((p) => p.inUse),
          [
            { 4: 0, 6: 0 },
            { 4: 0, 6: 0 },
            { 4: 0, 6: 0 },
          ],
        );
      }),
      { numRuns: 300 },
    );
  });
});
