// The speaker's informers keep cut-down objects (views.ts *CacheForm): what the parsers read must not change.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LAST_APPLIED_ANNOTATION, withoutBookkeeping } from '@l2lb/shared/kube/bookkeeping';
import type { KubeObject } from '@l2lb/shared/kube/types';
import { endpointSliceCacheForm, nodeCacheForm, objectId, parseEndpointSlice, parseNode, parseService, serviceCacheForm } from '../../src/run/views.js';
import { betaSlice, realNode, realService, realSlice } from '../helpers/real-objects.js';

const forms = [
  { name: 'Service', form: serviceCacheForm, parse: parseService },
  { name: 'EndpointSlice', form: endpointSliceCacheForm, parse: parseEndpointSlice },
  { name: 'Node', form: nodeCacheForm, parse: parseNode },
] as const;

describe('speaker informer cache forms', () => {
  it('keep what the parsers read of real objects, and nothing else', () => {
    assert.deepEqual(serviceCacheForm(realService), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: 'shop',
        uid: realService.metadata.uid,
        resourceVersion: '4711',
        labels: { app: 'web' },
        annotations: { 'metallb.universe.tf/allow-shared-ip': 'shop', 'metallb.universe.tf/ip-allocated-from-pool': 'default' },
      },
      spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }] } },
    });
    assert.deepEqual(endpointSliceCacheForm(realSlice), {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'web-abcde',
        namespace: 'shop',
        uid: 'u-slice',
        resourceVersion: '4712',
        labels: realSlice.metadata.labels,
        annotations: realSlice.metadata.annotations,
      },
      endpoints: [
        { nodeName: 'n1', conditions: { ready: true, serving: true } },
        { nodeName: 'n2', conditions: { ready: false, serving: true } },
      ],
    });
    assert.deepEqual(endpointSliceCacheForm(betaSlice).endpoints, [{ conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'n3' } }]);
    assert.deepEqual(nodeCacheForm(realNode), {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', uid: 'u-n1', resourceVersion: '77', labels: realNode.metadata.labels, annotations: realNode.metadata.annotations },
      status: { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] },
    });
    for (const [whole, form] of [
      [realService, serviceCacheForm],
      [realSlice, endpointSliceCacheForm],
      [realNode, nodeCacheForm],
    ] as const) {
      const before = JSON.stringify(whole);
      const kept = JSON.stringify(form(whole as KubeObject));
      assert.equal(JSON.stringify(whole), before, 'the argument is not changed');
      assert.ok(kept.length < before.length / 2, `${kept.length} of ${before.length} bytes kept`);
    }
  });

  it('parse to what the whole object (without bookkeeping) parses to, for real objects and any garbage (property)', () => {
    for (const { name, form, parse } of forms) {
      for (const o of [realService, realSlice, betaSlice, realNode]) {
        assert.deepEqual(parse(form(o as KubeObject)), parse(withoutBookkeeping(o as KubeObject)), `${name} of ${o.kind}`);
      }
    }
    // Objects shaped like the real ones, every field possibly replaced by any JSON value.
    const anyOr = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
      fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
    const strings = fc.dictionary(
      fc.constantFrom('app', 'zone', 'metallb.universe.tf/allow-shared-ip', LAST_APPLIED_ANNOTATION, 'kubernetes.io/service-name'),
      anyOr(fc.string()),
    );
    const metadata = anyOr(
      fc.record(
        {
          name: anyOr(fc.constantFrom('a', 'b', '')),
          namespace: anyOr(fc.constant('d')),
          uid: anyOr(fc.string()),
          resourceVersion: fc.string(),
          labels: anyOr(strings),
          annotations: anyOr(strings),
          managedFields: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    const condition = anyOr(fc.record({ ready: anyOr(fc.boolean()), serving: anyOr(fc.boolean()), terminating: fc.boolean() }, { requiredKeys: [] }));
    const endpoint = anyOr(
      fc.record(
        {
          nodeName: anyOr(fc.constantFrom('n1', 'n2')),
          conditions: condition,
          topology: anyOr(fc.dictionary(fc.constantFrom('kubernetes.io/hostname', 'zone'), anyOr(fc.string()))),
          addresses: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    const nodeCondition = anyOr(
      fc.record(
        { type: anyOr(fc.constantFrom('Ready', 'NetworkUnavailable')), status: anyOr(fc.constantFrom('True', 'False')), reason: fc.string() },
        { requiredKeys: [] },
      ),
    );
    const object = fc.record(
      {
        kind: fc.string(),
        metadata,
        spec: anyOr(
          fc.record(
            {
              type: anyOr(fc.constantFrom('LoadBalancer', 'ClusterIP')),
              externalTrafficPolicy: anyOr(fc.constant('Local')),
              loadBalancerClass: anyOr(fc.string()),
              ports: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        ),
        status: anyOr(
          fc.record(
            {
              loadBalancer: anyOr(
                fc.record({ ingress: anyOr(fc.array(anyOr(fc.record({ ip: anyOr(fc.string()), hostname: fc.string() }, { requiredKeys: [] })))) }),
              ),
              conditions: anyOr(fc.array(nodeCondition)),
              images: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        ),
        endpoints: anyOr(fc.array(endpoint, { maxLength: 3 })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(object, (o) => {
        const before = JSON.stringify(o);
        for (const { name, form, parse } of forms) {
          const kept = form(o as KubeObject);
          assert.deepEqual(parse(kept), parse(withoutBookkeeping(o as KubeObject)), name);
          assert.deepEqual(objectId(kept), objectId(o), `${name}: the informer's key and the Event's uid`);
          assert.equal(
            (kept.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion,
            (o.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion,
          );
        }
        assert.equal(JSON.stringify(o), before, 'the argument is not changed');
      }),
      { numRuns: 500 },
    );
  });
});
