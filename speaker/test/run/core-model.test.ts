// Model test of SpeakerCore: random sequences of the events an informer / memberlist / the announcer
// can deliver, checked after every step against a simple model of "who should announce what":
// the model keeps the plain state and asks decide() itself; the core must agree exactly
// (announcer IP set and interfaces, announcements(), the gauge, one nodeAssigned per gain).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { decide, electionOrder, goIpString, type EndpointView, type NodeView } from '../../src/election/election.js';
import { SpeakerCore, type CoreAnnouncer, type CoreTimers } from '../../src/run/core.js';
import { ConfigState, type Config } from '@l2lb/shared';

const NODES = ['n1', 'n2', 'n3'];
const SERVICES = ['a', 'b', 'c'];
const SLICES = ['s1', 's2', 's3', 's4'];
const IFACES = ['eth0', 'eth1', 'bond9'];
// Pool "lab" (ConfigMap or CR), pool "cr" (CR only), and an address in no pool.
const IPS = ['10.213.0.200', '10.213.0.201', '10.214.0.7', '10.214.0.8', '10.99.0.1', '::ffff:10.213.0.200', 'garbage'];
/** The nodes that win the start-up Services' IPs: chosen more often, so more runs announce something. */
const FAVOURITES = [electionOrder(NODES, '10.213.0.200')[0] as string, electionOrder(NODES, '10.214.0.7')[0] as string];
const SHARED = { 'metallb.io/allow-shared-ip': 'k' };

const pool = (name: string, addresses: string[]): unknown => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name },
  spec: { addresses },
});
const ad = (name: string, spec: Record<string, unknown>): unknown => ({ apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name }, spec });
/** Configurations to switch between; undefined text and no resources is "invalid" (no pool). */
const CONFIGS: { configMapText: string | undefined; resources: unknown[] }[] = [
  { configMapText: 'address-pools:\n- name: lab\n  protocol: layer2\n  addresses:\n  - 10.213.0.200-10.213.0.249\n', resources: [] },
  {
    configMapText: undefined,
    resources: [
      pool('lab', ['10.213.0.200-10.213.0.249']),
      pool('cr', ['10.214.0.0/24']),
      ad('all', { ipAddressPools: ['lab'] }),
      ad('ifs', { ipAddressPools: ['cr'], interfaces: ['eth1', 'bond9'] }),
    ],
  },
  {
    configMapText: undefined,
    resources: [
      pool('lab', ['10.213.0.200-10.213.0.249']),
      pool('cr', ['10.214.0.0/24']),
      ad('e0', { ipAddressPools: ['lab', 'cr'], interfaces: ['eth0'] }),
      ad('zone', { ipAddressPools: ['cr'], nodeSelectors: [{ matchLabels: { zone: 'a' } }] }),
    ],
  },
  {
    configMapText: undefined,
    resources: [pool('cr', ['10.214.0.0/24']), ad('sel', { ipAddressPools: ['cr'], serviceSelectors: [{ matchLabels: { app: 'x' } }], interfaces: ['bond9'] })],
  },
  { configMapText: 'address-pools: [ {', resources: [] },
  // Services on one IP, answered on different interfaces (by label): the IP is answered on the union.
  {
    configMapText: undefined,
    resources: [
      pool('cr', ['10.214.0.0/24']),
      ad('x', { ipAddressPools: ['cr'], serviceSelectors: [{ matchLabels: { app: 'x' } }], interfaces: ['eth1'] }),
      ad('y', { ipAddressPools: ['cr'], serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }], interfaces: ['eth0', 'bond9'] }),
    ],
  },
];

class FakeAnnouncer implements CoreAnnouncer {
  readonly ips = new Map<string, readonly string[]>();
  present = ['eth0', 'eth1'];
  announce(ip: string, interfaces: readonly string[]): void {
    assert.ok(goIpString(ip) === ip, `announce() got a non-canonical IP ${ip}`);
    this.ips.set(ip, [...interfaces]);
  }
  withdraw(ip: string): void {
    assert.ok(this.ips.has(ip), `withdraw(${ip}) of an IP that is not announced`);
    this.ips.delete(ip);
  }
  interfaces(): string[] {
    return [...this.present];
  }
  /** Where `ip` is answered now: its interface list ∩ the interfaces that exist. */
  answeredOn(ip: string): string[] {
    const only = this.ips.get(ip) ?? [];
    return (only.length === 0 ? this.present : only.filter((i) => this.present.includes(i))).slice().sort();
  }
}

class FakeTimers implements CoreTimers {
  readonly pending = new Map<number, () => void>();
  private id = 0;
  setTimeout(fn: () => void): unknown {
    this.pending.set(++this.id, fn);
    return this.id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  fireAll(): void {
    for (const [id, fn] of [...this.pending]) {
      this.pending.delete(id);
      fn();
    }
  }
}

type Action =
  | { k: 'svc'; name: string; ips: string[]; type: string; lbClass: string; shared: boolean; local: boolean; app: boolean }
  | { k: 'delSvc'; name: string }
  | { k: 'slice'; name: string; svc: string | undefined; eps: { node: string; ready: boolean }[] }
  | { k: 'delSlice'; name: string }
  | { k: 'node'; name: string; zone: boolean; exclude: boolean; unavailable: boolean }
  | { k: 'delNode'; name: string }
  | { k: 'members'; names: string[] }
  | { k: 'config'; i: number }
  | { k: 'links'; present: string[] }
  | { k: 'synced' }
  | { k: 'gate' }
  | { k: 'graceOver' }
  | { k: 'tick' };

const nodeName = fc.constantFrom(...NODES, 'n4');
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('svc' as const),
      name: fc.constantFrom(...SERVICES),
      ips: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...IPS.slice(0, 4)).map((ip) => [ip]) }, fc.array(fc.constantFrom(...IPS), { maxLength: 2 })),
      type: fc.constantFrom('LoadBalancer', 'LoadBalancer', 'ClusterIP'),
      lbClass: fc.constantFrom('', '', 'other'),
      shared: fc.boolean(),
      local: fc.boolean(),
      app: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delSvc' as const), name: fc.constantFrom(...SERVICES) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('slice' as const),
      name: fc.constantFrom(...SLICES),
      svc: fc.option(fc.constantFrom(...SERVICES), { nil: undefined }),
      eps: fc.array(fc.record({ node: nodeName, ready: fc.boolean() }), { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delSlice' as const), name: fc.constantFrom(...SLICES) }) },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('node' as const), name: nodeName, zone: fc.boolean(), exclude: fc.boolean(), unavailable: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delNode' as const), name: nodeName }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('members' as const), names: fc.subarray([...NODES, 'n4'], { minLength: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('config' as const), i: fc.nat(CONFIGS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('links' as const), present: fc.subarray(IFACES) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'synced' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'gate' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'graceOver' as const }) },
  { weight: 4, arbitrary: fc.constant({ k: 'tick' as const }) },
);

function svcObject(a: Extract<Action, { k: 'svc' }>): unknown {
  return {
    metadata: { name: a.name, namespace: 'default', uid: `uid-${a.name}`, labels: a.app ? { app: 'x' } : {}, annotations: a.shared ? SHARED : {} },
    spec: { type: a.type, externalTrafficPolicy: a.local ? 'Local' : 'Cluster', ...(a.lbClass ? { loadBalancerClass: a.lbClass } : {}) },
    status: { loadBalancer: { ingress: a.ips.map((ip) => ({ ip })) } },
  };
}
const sliceObject = (name: string, svc: string | undefined, eps: { node: string; ready: boolean }[] = []): unknown => ({
  metadata: { name, namespace: 'default', labels: svc ? { 'kubernetes.io/service-name': svc } : {} },
  endpoints: eps.map((e) => ({ nodeName: e.node, conditions: { ready: e.ready } })),
});
const nodeObject = (a: { name: string; zone?: boolean; exclude?: boolean; unavailable?: boolean }): unknown => ({
  metadata: {
    name: a.name,
    labels: { ...(a.zone ? { zone: 'a' } : {}), ...(a.exclude ? { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } : {}) },
  },
  status: { conditions: a.unavailable ? [{ type: 'NetworkUnavailable', status: 'True' }] : [] },
});

const stats = { steps: 0, nonEmpty: 0, restricted: 0 };
interface Expected {
  ips: readonly string[];
  interfaces: readonly string[];
}

/** The plain model: state as the informers would hold it, decisions straight from decide(). */
class Model {
  services = new Map<string, Extract<Action, { k: 'svc' }>>();
  slices = new Map<string, { svc: string | undefined; eps: EndpointView[] }>();
  nodes = new Map<string, NodeView>();
  members: Set<string> | undefined;
  config: Config | undefined;
  private readonly cs = new ConfigState();
  synced = false;
  gate = false;

  constructor(
    readonly me: string,
    readonly gated: boolean,
  ) {
    this.gate = !gated;
  }

  setConfig(i: number): void {
    const u = this.cs.update({ ...(CONFIGS[i] as (typeof CONFIGS)[number]), configMapObject: 'ConfigMap config' });
    if (u.kind === 'applied') this.config = u.config;
  }

  expected(present: readonly string[]): Map<string, Expected> {
    const out = new Map<string, Expected>();
    if (!this.synced || !this.gate || !this.config) return out;
    for (const [name, s] of this.services) {
      if (s.lbClass !== '') continue;
      const endpoints = [...this.slices.values()].filter((x) => x.svc === name).flatMap((x) => x.eps);
      const d = decide({
        myNode: this.me,
        service: {
          type: s.type,
          ingressIPs: s.ips,
          externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
          labels: s.app ? { app: 'x' } : {},
          annotations: s.shared ? SHARED : {},
        },
        endpoints,
        config: this.config,
        nodes: this.nodes,
        members: this.members,
      });
      if (!d.announce) continue;
      if (d.interfaces.length > 0 && !d.interfaces.some((i) => present.includes(i))) continue; // interfacesMissing
      out.set(`default/${name}`, { ips: d.ips, interfaces: d.interfaces });
    }
    return out;
  }
}

/** deferred: passes over all Services run one Service per deferred call ('tick' runs one call). */
async function run(me: string, gated: boolean, actions: Action[], deferred = false): Promise<void> {
  const queue: (() => void)[] = [];
  const announcer = new FakeAnnouncer();
  const timers = new FakeTimers();
  const registry = new Registry();
  const events: string[] = [];
  const core = new SpeakerCore({
    node: me,
    announcer,
    registry,
    timers,
    gated,
    startupGraceMs: 3000,
    event: (s, _type, reason) => events.push(`${s.namespace}/${s.name} ${reason}`),
    ...(deferred ? { defer: (fn: () => void) => queue.push(fn), passSlice: 1 } : {}),
  });
  core.start();
  const m = new Model(me, gated);
  let prev = new Map<string, Expected>();
  const gains = new Map<string, number>();
  for (const [step, a] of actions.entries()) {
    switch (a.k) {
      case 'svc':
        m.services.set(a.name, a);
        core.upsertService(svcObject(a));
        break;
      case 'delSvc':
        m.services.delete(a.name);
        core.deleteService(svcObject({ k: 'svc', name: a.name, ips: [], type: 'ClusterIP', lbClass: '', shared: false, local: false, app: false }));
        break;
      case 'slice':
        m.slices.set(a.name, { svc: a.svc, eps: a.eps.map((e) => ({ nodeName: e.node, ready: e.ready, serving: undefined })) });
        core.upsertSlice(sliceObject(a.name, a.svc, a.eps));
        break;
      case 'delSlice': {
        const had = m.slices.get(a.name);
        m.slices.delete(a.name);
        core.deleteSlice(sliceObject(a.name, had?.svc));
        break;
      }
      case 'node':
        m.nodes.set(a.name, {
          labels: { ...(a.zone ? { zone: 'a' } : {}), ...(a.exclude ? { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } : {}) },
          networkUnavailable: a.unavailable,
        });
        core.upsertNode(nodeObject(a));
        break;
      case 'delNode':
        m.nodes.delete(a.name);
        core.deleteNode(nodeObject({ name: a.name }));
        break;
      case 'members':
        m.members = new Set(a.names);
        core.setMembers(a.names);
        break;
      case 'config':
        m.setConfig(a.i);
        core.setConfig(CONFIGS[a.i] as (typeof CONFIGS)[number]);
        break;
      case 'links':
        announcer.present = a.present;
        core.interfacesChanged();
        break;
      case 'synced':
        m.synced = true;
        core.markSynced();
        break;
      case 'gate':
        m.gate = true;
        core.openGate('test');
        break;
      case 'graceOver':
        if (gated) m.gate = true;
        timers.fireAll();
        break;
      case 'tick':
        queue.shift()?.();
        break;
    }
    if (queue.length > 0) continue; // mid-pass: the invariants hold once the pass is over
    check(`step ${step} ${JSON.stringify(a)}`);
  }
  while (queue.length > 0) (queue.shift() as () => void)();
  check('the end');
  function check(where: string): void {
    const exp = m.expected(announcer.present);
    stats.steps++;
    if (exp.size > 0) stats.nonEmpty++;
    if ([...exp.values()].some((e) => e.interfaces.length > 0)) stats.restricted++;
    // 1. The core's own view of what it announces.
    assert.deepEqual(
      new Map([...core.announcements()].map(([k, v]) => [k, [...v]])),
      new Map([...exp].map(([k, v]) => [k, [...v.ips]])),
      `announcements after ${where}`,
    );
    // 2. The announcer answers exactly the expected IPs, each on the expected interfaces.
    const wantIps = new Map<string, Set<string> | 'all'>();
    for (const e of exp.values()) {
      for (const ip of e.ips) {
        const cur = wantIps.get(ip) ?? new Set<string>();
        if (cur === 'all' || e.interfaces.length === 0) wantIps.set(ip, 'all');
        else wantIps.set(ip, new Set([...cur, ...e.interfaces]));
      }
    }
    assert.deepEqual([...announcer.ips.keys()].sort(), [...wantIps.keys()].sort(), `announced IPs after ${where}`);
    for (const [ip, want] of wantIps) {
      const on = want === 'all' ? [...announcer.present].sort() : [...want].filter((i) => announcer.present.includes(i)).sort();
      assert.deepEqual(announcer.answeredOn(ip), on, `interfaces of ${ip} after ${where}`);
    }
    // 3. One nodeAssigned per gain (a Service that starts announcing, or moves to other IPs); in a
    // deferred pass a Service may gain and lose between two checks, so counted in the synchronous runs.
    if (!deferred)
      for (const [k, e] of exp) {
        const p = prev.get(k);
        if (!p || p.ips.join() !== e.ips.join()) gains.set(k, (gains.get(k) ?? 0) + 1);
      }
    if (!deferred)
      for (const k of new Set([...gains.keys(), ...events.map((e) => e.split(' ')[0] as string)])) {
        assert.equal(events.filter((e) => e === `${k} nodeAssigned`).length, gains.get(k) ?? 0, `nodeAssigned events of ${k} after ${where}`);
      }
    prev = exp;
  }
  // The gauges (and MetalLB's twin) show exactly the announced (Service, IP) pairs.
  const pairs = [...core.announcements()].flatMap(([k, ips]) => [...new Set(ips)].map((ip) => `${k} ${ip}`)).sort();
  for (const name of ['l2lb_speaker_announced', 'metallb_speaker_announced']) {
    const series = (await registry.getSingleMetricAsString(name))
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`))
      .map((l) => /service="([^"]*)".*ip="([^"]*)"\} 1$/.exec(l))
      .map((m) => `${m?.[1]} ${m?.[2]}`)
      .sort();
    assert.deepEqual(series, pairs, `${name} after the run`);
  }
  core.shutdown();
  assert.deepEqual([...announcer.ips.keys()], [], 'shutdown withdraws everything');
  assert.deepEqual([...core.announcements()], []);
}

describe('speaker core model test (random event sequences vs decide())', () => {
  it('the core announces exactly what decide() says this node wins, on the right interfaces, once per gain', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...NODES, ...FAVOURITES),
        fc.boolean(),
        fc.boolean(),
        fc.array(action, { minLength: 1, maxLength: 50, size: 'max' }),
        async (me, gated, deferred, actions) => {
          const start: Action[] = [
            { k: 'config', i: 1 },
            ...NODES.map((name): Action => ({ k: 'node', name, zone: name === 'n1', exclude: false, unavailable: false })),
            { k: 'members', names: NODES },
            ...SERVICES.map((svc, i): Action => ({ k: 'slice', name: SLICES[i] as string, svc, eps: [{ node: NODES[i] as string, ready: true }] })),
            { k: 'svc', name: 'a', ips: ['10.213.0.200'], type: 'LoadBalancer', lbClass: '', shared: true, local: false, app: false },
            { k: 'svc', name: 'b', ips: ['10.214.0.7'], type: 'LoadBalancer', lbClass: '', shared: false, local: false, app: true },
            { k: 'svc', name: 'c', ips: ['10.213.0.200'], type: 'LoadBalancer', lbClass: '', shared: true, local: true, app: false },
            { k: 'synced' },
          ];
          await run(me, gated, [...start, ...actions], deferred);
        },
      ),
      { numRuns: 400 },
    );
    // Not vacuous: a good share of the steps expect announcements, some on named interfaces.
    assert.ok(stats.nonEmpty > stats.steps / 20 && stats.restricted > 0, `too few announcing steps: ${JSON.stringify(stats)}`);
  });

  it('the gauge series are exactly the announced (Service, IP) pairs', async () => {
    // Async (the registry); a fixed sequence that gains, shares, changes IPs and loses.
    const announcer = new FakeAnnouncer();
    const registry = new Registry();
    const core = new SpeakerCore({ node: 'n1', announcer, registry });
    for (const n of NODES) core.upsertNode(nodeObject({ name: n }));
    core.setMembers(['n1']);
    core.setConfig(CONFIGS[0] as (typeof CONFIGS)[number]);
    core.markSynced();
    const s = (name: string, ips: string[]): unknown =>
      svcObject({ k: 'svc', name, ips, type: 'LoadBalancer', lbClass: '', shared: true, local: false, app: false });
    core.upsertSlice(sliceObject('sa', 'a', [{ node: 'n1', ready: true }]));
    core.upsertSlice(sliceObject('sb', 'b', [{ node: 'n1', ready: true }]));
    core.upsertService(s('a', ['10.213.0.200']));
    core.upsertService(s('b', ['10.213.0.200']));
    core.upsertService(s('a', ['10.213.0.201']));
    core.deleteService(s('b', []));
    const series = (await registry.getSingleMetricAsString('l2lb_speaker_announced')).split('\n').filter((l) => l.startsWith('l2lb_speaker_announced{'));
    assert.deepEqual(series, ['l2lb_speaker_announced{service="default/a",protocol="layer2",node="n1",ip="10.213.0.201"} 1']);
    assert.deepEqual([...announcer.ips.keys()], ['10.213.0.201']);
  });
});
