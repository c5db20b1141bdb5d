// ServiceL2Status: the pure plan per Service and the writer's scheduling (fake API, fake cache).
import assert from 'node:assert/strict';
import type { KubeObject } from '@l2lb/shared/kube/types';
import {
  L2StatusWriter,
  readL2Status,
  LABEL_NODE,
  LABEL_SERVICE_NAME,
  LABEL_SERVICE_NAMESPACE,
  planL2Status,
  type L2StatusApi,
  type L2StatusBody,
} from '../../src/run/l2status.js';

const obj = (name: string, node: string, svc = 'default/web', status?: L2StatusBody): KubeObject => {
  const [ns, n] = svc.split('/') as [string, string];
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'ServiceL2Status',
    metadata: { name, namespace: 'l2lb-system', labels: { [LABEL_NODE]: node, [LABEL_SERVICE_NAME]: n, [LABEL_SERVICE_NAMESPACE]: ns } },
    ...(status ? { status } : {}),
  } as KubeObject;
};
const body = (node: string, interfaces?: string[]): L2StatusBody => ({
  node,
  serviceName: 'web',
  serviceNamespace: 'default',
  ...(interfaces ? { interfaces: interfaces.map((name) => ({ name })) } : {}),
});
const cached = (...o: KubeObject[]) =>
  o.map((x) => ({
    name: x.metadata?.name as string,
    node: x.metadata?.labels?.[LABEL_NODE],
    service: 'default/web',
    status: (x as { status?: unknown }).status,
  }));

describe('ServiceL2Status plan', () => {
  it("announced, nothing yet: create with MetalLB's status (no interfaces when all are used)", () => {
    assert.deepEqual(planL2Status({ node: 'n1', service: 'default/web', announced: [], serviceExists: true, own: undefined, cached: [] }), [
      { op: 'create', service: 'default/web', status: body('n1') },
    ]);
  });

  it('announced on named interfaces: they are listed, sorted', () => {
    const [a] = planL2Status({ node: 'n1', service: 'default/web', announced: ['eth1', 'bond0'], serviceExists: true, own: undefined, cached: [] });
    assert.deepEqual(a, { op: 'create', service: 'default/web', status: body('n1', ['bond0', 'eth1']) });
  });

  it("takeover: the new owner creates its own and deletes the dead owner's", () => {
    const acts = planL2Status({
      node: 'n2',
      service: 'default/web',
      announced: [],
      serviceExists: true,
      own: undefined,
      cached: cached(obj('l2-a', 'n1', 'default/web', body('n1'))),
    });
    assert.deepEqual(
      acts.map((a) => a.op),
      ['create', 'delete'],
    );
    assert.equal(acts[1]?.op === 'delete' && acts[1].name, 'l2-a');
  });

  it('up to date: nothing; duplicates of this node are deleted', () => {
    assert.deepEqual(
      planL2Status({
        node: 'n1',
        service: 'default/web',
        announced: [],
        serviceExists: true,
        own: { name: 'l2-a', status: body('n1') },
        cached: cached(obj('l2-a', 'n1', 'default/web', body('n1'))),
      }),
      [],
    );
    const acts = planL2Status({
      node: 'n1',
      service: 'default/web',
      announced: [],
      serviceExists: true,
      own: { name: 'l2-a', status: body('n1') },
      cached: cached(obj('l2-a', 'n1'), obj('l2-b', 'n1')),
    });
    assert.deepEqual(
      acts.map((a) => a.op === 'delete' && a.name),
      ['l2-b'],
    );
  });

  it('interfaces changed: patch the status', () => {
    const acts = planL2Status({
      node: 'n1',
      service: 'default/web',
      announced: ['eth1'],
      serviceExists: true,
      own: { name: 'l2-a', status: body('n1') },
      cached: [],
    });
    assert.deepEqual(acts, [{ op: 'patchStatus', service: 'default/web', name: 'l2-a', status: body('n1', ['eth1']) }]);
  });

  it('not announced: delete ours only, unless the Service is gone (then every object for it)', () => {
    const c = cached(obj('l2-a', 'n1'), obj('l2-b', 'n2'));
    assert.deepEqual(
      planL2Status({ node: 'n1', service: 'default/web', announced: undefined, serviceExists: true, own: { name: 'l2-a', status: undefined }, cached: c }).map(
        (a) => a.op === 'delete' && a.name,
      ),
      ['l2-a'],
    );
    assert.deepEqual(planL2Status({ node: 'n3', service: 'default/web', announced: undefined, serviceExists: true, own: undefined, cached: c }), []);
    assert.deepEqual(
      planL2Status({ node: 'n3', service: 'default/web', announced: undefined, serviceExists: false, own: undefined, cached: c }).map(
        (a) => a.op === 'delete' && a.name,
      ),
      ['l2-a', 'l2-b'],
    );
  });
});

class FakeApi implements L2StatusApi {
  readonly objects = new Map<string, KubeObject>();
  readonly calls: string[] = [];
  private n = 0;
  failNext = 0;
  async create(labels: Record<string, string>): Promise<string> {
    this.calls.push('create');
    if (this.failNext-- > 0) throw new Error('boom');
    const name = `l2-${++this.n}`;
    this.objects.set(name, { metadata: { name, labels } } as KubeObject);
    return name;
  }
  async patchStatus(name: string, status: L2StatusBody): Promise<void> {
    this.calls.push(`patch ${name}`);
    const o = this.objects.get(name);
    if (!o) throw Object.assign(new Error('not found'), { code: 404 });
    this.objects.set(name, { ...o, status } as KubeObject);
  }
  async delete(name: string): Promise<void> {
    this.calls.push(`delete ${name}`);
    this.objects.delete(name);
  }
}

describe('ServiceL2Status writer', () => {
  function setup(node = 'n1', visible = true, decided: () => boolean = () => true) {
    const api = new FakeApi();
    const announced = new Map<string, string[]>();
    const exists = new Set<string>(['default/web']);
    // visible false: the watch has not delivered anything yet (the cache lags the writes).
    const writer = new L2StatusWriter({
      node,
      api,
      cache: () => (visible ? [...api.objects.values()] : []),
      serviceExists: (k) => exists.has(k),
      announced: (k) => announced.get(k),
      decided,
      retryMs: 5,
      setTimer: (fn, ms) => void setTimeout(fn, ms),
    });
    return { api, announced, exists, writer };
  }

  it("never writes inside the caller's turn (the announcement goes first)", async () => {
    const { api, announced, writer } = setup();
    writer.enable();
    announced.set('default/web', []);
    writer.changed('default/web');
    assert.deepEqual(api.calls, []);
    await writer.idle();
    assert.deepEqual(api.calls, ['create', 'patch l2-1']);
    assert.deepEqual((api.objects.get('l2-1') as { status?: unknown }).status, body('n1'));
  });

  it('repeated changes before the watch delivers the object never create a duplicate', async () => {
    const { api, announced, writer } = setup('n1', false);
    writer.enable();
    announced.set('default/web', []);
    for (let i = 0; i < 5; i++) {
      writer.changed('default/web');
      await writer.idle();
    }
    assert.equal(api.objects.size, 1);
  });

  it("adopts this node's object after a restart instead of creating another", async () => {
    const { api, announced, writer } = setup();
    api.objects.set('l2-old', obj('l2-old', 'n1', 'default/web', body('n1')));
    announced.set('default/web', []);
    writer.enable();
    writer.resyncAll(['default/web']);
    await writer.idle();
    assert.deepEqual([...api.objects.keys()], ['l2-old']);
    assert.deepEqual(api.calls, []);
  });

  it('a Service the core has not decided yet is left alone (a restarted speaker keeps its object)', async () => {
    let decided = false;
    const { api, announced, writer } = setup('n1', true, () => decided);
    api.objects.set('l2-old', obj('l2-old', 'n1', 'default/web', body('n1')));
    writer.enable();
    writer.resyncAll([]);
    await new Promise((r) => setTimeout(r, 250)); // two undecided re-checks
    assert.deepEqual(api.calls, []);
    announced.set('default/web', []);
    decided = true;
    await writer.idle();
    assert.deepEqual([...api.objects.keys()], ['l2-old']);
    assert.deepEqual(api.calls, []);
  });

  it('withdraw deletes; a Service deleted while its owner was down is cleaned by any speaker', async () => {
    const { api, announced, exists, writer } = setup();
    writer.enable();
    announced.set('default/web', []);
    writer.changed('default/web');
    await writer.idle();
    announced.delete('default/web');
    writer.changed('default/web');
    await writer.idle();
    assert.equal(api.objects.size, 0);
    api.objects.set('l2-x', obj('l2-x', 'dead-node'));
    exists.delete('default/web');
    writer.resyncAll([]);
    await writer.idle();
    assert.equal(api.objects.size, 0);
  });

  it('a failed write is retried', async () => {
    const { api, announced, writer } = setup();
    api.failNext = 1;
    writer.enable();
    announced.set('default/web', []);
    writer.changed('default/web');
    const deadline = Date.now() + 5000;
    while (api.objects.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(api.objects.size, 1);
  });

  it('ours deleted by someone else is created again', async () => {
    const { api, announced, writer } = setup();
    writer.enable();
    announced.set('default/web', []);
    writer.changed('default/web');
    await writer.idle();
    const gone = api.objects.get('l2-1') as KubeObject;
    api.objects.delete('l2-1');
    writer.cacheDeleted(gone);
    await writer.idle();
    assert.deepEqual([...api.objects.keys()], ['l2-2']);
  });

  it('with a per-Service index (cacheOf), a write reads only its Service, never the whole cache', async () => {
    const api = new FakeApi();
    let fullScans = 0;
    const announced = new Map<string, string[]>([['default/web', []]]);
    const writer = new L2StatusWriter({
      node: 'n1',
      api,
      cache: () => {
        fullScans++;
        return [...api.objects.values()];
      },
      cacheOf: (key) => [...api.objects.values()].filter((o) => readL2Status(o)?.service === key),
      serviceExists: () => true,
      announced: (k) => announced.get(k),
      decided: () => true,
    });
    writer.enable();
    const afterEnable = fullScans;
    for (let i = 0; i < 5; i++) {
      writer.changed('default/web');
      await writer.idle();
    }
    assert.equal(fullScans, afterEnable);
    assert.deepEqual([...api.objects.keys()], ['l2-1'], 'still one object, found through the index');
  });
});
