// Passes over every Service (membership, Node, configuration changes) must not block the event loop:
// with 5 000 Services and 50 nodes one pass costs ~0.5 s of SHA-256 (election order per Service),
// longer than the fast memberlist profile's suspicion timeout (~270 ms at 50 members) — the speaker
// would be declared dead by its peers while it works, refute, and make every peer run a pass too.
// So the process runs passes in slices (yielding between them) and coalesces a burst of changes.
// Counted, not timed: decisions per slice and per burst.
import assert from 'node:assert/strict';
import { SpeakerCore, type CoreAnnouncer, type SpeakerCoreOptions } from '../../src/run/core.js';

const POOL_YAML = 'address-pools:\n- name: p\n  protocol: layer2\n  addresses:\n  - 10.0.0.0/16\n';

class Announcer implements CoreAnnouncer {
  readonly ips = new Set<string>();
  announce(ip: string): void {
    this.ips.add(ip);
  }
  withdraw(ip: string): void {
    this.ips.delete(ip);
  }
  interfaces(): string[] {
    return ['eth0'];
  }
}

function setup(services: number) {
  const queue: (() => void)[] = [];
  let decisions = 0;
  const announcer = new Announcer();
  const options = {
    node: 'me',
    announcer,
    logger: {
      debug: (m: string) => {
        if (m === 'not announcing') decisions++;
      },
      info() {},
      warn() {},
      error() {},
    },
    defer: (fn: () => void) => queue.push(fn),
    passSlice: 200,
  };
  const core = new SpeakerCore(options as SpeakerCoreOptions);
  const nodes = Array.from({ length: 10 }, (_, i) => `n${i}`);
  for (const n of [...nodes, 'me']) core.upsertNode({ metadata: { name: n } });
  core.setMembers(nodes); // 'me' is not a member yet: every decision is "not announcing"
  core.setConfig({ configMapText: POOL_YAML, resources: [] });
  for (let i = 0; i < services; i++) {
    core.upsertSlice({
      metadata: { name: `s${i}-x`, namespace: 'd', labels: { 'kubernetes.io/service-name': `s${i}` } },
      endpoints: [{ nodeName: 'n1', conditions: { ready: true } }],
    });
    core.upsertService({
      metadata: { name: `s${i}`, namespace: 'd' },
      spec: { type: 'LoadBalancer' },
      status: { loadBalancer: { ingress: [{ ip: `10.0.${i >> 8}.${i & 255}` }] } },
    });
  }
  const drain = (): number[] => {
    const perSlice: number[] = [];
    while (queue.length > 0) {
      const before = decisions;
      (queue.shift() as () => void)();
      perSlice.push(decisions - before);
    }
    return perSlice;
  };
  return { core, nodes, announcer, queue, drain, decisions: () => decisions };
}

describe('speaker core: passes over all Services yield and coalesce', () => {
  it('a membership change returns at once; the pass runs in slices of at most 200 Services', () => {
    const t = setup(1000);
    t.core.markSynced();
    t.drain();
    const start = t.decisions();
    t.core.setMembers([...t.nodes, 'n-new']);
    assert.equal(t.decisions() - start, 0, 'no Service is decided inside the memberlist callback');
    const slices = t.drain();
    assert.ok(slices.length >= 5 && slices.every((n) => n <= 200), `slices: ${slices.join(',')}`);
    assert.equal(t.decisions() - start, 1000, 'every Service decided once');
  });

  it('a burst of 20 membership changes costs one pass, not twenty', () => {
    const t = setup(1000);
    t.core.markSynced();
    t.drain();
    const start = t.decisions();
    for (let i = 0; i < 20; i++) t.core.setMembers(i % 2 ? t.nodes : [...t.nodes, 'n-new']);
    t.drain();
    assert.equal(t.decisions() - start, 1000);
  });

  it('changes during a pass are still applied to every Service (no Service starves or keeps a stale decision)', () => {
    const t = setup(600);
    t.core.markSynced();
    t.drain();
    t.core.setMembers([...t.nodes, 'me']); // 'me' joins: it wins some IPs
    (t.queue.shift() as () => void)(); // one slice done
    t.core.setMembers(t.nodes); // and leaves again mid-pass
    t.drain();
    assert.equal(t.announcer.ips.size, 0, 'nothing announced once the pass is over');
    assert.deepEqual([...t.core.announcements()], []);
  });

  it('an announcer that throws for one Service does not stop the pass, nor escape the memberlist callback', () => {
    let broken = true;
    for (const deferred of [true, false]) {
      const errors: string[] = [];
      const queue: (() => void)[] = [];
      const announced = new Set<string>();
      const core = new SpeakerCore({
        node: 'me',
        announcer: {
          announce(ip: string) {
            if (broken && ip === '10.0.0.1') throw new Error('EPERM');
            announced.add(ip);
          },
          withdraw(ip: string) {
            announced.delete(ip);
          },
          interfaces: () => ['eth0'],
        },
        logger: { debug() {}, info() {}, warn() {}, error: (m: string, meta?: Record<string, unknown>) => errors.push(`${m} ${String(meta?.['service'])}`) },
        ...(deferred ? { defer: (fn: () => void) => queue.push(fn) } : {}),
      });
      core.upsertNode({ metadata: { name: 'me' } });
      core.setConfig({ configMapText: POOL_YAML, resources: [] });
      for (let i = 0; i < 3; i++) {
        core.upsertSlice({ metadata: { name: `s${i}-x`, namespace: 'd', labels: { 'kubernetes.io/service-name': `s${i}` } }, endpoints: [{ nodeName: 'me' }] });
        core.upsertService({
          metadata: { name: `s${i}`, namespace: 'd' },
          spec: { type: 'LoadBalancer' },
          status: { loadBalancer: { ingress: [{ ip: `10.0.0.${i}` }] } },
        });
      }
      core.markSynced();
      core.setMembers(['me']); // a memberlist callback
      while (queue.length > 0) (queue.shift() as () => void)();
      assert.deepEqual([...announced].sort(), ['10.0.0.0', '10.0.0.2'], `deferred ${deferred}`);
      assert.ok(
        errors.some((e) => /EPERM/.test(e) && e.endsWith('d/s1')),
        errors.join('; '),
      );
      // The failed Service left no reference behind: once it is gone, the next user of its IP is the last.
      core.deleteService({ metadata: { name: 's1', namespace: 'd' } });
      broken = false;
      core.upsertSlice({ metadata: { name: 's9-x', namespace: 'd', labels: { 'kubernetes.io/service-name': 's9' } }, endpoints: [{ nodeName: 'me' }] });
      core.upsertService({
        metadata: { name: 's9', namespace: 'd', annotations: { 'metallb.io/allow-shared-ip': 'k' } },
        spec: { type: 'LoadBalancer' },
        status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } },
      });
      while (queue.length > 0) (queue.shift() as () => void)(); // with a deferral, updates are decided in the pass
      assert.ok(announced.has('10.0.0.1'));
      core.deleteService({ metadata: { name: 's9', namespace: 'd' } });
      while (queue.length > 0) (queue.shift() as () => void)();
      assert.ok(!announced.has('10.0.0.1'), `deferred ${deferred}: 10.0.0.1 still announced for a Service that failed and was deleted`);
      broken = true;
    }
  });

  it('shutdown() drops the pending pass', () => {
    const t = setup(600);
    t.core.markSynced();
    t.core.setMembers([...t.nodes, 'me']);
    t.core.shutdown();
    t.drain();
    assert.equal(t.announcer.ips.size, 0);
  });
});
