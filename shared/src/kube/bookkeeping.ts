// What an informer's cache drops by default: bookkeeping of the API server and kubectl that nothing in
// l2lb reads. Pure, no imports beyond types, so the speaker's views can use it without the client.
import type { KubeObject, ObjectMeta } from './types.js';

/** kubectl apply's copy of the applied manifest: a second copy of the object, read only by kubectl. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The object without metadata.managedFields and kubectl's last-applied-configuration annotation: the
 * API server's and kubectl's bookkeeping, often more than half of a Service, read by nothing in l2lb
 * (which writes with patches; the API server keeps managedFields a write leaves out). A new object when
 * there is something to drop; the argument is never changed.
 */
export function withoutBookkeeping<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata;
  if (typeof meta !== 'object' || meta === null) return obj;
  const annotations = meta.annotations;
  const lastApplied = typeof annotations === 'object' && annotations !== null && LAST_APPLIED_ANNOTATION in annotations;
  if (!('managedFields' in meta) && !lastApplied) return obj;
  const { managedFields: _dropped, annotations: _all, ...rest } = meta as ObjectMeta & { managedFields?: unknown };
  const kept: ObjectMeta = rest;
  if (annotations !== undefined) {
    if (lastApplied) {
      const { [LAST_APPLIED_ANNOTATION]: _copy, ...others } = annotations;
      if (Object.keys(others).length > 0) kept.annotations = others;
    } else kept.annotations = annotations;
  }
  return { ...obj, metadata: kept };
}
