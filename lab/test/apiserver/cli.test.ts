import assert from 'node:assert/strict';
import { parseArgs } from '../../src/apiserver/cli.js';
import { renderKubeconfig } from '../../src/apiserver/kubeconfig.js';

describe('l2lb apiserver CLI arguments', () => {
  it('parses --listen, --data, --kubeconfig-out, --token (also --flag=value)', () => {
    assert.deepEqual(parseArgs(['--listen', '127.0.0.1:18080', '--data=/tmp/d', '--kubeconfig-out', 'kc', '--token', 't']),
      { host: '127.0.0.1', port: 18080, data: '/tmp/d', kubeconfigOut: 'kc', token: 't' });
    assert.deepEqual(parseArgs(['--listen', '[::1]:0']), { host: '::1', port: 0 });
    assert.deepEqual(parseArgs(['--listen', '0.0.0.0:1', '--advertise-address', '10.0.0.1', '--tls']), { host: '0.0.0.0', port: 1, advertiseAddress: '10.0.0.1', tlsSelfSigned: true });
  });

  it('reports bad arguments as a message', () => {
    assert.match(String(parseArgs(['--listen', 'nope'])), /HOST:PORT/);
    assert.match(String(parseArgs(['--bogus'])), /unknown argument/);
    assert.match(String(parseArgs(['--data'])), /needs a value/);
    assert.match(String(parseArgs(['--tls-cert', 'c'])), /go together/);
  });

  it('writes an http kubeconfig kubectl accepts (insecure flag only for http) and an https one with the CA', () => {
    const http = renderKubeconfig({ server: 'http://127.0.0.1:1' });
    assert.match(http, /insecure-skip-tls-verify: true/);
    assert.match(http, /user: \{\}/);
    const https = renderKubeconfig({ server: 'https://127.0.0.1:1', caPem: 'PEM', token: 'tok' });
    assert.match(https, new RegExp(`certificate-authority-data: ${Buffer.from('PEM').toString('base64')}`));
    assert.match(https, /token: "tok"/);
    assert.doesNotMatch(https, /insecure/);
  });
});
