import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allNamespaces, controllerArgs, findNode, isLabNamespace, nodeByMac, planLab, prefixProblem, speakerArgs } from '../../src/lab/plan.js';

describe('lab plan', () => {
  it('lays out the contract: cp .2, client .3, node i .(10+i), MACs, namespaces, switch ports', () => {
    const p = planLab({ prefix: 'l2lt42', nodes: 3 });
    assert.equal(p.stateDir, '/run/l2lb-lab/l2lt42');
    assert.equal(p.sw, 'l2lt42-sw');
    assert.deepEqual({ ns: p.cp.ns, ip: p.cp.ip, mac: p.cp.mac }, { ns: 'l2lt42-cp', ip: '10.213.0.2', mac: '02:13:00:00:00:02' });
    assert.deepEqual({ ns: p.client.ns, ip: p.client.ip, mac: p.client.mac }, { ns: 'l2lt42-cl', ip: '10.213.0.3', mac: '02:13:00:00:00:03' });
    assert.deepEqual(
      p.nodes.map((n) => [n.name, n.ns, n.ip, n.mac, n.swPort]),
      [
        ['n1', 'l2lt42-n1', '10.213.0.11', '02:13:00:00:01:01', 'sw-n1'],
        ['n2', 'l2lt42-n2', '10.213.0.12', '02:13:00:00:01:02', 'sw-n2'],
        ['n3', 'l2lt42-n3', '10.213.0.13', '02:13:00:00:01:03', 'sw-n3'],
      ],
    );
    assert.equal(p.apiUrl, 'http://10.213.0.2:6443');
    assert.equal(p.poolRange, '10.213.0.200-10.213.0.249');
    assert.deepEqual(allNamespaces(p), ['l2lt42-sw', 'l2lt42-cp', 'l2lt42-cl', 'l2lt42-n1', 'l2lt42-n2', 'l2lt42-n3']);
  });

  it('writes node MACs in two hex digits', () => {
    const p = planLab({ nodes: 12 });
    assert.equal(p.nodes[11]?.mac, '02:13:00:00:01:0c');
    assert.equal(p.nodes[11]?.ip, '10.213.0.22');
    assert.equal(p.prefix, 'l2lab');
  });

  it('refuses bad prefixes and node counts with a message naming them', () => {
    assert.match(prefixProblem('L2') ?? '', /"L2" must be/);
    assert.match(prefixProblem('a-b') ?? '', /lowercase/);
    assert.equal(prefixProblem('l2lt1234abcd'), undefined);
    assert.throws(() => planLab({ nodes: 0 }), /node count must be an integer from 1 to 40, got 0/);
    assert.throws(() => planLab({ nodes: 41 }), /got 41/);
    assert.throws(() => planLab({ prefix: 'x y' }), /prefix "x y"/);
  });

  it('recognises only its own namespaces (l2lab does not own l2lab2-*)', () => {
    assert.ok(isLabNamespace('l2lab', 'l2lab-sw'));
    assert.ok(isLabNamespace('l2lab', 'l2lab-n17'));
    assert.ok(!isLabNamespace('l2lab', 'l2lab2-sw'));
    assert.ok(!isLabNamespace('l2lab', 'l2lab-foo'));
    assert.ok(!isLabNamespace('l2lab', 'l2lab-n'));
  });

  it('every planned namespace is recognised, node MACs and IPs are unique', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.stringMatching(/^[a-z][a-z0-9]{1,15}$/), (n, prefix) => {
        const p = planLab({ prefix, nodes: n });
        assert.ok(allNamespaces(p).every((ns) => isLabNamespace(prefix, ns)));
        assert.equal(new Set(p.nodes.map((x) => x.mac)).size, n);
        assert.equal(new Set([p.cp.ip, p.client.ip, ...p.nodes.map((x) => x.ip)]).size, n + 2);
        for (const node of p.nodes) {
          assert.equal(nodeByMac(p, node.mac.toUpperCase()), node);
          assert.equal(findNode(p, node.ns), node);
          assert.ok(node.swPort.length <= 15, 'interface names fit IFNAMSIZ');
        }
      }),
    );
  });

  it('gives each speaker the contract flags, joining the other nodes', () => {
    const p = planLab({ prefix: 'l2lt1', nodes: 3, stateDir: '/tmp/st' });
    const n2 = p.nodes[1];
    assert.ok(n2);
    const a = speakerArgs(p, n2, { mlProfile: 'lan' });
    const flag = (f: string): string | undefined => a[a.indexOf(f) + 1];
    assert.equal(a[0], 'run');
    assert.equal(flag('--node-name'), 'n2');
    assert.equal(flag('--ml-bind-addr'), '10.213.0.12');
    assert.equal(flag('--ml-join'), '10.213.0.11:7946,10.213.0.13:7946');
    assert.equal(flag('--ml-secret-key-path'), '/tmp/st/ml');
    assert.equal(flag('--kubeconfig'), '/tmp/st/kubeconfig');
    assert.equal(flag('--ml-profile'), 'lan');
    assert.equal(flag('--metrics-host'), '10.213.0.12');
    const c = controllerArgs(p);
    assert.equal(c[c.indexOf('--metrics-host') + 1], '10.213.0.2');
  });
});
