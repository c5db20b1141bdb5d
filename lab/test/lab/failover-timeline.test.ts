// The failover timeline: speaker log lines and client neighbour events become kill-relative steps, and
// the three speaker-side gaps are read from them.
import assert from 'node:assert/strict';
import { clientSteps, failoverGaps, formatTimeline, gapsText, speakerSteps } from '../../src/lab/failover-timeline.js';

const KILL = Date.parse('2026-01-01T00:00:10.000Z');
const line = (offsetMs: number, message: string, fields: Record<string, unknown> = {}): string =>
  JSON.stringify({ level: 'info', message, timestamp: new Date(KILL + offsetMs).toISOString(), component: 'speaker', ...fields });

describe('failover timeline', () => {
  const log = [
    line(-4000, 'memberlist started', { bind: '10.0.0.2:7946' }),
    line(-3990, 'start-up hold over, evaluating Services', { why: 'first memberlist join attempt finished', members: ['n2'] }),
    'not json at all',
    line(-20_000, 'announcing', { service: 'default/web' }), // before the window
    line(180, 'memberlist', { event: 'leave', member: 'n1', addr: '10.0.0.1:7946' }),
    line(181, 'announcing', { service: 'default/web', ips: ['10.0.1.1'], order: ['n2', 'n3'] }),
    line(182, 'announcing IP', { ip: '10.0.1.1', interfaces: ['eth0'] }),
    line(190, 'ServiceL2Status written', { service: 'default/web' }),
  ].join('\n');

  it('keeps the steps a failover is made of, inside the window, attributed to the node', () => {
    const steps = speakerSteps(log, 'n2', KILL - 10_000);
    assert.deepEqual(
      steps.map((s) => [s.atMs - KILL, s.who, s.what]),
      [
        [-4000, 'n2', 'memberlist started'],
        [-3990, 'n2', 'start-up hold over (first memberlist join attempt finished; members n2)'],
        [180, 'n2', 'memberlist leave n1'],
        [181, 'n2', 'elected for default/web (order n2,n3)'],
        [182, 'n2', 'gratuitous burst for 10.0.1.1 on eth0'],
      ],
    );
  });

  it('reads death detected, election and burst relative to the kill, ignoring earlier lines', () => {
    const steps = [...speakerSteps(log, 'n2', KILL - 10_000), ...speakerSteps(line(-50, 'memberlist', { event: 'leave', member: 'n1' }), 'n3', KILL - 10_000)];
    const g = failoverGaps(steps, 'n1', 'default/web', '10.0.1.1', KILL);
    assert.deepEqual(g, { detectedMs: 180, electedMs: 181, burstMs: 182 });
    assert.equal(gapsText(g), 'dead +180 ms, elected +181 ms, burst +182 ms');
    assert.equal(gapsText(failoverGaps([], 'n1', 'default/web', '10.0.1.1', KILL)), 'dead ?, elected ?, burst ?');
  });

  it('names the client entry MACs by node and sorts everything by time', () => {
    const client = clientSteps(
      [
        { atMs: KILL + 5200, ip: '10.0.1.1', mac: '02:00:00:00:00:02', state: 'REACHABLE', deleted: false },
        { atMs: KILL + 5100, ip: '10.0.1.9', mac: '02:00:00:00:00:03', state: 'STALE', deleted: false },
      ],
      '10.0.1.1',
      (mac) => (mac === '02:00:00:00:00:02' ? 'n2' : undefined),
      KILL,
    );
    assert.deepEqual(
      client.map((c) => c.what),
      ['neighbour entry 02:00:00:00:00:02 (n2) REACHABLE'],
    );
    const text = formatTimeline([...client, ...speakerSteps(log, 'n2', KILL)], KILL, '');
    const rows = text.split('\n');
    assert.equal(rows.length, 4);
    assert.match(rows[0] ?? '', /^\s+\+180 ms {2}n2 {6}memberlist leave n1$/);
    assert.match(rows[3] ?? '', /\+5200 ms {2}client {2}neighbour entry/);
    assert.match(formatTimeline(speakerSteps(log, 'n2', KILL - 5000), KILL, ''), /^\s+-4000 ms/);
  });
});
