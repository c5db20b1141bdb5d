import assert from 'node:assert/strict';
import { parseArgs } from '../src/cli.js';

describe('l2lb-controller flags', () => {
  it('has MetalLB-like defaults', () => {
    assert.deepEqual(parseArgs([], {}), {
      kubeconfig: undefined,
      namespace: 'l2lb-system',
      lbClass: '',
      metricsPort: 7472,
      metricsHost: '0.0.0.0',
      logLevel: 'info',
      logFormat: 'json',
    });
  });

  it('reads environment variables, and flags win over them', () => {
    const env = { L2LB_NAMESPACE: 'from-env', L2LB_LB_CLASS: 'env/class', L2LB_METRICS_PORT: '9000', L2LB_LOG_LEVEL: 'debug', KUBECONFIG: '/kc' };
    const fromEnv = parseArgs([], env);
    assert.ok(!('error' in fromEnv) && !('help' in fromEnv));
    assert.equal(fromEnv.namespace, 'from-env');
    assert.equal(fromEnv.kubeconfig, '/kc');
    assert.equal(fromEnv.metricsPort, 9000);
    const flags = parseArgs(['--namespace', 'flag-ns', '--metrics-port=0', '--lb-class', 'x/y', '--log-format', 'text'], env);
    assert.ok(!('error' in flags) && !('help' in flags));
    assert.equal(flags.namespace, 'flag-ns');
    assert.equal(flags.metricsPort, 0);
    assert.equal(flags.lbClass, 'x/y');
    assert.equal(flags.logFormat, 'text');
    assert.equal(flags.logLevel, 'debug');
  });

  it('rejects bad input with a message naming the flag', () => {
    assert.match(String((parseArgs(['--metrics-port', 'abc'], {}) as { error: string }).error), /--metrics-port/);
    assert.match(String((parseArgs(['--log-level', 'loud'], {}) as { error: string }).error), /--log-level/);
    assert.match(String((parseArgs(['--namespace', 'Bad_NS'], {}) as { error: string }).error), /not a valid namespace/);
    assert.match(String((parseArgs(['--bogus'], {}) as { error: string }).error), /unknown flag/);
    assert.match(String((parseArgs(['--namespace'], {}) as { error: string }).error), /needs a value/);
    assert.deepEqual(parseArgs(['-h'], {}), { help: true });
  });
});
