import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const bin = join(repoRoot, 'lab', 'bin', 'l2lb.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function l2lb(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: repoRoot });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata: {name: config, namespace: l2lb-system}
data:
  config: |
    address-pools:
    - name: prod
      protocol: layer2
      addresses: [192.168.10.0/24, 192.168.11.10-192.168.11.12]
      avoid-buggy-ips: true
    - name: v6
      protocol: layer2
      addresses: ["fd00::/120"]
      auto-assign: false
`;

const RAW = `address-pools:
- name: raw
  protocol: layer2
  addresses: [10.1.0.0/30]
`;

const CRDS = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: b-pool, namespace: l2lb-system}
spec:
  addresses: [10.2.0.0/29]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: a-pool, namespace: l2lb-system}
spec:
  addresses: [10.3.0.0/30]
  serviceAllocation: {priority: 1}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: edge, namespace: l2lb-system}
spec:
  ipAddressPools: [a-pool]
  nodeSelectors: [{matchLabels: {edge: "true"}}]
  interfaces: [eth1]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: all, namespace: l2lb-system}
`;

describe('l2lb config check (the real CLI)', function () {
  this.timeout(30_000);
  let dir = '';
  const file = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'l2lb-config-check-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a ConfigMap manifest and prints a summary', async () => {
    const result = await l2lb('config', 'check', await file('cm.yaml', CONFIGMAP));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid: 2 address pools, 1 L2 advertisement/);
    assert.match(result.stdout, /prod .*257 addresses/);
    assert.match(result.stdout, /192\.168\.10\.0\/24, 192\.168\.11\.10\/31, 192\.168\.11\.12\/32/);
    assert.equal(result.stderr, '');
  });

  it('prints exactly one JSON object with --json (ConfigMap: one implicit advertisement)', async () => {
    const result = await l2lb('config', 'check', '--json', await file('cm.yaml', CONFIGMAP));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim().split('\n').length, 1);
    assert.deepEqual(JSON.parse(result.stdout), {
      pools: [
        { name: 'prod', autoAssign: true, avoidBuggyIPs: true, cidrs: ['192.168.10.0/24', '192.168.11.10/31', '192.168.11.12/32'], size: '257' },
        { name: 'v6', autoAssign: false, avoidBuggyIPs: false, cidrs: ['fd00::/120'], size: '256' },
      ],
      l2Advertisements: [{ name: 'configmap', ipAddressPools: ['prod', 'v6'], nodeSelectors: [], interfaces: [] }],
    });
  });

  it('accepts the raw config YAML', async () => {
    const result = await l2lb('config', 'check', '--json', await file('raw.yaml', RAW));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).pools, [{ name: 'raw', autoAssign: true, avoidBuggyIPs: false, cidrs: ['10.1.0.0/30'], size: '4' }]);
  });

  it('accepts multi-document CRD YAML, ordered by priority then name', async () => {
    const result = await l2lb('config', 'check', '--json', await file('crds.yaml', CRDS));
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { pools: { name: string }[]; l2Advertisements: unknown[] };
    assert.deepEqual(
      json.pools.map((p) => p.name),
      ['a-pool', 'b-pool'],
    );
    assert.deepEqual(json.l2Advertisements, [
      { name: 'edge', ipAddressPools: ['a-pool'], nodeSelectors: [{ matchLabels: { edge: 'true' }, matchExpressions: [] }], interfaces: ['eth1'] },
      { name: 'all', ipAddressPools: ['a-pool', 'b-pool'], nodeSelectors: [], interfaces: [] },
    ]);
  });

  it('checks several files together (CRDs split across files; overlap between them is caught)', async () => {
    const pools = await file('pools.yaml', CRDS.split('---')[0] ?? '');
    const ads = await file('ads.yaml', `apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: x}\n`);
    const ok = await l2lb('config', 'check', '--json', pools, ads);
    assert.equal(ok.code, 0, ok.stderr);
    const clash = await file('clash.yaml', `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: other}\nspec: {addresses: [10.2.0.4/30]}\n`);
    const bad = await l2lb('config', 'check', pools, clash);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /"10.2.0.4\/30" overlaps "10.2.0.0\/29"/);
  });

  it('rejects an invalid ConfigMap: exit 1, errors on stderr, nothing on stdout', async () => {
    const text = CONFIGMAP.replace('192.168.10.0/24', '192.168.10.0/33').replace(
      'protocol: layer2\n      addresses: ["fd00',
      'protocol: bgp\n      addresses: ["fd00',
    );
    for (const args of [[], ['--json']]) {
      const result = await l2lb('config', 'check', ...args, await file('bad-cm.yaml', text));
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /address pool #1 "prod": addresses\[0\]: invalid CIDR "192.168.10.0\/33": prefix length/);
      assert.match(result.stderr, /address pool #2 "v6": protocol: protocol "bgp": BGP mode is not supported by l2lb/);
      assert.match(result.stderr, /2 errors: the configuration is invalid/);
    }
  });

  it('rejects invalid raw config and invalid CRDs with exit 1', async () => {
    const raw = await l2lb('config', 'check', await file('bad-raw.yaml', RAW.replace('10.1.0.0/30', '10.1.0.9-10.1.0.1')));
    assert.equal(raw.code, 1);
    assert.equal(raw.stdout, '');
    assert.match(raw.stderr, /address pool #1 "raw": addresses\[0\]: invalid address range "10.1.0.9-10.1.0.1": start 10.1.0.9 is after end 10.1.0.1/);
    const crd = await l2lb('config', 'check', await file('bad-crd.yaml', CRDS.replace('10.3.0.0/30', '10.2.0.0/30')));
    assert.equal(crd.code, 1);
    assert.equal(crd.stdout, '');
    assert.match(
      crd.stderr,
      /IPAddressPool "b-pool": spec.addresses\[0\]: "10.2.0.0\/29" overlaps "10.2.0.0\/30" \(spec.addresses\[0\] of IPAddressPool "a-pool"\)/,
    );
  });

  it('accepts a ConfigMap without data.config as an empty configuration (warning), rejects a document that is not configuration', async () => {
    const noData = await l2lb('config', 'check', await file('nodata.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\ndata: {other: x}\n'));
    assert.equal(noData.code, 0, noData.stderr);
    assert.match(noData.stderr, /warning: .*ConfigMap config: data.config is missing/);
    assert.match(noData.stderr, /warning: no address pools are defined/);
    const deployment = await l2lb('config', 'check', await file('deploy.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n'));
    assert.equal(deployment.code, 1);
    assert.match(deployment.stderr, /deploy.yaml: kind "Deployment" is not l2lb configuration/);
  });

  it('exits 2 naming the file when it cannot be read or is not YAML', async () => {
    const missing = await l2lb('config', 'check', join(dir, 'nope.yaml'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope.yaml/);
    assert.equal(missing.stdout, '');
    const broken = await l2lb('config', 'check', await file('broken.yaml', 'address-pools: [\n  - {name: x\n'));
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /broken.yaml: document 1 is not valid YAML/);
    const duplicateKey = await l2lb('config', 'check', await file('dup.yaml', 'address-pools: []\naddress-pools: []\n'));
    assert.equal(duplicateKey.code, 2);
    assert.match(duplicateKey.stderr, /dup.yaml/);
  });

  it('exits 2 on bad usage', async () => {
    assert.equal((await l2lb('config', 'check')).code, 2);
    assert.equal((await l2lb('config', 'frobnicate')).code, 2);
    assert.equal((await l2lb('config', 'check', '--yaml', 'x')).code, 2);
    assert.equal((await l2lb('no-such-command')).code, 2);
  });

  it('prints warnings on stderr and still exits 0 for a valid but suspicious config', async () => {
    const result = await l2lb('config', 'check', '--json', await file('lonely.yaml', CRDS.split('---')[0] ?? ''));
    assert.equal(result.code, 0);
    assert.match(result.stderr, /warning: pool "b-pool" is not selected by any L2Advertisement/);
    assert.doesNotThrow(() => JSON.parse(result.stdout));
  });

  describe('accepts what MetalLB accepts, warning where it reads it differently; --strict refuses every warning', () => {
    const expectWarned = async (name: string, text: string, warning: RegExp): Promise<void> => {
      const path = await file(name, text);
      const lax = await l2lb('config', 'check', path);
      assert.equal(lax.code, 0, lax.stderr);
      assert.match(lax.stderr, warning);
      assert.match(lax.stdout, /^valid: /);
      const strict = await l2lb('config', 'check', '--strict', path);
      assert.equal(strict.code, 1, strict.stderr);
      assert.match(strict.stderr, warning.source.startsWith('warning: ') ? new RegExp(`error: ${warning.source.slice('warning: '.length)}`) : warning);
      assert.match(strict.stderr, /refused by --strict/);
      assert.equal(strict.stdout, '');
    };

    it('a CIDR with host bits is read as MetalLB reads it (the network), naming the pool and the normalised CIDR', async () => {
      await expectWarned(
        'hostbits-cm.yaml',
        CONFIGMAP.replace('192.168.10.0/24', '192.168.10.5/24'),
        /warning: address pool #1 "prod": addresses\[0\]: CIDR "192.168.10.5\/24" has host bits set: read as "192.168.10.0\/24"/,
      );
      const crd = await l2lb('config', 'check', '--json', await file('hostbits-crd.yaml', CRDS.replace('10.2.0.0/29', '10.2.0.3/29')));
      assert.equal(crd.code, 0, crd.stderr);
      assert.match(crd.stderr, /IPAddressPool "b-pool": spec.addresses\[0\]: CIDR "10.2.0.3\/29" has host bits set: read as "10.2.0.0\/29"/);
      assert.deepEqual((JSON.parse(crd.stdout) as { pools: { name: string; cidrs: string[] }[] }).pools.find((p) => p.name === 'b-pool')?.cidrs, [
        '10.2.0.0/29',
      ]);
    });

    it('an empty configuration is valid: an empty ConfigMap, raw config or file', async () => {
      await expectWarned(
        'empty-cm.yaml',
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\ndata:\n  config: ""\n',
        /warning: no address pools are defined/,
      );
      await expectWarned('empty-raw.yaml', 'address-pools: []\n', /warning: no address pools are defined/);
      await expectWarned('empty.yaml', '', /warning: no configuration found in/);
    });

    it('BGP objects among the CRs are ignored with a warning; a legacy bgp pool stays an error', async () => {
      const bgp =
        `${CRDS}---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: peer, namespace: l2lb-system}\nspec: {myASN: 64500, peerASN: 64501, peerAddress: 10.0.0.1}\n` +
        '---\napiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: adv, namespace: l2lb-system}\n' +
        '---\napiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: bfd, namespace: l2lb-system}\n' +
        '---\napiVersion: metallb.io/v1beta1\nkind: Community\nmetadata: {name: comm, namespace: l2lb-system}\n';
      await expectWarned('bgp-crs.yaml', bgp, /warning: BGPPeer "peer": BGP mode is not supported by l2lb: this object is ignored/);
      const result = await l2lb('config', 'check', await file('bgp-crs2.yaml', bgp));
      for (const kind of ['BGPAdvertisement "adv"', 'BFDProfile "bfd"', 'Community "comm"'])
        assert.ok(result.stderr.includes(`warning: ${kind}: BGP mode`), result.stderr);
      const legacy = await l2lb('config', 'check', await file('bgp-cm.yaml', RAW.replace('layer2', 'bgp')));
      assert.equal(legacy.code, 1);
      assert.match(legacy.stderr, /protocol "bgp": BGP mode is not supported by l2lb/);
    });

    it('an unknown field in a CR is ignored with a warning (as pruning); in the legacy ConfigMap it stays an error', async () => {
      await expectWarned(
        'unknown-crd.yaml',
        CRDS.replace('  addresses: [10.2.0.0/29]', '  addresses: [10.2.0.0/29]\n  colour: blue'),
        /warning: IPAddressPool "b-pool": spec: unknown field "colour" is ignored/,
      );
      await expectWarned(
        'unknown-selector.yaml',
        CRDS.replace('nodeSelectors: [{matchLabels: {edge: "true"}}]', 'nodeSelectors: [{matchLabels: {edge: "true"}, matchFields: {}}]'),
        /warning: L2Advertisement "edge": spec.nodeSelectors\[0\]: unknown field "matchFields" in label selector is ignored/,
      );
      const legacy = await l2lb('config', 'check', await file('unknown-cm.yaml', RAW.replace('protocol: layer2', 'protocol: layer2\n  colour: blue')));
      assert.equal(legacy.code, 1);
      assert.match(legacy.stderr, /unknown field "colour"/);
    });
  });

  it('reads standard input for the file name -', async () => {
    const child = execFile(process.execPath, [bin, 'config', 'check', '--json', '-'], { cwd: repoRoot });
    child.stdin?.end(RAW);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.equal(JSON.parse(stdout).pools[0].name, 'raw');
  });

  it('treats a mapping that is not a Kubernetes object as raw config, so a typo gets a precise message', async () => {
    const result = await l2lb('config', 'check', await file('typo.yaml', RAW.replace('address-pools', 'adress-pools')));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /unknown field "adress-pools" \(known: address-pools\)/);
  });

  it('is reachable as npx l2lb from the repository root', async () => {
    const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
    const { stdout } = await run(npx, ['--no-install', 'l2lb', 'config', 'check', '--json', await file('npx.yaml', RAW)], { cwd: repoRoot });
    assert.equal(JSON.parse(stdout).pools[0].name, 'raw');
  });
});
