// Writes l2lb makes: Service status (merge patch on /status), annotations, conflict-safe updates
// (read → modify → replace, retried on 409 with a fresh read) and Secrets. Every failure is logged as
// one line naming the object, then rethrown.

import type { Registry } from 'prom-client';
import { ContentType, errorLine, isApiError, type KubeClient } from '@l2lb/shared/kube/client';
import { defaultLogger } from '@l2lb/shared/kube/log';
import type { Logger } from '@l2lb/shared/log';
import { kubeMetrics } from '@l2lb/shared/kube/metrics';
import { describeObject, resourcePath, Resources, type KubeObject, type ResourceRef, type Service, type ServiceStatus } from '@l2lb/shared/kube/types';

export interface WriteOptions {
  logger?: Logger;
  registry?: Registry;
  /** Tries for a conflicting update (default 5). */
  attempts?: number;
  fieldManager?: string;
}

async function logged<T>(verb: string, r: ResourceRef, ns: string | undefined, name: string | undefined, o: WriteOptions, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const log = o.logger ?? defaultLogger();
    const code = isApiError(e) ? e.code : 0;
    kubeMetrics(o.registry).apiErrors.inc({ verb, resource: r.plural, code: String(code) });
    log.error(errorLine(verb, describeObject(r, ns, name), e), { verb, resource: r.plural, namespace: ns, name, code });
    throw e;
  }
}

/**
 * Merge-patches a Service's status through the /status subresource (Content-Type
 * application/merge-patch+json). `status.loadBalancer.ingress` is replaced as a whole (lists are atomic in
 * a merge patch). Without `resourceVersion` this is last-writer-wins; with it, a stale write gets 409.
 */
export async function patchServiceStatus(
  client: KubeClient,
  namespace: string,
  name: string,
  status: ServiceStatus,
  o: WriteOptions & { resourceVersion?: string } = {},
): Promise<Service> {
  const body: Record<string, unknown> = { status };
  if (o.resourceVersion) body['metadata'] = { resourceVersion: o.resourceVersion };
  return logged('patch status', Resources.services, namespace, name, o, () =>
    client.request<Service>('PATCH', resourcePath(Resources.services, namespace, name, 'status'), {
      body,
      contentType: ContentType.mergePatch,
      ...(o.fieldManager ? { query: { fieldManager: o.fieldManager } } : {}),
    }),
  );
}

/** Sets (string) or removes (null) annotations with a merge patch on the main resource. */
export async function patchAnnotations<T extends KubeObject = KubeObject>(
  client: KubeClient,
  r: ResourceRef,
  namespace: string | undefined,
  name: string,
  annotations: Record<string, string | null>,
  o: WriteOptions = {},
): Promise<T> {
  return logged('annotate', r, namespace, name, o, () => client.patch<T>(r, namespace, name, { metadata: { annotations } }, 'merge'));
}

/** Sets (string) or removes (null) labels with a merge patch on the main resource. */
export async function patchLabels<T extends KubeObject = KubeObject>(
  client: KubeClient,
  r: ResourceRef,
  namespace: string | undefined,
  name: string,
  labels: Record<string, string | null>,
  o: WriteOptions = {},
): Promise<T> {
  return logged('label', r, namespace, name, o, () => client.patch<T>(r, namespace, name, { metadata: { labels } }, 'merge'));
}

/**
 * Conflict-safe update: GET the object, let `mutate` change a copy (return undefined to skip the write),
 * PUT it (to /status when `subresource` is 'status'); on 409 read again and retry. Resolves with the stored
 * object, or the current one when `mutate` declined.
 */
export async function updateWithRetry<T extends KubeObject = KubeObject>(
  client: KubeClient,
  r: ResourceRef,
  namespace: string | undefined,
  name: string,
  mutate: (current: T) => T | undefined,
  o: WriteOptions & { subresource?: 'status' } = {},
): Promise<T> {
  const attempts = o.attempts ?? 5;
  return logged(o.subresource ? 'update status' : 'update', r, namespace, name, o, async () => {
    for (let i = 1; ; i++) {
      const current = await client.get<T>(r, namespace, name);
      const next = mutate(structuredClone(current));
      if (next === undefined) return current;
      try {
        return await client.replace<T>(r, namespace, name, next, o.subresource);
      } catch (e) {
        if (!isApiError(e, 409) || i >= attempts) throw e;
        (o.logger ?? defaultLogger()).debug(`update ${describeObject(r, namespace, name)}: conflict, retrying with a fresh read (${i}/${attempts})`);
      }
    }
  });
}

export interface SecretSpec {
  namespace: string;
  name: string;
  /** Values as plain strings (base64-encoded on the way out). */
  stringData?: Record<string, string>;
  /** Values already base64-encoded. */
  data?: Record<string, string>;
  type?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function toSecretData(s: SecretSpec): Record<string, string> {
  const data: Record<string, string> = { ...(s.data ?? {}) };
  for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = Buffer.from(v, 'utf8').toString('base64');
  return data;
}

/** Creates the Secret, or updates its data/labels/annotations if it exists (409-safe). */
export async function applySecret(client: KubeClient, s: SecretSpec, o: WriteOptions = {}): Promise<KubeObject> {
  const r = Resources.secrets;
  const data = toSecretData(s);
  const body: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: s.type ?? 'Opaque',
    data,
    metadata: { name: s.name, namespace: s.namespace, ...(s.labels ? { labels: s.labels } : {}), ...(s.annotations ? { annotations: s.annotations } : {}) },
  };
  try {
    return await client.create(r, s.namespace, body);
  } catch (e) {
    if (!isApiError(e, 409)) {
      return logged('create', r, s.namespace, s.name, o, () => Promise.reject(e));
    }
  }
  return updateWithRetry(
    client,
    r,
    s.namespace,
    s.name,
    (cur) => {
      const next: KubeObject = { ...cur, data };
      next.metadata = { ...cur.metadata, labels: { ...cur.metadata?.labels, ...s.labels }, annotations: { ...cur.metadata?.annotations, ...s.annotations } };
      return next;
    },
    o,
  );
}

/** Reads a Secret's data decoded to strings, or undefined when it does not exist. */
export async function readSecret(client: KubeClient, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  try {
    const s = await client.get(Resources.secrets, namespace, name);
    const out: Record<string, string> = {};
    const data = s['data'];
    if (typeof data === 'object' && data !== null) {
      for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString('utf8');
    }
    return out;
  } catch (e) {
    if (isApiError(e, 404)) return undefined;
    throw e;
  }
}
