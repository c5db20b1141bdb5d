// The Kubernetes protobuf body decoder: wire reader, per-kind schemas (hand-built messages and bodies captured
// from kubectl 1.32), error Statuses, a fast-check fuzz (random and mutated bodies: never throws, always an
// object or a 400/415 Status), and the hook in the server (POST protobuf → stored like JSON).

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EmbeddedApiServer } from '../src/index.js';
import type { JsonObject } from '../src/json.js';
import { decodeKubeProtobuf, decodeWithSchema, readFields, readVarint } from '../src/protobuf.js';
import { ConfigMap, ObjectMeta, Service } from '../src/protobuf-schemas.js';
import { bytes, cat, entry, envelope, fixed32, fixed64, hex, m, s, varint, vi } from './pb-writer.js';

/** Bodies kubectl v1.32 sent for `create namespace ns1`, `create configmap config --from-file=config=f.txt -n ns1`,
 * `create secret generic memberlist --from-literal=secretkey=abc -n ns1`, `create service loadbalancer web --tcp=80:8080`,
 * `create serviceaccount speaker -n ns1`, `create secret generic s2 --from-literal=a=b --type=kubernetes.io/basic-auth -n ns1`,
 * `create service nodeport np --tcp=5678:8080 --node-port=30001`, `create service clusterip headless --clusterip=None`;
 * the expected objects are what `kubectl create ... --dry-run=client -o json` prints for the same commands. */
const KUBECTL: { name: string; body: string; json: JsonObject }[] = [
  {
    name: 'namespace',
    body: '6b3873000a0f0a02763112094e616d657370616365121b0a130a036e733112001a0022002a0032003800420012001a020a001a002200',
    json: { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'ns1', creationTimestamp: null }, spec: {}, status: {} },
  },
  {
    name: 'configmap',
    body: '6b3873000a0f0a0276311209436f6e6669674d617012340a190a06636f6e66696712001a036e733122002a0032003800420012170a06636f6e666967120d68656c6c6f3a20776f726c640a1a002200',
    json: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'config', namespace: 'ns1', creationTimestamp: null }, data: { config: 'hello: world\n' } },
  },
  {
    name: 'secret',
    body: '6b3873000a0c0a027631120653656372657412330a1d0a0a6d656d6265726c69737412001a036e733122002a0032003800420012100a097365637265746b657912036162631a001a002200',
    json: { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'memberlist', namespace: 'ns1', creationTimestamp: null }, data: { secretkey: 'YWJj' } },
  },
  {
    name: 'service loadbalancer',
    body: '6b3873000a0d0a027631120753657276696365126c0a1f0a0377656212001a0022002a003200380042005a0a0a03617070120377656212450a1b0a0738302d38303830120354435018502207080010903f1a002800120a0a0361707012037765621a00220c4c6f616442616c616e6365723a00420052005a00600068001a020a001a002200',
    json: {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 'web', creationTimestamp: null, labels: { app: 'web' } },
      spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 'web' }, type: 'LoadBalancer' },
      status: { loadBalancer: {} },
    },
  },
  {
    name: 'serviceaccount',
    body: '6b3873000a140a027631120e536572766963654163636f756e74121c0a1a0a07737065616b657212001a036e733122002a003200380042001a002200',
    json: { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { name: 'speaker', namespace: 'ns1', creationTimestamp: null } },
  },
  {
    name: 'secret generic --type',
    body: '6b3873000a0c0a027631120653656372657412390a150a02733212001a036e733122002a0032003800420012060a01611201621a186b756265726e657465732e696f2f62617369632d617574681a002200',
    json: {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 's2', namespace: 'ns1', creationTimestamp: null },
      data: { a: 'Yg==' },
      type: 'kubernetes.io/basic-auth',
    },
  },
  {
    name: 'service nodeport --node-port',
    body: '6b3873000a0d0a027631120753657276696365126a0a1d0a026e7012001a0022002a003200380042005a090a0361707012026e7012450a200a09353637382d38303830120354435018ae2c2207080010903f1a0028b1ea0112090a0361707012026e701a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200',
    json: {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 'np', creationTimestamp: null, labels: { app: 'np' } },
      spec: { ports: [{ name: '5678-8080', protocol: 'TCP', port: 5678, targetPort: 8080, nodePort: 30001 }], selector: { app: 'np' }, type: 'NodePort' },
      status: { loadBalancer: {} },
    },
  },
  {
    name: 'service clusterip --clusterip=None',
    body: '6b3873000a0d0a027631120753657276696365125f0a290a08686561646c65737312001a0022002a003200380042005a0f0a036170701208686561646c657373122e120f0a036170701208686561646c6573731a044e6f6e652209436c757374657249503a00420052005a00600068001a020a001a002200',
    json: {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 'headless', creationTimestamp: null, labels: { app: 'headless' } },
      spec: { selector: { app: 'headless' }, clusterIP: 'None', type: 'ClusterIP' },
      status: { loadBalancer: {} },
    },
  },
];

function decodeOk(body: Uint8Array): JsonObject {
  const r = decodeKubeProtobuf(body);
  if (!r.ok) assert.fail(`decode failed: ${r.error.code} ${r.error.message}`);
  return r.object;
}

function decodeErr(body: Uint8Array): { code: number; reason: string; message: string } {
  const r = decodeKubeProtobuf(body);
  if (r.ok) assert.fail(`decoded unexpectedly: ${JSON.stringify(r.object)}`);
  const st = r.error.toStatus();
  assert.equal(st['kind'], 'Status');
  return { code: r.error.code, reason: r.error.reason, message: r.error.message };
}

describe('apiserver protobuf: wire reader', () => {
  it('reads varints up to 64 bits and rejects truncated, overlong and overflowing ones', () => {
    const ok = (b: number[]): bigint => {
      const r = readVarint(Uint8Array.from(b), 0);
      if (!r.ok) assert.fail(r.error);
      return r.value.value;
    };
    assert.equal(ok([0]), 0n);
    assert.equal(ok([0xac, 0x02]), 300n);
    assert.equal(ok([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), (1n << 64n) - 1n);
    const bad = (b: number[], re: RegExp): void => {
      const r = readVarint(Uint8Array.from(b), 0);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, re);
    };
    bad([0x80], /truncated/);
    bad([], /truncated/);
    bad([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], /overflows/);
    bad([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], /overflows|longer/);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (n) => ok([...varint(n)]) === n),
      { numRuns: 300 },
    );
  });

  it('splits a message into fields of every wire type, in order', () => {
    const r = readFields(cat(vi(1, 150), fixed64(2, 0x0102030405060708n), s(3, 'hi'), fixed32(4, 0xdeadbeef), bytes(5, new Uint8Array())));
    if (!r.ok) assert.fail(r.error);
    assert.deepEqual(
      r.value.map((f) => [f.no, f.wt, f.wt === 2 ? Buffer.from(f.bytes).toString() : f.value]),
      [
        [1, 0, 150n],
        [2, 1, 0x0102030405060708n],
        [3, 2, 'hi'],
        [4, 5, 0xdeadbeefn],
        [5, 2, ''],
      ],
    );
  });

  it('rejects field number 0, groups, and lengths or fixed values running past the end', () => {
    for (const [b, re] of [
      [Uint8Array.of(0x00, 0x01), /invalid field number 0/],
      [Uint8Array.of(0x0b), /unsupported wire type 3/],
      [Uint8Array.of(0x0c), /unsupported wire type 4/],
      [Uint8Array.of(0x0f), /unsupported wire type 7/],
      [Uint8Array.of(0x0a, 0x05, 0x61), /claims 5 bytes, only 1 left/],
      [Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /claims/],
      [Uint8Array.of(0x09, 1, 2, 3), /truncated fixed64/],
      [Uint8Array.of(0x0d, 1), /truncated fixed32/],
      [Uint8Array.of(0x08), /truncated varint/],
    ] as const) {
      const r = readFields(b);
      assert.equal(r.ok, false, `${Buffer.from(b).toString('hex')} accepted`);
      if (!r.ok) assert.match(r.error, re);
    }
  });
});

describe('apiserver protobuf: schemas', () => {
  for (const k of KUBECTL) {
    it(`decodes kubectl's ${k.name} body into kubectl's JSON for the same command`, () => {
      assert.deepEqual(decodeOk(hex(k.body)), k.json);
      assert.equal(JSON.stringify(decodeOk(hex(k.body))), JSON.stringify(k.json), 'same key order as kubectl JSON');
    });
  }

  it('decodes ObjectMeta: times, int64, pointer zeros, maps, owner references, finalizers, managedFields; skips unknown fields', () => {
    const raw = cat(
      s(1, 'n'),
      s(3, 'ns'),
      s(5, 'uid-1'),
      s(6, '42'),
      vi(7, 9007199254740991n),
      m(8, vi(1, 1767225600), vi(2, 123)),
      m(9, vi(1, 0)),
      vi(10, 0),
      entry(11, 'app', 'web'),
      entry(11, 'tier', ''),
      entry(12, 'note', 'x'),
      m(13, s(1, 'Deployment'), s(3, 'd'), s(4, 'u'), s(5, 'apps/v1'), vi(6, true)),
      s(14, 'a/b'),
      s(14, ''),
      m(17, s(1, 'kubectl'), s(2, 'Update'), s(3, 'v1'), m(4, vi(1, 1767225600)), s(6, 'FieldsV1'), m(7, s(1, '{"f:data":{}}'))),
      vi(99, 7),
      fixed32(98, 1),
      fixed64(97, 1n),
      s(96, 'unknown'),
    );
    const r = decodeWithSchema(raw, ObjectMeta);
    if (!r.ok) assert.fail(r.error);
    assert.deepEqual(r.value, {
      name: 'n',
      namespace: 'ns',
      uid: 'uid-1',
      resourceVersion: '42',
      generation: 9007199254740991,
      creationTimestamp: '2026-01-01T00:00:00Z',
      deletionTimestamp: '1970-01-01T00:00:00Z',
      deletionGracePeriodSeconds: 0,
      labels: { app: 'web', tier: '' },
      annotations: { note: 'x' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: 'u', controller: true }],
      finalizers: ['a/b', ''],
      managedFields: [
        { manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } },
      ],
    });
  });

  it('reads int32 (sign-extended), int64 and bool varints of every length exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.maxSafeInteger(), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (i32, i64, b) => {
        const port = decodeWithSchema(m(2, m(1, vi(3, i32))), Service);
        const meta = decodeWithSchema(cat(vi(7, i64), vi(10, b)), ObjectMeta);
        if (!port.ok || !meta.ok) assert.fail('decode failed');
        assert.equal(((port.value['spec'] as JsonObject)['ports'] as JsonObject[])[0]?.['port'], i32);
        assert.equal(meta.value['generation'], i64 === 0 ? undefined : i64);
        assert.equal(meta.value['deletionGracePeriodSeconds'], Number(BigInt.asIntN(64, b)));
        const bool = decodeWithSchema(vi(4, b), ConfigMap);
        assert.equal(bool.ok && bool.value['immutable'], b !== 0n);
      }),
      { numRuns: 500 },
    );
  });

  it('merges a message field sent twice and lets the last scalar win', () => {
    const r = decodeWithSchema(
      cat(m(1, s(1, 'a'), entry(11, 'x', '1')), m(1, s(1, 'b'), entry(11, 'y', '2')), entry(2, 'k', 'v1'), entry(2, 'k', 'v2')),
      ConfigMap,
    );
    if (!r.ok) assert.fail(r.error);
    assert.deepEqual(r.value, { metadata: { name: 'b', labels: { x: '1', y: '2' } }, data: { k: 'v2' } });
    const p = decodeWithSchema(cat(entry(2, '__proto__', 'x'), entry(2, 'constructor', 'y')), ConfigMap);
    if (!p.ok) assert.fail(p.error);
    const data = p.value['data'] as JsonObject;
    assert.deepEqual(Object.keys(data), ['__proto__', 'constructor']);
    assert.equal(Object.getPrototypeOf(data), Object.prototype);
    assert.equal(JSON.stringify(p.value), '{"data":{"__proto__":"x","constructor":"y"}}');
  });

  it('decodes a full Service: IntOrString both ways, pointer fields, negative int32, status ingress and conditions', () => {
    const spec = cat(
      m(1, s(1, 'http'), s(2, 'TCP'), vi(3, 80), m(4, vi(1, 1), s(3, 'web')), vi(5, 30080), s(6, 'http')),
      m(1, s(2, 'UDP'), vi(3, 0), m(4, vi(1, 0), vi(2, 0))),
      entry(2, 'app', 'web'),
      s(3, '10.96.0.10'),
      s(4, 'LoadBalancer'),
      s(5, '192.0.2.9'),
      s(7, 'ClientIP'),
      s(8, ''),
      s(9, '10.0.0.0/8'),
      s(11, 'Local'),
      vi(12, -1),
      vi(13, true),
      m(14, m(1, vi(1, 10800))),
      s(17, 'SingleStack'),
      s(18, '10.96.0.10'),
      s(19, 'IPv4'),
      vi(20, false),
      s(21, 'l2lb.io/l2'),
      s(22, 'Cluster'),
    );
    const status = m(1, m(1, s(1, '192.0.2.1'), s(3, 'VIP'), m(4, vi(1, 80), s(2, 'TCP'))));
    const cond = m(2, s(1, 'Ready'), s(2, 'True'), m(4, vi(1, 0)), s(5, 'R'), s(6, ''));
    const obj = decodeOk(envelope('v1', 'Service', cat(m(1, s(1, 'web'), s(3, 'default')), m(2, spec), m(3, status, cond))));
    assert.deepEqual(obj, {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        ports: [
          { name: 'http', protocol: 'TCP', appProtocol: 'http', port: 80, targetPort: 'web', nodePort: 30080 },
          { protocol: 'UDP', port: 0 },
        ],
        selector: { app: 'web' },
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        type: 'LoadBalancer',
        externalIPs: ['192.0.2.9'],
        sessionAffinity: 'ClientIP',
        loadBalancerSourceRanges: ['10.0.0.0/8'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: -1,
        publishNotReadyAddresses: true,
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        allocateLoadBalancerNodePorts: false,
        loadBalancerClass: 'l2lb.io/l2',
        internalTrafficPolicy: 'Cluster',
      },
      status: {
        loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }] },
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '1970-01-01T00:00:00Z', reason: 'R', message: '' }],
      },
    });
  });

  it('decodes Secret bytes as base64, ConfigMap binaryData and immutable, Endpoints subsets', () => {
    const bin = Uint8Array.of(0, 0xff, 0x80, 10);
    assert.deepEqual(
      decodeOk(
        envelope(
          'v1',
          'Secret',
          cat(m(1, s(1, 'k')), entry(2, 'key', bin), entry(2, 'empty', new Uint8Array()), s(3, 'Opaque'), entry(4, 'plain', 'text'), vi(5, true)),
        ),
      ),
      {
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: { name: 'k' },
        immutable: true,
        data: { key: 'AP+ACg==', empty: '' },
        stringData: { plain: 'text' },
        type: 'Opaque',
      },
    );
    assert.deepEqual(decodeOk(envelope('v1', 'ConfigMap', cat(m(1, s(1, 'c')), entry(3, 'b', bin), vi(4, false)))), {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { name: 'c' },
      immutable: false,
      binaryData: { b: 'AP+ACg==' },
    });
    const addr = m(1, s(1, '10.0.0.1'), m(2, s(1, 'Pod'), s(2, 'default'), s(3, 'p'), s(4, 'u')), s(4, 'node-a'));
    const subset = m(2, addr, m(2, s(1, '10.0.0.2'), s(3, 'h')), m(3, s(1, 'http'), vi(2, 8080), s(3, 'TCP')));
    assert.deepEqual(decodeOk(envelope('v1', 'Endpoints', cat(m(1, s(1, 'web'), s(3, 'default')), subset))), {
      kind: 'Endpoints',
      apiVersion: 'v1',
      metadata: { name: 'web', namespace: 'default' },
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1', nodeName: 'node-a', targetRef: { kind: 'Pod', namespace: 'default', name: 'p', uid: 'u' } }],
          notReadyAddresses: [{ ip: '10.0.0.2', hostname: 'h' }],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
      ],
    });
  });

  it('answers malformed bodies with 400 naming the field, and kinds or encodings without a decoder with 415', () => {
    let e = decodeErr(hex('6b387301'));
    assert.deepEqual([e.code, e.reason], [400, 'BadRequest']);
    assert.match(e.message, /magic/);
    e = decodeErr(new Uint8Array());
    assert.equal(e.code, 400);
    e = decodeErr(envelope('v1', 'Service', cat(m(1, vi(1, 5)))));
    assert.equal(e.code, 400);
    assert.match(e.message, /Service\.metadata\.name: wire type 0, expected length-delimited/);
    e = decodeErr(envelope('v1', 'Service', cat(m(2, m(1, s(1, 'p'), m(4, s(2, 'x')))))));
    assert.match(e.message, /Service\.spec\.ports\[0\]\.targetPort\.intVal: wire type 2/);
    e = decodeErr(envelope('v1', 'ConfigMap', cat(m(1, s(1, 'c')), Uint8Array.of(0x12, 0x09, 0x0a))));
    assert.equal(e.code, 400);
    assert.match(e.message, /ConfigMap: field 2 at byte \d+ claims 9 bytes/);
    e = decodeErr(envelope('v1', 'ConfigMap', m(1, m(17, m(7, s(1, '{nope'))))));
    assert.match(e.message, /ConfigMap\.metadata\.managedFields\[0\]\.fieldsV1: not valid JSON/);
    e = decodeErr(envelope('v1', 'ConfigMap', m(1, m(8, vi(1, 1n << 60n)))));
    assert.match(e.message, /creationTimestamp: time \d+s is out of range/);
    assert.match(decodeErr(envelope('v1', 'ConfigMap', m(1, m(8, vi(1, 253402300800))))).message, /time 253402300800s is out of range/);
    assert.match(decodeErr(envelope('v1', 'ConfigMap', m(1, m(8, vi(1, -62167219201))))).message, /time -62167219201s is out of range/);
    assert.equal((decodeOk(envelope('v1', 'ConfigMap', m(1, m(8, vi(1, 253402300799))))).metadata as JsonObject)['creationTimestamp'], '9999-12-31T23:59:59Z');

    e = decodeErr(envelope('metallb.io/v1beta1', 'IPAddressPool', new Uint8Array()));
    assert.deepEqual([e.code, e.reason], [415, 'UnsupportedMediaType']);
    assert.match(
      e.message,
      /only for v1 Namespace, ConfigMap, Secret, Service, Endpoints, ServiceAccount, not metallb\.io\/v1beta1 IPAddressPool \(send JSON: kubectl create\/apply -f/,
    );
    assert.match(decodeErr(envelope('apps/v1', 'Deployment', new Uint8Array())).message, /not apps\/v1 Deployment/);
    assert.match(decodeErr(envelope('', '', new Uint8Array())).message, /without apiVersion\/kind/);
    assert.match(decodeErr(envelope('v1', 'Secret', new Uint8Array(), 'gzip')).message, /contentEncoding "gzip"/);
    assert.equal(decodeErr(envelope('v1', 'Secret', new Uint8Array(), '', 'application/json')).code, 415);
  });
});

describe('apiserver protobuf: fuzz', () => {
  const check = (body: Uint8Array): void => {
    const r = decodeKubeProtobuf(body); // must not throw
    if (r.ok) {
      assert.equal(typeof r.object['kind'], 'string');
      assert.equal(r.object['apiVersion'], 'v1');
      JSON.stringify(r.object);
    } else {
      assert.ok(r.error.code === 400 || r.error.code === 415, `${r.error.code}`);
      const st = r.error.toStatus();
      assert.equal(st['kind'], 'Status');
      assert.equal(st['code'], r.error.code);
      assert.ok(r.error.message.length > 0);
    }
  };
  const magic = Uint8Array.of(0x6b, 0x38, 0x73, 0);
  const seeds = [
    ...KUBECTL.map((k) => hex(k.body)),
    envelope('v1', 'Endpoints', cat(m(1, s(1, 'e')), m(2, m(1, s(1, '10.0.0.1'), m(2, s(1, 'Pod'))), m(3, vi(2, 80))))),
    envelope('v1', 'ConfigMap', m(1, m(17, m(4, vi(1, 5)), m(7, s(1, '{}'))), m(8, vi(1, 5)))),
  ];

  it('random bodies (with and without the magic) never throw and always give an object or a Status', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 200 }), (withMagic, b) => check(withMagic ? cat(magic, b) : b)),
      { numRuns: 5000 },
    );
  });

  it('mutated kubectl and hand-built bodies never throw and always give an object or a Status', () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), v: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), (seed, muts) => {
        let b: Uint8Array = Uint8Array.from(seed);
        for (const mu of muts) {
          const at = b.length === 0 ? 0 : mu.at % (b.length + 1);
          if (mu.op === 'set' && at < b.length) b[at] = mu.v;
          else if (mu.op === 'cut') b = b.subarray(0, at);
          else if (mu.op === 'insert') b = cat(b.subarray(0, at), mu.v, b.subarray(at));
          else if (mu.op === 'delete') b = cat(b.subarray(0, at), b.subarray(at + mu.n));
        }
        check(b);
      }),
      { numRuns: 5000 },
    );
  });

  it('random ConfigMaps and Secrets round-trip: encoded by hand, decoded to the same JSON', () => {
    const key = fc.string({ minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(
        fc.boolean(),
        key,
        fc.dictionary(key, fc.string({ maxLength: 20 }), { maxKeys: 4 }),
        fc.dictionary(key, fc.uint8Array({ maxLength: 20 }), { maxKeys: 4 }),
        (secret, name, labels, data) => {
          labels = Object.fromEntries(Object.entries(labels));
          const meta = cat(s(1, name), s(3, 'ns'), ...Object.entries(labels).map(([k, v]) => entry(11, k, v)));
          const body = envelope('v1', secret ? 'Secret' : 'ConfigMap', cat(m(1, meta), ...Object.entries(data).map(([k, v]) => entry(secret ? 2 : 3, k, v))));
          const want: JsonObject = {
            kind: secret ? 'Secret' : 'ConfigMap',
            apiVersion: 'v1',
            metadata: { name, namespace: 'ns', ...(Object.keys(labels).length ? { labels } : {}) },
          };
          const b64: JsonObject = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
          if (Object.keys(data).length) want[secret ? 'data' : 'binaryData'] = b64;
          assert.deepEqual(decodeOk(body), want);
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('apiserver protobuf: server hook', () => {
  let server: EmbeddedApiServer;
  before(async () => {
    server = new EmbeddedApiServer();
    await server.start();
  });
  after(async () => {
    await server.close();
  });

  const post = async (path: string, body: Uint8Array): Promise<{ status: number; json: JsonObject }> => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`, {
      method: 'POST',
      body: Uint8Array.from(body),
      headers: { 'content-type': 'application/vnd.kubernetes.protobuf', accept: 'application/json' },
    });
    return { status: res.status, json: (await res.json()) as JsonObject };
  };

  it('creates kubectl protobuf objects like JSON ones, and answers bad ones with a Status', async () => {
    const ns = await post('/api/v1/namespaces', hex(KUBECTL[0]!.body));
    assert.equal(ns.status, 201, JSON.stringify(ns.json));
    const cm = await post('/api/v1/namespaces/ns1/configmaps', hex(KUBECTL[1]!.body));
    assert.equal(cm.status, 201, JSON.stringify(cm.json));
    assert.deepEqual(cm.json['data'], { config: 'hello: world\n' });
    const svc = await post('/api/v1/namespaces/default/services', hex(KUBECTL[3]!.body));
    assert.equal(svc.status, 201, JSON.stringify(svc.json));
    assert.equal((svc.json['spec'] as JsonObject)['type'], 'LoadBalancer');
    assert.match(String((svc.json['spec'] as JsonObject)['clusterIP']), /^10\.96\./);
    const wrongNs = await post('/api/v1/namespaces/default/configmaps', hex(KUBECTL[1]!.body));
    assert.equal(wrongNs.status, 400);
    const bad = await post('/api/v1/namespaces/default/configmaps', hex('6b387300ff'));
    assert.deepEqual([bad.status, bad.json['kind'], bad.json['reason']], [400, 'Status', 'BadRequest']);
    const crd = await post('/apis/metallb.io/v1beta1/namespaces/default/ipaddresspools', envelope('metallb.io/v1beta1', 'IPAddressPool', new Uint8Array()));
    assert.deepEqual([crd.status, crd.json['kind'], crd.json['code']], [415, 'Status', 415]);
  });
});
