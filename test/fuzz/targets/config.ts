// The pool configuration: the legacy ConfigMap YAML (parseConfigMapConfig) and the metallb.io CRs
// (IPAddressPool, L2Advertisement) as API objects and as YAML text, alone and together
// (buildConfigFromSources). Contract: a Config or a ConfigError naming the object and field; nothing else.
import { ConfigError, buildConfigFromSources, parseConfigMapConfig, parseMetalLBResources, parseYamlValue } from '@l2lb/shared/config/index';
import { mutateJson, mutateText, randomJson, showJson, type FuzzTarget, type Rng } from '../harness.js';

/** Texts up to 4 KiB: the parse cost grows with size, and the nesting and size limits are tested in unit tests. */
const MAX_TEXT = 4096;

const CONFIGMAP_SEEDS = [
  `address-pools:
- name: production
  protocol: layer2
  addresses:
  - 192.168.10.0/24
  - fd00:10::/120
  avoid-buggy-ips: true
- name: staging
  protocol: layer2
  addresses:
  - 192.168.20.10-192.168.20.40
  auto-assign: false
`,
  `peers:
- peer-address: 10.0.0.1
  peer-asn: 64501
  my-asn: 64500
address-pools:
- name: bgp
  protocol: bgp
  addresses: [10.1.0.0/16]
  bgp-advertisements:
  - aggregation-length: 32
`,
  `address-pools:
- name: a
  protocol: layer2
  addresses: [&x 10.0.0.0/8, *x, "::/0", 0.0.0.0/0, 10.0.0.5-10.0.0.1]
`,
];

const POOL = {
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name: 'production', namespace: 'l2lb-system', labels: { tier: 'prod' } },
  spec: {
    addresses: ['192.168.10.0/24', 'fd00::/120', '10.0.0.1-10.0.0.9'],
    avoidBuggyIPs: true,
    autoAssign: true,
    serviceAllocation: {
      priority: 10,
      namespaces: ['team-a'],
      namespaceSelectors: [{ matchLabels: { a: 'b' } }],
      serviceSelectors: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] }],
    },
  },
};
const AD = {
  apiVersion: 'metallb.io/v1beta1',
  kind: 'L2Advertisement',
  metadata: { name: 'everywhere', namespace: 'l2lb-system' },
  spec: {
    ipAddressPools: ['production'],
    ipAddressPoolSelectors: [{ matchLabels: { tier: 'prod' } }],
    nodeSelectors: [{ matchLabels: { 'node-role.kubernetes.io/edge': '' }, matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['y'] }] }],
    interfaces: ['eth0'],
  },
};

function toYaml(v: unknown, indent = ''): string {
  // A small emitter (block style) so mutations hit YAML structure, not only JSON-in-YAML.
  if (Array.isArray(v)) return v.length === 0 ? '[]' : v.map((x) => `\n${indent}- ${toYaml(x, `${indent}  `).trimStart()}`).join('');
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v);
    return entries.length === 0 ? '{}' : entries.map(([k, x]) => `\n${indent}${JSON.stringify(k)}: ${toYaml(x, `${indent}  `)}`).join('');
  }
  return JSON.stringify(v) ?? 'null';
}

type ConfigInput =
  | { kind: 'configmap'; text: string }
  | { kind: 'resources'; resources: unknown[] }
  | { kind: 'yaml-resources'; text: string }
  | { kind: 'both'; text: string; resources: unknown[] };

function resources(rng: Rng): unknown[] {
  const out: unknown[] = [];
  for (let n = 1 + rng.len(5); n > 0; n--) {
    const base = rng.chance(2) ? POOL : AD;
    out.push(rng.chance(6) ? randomJson(rng) : rng.chance(4) ? structuredClone(base) : mutateJson(rng, base));
  }
  return out;
}

export const configTarget: FuzzTarget<ConfigInput> = {
  name: 'config',
  description: 'ConfigMap YAML (parseConfigMapConfig), metallb.io CRs as objects and YAML, and both together',
  generate(rng): ConfigInput {
    switch (rng.int(4)) {
      case 0: {
        const seed = rng.pick(CONFIGMAP_SEEDS);
        return { kind: 'configmap', text: rng.chance(12) ? rng.bytes(rng.len(2000)).toString('latin1') : mutateText(rng, seed, MAX_TEXT) };
      }
      case 1:
        return { kind: 'resources', resources: resources(rng) };
      case 2:
        return {
          kind: 'yaml-resources',
          text: mutateText(
            rng,
            resources(rng)
              .map((r) => toYaml(r).trimStart())
              .join('\n---\n'),
            MAX_TEXT,
          ),
        };
      default:
        return { kind: 'both', text: mutateText(rng, rng.pick(CONFIGMAP_SEEDS), MAX_TEXT), resources: resources(rng) };
    }
  },
  execute(input) {
    try {
      switch (input.kind) {
        case 'configmap':
          parseConfigMapConfig(input.text, { object: 'ConfigMap l2lb-system/config' });
          break;
        case 'resources':
          parseMetalLBResources(input.resources);
          break;
        case 'yaml-resources': {
          const docs = input.text.split(/^---$/m).map((d, i) => parseYamlValue(d, `document ${i + 1}`));
          parseMetalLBResources(docs);
          break;
        }
        default:
          buildConfigFromSources({ configMapText: input.text, configMapObject: 'ConfigMap l2lb-system/config', resources: input.resources });
      }
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      if (e.problems.length === 0) throw new Error('ConfigError without problems');
    }
  },
  show: (input) => showJson(input),
};
