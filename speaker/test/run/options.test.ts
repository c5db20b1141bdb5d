import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseRunArgs, type RunOptions } from '../../src/run/options.js';

const bin = fileURLToPath(new URL('../../../bin/l2lb-speaker.js', import.meta.url));

function ok(argv: string[], env: Record<string, string> = {}): RunOptions {
  const r = parseRunArgs(argv, env);
  if (!('nodeName' in r)) assert.fail(`expected options, got ${JSON.stringify(r)}`);
  return r;
}

function error(argv: string[], env: Record<string, string> = {}): string {
  const r = parseRunArgs(argv, env);
  if (!('error' in r)) assert.fail(`expected an error, got ${JSON.stringify(r)}`);
  return r.error;
}

describe('l2lb-speaker run flags', () => {
  it('defaults', () => {
    assert.deepEqual(ok(['--node-name', 'n1']), {
      nodeName: 'n1',
      namespace: 'l2lb-system',
      kubeconfig: undefined,
      mlBindAddr: undefined,
      mlBindPort: 7946,
      mlLabels: 'app=l2lb,component=speaker',
      mlJoin: [],
      mlSecretKeyPath: '/etc/ml_secret_key',
      mlProfile: 'fast',
      lbClass: '',
      ignoreExcludeLb: false,
      networkThread: true,
      metricsHost: '0.0.0.0',
      metricsPort: 7472,
      logLevel: 'info',
      logFormat: 'json',
    });
  });

  it('every flag, both --flag value and --flag=value', () => {
    const o = ok([
      '--node-name=n2',
      '--namespace',
      'metallb-system',
      '--kubeconfig',
      '/k',
      '--ml-bind-addr',
      '10.0.0.1',
      '--ml-bind-port=7000',
      '--ml-labels',
      'app=x',
      '--ml-join',
      '10.0.0.2,10.0.0.3:7001,[fd00::1]:7002,fd00::2',
      '--ml-secret-key-path',
      '/s',
      '--ml-profile',
      'lan',
      '--lb-class',
      'c',
      '--ignore-exclude-lb',
      '--network-thread=false',
      '--metrics-host',
      '127.0.0.1',
      '--metrics-port',
      '0',
      '--log-level',
      'debug',
      '--log-format',
      'text',
    ]);
    assert.deepEqual(o, {
      nodeName: 'n2',
      namespace: 'metallb-system',
      kubeconfig: '/k',
      mlBindAddr: '10.0.0.1',
      mlBindPort: 7000,
      mlLabels: 'app=x',
      mlJoin: [
        { host: '10.0.0.2', port: undefined },
        { host: '10.0.0.3', port: 7001 },
        { host: 'fd00::1', port: 7002 },
        { host: 'fd00::2', port: undefined },
      ],
      mlSecretKeyPath: '/s',
      mlProfile: 'lan',
      lbClass: 'c',
      ignoreExcludeLb: true,
      networkThread: false,
      metricsHost: '127.0.0.1',
      metricsPort: 0,
      logLevel: 'debug',
      logFormat: 'text',
    });
  });

  it('environment fallbacks (l2lb and MetalLB names); flags win', () => {
    const env = {
      METALLB_NODE_NAME: 'mnode',
      METALLB_NAMESPACE: 'metallb-system',
      KUBECONFIG: '/kc',
      METALLB_ML_BIND_ADDR: '10.1.0.1',
      METALLB_ML_BIND_PORT: '7950',
      METALLB_ML_LABELS: 'app=metallb,component=speaker',
      L2LB_ML_JOIN: '10.1.0.2',
      METALLB_ML_SECRET_KEY_PATH: '/etc/x',
      L2LB_ML_PROFILE: 'lan',
      L2LB_LB_CLASS: 'k',
      L2LB_IGNORE_EXCLUDE_LB: 'true',
      L2LB_NETWORK_THREAD: '0',
      L2LB_METRICS_HOST: '::1',
      L2LB_METRICS_PORT: '9000',
      L2LB_LOG_LEVEL: 'warn',
      L2LB_LOG_FORMAT: 'text',
    };
    const o = ok([], env);
    assert.deepEqual(o, {
      nodeName: 'mnode',
      namespace: 'metallb-system',
      kubeconfig: '/kc',
      mlBindAddr: '10.1.0.1',
      mlBindPort: 7950,
      mlLabels: 'app=metallb,component=speaker',
      mlJoin: [{ host: '10.1.0.2', port: undefined }],
      mlSecretKeyPath: '/etc/x',
      mlProfile: 'lan',
      lbClass: 'k',
      ignoreExcludeLb: true,
      networkThread: false,
      metricsHost: '::1',
      metricsPort: 9000,
      logLevel: 'warn',
      logFormat: 'text',
    });
    const l2 = ok([], { ...env, L2LB_NODE_NAME: 'lnode', L2LB_NAMESPACE: 'l2', L2LB_KUBECONFIG: '/l2kc' });
    assert.deepEqual([l2.nodeName, l2.namespace, l2.kubeconfig], ['lnode', 'l2', '/l2kc'], 'L2LB_ names win over MetalLB/KUBECONFIG');
    const f = ok(['--node-name', 'flag', '--ml-bind-addr', '', '--ml-profile', 'fast', '--ignore-exclude-lb=false', '--network-thread'], env);
    assert.deepEqual([f.nodeName, f.mlBindAddr, f.mlProfile, f.ignoreExcludeLb, f.networkThread], ['flag', undefined, 'fast', false, true]);
  });

  it('bad values are rejected with a message naming the flag', () => {
    const cases: [string[], RegExp][] = [
      [[], /--node-name is required/],
      [['--node-name', 'Bad_Name'], /--node-name "Bad_Name" is not a valid node name/],
      [['--node-name', 'n', '--namespace', 'A'], /--namespace "A"/],
      [['--node-name', 'n', '--ml-bind-addr', 'host.example'], /--ml-bind-addr must be an IP address/],
      [['--node-name', 'n', '--ml-bind-port', '0'], /--ml-bind-port must be a port number 1-65535/],
      [['--node-name', 'n', '--ml-bind-port', '70000'], /--ml-bind-port/],
      [['--node-name', 'n', '--ml-join', '10.0.0.1,peer.example'], /--ml-join: "peer.example" is not IP or IP:PORT/],
      [['--node-name', 'n', '--ml-join', '10.0.0.1:99999'], /--ml-join/],
      [['--node-name', 'n', '--ml-labels', 'a=b,,'], /--ml-labels must be a label selector/],
      [['--node-name', 'n', '--ml-profile', 'wan'], /--ml-profile must be fast or lan/],
      [['--node-name', 'n', '--ignore-exclude-lb=maybe'], /--ignore-exclude-lb takes true or false/],
      [['--node-name', 'n', '--network-thread=sometimes'], /--network-thread takes true or false/],
      [['--node-name', 'n', '--metrics-port', '-1'], /--metrics-port must be a port number 0-65535/],
      [['--node-name', 'n', '--log-level', 'trace'], /--log-level must be error, warn, info or debug/],
      [['--node-name', 'n', '--log-format', 'xml'], /--log-format must be json or text/],
      [['--node-name', 'n', '--bogus'], /unknown flag "--bogus"/],
      [['--node-name'], /--node-name needs a value/],
    ];
    for (const [argv, re] of cases) assert.match(error(argv), re, argv.join(' '));
    assert.match(error([], { L2LB_ML_PROFILE: 'slow', L2LB_NODE_NAME: 'n' }), /--ml-profile/);
  });

  it('the process exits 2 with the message on stderr for a bad value, 0 for --help', () => {
    const bad = spawnSync(process.execPath, [bin, 'run', '--node-name', 'n1', '--metrics-port', 'x'], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '' },
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--metrics-port must be a port number 0-65535, got "x"/);
    const help = spawnSync(process.execPath, [bin, 'run', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--ml-secret-key-path DIR/);
  });
});
