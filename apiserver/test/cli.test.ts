import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../src/cli.js';
import { EmbeddedApiServer } from '../src/server.js';
import { renderKubeconfig } from '../src/kubeconfig.js';

describe('l2lb apiserver CLI arguments', () => {
  it('parses --listen, --data, --kubeconfig-out, --token (also --flag=value)', () => {
    assert.deepEqual(parseArgs(['--listen', '127.0.0.1:18080', '--data=/tmp/d', '--kubeconfig-out', 'kc', '--token', 't']), {
      host: '127.0.0.1',
      port: 18080,
      data: '/tmp/d',
      kubeconfigOut: 'kc',
      token: 't',
    });
    assert.deepEqual(parseArgs(['--listen', '[::1]:0']), { host: '::1', port: 0 });
    assert.deepEqual(parseArgs(['--listen', '0.0.0.0:1', '--advertise-address', '10.0.0.1', '--tls']), {
      host: '0.0.0.0',
      port: 1,
      advertiseAddress: '10.0.0.1',
      tlsSelfSigned: true,
    });
  });

  it('refuses a non-loopback --listen without a token unless --allow-unauthenticated says so', () => {
    // Everything, Secrets included, would be readable and writable by anyone who can reach the address.
    for (const listen of ['0.0.0.0:1', '[::]:1', '10.0.0.1:1', 'example.org:1', '[::ffff:10.0.0.1]:1']) {
      assert.match(String(parseArgs(['--listen', listen])), /--token.*--allow-unauthenticated/s, listen);
    }
    // A token (given, or generated for HTTPS) or a loopback address is fine.
    assert.equal(typeof parseArgs(['--listen', '0.0.0.0:1', '--token', 't']), 'object');
    assert.equal(typeof parseArgs(['--listen', '0.0.0.0:1', '--tls']), 'object');
    for (const listen of ['127.0.0.1:1', '127.3.4.5:1', '[::1]:1', 'localhost:1', '[::ffff:127.0.0.1]:1']) {
      assert.equal(typeof parseArgs(['--listen', listen]), 'object', listen);
    }
    assert.deepEqual(parseArgs(['--listen', '0.0.0.0:1', '--allow-unauthenticated']), { host: '0.0.0.0', port: 1, allowUnauthenticated: true });
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

describe('l2lb apiserver state files', () => {
  it('writes state.json (which holds Secrets) with mode 0600 whatever the umask', async () => {
    const dir = mkdtempSync(join(tmpdir(), `l2lb-state-${process.pid}-`));
    const oldMask = process.umask(0o022);
    try {
      const server = new EmbeddedApiServer({ dataDir: dir });
      await server.start();
      await fetch(`http://127.0.0.1:${server.port}/api/v1/namespaces/default/secrets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'dg==' } }),
      });
      server.flush();
      await server.close();
      assert.equal(statSync(join(dir, 'state.json')).mode & 0o777, 0o600);
    } finally {
      process.umask(oldMask);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
