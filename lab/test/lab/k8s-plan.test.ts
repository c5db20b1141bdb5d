// The real-Kubernetes lab's pure layout: routes, pod CIDRs, tokens, and the `--kubernetes` flag.
import assert from 'node:assert/strict';
import { parseLabArgs } from '../../src/lab/args.js';
import { containerdToml, kubeletConfig, nodePaths, nodeRoutes, poolConfigMap, tokensCsv, webObjects, K8S_USERS, SERVICE_CIDR } from '../../src/lab/k8s-plan.js';
import { planLab } from '../../src/lab/plan.js';

describe('real-Kubernetes lab plan', () => {
  const plan = planLab({ prefix: 'k8x', nodes: 3 });

  it('up --kubernetes parses; other commands refuse it', () => {
    const r = parseLabArgs(['up', '--kubernetes']);
    assert.ok(r.ok && r.command.cmd === 'up' && r.command.kubernetes === true);
    const plain = parseLabArgs(['up']);
    assert.ok(plain.ok && plain.command.cmd === 'up' && plain.command.kubernetes === undefined);
    const bad = parseLabArgs(['status', '--kubernetes']);
    assert.ok(!bad.ok && /--kubernetes does not apply/.test(bad.error));
  });

  it("every node routes the Service range on-link and the other nodes' pod CIDRs via them", () => {
    for (const n of plan.nodes) {
      const routes = nodeRoutes(plan, n);
      assert.deepEqual(routes[0], [SERVICE_CIDR, 'dev', 'eth0']);
      const others = plan.nodes.filter((o) => o !== n);
      assert.deepEqual(
        routes.slice(1),
        others.map((o) => [nodePaths(plan, o).podCidr, 'via', o.ip]),
      );
    }
    assert.equal(new Set(plan.nodes.map((n) => nodePaths(plan, n).podCidr)).size, 3);
  });

  it('node state stays in per-node directories and cgroup roots named after the prefix', () => {
    const p = nodePaths(plan, plan.nodes[1]!);
    assert.equal(p.cgroup, '/l2lb-k8x-n2');
    assert.match(containerdToml(p, '/usr/lib/cni'), /netns_mounts_under_state_dir = true/);
    assert.match(containerdToml(p, '/usr/lib/cni'), new RegExp(`state = "${p.run}/containerd"`));
    assert.match(kubeletConfig(plan.nodes[1]!, p), /cgroupRoot: \/l2lb-k8x-n2\n/);
  });

  it('the token file has one line per user and node, each with its own token', () => {
    const tokens: Record<string, string> = {};
    for (const u of K8S_USERS) tokens[u.file] = `t-${u.file}`;
    for (const n of plan.nodes) tokens[`node-${n.name}`] = `t-${n.name}`;
    const lines = tokensCsv(tokens, plan).trim().split('\n');
    assert.equal(lines.length, K8S_USERS.length + 3);
    assert.ok(lines.includes('t-n1,system:node:n1,system:node:n1,"system:nodes"'));
    assert.ok(lines.includes('t-admin,l2lb-admin,l2lb-admin,"system:masters"'));
  });

  it('the web workload and pool are what a user writes', () => {
    const [dep, svc] = webObjects(3);
    assert.equal((dep?.['spec'] as { replicas: number }).replicas, 3);
    assert.equal((svc?.['spec'] as { type: string }).type, 'LoadBalancer');
    assert.match(
      (poolConfigMap('10.213.0.200-10.213.0.249')['data'] as { config: string }).config,
      /protocol: layer2\n {2}addresses:\n {2}- 10\.213\.0\.200-10\.213\.0\.249\n/,
    );
  });
});
