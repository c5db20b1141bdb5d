// Field numbers of the core/v1 kinds whose protobuf bodies the embedded API server decodes (from the
// generated.proto files of k8s.io/api core/v1 and k8s.io/apimachinery meta/v1), with the JSON name of each
// field and the Go JSON rules that decide when a zero value is written:
// - plain fields (Go `omitempty` on a non-pointer) are dropped when zero ("", 0, false);
// - `keep`: no omitempty in Go (e.g. ServicePort.port, Condition.status) — written even when zero;
// - `ptr`: a Go pointer — the encoder writes it only when set, so a present field is kept even when zero;
// - nested non-pointer messages are written when present on the wire (kubectl's JSON has `"spec":{}` too);
// - maps and repeated fields are written when they have at least one entry.

export type FieldType =
  | { k: 'string' }
  | { k: 'bytes' }
  | { k: 'int32' }
  | { k: 'int64' }
  | { k: 'bool' }
  | { k: 'time' }
  | { k: 'intOrString' }
  | { k: 'rawJson' }
  | { k: 'map'; value: 'string' | 'bytes' }
  | { k: 'message'; m: MessageSchema };

export interface FieldSpec {
  json: string;
  type: FieldType;
  repeated?: boolean;
  keep?: boolean;
  ptr?: boolean;
}

export interface MessageSchema {
  name: string;
  /** Field number → spec, in the Go struct's order (the JSON key order). */
  fields: Map<number, FieldSpec>;
}

const S: FieldType = { k: 'string' };
const I32: FieldType = { k: 'int32' };
const I64: FieldType = { k: 'int64' };
const B: FieldType = { k: 'bool' };
const TIME: FieldType = { k: 'time' };
const STRMAP: FieldType = { k: 'map', value: 'string' };
const BYTEMAP: FieldType = { k: 'map', value: 'bytes' };
const msg = (m: MessageSchema): FieldType => ({ k: 'message', m });

type Row = [no: number, json: string, type: FieldType, opts?: { repeated?: boolean; keep?: boolean; ptr?: boolean }];

function schema(name: string, rows: Row[]): MessageSchema {
  return { name, fields: new Map(rows.map(([no, json, type, opts]) => [no, { json, type, ...opts }])) };
}

const REP = { repeated: true };
const KEEP = { keep: true };
const PTR = { ptr: true };

// ---- k8s.io/apimachinery meta/v1 ----

export const OwnerReference = schema('OwnerReference', [
  [5, 'apiVersion', S, KEEP],
  [1, 'kind', S, KEEP],
  [3, 'name', S, KEEP],
  [4, 'uid', S, KEEP],
  [6, 'controller', B, PTR],
  [7, 'blockOwnerDeletion', B, PTR],
]);

export const ManagedFieldsEntry = schema('ManagedFieldsEntry', [
  [1, 'manager', S],
  [2, 'operation', S],
  [3, 'apiVersion', S],
  [4, 'time', TIME, PTR],
  [6, 'fieldsType', S],
  [7, 'fieldsV1', { k: 'rawJson' }, PTR],
  [8, 'subresource', S],
]);

export const ObjectMeta = schema('ObjectMeta', [
  [1, 'name', S],
  [2, 'generateName', S],
  [3, 'namespace', S],
  [4, 'selfLink', S],
  [5, 'uid', S],
  [6, 'resourceVersion', S],
  [7, 'generation', I64],
  [8, 'creationTimestamp', TIME],
  [9, 'deletionTimestamp', TIME, PTR],
  [10, 'deletionGracePeriodSeconds', I64, PTR],
  [11, 'labels', STRMAP],
  [12, 'annotations', STRMAP],
  [13, 'ownerReferences', msg(OwnerReference), REP],
  [14, 'finalizers', S, REP],
  [17, 'managedFields', msg(ManagedFieldsEntry), REP],
]);

export const Condition = schema('Condition', [
  [1, 'type', S, KEEP],
  [2, 'status', S, KEEP],
  [3, 'observedGeneration', I64],
  [4, 'lastTransitionTime', TIME, KEEP],
  [5, 'reason', S, KEEP],
  [6, 'message', S, KEEP],
]);

// ---- k8s.io/api core/v1 ----

export const NamespaceCondition = schema('NamespaceCondition', [
  [1, 'type', S, KEEP],
  [2, 'status', S, KEEP],
  [4, 'lastTransitionTime', TIME],
  [5, 'reason', S],
  [6, 'message', S],
]);

export const Namespace = schema('Namespace', [
  [1, 'metadata', msg(ObjectMeta)],
  [2, 'spec', msg(schema('NamespaceSpec', [[1, 'finalizers', S, REP]]))],
  [
    3,
    'status',
    msg(
      schema('NamespaceStatus', [
        [1, 'phase', S],
        [2, 'conditions', msg(NamespaceCondition), REP],
      ]),
    ),
  ],
]);

export const ConfigMap = schema('ConfigMap', [
  [1, 'metadata', msg(ObjectMeta)],
  [4, 'immutable', B, PTR],
  [2, 'data', STRMAP],
  [3, 'binaryData', BYTEMAP],
]);

export const Secret = schema('Secret', [
  [1, 'metadata', msg(ObjectMeta)],
  [5, 'immutable', B, PTR],
  [2, 'data', BYTEMAP],
  [4, 'stringData', STRMAP],
  [3, 'type', S],
]);

export const ServicePort = schema('ServicePort', [
  [1, 'name', S],
  [2, 'protocol', S],
  [6, 'appProtocol', S, PTR],
  [3, 'port', I32, KEEP],
  [4, 'targetPort', { k: 'intOrString' }],
  [5, 'nodePort', I32],
]);

const ClientIPConfig = schema('ClientIPConfig', [[1, 'timeoutSeconds', I32, PTR]]);
const SessionAffinityConfig = schema('SessionAffinityConfig', [[1, 'clientIP', msg(ClientIPConfig), PTR]]);

export const ServiceSpec = schema('ServiceSpec', [
  [1, 'ports', msg(ServicePort), REP],
  [2, 'selector', STRMAP],
  [3, 'clusterIP', S],
  [18, 'clusterIPs', S, REP],
  [4, 'type', S],
  [5, 'externalIPs', S, REP],
  [7, 'sessionAffinity', S],
  [8, 'loadBalancerIP', S],
  [9, 'loadBalancerSourceRanges', S, REP],
  [10, 'externalName', S],
  [11, 'externalTrafficPolicy', S],
  [12, 'healthCheckNodePort', I32],
  [13, 'publishNotReadyAddresses', B],
  [14, 'sessionAffinityConfig', msg(SessionAffinityConfig), PTR],
  [19, 'ipFamilies', S, REP],
  [17, 'ipFamilyPolicy', S, PTR],
  [20, 'allocateLoadBalancerNodePorts', B, PTR],
  [21, 'loadBalancerClass', S, PTR],
  [22, 'internalTrafficPolicy', S, PTR],
  [23, 'trafficDistribution', S, PTR],
]);

const PortStatus = schema('PortStatus', [
  [1, 'port', I32, KEEP],
  [2, 'protocol', S, KEEP],
  [3, 'error', S, PTR],
]);

export const LoadBalancerIngress = schema('LoadBalancerIngress', [
  [1, 'ip', S],
  [2, 'hostname', S],
  [3, 'ipMode', S, PTR],
  [4, 'ports', msg(PortStatus), REP],
]);

export const Service = schema('Service', [
  [1, 'metadata', msg(ObjectMeta)],
  [2, 'spec', msg(ServiceSpec)],
  [
    3,
    'status',
    msg(
      schema('ServiceStatus', [
        [1, 'loadBalancer', msg(schema('LoadBalancerStatus', [[1, 'ingress', msg(LoadBalancerIngress), REP]]))],
        [2, 'conditions', msg(Condition), REP],
      ]),
    ),
  ],
]);

export const ObjectReference = schema('ObjectReference', [
  [1, 'kind', S],
  [2, 'namespace', S],
  [3, 'name', S],
  [4, 'uid', S],
  [5, 'apiVersion', S],
  [6, 'resourceVersion', S],
  [7, 'fieldPath', S],
]);

const EndpointAddress = schema('EndpointAddress', [
  [1, 'ip', S, KEEP],
  [3, 'hostname', S],
  [4, 'nodeName', S, PTR],
  [2, 'targetRef', msg(ObjectReference), PTR],
]);

const EndpointPort = schema('EndpointPort', [
  [1, 'name', S],
  [2, 'port', I32, KEEP],
  [3, 'protocol', S],
  [4, 'appProtocol', S, PTR],
]);

export const Endpoints = schema('Endpoints', [
  [1, 'metadata', msg(ObjectMeta)],
  [
    2,
    'subsets',
    msg(
      schema('EndpointSubset', [
        [1, 'addresses', msg(EndpointAddress), REP],
        [2, 'notReadyAddresses', msg(EndpointAddress), REP],
        [3, 'ports', msg(EndpointPort), REP],
      ]),
    ),
    REP,
  ],
]);

export const ServiceAccount = schema('ServiceAccount', [
  [1, 'metadata', msg(ObjectMeta)],
  [2, 'secrets', msg(ObjectReference), REP],
  [3, 'imagePullSecrets', msg(schema('LocalObjectReference', [[1, 'name', S]])), REP],
  [4, 'automountServiceAccountToken', B, PTR],
]);

/** "apiVersion/kind" → schema of the object's `raw` bytes. */
export const CORE_V1_SCHEMAS: ReadonlyMap<string, MessageSchema> = new Map([
  ['v1/Namespace', Namespace],
  ['v1/ConfigMap', ConfigMap],
  ['v1/Secret', Secret],
  ['v1/Service', Service],
  ['v1/Endpoints', Endpoints],
  ['v1/ServiceAccount', ServiceAccount],
]);
