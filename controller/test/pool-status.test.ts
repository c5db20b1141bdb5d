// IPAddressPool status (MetalLB >= 0.15's assigned/available counts): the coalescing writer with a
// fake clock, then the controller process against the embedded and the real kube-apiserver.
import assert from 'node:assert/strict';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { MAX_COUNT, PoolStatusWriter, poolStatusOf, type PoolStatus } from '../src/pool-status.js';
import { waitFor } from './helpers.js';
import { ControllerProcess, embeddedTarget, ensureNamespace, lbService, metallbCrds, realTarget, type ApiTarget } from './env.js';

describe('pool status writer (fake clock)', () => {
  const stats = (used4: number, total4 = 16n) => [{ pool: 'p', total: { 4: total4, 6: 0n }, inUse: { 4: used4, 6: 0 } }];

  function setup() {
    let now = 0;
    const timers: { at: number; fn: () => void }[] = [];
    const writes: { at: number; status: PoolStatus }[] = [];
    let stored: unknown = {};
    const w = new PoolStatusWriter({
      now: () => now,
      setTimer: (fn, ms) => timers.push({ at: now + ms, fn }),
      current: () => ({ status: stored }),
      patch: async (_pool, status) => {
        writes.push({ at: now, status });
        stored = status;
      },
    });
    const advance = async (ms: number): Promise<void> => {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (t === undefined || t.at > end) break;
        timers.shift();
        now = t.at; // each timer runs at its own time
        t.fn();
        await new Promise((r) => setImmediate(r));
      }
      now = end;
      await new Promise((r) => setImmediate(r));
    };
    return { w, writes, advance };
  }

  it('counts as MetalLB does; IPv6 availability capped at 2^53-1', () => {
    assert.deepEqual(poolStatusOf({ pool: 'p', total: { 4: 256n, 6: 2n ** 64n }, inUse: { 4: 3, 6: 1 } }), {
      assignedIPv4: 3,
      assignedIPv6: 1,
      availableIPv4: 253,
      availableIPv6: MAX_COUNT,
    });
  });

  it('writes at most once a second per pool, with the newest counts, and not when unchanged', async () => {
    const { w, writes, advance } = setup();
    w.update(stats(1));
    await advance(0);
    for (let i = 2; i <= 10; i++) {
      w.update(stats(i));
      await advance(50);
    }
    await advance(1000);
    assert.deepEqual(
      writes.map((x) => [x.at, x.status.assignedIPv4]),
      [
        [0, 1],
        [1000, 10],
      ],
    );
    w.update(stats(10));
    await advance(2000);
    assert.equal(writes.length, 2);
  });
});

const ipaddresspool = (name: string, addresses: string[]): KubeObject => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name, namespace: 'l2lb-system' },
  spec: { addresses },
});

function poolStatusSuite(title: string, makeTarget: () => Promise<ApiTarget>): void {
  describe(title, function () {
    this.timeout(120_000);
    let target: ApiTarget | undefined;
    let controller: ControllerProcess | undefined;

    before(async () => {
      target = await makeTarget();
      await ensureNamespace(target.client, 'l2lb-system');
      if (target.kind === 'real') {
        // MetalLB's CRDs, with the status subresource (as MetalLB's and manifests/l2lb.yaml's).
        for (const crd of await metallbCrds()) await target.client.create(Resources.customResourceDefinitions, undefined, crd);
        const client = target.client;
        await waitFor(async () => client.serves(Resources.ipAddressPools).catch(() => false), { timeoutMs: 30_000, what: 'ipaddresspools served' });
      }
      await target.client.create(Resources.ipAddressPools, 'l2lb-system', ipaddresspool('gold', ['198.18.0.0/28', 'fd00:18::/120']));
      controller = await ControllerProcess.start(target);
      await controller.waitReady(30_000);
    });

    after(async () => {
      await controller?.kill('SIGKILL').catch(() => undefined);
      await target?.close();
    });

    const status = async (): Promise<unknown> =>
      ((await target?.client.get(Resources.ipAddressPools, 'l2lb-system', 'gold')) as { status?: unknown } | undefined)?.status;

    it('counts match the allocations, written at most once a second', async () => {
      const t = target as ApiTarget;
      await waitFor(
        async () => JSON.stringify(await status()) === JSON.stringify({ assignedIPv4: 0, assignedIPv6: 0, availableIPv4: 16, availableIPv6: 256 }),
        { timeoutMs: 10_000, what: "the empty pool's status" },
      );
      const started = Date.now();
      const before = t.requestsTo?.(/\/ipaddresspools\/gold\/status$/);
      await ensureNamespace(t.client, 'ps');
      for (let i = 0; i < 6; i++) await t.client.create(Resources.services, 'ps', lbService(`s${i}`, 'ps'));
      await t.client.create(Resources.services, 'ps', lbService('dual', 'ps', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] }));
      // 7 IPv4 addresses; the dual-stack Service also one IPv6 where the server keeps ipFamilies (not 1.20 without the gate).
      const got = await waitFor(
        async () => {
          const s = (await status()) as PoolStatus | undefined;
          return s?.assignedIPv4 === 7 ? s : undefined;
        },
        { timeoutMs: 15_000, what: '7 assigned IPv4 addresses in the pool status' },
      );
      assert.equal(got.availableIPv4, 16 - 7);
      assert.equal(got.assignedIPv6 + got.availableIPv6, 256);
      const elapsedS = (Date.now() - started) / 1000;
      if (before !== undefined) {
        const writes = (t.requestsTo?.(/\/ipaddresspools\/gold\/status$/) ?? 0) - before;
        console.log(`      ${writes} status writes in ${elapsedS.toFixed(1)} s for 7 allocations`);
        assert.ok(writes <= Math.ceil(elapsedS) + 1, `${writes} writes in ${elapsedS} s`);
      }
      await t.client.delete(Resources.services, 'ps', 's0');
      await waitFor(async () => ((await status()) as PoolStatus | undefined)?.assignedIPv4 === 6, { timeoutMs: 10_000, what: 'the release counted' });
    });
  });
}

poolStatusSuite('controller writes IPAddressPool status (embedded API server)', () => embeddedTarget());

describe('controller writes IPAddressPool status against the real kube-apiserver @integration', () => {
  poolStatusSuite('(real kube-apiserver v1.20)', realTarget);
});
