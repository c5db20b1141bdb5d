// Kubernetes Events about l2lb's objects: events.k8s.io/v1 when the server has it, else core/v1 (which is
// what `kubectl describe` of older clusters shows). The fallback is decided once, on the first 404.

import { randomBytes } from 'node:crypto';
import { errorLine, isApiError, type KubeClient } from './client.js';
import type { Logger } from '../log.js';
import { defaultLogger } from './log.js';
import { describeObject, Resources, type KubeObject } from './types.js';

export interface EventTarget {
  kind: string;
  apiVersion: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export interface EventRecorderOptions {
  /** e.g. "l2lb.io/controller" (events.k8s.io reportingController, core source.component). */
  controller: string;
  /** e.g. the pod name (reportingInstance / source.host). */
  instance: string;
  logger?: Logger;
  /** Force the API (tests). */
  api?: 'events.k8s.io/v1' | 'v1';
  /** Event writes in flight at once (default 4): a failover of many Services must not flood the API server. */
  maxInFlight?: number;
  /** Events waiting for a slot (default 1000); beyond that they are dropped, counted and logged. */
  maxQueued?: number;
}

export type EventType = 'Normal' | 'Warning';

function microTime(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

function eventName(target: EventTarget): string {
  return `${target.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
}

export function targetOf(obj: KubeObject, fallbackKind: string, fallbackApiVersion = 'v1'): EventTarget {
  return {
    kind: obj.kind ?? fallbackKind,
    apiVersion: obj.apiVersion ?? fallbackApiVersion,
    name: obj.metadata?.name ?? '',
    ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
    ...(obj.metadata?.uid ? { uid: obj.metadata.uid } : {}),
  };
}

export class EventRecorder {
  private api: 'events.k8s.io/v1' | 'v1' | undefined;
  private readonly log: Logger;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private droppedCount = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: EventRecorderOptions,
  ) {
    this.api = opts.api;
    this.log = opts.logger ?? defaultLogger();
  }

  /** Events dropped because too many were waiting. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Which API the recorder uses (undefined until the first event). */
  get apiInUse(): string | undefined {
    return this.api;
  }

  /**
   * Records an event. Never throws: a failed event is logged (one line naming the object) and resolves
   * to undefined — events are best effort.
   */
  async record(target: EventTarget, type: EventType, reason: string, message: string, action = reason): Promise<KubeObject | undefined> {
    if (this.inFlight >= (this.opts.maxInFlight ?? 4)) {
      if (this.waiting.length >= (this.opts.maxQueued ?? 1000)) {
        this.droppedCount++;
        if (this.droppedCount === 1 || this.droppedCount % 1000 === 0) {
          this.log.warn(
            `too many events waiting to be written: dropping ${reason} for ${target.kind} ${target.namespace ?? ''}/${target.name} (${this.droppedCount} dropped so far)`,
          );
        }
        return undefined;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.inFlight++;
    try {
      return await this.write(target, type, reason, message, action);
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private async write(target: EventTarget, type: EventType, reason: string, message: string, action: string): Promise<KubeObject | undefined> {
    const namespace = target.namespace ?? 'default';
    const now = new Date();
    const ref = {
      kind: target.kind,
      apiVersion: target.apiVersion,
      name: target.name,
      namespace: target.namespace,
      ...(target.uid ? { uid: target.uid } : {}),
    };
    if (this.api !== 'v1') {
      const body: KubeObject = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: eventName(target), namespace },
        regarding: ref,
        reason,
        note: message.slice(0, 1024),
        type,
        action,
        reportingController: this.opts.controller,
        reportingInstance: this.opts.instance,
        eventTime: microTime(now),
      };
      try {
        const out = await this.client.create(Resources.events, namespace, body);
        this.api = 'events.k8s.io/v1';
        return out;
      } catch (e) {
        // A 404 that is not about the namespace means the server does not serve events.k8s.io/v1.
        const groupMissing = isApiError(e, 404) && e.status?.details?.kind !== 'namespaces';
        if (!groupMissing) {
          this.log.warn(errorLine('record event for', describeObject({ plural: target.kind.toLowerCase(), group: '' }, target.namespace, target.name), e));
          return undefined;
        }
        this.log.info('events.k8s.io/v1 is not served; recording core/v1 events');
        this.api = 'v1';
      }
    }
    const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName(target), namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: ts,
      lastTimestamp: ts,
      source: { component: this.opts.controller, host: this.opts.instance },
      reportingComponent: this.opts.controller,
      reportingInstance: this.opts.instance,
    };
    try {
      return await this.client.create(Resources.coreEvents, namespace, body);
    } catch (e) {
      this.log.warn(errorLine('record event for', describeObject({ plural: target.kind.toLowerCase(), group: '' }, target.namespace, target.name), e));
      return undefined;
    }
  }
}
