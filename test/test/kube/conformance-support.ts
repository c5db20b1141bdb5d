// Helpers the conformance case groups share.

import assert from 'node:assert/strict';
import { KubeApiError, type KubeClient } from '@l2lb/shared/kube/client';
import type { KubeObject, Service } from '@l2lb/shared/kube/types';
import type { Target } from './helpers.js';

export async function expectApiError(p: Promise<unknown>, code: number, reason?: string): Promise<KubeApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KubeApiError, `expected a KubeApiError, got ${String(e)}`);
    assert.equal(e.code, code, `expected HTTP ${code}, got ${e.code}: ${e.message}`);
    if (reason !== undefined) assert.equal(e.reason, reason, e.message);
    return e;
  }
  assert.fail(`expected HTTP ${code}${reason ? ` ${reason}` : ''}, but the request succeeded`);
}

export function svc(name: string, labels: Record<string, string> = {}, type: 'ClusterIP' | 'LoadBalancer' = 'LoadBalancer'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels },
    spec: {
      type,
      selector: { app: name },
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'https', port: 443, protocol: 'TCP' },
      ],
    },
  };
}

export interface Collected {
  events: { type: string; object: KubeObject }[];
  done: Promise<void>;
  abort: AbortController;
}

export function collectWatch(client: KubeClient, path: string, query: Record<string, string | number | boolean | undefined>): Collected {
  const abort = new AbortController();
  const events: Collected['events'] = [];
  const done = client
    .stream(
      path,
      { watch: 1, ...query },
      (ev) => {
        events.push({ type: String(ev['type']), object: ev['object'] as KubeObject });
      },
      { signal: abort.signal },
    )
    .catch((e: unknown) => {
      if (!(e instanceof Error && e.name === 'AbortError')) throw e;
    });
  return { events, done, abort };
}

export const IPPOOL_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'ipaddresspools.metallb.io' },
  spec: {
    group: 'metallb.io',
    scope: 'Namespaced',
    names: { plural: 'ipaddresspools', singular: 'ipaddresspool', kind: 'IPAddressPool', listKind: 'IPAddressPoolList' },
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

/** What every case group reads: set by conformance()'s before hook, which runs before any group's. */
export interface Suite {
  t: Target;
  c: KubeClient;
  ns: string;
}
