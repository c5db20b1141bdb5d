// Reviving a Kubernetes-lab node waits for a speaker the revived kubelet started, not for the Ready
// status the API kept from before the power-off, and for the speakers to see it as a member again.
import assert from 'node:assert/strict';
import { memberlistMembers, speakerRestartedReady, type PodList } from '../../src/lab/k8s-plan.js';

const REVIVED = Date.parse('2026-01-01T00:01:00.400Z');

function pods(startedAt: string | undefined, ready: boolean, node = 'n1'): PodList {
  return {
    items: [
      {
        metadata: { name: `speaker-${node}`, namespace: 'l2lb-system' },
        spec: { nodeName: node },
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
          containerStatuses: [{ restartCount: 1, ready, state: startedAt ? { running: { startedAt } } : { waiting: { reason: 'ContainerCreating' } } }],
        },
      },
    ],
  };
}

describe('k8s lab revive readiness', () => {
  it('does not take the Ready status from before the power-off for a restarted speaker', () => {
    assert.equal(speakerRestartedReady(pods('2026-01-01T00:00:10Z', true), 'n1', REVIVED), false, 'started before the revive: stale');
    assert.equal(speakerRestartedReady(pods(undefined, false), 'n1', REVIVED), false, 'not running yet');
    assert.equal(speakerRestartedReady(pods('2026-01-01T00:01:03Z', false), 'n1', REVIVED), false, 'restarted, not Ready yet');
    assert.equal(speakerRestartedReady(pods('2026-01-01T00:01:03Z', true), 'n2', REVIVED), false, 'another node');
    assert.equal(speakerRestartedReady(undefined, 'n1', REVIVED), false, 'no answer from the API server');
  });

  it('accepts a speaker started in the revive second (startedAt has whole seconds) and Ready', () => {
    assert.equal(speakerRestartedReady(pods('2026-01-01T00:01:00Z', true), 'n1', REVIVED), true);
    assert.equal(speakerRestartedReady(pods('2026-01-01T00:01:07Z', true), 'n1', REVIVED), true);
  });

  it('reads the memberlist members a speaker exports', () => {
    const metrics = [
      '# HELP l2lb_speaker_memberlist_member 1 per memberlist member',
      '# TYPE l2lb_speaker_memberlist_member gauge',
      'l2lb_speaker_memberlist_member{member="n1"} 1',
      'l2lb_speaker_memberlist_member{member="n3"} 1',
      'l2lb_speaker_memberlist_members{state="alive"} 2',
    ].join('\n');
    assert.deepEqual(memberlistMembers(metrics), ['n1', 'n3']);
    assert.deepEqual(memberlistMembers(''), []);
  });
});
