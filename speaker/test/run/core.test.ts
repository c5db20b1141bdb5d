import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { electionOrder } from '../../src/election/election.js';
import { SpeakerCore, type CoreAnnouncer, type CoreTimers } from '../../src/run/core.js';
import { parseEndpointSlice, parseNode, parseService } from '../../src/run/views.js';

const POOL_YAML = `address-pools:
- name: lab
  protocol: layer2
  addresses:
  - 10.213.0.200-10.213.0.249
`;
const IP = '10.213.0.200';
const NODES = ['n1', 'n2', 'n3'];
/** The node electionOrder() picks for IP among n1..n3, and the runner-up. */
const ORDER = electionOrder(NODES, IP);
const WINNER = ORDER[0] as string;

class FakeAnnouncer implements CoreAnnouncer {
  ips = new Map<string, readonly string[]>();
  calls: string[] = [];
  ifs = ['eth0', 'eth1'];
  announce(ip: string, interfaces: readonly string[]): void {
    if (!this.ips.has(ip)) this.calls.push(`announce ${ip}`);
    this.ips.set(ip, [...interfaces]);
  }
  withdraw(ip: string): void {
    this.calls.push(`withdraw ${ip}`);
    this.ips.delete(ip);
  }
  reassert(ip: string): void {
    this.calls.push(`reassert ${ip}`);
  }
  interfaces(): string[] {
    return this.ifs;
  }
}

class FakeTimers implements CoreTimers {
  pending = new Map<number, { fn: () => void; at: number }>();
  now = 0;
  private id = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    this.pending.set(++this.id, { fn, at: this.now + ms });
    return this.id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.pending]) {
      if (t.at <= this.now) {
        this.pending.delete(id);
        t.fn();
      }
    }
  }
}

interface LogLine {
  level: string;
  msg: string;
  meta: Record<string, unknown> | undefined;
}

function svc(
  name: string,
  opts: { ips?: unknown; type?: string; lbClass?: string; labels?: Record<string, string>; annotations?: Record<string, string>; status?: unknown } = {},
): unknown {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: opts.labels ?? {}, annotations: opts.annotations ?? {} },
    spec: { type: opts.type ?? 'LoadBalancer', ...(opts.lbClass ? { loadBalancerClass: opts.lbClass } : {}) },
    status: opts.status ?? { loadBalancer: { ingress: ((opts.ips ?? [IP]) as string[]).map((ip) => ({ ip })) } },
  };
}

function slice(service: string, endpoints: { nodeName?: string; ready?: boolean }[] = [{ nodeName: 'n1', ready: true }], name = `${service}-abc`): unknown {
  return {
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    endpoints: endpoints.map((e) => ({ nodeName: e.nodeName, conditions: { ready: e.ready } })),
  };
}

const node = (name: string, labels: Record<string, string> = {}): unknown => ({ metadata: { name, labels }, status: { conditions: [] } });

function setup(me: string, opts: { gated?: boolean; lbClass?: string; interfaces?: string[] } = {}) {
  const announcer = new FakeAnnouncer();
  const timers = new FakeTimers();
  const registry = new Registry();
  const logs: LogLine[] = [];
  const events: { name: string; type: string; reason: string; message: string }[] = [];
  const log = (level: string) => (msg: string, meta?: Record<string, unknown>) => logs.push({ level, msg, meta });
  const core = new SpeakerCore({
    node: me,
    announcer,
    registry,
    timers,
    gated: opts.gated ?? false,
    startupGraceMs: 3000,
    lbClass: opts.lbClass ?? '',
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    event: (s, type, reason, message) => events.push({ name: s.name, type, reason, message }),
  });
  core.start();
  for (const n of NODES) core.upsertNode(node(n));
  core.setMembers(NODES);
  core.setConfig({ configMapText: POOL_YAML, resources: [] });
  core.markSynced();
  const withdrawn = () => logs.filter((l) => l.msg === 'withdrawn').map((l) => l.meta?.['reason']);
  const announcing = () => logs.filter((l) => l.msg === 'announcing');
  const gauge = async () =>
    (await registry.getSingleMetricAsString('l2lb_speaker_announced')).split('\n').filter((l) => l.startsWith('l2lb_speaker_announced{'));
  return { core, announcer, timers, logs, events, withdrawn, announcing, gauge, registry };
}

function withService(t: ReturnType<typeof setup>, name = 'web', opts: Parameters<typeof svc>[1] = {}): void {
  t.core.upsertSlice(slice(name));
  t.core.upsertService(svc(name, opts));
}

describe('speaker core (fake announcer and clock)', () => {
  it('the winner announces once: log, one nodeAssigned event, the gauge; reconciles do not repeat them', async () => {
    const t = setup(WINNER);
    withService(t);
    assert.deepEqual([...t.announcer.ips.keys()], [IP]);
    assert.equal(t.announcing().length, 1);
    assert.deepEqual(t.announcing()[0]?.meta?.['ips'], [IP]);
    assert.equal(t.announcing()[0]?.meta?.['node'], WINNER);
    assert.deepEqual(t.events, [{ name: 'web', type: 'Normal', reason: 'nodeAssigned', message: `announcing from node "${WINNER}" with protocol "layer2"` }]);
    assert.deepEqual(await t.gauge(), [`l2lb_speaker_announced{service="default/web",protocol="layer2",node="${WINNER}",ip="${IP}"} 1`]);
    t.core.upsertService(svc('web', { labels: { touched: 'yes' } }));
    t.core.setMembers([...NODES, 'n4-not-a-node']);
    assert.equal(t.announcing().length, 1);
    assert.equal(t.events.length, 1);
  });

  it('the others do not announce', () => {
    for (const other of ORDER.slice(1)) {
      const t = setup(other);
      withService(t);
      assert.equal(t.announcer.ips.size, 0);
      assert.equal(t.events.length, 0);
    }
  });

  it('losing: member leaves → notOwner, then the runner-up takes over', async () => {
    const t = setup(WINNER);
    const next = setup(ORDER[1] as string);
    for (const x of [t, next]) withService(x);
    const rest = NODES.filter((n) => n !== WINNER);
    next.core.setMembers(rest);
    assert.deepEqual([...next.announcer.ips.keys()], [IP]);
    t.core.setMembers(rest);
    assert.deepEqual(t.withdrawn(), ['notOwner']);
    assert.equal(t.announcer.ips.size, 0);
    assert.deepEqual(await t.gauge(), [], 'series removed on withdraw');
  });

  it('split and heal: the owner re-sends gratuitous ARP when the other side rejoins; the other side withdraws, once', () => {
    const RUNNER = ORDER[1] as string;
    const owner = setup(WINNER);
    const other = setup(RUNNER);
    for (const t of [owner, other]) withService(t);
    // The split: each side holds the other dead.
    owner.core.setMembers([WINNER]);
    other.core.setMembers(NODES.filter((n) => n !== WINNER));
    assert.deepEqual(owner.announcer.calls, [`announce ${IP}`], 'the owner keeps the IP, no burst for a member leaving');
    assert.deepEqual(other.announcer.calls, [`announce ${IP}`], 'the runner-up takes the IP during the split');
    // The heal: both see all three again.
    for (const t of [owner, other]) t.core.setMembers(NODES);
    assert.deepEqual(owner.announcer.calls, [`announce ${IP}`, `reassert ${IP}`]);
    assert.deepEqual(other.announcer.calls, [`announce ${IP}`, `withdraw ${IP}`], 'the loser withdraws and never re-asserts');
    // A reconcile later (no membership change) does not burst again.
    owner.core.upsertService(svc('web', { labels: { touched: 'yes' } }));
    assert.equal(owner.announcer.calls.filter((c) => c.startsWith('reassert')).length, 1);
  });

  it('losing: the endpoint goes, the config changes, the Service is deleted, the type changes, the class changes', () => {
    const cases: [string, (t: ReturnType<typeof setup>) => void, string][] = [
      ['endpoint not ready', (t) => t.core.upsertSlice(slice('web', [{ nodeName: 'n1', ready: false }])), 'notOwner'],
      ['slice deleted', (t) => t.core.deleteSlice(slice('web')), 'notOwner'],
      [
        'config without the pool',
        (t) => t.core.setConfig({ configMapText: POOL_YAML.replace('10.213.0.200-10.213.0.249', '10.99.0.0/24'), resources: [] }),
        'ipNotAllowed',
      ],
      ['service deleted', (t) => t.core.deleteService(svc('web')), 'serviceDeleted'],
      ['ClusterIP', (t) => t.core.upsertService(svc('web', { type: 'ClusterIP' })), 'notLoadBalancer'],
      ['status emptied', (t) => t.core.upsertService(svc('web', { ips: [] })), 'noIPAllocated'],
      ['other class', (t) => t.core.upsertService(svc('web', { lbClass: 'other' })), 'otherLoadBalancerClass'],
      ['node excluded', (t) => t.core.upsertNode(node(WINNER, { 'node.kubernetes.io/exclude-from-external-load-balancers': '' })), 'notOwner'],
    ];
    for (const [what, change, reason] of cases) {
      const t = setup(WINNER);
      withService(t);
      change(t);
      assert.deepEqual(t.withdrawn(), [reason], what);
      assert.equal(t.announcer.ips.size, 0, what);
      assert.equal(t.logs.filter((l) => l.msg === 'withdrawn')[0]?.meta?.['service'], 'default/web');
    }
  });

  it('endpoints from several slices count together; a relabelled slice moves to its new Service', () => {
    const t = setup(WINNER);
    t.core.upsertSlice(slice('web', [{ nodeName: 'n2', ready: false }], 'web-a'));
    t.core.upsertSlice(slice('web', [{ nodeName: 'n1', ready: true }], 'web-b'));
    t.core.upsertService(svc('web'));
    assert.equal(t.announcer.ips.size, 1);
    t.core.upsertSlice(slice('other', [{ nodeName: 'n1', ready: true }], 'web-b')); // the ready slice now belongs to 'other'
    assert.deepEqual(t.withdrawn(), ['notOwner']);
    t.core.upsertSlice(slice('web', [{ nodeName: 'n2', ready: true }], 'web-a'));
    assert.equal(t.announcer.ips.size, 1);
  });

  it('an IP change withdraws the old IP first, then announces the new one', () => {
    // A new IP this node also wins, so both steps are visible.
    const other = Array.from({ length: 49 }, (_, i) => `10.213.0.${201 + i}`).find((ip) => electionOrder(NODES, ip)[0] === WINNER) as string;
    const t = setup(WINNER);
    withService(t);
    t.announcer.calls = [];
    t.core.upsertService(svc('web', { ips: [other] }));
    assert.deepEqual(t.announcer.calls, [`withdraw ${IP}`, `announce ${other}`]);
    assert.deepEqual(t.withdrawn(), ['loadBalancerIPChanged']);
    assert.equal(t.announcing().length, 2);
  });

  it('shared IPs are reference-counted across Services', () => {
    const t = setup(WINNER);
    const shared = { annotations: { 'metallb.io/allow-shared-ip': 'k' } };
    withService(t, 'a', shared);
    withService(t, 'b', shared);
    assert.deepEqual(t.announcer.calls, [`announce ${IP}`]);
    t.core.deleteService(svc('a'));
    assert.deepEqual([...t.announcer.ips.keys()], [IP], 'b still uses it');
    t.core.deleteService(svc('b'));
    assert.deepEqual(t.announcer.calls, [`announce ${IP}`, `withdraw ${IP}`]);
  });

  it('L2Advertisement interfaces restrict the IP; missing interfaces → announceFailed once, no announcement', () => {
    const resources = (interfaces: string[]): unknown[] => [
      { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'crpool' }, spec: { addresses: ['10.214.0.0/24'] } },
      { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'ad' }, spec: { ipAddressPools: ['crpool'], interfaces } },
    ];
    const ip = '10.214.0.7';
    const me = electionOrder(NODES, ip)[0] as string;
    const t = setup(me);
    t.core.setConfig({ configMapText: undefined, resources: resources(['eth1', 'bond9']) });
    withService(t, 'web', { ips: [ip] });
    // The announcer gets both names: it answers on eth1 now, and on bond9 once that link appears.
    assert.deepEqual(t.announcer.ips.get(ip), ['bond9', 'eth1'], 'the interfaces the L2Advertisement names');
    assert.deepEqual(t.announcing()[0]?.meta?.['interfaces'], ['eth1']);
    t.core.setConfig({ configMapText: undefined, resources: resources(['bond9']) });
    assert.equal(t.announcer.ips.size, 0);
    assert.deepEqual(t.withdrawn(), ['interfacesMissing']);
    t.core.upsertService(svc('web', { ips: [ip], labels: { again: '1' } }));
    const failed = t.events.filter((e) => e.reason === 'announceFailed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.type, 'Warning');
    assert.match(failed[0]?.message ?? '', /bond9/);
  });

  it('start-up rule: nothing is announced until the first join attempt finished or 3 s passed', () => {
    const t = setup(WINNER, { gated: true });
    t.core.setMembers([WINNER]); // alone: would win everything
    withService(t);
    assert.equal(t.announcer.ips.size, 0);
    t.timers.advance(2999);
    assert.equal(t.announcer.ips.size, 0);
    t.timers.advance(1);
    assert.equal(t.announcer.ips.size, 1, 'grace period over');

    const j = setup(ORDER[2] as string, { gated: true });
    j.core.setMembers([ORDER[2] as string]);
    withService(j);
    assert.equal(j.announcer.ips.size, 0);
    j.core.setMembers(NODES); // the join brought the others in
    j.core.openGate('first join attempt finished');
    assert.equal(j.announcer.ips.size, 0, 'it never announced a Service it does not win');
    assert.equal(j.timers.pending.size, 0, 'grace timer cancelled');
  });

  it('an invalid configuration keeps the last valid one', async () => {
    const t = setup(WINNER);
    withService(t);
    t.core.setConfig({ configMapText: 'address-pools: [ {', resources: [] });
    assert.ok(t.core.configStale);
    assert.deepEqual([...t.announcer.ips.keys()], [IP], 'still announced');
    assert.equal(t.logs.filter((l) => l.level === 'error' && /invalid configuration, keeping the last valid one/.test(l.msg)).length, 1);
    t.core.setConfig({ configMapText: 'address-pools: [ {', resources: [] });
    assert.equal(t.logs.filter((l) => l.level === 'error').length, 1, 'the same error is logged once');
    assert.match(await t.registry.metrics(), /l2lb_speaker_config_stale 1/);
  });

  it('no configuration at all (ConfigMap deleted, no CRs) keeps the last valid one and its announcements', async () => {
    const t = setup(WINNER);
    withService(t);
    t.core.setConfig({ configMapText: undefined, resources: [] });
    assert.deepEqual([...t.announcer.ips.keys()], [IP], 'still announced');
    assert.deepEqual(t.withdrawn(), []);
    assert.ok(t.core.hasConfig && t.core.configStale);
    assert.equal(t.logs.filter((l) => l.level === 'warn' && /no address pool any more/.test(l.msg)).length, 1);
    t.core.setConfig({ configMapText: undefined, resources: [] });
    assert.equal(t.logs.filter((l) => l.level === 'warn' && /no address pool any more/.test(l.msg)).length, 1, 'warned once');
    assert.match(await t.registry.metrics(), /metallb_k8s_client_config_stale_bool 1/);
    // A Service update meanwhile is decided with the held configuration.
    t.core.upsertService(svc('web', { labels: { touched: 'yes' } }));
    assert.deepEqual([...t.announcer.ips.keys()], [IP]);
    // A configuration with a pool again applies (here without the Service's IP: withdrawn).
    t.core.setConfig({ configMapText: POOL_YAML.replace('10.213.0.200-10.213.0.249', '10.99.0.0/24'), resources: [] });
    assert.ok(!t.core.configStale);
    assert.deepEqual(t.withdrawn(), ['ipNotAllowed']);
  });

  it('a configuration whose every pool is gone (an empty ConfigMap) is held the same way', () => {
    const t = setup(WINNER);
    withService(t);
    t.core.setConfig({ configMapText: 'address-pools: []\n', resources: [] });
    assert.deepEqual([...t.announcer.ips.keys()], [IP]);
    t.core.setConfig({ configMapText: POOL_YAML, resources: [] });
    assert.ok(!t.core.configStale);
    assert.ok(t.logs.some((l) => l.msg === 'configuration valid again, applied'));
    assert.deepEqual([...t.announcer.ips.keys()], [IP]);
  });

  it('before any valid configuration, one without pools counts as none', () => {
    const core = new SpeakerCore({ node: 'n1', announcer: new FakeAnnouncer() });
    core.setConfig({ configMapText: 'address-pools: []\n', resources: [] });
    assert.ok(!core.hasConfig);
    core.setConfig({ configMapText: POOL_YAML, resources: [] });
    assert.ok(core.hasConfig && !core.configStale);
  });

  it("MetalLB's k8s client series: loaded, stale, updates and update errors", async () => {
    const t = setup(WINNER);
    const value = async (name: string): Promise<number> => {
      const line = (await t.registry.getSingleMetricAsString(name)).split('\n').find((l) => l.startsWith(`${name} `));
      return Number(line?.split(' ')[1]);
    };
    assert.equal(await value('metallb_k8s_client_config_loaded_bool'), 1);
    assert.equal(await value('metallb_k8s_client_config_stale_bool'), 0);
    const before = await value('metallb_k8s_client_updates_total');
    withService(t); // a slice and a Service
    assert.equal(await value('metallb_k8s_client_updates_total'), before + 2);
    t.core.setConfig({ configMapText: 'address-pools: [ {', resources: [] });
    assert.equal(await value('metallb_k8s_client_update_errors_total'), 1);
    assert.equal(await value('metallb_k8s_client_config_stale_bool'), 1);
  });

  it('garbage Services and slices are logged with the field and never throw', () => {
    const t = setup(WINNER);
    t.core.upsertSlice(slice('web'));
    t.core.upsertService(svc('web', { status: { loadBalancer: { ingress: [{ ip: 42 }] } } }));
    const warn = t.logs.find((l) => l.msg === 'Service has unusable fields');
    assert.deepEqual(warn?.meta?.['problems'], ['status.loadBalancer.ingress[0].ip: not an IP string (42)']);
    t.core.upsertSlice({ metadata: { name: 'x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } }, endpoints: null });
    t.core.upsertSlice({ metadata: { name: 'y', namespace: 'default' }, endpoints: 'nope' });
    assert.ok(t.logs.some((l) => l.msg === 'EndpointSlice has unusable fields' && (l.meta?.['problems'] as string[]).includes('endpoints: not a list')));
    t.core.upsertService(svc('web', { status: { loadBalancer: { ingress: [{ ip: 'not-an-ip' }] } } }));
    assert.equal(t.announcer.ips.size, 0);
  });

  it('reads the node of a discovery.k8s.io/v1beta1 endpoint (Kubernetes 1.20) from its topology', () => {
    const meta = { name: 's', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } };
    const beta = parseEndpointSlice({ metadata: meta, endpoints: [{ conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'n2' } }] });
    assert.deepEqual(beta?.value.endpoints, [{ nodeName: 'n2', ready: true, serving: undefined }]);
    const v1 = parseEndpointSlice({ metadata: meta, endpoints: [{ nodeName: 'n1', topology: { 'kubernetes.io/hostname': 'n2' } }] });
    assert.equal(v1?.value.endpoints[0]?.nodeName, 'n1', 'nodeName wins where both are set');
  });

  it('parsers are total (property)', () => {
    const t = setup(WINNER);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (a, b) => {
        const obj = { metadata: { name: 'p', namespace: 'default', labels: a }, spec: b, status: a, endpoints: b };
        parseService(obj);
        parseEndpointSlice(obj);
        parseNode(obj);
        parseService(a);
        t.core.upsertService(obj);
        t.core.upsertSlice(obj);
        t.core.upsertNode(a);
        t.core.upsertNode(obj);
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
