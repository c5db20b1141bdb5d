// The ConfigurationState writer on a fake API and a manual clock: MetalLB's names, labels and status; written
// on a later turn, coalesced to the newest verdict; created when missing; errors retried with backoff.
import assert from 'node:assert/strict';
import {
  ConfigurationStateWriter,
  configurationStateIdentity,
  configurationStateStatus,
  type ConfigurationStateStatus,
} from '../../src/kube/configuration-state.js';
import { ManualClock } from './manual-clock.js';

class HttpError extends Error {
  constructor(readonly code: number) {
    super(`HTTP ${code}`);
  }
}

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const VALID = { result: 'Valid', errorSummary: '' } as const;
const INVALID = { result: 'Invalid', errorSummary: 'ConfigMap l2lb-system/config: pool "a": invalid CIDR "x"' } as const;

function setup(failures: number[] = []) {
  const clock = new ManualClock();
  const objects = new Map<string, { labels: Record<string, string>; status?: ConfigurationStateStatus }>();
  const calls: string[] = [];
  const errors: unknown[] = [];
  const writer = new ConfigurationStateWriter({
    namespace: 'l2lb-system',
    component: 'speaker',
    node: 'n1',
    logger: quiet,
    timers: clock,
    now: () => new Date(Date.UTC(2026, 0, 1)),
    statusOf: (e) => (e instanceof HttpError ? e.code : undefined),
    onError: (e) => errors.push(e),
    api: {
      patchStatus: async (_ns, name, status) => {
        calls.push(`patch ${name} ${status.result}`);
        const code = failures.shift();
        if (code !== undefined && code !== 0) throw new HttpError(code);
        const o = objects.get(name);
        if (o === undefined) throw new HttpError(404);
        o.status = status;
      },
      create: async (_ns, name, labels) => {
        calls.push(`create ${name}`);
        if (objects.has(name)) throw new HttpError(409);
        objects.set(name, { labels });
      },
    },
  });
  return { clock, objects, calls, errors, writer };
}

describe('ConfigurationState writer (fake API, manual clock)', () => {
  it("uses MetalLB's names and labels: controller, speaker-<node> with metallb.io/node-name", () => {
    assert.deepEqual(configurationStateIdentity('controller'), { name: 'controller', labels: { 'metallb.io/component-type': 'controller' } });
    assert.deepEqual(configurationStateIdentity('speaker', 'n1'), {
      name: 'speaker-n1',
      labels: { 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': 'n1' },
    });
    assert.throws(() => configurationStateIdentity('speaker', ''), /node name/);
  });

  it("writes MetalLB's status: result, errorSummary (removed when valid), the configReconcilerValid condition", () => {
    const at = new Date(Date.UTC(2026, 0, 1, 12));
    assert.deepEqual(configurationStateStatus(INVALID, at), {
      result: 'Invalid',
      errorSummary: INVALID.errorSummary,
      conditions: [
        {
          type: 'configReconcilerValid',
          status: 'False',
          reason: 'ConfigurationError',
          message: INVALID.errorSummary,
          lastTransitionTime: '2026-01-01T12:00:00Z',
        },
      ],
    });
    const valid = configurationStateStatus(VALID, at);
    assert.equal(valid.result, 'Valid');
    assert.equal(valid.errorSummary, null);
    assert.deepEqual([valid.conditions[0]?.status, valid.conditions[0]?.reason], ['True', 'Reconciled']);
    // Not empty: kube-apiserver 1.20 refused an empty message in the status merge patch (real-server test).
    assert.equal(valid.conditions[0]?.message, 'the configuration is valid');
    assert.match(
      configurationStateStatus({ ...VALID, noConfiguration: 'there is no ConfigMap' }, at).conditions[0]?.message ?? '',
      /^no configuration: there is no ConfigMap/,
    );
  });

  it('writes nothing before start() and nothing inside report(); creates the object when missing, then patches its status', async () => {
    const { clock, objects, calls, writer } = setup();
    writer.report(VALID);
    await clock.advanceSettling(10);
    assert.deepEqual(calls, []);
    writer.start();
    assert.deepEqual(calls, [], 'the write runs on a later turn, never inside the caller');
    await clock.advanceSettling(0);
    assert.deepEqual(calls, ['patch speaker-n1 Valid', 'create speaker-n1', 'patch speaker-n1 Valid']);
    assert.deepEqual(objects.get('speaker-n1')?.labels, { 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': 'n1' });
    assert.equal(objects.get('speaker-n1')?.status?.result, 'Valid');
    assert.equal(writer.idle, true);
  });

  it('coalesces a burst of verdicts into one write of the newest, and skips a verdict already written', async () => {
    const { clock, objects, calls, writer } = setup();
    objects.set('speaker-n1', { labels: {} });
    writer.start();
    writer.report(VALID);
    writer.report(INVALID);
    writer.report(VALID);
    writer.report(INVALID);
    await clock.advanceSettling(0);
    assert.deepEqual(calls, ['patch speaker-n1 Invalid']);
    assert.equal(objects.get('speaker-n1')?.status?.errorSummary, INVALID.errorSummary);
    writer.report(INVALID);
    await clock.advanceSettling(100);
    assert.equal(calls.length, 1, 'the same verdict again: no write');
    writer.report(VALID);
    await clock.advanceSettling(0);
    assert.deepEqual(calls.slice(1), ['patch speaker-n1 Valid']);
  });

  it('an API error is counted and retried with doubling delays (1 s, 2 s, …), never thrown; the newest verdict is what lands', async () => {
    const { clock, objects, calls, errors, writer } = setup([500, 403, 500]);
    objects.set('speaker-n1', { labels: {} });
    writer.start();
    writer.report(INVALID);
    await clock.advanceSettling(0);
    assert.equal(errors.length, 1);
    await clock.advanceSettling(999);
    assert.equal(calls.length, 1, 'first retry after 1 s');
    await clock.advanceSettling(1);
    assert.equal(errors.length, 2);
    writer.report(VALID); // arrives during the backoff: written at the next try, not at once
    await clock.advanceSettling(1999);
    assert.equal(calls.length, 2);
    await clock.advanceSettling(1);
    assert.equal(errors.length, 3);
    await clock.advanceSettling(4000);
    assert.deepEqual(calls, ['patch speaker-n1 Invalid', 'patch speaker-n1 Invalid', 'patch speaker-n1 Valid', 'patch speaker-n1 Valid']);
    assert.equal(objects.get('speaker-n1')?.status?.result, 'Valid');
    assert.equal(writer.idle, true);
  });

  it('stop() cancels a pending write', async () => {
    const { clock, calls, writer } = setup();
    writer.start();
    writer.report(VALID);
    await writer.stop();
    await clock.advanceSettling(10_000);
    assert.deepEqual(calls, []);
  });
});
