// Checks protobuf-schemas.ts against the protobuf descriptors compiled into the machine's kubectl: a Go binary
// registers each generated.proto as a gzipped FileDescriptorProto, so every field number, name, type and
// repeatedness of the messages we decode can be compared with what kubectl itself encodes — and a field our
// schemas lack (silently dropped on decode) shows up here.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync, constants } from 'node:zlib';
import { readFields, type WireField } from '../src/protobuf.js';
import { CORE_V1_SCHEMAS, type FieldSpec, type MessageSchema } from '../src/protobuf-schemas.js';

interface DescField {
  name: string;
  no: number;
  repeated: boolean;
  type: number;
  typeName: string;
}

const PACKAGES = ['k8s.io.api.core.v1', 'k8s.io.apimachinery.pkg.apis.meta.v1'];
// FieldDescriptorProto.Type
const TYPE = { int64: 3, int32: 5, bool: 8, string: 9, message: 11, bytes: 12 } as const;

const text = (f: WireField | undefined): string => (f && f.wt === 2 ? new TextDecoder().decode(f.bytes) : '');
const num = (f: WireField | undefined): number => (f && f.wt !== 2 ? Number(f.value) : 0);

/** "package.Message" → fields, from every gzipped generated.proto descriptor in the binary. */
function descriptorsIn(binary: Buffer): Map<string, DescField[]> {
  const out = new Map<string, DescField[]>();
  const magic = Buffer.from([0x1f, 0x8b, 0x08]);
  for (let at = binary.indexOf(magic); at !== -1; at = binary.indexOf(magic, at + 1)) {
    let file: Buffer;
    try {
      file = gunzipSync(binary.subarray(at, at + 1_000_000), { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      continue;
    }
    const top = readFields(file);
    if (!top.ok) continue;
    if (!text(top.value.find((f) => f.no === 1)).endsWith('generated.proto')) continue;
    const pkg = text(top.value.find((f) => f.no === 2));
    if (!PACKAGES.includes(pkg)) continue;
    for (const msg of top.value.filter((f) => f.no === 4 && f.wt === 2)) {
      const m = readFields(msg.wt === 2 ? msg.bytes : new Uint8Array());
      if (!m.ok) continue;
      const fields: DescField[] = [];
      for (const fd of m.value.filter((f) => f.no === 2 && f.wt === 2)) {
        const d = readFields(fd.wt === 2 ? fd.bytes : new Uint8Array());
        if (!d.ok) continue;
        const get = (no: number): WireField | undefined => d.value.find((f) => f.no === no);
        fields.push({ name: text(get(1)), no: num(get(3)), repeated: num(get(4)) === 3, type: num(get(5)), typeName: text(get(6)) });
      }
      const key = `${pkg}.${text(m.value.find((f) => f.no === 1))}`;
      if (!out.has(key)) out.set(key, fields);
    }
  }
  return out;
}

/** Every message schema reachable from the decodable kinds. */
function allSchemas(): MessageSchema[] {
  const seen = new Map<string, MessageSchema>();
  const walk = (s: MessageSchema): void => {
    if (seen.has(s.name)) return;
    seen.set(s.name, s);
    for (const f of s.fields.values()) if (f.type.k === 'message') walk(f.type.m);
  };
  for (const s of CORE_V1_SCHEMAS.values()) walk(s);
  return [...seen.values()];
}

function expectedType(spec: FieldSpec): { type: number; typeName?: string } {
  switch (spec.type.k) {
    case 'string':
      return { type: TYPE.string };
    case 'bytes':
      return { type: TYPE.bytes };
    case 'int32':
      return { type: TYPE.int32 };
    case 'int64':
      return { type: TYPE.int64 };
    case 'bool':
      return { type: TYPE.bool };
    case 'time':
      return { type: TYPE.message, typeName: 'Time' };
    case 'intOrString':
      return { type: TYPE.message, typeName: 'IntOrString' };
    case 'rawJson':
      return { type: TYPE.message, typeName: 'FieldsV1' };
    case 'map':
      return { type: TYPE.message, typeName: 'Entry' };
    case 'message':
      return { type: TYPE.message, typeName: spec.type.m.name };
  }
}

describe('apiserver protobuf schemas against the descriptors in kubectl @integration', () => {
  it("every decoded message has exactly kubectl's field numbers, names, types and repeatedness", function () {
    this.timeout(30_000);
    if (!existsSync('/usr/bin/kubectl')) throw new Error('kubectl is not installed (CI image ships /usr/bin/kubectl)');
    const descs = descriptorsIn(readFileSync('/usr/bin/kubectl'));
    assert.ok(descs.size > 100, `found only ${descs.size} messages in kubectl's embedded descriptors`);
    const schemas = allSchemas();
    assert.ok(schemas.length >= 25, `${schemas.length} schemas`);
    for (const s of schemas) {
      const fields = PACKAGES.map((p) => descs.get(`${p}.${s.name}`)).find((x) => x !== undefined);
      if (!fields) assert.fail(`no descriptor for ${s.name} in kubectl`);
      const got = [...s.fields].map(([no, spec]) => {
        const t = expectedType(spec);
        return `${no} ${spec.json}${spec.repeated || spec.type.k === 'map' ? '[]' : ''} ${t.type}${t.typeName ? `<${t.typeName}>` : ''}`;
      });
      const want = fields.map((f) => {
        // Map fields are repeated messages of a nested "<Field>Entry" type.
        const tn = f.typeName.includes(`.${s.name}.`) ? 'Entry' : (f.typeName.split('.').pop() ?? '');
        return `${f.no} ${f.name}${f.repeated ? '[]' : ''} ${f.type}${f.type === TYPE.message ? `<${tn}>` : ''}`;
      });
      assert.deepEqual(got, want, `${s.name}: schema (actual) vs kubectl's descriptor (expected)`);
    }
  });
});
