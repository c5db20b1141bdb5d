import assert from 'node:assert/strict';
import { ephemeralLow, isPortClash, pickApiServerPorts, PORT_CLASH_EXIT, startOnFreshPorts, type ApiServerPorts } from '../src/testing/kube-apiserver-ports.js';

describe('ports for scripts/kube-apiserver.sh (tests)', () => {
  it('reads the first port of net.ipv4.ip_local_port_range, 32768 when it cannot', () => {
    assert.equal(ephemeralLow('32768\t60999\n'), 32768);
    assert.equal(ephemeralLow('49152 65535'), 49152);
    assert.equal(ephemeralLow(''), 32768);
    assert.equal(ephemeralLow('garbage'), 32768);
  });

  it('picks three consecutive free ports below the ephemeral range (outgoing connections cannot take them)', async () => {
    const low = ephemeralLow();
    for (let i = 0; i < 20; i++) {
      const { port, etcdPort } = await pickApiServerPorts();
      assert.equal(etcdPort, port + 1);
      assert.ok(port >= 10_000 && etcdPort + 1 < low, `${port}-${etcdPort + 1} must lie in 10000-${low - 1}`);
    }
  });

  it('skips a base whose etcd peer port is taken', async () => {
    const taken = new Set<number>();
    let firstBase = 0;
    const isFree = async (p: number): Promise<boolean> => {
      if (firstBase === 0) {
        firstBase = p;
        taken.add(p + 2);
      }
      return !taken.has(p);
    };
    const ports = await pickApiServerPorts({ low: 32768, isFree });
    assert.notEqual(ports.port, firstBase);
    assert.ok(!taken.has(ports.etcdPort + 1));
  });

  it('starts again on other ports after a port clash (exit 75), and only then', async () => {
    const tried: ApiServerPorts[] = [];
    let base = 20_000;
    const pick = async (): Promise<ApiServerPorts> => ({ port: base, etcdPort: ++base });
    const clash = Object.assign(new Error('etcd could not bind'), { code: PORT_CLASH_EXIT });
    const result = await startOnFreshPorts(
      async (ports) => {
        tried.push(ports);
        if (tried.length < 3) throw clash;
        return 'up';
      },
      { pick },
    );
    assert.equal(result, 'up');
    assert.deepEqual(
      tried.map((p) => p.port),
      [20_000, 20_001, 20_002],
    );

    const other = Object.assign(new Error('etcd not found'), { code: 1 });
    let calls = 0;
    await assert.rejects(
      startOnFreshPorts(
        async () => {
          calls++;
          throw other;
        },
        { pick },
      ),
      /etcd not found/,
    );
    assert.equal(calls, 1, 'any other failure is final');

    calls = 0;
    await assert.rejects(
      startOnFreshPorts(
        async () => {
          calls++;
          throw clash;
        },
        { pick, attempts: 2 },
      ),
      /could not bind/,
    );
    assert.equal(calls, 2, 'gives up after the attempts');
    assert.ok(isPortClash(clash) && !isPortClash(other) && !isPortClash(undefined));
  });
});
