import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { buildConfigFromSources } from '@l2lb/shared';

const examplesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'manifests', 'examples');

describe('manifests/examples', () => {
  it('every example configuration is valid and announces every pool', async () => {
    const files = (await readdir(examplesDir)).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 2, 'expected example files');
    for (const file of files) {
      const docs = parseAllDocuments(await readFile(join(examplesDir, file), 'utf8'));
      const objects = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS() as Record<string, unknown>).filter((o) => o !== null);
      const configMap = objects.find((o) => o['kind'] === 'ConfigMap');
      const config = buildConfigFromSources({
        configMapText: (configMap?.['data'] as Record<string, string> | undefined)?.['config'],
        resources: objects.filter((o) => o['kind'] !== 'ConfigMap'),
      });
      assert.ok(config.pools.length > 0, `${file}: no pools`);
      assert.deepEqual(config.warnings, [], `${file}: ${config.warnings.join('; ')}`);
    }
  });
});
