// ConfigurationState `speaker-<node>` from the real speaker process edge against the embedded API server (no
// root): Valid, Invalid with the error summary when the pool ConfigMap or metallb-excludel2 is refused (the
// VIP keeps being answered meanwhile), Valid again once fixed.
import assert from 'node:assert/strict';
import type { KubeClient } from '@l2lb/shared/kube/client';
import { Resources } from '@l2lb/shared/kube/types';
import { Announcer } from '../../src/l2/announcer.js';
import { parseRunArgs, type RunOptions } from '../../src/run/options.js';
import { SpeakerProcess } from '../../src/run/process.js';
import { FakeNet, iface } from '../l2/fakes.js';
import { waitFor } from '../helpers/wait.js';
import { createService, memoryLogger, startEmbedded, type Embedded } from '../helpers/embedded.js';

const NS = 'l2lb-system';
const LOGS: Record<string, unknown>[] = [];
const POOL = 'address-pools:\n- name: cm\n  protocol: layer2\n  addresses:\n  - 10.253.0.0/24\n';
const BROKEN = 'address-pools:\n- name: cm\n  protocol: layer2\n  addresses:\n  - 10.253.0.0/24\n  - not-a-cidr\n';

interface StateView {
  labels: Record<string, string>;
  result?: string;
  errorSummary?: string;
}

describe('speaker ConfigurationState (embedded API server, fake sockets, no root)', function () {
  this.timeout(30_000);
  let server: Embedded | undefined;
  let client: KubeClient;
  let speaker: SpeakerProcess | undefined;
  let announcer: Announcer;
  const net = new FakeNet();

  const state = async (): Promise<StateView | undefined> => {
    const o = (await client.list(Resources.configurationStates, { namespace: NS })).items.find((x) => x.metadata?.name === 'speaker-me');
    return o === undefined ? undefined : { labels: o.metadata?.labels ?? {}, ...((o as { status?: Omit<StateView, 'labels'> }).status ?? {}) };
  };
  const until = (result: string, what: string): Promise<StateView> =>
    waitFor(
      async () => {
        const v = await state();
        return v?.result === result ? v : undefined;
      },
      { timeoutMs: 10_000, what },
    );
  const putConfigMap = async (name: string, data: Record<string, string>): Promise<void> => {
    await client.patch(Resources.configMaps, NS, name, { data }, 'merge').catch(async () => {
      await client.create(Resources.configMaps, NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data });
    });
  };

  before(async () => {
    server = await startEmbedded();
    client = server.client;
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'me' } });
    await putConfigMap('config', { config: POOL });
    net.ifaces = [iface('eth0', 2, '02:00:00:00:0c:01')];
    announcer = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, garpCount: 1 });
    const opts = parseRunArgs(['--node-name', 'me', '--ml-bind-addr', '', '--metrics-port', '0'], {}) as RunOptions;
    speaker = new SpeakerProcess(opts, client, memoryLogger(LOGS), { announcer, crdRecheckMs: 100 });
    await speaker.start();
    await createService(client, 'web', '10.253.0.5', 'me');
    await waitFor(() => announcer.announced().includes('10.253.0.5'), { timeoutMs: 5000, what: 'the announcement' });
  });

  after(async () => {
    await speaker?.stop();
    await server?.close();
  });

  it("writes speaker-<node> with MetalLB's labels, Valid", async () => {
    const s = await until('Valid', 'ConfigurationState speaker-me Valid');
    assert.deepEqual(s.labels, { 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': 'me' });
    assert.equal(s.errorSummary ?? '', '');
  });

  it('an invalid pool ConfigMap makes it Invalid with the error summary while the VIP is still answered; fixed, Valid again', async () => {
    await putConfigMap('config', { config: BROKEN });
    const bad = await until('Invalid', 'ConfigurationState speaker-me Invalid');
    assert.match(bad.errorSummary ?? '', /"cm": addresses\[1\].*not-a-cidr/);
    assert.ok(announcer.announced().includes('10.253.0.5'), 'the last valid configuration keeps announcing');
    await putConfigMap('config', { config: POOL });
    const good = await until('Valid', 'ConfigurationState speaker-me Valid again');
    assert.equal(good.errorSummary ?? '', '');
  });

  it('a refused metallb-excludel2 makes it Invalid too, naming that ConfigMap', async () => {
    await putConfigMap('metallb-excludel2', { 'excludel2.yaml': 'announcedInterfacesToExclude: ["("]\n' });
    const bad = await until('Invalid', 'ConfigurationState speaker-me Invalid (excludel2)');
    assert.match(bad.errorSummary ?? '', /metallb-excludel2/);
    await client.delete(Resources.configMaps, NS, 'metallb-excludel2');
    await until('Valid', 'ConfigurationState speaker-me Valid after excludel2 removed');
  });
});
