// Request bodies of the embedded API server, in-process (no sockets): the JSON text of create/update, and
// JSON patch, merge patch and strategic merge patch bodies against existing Services, ConfigMaps, Nodes and
// IPAddressPools. Contract: the result or an ApiError (a Status for the client); any other exception would
// be a 500 and is a finding. The store is replaced every few hundred inputs to keep memory bounded.
import { Api, PATCH_TYPES } from '@l2lb/apiserver/api';
import { ApiError } from '@l2lb/apiserver/errors';
import type { Json } from '@l2lb/apiserver/json';
import { Store } from '@l2lb/apiserver/store';
import { mutateJson, mutateText, randomJson, showJson, type FuzzTarget, type Rng } from '../harness.js';

const OBJECTS: Record<string, { group: string; version: string; resource: string; ns: string | undefined; body: Record<string, unknown> }> = {
  service: {
    group: '',
    version: 'v1',
    resource: 'services',
    ns: 'default',
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, annotations: { 'metallb.io/address-pool': 'p' } },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'web' },
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
          { name: 'https', port: 443 },
        ],
      },
    },
  },
  configmap: {
    group: '',
    version: 'v1',
    resource: 'configmaps',
    ns: 'default',
    body: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'default' },
      data: { config: 'address-pools: []\n' },
    },
  },
  node: {
    group: '',
    version: 'v1',
    resource: 'nodes',
    ns: undefined,
    body: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', labels: { a: 'b' } },
      status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
    },
  },
  pool: {
    group: 'metallb.io',
    version: 'v1beta1',
    resource: 'ipaddresspools',
    ns: 'default',
    body: {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'p', namespace: 'default' },
      spec: { addresses: ['10.0.0.0/24'] },
    },
  },
};

type Op = 'create' | 'update' | 'json' | 'merge' | 'strategic';
interface ApiInput {
  which: string;
  op: Op;
  text: string;
  status: boolean;
}

function patchFor(rng: Rng, op: Op, body: Record<string, unknown>): unknown {
  if (op === 'json') {
    const ops = Array.from({ length: 1 + rng.len(5) }, () => ({
      op: rng.pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus']),
      path: rng.pick([
        '/metadata/labels/x',
        '/spec/ports/0',
        '/spec/ports/-',
        '/spec/ports/99',
        '/metadata/name',
        '',
        '/',
        '/a~1b/~0',
        '/spec/ports/01',
        '/metadata/labels/__proto__',
      ]),
      from: rng.pick(['/spec', '/metadata/labels', '/spec/ports/0', '/nope']),
      value: randomJson(rng),
    }));
    return ops;
  }
  if (op === 'strategic') {
    return {
      metadata: { labels: { x: rng.pick(['1', null]) }, $setElementOrder: randomJson(rng) },
      spec: {
        ports: [
          { port: 80, $patch: rng.pick(['delete', 'replace', 'merge', 'bogus']) },
          { name: 'x', port: rng.int(70000) },
        ],
        $retainKeys: rng.pick([['ports'], 'x', null]),
        '$deleteFromPrimitiveList/finalizers': ['a'],
        '$setElementOrder/ports': [{ port: 443 }, { port: 80 }],
      },
    };
  }
  if (op === 'merge') return { metadata: { labels: { x: null, y: 'z' } }, spec: rng.chance(2) ? null : randomJson(rng) };
  return body;
}

export function apiserverTarget(): FuzzTarget<ApiInput> {
  let api: Api | undefined;
  let used = 0;
  const fresh = (): Api => {
    const a = new Api(new Store());
    for (const o of Object.values(OBJECTS)) {
      const t = a.type(o.group, o.version, o.resource);
      if (!t) throw new Error(`no type ${o.resource}`);
      a.create(t, o.ns, o.body as Json);
    }
    return a;
  };
  return {
    name: 'apiserver-bodies',
    description: 'embedded API server: create/update JSON text, JSON/merge/strategic patches (in-process Api)',
    generate(rng) {
      const which = rng.pick(Object.keys(OBJECTS));
      const op = rng.pick(['create', 'update', 'json', 'merge', 'strategic', 'strategic', 'json'] as const);
      const base = (OBJECTS[which] as { body: Record<string, unknown> }).body;
      let value = patchFor(rng, op, base);
      if (rng.chance(10)) value = randomJson(rng);
      else for (let n = rng.int(3); n > 0; n--) value = mutateJson(rng, value);
      let text = JSON.stringify(value) ?? 'null';
      if (rng.chance(4)) text = mutateText(rng, text);
      return { which, op, text, status: rng.chance(5) };
    },
    execute({ which, op, text, status }) {
      if (api === undefined || used++ >= 500) {
        api = fresh();
        used = 0;
      }
      const o = OBJECTS[which] as (typeof OBJECTS)[string];
      const t = api.type(o.group, o.version, o.resource);
      if (!t) throw new Error(`no type ${o.resource}`);
      const name = String((o.body['metadata'] as Record<string, unknown>)['name']);
      try {
        let body: Json;
        try {
          body = JSON.parse(text) as Json; // the server turns a parse failure into a 400 Status
        } catch {
          return;
        }
        const sub = status ? 'status' : undefined;
        if (op === 'create') api.create(t, o.ns, body, true);
        else if (op === 'update') api.update(t, o.ns, name, body, sub, true);
        else api.patch(t, o.ns, name, body, op === 'json' ? PATCH_TYPES.json : op === 'merge' ? PATCH_TYPES.merge : PATCH_TYPES.strategic, sub, true);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.code < 400 || e.code > 599) throw new Error(`ApiError with code ${e.code}`);
      }
    },
    show: (input) => showJson(input),
  };
}
