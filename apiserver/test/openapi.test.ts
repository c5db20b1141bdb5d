// GET /openapi/v2 without a kubectl: kubectl <= 1.2x (Debian bookworm ships 1.20) asks for the gnostic protobuf
// document before apply/edit and gives up on 404. Covers both forms and the exact media types, so CI (which
// has only a current kubectl, which uses /openapi/v3) still guards the old clients' path.

import assert from 'node:assert/strict';
import { EmbeddedApiServer } from '../src/server.js';
import { readFields, type WireField } from '../src/protobuf.js';

const ASKED_BY_KUBECTL_120 = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
const DOTTED = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

function fields(buf: Uint8Array): WireField[] {
  const r = readFields(buf);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function text(f: WireField | undefined): string {
  assert.ok(f && f.wt === 2, 'a length-delimited field');
  return Buffer.from(f.bytes).toString('utf8');
}

describe('apiserver /openapi/v2', () => {
  let server: EmbeddedApiServer;
  let base: string;

  before(async () => {
    server = new EmbeddedApiServer();
    await server.start();
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server.close();
  });

  for (const accept of [ASKED_BY_KUBECTL_120, DOTTED, `${DOTTED}, application/json`]) {
    it(`answers Accept: ${accept} with a gnostic openapi.v2.Document in protobuf`, async () => {
      const res = await fetch(`${base}/openapi/v2`, { headers: { Accept: accept } });
      assert.equal(res.status, 200);
      // Go's mime.ParseMediaType (kubectl) rejects '@' in a Content-Type: the dotted spelling goes back.
      assert.equal(res.headers.get('content-type'), DOTTED);
      const doc = fields(new Uint8Array(await res.arrayBuffer()));
      assert.deepEqual(
        doc.map((f) => f.no),
        [1, 2, 8, 9],
        'swagger, info, paths, definitions',
      );
      assert.equal(text(doc[0]), '2.0');
      const info = doc[1];
      assert.ok(info && info.wt === 2);
      const infoFields = fields(info.bytes);
      assert.equal(text(infoFields.find((f) => f.no === 1)), 'l2lb embedded API');
      assert.match(text(infoFields.find((f) => f.no === 2)), /^v1\.\d+/);
      for (const f of doc.slice(2)) assert.ok(f.wt === 2 && f.bytes.length === 0, `field ${f.no} is an empty message`);
    });
  }

  it('answers JSON (or no Accept) with the same document as Swagger 2.0 JSON', async () => {
    const cases: Record<string, string>[] = [{ Accept: 'application/json' }, {}];
    for (const headers of cases) {
      const res = await fetch(`${base}/openapi/v2`, { headers });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json');
      const doc = (await res.json()) as { swagger?: string; info?: { title?: string }; paths?: object; definitions?: object };
      assert.equal(doc.swagger, '2.0');
      assert.equal(doc.info?.title, 'l2lb embedded API');
      assert.deepEqual(doc.paths, {});
      assert.deepEqual(doc.definitions, {});
    }
  });
});
