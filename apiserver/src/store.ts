// Versioned object store: one global resourceVersion counter, objects grouped by storage key, and a
// bounded event history so watches can resume from a resourceVersion (or get 410 Expired).

import { meta, str, type JsonObject } from './json.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  type: EventType;
  storageKey: string;
  object: JsonObject;
  /** The previous state for MODIFIED (lets selector watches turn it into ADDED/DELETED). */
  previous?: JsonObject;
}

export interface Snapshot {
  resourceVersion: number;
  objects: Record<string, JsonObject[]>;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class Store {
  private rv = 0;
  private readonly objects = new Map<string, Map<string, JsonObject>>();
  private history: StoreEvent[] = [];
  private historyStart = 0;
  /** Every event with rv <= compactedRv is forgotten. */
  private compactedRv = 0;
  private readonly listeners = new Set<(ev: StoreEvent) => void>();

  constructor(private readonly historyLimit = 20000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  get oldestResumableVersion(): number {
    return this.compactedRv;
  }

  bucket(storageKey: string): Map<string, JsonObject> {
    let b = this.objects.get(storageKey);
    if (!b) {
      b = new Map();
      this.objects.set(storageKey, b);
    }
    return b;
  }

  get(storageKey: string, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.objects.get(storageKey)?.get(objectKey(namespace, name));
  }

  /** Objects of a storage key (optionally one namespace), sorted by namespace/name. */
  list(storageKey: string, namespace?: string): JsonObject[] {
    const b = this.objects.get(storageKey);
    if (!b) return [];
    const keys = [...b.keys()].sort();
    const out: JsonObject[] = [];
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    for (const k of keys) {
      if (prefix !== undefined && !k.startsWith(prefix)) continue;
      const o = b.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Stores `obj` with a new resourceVersion and records the event. The object must not be mutated later. */
  put(storageKey: string, obj: JsonObject): JsonObject {
    const m = meta(obj);
    const name = str(m['name']) ?? '';
    const key = objectKey(str(m['namespace']), name);
    const b = this.bucket(storageKey);
    const previous = b.get(key);
    this.rv += 1;
    m['resourceVersion'] = String(this.rv);
    b.set(key, obj);
    this.record({ rv: this.rv, type: previous ? 'MODIFIED' : 'ADDED', storageKey, object: obj, ...(previous ? { previous } : {}) });
    return obj;
  }

  remove(storageKey: string, namespace: string | undefined, name: string): JsonObject | undefined {
    const b = this.objects.get(storageKey);
    const key = objectKey(namespace, name);
    const cur = b?.get(key);
    if (!b || !cur) return undefined;
    b.delete(key);
    this.rv += 1;
    const gone: JsonObject = { ...cur, metadata: { ...meta(cur), resourceVersion: String(this.rv) } };
    this.record({ rv: this.rv, type: 'DELETED', storageKey, object: gone });
    return gone;
  }

  private record(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length - this.historyStart > this.historyLimit) {
      const drop = this.history[this.historyStart];
      if (drop) this.compactedRv = drop.rv;
      this.historyStart += 1;
      if (this.historyStart > 4096 && this.historyStart * 2 > this.history.length) {
        this.history = this.history.slice(this.historyStart);
        this.historyStart = 0;
      }
    }
    for (const l of this.listeners) l(ev);
  }

  /** Events after `rv`, or undefined if some of them were compacted away (the caller answers 410). */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    const out: StoreEvent[] = [];
    // History is sorted by rv: binary search for the first event > rv.
    let lo = this.historyStart;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.history[mid];
      if (e && e.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.history.length; i++) {
      const e = this.history[i];
      if (e) out.push(e);
    }
    return out;
  }

  /** Forgets the whole history: every watch from an older resourceVersion now gets 410 Expired. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
    this.historyStart = 0;
  }

  subscribe(listener: (ev: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): Snapshot {
    const objects: Record<string, JsonObject[]> = {};
    for (const [k, b] of this.objects) objects[k] = [...b.values()];
    return { resourceVersion: this.rv, objects };
  }

  /** Replaces the content (used when loading persisted state; no events, history starts empty). */
  load(s: Snapshot): void {
    this.objects.clear();
    for (const [k, list] of Object.entries(s.objects)) {
      const b = this.bucket(k);
      for (const o of list) {
        const m = meta(o);
        b.set(objectKey(str(m['namespace']), str(m['name']) ?? ''), o);
      }
    }
    this.rv = s.resourceVersion;
    this.compactedRv = s.resourceVersion;
    this.history = [];
    this.historyStart = 0;
  }
}
