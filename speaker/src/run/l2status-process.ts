// The process edge of the ServiceL2Status writer: an informer on servicel2statuses in the speaker's
// namespace, the KubeClient calls, a periodic re-check, metrics. When the CRD is not served (MetalLB's
// CRDs not installed) the speaker works as before and checks again every `recheckMs`.
import { Counter, type Registry } from 'prom-client';
import { isApiError, type KubeClient } from '@l2lb/shared/kube/client';
import { Informer } from '@l2lb/shared/kube/informer';
import { errorText, type Logger } from '@l2lb/shared/log';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import type { SpeakerCore } from './core.js';
import { GENERATE_NAME, L2StatusWriter, readL2Status, type L2StatusApi } from './l2status.js';
import { keyOf, parseService } from './views.js';

/** Every Service is re-checked this often: objects of Services deleted while their owner was down go. */
const RESYNC_MS = 30_000;

export interface L2StatusHandle {
  readonly writer: L2StatusWriter;
  serviceDeleted(obj: unknown): void;
  stop(): Promise<void>;
}

export interface L2StatusProcessOptions {
  client: KubeClient;
  node: string;
  namespace: string;
  core: SpeakerCore;
  registry: Registry;
  logger: Logger;
  recheckMs: number;
  stopping: () => boolean;
}

export function l2StatusApi(client: KubeClient, namespace: string): L2StatusApi {
  const r = Resources.serviceL2Statuses;
  return {
    async create(labels) {
      const made = await client.create(r, namespace, {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'ServiceL2Status',
        metadata: { generateName: GENERATE_NAME, namespace, labels },
        spec: {},
      });
      const name = made.metadata?.name;
      if (typeof name !== 'string') throw new Error('the API server returned a ServiceL2Status without metadata.name');
      return name;
    },
    async patchStatus(name, status) {
      // Merge patch replaces the interfaces list as a whole: exactly what MetalLB's full-object patch writes.
      await client.patch(r, namespace, name, { status: { interfaces: null, ...status } }, 'merge', 'status');
    },
    async delete(name) {
      try {
        await client.delete(r, namespace, name);
      } catch (e) {
        if (!isApiError(e, 404)) throw e;
      }
    },
  };
}

/** Starts the writer (now, or once the CRD is served); resolves without waiting for the CRD. */
export async function startL2StatusWriter(o: L2StatusProcessOptions): Promise<L2StatusHandle> {
  const writes = new Counter({
    name: 'l2lb_speaker_l2status_writes_total',
    help: 'ServiceL2Status API writes by operation and result',
    labelNames: ['op', 'result'],
    registers: [o.registry],
  });
  const writer = new L2StatusWriter({
    node: o.node,
    api: l2StatusApi(o.client, o.namespace),
    cache: () => informer?.list(o.namespace) ?? [],
    cacheOf: (key) => [...(byService.get(key)?.values() ?? [])],
    serviceExists: (k) => o.core.hasService(k),
    announced: (k) => o.core.announcedInterfaces(k),
    decided: (k) => o.core.decided(k),
    logger: o.logger,
    onWrite: (op, ok) => writes.inc({ op, result: ok ? 'ok' : 'error' }),
  });
  let informer: Informer<KubeObject> | undefined;
  // The informer's objects by Service, kept from its events (a relist hands over its differences as events too).
  const byService = new Map<string, Map<string, KubeObject>>();
  const serviceOfName = new Map<string, string>();
  const unindex = (name: string): void => {
    const key = serviceOfName.get(name);
    if (key === undefined) return;
    serviceOfName.delete(name);
    const objects = byService.get(key);
    objects?.delete(name);
    if (objects?.size === 0) byService.delete(key);
  };
  const index = (x: KubeObject): void => {
    const s = readL2Status(x);
    if (!s) return;
    unindex(s.name);
    if (s.service === undefined) return;
    serviceOfName.set(s.name, s.service);
    let objects = byService.get(s.service);
    if (!objects) byService.set(s.service, (objects = new Map()));
    objects.set(s.name, x);
  };
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped && !o.stopping()) fn();
    }, ms);
    t.unref();
    timers.add(t);
  };
  const resync = (): void => {
    // Only an active core has decided every Service: before that, "not announced" means "not yet".
    if (o.core.active) writer.resyncAll(o.core.announcements().keys());
    later(RESYNC_MS, resync);
  };
  const begin = async (): Promise<void> => {
    let served = false;
    try {
      served = await o.client.serves(Resources.serviceL2Statuses);
    } catch (e) {
      o.logger.warn(`cannot check whether servicel2statuses.metallb.io is served: ${errorText(e)}`);
    }
    if (stopped || o.stopping()) return;
    if (!served) {
      o.logger.info(`servicel2statuses.metallb.io is not served: no ServiceL2Status objects are written; checking again every ${o.recheckMs / 1000} s`);
      later(o.recheckMs, () => void begin());
      return;
    }
    const inf = new Informer<KubeObject>(o.client, {
      resource: Resources.serviceL2Statuses,
      namespace: o.namespace,
      name: 'servicel2statuses',
      logger: o.logger,
      registry: o.registry,
    });
    informer = inf;
    inf
      .on('add', (x: KubeObject) => {
        index(x);
        writer.cacheChanged(x);
      })
      .on('update', (x: KubeObject) => {
        index(x);
        writer.cacheChanged(x);
      })
      .on('delete', (x: KubeObject) => {
        const name = readL2Status(x)?.name;
        if (name !== undefined) unindex(name);
        writer.cacheDeleted(x);
      });
    inf.start();
    await inf.waitForSync();
    if (stopped || o.stopping()) return;
    // Whatever the core announced before the cache synced was marked dirty already; the first full
    // re-check (deleting this node's objects of a previous life it no longer announces) waits a little
    // for the start-up hold and the first pass over every Service to end.
    for (const k of o.core.announcements().keys()) writer.changed(k);
    writer.enable();
    later(5000, resync);
  };
  await begin();
  return {
    writer,
    serviceDeleted(obj) {
      const p = parseService(obj);
      if (p) writer.changed(keyOf(p.id));
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      writer.stop();
      await informer?.stop();
    },
  };
}
