// ServiceL2Status from the real speaker process edge against the embedded API server (no root):
// created by the announcing speaker with MetalLB's labels and status, gone with the Service, and a
// restarted speaker adopts its object instead of adding a second one.
import assert from 'node:assert/strict';
import type { KubeClient } from '@l2lb/shared/kube/client';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { Announcer } from '../../src/l2/announcer.js';
import { parseRunArgs, type RunOptions } from '../../src/run/options.js';
import { SpeakerProcess } from '../../src/run/process.js';
import { FakeNet, iface } from '../l2/fakes.js';
import { waitFor } from '../helpers/wait.js';
import { createService, memoryLogger, startEmbedded, type Embedded } from '../helpers/embedded.js';

const NS = 'l2lb-system';
const LOGS: Record<string, unknown>[] = [];
const POOL = 'address-pools:\n- name: cm\n  protocol: layer2\n  addresses:\n  - 10.252.0.0/24\n';

describe('speaker ServiceL2Status (embedded API server, fake sockets, no root)', function () {
  this.timeout(30_000);
  let server: Embedded | undefined;
  let client: KubeClient;
  let speaker: SpeakerProcess | undefined;
  const net = new FakeNet();

  before(async () => {
    server = await startEmbedded();
    client = server.client;
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'me' } });
    await client.create(Resources.configMaps, NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: NS }, data: { config: POOL } });
    net.ifaces = [iface('eth0', 2, '02:00:00:00:0b:01')];
  });

  after(async () => {
    await speaker?.stop();
    await server?.close();
  });

  async function startSpeaker(): Promise<{ speaker: SpeakerProcess; announcer: Announcer }> {
    const announcer = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, garpCount: 1 });
    const opts = parseRunArgs(['--node-name', 'me', '--ml-bind-addr', '', '--metrics-port', '0'], {}) as RunOptions;
    const s = new SpeakerProcess(opts, client, memoryLogger(LOGS), { announcer, crdRecheckMs: 100 });
    await s.start();
    return { speaker: s, announcer };
  }

  const statuses = async (): Promise<KubeObject[]> => (await client.list(Resources.serviceL2Statuses, { namespace: NS })).items;

  it("the announcing speaker creates one ServiceL2Status in MetalLB's shape", async () => {
    const started = await startSpeaker();
    speaker = started.speaker;
    await createService(client, 'web', '10.252.0.5', 'me');
    await waitFor(() => started.announcer.announced().includes('10.252.0.5'), { timeoutMs: 5000, what: 'the announcement' });
    const [s, ...rest] = await waitFor(
      async () => {
        const l = await statuses();
        return l.length > 0 && (l[0] as { status?: unknown }).status !== undefined && l;
      },
      { timeoutMs: 5000, what: 'the ServiceL2Status' },
    );
    assert.equal(rest.length, 0);
    assert.match(String(s?.metadata?.name), /^l2-/);
    assert.deepEqual(s?.metadata?.labels, { 'metallb.io/node': 'me', 'metallb.io/service-name': 'web', 'metallb.io/service-namespace': 'default' });
    assert.deepEqual((s as { status?: unknown }).status, { node: 'me', serviceName: 'web', serviceNamespace: 'default' });
  });

  it('a restarted speaker adopts its object: no duplicate', async () => {
    const before = (await statuses()).map((s) => s.metadata?.name);
    await speaker?.stop();
    const started = await startSpeaker();
    speaker = started.speaker;
    await waitFor(() => started.announcer.announced().includes('10.252.0.5'), { timeoutMs: 5000, what: 'the announcement after the restart' });
    // Give the writer time to (wrongly) create a second object, then check there is still exactly one.
    await waitFor(async () => (await speaker?.registry.metrics())?.includes('l2lb_kube_informer_synced{informer="servicel2statuses"} 1'), {
      timeoutMs: 5000,
      what: 'the ServiceL2Status informer',
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      (await statuses()).map((s) => s.metadata?.name),
      before,
    );
  });

  it('is deleted with the Service', async () => {
    await client.delete(Resources.services, 'default', 'web');
    await waitFor(async () => (await statuses()).length === 0, { timeoutMs: 5000, what: 'the ServiceL2Status to go' });
  });
});
