// A relist of 10 000 Services (a forced one every 10 s in the busy benchmark) hands the core every
// changed Service in one synchronous loop. Deciding (and parsing) each one inside that loop blocked
// the speaker's event loop for seconds: memberlist acks and ARP replies waited, peers declared the
// speaker dead (npm run bench -- busy, docs/decisions.md). With a deferral the core only notes the
// object and decides it in the deferred pass, whose tasks stop after a time budget.
// Counted with a fake clock and a fake deferral, not timed.
import assert from 'node:assert/strict';
import { SpeakerCore, type CoreAnnouncer, type SpeakerCoreOptions } from '../../src/run/core.js';

const POOL_YAML = 'address-pools:\n- name: p\n  protocol: layer2\n  addresses:\n  - 10.0.0.0/16\n';

class Announcer implements CoreAnnouncer {
  readonly ips = new Set<string>();
  calls = 0;
  announce(ip: string): void {
    this.calls += 1;
    this.ips.add(ip);
  }
  withdraw(ip: string): void {
    this.calls += 1;
    this.ips.delete(ip);
  }
  interfaces(): string[] {
    return ['eth0'];
  }
}

const svc = (i: number, extra: Record<string, unknown> = {}): unknown => ({
  metadata: { name: `s${i}`, namespace: 'd', ...extra },
  spec: { type: 'LoadBalancer' },
  status: { loadBalancer: { ingress: [{ ip: `10.0.${i >> 8}.${i & 255}` }] } },
});

function setup(o: { budgetMs?: number; msPerCall?: number } = {}) {
  const queue: (() => void)[] = [];
  const announcer = new Announcer();
  let clock = 0;
  let warnings: string[] = [];
  const options = {
    node: 'me',
    announcer,
    logger: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} },
    defer: (fn: () => void) => queue.push(fn),
    // Each reading of the clock advances it: a decision costs msPerCall.
    now: () => (clock += o.msPerCall ?? 0),
    ...(o.budgetMs !== undefined ? { passBudgetMs: o.budgetMs } : {}),
    passSlice: 1000,
  };
  const core = new SpeakerCore(options as SpeakerCoreOptions);
  core.upsertNode({ metadata: { name: 'me' } });
  core.setMembers(['me']);
  core.setConfig({ configMapText: POOL_YAML, resources: [] });
  const drain = (): number => {
    let tasks = 0;
    while (queue.length > 0) {
      (queue.shift() as () => void)();
      tasks += 1;
    }
    return tasks;
  };
  return {
    core,
    announcer,
    queue,
    drain,
    warnings: () => warnings,
    clearWarnings: () => {
      warnings = [];
    },
  };
}

describe('speaker core: updates while active are decided in the deferred pass', () => {
  it('2 000 Service updates in one loop take no decision inline; the deferred pass decides each once', () => {
    const t = setup();
    for (let i = 0; i < 2000; i++) {
      t.core.upsertSlice({
        metadata: { name: `s${i}-x`, namespace: 'd', labels: { 'kubernetes.io/service-name': `s${i}` } },
        endpoints: [{ nodeName: 'me', conditions: { ready: true } }],
      });
    }
    t.core.markSynced();
    t.drain();
    const before = t.announcer.calls;
    for (let i = 0; i < 2000; i++) t.core.upsertService(svc(i));
    assert.equal(t.announcer.calls, before, 'no Service decided inside the informer loop');
    assert.equal(t.core.decided('d/s0'), false);
    assert.equal(t.core.hasService('d/s0'), true, 'a noted Service exists for the status writer');
    t.drain();
    assert.equal(t.announcer.ips.size, 2000);
    assert.equal(t.core.decided('d/s0'), true);
  });

  it('the newest object wins, a delete before the pass drops the noted update, and bad fields are still logged', () => {
    const t = setup();
    t.core.upsertSlice({
      metadata: { name: 's1-x', namespace: 'd', labels: { 'kubernetes.io/service-name': 's1' } },
      endpoints: [{ nodeName: 'me', conditions: { ready: true } }],
    });
    t.core.upsertSlice({
      metadata: { name: 's2-x', namespace: 'd', labels: { 'kubernetes.io/service-name': 's2' } },
      endpoints: [{ nodeName: 'me', conditions: { ready: true } }],
    });
    t.core.markSynced();
    t.drain();
    t.core.upsertService(svc(1));
    t.core.upsertService({ ...(svc(1) as object), spec: { type: 'ClusterIP' } });
    t.core.upsertService(svc(2, { labels: 'garbage' }));
    t.core.deleteService(svc(2));
    t.drain();
    assert.deepEqual([...t.announcer.ips], [], 's1 is ClusterIP in its newest version; s2 was deleted');
    assert.equal(t.core.hasService('d/s2'), false);
    t.core.upsertService(svc(3, { labels: 'garbage' }));
    t.drain();
    assert.ok(t.warnings().includes('Service has unusable fields'), JSON.stringify(t.warnings()));
  });

  it('a deferred task stops once its time budget is spent', () => {
    const t = setup({ budgetMs: 5, msPerCall: 1 });
    for (let i = 0; i < 200; i++) {
      t.core.upsertSlice({
        metadata: { name: `s${i}-x`, namespace: 'd', labels: { 'kubernetes.io/service-name': `s${i}` } },
        endpoints: [{ nodeName: 'me', conditions: { ready: true } }],
      });
    }
    t.core.markSynced();
    t.drain();
    for (let i = 0; i < 200; i++) t.core.upsertService(svc(i));
    const tasks = t.drain();
    // 1 ms per clock reading, 5 ms budget: a handful of Services per task, never all 200 at once.
    assert.ok(tasks >= 200 / 6, `${tasks} tasks for 200 Services`);
    assert.equal(t.announcer.ips.size, 200);
  });
});
