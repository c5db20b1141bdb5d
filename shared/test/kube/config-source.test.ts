// The configuration source on fake informers, fake discovery and a manual clock: what it watches, when
// CRs count, the snapshots (applied / invalid keeps the last valid / no pool and why), the CRD re-check,
// a further ConfigMap (metallb-excludel2) and the verdict ConfigurationState reports.
import assert from 'node:assert/strict';
import { CONFIGMAP_NAME, ConfigSource, type ObjectCache, type ObjectCacheSpec } from '../../src/kube/config-source.js';
import { ManualClock } from './manual-clock.js';
import type { KubeObject } from '../../src/kube/types.js';

const NS = 'l2lb-system';

class FakeCache implements ObjectCache {
  readonly objects = new Map<string, KubeObject>();
  synced = false;
  started = false;
  stopped = false;
  private readonly handlers: Record<'add' | 'update' | 'delete', ((o: KubeObject) => void)[]> = { add: [], update: [], delete: [] };
  private syncWaiters: (() => void)[] = [];
  constructor(readonly spec: ObjectCacheSpec) {}
  on(event: 'add' | 'update' | 'delete', handler: (obj: KubeObject) => void): this {
    this.handlers[event].push(handler);
    return this;
  }
  get(name: string): KubeObject | undefined {
    return this.objects.get(name);
  }
  list(): KubeObject[] {
    return [...this.objects.values()];
  }
  get size(): number {
    return this.objects.size;
  }
  start(): void {
    this.started = true;
  }
  waitForSync(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  sync(): void {
    this.synced = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }
  put(o: KubeObject): void {
    const name = o.metadata?.name ?? '';
    const had = this.objects.has(name);
    this.objects.set(name, o);
    for (const h of this.handlers[had ? 'update' : 'add']) h(o);
  }
  remove(name: string): void {
    const o = this.objects.get(name);
    if (o === undefined) return;
    this.objects.delete(name);
    for (const h of this.handlers.delete) h(o);
  }
}

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function configMap(text: string, name = CONFIGMAP_NAME): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, uid: `uid-${name}` }, data: { config: text } };
}
const POOL_A = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.0/28]\n';
const BROKEN = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [not-an-ip]\n';
function pool(name: string, addresses: string[]): KubeObject {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: NS }, spec: { addresses } };
}

interface Harness {
  source: ConfigSource;
  caches: Map<string, FakeCache>;
  clock: ManualClock;
  discovery: { served: boolean | Error; asked: number };
  changes: { count: number };
}

function harness(served: boolean | Error, recheckMs = 30_000): Harness {
  const caches = new Map<string, FakeCache>();
  const clock = new ManualClock();
  const discovery = { served, asked: 0 };
  const changes = { count: 0 };
  const source = new ConfigSource({
    namespace: NS,
    logger: quiet,
    crdRecheckMs: recheckMs,
    timers: clock,
    servesCrds: async () => {
      discovery.asked += 1;
      if (discovery.served instanceof Error) throw discovery.served;
      return discovery.served;
    },
    createCache: (spec) => {
      const cache = new FakeCache(spec);
      caches.set(spec.name, cache);
      return cache;
    },
  });
  source.onChange(() => {
    changes.count += 1;
  });
  return { source, caches, clock, discovery, changes };
}

async function startSynced(h: Harness): Promise<void> {
  await h.source.start();
  const synced = h.source.waitForSync();
  for (const c of h.caches.values()) c.sync();
  await synced;
}

describe('ConfigSource (fake informers, manual clock)', () => {
  it('watches the pool ConfigMap by name and both CR kinds in the namespace when the CRDs are served', async () => {
    const h = harness(true);
    await startSynced(h);
    assert.deepEqual([...h.caches.keys()].sort(), ['configmap', 'ipaddresspools', 'l2advertisements']);
    assert.equal(h.caches.get('configmap')?.spec.fieldSelector, 'metadata.name=config');
    for (const c of h.caches.values()) {
      assert.equal(c.spec.namespace, NS);
      assert.equal(c.started, true);
    }
    assert.equal(h.source.watchingCrds, true);
    assert.equal(h.source.crdsSynced, true);
  });

  it('a valid ConfigMap is applied once; the same text again is unchanged; invalid keeps the last valid and reports it once', async () => {
    const h = harness(true);
    await startSynced(h);
    h.caches.get('configmap')?.put(configMap(POOL_A));
    assert.equal(h.changes.count, 1);
    const first = h.source.evaluate();
    assert.equal(first.kind, 'applied');
    assert.equal(first.kind === 'applied' && first.config.pools[0]?.name, 'a');
    assert.equal(h.source.evaluate().kind, 'unchanged');
    h.caches.get('configmap')?.put(configMap(BROKEN));
    const bad = h.source.evaluate();
    assert.equal(bad.kind, 'invalid');
    assert.equal(bad.kind === 'invalid' && bad.repeated, false);
    assert.match(bad.kind === 'invalid' ? bad.message : '', /not-an-ip/);
    assert.equal(h.source.stale, true);
    assert.equal(h.source.config?.pools[0]?.name, 'a', 'the last valid configuration stays');
    const again = h.source.evaluate();
    assert.equal(again.kind === 'invalid' && again.repeated, true);
    h.caches.get('configmap')?.put(configMap(POOL_A));
    const back = h.source.evaluate();
    assert.equal(back.kind === 'applied' && back.recovered, true);
    assert.equal(h.source.stale, false);
  });

  it('no ConfigMap and no CR is "no configuration", saying whether the CRDs are served; a ConfigMap without pools says that', async () => {
    const served = harness(true);
    await startSynced(served);
    const none = served.source.evaluate();
    assert.equal(none.kind, 'applied');
    assert.equal(none.noPool, `there is no ConfigMap ${NS}/config and no IPAddressPool`);
    served.caches.get('configmap')?.put(configMap('address-pools: []\n'));
    assert.equal(served.source.evaluate().noPool, 'the configuration defines no address pool');

    const notServed = harness(false);
    await startSynced(notServed);
    assert.equal(notServed.source.evaluate().noPool, `there is no ConfigMap ${NS}/config and the metallb.io CRDs are not served`);
    assert.equal(notServed.source.verdict().result, 'Valid');
    assert.match(notServed.source.verdict().noConfiguration ?? '', /CRDs are not served/);
  });

  it('CR events before the CR informers synced neither count nor signal a change (never a half-listed set)', async () => {
    const h = harness(true);
    await h.source.start();
    const synced = h.source.waitForSync();
    h.caches.get('ipaddresspools')?.put(pool('p1', ['192.0.2.0/28']));
    assert.equal(h.changes.count, 0);
    assert.equal(h.source.evaluate().noPool !== undefined, true, 'the CRs do not count yet');
    for (const c of h.caches.values()) c.sync();
    await synced;
    const after = h.source.evaluate();
    assert.equal(after.kind === 'applied' && after.config.pools.map((p) => p.name).join(), 'p1');
    h.caches.get('ipaddresspools')?.put(pool('p2', ['192.0.2.64/28']));
    assert.equal(h.changes.count, 1);
  });

  it('without the CRDs it asks discovery again every crdRecheckMs and watches the CRs once they are served and synced', async () => {
    const h = harness(false, 5000);
    await startSynced(h);
    assert.equal(h.source.watchingCrds, false);
    assert.equal(h.discovery.asked, 1);
    h.clock.advance(4999);
    assert.equal(h.discovery.asked, 1);
    h.clock.advance(1);
    await h.source.settled();
    assert.equal(h.discovery.asked, 2);
    assert.equal(h.source.watchingCrds, false);
    h.discovery.served = new Error('connection refused'); // a failed re-check is asked again later, too
    h.clock.advance(5000);
    await h.source.settled();
    assert.equal(h.discovery.asked, 3);
    h.discovery.served = true;
    h.clock.advance(5000);
    await h.source.settled();
    assert.equal(h.source.watchingCrds, true);
    assert.equal(h.source.crdsSynced, false);
    assert.equal(h.caches.get('ipaddresspools')?.started, true);
    h.caches.get('ipaddresspools')?.put(pool('late', ['192.0.2.0/28']));
    assert.equal(h.changes.count, 0);
    h.caches.get('ipaddresspools')?.sync();
    h.caches.get('l2advertisements')?.sync();
    await flush();
    assert.equal(h.source.crdsSynced, true);
    assert.equal(h.changes.count, 1, 'the synced CRs are announced as one change');
    const snap = h.source.evaluate();
    assert.equal(snap.kind === 'applied' && snap.config.pools[0]?.name, 'late');
    assert.equal(h.clock.pending, 0, 'no more re-checks once watching');
  });

  it('retries discovery at start until the API server answers, one second apart', async () => {
    const h = harness(new Error('ECONNREFUSED'));
    const started = h.source.start();
    await flush();
    assert.equal(h.discovery.asked, 1);
    h.discovery.served = true;
    h.clock.advance(999);
    await flush();
    assert.equal(h.discovery.asked, 1);
    h.clock.advance(1);
    await started;
    assert.equal(h.discovery.asked, 2);
    assert.equal(h.source.watchingCrds, true);
  });

  it('stop() stops every informer and cancels the re-check', async () => {
    const h = harness(false);
    await startSynced(h);
    assert.equal(h.clock.pending, 1);
    await h.source.stop();
    assert.equal(h.clock.pending, 0);
    for (const c of h.caches.values()) assert.equal(c.stopped, true);
  });

  it('a further ConfigMap is parsed on every event; refused content keeps the last value and counts in the verdict until fixed', async () => {
    const h = harness(true);
    const readings: string[] = [];
    const verdicts: string[] = [];
    h.source.onVerdict((v) => verdicts.push(`${v.result}:${v.errorSummary}`));
    h.source.watchConfigMap(
      'metallb-excludel2',
      (cm) => {
        const text = (cm?.['data'] as Record<string, string> | undefined)?.['excludel2.yaml'];
        return text === 'bad' ? { ok: false, error: 'ConfigMap l2lb-system/metallb-excludel2: bad list' } : { ok: true, value: text ?? 'default' };
      },
      (r) => readings.push(r.kind === 'valid' ? `valid ${r.value}` : `invalid repeated=${r.repeated}`),
    );
    await startSynced(h);
    assert.equal(h.caches.get('metallb-excludel2')?.spec.fieldSelector, 'metadata.name=metallb-excludel2');
    h.caches.get('configmap')?.put(configMap(POOL_A));
    h.source.evaluate();
    const ex = (data: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'metallb-excludel2', namespace: NS },
      data: { 'excludel2.yaml': data },
    });
    h.caches.get('metallb-excludel2')?.put(ex('^eth9$'));
    h.caches.get('metallb-excludel2')?.put(ex('bad'));
    h.caches.get('metallb-excludel2')?.put(ex('bad'));
    assert.equal(h.changes.count, 1, 'a further ConfigMap does not signal a pool configuration change');
    assert.deepEqual(h.source.verdict(), { result: 'Invalid', errorSummary: 'ConfigMap l2lb-system/metallb-excludel2: bad list' });
    h.caches.get('configmap')?.put(configMap(BROKEN));
    h.source.evaluate();
    assert.equal(h.source.verdict().errorSummary.split('\n').length, 2, 'both refused sources are summarised');
    h.caches.get('configmap')?.put(configMap(POOL_A));
    h.source.evaluate();
    h.caches.get('metallb-excludel2')?.remove('metallb-excludel2');
    assert.deepEqual(readings, ['valid ^eth9$', 'invalid repeated=false', 'invalid repeated=true', 'valid default']);
    assert.deepEqual(h.source.verdict(), { result: 'Valid', errorSummary: '' });
    assert.deepEqual(
      verdicts.map((v) => v.split(':')[0]),
      ['Valid', 'Invalid', 'Invalid', 'Invalid', 'Valid'],
    );
  });

  it('object() finds the live ConfigMap and, once synced, the CRs (Events carry their uid)', async () => {
    const h = harness(true);
    await startSynced(h);
    h.caches.get('configmap')?.put(configMap(POOL_A));
    h.caches.get('ipaddresspools')?.put(pool('p1', ['192.0.2.0/28']));
    assert.equal(h.source.object('ConfigMap', undefined)?.metadata?.uid, 'uid-config');
    assert.equal(h.source.object('IPAddressPool', 'p1')?.metadata?.name, 'p1');
    assert.equal(h.source.object('L2Advertisement', 'nope'), undefined);
    const pools: string[] = [];
    h.source.onPoolObject((p) => pools.push(p));
    h.caches.get('ipaddresspools')?.put(pool('p1', ['192.0.2.16/28']));
    assert.deepEqual(pools, ['p1']);
  });
});
