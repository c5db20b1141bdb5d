// manifests/l2lb.yaml checked without a cluster: documents, order, the security posture of both
// workloads, the contract's env names, RBAC references and exactly the permissions of permissions.ts,
// and CRD schemas that take every CR the l2lb configuration parser accepts (manifests/examples too).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildConfigFromSources } from '@l2lb/shared';
import { Resources } from '@l2lb/shared/kube/types';
import { configurationStateStatus } from '@l2lb/shared/kube/configuration-state';
import { imageLayout } from './image.js';
import { at, describe1, examplesDir, find, isObj, list, loadDocuments, manifestPath, repoRoot, str, type Obj } from './load.js';
import { NAMESPACE, NEEDED, describePermission, type Permission } from './permissions.js';
import { structuralProblems, validate } from './schema.js';

const ORDER = ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'RBAC', 'Deployment', 'DaemonSet'];
const RBAC_KINDS = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

/** Environment variables `l2lb-speaker run` reads (the lead's contract). */
const SPEAKER_ENV = new Set([
  'L2LB_NODE_NAME',
  'METALLB_NODE_NAME',
  'L2LB_NAMESPACE',
  'METALLB_NAMESPACE',
  'L2LB_KUBECONFIG',
  'KUBECONFIG',
  'METALLB_ML_BIND_ADDR',
  'METALLB_ML_BIND_PORT',
  'METALLB_ML_LABELS',
  'L2LB_ML_JOIN',
  'METALLB_ML_SECRET_KEY_PATH',
  'L2LB_ML_PROFILE',
  'L2LB_LB_CLASS',
  'L2LB_IGNORE_EXCLUDE_LB',
  'L2LB_METRICS_HOST',
  'L2LB_METRICS_PORT',
  'L2LB_LOG_LEVEL',
  'L2LB_LOG_FORMAT',
]);
/** Environment variables `l2lb-controller` reads (controller/README.md). */
const CONTROLLER_ENV = new Set([
  'L2LB_KUBECONFIG',
  'KUBECONFIG',
  'L2LB_NAMESPACE',
  'L2LB_LB_CLASS',
  'L2LB_METRICS_PORT',
  'L2LB_METRICS_HOST',
  'L2LB_LOG_LEVEL',
  'L2LB_LOG_FORMAT',
  'POD_NAME',
]);

const objects = loadDocuments(manifestPath);

function podSpec(kind: string, name: string): Obj {
  const spec = at(find(objects, kind, name), 'spec.template.spec');
  assert.ok(isObj(spec), `${kind} ${name}: no spec.template.spec`);
  return spec;
}

function onlyContainer(kind: string, name: string): Obj {
  const containers = list(podSpec(kind, name)['containers'], `${kind} ${name} containers`);
  assert.equal(containers.length, 1, `${kind} ${name}: one container`);
  const c = containers[0];
  assert.ok(isObj(c));
  return c;
}

function envOf(container: Obj): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const e of list(container['env'], 'env')) {
    assert.ok(isObj(e));
    out.set(str(e['name'], 'env name'), e);
  }
  return out;
}

function fieldRef(e: Obj | undefined): unknown {
  return at(e, 'valueFrom.fieldRef.fieldPath');
}

/** Every (verb, group, resource, namespace, name) the RBAC objects grant a ServiceAccount. */
function granted(sa: string): Permission[] {
  const out: Permission[] = [];
  for (const b of objects.filter((o) => o['kind'] === 'ClusterRoleBinding' || o['kind'] === 'RoleBinding')) {
    const subjects = list(b['subjects'], describe1(b));
    if (!subjects.some((s) => isObj(s) && s['kind'] === 'ServiceAccount' && s['name'] === sa && s['namespace'] === NAMESPACE)) continue;
    const roleKind = str(at(b, 'roleRef.kind'), `${describe1(b)} roleRef.kind`);
    const role = find(objects, roleKind, str(at(b, 'roleRef.name'), `${describe1(b)} roleRef.name`));
    const namespace = b['kind'] === 'RoleBinding' ? str(at(b, 'metadata.namespace'), describe1(b)) : undefined;
    for (const rule of list(role['rules'], describe1(role))) {
      assert.ok(isObj(rule));
      const names = list(rule['resourceNames'], 'resourceNames').map((n) => str(n, 'resourceName'));
      for (const group of list(rule['apiGroups'], 'apiGroups')) {
        for (const resource of list(rule['resources'], 'resources')) {
          for (const verb of list(rule['verbs'], 'verbs')) {
            for (const name of names.length > 0 ? names : [undefined]) {
              out.push({
                verb: str(verb, 'verb'),
                group: str(group, 'group'),
                resource: str(resource, 'resource'),
                ...(namespace ? { namespace } : {}),
                ...(name ? { name } : {}),
              });
            }
          }
        }
      }
    }
  }
  return out;
}

function crdSchema(plural: string): Obj {
  const crd = objects.find((o) => o['kind'] === 'CustomResourceDefinition' && at(o, 'spec.names.plural') === plural);
  assert.ok(crd, `no CRD for ${plural}`);
  const versions = list(at(crd, 'spec.versions'), 'versions');
  const v1beta1 = versions.find((v) => isObj(v) && v['name'] === 'v1beta1');
  const schema = at(v1beta1, 'schema.openAPIV3Schema');
  assert.ok(isObj(schema), `${plural}: no v1beta1 schema`);
  return schema;
}

function schemaFor(cr: Obj): Obj {
  return crdSchema(cr['kind'] === 'IPAddressPool' ? 'ipaddresspools' : 'l2advertisements');
}

describe('manifests/l2lb.yaml', () => {
  it('parses into Namespace, CRDs, ServiceAccounts, RBAC, the Deployment and the DaemonSet, in that order', () => {
    const ranks = objects.map((o) => {
      const kind = str(o['kind'], 'kind');
      const rank = ORDER.indexOf(RBAC_KINDS.includes(kind) ? 'RBAC' : kind);
      assert.ok(rank >= 0, `unexpected kind ${kind}`);
      return rank;
    });
    for (let i = 1; i < ranks.length; i++) {
      assert.ok((ranks[i] ?? 0) >= (ranks[i - 1] ?? 0), `${describe1(objects[i] ?? {})} comes after ${describe1(objects[i - 1] ?? {})}`);
    }
    assert.deepEqual(
      [...new Set(ranks)],
      ORDER.map((_, i) => i),
      'every group is present',
    );
    assert.deepEqual(
      objects
        .filter((o) => o['kind'] === 'ServiceAccount')
        .map((o) => at(o, 'metadata.name'))
        .sort(),
      ['controller', 'speaker'],
    );
    for (const o of objects) {
      assert.equal(typeof o['apiVersion'], 'string', `${describe1(o)}: apiVersion`);
      const namespaced = !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(str(o['kind'], 'kind'));
      assert.equal(at(o, 'metadata.namespace'), namespaced ? NAMESPACE : undefined, `${describe1(o)}: namespace`);
    }
  });

  it('labels the namespace privileged for Pod Security (hostNetwork + NET_RAW speaker)', () => {
    const ns = find(objects, 'Namespace', NAMESPACE);
    const labels = at(ns, 'metadata.labels');
    assert.ok(isObj(labels));
    for (const mode of ['enforce', 'audit', 'warn']) assert.equal(labels[`pod-security.kubernetes.io/${mode}`], 'privileged', mode);
  });

  it('runs the speaker on the host network with only CAP_NET_RAW and the contract environment', () => {
    const spec = podSpec('DaemonSet', 'speaker');
    assert.equal(spec['hostNetwork'], true);
    assert.equal(spec['serviceAccountName'], 'speaker');
    assert.equal(spec['terminationGracePeriodSeconds'], 3);
    const tolerations = list(spec['tolerations'], 'tolerations');
    for (const key of ['node-role.kubernetes.io/master', 'node-role.kubernetes.io/control-plane']) {
      assert.ok(
        tolerations.some((t) => isObj(t) && t['key'] === key && t['operator'] === 'Exists' && t['effect'] === 'NoSchedule'),
        `toleration ${key}`,
      );
    }
    const c = onlyContainer('DaemonSet', 'speaker');
    assert.equal(list(c['args'], 'args')[0], 'run', 'the speaker runs `l2lb-speaker run`');
    assert.match(str(c['image'], 'image'), /^ghcr\.io\/l2lb\/speaker:\d+\.\d+\.\d+$/);
    const sc = c['securityContext'];
    assert.deepEqual(at(sc, 'capabilities.add'), ['NET_RAW']);
    assert.deepEqual(at(sc, 'capabilities.drop'), ['ALL']);
    assert.equal(at(sc, 'allowPrivilegeEscalation'), false);
    assert.equal(at(sc, 'privileged'), undefined);
    assert.equal(at(sc, 'readOnlyRootFilesystem'), true);
    // The container runtime's default seccomp filter: AF_PACKET, memberlist and HTTP need no blocked syscall.
    assert.equal(at(spec, 'securityContext.seccompProfile.type'), 'RuntimeDefault', 'speaker Pod seccompProfile');

    const env = envOf(c);
    for (const name of env.keys()) assert.ok(SPEAKER_ENV.has(name), `env ${name} is not read by l2lb-speaker run`);
    assert.equal(fieldRef(env.get('METALLB_NODE_NAME')), 'spec.nodeName');
    assert.equal(fieldRef(env.get('METALLB_ML_BIND_ADDR')), 'status.podIP');
    assert.equal(env.get('METALLB_ML_LABELS')?.['value'], 'app=l2lb,component=speaker');
    // The peer selector must select the speaker Pods themselves.
    const labels = at(find(objects, 'DaemonSet', 'speaker'), 'spec.template.metadata.labels');
    assert.deepEqual(labels, { app: 'l2lb', component: 'speaker' });
    assert.deepEqual(at(find(objects, 'DaemonSet', 'speaker'), 'spec.selector.matchLabels'), labels);
    const keyPath = env.get('METALLB_ML_SECRET_KEY_PATH')?.['value'];
    assert.equal(keyPath, '/etc/ml_secret_key');
    const mount = list(c['volumeMounts'], 'volumeMounts').find((m) => isObj(m) && m['mountPath'] === keyPath);
    assert.ok(isObj(mount), 'the secret key directory is mounted');
    const volume = list(spec['volumes'], 'volumes').find((v) => isObj(v) && v['name'] === mount['name']);
    assert.equal(at(volume, 'secret.secretName'), 'memberlist', 'the memberlist Secret the controller creates');
    const ports = list(c['ports'], 'ports');
    for (const [port, protocol] of [
      [7472, 'TCP'],
      [7946, 'TCP'],
      [7946, 'UDP'],
    ] as const) {
      assert.ok(
        ports.some((p) => isObj(p) && p['containerPort'] === port && p['protocol'] === protocol),
        `port ${port}/${protocol}`,
      );
    }
    assert.equal(env.get('METALLB_ML_BIND_PORT')?.['value'] ?? '7946', '7946');
  });

  it('runs the controller as non-root with a read-only root filesystem and no capabilities', () => {
    const deployment = find(objects, 'Deployment', 'controller');
    assert.equal(at(deployment, 'spec.replicas'), 1);
    assert.equal(at(deployment, 'spec.strategy.type'), 'Recreate', 'never two allocators during a rollout');
    const spec = podSpec('Deployment', 'controller');
    assert.equal(spec['serviceAccountName'], 'controller');
    assert.equal(spec['hostNetwork'] ?? false, false);
    assert.equal(at(spec, 'securityContext.runAsNonRoot'), true);
    const uid = at(spec, 'securityContext.runAsUser');
    assert.ok(typeof uid === 'number' && uid > 0, 'a non-zero runAsUser');
    assert.equal(at(spec, 'securityContext.seccompProfile.type'), 'RuntimeDefault', 'controller Pod seccompProfile');
    const c = onlyContainer('Deployment', 'controller');
    assert.match(str(c['image'], 'image'), /^ghcr\.io\/l2lb\/controller:\d+\.\d+\.\d+$/);
    assert.equal(at(c, 'securityContext.readOnlyRootFilesystem'), true);
    assert.equal(at(c, 'securityContext.allowPrivilegeEscalation'), false);
    assert.deepEqual(at(c, 'securityContext.capabilities.drop'), ['ALL']);
    assert.equal(at(c, 'securityContext.capabilities.add'), undefined);
    for (const name of envOf(c).keys()) assert.ok(CONTROLLER_ENV.has(name), `env ${name} is not read by l2lb-controller`);
    assert.equal(fieldRef(envOf(c).get('L2LB_NAMESPACE')), 'metadata.namespace');
    // The Dockerfile's user is the one the Pod runs as (the image is built for it).
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile.controller'), 'utf8');
    assert.match(dockerfile, new RegExp(`^USER ${String(uid)}(:\\d+)?$`, 'm'));
  });

  it('probes /healthz and /readyz on the metrics port and sets resources, for both workloads', () => {
    for (const [kind, name] of [
      ['Deployment', 'controller'],
      ['DaemonSet', 'speaker'],
    ] as const) {
      const c = onlyContainer(kind, name);
      const port = list(c['ports'], 'ports').find((p) => isObj(p) && p['containerPort'] === 7472);
      assert.ok(isObj(port), `${name}: port 7472`);
      for (const [probe, path] of [
        ['livenessProbe', '/healthz'],
        ['readinessProbe', '/readyz'],
      ]) {
        assert.equal(at(c, `${probe}.httpGet.path`), path, `${name} ${probe}`);
        const p = at(c, `${probe}.httpGet.port`);
        assert.ok(p === 7472 || p === port['name'], `${name} ${probe} port`);
      }
      for (const r of ['requests.cpu', 'requests.memory', 'limits.memory']) assert.ok(at(c, `resources.${r}`), `${name}: resources.${r}`);
    }
  });

  it('ships Dockerfiles whose runtime stage copies what `npm run build` produces', () => {
    for (const file of ['Dockerfile.controller', 'Dockerfile.speaker']) {
      const copies = [...readFileSync(join(repoRoot, file), 'utf8').matchAll(/^COPY --from=build \/src\/(\S+) /gm)].map((m) => m[1] ?? '');
      assert.ok(copies.length >= 5, `${file}: COPY lines`);
      for (const path of copies) assert.ok(existsSync(join(repoRoot, path)), `${file} copies ${path}, which the build does not produce`);
    }
  });

  it("the images' runtime stages hold every file their process loads (entrypoint --help from those files only)", function () {
    this.timeout(30_000);
    for (const [file, extra, usage] of [
      ['Dockerfile.controller', ['--help'], 'usage: l2lb-controller'],
      ['Dockerfile.speaker', ['--help'], 'usage: l2lb-speaker run'],
    ] as const) {
      const image = imageLayout(file);
      try {
        const [program, ...args] = [...image.entrypoint, ...image.cmd, ...extra];
        assert.equal(program, 'node', `${file}: the entrypoint runs node`);
        // As the image's USER when this test may switch to it (root), so its files must be readable by it.
        const asUser = image.user && process.getuid?.() === 0 ? image.user : undefined;
        const r = spawnSync(process.execPath, args, {
          cwd: image.dir,
          env: { PATH: process.env['PATH'] ?? '', ...image.env },
          encoding: 'utf8',
          timeout: 20_000,
          ...asUser,
        });
        assert.equal(r.status, 0, `${file}: ${r.stderr}`);
        assert.ok(r.stdout.startsWith(usage), `${file}: ${r.stdout.slice(0, 200)}`);
      } finally {
        image.remove();
      }
    }
  });

  it('ships Dockerfiles whose entrypoints exist', () => {
    for (const [file, bin] of [
      ['Dockerfile.controller', 'controller/bin/l2lb-controller.js'],
      ['Dockerfile.speaker', 'speaker/bin/l2lb-speaker.js'],
    ] as const) {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      assert.ok(text.includes(`"/app/${bin}"`), `${file} runs ${bin}`);
      assert.ok(existsSync(join(repoRoot, bin)), `${bin} exists`);
    }
  });

  it('binds every role to an existing ServiceAccount, and every workload uses one', () => {
    const accounts = new Set(
      objects.filter((o) => o['kind'] === 'ServiceAccount').map((o) => `${String(at(o, 'metadata.namespace'))}/${String(at(o, 'metadata.name'))}`),
    );
    for (const [kind, name] of [
      ['Deployment', 'controller'],
      ['DaemonSet', 'speaker'],
    ] as const) {
      assert.ok(accounts.has(`${NAMESPACE}/${String(podSpec(kind, name)['serviceAccountName'])}`), `${kind} ${name}: its ServiceAccount exists`);
    }
    const bindings = objects.filter((o) => o['kind'] === 'ClusterRoleBinding' || o['kind'] === 'RoleBinding');
    assert.equal(bindings.length, 4);
    for (const b of bindings) {
      const kind = at(b, 'roleRef.kind');
      assert.ok(b['kind'] === 'RoleBinding' ? kind === 'Role' || kind === 'ClusterRole' : kind === 'ClusterRole', `${describe1(b)}: roleRef.kind`);
      assert.equal(at(b, 'roleRef.apiGroup'), 'rbac.authorization.k8s.io');
      const role = find(objects, str(kind, 'kind'), str(at(b, 'roleRef.name'), 'roleRef.name'));
      if (kind === 'Role') assert.equal(at(role, 'metadata.namespace'), at(b, 'metadata.namespace'), `${describe1(b)}: Role in the same namespace`);
      for (const s of list(b['subjects'], describe1(b))) {
        assert.ok(isObj(s) && s['kind'] === 'ServiceAccount', `${describe1(b)}: subjects are ServiceAccounts`);
        assert.ok(
          accounts.has(`${String(s['namespace'])}/${String(s['name'])}`),
          `${describe1(b)}: ServiceAccount ${String(s['namespace'])}/${String(s['name'])} exists`,
        );
      }
    }
    for (const r of objects.filter((o) => o['kind'] === 'ClusterRole' || o['kind'] === 'Role')) {
      assert.ok(
        bindings.some((b) => at(b, 'roleRef.kind') === r['kind'] && at(b, 'roleRef.name') === at(r, 'metadata.name')),
        `${describe1(r)} is bound`,
      );
    }
  });

  for (const sa of ['controller', 'speaker'] as const) {
    it(`grants the ${sa} exactly what it uses, no wildcards`, () => {
      const key = (x: Permission): string => describePermission(x);
      const got = granted(sa).map(key).sort();
      assert.ok(!got.some((g) => g.includes('*')), `no wildcards: ${got.filter((g) => g.includes('*')).join(', ')}`);
      assert.deepEqual(got, [...new Set(got)], 'no permission granted twice');
      assert.deepEqual(got, NEEDED[sa].map(key).sort());
    });
  }

  it('defines the metallb.io CRDs l2lb reads and writes, with structural schemas', () => {
    for (const r of [Resources.ipAddressPools, Resources.l2Advertisements, Resources.serviceL2Statuses, Resources.configurationStates]) {
      const crd = find(objects, 'CustomResourceDefinition', `${r.plural}.${r.group}`);
      assert.equal(at(crd, 'apiVersion'), 'apiextensions.k8s.io/v1');
      assert.equal(at(crd, 'spec.group'), r.group);
      assert.equal(at(crd, 'spec.names.kind'), r.kind);
      assert.equal(at(crd, 'spec.scope'), 'Namespaced');
      const versions = list(at(crd, 'spec.versions'), 'versions');
      assert.deepEqual(
        versions.map((v) => [at(v, 'name'), at(v, 'served'), at(v, 'storage')]),
        [[r.version, true, true]],
      );
      assert.deepEqual(structuralProblems(crdSchema(r.plural)), []);
    }
    // The status l2lb writes goes through the status subresource, as on MetalLB's CRDs.
    for (const plural of ['ipaddresspools', 'servicel2statuses', 'configurationstates']) {
      const crd = find(objects, 'CustomResourceDefinition', `${plural}.metallb.io`);
      assert.deepEqual(at(list(at(crd, 'spec.versions'), 'versions')[0] as Obj, 'subresources'), { status: {} }, plural);
    }
    const l2 = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'ServiceL2Status',
      metadata: { name: 'l2-x' },
      spec: {},
      status: { node: 'n1', serviceName: 'web', serviceNamespace: 'default', interfaces: [{ name: 'eth0' }] },
    };
    assert.deepEqual(validate(crdSchema('servicel2statuses'), l2), { errors: [], pruned: [] });
    const poolStatus = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'p' },
      spec: { addresses: ['10.0.0.0/24'] },
      status: { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 255, availableIPv6: 0 },
    };
    assert.deepEqual(validate(crdSchema('ipaddresspools'), poolStatus), { errors: [], pruned: [] });
    // What the controller and speakers write into ConfigurationState, valid and invalid, is kept whole.
    for (const verdict of [
      { result: 'Valid', errorSummary: '' },
      { result: 'Invalid', errorSummary: 'ConfigMap l2lb-system/config: pool "a": bad CIDR' },
    ] as const) {
      const status = configurationStateStatus(verdict, new Date(0));
      const state = {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'ConfigurationState',
        metadata: { name: 'speaker-n1' },
        status: { ...status, errorSummary: status.errorSummary ?? '' },
      };
      assert.deepEqual(validate(crdSchema('configurationstates'), JSON.parse(JSON.stringify(state)) as Obj), { errors: [], pruned: [] }, verdict.result);
    }
  });

  it('the CRD schemas accept manifests/examples without dropping a field', () => {
    let checked = 0;
    for (const file of readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'))) {
      for (const cr of loadDocuments(join(examplesDir, file)).filter((o) => o['kind'] === 'IPAddressPool' || o['kind'] === 'L2Advertisement')) {
        const result = validate(schemaFor(cr), cr);
        assert.deepEqual(result, { errors: [], pruned: [] }, `${file}: ${describe1(cr)}`);
        checked += 1;
      }
    }
    assert.ok(checked >= 3, `checked ${checked} example CRs`);
  });

  it('the schema checker refuses wrong types and reports unknown fields (it can fail)', () => {
    const pool = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p' } };
    const bad = validate(crdSchema('ipaddresspools'), { ...pool, spec: { addresses: '10.0.0.0/24', autoAssign: 'yes', serviceAllocation: { priority: 1.5 } } });
    assert.deepEqual(bad.errors, [
      'spec.addresses: must be a list, got string',
      'spec.autoAssign: must be a boolean, got string',
      'spec.serviceAllocation.priority: must be an integer, got number',
    ]);
    assert.deepEqual(validate(crdSchema('ipaddresspools'), { ...pool, spec: {} }).errors, ['spec.addresses: required']);
    assert.deepEqual(validate(crdSchema('l2advertisements'), { ...pool, kind: 'L2Advertisement', spec: { interface: ['eth0'] } }).pruned, ['spec.interface']);
  });

  it('property: every IPAddressPool/L2Advertisement the l2lb parser accepts passes the CRD schema unchanged', () => {
    const value = fc.constantFrom('', 'prod', 'a.b-c_1');
    const key = fc.constantFrom('tier', 'node-role.kubernetes.io/edge', 'kubernetes.io/hostname');
    const requirement = fc.oneof(
      fc.record({ key, operator: fc.constantFrom('In', 'NotIn'), values: fc.uniqueArray(value, { minLength: 1, maxLength: 2 }) }),
      fc.record({ key, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
    );
    const selector = fc.record(
      { matchLabels: fc.dictionary(key, value, { maxKeys: 2 }), matchExpressions: fc.array(requirement, { maxLength: 2 }) },
      { requiredKeys: [] },
    );
    const selectors = fc.array(selector, { maxLength: 2 });
    const names = fc.uniqueArray(fc.constantFrom('default', 'team-a', 'kube-system'), { maxLength: 3 });
    const pool = fc.record(
      {
        addresses: fc.subarray(['192.168.10.0/24', '192.168.20.10-192.168.20.40', 'fd00:10::/120', '10.0.0.5/32'], { minLength: 1 }),
        autoAssign: fc.boolean(),
        avoidBuggyIPs: fc.boolean(),
        serviceAllocation: fc.record(
          { priority: fc.nat(100), namespaces: names, namespaceSelectors: selectors, serviceSelectors: selectors },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['addresses'] },
    );
    const ad = fc.record(
      {
        ipAddressPools: fc.constantFrom([], ['p'], ['p', 'other']),
        ipAddressPoolSelectors: selectors,
        nodeSelectors: selectors,
        serviceSelectors: selectors,
        interfaces: fc.uniqueArray(fc.constantFrom('eth0', 'bond0.100', 'enp1s0'), { maxLength: 2 }),
        preferredNodeSelectors: fc.array(fc.record({ weight: fc.integer({ min: 1, max: 100 }), preference: selector }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    let accepted = 0;
    fc.assert(
      fc.property(pool, ad, (poolSpec, adSpec) => {
        const crs: Obj[] = [
          { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p', namespace: NAMESPACE, labels: { tier: 'prod' } }, spec: poolSpec },
          { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'ad', namespace: NAMESPACE }, spec: adSpec },
        ];
        try {
          buildConfigFromSources({ resources: crs });
        } catch {
          return; // refused by l2lb anyway
        }
        accepted += 1;
        for (const cr of crs) assert.deepEqual(validate(schemaFor(cr), cr), { errors: [], pruned: [] }, JSON.stringify(cr));
      }),
      { numRuns: 300 },
    );
    assert.ok(accepted > 100, `only ${accepted} of 300 generated configurations were valid`);
  });
});
