// GET /openapi/v2 for kubectl up to 1.2x (Debian bookworm ships kubectl 1.20). Such a kubectl fetches the
// OpenAPI v2 document before `apply`/`edit` (client-side validation and strategic-merge patch metadata),
// asking for the gnostic protobuf form only; on 404 it tries the pre-1.10 /swagger-2.0.0.pb-v1 and then
// aborts the command. Newer kubectl uses /openapi/v3 (served in server.ts) and never gets here.
//
// The document is deliberately empty of definitions. With no schema for a kind, kubectl skips its
// client-side validation (the server validates anyway) and computes strategic merge patches from its
// compiled-in types (core kinds) or falls back to JSON merge patch (CRDs), which is what it does against a
// real server for CRDs too. A definition without full field metadata (patch merge keys etc.) would be
// worse than none: kubectl would then replace lists such as Service.spec.ports instead of merging them.

import type { IncomingHttpHeaders } from 'node:http';
import type { JsonObject } from './json.js';

/**
 * The media type of the protobuf OpenAPI v2 document. client-go up to 1.2x asks for the older spelling with
 * '@' (OPENAPI_V2_PROTOBUF_DEPRECATED); both are accepted, but only this dotted one is ever sent back: '@' is
 * not a token character, so Go's mime.ParseMediaType in kubectl rejects a Content-Type carrying it
 * ("mime: unexpected content after media subtype"). kube-apiserver does the same.
 */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
export const OPENAPI_V2_PROTOBUF_DEPRECATED = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/** The OpenAPI v2 document: valid Swagger 2.0 with no paths and no definitions. */
export function openapiV2Document(version: string): JsonObject {
  return { swagger: '2.0', info: { title: 'l2lb embedded API', version }, paths: {}, definitions: {} };
}

// Field numbers of gnostic's openapi.v2 messages (OpenAPIv2.proto), the only ones this document uses.
const DOCUMENT = { swagger: 1, info: 2, paths: 8, definitions: 9 } as const;
const INFO = { title: 1, version: 2 } as const;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** One length-delimited field (wire type 2): a string or an embedded message. */
function lengthDelimited(no: number, payload: Uint8Array): Buffer {
  return Buffer.concat([Uint8Array.from([...varint((no << 3) | 2), ...varint(payload.length)]), payload]);
}

function stringField(no: number, s: string): Buffer {
  return lengthDelimited(no, Buffer.from(s, 'utf8'));
}

/** openapiV2Document in gnostic's protobuf encoding (openapi.v2.Document). */
export function encodeOpenapiV2(version: string): Buffer {
  const info = Buffer.concat([stringField(INFO.title, 'l2lb embedded API'), stringField(INFO.version, version)]);
  return Buffer.concat([
    stringField(DOCUMENT.swagger, '2.0'),
    lengthDelimited(DOCUMENT.info, info),
    // Present but empty, as in the JSON form: an empty Paths and an empty Definitions message.
    lengthDelimited(DOCUMENT.paths, new Uint8Array(0)),
    lengthDelimited(DOCUMENT.definitions, new Uint8Array(0)),
  ]);
}

/** The body and content type for GET /openapi/v2: protobuf when the client asks for it, else JSON. */
export function openapiV2Response(headers: IncomingHttpHeaders, version: string): { contentType: string; body: Buffer } {
  const accept = headers.accept ?? '';
  const wantsProtobuf = accept.split(',').some((m) => {
    const type = m.split(';')[0]?.trim().toLowerCase();
    return type === OPENAPI_V2_PROTOBUF || type === OPENAPI_V2_PROTOBUF_DEPRECATED;
  });
  if (wantsProtobuf) return { contentType: OPENAPI_V2_PROTOBUF, body: encodeOpenapiV2(version) };
  return { contentType: 'application/json', body: Buffer.from(JSON.stringify(openapiV2Document(version))) };
}
