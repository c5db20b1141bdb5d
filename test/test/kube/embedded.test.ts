import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCert } from '@l2lb/apiserver';
import { KubeApiError, KubeClient } from '@l2lb/shared/kube/client';
import { loadKubeConfig } from '@l2lb/shared/kube/config';
import { conformance } from './conformance.js';
import { embeddedTarget, type Target } from './helpers.js';

describe('kube conformance: embedded API server', () => {
  let target: Target | undefined;
  before(async () => {
    target = await embeddedTarget();
  });
  after(async () => {
    await target?.close();
  });
  conformance(() => {
    if (!target) throw new Error('embedded server not started');
    return target;
  });
});

describe('kube conformance: embedded API server over HTTPS with a bearer token', () => {
  let target: Target | undefined;
  let dir: string | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'l2lb-tls-'));
    target = await embeddedTarget({ tls: selfSignedCert(dir, '127.0.0.1'), tokens: ['s3cret'] });
  });
  after(async () => {
    await target?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  it('refuses requests without the token (401 Status)', async () => {
    const anon = new KubeClient(loadKubeConfig({ server: target!.client.server, insecureSkipTlsVerify: true }));
    await assert.rejects(anon.request('GET', '/api/v1/namespaces'), (e: unknown) => e instanceof KubeApiError && e.code === 401 && e.reason === 'Unauthorized');
  });
  conformance(() => {
    if (!target) throw new Error('embedded server not started');
    return target;
  });
});
