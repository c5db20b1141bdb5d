import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arpingMacs, parseNeighEvent, percentile } from '../../src/lab/failover.js';
import { ingressIp } from '../../src/lab/scenario.js';
import {
  buildStatus,
  failoverPhases,
  formatStatus,
  metricValue,
  parseAnnouncedGauge,
  parseNeigh,
  parseServiceList,
  parseSpeakerLog,
  START_MARKER,
  type ControlPlaneInput,
  type NodeInput,
} from '../../src/lab/status.js';

const line = (o: Record<string, unknown>): string => JSON.stringify({ level: 'info', timestamp: '2026-11-25T23:00:00Z', ...o });

const N1_LOG = [
  line({ message: START_MARKER }),
  line({ message: 'memberlist', event: 'join', member: 'n1' }),
  line({ message: 'memberlist', event: 'join', member: 'n2' }),
  line({ message: 'memberlist', event: 'join', member: 'n3' }),
  line({ message: 'announcing', service: 'default/web', ips: ['10.213.0.200'], node: 'n1', interfaces: ['eth0'] }),
  line({ message: 'announcing', service: 'default/db', ips: ['10.213.0.201'], node: 'n1', interfaces: ['eth0'] }),
  line({ message: 'withdrawn', service: 'default/db', ips: ['10.213.0.201'], reason: 'notOwner', detail: 'n2 wins' }),
  line({ message: 'memberlist', event: 'leave', member: 'n3' }),
  'not json at all',
].join('\n');

describe('lab status', () => {
  it('reads announcing/withdrawn and memberlist lines from a speaker log', () => {
    const s = parseSpeakerLog(N1_LOG);
    assert.deepEqual([...s.announcing], [['default/web', ['10.213.0.200']]]);
    assert.deepEqual([...s.members].sort(), ['n1', 'n2']);
    assert.equal(s.unparsed, 1);
  });

  it('forgets what a previous speaker run announced once the start marker is written again', () => {
    const s = parseSpeakerLog(`${N1_LOG}\n${line({ message: START_MARKER })}\n${line({ message: 'memberlist', event: 'join', member: 'n1' })}`);
    assert.equal(s.announcing.size, 0);
    assert.deepEqual([...s.members], ['n1']);
  });

  it('parses the client neighbour table', () => {
    const t = '10.213.0.200 lladdr 02:13:00:00:01:02 STALE\n10.213.0.2 lladdr 02:13:00:00:00:02 router REACHABLE\n10.213.0.201  FAILED\n';
    assert.deepEqual(parseNeigh(t), [
      { ip: '10.213.0.200', mac: '02:13:00:00:01:02', state: 'STALE' },
      { ip: '10.213.0.2', mac: '02:13:00:00:00:02', state: 'REACHABLE' },
      { ip: '10.213.0.201', state: 'FAILED' },
    ]);
  });

  it('parses ip -ts monitor neigh lines (local-time stamps, Deleted, no lladdr)', () => {
    const e = parseNeighEvent('[2026-11-25T23:04:57.027517] 10.213.0.200 dev eth0 lladdr 02:13:00:00:01:03 STALE ', 1);
    assert.deepEqual(e, {
      atMs: new Date(2026, 10, 25, 23, 4, 57, 27).getTime(),
      ip: '10.213.0.200',
      mac: '02:13:00:00:01:03',
      state: 'STALE',
      deleted: false,
    });
    assert.deepEqual(parseNeighEvent('Deleted 10.9.9.9 dev d0 FAILED', 5), { atMs: 5, ip: '10.9.9.9', state: 'FAILED', deleted: true });
    assert.equal(parseNeighEvent('[2026-11-25T23:04:57.0] some other text', 5), undefined);
  });

  it('lists LoadBalancer Services with their IPs, skipping the rest and malformed items', () => {
    const list = JSON.stringify({
      items: [
        { metadata: { namespace: 'default', name: 'web' }, spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '10.213.0.200' }] } } },
        { metadata: { namespace: 'default', name: 'kubernetes' }, spec: { type: 'ClusterIP' } },
        { metadata: { namespace: 'a', name: 'pending' }, spec: { type: 'LoadBalancer' }, status: {} },
        null,
        7,
        { spec: { type: 'LoadBalancer' } },
      ],
    });
    assert.deepEqual(parseServiceList(list), [
      { service: 'a/pending', ips: [] },
      { service: 'default/web', ips: ['10.213.0.200'] },
    ]);
    assert.deepEqual(parseServiceList('{'), []);
    assert.equal(ingressIp(JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } })), '1.2.3.4');
    assert.equal(ingressIp('{}'), undefined);
  });

  it('says which running node announces each Service and what the client sees, and warns on two announcers', () => {
    const log = parseSpeakerLog(N1_LOG);
    const nodes: NodeInput[] = [
      { name: 'n1', ip: '10.213.0.11', mac: '02:13:00:00:01:01', speakerRunning: true, healthy: true, linkUp: true, log },
      { name: 'n2', ip: '10.213.0.12', mac: '02:13:00:00:01:02', speakerRunning: false, healthy: false, linkUp: false, log },
      { name: 'n3', ip: '10.213.0.13', mac: '02:13:00:00:01:03', speakerRunning: true, healthy: false, linkUp: true, log: parseSpeakerLog('') },
    ];
    const s = buildStatus('l2lab', nodes, [{ service: 'default/web', ips: ['10.213.0.200'] }], parseNeigh('10.213.0.200 lladdr 02:13:00:00:01:01 REACHABLE'));
    assert.deepEqual(s.services, [
      {
        service: 'default/web',
        ips: ['10.213.0.200'],
        announcedBy: ['n1'],
        clientSees: [{ ip: '10.213.0.200', mac: '02:13:00:00:01:01', node: 'n1', state: 'REACHABLE' }],
      },
    ]);
    assert.deepEqual(
      s.nodes.map((n) => [n.name, n.speaker, n.link, n.announcing.join()]),
      [
        ['n1', 'up', 'up', 'default/web'],
        ['n2', 'down', 'down', ''],
        ['n3', 'unhealthy', 'up', ''],
      ],
    );
    const text = formatStatus(s);
    assert.match(text, /^n1 +10\.213\.0\.11 +02:13:00:00:01:01 +up +up +n1,n2 +default\/web$/m);
    assert.match(text, /^n2 +10\.213\.0\.12 +02:13:00:00:01:02 +down +down +- +-$/m);
    assert.match(text, /^default\/web +10\.213\.0\.200 +n1 +02:13:00:00:01:01 \(n1\) REACHABLE$/m);
    assert.doesNotMatch(text, /WARNING/);
    const both = buildStatus(
      'l2lab',
      nodes.map((n) => ({ ...n, speakerRunning: true, log })),
      [{ service: 'default/web', ips: ['10.213.0.200'] }],
      [],
    );
    assert.match(formatStatus(both), /WARNING: default\/web is announced by 3 nodes \(n1, n2, n3\)/);
    assert.match(formatStatus(buildStatus('x', [], [], [])), /no LoadBalancer Services\n\nclient neighbour table is empty/);
  });

  it('log, neighbour and monitor parsers never throw on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.json(), fc.constantFrom(line({ message: 'announcing', service: 3 }), line({ message: 'memberlist', member: [] })))),
        (lines) => {
          const text = lines.join('\n');
          parseSpeakerLog(text);
          parseNeigh(text);
          parseServiceList(text);
          parseAnnouncedGauge(text);
          metricValue(text, 'l2lb_controller_config_stale');
          for (const l of lines) parseNeighEvent(l, 0);
        },
      ),
    );
  });

  it('reads the l2lb_speaker_announced gauge, and prefers it over the log for a running speaker', () => {
    const metrics = [
      '# HELP l2lb_speaker_announced 1 while this node announces the Service IP',
      '# TYPE l2lb_speaker_announced gauge',
      'l2lb_speaker_announced{service="default/web",protocol="layer2",node="n2",ip="10.213.0.200"} 1',
      'l2lb_speaker_announced{service="default/web",protocol="layer2",node="n2",ip="fd00::1"} 1',
      'l2lb_speaker_announced{service="default/old",protocol="layer2",node="n2",ip="10.213.0.201"} 0',
      'metallb_speaker_announced{service="x/y",protocol="layer2",node="n2",ip="10.213.0.202"} 1',
    ].join('\n');
    const g = parseAnnouncedGauge(metrics);
    assert.deepEqual(g && [...g], [['default/web', ['10.213.0.200', 'fd00::1']]]);
    assert.equal(parseAnnouncedGauge('process_cpu_seconds_total 1\n'), undefined);
    assert.deepEqual(parseAnnouncedGauge('# TYPE l2lb_speaker_announced gauge\n')?.size, 0);
    const node: NodeInput = {
      name: 'n2',
      ip: '10.213.0.12',
      mac: '02:13:00:00:01:02',
      speakerRunning: true,
      healthy: true,
      linkUp: true,
      log: parseSpeakerLog(N1_LOG),
      ...(g ? { announcedFromMetrics: g } : {}),
    };
    const s = buildStatus('l2lab', [node], [{ service: 'default/web', ips: ['10.213.0.200'] }], []);
    assert.deepEqual(s.nodes[0]?.announcingSource, 'metrics');
    assert.deepEqual(s.services[0]?.announcedBy, ['n2']);
    const noGauge = buildStatus('l2lab', [{ ...node, announcedFromMetrics: new Map() }], [{ service: 'default/web', ips: ['10.213.0.200'] }], []);
    assert.deepEqual(noGauge.services[0]?.announcedBy, [], 'an empty gauge means nothing is announced, whatever the log says');
  });

  it('reads the answering MACs from both arping flavours', () => {
    assert.deepEqual(
      arpingMacs(
        'ARPING 10.213.0.200\n60 bytes from 02:13:00:00:01:02 (10.213.0.200): index=0 time=1.2 msec\n60 bytes from 02:13:00:00:01:02 (10.213.0.200): index=1 time=1 msec\n',
      ),
      ['02:13:00:00:01:02'],
    );
    assert.deepEqual(arpingMacs('Unicast reply from 10.213.0.200 [02:13:00:00:01:03]  0.7ms\nUnicast reply from 10.213.0.200 [02:13:00:00:01:01]  0.9ms\n'), [
      '02:13:00:00:01:03',
      '02:13:00:00:01:01',
    ]);
    assert.deepEqual(arpingMacs('Timeout\n'), []);
  });

  it("times the new owner's failover phases from its log, after the kill only", () => {
    const t = (ms: number): string => new Date(1_000_000 + ms).toISOString();
    const log = [
      line({ message: 'memberlist', event: 'leave', member: 'n3', timestamp: t(-5000) }),
      line({ message: 'announcing', service: 'default/web', timestamp: t(-4000) }),
      line({ message: 'memberlist', event: 'leave', member: 'n2', timestamp: t(100) }),
      line({ message: 'memberlist', event: 'leave', member: 'n3', timestamp: t(180) }),
      line({ message: 'announcing', service: 'default/db', timestamp: t(181) }),
      line({ message: 'announcing', service: 'default/web', timestamp: t(183) }),
      line({ message: 'announcing', service: 'default/web', timestamp: t(900) }),
    ].join('\n');
    assert.deepEqual(failoverPhases(log, 'n3', 'default/web', 1_000_000), { detectedMs: 180, announcedMs: 183 });
    assert.deepEqual(failoverPhases('', 'n3', 'default/web', 0), {});
  });

  it('reports the control plane: API server, controller readiness, a refused configuration, pending Services', () => {
    const metrics =
      '# TYPE l2lb_controller_config_stale gauge\nl2lb_controller_config_stale 1\nl2lb_controller_config_loaded 1\nl2lb_controller_services_pending 2\nl2lb_controller_config_stale_total 9\n';
    assert.equal(metricValue(metrics, 'l2lb_controller_config_stale'), 1);
    assert.equal(metricValue('x{a="b"} 3\n', 'x'), 3);
    assert.equal(metricValue(metrics, 'missing'), undefined);
    const s = buildStatus('l2lab', [], [], [], { apiserverUp: true, controllerReady: true, controllerMetrics: metrics });
    assert.deepEqual(s.controlPlane, { apiserver: 'up', controller: 'ready', config: 'stale', servicesPending: 2 });
    assert.match(
      formatStatus(s),
      /^control plane: API server up, controller ready, configuration INVALID, refused \(the last valid one stays in force\), 2 Service\(s\) waiting for an IP$/m,
    );
    const ok = buildStatus('l2lab', [], [], [], {
      apiserverUp: true,
      controllerReady: true,
      controllerMetrics: 'l2lb_controller_config_stale 0\nl2lb_controller_config_loaded 1\n',
    });
    assert.equal(ok.controlPlane.config, 'valid');
    assert.deepEqual(buildStatus('l2lab', [], [], []).controlPlane, { apiserver: 'down', controller: 'not ready', config: 'unknown' });
  });

  it("without the controller's metrics (the real-Kubernetes lab) takes the verdict from its ConfigurationState", () => {
    const cp = (result: string, message?: string): ControlPlaneInput => ({
      apiserverUp: true,
      controllerReady: true,
      controllerConfigState: { result, ...(message !== undefined ? { message } : {}) },
    });
    const config = (input: ControlPlaneInput): string => buildStatus('k8s', [], [], [], input).controlPlane.config;
    assert.equal(config(cp('Valid', 'the configuration is valid')), 'valid');
    assert.equal(config(cp('Valid', 'no configuration: ConfigMap l2lb-system/config not found')), 'none');
    assert.equal(config(cp('Invalid', 'address-pools[0].addresses[0]: not a CIDR')), 'stale');
    assert.equal(config(cp('Unknown')), 'unknown');
    // The metrics, when readable, still win.
    assert.equal(config({ ...cp('Invalid'), controllerMetrics: 'l2lb_controller_config_stale 0\nl2lb_controller_config_loaded 1\n' }), 'valid');
  });

  it('percentile uses the nearest rank', () => {
    assert.equal(percentile([300, 100, 200], 50), 200);
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
    assert.equal(percentile([5], 100), 5);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
});
