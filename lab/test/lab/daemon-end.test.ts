// How a detached daemon ended is known from its own exit event, not from /proc: while a process execs
// (sh → nsenter → the daemon) /proc/PID/cmdline reads empty for a moment, and the Kubernetes lab's start
// took such a moment for "kube-apiserver exited" (issue 10).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { daemonEnd, trackDaemonEnd } from '../../src/lab/sys.js';
import { waitFor } from './wait.js';

describe('daemon end tracking', () => {
  it('says how a child ended: exit code or signal; nothing while it runs', async () => {
    const quits = spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' });
    const killed = spawn('sleep', ['30'], { stdio: 'ignore' });
    const runs = spawn('sleep', ['30'], { stdio: 'ignore' });
    const seen: string[] = [];
    for (const c of [quits, killed, runs]) trackDaemonEnd(c, (how) => seen.push(how));
    killed.kill('SIGKILL');
    try {
      await waitFor(() => daemonEnd(quits.pid ?? 0) !== undefined && daemonEnd(killed.pid ?? 0) !== undefined, { timeoutMs: 5000, what: 'both ends' });
      assert.equal(daemonEnd(quits.pid ?? 0), 'exit code 3');
      assert.equal(daemonEnd(killed.pid ?? 0), 'signal SIGKILL');
      assert.equal(daemonEnd(runs.pid ?? 0), undefined);
      assert.deepEqual(seen.sort(), ['exit code 3', 'signal SIGKILL']);
    } finally {
      runs.kill('SIGKILL');
    }
  });

  it('forgets an earlier end when a new daemon gets the same pid', async () => {
    const first = spawn('sleep', ['30'], { stdio: 'ignore' });
    trackDaemonEnd(first);
    first.kill('SIGKILL');
    await waitFor(() => daemonEnd(first.pid ?? 0), { timeoutMs: 5000, what: 'the first end' });
    // A later child with this pid is tracked afresh: a stale end must not make it look dead.
    const reuse = { pid: first.pid, on: () => reuse } as unknown as Parameters<typeof trackDaemonEnd>[0];
    trackDaemonEnd(reuse);
    assert.equal(daemonEnd(first.pid ?? 0), undefined);
  });
});
