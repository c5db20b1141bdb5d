// metallb.io served only once its CustomResourceDefinitions exist (Api option metallbBuiltin: false), as on a
// real server where MetalLB's CRDs are installed after the cluster is up.

import assert from 'node:assert/strict';
import { Api } from '../src/api.js';
import { metallbCrds } from '../src/resources.js';
import { EmbeddedApiServer } from '../src/server.js';
import { Store } from '../src/store.js';

describe('apiserver: metallb.io kinds from their CRDs', () => {
  let server: EmbeddedApiServer;
  let url: string;

  before(async () => {
    server = new EmbeddedApiServer({ api: new Api(new Store(), { metallbBuiltin: false }) });
    url = await server.start();
  });

  after(async () => {
    await server.close();
  });

  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const post = async (path: string, body: unknown): Promise<number> => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await res.arrayBuffer();
    return res.status;
  };
  const groups = async (): Promise<string[]> => ((await get('/apis')).body['groups'] as { name: string }[]).map((g) => g.name);
  const pool = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p' }, spec: { addresses: ['192.0.2.0/28'] } };

  it('serves a metallb.io kind only once its CRD is created; the default server serves them from the start', async () => {
    assert.ok(!(await groups()).includes('metallb.io'));
    assert.equal((await get('/apis/metallb.io/v1beta1')).status, 404);
    assert.equal(await post('/apis/metallb.io/v1beta1/namespaces/default/ipaddresspools', pool), 404);

    const crds = metallbCrds();
    assert.deepEqual(crds.map((c) => (c['metadata'] as { name: string }).name).sort(), [
      'bfdprofiles.metallb.io',
      'bgpadvertisements.metallb.io',
      'bgppeers.metallb.io',
      'communities.metallb.io',
      'configurationstates.metallb.io',
      'ipaddresspools.metallb.io',
      'l2advertisements.metallb.io',
      'servicel2statuses.metallb.io',
    ]);
    const poolCrd = crds.find((c) => (c['metadata'] as { name: string }).name === 'ipaddresspools.metallb.io');
    assert.equal(await post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', poolCrd), 201);

    assert.ok((await groups()).includes('metallb.io'));
    const list = (await get('/apis/metallb.io/v1beta1')).body['resources'] as { name: string }[];
    assert.deepEqual(
      list.map((r) => r.name),
      ['ipaddresspools', 'ipaddresspools/status'],
    );
    assert.equal(await post('/apis/metallb.io/v1beta1/namespaces/default/ipaddresspools', pool), 201);
    assert.equal((await get('/apis/metallb.io/v1beta1/namespaces/default/l2advertisements')).status, 404);

    // The default server serves them from the start.
    const plain = new EmbeddedApiServer();
    const plainUrl = await plain.start();
    try {
      const res = await fetch(`${plainUrl}/apis/metallb.io/v1beta1`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    } finally {
      await plain.close();
    }
  });
});
