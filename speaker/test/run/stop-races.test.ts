// Shutdown paths of the speaker process (embedded API server, fake sockets, memberlist off, no root)
// and of the core: a second stop() (SIGTERM then SIGINT, or a failed start during a SIGTERM) must not
// report "stopped" before the first one finished leaving memberlist; a core stopped during start-up
// arms no timer.
import assert from 'node:assert/strict';
import { Resources } from '@l2lb/shared/kube/types';
import { Announcer } from '../../src/l2/announcer.js';
import { SpeakerCore } from '../../src/run/core.js';
import { parseRunArgs, type RunOptions } from '../../src/run/options.js';
import { SpeakerProcess } from '../../src/run/process.js';
import { FakeNet, iface } from '../l2/fakes.js';
import { memoryLogger, startEmbedded, type Embedded } from '../helpers/embedded.js';

describe('speaker process: stop() twice (embedded API server, fake sockets, no root)', function () {
  this.timeout(20_000);
  let api: Embedded | undefined;
  let speaker: SpeakerProcess | undefined;

  after(async () => {
    await speaker?.stop();
    await api?.close();
  });

  it('a second stop() resolves only once the first one has finished', async () => {
    api = await startEmbedded();
    await api.client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'l2lb-system' } });
    const net = new FakeNet();
    net.ifaces = [iface('eth0', 2, '02:00:00:00:0c:01')];
    const announcer = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, garpCount: 1 });
    const opts = parseRunArgs(['--node-name', 'me', '--ml-bind-addr', '', '--metrics-port', '0'], {}) as RunOptions;
    speaker = new SpeakerProcess(opts, api.client, memoryLogger([]), { announcer });
    await speaker.start();
    let firstDone = false;
    const first = speaker.stop().then(() => {
      firstDone = true;
    });
    await speaker.stop();
    assert.ok(firstDone, 'the second stop() resolved while the first was still stopping');
    await first;
  });
});

describe('speaker core: stopped during start-up', () => {
  it('start() after shutdown() arms no start-up timer', () => {
    const pending = new Set<number>();
    let id = 0;
    const timers = { setTimeout: () => (pending.add(++id), id), clearTimeout: (h: unknown) => void pending.delete(h as number) };
    const core = new SpeakerCore({ node: 'me', announcer: { announce() {}, withdraw() {}, interfaces: () => [] }, gated: true, timers });
    core.shutdown(); // SIGTERM while memberlist was still starting
    core.start(); // memberlist start finished afterwards
    assert.equal(pending.size, 0, 'a 3 s timer would keep a stopped speaker alive');
  });
});
