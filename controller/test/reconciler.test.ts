import assert from 'node:assert/strict';
import { parseConfigMapConfig, type Config } from '@l2lb/shared';
import { Reconciler, CONDITION_TYPE, type ServiceOutcome, type ServiceWrite } from '../src/reconciler.js';
import { ConfigState } from '@l2lb/shared';
import { ANN_ALLOCATED_FROM_POOL, parseService, type ServiceObject } from '../src/service.js';

function config(...pools: { name: string; addresses: string[]; 'auto-assign'?: boolean }[]): Config {
  return parseConfigMapConfig(JSON.stringify({ 'address-pools': pools.map((p) => ({ protocol: 'layer2', ...p })) }));
}

let clusterIP = 1;
function svc(
  name: string,
  extra: { annotations?: Record<string, string>; spec?: ServiceObject['spec']; status?: ServiceObject['status'] } = {},
): ServiceObject {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, annotations: extra.annotations ?? {} },
    spec: {
      type: 'LoadBalancer',
      clusterIP: `10.96.0.${clusterIP}`,
      clusterIPs: [`10.96.0.${clusterIP++}`],
      ports: [{ protocol: 'TCP', port: 80 }],
      ...extra.spec,
    },
    ...(extra.status !== undefined ? { status: extra.status } : {}),
  };
}

/** What the API server would store after the controller's write. */
function applied(s: ServiceObject, write: ServiceWrite | undefined): ServiceObject {
  if (write === undefined) return s;
  const annotations = { ...(s.metadata?.annotations ?? {}) };
  if (write.pool === null) delete annotations[ANN_ALLOCATED_FROM_POOL];
  else annotations[ANN_ALLOCATED_FROM_POOL] = write.pool;
  return {
    ...s,
    metadata: { ...s.metadata, annotations },
    status: { loadBalancer: write.ingress.length > 0 ? { ingress: write.ingress.map((ip) => ({ ip })) } : {}, conditions: [...write.conditions] },
  };
}

function reasons(outcome: ServiceOutcome): string[] {
  return outcome.events.map((e) => e.reason);
}

describe('Service parsing', () => {
  it('reads annotations (current prefix wins), families, ports, sharing and backend keys', () => {
    const p = parseService(
      svc('a', {
        annotations: {
          'metallb.io/loadBalancerIPs': '10.0.0.1, fd00::1',
          'metallb.universe.tf/address-pool': 'old',
          'metallb.io/address-pool': 'new',
          'metallb.io/allow-shared-ip': 'k',
        },
        spec: {
          type: 'LoadBalancer',
          clusterIPs: ['10.96.0.9', 'fd96::9'],
          ipFamilyPolicy: 'RequireDualStack',
          externalTrafficPolicy: 'Local',
          selector: { b: '2', a: '1' },
          ports: [{ port: 53, protocol: 'UDP' }, { port: 80 }],
        },
      }),
      {},
    );
    assert.equal(p.error, undefined);
    assert.deepEqual(p.requestedIPs.map(String), ['10.0.0.1', 'fd00::1']);
    assert.equal(p.pool, 'new');
    assert.deepEqual(p.deprecated, ['metallb.universe.tf/address-pool']);
    assert.deepEqual(p.request.families, [4, 6]);
    assert.equal(p.request.sharingKey, 'k');
    assert.equal(p.request.backendKey, 'a=1,b=2');
    assert.deepEqual(p.request.ports, [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 80 },
    ]);
  });

  it('rejects contradictory or malformed requests with a clear message', () => {
    assert.match(
      parseService(
        svc('a', {
          annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.1' },
          spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.1'], loadBalancerIP: '10.0.0.2' },
        }),
        {},
      ).error ?? '',
      /can not have both/,
    );
    assert.match(parseService(svc('a', { annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.300' } }), {}).error ?? '', /invalid IP "10\.0\.0\.300"/);
    assert.match(
      parseService(svc('a', { spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.1'], ipFamilyPolicy: 'RequireDualStack' } }), {}).error ?? '',
      /not enough clusterips/,
    );
    assert.match(parseService({ metadata: { name: 'x', namespace: 'd' }, spec: { type: 'LoadBalancer' } }, {}).error ?? '', /no cluster IP/);
    assert.deepEqual(
      parseService(svc('a', { spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.1'], loadBalancerIP: '10.0.0.7' } }), {}).requestedIPs.map(String),
      ['10.0.0.7'],
    );
  });
});

describe('Reconciler', () => {
  it('allocates, writes status + annotation + condition once, and is quiet afterwards', () => {
    const r = new Reconciler({ now: () => new Date('2026-01-01T00:00:00Z') });
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    const s = svc('web');
    const first = r.reconcile(s);
    assert.deepEqual(first.write?.ingress, ['10.0.0.0']);
    assert.equal(first.write?.pool, 'p');
    assert.deepEqual(first.write?.conditions, [
      { type: CONDITION_TYPE, status: 'True', reason: 'IPAllocated', message: 'Assigned 10.0.0.0 from pool "p"', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
    assert.deepEqual(first.events, [{ type: 'Normal', reason: 'IPAllocated', message: 'Assigned IP ["10.0.0.0"]' }]);
    // Informer cache not yet updated: no second write, no second event.
    const lagging = r.reconcile(s);
    assert.equal(lagging.write, undefined);
    assert.deepEqual(lagging.events, []);
    const settled = r.reconcile(applied(s, first.write));
    assert.equal(settled.write, undefined);
    assert.deepEqual(settled.events, []);
    assert.equal(settled.pending, false);
  });

  it('ignores Services of another load-balancer class, and waits for a configuration', () => {
    const r = new Reconciler();
    assert.equal(r.reconcile(svc('early')).write, undefined);
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    assert.equal(
      r.reconcile(svc('other', { spec: { type: 'LoadBalancer', clusterIPs: ['10.96.1.1'], loadBalancerClass: 'example.com/other' } })).write,
      undefined,
    );
    const mine = new Reconciler({ lbClass: 'example.com/l2lb' });
    mine.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    assert.equal(mine.reconcile(svc('unclassed')).write, undefined);
    assert.deepEqual(
      mine.reconcile(svc('classed', { spec: { type: 'LoadBalancer', clusterIPs: ['10.96.1.2'], loadBalancerClass: 'example.com/l2lb' } })).write?.ingress,
      ['10.0.0.0'],
    );
  });

  it('clears status, annotation and condition when a Service stops being a LoadBalancer, and frees the IP', () => {
    const r = new Reconciler();
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/32'] }));
    const s = applied(svc('web'), r.reconcile(svc('web')).write);
    const other = r.reconcile(svc('waiting'));
    assert.equal(other.failure?.reason, 'PoolExhausted');
    const cleared = r.reconcile({ ...s, spec: { ...s.spec, type: 'ClusterIP' } });
    assert.deepEqual(cleared.write, { ingress: [], conditions: [], pool: null });
    assert.deepEqual(reasons(cleared), ['ClearAssignment']);
    assert.equal(cleared.freed, true);
    assert.deepEqual(r.reconcile(svc('waiting')).write?.ingress, ['10.0.0.0']);
    // A plain ClusterIP Service is left alone.
    assert.equal(r.reconcile({ ...svc('plain'), spec: { type: 'ClusterIP', clusterIPs: ['10.96.9.9'] } }).write, undefined);
  });

  it('explains an exhausted pool by condition and one event, then assigns after a delete', () => {
    const r = new Reconciler();
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/32'] }));
    const a = applied(svc('a'), r.reconcile(svc('a')).write);
    const b0 = svc('b');
    const failed = r.reconcile(b0);
    assert.equal(failed.pending, true);
    assert.deepEqual(failed.write?.ingress, []);
    assert.deepEqual(
      failed.write?.conditions.map((c) => [c.status, c.reason, c.message]),
      [['False', 'PoolExhausted', 'no available IPs']],
    );
    assert.deepEqual(failed.events, [{ type: 'Warning', reason: 'AllocationFailed', message: 'Failed to allocate IP for "default/b": no available IPs' }]);
    const b1 = applied(b0, failed.write);
    const again = r.reconcile(b1);
    assert.equal(again.write, undefined);
    assert.deepEqual(again.events, []);
    assert.equal(r.deleted('default/a').freed, true);
    const assigned = r.reconcile(b1);
    assert.deepEqual(assigned.write?.ingress, ['10.0.0.0']);
    assert.deepEqual(
      assigned.write?.conditions.map((c) => c.status),
      ['True'],
    );
    assert.deepEqual(reasons(assigned), ['IPAllocated']);
    void a;
  });

  it('rebuilds from Service status after a restart without changing anything', () => {
    const cfg = config({ name: 'p', addresses: ['10.0.0.0/28'] });
    const first = new Reconciler();
    first.setConfig(cfg);
    const stored = ['a', 'b', 'c', 'd'].map((n) => {
      const s = svc(n);
      return applied(s, first.reconcile(s).write);
    });
    const restarted = new Reconciler();
    restarted.setConfig(cfg);
    const pendingNew = svc('new');
    // Assigned first (as the controller sorts them), then the new one.
    for (const s of stored) {
      const out = restarted.reconcile(s);
      assert.equal(out.write, undefined, `no write for ${s.metadata?.name}`);
      assert.deepEqual(out.events, []);
    }
    assert.deepEqual(restarted.reconcile(pendingNew).write?.ingress, ['10.0.0.4']);
  });

  it('re-IPs a Service whose address left every pool, with ClearAssignment then IPAllocated', () => {
    const r = new Reconciler();
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    const s = applied(svc('web'), r.reconcile(svc('web')).write);
    const change = r.setConfig(config({ name: 'q', addresses: ['10.1.0.0/30'] }));
    assert.deepEqual(change.released, ['default/web']);
    const out = r.reconcile(s);
    assert.deepEqual(out.write?.ingress, ['10.1.0.0']);
    assert.equal(out.write?.pool, 'q');
    assert.deepEqual(reasons(out), ['ClearAssignment', 'IPAllocated']);
    assert.match(out.events[0]?.message ?? '', /current IP for "default\/web" not allowed by config.*not in any address pool/);
  });

  it('follows a pool rename by rewriting the annotation only', () => {
    const r = new Reconciler();
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    const s = applied(svc('web'), r.reconcile(svc('web')).write);
    r.setConfig(config({ name: 'renamed', addresses: ['10.0.0.0/29'] }));
    const out = r.reconcile(s);
    assert.deepEqual(out.write?.ingress, ['10.0.0.0']);
    assert.equal(out.write?.pool, 'renamed');
    assert.deepEqual(reasons(out), []);
  });

  it('changes nothing while the configuration has no pool, and resumes with the same IPs once it has one', () => {
    const r = new Reconciler();
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    const s = applied(svc('web'), r.reconcile(svc('web')).write);
    const change = r.setConfig(parseConfigMapConfig(''));
    assert.deepEqual(change.released, [], 'nothing released');
    assert.equal(r.configLoaded, false);
    const out = r.reconcile(s);
    assert.equal(out.write, undefined, 'no write: status, annotation and condition stay');
    assert.deepEqual(out.events, []);
    assert.equal(out.failure, undefined);
    // A new Service waits without a write too (nothing to allocate from).
    assert.equal(r.reconcile(svc('newcomer')).write, undefined);
    // The same pool returns: the Service is re-registered, unchanged, and its IP is not handed out twice.
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    assert.equal(r.reconcile(s).write, undefined);
    const other = r.reconcile(svc('other'));
    assert.notDeepEqual(
      other.write?.ingress,
      s.status?.loadBalancer?.ingress?.map((i) => i.ip),
    );
  });

  it('moves a Service when its requested IP or pool annotation changes', () => {
    const r = new Reconciler();
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }, { name: 'q', addresses: ['10.1.0.0/30'] }));
    let s = applied(svc('web'), r.reconcile(svc('web')).write);
    s = { ...s, metadata: { ...s.metadata, annotations: { ...s.metadata?.annotations, 'metallb.io/loadBalancerIPs': '10.0.0.3' } } };
    let out = r.reconcile(s);
    assert.deepEqual(out.write?.ingress, ['10.0.0.3']);
    assert.deepEqual(reasons(out), ['ClearAssignment', 'IPAllocated']);
    s = applied(s, out.write);
    const annotations: Record<string, string> = { ...s.metadata?.annotations, 'metallb.io/address-pool': 'q' };
    delete annotations['metallb.io/loadBalancerIPs'];
    s = { ...s, metadata: { ...s.metadata, annotations } };
    out = r.reconcile(s);
    assert.deepEqual(out.write?.ingress, ['10.1.0.0']);
    assert.equal(out.write?.pool, 'q');
  });

  it('reports a requested IP outside every pool, and invalid annotations, as allocation failures', () => {
    const r = new Reconciler();
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    const out = r.reconcile(svc('web', { spec: { type: 'LoadBalancer', clusterIPs: ['10.96.3.3'], loadBalancerIP: '192.0.2.1' } }));
    assert.equal(out.failure?.reason, 'RequestedIPNotInPool');
    assert.deepEqual(reasons(out), ['AllocationFailed']);
    const bad = r.reconcile(svc('bad', { annotations: { 'metallb.io/loadBalancerIPs': 'nope' } }));
    assert.equal(bad.failure?.reason, 'InvalidService');
    const sharing = r.reconcile(svc('clash', { spec: { type: 'LoadBalancer', clusterIPs: ['10.96.3.4'], loadBalancerIP: '10.0.0.0' } }));
    assert.deepEqual(sharing.write?.ingress, ['10.0.0.0']);
    const clash = r.reconcile(svc('clash2', { spec: { type: 'LoadBalancer', clusterIPs: ['10.96.3.5'], loadBalancerIP: '10.0.0.0' } }));
    assert.equal(clash.failure?.reason, 'SharingConflict');
  });

  describe('a Service holding an IP whose annotations become invalid keeps its IP', () => {
    const annotate = (s: ServiceObject, annotations: Record<string, string>): ServiceObject => ({
      ...s,
      metadata: { ...s.metadata, annotations: { ...s.metadata?.annotations, ...annotations } },
    });
    const holding = (r: Reconciler, name: string, annotations: Record<string, string> = {}, ports = [{ protocol: 'TCP', port: 80 }]): ServiceObject => {
      const fresh = svc(name, { annotations, spec: { type: 'LoadBalancer', clusterIPs: [`10.96.8.${clusterIP++}`], ports } });
      const out = r.reconcile(fresh);
      assert.equal(out.write?.ingress.length, 1, `${name} gets an IP`);
      return applied(fresh, out.write);
    };
    /** The write keeps ingress and pool and explains the problem in a False condition plus a Warning Event. */
    const assertKept = (r: Reconciler, s: ServiceObject, problem: RegExp): ServiceObject => {
      const out = r.reconcile(s);
      const ips = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
      assert.deepEqual(out.write?.ingress, ips, 'ingress kept');
      assert.equal(out.write?.pool, s.metadata?.annotations?.[ANN_ALLOCATED_FROM_POOL], 'pool annotation kept');
      const condition = out.write?.conditions.find((c) => c.type === CONDITION_TYPE);
      assert.equal(condition?.status, 'False');
      assert.match(condition?.message ?? '', problem);
      assert.match(condition?.message ?? '', /keeping/);
      assert.deepEqual(reasons(out), ['AllocationFailed']);
      assert.equal(out.pending, false);
      assert.equal(out.freed, false);
      return applied(s, out.write);
    };

    it('an invalid metallb.io/loadBalancerIPs: kept (and not handed out), moved once the annotation asks for a valid IP', () => {
      const r = new Reconciler();
      r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
      const s = holding(r, 'web');
      const bad = assertKept(r, annotate(s, { 'metallb.io/loadBalancerIPs': '10.0.0.300' }), /invalid IP "10\.0\.0\.300"/);
      assert.equal(r.reconcile(bad).write, undefined, 'quiet afterwards');
      assert.deepEqual(r.reconcile(svc('other')).write?.ingress, ['10.0.0.1'], 'the kept IP is not given to another Service');
      const fixed = r.reconcile(annotate(bad, { 'metallb.io/loadBalancerIPs': '10.0.0.3' }));
      assert.deepEqual(fixed.write?.ingress, ['10.0.0.3']);
      assert.equal(fixed.write?.conditions.find((c) => c.type === CONDITION_TYPE)?.status, 'True');
      assert.equal(fixed.freed, true);
    });

    it('a requested IP outside every pool, or both the annotation and spec.loadBalancerIP: kept', () => {
      const r = new Reconciler();
      r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
      const s = holding(r, 'web');
      assertKept(r, annotate(s, { 'metallb.io/loadBalancerIPs': '192.0.2.1' }), /not in any address pool/);
      const both = { ...annotate(s, { 'metallb.io/loadBalancerIPs': '10.0.0.2' }), spec: { ...s.spec, loadBalancerIP: '10.0.0.3' } } as ServiceObject;
      assertKept(r, both, /can not have both/);
    });

    it('an address-pool annotation naming no pool: kept; naming a real pool: moved', () => {
      const r = new Reconciler();
      r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }, { name: 'q', addresses: ['10.1.0.0/30'], 'auto-assign': false }));
      const s = holding(r, 'web');
      const bad = assertKept(r, annotate(s, { 'metallb.io/address-pool': 'nope' }), /unknown pool "nope"/);
      const moved = r.reconcile(annotate(bad, { 'metallb.io/address-pool': 'q' }));
      assert.deepEqual(moved.write?.ingress, ['10.1.0.0']);
      assert.equal(moved.write?.pool, 'q');
      assert.deepEqual(reasons(moved), ['ClearAssignment', 'IPAllocated']);
    });

    it('a sharing annotation that no longer fits the shared IP, with no other IP free: kept', () => {
      const r = new Reconciler();
      r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/31'] }));
      const a = holding(r, 'a', { 'metallb.io/allow-shared-ip': 'k' });
      const b = holding(r, 'b', { 'metallb.io/allow-shared-ip': 'k', 'metallb.io/loadBalancerIPs': '10.0.0.0' }, [{ protocol: 'TCP', port: 443 }]);
      holding(r, 'c');
      assert.deepEqual(b.status?.loadBalancer?.ingress, [{ ip: '10.0.0.0' }]);
      assertKept(r, annotate(a, { 'metallb.io/allow-shared-ip': 'other' }), /sharing key|no available IPs/);
    });

    it('after a restart (no allocator record) an invalid annotation keeps the IP from status', () => {
      const r = new Reconciler();
      r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
      const s = holding(r, 'web');
      const restarted = new Reconciler();
      restarted.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
      assertKept(restarted, annotate(s, { 'metallb.io/loadBalancerIPs': 'nope' }), /invalid IP "nope"/);
      assert.deepEqual(restarted.reconcile(svc('other')).write?.ingress, ['10.0.0.1'], 'the kept IP is registered');
    });

    it('a Service without an IP and an invalid annotation still gets none, and a deleted one frees its IP', () => {
      const r = new Reconciler();
      r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/32'] }));
      const s = holding(r, 'web');
      assertKept(r, annotate(s, { 'metallb.io/loadBalancerIPs': 'nope' }), /invalid IP/);
      const fresh = r.reconcile(svc('new', { annotations: { 'metallb.io/loadBalancerIPs': 'nope' } }));
      assert.deepEqual(fresh.write?.ingress, []);
      assert.equal(fresh.pending, true);
      assert.equal(r.deleted('default/web').freed, true);
      assert.deepEqual(r.reconcile(svc('later')).write?.ingress, ['10.0.0.0']);
    });
  });

  it('adds the missing family to a PreferDualStack Service once its pool has one', () => {
    const r = new Reconciler();
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    const dual = { type: 'LoadBalancer', clusterIPs: ['10.96.7.7', 'fd96::7'], ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] };
    const s = applied(svc('dual', { spec: dual }), r.reconcile(svc('dual', { spec: dual })).write);
    assert.deepEqual(s.status?.loadBalancer?.ingress, [{ ip: '10.0.0.0' }]);
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30', 'fd00::/126'] }));
    const out = r.reconcile(s);
    assert.deepEqual(out.write?.ingress, ['10.0.0.0', 'fd00::']);
    assert.deepEqual(out.events, [{ type: 'Normal', reason: 'IPAllocated', message: 'Assigned additional IP ["fd00::"]' }]);
    assert.equal(r.reconcile(applied(s, out.write)).write, undefined);
  });

  it('warns about deprecated annotations when it writes, and keeps other conditions', () => {
    const r = new Reconciler();
    r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
    const s = svc('web', { annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' }, status: { conditions: [{ type: 'Other', status: 'True' }] } });
    const out = r.reconcile(s);
    assert.deepEqual(reasons(out), ['IPAllocated', 'deprecatedAnnotation']);
    assert.deepEqual(
      out.write?.conditions.map((c) => c.type),
      ['Other', CONDITION_TYPE],
    );
  });
});

describe('ConfigState', () => {
  const good = JSON.stringify({ 'address-pools': [{ name: 'p', protocol: 'layer2', addresses: ['10.0.0.0/30'] }] });
  const inputs = (text: string | undefined, resources: unknown[] = []) => ({ configMapText: text, configMapObject: 'ConfigMap l2lb-system/config', resources });

  it('applies valid configs, ignores resyncs, refuses invalid ones keeping the last good one', () => {
    const state = new ConfigState();
    const first = state.update(inputs(good));
    assert.equal(first.kind, 'applied');
    assert.equal(state.update(inputs(good)).kind, 'unchanged');
    const bad = state.update(inputs('address-pools:\n- name: p\n  protocol: layer2\n  addresses: [nonsense]\n'));
    assert.equal(bad.kind, 'invalid');
    if (bad.kind !== 'invalid') return;
    assert.equal(bad.repeated, false);
    assert.deepEqual(
      bad.targets.map((t) => t.kind),
      ['ConfigMap'],
    );
    assert.match(bad.targets[0]?.message ?? '', /keeping the last valid one.*nonsense/);
    assert.equal(state.stale, true);
    assert.equal(state.config?.pools[0]?.name, 'p');
    const again = state.update(inputs('address-pools:\n- name: p\n  protocol: layer2\n  addresses: [nonsense]\n'));
    assert.equal(again.kind === 'invalid' && again.repeated, true);
    const fixed = state.update(inputs(good));
    assert.equal(fixed.kind === 'applied' && fixed.recovered, true);
    assert.equal(state.stale, false);
  });

  it('sends CRD errors to the offending object', () => {
    const state = new ConfigState();
    const bad = state.update(
      inputs(undefined, [{ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'web' }, spec: { addresses: ['x'] } }]),
    );
    assert.equal(bad.kind, 'invalid');
    if (bad.kind === 'invalid')
      assert.deepEqual(
        bad.targets.map((t) => [t.kind, t.name]),
        [['IPAddressPool', 'web']],
      );
  });
});

describe('reconciler: Services with fields of the wrong type (found by npm run fuzz -- kube-objects)', () => {
  // The informer hands the controller whatever JSON the API server sends; a field of the wrong type must
  // be ignored (and named), never throw out of the work loop.
  const base = (): Record<string, unknown> => ({
    metadata: { name: 'web', namespace: 'default', annotations: { 'metallb.io/address-pool': 'p' } },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.1', ports: [{ port: 80 }] },
  });
  const hostile: [string, (o: Record<string, unknown>) => void][] = [
    [
      'spec.ports a string',
      (o) => {
        (o['spec'] as Record<string, unknown>)['ports'] = '80';
      },
    ],
    [
      'spec.ports[0] null',
      (o) => {
        (o['spec'] as Record<string, unknown>)['ports'] = [null];
      },
    ],
    [
      'an annotation a number',
      (o) => {
        (o['metadata'] as Record<string, unknown>)['annotations'] = { 'metallb.io/loadBalancerIPs': 5 };
      },
    ],
    [
      'spec.clusterIPs an object',
      (o) => {
        (o['spec'] as Record<string, unknown>)['clusterIPs'] = { a: 1 };
      },
    ],
    [
      'status.loadBalancer.ingress a number',
      (o) => {
        o['status'] = { loadBalancer: { ingress: 7 } };
      },
    ],
    [
      'status.loadBalancer.ingress[0] null',
      (o) => {
        o['status'] = { loadBalancer: { ingress: [null] } };
      },
    ],
    [
      'status.conditions a string',
      (o) => {
        o['status'] = { conditions: 'x' };
      },
    ],
    [
      'spec.selector an array',
      (o) => {
        (o['spec'] as Record<string, unknown>)['selector'] = ['a'];
        (o['spec'] as Record<string, unknown>)['externalTrafficPolicy'] = 'Local';
      },
    ],
    [
      'spec null',
      (o) => {
        o['spec'] = null;
      },
    ],
  ];
  for (const [what, mutate] of hostile) {
    it(`reconciles a Service with ${what} without throwing`, () => {
      const r = new Reconciler();
      r.setConfig(config({ name: 'p', addresses: ['10.0.0.0/30'] }));
      const svc = base();
      mutate(svc);
      const outcome = r.reconcile(svc as ServiceObject);
      assert.equal(outcome.key, 'default/web');
    });
  }
  it('readServiceObject names each ignored field', async () => {
    const { readServiceObject } = await import('../src/service.js');
    const svc = base();
    (svc['spec'] as Record<string, unknown>)['ports'] = '80';
    (svc['metadata'] as Record<string, unknown>)['annotations'] = { 'metallb.io/loadBalancerIPs': 5 };
    const read = readServiceObject(svc);
    assert.ok(read);
    assert.deepEqual(read.problems, ['metadata.annotations.metallb.io/loadBalancerIPs: not a string', 'spec.ports: not a list']);
    assert.equal(readServiceObject('nope'), undefined);
  });
});
