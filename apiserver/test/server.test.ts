// Receive-path robustness of the embedded server: arbitrary methods, paths, content types and bodies always
// get an HTTP answer (a Status body for errors), never a crash or a hang.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import fc from 'fast-check';
import { EmbeddedApiServer } from '../src/server.js';

function call(port: number, method: string, path: string, body: string | undefined, contentType: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: body === undefined ? {} : { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.setTimeout(3000, () => req.destroy(new Error(`no answer for ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

describe('apiserver receive path (fuzz)', () => {
  let server: EmbeddedApiServer;
  let port: number;

  before(async () => {
    server = new EmbeddedApiServer();
    await server.start();
    port = server.port;
  });

  after(async () => {
    await server.close();
  });

  it('answers every request with a status code and a JSON Status on errors', async () => {
    const segment = fc.oneof(
      fc.constantFrom(
        'api',
        'apis',
        'v1',
        'namespaces',
        'default',
        'services',
        'status',
        'metallb.io',
        'v1beta1',
        'ipaddresspools',
        'watch',
        'web',
        '..',
        '%zz',
        '',
      ),
      fc.string({ maxLength: 6 }),
    );
    const query = fc.constantFrom(
      '',
      '?watch=1&resourceVersion=abc',
      '?labelSelector=a%20in%20(',
      '?fieldSelector=spec.x%3Dy',
      '?limit=-1&continue=garbage',
      '?timeoutSeconds=0',
    );
    const body = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 30 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.constant('{"metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}'),
      fc.constant('[{"op":"add","path":"/x","value":1}]'),
    );
    const ct = fc.constantFrom(
      'application/json',
      'application/merge-patch+json',
      'application/json-patch+json',
      'application/strategic-merge-patch+json',
      'text/plain',
      'application/vnd.kubernetes.protobuf',
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
    await fc.assert(
      fc.asyncProperty(method, fc.array(segment, { maxLength: 7 }), query, body, ct, async (m, segs, q, b, c) => {
        const path = `/${segs.map((x) => encodeURIComponent(x).replace(/%25zz/, '%zz')).join('/')}${q}`;
        // Watches that succeed stream forever: only check they answered (timeoutSeconds=0 keeps them open).
        if (m === 'GET' && q.includes('watch=1') && !q.includes('abc')) return;
        const res = await call(port, m, path, m === 'GET' ? undefined : b, c);
        assert.ok(res.status >= 200 && res.status < 600, `${m} ${path}: ${res.status}`);
        if (res.status >= 400) {
          const st = JSON.parse(res.text) as { kind?: string; code?: number };
          assert.equal(st.kind, 'Status', `${m} ${path}: ${res.text}`);
          assert.equal(st.code, res.status);
        }
      }),
      { numRuns: 400 },
    );
    const ok = await call(port, 'GET', '/api/v1/namespaces', undefined, 'application/json');
    assert.equal(ok.status, 200);
  });
});
